"""Golden tests for the four inner/outer family combinations (IPv4 and IPv6 inside IPv4 and
IPv6 tunnels), as test_dataplane_golden.py does for IPv4: net_pcap rx files -> vpn-dataplane ->
net_pcap tx files, checked with scapy. LAN input must leave the WAN port as ESP between the
tunnel's endpoints of its family that scapy's ESP decrypts back to the input (TTL or hop limit
one less); ESP scapy made must leave the LAN port as the cleartext scapy put in. Neighbours are
static, so no ARP or neighbour discovery appears in the output."""
import pytest
from scapy.all import (ICMP, IP, TCP, UDP, Ether, ICMPv6EchoRequest, ICMPv6ND_NS, IPv6, Raw,
                       raw)
from scapy.layers.ipsec import ESP, SecurityAssociation

from test_dataplane_golden import HOST_MAC, IN_SPI, OUT_SPI, PEER_MAC, Keys, run

LAN_MAC, WAN_MAC = '02:70:63:61:70:00', '02:70:63:61:70:01'
ENDPOINTS = {4: ('192.0.2.1', '192.0.2.2'), 6: ('2001:db8:ff::1', '2001:db8:ff::2')}
HOSTS = {4: ('10.1.0.10', '10.2.0.10'), 6: ('2001:db8:1::10', '2001:db8:2::10')}


def scapy_sa(keys, spi, src, dst, outer):
    hdr = IPv6(src=src, dst=dst) if outer == 6 else IP(src=src, dst=dst)
    return SecurityAssociation(
        ESP, spi=spi, crypt_algo=keys.crypt,
        crypt_key=keys.key + keys.salt if keys.crypt == 'AES-GCM' else keys.key,
        auth_algo=keys.auth, auth_key=keys.akey if keys.auth else None, tunnel_header=hdr)


def cleartext(inner, src, dst, count):
    sizes = [0, 1, 15, 16, 63, 100, 512, 999, 1200, 1300]
    out = []
    for i in range(count):
        payload = Raw(bytes((i * 13 + j) & 0xff for j in range(sizes[i % len(sizes)])))
        if inner == 6:
            l4 = [UDP(sport=1000 + i, dport=53), TCP(sport=2000 + i, dport=80, flags='PA'),
                  ICMPv6EchoRequest(id=7, seq=i)][i % 3]
            out.append(IPv6(raw(IPv6(src=src, dst=dst, hlim=64) / l4 / payload)))
        else:
            l4 = [UDP(sport=1000 + i, dport=53), TCP(sport=2000 + i, dport=80, flags='PA'),
                  ICMP(type=8, id=7, seq=i)][i % 3]
            out.append(IP(raw(IP(src=src, dst=dst, id=300 + i, ttl=64, flags='DF') / l4 /
                                 payload)))
    return out


def forwarded(p):
    if isinstance(p, IPv6):
        q = IPv6(raw(p))
        q.hlim -= 1
        return IPv6(raw(q))
    q = IP(raw(p))
    q.ttl -= 1
    del q.chksum
    return IP(raw(q))


def config(k_out, k_in, outer):
    west, east = ENDPOINTS[outer]
    wan_addr = f'{west}/64' if outer == 6 else f'{west}/24'
    return f'''
interface add lan kind port
interface add wan kind port
interface add vti0 kind vti
address add lan 10.1.0.1/24
address add lan 2001:db8:1::1/64
address add wan {wan_addr}
address add vti0 172.16.0.1/30
route add 10.2.0.0/24 dev vti0
route add 2001:db8:2::/64 dev vti0
neigh add lan 10.1.0.10 {HOST_MAC}
neigh add lan 2001:db8:1::10 {HOST_MAC}
neigh add wan {east} {PEER_MAC}
sa add spi {OUT_SPI:#x} dir out local {west} remote {east} {k_out.dpctl()} vti vti0
sa add spi {IN_SPI:#x} dir in local {west} remote {east} {k_in.dpctl()} vti vti0
bind vti0 {OUT_SPI:#x}
'''


@pytest.mark.parametrize('outer,inner', [(4, 4), (4, 6), (6, 4), (6, 6)])
@pytest.mark.parametrize('cipher', ['aes-gcm-128', 'aes-cbc-256'])
def test_four_families_against_scapy(lab, tmp_path, outer, inner, cipher):
    k_out, k_in = Keys(cipher, 11), Keys(cipher, 12)
    west, east = ENDPOINTS[outer]
    host, far = HOSTS[inner]
    n = 20
    lan_pkts = cleartext(inner, host, far, n)
    lan_in = [Ether(src=HOST_MAC, dst=LAN_MAC) / p for p in lan_pkts]
    east_sa = scapy_sa(k_in, IN_SPI, east, west, outer)
    wan_pkts = cleartext(inner, far, host, n)
    wan_in = [Ether(src=PEER_MAC, dst=WAN_MAC) / east_sa.encrypt(p, seq_num=i + 1)
              for i, p in enumerate(wan_pkts)]
    # Each IPv6 address of a port is probed once for duplicates (an NS from ::): one on the
    # LAN, one on the WAN when the tunnel is IPv6.
    probes = {'lan': 1, 'wan': 1 if outer == 6 else 0}
    lan_out, wan_out, ports, stats, sas = run(lab, tmp_path, lan_in, wan_in,
                                              config(k_out, k_in, outer), n + probes['lan'],
                                              n + probes['wan'])
    for name, frames in (('lan', lan_out), ('wan', wan_out)):
        dad = [f for f in frames if f.haslayer(ICMPv6ND_NS) and f[IPv6].src == '::']
        assert len(dad) == probes[name], f'{name}: {len(dad)} DAD probes'
    lan_out = [f for f in lan_out if not f.haslayer(ICMPv6ND_NS)]
    wan_out = [f for f in wan_out if not f.haslayer(ICMPv6ND_NS)]

    assert len(wan_out) == n, f'{len(wan_out)} ESP packets out of {n}; drops {stats["drops"]}'
    west_sa = scapy_sa(k_out, OUT_SPI, west, east, outer)
    ip_cls = IPv6 if outer == 6 else IP
    for i, (frame, orig) in enumerate(zip(wan_out, lan_pkts)):
        assert frame[Ether].src.lower() == WAN_MAC and frame[Ether].dst == PEER_MAC
        assert frame[Ether].type == (0x86dd if outer == 6 else 0x0800)
        o = frame[ip_cls]
        assert (o.src, o.dst) == (west, east)
        assert (o.nh if outer == 6 else o.proto) == 50
        esp = o[ESP]
        assert esp.spi == OUT_SPI and esp.seq == i + 1, f'packet {i}: {esp.spi:#x}/{esp.seq}'
        dec = west_sa.decrypt(o)
        assert raw(dec) == raw(forwarded(orig)), f'packet {i} differs after scapy decryption'

    assert len(lan_out) == n, f'{len(lan_out)} packets out of {n}; drops {stats["drops"]}'
    inner_cls = IPv6 if inner == 6 else IP
    for i, (frame, orig) in enumerate(zip(lan_out, wan_pkts)):
        assert frame[Ether].src.lower() == LAN_MAC and frame[Ether].dst == HOST_MAC
        assert raw(frame[inner_cls]) == raw(forwarded(orig)), f'packet {i} differs'
    assert sas[(f'{OUT_SPI:08x}', 'out')]['packets'] == n
    assert sas[(f'{IN_SPI:08x}', 'in')]['packets'] == n
    assert sum(stats['drops'].values()) == 0, stats['drops']
