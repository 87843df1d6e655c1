// ICMPv6 the dataplane speaks (RFC 4443): echo replies for its own addresses, and errors
// (destination unreachable, packet too big, time exceeded) built as new packets that quote as
// much of the offending one as fits the minimum MTU, rate-limited with the IPv4 ones (per-worker
// budgets, icmp.cc: packet too big shares fragmentation needed's, the rest the other errors').
#include <rte_ip.h>

#include <algorithm>
#include <cstring>

#include "dataplane/core/ipv6_scope.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {

constexpr uint32_t kMinMtu = 1280;  // RFC 8200 §5: an error never makes a longer packet

// A source address for a packet to dst leaving through (or answering on) ifx: an address of
// ifx of dst's scope, else any global address of ours.
bool SourceFor(const Tables& t, uint16_t ifx, const uint8_t* dst, uint8_t* src) {
  const bool ll = LinkLocal6(dst);
  if (ifx < t.nifs) {
    const Interface& f = t.ifs[ifx];
    for (uint8_t a = 0; a < f.naddr6; ++a)
      if (!f.addr6[a].duplicate && LinkLocal6(f.addr6[a].addr) == ll) {
        std::memcpy(src, f.addr6[a].addr, 16);
        return true;
      }
  }
  if (ll) return false;
  for (uint32_t i = 1; i < t.nifs; ++i)
    for (uint8_t a = 0; a < t.ifs[i].naddr6; ++a)
      if (!t.ifs[i].addr6[a].duplicate && !LinkLocal6(t.ifs[i].addr6[a].addr)) {
        std::memcpy(src, t.ifs[i].addr6[a].addr, 16);
        return true;
      }
  return false;
}

}  // namespace

void Worker::Icmp6EchoReply(rte_mbuf* m, uint32_t l4, const Tables& t, int depth) {
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
  if (l4 != sizeof(rte_ipv6_hdr)) {
    // Options of the request (hop-by-hop, destination) are not echoed: answered only plain.
    DropPkt(m, Meta(m)->in_ifindex, Drop::kLocalUnhandled);
    return;
  }
  uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  uint8_t src[16];
  std::memcpy(src, ip->src_addr, 16);
  if (src[0] == 0xff || std::all_of(src, src + 16, [](uint8_t b) { return b == 0; })) {
    DropPkt(m, Meta(m)->in_ifindex, Drop::kLocalUnhandled);
    return;
  }
  Meta(m)->flags &= ~(kMetaFwSession | kMetaL2Group);  // another packet, as IPv4's
  std::memcpy(ip->src_addr, ip->dst_addr, 16);
  std::memcpy(ip->dst_addr, src, 16);
  ip->hop_limits = 64;
  // Type 128 -> 129: the checksum's first word goes up by 0x0100, so the checksum down by it
  // (RFC 1624: HC' = ~(~HC + ~m + m')).
  icmp[0] = 129;
  uint16_t c;
  std::memcpy(&c, icmp + 2, 2);
  uint32_t sum = static_cast<uint16_t>(~rte_be_to_cpu_16(c)) + 0xffffu - 0x8000u + 0x8100u;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  c = rte_cpu_to_be_16(static_cast<uint16_t>(~sum));
  std::memcpy(icmp + 2, &c, 2);
  ++stats_->icmp_sent;
  Forward6(&m, 1, t, /*transit=*/false, depth);
}

void Worker::Icmp6Error(rte_mbuf* orig, uint8_t type, uint8_t code, uint32_t param, const Tables& t,
                        int depth) {
  auto* oip = rte_pktmbuf_mtod(orig, const rte_ipv6_hdr*);
  // Never about an ICMPv6 error, nor to a multicast or unspecified source (RFC 4443 §2.4).
  if (oip->src_addr[0] == 0xff ||
      std::all_of(oip->src_addr, oip->src_addr + 16, [](uint8_t b) { return b == 0; }))
    return;
  // Nor to what came in a link-layer broadcast or multicast frame, but packet too big and a
  // parameter problem about an option (code 2) (RFC 4443 §2.4 e.2/e.3): one broadcast frame
  // must not make every listener answer a (spoofed) source.
  if ((Meta(orig)->flags & kMetaL2Group) && type != 2 && !(type == 4 && code == 2)) return;
  {
    uint8_t proto = 0;
    bool frag = false;
    const uint32_t off = SkipExtensions6(orig, &proto, &frag);
    if (off != 0 && proto == IPPROTO_ICMPV6 && orig->data_len > off &&
        rte_pktmbuf_mtod_offset(orig, const uint8_t*, off)[0] < 128)
      return;
  }
  if (!IcmpToken(/*pmtu=*/type == 2)) return;
  const uint16_t in = Meta(orig)->in_ifindex;
  uint8_t src[16];
  if (!SourceFor(t, in, oip->src_addr, src)) return;
  const uint32_t hdr = sizeof(rte_ipv6_hdr) + 8;
  const uint32_t quote = std::min<uint32_t>(orig->pkt_len, kMinMtu - hdr);
  rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool);
  if (m == nullptr) return;
  auto* ip =
      reinterpret_cast<rte_ipv6_hdr*>(rte_pktmbuf_append(m, static_cast<uint16_t>(hdr + quote)));
  if (ip == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  std::memset(ip, 0, hdr);
  ip->vtc_flow = RTE_BE32(0x60000000);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + quote));
  ip->proto = IPPROTO_ICMPV6;
  ip->hop_limits = 64;
  std::memcpy(ip->src_addr, src, 16);
  std::memcpy(ip->dst_addr, oip->src_addr, 16);
  uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  icmp[0] = type;
  icmp[1] = code;
  const uint32_t p = rte_cpu_to_be_32(param);  // packet too big: the MTU
  std::memcpy(icmp + 4, &p, 4);
  const void* q = rte_pktmbuf_read(orig, 0, quote, icmp + 8);
  if (q != icmp + 8) std::memcpy(icmp + 8, q, quote);
  const uint16_t c = rte_ipv6_udptcp_cksum(ip, icmp);
  std::memcpy(icmp + 2, &c, 2);
  m->l3_len = sizeof(rte_ipv6_hdr);
  *Meta(m) = PacketMeta{in, 0, 0, PktKind::kNone, 0, 0, 0};
  ++stats_->icmp_sent;
  Forward6(&m, 1, t, /*transit=*/false, depth);
}

}  // namespace portcullis::dp
