"""vpn-dataplane throughput on one worker, next to what bounds it, in one run (not a test).

For each frame size (64, 512, 1420 bytes and IMIX 7:4:1 of 64/570/1420) it measures:
  io       dpdk-testpmd io forwarding, net_pcap infinite_rx -> net_null: the I/O cost, on
           each direction's own input (cleartext frames for encrypt, ESP frames for decrypt:
           the pcap PMD copies every received byte, and ESP frames are longer);
  gcm      the raw IPsec-MB AES-GCM-128 call on the lengths ESP ciphers (esp_bench raw);
  enc/dec  vpn-dataplane with one VTI tunnel and a few routes, one worker, the same pcap source
           and net_null sink: cleartext in -> ESP out, and ESP in -> cleartext out.
The bound for a direction is 1 / (io ns + gcm ns) per packet; the fraction is the dataplane's
Mpps over that bound. All of it is measured in BENCH_ROUNDS (2) interleaved rounds, each
quantity keeping its best, because this VM's speed drifts between minutes. Decryption replays the same ESP packets forever, so its SA runs with
anti-replay off (window 0), as ipsec-secgw's default does. ipsec-secgw's numbers are the
reference file's measurements on this machine, not re-measured here.

Prints the table, then the last line
  summary: enc64=<f> enc1420=<f> dec64=<f> dec1420=<f> imix=<f>
(imix is the lower of the encrypt and decrypt fractions).

IPv6 outer (BENCH_V6_SIZES, default 64,1420; empty to skip): the same tunnel with IPv6 tunnel
endpoints (IPv4 inner), encrypt and decrypt, measured in the same rounds right after the IPv4
rows of that size, printed as a second table with each rate's ratio to the IPv4 one (target
>= 0.9x). Its 64 B rows are 64-byte IPv4 inner frames, as the IPv4 rows', whose ESP frames are
20 bytes longer.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from scapy.all import IP, UDP, Ether, IPv6, Raw, wrpcap
from scapy.layers.ipsec import ESP, SecurityAssociation

BUILD = pathlib.Path(os.environ.get('PORTCULLIS_BUILD',
                                    pathlib.Path(__file__).resolve().parents[2] / 'build'))
HUGE = os.environ.get('BENCH_NO_HUGE') is None
SECONDS = float(os.environ.get('BENCH_SECONDS', '3'))
REPEATS = int(os.environ.get('BENCH_REPEATS', '3'))
ROUNDS = int(os.environ.get('BENCH_ROUNDS', '2'))
PCAP_MAC = '02:70:63:61:70:00'  # net_pcap0's MAC (the first pcap device created)
KEY_OUT = bytes(range(16))
KEY_IN = bytes(range(16, 32))
SALT_OUT, SALT_IN = b'\x01\x02\x03\x04', b'\x05\x06\x07\x08'
SIZES = {'64': [64], '512': [512], '1420': [1420], 'IMIX': [64] * 7 + [570] * 4 + [1420]}
# docs/LAB.md (ipsec-secgw baselines), one core, Mpps
SECGW = {'64': (11.4, 11.5), '512': (8.3, 8.5), '1420': (6.1, 6.1), 'IMIX': (9.3, 9.4)}


def eal_mem():
    return ['--in-memory'] if HUGE else ['--no-huge', '-m', '1024']


def cleartext(frame_sizes, flows=64):
    pkts = []
    for i in range(max(flows, len(frame_sizes))):
        size = frame_sizes[i % len(frame_sizes)]
        payload = size - 14 - 20 - 8
        p = IP(src='10.1.0.10', dst=f'10.2.0.{10 + i % flows}', ttl=64) / \
            UDP(sport=1024 + i, dport=5001) / Raw(bytes(i & 0xff for _ in range(payload)))
        pkts.append(IP(bytes(p)))
    return pkts


V6_SIZES = [s for s in os.environ.get('BENCH_V6_SIZES', '64,1420').split(',') if s]
WEST6, EAST6 = '2001:db8:ff::1', '2001:db8:ff::2'


def pcaps(work, name, frame_sizes, outer6=False):
    inner = cleartext(frame_sizes)
    enc = [Ether(dst=PCAP_MAC, src='02:00:00:00:01:0a') / p for p in inner]
    tunnel = IPv6(src=EAST6, dst=WEST6) if outer6 else IP(src='192.0.2.2', dst='192.0.2.1')
    sa = SecurityAssociation(ESP, spi=0x2001, crypt_algo='AES-GCM', crypt_key=KEY_IN + SALT_IN,
                             tunnel_header=tunnel)
    rev = []
    for i, p in enumerate(inner):
        q = IP(bytes(p))
        q.src, q.dst = q.dst, '10.1.0.10'
        del q.chksum
        rev.append(Ether(dst=PCAP_MAC, src='02:00:00:00:02:02') /
                   sa.encrypt(IP(bytes(q)), seq_num=i + 1))
    tag = '-v6' if outer6 else ''
    enc_path, dec_path = work / f'{name}-clear{tag}.pcap', work / f'{name}-esp{tag}.pcap'
    wrpcap(str(enc_path), enc)
    wrpcap(str(dec_path), rev)
    return enc_path, dec_path, [len(p) for p in inner]


def testpmd(pcap):
    prefix = f'bench-pmd{os.getpid()}'
    cmd = ['dpdk-testpmd', '-l', '0,1', '--no-pci', *eal_mem(), f'--file-prefix={prefix}',
           '--log-level=*:error',
           f'--vdev=net_pcap0,rx_pcap={pcap},infinite_rx=1', '--vdev=net_null0,no-rx=1', '--',
           '--forward-mode=io', '--nb-cores=1', '--stats-period=1', '--rxq=1', '--txq=1']
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # The clock starts once testpmd forwards (its first non-zero Tx-pps line): EAL set-up alone
    # may take seconds on a loaded machine, and a fixed sleep then ended it before any rate.
    lines, forwarding = [], threading.Event()

    def read():
        for line in p.stdout:
            lines.append(line)
            m = re.search(r'Tx-pps:\s+(\d+)', line)
            if m and int(m.group(1)) > 0:
                forwarding.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    forwarding.wait(timeout=60)
    time.sleep(SECONDS + 2)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=30)
    reader.join(timeout=30)
    out = ''.join(lines)
    shutil.rmtree(f'/var/run/dpdk/{prefix}', ignore_errors=True)
    # Port 1 (net_null) is the transmit side: its Tx-pps lines.
    rates = [int(x) for x in re.findall(r'Tx-pps:\s+(\d+)', out)]
    rates = [r for r in rates if r > 0]
    if not rates:
        raise SystemExit(f'bench: testpmd printed no rates:\n{out[-2000:]}')
    return max(rates) / 1e6


def raw_gcm(lengths):
    env = dict(os.environ)
    if not HUGE:
        env['ESP_BENCH_NO_HUGE'] = '1'
    out = subprocess.run([str(BUILD / 'test' / 'bench' / 'esp_bench'), 'raw', 'aes-gcm-128',
                          ','.join(str(n) for n in lengths)], capture_output=True, text=True,
                         env=env, check=True).stdout
    m = re.search(r'enc_ns=([\d.]+) dec_ns=([\d.]+)', out)
    return float(m.group(1)), float(m.group(2))



def start_dataplane(cmd, log, timeout=60, error=SystemExit):
    """vpn-dataplane started with `cmd`, its output in `log`, once it says it is ready (every
    bench starts its dataplanes this way)."""
    proc = subprocess.Popen(cmd, stdout=open(log, 'w'), stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while 'vpn-dataplane: ready' not in pathlib.Path(log).read_text():
        if proc.poll() is not None or time.time() > deadline:
            what = 'bench: vpn-dataplane' if error is SystemExit else 'vpn-dataplane'
            raise error(f'{what} did not start:\n{pathlib.Path(log).read_text()}')
        time.sleep(0.1)
    return proc

class Dataplane:
    def __init__(self, rx_port, pcap, work, tag):
        self.channel = f'bench{os.getpid()}{tag}'
        self.log = work / f'dataplane-{tag}.log'
        null = 'net_null0,no-rx=1'
        pcap_dev = f'net_pcap0,rx_pcap={pcap},infinite_rx=1'
        ports = {'lan': pcap_dev if rx_port == 'lan' else null,
                 'wan': pcap_dev if rx_port == 'wan' else null}
        cmd = [str(BUILD / 'dataplane' / 'vpn-dataplane'), '-l', '0,1', *eal_mem(),
               '--log-level=*:error', '--', '--channel', self.channel]
        for name, dev in ports.items():
            cmd += ['--port', f'{name}={dev}']
        self.proc = start_dataplane(cmd, self.log, timeout=30)

    def dpctl(self, *args, stdin=None):
        return subprocess.run([str(BUILD / 'dataplane' / 'dpctl'), '--channel', self.channel,
                               *args], input=stdin, capture_output=True, text=True, check=True)

    def configure(self, outer6=False):
        routes = '\n'.join(f'route add 10.{3 + i}.0.0/16 via 192.0.2.2' for i in range(8))
        if outer6:
            # The same tunnel between IPv6 endpoints (IPv4 inner).
            self.dpctl('batch', '-', stdin=f'''
interface add lan kind port
interface add wan kind port
interface add vti0 kind vti mtu 9000
address add lan 10.1.0.1/24
address add wan {WEST6}/64
address add vti0 172.16.0.1/30
{routes.replace('192.0.2.2', '10.1.0.10')}
route add 10.2.0.0/24 dev vti0
route add ::/0 via 2001:db8:ff::fe
neigh add lan 10.1.0.10 02:00:00:00:01:0a
neigh add wan {EAST6} 02:00:00:00:02:02
sa add spi 0x1001 dir out local {WEST6} remote {EAST6} cipher aes-gcm-128 key {KEY_OUT.hex()} salt {SALT_OUT.hex()} vti vti0
sa add spi 0x2001 dir in local {WEST6} remote {EAST6} cipher aes-gcm-128 key {KEY_IN.hex()} salt {SALT_IN.hex()} window 0 vti vti0
bind vti0 0x1001
''')
            return
        self.dpctl('batch', '-', stdin=f'''
interface add lan kind port
interface add wan kind port
interface add vti0 kind vti mtu 9000
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
address add vti0 172.16.0.1/30
{routes}
route add 10.2.0.0/24 dev vti0
route add 0.0.0.0/0 via 192.0.2.254
neigh add lan 10.1.0.10 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key {KEY_OUT.hex()} salt {SALT_OUT.hex()} vti vti0
sa add spi 0x2001 dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key {KEY_IN.hex()} salt {SALT_IN.hex()} window 0 vti vti0
bind vti0 0x1001
''')

    def tx_packets(self, port):
        return json.loads(self.dpctl('show', 'ports', '--json').stdout)[port]['opackets']

    def rate(self, port):
        best = 0.0
        time.sleep(1)  # warm-up
        for _ in range(REPEATS):
            a, t0 = self.tx_packets(port), time.monotonic()
            time.sleep(SECONDS)
            b, t1 = self.tx_packets(port), time.monotonic()
            best = max(best, (b - a) / (t1 - t0) / 1e6)
        return best

    def drops(self):
        return json.loads(self.dpctl('show', 'stats', '--json').stdout)['drops']

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(f'/var/run/dpdk/portcullis-{self.channel}', ignore_errors=True)
        pathlib.Path(f'/dev/shm/portcullis-{self.channel}').unlink(missing_ok=True)


def measure_dataplane(rx_port, pcap, work, tag, outer6=False):
    dp = Dataplane(rx_port, pcap, work, tag)
    try:
        dp.configure(outer6)
        mpps = dp.rate('wan' if rx_port == 'lan' else 'lan')
        drops = {k: v for k, v in dp.drops().items() if v}
        if drops:
            print(f'  note: {tag} drops {drops}', file=sys.stderr)
        return mpps
    finally:
        dp.close()


def main():
    for tool in ('dpdk-testpmd',):
        if shutil.which(tool) is None:
            raise SystemExit(f'bench: {tool} not found (apt-get install dpdk-dev)')
    best = {}  # size -> [io_enc, io_dec, gcm_enc, gcm_dec, enc, dec], the best of every round
    best6 = {}  # size -> [enc, dec] with IPv6 tunnel endpoints
    files = {}
    with tempfile.TemporaryDirectory(prefix='pc-bench-') as tmp:
        work = pathlib.Path(tmp)
        only = os.environ.get('BENCH_SIZES')  # e.g. "64,1420" while working on one size
        # This VM's speed drifts by several percent over minutes: every quantity is measured
        # once per round, rounds are interleaved, and each keeps its best round.
        for rnd in range(ROUNDS):
            for name, frames in SIZES.items():
                if only and name not in only.split(','):
                    continue
                if name not in files:
                    files[name] = pcaps(work, name, frames)
                enc_pcap, dec_pcap, inner_lens = files[name]
                io_enc = testpmd(enc_pcap)
                io_dec = testpmd(dec_pcap)
                gcm_enc, gcm_dec = raw_gcm(inner_lens)
                enc = measure_dataplane('lan', enc_pcap, work, f'enc{name}')
                dec = measure_dataplane('wan', dec_pcap, work, f'dec{name}')
                print(f'  round {rnd + 1} {name}: io {io_enc:.1f}/{io_dec:.1f} Mpps, gcm '
                      f'{gcm_enc:.1f}/{gcm_dec:.1f} ns, enc {enc:.2f} Mpps, dec {dec:.2f} Mpps',
                      file=sys.stderr, flush=True)
                now = [io_enc, io_dec, gcm_enc, gcm_dec, enc, dec]
                b = best.setdefault(name, now)
                best[name] = [max(b[0], io_enc), max(b[1], io_dec), min(b[2], gcm_enc),
                              min(b[3], gcm_dec), max(b[4], enc), max(b[5], dec)]
                if name in V6_SIZES:
                    if (name, 6) not in files:
                        files[(name, 6)] = pcaps(work, name, frames, outer6=True)
                    enc6_pcap, dec6_pcap, _ = files[(name, 6)]
                    enc6 = measure_dataplane('lan', enc6_pcap, work, f'enc6{name}', outer6=True)
                    dec6 = measure_dataplane('wan', dec6_pcap, work, f'dec6{name}', outer6=True)
                    print(f'  round {rnd + 1} {name} IPv6 outer: enc {enc6:.2f} Mpps, dec '
                          f'{dec6:.2f} Mpps', file=sys.stderr, flush=True)
                    b6 = best6.setdefault(name, [enc6, dec6])
                    best6[name] = [max(b6[0], enc6), max(b6[1], dec6)]
    rows = []
    for name, (io_enc, io_dec, gcm_enc, gcm_dec, enc, dec) in best.items():
        bound_enc = 1e3 / (1e3 / io_enc + gcm_enc)
        bound_dec = 1e3 / (1e3 / io_dec + gcm_dec)
        rows.append((name, io_enc, io_dec, gcm_enc, gcm_dec, bound_enc, bound_dec, enc, dec))

    print(f'vpn-dataplane, one worker, AES-GCM-128, net_pcap infinite_rx -> net_null, '
          f'{"hugepages" if HUGE else "no hugepages"}, best of {REPEATS} x {SECONDS:g} s, '
          f'best of {ROUNDS} interleaved rounds')
    print(f'{"frame":>6} | {"io e":>6} {"io d":>6} {"gcm enc":>8} {"gcm dec":>8} | {"bound e":>8} '
          f'{"bound d":>8} | {"enc Mpps":>8} {"frac":>5} {"dec Mpps":>8} {"frac":>5} | '
          f'{"secgw e":>8} {"secgw d":>8} {"x enc":>6} {"x dec":>6}')
    f = {}
    for name, ie, idec, ge, gd, be, bd, enc, dec in rows:
        se, sd = SECGW[name]
        f[name] = (enc / be, dec / bd)
        print(f'{name:>6} | {ie:6.1f} {idec:6.1f} {ge:8.1f} {gd:8.1f} | {be:8.2f} {bd:8.2f} | {enc:8.2f} '
              f'{enc / be:5.2f} {dec:8.2f} {dec / bd:5.2f} | {se:8.1f} {sd:8.1f} {enc / se:6.2f} '
              f'{dec / sd:6.2f}')
    print('io e/d = testpmd Mpps on the encrypt (cleartext) / decrypt (ESP) input; gcm = raw '
          'IPsec-MB AES-GCM-128 ns on the ESP payload lengths')
    print('bound = 1/(io + gcm) per direction; frac = Mpps / bound (targets: >= 0.65 at 64 B, '
          '>= 0.83 at 1420 B)')
    print('secgw = DPDK ipsec-secgw on this machine (reference file, not re-measured)')
    if best6:
        print()
        print('IPv6 outer (IPv4 inner), the same tunnel and rounds; ratio to the IPv4-outer rate '
              '(target >= 0.9x)')
        print(f'{"frame":>6} | {"enc Mpps":>8} {"x v4":>6} | {"dec Mpps":>8} {"x v4":>6}')
        for name, (enc6, dec6) in best6.items():
            enc4, dec4 = best[name][4], best[name][5]
            print(f'{name:>6} | {enc6:8.2f} {enc6 / enc4:6.2f} | {dec6:8.2f} {dec6 / dec4:6.2f}')
    if len(f) == len(SIZES):
        print(f'summary: enc64={f["64"][0]:.2f} enc1420={f["1420"][0]:.2f} '
              f'dec64={f["64"][1]:.2f} dec1420={f["1420"][1]:.2f} imix={min(f["IMIX"]):.2f}')


if __name__ == '__main__':
    main()
