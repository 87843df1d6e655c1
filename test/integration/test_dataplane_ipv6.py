"""IPv6 through one vpn-dataplane between two kernel hosts in network namespaces (net_af_packet
on veths, configured with dpctl): neighbour discovery both ways (the hosts' `ip -6 neigh` shows
the dataplane's MAC, the dataplane's neighbour table the hosts'), ping6 to the appliance and
through it, hop limit and no-route errors as the kernel's ping reports them, packet too big
reaching the sender and lowering its path MTU (`ip -6 route get` shows it), and malformed
extension headers from a raw socket counted, never crashing the dataplane."""
import re
import time

from portcullis_lab import PY, sh


def v6_veth(lab, ns_a, if_a, ns_b, if_b):
    """A veth pair with IPv6 on (the lab's veths have it off) and no DAD delay."""
    sh('ip', 'link', 'add', if_a, 'netns', ns_a, 'type', 'veth', 'peer', 'name', if_b,
       'netns', ns_b)
    for ns, ifname in ((ns_a, if_a), (ns_b, if_b)):
        lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.accept_dad=0')
        lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.disable_ipv6=0')
        lab.exec(ns, 'ip', 'link', 'set', ifname, 'up')
        lab.exec(ns, 'ethtool', '-K', ifname, 'tx', 'off', 'rx', 'off', check=False)


class V6Site:
    """hw (2001:db8:1::10) -- lan [dataplane] wan -- hx (2001:db8:2::10); the WAN's MTU 1280."""

    def __init__(self, lab):
        self.lab = lab
        self.hw, self.dp_ns, self.hx = lab.ns('6w'), lab.ns('6d'), lab.ns('6x')
        v6_veth(lab, self.hw, 'hw0', self.dp_ns, 'dpl')
        v6_veth(lab, self.dp_ns, 'dpw', self.hx, 'hx0')
        for ns, ifname, addr, gw in ((self.hw, 'hw0', '2001:db8:1::10/64', '2001:db8:1::1'),
                                     (self.hx, 'hx0', '2001:db8:2::10/64', '2001:db8:2::1')):
            lab.exec(ns, 'ip', '-6', 'addr', 'add', addr, 'dev', ifname, 'nodad')
            lab.exec(ns, 'ip', '-6', 'route', 'add', 'default', 'via', gw)
        self.dp = lab.dataplane(self.dp_ns, {'lan': 'net_af_packet0,iface=dpl',
                                             'wan': 'net_af_packet1,iface=dpw'})
        self.dp.batch('''
interface add lan kind port
interface add wan kind port mtu 1280
address add lan 2001:db8:1::1/64
address add wan 2001:db8:2::1/64
''')

    def stat(self, name):
        return self.dp.show_json('stats').get(name, 0)

    def drop(self, name):
        return self.dp.drops().get(name, 0)


def ping6(lab, ns, dst, *extra, count=3):
    r = lab.exec(ns, 'ping', '-6', '-n', '-c', str(count), '-i', '0.2', '-W', '2', *extra, dst,
                 check=False, timeout=count * 3 + 10)
    return r.returncode == 0, r.stdout


def test_nd_both_ways_and_ping6(lab):
    s = V6Site(lab)
    # To the appliance: the host solicits, the dataplane advertises, the echo is answered.
    ok, out = ping6(lab, s.hw, '2001:db8:1::1')
    assert ok, out
    mac = s.dp.show_json('ports')['lan']['mac'].lower()
    neigh = lab.exec(s.hw, 'ip', '-6', 'neigh', 'show', '2001:db8:1::1').stdout.lower()
    assert mac in neigh, neigh
    # Through it: the dataplane solicits the far host itself.
    ok, out = ping6(lab, s.hw, '2001:db8:2::10', count=5)
    assert ok, out
    assert '5 received' in out
    assert s.stat('nd_solicits_answered') >= 1  # hx learns us from our solicitation
    assert s.stat('nd_solicits_sent') >= 1
    neighbors = s.dp.show_json('neighbors')
    hx_mac = re.search(r'link/ether (\S+)',
                       lab.exec(s.hx, 'ip', 'link', 'show', 'hx0').stdout).group(1)
    assert any(n.lower().startswith('wan 2001:db8:2::10 ' + hx_mac.lower()) for n in neighbors), \
        neighbors
    wan_mac = s.dp.show_json('ports')['wan']['mac'].lower()
    assert wan_mac in lab.exec(s.hx, 'ip', '-6', 'neigh').stdout.lower()
    # Both addresses were probed for duplicates, and nobody else has them.
    assert s.stat('nd_dad_probes_sent') == 2
    assert s.stat('nd_duplicates') == 0
    # The IPv6 forwarding table as an operator reads it (dpctl show routes6).
    routes = s.dp.show_json('routes6')
    assert '2001:db8:1::/64 connected lan' in routes, routes
    assert '2001:db8:2::1/128 local wan' in routes, routes


def test_the_same_link_local_address_on_both_links(lab):
    # fe80::1 on lan and on wan, as a router gives every link the same gateway address: each
    # host's ping6 to fe80::1 on its own link is answered from that link's MAC, both ways of
    # neighbour discovery running over link-local addresses (the kernel solicits from its own).
    s = V6Site(lab)
    s.dp.batch('address add lan fe80::1/64\naddress add wan fe80::1/64\n')
    deadline = time.time() + 5
    while s.stat('nd_dad_probes_sent') < 4 and time.time() < deadline:
        time.sleep(0.1)
    ports = s.dp.show_json('ports')
    for ns, ifname, port in ((s.hw, 'hw0', 'lan'), (s.hx, 'hx0', 'wan')):
        ok, out = ping6(lab, ns, f'fe80::1%{ifname}')
        assert ok, out
        neigh = lab.exec(ns, 'ip', '-6', 'neigh', 'show', 'fe80::1', 'dev', ifname).stdout.lower()
        assert ports[port]['mac'].lower() in neigh, (port, neigh)
    assert s.stat('nd_duplicates') == 0


def test_a_duplicate_address_is_detected_and_not_answered_for(lab):
    s = V6Site(lab)
    # Another node (the far host) claims the WAN address after the dataplane probed it: its
    # unsolicited advertisement (scapy, as a host announcing a moved address would send it)
    # tells the dataplane, which stops answering for the address.
    deadline = time.time() + 5
    while s.stat('nd_dad_probes_sent') < 2 and time.time() < deadline:
        time.sleep(0.1)
    lab.exec(s.hx, PY, '-c', CLAIM, 'hx0', '2001:db8:2::1')
    deadline = time.time() + 5
    while s.stat('nd_duplicates') < 1 and time.time() < deadline:
        time.sleep(0.1)
    assert s.stat('nd_duplicates') == 1
    assert 'duplicate address 2001:db8:2::1 on wan' in open(s.dp.log).read()


def test_errors_and_path_mtu(lab):
    s = V6Site(lab)
    assert ping6(lab, s.hw, '2001:db8:2::10', count=1)[0]
    # Hop limit 1 through the appliance, and a network nobody routes.
    ok, out = ping6(lab, s.hw, '2001:db8:2::10', '-t', '1', count=1)
    assert not ok
    assert re.search(r'From 2001:db8:1::1 icmp_seq=1 Time exceeded: Hop limit', out), out
    ok, out = ping6(lab, s.hw, '2001:db8:77::1', count=1)
    assert not ok
    assert re.search(r'From 2001:db8:1::1 icmp_seq=1 Destination unreachable: No route', out), out
    assert s.drop('ttl_exceeded') == 1
    assert s.drop('no_route') == 1
    # 1,400 bytes into the 1,280-byte WAN: packet too big to the sender, whose kernel lowers
    # its path MTU to the destination; a ping that fits then gets through.
    before = lab.exec(s.hw, 'ip', '-6', 'route', 'get', '2001:db8:2::10').stdout
    assert 'mtu 1280' not in before, before
    ok, out = ping6(lab, s.hw, '2001:db8:2::10', '-s', '1400', '-M', 'do', count=1)
    assert not ok, out
    assert s.drop('fragmentation_needed') == 1
    route = lab.exec(s.hw, 'ip', '-6', 'route', 'get', '2001:db8:2::10').stdout
    assert 'mtu 1280' in route, route
    ok, out = ping6(lab, s.hw, '2001:db8:2::10', '-s', '1200', count=2)
    assert ok, out


CLAIM = r'''
import sys
from scapy.all import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6, Ether, get_if_hwaddr, sendp
iface, addr = sys.argv[1:3]
mac = get_if_hwaddr(iface)
sendp(Ether(src=mac, dst='33:33:00:00:00:01') / IPv6(src='2001:db8:2::10', dst='ff02::1', hlim=255) /
      ICMPv6ND_NA(tgt=addr, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac), iface=iface,
      verbose=False)
'''


MALFORMED = r'''
import sys
from scapy.all import IPv6, Ether, Raw, sendp
# IPv6 frames from the host through the appliance: a hop-by-hop header longer than the packet,
# hop-by-hop after destination options, a fragment header cut short.
mac, src, dst = sys.argv[1:4]
bodies = [
    (0, bytes([17, 200, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4])),
    (60, bytes([0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0])),
    (44, bytes([17, 0, 0])),
]
for nh, body in bodies:
    sendp(Ether(dst=mac) / IPv6(src=src, dst=dst, nh=nh) / Raw(body), iface='hw0', verbose=False)
'''


def test_malformed_extension_headers_are_counted(lab):
    s = V6Site(lab)
    assert ping6(lab, s.hw, '2001:db8:1::1', count=1)[0]
    before = s.drop('ipv6_malformed')
    mac = s.dp.show_json('ports')['lan']['mac'].lower()
    lab.exec(s.hw, PY, '-c', MALFORMED, mac, '2001:db8:1::10', '2001:db8:2::10')
    deadline = time.time() + 5
    while s.drop('ipv6_malformed') < before + 3 and time.time() < deadline:
        time.sleep(0.1)
    assert s.drop('ipv6_malformed') == before + 3, s.dp.drops()
    # Still forwarding and answering.
    ok, out = ping6(lab, s.hw, '2001:db8:2::10', count=2)
    assert ok, out


PARAM = r'''
import sys
from scapy.all import ICMPv6ParamProblem, IPv6, IPv6ExtHdrDestOpt, Ether, Raw, srp1
# To the appliance: protocol 253 (experimental) after the header, behind destination options,
# and no next header (59, nothing may answer it). Prints type/code/pointer of each answer.
mac, src, dst = sys.argv[1:4]
for nh_chain in ('plain', 'opts', 'none'):
    ip = IPv6(src=src, dst=dst)
    if nh_chain == 'plain':
        p = ip / Raw(b'x' * 8)
        p[IPv6].nh = 253
    elif nh_chain == 'opts':
        p = ip / IPv6ExtHdrDestOpt(nh=253) / Raw(b'x' * 8)
    else:
        p = ip / Raw(b'x' * 8)
        p[IPv6].nh = 59
    r = srp1(Ether(dst=mac) / p, iface='hw0', timeout=2, verbose=False)
    if r is None or ICMPv6ParamProblem not in r:
        print(nh_chain, 'none')
        continue
    e = r[ICMPv6ParamProblem]
    print(nh_chain, r[IPv6].src, e.type, e.code, e.ptr, bytes(e.payload) == bytes(p))
'''


def test_unknown_next_header_to_us_gets_a_parameter_problem(lab):
    # RFC 8200 §4: a destination that meets a next header it does not know answers with a
    # parameter problem (code 1) pointing at the field, quoting the packet (decoded by scapy).
    s = V6Site(lab)
    assert ping6(lab, s.hw, '2001:db8:1::1', count=1)[0]
    mac = s.dp.show_json('ports')['lan']['mac'].lower()
    out = lab.exec(s.hw, PY, '-c', PARAM, mac, '2001:db8:1::10', '2001:db8:1::1',
                   timeout=30).stdout.split('\n')
    assert 'plain 2001:db8:1::1 4 1 6 True' in out, out
    assert 'opts 2001:db8:1::1 4 1 40 True' in out, out
    assert 'none none' in out, out


FRAGMENTS = r'''
import sys
import time
from collections import defaultdict
from scapy.all import (AsyncSniffer, Ether, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6,
                       IPv6ExtHdrFragment, Raw, defragment6, fragment6, raw, sendp)
# Echo requests to the appliance in fragments that scapy makes (RFC 8200 §4.5), sent in order,
# in reverse order, overlapping (RFC 5722: abandoned) and incomplete (the first part only).
# Prints each echo reply that comes back whole (reassembled here from the appliance's
# fragments): its identifier, and whether its data is the request's.
mac, src, dst = sys.argv[1:4]
def request(ident, n):
    data = bytes((i * 7 + ident) & 0xff for i in range(n))
    p = IPv6(src=src, dst=dst) / IPv6ExtHdrFragment(id=0x5000 + ident) / \
        ICMPv6EchoRequest(id=ident, seq=1, data=data)
    return p, data
sent = {}
cases = []
p, sent[1] = request(1, 3000)
cases.append(fragment6(p, 1280))
p, sent[2] = request(2, 3000)
cases.append(list(reversed(fragment6(p, 1280))))
p, sent[3] = request(3, 2000)
whole = raw(p[IPv6ExtHdrFragment].payload)
a = IPv6(src=src, dst=dst) / IPv6ExtHdrFragment(id=0x5003, nh=58, offset=0, m=1) / Raw(whole[:1008])
b = IPv6(src=src, dst=dst) / IPv6ExtHdrFragment(id=0x5003, nh=58, offset=125, m=0) / Raw(whole[1000:])
cases.append([a, b])  # bytes 1000..1007 twice
p, sent[4] = request(4, 3000)
cases.append(fragment6(p, 1280)[:1])
sniffer = AsyncSniffer(iface='hw0', lfilter=lambda r: IPv6 in r and r[IPv6].src == dst)
sniffer.start()
time.sleep(1)
for frags in cases:
    sendp([Ether(dst=mac) / f for f in frags], iface='hw0', verbose=False)
time.sleep(2)
sniffer.stop()
by_id = defaultdict(list)
for r in sniffer.results:
    if IPv6ExtHdrFragment in r:
        by_id[r[IPv6ExtHdrFragment].id].append(r[IPv6])
    elif ICMPv6EchoReply in r:
        by_id[-r[ICMPv6EchoReply].id].append(r[IPv6])
for frags in by_id.values():
    r = defragment6(frags) if len(frags) > 1 or IPv6ExtHdrFragment in frags[0] else frags[0]
    r = IPv6(raw(r))
    if ICMPv6EchoReply in r:
        e = r[ICMPv6EchoReply]
        print('reply', e.id, len(frags), e.data == sent.get(e.id))
'''


def test_fragments_to_the_appliance_are_reassembled(lab):
    # RFC 8200 §4.5: scapy's fragments of echo requests to the appliance, in order and reversed,
    # are answered (the replies, longer than the link, in fragments of the appliance's that
    # scapy puts back together); overlapping ones (RFC 5722) are abandoned and counted, an
    # incomplete datagram waits for its time (60 s). Then the kernel's own: ping6 with 3,000
    # bytes from both hosts, the WAN one through the 1,280-byte link.
    s = V6Site(lab)
    assert ping6(lab, s.hw, '2001:db8:1::1', count=1)[0]
    mac = s.dp.show_json('ports')['lan']['mac'].lower()
    failed = s.drop('reassembly_failed')
    done = s.stat('reassembled6')
    out = lab.exec(s.hw, PY, '-c', FRAGMENTS, mac, '2001:db8:1::10', '2001:db8:1::1',
                   timeout=60).stdout.split('\n')
    replies = sorted(line for line in out if line.startswith('reply'))
    assert replies == ['reply 1 3 True', 'reply 2 3 True'], out
    assert s.stat('reassembled6') == done + 2
    assert s.drop('reassembly_failed') == failed + 2, s.dp.drops()
    assert s.drop('reassembly_timeout') == 0
    for ns, dst in ((s.hw, '2001:db8:1::1'), (s.hx, '2001:db8:2::1')):
        ok, text = ping6(lab, ns, dst, '-s', '3000', count=2)
        assert ok, text
        assert '3008 bytes from' in text, text
    assert s.stat('reassembled6') == done + 6
