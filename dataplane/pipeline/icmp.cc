// ICMP the dataplane itself speaks: echo replies for its own addresses (in place), and errors
// (unreachable, time exceeded, fragmentation needed) built as new packets, rate-limited per
// worker so a flood of bad traffic cannot turn into a flood of ICMP (RFC 1812 §4.3.2.8), path
// MTU discovery's errors apart from the rest.
#include <rte_cycles.h>
#include <rte_ip.h>

#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {

constexpr uint64_t kIcmpPerSecond = 100;
constexpr uint64_t kIcmpBurst = 50;

uint16_t Checksum(const void* data, size_t len) {
  return static_cast<uint16_t>(~rte_raw_cksum(data, len));
}

}  // namespace

bool Worker::IcmpToken(bool pmtu) {
  // Packet too big and fragmentation needed have a budget of their own (a choice of ours:
  // RFC 4443 §2.4(f) asks for a token bucket, not one per type; Linux exempts packet too big
  // from its limit): a flood that draws parameter problems or time exceeded must not stop the
  // senders whose packets do not fit from learning the path MTU.
  IcmpBudget& b = pmtu ? icmp_pmtu_budget_ : icmp_budget_;
  uint64_t now = rte_rdtsc();
  uint64_t hz = rte_get_tsc_hz();
  if (b.refill_tsc == 0) {
    // A fresh worker starts with a full bucket: the first error is not the one to suppress.
    b.refill_tsc = now;
    b.tokens = kIcmpBurst;
  }
  uint64_t earned = (now - b.refill_tsc) * kIcmpPerSecond / hz;
  if (earned > 0) {
    b.tokens = std::min(kIcmpBurst, b.tokens + earned);
    b.refill_tsc = now;
  }
  if (b.tokens == 0) {
    ++stats_->icmp_rate_limited;
    if (pmtu) ++stats_->icmp_pmtu_rate_limited;
    return false;
  }
  --b.tokens;
  return true;
}

void Worker::IcmpEchoReply(rte_mbuf* m, const Tables& t, int depth) {
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  const uint32_t hlen = m->l3_len;
  uint8_t* icmp = reinterpret_cast<uint8_t*>(ip) + hlen;
  const uint32_t src = ip->src_addr;
  // The reply is another packet: no session of the request's, and sent, not received in a
  // group frame.
  Meta(m)->flags &= ~(kMetaFwSession | kMetaL2Group);
  ip->src_addr = ip->dst_addr;
  ip->dst_addr = src;
  ip->time_to_live = 64;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  // Type 8 -> 0: the checksum goes up by 0x0800 (RFC 1624).
  icmp[0] = 0;
  uint16_t c;
  std::memcpy(&c, icmp + 2, 2);
  uint32_t sum = rte_be_to_cpu_16(c) + 0x0800;
  sum = (sum & 0xffff) + (sum >> 16);
  c = rte_cpu_to_be_16(static_cast<uint16_t>(sum));
  std::memcpy(icmp + 2, &c, 2);
  ++stats_->icmp_sent;
  Forward(&m, 1, t, /*transit=*/false, depth);
}

void Worker::IcmpError(rte_mbuf* orig, uint8_t type, uint8_t code, uint16_t mtu, const Tables& t,
                       int depth) {
  auto* oip = rte_pktmbuf_mtod(orig, const rte_ipv4_hdr*);
  // Never about ICMP errors, fragments past the first, or broadcast/multicast sources.
  if (oip->next_proto_id == IPPROTO_ICMP) {
    const uint8_t* oicmp = reinterpret_cast<const uint8_t*>(oip) + orig->l3_len;
    if (orig->data_len >= orig->l3_len + 1u && oicmp[0] != 0 && oicmp[0] != 8) return;
  }
  if (oip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) return;
  const uint8_t first = reinterpret_cast<const uint8_t*>(&oip->src_addr)[0];
  if (first >= 224 || oip->src_addr == 0) return;
  // Nor about what came in a link-layer broadcast or multicast frame (RFC 1122 §3.2.2, RFC 1812
  // §4.3.2.7; ICMPv6 has exceptions, IPv4 none): one frame to a group must not make every
  // router on the link answer a (spoofed) source.
  if (Meta(orig)->flags & kMetaL2Group) return;

  if (!IcmpToken(/*pmtu=*/type == 3 && code == 4)) return;

  const uint16_t in = Meta(orig)->in_ifindex;
  uint32_t src = t.PrimaryAddress(in);
  if (src == 0 && t.nlocal > 0) src = t.local[0].addr;
  if (src == 0) return;
  // RFC 792: the original IP header and its first 8 data bytes.
  const uint32_t quote = std::min<uint32_t>(orig->pkt_len, orig->l3_len + 8u);
  rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool);
  if (m == nullptr) return;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(
      rte_pktmbuf_append(m, static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + 8 + quote)));
  if (ip == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  std::memset(ip, 0, sizeof *ip + 8);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(m->pkt_len));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_ICMP;
  ip->src_addr = src;
  ip->dst_addr = oip->src_addr;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  icmp[0] = type;
  icmp[1] = code;
  if (mtu) {
    icmp[6] = static_cast<uint8_t>(mtu >> 8);  // RFC 1191 next-hop MTU
    icmp[7] = static_cast<uint8_t>(mtu);
  }
  const void* q = rte_pktmbuf_read(orig, 0, quote, icmp + 8);
  if (q != icmp + 8) std::memcpy(icmp + 8, q, quote);
  uint16_t c = Checksum(icmp, 8 + quote);
  std::memcpy(icmp + 2, &c, 2);
  m->l3_len = sizeof(rte_ipv4_hdr);
  *Meta(m) = PacketMeta{in, 0, 0, PktKind::kNone, 0, 0, 0};
  ++stats_->icmp_sent;
  Forward(&m, 1, t, /*transit=*/false, depth);
}

}  // namespace portcullis::dp
