"""Draws a benchmark table (what `scripts/bench MODE` printed, saved beside the PNG) as a PNG.

    bench_plot.py esp|dataplane|firewall|scale TABLE.txt OUT.png

esp:       Mpps per size (1000 / ns per packet), one curve per algorithm, encrypt and decrypt
           side by side; the raw IPsec-MB GCM call on the same lengths, the engine's bound, is
           the dashed curve of the same colour.
dataplane: Mpps per frame size, encrypt and decrypt bars, each with its bound (1 / (I/O + GCM)
           per packet) drawn over it, DPDK ipsec-secgw's reference rate and testpmd's I/O rate.
firewall:  the rate of each case (rules, sessions) as a fraction of the no-firewall rate, one bar
           per frame size, with the issue's targets (0.8x) as a line.
scale:     the rate against table size (tunnels, routes, policies; log scale), one curve per
           kind and frame size, as a fraction of the 1-entry case, with the targets (0.9x
           tunnels and routes, 0.8x policies) as lines; and, when the two-worker table is
           there, each of its cases' 1- and 2-worker rates side by side with the 1.7x target.
The numbers are read from the table so that the picture and the text can never disagree; a
table with no rows is an error (nothing to draw is a failed benchmark, not an empty picture).
"""
import re
import sys

import matplotlib

matplotlib.use('Agg')  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

SIZE_ORDER = ['64', '512', '1420', 'IMIX']


def number(text):
    return None if text.strip() in ('-', '') else float(text)


def parse_esp(text):
    """{algorithm: {size: (enc_ns, raw_enc_ns, dec_ns, raw_dec_ns)}} and the title line."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r'^(\S+)\s+(\S+)\s+\|\s+(\S+)\s+(\S+)\s+(\S+)\s+\|\s+(\S+)\s+(\S+)\s+(\S+)\s+\|',
                     line)
        if not m or m.group(1) == 'algorithm':
            continue
        algo, size, enc, raw_enc, _, dec, raw_dec, _ = m.groups()
        rows.setdefault(algo, {})[size] = (number(enc), number(raw_enc), number(dec),
                                           number(raw_dec))
    return rows, text.splitlines()[0] if text.strip() else ''


def parse_dataplane(text):
    """{frame: dict of the table's columns} and the title line."""
    cols = ['io_e', 'io_d', 'gcm_e', 'gcm_d', 'bound_e', 'bound_d', 'enc', 'frac_e', 'dec',
            'frac_d', 'secgw_e', 'secgw_d', 'x_e', 'x_d']
    rows = {}
    title = ''
    for line in text.splitlines():
        if line.startswith('vpn-dataplane,'):
            title = line
        parts = [p.split() for p in line.split('|')]
        if len(parts) != 5 or len(parts[0]) != 1 or parts[0][0] not in SIZE_ORDER:
            continue
        values = [float(v) for p in parts[1:] for v in p]
        if len(values) != len(cols):
            continue
        rows[parts[0][0]] = dict(zip(cols, values))
    return rows, title


def ordered(sizes):
    return [s for s in SIZE_ORDER if s in sizes] + sorted(s for s in sizes if s not in SIZE_ORDER)


def plot_esp(text, out):
    rows, title = parse_esp(text)
    if not rows:
        raise SystemExit('bench_plot: no ESP rows in the table')
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    all_sizes = ordered({s for by_size in rows.values() for s in by_size})
    for ax, (label, eng, raw) in zip(axes, [('encrypt', 0, 1), ('decrypt', 2, 3)]):
        for i, (algo, by_size) in enumerate(rows.items()):
            sizes = ordered(by_size)
            x = [all_sizes.index(s) for s in sizes]
            colour = colours[i % len(colours)]
            ax.plot(x, [1e3 / by_size[s][eng] for s in sizes], 'o-', color=colour, label=algo)
            if all(by_size[s][raw] for s in sizes):
                ax.plot(x, [1e3 / by_size[s][raw] for s in sizes], '--', color=colour,
                        alpha=0.6, label=f'{algo} raw GCM (bound)')
        ax.set_xticks(range(len(all_sizes)), all_sizes)
        ax.set_title(f'ESP {label}')
        ax.set_xlabel('packet size (bytes)')
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('Mpps, one core')
    axes[1].legend(fontsize=7, loc='upper right')
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def plot_dataplane(text, out):
    rows, title = parse_dataplane(text)
    if not rows:
        raise SystemExit('bench_plot: no frame-size rows in the dataplane table')
    sizes = ordered(rows)
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.36
    for k, (key, label, colour) in enumerate([('e', 'encrypt', '#1f77b4'),
                                              ('d', 'decrypt', '#ff7f0e')]):
        xs = [i + (k - 0.5) * width for i in range(len(sizes))]
        rates = [rows[s]['enc' if key == 'e' else 'dec'] for s in sizes]
        ax.bar(xs, rates, width, color=colour, label=f'vpn-dataplane {label}')
        for x, s, r in zip(xs, sizes, rates):
            bound = rows[s][f'bound_{key}']
            ax.hlines(bound, x - width / 2, x + width / 2, colors='black', linewidth=2,
                      label='bound 1/(I/O + GCM)' if (k, s) == (0, sizes[0]) else None)
            ax.plot(x, rows[s][f'secgw_{key}'], 'v', color='#d62728', markersize=7,
                    label='ipsec-secgw (reference)' if (k, s) == (0, sizes[0]) else None)
            ax.annotate(f'{r / bound:.2f}', (x, r), ha='center', va='bottom', fontsize=7)
        ax.plot(xs, [rows[s][f'io_{key}'] for s in sizes], ':', marker='.', color=colour,
                alpha=0.7, label=f'testpmd I/O ({label} input)')
    ax.set_xticks(range(len(sizes)), sizes)
    ax.set_xlabel('frame size (bytes)')
    ax.set_ylabel('Mpps, one worker')
    ax.set_yscale('log')
    ax.grid(alpha=0.3, which='both')
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1))
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def parse_firewall(text):
    """[(case, {size: (mpps, ratio)})] in table order, the sizes, and the title line."""
    lines = text.splitlines()
    header = next((line for line in lines if line.strip().startswith('case |')), None)
    if header is None:
        return [], [], ''
    sizes = [cell.split()[0] for cell in header.split('|')[1:-1]]
    rows = []
    for line in lines:
        parts = line.split('|')
        if len(parts) != len(sizes) + 2 or parts[0].strip() in ('case', ''):
            continue
        try:
            cells = [tuple(float(v) for v in p.split()) for p in parts[1:-1]]
        except ValueError:
            continue
        if all(len(c) == 2 for c in cells):
            rows.append((parts[0].strip(), dict(zip(sizes, cells))))
    return rows, sizes, lines[0] if lines else ''


def plot_firewall(text, out):
    rows, sizes, title = parse_firewall(text)
    if not rows:
        raise SystemExit('bench_plot: no case rows in the firewall table')
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / len(sizes)
    for k, size in enumerate(sizes):
        xs = [i + (k - (len(sizes) - 1) / 2) * width for i in range(len(rows))]
        ratios = [cells[size][1] for _, cells in rows]
        ax.bar(xs, ratios, width, label=f'{size} B' if size != 'IMIX' else 'IMIX')
        for x, (_, cells) in zip(xs, rows):
            ax.annotate(f'{cells[size][0]:.2f}', (x, cells[size][1]), ha='center', va='bottom',
                        fontsize=6)
    ax.axhline(0.8, color='black', linestyle='--', linewidth=1, label='target 0.8x')
    ax.set_xticks(range(len(rows)), [name for name, _ in rows])
    ax.set_xlabel('case (bar labels: Mpps)')
    ax.set_ylabel('rate / no-firewall rate, one worker')
    ax.set_ylim(0, 1.15)
    ax.grid(alpha=0.3, axis='y')
    ax.legend(fontsize=7, loc='upper right')
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


W2_TITLE = 'two workers'


def parse_w2(text):
    """The two-worker table after its title line: [(case, 1w Mpps, 2w Mpps)]."""
    lines = text.splitlines()
    start = next((k for k, line in enumerate(lines) if line.startswith(W2_TITLE)), None)
    rows = []
    for line in lines[start + 1:] if start is not None else []:
        m = re.match(r'^\s*(t\d+)\s+\|\s+([\d.]+)\s+\|\s+([\d.]+)\s+\|', line)
        if m:
            rows.append((m.group(1), float(m.group(2)), float(m.group(3))))
    return rows


def parse_scale_rows(text):
    """The scale table's rows as parse_firewall would read them, but with a '-' ratio (no
    1-entry case measured) kept as None and the trailing load column dropped. The two-worker
    table below it is parse_w2's."""
    lines = text.splitlines()
    end = next((k for k, line in enumerate(lines) if line.startswith(W2_TITLE)), len(lines))
    lines = lines[:end]
    header = next((line for line in lines if line.strip().startswith('case |')), None)
    if header is None:
        return [], [], ''
    sizes = [cell.split()[0] for cell in header.split('|')[1:-1]]
    rows = []
    for line in lines:
        parts = line.split('|')
        if len(parts) != len(sizes) + 2 or parts[0].strip() in ('case', ''):
            continue
        try:
            cells = [(float(p.split()[0]), number(p.split()[1])) for p in parts[1:-1]]
        except (ValueError, IndexError):
            continue
        rows.append((parts[0].strip(), dict(zip(sizes, cells))))
    return rows, sizes, lines[0] if lines else ''


def plot_scale(text, out):
    rows, sizes, title = parse_scale_rows(text)
    kinds = {'t': ('tunnels', 0.9), 'r': ('routes', 0.9), 'p': ('policies per direction', 0.8)}
    series = {}
    for name, cells in rows:
        m = re.fullmatch(r'([trp])(\d+)([km]?)', name)
        if not m:
            continue
        n = int(m.group(2)) * {'k': 1000, 'm': 1000000}.get(m.group(3), 1)
        for size, (mpps, ratio) in cells.items():
            series.setdefault(m.group(1), {}).setdefault(size, []).append((n, mpps, ratio))
    w2 = parse_w2(text)
    if not series and not w2:
        raise SystemExit('bench_plot: no case rows in the scale table')
    panels = len(series) + (1 if w2 else 0)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 4.4), squeeze=False)
    if w2:
        ax = axes[0][-1]
        x = range(len(w2))
        ax.bar([i - 0.2 for i in x], [r[1] for r in w2], width=0.4, label='1 worker')
        ax.bar([i + 0.2 for i in x], [r[2] for r in w2], width=0.4, label='2 workers')
        ax.plot([i + 0.2 for i in x], [1.7 * r[1] for r in w2], 'k_', markersize=18,
                label='target 1.7x of 1 worker')
        for i, (_, one, two) in enumerate(w2):
            ax.annotate(f'{two / one:.2f}x', (i + 0.2, two), textcoords='offset points',
                        xytext=(0, 4), ha='center', fontsize=7)
        ax.set_xticks(list(x))
        ax.set_xticklabels([r[0] for r in w2])
        ax.set_ylabel('Mpps, 64 B encrypt')
        ax.set_title('two workers', fontsize=8)
        ax.grid(alpha=0.3, axis='y')
        ax.legend(fontsize=7, loc='lower left')
    for ax, kind in zip(axes[0], [k for k in kinds if k in series]):
        label, target = kinds[kind]
        for size in sizes:
            points = [p for p in series[kind].get(size, []) if p[2] is not None]
            if not points:
                continue
            ax.plot([p[0] for p in points], [p[2] for p in points], marker='o',
                    label=f'{size} B' if size != 'IMIX' else 'IMIX')
            for n, mpps, ratio in points:
                ax.annotate(f'{mpps:.2f}', (n, ratio), textcoords='offset points', xytext=(0, 4),
                            ha='center', fontsize=6)
        ax.axhline(target, color='black', linestyle='--', linewidth=1, label=f'target {target}x')
        ax.set_xscale('log')
        ax.set_xlabel(f'{label} (point labels: Mpps)')
        ax.set_ylabel('rate / 1-entry rate, one worker')
        top = max([p[2] for pts in series[kind].values() for p in pts if p[2] is not None],
                  default=1.0)
        ax.set_ylim(0, max(1.2, top * 1.1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc='lower left')
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main():
    plots = {'esp': plot_esp, 'dataplane': plot_dataplane, 'firewall': plot_firewall,
             'scale': plot_scale}
    if len(sys.argv) != 4 or sys.argv[1] not in plots:
        raise SystemExit('usage: bench_plot.py esp|dataplane|firewall|scale TABLE.txt OUT.png')
    text = open(sys.argv[2]).read()
    plots[sys.argv[1]](text, sys.argv[3])


if __name__ == '__main__':
    main()
