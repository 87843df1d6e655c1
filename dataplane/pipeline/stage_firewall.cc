// The firewall's hooks over bursts (docs/DESIGN.md, Firewall): `in` on the receiving interface
// (the VTI for what an SA decrypted), `local` for packets addressed to us, `out` on the sending
// interface (the VTI before encryption, the port after), and zone policies between interfaces.
// Per run of one chain: the packets' ACL keys and session keys are gathered in one pass, the
// sessions looked up in bulk, each packet's state decided (packets of a session this chain
// made pass without rule evaluation, in its direction at this hook or the reverse at the
// opposite one; other chains' sessions only make the state established), and the rest
// classified in one rte_acl_classify call whose four categories are the states, so the
// result for each packet's own state is at hand.
#include <nmmintrin.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>
#include <vector>

#include "dataplane/core/fw_log_record.h"

#include "dataplane/pipeline/worker.h"
#include "dataplane/tables/firewall_acl.h"

namespace portcullis::dp {

namespace {

constexpr uint64_t kFwLogPerSecond = 100;
constexpr uint64_t kFwLogBurst = 200;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

bool IsIcmpError(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

bool IsIcmpQuery(uint8_t type) {
  return type == 0 || type == 8 || type == 13 || type == 14 || type == 15 || type == 16 ||
         type == 17 || type == 18;
}

// What one packet is, for the ACL and the session table (kV6: IPv6's keys).
template <bool kV6>
struct FwPacketT {
  std::conditional_t<kV6, FwKey6, FwKey> key;
  std::conditional_t<kV6, FwSessionKey6, FwSessionKey> skey;
  uint32_t shash;  // skey's FwKeyHash, from its words as they were built
  bool from_a;
  bool related;    // an ICMP error: skey is the session of the packet it quotes
  bool trackable;  // a session can be made for it (a first fragment or whole packet)
  bool fragment;   // IPv4: a fragment, first or later (the stage's fragment table applies)
  // TCP only (read only when the session key's protocol is TCP): the usual packet's parse
  // leaves them unset for other protocols.
  uint8_t tcp_flags;
  uint8_t wscale;              // a SYN's window scale option, kNoWscale without
  uint16_t win;                // TCP: window (host order, unscaled)
  uint32_t seq, ack, seg_end;  // TCP, host order: seg_end = seq + payload (+1 SYN, +1 FIN)
};
using FwPacket = FwPacketT<false>;
using FwPacket6 = FwPacketT<true>;

// The window scale option of a SYN's header (options between 20 and hl bytes).
inline uint8_t Wscale(const uint8_t* tcp, uint32_t hl) {
  uint32_t k = 20;
  while (k < hl) {
    const uint8_t kind = tcp[k];
    if (kind == 0) break;
    if (kind == 1) {
      ++k;
      continue;
    }
    if (k + 1 >= hl || tcp[k + 1] < 2) break;
    if (kind == 3 && tcp[k + 1] == 3 && k + 2 < hl) return std::min<uint8_t>(tcp[k + 2], 14);
    k += tcp[k + 1];
  }
  return kNoWscale;
}

// ICMPv6 errors are types 0-127 (RFC 4443 §2.1); echo request and reply carry an identifier.
inline bool IsIcmp6Echo(uint8_t type) {
  return type == 128 || type == 129;
}

// Ports (or the ICMP query / ICMPv6 echo identifier, the same both ways) of an L4 header at
// l4 with `avail` bytes, as on the wire.
template <bool kV6>
inline void L4Ports(uint8_t proto, const uint8_t* l4, uint32_t avail, uint16_t* sport,
                    uint16_t* dport) {
  *sport = *dport = 0;
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) && avail >= 4) {
    std::memcpy(sport, l4, 2);
    std::memcpy(dport, l4 + 2, 2);
  } else if (kV6 ? proto == IPPROTO_ICMPV6 && avail >= 8 && IsIcmp6Echo(l4[0])
                 : proto == IPPROTO_ICMP && avail >= 8 && IsIcmpQuery(l4[0])) {
    std::memcpy(sport, l4 + 4, 2);
    *dport = *sport;
  }
}

// The upper-layer protocol and offset of an IPv6 packet at p with len bytes: the extension
// headers are walked as Input6 did (it dropped malformed chains already; this one stops at
// anything odd and says no L4 then). *later: a fragment other than the first (no L4 header).
inline uint32_t Upper6(const uint8_t* p, uint32_t len, uint8_t* proto, bool* later) {
  uint8_t nh = p[6];
  uint32_t off = sizeof(rte_ipv6_hdr);
  *later = false;
  for (int k = 0; k < 9; ++k) {
    if (nh == 0 || nh == 43 || nh == 60) {
      if (off + 8 > len) break;
      nh = p[off];
      off += 8 + 8u * p[off + 1];
      continue;
    }
    if (nh == 44) {
      if (off + 8 > len) break;
      *later = ((p[off + 2] << 8 | p[off + 3]) & 0xfff8) != 0;
      nh = p[off];
      off += 8;
      continue;
    }
    *proto = nh;
    return off <= len ? off : len;
  }
  *proto = nh;
  *later = true;  // no L4 header to trust
  return len;
}

// An ICMP or ICMPv6 error: the header it quotes (at q, qlen bytes, its own extension headers
// walked) names the session, which the error travels against; it is `related` and makes none.
template <bool kV6>
inline void QuotedSession(const uint8_t* q, uint32_t qlen, FwPacketT<kV6>* p) {
  uint8_t proto;
  uint32_t off;
  bool ports;
  if constexpr (kV6) {
    proto = q[6];
    bool later = false;
    off = Upper6(q, qlen, &proto, &later);
    ports = !later;
  } else {
    proto = reinterpret_cast<const rte_ipv4_hdr*>(q)->next_proto_id;
    off = (q[0] & 0x0fu) * 4;
    ports = off >= 20 && qlen >= off;
  }
  uint16_t is = 0, id = 0;
  if (ports) L4Ports<kV6>(proto, q + off, qlen - off, &is, &id);
  if constexpr (kV6) {
    p->skey = MakeSessionKey6(proto, q + 8, is, q + 24, id, &p->from_a, &p->shash);
  } else {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(q);
    p->skey = MakeSessionKey(proto, ip->src_addr, is, ip->dst_addr, id, &p->from_a, &p->shash);
  }
  p->from_a = !p->from_a;
  p->related = true;
  p->trackable = false;
}

// The IPv4 ACL key, built as two words in registers and stored once (a key stored field by
// field and then read as words makes the reads wait for the stores: see MakeSessionKey);
// *hash (when given): its FwKeyHash, from the registers.
inline FwKey MakeAclKey(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                        uint32_t* hash = nullptr) {
  static_assert(std::endian::native == std::endian::little);
  const uint64_t w[2] = {proto | (uint64_t{src} << 32),
                         dst | (uint64_t{sport} << 32) | (uint64_t{dport} << 48)};
  if (hash) *hash = FwWordsHash(w);
  FwKey k;
  std::memcpy(&k, w, sizeof k);
  return k;
}

// The IPv6 ACL key the same way: five words (proto and pad, the addresses at bytes 4 and
// 20, the ports at 36), from the header's addresses as they are.
inline FwKey6 MakeAclKey6(uint8_t proto, const uint8_t* src, const uint8_t* dst, uint16_t sport,
                          uint16_t dport, uint32_t* hash = nullptr) {
  static_assert(std::endian::native == std::endian::little);
  uint32_t s0, s3, d0, d3;
  uint64_t s1, d1;
  std::memcpy(&s0, src, 4);
  std::memcpy(&s1, src + 4, 8);
  std::memcpy(&s3, src + 12, 4);
  std::memcpy(&d0, dst, 4);
  std::memcpy(&d1, dst + 4, 8);
  std::memcpy(&d3, dst + 12, 4);
  const uint64_t w[5] = {proto | (uint64_t{s0} << 32), s1, s3 | (uint64_t{d0} << 32), d1,
                         d3 | (uint64_t{sport} << 32) | (uint64_t{dport} << 48)};
  if (hash) *hash = FwWordsHash(w);
  FwKey6 k;
  std::memcpy(&k, w, sizeof k);
  return k;
}

void Parse(const rte_mbuf* m, FwPacket6* p) {
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
  const uint8_t* raw = reinterpret_cast<const uint8_t*>(ip);
  uint8_t proto = ip->proto;
  bool later = false;
  const uint32_t off = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMPV6
                           ? sizeof(rte_ipv6_hdr)
                           : Upper6(raw, m->data_len, &proto, &later);
  p->related = false;
  p->tcp_flags = 0;
  p->wscale = kNoWscale;
  p->win = 0;
  p->seq = p->ack = p->seg_end = 0;
  p->trackable = !later;
  p->fragment = false;  // IPv6's later fragments are classified alone (DESIGN.md, Firewall)
  const uint8_t* l4 = raw + off;
  const uint32_t avail = later || m->data_len < off ? 0 : m->data_len - off;
  uint16_t sport = 0, dport = 0;
  if (proto == IPPROTO_ICMPV6 && avail >= 2) {
    p->key = MakeAclKey6(proto, ip->src_addr, ip->dst_addr, rte_cpu_to_be_16(l4[0]),
                         rte_cpu_to_be_16(l4[1]));
    if (l4[0] < 128 && avail >= 8 + 40) {
      QuotedSession(l4 + 8, avail - 8, p);
      return;
    }
    L4Ports<true>(proto, l4, avail, &sport, &dport);
  } else {
    L4Ports<true>(proto, l4, avail, &sport, &dport);
    p->key = MakeAclKey6(proto, ip->src_addr, ip->dst_addr, sport, dport);
    if (proto == IPPROTO_TCP && avail >= 20) {
      p->tcp_flags = l4[13];
      uint32_t seq, ack;
      uint16_t win;
      std::memcpy(&seq, l4 + 4, 4);
      std::memcpy(&ack, l4 + 8, 4);
      std::memcpy(&win, l4 + 14, 2);
      p->seq = rte_be_to_cpu_32(seq);
      p->ack = rte_be_to_cpu_32(ack);
      p->win = rte_be_to_cpu_16(win);
      const uint32_t thl = (l4[12] >> 4) * 4u;
      const uint32_t total = sizeof(rte_ipv6_hdr) + rte_be_to_cpu_16(ip->payload_len);
      const uint32_t payload = total > off + thl ? total - off - thl : 0;
      p->seg_end = p->seq + payload + ((p->tcp_flags & kTcpSyn) ? 1 : 0) +
                   ((p->tcp_flags & kTcpFin) ? 1 : 0);
      p->wscale = (p->tcp_flags & kTcpSyn) && thl <= avail ? Wscale(l4, thl) : kNoWscale;
    }
  }
  p->skey = MakeSessionKey6(proto, ip->src_addr, sport, ip->dst_addr, dport, &p->from_a, &p->shash);
}

// Only the ACL key and its hash; false: IPv6 has no fragment table (its later fragments are
// classified alone).
inline bool KeyOf(const rte_mbuf* m, FwKey6* k, uint32_t* hash) {
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
  const uint8_t* raw = reinterpret_cast<const uint8_t*>(ip);
  uint8_t proto = ip->proto;
  bool later = false;
  const uint32_t off = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMPV6
                           ? sizeof(rte_ipv6_hdr)
                           : Upper6(raw, m->data_len, &proto, &later);
  uint16_t sport = 0, dport = 0;
  if (!later) {
    const uint8_t* l4 = raw + off;
    const uint32_t avail = m->data_len > off ? m->data_len - off : 0;
    if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) && avail >= 4) {
      std::memcpy(&sport, l4, 2);
      std::memcpy(&dport, l4 + 2, 2);
    } else if (proto == IPPROTO_ICMPV6 && avail >= 2) {
      sport = rte_cpu_to_be_16(l4[0]);
      dport = rte_cpu_to_be_16(l4[1]);
    }
  }
  *k = MakeAclKey6(proto, ip->src_addr, ip->dst_addr, sport, dport, hash);
  return false;
}

constexpr uint16_t kFragBits = RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK);

// The usual IPv4 packet: a whole (unfragmented) UDP or TCP packet with a 20-byte header and its
// L4 header there (TCP's 20 bytes, UDP's ports). Its keys come from three loads (the addresses
// as one word, the ports as one) without the general parse's tests for other protocols,
// options, fragments and short packets; what they would give for it is the same (firewall_test
// checks it through a flow's cache and session hits across both paths).
inline bool Usual(const rte_ipv4_hdr* ip, uint8_t proto, uint16_t data_len) {
  return ip->version_ihl == 0x45 && (ip->fragment_offset & kFragBits) == 0 &&
         ((proto == IPPROTO_UDP && data_len >= 24) || (proto == IPPROTO_TCP && data_len >= 40));
}

// The usual packet's ACL key words: proto and pad | source; destination | ports (FwKey's
// layout, as MakeAclKey's).
inline void UsualWords(const rte_ipv4_hdr* ip, uint8_t proto, uint64_t* addrs, uint32_t* ports,
                       uint64_t w[2]) {
  std::memcpy(addrs, &ip->src_addr, 8);  // source, then destination: adjacent in the header
  std::memcpy(ports, ip + 1, 4);
  w[0] = proto | (*addrs << 32);
  w[1] = (*addrs >> 32) | (uint64_t{*ports} << 32);
}

// The general parse (Parse) for anything that is not Usual.
__attribute__((noinline)) void ParseAny(const rte_mbuf* m, FwPacket* p);

// Inlined into the loops that call it (GCC kept it a call: 14 instructions a packet of saved
// registers and the call).
__attribute__((always_inline)) inline void Parse(const rte_mbuf* m, FwPacket* p) {
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  const uint8_t proto = ip->next_proto_id;
  if (unlikely(!Usual(ip, proto, m->data_len))) {
    ParseAny(m, p);
    return;
  }
  static_assert(std::endian::native == std::endian::little);
  uint64_t addrs;
  uint32_t ports;
  uint64_t w[2];
  UsualWords(ip, proto, &addrs, &ports, w);
  std::memcpy(&p->key, w, sizeof p->key);
  p->related = false;
  p->trackable = true;
  p->fragment = false;
  // TCP's fields are read only for TCP (TrackTcp, InWindow): a UDP packet leaves them.
  if (proto == IPPROTO_TCP) {
    const uint8_t* l4 = reinterpret_cast<const uint8_t*>(ip + 1);
    p->tcp_flags = l4[13];
    uint32_t seq, ack;
    uint16_t win;
    std::memcpy(&seq, l4 + 4, 4);
    std::memcpy(&ack, l4 + 8, 4);
    std::memcpy(&win, l4 + 14, 2);
    p->seq = rte_be_to_cpu_32(seq);
    p->ack = rte_be_to_cpu_32(ack);
    p->win = rte_be_to_cpu_16(win);
    const uint32_t thl = (l4[12] >> 4) * 4u;
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    const uint32_t payload = total > 20 + thl ? total - 20 - thl : 0;
    p->seg_end =
        p->seq + payload + ((p->tcp_flags & kTcpSyn) ? 1 : 0) + ((p->tcp_flags & kTcpFin) ? 1 : 0);
    p->wscale = (p->tcp_flags & kTcpSyn) && thl <= m->data_len - 20u ? Wscale(l4, thl) : kNoWscale;
  }
  p->skey = SessionKeyOfWords(proto, addrs, ports, &p->from_a, &p->shash);
}

void ParseAny(const rte_mbuf* m, FwPacket* p) {
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  const uint32_t hl = (ip->version_ihl & 0x0fu) * 4;
  const uint8_t proto = ip->next_proto_id;
  p->related = false;
  p->tcp_flags = 0;
  p->wscale = kNoWscale;
  p->win = 0;
  p->seq = p->ack = p->seg_end = 0;
  const uint16_t frag = ip->fragment_offset;
  const bool later_fragment = (frag & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) != 0;
  p->trackable = !later_fragment;
  p->fragment = (frag & kFragBits) != 0;
  const uint8_t* l4 = reinterpret_cast<const uint8_t*>(ip) + hl;
  const uint32_t avail = later_fragment || m->data_len < hl ? 0 : m->data_len - hl;
  uint16_t sport = 0, dport = 0;
  if (proto == IPPROTO_ICMP && avail >= 2) {
    p->key = MakeAclKey(proto, ip->src_addr, ip->dst_addr, rte_cpu_to_be_16(l4[0]),
                        rte_cpu_to_be_16(l4[1]));
    if (IsIcmpError(l4[0]) && avail >= 8 + 20) {
      QuotedSession(l4 + 8, avail - 8, p);
      return;
    }
    L4Ports<false>(proto, l4, avail, &sport, &dport);
  } else {
    L4Ports<false>(proto, l4, avail, &sport, &dport);
    p->key = MakeAclKey(proto, ip->src_addr, ip->dst_addr, sport, dport);
    if (proto == IPPROTO_TCP && avail >= 20) {
      p->tcp_flags = l4[13];
      uint32_t seq, ack;
      uint16_t win;
      std::memcpy(&seq, l4 + 4, 4);
      std::memcpy(&ack, l4 + 8, 4);
      std::memcpy(&win, l4 + 14, 2);
      p->seq = rte_be_to_cpu_32(seq);
      p->ack = rte_be_to_cpu_32(ack);
      p->win = rte_be_to_cpu_16(win);
      const uint32_t thl = (l4[12] >> 4) * 4u;
      const uint32_t total = rte_be_to_cpu_16(ip->total_length);
      const uint32_t payload = total > hl + thl ? total - hl - thl : 0;
      p->seg_end = p->seq + payload + ((p->tcp_flags & kTcpSyn) ? 1 : 0) +
                   ((p->tcp_flags & kTcpFin) ? 1 : 0);
      p->wscale = (p->tcp_flags & kTcpSyn) && thl <= avail ? Wscale(l4, thl) : kNoWscale;
    }
  }
  p->skey = MakeSessionKey(proto, ip->src_addr, sport, ip->dst_addr, dport, &p->from_a, &p->shash);
}

// Only the ACL key (no session to find or make here) and its hash; true for a fragment (first
// or later), whose verdict the fragment table keeps or gives. The usual packet's inlined (GCC
// made all of it a call), anything else's a call (KeyOfAny).
__attribute__((noinline)) bool KeyOfAny(const rte_mbuf* m, FwKey* k, uint32_t* hash);
__attribute__((always_inline)) inline bool KeyOf(const rte_mbuf* m, FwKey* k, uint32_t* hash) {
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  const uint8_t proto = ip->next_proto_id;
  if (unlikely(!Usual(ip, proto, m->data_len))) return KeyOfAny(m, k, hash);
  uint64_t addrs;
  uint32_t ports;
  uint64_t w[2];
  UsualWords(ip, proto, &addrs, &ports, w);
  if (hash) *hash = FwWordsHash(w);
  std::memcpy(k, w, sizeof *k);
  return false;
}

bool KeyOfAny(const rte_mbuf* m, FwKey* k, uint32_t* hash) {
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  const uint8_t proto = ip->next_proto_id;
  const uint32_t hl = (ip->version_ihl & 0x0fu) * 4;
  const uint16_t frag = ip->fragment_offset;
  uint16_t sport = 0, dport = 0;
  if (!(frag & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))) {
    const uint8_t* l4 = reinterpret_cast<const uint8_t*>(ip) + hl;
    const uint32_t avail = m->data_len > hl ? m->data_len - hl : 0;
    if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) && avail >= 4) {
      std::memcpy(&sport, l4, 2);
      std::memcpy(&dport, l4 + 2, 2);
    } else if (proto == IPPROTO_ICMP && avail >= 2) {
      sport = rte_cpu_to_be_16(l4[0]);
      dport = rte_cpu_to_be_16(l4[1]);
    }
  }
  *k = MakeAclKey(proto, ip->src_addr, ip->dst_addr, sport, dport, hash);
  return (frag & kFragBits) != 0;
}

inline bool SeqLeq(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) <= 0;
}
inline bool SeqGeq(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) >= 0;
}
constexpr uint32_t kTcpMaxAckWindow = 66000;  // npf's NPF_TCP_MAXACKWIN

// npf's window check (npf_tcp_inwindow, after Rooij's "Real Stateful TCP Packet Filtering"):
// the segment ends within what the receiver allowed, starts no further back than a window,
// and acknowledges nothing the receiver has not sent nor too far back. Updates the sender's
// and receiver's bounds when it passes.
template <class Packet>
bool InWindow(FwSession& s, const Packet& q) {
  auto& f = s.dir[q.from_a ? 0 : 1];
  auto& r = s.dir[q.from_a ? 1 : 0];
  constexpr auto kR = std::memory_order_relaxed;
  const bool syn = q.tcp_flags & kTcpSyn;
  if (syn && q.wscale != kNoWscale) f.wscale.store(q.wscale, kR);
  // Windows scale only when both sides offered it, and never on a SYN.
  const uint8_t fs = f.wscale.load(kR), rs = r.wscale.load(kR);
  const uint32_t win = std::max<uint32_t>(
      1, syn || fs == kNoWscale || rs == kNoWscale ? q.win : uint32_t{q.win} << fs);
  const uint32_t end = q.seg_end;
  if (f.end.load(kR) == 0) {
    // The first packet this way: it sets the sender's bounds.
    f.end.store(end, kR);
    f.maxend.store(end + 1, kR);
    f.maxwin.store(win, kR);
  }
  const uint32_t rend = r.end.load(kR);
  uint32_t ack = q.ack;
  if (!(q.tcp_flags & kTcpAck) || (ack == 0 && (q.tcp_flags & kTcpRst))) ack = rend;
  if (rend != 0) {
    if (!SeqLeq(end, f.maxend.load(kR))) return false;
    if (!SeqGeq(q.seq, f.end.load(kR) - r.maxwin.load(kR))) return false;
    if (!SeqLeq(ack, rend)) return false;
    // How far behind what the other side sent an ACK may lag: a window's worth, scaled as the
    // acker's windows are (npf and pf scale it too). Unscaled, a bulk stream with a window
    // over 64 KB in flight had its ACKs called invalid and dropped.
    const uint32_t lag = fs == kNoWscale || rs == kNoWscale
                             ? kTcpMaxAckWindow
                             : kTcpMaxAckWindow << std::min<uint8_t>(fs, 14);
    if (!SeqGeq(ack, rend - lag)) return false;
  }
  if (SeqLeq(f.end.load(kR), end)) f.end.store(end, kR);
  if (f.maxwin.load(kR) < win) f.maxwin.store(win, kR);
  if (rend != 0 && SeqGeq(ack + win, r.maxend.load(kR))) r.maxend.store(ack + win, kR);
  return true;
}

// The state a TCP packet of a session has, moving the session along; invalid leaves it alone.
// A lone SYN in a closed or closing session is new: the caller remakes the session when a
// rule accepts it.
template <class Packet>
FwCategory TrackTcp(FwSession& s, const Packet& q) {
  const bool from_a = q.from_a;
  const uint8_t flags = q.tcp_flags;
  const bool from_init = from_a == (s.initiator_is_a != 0);
  const bool syn = flags & kTcpSyn, ack = flags & kTcpAck, fin = flags & kTcpFin;
  auto state = static_cast<TcpState>(s.tcp_state.load(std::memory_order_relaxed));
  auto set = [&](TcpState n) {
    s.tcp_state.store(static_cast<uint8_t>(n), std::memory_order_relaxed);
  };
  if (syn && !ack && !(flags & kTcpRst) &&
      (state == TcpState::kClosed || state == TcpState::kClosing || state == TcpState::kFinWait))
    return kFwCatNew;
  if (!InWindow(s, q)) return kFwCatInvalid;
  if (flags & kTcpRst) {
    set(TcpState::kClosed);
    return kFwCatEstablished;
  }
  switch (state) {
    case TcpState::kSynSent:
      if (from_init) return syn && !ack ? kFwCatEstablished : kFwCatInvalid;  // a retransmit
      if (syn && ack) {
        set(TcpState::kSynReceived);
        return kFwCatEstablished;
      }
      return kFwCatInvalid;
    case TcpState::kSynReceived:
      if (from_init) {
        if (syn) return ack ? kFwCatInvalid : kFwCatEstablished;
        if (!ack) return kFwCatInvalid;
        set(TcpState::kEstablished);
        return kFwCatEstablished;
      }
      return ack ? kFwCatEstablished : kFwCatInvalid;
    case TcpState::kEstablished:
    case TcpState::kFinWait:
    case TcpState::kClosing: {
      if (syn) return kFwCatInvalid;
      if (!ack && !fin) return kFwCatInvalid;
      if (fin) {
        const uint8_t bit = from_a ? 1 : 2;
        const uint8_t both = s.fin_from.fetch_or(bit, std::memory_order_relaxed) | bit;
        set(both == 3 ? TcpState::kClosing : TcpState::kFinWait);
      }
      return kFwCatEstablished;
    }
    case TcpState::kClosed:
    case TcpState::kNone:
      break;
  }
  return kFwCatInvalid;
}

}  // namespace

void Worker::FwLog(rte_mbuf* m, uint32_t slot, const FwTables& fw, const FwChain& chain,
                   uint16_t ifx, FwHookIndex hook, uint64_t now, const Tables& t) {
  FwWorkerCounters& c = const_cast<FwWorkerCounters&>(fw.workers[id_]);
  // A token bucket per rule and worker: kFwLogPerSecond, bursts of kFwLogBurst.
  uint64_t& tokens = c.log_tokens[slot];
  uint64_t& refill = c.log_refill_tsc[slot];
  const uint64_t hz = rte_get_tsc_hz();
  if (refill == 0) {
    refill = now;
    tokens = kFwLogBurst;
  }
  const uint64_t earned = (now - refill) * kFwLogPerSecond / hz;
  if (earned > 0) {
    tokens = std::min<uint64_t>(kFwLogBurst, tokens + earned);
    refill = now;
  }
  if (tokens == 0) {
    ++c.suppressed[slot];
    ++stats_->fw_log_suppressed;
    return;
  }
  --tokens;
  const FwRuleInfo& rule = fw.slots[slot];
  FwLogRecord e{};
  e.ruleset_id = rule.ruleset_id;
  e.rule_number = rule.rule_number;
  e.ifindex = ifx;
  e.zone_from = chain.zone_from;
  e.zone_to = chain.zone_to;
  e.hook = hook;
  e.verdict = static_cast<uint8_t>(rule.verdict);
  const auto* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  // In on an Ethernet interface: the frame's MACs are still in front of the IP header.
  const Interface& f = t.ifs[ifx];
  const uint16_t l2 = f.kind == IfKind::kVif ? 18 : 14;
  if (hook == kFwIn && !(Meta(m)->flags & kMetaDecrypted) &&
      (f.kind == IfKind::kPort || f.kind == IfKind::kBond || f.kind == IfKind::kVif) &&
      m->data_off >= l2) {
    e.has_macs = 1;
    std::memcpy(e.dst_mac, ip - l2, 6);
    std::memcpy(e.src_mac, ip - l2 + 6, 6);
  }
  uint32_t hl, l4_off;
  if ((ip[0] >> 4) == 6) {
    // IPv6: the fixed header (Vyatta's v6=(...) reads nothing else of it), and the upper
    // layer's first bytes past the extension headers (none from a later fragment).
    hl = std::min<uint32_t>(sizeof(rte_ipv6_hdr), m->data_len);
    uint8_t proto = hl == sizeof(rte_ipv6_hdr) ? ip[6] : 59;
    bool later = false;
    l4_off = hl < sizeof(rte_ipv6_hdr) ? hl : Upper6(ip, m->data_len, &proto, &later);
    if (later) l4_off = m->data_len;
    // The upper layer's protocol, past the extension headers, after the header (byte 40):
    // Vyatta names it in `proto=` while `nxt:` is the header's own next header.
    if (hl == sizeof(rte_ipv6_hdr)) {
      std::memcpy(e.l3, ip, hl);
      e.l3[hl] = proto;
      e.l3_length = static_cast<uint16_t>(hl + 1);
    } else {
      std::memcpy(e.l3, ip, hl);
      e.l3_length = static_cast<uint16_t>(hl);
    }
  } else {
    hl = l4_off = std::min<uint32_t>((ip[0] & 0x0fu) * 4, m->data_len);
    e.l3_length = static_cast<uint16_t>(std::min<uint32_t>(hl, sizeof e.l3));
    std::memcpy(e.l3, ip, e.l3_length);
  }
  e.l4_length = static_cast<uint16_t>(std::min<uint32_t>(m->data_len - l4_off, sizeof e.l4));
  std::memcpy(e.l4, ip + l4_off, e.l4_length);
  if (rte_ring_mp_enqueue_elem(dp_.fw_log_ring, &e, sizeof e) == 0) {
    ++stats_->fw_log_sent;
  } else {
    ++stats_->fw_log_lost;  // never waited for
  }
}

namespace {
constexpr uint64_t kFwFragTtlSeconds = 30;  // as a reassembly timeout

inline uint32_t FragIndex(const rte_ipv4_hdr* ip) {
  uint32_t h = rte_hash_crc_4byte(ip->src_addr, ip->dst_addr);
  h = rte_hash_crc_4byte(uint32_t{ip->packet_id} << 8 | ip->next_proto_id, h);
  return h;
}
}  // namespace

void Worker::FwFragRecord(const rte_ipv4_hdr* ip, const FwChain& chain, uint32_t slot) {
  FwFrag& e = fw_frags_[FragIndex(ip) % kFwFrags];
  e = FwFrag{ip->src_addr, ip->dst_addr, ip->packet_id, ip->next_proto_id, 1,
             slot,         &chain,       rte_rdtsc()};
}

uint32_t Worker::FwFragFind(const rte_ipv4_hdr* ip, const FwChain& chain) {
  const FwFrag& e = fw_frags_[FragIndex(ip) % kFwFrags];
  if (!e.used || e.src != ip->src_addr || e.dst != ip->dst_addr || e.id != ip->packet_id ||
      e.proto != ip->next_proto_id || e.chain != &chain ||
      rte_rdtsc() - e.tsc > kFwFragTtlSeconds * rte_get_tsc_hz())
    return kFwFragNone;
  return e.slot;
}

// A fragment in the plain path: a first one records its slot, a later one takes its first's.
uint32_t Worker::FwFragment(const rte_ipv4_hdr* ip, const FwChain& chain, uint32_t slot) {
  if (!(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))) {
    FwFragRecord(ip, chain, slot);
    return slot;
  }
  const uint32_t got = FwFragFind(ip, chain);
  return got == kFwFragNone || got == kFwFragPass ? slot : got;
}

template <class Key>
void Worker::FwClassify(const FwChain& chain, Key* const* keys, const uint8_t* cats, uint16_t n,
                        uint32_t ncat, uint32_t* out, const uint32_t* hashes) {
  if (chain.acl == nullptr) {
    std::memset(out, 0, sizeof(uint32_t) * n);
    return;
  }
  FwVerdictCache<Key>& cache = FwVerdicts<Key>();
  const uint32_t tag = chain.tag;
  const uint8_t* data[kBurst];
  uint16_t miss[kBurst];
  uint16_t nm = 0;
  if (!cache.Use()) {
    // Too few hits lately (many more flows than entries): classify as without the cache.
    uint32_t results[kBurst * kFwCategories];
    for (uint16_t k = 0; k < n; ++k) data[k] = reinterpret_cast<const uint8_t*>(keys[k]);
    rte_acl_classify(chain.acl, data, results, n, ncat);
    if (ncat == 1) {
      std::memcpy(out, results, sizeof(uint32_t) * n);
    } else {
      for (uint16_t k = 0; k < n; ++k) out[k] = results[k * ncat + cats[k]];
    }
    if (cache.Sample()) {
      // A sampled run remembers what it classified, the buckets asked for first as a probe's.
      uint32_t hk[kBurst];
      for (uint16_t k = 0; k < n; ++k) {
        hk[k] = hashes ? hashes[k] : cache.Hash(*keys[k]);
        cache.Prefetch(hk[k]);
      }
      for (uint16_t k = 0; k < n; ++k) cache.Remember(hk[k], *keys[k], tag, out[k]);
    }
    return;
  }
  // The state is part of what the chain answers when it has more than one category: the
  // caller put it in the pad byte (no ACL field) as it gathered the keys. Not here: the hash
  // reads that byte's word at once, and an 8-byte load of a byte just stored waits for the
  // store to reach the cache (half of FwClassify's time by perf when it was stored here).
  uint32_t own[kBurst];
  const uint32_t* hk = hashes;  // with its buckets asked for by the caller
  if (hk == nullptr) {
    for (uint16_t k = 0; k < n; ++k) {
      own[k] = cache.Hash(*keys[k]);
      cache.Prefetch(own[k]);
    }
    hk = own;
  }
  for (uint16_t k = 0; k < n; ++k) {
    const Key& key = *keys[k];
    if (const uint32_t* r = cache.Find(key, tag, hk[k])) {
      out[k] = *r;
      continue;
    }
    data[nm] = reinterpret_cast<const uint8_t*>(&key);
    miss[nm++] = k;
  }
  cache.Count(n, nm);
  if (nm == 0) return;
  uint32_t results[kBurst * kFwCategories];
  rte_acl_classify(chain.acl, data, results, nm, ncat);
  for (uint16_t j = 0; j < nm; ++j) {
    const uint16_t k = miss[j];
    const uint32_t r = results[j * ncat + (ncat == 1 ? 0 : cats[k])];
    out[k] = r;
    cache.Remember(hk[k], *keys[k], tag, r);
  }
}

template <bool kV6>
uint16_t Worker::FwEvaluate(rte_mbuf** pkts, uint16_t n, const FwChain& chain, const FwTables& fw,
                            uint16_t ifx, FwHookIndex hook, FwOwner owner, bool owner_stateful,
                            const Tables& t, int depth) {
  using Key = std::conditional_t<kV6, FwKey6, FwKey>;
  using SKey = std::conditional_t<kV6, FwSessionKey6, FwSessionKey>;
  constexpr uint8_t kIcmp = kV6 ? uint8_t{IPPROTO_ICMPV6} : uint8_t{IPPROTO_ICMP};
  FwSessionTable& sessions = kV6 ? *dp_.sessions6 : *dp_.sessions;
  FwWorkerCounters& counters = const_cast<FwWorkerCounters&>(fw.workers[id_]);
  // A run of packets counted on one slot is added to the counters at once: incremented per
  // packet, each add waited for the previous packet's store to the same counter (a chain of
  // store-to-load forwards through the burst, most of this function's verdict loop by perf).
  // While the run's slot accepts without logging (pass_slot: that slot, else none), its next
  // packets are only counted: the rule is not read again for each.
  struct {
    uint32_t slot = ~0u, pass_slot = ~0u;
    uint64_t packets = 0, bytes = 0;
  } run;
  uint16_t dropped = 0;
  auto flush = [&]() __attribute__((always_inline)) {
    if (run.packets == 0) return;
    counters.packets[run.slot] += run.packets;
    counters.bytes[run.slot] += run.bytes;
    run.packets = run.bytes = 0;
  };
  // Counts, logs and carries out a decisive verdict; false: the packet is gone.
  auto apply = [&](rte_mbuf * m, uint32_t slot, uint64_t now) __attribute__((always_inline)) {
    if (likely(slot == run.pass_slot)) {
      ++run.packets;
      run.bytes += m->pkt_len;
      return true;
    }
    const FwRuleInfo& rule = fw.slots[slot];
    if (slot != run.slot) {
      flush();
      run.slot = slot;
      run.pass_slot = rule.verdict == FwVerdict::kAccept && !rule.log ? slot : ~0u;
    }
    ++run.packets;
    run.bytes += m->pkt_len;
    if (unlikely(rule.log)) FwLog(m, slot, fw, chain, ifx, hook, now, t);
    if (likely(rule.verdict == FwVerdict::kAccept)) return true;
    ++dropped;
    if (rule.verdict == FwVerdict::kReject) {
      if constexpr (kV6) {
        FwReject6(m, t, depth);
      } else {
        FwReject(m, t, depth);
      }
      DropPkt(m, ifx, Drop::kFirewallReject);
    } else {
      DropPkt(m, ifx, Drop::kFirewallDrop);
    }
    return false;
  };
  if (!owner_stateful && !fw.any_global_state) {
    // No chain of this interface (zone pair, either way) makes sessions, so none passes a
    // packet here, and no rule here cares about state: the ACL alone, in one category,
    // without a session lookup.
    // Not zeroed: FwClassify reads only the n set (`= {}` was a `rep stos` of 512 bytes per
    // call, 5% of this function by perf).
    Key keys[kBurst];
    Key* kp[kBurst];
    uint32_t hk[kBurst];  // the keys' hashes, from the words before they are stored
    uint32_t results[kBurst];
    // Whether the burst has a fragment: the rare burst that has is looked at again packet by
    // packet (a bit per packet, or'd into memory, was 5 instructions a packet of every burst).
    bool frags = false;
    // The keys, their hashes and (when FwClassify will probe) their buckets asked for, in one
    // pass: the hash from the key's words in registers, not read back from the stack.
    FwVerdictCache<Key>& cache = FwVerdicts<Key>();
    const bool probing = chain.acl != nullptr && cache.Probing();
    if (probing) {
      for (uint16_t i = 0; i < n; ++i) {
        frags |= KeyOf(pkts[i], &keys[i], &hk[i]);
        kp[i] = &keys[i];
        cache.Prefetch(hk[i]);
      }
    } else {
      // Backed off (or no rules): no hash unless a sampled run asks (FwClassify then has it).
      for (uint16_t i = 0; i < n; ++i) {
        frags |= KeyOf(pkts[i], &keys[i], nullptr);
        kp[i] = &keys[i];
      }
    }
    // GCC takes a pointer-to-const argument for a read of the whole array and cannot see that
    // the loop above set the n entries FwClassify reads: only this call is exempt.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
    FwClassify(chain, kp, nullptr, n, 1, results, probing ? hk : nullptr);
#pragma GCC diagnostic pop
    const uint64_t now = chain.has_log ? rte_rdtsc() : 0;
    const uint32_t dflt = chain.default_slot;
    if (kV6 || likely(!frags)) {
      // No fragment in the burst (decided once, not per packet).
      for (uint16_t i = 0; i < n;) {
        const uint32_t slot = results[i] != 0 ? results[i] - 1 : dflt;
        if (!apply(pkts[i], slot, now)) pkts[i] = nullptr;
        ++i;
        if (slot != run.pass_slot) continue;
        // The packets after it on the same accepting slot (a burst of one flow, or of flows
        // one rule accepts): only counted, in registers rather than in `run` on the stack.
        // The slot's rule answers slot + 1; no match (0) is the default's.
        const uint32_t want = slot + 1;
        const bool is_dflt = slot == dflt;
        uint64_t packets = 0, bytes = 0;
        for (; i < n && (results[i] == want || (results[i] == 0 && is_dflt)); ++i) {
          ++packets;
          bytes += pkts[i]->pkt_len;
        }
        run.packets += packets;
        run.bytes += bytes;
      }
    } else {
      for (uint16_t i = 0; i < n; ++i) {
        uint32_t slot = results[i] != 0 ? results[i] - 1 : dflt;
        const auto* ip = rte_pktmbuf_mtod(pkts[i], const rte_ipv4_hdr*);
        if (ip->fragment_offset & kFragBits) slot = FwFragment(ip, chain, slot);
        if (!apply(pkts[i], slot, now)) pkts[i] = nullptr;
      }
    }
    flush();
    return dropped;
  }
  FwPacketT<kV6> p[kBurst];
  const SKey* skeys[kBurst];
  uint32_t shash[kBurst];
  int32_t found[kBurst];
  const int meta_off = g_meta_offset;
  // The session cache's buckets asked for as each key's hash is known: the rest of the
  // burst's parsing passes before the probes read them.
  const bool sprobe = !sessions.empty() && sessions.Probing(id_);
  const auto view = sessions.View<SKey>(id_);
  for (uint16_t i = 0; i < n; ++i) {
    Parse(pkts[i], &p[i]);
    skeys[i] = &p[i].skey;
    shash[i] = p[i].shash;
    if (sprobe) view.Prefetch(p[i].shash);
  }
  sessions.Lookup(id_, skeys, n, found, shash, sprobe);
  const uint64_t now = rte_rdtsc();
  // Each packet's state; those of this chain's sessions pass here, the rest are classified.
  uint8_t state[kBurst];
  Key* data[kBurst];
  uint16_t which[kBurst];
  int32_t restart[kBurst];  // a closed TCP session a new SYN remakes, if a rule accepts it
  uint16_t nc = 0;
  uint32_t forced[kBurst];  // a later fragment's slot, from its first fragment
  // With no state in the chain's rules every category answers alike: one is enough.
  const uint32_t ncat = chain.uses_state ? kFwCategories : 1;
  for (uint16_t i = 0; i < n; ++i) {
    FwPacketT<kV6>& q = p[i];
    FwCategory c;
    // Written only for the packets classified below (a session's packet passes without).
    int32_t rs = -1;
    // IPv4 fragments: a later one meets what its first met. IPv6's later fragments are
    // classified alone, with their protocol and no ports (docs/DESIGN.md, Firewall).
    if (!kV6 && unlikely(q.fragment)) {
      const auto* ip = rte_pktmbuf_mtod(pkts[i], const rte_ipv4_hdr*);
      if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) {
        // A later fragment: what its first fragment met here, if this worker saw it.
        const uint32_t got = FwFragFind(ip, chain);
        if (got == kFwFragPass) continue;
        if (got != kFwFragNone) {
          forced[nc] = got;
          restart[nc] = -1;
          state[nc] = kFwCatEstablished;
          if (ncat != 1) q.key.pad[0] = kFwCatEstablished;  // FwClassify's cache key
          data[nc] = &q.key;
          which[nc++] = i;
          continue;
        }
      } else if (found[i] >= 0) {
        // A first fragment: if it passes as a session's below, so do the rest.
        FwFragRecord(ip, chain, kFwFragPass);
      }
    }
    if (found[i] >= 0) {
      FwSession& s = sessions.At(found[i]);
      const bool from_init = q.from_a == (s.initiator_is_a != 0);
      if (q.related) {
        c = kFwCatRelated;
      } else {
        c = q.skey.proto == IPPROTO_TCP ? TrackTcp(s, q) : kFwCatEstablished;
        if (c != kFwCatInvalid && !from_init) s.replied.store(1, std::memory_order_relaxed);
      }
      if (c == kFwCatNew) {
        rs = found[i];
      } else if (c != kFwCatInvalid) {
        s.last_tsc.store(now, std::memory_order_relaxed);
        // This chain's session, in its direction here: no rule evaluation.
        if (s.owner == owner.id && (from_init ? s.pass_fwd == owner.fwd : s.pass_rev == owner.fwd))
          continue;
        // The packet that made the session (at another chain) is still new here.
        if (Meta(pkts[i], meta_off)->flags & kMetaFwSession) c = kFwCatNew;
      }
    } else if (q.related) {
      c = kFwCatInvalid;  // an error about nothing we let through
    } else if (q.skey.proto == IPPROTO_TCP) {
      const uint8_t f = q.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst | kTcpFin);
      c = f == kTcpSyn ? kFwCatNew : kFwCatInvalid;
    } else {
      c = kFwCatNew;
    }
    state[nc] = c;
    restart[nc] = rs;
    forced[nc] = kFwFragNone;
    if (ncat != 1) q.key.pad[0] = c;  // FwClassify's cache key (Parse left it 0)
    data[nc] = &q.key;
    which[nc++] = i;
  }
  if (nc == 0) return 0;
  uint32_t results[kBurst];
  FwClassify(chain, data, state, nc, ncat, results);
  for (uint16_t k = 0; k < nc; ++k) {
    const uint16_t i = which[k];
    rte_mbuf* m = pkts[i];
    const uint32_t r = results[k];
    uint32_t slot = r != 0 ? r - 1 : chain.default_slot;
    if (unlikely(forced[k] != kFwFragNone)) {
      slot = forced[k];
    } else if (!kV6 && unlikely(p[i].fragment) &&
               (rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->fragment_offset &
                RTE_BE16(RTE_IPV4_HDR_MF_FLAG))) {
      FwFragRecord(rte_pktmbuf_mtod(m, const rte_ipv4_hdr*), chain, slot);
    }
    const FwRuleInfo& rule = fw.slots[slot];
    if (!apply(m, slot, now)) {
      pkts[i] = nullptr;
      continue;
    }
    // Accepted and new: a session when its ruleset uses state or the global policy says so.
    if (state[k] != kFwCatNew || !p[i].trackable) continue;
    // Found (another chain's, this packet made it): the flow has its session.
    if (Meta(m, meta_off)->flags & kMetaFwSession) continue;
    const uint8_t proto = p[i].skey.proto;
    const bool track = rule.stateful || (proto == IPPROTO_TCP && fw.state_tcp) ||
                       (proto == IPPROTO_UDP && fw.state_udp) || (proto == kIcmp && fw.state_icmp);
    if (!track) continue;
    int32_t got = restart[k];
    if (got >= 0) {
      sessions.Restart(got, p[i].from_a, now, owner);  // a new connection on the same ports
    } else {
      got =
          sessions.Insert(id_, p[i].skey, p[i].from_a,
                          proto == IPPROTO_TCP ? TcpState::kSynSent : TcpState::kNone, now, owner);
    }
    if (got == -1) {
      DropPkt(m, ifx, Drop::kFirewallSessionFull);
      pkts[i] = nullptr;
      ++dropped;
    } else if (got >= 0) {
      Meta(m, meta_off)->flags |= kMetaFwSession;
      if (proto == IPPROTO_TCP) InWindow(sessions.At(got), p[i]);  // the SYN's bounds
    }
  }
  flush();
  return dropped;
}

namespace {
// Sessions of an interface's hooks: made at `in` or `local`, the replies pass at `out`; made at
// `out`, at `in` (FwOwner).
inline FwOwner HookOwner(uint16_t ifx, FwHookIndex hook) {
  return FwOwner{ifx, static_cast<uint8_t>(hook + 1),
                 static_cast<uint8_t>((hook == kFwOut ? kFwIn : kFwOut) + 1)};
}

// One family's chains.
template <bool kV6>
inline const std::vector<std::array<const FwChain*, kFwHooks>>& Hooks(const FwTables& fw) {
  return kV6 ? fw.hooks6 : fw.hooks;
}
template <bool kV6>
inline const FwChain* ZonePair(const FwTables& fw, uint8_t from, uint8_t to) {
  return kV6 ? fw.zone_pairs6[from][to] : fw.zone_pairs[from][to];
}

// A chain of the interface makes sessions (whose packets may pass at any of its hooks).
template <bool kV6>
inline bool IfStateful(const FwTables& fw, uint16_t ifx) {
  const FwChain* const* h = Hooks<kV6>(fw)[ifx].data();
  return (h[kFwIn] && h[kFwIn]->uses_state) || (h[kFwOut] && h[kFwOut]->uses_state) ||
         (h[kFwLocal] && h[kFwLocal]->uses_state);
}

// The zone pair makes sessions, one way or the other.
template <bool kV6>
inline bool ZoneStateful(const FwTables& fw, uint8_t from, uint8_t to) {
  const FwChain* a = ZonePair<kV6>(fw, from, to);
  const FwChain* b = ZonePair<kV6>(fw, to, from);
  return (a && a->uses_state) || (b && b->uses_state);
}

// Sessions of a zone pair, whichever way: the replies pass from the zone the flow went to.
inline FwOwner ZoneOwner(uint8_t from, uint8_t to) {
  const uint8_t lo = std::min(from, to), hi = std::max(from, to);
  return FwOwner{static_cast<uint16_t>(kFwZoneOwner | (lo << 5) | hi), from, to};
}

// Takes out the nullptrs a chain left, keeping aux alongside.
inline uint16_t Compact(rte_mbuf** pkts, uint16_t n, uint32_t* aux) {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (pkts[i] == nullptr) continue;
    if (aux) aux[kept] = aux[i];
    pkts[kept++] = pkts[i];
  }
  return kept;
}

// Calls f(run, count, ifindex) for each run of consecutive packets that arrived on one
// interface: the hooks and zone checks decide per receiving interface.
template <typename F>
inline void ForEachInterfaceRun(rte_mbuf** pkts, uint16_t n, F&& f) {
  const int meta_off = g_meta_offset;  // read once (Meta(m) loads it for every packet)
  uint16_t i = 0;
  while (i < n) {
    const uint16_t ifx = Meta(pkts[i], meta_off)->in_ifindex;
    uint16_t j = i + 1;
    while (j < n && Meta(pkts[j], meta_off)->in_ifindex == ifx) ++j;
    f(pkts + i, static_cast<uint16_t>(j - i), ifx);
    i = j;
  }
}

// Calls f(run, count) for each run of packets a chain left (the ones it dropped are nullptr).
template <typename F>
inline void ForEachSurvivorRun(rte_mbuf** pkts, uint16_t n, F&& f) {
  uint16_t k = 0;
  while (k < n) {
    if (pkts[k] == nullptr) {
      ++k;
      continue;
    }
    uint16_t e = k + 1;
    while (e < n && pkts[e] != nullptr) ++e;
    f(pkts + k, static_cast<uint16_t>(e - k));
    k = e;
  }
}
}  // namespace

template <bool kV6>
uint16_t Worker::FwIn(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth, uint32_t* aux) {
  const FwTables& fw = *t.fw;
  uint16_t dropped = 0;  // none: nothing to compact
  ForEachInterfaceRun(pkts, n, [&](rte_mbuf** run, uint16_t rn, uint16_t ifx) {
    if (const FwChain* c = Hooks<kV6>(fw)[ifx][kFwIn]) {
      // IPv6 that an SA of no VTI or VFP decrypted keeps the port its ESP came in on, whose
      // `in` saw the ESP already; IPv4's Decrypted calls `in` only for tunnels, so here too.
      // (A call of Input6 holds either decrypted or received packets, never both.)
      if (kV6 && (Meta(run[0])->flags & kMetaDecrypted) && t.ifs[ifx].kind != IfKind::kVti &&
          t.ifs[ifx].kind != IfKind::kVfp)
        return;
      dropped += FwEvaluate<kV6>(run, rn, *c, fw, ifx, kFwIn, HookOwner(ifx, kFwIn),
                                 IfStateful<kV6>(fw, ifx), t, depth);
    }
  });
  return dropped ? Compact(pkts, n, aux) : n;
}

template <bool kV6>
uint16_t Worker::FwLocal(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth) {
  const FwTables& fw = *t.fw;
  bool any = false;
  ForEachInterfaceRun(pkts, n, [&](rte_mbuf** run, uint16_t rn, uint16_t ifx) {
    if (const FwChain* c = Hooks<kV6>(fw)[ifx][kFwLocal]) {
      if (FwEvaluate<kV6>(run, rn, *c, fw, ifx, kFwLocal, HookOwner(ifx, kFwLocal),
                          IfStateful<kV6>(fw, ifx), t, depth))
        any = true;
    }
    // The local zone: traffic to the appliance from a zone needs that zone's policy to it.
    const uint8_t from = fw.zone_of[ifx];
    if (fw.local_zone != 0 && from != 0) {
      any = true;
      // Packets the chain above dropped are gone already: each run of survivors in turn.
      const FwOwner owner = ZoneOwner(from, fw.local_zone);
      if (const FwChain* c = ZonePair<kV6>(fw, from, fw.local_zone)) {
        ForEachSurvivorRun(run, rn, [&](rte_mbuf** p, uint16_t m) {
          FwEvaluate<kV6>(p, m, *c, fw, ifx, kFwLocal, owner,
                          ZoneStateful<kV6>(fw, from, fw.local_zone), t, depth);
        });
      } else {
        ForEachSurvivorRun(
            run, rn, [&](rte_mbuf** p, uint16_t m) { FwNoZonePolicy<kV6>(p, m, owner, ifx); });
      }
    }
  });
  return any ? Compact(pkts, n, nullptr) : n;
}

template <bool kV6>
uint16_t Worker::FwOut(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const Tables& t, int depth) {
  const FwTables& fw = *t.fw;
  const FwChain* c = Hooks<kV6>(fw)[ifx][kFwOut];
  if (c == nullptr) return n;
  if (FwEvaluate<kV6>(pkts, n, *c, fw, ifx, kFwOut, HookOwner(ifx, kFwOut),
                      IfStateful<kV6>(fw, ifx), t, depth) == 0)
    return n;
  return Compact(pkts, n, nullptr);
}

template <bool kV6>
uint16_t Worker::FwZones(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const Tables& t, int depth) {
  const FwTables& fw = *t.fw;
  const uint8_t to = fw.zone_of[ifx];
  bool any = false;
  ForEachInterfaceRun(pkts, n, [&](rte_mbuf** run, uint16_t rn, uint16_t in) {
    const uint8_t from = fw.zone_of[in];
    // Within a zone, and between interfaces in no zone, traffic passes.
    if (from == to) return;
    const FwChain* c = from != 0 && to != 0 ? ZonePair<kV6>(fw, from, to) : nullptr;
    if (c != nullptr) {
      if (FwEvaluate<kV6>(run, rn, *c, fw, ifx, kFwOut, ZoneOwner(from, to),
                          ZoneStateful<kV6>(fw, from, to), t, depth) == 0)
        return;
      any = true;
    } else if (from != 0 && to != 0) {
      any = true;
      FwNoZonePolicy<kV6>(run, rn, ZoneOwner(from, to), in);
    } else {
      any = true;
      for (uint16_t k = 0; k < rn; ++k) {
        DropPkt(run[k], in, Drop::kFirewallNoZonePolicy);
        run[k] = nullptr;
      }
    }
  });
  return any ? Compact(pkts, n, nullptr) : n;
}

template <bool kV6>
uint16_t Worker::FwFromLocal(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const Tables& t,
                             int depth) {
  const FwTables& fw = *t.fw;
  const uint8_t from = fw.local_zone, to = fw.zone_of[ifx];
  // Vyatta: what the router sends is allowed unless a policy from the local zone to the
  // sending interface's zone drops it; the caller calls only when there is one.
  if (FwEvaluate<kV6>(pkts, n, *ZonePair<kV6>(fw, from, to), fw, ifx, kFwOut, ZoneOwner(from, to),
                      ZoneStateful<kV6>(fw, from, to), t, depth) == 0)
    return n;
  return Compact(pkts, n, nullptr);
}

template <bool kV6>
void Worker::FwNoZonePolicy(rte_mbuf** pkts, uint16_t n, FwOwner owner, uint16_t count_ifx) {
  FwSessionTable& sessions = kV6 ? *dp_.sessions6 : *dp_.sessions;
  int32_t found[kBurst];
  FwPacketT<kV6> p[kBurst];
  if (sessions.empty()) {
    std::fill(found, found + n, -1);
  } else {
    const std::conditional_t<kV6, FwSessionKey6, FwSessionKey>* skeys[kBurst];
    uint32_t shash[kBurst];
    for (uint16_t i = 0; i < n; ++i) {
      Parse(pkts[i], &p[i]);
      skeys[i] = &p[i].skey;
      shash[i] = p[i].shash;
    }
    sessions.Lookup(id_, skeys, n, found, shash);
  }
  const uint64_t now = rte_rdtsc();
  for (uint16_t i = 0; i < n; ++i) {
    if (found[i] >= 0) {
      // The replies (or the flow's later packets) of a session the opposite policy made.
      FwSession& s = sessions.At(found[i]);
      const bool from_init = p[i].from_a == (s.initiator_is_a != 0);
      FwCategory c = kFwCatRelated;
      if (!p[i].related) c = p[i].skey.proto == IPPROTO_TCP ? TrackTcp(s, p[i]) : kFwCatEstablished;
      if (c != kFwCatInvalid && c != kFwCatNew && s.owner == owner.id &&
          (from_init ? s.pass_fwd == owner.fwd : s.pass_rev == owner.fwd)) {
        if (!p[i].related && !from_init) s.replied.store(1, std::memory_order_relaxed);
        s.last_tsc.store(now, std::memory_order_relaxed);
        continue;
      }
    }
    DropPkt(pkts[i], count_ifx, Drop::kFirewallNoZonePolicy);
    pkts[i] = nullptr;
  }
}

void Worker::FwReject(rte_mbuf* orig, const Tables& t, int depth) {
  auto* oip = rte_pktmbuf_mtod(orig, const rte_ipv4_hdr*);
  // Our own packet (a policy from the local zone rejects it): nobody to answer.
  if (dp_.fib->next_hop(dp_.fib->Lookup(oip->src_addr)).type == NhType::kLocal) return;
  const uint32_t hl = (oip->version_ihl & 0x0fu) * 4;
  if (oip->next_proto_id != IPPROTO_TCP) {
    IcmpError(orig, 3, 3, 0, t, depth);  // port unreachable
    return;
  }
  if (oip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) return;
  if (orig->data_len < hl + sizeof(rte_tcp_hdr)) return;
  const auto* otcp =
      reinterpret_cast<const rte_tcp_hdr*>(reinterpret_cast<const uint8_t*>(oip) + hl);
  if (otcp->tcp_flags & RTE_TCP_RST_FLAG) return;  // never answer a reset
  if (!IcmpToken()) return;
  rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool);
  if (m == nullptr) return;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(
      rte_pktmbuf_append(m, sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr)));
  if (ip == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  std::memset(ip, 0, sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr));
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_TCP;
  // From the address the packet was sent to (RFC 793: the reset comes from the "other end").
  ip->src_addr = oip->dst_addr;
  ip->dst_addr = oip->src_addr;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  tcp->src_port = otcp->dst_port;
  tcp->dst_port = otcp->src_port;
  tcp->data_off = 5 << 4;
  // RFC 793 reset generation: with an ACK, SEQ = its ACK; otherwise SEQ 0 and ACK what it
  // sent (SYN and FIN count one).
  if (otcp->tcp_flags & RTE_TCP_ACK_FLAG) {
    tcp->sent_seq = otcp->recv_ack;
    tcp->tcp_flags = RTE_TCP_RST_FLAG;
  } else {
    const uint32_t len = rte_be_to_cpu_16(oip->total_length) - hl - ((otcp->data_off >> 4) * 4) +
                         ((otcp->tcp_flags & RTE_TCP_SYN_FLAG) ? 1 : 0) +
                         ((otcp->tcp_flags & RTE_TCP_FIN_FLAG) ? 1 : 0);
    tcp->recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(otcp->sent_seq) + len);
    tcp->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
  }
  tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
  m->l3_len = sizeof(rte_ipv4_hdr);
  *Meta(m) = PacketMeta{Meta(orig)->in_ifindex, 0, 0, PktKind::kNone, 0, 0, 0};
  ++stats_->icmp_sent;
  Forward(&m, 1, t, /*transit=*/false, depth);
}

void Worker::FwReject6(rte_mbuf* orig, const Tables& t, int depth) {
  const auto* oip = rte_pktmbuf_mtod(orig, const rte_ipv6_hdr*);
  // Our own packet (an `out` or local-zone rule rejects it): nobody to answer.
  if (dp_.fib6->next_hop(dp_.fib6->Lookup(oip->src_addr)).type == NhType::kLocal) return;
  uint8_t proto = oip->proto;
  bool later = false;
  const uint32_t off =
      Upper6(rte_pktmbuf_mtod(orig, const uint8_t*), orig->data_len, &proto, &later);
  if (proto != IPPROTO_TCP) {
    Icmp6Error(orig, 1, 4, 0, t, depth);  // destination unreachable, port unreachable
    return;
  }
  if (later || orig->data_len < off + sizeof(rte_tcp_hdr)) return;
  const auto* otcp = rte_pktmbuf_mtod_offset(orig, const rte_tcp_hdr*, off);
  if (otcp->tcp_flags & RTE_TCP_RST_FLAG) return;  // never answer a reset
  if (!IcmpToken()) return;
  rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool);
  if (m == nullptr) return;
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(
      rte_pktmbuf_append(m, sizeof(rte_ipv6_hdr) + sizeof(rte_tcp_hdr)));
  if (ip == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  std::memset(ip, 0, sizeof(rte_ipv6_hdr) + sizeof(rte_tcp_hdr));
  ip->vtc_flow = RTE_BE32(0x60000000);
  ip->payload_len = RTE_BE16(sizeof(rte_tcp_hdr));
  ip->proto = IPPROTO_TCP;
  ip->hop_limits = 64;
  // From the address the packet was sent to, as IPv4's reset.
  std::memcpy(ip->src_addr, oip->dst_addr, 16);
  std::memcpy(ip->dst_addr, oip->src_addr, 16);
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  tcp->src_port = otcp->dst_port;
  tcp->dst_port = otcp->src_port;
  tcp->data_off = 5 << 4;
  if (otcp->tcp_flags & RTE_TCP_ACK_FLAG) {
    tcp->sent_seq = otcp->recv_ack;
    tcp->tcp_flags = RTE_TCP_RST_FLAG;
  } else {
    const uint32_t total = sizeof(rte_ipv6_hdr) + rte_be_to_cpu_16(oip->payload_len);
    const uint32_t thl = (otcp->data_off >> 4) * 4u;
    const uint32_t len = (total > off + thl ? total - off - thl : 0) +
                         ((otcp->tcp_flags & RTE_TCP_SYN_FLAG) ? 1 : 0) +
                         ((otcp->tcp_flags & RTE_TCP_FIN_FLAG) ? 1 : 0);
    tcp->recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(otcp->sent_seq) + len);
    tcp->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
  }
  tcp->cksum = rte_ipv6_udptcp_cksum(ip, tcp);
  m->l3_len = sizeof(rte_ipv6_hdr);
  *Meta(m) = PacketMeta{Meta(orig)->in_ifindex, 0, 0, PktKind::kNone, 0, 0, 0};
  ++stats_->icmp_sent;
  Forward6(&m, 1, t, /*transit=*/false, depth);
}

// The hooks for both families (the callers are in other stages).
template uint16_t Worker::FwIn<false>(rte_mbuf**, uint16_t, const Tables&, int, uint32_t*);
template uint16_t Worker::FwIn<true>(rte_mbuf**, uint16_t, const Tables&, int, uint32_t*);
template uint16_t Worker::FwLocal<false>(rte_mbuf**, uint16_t, const Tables&, int);
template uint16_t Worker::FwLocal<true>(rte_mbuf**, uint16_t, const Tables&, int);
template uint16_t Worker::FwOut<false>(rte_mbuf**, uint16_t, uint16_t, const Tables&, int);
template uint16_t Worker::FwOut<true>(rte_mbuf**, uint16_t, uint16_t, const Tables&, int);
template uint16_t Worker::FwZones<false>(rte_mbuf**, uint16_t, uint16_t, const Tables&, int);
template uint16_t Worker::FwZones<true>(rte_mbuf**, uint16_t, uint16_t, const Tables&, int);
template uint16_t Worker::FwFromLocal<false>(rte_mbuf**, uint16_t, uint16_t, const Tables&, int);
template uint16_t Worker::FwFromLocal<true>(rte_mbuf**, uint16_t, uint16_t, const Tables&, int);

}  // namespace portcullis::dp
