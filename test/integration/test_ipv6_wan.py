"""Two appliances over an IPv6-only WAN (#21's proof): vpn-dataplane + vpnd each, Vyatta
configurations, a route-based tunnel (VTI, selectors of both families from its routes) between
IPv6 outer addresses, and hosts with IPv4 and IPv6 LANs.

    hw 10.1.0.10 2001:db8:1::10 -- dp0p1s1 [west] dp0p1s2 2001:db8:a::1 -- router --
        2001:db8:b::1 dp0p1s2 [east] dp0p1s1 -- he 10.2.0.10 2001:db8:2::10

The WAN (the appliances' WAN ports and the router) has no IPv4 address at all. Checked: ping
and ping6 both ways, iperf3 TCP over IPv4 and over IPv6 through the tunnel (rates printed; data
flows, no drop beyond path MTU discovery's), and tshark on the router's link sees only ESP over
IPv6, IKE and neighbour discovery: nothing of the LANs in the clear, no IPv4.
"""
import json
import pathlib
import time

from portcullis_lab import sh

PSK = 'v6-only-wan-west-east-2026'


def v6_veth(lab, ns_a, if_a, ns_b, if_b):
    """A veth pair whose first end has IPv6 on (no DAD delay); the second is a dataplane's port,
    where the namespace's kernel keeps IPv6 off (its own neighbour discovery would be noise)."""
    sh('ip', 'link', 'add', if_a, 'netns', ns_a, 'type', 'veth', 'peer', 'name', if_b,
       'netns', ns_b)
    for ns, ifname, v6 in ((ns_a, if_a, True), (ns_b, if_b, False)):
        lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.accept_dad=0')
        lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.disable_ipv6={0 if v6 else 1}')
        lab.exec(ns, 'ip', 'link', 'set', ifname, 'up')
        lab.exec(ns, 'ethtool', '-K', ifname, 'tx', 'off', 'rx', 'off', check=False)


def config(lan4, lan6, wan6, gw6, peer6, remote4, remote6):
    p = f'set security vpn ipsec site-to-site peer {peer6} '
    return f'''configure
set interfaces dataplane dp0p1s1 address {lan4}
set interfaces dataplane dp0p1s1 address {lan6}
set interfaces dataplane dp0p1s2 address {wan6}
set interfaces vti vti0
set protocols static route6 ::/0 next-hop {gw6}
set protocols static interface-route {remote4} next-hop-interface vti0
set protocols static interface-route6 {remote6} next-hop-interface vti0
set security vpn ike make-before-break
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE proposal 1 dh-group 14
set security vpn ipsec ike-group IKE proposal 1 encryption aes256
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128
set security vpn ipsec esp-group ESP proposal 1 hash null
{p}authentication mode pre-shared-secret
{p}authentication pre-shared-secret '{PSK}'
{p}ike-group IKE
{p}local-address {wan6.split('/')[0]}
{p}vti bind vti0
{p}vti esp-group ESP
commit
'''


class V6WanPair:
    def __init__(self, lab):
        self.lab = lab
        hw, dw, rt, de, he = (lab.ns(n) for n in ('vw', 'vd', 'vr', 've', 'vh'))
        self.hw, self.dw, self.rt, self.de, self.he = hw, dw, rt, de, he
        v6_veth(lab, hw, 'hw0', dw, 'dwl')
        v6_veth(lab, rt, 'rw0', dw, 'dww')
        v6_veth(lab, rt, 're0', de, 'dew')
        v6_veth(lab, he, 'he0', de, 'del')
        for ns, ifname, a4, gw4, a6, gw6 in (
                (hw, 'hw0', '10.1.0.10/24', '10.1.0.1', '2001:db8:1::10/64', '2001:db8:1::1'),
                (he, 'he0', '10.2.0.10/24', '10.2.0.1', '2001:db8:2::10/64', '2001:db8:2::1')):
            lab.exec(ns, 'ip', 'addr', 'add', a4, 'dev', ifname)
            lab.exec(ns, 'ip', 'route', 'add', 'default', 'via', gw4)
            lab.exec(ns, 'ip', '-6', 'addr', 'add', a6, 'dev', ifname, 'nodad')
            lab.exec(ns, 'ip', '-6', 'route', 'add', 'default', 'via', gw6)
        # The router: IPv6 only.
        lab.exec(rt, 'ip', '-6', 'addr', 'add', '2001:db8:a::254/64', 'dev', 'rw0', 'nodad')
        lab.exec(rt, 'ip', '-6', 'addr', 'add', '2001:db8:b::254/64', 'dev', 're0', 'nodad')
        lab.exec(rt, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1')
        work = pathlib.Path(lab.workdir)
        (work / 'west.conf').write_text(config('10.1.0.1/24', '2001:db8:1::1/64',
                                               '2001:db8:a::1/64', '2001:db8:a::254',
                                               '2001:db8:b::1', '10.2.0.0/24', '2001:db8:2::/64'))
        (work / 'east.conf').write_text(config('10.2.0.1/24', '2001:db8:2::1/64',
                                               '2001:db8:b::1/64', '2001:db8:b::254',
                                               '2001:db8:a::1', '10.1.0.0/24', '2001:db8:1::/64'))
        self.west = lab.dataplane(dw, {'dp0p1s1': 'net_af_packet0,iface=dwl',
                                       'dp0p1s2': 'net_af_packet1,iface=dww'})
        self.east = lab.dataplane(de, {'dp0p1s1': 'net_af_packet0,iface=del',
                                       'dp0p1s2': 'net_af_packet1,iface=dew'})
        self.vw = lab.vpnd(dw, self.west, str(work / 'west.conf'), 'west')
        self.ve = lab.vpnd(de, self.east, str(work / 'east.conf'), 'east')


def ping(lab, ns, dst, v6, count=3, timeout=2):
    r = lab.exec(ns, 'ping', '-6' if v6 else '-4', '-n', '-c', str(count), '-i', '0.2', '-W',
                 str(timeout), dst, check=False, timeout=count * 3 + 10)
    return r.returncode == 0, r.stdout


def wait_ping(lab, ns, dst, v6, seconds=60):
    deadline = time.time() + seconds
    out = ''
    while time.time() < deadline:
        ok, out = ping(lab, ns, dst, v6, count=1, timeout=1)
        if ok:
            return True, out
        time.sleep(0.3)
    return False, out


def iperf(lab, client_ns, server_ns, server_ip, seconds=4):
    server, _ = lab.spawn(['ip', 'netns', 'exec', server_ns, 'iperf3', '-s', '-1', '-B',
                           server_ip], f'iperf3-{server_ns}-{server_ip}.log')
    time.sleep(0.5)
    r = lab.exec(client_ns, 'iperf3', '-c', server_ip, '-t', str(seconds), '--connect-timeout',
                 '3000', '-J', check=False, timeout=seconds + 30)
    server.wait(timeout=10)
    return json.loads(r.stdout)


def capture(lab, ns, ifname, bpf, seconds, count=None):
    """tshark on ifname for `seconds` (or `count` packets); returns a waiter for its lines
    (ip.src, ipv6.src, ipv6.nxt, udp.dstport, icmpv6.type)."""
    extra = ['-c', str(count)] if count else []
    proc, log = lab.spawn(['ip', 'netns', 'exec', ns, 'tshark', '-l', '-n', '-i', ifname, '-f',
                           bpf, '-a', f'duration:{seconds}', *extra, '-T', 'fields', '-e',
                           'ip.src', '-e', 'ipv6.src', '-e', 'ipv6.nxt', '-e', 'udp.dstport',
                           '-e', 'icmpv6.type'], f'tshark-{ifname}-{len(bpf)}.txt')

    def wait():
        proc.wait(timeout=seconds + 30)
        return [(line.split('\t') + [''] * 5)[:5] for line in open(log).read().splitlines()
                if '\t' in line]
    return wait


def drops(dp):
    return {k: v for k, v in dp.drops().items() if v}


def kernel_rx(lab, ns, ifname):
    """Frames the kernel received on a veth (each goes to the dataplane's packet socket)."""
    return json.loads(lab.exec(ns, 'ip', '-s', '-j', 'link', 'show', ifname).stdout)[0][
        'stats64']['rx']['packets']


def port_rx(s):
    """Per dataplane port: (kernel rx of its veth, ipackets, imissed)."""
    out = {}
    for name, ns, dp, veths in (('west', s.dw, s.west, ('dwl', 'dww')),
                                ('east', s.de, s.east, ('del', 'dew'))):
        ports = dp.show_json('ports')
        for port, veth in zip(('dp0p1s1', 'dp0p1s2'), veths):
            out[f'{name} {port}'] = (kernel_rx(s.lab, ns, veth), ports[port]['ipackets'],
                                     ports[port]['imissed'])
    return out


def test_two_appliances_over_an_ipv6_only_wan(lab):
    s = V6WanPair(lab)
    for ns, dst, v6 in ((s.hw, '10.2.0.10', False), (s.hw, '2001:db8:2::10', True)):
        ok, out = wait_ping(lab, ns, dst, v6)
        assert ok, (dst, out, s.vw.log()[-4000:], drops(s.west))
    sa = s.vw.vpnctl('show', 'vpn', 'ipsec', 'sa').stdout
    print(sa)
    assert '2001:db8:b::1' in sa, sa
    # Everything crossing the WAN from here on, but ESP; and the first ESP packets.
    others = capture(lab, s.rt, 'rw0', 'not ip6 proto 50', 40)
    esp = capture(lab, s.rt, 'rw0', 'ip6 proto 50', 40, count=20)
    time.sleep(2)  # tshark needs a moment before it captures
    before = {'west': drops(s.west), 'east': drops(s.east)}
    rx_before = port_rx(s)
    for ns, dst, v6 in ((s.hw, '10.2.0.10', False), (s.hw, '2001:db8:2::10', True),
                        (s.he, '10.1.0.10', False), (s.he, '2001:db8:1::10', True)):
        ok, out = ping(lab, ns, dst, v6, count=5)
        assert ok and '5 received' in out, out
    rates = {}
    for name, client, server, ip in (('IPv4 west->east', s.hw, s.he, '10.2.0.10'),
                                     ('IPv6 west->east', s.hw, s.he, '2001:db8:2::10'),
                                     ('IPv6 east->west', s.he, s.hw, '2001:db8:1::10')):
        r = iperf(lab, client, server, ip)
        assert 'error' not in r, (name, r.get('error'))
        end = r['end']
        rates[name] = (end['sum_sent']['bits_per_second'] / 1e6,
                       end['sum_received']['bits_per_second'] / 1e6,
                       end['sum_sent'].get('retransmits', 0))
        assert end['sum_received']['bytes'] > 1_000_000, (name, end['sum_received'])
    print('iperf3 TCP through the IPv6-outer VTI (Mbit/s sent, received, retransmits):')
    for name, (sent, recv, retr) in rates.items():
        print(f'  {name:18} {sent:8.1f} {recv:8.1f} {retr:6}')
    after = {'west': drops(s.west), 'east': drops(s.east)}
    # No packet of the traffic lost: the only drops are path MTU discovery's (too big for the
    # tunnel, answered to the sender) and link chatter not for the appliance (the kernel hosts'
    # neighbour discovery about other addresses, multicast, frames to other MACs).
    allowed = {'fragmentation_needed', 'nd_ignored', 'ipv6_multicast', 'l2_other_host',
               'arp_ignored'}
    for side in ('west', 'east'):
        grown = {k: v - before[side].get(k, 0) for k, v in after[side].items()
                 if v != before[side].get(k, 0)}
        print(f'{side} drops during the traffic: {grown}')
        assert set(grown) <= allowed, (side, grown)
    esp_pkts, other_pkts = esp(), others()
    assert len(esp_pkts) == 20, esp_pkts
    assert all(p[1] in ('2001:db8:a::1', '2001:db8:b::1') and p[2] == '50' for p in esp_pkts), \
        esp_pkts
    # No IPv4 at all, and of IPv6 only IKE (UDP 500/4500) and neighbour discovery.
    assert not [p for p in other_pkts if p[0]], other_pkts[:10]
    unexpected = [p for p in other_pkts
                  if not (p[2] == '17' and p[3] in ('500', '4500')) and
                  not (p[2] == '58' and p[4] in ('133', '134', '135', '136', '143'))]
    assert not unexpected, unexpected[:10]
    # The tunnel's SAs carried it all, in both directions, and dropped nothing.
    for dp in (s.west, s.east):
        sas = dp.show_json('sas')
        assert {x['direction'] for x in sas if x['packets'] > 1000} == {'in', 'out'}, sas
        assert not [x for x in sas if any(x['drops'].values())], sas
    # Every frame the kernel handed a port's packet socket was received or counted missed.
    # iperf3's retransmits are these misses: the decrypting side's af_packet receive ring
    # (512 frames by default) overflows when its worker falls behind TCP's bursts (with
    # framecnt=4096 the same runs retransmit 14 segments, all path MTU discovery's). DPDK
    # 22.11's af_packet PMD never counted them; the dataplane adds the sockets' own counts.
    rx_after = port_rx(s)
    print('frames per port during the traffic (kernel rx, received, missed):')
    for port, (k1, i1, m1) in rx_after.items():
        k0, i0, m0 = rx_before[port]
        print(f'  {port:14} {k1 - k0:9} {i1 - i0:9} {m1 - m0:7}')
        # A few frames of slack: the two counters are read a moment apart (ND, IKE).
        assert abs((k1 - k0) - (i1 - i0) - (m1 - m0)) <= 5, (port, rx_before[port], rx_after[port])
