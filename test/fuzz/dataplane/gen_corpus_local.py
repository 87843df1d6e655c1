#!/usr/bin/python3
"""Writes the seeds of fuzz_pipeline_local (corpus_local/), byte for byte the same every run.

usage: gen_corpus_local.py [DIR]   (default: corpus_local next to this file)

Each seed is one input in the target's format (fuzz_pipeline_local.cc): a mode byte, then
  mode 0: frames as given, each [length, 16 bits][bytes];
  mode 1: an IPv4 packet to 192.0.2.1 from its fields: protocol selector (0 ESP, 1 UDP, 2 ICMP,
          3 mod 4: the byte itself), source, a fragment field (a byte < 32 then 16 bits, else
          one byte >= 32: none), TTL, payload length (16 bits), payload;
  mode 2: ESP for SA 0x2001 (NULL/HMAC-SHA256-128, the target adds the ICV): sequence number
          (32 bits), plaintext length (16 bits), plaintext (inner packet, padding, trailer);
  mode 4: IPv6 from 2001:db8:ff::2: destination selector (mod 5: ours, into vti0, on-link
          unknown, the solicited-node group, the default route; bit 6: ICMPv6 checksum made
          right), next-header selector (mod 8: 0, 43, 44, 60, 58, 17, 50, the byte itself),
          hop limit, payload length (16 bits), payload.
"""
import os
import struct
import sys


def csum(b):
    s = 0
    for i in range(0, len(b), 2):
        s += (b[i] << 8) + (b[i + 1] if i + 1 < len(b) else 0)
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(proto, src, dst, payload, ttl=64, frag=0):
    h = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0, frag, ttl, proto,
                              0, bytes(src), bytes(dst)))
    h[10:12] = struct.pack('!H', csum(h))
    return bytes(h) + payload


def udp(sport, dport, payload):
    return struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload


PEER = [192, 0, 2, 2]
US = [192, 0, 2, 1]
# IKE_SA_INIT (no responder SPI) and an INFORMATIONAL of an established IKE SA.
IKE_INIT = bytes(8 * [0x11]) + bytes(8) + bytes([33, 0x20, 34, 0x08]) + \
    struct.pack('!II', 0, 28 + 8) + bytes(8)
IKE_INFO = bytes(8 * [0x11]) + bytes(8 * [0x22]) + bytes([46, 0x20, 37, 0x08]) + \
    struct.pack('!II', 2, 28 + 4) + bytes(4)
ICMP_ECHO = bytes([8, 0, 0, 0, 0, 1, 0, 1]) + b'ping'


def mode1(proto, src, payload, ttl=64, frag=None):
    sel = {50: 0, 17: 1, 1: 2}.get(proto, proto)
    assert sel < 3 or sel % 4 == 3
    out = bytes([1, sel]) + bytes(src)
    out += bytes([0]) + struct.pack('!H', frag) if frag is not None else bytes([200])
    return out + bytes([ttl]) + struct.pack('!H', len(payload)) + payload


def trailer(inner, nh=4):
    pad = (4 - (len(inner) + 2) % 4) % 4
    return inner + bytes(range(1, pad + 1)) + bytes([pad, nh])


def mode2(seq, plaintext):
    return bytes([2]) + struct.pack('!IH', seq, len(plaintext)) + plaintext


def mode4(dst, nh, payload, hlim=64, checksum=False):
    sel = {0: 0, 43: 1, 44: 2, 60: 3, 58: 4, 17: 5, 50: 6}[nh]
    return bytes([4, dst | (0x40 if checksum else 0), sel, hlim]) + \
        struct.pack('!H', len(payload)) + payload


def frame(dst, etype, payload):
    return dst + bytes([2, 0, 0, 0, 2, 2]) + struct.pack('!H', etype) + payload


def mode0(*frames):
    return bytes([0]) + b''.join(struct.pack('!H', len(f)) + f for f in frames)


def seeds():
    bcast, group = bytes(6 * [0xff]), bytes([0x01, 0, 0x5e, 0, 0, 1])
    src_mac = bytes([2, 0, 0, 0, 2, 2])
    arp_req = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, src_mac, bytes(PEER), bytes(6),
                          bytes(US))
    arp_rep = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 2, src_mac,
                          bytes([192, 0, 2, 7]), bytes(6), bytes(US))
    return {
        'ike-init-500': mode1(17, PEER, udp(500, 500, IKE_INIT)),
        'ike-info-500': mode1(17, PEER, udp(500, 500, IKE_INFO)),
        'ike-init-4500-marker': mode1(17, PEER, udp(4500, 4500, bytes(4) + IKE_INIT)),
        'natt-keepalive': mode1(17, PEER, udp(4500, 4500, b'\xff')),
        'udp-esp-4500': mode1(17, PEER, udp(4500, 4500, struct.pack('!II', 0x2002, 1) +
                                            bytes(40))),
        'esp-unknown-spi': mode1(50, PEER, struct.pack('!II', 0x3003, 1) + bytes(40)),
        'icmp-echo': mode1(1, [10, 1, 0, 2], ICMP_ECHO),
        'icmp-echo-ttl1': mode1(1, [10, 1, 0, 2], ICMP_ECHO, ttl=1),
        'fragment': mode1(17, PEER, udp(500, 500, IKE_INIT), frag=0x2000),
        'udp-other-port': mode1(17, PEER, udp(1234, 53, b'query')),
        'gre': mode1(47, PEER, bytes(20)),
        'esp-inner-to-lan': mode2(1, trailer(ipv4(17, [10, 2, 0, 2], [10, 1, 0, 2],
                                                  udp(5001, 5001, b'through the tunnel')))),
        'esp-inner-to-us': mode2(2, trailer(ipv4(1, [10, 2, 0, 2], [10, 1, 0, 1], ICMP_ECHO))),
        'esp-inner-unroutable': mode2(3, trailer(ipv4(17, [10, 2, 0, 2], [203, 0, 113, 9],
                                                      udp(1, 2, b'x')))),
        'esp-dummy': mode2(4, trailer(b'', nh=59)),
        'esp-inner-ipv6': mode2(5, trailer(bytes([0x60]) + bytes(39), nh=41)),
        'arp-request': mode0(frame(bcast, 0x0806, arp_req)),
        'arp-unsolicited-reply': mode0(frame(bcast, 0x0806, arp_rep)),
        'vlan-tagged': mode0(frame(group, 0x8100, struct.pack('!HH', 10, 0x0800) +
                                   ipv4(1, PEER, US, ICMP_ECHO))),
        'ipv6': mode0(frame(group, 0x86dd, bytes([0x60]) + bytes(39))),
        'burst-mixed': mode0(
            frame(group, 0x0800, ipv4(1, PEER, US, ICMP_ECHO)),
            frame(bcast, 0x0806, arp_req),
            frame(group, 0x0800, ipv4(17, PEER, US, udp(500, 500, IKE_INFO))),
            frame(group, 0x0800, ipv4(17, [10, 1, 0, 2], [10, 2, 0, 5], udp(7, 7, b'to vti'))),
            frame(group, 0x0800, ipv4(17, [10, 1, 0, 2], [198, 51, 100, 1],
                                      udp(7, 7, b'default route')))),
        'ipv6-echo-to-us': mode4(0, 58, bytes([128, 0, 0, 0, 0, 1, 0, 1]) + b'ping',
                                 checksum=True),
        'ipv6-ns-to-us': mode4(3, 58, bytes([135, 0, 0, 0, 0, 0, 0, 0]) +
                               bytes([0x20, 1, 0xd, 0xb8, 0, 0xff] + 9 * [0] + [1]) +
                               bytes([1, 1, 2, 0, 0, 0, 2, 2]), hlim=255, checksum=True),
        'ipv6-hbh-dstopt-forward': mode4(4, 0, bytes([60, 0, 1, 4, 0, 0, 0, 0,
                                                      17, 0, 1, 4, 0, 0, 0, 0]) +
                                         udp(7, 7, b'x')),
        'ipv6-fragment-cut': mode4(1, 44, bytes([17, 0, 0])),
        'ipv6-hop-limit-1': mode4(2, 17, udp(7, 7, b'hop'), hlim=1),
        'ipv6-esp-to-us': mode4(0, 50, struct.pack('!II', 0x3002, 1) + bytes(48)),
        'ipv6-ike-4500': mode4(0, 17, udp(4500, 4500, bytes(4) + IKE_INIT)),
        # The frame that found the read past a runt's end (commit "pipeline: a runt frame...").
        'runt': mode0(b'\x01\x02\x03'),
    }


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus_local')
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
