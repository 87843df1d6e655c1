// IPv4: header validation, then either local delivery or forwarding. Forwarding looks the
// destination up in the FIB and sends the packet on to a neighbor, into a VTI (encryption), or
// answers with ICMP when there is no way.
#include <rte_byteorder.h>
#include <rte_ip.h>

#include <algorithm>
#include <cstring>

#include "dataplane/pipeline/ipv4_check.h"
#include "dataplane/pipeline/policy_sort.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {

// TTL - 1 with the checksum adjusted in place (RFC 1624: HC' = HC + 0x0100, one's complement).
// Done on the checksum as it lies in memory: adding 0x0100 to the big-endian word is adding 1
// to the little-endian one, whose carry out of 16 bits folds back the same way. No byte swaps
// (checked against the swapped form for every TTL from 2 and every checksum).
inline void DecrementTtl(rte_ipv4_hdr* ip) {
  ip->time_to_live = static_cast<uint8_t>(ip->time_to_live - 1);
  const uint32_t v = uint32_t{ip->hdr_checksum} + 1;
  ip->hdr_checksum = static_cast<uint16_t>(v + (v >> 16));
}

// A route's type that leads out of an interface (the others: delivered here, dropped, or
// answered with ICMP).
inline bool LeadsOut(NhType type) {
  static_assert(static_cast<int>(NhType::kGateway) == static_cast<int>(NhType::kConnected) + 1 &&
                static_cast<int>(NhType::kInterface) == static_cast<int>(NhType::kConnected) + 2);
  return static_cast<uint8_t>(static_cast<uint8_t>(type) -
                              static_cast<uint8_t>(NhType::kConnected)) <= 2;
}

// A tunnel run Dispatch takes into its batch as it stands (or stages for the SA's owner): into
// a VTI or VFP that has an SA, every packet within its MTU (longest: the run's longest), no
// `out` hook on it. One test for Dispatch's run-by-run loop and BatchTunnels' prefix, so that
// the two cannot drift apart. (The caller checks what else both need: no zones, depth, TTL.)
inline bool Batchable(const Interface& f, uint16_t vti, uint32_t longest, const FwTables* fw) {
  return (f.kind == IfKind::kVti || f.kind == IfKind::kVfp) && f.out_esa != nullptr &&
         longest <= f.mtu && (likely(fw == nullptr) || fw->hooks[vti][kFwOut] == nullptr);
}

}  // namespace

void Worker::Decrypted(rte_mbuf** pkts, uint16_t n, uint16_t vti, const Tables& t, int depth) {
  uint32_t dsts[kBurst];
  uint16_t nok = 0;
  uint64_t bytes = 0;
  const int meta_off = g_meta_offset;
  // No call in this loop (see FromWire): what fails the checks is dropped after it.
  rte_mbuf* bad[kBurst];
  Drop bad_why[kBurst];
  uint16_t nbad = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    PacketMeta* meta = Meta(m, meta_off);
    // Another packet now: neither the outer packet's firewall session nor how its frame was
    // addressed (a group frame's ESP still carries a unicast packet, which errors may answer).
    meta->flags =
        static_cast<uint8_t>((meta->flags | kMetaDecrypted) & ~(kMetaFwSession | kMetaL2Group));
    if (vti != 0) meta->in_ifindex = vti;
    bytes += m->pkt_len;
    const Drop why = Ipv4Verdict</*exact=*/true>(m);
    if (unlikely(why != Drop::kCount)) {
      bad[nbad] = m;
      bad_why[nbad++] = why;
      continue;
    }
    dsts[nok] = rte_be_to_cpu_32(rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->dst_addr);
    pkts[nok++] = m;
  }
  // IPv6 inner packets fail the IPv4 checks (kept off the IPv4 loop): they go on to IPv6.
  rte_mbuf* v6[kBurst];
  uint16_t n6 = 0;
  for (uint16_t k = 0; k < nbad; ++k) {
    if (bad[k]->data_len != 0 && (*rte_pktmbuf_mtod(bad[k], const uint8_t*) >> 4) == 6) {
      v6[n6++] = bad[k];
      continue;
    }
    DropPkt(bad[k], Meta(bad[k])->in_ifindex, bad_why[k]);
  }
  if (vti != 0) FlushRx(vti, n, bytes);
  if (n6) {
    if (depth > kMaxDepth) {
      for (uint16_t k = 0; k < n6; ++k) DropPkt(v6[k], Meta(v6[k])->in_ifindex, Drop::kNoRoute);
    } else {
      Input6(v6, n6, t, depth);
    }
  }
  if (depth > kMaxDepth) {
    // ESP in ESP in ESP...: counted where it came out, on the tunnel.
    for (uint16_t i = 0; i < nok; ++i) DropPkt(pkts[i], Meta(pkts[i])->in_ifindex, Drop::kNoRoute);
    return;
  }
  // The firewall's `in` on the VTI sees the inner packet.
  if (unlikely(t.fw != nullptr) && vti != 0 && nok) nok = FwIn(pkts, nok, t, depth, dsts);
  if (nok) Route(pkts, dsts, nok, t, depth);
}

void Worker::Route(rte_mbuf** pkts, const uint32_t* dsts, uint16_t n, const Tables& t, int depth) {
  // One FIB lookup decides local delivery (our addresses are /32 local routes) and forwarding.
  uint64_t nh_ids[kBurst];
  dp_.fib->LookupHost(dsts, nh_ids, n);
  Dispatch(pkts, nh_ids, n, t, /*transit=*/true, /*deliver_local=*/true, depth);
}

void Worker::Forward(rte_mbuf** pkts, uint16_t n, const Tables& t, bool transit, int depth,
                     bool own) {
  uint32_t dsts[kBurst];
  uint64_t nh_ids[kBurst];
  for (uint16_t i = 0; i < n; ++i)
    dsts[i] = rte_be_to_cpu_32(rte_pktmbuf_mtod(pkts[i], rte_ipv4_hdr*)->dst_addr);
  dp_.fib->LookupHost(dsts, nh_ids, n);
  Dispatch(pkts, nh_ids, n, t, transit, /*deliver_local=*/false, depth, own && !transit);
}

void Worker::Dispatch(rte_mbuf** pkts, const uint64_t* nh_ids, uint16_t n, const Tables& t,
                      bool transit, bool deliver_local, int depth, bool own) {
  // Policies apply to traffic passing through (received and forwarded), not to what we
  // originate: IKE, ICMP errors and the tunnels' own ESP.
  uint64_t kept_ids[kBurst];
  if (deliver_local && (t.spd.out.n | t.spd.in.n) != 0) {
    std::memcpy(kept_ids, nh_ids, n * sizeof *nh_ids);
    n = ApplyPolicies(pkts, kept_ids, n, t, transit, depth);
    nh_ids = kept_ids;
  }
  // Packets to one next hop come in runs (a tunnel's, a subnet's): the route's type, the
  // interface and the tunnel's SA are looked at once per run, and the run goes on as a whole.
  // A burst of several runs (traffic spread over many tunnels: each run is another next hop,
  // interface, SA and keys) has them fetched ahead, and its tunnels' runs gathered in `batch`
  // and encrypted together; a burst of one run goes its way as it is.
  uint16_t first = 1;
  while (first < n && nh_ids[first] == nh_ids[0]) ++first;
  const bool several = first < n;
  if (several) PrefetchRuns(nh_ids, n, t);
  TunnelBatch batch;
  uint16_t i = 0, j = first;  // the first run's end is known
  if (several && depth < kMaxDepth && (likely(t.fw == nullptr) || !t.fw->any_zone))
    i = BatchTunnels(pkts, nh_ids, n, t, transit, batch);
  while (i < n) {
    const uint64_t id = nh_ids[i];
    if (i != 0) {
      j = i + 1;
      while (j < n && nh_ids[j] == id) ++j;
    }
    rte_mbuf** run = pkts + i;
    uint16_t rn = static_cast<uint16_t>(j - i);
    i = j;
    const NextHop& nh = dp_.fib->next_hop(id);
    switch (nh.type) {
      case NhType::kLocal:
        if (deliver_local) {
          Local(run, rn, t, depth);
        } else {
          // Something we originate, addressed to ourselves: nothing here takes it.
          for (uint16_t k = 0; k < rn; ++k)
            DropPkt(run[k], Meta(run[k])->in_ifindex, Drop::kLocalUnhandled);
        }
        continue;
      case NhType::kNone:
        for (uint16_t k = 0; k < rn; ++k) {
          if (transit) IcmpError(run[k], 3, 0, 0, t, depth);  // network unreachable
          DropPkt(run[k], Meta(run[k])->in_ifindex, Drop::kNoRoute);
        }
        continue;
      case NhType::kBlackhole:
        for (uint16_t k = 0; k < rn; ++k)
          DropPkt(run[k], Meta(run[k])->in_ifindex, Drop::kBlackhole);
        continue;
      default:
        break;
    }
    if (unlikely(t.fw != nullptr) && t.fw->any_zone) {
      if (transit) {
        rn = FwZones(run, rn, nh.ifindex, t, depth);
      } else if (own && t.fw->local_zone != 0 &&
                 t.fw->zone_pairs[t.fw->local_zone][t.fw->zone_of[nh.ifindex]] != nullptr) {
        rn = FwFromLocal(run, rn, nh.ifindex, t, depth);
      }
      if (rn == 0) continue;
    }
    RunScan scan;
    rn = ScanRun(run, rn, transit, t, depth, &scan);
    if (rn == 0) continue;
    const Interface& f = t.ifs[nh.ifindex];
    if (f.kind == IfKind::kVti || f.kind == IfKind::kVfp) {
      if (depth >= kMaxDepth) {
        for (uint16_t k = 0; k < rn; ++k) DropPkt(run[k], Meta(run[k])->in_ifindex, Drop::kNoRoute);
        continue;
      }
      // The SA's owner and state from the interface's line: the SaEntry is not read.
      if (several && Batchable(f, nh.ifindex, scan.longest, t.fw)) {
        // A member's layout is taken to be the fallback's (as in BatchTunnels).
        if (unlikely(f.out_line1))
          __builtin_prefetch(reinterpret_cast<const char*>(f.out_esa) + 64);
        if (f.out_owner == id_) {
          AddToBatch(batch, f.out_sa, f.out_esa, nh.ifindex, run, rn, scan.bytes);
        } else if (const SaGroup::Member* own = OwnMember(f, nh.ifindex)) {
          // This worker's own member of the tunnel's group: no handoff.
          AddToBatch(batch, own->sa, own->esa, nh.ifindex, run, rn, scan.bytes);
        } else {
          // With several workers half of such a burst may be other workers' tunnels: ending the
          // batch at each of them left this worker's runs one engine pass each.
          HandoffRun(f, nh.ifindex, run, rn);
        }
        continue;
      }
      // What the batch holds goes first: it may hold packets of this SA.
      if (batch.n) EspOutEach(batch, t, depth + 1);
      ToTunnel(run, rn, nh.ifindex, t, depth + 1, scan);
    } else if (nh.type == NhType::kGateway) {
      SendRun(run, rn, nh.ifindex, nh.gateway, t);
    } else if (scan.one_dst) {
      SendRun(run, rn, nh.ifindex, scan.dst, t);
    } else {
      // On-link: each destination is its own neighbor; runs of one destination share it.
      uint16_t k = 0;
      while (k < rn) {
        const uint32_t dst = rte_pktmbuf_mtod(run[k], const rte_ipv4_hdr*)->dst_addr;
        uint16_t e = k + 1;
        while (e < rn && rte_pktmbuf_mtod(run[e], const rte_ipv4_hdr*)->dst_addr == dst) ++e;
        SendRun(run + k, static_cast<uint16_t>(e - k), nh.ifindex, dst, t);
        k = e;
      }
    }
  }
  if (batch.n) EspOutEach(batch, t, depth + 1);
}

void Worker::PrefetchRuns(const uint64_t* nh_ids, uint16_t n, const Tables& t) {
  // Each level is found through the one before: fetched run by run, each run's misses would
  // come one after another. Here every run's interface line (kind, MTU, SA, owner) and counters
  // (written) are asked for over the whole burst first; the SA's line 0 is asked for as
  // the batch takes each packet (BatchTunnels, AddToBatch), a whole pass before EncryptEach
  // reads it (a run that does not join the batch, ToTunnel's, reads its SA unasked). The
  // next hops no longer get a pass of their own (8 bytes per route target; the loads of one
  // run do not wait for another's): that saved 32 instructions a packet; what it does to the
  // latency is not measured (callgrind ignores prefetches).
  // Once per run (a burst of a few long runs pays one compare a packet), with no bounds test: a
  // next hop's interface is always within the snapshot (Dispatch indexes it so), and a
  // prefetch never faults.
  const Fib& fib = *dp_.fib;
  const Interface* ifs = t.ifs.get();
  const InterfaceStats* counters = stats_->ifs;
  for (uint16_t i = 0; i < n; ++i) {
    if (i != 0 && nh_ids[i] == nh_ids[i - 1]) continue;
    const uint16_t ifx = fib.next_hop(nh_ids[i]).ifindex;
    __builtin_prefetch(&ifs[ifx]);
    // Its counters, written (a tunnel's by BatchTunnels, a port's by SendRun): tx_packets and
    // tx_bytes share a line (core/stats.h).
    __builtin_prefetch(&counters[ifx].tx_packets, 1);
  }
}

uint16_t Worker::BatchTunnels(rte_mbuf** pkts, const uint64_t* nh_ids, uint16_t n, const Tables& t,
                              bool transit, TunnelBatch& b) {
  // Dispatch's loop, for what it would put in the batch run by run (Batchable, this worker's
  // SA, no zones; the TTL taken) or stage for another worker (HandoffRun), without the per-run
  // work: the run's end, its type's switch, ScanRun's call and loops, AddToBatch's call. With
  // traffic spread over many tunnels every run is one packet, and that work was most of a packet's
  // way here. The first packet that needs anything else ends it; Dispatch's loop goes on from there
  // (and flushes the batch before any tunnel run that cannot join it).
  const Fib& fib = *dp_.fib;
  const FwTables* fw = t.fw;
  const Interface* ifs = t.ifs.get();
  InterfaceStats* counters = stats_->ifs;
  const uint16_t self = id_;
  const int meta_off = g_meta_offset;
  // In locals: the TTL's byte store may alias anything, and would have them reloaded.
  uint16_t bn = b.n, runs = b.runs;
  SaEntry* first_sa = b.first_sa;
  uint16_t first_vti = b.first_vti;
  // The batch is one SA's (runs == 1: EspOutEach takes Encrypt's burst path) while every
  // packet is first_vti's; the first other VTI makes it two, which is all EspOutEach asks.
  uint16_t k = 0;
  for (; k < n; ++k) {
    rte_mbuf* m = pkts[k];
    const NextHop& nh = fib.next_hop(nh_ids[k]);
    if (!LeadsOut(nh.type)) break;
    const uint16_t vti = nh.ifindex;
    const Interface& f = ifs[vti];
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    const uint32_t len = m->pkt_len;
    if (!Batchable(f, vti, len, fw) || (transit && ip->time_to_live <= 1)) break;
    SaEntry* sa = f.out_sa;
    esp::Sa* esa = f.out_esa;
    if (f.out_owner != self) {
      // Another worker's SA: this worker's member of the tunnel's group, if it has one
      // (RFC 9611); else staged for the SA's owner here, as HandoffRun would (the owner
      // counts it on the VTI), without ending the prefix: with two workers and traffic over
      // many tunnels every other packet is another worker's, and ending the prefix there sent
      // the rest of the burst, this worker's packets too, through Dispatch's run-by-run loop.
      const SaGroup::Member* own = OwnMember(f, vti);
      if (own == nullptr) {
        if (transit) DecrementTtl(ip);
        Meta(m, meta_off)->out_ifindex = vti;
        Handoff(m, f.out_owner, PktKind::kEspOut, f.out_sa->id, vti, f.out_group != nullptr);
        continue;
      }
      sa = own->sa;
      esa = own->esa;
    }
    if (transit) DecrementTtl(ip);
    // Its SA's line 0, all EncryptEach reads of the usual SA (esp::Sa) once the batch is
    // complete; another layout's (NAT-T, IPv6 outer) line 1 too, which Encrypt reads there. A
    // member's layout is taken to be the fallback's (one tunnel, one peer, one proposal).
    __builtin_prefetch(esa);
    if (unlikely(f.out_line1)) __builtin_prefetch(reinterpret_cast<const char*>(esa) + 64);
    InterfaceStats& s = counters[vti];
    ++s.tx_packets;
    s.tx_bytes += len;
    // One SA per VTI on this worker (its own or its member): a VTI's packets are one SA's.
    if (runs == 0) {
      runs = 1;
      first_sa = sa;
      first_vti = vti;
    } else if (vti != first_vti) {
      runs = 2;
    }
    b.pkts[bn] = m;
    b.sas[bn] = esa;
    b.vtis[bn++] = vti;
  }
  b.n = bn;
  b.runs = runs;
  b.first_sa = first_sa;
  b.first_vti = first_vti;
  return k;
}

uint16_t Worker::ApplyPolicies(rte_mbuf** pkts, uint64_t* nh_ids, uint16_t n, const Tables& t,
                               bool transit, int depth) {
  rte_mbuf* protect[kBurst];
  const PolicyEntry* policies[kBurst];
  uint16_t np;
  const uint16_t kept = SortByPolicy<false>(pkts, nh_ids, n, t, depth, protect, policies, &np);
  // In the order a routed packet meets them (Dispatch): the zone policy towards the VFP, then
  // the TTL (time exceeded), then the VFP's `out` rules.
  if (unlikely(t.fw != nullptr) && t.fw->any_zone && np)
    np = FwThroughVfp(protect, policies, np, t, depth, /*zones=*/true);
  if (transit && np) {
    uint16_t alive = 0;
    for (uint16_t i = 0; i < np; ++i) {
      RunScan scan;
      if (ScanRun(&protect[i], 1, /*transit=*/true, t, depth, &scan) == 0) continue;
      policies[alive] = policies[i];
      protect[alive++] = protect[i];
    }
    np = alive;
  }
  if (unlikely(t.fw != nullptr) && np)
    np = FwThroughVfp(protect, policies, np, t, depth, /*zones=*/false);
  if (np) EspOut(protect, np, t, depth + 1, policies);
  return kept;
}

uint16_t Worker::FwThroughVfp(rte_mbuf** pkts, const PolicyEntry** policies, uint16_t n,
                              const Tables& t, int depth, bool zones) {
  // A tunnel that uses a VFP sends through it (Vyatta): the zone policy towards the VFP and
  // its `out` rules see the inner packet before encryption, as a route into a VTI would. One
  // policy's packets share its SA, hence its VFP: runs of one policy are filtered together.
  const FwTables& fw = *t.fw;
  uint16_t out = 0, i = 0;
  while (i < n) {
    const PolicyEntry* p = policies[i];
    uint16_t j = i + 1;
    while (j < n && policies[j] == p) ++j;
    rte_mbuf** run = pkts + i;
    uint16_t rn = static_cast<uint16_t>(j - i);
    const uint16_t vfp = Meta(run[0])->out_ifindex;
    if (vfp != 0) {
      if (zones) {
        rn = FwZones(run, rn, vfp, t, depth);
      } else if (fw.hooks[vfp][kFwOut] != nullptr) {
        rn = FwOut(run, rn, vfp, t, depth);
      }
    }
    // Kept packets move to the front; `out` never passes the run's start.
    for (uint16_t k = 0; k < rn; ++k) {
      pkts[out] = run[k];
      policies[out++] = p;
    }
    i = j;
  }
  return out;
}

uint16_t Worker::ScanRun(rte_mbuf** pkts, uint16_t n, bool transit, const Tables& t, int depth,
                         RunScan* scan) {
  const uint32_t dst0 = rte_pktmbuf_mtod(pkts[0], const rte_ipv4_hdr*)->dst_addr;
  uint64_t bytes = 0;
  uint64_t longest = 0;
  uint32_t other_dst = 0;
  auto add = [&](const rte_mbuf* m, const rte_ipv4_hdr* ip) __attribute__((always_inline)) {
    // 64-bit: GCC 12 turns a 32-bit maximum into an SSE one, through the stack.
    const uint64_t len = m->pkt_len;
    bytes += len;
    longest = std::max(longest, len);
    other_dst |= ip->dst_addr ^ dst0;
  };
  uint16_t k = 0;
  if (transit) {
    for (; k < n; ++k) {
      rte_mbuf* m = pkts[k];
      auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
      if (unlikely(ip->time_to_live <= 1)) break;
      DecrementTtl(ip);
      add(m, ip);
    }
  }
  uint16_t kept = k;
  // What we originate (no TTL to take), or, from the first packet whose time is up on, the
  // rest of a transit run (rare), compacted.
  for (; k < n; ++k) {
    rte_mbuf* m = pkts[k];
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    if (transit) {
      if (ip->time_to_live <= 1) {
        IcmpError(m, 11, 0, 0, t, depth);  // time exceeded in transit
        DropPkt(m, Meta(m)->in_ifindex, Drop::kTtlExceeded);
        continue;
      }
      DecrementTtl(ip);
    }
    add(m, ip);
    pkts[kept++] = m;
  }
  *scan = RunScan{bytes, static_cast<uint32_t>(longest), dst0, other_dst == 0};
  return kept;
}

}  // namespace portcullis::dp
