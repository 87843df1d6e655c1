"""vpn-dataplane's encrypt rate against the size of its tables (not a test): one worker,
net_pcap infinite_rx -> net_null as in dataplane_bench.py, 64 B and IMIX frames, the same
10,000 cleartext frames (distinct destinations) in every case, with

  tN    N VTI tunnels (1, 100, 1,000, 10,000), each with its own SA (its own key): 10,000 /32
        routes, destination j into tunnel j mod N, so with N >= 64 every packet of a burst
        goes into another tunnel (traffic spread over all of them);
  rN    one tunnel and N routes (1: a default route; 10,000 to 1,000,000 random prefixes with
        lengths as in a full Internet table, most /24, 1% longer than /24), every frame's
        destination inside another of them (10,000 of the N routes, spread over the table);
  pN    one policy-based SA and N outbound protect policies (1: one /16 for all; 100 to
        10,000: a /32 each, priority in order), every frame matching another policy.

Each case starts its own vpn-dataplane, sized with --max-interfaces/--max-sas/--max-routes/
--max-policies for its tables. Best of BENCH_REPEATS (3) x BENCH_SECONDS (3) per case. The
ratio of a case is its rate over the 1-entry case of its kind (t1, r1, p1) at the same size,
which runs before and after the others of its kind: the mean of the two, their spread printed
under the table, and a ratio whose 1-entry runs differ by more than 10% called inconclusive.

Prints the table, then the last line
  summary: t10k=<r> r1m=<r> p10k=<r> reconf_loss=<n> commit10k_s=<s> w2=<r> w2_members=<r>
           w2_ceiling=<r>
reconf_loss and commit10k_s come from reconf_bench.py, run in the same run under the lab lock
(RECONF_TUNNELS tunnels under traffic, one added and one removed; vpnd's commit of 10,000
tunnels; BENCH_RECONF=0 skips it). w2 is the 64 B encrypt rate of t100 with two workers over
the rate with one (docs/DESIGN.md, SA ownership): the LAN port is net_pcap with one receive
queue per worker, each replaying the frames of its flows (split by a hash of the flow, as a
NIC's RSS would), the tunnels' SAs spread over the workers by the dataplane, so a worker
encrypts what it owns and hands the rest to the owner (vpnd with a peer that does not offer RFC
9611). w2_members is the same with an SA per worker in every tunnel (RFC 9611 groups, installed
with dpctl as vpnd installs what two Portcullis appliances negotiate: `sa add ... worker W`,
`bind VTI SPI0 member 0 SPI0 member 1 SPI1`, checked on the appliances by
test_per_worker_sas.py), so no packet crosses cores; w2_ceiling is what this machine
gives two workers that share nothing: two independent one-worker dataplanes of t100 at once, one
worker per CPU, their rates summed, over the one-worker rate. The one-worker run goes before and
after the two-worker ones (the ratio uses their mean); t1 (one SA, all of it on one owner; with
members one SA per worker) is printed beside it. On a 2-core machine the first worker shares a core with the main lcore (which
sleeps between polls) and with the benchmark itself. Each run prints the share of its CPU each
worker thread had while measured (/proc/<pid>/task/*/stat): on a shared machine every
`-l 0,1` dataplane pins its worker to CPU 1, and a w2 whose workers had less than 90% of their
CPUs is called inconclusive; BENCH_LCORES=0@1,1@0 puts a one-worker run's worker on CPU 0.
BENCH_CASES=t1,t100,w2 BENCH_SIZES=64 limit the run (the summary
then has `na` for what is missing).
"""
import zlib
import contextlib
import os
import pathlib
import random
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import json  # noqa: E402
import dataplane_bench as db  # noqa: E402  (EAL memory, keys, rate measurement as there)

SIZES = {'64': [64], 'IMIX': [64] * 7 + [570] * 4 + [1420]}
CASES = [('t', 1), ('t', 100), ('t', 1000), ('t', 10000),
         ('r', 1), ('r', 10000), ('r', 100000), ('r', 1000000),
         ('p', 1), ('p', 100), ('p', 1000), ('p', 10000)]
FRAMES = 10000
BATCH = 4000  # lines per dpctl batch: below the channel's 4,096 messages
ONLY_CASES = os.environ.get('BENCH_CASES')
ONLY_SIZES = os.environ.get('BENCH_SIZES')
SEED = 18


def name(kind, n):
    return f'{kind}{n // 1000000}m' if n >= 1000000 else (
        f'{kind}{n // 1000}k' if n >= 1000 else f'{kind}{n}')


def ip(a):
    return '.'.join(str((a >> s) & 0xff) for s in (24, 16, 8, 0))


def traffic_host(j):
    """Destination j of the tunnel and policy cases: 10.2.0.1 .. 10.2.39.250."""
    return 0x0a020000 | (j // 250) << 8 | (j % 250 + 1)


def random_routes(n, rnd):
    """n distinct random prefixes (host order, length) away from the bench's own networks
    (10/8, 192/8), 0/8, 127/8 and multicast and above."""
    def length():
        r = rnd.randrange(1000)
        if r < 10:
            return 25 + rnd.randrange(8)
        for bound, ln in ((600, 24), (700, 23), (800, 22), (860, 21), (910, 20), (950, 19),
                          (975, 18), (990, 17)):
            if r < bound:
                return ln
        return 8 + rnd.randrange(9)
    seen, out = set(), []
    while len(out) < n:
        ln = length()
        a = rnd.getrandbits(32) & (0xffffffff << (32 - ln)) & 0xffffffff
        # Every address of a prefix (8 bits or longer) has its first byte: none of them is
        # ours (10/8: the LAN and the traffic; 192/8: the WAN and its peer) or special.
        if (a >> 24) in (0, 10, 127, 192) or (a >> 24) >= 224:
            continue
        if (a, ln) in seen:
            continue
        seen.add((a, ln))
        out.append((a, ln))
    return out


def write_pcap(path, dsts, frame_sizes, queues=1):
    """UDP frames 10.1.0.10 -> each destination in turn, lengths cycling through frame_sizes,
    written directly (scapy would take a while for 10,000). queues > 1: one file per receive
    queue (path with .qN before the suffix), each flow in one of them by a hash of its
    destination and source port; returns the paths."""
    def csum(h):
        s = sum(struct.unpack('!10H', h))
        s = (s & 0xffff) + (s >> 16)
        return ~((s & 0xffff) + (s >> 16)) & 0xffff
    eth = bytes.fromhex(db.PCAP_MAC.replace(':', '')) + bytes.fromhex('02000000010a' '0800')
    paths = [path] if queues == 1 else [path.with_suffix(f'.q{q}.pcap') for q in range(queues)]
    files = [open(p, 'wb') for p in paths]
    for f in files:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    with contextlib.ExitStack() as stack:
        for f in files:
            stack.enter_context(f)
        for j, dst in enumerate(dsts):
            size = frame_sizes[j % len(frame_sizes)]
            total = size - 14
            iph = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, total, 0, 0, 64, 17, 0,
                                        bytes([10, 1, 0, 10]), struct.pack('!I', dst)))
            iph[10:12] = struct.pack('!H', csum(bytes(iph)))
            sport = 1024 + j % 50000
            udp = struct.pack('!HHHH', sport, 5001, total - 20, 0)
            frame = eth + bytes(iph) + udp + bytes(total - 28)
            f = files[zlib.crc32(struct.pack('!IH', dst, sport)) % queues]
            f.write(struct.pack('<IIII', 0, 0, len(frame), len(frame)))
            f.write(frame)
    return paths


class Dataplane(db.Dataplane):
    def __init__(self, pcaps, work, tag, sizes, workers=1, lcores=None):
        """pcaps: one file per worker (a receive queue each); lcores: EAL --lcores of a
        one-worker dataplane (the w2 ceiling's second one)."""
        self.channel = f'scbench{os.getpid()}{tag}'
        self.log = work / f'dataplane-{tag}.log'
        # One worker as everywhere else in the benchmarks (-l 0,1); more: --workers, which puts
        # the main lcore on the first worker's core when there are as many workers as CPUs.
        # BENCH_LCORES (EAL --lcores, e.g. 0@1,1@0: the worker on CPU 0) moves the one worker
        # off a CPU that others' dataplanes keep busy.
        lcores = (['--lcores', lcores] if lcores else
                  ['--lcores', os.environ['BENCH_LCORES']] if os.environ.get('BENCH_LCORES')
                  else ['-l', '0,1']) if workers == 1 else []
        rx = ','.join(f'rx_pcap={p}' for p in pcaps)
        cmd = [str(db.BUILD / 'dataplane' / 'vpn-dataplane'), *lcores, *db.eal_mem(),
               '--log-level=*:error', '--', '--channel', self.channel,
               '--port', f'lan=net_pcap0,{rx},infinite_rx=1',
               '--port', 'wan=net_null0,no-rx=1']
        if workers > 1:
            cmd += ['--workers', str(workers)]
        for option, value in sizes.items():
            cmd += [option, str(value)]
        self.proc = db.start_dataplane(cmd, self.log, timeout=60)

    def rate(self, port):
        """The best of REPEATS rates, as dataplane_bench's; self.shares: each worker's share of
        its CPU in that same window."""
        best, self.shares = 0.0, []
        hz = os.sysconf('SC_CLK_TCK')
        time.sleep(1)  # warm-up
        for _ in range(db.REPEATS):
            a, ticks0, t0 = self.tx_packets(port), worker_cpu_ticks(self.proc.pid), time.monotonic()
            time.sleep(db.SECONDS)
            b, ticks1, t1 = self.tx_packets(port), worker_cpu_ticks(self.proc.pid), time.monotonic()
            mpps = (b - a) / (t1 - t0) / 1e6
            if mpps > best:
                best = mpps
                self.shares = [(ticks1[w] - ticks0.get(w, 0)) / (hz * (t1 - t0))
                               for w in sorted(ticks1)]
        return best

    def batch(self, lines):
        for k in range(0, len(lines), BATCH):
            try:
                self.dpctl('batch', '-', stdin='\n'.join(lines[k:k + BATCH]) + '\n')
            except subprocess.CalledProcessError as e:
                raise SystemExit(f'bench: dpctl batch failed: {e.stdout}{e.stderr}\n'
                                 f'{self.log.read_text()[-2000:]}')


BASE = [
    'interface add wan kind port',
    'address add wan 192.0.2.1/24',
    'neigh add wan 192.0.2.2 02:00:00:00:02:02',
]
# Last: the LAN port is polled (traffic flows) only once everything else is in.
LAN = [
    'interface add lan kind port',
    'address add lan 10.1.0.1/24',
    'neigh add lan 10.1.0.10 02:00:00:00:01:0a',
]


def sa_out(spi, i, vti=None):
    """An outbound SA with a key of its own (tunnel i)."""
    key = (db.KEY_OUT[:12] + struct.pack('!I', i)).hex()
    line = (f'sa add spi {spi:#x} dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 '
            f'key {key} salt {db.SALT_OUT.hex()}')
    return line + (f' vti {vti}' if vti else '')


def configure(dp, kind, n, routes, members=0):
    """members (tN only): that many workers, each with its own SA in every tunnel (RFC 9611
    groups, installed as vpnd would: `sa add ... worker W`, `bind ... member W SPI`); worker
    0's is the tunnel's fallback."""
    lines = list(BASE)
    if kind == 't':
        for i in range(n):
            lines.append(f'interface add vti{i} kind vti mtu 9000')
            if not members:
                lines += [sa_out(0x10000 + i, i, f'vti{i}'), f'bind vti{i} {0x10000 + i:#x}']
                continue
            spis = [0x10000 * (w + 1) + i for w in range(members)]
            lines += [f'{sa_out(spi, i, f"vti{i}")} worker {w}' for w, spi in enumerate(spis)]
            lines.append(f'bind vti{i} {spis[0]:#x} ' +
                         ' '.join(f'member {w} {spi:#x}' for w, spi in enumerate(spis)))
        lines += [f'route add {ip(traffic_host(j))}/32 dev vti{j % n}' for j in range(FRAMES)]
    elif kind == 'r':
        lines += ['interface add vti0 kind vti mtu 9000', sa_out(0x10000, 0, 'vti0'),
                  'bind vti0 0x10000']
        if n == 1:
            lines.append('route add 0.0.0.0/0 dev vti0')
        else:
            lines += [f'route add {ip(a)}/{ln} dev vti0' for a, ln in routes[:n]]
    else:
        lines += [sa_out(0x10000, 0), 'route add 0.0.0.0/0 via 192.0.2.254']
        if n == 1:
            lines.append('policy add out src 10.1.0.0/16 dst 10.2.0.0/16 protect reqid 1 '
                         'spi 0x10000')
        else:
            # Destination j's policy for the first n destinations; the frames cycle over them.
            lines += [f'policy add out src 10.1.0.0/16 dst {ip(traffic_host(j))}/32 protect '
                      f'reqid 1 spi 0x10000 priority {100 + j}' for j in range(n)]
    t0 = time.monotonic()
    dp.batch(lines)
    load_s = time.monotonic() - t0
    dp.batch(LAN)
    return load_s


def sizes_for(kind, n):
    if kind == 't':
        return {'--max-interfaces': max(1024, n + 64), '--max-sas': max(8192, 4 * n)}
    if kind == 'r':
        return {'--max-routes': max(65536, n)}
    return {'--max-policies': max(1024, n)}


def destinations(kind, n, routes, rnd):
    if kind in ('t',):
        return [traffic_host(j) for j in range(FRAMES)]
    if kind == 'p':
        return [traffic_host(j % n) for j in range(FRAMES)] if n > 1 else \
            [traffic_host(j) for j in range(FRAMES)]
    # r: an address inside each of FRAMES routes spread over the first n (all of them for
    # n <= FRAMES); r1 sends the r1m frames through its default route.
    pool = routes[:max(n, FRAMES)]
    picks = rnd.sample(range(len(pool)), FRAMES) if len(pool) > FRAMES else range(FRAMES)
    out = []
    for k in picks:
        a, ln = pool[k]
        out.append(a | (rnd.getrandbits(32 - ln) if ln < 32 else 0))
    return out


def worker_cpu_ticks(pid):
    """CPU time (clock ticks, user + system) of each EAL worker thread of `pid`, by name."""
    out = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            comm = pathlib.Path(f'/proc/{pid}/task/{tid}/comm').read_text().strip()
            fields = pathlib.Path(f'/proc/{pid}/task/{tid}/stat').read_text().rsplit(')', 1)[1]
        except OSError:
            continue
        if comm.startswith(('rte-worker-', 'lcore-worker-')):
            f = fields.split()
            out[comm] = int(f[11]) + int(f[12])  # utime, stime (fields 14 and 15 of stat)
    return out


def measure(work, kind, n, size, frame_sizes, routes, workers=1, members=False):
    """(Mpps, configuration seconds, each worker's share of its CPU while measured).
    members: each worker with its own SA per tunnel (configure's)."""
    tag = f'{name(kind, n)}{size}w{workers}{"m" if members else ""}'
    pcap = work / f'{tag}.pcap'
    rnd = random.Random(SEED)
    # The route cases all draw from the 1M list: r1 and rN send what r1m sends.
    dsts = destinations(kind, n if kind != 'r' else (len(routes) if n == 1 else n), routes, rnd)
    pcaps = write_pcap(pcap, dsts, frame_sizes, workers)
    dp = Dataplane(pcaps, work, tag, sizes_for(kind, n), workers)
    try:
        load_s = configure(dp, kind, n, routes, workers if members else 0)
        # On a shared machine a busy-polling worker gets less than its CPU when others run
        # there too (every `-l 0,1` dataplane pins its worker to CPU 1): the share says how far
        # a rate is the dataplane's own.
        mpps = dp.rate('wan')
        shares = dp.shares
        # Transparent huge pages the process got (the SAs' chunks are advised for them; DPDK's
        # memory under --no-huge is not): whether the kernel found free 2 MB blocks.
        rollup = pathlib.Path(f'/proc/{dp.proc.pid}/smaps_rollup').read_text()
        thp_kb = next((int(line.split()[1]) for line in rollup.splitlines()
                       if line.startswith('AnonHugePages:')), 0)
        print(f'  {tag}: AnonHugePages {thp_kb} kB', file=sys.stderr)
        drops = {k: v for k, v in dp.drops().items() if v}
        if drops:
            print(f'  note: {tag} drops {drops}', file=sys.stderr)
        if workers > 1:
            try:
                w = json.loads(dp.dpctl('show', 'workers', '--json').stdout)
            except subprocess.CalledProcessError:  # an older build (A/B runs): no such command
                w = None
        if workers > 1 and w:
            print(f'  {tag}: SAs per worker {w["sas_owned"]}, loops {w["loops"]}, rx bursts '
                  f'{w["rx_bursts"]}, tx {w["tx_packets"]}, handed off {w["handed_off"]}, ring full '
                  f'{w["handoff_queue_full"]}', file=sys.stderr)
        return mpps, load_s, shares
    finally:
        dp.close()
        for p in pcaps:
            p.unlink()


def two_workers(work, cases):
    """{(kind, n, way): (1-worker mean, 2-worker, 1-worker spread, 2-worker CPU shares)} at
    64 B: 1 worker, 2 with handoffs (one SA per tunnel: vpnd with a peer without RFC 9611), 2
    with members (an SA per worker per tunnel: RFC 9611 groups, as vpnd negotiates them between
    two Portcullis appliances), 1 worker again; way 'handoff' or 'members'."""
    out = {}
    for kind, n in cases:
        one_a, _, share_a = measure(work, kind, n, '64', SIZES['64'], [], 1)
        two, _, shares = measure(work, kind, n, '64', SIZES['64'], [], 2)
        two_m, _, shares_m = measure(work, kind, n, '64', SIZES['64'], [], 2, members=True)
        one_b, _, share_b = measure(work, kind, n, '64', SIZES['64'], [], 1)
        mean = (one_a + one_b) / 2
        print(f'  64 {name(kind, n)}: 1 worker {one_a:.2f}/{one_b:.2f} (CPU '
              f'{pct(share_a)}/{pct(share_b)}), 2 workers {two:.2f} Mpps (CPU {pct(shares)}), '
              f'with members {two_m:.2f} Mpps (CPU {pct(shares_m)})', file=sys.stderr, flush=True)
        spread = abs(one_a - one_b) / mean if mean > 0 else 0.0
        # Every run's shares: a ratio is only as good as its starved-most run, the one-worker
        # runs (its denominator) included.
        out[(kind, n, 'handoff')] = (mean, two, spread, shares + share_a + share_b)
        out[(kind, n, 'members')] = (mean, two_m, spread, shares_m + share_a + share_b)
    return out


def ceiling(work, kind, n):
    """What this machine allows two workers: two independent one-worker dataplanes of the
    same case at once, one worker per CPU (`-l 0,1` and `--lcores 0@1,1@0`: each main lcore,
    which sleeps between polls, on the other's CPU), 64 B. (one-worker rate alone, the two
    together, CPU shares of both workers); the one-worker rate runs before and after (mean)."""
    one_a, _, share_a = measure(work, kind, n, '64', SIZES['64'], [], 1)
    rnd = random.Random(SEED)
    dsts = destinations(kind, n, [], rnd)
    dps, pcaps = [], []
    try:
        for k, lcores in enumerate(['0,1', '0@1,1@0']):
            tag = f'{name(kind, n)}64ceil{k}'
            pcaps += write_pcap(work / f'{tag}.pcap', dsts, SIZES['64'], 1)
            # '0,1' as a --lcores list: main lcore 0 on CPU 0, worker 1 on CPU 1.
            dps.append(Dataplane([pcaps[-1]], work, tag, sizes_for(kind, n), 1, lcores))
            configure(dps[-1], kind, n, [])
        hz = os.sysconf('SC_CLK_TCK')
        time.sleep(1)
        best, best_shares = 0.0, []
        for _ in range(db.REPEATS):
            a = [d.tx_packets('wan') for d in dps]
            ticks0 = [worker_cpu_ticks(d.proc.pid) for d in dps]
            t0 = time.monotonic()
            time.sleep(db.SECONDS)
            b = [d.tx_packets('wan') for d in dps]
            ticks1 = [worker_cpu_ticks(d.proc.pid) for d in dps]
            t1 = time.monotonic()
            mpps = sum(y - x for x, y in zip(a, b)) / (t1 - t0) / 1e6
            if mpps > best:
                best = mpps
                best_shares = [(tk1[w] - tk0.get(w, 0)) / (hz * (t1 - t0))
                               for tk0, tk1 in zip(ticks0, ticks1) for w in sorted(tk1)]
    finally:
        for d in dps:
            d.close()
        for p in pcaps:
            p.unlink()
    one_b, _, share_b = measure(work, kind, n, '64', SIZES['64'], [], 1)
    mean = (one_a + one_b) / 2
    print(f'  64 {name(kind, n)} ceiling: 1 worker {one_a:.2f}/{one_b:.2f} (CPU '
          f'{pct(share_a)}/{pct(share_b)}), two one-worker dataplanes at once {best:.2f} Mpps '
          f'(CPU {pct(best_shares)})', file=sys.stderr, flush=True)
    return (mean, best, abs(one_a - one_b) / mean if mean > 0 else 0.0,
            best_shares + share_a + share_b)


def pct(shares):
    return '+'.join(f'{s * 100:.0f}%' for s in shares) or '?'


def starved(shares):
    """A worker had less than 90% of its CPU while measured: the rate is not the dataplane's."""
    return any(s < 0.9 for s in shares)


def main():
    cases = [c for c in CASES if not ONLY_CASES or name(*c) in ONLY_CASES.split(',')]
    sizes = {k: v for k, v in SIZES.items() if not ONLY_SIZES or k in ONLY_SIZES.split(',')}
    routes = random_routes(1000000, random.Random(SEED)) if any(k == 'r' for k, _ in cases) \
        else []
    rows, spread, w2, w2_ceiling = {}, {}, {}, None
    starved_runs = []  # (size, case) whose worker had less than 90% of its CPU
    w2_cases = [('t', 1), ('t', 100)]
    with tempfile.TemporaryDirectory(prefix='pc-scalebench-') as tmp:
        work = pathlib.Path(tmp)
        if not ONLY_CASES or 'w2' in ONLY_CASES.split(','):
            w2 = two_workers(work, w2_cases)
            w2_ceiling = ceiling(work, 't', 100)
        for size, frames in sizes.items():
            for kind in 'trp':
                kind_cases = [c for c in cases if c[0] == kind]
                # The 1-entry case before and after the others: its spread says how far the
                # machine's speed moved meanwhile (the ratio uses the mean of the two).
                again = [(kind, 1)] if (kind, 1) in kind_cases and len(kind_cases) > 1 else []
                for k, (_, n) in enumerate(kind_cases + again):
                    mpps, load_s, shares = measure(work, kind, n, size, frames, routes)
                    if starved(shares):
                        starved_runs.append(f'{name(kind, n)} {size}')
                    print(f'  {size} {name(kind, n)}: {mpps:.2f} Mpps (loaded in {load_s:.1f} s, '
                          f'worker CPU {pct(shares)})', file=sys.stderr, flush=True)
                    if k == len(kind_cases):
                        first = rows[(size, kind, 1)][0]
                        mean = (first + mpps) / 2
                        spread[(size, kind)] = abs(first - mpps) / mean if mean > 0 else 0.0
                        rows[(size, kind, 1)] = (mean, load_s)
                    else:
                        rows[(size, kind, n)] = (mpps, load_s)
    print(f'vpn-dataplane encrypt path against table sizes, one worker, AES-GCM-128, net_pcap '
          f'infinite_rx -> net_null, {FRAMES} distinct frames, '
          f'{"hugepages" if db.HUGE else "no hugepages"}, best of {db.REPEATS} x '
          f'{db.SECONDS:g} s')
    print(f'{"case":>7} | ' + ' | '.join(f'{s + " Mpps":>9} {"x 1":>6}' for s in sizes) +
          f' | {"load s":>7}')

    def ratio(size, kind, n):
        """None only when a case was not measured; a zero baseline is a failed run."""
        one, this = rows.get((size, kind, 1)), rows.get((size, kind, n))
        if one is None or this is None:
            return None
        if one[0] <= 0:
            raise SystemExit(f'bench: {name(kind, 1)} at {size} moved no packets')
        return this[0] / one[0]

    for kind, n in cases:
        cells = []
        for size in sizes:
            r = ratio(size, kind, n)
            cells.append(f'{rows[(size, kind, n)][0]:9.2f} ' +
                         (f'{r:6.2f}' if r is not None else f'{"-":>6}'))
        load = max(rows[(size, kind, n)][1] for size in sizes)
        print(f'{name(kind, n):>7} | ' + ' | '.join(cells) + f' | {load:7.1f}')
    print('tN: N VTIs, 10,000 frames spread over all; rN: N routes (r1: a default route), '
          'frames into 10,000 of them; pN: N protect policies (p1: one /16), frames over all. '
          'x 1: rate / the 1-entry case, same size; load s: the configuration batches')
    if spread:
        print('1-entry rate spread (run before and after its kind\'s cases; the ratio uses the '
              'mean): ' + ', '.join(f'{name(k, 1)} {sz} {v * 100:.0f}%'
                                    for (sz, k), v in spread.items()))
        shaky = [f'{name(k, 1)} {sz}' for (sz, k), v in spread.items() if v > 0.10]
        if shaky:
            print('inconclusive (the 1-entry rate moved by more than 10%): ratios of ' +
                  ', '.join(shaky))
    if starved_runs:
        print('inconclusive (the worker had less than 90% of its CPU while measured; others ran '
              'there): ' + ', '.join(dict.fromkeys(starved_runs)))
    reconf = {'reconf_loss': 'na', 'commit10k_s': 'na'}
    if os.environ.get('BENCH_RECONF', '1') != '0':
        # Network namespaces: one lab user at a time, as `scripts/bench reconf` runs it.
        r = subprocess.run(['flock', '/tmp/portcullis-nettest.lock', sys.executable,
                            str(pathlib.Path(__file__).resolve().parent / 'reconf_bench.py')],
                           capture_output=True, text=True)
        print(r.stdout, end='')
        last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ''
        if r.returncode == 0 and last.startswith('summary: '):
            reconf.update(kv.split('=', 1) for kv in last.split()[1:])
        else:
            print(f'reconf_bench.py failed ({r.returncode}): {r.stderr[-2000:]}')
    if w2:
        print(f'two workers, 64 B encrypt (net_pcap: one receive queue per worker, flows split '
              f'by hash; --workers 2, the main lcore on the first worker\'s core, {os.cpu_count()} '
              f'CPUs)')
        print(f'{"tunnels":>7} | {"SAs per tunnel":<26} | {"1w Mpps":>8} | {"2w Mpps":>8} | '
              f'{"2w / 1w":>7} | {"1w spread":>9} | {"CPU 2w, 1w, 1w":>15}')
        ways = {'handoff': 'one (handoffs)', 'members': 'one per worker (RFC 9611)'}
        rows2 = [(name(k, n), ways[way], v) for (k, n, way), v in w2.items()]
        if w2_ceiling:
            rows2.append(('t100', 'ceiling: 2 x 1w dataplanes', w2_ceiling))
        for case, way, (one, two, sp, shares) in rows2:
            print(f'{case:>7} | {way:<26} | {one:8.2f} | {two:8.2f} | '
                  f'{two / one if one > 0 else 0:7.2f} | '
                  f'{sp * 100:8.0f}% | {pct(shares):>15}')
        print('one (handoffs): one SA per tunnel, owned by one worker (t1: one SA, the other '
              'worker only receives and hands over; t100: SAs spread over both, half the packets '
              'handed over), what vpnd installs with a peer without RFC 9611 '
              '(strongSwan 5.9.8); one per worker: each tunnel with an SA per worker installed '
              'by dpctl (`sa add ... worker W`, `bind ... member 0 SPI0 member 1 SPI1`, the '
              'fallback worker 0\'s), no handoff: the layout vpnd installs when two Portcullis '
              'appliances negotiate a group (test_per_worker_sas.py checks it); ceiling: two '
              'independent one-worker dataplanes (t100) at once, one '
              'worker per CPU, their rates summed: what this machine gives two workers that '
              'share nothing. w2 is t100\'s 2w / 1w with handoffs, w2_members with members, '
              'w2_ceiling the ceiling\'s; CPU: the share of its CPU each worker had while '
              'measured, in the two-worker run(s), then the one-worker runs before and after')
        for case, way, (one, two, sp, shares) in rows2:
            if one > 0 and two / one > (os.cpu_count() or 1):
                print(f'invalid: {case} {way}: {two / one:.2f}x with {os.cpu_count()} CPUs (the '
                      'one-worker rate was not the dataplane\'s)')
            elif starved(shares):
                print(f'inconclusive: {case} {way}: a worker of one of its runs had less than '
                      '90% of its CPU (others ran there)')
    missing = (['w2 (2 workers / 1)'] if not w2 else []) + (
        ['reconf_loss and commit10k_s (BENCH_RECONF=0 or reconf_bench.py failed)']
        if reconf['reconf_loss'] == 'na' else [])
    if missing:
        print('not measured (na): ' + ', '.join(missing))
    def w2_of(v):
        """The ratio (`na`: not measured); the table above says when it is inconclusive or
        invalid, as for the other ratios."""
        return f'{v[1] / v[0]:.2f}' if v and v[0] > 0 else 'na'
    w2_ratio = w2_of(w2.get(('t', 100, 'handoff')))
    w2_members = w2_of(w2.get(('t', 100, 'members')))
    w2_ceil = w2_of(w2_ceiling)

    def summary(kind, n):
        r = ratio('64', kind, n)
        return f'{r:.2f}' if r is not None else 'na'
    print(f'summary: t10k={summary("t", 10000)} r1m={summary("r", 1000000)} '
          f'p10k={summary("p", 10000)} reconf_loss={reconf["reconf_loss"]} '
          f'commit10k_s={reconf["commit10k_s"]} w2={w2_ratio} w2_members={w2_members} '
          f'w2_ceiling={w2_ceil}')


if __name__ == '__main__':
    main()
