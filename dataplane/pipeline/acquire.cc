// Acquires: a packet that needs an SA the dataplane lacks asks vpnd for one (docs/DESIGN.md,
// Traps). Rate-limited per worker and key, so a flow into a tunnel that is down costs vpnd one
// event per second and the packet path one table probe per dropped packet.
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>

#include "dataplane/core/acquire_record.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

void Worker::Acquire(const rte_mbuf* m, uint32_t reqid, uint16_t vti) {
  const uint32_t key = reqid != 0 ? reqid : (0x80000000u | vti);
  const uint64_t now = rte_rdtsc();
  const uint64_t hz = rte_get_tsc_hz();
  AcquireSent& slot = acquires_[(key * 2654435761u) >> (32 - kAcquireSlotBits)];
  if (slot.key == key && now - slot.tsc < hz) {
    ++stats_->acquires_suppressed;
    return;
  }
  const uint64_t earned = (now - acquire_refill_tsc_) * kAcquiresPerSecond / hz;
  if (earned > 0) {
    acquire_tokens_ = std::min(kAcquiresPerSecond, acquire_tokens_ + earned);
    acquire_refill_tsc_ = now;
  }
  if (acquire_tokens_ == 0) {
    ++stats_->acquires_suppressed;
    return;
  }
  AcquireRecord r{};
  r.reqid = reqid;
  r.vti_ifindex = vti;
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  if (m->data_len >= sizeof(rte_ipv4_hdr) && (ip->version_ihl >> 4) == 4) {
    r.family = 4;
    std::memcpy(r.src, &ip->src_addr, 4);
    std::memcpy(r.dst, &ip->dst_addr, 4);
    r.proto = ip->next_proto_id;
    const uint32_t hl = (ip->version_ihl & 0x0fu) * 4;
    const bool first = (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) == 0;
    if (first && (r.proto == IPPROTO_TCP || r.proto == IPPROTO_UDP || r.proto == IPPROTO_SCTP) &&
        m->data_len >= hl + 4) {
      const auto* l4 = reinterpret_cast<const uint8_t*>(ip) + hl;
      r.sport = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
      r.dport = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
    }
  } else if (PacketSelector6 s;
             m->data_len != 0 && (ip->version_ihl >> 4) == 6 && Selector6(m, &s)) {
    r.family = 6;
    std::memcpy(r.src, s.src, 16);
    std::memcpy(r.dst, s.dst, 16);
    r.proto = s.proto;
    r.sport = s.sport;
    r.dport = s.dport;
  }
  --acquire_tokens_;
  slot.key = key;
  slot.tsc = now;
  if (rte_ring_mp_enqueue_elem(dp_.acquire_ring, &r, sizeof r) != 0) {
    ++stats_->acquires_lost;  // never waited for: the tunnel's next packet a second later
    return;
  }
  ++stats_->acquires_sent;
}

}  // namespace portcullis::dp
