// The SPD's sort of a routed burst, one definition for both families (docs/DESIGN.md,
// Policies): included by stage_ipv4.cc (ApplyPolicies) and stage_ipv6.cc (ApplyPolicies6) so
// each inlines its family's copy (an out-of-line call cost 2-5 instructions per packet).
#pragma once

#include <rte_ip.h>

#include <type_traits>

#include "dataplane/pipeline/ipv6_check.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

template <bool kV6>
__attribute__((always_inline)) inline uint16_t Worker::SortByPolicy(
    rte_mbuf** pkts, uint64_t* nh_ids, uint16_t n, const Tables& t, int depth, rte_mbuf** protect,
    const PolicyEntry** policies, uint16_t* nprotect) {
  const Spd& spd = t.spd;
  const SpdDirection& in_list = kV6 ? spd.in6 : spd.in;
  const SpdDirection& out_list = kV6 ? spd.out6 : spd.out;
  auto local = [&](uint64_t id) __attribute__((always_inline)) {
    if constexpr (kV6) {
      return dp_.fib6->next_hop(id).type == NhType::kLocal;
    } else {
      return dp_.fib->next_hop(id).type == NhType::kLocal;
    }
  };
  // The selectors of the packets not addressed to us, classified per direction in one ACL
  // call each for the whole burst. An IPv6 chain of extension headers was validated on input;
  // one that fails here (never) matches nothing and is dropped below.
  std::conditional_t<kV6, PacketSelector6, PacketSelector> sel[kBurst];
  bool valid[kBurst];
  const PolicyEntry* in_match[kBurst];
  const PolicyEntry* out_match[kBurst];
  uint16_t ns = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (local(nh_ids[i])) continue;
    const rte_mbuf* m = pkts[i];
    if constexpr (kV6) {
      valid[i] = Selector6(m, &sel[ns]);
      if (valid[i]) ++ns;
    } else {
      sel[ns++] = SelectorOf(rte_pktmbuf_mtod(m, const uint8_t*), m->l3_len, m->data_len);
    }
  }
  if constexpr (kV6) {
    if (ns != 0 && in_list.n != 0) in_list.Classify6(sel, in_match, ns);
    if (ns != 0 && out_list.n != 0) out_list.Classify6(sel, out_match, ns);
  } else {
    if (ns != 0 && in_list.n != 0) in_list.Classify(sel, in_match, ns);
    if (ns != 0 && out_list.n != 0) out_list.Classify(sel, out_match, ns);
  }
  uint16_t np = 0, kept = 0, k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    PacketMeta* meta = Meta(m);
    const uint16_t in = meta->in_ifindex;
    const PolicyEntry* policy = nullptr;
    if (!local(nh_ids[i])) {
      if (kV6 && !valid[i]) {
        DropPkt(m, in, Drop::kIpv6Malformed);
        continue;
      }
      const uint16_t s = k++;
      if (in_list.n && !(meta->flags & kMetaDecrypted)) {
        const PolicyEntry* p = in_match[s];
        if (p && p->action == PolicyAction::kProtect) {
          DropPkt(m, in, Drop::kPolicyCleartext);  // RFC 4301 §5.2: must have come in ESP
          continue;
        }
      }
      if (out_list.n) {
        policy = out_match[s];
        if (policy && policy->action == PolicyAction::kDiscard) {
          DropPkt(m, in, Drop::kPolicyDiscard);
          continue;
        }
        if (policy && policy->action == PolicyAction::kBypass) policy = nullptr;
      }
    }
    if (policy == nullptr) {
      // Routed as usual.
      nh_ids[kept] = nh_ids[i];
      pkts[kept++] = m;
      continue;
    }
    // Protected: encrypted to the policy's peer whatever the routing table says.
    if (policy->sa == nullptr) {
      Acquire(m, policy->reqid, 0);
      DropPkt(m, in, Drop::kPolicyNoSa);
      continue;
    }
    if constexpr (kV6) {
      // A router's duties, as Forward6 does them for a routed packet (the tunnel MTU is
      // EspOut's: packet too big with the policy's MTU). IPv4's TTL is ApplyPolicies' after
      // the VFP's zone policy, as Dispatch takes it.
      if (!MayForward6(m, in, t, depth)) continue;
    }
    if (depth >= kMaxDepth) {
      DropPkt(m, in, Drop::kNoRoute);
      continue;
    }
    if constexpr (kV6) --rte_pktmbuf_mtod(m, rte_ipv6_hdr*)->hop_limits;
    // The SA's VFP, if its tunnel uses one (0 otherwise): counters and drops land there.
    meta->out_ifindex = policy->sa->ifindex;
    policies[np] = policy;
    protect[np++] = m;
  }
  *nprotect = np;
  return kept;
}

}  // namespace portcullis::dp
