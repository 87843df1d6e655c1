"""Instructions per packet of vpn-dataplane's worker under callgrind (not a test).

Wall-clock A/B runs of `scripts/bench dataplane` move by 1-4% on this shared 2-core VM, more
than the changes they should judge; instruction counts do not. This runs the encrypt and the
decrypt case of dataplane_bench.py (one VTI tunnel, 64-byte frames from an infinite pcap into
net_null) under valgrind's callgrind, instrumenting only once the tunnel is configured, for
BENCH_SECONDS (20) each, and prints inclusive instructions per packet (packets = calls into the
IPsec-MB GCM routine) of the worker's functions. With a second build directory as argument it
prints both builds side by side (the A/B of a packet-path change); BENCH_OUTER=6 runs the
IPv6-outer tunnel of dataplane_bench instead, BENCH_FIREWALL=<rules> adds firewall_bench's
stateful rulesets to the encrypt case (BENCH_STATELESS=1: its stateless ones, as r10k),
BENCH_POLICIES=1 protects its traffic by policies,
BENCH_WARMUP=<s> lets traffic run that long uninstrumented first (2; with BENCH_FLOWS=65536,
60 made the session lookups the steady state's), BENCH_TUNNELS=<n> runs scale_bench.py's tN
case instead of the encrypt case (n VTI tunnels,
each with its own SA, 10,000 frames to as many /32 routes, destination j into tunnel j mod n:
from n = 64 on every packet of a burst is another tunnel's; encrypt only; with BENCH_OUTER=6
the tunnels' peers are IPv6), and BENCH_CACHE=1 adds callgrind's cache simulation (I1 and D1
32 KB, LL 2 MB) and prints the worker's LL read and write misses per packet.
BENCH_WORKERS=2 with BENCH_TUNNELS=<n> runs scale_bench's w2 case instead (--workers 2, a
receive queue per worker, the tunnels' SAs spread over both: half the packets handed to the
other worker; BENCH_MEMBERS=1: an SA per worker in every tunnel, none handed off) and prints
per worker what it received, handed off, took from its ring and encrypted, with the
instructions of its pass's parts (receive and classify, draining its ring, flushing handoffs,
transmit) per packet it encrypted; its summary key is `enc64_t<n>_w2_ir` (both workers'
instructions over both workers' packets: against enc64_t<n>_ir, what a second worker adds):

  PORTCULLIS_BUILD=<A> python3 test/bench/dataplane_instructions.py [<B>]

Last line: `summary: enc64_ir=<A>[/<B>] dec64_ir=<A>[/<B>]` (whole worker, per packet; with
BENCH_TUNNELS=<n> `enc64_t<n>_ir`), with `<dir>_llmiss=<A>[/<B>]` (LL read + write misses per
packet) under BENCH_CACHE=1 and `<dir>_drops=<A>[/<B>]` when a build dropped packets while
measured (its count per packet is then not comparable). BENCH_KEEP=<dir> keeps each run's
callgrind output there (callgrind.<enc|dec>.<the build's parent directory>), for
`callgrind_annotate --show=DLmr,DLmw` by function and source line.
"""
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
os.environ.setdefault('BENCH_NO_HUGE', '1')
import dataplane_bench as db  # noqa: E402

SECONDS = float(os.environ.get('BENCH_SECONDS', '20'))
OUTER6 = os.environ.get('BENCH_OUTER') == '6'  # the same tunnel between IPv6 endpoints
# BENCH_FIREWALL=<rules>: firewall_bench's stateful rulesets of that many entries bound `in` on
# the LAN and `out` on the VTI (encrypt only; its traffic meets them); with BENCH_STATELESS=1
# the LAN's is stateless too (firewall_bench's rN rows, r10k: both hooks a plain ACL lookup).
FIREWALL = os.environ.get('BENCH_FIREWALL')
STATELESS = os.environ.get('BENCH_STATELESS') == '1'
# BENCH_MIX=1: the encrypt case's frames alternate IPv4 and IPv6 (a dual-stack LAN), both
# routed into the tunnel.
MIX = os.environ.get('BENCH_MIX') == '1'
# BENCH_POLICIES=1: the encrypt case's traffic is protected by outbound policies (one per
# family, to a second SA of the same peer) instead of the VTI route, with an inbound protect
# policy per family classified too: the SPD's path (ApplyPolicies, ApplyPolicies6 with
# BENCH_MIX=1).
POLICIES = os.environ.get('BENCH_POLICIES') == '1'
# BENCH_FLOWS=<n>: the encrypt case's traffic spreads over n distinct UDP flows (firewall_bench's
# many-flow pcap) instead of 64: more than the firewall's per-worker caches hold.
FLOWS = int(os.environ.get('BENCH_FLOWS', '0'))
TUNNELS = int(os.environ.get('BENCH_TUNNELS', '0'))
WORKERS = int(os.environ.get('BENCH_WORKERS', '1'))
MEMBERS = os.environ.get('BENCH_MEMBERS') == '1'
CACHE = os.environ.get('BENCH_CACHE') == '1'
# As docs/DESIGN.md's count of lines per packet (ESP, many tunnels in one burst).
CACHE_ARGS = ['--cache-sim=yes', '--I1=32768,8,64', '--D1=32768,8,64', '--LL=2097152,16,64']


def configure_tunnels(dp, n):
    """scale_bench's tN: n VTIs with an SA (and key) each, its 10,000 /32 routes, the LAN last
    (its traffic flows once everything else is in)."""
    import scale_bench as sb
    if WORKERS > 1:
        # scale_bench's own lines (its members' layout with BENCH_MEMBERS=1).
        dp.batch = lambda lines: sb.Dataplane.batch(dp, lines)
        sb.configure(dp, 't', n, [], WORKERS if MEMBERS else 0)
        return
    if OUTER6:
        local, remote = db.WEST6, db.EAST6
        wan = [f'address add wan {db.WEST6}/64', f'neigh add wan {db.EAST6} 02:00:00:00:02:02']
    else:
        local, remote = '192.0.2.1', '192.0.2.2'
        wan = sb.BASE[1:]
    lines = ['interface add wan kind port', *wan]
    for i in range(n):
        key = (db.KEY_OUT[:12] + struct.pack('!I', i)).hex()
        lines += [f'interface add vti{i} kind vti mtu 9000',
                  f'sa add spi {0x10000 + i:#x} dir out local {local} remote {remote} '
                  f'cipher aes-gcm-128 key {key} salt {db.SALT_OUT.hex()} vti vti{i}',
                  f'bind vti{i} {0x10000 + i:#x}']
    lines += [f'route add {sb.ip(sb.traffic_host(j))}/32 dev vti{j % n}' for j in range(sb.FRAMES)]
    lines += sb.LAN
    for k in range(0, len(lines), sb.BATCH):
        try:
            dp.dpctl('batch', '-', stdin='\n'.join(lines[k:k + sb.BATCH]) + '\n')
        except subprocess.CalledProcessError as e:
            raise SystemExit(f'bench: dpctl batch failed: {e.stdout}{e.stderr}\n'
                             f'{dp.log.read_text()[-2000:]}')


def mixed_pcap(work):
    from scapy.all import IP, UDP, Ether, IPv6, Raw, wrpcap
    frames = []
    for i in range(64):
        if i % 2:
            p = IPv6(src='2001:db8:1::10', dst=f'2001:db8:2::{10 + i}') / \
                UDP(sport=1024 + i, dport=5001) / Raw(b'\0' * 2)
        else:
            p = IP(src='10.1.0.10', dst=f'10.2.0.{10 + i}', ttl=64) / \
                UDP(sport=1024 + i, dport=5001) / Raw(b'\0' * 22)
        frames.append(Ether(dst=db.PCAP_MAC, src='02:00:00:00:01:0a') / p)
    path = work / 'mixed.pcap'
    wrpcap(str(path), frames)
    return path
ROW = re.compile(r'\s*([\d,]+) \([^)]*\)\s+(?:\*\s+)?(.*)')


def profile(build, direction, work):
    """Ir per packet by function name for one build and direction."""
    enc, dec, _ = db.pcaps(work, '64', [64], outer6=OUTER6)
    if MIX:
        enc = mixed_pcap(work)
    if TUNNELS:
        import scale_bench as sb
        enc = work / f'tunnels{TUNNELS}.pcap'
        if WORKERS > 1:
            # One file per receive queue, each flow in one of them (as scale_bench's w2).
            enc = ','.join(f'rx_pcap={p}' for p in sb.write_pcap(
                enc, [sb.traffic_host(j) for j in range(sb.FRAMES)], [64], WORKERS))
        elif not enc.exists():
            sb.write_pcap(enc, [sb.traffic_host(j) for j in range(sb.FRAMES)], [64])
    elif FLOWS:
        import firewall_bench as fb
        enc = work / f'flows{FLOWS}.pcap'
        if not enc.exists():
            fb.fill_pcap(enc, FLOWS, measured=True)
    rx = 'lan' if direction == 'enc' else 'wan'
    dev = f'net_pcap0,rx_pcap={enc if direction == "enc" else dec},infinite_rx=1'
    if WORKERS > 1:
        dev = f'net_pcap0,{enc},infinite_rx=1'
    ports = {'lan': dev if rx == 'lan' else 'net_null0,no-rx=1',
             'wan': dev if rx == 'wan' else 'net_null0,no-rx=1'}
    chan = f'ir{os.getpid()}{direction}'
    out = work / f'callgrind.{direction}.{abs(hash(str(build)))}'
    # --fair-sched: the busy-polling worker must not starve the telemetry thread dpctl asks.
    # Several workers: a file per thread (each worker's own counts).
    cmd = ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--fair-sched=yes',
           *(CACHE_ARGS if CACHE else []), f'--callgrind-out-file={out}',
           *(['--separate-threads=yes'] if WORKERS > 1 else []),
           str(build / 'dataplane' / 'vpn-dataplane'),
           *(['-l', '0,1'] if WORKERS == 1 else []), '--no-huge', '-m', '1024',
           '--log-level=*:error', '--', '--channel', chan]
    if WORKERS > 1:
        cmd += ['--workers', str(WORKERS)]
    if FLOWS and direction == 'enc':
        cmd += ['--mbufs', str(FLOWS + 65536)]
    if TUNNELS:
        import scale_bench as sb
        for option, value in sb.sizes_for('t', TUNNELS).items():
            cmd += [option, str(value)]
    for name, d in ports.items():
        cmd += ['--port', f'{name}={d}']
    db.BUILD = build
    dp = db.Dataplane.__new__(db.Dataplane)
    dp.channel, dp.log = chan, work / f'dataplane-{direction}.log'
    dp.proc = db.start_dataplane(cmd, dp.log, timeout=600)
    try:
        if TUNNELS:
            configure_tunnels(dp, TUNNELS)
        else:
            dp.configure(OUTER6)
        if MIX:
            dp.dpctl('batch', '-', stdin='address add lan 2001:db8:1::1/64\n'
                     'route add 2001:db8:2::/64 dev vti0\n'
                     'neigh add lan 2001:db8:1::10 02:00:00:00:01:0a\n')
        if POLICIES and direction == 'enc':
            peer = ('local 2001:db8:ff::1 remote 2001:db8:ff::2' if OUTER6
                    else 'local 192.0.2.1 remote 192.0.2.2')
            dp.dpctl('batch', '-', stdin=f'sa add spi 0x1002 dir out {peer} cipher aes-gcm-128 '
                     f'key {db.KEY_OUT.hex()} salt 01020304\n'
                     'policy add out src 10.1.0.0/16 dst 10.2.0.0/16 protect reqid 1 spi 0x1002\n'
                     'policy add in src 10.2.0.0/16 dst 10.1.0.0/16 protect reqid 1\n'
                     'policy add out src 2001:db8:1::/64 dst 2001:db8:2::/64 protect reqid 2 '
                     'spi 0x1002\n'
                     'policy add in src 2001:db8:2::/64 dst 2001:db8:1::/64 protect reqid 2\n')
        if FIREWALL and direction == 'enc':
            import firewall_bench as fb
            n = int(FIREWALL)
            lines = ['fw ruleset add 1 LANIN default drop', 'fw ruleset add 2 VTIOUT default drop']
            lines += fb.rules(1, n, not STATELESS, 1) + fb.rules(2, n, False, 2)
            lines += ['fw bind lan in 1', 'fw bind vti0 out 2', 'fw global udp 600']
            for k in range(0, len(lines), 4000):  # as firewall_bench: batches of 4,000
                dp.dpctl('batch', '-', stdin='\n'.join(lines[k:k + 4000]) + '\n')
        # BENCH_WARMUP seconds (2) of traffic before counting: with BENCH_FLOWS=65536 every
        # flow must have come by (its session made, its cache entries filled) for the count
        # to be the steady state's, not the flows' first packets'.
        time.sleep(float(os.environ.get('BENCH_WARMUP', '2')))
        # Drops while instrumented: a build that drops what it should send would otherwise
        # look cheaper per packet.
        before = dp.drops()
        w0 = workers(dp) if WORKERS > 1 else None
        subprocess.run(['callgrind_control', '-i', 'on', str(dp.proc.pid)], check=True,
                       capture_output=True)
        time.sleep(SECONDS)
        subprocess.run(['callgrind_control', '-i', 'off', str(dp.proc.pid)], check=True,
                       capture_output=True)
        drops = {k: v - before.get(k, 0) for k, v in dp.drops().items()
                 if v != before.get(k, 0)}
        if WORKERS > 1:
            w1 = workers(dp)
            counts = {k: [b - a for a, b in zip(w0[k], w1[k])] for k in WORKER_COUNTS}
    finally:
        dp.close()
    if WORKERS > 1:
        if os.environ.get('BENCH_KEEP'):
            keep = pathlib.Path(os.environ['BENCH_KEEP'])
            keep.mkdir(parents=True, exist_ok=True)
            for f in out.parent.glob(out.name + '-*'):
                shutil.copy(f, keep / f'{f.name.replace(out.name, "callgrind.w")}.{build.parent.name}')
        return per_worker(out, counts, drops)
    if os.environ.get('BENCH_KEEP'):
        keep = pathlib.Path(os.environ['BENCH_KEEP'])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, keep / f'callgrind.{direction}.{build.parent.name}')
    tree = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--tree=caller', '--show=Ir',
                           str(out)],
                          capture_output=True, text=True, check=True).stdout
    # In --tree=caller output a function's callers (with call counts) come before it. IPsec-MB
    # has no symbols: its most-called routine is the per-packet GCM call.
    calls, pending = {}, 0
    for line in tree.splitlines():
        m = re.match(r'\s*[\d,]+ \([^)]*\)\s+\*\s+(.*)', line)
        if m:
            if 'libIPSec_MB' in m.group(1):
                calls[m.group(1)] = calls.get(m.group(1), 0) + pending
            pending = 0
            continue
        m = re.match(r'\s*[\d,]+ \([^)]*\)\s+<\s+.*\(([\d,]+)x\)', line)
        if m:
            pending += int(m.group(1).replace(',', ''))
    packets = max(calls.values(), default=0)
    if packets == 0:
        raise SystemExit(f'bench: no packet went through the {direction} case')
    flat = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--auto=no', '--show=Ir',
                           str(out)],
                          capture_output=True, text=True, check=True).stdout
    per = {}
    for line in flat.splitlines():
        m = ROW.match(line)
        if not m or ':' not in m.group(2) or 'PROGRAM TOTALS' in line:
            continue
        fn = m.group(2).split(':', 1)[1]
        lib = re.search(r'\[([^]]*)\]$', fn)
        fn = re.sub(r' \[[^]]*\]$', '', fn).replace('portcullis::', '')
        if fn.startswith('0x'):  # a library without symbols (the PMDs, IPsec-MB)
            if not lib:
                continue
            fn = f'{pathlib.Path(lib.group(1)).name.split(".so")[0]} {fn.rstrip(" ()")}'
        ir = int(m.group(1).replace(',', '')) / packets
        if ir >= 1:
            per[fn] = max(per.get(fn, 0.0), ir)
    misses = None
    if CACHE:
        # The worker's LL misses (data reads, data writes) per packet, inclusive of PollOnce.
        ll = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--auto=no',
                             '--show=DLmr,DLmw', str(out)],
                            capture_output=True, text=True, check=True).stdout
        for line in ll.splitlines():
            m = re.match(r'\s*([\d,]+)(?: \([^)]*\))?\s+([\d,]+)(?: \([^)]*\))?\s+(?:\*\s+)?(.*)',
                         line)
            if m and 'Worker::PollOnce()' in m.group(3):
                misses = tuple(int(m.group(k).replace(',', '')) / packets for k in (1, 2))
                break
    return packets, per, drops, misses


# Per worker, from `dpctl show workers --json`, over the instrumented window (the counters
# move outside it too while callgrind is slow to switch: a few percent).
WORKER_COUNTS = ('rx_packets', 'handed_off', 'handoff_received', 'handoff_queue_full', 'loops',
                 'rx_bursts')
# The parts of a worker's pass (inclusive): receive (the PMD's burst) and the pipeline on it,
# its own handoff ring, the staged handoffs' enqueue, the transmit flush.
PARTS = ('dp::Worker::PollOnce()', 'dp::Worker::FromWire(', 'dp::Worker::DrainHandoff(',
         'dp::Worker::FlushHandoff(', 'dp::Worker::FlushTx()', 'librte_net_pcap',
         'dp::Worker::Handoff(')


def workers(dp):
    import json
    return json.loads(dp.dpctl('show', 'workers', '--json').stdout)


def per_worker(out, counts, drops):
    """Each worker's thread file: (packets it encrypted, {part: inclusive Ir}); in worker
    order (the threads' order of creation)."""
    rows = []
    for f in sorted(out.parent.glob(out.name + '-*'), key=lambda p: int(p.name.rsplit('-', 1)[1])):
        flat = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--auto=no', '--show=Ir',
                               str(f)], capture_output=True, text=True, check=True).stdout
        irs, gcm = {}, 0
        for line in flat.splitlines():
            m = ROW.match(line)
            if not m or ':' not in m.group(2) or 'PROGRAM TOTALS' in line:
                continue
            fn = m.group(2).split(':', 1)[1].replace('portcullis::', '')
            ir = int(m.group(1).replace(',', ''))
            for part in PARTS:
                if fn.startswith(part) or (part.startswith('librte') and part in fn):
                    irs[part] = max(irs.get(part, 0), ir)
        if 'dp::Worker::PollOnce()' not in irs:
            continue  # not a worker
        # Packets it encrypted: calls of IPsec-MB's most-called routine (as profile()).
        tree = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--tree=caller',
                               '--show=Ir', str(f)], capture_output=True, text=True,
                              check=True).stdout
        calls, pending = {}, 0
        for line in tree.splitlines():
            m = re.match(r'\s*[\d,]+ \([^)]*\)\s+\*\s+(.*)', line)
            if m:
                if 'libIPSec_MB' in m.group(1):
                    calls[m.group(1)] = calls.get(m.group(1), 0) + pending
                pending = 0
                continue
            m = re.match(r'\s*[\d,]+ \([^)]*\)\s+<\s+.*\(([\d,]+)x\)', line)
            if m:
                pending += int(m.group(1).replace(',', ''))
        gcm = max(calls.values(), default=0)
        rows.append((gcm, irs))
    return rows, counts, drops


def print_workers(build, res):
    rows, counts, drops = res
    print(f'{build}: {WORKERS} workers, {TUNNELS} tunnels, '
          f'{"an SA per worker per tunnel (members)" if MEMBERS else "one SA per tunnel (handoffs)"}')
    print('encrypted: the worker\'s GCM calls while instrumented; received, handed (to the '
          'other worker), taken (from its own ring), ring full, passes: its counters over a '
          'longer window (callgrind switches late), for their proportions')
    print(f'{"worker":>6} {"encrypted":>10} {"received":>10} {"handed":>9} {"taken":>9} '
          f'{"ring full":>9} {"passes":>9}   Ir per packet it encrypted: pass = receive+classify'
          ' + own ring + handoff flush + tx flush')
    total_ir = total_pkts = 0
    for w, (gcm, irs) in enumerate(rows):
        c = {k: counts[k][w] if w < len(counts[k]) else 0 for k in WORKER_COUNTS}
        per = {p: irs.get(p, 0) / gcm if gcm else 0 for p in PARTS}
        total_ir += irs.get('dp::Worker::PollOnce()', 0)
        total_pkts += gcm
        print(f'{w:>6} {gcm:>10,} {c["rx_packets"]:>10,} {c["handed_off"]:>9,} '
              f'{c["handoff_received"]:>9,} {c["handoff_queue_full"]:>9,} {c["loops"]:>9,}   '
              f'{per["dp::Worker::PollOnce()"]:.1f} = {per["dp::Worker::FromWire("]:.1f} '
              f'(rx burst {per["librte_net_pcap"]:.1f}, handoff staging '
              f'{per["dp::Worker::Handoff("]:.1f}) + {per["dp::Worker::DrainHandoff("]:.1f} + '
              f'{per["dp::Worker::FlushHandoff("]:.1f} + {per["dp::Worker::FlushTx()"]:.1f}')
    if drops:
        print(f'  DROPPED while measured: {drops}')
    return total_ir / total_pkts if total_pkts else 0.0


def main():
    if WORKERS > 1:
        if not TUNNELS:
            raise SystemExit('bench: BENCH_WORKERS needs BENCH_TUNNELS')
        builds = [db.BUILD] + [pathlib.Path(a).resolve() for a in sys.argv[1:2]]
        with tempfile.TemporaryDirectory(prefix='pc-ir-') as tmp:
            work = pathlib.Path(tmp)
            whole = [print_workers(b, profile(b, 'enc', work)) for b in builds]
        print(f'summary: enc64_t{TUNNELS}_w{WORKERS}{"m" if MEMBERS else ""}_ir=' +
              '/'.join(f'{w:.1f}' for w in whole))
        return
    builds = [db.BUILD] + [pathlib.Path(a).resolve() for a in sys.argv[1:2]]
    summary = []
    with tempfile.TemporaryDirectory(prefix='pc-ir-') as tmp:
        work = pathlib.Path(tmp)
        for direction in ('enc',) if TUNNELS else ('enc', 'dec'):
            res = [profile(b, direction, work) for b in builds]
            # By the larger of the two: what only B has (a new helper) shows too.
            names = sorted(set().union(*(r[1] for r in res)),
                           key=lambda f: -max(r[1].get(f, 0) for r in res))
            case = f'{" IPv6 outer" if OUTER6 else ""}{f", {TUNNELS} tunnels" if TUNNELS else ""}'
            print(f'{direction} 64 B{case}: instructions per packet '
                  f'({", ".join(f"{r[0]:,} packets" for r in res)})')
            head = ''.join(f'{"A" if i == 0 else "B":>10}' for i in range(len(res)))
            print(f'{head}  function')
            for fn in names[:30]:
                print(''.join(f'{r[1].get(fn, 0):10.1f}' for r in res) + f'  {fn[:110]}')
            for tag, r in zip('AB', res):
                if r[2]:
                    print(f'  {tag} DROPPED while measured: {r[2]}')
            if CACHE:
                print('  LL misses per packet (data reads + writes), worker: ' +
                      ', '.join(f'{tag} {r[3][0]:.2f} + {r[3][1]:.2f}' if r[3] else f'{tag} ?'
                                for tag, r in zip('AB', res)))
            whole = [r[1].get('dp::Worker::PollOnce()', 0) for r in res]
            key = f'{direction}64{"_v6" if OUTER6 else ""}{f"_t{TUNNELS}" if TUNNELS else ""}'
            summary.append(f'{key}_ir=' + '/'.join(f'{w:.1f}' for w in whole))
            if CACHE:
                summary.append(f'{key}_llmiss=' + '/'.join(
                    f'{sum(r[3]):.2f}' if r[3] else '?' for r in res))
            if any(r[2] for r in res):
                summary.append(f'{direction}_drops=' +
                               '/'.join(str(sum(r[2].values())) for r in res))
            print()
    print('summary: ' + ' '.join(summary))


if __name__ == '__main__':
    main()
