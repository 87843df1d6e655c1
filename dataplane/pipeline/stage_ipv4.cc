// IPv4: header validation, then either local delivery or forwarding. Forwarding looks the
// destination up in the FIB and sends the packet on to a neighbor, into a VTI (encryption), or
// answers with ICMP when there is no way.
#include <rte_byteorder.h>
#include <rte_ip.h>

#include <cstring>

#include "dataplane/pipeline/ipv4_check.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {

// TTL - 1 with the checksum adjusted in place (RFC 1624).
// Done on the 32-bit word holding TTL, protocol and checksum: 16-bit byte swaps of computed
// values compile to partial-register moves that stall.
inline void DecrementTtl(rte_ipv4_hdr* ip) {
  uint32_t w;
  std::memcpy(&w, &ip->time_to_live, 4);
  w = __builtin_bswap32(w);  // TTL in bits 24-31, checksum in 0-15
  uint32_t sum = (w & 0xffff) + 0x0100;
  sum = (sum & 0xffff) + (sum >> 16);
  w = ((w - (1u << 24)) & 0xffff0000u) | sum;
  w = __builtin_bswap32(w);
  std::memcpy(&ip->time_to_live, &w, 4);
}

// A chain of interfaces that routes a packet back into a tunnel ends here.
constexpr int kMaxDepth = 3;

}  // namespace

void Worker::Ipv4(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth) {
  rte_mbuf* ok[kBurst];
  uint32_t dsts[kBurst];
  uint16_t nok = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (CheckIpv4(pkts[i], Meta(pkts[i])->in_ifindex)) {
      dsts[nok] = rte_pktmbuf_mtod(pkts[i], const rte_ipv4_hdr*)->dst_addr;
      ok[nok++] = pkts[i];
    }
  }
  if (nok) Route(ok, dsts, nok, t, depth);
}

void Worker::Route(rte_mbuf** pkts, const uint32_t* dsts, uint16_t n, const Tables& t, int depth) {
  // One FIB lookup decides local delivery (our addresses are /32 local routes) and forwarding.
  uint64_t nh_ids[kBurst];
  dp_.fib->Lookup(dsts, nh_ids, n);
  Dispatch(pkts, nh_ids, n, t, /*transit=*/true, /*deliver_local=*/true, depth);
}

void Worker::Forward(rte_mbuf** pkts, uint16_t n, const Tables& t, bool transit, int depth) {
  uint32_t dsts[kBurst];
  uint64_t nh_ids[kBurst];
  for (uint16_t i = 0; i < n; ++i) dsts[i] = rte_pktmbuf_mtod(pkts[i], rte_ipv4_hdr*)->dst_addr;
  dp_.fib->Lookup(dsts, nh_ids, n);
  Dispatch(pkts, nh_ids, n, t, transit, /*deliver_local=*/false, depth);
}

void Worker::Dispatch(rte_mbuf** pkts, const uint64_t* nh_ids, uint16_t n, const Tables& t,
                      bool transit, bool deliver_local, int depth) {
  rte_mbuf* out[kBurst];
  rte_mbuf* tunnel[kBurst];
  rte_mbuf* local[kBurst];
  rte_mbuf* protect[kBurst];
  const PolicyEntry* policies[kBurst];
  uint16_t no = 0, nt = 0, nl = 0, np = 0;
  // Policies apply to traffic passing through (received and forwarded), not to what we
  // originate: IKE, ICMP errors and the tunnels' own ESP.
  const Spd& spd = t.spd;
  const bool spd_active = deliver_local && (spd.nout | spd.nin) != 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    PacketMeta* meta = Meta(m);
    const uint16_t in = meta->in_ifindex;
    const NextHop& nh = dp_.fib->next_hop(nh_ids[i]);
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    if (nh.type == NhType::kLocal) {
      if (deliver_local) {
        local[nl++] = m;
      } else {
        // Something we originate, addressed to ourselves: nothing here takes it.
        DropPkt(m, in, Drop::kLocalUnhandled);
      }
      continue;
    }
    const PolicyEntry* policy = nullptr;
    if (spd_active) {
      const PacketSelector sel =
          SelectorOf(reinterpret_cast<const uint8_t*>(ip), m->l3_len, m->data_len);
      if (spd.nin && !(meta->flags & kMetaDecrypted)) {
        const PolicyEntry* p = Spd::Find(spd.in, spd.nin, sel);
        if (p && p->action == channel::PolicyAction::kProtect) {
          DropPkt(m, in, Drop::kPolicyCleartext);  // RFC 4301 §5.2: must have come in ESP
          continue;
        }
      }
      if (spd.nout) {
        policy = Spd::Find(spd.out, spd.nout, sel);
        if (policy && policy->action == channel::PolicyAction::kDiscard) {
          DropPkt(m, in, Drop::kPolicyDiscard);
          continue;
        }
        if (policy && policy->action == channel::PolicyAction::kBypass) policy = nullptr;
      }
    }
    if (policy) {
      // Protected: encrypted to the policy's peer whatever the routing table says.
      if (policy->sa == nullptr) {
        DropPkt(m, in, Drop::kPolicyNoSa);
        continue;
      }
      if (transit) {
        if (ip->time_to_live <= 1) {
          IcmpError(m, 11, 0, 0, t, depth);
          DropPkt(m, in, Drop::kTtlExceeded);
          continue;
        }
        DecrementTtl(ip);
      }
      if (depth >= kMaxDepth) {
        DropPkt(m, in, Drop::kNoRoute);
        continue;
      }
      meta->out_ifindex = 0;
      policies[np] = policy;
      protect[np++] = m;
      continue;
    }
    if (nh.type == NhType::kNone) {
      if (transit) IcmpError(m, 3, 0, 0, t, depth);  // network unreachable
      DropPkt(m, in, Drop::kNoRoute);
      continue;
    }
    if (nh.type == NhType::kBlackhole) {
      DropPkt(m, in, Drop::kBlackhole);
      continue;
    }
    if (transit) {
      if (ip->time_to_live <= 1) {
        IcmpError(m, 11, 0, 0, t, depth);  // time exceeded in transit
        DropPkt(m, in, Drop::kTtlExceeded);
        continue;
      }
      DecrementTtl(ip);
    }
    meta->out_ifindex = nh.ifindex;
    const Interface& f = t.ifs[nh.ifindex];
    if (f.kind == IfKind::kVti || f.kind == IfKind::kVfp) {
      if (depth >= kMaxDepth) {
        DropPkt(m, in, Drop::kNoRoute);
        continue;
      }
      tunnel[nt++] = m;
      continue;
    }
    meta->next_hop = nh.type == NhType::kGateway ? nh.gateway : ip->dst_addr;
    out[no++] = m;
  }
  if (nl) Local(local, nl, t, depth);
  if (nt) EspOut(tunnel, nt, t, depth + 1);
  if (np) EspOut(protect, np, t, depth + 1, policies);
  if (no) Send(out, no, t);
}

}  // namespace portcullis::dp
