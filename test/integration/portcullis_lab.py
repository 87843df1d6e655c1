"""Network-namespace labs for the integration tests: hosts, veths and vpn-dataplane processes.

Everything a Lab creates has a per-lab random prefix, and Lab.close() (run by the fixture even
when a test fails) kills its processes, waits for them, deletes its namespaces and removes any
shared-memory or DPDK runtime files its dataplanes left.
"""
import glob
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import time

PY = '/usr/bin/python3'


def sh(*cmd, check=True, timeout=60, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed ({r.returncode}): {r.stdout}{r.stderr}')
    return r


class Dataplane:
    def __init__(self, lab, ns, channel, log, proc):
        self.lab, self.ns, self.channel, self.log, self.proc = lab, ns, channel, log, proc

    def dpctl(self, *args, check=True):
        return sh(self.lab.dpctl_bin, '--channel', self.channel, *args, check=check)

    def batch(self, text):
        return sh(self.lab.dpctl_bin, '--channel', self.channel, 'batch', '-', input=text)

    def show_json(self, *what):
        import json
        out = self.dpctl('show', *what, '--json').stdout.strip()
        return [json.loads(line) for line in out.splitlines()] if what[0] in ('interfaces', 'sas') \
            else json.loads(out)

    def sa(self, spi, direction):
        return self.show_json('sa', f'{spi:08x}/{direction}')

    def interface(self, name):
        return self.show_json('interface', name)

    def drops(self):
        return self.show_json('stats')['drops']

    def stop(self, timeout=15):
        """SIGTERM and wait: the dataplane stops its ports, which flushes net_pcap tx files."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        assert rc == 0, f'vpn-dataplane exited {rc}:\n{open(self.log).read()}'


class Vpnd:
    """vpnd on the dataplane channel of an appliance, with its own vpnctl socket and log."""

    def __init__(self, lab, ns, channel, config_path, name, binary=None, extra_args=()):
        self.lab, self.ns, self.name = lab, ns, name
        self.sock = os.path.join(lab.workdir, f'{name}-vpnd.sock')
        self.logfile = os.path.join(lab.workdir, f'{name}-vpnd.log')
        self.proc, self.stderr = lab.spawn(
            ['ip', 'netns', 'exec', ns, binary or os.path.join(lab.build, 'control', 'vpnd'),
             '--config', config_path, '--transport', 'channel', '--channel', channel, '--socket',
             self.sock, '--log', self.logfile, '--foreground', *extra_args],
            f'{name}-vpnd.stderr')
        deadline = time.time() + 15
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f'vpnd {name} did not start:\n{self.log()}\n'
                                   f'{open(self.stderr).read()}')
            time.sleep(0.05)

    def vpnctl(self, *args, check=True):
        return sh(os.path.join(self.lab.build, 'control', 'vpnctl'), '--socket', self.sock, *args,
                  check=check)

    def log(self):
        return open(self.logfile).read() if os.path.exists(self.logfile) else ''


class Lab:
    def __init__(self, build_root, workdir):
        self.id = secrets.token_hex(2)
        self.build = str(build_root)
        self.dataplane_bin = os.path.join(self.build, 'dataplane', 'vpn-dataplane')
        self.dpctl_bin = os.path.join(self.build, 'dataplane', 'dpctl')
        self.workdir = str(workdir)
        self.namespaces = []
        self.procs = []
        self.channels = []

    # --- topology ------------------------------------------------------------------------
    def ns(self, short):
        name = f'pc{self.id}{short}'
        sh('ip', 'netns', 'add', name)
        self.namespaces.append(name)
        self.exec(name, 'ip', 'link', 'set', 'lo', 'up')
        return name

    def exec(self, ns, *cmd, check=True, timeout=60, **kw):
        return sh('ip', 'netns', 'exec', ns, *cmd, check=check, timeout=timeout, **kw)

    def veth(self, ns_a, if_a, ns_b, if_b):
        sh('ip', 'link', 'add', if_a, 'netns', ns_a, 'type', 'veth', 'peer', 'name', if_b,
           'netns', ns_b)
        for ns, ifname in ((ns_a, if_a), (ns_b, if_b)):
            self.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.disable_ipv6=1')
            self.exec(ns, 'ip', 'link', 'set', ifname, 'up')
            # Kernel hosts must hand the dataplane finished checksums (no TX offload on veth).
            self.exec(ns, 'ethtool', '-K', ifname, 'tx', 'off', 'rx', 'off', check=False)

    def host(self, ns, ifname, address, gateway):
        self.exec(ns, 'ip', 'addr', 'add', address, 'dev', ifname)
        self.exec(ns, 'ip', 'route', 'add', 'default', 'via', gateway)

    # --- processes -----------------------------------------------------------------------
    def dataplane(self, ns, ports, channel=None, workers=1, extra_eal=(), binary=None,
                  extra_args=()):
        """`binary`: another build's vpn-dataplane (A/B tests); the lab's own by default."""
        channel = channel or f'{self.id}{len(self.channels)}'
        self.channels.append(channel)
        log = os.path.join(self.workdir, f'dataplane-{channel}.log')
        # ns=None runs in the test's own namespace (net_pcap and net_ring ports need none).
        cmd = (['ip', 'netns', 'exec', ns] if ns else []) + [
            binary or self.dataplane_bin, '--no-huge', '-m', '512', *extra_eal, '--',
            '--channel', channel, '--workers', str(workers), '--idle-sleep-us', '50', *extra_args]
        for name, dev in ports.items():
            cmd += ['--port', f'{name}={dev}']
        proc = subprocess.Popen(cmd, stdout=open(log, 'w'), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        deadline = time.time() + 30
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f'vpn-dataplane exited ({proc.returncode}):\n{open(log).read()}')
            if 'vpn-dataplane: ready' in open(log).read():
                return Dataplane(self, ns, channel, log, proc)
            time.sleep(0.1)
        raise RuntimeError(f'vpn-dataplane did not become ready:\n{open(log).read()}')

    def vpnd(self, ns, dataplane, config_path, name, binary=None, extra_args=()):
        """`binary`: another build's vpnd (A/B tests); the lab's own by default."""
        return Vpnd(self, ns, dataplane.channel, config_path, name, binary, extra_args)

    def spawn(self, cmd, log_name):
        log = os.path.join(self.workdir, log_name)
        proc = subprocess.Popen(cmd, stdout=open(log, 'w'), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc, log

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for ns in reversed(self.namespaces):
            sh('ip', 'netns', 'del', ns, check=False)
        for ch in self.channels:
            for f in glob.glob(f'/dev/shm/portcullis-{ch}'):
                os.unlink(f)
            shutil.rmtree(f'/var/run/dpdk/portcullis-{ch}', ignore_errors=True)


def wait_ping(lab, ns, dst, seconds=30):
    """Whether a ping gets through within `seconds` (one at a time)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        ok, _ = ping(lab, ns, dst, count=1, timeout=1)
        if ok:
            return True
    return False


def ping(lab, ns, dst, count=3, interval='0.2', timeout=2):
    r = lab.exec(ns, 'ping', '-c', str(count), '-i', interval, '-W', str(timeout), dst,
                 check=False, timeout=count * 3 + 10)
    return r.returncode == 0, r.stdout


def traffic_gap(lab, ns, dst, action, interval=0.02, settle=4.0):
    """Pings `dst` from `ns` every `interval` s while `action()` runs (and `settle` s after it).
    Returns (the longest time without a reply from the action on, in s; requests sent; replies
    after the action): the traffic gap the action caused, to print (never to assert as a time:
    the machine is shared). Silence at the end of the run counts (traffic that never came back
    is a gap as long as the run); no reply at all after the action is an infinite gap."""
    proc = subprocess.Popen(['ip', 'netns', 'exec', ns, 'ping', '-D', '-n', '-i', str(interval),
                             '-W', '1', dst], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        time.sleep(1.0)
        start = time.time()
        action()
        time.sleep(settle)
        end = time.time()
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=10)[0]
    stamps = [float(m.group(1)) for m in re.finditer(r'^\[(\d+\.\d+)\] \d+ bytes from', out, re.M)]
    sent = re.search(r'(\d+) packets transmitted', out)
    after = [t for t in stamps if t >= start]
    if not after:
        return float('inf'), int(sent.group(1)) if sent else 0, 0
    last_before = max([t for t in stamps if t < start], default=start)
    points = [last_before] + after + [end]
    gap = max(b - a for a, b in zip(points, points[1:]))
    return gap, int(sent.group(1)) if sent else 0, len(after)


class TwoSites:
    """west-lan host -- [west dataplane] == wan == [east dataplane] -- east-lan host.

    Addresses as in docs/LAB.md (strongSwan as the peer): LANs 10.1.0.0/24 and 10.2.0.0/24,
    WAN 192.0.2.0/24, VTIs 172.16.0.1/30 and .2/30.
    """

    K_WE = '00112233445566778899aabbccddeeff'
    K_EW = 'ffeeddccbbaa99887766554433221100'

    def __init__(self, lab, cipher='aes-gcm-128', encap=False, wrong_key=False, workers=1,
                 policy=False, bond=False, bond_mode='lacp lacp-rate fast', links='veth',
                 wan_vlan=0):
        self.lab = lab
        self.bond = bond
        self.bond_mode = bond_mode
        # wan_vlan: the WAN address (and so the ESP) on VLAN vif wan.<N> of the WAN port or
        # bond, as the seed's dp0bond0.1750.
        self.wan_vlan = wan_vlan
        self.hw, self.dw, self.de, self.he = lab.ns('hw'), lab.ns('dw'), lab.ns('de'), lab.ns('he')
        lab.veth(self.hw, 'hw0', self.dw, 'dwl')
        lab.veth(self.de, 'del', self.he, 'he0')
        lab.host(self.hw, 'hw0', '10.1.0.10/24', '10.1.0.1')
        lab.host(self.he, 'he0', '10.2.0.10/24', '10.2.0.1')
        if bond:
            # The WAN is an LACP bond of two links on each side (both ends are DPDK bonds: the
            # kernel here has no bonding driver to be the partner).
            lab.veth(self.dw, 'dww1', self.de, 'dew1')
            lab.veth(self.dw, 'dww2', self.de, 'dew2')
            # The bond itself is configuration (configure() below), built at commit.
            # links='tap': each member is a TAP port wired to its veth (frame_relay.py), because
            # af_packet reports every link as up and active-backup fails over on link state;
            # taking a TAP down (ip link set dwt1 down) is a link its port sees fail.
            def ports(lan, w1, w2, t):
                if links == 'tap':
                    return {'lan': f'net_af_packet0,iface={lan}',
                            'wan1': f'net_tap1,iface={t}t1', 'wan2': f'net_tap2,iface={t}t2'}
                return {'lan': f'net_af_packet0,iface={lan}',
                        'wan1': f'net_af_packet1,iface={w1}',
                        'wan2': f'net_af_packet2,iface={w2}'}
            self.west = lab.dataplane(self.dw, ports('dwl', 'dww1', 'dww2', 'dw'),
                                      workers=workers)
            self.east = lab.dataplane(self.de, ports('del', 'dew1', 'dew2', 'de'),
                                      workers=workers)
            if links == 'tap':
                relay = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'frame_relay.py')
                for ns, side in ((self.dw, 'dw'), (self.de, 'de')):
                    for n in ('1', '2'):
                        lab.spawn(['ip', 'netns', 'exec', ns, PY, relay, f'{side}t{n}',
                                   f'{side}w{n}'], f'relay-{side}{n}.log')
        else:
            lab.veth(self.dw, 'dww', self.de, 'dew')
            self.west = lab.dataplane(self.dw, {'lan': 'net_af_packet0,iface=dwl',
                                                'wan': 'net_af_packet1,iface=dww'},
                                      workers=workers)
            self.east = lab.dataplane(self.de, {'lan': 'net_af_packet0,iface=del',
                                                'wan': 'net_af_packet1,iface=dew'},
                                      workers=workers)
        self.cipher = cipher
        self.policy = policy
        self.batches = {}
        self.batches['west'] = self.configure(self.west, '10.1.0.1/24', '192.0.2.1', '192.0.2.2', '172.16.0.1/30',
                       '10.2.0.0/24', 0x1001, 0x2001, self.K_WE, self.K_EW, encap)
        self.batches['east'] = self.configure(self.east, '10.2.0.1/24', '192.0.2.2', '192.0.2.1', '172.16.0.2/30',
                       '10.1.0.0/24', 0x2001, 0x1001, self.K_EW,
                       self.K_WE[:-2] + 'ee' if wrong_key else self.K_WE, encap)

    def sa_args(self, key):
        if self.cipher.startswith('aes-gcm'):
            k = key * (2 if self.cipher == 'aes-gcm-256' else 1)
            return f'cipher {self.cipher} key {k} salt {key[:8]}'
        k = key * (2 if self.cipher == 'aes-cbc-256' else 1)
        return f'cipher {self.cipher} key {k} auth hmac-sha256-128 authkey {key * 2}'

    def configure(self, dp, lan, local, remote, vti, remote_lan, out_spi, in_spi, out_key,
                  in_key, encap):
        enc = ' encap 4500 4500' if encap else ''
        local_lan = lan.split('/')[0].rsplit('.', 1)[0] + '.0/24'
        if self.bond:
            # A primary names a member: the bond is added first, told its primary after them.
            mode, _, primary = self.bond_mode.partition(' primary ')
            wan = (f'interface add wan kind bond mode {mode}\n'
                   'interface add wan1 kind port bond wan\n'
                   'interface add wan2 kind port bond wan')
            if primary:
                wan += f'\ninterface update wan kind bond mode {mode} primary {primary}'
        else:
            wan = 'interface add wan kind port'
        wan_if = 'wan'
        if self.wan_vlan:
            wan_if = f'wan.{self.wan_vlan}'
            wan += f'\ninterface add {wan_if} kind vif parent wan vlan {self.wan_vlan}'
        if self.policy:
            # Policy-based: no VTI and no route; the SPD sends the remote LAN into the tunnel.
            text = f'''
interface add lan kind port
{wan}
address add lan {lan}
address add {wan_if} {local}/24
sa add spi {out_spi:#x} dir out local {local} remote {remote} {self.sa_args(out_key)}{enc} reqid 1
sa add spi {in_spi:#x} dir in local {local} remote {remote} {self.sa_args(in_key)}{enc} reqid 1
policy add out src {local_lan} dst {remote_lan} protect reqid 1 spi {out_spi:#x}
policy add in src {remote_lan} dst {local_lan} protect reqid 1
'''
        else:
            text = f'''
interface add lan kind port
{wan}
interface add vti0 kind vti
address add lan {lan}
address add {wan_if} {local}/24
address add vti0 {vti}
route add {remote_lan} dev vti0
sa add spi {out_spi:#x} dir out local {local} remote {remote} {self.sa_args(out_key)}{enc} vti vti0
sa add spi {in_spi:#x} dir in local {local} remote {remote} {self.sa_args(in_key)}{enc} vti vti0
bind vti0 {out_spi:#x}
'''
        dp.batch(text)
        return text


WEST_PUBLIC, EAST_PUBLIC = '169.50.194.197', '159.8.98.213'
WEST_HOST, EAST_HOST = '10.165.125.120', '10.127.132.130'


def appliance_config(source_root, workdir, name):
    text = (pathlib.Path(source_root) / 'configs' / f'vyatta-{name}.conf').read_text()
    text = text.replace('mode lacp', 'mode active-backup')
    # Vyatta requires a primary for active-backup; the dataplane builds the bonds with it.
    text += ('set interfaces bonding dp0bond0 primary dp0p1s1\n'
             'set interfaces bonding dp0bond1 primary dp0p1s2\n')
    path = pathlib.Path(workdir) / f'{name}.conf'
    path.write_text(text)
    return str(path)


def ports(lan1, lan2, wan1, wan2):
    return {
        'dp0p1s1': f'net_af_packet0,iface={lan1}',
        'dp0p2s1': f'net_af_packet1,iface={lan2}',
        'dp0p1s2': f'net_af_packet2,iface={wan1}',
        'dp0p2s2': f'net_af_packet3,iface={wan2}',
    }  # dp0bond0 and dp0bond1 are the configurations' (bond-group members), built at commit


class SeedPair:
    """The seed's route-based pair, configs/vyatta-west.conf and vyatta-east.conf, on two
    appliances (vpn-dataplane + vpnd each) with the seed's own addresses: a kernel router
    between their public /29s (the configs' default gateways), a host on each private network,
    every bond member on its own veth.

        host 10.165.125.120 -- dp0bond0 [west] dp0bond1 169.50.194.197 -- router --
            159.8.98.213 dp0bond1 [east] dp0bond0 -- host 10.127.132.130

    The only change to the configurations: both bonds run active-backup (with the primary
    Vyatta then requires) instead of LACP, because their partners here are kernel namespaces
    without a bonding driver (LACP itself is tested between two dataplanes).
    """

    def __init__(self, lab, source_root, configs=None, vpnd_args=()):
        """configs: {'west': path, 'east': path} instead of appliance_config's; vpnd_args: more
        arguments for both vpnds."""
        self.lab = lab
        configs = configs or {n: appliance_config(source_root, lab.workdir, n)
                              for n in ('west', 'east')}
        hw, dw, rt, de, he = (lab.ns(n) for n in ('hw', 'dw', 'rt', 'de', 'he'))
        self.hw, self.dw, self.rt, self.de, self.he = hw, dw, rt, de, he
        # Each bond member has its own link; the second one of each bond stands by.
        lab.veth(hw, 'hw0', dw, 'dwl1')
        lab.veth(hw, 'hw1', dw, 'dwl2')
        lab.veth(rt, 'rw1', dw, 'dww1')
        lab.veth(rt, 'rw2', dw, 'dww2')
        lab.veth(rt, 're1', de, 'dew1')
        lab.veth(rt, 're2', de, 'dew2')
        lab.veth(he, 'he0', de, 'del1')
        lab.veth(he, 'he1', de, 'del2')
        lab.host(hw, 'hw0', '10.165.125.120/28', '10.165.125.113')
        lab.host(he, 'he0', '10.127.132.130/26', '10.127.132.129')
        # The internet between them: each public /29's gateway (the configs' default routes).
        lab.exec(rt, 'ip', 'addr', 'add', '169.50.194.193/29', 'dev', 'rw1')
        lab.exec(rt, 'ip', 'addr', 'add', '159.8.98.209/29', 'dev', 're1')
        lab.exec(rt, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
        self.west = lab.dataplane(dw, ports('dwl1', 'dwl2', 'dww1', 'dww2'))
        self.east = lab.dataplane(de, ports('del1', 'del2', 'dew1', 'dew2'))
        self.vw = lab.vpnd(dw, self.west, configs['west'], 'west', extra_args=vpnd_args)
        self.ve = lab.vpnd(de, self.east, configs['east'], 'east', extra_args=vpnd_args)

    def wait_up(self, timeout=45):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(re.search(r'^    vti\s+\d+\s+up\s', v.vpnctl('show', 'vpn', 'ipsec', 'sa',
                                                               check=False).stdout, re.M)
                   for v in (self.vw, self.ve)):
                return
            time.sleep(0.25)
        raise AssertionError('tunnel did not come up\n--- west ---\n' + self.vw.log()[-4000:] +
                             '\n--- east ---\n' + self.ve.log()[-4000:])


class SitePair:
    """The VyOS guide's policy-based pair, configs/vyos-site-a.conf and vyos-site-b.conf, on two
    appliances (vpn-dataplane + vpnd each) with the guide's addresses: ports eth0 (WAN) and eth1
    (LAN) as the configurations name them, a kernel router between the two WANs (the configs'
    default gateways) and a host on each LAN. The configurations are used as they are.

        host 10.1.0.10 -- eth1 [site A] eth0 203.0.113.1 -- router --
            198.51.100.1 eth0 [site B] eth1 -- host 10.2.0.10
    """

    def __init__(self, lab, source_root, workers=1, vpnd_a_args=(), edit=None, start_a=True,
                 before_vpnd=None):
        """workers: each dataplane's; vpnd_a_args: more arguments for site A's vpnd; edit:
        {'a'|'b': function(config text) -> text} changes a copy before vpnd loads it; start_a:
        False leaves site A's namespace (self.da, ports daw = eth0, dal = eth1) without
        processes, for an appliance run another way (test_systemd_boot.py); before_vpnd:
        function(self) called once the dataplanes run, before either vpnd starts."""
        self.lab = lab
        ha, da, rt, db, hb = (lab.ns(n) for n in ('ha', 'da', 'rr', 'db', 'hb'))
        self.ha, self.da, self.rt, self.db, self.hb = ha, da, rt, db, hb
        lab.veth(ha, 'ha0', da, 'dal')
        lab.veth(rt, 'ra0', da, 'daw')
        lab.veth(rt, 'rb0', db, 'dbw')
        lab.veth(hb, 'hb0', db, 'dbl')
        lab.host(ha, 'ha0', '10.1.0.10/24', '10.1.0.1')
        lab.host(hb, 'hb0', '10.2.0.10/24', '10.2.0.1')
        lab.exec(rt, 'ip', 'addr', 'add', '203.0.113.254/24', 'dev', 'ra0')
        lab.exec(rt, 'ip', 'addr', 'add', '198.51.100.254/24', 'dev', 'rb0')
        lab.exec(rt, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
        # Copies: vpnd keeps its archive beside the file it loads.
        conf = pathlib.Path(lab.workdir)
        for site, name in (('a', 'vyos-site-a.conf'), ('b', 'vyos-site-b.conf')):
            shutil.copy(pathlib.Path(source_root) / 'configs' / name, conf / name)
            if edit and site in edit:
                changed = edit[site]((conf / name).read_text())
                assert changed != (conf / name).read_text(), f'edit of {name} changed nothing'
                (conf / name).write_text(changed)
        self.config_a = str(conf / 'vyos-site-a.conf')
        if start_a:
            self.a = lab.dataplane(da, {'eth0': 'net_af_packet0,iface=daw',
                                        'eth1': 'net_af_packet1,iface=dal'}, workers=workers)
        self.b = lab.dataplane(db, {'eth0': 'net_af_packet0,iface=dbw',
                                    'eth1': 'net_af_packet1,iface=dbl'}, workers=workers)
        if before_vpnd is not None:
            before_vpnd(self)
        if start_a:
            self.va = lab.vpnd(da, self.a, self.config_a, 'site-a', extra_args=vpnd_a_args)
        self.vb = lab.vpnd(db, self.b, str(conf / 'vyos-site-b.conf'), 'site-b')

    def wait_up(self, timeout=45):
        """Until both sides show their CHILD SA (tunnel 1) up."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(re.search(r'^\s+1\s+\d+\s+up\s', v.vpnctl('show', 'vpn', 'ipsec', 'sa',
                                                      check=False).stdout, re.M)
                   for v in (self.va, self.vb)):
                return
            time.sleep(0.25)
        raise AssertionError('tunnel did not come up\n--- site A ---\n' + self.va.log()[-4000:] +
                             '\n--- site B ---\n' + self.vb.log()[-4000:] + '\n' +
                             self.va.vpnctl('show', 'vpn', 'ipsec', 'sa', check=False).stdout)


def flow_order(lab, src_ns, dst_ns, port, flows, count, pps, dst='10.2.0.10'):
    """`flows` UDP flows of `count` numbered datagrams each at `pps`, from src_ns to dst:port in
    dst_ns (flow_order.py on both ends); returns the receiver's report (what arrived, in which
    order per flow). Asserts that the sender sent them all."""
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, 'flow_order.py')
    recv, recv_log = lab.spawn(['ip', 'netns', 'exec', dst_ns, PY, script, 'recv', str(port),
                                str(flows), str(count), '3'], 'flow-recv.log')
    deadline = time.time() + 10
    while 'listening' not in open(recv_log).read():
        assert time.time() < deadline and recv.poll() is None, open(recv_log).read()
        time.sleep(0.05)
    sent = lab.exec(src_ns, PY, script, 'send', dst, str(port), str(flows), str(count), str(pps),
                    timeout=120).stdout
    assert json.loads(sent)['sent'] == flows * count, sent
    recv.wait(timeout=60)
    return json.loads(open(recv_log).read().strip().splitlines()[-1])
