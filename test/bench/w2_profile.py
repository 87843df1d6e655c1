"""Where scale_bench's w2 case spends its time (not a test): its t100 dataplane with two workers
(handoffs; MEMBERS=1: an SA per worker per tunnel), the rate over SECS seconds, each worker
thread's CPU share, `dpctl show workers` counters per second over the same window and, with
PERF=<file>, `perf record -e cpu-clock -g` of the process meanwhile (then
`perf report -i <file> --no-children --sort comm,sym -g none`: per worker thread). N=<tunnels>
(100), W=<workers> (2). Run under the bench lock:

  PORTCULLIS_BUILD=<build> [PERF=perf.data] flock /tmp/portcullis-bench.lock \\
      /usr/bin/python3 test/bench/w2_profile.py
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import scale_bench as sb  # noqa: E402

N = int(os.environ.get('N', '100'))
WORKERS = int(os.environ.get('W', '2'))
MEMBERS = os.environ.get('MEMBERS') == '1'
SECS = float(os.environ.get('SECS', '4'))
PERF = os.environ.get('PERF')
# Not rates: the SAs each worker owns, the longest gap between two passes and how long ago.
ABSOLUTE = ('sas_owned', 'max_poll_gap_us', 'max_poll_gap_ago_ms')


def workers(dp):
    return json.loads(dp.dpctl('show', 'workers', '--json').stdout)


def main():
    with tempfile.TemporaryDirectory(prefix='w2prof-') as tmp:
        work = pathlib.Path(tmp)
        dsts = [sb.traffic_host(j) for j in range(sb.FRAMES)]
        pcaps = sb.write_pcap(work / 'w.pcap', dsts, [64], WORKERS)
        dp = sb.Dataplane(pcaps, work, 'prof', sb.sizes_for('t', N), WORKERS)
        try:
            sb.configure(dp, 't', N, [], WORKERS if MEMBERS else 0)
            time.sleep(1.5)  # warm-up
            a = workers(dp)
            tx0, t0 = dp.tx_packets('wan'), time.monotonic()
            ticks0 = sb.worker_cpu_ticks(dp.proc.pid)
            if PERF:
                subprocess.run(['perf', 'record', '-e', 'cpu-clock', '-F', '2000', '-g', '-p',
                                str(dp.proc.pid), '-o', PERF, '--', 'sleep', str(SECS)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            else:
                time.sleep(SECS)
            tx1, t1 = dp.tx_packets('wan'), time.monotonic()
            ticks1 = sb.worker_cpu_ticks(dp.proc.pid)
            b = workers(dp)
            dt = t1 - t0
            hz = os.sysconf('SC_CLK_TCK')
            shares = {k: f'{(ticks1[k] - ticks0.get(k, 0)) / hz / dt:.0%}' for k in ticks1}
            print(f'rate {(tx1 - tx0) / dt / 1e6:.2f} Mpps over {dt:.1f} s; CPU {shares}')
            for k, v in b.items():
                if not isinstance(v, list):
                    continue
                cells = [f'{x:10d}' if k in ABSOLUTE else f'{(x - y) / dt / 1e6:8.3f}M/s'
                         for x, y in zip(v, a[k])]
                print(f'  {k:20s}', ' '.join(cells))
            print('drops', {k: v for k, v in dp.drops().items() if v})
        finally:
            dp.close()


if __name__ == '__main__':
    main()
