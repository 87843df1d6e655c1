"""A flood of spoofed IKE_SA_INITs against vpnd (kernel-socket transport), bounded to 10 s.

Five network namespaces on one bridge: the responder vpnd under test (192.0.2.1, with two
site-to-site peers and a `peer any` that answers anyone), a second vpnd with an established
tunnel to it (192.0.2.2), a third vpnd that starts its IKE_SA_INIT 1 s into the flood
(192.0.2.3), and the flooder (192.0.2.4), which sends IKE_SA_INITs with an acceptable proposal and
an all-zero KE from every address of 198.18.0.0/15 at about 50,000 a second (test/tools/ike_flood:
raw IPv4, sendmmsg). The responder routes 198.18.0.0/15 to the flooder, which drops the answers.

Asserted (what vpnd controls): the new tunnel is up within 5 s of its start, the established IKE SA
is still up, and the responder's log grew by at most a few hundred lines. Printed: vpnd's CPU time
per spoofed datagram (utime+stime from /proc/<pid>/stat over the flood, divided by the datagrams
sent; target <= 20 us), the log growth, the time to bring the new tunnel up, the flooder's rate.
In kernel mode no dataplane carries ESP, so the established tunnel's traffic is not part of it.

PORTCULLIS_FLOOD_VPND names another vpnd binary to flood (an A/B against an older build).
Everything the test creates is removed even when it fails.
"""
import json
import os
import pathlib
import secrets
import signal
import subprocess
import time

import pytest

RESP, EST, NEW, FLOODER = '192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'
SPOOFED = '198.18.0.0/15'
FLOOD_SECONDS = 10
FLOOD_RATE = 50000
NEW_PEER_AFTER = 1.0

IKE = """
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE proposal 1 dh-group 19
set security vpn ipsec ike-group IKE proposal 1 encryption aes256
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128
set security vpn ipsec esp-group ESP proposal 1 hash null
"""


def peer(remote, local, vti, vti_addr, initiate, psk):
    p = f'set security vpn ipsec site-to-site peer {remote}'
    lines = [f"{p} authentication pre-shared-secret '{psk}'",
             f'{p} ike-group IKE',
             f'{p} local-address {local}',
             f'{p} vti bind {vti}',
             f'{p} vti esp-group ESP',
             f'set interfaces vti {vti} address {vti_addr}']
    if not initiate:
        lines.append(f'{p} connection-type respond')
    return '\n'.join(lines) + '\n'


def any_peer(local, psk):
    """`peer any` (policy-based: a VTI needs a peer address): answers anyone's IKE_SA_INIT."""
    p = 'set security vpn ipsec site-to-site peer any'
    return '\n'.join([f"{p} authentication pre-shared-secret '{psk}'",
                      f'{p} ike-group IKE',
                      f'{p} local-address {local}',
                      f'{p} connection-type respond',
                      f'{p} default-esp-group ESP',
                      f'{p} tunnel 1 local prefix 10.1.9.0/24',
                      f'{p} tunnel 1 remote prefix 10.9.0.0/24']) + '\n'


def interface(address):
    return f'set interfaces dataplane dp0p1 address {address}/24\n'


def responder_conf():
    return (IKE + interface(RESP) + peer(EST, RESP, 'vti2', '172.16.0.1/30', False, 'est-secret-0123456789')
            + peer(NEW, RESP, 'vti3', '172.16.0.5/30', False, 'new-secret-0123456789')
            + any_peer(RESP, 'any-secret-0123456789'))


def initiator_conf(local, vti_addr, psk):
    return IKE + interface(local) + peer(RESP, local, 'vti2', vti_addr, True, psk)


def ip(*args, check=True):
    return subprocess.run(['ip', *args], check=check, capture_output=True, text=True, timeout=10)


def cpu_ticks(pid):
    fields = pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


class FloodLab:
    def __init__(self, tmp_path, build_root):
        self.tag = secrets.token_hex(3)
        self.dir = tmp_path
        self.build = build_root
        self.hub = 'pfh-' + self.tag
        self.ns = {n: f'pf{n[0]}-{self.tag}' for n in ('resp', 'est', 'new', 'flood')}
        self.addr = {'resp': RESP, 'est': EST, 'new': NEW, 'flood': FLOODER}
        self.procs = {}
        try:
            ip('netns', 'add', self.hub)
            ip('-n', self.hub, 'link', 'add', 'br0', 'type', 'bridge')
            ip('-n', self.hub, 'link', 'set', 'br0', 'up')
            for name, ns in self.ns.items():
                ip('netns', 'add', ns)
                ip('-n', ns, 'link', 'set', 'lo', 'up')
                dev, hub_dev = name[0] + self.tag, 'h' + name[0] + self.tag
                ip('link', 'add', 'name', dev, 'netns', ns, 'type', 'veth', 'peer', 'name',
                   hub_dev, 'netns', self.hub)
                ip('-n', self.hub, 'link', 'set', hub_dev, 'master', 'br0', 'up')
                ip('-n', ns, 'addr', 'add', self.addr[name] + '/24', 'dev', dev)
                ip('-n', ns, 'link', 'set', dev, 'up')
            # The responder answers the spoofed sources through the flooder, which is not them
            # and does not forward: the answers go nowhere, as they would on the Internet.
            ip('-n', self.ns['resp'], 'route', 'add', SPOOFED, 'via', FLOODER)
            for conf in ('all', 'default', 'r' + self.tag):
                self.exec('resp', 'sysctl', '-qw', f'net.ipv4.conf.{conf}.rp_filter=0')
        except BaseException:
            self.close()
            raise

    def exec(self, name, *cmd, **kw):
        return subprocess.run(['ip', 'netns', 'exec', self.ns[name], *cmd], capture_output=True,
                              text=True, timeout=kw.pop('timeout', 30), **kw)

    def sock(self, name):
        return str(self.dir / (name + '.sock'))

    def log(self, name):
        return self.dir / (name + '.log')

    def start_vpnd(self, name, conf_text, binary):
        conf = self.dir / (name + '.conf')
        conf.write_text(conf_text)
        p = subprocess.Popen(['ip', 'netns', 'exec', self.ns[name], binary, '--config', str(conf),
                              '--transport', 'kernel', '--socket', self.sock(name), '--log',
                              str(self.log(name)), '--foreground'],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs[name] = p
        return p

    def wait_socket(self, name, timeout=10):
        deadline = time.time() + timeout
        while not os.path.exists(self.sock(name)):
            assert self.procs[name].poll() is None, f'vpnd {name} exited'
            assert time.time() < deadline, f'vpnd {name} socket did not appear'
            time.sleep(0.02)

    def vpnctl(self, name, *args):
        return subprocess.run([str(self.build / 'control' / 'vpnctl'), '--socket',
                               self.sock(name), '--json', *args], capture_output=True,
                              text=True, timeout=20)

    def tunnel_up(self, name):
        r = self.vpnctl(name, 'show', 'vpn', 'ipsec', 'sa')
        if r.returncode != 0:
            return False
        # Kernel transport negotiates CHILD SAs and installs nothing: a row with an id.
        return any(t.get('id') is not None for t in json.loads(r.stdout or '[]'))

    def ike_up(self, name):
        r = self.vpnctl(name, 'show', 'vpn', 'ike', 'sa')
        return r.returncode == 0 and any(s.get('state') == 'up'
                                         for s in json.loads(r.stdout or '[]'))

    def log_lines(self, name):
        n = 0
        for f in self.dir.glob(name + '.log*'):
            with open(f, 'rb') as fh:
                n += sum(1 for _ in fh)
        return n

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        for ns in list(self.ns.values()) + [self.hub]:
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)


@pytest.fixture
def flood_lab(tmp_path, build_root):
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces, raw sockets)')
    for b in ('control/vpnd', 'control/vpnctl', 'test/tools/ike_flood'):
        if not (build_root / b).exists():
            pytest.skip(f'{b} not built')
    lab = FloodLab(tmp_path, build_root)
    try:
        yield lab
    finally:
        lab.close()


def test_spoofed_ike_sa_init_flood(flood_lab, build_root):
    lab = flood_lab
    vpnd = os.environ.get('PORTCULLIS_FLOOD_VPND', str(build_root / 'control' / 'vpnd'))
    resp = lab.start_vpnd('resp', responder_conf(), vpnd)
    lab.wait_socket('resp')
    lab.start_vpnd('est', initiator_conf(EST, '172.16.0.2/30', 'est-secret-0123456789'), vpnd)
    lab.wait_socket('est')
    deadline = time.time() + 15
    while not (lab.tunnel_up('est') and lab.tunnel_up('resp')):
        assert time.time() < deadline, 'the established tunnel did not come up:\n' + \
            lab.log('resp').read_text()[-3000:]
        time.sleep(0.1)

    lines_before = lab.log_lines('resp')
    ticks_before = cpu_ticks(resp.pid)
    flooder = subprocess.Popen(
        ['ip', 'netns', 'exec', lab.ns['flood'], str(build_root / 'test' / 'tools' / 'ike_flood'),
         '--dst', RESP, '--src', SPOOFED, '--rate', str(FLOOD_RATE), '--seconds',
         str(FLOOD_SECONDS), '--group', '19'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab.procs['flood'] = flooder
    flood_start = time.time()

    time.sleep(NEW_PEER_AFTER)
    new_start = time.time()
    lab.start_vpnd('new', initiator_conf(NEW, '172.16.0.6/30', 'new-secret-0123456789'), vpnd)
    new_up_after = None
    while time.time() - flood_start < FLOOD_SECONDS + 5 and new_up_after is None:
        if os.path.exists(lab.sock('new')) and lab.tunnel_up('new'):
            new_up_after = time.time() - new_start
            break
        time.sleep(0.1)

    out, err = flooder.communicate(timeout=FLOOD_SECONDS + 30)
    assert flooder.returncode == 0, err
    stats = json.loads(out)
    ticks_after = cpu_ticks(resp.pid)
    lines_after = lab.log_lines('resp')
    established_ok = lab.ike_up('est')
    resp_alive = resp.poll() is None

    hz = os.sysconf('SC_CLK_TCK')
    cpu_s = (ticks_after - ticks_before) / hz
    sent = max(stats['sent'], 1)
    report = {
        'sent': stats['sent'],
        'send_rate_per_s': round(stats['sent'] / stats['seconds']),
        'vpnd_cpu_s': round(cpu_s, 2),
        'vpnd_cpu_us_per_packet': round(cpu_s * 1e6 / sent, 2),
        'log_lines_added': lines_after - lines_before,
        'new_tunnel_up_after_s': None if new_up_after is None else round(new_up_after, 2),
        'established_ike_sa_up': established_ok,
    }
    print('\nike flood: ' + json.dumps(report))
    (lab.dir / 'flood-report.json').write_text(json.dumps(report))

    assert resp_alive, 'vpnd died under the flood'
    assert stats['sent'] > 0, stats
    assert new_up_after is not None and new_up_after <= 5.0, \
        f'the new tunnel was not up within 5 s: {report}\n' + lab.log('resp').read_text()[-3000:]
    assert established_ok, f'the established IKE SA went down: {report}'
    assert lines_after - lines_before <= 400, report
