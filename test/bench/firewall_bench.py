"""The firewall's cost on vpn-dataplane's encrypt path (not a test): one worker, one VTI,
net_pcap infinite_rx -> net_null as in dataplane_bench.py, 64 B and IMIX frames, with

  base     no firewall;
  rN       N rule entries (10, 1,000, 10,000) on the LAN's `in` and as many on the VTI's `out`,
           none of which the traffic matches, then one that accepts it: stateless;
  s10      10 entries, the accepting rule with `state new`: every packet after a flow's first
           is a session's and passes without rule evaluation;
  sess1m   s10 with 1,000,000 live sessions in the table (made first by a second port that
           replays a million distinct flows once), the traffic's own among them.

and a commit that rebuilds the 10,000-entry ACL while traffic flows, counting the packets the
dataplane dropped meanwhile. Best of BENCH_REPEATS (3) x BENCH_SECONDS (3) per case.

The measured traffic of those rows is 64 flows, which the workers' session-position and
verdict caches (docs/DESIGN.md, Firewall, Cost) hold after the first burst: they show the cost
of a flow the caches know. The many-flow rows (64 B) replay BENCH_MANY_FLOWS (65,536) distinct
UDP flows instead, each flow's entries visited once per round of all of them, so every probe
misses the worker's L2 (two-way buckets of the caches' 262,144 entries, core/limits.h, keep
about 91% of random flows; these differ only in their ports, which CRC32-C, linear, spreads
evenly: computed, all of them stay, so the rows show flows the caches hold): base,
r10k, s10 and sess1m (whose table holds the million filled sessions plus the measured flows'
own). They run on hugepages as the rest when MANY_HUGE_PAGES 2 MB pages are free (their
65,536 stored frames and a million sessions took 584 MB; without that many, or with
BENCH_NO_HUGE=1, on 2 GB of ordinary memory, and the table says which).
The over rows, the honest worst case, replay BENCH_OVER_FLOWS (524,288: four flows a
bucket; random flows would keep 9%, these 1-2% by the reviewer's computation, and both caches
step aside) the same way: base, r10k and sess1m (whose table holds the filled sessions and
these), on hugepages when OVER_HUGE_PAGES are free, else on ordinary memory sized for them
(0: no over rows).

Prints the table, then the last line
  summary: r10k=<r10k / base, many flows> sess1m=<sess1m / base, many flows>
           r10k_64f=<r10k / base, 64 flows> sess1m_64f=<...> commit_loss=<packets>
           r10k_over=<r10k / base, over flows> sess1m_over=<...>
"""
import json
import os
import pathlib
import random
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dataplane_bench as db  # noqa: E402  (frames, keys and EAL memory as there)

SIZES = {'64': [64], 'IMIX': [64] * 7 + [570] * 4 + [1420]}
CASES = [('base', 0, False), ('r10', 10, False), ('r1k', 1000, False), ('r10k', 10000, False),
         ('s10', 10, True), ('sess1m', 10, True)]
FILL_SESSIONS = int(os.environ.get('BENCH_FILL_SESSIONS', '1000000'))
MANY_FLOWS = int(os.environ.get('BENCH_MANY_FLOWS', '65536'))
MANY_CASES = [c for c in CASES if c[0] in ('base', 'r10k', 's10', 'sess1m')]
OVER_FLOWS = int(os.environ.get('BENCH_OVER_FLOWS', '524288'))
OVER_CASES = [c for c in CASES if c[0] in ('base', 'r10k', 'sess1m')]
# While working on one thing: BENCH_CASES=base,r10 BENCH_SIZES=64 (the summary needs all).
ONLY_CASES = os.environ.get('BENCH_CASES')
ONLY_SIZES = os.environ.get('BENCH_SIZES')


# 2 MB pages the many-flow rows need free to run on hugepages: their mbufs (65,536 stored
# frames and 16,384 more) and the session tables of sess1m (1.1 million IPv4 slots and a
# quarter as many IPv6 ones with their rte_hash buckets and keys) took 292 pages (sess1m,
# the lowest HugePages_Free during its run, 2026-12-07); the rest is margin.
MANY_HUGE_PAGES = int(os.environ.get('BENCH_MANY_HUGE_PAGES', '400'))
MANY_MEM = []  # what the many-flow rows ran on
# The over rows: 540,672 mbufs (2.3 KB each) and 1.6 million session slots; the rest is margin.
OVER_HUGE_PAGES = int(os.environ.get('BENCH_OVER_HUGE_PAGES', '800'))
OVER_MEM = []


def free_hugepages():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('HugePages_Free:'):
                return int(line.split()[1])
    return 0


def row_mem(decided, pages, megabytes):
    """EAL memory options of a many-flow or over row: hugepages when db.HUGE and `pages` are
    free (production runs on hugepages; 4 KB pages add a TLB miss to each random access into a
    million sessions), otherwise `megabytes` of ordinary memory. Decided once per kind (the
    list `decided` keeps it): every row of a kind on the same memory."""
    if not decided:
        decided.append('hugepages' if db.HUGE and free_hugepages() >= pages else 'no hugepages')
    if decided[0] == 'hugepages':
        return db.eal_mem()
    return ['--no-huge', '-m', str(megabytes)]


def many_flow_mem():
    return row_mem(MANY_MEM, MANY_HUGE_PAGES, 2048)


def over_flow_mem():
    # The mbufs (about 2.5 KB each) and 1 GB for the rest (sess1m's 1.6 million sessions).
    return row_mem(OVER_MEM, OVER_HUGE_PAGES, 1024 + OVER_FLOWS * 5 // 2048)


def rules(ruleset, n, stateful, seed):
    """n entries that the bench traffic (UDP 10.1.0.10 -> 10.2.0.x:5001) never matches, then
    the rule that accepts it: prefixes and ports as vpnd's expansion of real rules gives."""
    rnd = random.Random(seed)
    lines = []
    for i in range(n):
        number, entry = 1 + i // 2, i % 2
        net = f'100.{64 + rnd.randrange(64)}.{rnd.randrange(256)}.0/24'
        kind = rnd.randrange(3)
        if kind == 0:
            m = f'proto udp dst {net} dport {rnd.randrange(1, 65535)}'
        elif kind == 1:
            p = rnd.randrange(1, 60000)
            m = f'proto tcp src 10.{rnd.randrange(100, 200)}.0.0/16 dport {p}-{p + rnd.randrange(100)}'
        else:
            m = f'proto udp src 192.168.{rnd.randrange(256)}.0/24 dst {net}'
        lines.append(f'fw rule add {ruleset} {number} entry {entry} action drop {m}')
    state = ' state new' if stateful else ''
    lines.append(f'fw rule add {ruleset} 9999 action accept proto udp{state}')
    return lines


def fill_pcap(path, flows, measured=False):
    """A pcap of `flows` distinct 64-byte UDP flows to the tunnel, written directly (scapy would
    take minutes for a million): from the second port's 10.4.0.0/16 to broadcast MAC, or
    (measured) from the bench's LAN host to the dataplane's MAC, as the 64-flow traffic."""
    def csum(h):
        s = sum(struct.unpack('!10H', h))
        s = (s & 0xffff) + (s >> 16)
        return ~((s & 0xffff) + (s >> 16)) & 0xffff
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        eth = bytes.fromhex('ffffffffffff' '02000000010b' '0800')
        if measured:
            eth = bytes.fromhex(db.PCAP_MAC.replace(':', '') + '02000000010a' '0800')
        for i in range(flows):
            src = bytes([10, 4, (i >> 8) & 0xff, i & 0xff])
            if measured:
                src = bytes([10, 1, 0, 10])
            ip = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 50, 0, 0, 64, 17, 0, src,
                                       bytes([10, 2, 0, 10])))
            ip[10:12] = struct.pack('!H', csum(bytes(ip)))
            udp = struct.pack('!HHHH', 1024 + (i >> 16), 5001, 30, 0)
            if measured:  # one source address: the flows differ in ports
                udp = struct.pack('!HHHH', 1024 + i % 60000, 5001 + i // 60000, 30, 0)
            frame = eth + bytes(ip) + udp + b'\0' * 22
            f.write(struct.pack('<IIII', 0, 0, len(frame), len(frame)))
            f.write(frame)


class Dataplane(db.Dataplane):
    def __init__(self, pcap, work, tag, fill=None, sessions=None, mbufs=None, over=False):
        self.channel = f'fwbench{os.getpid()}{tag}'
        self.log = work / f'dataplane-{tag}.log'
        # The many-flow rows keep their 65,536 frames in mbufs beside a million sessions: on
        # hugepages as the rest when enough are free (MANY_HUGE_PAGES), else without.
        mem = over_flow_mem() if over else many_flow_mem() if mbufs else db.eal_mem()
        cmd = [str(db.BUILD / 'dataplane' / 'vpn-dataplane'), '-l', '0,1', *mem,
               '--log-level=*:error', '--', '--channel', self.channel,
               '--port', f'lan=net_pcap0,rx_pcap={pcap},infinite_rx=1',
               '--port', 'wan=net_null0,no-rx=1']
        if fill:
            cmd += ['--port', f'lan2=net_pcap1,rx_pcap={fill}']
        if sessions:
            cmd += ['--fw-sessions', str(sessions)]
        if mbufs:  # infinite_rx keeps the whole pcap in mbufs
            cmd += ['--mbufs', str(mbufs)]
        self.proc = db.start_dataplane(cmd, self.log, timeout=60)

    def batch(self, lines):
        for k in range(0, len(lines), 4000):
            try:
                self.dpctl('batch', '-', stdin='\n'.join(lines[k:k + 4000]) + '\n')
            except subprocess.CalledProcessError as e:
                raise SystemExit(f'bench: dpctl batch failed: {e.stdout}{e.stderr}\n'
                                 f'{self.log.read_text()[-2000:]}')

    def firewall(self):
        return json.loads(self.dpctl('show', 'firewall', '--json').stdout)

    def total_drops(self):
        return sum(self.drops().values())


def configure(dp, n, stateful, fill):
    dp.configure()
    if n == 0:
        return 0.0
    lines = ['fw ruleset add 1 LANIN default drop', 'fw ruleset add 2 VTIOUT default drop']
    lines += rules(1, n, stateful, 1) + rules(2, n, False, 2)
    dp.batch(lines)
    t0 = time.monotonic()
    # The second port's interface comes with its binding: it is polled only once it has one,
    # and every one of its flows must meet the stateful rule.
    lan2 = ['interface add lan2 kind port', 'address add lan2 10.4.255.1/24',
            'fw bind lan2 in 1'] if fill else []
    dp.batch(['fw bind lan in 1', 'fw bind vti0 out 2', 'fw global udp 600'] + lan2)
    return time.monotonic() - t0


def measure(pcap, work, tag, n, stateful, fill=None, flows=0, over=False):
    dp = Dataplane(pcap, work, tag, fill=fill,
                   sessions=FILL_SESSIONS + 65536 + flows if fill else None,
                   mbufs=flows + 16384 if flows else None, over=over)
    try:
        build_s = configure(dp, n, stateful, fill)
        if fill:
            # The second port replays its million flows once; then every one is a session.
            deadline = time.time() + 120
            while dp.firewall()['sessions_active'] < FILL_SESSIONS:
                if time.time() > deadline:
                    raise SystemExit(f'bench: only {dp.firewall()} sessions after 120 s')
                time.sleep(0.5)
        mpps = dp.rate('wan')
        fw = dp.firewall() if n else {}
        drops = {k: v for k, v in dp.drops().items() if v}
        if drops:
            print(f'  note: {tag} drops {drops}', file=sys.stderr)
        return mpps, build_s, fw.get('sessions_active', 0)
    finally:
        dp.close()


def commit_loss(pcap, work):
    """Traffic through 10,000 entries with a stateful accept; a batch that adds one rule
    rebuilds the ACL meanwhile. What the dataplane dropped during it is the loss."""
    dp = Dataplane(pcap, work, 'commit')
    try:
        configure(dp, 10000, True, None)
        time.sleep(2)
        before = dp.total_drops()
        tx0 = dp.tx_packets('wan')
        t0 = time.monotonic()
        dp.batch(['fw rule add 1 9998 action drop proto tcp dport 9'])
        rebuild = time.monotonic() - t0
        time.sleep(1)
        lost = dp.total_drops() - before
        moved = dp.tx_packets('wan') - tx0
        return lost, rebuild, moved
    finally:
        dp.close()


def main():
    rows = {}
    with tempfile.TemporaryDirectory(prefix='pc-fwbench-') as tmp:
        work = pathlib.Path(tmp)
        fill = work / 'fill.pcap'
        cases = [c for c in CASES if not ONLY_CASES or c[0] in ONLY_CASES.split(',')]
        sizes = {k: v for k, v in SIZES.items() if not ONLY_SIZES or k in ONLY_SIZES.split(',')}
        if any(c[0] == 'sess1m' for c in cases):
            fill_pcap(fill, FILL_SESSIONS)
        many = work / 'many.pcap'
        if not ONLY_SIZES or '64' in ONLY_SIZES.split(','):
            fill_pcap(many, MANY_FLOWS, measured=True)
            for name, n, stateful in [c for c in MANY_CASES if c in cases]:
                mpps, build_s, sessions = measure(many, work, f'{name}many', n, stateful,
                                                  fill if name == 'sess1m' else None,
                                                  flows=MANY_FLOWS)
                rows[('many', name)] = (mpps, build_s, sessions)
                print(f'  64 {MANY_FLOWS} flows {name}: {mpps:.2f} Mpps ({sessions} sessions)',
                      file=sys.stderr, flush=True)
            if OVER_FLOWS:
                over = work / 'over.pcap'
                fill_pcap(over, OVER_FLOWS, measured=True)
                for name, n, stateful in [c for c in OVER_CASES if c in cases]:
                    mpps, build_s, sessions = measure(over, work, f'{name}over', n, stateful,
                                                      fill if name == 'sess1m' else None,
                                                      flows=OVER_FLOWS, over=True)
                    rows[('over', name)] = (mpps, build_s, sessions)
                    print(f'  64 {OVER_FLOWS} flows {name}: {mpps:.2f} Mpps ({sessions} '
                          'sessions)', file=sys.stderr, flush=True)
                over.unlink()
        for size, frames in sizes.items():
            enc_pcap, _, _ = db.pcaps(work, size, frames)
            for name, n, stateful in cases:
                mpps, build_s, sessions = measure(enc_pcap, work, f'{name}{size}', n, stateful,
                                                  fill if name == 'sess1m' else None)
                rows[(size, name)] = (mpps, build_s, sessions)
                print(f'  {size} {name}: {mpps:.2f} Mpps (ACL build {build_s:.2f} s, '
                      f'{sessions} sessions)', file=sys.stderr, flush=True)
        if ONLY_CASES or ONLY_SIZES:
            return
        lost, rebuild, moved = commit_loss(db.pcaps(work, '64', [64])[0], work)
    print(f'vpn-dataplane encrypt path, one worker, AES-GCM-128, net_pcap infinite_rx -> '
          f'net_null, {"hugepages" if db.HUGE else "no hugepages"}, best of {db.REPEATS} x '
          f'{db.SECONDS:g} s')
    print(f'{"case":>7} | ' + ' | '.join(f'{s + " Mpps":>9} {"x base":>6}' for s in SIZES) +
          f' | {"build s":>7} {"sessions":>9}')
    for name, n, stateful in CASES:
        cells = []
        for size in SIZES:
            mpps = rows[(size, name)][0]
            cells.append(f'{mpps:9.2f} {mpps / rows[(size, "base")][0]:6.2f}')
        _, build_s, sessions = rows[('64', name)]
        print(f'{name:>7} | ' + ' | '.join(cells) + f' | {build_s:7.2f} {sessions:9d}')
    mb = rows[('many', 'base')][0]
    print(f'{MANY_FLOWS:,} flows, 64 B: ' + ', '.join(
        f'{name} {rows[("many", name)][0]:.2f} Mpps {rows[("many", name)][0] / mb:.2f}x'
        for name, _, _ in MANY_CASES) +
        f' ({rows[("many", "sess1m")][2]} sessions; {MANY_MEM[0]})')
    if OVER_FLOWS:
        ob = rows[('over', 'base')][0]
        print(f'{OVER_FLOWS:,} flows (more than the caches hold), 64 B: ' + ', '.join(
            f'{name} {rows[("over", name)][0]:.2f} Mpps {rows[("over", name)][0] / ob:.2f}x'
            for name, _, _ in OVER_CASES) +
            f' ({rows[("over", "sess1m")][2]} sessions; {OVER_MEM[0]})')
    print('rN: N rule entries on lan in and N on vti0 out, none matching, then an accept; '
          's10/sess1m: the accept has `state new` (sessions), sess1m with '
          f'{FILL_SESSIONS:,} live sessions; the rows above: 64 flows')
    print(f'commit while traffic flows: rebuilt the 10,000-entry ACL in {rebuild:.2f} s, '
          f'{moved} packets sent meanwhile, {lost} dropped')
    r10k = rows[('64', 'r10k')][0] / rows[('64', 'base')][0]
    sess = rows[('64', 'sess1m')][0] / rows[('64', 'base')][0]
    r10k_m = rows[('many', 'r10k')][0] / mb
    sess_m = rows[('many', 'sess1m')][0] / mb
    over = ''
    if OVER_FLOWS:
        ob = rows[('over', 'base')][0]
        over = (f' r10k_over={rows[("over", "r10k")][0] / ob:.2f} '
                f'sess1m_over={rows[("over", "sess1m")][0] / ob:.2f}')
    print(f'summary: r10k={r10k_m:.2f} sess1m={sess_m:.2f} r10k_64f={r10k:.2f} '
          f'sess1m_64f={sess:.2f} commit_loss={lost}{over}')


if __name__ == '__main__':
    main()
