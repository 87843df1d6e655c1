"""Golden tests: net_pcap rx files -> vpn-dataplane -> net_pcap tx files, checked with scapy.

The LAN input (cleartext from a host) must leave the WAN port as ESP that scapy's ESP decrypts
back to the input (TTL one less, as a router forwards it), with the SA's SPI, sequence numbers
1..N in order and the tunnel addresses. The WAN input (ESP that scapy encrypted) must leave the
LAN port as the cleartext scapy put in. Oversized packets are fragmented before encryption or
answered with ICMP fragmentation-needed, and forged, replayed and unknown-SPI ESP is counted.
Neighbours are static, so no ARP appears in the output.
"""
import struct
import time

import pytest
from scapy.all import ICMP, IP, TCP, UDP, Ether, Raw, defragment, raw, rdpcap, wrpcap
from scapy.layers.ipsec import ESP, SecurityAssociation


HOST_MAC = '02:00:00:00:01:0a'
PEER_MAC = '02:00:00:00:02:02'
WEST, EAST = '192.0.2.1', '192.0.2.2'
OUT_SPI, IN_SPI = 0x1001, 0x2001

CIPHERS = {
    # name: (dpctl arguments builder, scapy crypt, scapy auth, key len, auth key len)
    'aes-gcm-128': ('AES-GCM', None, 16, 0),
    'aes-gcm-256': ('AES-GCM', None, 32, 0),
    'aes-cbc-128': ('AES-CBC', 'HMAC-SHA1-96', 16, 20),
    'aes-cbc-256': ('AES-CBC', 'SHA2-256-128', 32, 32),
}
AUTH_NAMES = {'HMAC-SHA1-96': 'hmac-sha1-96', 'SHA2-256-128': 'hmac-sha256-128'}


class Keys:
    def __init__(self, cipher, seed):
        crypt, auth, klen, alen = CIPHERS[cipher]
        self.cipher, self.crypt, self.auth = cipher, crypt, auth
        self.key = bytes((seed * 29 + i) & 0xff for i in range(klen))
        self.salt = bytes((seed + 0x50 + i) & 0xff for i in range(4))
        self.akey = bytes((seed * 13 + 5 * i) & 0xff for i in range(alen))

    def dpctl(self):
        a = f'cipher {self.cipher} key {self.key.hex()}'
        if self.crypt == 'AES-GCM':
            return a + f' salt {self.salt.hex()}'
        return a + f' auth {AUTH_NAMES[self.auth]} authkey {self.akey.hex()}'

    def scapy_sa(self, spi, src, dst, encap):
        return SecurityAssociation(
            ESP, spi=spi, crypt_algo=self.crypt,
            crypt_key=self.key + self.salt if self.crypt == 'AES-GCM' else self.key,
            auth_algo=self.auth, auth_key=self.akey if self.auth else None,
            tunnel_header=IP(src=src, dst=dst),
            nat_t_header=UDP(sport=4500, dport=4500) if encap else None)


def cleartext(src, dst, count, first_id):
    """IPv4 packets of many sizes and protocols, with scapy-computed lengths and checksums."""
    out = []
    sizes = [0, 1, 7, 15, 16, 17, 63, 64, 100, 255, 512, 999, 1200, 1372, 1400]
    for i in range(count):
        size = sizes[i % len(sizes)]
        payload = Raw(bytes((i * 11 + j) & 0xff for j in range(size)))
        l4 = [UDP(sport=1000 + i, dport=53), TCP(sport=2000 + i, dport=80, flags='PA', seq=i),
              ICMP(type=8, id=7, seq=i)][i % 3]
        out.append(IP(raw(IP(src=src, dst=dst, id=first_id + i, ttl=64, flags='DF') / l4 /
                             payload)))
    return out


def forwarded(p):
    """What a router puts on the wire for p: TTL one less, header checksum updated."""
    q = IP(raw(p))
    q.ttl -= 1
    del q.chksum
    return IP(raw(q))


def esp_wire(sa, inner, seq, encap):
    w = sa.encrypt(inner, seq_num=seq)
    if encap:
        # scapy 2.5.0 leaves the NAT-T UDP length at 8 for IPv4; set the real one.
        b = bytearray(raw(w))
        struct.pack_into('!H', b, 24, len(b) - 20)
        w = IP(bytes(b))
    return w


def run(lab, tmp_path, lan_in, wan_in, config, expect_lan_out, expect_wan_out):
    paths = {n: str(tmp_path / f'{n}.pcap') for n in ('lan_in', 'wan_in', 'lan_out', 'wan_out')}
    wrpcap(paths['lan_in'], lan_in)
    wrpcap(paths['wan_in'], wan_in)
    dp = lab.dataplane(None, {
        'lan': f'net_pcap0,rx_pcap={paths["lan_in"]},tx_pcap={paths["lan_out"]}',
        'wan': f'net_pcap1,rx_pcap={paths["wan_in"]},tx_pcap={paths["wan_out"]}'})
    ports = dp.show_json('ports')
    # The input frames were addressed to net_pcap's MACs (02:70:63:61:70:<n> by creation order).
    assert ports['lan']['mac'].lower() == '02:70:63:61:70:00', ports
    assert ports['wan']['mac'].lower() == '02:70:63:61:70:01', ports
    # The ports are polled from the moment their interfaces exist, so the whole configuration
    # goes in as one batch before any packet is read.
    dp.batch(config)
    deadline = time.time() + 30
    while time.time() < deadline:
        ports = dp.show_json('ports')
        if (ports['lan']['ipackets'] == len(lan_in) and ports['wan']['ipackets'] == len(wan_in)
                and ports['lan']['opackets'] >= expect_lan_out
                and ports['wan']['opackets'] >= expect_wan_out):
            break
        time.sleep(0.2)
    stats = dp.show_json('stats')
    sas = {(s['spi'], s['direction']): s for s in dp.show_json('sas')}
    dp.stop()
    return rdpcap(paths['lan_out']), rdpcap(paths['wan_out']), ports, stats, sas


def config(keys_out, keys_in, encap, mtu=None):
    enc = ' encap 4500 4500' if encap else ''
    vti_mtu = f' mtu {mtu}' if mtu else ''
    return f'''
interface add lan kind port
interface add wan kind port
interface add vti0 kind vti{vti_mtu}
address add lan 10.1.0.1/24
address add wan {WEST}/24
address add vti0 172.16.0.1/30
route add 10.2.0.0/24 dev vti0
neigh add lan 10.1.0.10 {HOST_MAC}
neigh add wan {EAST} {PEER_MAC}
sa add spi {OUT_SPI:#x} dir out local {WEST} remote {EAST} {keys_out.dpctl()}{enc} vti vti0
sa add spi {IN_SPI:#x} dir in local {WEST} remote {EAST} {keys_in.dpctl()}{enc} vti vti0
bind vti0 {OUT_SPI:#x}
'''


@pytest.mark.parametrize('cipher,encap', [('aes-gcm-128', False), ('aes-gcm-256', False),
                                          ('aes-cbc-128', False), ('aes-cbc-256', False),
                                          ('aes-gcm-128', True), ('aes-cbc-256', True)])
def test_both_directions_against_scapy(lab, tmp_path, cipher, encap):
    k_out, k_in = Keys(cipher, 1), Keys(cipher, 2)
    n = 45
    lan_pkts = cleartext('10.1.0.10', '10.2.0.10', n, 100)
    lan_in = [Ether(src=HOST_MAC, dst='02:70:63:61:70:00') / p for p in lan_pkts]
    east_sa = k_in.scapy_sa(IN_SPI, EAST, WEST, encap)
    wan_pkts = cleartext('10.2.0.20', '10.1.0.10', n, 500)
    wan_in = [Ether(src=PEER_MAC, dst='02:70:63:61:70:01') / esp_wire(east_sa, p, i + 1, encap)
              for i, p in enumerate(wan_pkts)]

    lan_out, wan_out, ports, stats, sas = run(lab, tmp_path, lan_in, wan_in,
                                              config(k_out, k_in, encap), n, n)

    # LAN -> WAN: ESP that scapy decrypts to what came in, minus one TTL.
    assert len(wan_out) == n, f'{len(wan_out)} ESP packets out of {n}; drops {stats["drops"]}'
    west_sa = k_out.scapy_sa(OUT_SPI, WEST, EAST, encap)
    for i, (frame, orig) in enumerate(zip(wan_out, lan_pkts)):
        assert frame[Ether].src.lower() == '02:70:63:61:70:01' and frame[Ether].dst == PEER_MAC
        outer = frame[IP]
        assert (outer.src, outer.dst) == (WEST, EAST)
        if encap:
            assert outer.proto == 17 and outer[UDP].sport == 4500 and outer[UDP].dport == 4500
            assert outer[UDP].len == len(outer) - 20
            esp = ESP(raw(outer[UDP].payload))
            outer = IP(raw(IP(src=WEST, dst=EAST, proto=50, id=outer.id, ttl=outer.ttl) / esp))
        else:
            assert outer.proto == 50
            esp = outer[ESP]
        assert esp.spi == OUT_SPI and esp.seq == i + 1, f'packet {i}: spi/seq {esp.spi:#x}/{esp.seq}'
        dec = west_sa.decrypt(outer)
        assert raw(dec) == raw(forwarded(orig)), f'packet {i} differs after scapy decryption'

    # WAN -> LAN: the cleartext scapy encrypted, forwarded to the host.
    assert len(lan_out) == n, f'{len(lan_out)} packets out of {n}; drops {stats["drops"]}'
    for i, (frame, orig) in enumerate(zip(lan_out, wan_pkts)):
        assert frame[Ether].src.lower() == '02:70:63:61:70:00' and frame[Ether].dst == HOST_MAC
        assert raw(frame[IP]) == raw(forwarded(orig)), f'packet {i} differs after our decryption'

    assert sas[(f'{OUT_SPI:08x}', 'out')]['packets'] == n
    assert sas[(f'{IN_SPI:08x}', 'in')]['packets'] == n
    assert sum(stats['drops'].values()) == 0, stats['drops']


def test_fragmentation_before_encryption_and_frag_needed(lab, tmp_path):
    """A packet bigger than the VTI MTU is fragmented before encryption when DF is clear (the
    peer reassembles cleartext, never ESP), and answered with ICMP fragmentation-needed carrying
    the tunnel MTU when DF is set."""
    k = Keys('aes-gcm-128', 3)
    big = IP(raw(IP(src='10.1.0.10', dst='10.2.0.10', id=77, ttl=64, flags=0) /
                 UDP(sport=5, dport=6) / Raw(bytes(i & 0xff for i in range(1472)))))
    big_df = IP(raw(IP(src='10.1.0.10', dst='10.2.0.10', id=78, ttl=64, flags='DF') /
                    UDP(sport=5, dport=6) / Raw(bytes(1472))))
    lan_in = [Ether(src=HOST_MAC, dst='02:70:63:61:70:00') / p for p in (big, big_df)]
    lan_out, wan_out, ports, stats, sas = run(lab, tmp_path, lan_in, [], config(k, k, False),
                                              1, 2)
    assert len(wan_out) == 2, stats['drops']
    sa = k.scapy_sa(OUT_SPI, WEST, EAST, False)
    frags = [sa.decrypt(f[IP]) for f in wan_out]
    for f in frags:
        assert len(f) <= 1428
        assert len(f[IP].payload) % 8 == 0 or f.flags.MF == 0
    whole = defragment(frags)
    assert len(whole) == 1 and raw(whole[0][IP].payload) == raw(forwarded(big).payload)
    assert len(lan_out) == 1
    icmp = lan_out[0][IP]
    assert icmp.dst == '10.1.0.10' and icmp[ICMP].type == 3 and icmp[ICMP].code == 4
    assert icmp[ICMP].nexthopmtu == 1428
    assert stats['drops'].get('fragmentation_needed') == 1


def test_forged_replayed_and_unknown_esp_is_counted(lab, tmp_path):
    k = Keys('aes-gcm-128', 4)
    east_sa = k.scapy_sa(IN_SPI, EAST, WEST, False)
    pkts = cleartext('10.2.0.20', '10.1.0.10', 6, 900)
    good = [esp_wire(east_sa, p, i + 1, False) for i, p in enumerate(pkts)]
    forged = bytearray(raw(good[2]))
    forged[-5] ^= 1
    other_key = Keys('aes-gcm-128', 5).scapy_sa(IN_SPI, EAST, WEST, False)
    unknown = Keys('aes-gcm-128', 4).scapy_sa(0x7777, EAST, WEST, False)
    wire = [good[0], good[1], IP(bytes(forged)), good[1],  # replayed
            esp_wire(other_key, pkts[3], 10, False),  # wrong key
            esp_wire(unknown, pkts[4], 1, False),  # no such SA
            good[5]]
    wan_in = [Ether(src=PEER_MAC, dst='02:70:63:61:70:01') / w for w in wire]
    lan_out, wan_out, ports, stats, sas = run(lab, tmp_path, [], wan_in, config(k, k, False), 3, 0)
    assert [raw(f[IP]) for f in lan_out] == [raw(forwarded(pkts[i])) for i in (0, 1, 5)]
    d = stats['drops']
    assert d.get('esp_auth_failed') == 2, d
    assert d.get('esp_replayed') == 1, d
    assert d.get('no_sa') == 1, d
    s = sas[(f'{IN_SPI:08x}', 'in')]
    assert s['packets'] == 3
    assert s['drops'].get('esp_auth_failed') == 2 and s['drops'].get('esp_replayed') == 1


def test_vlan_vif_tags_and_untags_against_scapy(lab, tmp_path):
    """A VLAN vif (lan.1750, as the seed's dp0bond0.1750) on the LAN port, with scapy-crafted
    802.1Q frames: ARP on the vif is answered tagged with its VID, an echo to the vif's
    address is answered tagged, a packet from the vif is routed out of the untagged WAN and a
    packet to the vif's network comes back tagged; a frame with a VID no vif has is dropped
    and counted; untagged traffic on the same port keeps its own interface."""
    from scapy.all import ARP, Dot1Q
    lan_mac, wan_mac = '02:70:63:61:70:00', '02:70:63:61:70:01'
    vif_host, vif_addr = '10.126.19.174', '10.126.19.161'
    plain_host_mac = '02:00:00:00:01:0b'
    lan_in = [
        Ether(dst='ff:ff:ff:ff:ff:ff', src=HOST_MAC) / Dot1Q(vlan=1750) /
        ARP(op=1, hwsrc=HOST_MAC, psrc=vif_host, pdst=vif_addr),
        Ether(dst=lan_mac, src=HOST_MAC) / Dot1Q(vlan=1750) /
        IP(src=vif_host, dst=vif_addr) / ICMP(type=8, id=7, seq=1) / Raw(b'tagged'),
        Ether(dst=lan_mac, src=HOST_MAC) / Dot1Q(vlan=99) /
        IP(src=vif_host, dst=vif_addr) / ICMP(type=8, id=7, seq=2),
        Ether(dst=lan_mac, src=HOST_MAC) / Dot1Q(vlan=1750) /
        IP(src=vif_host, dst=EAST, ttl=64) / UDP(sport=1234, dport=5678) / Raw(b'to wan'),
        Ether(dst=lan_mac, src=plain_host_mac) /
        IP(src='10.1.0.10', dst='10.1.0.1') / ICMP(type=8, id=8, seq=1),
    ]
    wan_in = [Ether(dst=wan_mac, src=PEER_MAC) /
              IP(src=EAST, dst=vif_host, ttl=64) / UDP(sport=5678, dport=1234) / Raw(b'to vif')]
    cfg = f'''
interface add lan kind port
interface add lan.1750 kind vif parent lan vlan 1750
interface add wan kind port
address add lan 10.1.0.1/24
address add lan.1750 {vif_addr}/26
address add wan {WEST}/24
neigh add lan.1750 {vif_host} {HOST_MAC}
neigh add lan 10.1.0.10 {plain_host_mac}
neigh add wan {EAST} {PEER_MAC}
'''
    paths = {n: str(tmp_path / f'{n}.pcap') for n in ('lan_in', 'wan_in', 'lan_out', 'wan_out')}
    wrpcap(paths['lan_in'], lan_in)
    wrpcap(paths['wan_in'], wan_in)
    dp = lab.dataplane(None, {
        'lan': f'net_pcap0,rx_pcap={paths["lan_in"]},tx_pcap={paths["lan_out"]}',
        'wan': f'net_pcap1,rx_pcap={paths["wan_in"]},tx_pcap={paths["wan_out"]}'})
    dp.batch(cfg)
    deadline = time.time() + 30
    while time.time() < deadline:
        ports = dp.show_json('ports')
        if ports['lan']['opackets'] >= 4 and ports['wan']['opackets'] >= 1:
            break
        time.sleep(0.2)
    vif = dp.interface('lan.1750')
    plain = dp.interface('lan')
    stats = dp.show_json('stats')
    dp.stop()
    lan_out, wan_out = rdpcap(paths['lan_out']), rdpcap(paths['wan_out'])
    tagged = [f for f in lan_out if Dot1Q in f]
    assert all(f[Dot1Q].vlan == 1750 for f in tagged), [f.summary() for f in lan_out]
    # ARP on the vif: answered tagged, with the port's MAC for the vif's address.
    arp = [f for f in tagged if ARP in f]
    assert len(arp) == 1 and arp[0][ARP].op == 2, [f.summary() for f in lan_out]
    assert arp[0][ARP].psrc == vif_addr and arp[0][ARP].hwsrc.lower() == lan_mac
    assert arp[0][ARP].pdst == vif_host and arp[0].dst.lower() == HOST_MAC
    # The echo to the vif's address: answered tagged, to the host's MAC, with its payload.
    echo = [f for f in tagged if ICMP in f]
    assert len(echo) == 1, [f.summary() for f in lan_out]
    e = echo[0]
    assert e.src.lower() == lan_mac and e.dst.lower() == HOST_MAC
    assert (e[IP].src, e[IP].dst, e[ICMP].type, e[ICMP].seq) == (vif_addr, vif_host, 0, 1)
    assert raw(e[ICMP].payload) == b'tagged'
    # The WAN's packet for the vif's network leaves tagged, one TTL less.
    fwd = [f for f in tagged if UDP in f]
    assert len(fwd) == 1 and fwd[0][IP].dst == vif_host and fwd[0][IP].ttl == 63
    assert raw(fwd[0][UDP].payload) == b'to vif'
    # The vif host's packet for the WAN leaves untagged.
    assert len(wan_out) == 1 and Dot1Q not in wan_out[0], [f.summary() for f in wan_out]
    assert wan_out[0][IP].src == vif_host and wan_out[0][IP].ttl == 63
    # Untagged traffic on the same port stays the port's: answered untagged.
    untagged = [f for f in lan_out if Dot1Q not in f]
    assert len(untagged) == 1 and untagged[0][ICMP].type == 0
    assert untagged[0][IP].src == '10.1.0.1' and untagged[0].dst.lower() == plain_host_mac
    # VID 99 has no vif: dropped, counted.
    assert stats['drops'].get('unknown_interface') == 1, stats['drops']
    # Per-vif counters: the ARP, the echo and the routed packet in; the three answers out.
    assert (vif['rx_packets'], vif['tx_packets']) == (3, 3), vif
    assert vif['vlan'] == 1750 and vif['kind'] == 'vif'
    assert (plain['rx_packets'], plain['tx_packets']) == (1, 1), plain
