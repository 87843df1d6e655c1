"""The firewall against something we did not write: one ruleset, written for vpn-dataplane (dpctl)
and for Linux nftables, and a few thousand packets generated with scapy sent through both — the
dataplane on veths in one namespace, a kernel router with the nft ruleset in another — and the
packets each let through compared one by one. Also what `dpctl show firewall` says about them."""
import ipaddress
import random
import time

import pytest
from scapy.all import (GRE, ICMP, IP, TCP, UDP, Ether, ICMPv6DestUnreach, ICMPv6EchoReply,
                       ICMPv6EchoRequest, ICMPv6PacketTooBig, ICMPv6TimeExceeded, IPv6,
                       IPv6ExtHdrDestOpt, Raw, rdpcap, wrpcap)

from portcullis_lab import PY, sh

# (number, action, matches): protocol number or range, address ranges, ports, ICMP type/code.
RULES = [
    (10, 'drop', dict(proto=6, dport=(22, 22))),
    (20, 'accept', dict(proto=6, src=('10.1.0.0', '10.1.0.127'), dport=(1000, 2000))),
    (30, 'accept', dict(proto=17, dst=('198.51.100.0', '198.51.100.63'), sport=(53, 53))),
    (40, 'drop', dict(proto=17, dport=(5000, 6000))),
    (50, 'accept', dict(proto=17, src=('10.1.0.100', '10.1.0.250'))),
    (60, 'accept', dict(proto=1, icmp_type=(8, 8))),
    (70, 'accept', dict(proto=1, icmp_type=(3, 3), icmp_code=(0, 4))),
    (80, 'accept', dict(proto=47, src=('10.1.0.64', '10.1.0.200'))),
    (90, 'accept', dict(proto=(100, 120))),
    (100, 'drop', dict(dst=('198.51.100.128', '198.51.100.255'))),
    (110, 'accept', dict(proto=6, sport=(1, 1023))),
    (120, 'accept', dict(proto=6, dst=('198.51.100.10', '198.51.100.90'), dport=(80, 443))),
]


def dpctl_rule(n, action, m, family=4):
    words = [f'fw rule add 1 {n} action {action}'] + (['family 6'] if family == 6 else [])
    if 'proto' in m:
        p = m['proto']
        words.append(f'proto {p[0]}-{p[1]}' if isinstance(p, tuple) else f'proto {p}')
    for k in ('src', 'dst'):
        if k in m:
            words.append(f'{k} {m[k][0]}-{m[k][1]}')
    for k, w in (('sport', 'sport'), ('dport', 'dport'), ('icmp_type', 'icmp-type'),
                 ('icmp_code', 'icmp-code')):
        if k in m:
            words.append(f'{w} {m[k][0]}-{m[k][1]}')
    return ' '.join(words)


def nft_rule(action, m, family=4):
    words = []
    p = m.get('proto')
    names = {6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6'}
    # IPv6: the upper layer past any extension headers, as the dataplane walks them.
    proto = 'ip protocol' if family == 4 else 'meta l4proto'
    ip = 'ip' if family == 4 else 'ip6'
    if isinstance(p, tuple):
        words.append(f'{proto} {p[0]}-{p[1]}')
    elif p is not None:
        words.append(f'{proto} {p}')
    for k, f in (('src', 'saddr'), ('dst', 'daddr')):
        if k in m:
            words.append(f'{ip} {f} {m[k][0]}-{m[k][1]}')
    for k, f in (('sport', 'sport'), ('dport', 'dport')):
        if k in m:
            words.append(f'{names[p]} {f} {m[k][0]}-{m[k][1]}')
    icmp = 'icmp' if family == 4 else 'icmpv6'
    if 'icmp_type' in m:
        words.append(f'{icmp} type {m["icmp_type"][0]}-{m["icmp_type"][1]}')
    if 'icmp_code' in m:
        words.append(f'{icmp} code {m["icmp_code"][0]}-{m["icmp_code"][1]}')
    return ' '.join(words + [action])


def corpus(n, seed=16):
    """n packets from the LAN to 198.51.100.0/24, numbered by their IP id."""
    rnd = random.Random(seed)
    ports = [0, 1, 22, 53, 80, 443, 444, 999, 1000, 1500, 2000, 2001, 1023, 1024, 4999, 5000,
             6000, 6001, 65535]
    out = []
    for i in range(n):
        src = f'10.1.0.{rnd.randrange(2, 255)}'
        dst = f'198.51.100.{rnd.randrange(1, 255)}'
        ip = IP(src=src, dst=dst, id=i, ttl=64)
        kind = rnd.random()
        port = lambda: rnd.choice(ports) if rnd.random() < 0.7 else rnd.randrange(65536)
        if kind < 0.35:
            pkt = ip / TCP(sport=port(), dport=port(), flags=rnd.choice(['S', 'A', 'SA', 'PA',
                                                                         'F', 'R', '']))
        elif kind < 0.7:
            pkt = ip / UDP(sport=port(), dport=port()) / Raw(b'x' * rnd.randrange(0, 40))
        elif kind < 0.85:
            pkt = ip / ICMP(type=rnd.choice([0, 3, 5, 8, 11, 13]), code=rnd.randrange(0, 7))
        elif kind < 0.9:
            pkt = ip / GRE() / Raw(b'gre!')
        else:
            ip.proto = rnd.choice([50, 99, 100, 110, 120, 121, 132, 200])
            pkt = ip / Raw(b'\0' * 16)
        out.append(pkt)
    return out


SENDER = r'''
import sys, time
from scapy.all import rdpcap, sendp, conf
conf.verb = 0
pkts = rdpcap(sys.argv[1])
for k in range(0, len(pkts), 50):
    sendp(pkts[k:k + 50], iface=sys.argv[2], verbose=False)
    time.sleep(0.01)
'''


def received_ids(lab, ns, iface, send, family=4):
    """Captures what reaches `iface` in `ns` while `send` runs: the IP ids of the corpus (IPv6:
    its flow labels)."""
    pcap = f'{lab.workdir}/{ns}-{iface}.pcap'
    what = 'ip and dst net 198.51.100.0/24' if family == 4 else 'ip6 and dst net 2001:db8:5::/64'
    cap, log = lab.spawn(['ip', 'netns', 'exec', ns, 'tcpdump', '-n', '-U', '-i', iface, '-w',
                          pcap, what], f'{ns}-tcpdump.log')
    deadline = time.time() + 10
    while 'listening on' not in open(log).read() and time.time() < deadline:
        time.sleep(0.05)
    send()
    time.sleep(1.5)
    cap.terminate()
    cap.wait(timeout=10)
    if family == 6:
        return {p[IPv6].fl for p in rdpcap(pcap) if IPv6 in p}
    return {p[IP].id for p in rdpcap(pcap) if IP in p}


def test_verdicts_match_nftables(lab):
    rules = '\n'.join(dpctl_rule(*r) for r in RULES)
    packets = corpus(3000)

    # The dataplane: gen -- [lan dp wan] -- sink.
    gen, dp_ns, sink = lab.ns('gen'), lab.ns('dp'), lab.ns('snk')
    lab.veth(gen, 'g0', dp_ns, 'dpl')
    lab.veth(dp_ns, 'dpw', sink, 's0')
    lab.exec(sink, 'ip', 'addr', 'add', '192.0.2.2/24', 'dev', 's0')
    dp = lab.dataplane(dp_ns, {'lan': 'net_af_packet0,iface=dpl', 'wan': 'net_af_packet1,iface=dpw'})
    sink_mac = lab.exec(sink, 'cat', '/sys/class/net/s0/address').stdout.strip()
    dp.batch(f'''
interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
route add 198.51.100.0/24 via 192.0.2.2
neigh add wan 192.0.2.2 {sink_mac}
fw ruleset add 1 LANIN default drop
{rules}
fw bind lan in 1
''')
    lan_mac = dp.show_json('ports')['lan']['mac']

    # nftables: gen2 -- [router, forward chain] -- sink2.
    gen2, router, sink2 = lab.ns('gn2'), lab.ns('rtr'), lab.ns('sk2')
    lab.veth(gen2, 'g1', router, 'rl')
    lab.veth(router, 'rw', sink2, 's1')
    lab.exec(router, 'ip', 'addr', 'add', '10.1.0.1/24', 'dev', 'rl')
    lab.exec(router, 'ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'rw')
    lab.exec(router, 'ip', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.2')
    lab.exec(sink2, 'ip', 'addr', 'add', '192.0.2.2/24', 'dev', 's1')
    for k in ('net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0',
              'net.ipv4.conf.rl.rp_filter=0', 'net.ipv4.conf.all.send_redirects=0'):
        lab.exec(router, 'sysctl', '-qw', k)
    nft = 'table ip fw {\n chain forward {\n  type filter hook forward priority 0; policy drop;\n'
    nft += ''.join(f'  {nft_rule(a, m)}\n' for _, a, m in RULES) + ' }\n}\n'
    lab.exec(router, 'nft', '-f', '-', input=nft)
    lab.exec(router, 'ping', '-c', '1', '-W', '2', '192.0.2.2')  # ARP before the corpus
    router_mac = lab.exec(router, 'cat', '/sys/class/net/rl/address').stdout.strip()

    sender = f'{lab.workdir}/send.py'
    open(sender, 'w').write(SENDER)
    for name, mac in (('dp', lan_mac), ('nft', router_mac)):
        wrpcap(f'{lab.workdir}/{name}.pcap', [Ether(dst=mac) / p for p in packets])

    dp_ids = received_ids(lab, sink, 's0', lambda: lab.exec(
        gen, PY, sender, f'{lab.workdir}/dp.pcap', 'g0', timeout=120))
    nft_ids = received_ids(lab, sink2, 's1', lambda: lab.exec(
        gen2, PY, sender, f'{lab.workdir}/nft.pcap', 'g1', timeout=120))

    accepted = len(nft_ids)
    assert 300 < accepted < len(packets) - 300, f'a corpus that tests little: {accepted}'
    differ = sorted(dp_ids ^ nft_ids)
    detail = [f'{i}: dataplane {"pass" if i in dp_ids else "drop"}, nft '
              f'{"pass" if i in nft_ids else "drop"}: {packets[i].summary()}' for i in differ[:20]]
    assert not differ, f'{len(differ)} verdicts differ:\n' + '\n'.join(detail)

    # The dataplane's own account: every packet met a rule or the default, drops counted.
    fw = dp.show_json('firewall', '1')
    counted = fw['default_packets'] + sum(fw['packets'])
    assert counted == len(packets), fw
    assert fw['numbers'] == [r[0] for r in RULES]
    drops = dp.drops().get('firewall_drop', 0)
    assert drops == len(packets) - accepted, (drops, accepted)
    totals = dp.show_json('firewall')
    assert totals['rulesets'] == [1]
    assert totals['sessions_active'] == 0  # no state anywhere: no session
    print(f'{len(packets)} packets, {accepted} accepted by both, rule hits '
          f'{dict(zip(fw["numbers"], fw["packets"]))}, default {fw["default_packets"]}')


# IPv6: the same kinds of matches over IPv6 addresses, ICMPv6 types and codes, through the
# dataplane's IPv6 ACL (addresses as prefixes) and nftables' ip6 family.
RULES6 = [
    (10, 'drop', dict(proto=6, dport=(22, 22))),
    (20, 'accept', dict(proto=6, src=('2001:db8:1::', '2001:db8:1::7f'), dport=(1000, 2000))),
    (30, 'accept', dict(proto=17, dst=('2001:db8:5::', '2001:db8:5::3f'), sport=(53, 53))),
    (40, 'drop', dict(proto=17, dport=(5000, 6000))),
    (50, 'accept', dict(proto=17, src=('2001:db8:1::64', '2001:db8:1::fa'))),
    (60, 'accept', dict(proto=58, icmp_type=(128, 128))),
    (70, 'accept', dict(proto=58, icmp_type=(1, 1), icmp_code=(0, 4))),
    (80, 'accept', dict(proto=47, src=('2001:db8:1::40', '2001:db8:1::c8'))),
    (90, 'accept', dict(proto=(100, 120))),
    (100, 'drop', dict(dst=('2001:db8:5::80', '2001:db8:5::ff'))),
    (110, 'accept', dict(proto=6, sport=(1, 1023))),
    (120, 'accept', dict(proto=6, dst=('2001:db8:5::a', '2001:db8:5::5a'), dport=(80, 443))),
    # Across a 16-bit group and out to the top of the space: several prefixes each.
    (130, 'accept', dict(proto=17, src=('2001:db8:1::fff0', '2001:db8:1::1:000f'))),
    (140, 'accept', dict(proto=132, dst=('2001:db8:5::20', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'))),
]


def corpus6(n, seed=21):
    """n packets from the LAN to 2001:db8:5::/64, numbered by their flow label."""
    rnd = random.Random(seed)
    ports = [0, 1, 22, 53, 80, 443, 444, 999, 1000, 1500, 2000, 2001, 1023, 1024, 4999, 5000,
             6000, 6001, 65535]
    low = [2, 7, 0x3f, 0x40, 0x41, 0x64, 0x7f, 0x80, 0xc8, 0xc9, 0xfa, 0xfb, 0xfff0, 0xffff,
           0x10000, 0x1000f, 0x10010]
    out = []
    for i in range(n):
        s_low = rnd.choice(low) if rnd.random() < 0.6 else rnd.randrange(2, 1 << 20)
        d_low = rnd.choice(low[:12]) if rnd.random() < 0.6 else rnd.randrange(1, 1 << 16)
        src = str(ipaddress.IPv6Address(int(ipaddress.IPv6Address('2001:db8:1::')) + s_low))
        dst = str(ipaddress.IPv6Address(int(ipaddress.IPv6Address('2001:db8:5::')) + d_low))
        ip = IPv6(src=src, dst=dst, fl=i, hlim=64)
        if rnd.random() < 0.1:
            ip = ip / IPv6ExtHdrDestOpt()  # the upper layer behind an extension header
        kind = rnd.random()
        port = lambda: rnd.choice(ports) if rnd.random() < 0.7 else rnd.randrange(65536)
        if kind < 0.35:
            pkt = ip / TCP(sport=port(), dport=port(), flags=rnd.choice(['S', 'A', 'SA', 'PA',
                                                                         'F', 'R', '']))
        elif kind < 0.7:
            pkt = ip / UDP(sport=port(), dport=port()) / Raw(b'x' * rnd.randrange(0, 40))
        elif kind < 0.85:
            # Echo, errors (their quoted packet garbage: stateless rules only look at the type);
            # never neighbour discovery (133-137), which the dataplane keeps for itself.
            code = rnd.randrange(0, 7)
            pkt = rnd.choice([
                lambda: ip / ICMPv6EchoRequest(id=rnd.randrange(65536)),
                lambda: ip / ICMPv6EchoReply(),
                lambda: ip / ICMPv6DestUnreach(code=code) / Raw(b'q' * 48),
                lambda: ip / ICMPv6PacketTooBig(mtu=1280) / Raw(b'q' * 48),
                lambda: ip / ICMPv6TimeExceeded(code=code % 2) / Raw(b'q' * 48),
            ])()
        elif kind < 0.9:
            pkt = ip / GRE() / Raw(b'gre!')
        else:
            pkt = ip / Raw(b'\0' * 16)
            last = pkt[IPv6ExtHdrDestOpt] if IPv6ExtHdrDestOpt in pkt else pkt[IPv6]
            last.nh = rnd.choice([50, 99, 100, 110, 120, 121, 132, 200])
        out.append(pkt)
    return out


def v6_veth(lab, ns_a, if_a, ns_b, if_b):
    """A veth pair with IPv6 on (the lab's veths have it off) and no DAD delay."""
    sh('ip', 'link', 'add', if_a, 'netns', ns_a, 'type', 'veth', 'peer', 'name', if_b,
       'netns', ns_b)
    for ns, ifname in ((ns_a, if_a), (ns_b, if_b)):
        lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.accept_dad=0')
        lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.disable_ipv6=0')
        lab.exec(ns, 'ip', 'link', 'set', ifname, 'up')
        lab.exec(ns, 'ethtool', '-K', ifname, 'tx', 'off', 'rx', 'off', check=False)


def test_ipv6_verdicts_match_nftables(lab):
    rules = '\n'.join(dpctl_rule(*r, family=6) for r in RULES6)
    packets = corpus6(3000)

    gen, dp_ns, sink = lab.ns('gen6'), lab.ns('dp6'), lab.ns('snk6')
    v6_veth(lab, gen, 'g0', dp_ns, 'dpl')
    v6_veth(lab, dp_ns, 'dpw', sink, 's0')
    lab.exec(sink, 'ip', '-6', 'addr', 'add', '2001:db8:ff::2/64', 'dev', 's0', 'nodad')
    dp = lab.dataplane(dp_ns, {'lan': 'net_af_packet0,iface=dpl', 'wan': 'net_af_packet1,iface=dpw'})
    sink_mac = lab.exec(sink, 'cat', '/sys/class/net/s0/address').stdout.strip()
    dp.batch(f'''
interface add lan kind port
interface add wan kind port
address add lan 2001:db8:1::1/64
address add wan 2001:db8:ff::1/64
route add 2001:db8:5::/64 via 2001:db8:ff::2
neigh add wan 2001:db8:ff::2 {sink_mac}
fw ruleset add 1 LANIN default drop family 6
{rules}
fw bind lan in 1
''')
    lan_mac = dp.show_json('ports')['lan']['mac']

    gen2, router, sink2 = lab.ns('gn26'), lab.ns('rtr6'), lab.ns('sk26')
    v6_veth(lab, gen2, 'g1', router, 'rl')
    v6_veth(lab, router, 'rw', sink2, 's1')
    lab.exec(router, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1')
    lab.exec(router, 'ip', '-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'rl', 'nodad')
    lab.exec(router, 'ip', '-6', 'addr', 'add', '2001:db8:ff::1/64', 'dev', 'rw', 'nodad')
    lab.exec(router, 'ip', '-6', 'route', 'add', '2001:db8:5::/64', 'via', '2001:db8:ff::2')
    lab.exec(sink2, 'ip', '-6', 'addr', 'add', '2001:db8:ff::2/64', 'dev', 's1', 'nodad')
    nft = 'table ip6 fw {\n chain forward {\n  type filter hook forward priority 0; policy drop;\n'
    nft += ''.join(f'  {nft_rule(a, m, family=6)}\n' for _, a, m in RULES6) + ' }\n}\n'
    lab.exec(router, 'nft', '-f', '-', input=nft)
    lab.exec(router, 'ping', '-6', '-c', '1', '-W', '2', '2001:db8:ff::2')  # ND first
    router_mac = lab.exec(router, 'cat', '/sys/class/net/rl/address').stdout.strip()

    sender = f'{lab.workdir}/send6.py'
    open(sender, 'w').write(SENDER)
    for name, mac in (('dp6', lan_mac), ('nft6', router_mac)):
        wrpcap(f'{lab.workdir}/{name}.pcap', [Ether(dst=mac) / p for p in packets])

    dp_ids = received_ids(lab, sink, 's0', lambda: lab.exec(
        gen, PY, sender, f'{lab.workdir}/dp6.pcap', 'g0', timeout=120), family=6)
    nft_ids = received_ids(lab, sink2, 's1', lambda: lab.exec(
        gen2, PY, sender, f'{lab.workdir}/nft6.pcap', 'g1', timeout=120), family=6)

    accepted = len(nft_ids)
    assert 300 < accepted < len(packets) - 300, f'a corpus that tests little: {accepted}'
    differ = sorted(dp_ids ^ nft_ids)
    detail = [f'{i}: dataplane {"pass" if i in dp_ids else "drop"}, nft '
              f'{"pass" if i in nft_ids else "drop"}: {packets[i].summary()}' for i in differ[:20]]
    assert not differ, f'{len(differ)} verdicts differ:\n' + '\n'.join(detail)

    fw = dp.show_json('firewall', '1')
    counted = fw['default_packets'] + sum(fw['packets'])
    assert counted == len(packets), fw
    drops = dp.drops().get('firewall_drop', 0)
    assert drops == len(packets) - accepted, (drops, accepted)
    assert dp.drops().get('firewall_ipv6', 0) == 0
    print(f'{len(packets)} IPv6 packets, {accepted} accepted by both, rule hits '
          f'{dict(zip(fw["numbers"], fw["packets"]))}, default {fw["default_packets"]}')
