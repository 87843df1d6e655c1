"""IPv6 selectors in policy-based tunnels (#21): the VyOS guide's site pair (SitePair, two
appliances, vpn-dataplane + vpnd each) with IPv6 LANs and IPv6 prefixes in its tunnels.

- IPv4 outer, IPv6 inner: tunnel 2 of the guide's peer carries 2001:db8:1::/64 <-> 2001:db8:2::/64
  beside tunnel 1's IPv4 prefixes; ping6 both ways, ping still works.
- IPv6 outer: a second peer over the WANs' IPv6 addresses carries 2001:db8:11::/64 <->
  2001:db8:12::/64 (IPv6 in IPv6) and 10.11.0.0/24 <-> 10.12.0.0/24 (IPv4 in IPv6).
Each dataplane's policy table (dpctl policies) shows the IPv6 policies with their SAs; what
crosses the WAN is ESP (tshark on the router), and nothing of the LANs in the clear. Neither
site has a route to the other's LAN prefixes (their default routes lead to a router without
any): only the policies take the traffic into the tunnels.
"""
import re
import time

from portcullis_lab import SitePair, ping

TUNNEL2 = {
    'a': ("set vpn ipsec site-to-site peer SITE-B tunnel 2 local prefix '2001:db8:1::/64'\n"
          "set vpn ipsec site-to-site peer SITE-B tunnel 2 remote prefix '2001:db8:2::/64'\n"
          "set interfaces ethernet eth1 address '2001:db8:1::1/64'\n"),
    'b': ("set vpn ipsec site-to-site peer SITE-A tunnel 2 local prefix '2001:db8:2::/64'\n"
          "set vpn ipsec site-to-site peer SITE-A tunnel 2 remote prefix '2001:db8:1::/64'\n"
          "set interfaces ethernet eth1 address '2001:db8:2::1/64'\n"),
}


def peer6(name, local, remote, lid, rid, tunnels):
    """A second peer (VyOS dialect) over IPv6 outer addresses, the guide's groups and key."""
    p = f'set vpn ipsec site-to-site peer {name} '
    lines = [
        f"authentication local-id '{lid}'", "authentication mode 'pre-shared-secret'",
        "authentication pre-shared-secret 'YourVeryStrongPSKHere123!'",
        f"authentication remote-id '{rid}'", "connection-type 'initiate'",
        f"local-address '{local}'", f"remote-address '{remote}'",
    ]
    for n, (lp, rp) in enumerate(tunnels, 1):
        lines += [f"tunnel {n} local prefix '{lp}'", f"tunnel {n} remote prefix '{rp}'"]
    return ''.join(p + line + '\n' for line in lines)


def add(site, extra):
    def edit(text):
        return text.replace('\ncommit', '\n' + extra + 'commit')
    return edit


def no_firewall(edit):
    # The guide's WAN-LOCAL is an ipv4 ruleset (`family ipv4`): IPv6 passes it as on VyOS. It
    # is left out all the same, so this test judges the SPD alone.
    def f(text):
        return re.sub(r'^set firewall .*\n', '', edit(text), flags=re.M)
    return f


def enable_v6(lab, ns, ifname, addrs, gw=None):
    lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.accept_dad=0')
    lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.disable_ipv6=0')
    for a in addrs:
        lab.exec(ns, 'ip', '-6', 'addr', 'add', a, 'dev', ifname, 'nodad')
    if gw:
        lab.exec(ns, 'ip', '-6', 'route', 'add', 'default', 'via', gw)


def ping6(lab, ns, dst, src=None, count=3, timeout=2):
    args = ['ping', '-6', '-n', '-c', str(count), '-i', '0.2', '-W', str(timeout)]
    if src:
        args += ['-I', src]
    r = lab.exec(ns, *args, dst, check=False, timeout=count * 3 + 10)
    return r.returncode == 0, r.stdout


def wait_ping6(lab, ns, dst, src=None, seconds=45):
    deadline = time.time() + seconds
    out = ''
    while time.time() < deadline:
        ok, out = ping6(lab, ns, dst, src, count=1, timeout=1)
        if ok:
            return True, out
        time.sleep(0.3)
    return False, out


def policies(dp):
    return dp.show_json('policies')


def has_policy(pols, direction, src, dst):
    return any(p.startswith(f'{direction} {src} -> {dst} protect') and
               ('spi' in p or direction == 'in') for p in pols)


def capture(lab, ns, ifname, seconds):
    """tshark on the router's link for `seconds`, in the background: returns a waiter for its
    lines (`ip.src ipv6.src ip.proto ipv6.nxt`)."""
    proc, log = lab.spawn(['ip', 'netns', 'exec', ns, 'tshark', '-l', '-n', '-i', ifname, '-a',
                           f'duration:{seconds}', '-T', 'fields', '-e', 'ip.src', '-e', 'ipv6.src',
                           '-e', 'ip.proto', '-e', 'ipv6.nxt', '-e', 'icmpv6.type'],
                          f'tshark-{ifname}.txt')
    time.sleep(2)  # tshark needs a moment before it captures

    def wait():
        proc.wait(timeout=seconds + 30)
        # tshark's own messages (stderr, same log) have no tabs.
        return [(line.split('\t') + [''] * 5)[:5] for line in open(log).read().splitlines()
                if '\t' in line]
    return wait


def test_ipv6_prefixes_through_the_ipv4_outer_site_pair(lab, source_root):
    s = SitePair(lab, source_root, edit={'a': add('a', TUNNEL2['a']),
                                         'b': add('b', TUNNEL2['b'])})
    enable_v6(lab, s.ha, 'ha0', ['2001:db8:1::10/64'], '2001:db8:1::1')
    enable_v6(lab, s.hb, 'hb0', ['2001:db8:2::10/64'], '2001:db8:2::1')
    s.wait_up()
    # No commit warning about IPv6 selectors any more: they take effect.
    assert 'IPv6 traffic selectors' not in s.va.log(), s.va.log()[-3000:]
    ok, out = wait_ping6(lab, s.ha, '2001:db8:2::10')
    assert ok, (out, s.va.log()[-3000:], s.a.drops(), policies(s.a))
    wait = capture(lab, s.rt, 'ra0', 6)
    ok, out = ping6(lab, s.ha, '2001:db8:2::10', count=5)
    assert ok and '5 received' in out, out
    ok, out = ping6(lab, s.hb, '2001:db8:1::10', count=5)
    assert ok and '5 received' in out, out
    ok, out = ping(lab, s.ha, '10.2.0.10', count=3)
    assert ok, out
    pkts = wait()
    # Between the sites only IPv4 ESP (protocol 50) and IKE: no IPv6 and no ICMP in the clear.
    assert pkts, 'tshark saw nothing'
    assert all(p[1] == '' for p in pkts), pkts[:10]
    assert sum(1 for p in pkts if p[2] == '50') >= 20, pkts[:20]
    # (ARP has no IP fields.)
    other = [p for p in pkts if p[2] not in ('50', '17') and any(p)]
    assert not other, other[:20]
    for dp, src, dst in ((s.a, '2001:db8:1::', '2001:db8:2::'), (s.b, '2001:db8:2::',
                                                                  '2001:db8:1::')):
        pols = policies(dp)
        assert has_policy(pols, 'out', src + '/64', dst + '/64'), pols
        assert has_policy(pols, 'in', dst + '/64', src + '/64'), pols
    assert s.a.drops().get('policy_mismatch', 0) == 0, s.a.drops()
    assert s.b.drops().get('policy_mismatch', 0) == 0, s.b.drops()


def test_ipv6_and_ipv4_prefixes_over_an_ipv6_outer_peer(lab, source_root):
    a_extra = TUNNEL2['a'] + (
        "set interfaces ethernet eth0 address '2001:db8:a::1/64'\n"
        "set interfaces ethernet eth1 address '2001:db8:11::1/64'\n"
        "set interfaces ethernet eth1 address '10.11.0.1/24'\n"
        "set protocols static route6 ::/0 next-hop '2001:db8:a::254'\n" +
        peer6('SITE-B6', '2001:db8:a::1', '2001:db8:b::1', 'site-a6@example.com',
              'site-b6@example.com', [('2001:db8:11::/64', '2001:db8:12::/64'),
                                      ('10.11.0.0/24', '10.12.0.0/24')]) +
        "set vpn ipsec site-to-site peer SITE-B6 default-esp-group 'ESP-SITE-B'\n"
        "set vpn ipsec site-to-site peer SITE-B6 ike-group 'IKE-SITE-B'\n")
    b_extra = TUNNEL2['b'] + (
        "set interfaces ethernet eth0 address '2001:db8:b::1/64'\n"
        "set interfaces ethernet eth1 address '2001:db8:12::1/64'\n"
        "set interfaces ethernet eth1 address '10.12.0.1/24'\n"
        "set protocols static route6 ::/0 next-hop '2001:db8:b::254'\n" +
        peer6('SITE-A6', '2001:db8:b::1', '2001:db8:a::1', 'site-b6@example.com',
              'site-a6@example.com', [('2001:db8:12::/64', '2001:db8:11::/64'),
                                      ('10.12.0.0/24', '10.11.0.0/24')]) +
        "set vpn ipsec site-to-site peer SITE-A6 default-esp-group 'ESP-SITE-A'\n"
        "set vpn ipsec site-to-site peer SITE-A6 ike-group 'IKE-SITE-A'\n")
    s = SitePair(lab, source_root, edit={'a': no_firewall(add('a', a_extra)),
                                         'b': no_firewall(add('b', b_extra))})
    enable_v6(lab, s.rt, 'ra0', ['2001:db8:a::254/64'])
    enable_v6(lab, s.rt, 'rb0', ['2001:db8:b::254/64'])
    lab.exec(s.rt, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1')
    enable_v6(lab, s.ha, 'ha0', ['2001:db8:1::10/64', '2001:db8:11::10/64'], '2001:db8:1::1')
    enable_v6(lab, s.hb, 'hb0', ['2001:db8:2::10/64', '2001:db8:12::10/64'], '2001:db8:2::1')
    lab.exec(s.ha, 'ip', 'addr', 'add', '10.11.0.10/24', 'dev', 'ha0')
    lab.exec(s.hb, 'ip', 'addr', 'add', '10.12.0.10/24', 'dev', 'hb0')
    ok, out = wait_ping6(lab, s.ha, '2001:db8:12::10', src='2001:db8:11::10', seconds=60)
    assert ok, (out, s.va.log()[-4000:], s.a.drops(), policies(s.a))
    wait = capture(lab, s.rt, 'ra0', 8)
    # IPv6 in IPv6, both ways.
    ok, out = ping6(lab, s.ha, '2001:db8:12::10', src='2001:db8:11::10', count=5)
    assert ok and '5 received' in out, out
    ok, out = ping6(lab, s.hb, '2001:db8:11::10', src='2001:db8:12::10', count=5)
    assert ok and '5 received' in out, out
    # IPv4 in IPv6.
    r = lab.exec(s.ha, 'ping', '-n', '-c', '5', '-i', '0.2', '-W', '2', '-I', '10.11.0.10',
                 '10.12.0.10', check=False, timeout=30)
    assert r.returncode == 0 and '5 received' in r.stdout, (r.stdout, s.a.drops())
    # IPv6 in IPv4 beside it (the guide's peer, tunnel 2).
    ok, out = wait_ping6(lab, s.ha, '2001:db8:2::10', src='2001:db8:1::10')
    assert ok, out
    pkts = wait()
    esp6 = [p for p in pkts if p[1].startswith('2001:db8:') and p[3] == '50']
    assert len(esp6) >= 30, pkts[:20]
    # Nothing of the LANs in the clear: every IPv6 packet on the WAN is ESP, IKE (UDP) or ND.
    clear6 = [p for p in pkts if p[1] and p[3] not in ('50', '17') and
              p[4] not in ('133', '134', '135', '136', '143')]
    assert not clear6, clear6[:10]
    assert all(p[2] in ('', '50', '17') for p in pkts), pkts[:20]
    pols = policies(s.a)
    assert has_policy(pols, 'out', '2001:db8:11::/64', '2001:db8:12::/64'), pols
    assert has_policy(pols, 'out', '10.11.0.0/24', '10.12.0.0/24'), pols
    assert has_policy(pols, 'out', '2001:db8:1::/64', '2001:db8:2::/64'), pols
    for dp in (s.a, s.b):
        d = dp.drops()
        assert d.get('policy_mismatch', 0) == 0 and d.get('policy_cleartext', 0) == 0, d
