// IPv6 checks that more than one stage makes, inline (each caller's loop keeps its registers):
// what a router must refuse to forward (Forward6 for a routed packet, SortByPolicy for one an
// outbound policy protects), and the extension header walk that drops a malformed chain
// (Input6 on receipt, Local6 for what is ours).
#pragma once

#include <rte_branch_prediction.h>
#include <rte_ip.h>

#include "dataplane/core/ipv6_scope.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

__attribute__((always_inline)) inline bool Worker::MayForward6(rte_mbuf* m, uint16_t in,
                                                               const Tables& t, int depth) {
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
  // Link-local addresses never leave their link (RFC 4291 §2.5.6), nor does ::1.
  if (LinkLocal6(ip->src_addr) || LinkLocal6(ip->dst_addr) || BadSource6(ip->dst_addr)) {
    DropPkt(m, in, Drop::kIpv6Scope);
    return false;
  }
  if (ip->hop_limits <= 1) {
    Icmp6Error(m, 3, 0, 0, t, depth);  // hop limit exceeded in transit
    DropPkt(m, in, Drop::kTtlExceeded);
    return false;
  }
  return true;
}

__attribute__((always_inline)) inline uint32_t Worker::WalkExtensions6(rte_mbuf* m, uint16_t in,
                                                                       uint8_t* proto,
                                                                       bool* fragment) {
  const uint32_t l4 = SkipExtensions6(m, proto, fragment);
  if (unlikely(l4 == 0)) DropPkt(m, in, Drop::kIpv6Malformed);
  return l4;
}

}  // namespace portcullis::dp
