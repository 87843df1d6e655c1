#!/usr/bin/env python3
"""IKE setup rate (issue #19), a benchmark, not a test. Needs root (network namespaces); run it
as `scripts/bench ike`, which takes the shared lab lock.

1. IKE_SA + CHILD_SA setups per second against our responder and against strongSwan's, with the
   same strongSwan 5.9.8 initiator in the same run: charon (kernel-libipsec) in one namespace
   initiates IKE_BENCH_SETUPS (default 300) IKE SAs, each of its own connection and identity,
   IKE_BENCH_PARALLEL (default 16) at a time over VICI, to vpnd (kernel-socket transport) and
   then to a charon responder in the other namespace, with MODP-2048 and with Curve25519. The
   responders' COOKIE and per-address thresholds are off on both (they defend against floods;
   one initiator with 16 outstanding is not one). IKE_BENCH_ROUNDS (default 3) interleaved
   rounds; each row is the median round. Prints setups/s, the median and 90th percentile of one
   setup as the initiator waited for it, and CPU per setup of the responder, of vpnd's event
   loop thread and of the initiator. Not the same job on both sides: vpnd (kernel sockets) logs
   its CHILD SAs, charon (kernel-libipsec) installs them in userspace. The initiator's CPU per
   setup bounds the rate on this 2-core machine, whichever responder answers.
   test/integration/test_ike_scale.py uses this file's Lab and configuration generator.
   Also (first table; the summary's ike_vs_swan_vinit_*) the same comparison with vpnd in kernel-socket
   mode as the common initiator: IKE_BENCH_VPND_SETUPS (default 1,000) tunnels, each its own
   address pair and one IKE SA and CHILD SA, vpnd pacing at most 64 initiations outstanding,
   to vpnd and to charon (kernel-libipsec) in the other namespace; setups/s from the first
   CHILD SA up to the last (not vpnd's start). vpnd needs less CPU per setup as initiator than
   charon, so the initiator bounds the responders less. IKE_BENCH_SWAN_INITIATOR=0 skips the
   strongSwan-initiator table.
2. up10k_s: IKE_BENCH_TUNNELS (default 10,000) tunnels between two vpnd instances in
   kernel-socket mode, one IKE SA and one CHILD SA each (one peer address per tunnel on each
   side), Curve25519: seconds from the initiator's start until every CHILD SA is up.

Last line: `summary: ike_vs_swan_modp=<r> ike_vs_swan_x25519=<r> up10k_s=<s>
ike_vs_swan_vinit_modp=<r> ike_vs_swan_vinit_x25519=<r>` (r = our responder's rate over
strongSwan's, with the strongSwan initiator, then with vpnd as the initiator; nan when a round
did not set every tunnel up; target >= 2)."""
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

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from vici_client import Vici  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHARON = '/usr/lib/ipsec/charon'
INI, RES = '192.0.2.2', '192.0.2.1'
PSK = 'ike-bench-psk-0123456789'
GROUPS = {'modp': ('modp2048', 14), 'x25519': ('curve25519', 31)}


def run(cmd, check=True, timeout=60, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError('%s: %s%s' % (' '.join(cmd), r.stdout, r.stderr))
    return r


def cpu_seconds(pid, thread=None):
    """utime + stime of a process and its threads (or of one thread), seconds."""
    path = '/proc/%d/task/%d/stat' % (pid, thread) if thread else '/proc/%d/stat' % pid
    with open(path) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def runq_seconds(pid):
    """Time the process's threads spent runnable but waiting for a CPU (schedstat's
    run_delay), seconds: on this shared 2-core machine, what a setup waits that is not work."""
    total = 0
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/schedstat' % (pid, tid)) as f:
                total += int(f.read().split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total / 1e9


def threads_of(pid):
    return len(os.listdir('/proc/%d/task' % pid))


class Lab:
    """Two namespaces joined by a veth: pbi-<id> (initiator, INI) and pbr-<id> (responder, RES).
    Everything is removed by close(); processes are ended by PID."""

    def __init__(self, work, build):
        self.work = pathlib.Path(work)
        self.build = pathlib.Path(build)
        self.id = '%x' % (os.getpid() & 0xffff)
        self.ns_i, self.ns_r = 'pbi-' + self.id, 'pbr-' + self.id
        self.procs = []
        try:
            self._topology()
        except BaseException:
            self.close()
            raise

    def _topology(self):
        for ns in (self.ns_i, self.ns_r):
            run(['ip', 'netns', 'add', ns])
            run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        run(['ip', 'link', 'add', 'bi' + self.id, 'netns', self.ns_i, 'type', 'veth', 'peer',
             'name', 'br' + self.id, 'netns', self.ns_r])
        run(['ip', '-n', self.ns_i, 'addr', 'add', INI + '/24', 'dev', 'bi' + self.id])
        run(['ip', '-n', self.ns_r, 'addr', 'add', RES + '/24', 'dev', 'br' + self.id])
        for ns, dev in ((self.ns_i, 'bi'), (self.ns_r, 'br')):
            run(['ip', '-n', ns, 'link', 'set', dev + self.id, 'up'])
        # kernel-libipsec routes the protected subnet via its TUN device with a source address
        # from the local selector, which must exist (as in test/interop/swanlab.py).
        for ns, lan in ((self.ns_i, '10.2.0.1/24'), (self.ns_r, '10.1.0.1/24')):
            run(['ip', '-n', ns, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1'])
            run(['ip', '-n', ns, 'addr', 'add', lan, 'dev', 'lan0'])
            run(['ip', '-n', ns, 'link', 'set', 'lan0', 'up'])
            run(['ip', '-n', ns, 'link', 'set', 'lan1', 'up'])

    def add_addresses(self, ns, dev, addrs):
        batch = self.work / ('addrs-%s.batch' % ns)
        batch.write_text(''.join('addr add %s/32 dev %s\n' % (a, dev) for a in addrs))
        run(['ip', '-n', ns, '-batch', str(batch)], timeout=300)

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def close(self):
        for p in list(self.procs):
            self.stop(p)
        for ns in (self.ns_i, self.ns_r):
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)

    # ---------------------------------------------------------------- strongSwan
    def charon(self, name, ns, swanctl_conf, threads=64, install_routes=True):
        d = self.work / name
        if d.exists():
            shutil.rmtree(d)
        (d / 'run').mkdir(parents=True)
        (d / 'swanctl').mkdir()
        (d / 'strongswan.conf').write_text('''charon {
    load_modular = no
    load = openssl random nonce aes sha1 sha2 hmac gcm kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
    threads = %(threads)d
    port = 500
    port_nat_t = 4500
    install_routes = %(routes)s
    install_virtual_ip = no
    cookie_threshold = 1000000
    cookie_threshold_ip = 1000000
    block_threshold = 1000000
    init_limit_half_open = 0
    retransmit_timeout = 2.0
    retransmit_tries = 3
    plugins {
        vici { socket = unix://%(d)s/charon.vici }
    }
    filelog {
        bench {
            path = %(d)s/charon.log
            default = 0
            ike = 1
        }
    }
}
swanctl {
    socket = unix://%(d)s/charon.vici
}
''' % {'d': d, 'threads': threads,
       'routes': 'yes' if install_routes else 'no'})
        (d / 'swanctl' / 'swanctl.conf').write_text(swanctl_conf)
        env = dict(os.environ, STRONGSWAN_CONF=str(d / 'strongswan.conf'))
        p = subprocess.Popen(['ip', 'netns', 'exec', ns, 'sh', '-c',
                              'mount --bind "$1/run" /run && exec "$2"', 'sh', str(d), CHARON],
                             env=env, stdin=subprocess.DEVNULL,
                             stdout=open(d / 'charon.stdout', 'w'), stderr=subprocess.STDOUT)
        self.procs.append(p)
        sock = d / 'charon.vici'
        deadline = time.time() + 20
        while time.time() < deadline:
            if sock.exists():
                try:
                    Vici(str(sock)).close()
                    break
                except OSError:
                    pass
            if p.poll() is not None:
                raise RuntimeError('charon died: ' + (d / 'charon.stdout').read_text())
            time.sleep(0.1)
        env['SWANCTL_DIR'] = str(d / 'swanctl')
        r = run(['swanctl', '--load-all', '--noprompt'], env=env, check=False, timeout=300)
        if r.returncode != 0:
            raise RuntimeError('swanctl --load-all: ' + r.stdout + r.stderr)
        return p, str(sock)

    # ---------------------------------------------------------------- vpnd
    def vpnd(self, name, ns, config_text):
        d = self.work / name
        d.mkdir(exist_ok=True)
        cfg = d / 'vpnd.conf'
        cfg.write_text(config_text)
        sock = d / 'vpnd.sock'
        if sock.exists():
            sock.unlink()
        p = subprocess.Popen(
            ['ip', 'netns', 'exec', ns, str(self.build / 'control' / 'vpnd'), '--config',
             str(cfg), '--transport', 'kernel', '--socket', str(sock), '--log',
             str(d / 'vpnd.log'), '--log-max-size', str(1 << 30), '--foreground'] +
            os.environ.get('IKE_BENCH_VPND_ARGS', '').split(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(d / 'vpnd.stderr', 'w'))
        self.procs.append(p)
        deadline = time.time() + 120
        while not sock.exists():
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError('vpnd did not start: ' + (d / 'vpnd.stderr').read_text())
            time.sleep(0.05)
        return p, str(sock)

    def vpnctl(self, sock, *args):
        return run([str(self.build / 'control' / 'vpnctl'), '--socket', sock] + list(args),
                   check=False, timeout=120).stdout


def initiator_conf(n, group):
    conns = []
    for i in range(n):
        conns.append('''    c%(i)d {
        version = 2
        local_addrs = %(l)s
        remote_addrs = %(r)s
        proposals = aes128-sha256-%(g)s
        rekey_time = 0
        reauth_time = 0
        mobike = no
        local { auth = psk
                id = c%(i)d.bench.example }
        remote { auth = psk
                 id = %(r)s }
        children {
            lan {
                mode = tunnel
                local_ts = 10.2.0.0/24
                remote_ts = 10.1.0.0/24
                esp_proposals = aes128gcm16
                rekey_time = 0
                start_action = none
            }
        }
    }
''' % {'i': i, 'l': INI, 'r': RES, 'g': group})
    return ('connections {\n' + ''.join(conns) + '}\nsecrets {\n    ike-all {\n'
            '        secret = "%s"\n    }\n}\n' % PSK)


def responder_swanctl(group):
    return '''connections {
    bench {
        version = 2
        local_addrs = %(r)s
        proposals = aes128-sha256-%(g)s
        rekey_time = 0
        reauth_time = 0
        mobike = no
        local { auth = psk
                id = %(r)s }
        remote { auth = psk
                 id = %%any }
        children {
            lan {
                mode = tunnel
                local_ts = 10.1.0.0/24
                remote_ts = 10.2.0.0/24
                esp_proposals = aes128gcm16
                rekey_time = 0
            }
        }
    }
}
secrets {
    ike-all {
        secret = "%(psk)s"
    }
}
''' % {'r': RES, 'g': group, 'psk': PSK}


def responder_vpnd(dh):
    return '\n'.join([
        'set interfaces dataplane dp0p1 address %s/24' % RES,
        'set security vpn ike block-threshold 0',
        'set security vpn ike cookie-threshold 0',
        'set security vpn ipsec ike-group IKE ike-version 2',
        'set security vpn ipsec ike-group IKE proposal 1 encryption aes128',
        'set security vpn ipsec ike-group IKE proposal 1 hash sha2_256',
        'set security vpn ipsec ike-group IKE proposal 1 dh-group %d' % dh,
        'set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128',
        'set security vpn ipsec esp-group ESP proposal 1 hash null',
        'set security vpn ipsec site-to-site peer any authentication pre-shared-secret %s' % PSK,
        'set security vpn ipsec site-to-site peer any authentication id %s' % RES,
        'set security vpn ipsec site-to-site peer any connection-type respond',
        'set security vpn ipsec site-to-site peer any ike-group IKE',
        'set security vpn ipsec site-to-site peer any local-address %s' % RES,
        'set security vpn ipsec site-to-site peer any default-esp-group ESP',
        'set security vpn ipsec site-to-site peer any tunnel 1 local prefix 10.1.0.0/24',
        'set security vpn ipsec site-to-site peer any tunnel 1 remote prefix 10.2.0.0/24',
    ]) + '\n'


def drive(vici_path, n, parallel):
    """Initiates c0..c{n-1}, `parallel` at a time; returns (seconds, latencies, failures)."""
    lock = threading.Lock()
    nxt = [0]
    lat, failed = [], []

    def worker():
        v = Vici(vici_path)
        try:
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= n:
                    return
                t = time.monotonic()
                r = v.request('initiate', {'child': 'lan', 'ike': 'c%d' % i, 'timeout': '30000',
                                           'init-limits': 'no', 'loglevel': '-1'})
                dt = time.monotonic() - t
                with lock:
                    (lat if r.get('success') == 'yes' else failed).append(
                        dt if r.get('success') == 'yes' else (i, r.get('errmsg')))
        finally:
            v.close()

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, sorted(lat), failed


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float('nan')


def setup_rate(lab, responder, gname, n, parallel):
    group, dh = GROUPS[gname]
    if responder == 'vpnd':
        rp, _ = lab.vpnd('vpnd-' + gname, lab.ns_r, responder_vpnd(dh))
    else:
        # charon's default 16 threads (the initiator needs more: each VICI initiate blocks one).
        rp, _ = lab.charon('swan-r-' + gname, lab.ns_r, responder_swanctl(group), threads=16)
    ip, vici = lab.charon('swan-i-%s-%s' % (responder, gname), lab.ns_i,
                          initiator_conf(n, group))
    try:
        # The responder's own process: `ip netns exec` execs into it.
        # vpnd's event loop is its main thread (the DH key pool's workers are the others).
        loop = rp.pid if responder == 'vpnd' else None
        cpu0, icpu0 = cpu_seconds(rp.pid), cpu_seconds(ip.pid)
        loop0 = cpu_seconds(rp.pid, loop) if loop else 0.0
        rq0 = runq_seconds(rp.pid)
        secs, lat, failed = drive(vici, n, parallel)
        cpu, icpu = cpu_seconds(rp.pid) - cpu0, cpu_seconds(ip.pid) - icpu0
        loop_cpu = cpu_seconds(rp.pid, loop) - loop0 if loop else float('nan')
        runq, nthreads = runq_seconds(rp.pid) - rq0, threads_of(rp.pid)
    finally:
        lab.stop(ip)
        lab.stop(rp)
    ok = len(lat)
    return {'rate': ok / secs if secs else 0.0, 'ok': ok, 'failed': len(failed),
            'p50_ms': pct(lat, 0.5) * 1e3, 'p90_ms': pct(lat, 0.9) * 1e3,
            'cpu_ms': cpu * 1e3 / ok if ok else float('nan'),
            'init_cpu_ms': icpu * 1e3 / ok if ok else float('nan'),
            'loop_cpu_ms': loop_cpu * 1e3 / ok if ok else float('nan'),
            'runq_ms': runq * 1e3 / ok if ok else float('nan'), 'threads': nthreads,
            'first_failure': failed[0] if failed else None}


# ------------------------------------------- the same setups from vpnd (kernel sockets) as initiator

def responder_swanctl_any(group):
    """charon answering any of the initiator's tunnels (one address pair each, all with the
    selectors of the strongSwan-initiator runs, 10.2.0.0/24 === 10.1.0.0/24). Not the same job
    as vpnd's: charon (kernel-libipsec) installs each CHILD SA, its policies and route in
    userspace, vpnd in kernel-socket mode only logs it, as in the strongSwan-initiator runs."""
    return '''connections {
    bench {
        version = 2
        proposals = aes128gcm16-prfsha256-%(g)s
        rekey_time = 0
        reauth_time = 0
        mobike = no
        local { auth = psk }
        remote { auth = psk
                 id = %%any }
        children {
            lan {
                mode = tunnel
                local_ts = 10.1.0.0/24
                remote_ts = 10.2.0.0/24
                esp_proposals = aes128gcm16
                rekey_time = 0
            }
        }
    }
}
secrets {
    ike-all {
        secret = "%(psk)s"
    }
}
''' % {'g': group, 'psk': PSK}


def ensure_pairs(lab, n):
    """The first n tunnels' addresses on both ends (added once, kept for later runs)."""
    have = getattr(lab, 'pairs_added', 0)
    if n <= have:
        return
    pairs = tunnel_addresses(n)[have:]
    lab.add_addresses(lab.ns_i, 'bi' + lab.id, [a for a, _ in pairs])
    lab.add_addresses(lab.ns_r, 'br' + lab.id, [b for _, b in pairs])
    if not have:
        # Through the other end's veth address: one neighbour entry, not one per tunnel address
        # (10,000 would overflow the neighbour table and queue every first packet behind an ARP).
        run(['ip', '-n', lab.ns_i, 'route', 'add', '10.128.0.0/10', 'via', RES])
        run(['ip', '-n', lab.ns_r, 'route', 'add', '10.64.0.0/10', 'via', INI])
    lab.pairs_added = n


def vpnd_initiated_rate(lab, responder, gname, n, timeout=120):
    """n tunnels (one IKE SA and CHILD SA each, own address pair) initiated by vpnd in
    kernel-socket mode (at most IkeManager::kMaxInitiating outstanding) to `responder`:
    setups/s from vpnd's start until its last CHILD SA is up, and CPU per setup of both."""
    group, dh = GROUPS[gname]
    ensure_pairs(lab, n)
    pairs = tunnel_addresses(n)
    name = 'vi-%s-%s' % (responder, gname)
    if responder == 'vpnd':
        rp, _ = lab.vpnd(name + '-r', lab.ns_r, pair_config([(b, a) for a, b in pairs], False, dh,
                                                             ('10.1.0.0/24', '10.2.0.0/24')))
    else:
        rp, _ = lab.charon(name + '-r', lab.ns_r, responder_swanctl_any(group), threads=16,
                           install_routes=True)
    log = lab.work / (name + '-i') / 'vpnd.log'
    if log.exists():
        log.unlink()
    ip = None
    try:
        cpu0, rq0 = cpu_seconds(rp.pid), runq_seconds(rp.pid)
        t0 = time.monotonic()
        ip, _ = lab.vpnd(name + '-i', lab.ns_i,
                         pair_config(pairs, True, dh, ('10.2.0.0/24', '10.1.0.0/24')))
        counter = LogCounter(log, b'CHILD_SA not installed')
        # From the first CHILD SA up to the last: neither vpnd's start nor one setup's latency.
        up, first, deadline = 0, None, t0 + timeout
        while time.monotonic() < deadline:
            up = counter.poll()
            if up and first is None:
                first, first_up = time.monotonic(), up
            if up >= n:
                break
            time.sleep(0.01)
        secs = time.monotonic() - first if first is not None else 0.0
        cpu, icpu = cpu_seconds(rp.pid) - cpu0, cpu_seconds(ip.pid)
        runq, nthreads = runq_seconds(rp.pid) - rq0, threads_of(rp.pid)
    finally:
        if ip is not None:
            lab.stop(ip)
        lab.stop(rp)
    return {'rate': (up - first_up) / secs if secs else 0.0, 'ok': up, 'n': n,
            'cpu_ms': cpu * 1e3 / up if up else float('nan'),
            'runq_ms': runq * 1e3 / up if up else float('nan'), 'threads': nthreads,
            'init_cpu_ms': icpu * 1e3 / up if up else float('nan')}


# ---------------------------------------------------------------- 10,000 tunnels, vpnd to vpnd

def tunnel_addresses(n):
    """(initiator address, responder address) of tunnel i: 10.64.0.0/10 and 10.128.0.0/10."""
    out = []
    for i in range(n):
        hi, lo = (i + 1) >> 8, (i + 1) & 0xff
        out.append(('10.%d.%d.%d' % (64 + (hi >> 8), hi & 0xff, lo),
                    '10.%d.%d.%d' % (128 + (hi >> 8), hi & 0xff, lo)))
    return out


def pair_config(pairs, initiate, dh=31, lans=None):
    """`lans`: (local, remote) prefix of every tunnel, else one /24 pair per tunnel."""
    lines = ['set security vpn ike block-threshold 0',
             'set security vpn ike cookie-threshold 0',
             'set security vpn ipsec ike-group IKE ike-version 2',
             'set security vpn ipsec ike-group IKE proposal 1 encryption aes128gcm128',
             'set security vpn ipsec ike-group IKE proposal 1 hash sha2_256',
             'set security vpn ipsec ike-group IKE proposal 1 dh-group %d' % dh,
             'set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128',
             'set security vpn ipsec esp-group ESP proposal 1 hash null']
    for i, (ours, theirs) in enumerate(pairs):
        p = 'set security vpn ipsec site-to-site peer %s ' % theirs
        lines += [p + 'authentication pre-shared-secret ' + PSK,
                  p + 'connection-type ' + ('initiate' if initiate else 'respond'),
                  p + 'ike-group IKE',
                  p + 'local-address ' + ours,
                  p + 'default-esp-group ESP',
                  p + 'tunnel 1 local prefix ' + (lans[0] if lans else '172.%d.%d.0/24' % (
                      16 + (i >> 8 & 15) if initiate else 48 + (i >> 8 & 15), i & 0xff)),
                  p + 'tunnel 1 remote prefix ' + (lans[1] if lans else '172.%d.%d.0/24' % (
                      48 + (i >> 8 & 15) if initiate else 16 + (i >> 8 & 15), i & 0xff))]
    return '\n'.join(lines) + '\n'


class LogCounter:
    """Lines of a growing log that contain `text`, read incrementally (the log of 10,000
    tunnels is tens of MB: reading it whole every poll would take the CPU being measured)."""

    def __init__(self, path, text):
        self.path, self.text, self.pos, self.count, self.rest = path, text, 0, 0, b''

    def poll(self):
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return self.count
        self.pos += len(data)
        data = self.rest + data
        cut = data.rfind(b'\n') + 1
        self.count += data[:cut].count(self.text)
        self.rest = data[cut:]
        return self.count


def up_tunnels(lab, n, timeout):
    """Seconds until n tunnels are up between two vpnd instances (kernel-socket transport)."""
    pairs = tunnel_addresses(n)
    ensure_pairs(lab, n)
    rp, rsock = lab.vpnd('pair-r', lab.ns_r, pair_config([(b, a) for a, b in pairs], False))
    t0 = time.monotonic()
    ip, isock = lab.vpnd('pair-i', lab.ns_i, pair_config(pairs, True))
    # The kernel-socket transport logs each CHILD SA it would install, once.
    counter = LogCounter(lab.work / 'pair-i' / 'vpnd.log', b'CHILD_SA not installed')
    deadline = t0 + timeout
    up = 0
    while time.monotonic() < deadline:
        up = counter.poll()
        if up >= n:
            break
        time.sleep(0.2)
    secs = time.monotonic() - t0
    return secs if up >= n else float('nan'), up


def main():
    n = int(os.environ.get('IKE_BENCH_SETUPS', '300'))
    parallel = int(os.environ.get('IKE_BENCH_PARALLEL', '16'))
    tunnels = int(os.environ.get('IKE_BENCH_TUNNELS', '10000'))
    build = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', ROOT / 'build'))
    os.chdir(ROOT)
    rounds = int(os.environ.get('IKE_BENCH_ROUNDS', '3'))
    swan_initiator = os.environ.get('IKE_BENCH_SWAN_INITIATOR', '1') != '0'
    vn = int(os.environ.get('IKE_BENCH_VPND_SETUPS', '1000'))
    load = os.getloadavg()[0]
    runs, vruns = {}, {}
    with tempfile.TemporaryDirectory(prefix='portcullis-ike-bench-') as work:
        lab = Lab(work, build)
        try:
            # Interleaved (vpnd, charon, vpnd, charon, ...): this shared machine's speed drifts
            # between minutes; each row is the median round, with the range of the rates.
            for _ in range(rounds):
                for gname in GROUPS:
                    for responder in ('vpnd', 'strongswan'):
                        if swan_initiator:
                            runs.setdefault((gname, responder), []).append(
                                setup_rate(lab, responder, gname, n, parallel))
                        vruns.setdefault((gname, responder), []).append(
                            vpnd_initiated_rate(lab, responder, gname, vn))
            up_s, up = up_tunnels(lab, tunnels, timeout=300) if tunnels else (float('nan'), 0)
        finally:
            lab.close()
    def median(runs):
        rows = {}
        for key, rs in runs.items():
            rs = sorted(rs, key=lambda r: r['rate'])
            rows[key] = dict(rs[len(rs) // 2], lo=rs[0]['rate'], hi=rs[-1]['rate'],
                             min_ok=min(r['ok'] for r in rs),
                             complete=all(r['ok'] >= r.get('n', r['ok']) and
                                          not r.get('failed') for r in rs))
        return rows

    rows, vrows = median(runs), median(vruns)
    print('IKE setups: vpnd (kernel sockets) initiator, %d tunnels of one IKE_SA+CHILD_SA each '
          '(own address pair), at most 64 outstanding, both daemons on this machine, rate from '
          'the first CHILD_SA up to the last; median of %d interleaved rounds (load average '
          '%.1f at the start)' % (vn, rounds, load))
    print('(the clock runs from the first CHILD_SA up to the last: neither vpnd\'s start nor its '
          'first commit counts; charon installs each CHILD SA in userspace, vpnd only logs it)')
    print('%-10s %-11s %9s %15s %11s %11s %8s %11s %9s' % (
        'group', 'responder', 'setups/s', 'range', 'resp ms/SA', 'runq ms/SA', 'threads',
        'init ms/SA', 'up'))
    for (gname, responder), r in vrows.items():
        print('%-10s %-11s %9.1f %15s %11.2f %11.2f %8d %11.2f %9s' % (
            GROUPS[gname][0], responder, r['rate'], '%.0f-%.0f' % (r['lo'], r['hi']),
            r['cpu_ms'], r['runq_ms'], r['threads'], r['init_cpu_ms'],
            '%d/%d' % (r['min_ok'], r['n'])))
    print('(resp: CPU of the responder process per setup; runq: time its threads were '
          'runnable but waited for a CPU, per setup)')
    print()
    print('IKE setups: strongSwan 5.9.8 initiator, %d IKE_SA+CHILD_SA setups, %d outstanding, '
          'both daemons on this machine; median of %d interleaved rounds (load average %.1f at '
          'the start)' % (n, parallel, rounds, load))
    print('responders: vpnd with kernel sockets (CHILD SAs logged, not installed); charon with '
          'kernel-libipsec (CHILD SAs installed in userspace), default threads')
    print('%-10s %-11s %9s %15s %8s %8s %11s %11s %11s %11s %7s' % (
        'group', 'responder', 'setups/s', 'range', 'p50 ms', 'p90 ms', 'resp ms/SA',
        'loop ms/SA', 'runq ms/SA', 'init ms/SA', 'failed'))
    for (gname, responder), r in rows.items():
        loop = '%.2f' % r['loop_cpu_ms'] if r['loop_cpu_ms'] == r['loop_cpu_ms'] else 'n/a'
        print('%-10s %-11s %9.1f %15s %8.1f %8.1f %11.2f %11s %11.2f %11.2f %7d' % (
            GROUPS[gname][0], responder, r['rate'], '%.0f-%.0f' % (r['lo'], r['hi']),
            r['p50_ms'], r['p90_ms'], r['cpu_ms'], loop, r['runq_ms'], r['init_cpu_ms'],
            r['failed']))
        if r['first_failure']:
            print('    first failure: %s' % (r['first_failure'],))
    print('(resp: the responder process; loop: vpnd\'s event loop thread, without the DH key '
          'pool\'s and the key computation pool\'s workers; runq: the responder\'s threads '
          'runnable but waiting for a CPU; init: the initiator)')
    def ratios(rows):
        # A round that did not set every tunnel up gives no ratio.
        def ok(key):
            return key in rows and rows[key]['complete'] and rows[key]['rate']
        return {g: rows[(g, 'vpnd')]['rate'] / rows[(g, 'strongswan')]['rate']
                if ok((g, 'vpnd')) and ok((g, 'strongswan')) else float('nan') for g in GROUPS}

    vratio, ratio = ratios(vrows), ratios(rows)
    # The fairer figure on a shared 2-core box: responder CPU per setup, charon's over vpnd's.
    for label, rs in (('strongSwan', rows), ('vpnd', vrows)):
        cpu = {g: rs[(g, 'strongswan')]['cpu_ms'] / rs[(g, 'vpnd')]['cpu_ms']
               if (g, 'vpnd') in rs and (g, 'strongswan') in rs else float('nan')
               for g in GROUPS}
        print('responder CPU per setup, charon over vpnd, %s initiator: modp %.2f x25519 %.2f'
              % (label, cpu['modp'], cpu['x25519']))
    print('ratio with vpnd as the initiator: modp %.2f x25519 %.2f' % (vratio['modp'],
                                                                       vratio['x25519']))
    print()
    print('%d tunnels vpnd to vpnd (kernel sockets, Curve25519, one IKE SA each): %s s '
          '(%d up)' % (tunnels, '%.1f' % up_s, up))
    # The ratios (the strongSwan initiator), then the same with vpnd as the initiator.
    print('summary: ike_vs_swan_modp=%.2f ike_vs_swan_x25519=%.2f up10k_s=%.1f '
          'ike_vs_swan_vinit_modp=%.2f ike_vs_swan_vinit_x25519=%.2f' % (
              ratio['modp'], ratio['x25519'], up_s, vratio['modp'], vratio['x25519']))


if __name__ == '__main__':
    main()
