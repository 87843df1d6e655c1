"""The whole appliance (vpn-dataplane + vpnd on its channel) against strongSwan 5.9.8, with a
host behind the appliance pinging strongSwan's LAN address across the tunnel:

    host 10.1.0.10 -- [dp0p2 10.1.0.1 | appliance | dp0p1 192.0.2.1] == [192.0.2.2 charon] 10.2.0.1

IKE goes through the dataplane's punt/inject rings, the CHILD SA is installed in the dataplane
by vpnd, and the ESP is UDP-encapsulated (kernel-libipsec claims a NAT, so RFC 3948 on 4500 is
all it speaks). The tunnel is policy-based (tunnel 1 local/remote prefix): the dataplane's SPD
sends 10.2.0.0/24 into the SA without any route.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

from swanlab import OURS, THEIRS, run, vyatta_config

IKE = ('aes256', 'sha2_256', 14, None)
ESP = ('aes128gcm128', 'null')


class Appliance:
    """Moves the lab's side onto vpn-dataplane: the kernel address goes, the port map takes the
    veth, and a host namespace hangs off a second port."""

    def __init__(self, lab, workers=1):
        self.lab = lab
        self.channel = 'ix' + lab.id
        self.host_ns = 'pch-' + lab.id
        self.wan, self.lan = 'po' + lab.id, 'pl' + lab.id
        run(['ip', '-n', lab.ns_ours, 'addr', 'flush', 'dev', self.wan])
        run(['ip', 'netns', 'add', self.host_ns])
        run(['ip', '-n', self.host_ns, 'link', 'set', 'lo', 'up'])
        run(['ip', 'link', 'add', 'name', self.lan, 'netns', lab.ns_ours, 'type', 'veth', 'peer',
             'name', 'ph' + lab.id, 'netns', self.host_ns])
        for ns, dev in ((lab.ns_ours, self.lan), (self.host_ns, 'ph' + lab.id),
                        (lab.ns_ours, self.wan)):
            run(['ip', '-n', ns, 'link', 'set', dev, 'up'])
            run(['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tx', 'off', 'rx', 'off'],
                check=False)
        run(['ip', '-n', self.host_ns, 'addr', 'add', '10.1.0.10/24', 'dev', 'ph' + lab.id])
        run(['ip', '-n', self.host_ns, 'route', 'add', 'default', 'via', '10.1.0.1'])
        self.log = os.path.join(lab.dir, 'dataplane.log')
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', lab.ns_ours,
             os.path.join(lab.build, 'dataplane', 'vpn-dataplane'), '--no-huge', '-m', '512', '--',
             '--channel', self.channel, '--idle-sleep-us', '50', '--workers', str(workers),
             '--port', f'dp0p1=net_af_packet0,iface={self.wan}',
             '--port', f'dp0p2=net_af_packet1,iface={self.lan}'],
            stdout=open(self.log, 'w'), stderr=subprocess.STDOUT)
        lab.procs.insert(0, self.proc)  # stopped after vpnd
        deadline = time.time() + 30
        while 'vpn-dataplane: ready' not in open(self.log).read():
            assert self.proc.poll() is None and time.time() < deadline, open(self.log).read()
            time.sleep(0.1)

    def start_vpnd(self, config_text):
        cfg = os.path.join(self.lab.dir, 'vpnd.conf')
        with open(cfg, 'w') as f:
            f.write(config_text)
        p = subprocess.Popen(
            ['ip', 'netns', 'exec', self.lab.ns_ours,
             os.path.join(self.lab.build, 'control', 'vpnd'), '--config', cfg, '--transport',
             'channel', '--channel', self.channel, '--socket', self.lab.sock, '--log',
             self.lab.vpnd_log, '--foreground'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.lab.dir, 'vpnd.stderr'), 'w'))
        self.lab.procs.append(p)
        deadline = time.time() + 15
        while not os.path.exists(self.lab.sock):
            assert p.poll() is None and time.time() < deadline, \
                open(os.path.join(self.lab.dir, 'vpnd.stderr')).read()
            time.sleep(0.05)

    def dpctl(self, *args):
        return run([os.path.join(self.lab.build, 'dataplane', 'dpctl'), '--channel', self.channel,
                    *args]).stdout

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(['ip', 'netns', 'del', self.host_ns], capture_output=True)
        shutil.rmtree(f'/var/run/dpdk/portcullis-{self.channel}', ignore_errors=True)
        if os.path.exists(f'/dev/shm/portcullis-{self.channel}'):
            os.unlink(f'/dev/shm/portcullis-{self.channel}')


def test_appliance_against_strongswan_hosts_ping_across(lab):
    app = Appliance(lab)
    try:
        lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048')
        app.start_vpnd(vyatta_config(IKE, ESP) +
                       f'set interfaces dataplane dp0p1 address {OURS}/24\n'
                       'set interfaces dataplane dp0p2 address 10.1.0.1/24\n')
        lab.wait_for(lambda: 'INSTALLED' in lab.swanctl('--list-sas').stdout and
                     re.search(r'^    1\s+\d+\s+up\s',
                               lab.vpnctl('show', 'vpn', 'ipsec', 'sa').stdout, re.M),
                     timeout=30, what='CHILD SA up on both ends')
        assert 'remote host is behind NAT' in lab.vpnd_text()
        r = run(['ip', 'netns', 'exec', app.host_ns, 'ping', '-c', '5', '-i', '0.2', '-W', '2',
                 '10.2.0.1'], check=False, timeout=30)
        assert r.returncode == 0 and '5 received' in r.stdout, \
            r.stdout + app.dpctl('show', 'drops') + lab.vpnd_text()[-3000:]
        sas = [json.loads(line) for line in app.dpctl('show', 'sas', '--json').splitlines()]
        assert all(s['udp_encap'] == 1 for s in sas), sas
        assert {s['direction'] for s in sas} == {'in', 'out'}
        # The five echo requests out and their five replies in, nothing else.
        assert sorted((s['direction'], s['packets']) for s in sas) == [('in', 5), ('out', 5)], sas
        policies = app.dpctl('show', 'policies')
        assert 'out 10.1.0.0/24 -> 10.2.0.0/24' in policies and 'protect' in policies, policies
        stats = json.loads(app.dpctl('show', 'stats', '--json'))
        assert stats['punt_to_vpnd'] > 0 and stats['inject_from_vpnd'] > 0, stats
        # strongSwan counted the same packets in its SA: five in, five out.
        swan = lab.swanctl('--list-sas').stdout
        counted = dict(re.findall(r'^\s+(in|out)\s+[0-9a-f]{8}\b.*?,\s+(\d+) packets', swan,
                                  re.M))
        assert counted == {'in': '5', 'out': '5'}, swan
    finally:
        app.close()


def test_two_workers_route_based_get_one_child_sa_from_strongswan(lab):
    """With two dataplane workers vpnd offers SA_RESOURCE_INFO (RFC 9611) for a route-based
    tunnel; strongSwan 5.9.8 does not know the notify, ignores it as RFC 7296 asks and answers
    without it, so the tunnel gets one CHILD SA, as with one worker, and carries traffic."""
    app = Appliance(lab, workers=2)
    try:
        lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048')
        text = vyatta_config(IKE, ESP)
        p = 'set security vpn ipsec site-to-site peer %s ' % THEIRS
        text = '\n'.join(l for l in text.splitlines() if ' tunnel 1 ' not in l) + '\n' + '\n'.join([
            f'set interfaces dataplane dp0p1 address {OURS}/24',
            'set interfaces dataplane dp0p2 address 10.1.0.1/24',
            'set interfaces vti vti1 address 10.255.0.1/30',
            p + 'vti bind vti1',
            p + 'vti esp-group ESP',
            'set protocols static interface-route 10.2.0.0/24 next-hop-interface vti1',
        ]) + '\n'
        app.start_vpnd(text)
        lab.wait_for(lambda: 'INSTALLED' in lab.swanctl('--list-sas').stdout and
                     re.search(r'^    vti\s+\d+\s+up\s',
                               lab.vpnctl('show', 'vpn', 'ipsec', 'sa').stdout, re.M),
                     timeout=30, what='CHILD SA up on both ends')
        log = lab.vpnd_text()
        assert 'the dataplane runs 2 worker(s)' in log, log[-3000:]
        assert 'N(SA_RESOURCE_INFO)' in log, log[-3000:]
        assert 'the peer did not answer SA_RESOURCE_INFO' in log, log[-3000:]
        r = run(['ip', 'netns', 'exec', app.host_ns, 'ping', '-c', '5', '-i', '0.2', '-W', '2',
                 '10.2.0.1'], check=False, timeout=30)
        assert r.returncode == 0 and '5 received' in r.stdout, \
            r.stdout + app.dpctl('show', 'drops') + lab.vpnd_text()[-3000:]
        # One CHILD SA on each end, no group: one line, no member in the binding, SAs placed by
        # the dataplane (not named for a worker).
        shown = lab.vpnctl('show', 'vpn', 'ipsec', 'sa').stdout
        assert len(re.findall(r'^    vti', shown, re.M)) == 1 and 'vti/w' not in shown, shown
        swan = lab.swanctl('--list-sas').stdout
        assert swan.count('INSTALLED') == 1, swan
        sas = [json.loads(line) for line in app.dpctl('show', 'sas', '--json').splitlines()]
        assert len(sas) == 2 and all(s['worker_named'] == 0 for s in sas), sas
        vti = [json.loads(line) for line in app.dpctl('show', 'interfaces', '--json').splitlines()]
        assert 'out_members' not in next(i for i in vti if i['name'] == 'vti1'), vti
        time.sleep(0.5)
        assert 'TS_MAX_QUEUE' not in lab.vpnd_text()
    finally:
        app.close()
