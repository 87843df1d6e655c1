"""VRRP (#17) on the dataplane's main lcore, against parts we did not write.

- Packets: one appliance's advertisements (version 3 and 2), gratuitous ARP and ARP answers
  captured by tcpdump on the segment and decoded by scapy (checksums recomputed by scapy) and
  tshark; scapy's own advertisements make it step down, and bad ones (TTL, checksum, another
  interval) are counted and ignored.
- keepalived (Debian's) as the other router of a group, both ways.
- Failover: two appliances as a VRRP pair (`notify ipsec` on the WAN group) towards a third,
  a route-based tunnel from the pair's virtual address; the master's dataplane is killed, the
  backup takes over the addresses and starts IKE, traffic comes back. The gap is printed.
"""
import os
import re
import subprocess
import textwrap
import time

from scapy.all import ARP, IP, Ether, raw, rdpcap
from scapy.layers.vrrp import VRRP, VRRPv3

from portcullis_lab import ping, traffic_gap

VMAC = '00:00:5e:00:01:%02x'
HELPER = textwrap.dedent('''
    import sys, time
    from scapy.all import ARP, IP, Ether, sendp, srp, conf
    from scapy.layers.vrrp import VRRP, VRRPv3
    conf.verb = 0
    cmd, iface = sys.argv[1], sys.argv[2]
    if cmd == 'arp':
        ans, _ = srp(Ether(dst='ff:ff:ff:ff:ff:ff') / ARP(pdst=sys.argv[3], psrc='192.0.2.9',
                     hwsrc='02:00:00:00:00:09'), iface=iface, timeout=1, retry=2)
        print(' '.join(r.hwsrc for _, r in ans) or 'none')
    elif cmd == 'advert':
        # advert IFACE VRID PRIORITY SECONDS [ttl=N] [chksum=N] [v2interval=N]
        vrid, prio, seconds = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        opts = dict(a.split('=') for a in sys.argv[6:])
        ttl = int(opts.get('ttl', 255))
        if 'v2interval' in opts:
            v = VRRP(vrid=vrid, priority=prio, adv=int(opts['v2interval']),
                     addrlist=['192.0.2.101', '192.0.2.102'])
        else:
            v = VRRPv3(vrid=vrid, priority=prio, adv=50, addrlist=['192.0.2.100'])
        if 'chksum' in opts:
            v.chksum = int(opts['chksum'])
        p = (Ether(src='00:00:5e:00:01:%02x' % vrid, dst='01:00:5e:00:00:12') /
             IP(src='192.0.2.9', dst='224.0.0.18', ttl=ttl, proto=112) / v)
        end = time.time() + seconds
        while time.time() < end:
            sendp(p, iface=iface)
            time.sleep(0.1)
''')


def wait_for(what, check, timeout=20, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = check()
        if r:
            return r
        time.sleep(step)
    raise AssertionError(f'timed out waiting for {what}')


def vrrp_group(dp, name):
    return dp.show_json('vrrp').get(name)


def one_appliance(lab, extra=''):
    seg, da = lab.ns('sg'), lab.ns('da')
    lab.veth(seg, 'sg0', da, 'daw')
    conf = os.path.join(lab.workdir, 'vrrp.conf')
    with open(conf, 'w') as f:
        f.write(textwrap.dedent('''\
            set interfaces dataplane dp0p1s1 address 192.0.2.2/24
            set interfaces dataplane dp0p1s1 vrrp vrrp-group 7 virtual-address 192.0.2.100
            set interfaces dataplane dp0p1s1 vrrp vrrp-group 7 version 3
            set interfaces dataplane dp0p1s1 vrrp vrrp-group 7 fast-advertise-interval 500
            set interfaces dataplane dp0p1s1 vrrp vrrp-group 7 priority 150
            set interfaces dataplane dp0p1s1 vrrp vrrp-group 8 virtual-address 192.0.2.101
            set interfaces dataplane dp0p1s1 vrrp vrrp-group 8 virtual-address 192.0.2.102
            set interfaces dataplane dp0p1s1 vrrp vrrp-group 8 priority 120
            ''') + extra)
    dp = lab.dataplane(da, {'dp0p1s1': 'net_af_packet0,iface=daw'})
    vd = lab.vpnd(da, dp, conf, 'vrrp')
    helper = os.path.join(lab.workdir, 'vrrp_helper.py')
    with open(helper, 'w') as f:
        f.write(HELPER)
    return seg, da, dp, vd, helper


def helper_run(lab, seg, helper, *args, timeout=60):
    return lab.exec(seg, '/usr/bin/python3', helper, *args, timeout=timeout).stdout.strip()


def test_advertisements_decoded_by_scapy_and_tshark(lab):
    seg, da, dp, vd, helper = one_appliance(lab)
    pcap = os.path.join(lab.workdir, 'vrrp.pcap')
    cap, _ = lab.spawn(['ip', 'netns', 'exec', seg, 'tcpdump', '-U', '-n', '-i', 'sg0', '-w', pcap,
                        'vrrp or arp'], 'tcpdump-vrrp.log')
    # Group 7 (priority 150, 500 ms) is master after 3 * 0.5 s + skew; group 8 (version 2, 1 s)
    # after 3 s + skew.
    wait_for('both groups master', lambda: all(
        (vrrp_group(dp, f'dp0p1s1/{g}') or {}).get('state') == 'MASTER' for g in (7, 8)))
    time.sleep(2.5)
    cap.terminate()
    cap.wait(timeout=5)
    frames = rdpcap(pcap)
    v3 = [p for p in frames if VRRPv3 in p]
    v2 = [p for p in frames if VRRP in p]
    assert len(v3) >= 4 and len(v2) >= 2, (len(v3), len(v2))
    for p, vrid in [(v3[0], 7), (v2[0], 8)]:
        assert p[Ether].src == VMAC % vrid and p[Ether].dst == '01:00:5e:00:00:12', p.show(dump=True)
        assert p[IP].src == '192.0.2.2' and p[IP].dst == '224.0.0.18'
        assert p[IP].ttl == 255 and p[IP].proto == 112
    a = v3[0][VRRPv3]
    assert (a.version, a.type, a.vrid, a.priority, a.ipcount, a.adv) == (3, 1, 7, 150, 1, 50)
    assert a.addrlist == ['192.0.2.100']
    b = v2[0][VRRP]
    assert (b.version, b.type, b.vrid, b.priority, b.ipcount, b.authtype, b.adv) == \
        (2, 1, 8, 120, 2, 0, 1)
    assert b.addrlist == ['192.0.2.101', '192.0.2.102']
    # Checksums as scapy computes them (version 3 with the IPv4 pseudo-header, RFC 5798 5.2.8;
    # version 2 over the message only), and the IP header's.
    for p, layer in [(v3[0], VRRPv3), (v2[0], VRRP)]:
        q = Ether(raw(p))
        want = q[layer].chksum
        del q[layer].chksum
        del q[IP].chksum
        r = Ether(raw(q))
        assert r[layer].chksum == want, (layer, hex(want), hex(r[layer].chksum))
        assert r[IP].chksum == p[IP].chksum
    # Advertisements of group 7 every 500 ms (printed: the machine is shared).
    times = [float(p.time) for p in v3]
    gaps = [b - a for a, b in zip(times, times[1:])]
    print(f'\ngroup 7 advertisement period: median {sorted(gaps)[len(gaps) // 2]:.3f} s '
          '(configured 0.5 s)')
    # Gratuitous ARP for every virtual address from its virtual MAC.
    garps = {(p[ARP].psrc, p[Ether].src) for p in frames
             if ARP in p and p[ARP].psrc == p[ARP].pdst}
    assert {('192.0.2.100', VMAC % 7), ('192.0.2.101', VMAC % 8),
            ('192.0.2.102', VMAC % 8)} <= garps, garps
    # tshark's VRRP dissector agrees on the fields and finds the checksums good.
    t = subprocess.run(['tshark', '-r', pcap, '-Y', 'vrrp', '-o', 'vrrp.v3_checksum_as_in_v2:FALSE',
                        '-T', 'fields', '-e', 'vrrp.version', '-e', 'vrrp.virt_rtr_id',
                        '-e', 'vrrp.prio', '-e', 'vrrp.checksum.status'],
                       capture_output=True, text=True, timeout=60)
    rows = {tuple(l.split('\t')) for l in t.stdout.splitlines()}
    assert ('3', '7', '150', '1') in rows and ('2', '8', '120', '1') in rows, t.stdout + t.stderr
    # ARP for a virtual address is answered with the virtual MAC while master.
    assert helper_run(lab, seg, helper, 'arp', 'sg0', '192.0.2.100') == VMAC % 7
    assert helper_run(lab, seg, helper, 'arp', 'sg0', '192.0.2.102') == VMAC % 8
    log = vd.log()
    assert re.search(r'VRRP group 7 on dp0p1s1: BACKUP -> MASTER', log), log[-2000:]


def test_steps_down_for_scapy_master_and_counts_bad_adverts(lab):
    seg, da, dp, vd, helper = one_appliance(lab)
    wait_for('group 7 master', lambda: vrrp_group(dp, 'dp0p1s1/7')['state'] == 'MASTER')
    # Bad ones first: another TTL (routed), a wrong checksum, another version-2 interval. None
    # of them moves the group; each is counted.
    helper_run(lab, seg, helper, 'advert', 'sg0', '7', '200', '1', 'ttl=64')
    helper_run(lab, seg, helper, 'advert', 'sg0', '7', '200', '1', 'chksum=4660')
    helper_run(lab, seg, helper, 'advert', 'sg0', '8', '200', '1', 'v2interval=3')
    g = dp.show_json('vrrp')
    d = g['discarded']
    assert d['ttl'] >= 5 and d['checksum'] >= 5 and d['interval'] >= 5, d
    assert g['dp0p1s1/7']['state'] == 'MASTER' and g['dp0p1s1/8']['state'] == 'MASTER', g
    # A higher priority master (scapy, 192.0.2.9): group 7 steps down at once, gives up the
    # address (ARP no longer answered) and takes it back Master_Down_Interval after the
    # advertisements stop.
    adv = subprocess.Popen(['ip', 'netns', 'exec', seg, '/usr/bin/python3', helper, 'advert',
                            'sg0', '7', '200', '4'])
    try:
        wait_for('group 7 backup', lambda: vrrp_group(dp, 'dp0p1s1/7')['state'] == 'BACKUP',
                 timeout=5)
        g = vrrp_group(dp, 'dp0p1s1/7')
        assert g['master'] == '192.0.2.9' and g['master_priority'] == 200, g
        assert helper_run(lab, seg, helper, 'arp', 'sg0', '192.0.2.100') == 'none'
        assert helper_run(lab, seg, helper, 'arp', 'sg0', '192.0.2.101') == VMAC % 8
    finally:
        adv.wait(timeout=30)
    wait_for('group 7 master again', lambda: vrrp_group(dp, 'dp0p1s1/7')['state'] == 'MASTER',
             timeout=10)
    log = vd.log()
    assert 'VRRP group 7 on dp0p1s1: MASTER -> BACKUP' in log, log[-2000:]


KEEPALIVED = """
global_defs {{
  router_id portcullis-test
  script_user root
  enable_script_security
}}
vrrp_instance V7 {{
  state BACKUP
  interface sg0
  virtual_router_id 7
  version 3
  priority {prio7}
  advert_int 0.5
  virtual_ipaddress {{
    192.0.2.100/24
  }}
  notify {notify}
}}
vrrp_instance V8 {{
  state BACKUP
  interface sg0
  virtual_router_id 8
  version 2
  priority {prio8}
  advert_int 1
  virtual_ipaddress {{
    192.0.2.101/24
    192.0.2.102/24
  }}
  notify {notify}
}}
"""


class Keepalived:
    """Debian's keepalived in the segment's namespace as the other router of groups 7 and 8."""

    def __init__(self, lab, ns, prio7, prio8, tag):
        self.lab, self.ns = lab, ns
        d = lab.workdir
        self.states = os.path.join(d, f'keepalived-{tag}.states')
        notify = os.path.join(d, f'keepalived-{tag}-notify.sh')
        with open(notify, 'w') as f:
            f.write(f'#!/bin/sh\necho "$2 $3" >> {self.states}\n')
        os.chmod(notify, 0o755)
        conf = os.path.join(d, f'keepalived-{tag}.conf')
        with open(conf, 'w') as f:
            f.write(KEEPALIVED.format(prio7=prio7, prio8=prio8, notify=notify))
        self.proc, self.log = lab.spawn(
            ['ip', 'netns', 'exec', ns, 'keepalived', '--dont-fork', '--log-console',
             '--log-detail', '--vrrp', '--use-file', conf,
             '--pid', os.path.join(d, f'ka-{tag}.pid'),
             '--vrrp_pid', os.path.join(d, f'ka-{tag}-vrrp.pid')], f'keepalived-{tag}.log')

    def state(self, instance):
        """keepalived's last state of instance V7/V8 as its notify script heard it."""
        if not os.path.exists(self.states):
            return None
        lines = [l.split() for l in open(self.states).read().splitlines()]
        last = [l[1] for l in lines if l and l[0] == instance]
        return last[-1] if last else None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)


def test_keepalived_as_the_other_router(lab):
    """keepalived (priority 200) takes both groups from the appliance (150 and 120), which
    steps down, gives up the addresses and sees keepalived's address as master; keepalived
    stopped (it resigns with priority 0): the appliance is master again at once. keepalived
    started again with priorities 100 stays backup under the appliance's advertisements."""
    seg, da, dp, vd, helper = one_appliance(lab)
    lab.exec(seg, 'ip', 'addr', 'add', '192.0.2.9/24', 'dev', 'sg0')
    wait_for('both groups master', lambda: all(
        (vrrp_group(dp, f'dp0p1s1/{g}') or {}).get('state') == 'MASTER' for g in (7, 8)))
    ka = Keepalived(lab, seg, 200, 200, 'high')
    try:
        wait_for('keepalived master of both', lambda: ka.state('V7') == 'MASTER' and
                 ka.state('V8') == 'MASTER', timeout=20)
        wait_for('the appliance backup in both', lambda: all(
            vrrp_group(dp, f'dp0p1s1/{g}')['state'] == 'BACKUP' for g in (7, 8)), timeout=10)
        g = dp.show_json('vrrp')
        for name in ('dp0p1s1/7', 'dp0p1s1/8'):
            assert g[name]['master'] == '192.0.2.9' and g[name]['master_priority'] == 200, g
        # keepalived's advertisements pass every check (none discarded for checksum or length).
        d = g['discarded']
        assert d['checksum'] == 0 and d['length'] == 0 and d['version'] == 0, d
        assert g['dp0p1s1/7']['adverts_in'] > 0 and g['dp0p1s1/8']['adverts_in'] > 0, g
        # keepalived's group 7 learned nothing else: it stayed master while ours is backup.
        time.sleep(1.5)
        assert ka.state('V7') == 'MASTER' and ka.state('V8') == 'MASTER'
        stopped = time.time()
        ka.stop()
        wait_for('the appliance master again', lambda: all(
            vrrp_group(dp, f'dp0p1s1/{g}')['state'] == 'MASTER' for g in (7, 8)), timeout=10)
        took = time.time() - stopped
        print(f'\nkeepalived stopped: the appliance master of both groups {took:.2f} s later '
              '(priority 0 from keepalived: the skew time, not three intervals)')
    finally:
        if ka.proc.poll() is None:
            ka.stop()
    low = Keepalived(lab, seg, 100, 100, 'low')
    try:
        wait_for('keepalived backup', lambda: low.state('V7') == 'BACKUP' and
                 low.state('V8') == 'BACKUP', timeout=20)
        time.sleep(4)  # three of keepalived's version-2 intervals and more
        assert low.state('V7') == 'BACKUP' and low.state('V8') == 'BACKUP', \
            open(low.log).read()[-3000:]
        assert all(vrrp_group(dp, f'dp0p1s1/{g}')['state'] == 'MASTER' for g in (7, 8))
    finally:
        low.stop()


PAIR_VPN = '''\
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE proposal 1 dh-group 19
set security vpn ipsec ike-group IKE proposal 1 encryption aes256
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128
set security vpn ipsec esp-group ESP proposal 1 hash null
set security vpn ipsec site-to-site peer {peer} authentication id {me}
set security vpn ipsec site-to-site peer {peer} authentication remote-id {peer}
set security vpn ipsec site-to-site peer {peer} authentication mode pre-shared-secret
set security vpn ipsec site-to-site peer {peer} authentication pre-shared-secret 'vrrp-pair-psk-2026'
set security vpn ipsec site-to-site peer {peer} ike-group IKE
set security vpn ipsec site-to-site peer {peer} local-address {me}
set security vpn ipsec site-to-site peer {peer} vti bind vti0
set security vpn ipsec site-to-site peer {peer} vti esp-group ESP
set interfaces vti vti0 address {vti}/30
set protocols static interface-route {remote_lan} next-hop-interface vti0
'''
VIP, PEER = '198.51.100.10', '198.51.100.20'


class VrrpPair:
    """Two appliances (a1 priority 200, a2 priority 100) share a WAN bridge with a peer
    appliance and a LAN bridge with a host; VRRP group 10 holds the WAN's virtual address (the
    tunnel's local-address, `notify ipsec`), group 20 the LAN's gateway 10.1.0.1.

        host 10.1.0.10 -- [lan bridge] -- a1/a2 -- [wan bridge] -- peer -- host 10.2.0.10
    """

    def __init__(self, lab, extra=''):
        self.lab = lab
        self.wsw, self.lsw = lab.ns('ws'), lab.ns('ls')
        for ns in (self.wsw, self.lsw):
            lab.exec(ns, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
            lab.exec(ns, 'ip', 'link', 'set', 'br0', 'up')
        self.hl, self.hp = lab.ns('hl'), lab.ns('hp')
        self.n = {name: lab.ns(name) for name in ('a1', 'a2', 'pp')}
        for name in ('a1', 'a2', 'pp'):
            lab.veth(self.wsw, f'w{name}', self.n[name], 'wan')
            lab.exec(self.wsw, 'ip', 'link', 'set', f'w{name}', 'master', 'br0')
        for name in ('a1', 'a2'):
            lab.veth(self.lsw, f'l{name}', self.n[name], 'lan')
            lab.exec(self.lsw, 'ip', 'link', 'set', f'l{name}', 'master', 'br0')
        lab.veth(self.lsw, 'lhl', self.hl, 'eth0')
        lab.exec(self.lsw, 'ip', 'link', 'set', 'lhl', 'master', 'br0')
        lab.veth(self.hp, 'eth0', self.n['pp'], 'lan')
        lab.host(self.hl, 'eth0', '10.1.0.10/24', '10.1.0.1')
        lab.host(self.hp, 'eth0', '10.2.0.10/24', '10.2.0.1')
        self.dp, self.vpnd = {}, {}
        for name, wan, lan, prio in (('a1', '198.51.100.11', '10.1.0.2', 200),
                                     ('a2', '198.51.100.12', '10.1.0.3', 100)):
            text = (f'set interfaces dataplane dp0p1s1 address {wan}/24\n'
                    f'set interfaces dataplane dp0p1s1 vrrp vrrp-group 10 virtual-address {VIP}\n'
                    f'set interfaces dataplane dp0p1s1 vrrp vrrp-group 10 priority {prio}\n'
                    'set interfaces dataplane dp0p1s1 vrrp vrrp-group 10 notify ipsec\n'
                    f'set interfaces dataplane dp0p2s1 address {lan}/24\n'
                    'set interfaces dataplane dp0p2s1 vrrp vrrp-group 20 virtual-address 10.1.0.1\n'
                    f'set interfaces dataplane dp0p2s1 vrrp vrrp-group 20 priority {prio}\n' +
                    PAIR_VPN.format(peer=PEER, me=VIP, vti='172.16.0.1',
                                    remote_lan='10.2.0.0/24') + extra)
            self.start(name, text)
        text = (f'set interfaces dataplane dp0p1s1 address {PEER}/24\n'
                'set interfaces dataplane dp0p2s1 address 10.2.0.1/24\n' +
                PAIR_VPN.format(peer=VIP, me=PEER, vti='172.16.0.2', remote_lan='10.1.0.0/24') +
                f'set security vpn ipsec site-to-site peer {VIP} connection-type respond\n')
        self.start('pp', text)

    def start(self, name, text):
        path = os.path.join(self.lab.workdir, f'{name}.conf')
        with open(path, 'w') as f:
            f.write(text)
        self.dp[name] = self.lab.dataplane(self.n[name], {'dp0p1s1': 'net_af_packet0,iface=wan',
                                                          'dp0p2s1': 'net_af_packet1,iface=lan'})
        self.vpnd[name] = self.lab.vpnd(self.n[name], self.dp[name], path, name)

    def state(self, name, group):
        return (vrrp_group(self.dp[name], f'dp0p{1 if group == 10 else 2}s1/{group}') or
                {}).get('state')

    def tunnel_up(self, name):
        out = self.vpnd[name].vpnctl('show', 'vpn', 'ipsec', 'sa', check=False).stdout
        return re.search(r'^    vti\s+\d+\s+up\s', out, re.M) is not None

    def logs(self):
        return '\n'.join(f'--- {n} ---\n' + v.log()[-2500:] for n, v in self.vpnd.items())


def test_failover_of_the_master_dataplane_brings_the_tunnel_back(lab):
    s = VrrpPair(lab)
    wait_for('a1 master of both groups, a2 backup', lambda: (
        s.state('a1', 10) == 'MASTER' and s.state('a1', 20) == 'MASTER' and
        s.state('a2', 10) == 'BACKUP' and s.state('a2', 20) == 'BACKUP'), timeout=30)
    wait_for('the tunnel from the virtual address', lambda: s.tunnel_up('a1') and
             s.tunnel_up('pp'), timeout=45)
    ok, out = ping(lab, s.hl, '10.2.0.10', count=5)
    assert ok, out + s.logs()
    # The backup does not run IKE for the virtual address (notify ipsec).
    assert not s.tunnel_up('a2')
    assert 'notify ipsec' not in s.vpnd['a2'].log() or \
        'stopping IKE' in s.vpnd['a2'].log() or 'waits until' in s.vpnd['a2'].log()
    assert 'IKE waits until the group is master here' in s.vpnd['a2'].log(), s.logs()
    # The peer reached the pair through the virtual MAC.
    neigh = s.dp['pp'].show_json('neighbors')
    assert any(VIP in n and VMAC % 10 in n.lower() for n in neigh), neigh

    def kill_master():
        s.dp['a1'].proc.kill()
        s.dp['a1'].proc.wait(timeout=10)

    gap, sent, replies = traffic_gap(lab, s.hl, '10.2.0.10', kill_master, interval=0.05,
                                     settle=25.0)
    print(f'\nVRRP failover (master dataplane killed): traffic gap {gap:.2f} s '
          f'({sent} pings every 50 ms, {replies} answered after the kill; target: < 5 s)')
    assert replies > 0, f'traffic did not come back\n{s.logs()}'
    assert s.state('a2', 10) == 'MASTER' and s.state('a2', 20) == 'MASTER'
    assert s.tunnel_up('a2'), s.logs()
    log = s.vpnd['a2'].log()
    assert 'VRRP group 10 on dp0p1s1: BACKUP -> MASTER' in log, log[-3000:]
    assert 'notify ipsec: starting IKE for peer 198.51.100.20' in log, log[-3000:]
    # `show vrrp`, Vyatta's layout.
    show = s.vpnd['a2'].vpnctl('show', 'vrrp').stdout
    assert re.search(r'^Interface\s+Group\s+State\s+Compliant\s+Owner\s+Transition\s+Group$',
                     show, re.M), show
    assert re.search(r'^dp0p1s1\s+10\s+MASTER\s+yes\s+no\s+\d+s\s+<none>$', show, re.M), show
    assert re.search(r'^dp0p2s1\s+20\s+MASTER\s', show, re.M), show
    import json
    rows = json.loads(s.vpnd['a2'].vpnctl('show', 'vrrp', '--json').stdout)
    assert {(r['interface'], r['group'], r['state']) for r in rows} == \
        {('dp0p1s1', 10, 'MASTER'), ('dp0p2s1', 20, 'MASTER')}, rows
    ok, out = ping(lab, s.hl, '10.2.0.10', count=3)
    assert ok, out


def test_vpnd_restart_on_the_master_resumes_the_vip_tunnel(lab):
    """kill -9 of the master's vpnd: the restarted vpnd resumes the tunnel from the virtual
    address (its group is reported MASTER only after the restart's commit), not refused as a
    peer held back for notify ipsec."""
    s = VrrpPair(lab)
    wait_for('a1 master', lambda: s.state('a1', 10) == 'MASTER' and s.state('a1', 20) == 'MASTER',
             timeout=30)
    wait_for('the tunnel', lambda: s.tunnel_up('a1') and s.tunnel_up('pp'), timeout=45)
    v = s.vpnd['a1']
    v.proc.kill()
    v.proc.wait(timeout=10)
    os.unlink(v.sock)
    s.vpnd['a1'] = lab.vpnd(s.n['a1'], s.dp['a1'], os.path.join(lab.workdir, 'a1.conf'),
                            'a1-again')
    wait_for('resumed', lambda: 'resumed after the restart' in s.vpnd['a1'].log(), timeout=20)
    log = s.vpnd['a1'].log()
    assert 'stopping IKE for peer' not in log, log[-3000:]
    ok, out = ping(lab, s.hl, '10.2.0.10', count=3)
    assert ok, out + s.logs()
    # The peer kept its IKE SA: no new one was negotiated.
    assert s.vpnd['pp'].log().count('IKE_SA peer-198.51.100.10[') == 1 or \
        'INITIAL_CONTACT' not in s.vpnd['pp'].log(), s.vpnd['pp'].log()[-3000:]
