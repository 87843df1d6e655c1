// ESP in the pipeline. Inbound: the SPI names the SA; runs of packets for one SA go to its
// owner's engine (docs/DESIGN.md, SA ownership), and decrypted packets re-enter IPv4 as received on
// the SA's VTI. Outbound: a packet routed into a VTI is checked against the tunnel MTU
// (ICMP fragmentation-needed with DF, fragmented before encryption without), encrypted with the
// VTI's SA and the outer packet is routed like one we originate.
#include <rte_ip.h>
#include <rte_udp.h>

#include <algorithm>

#include "dataplane/pipeline/ipv4_fragment.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {
// Tailroom each fragment keeps for the ESP trailer: up to 15 bytes of CBC padding, pad length
// and next header, and the longest ICV (32 bytes, HMAC-SHA-512-256).
constexpr uint16_t kEspTailReserve = 64;
}  // namespace

void Worker::EspIn(rte_mbuf** pkts, const uint32_t* spis, uint16_t n, const Tables& t, int depth,
                   bool v6) {
  uint16_t i = 0;
  while (i < n) {
    const uint32_t spi = spis[i];
    uint16_t j = i + 1;
    while (j < n && spis[j] == spi) ++j;
    SaEntry* sa = spi != 0 ? dp_.sas->LookupInbound(spi) : nullptr;
    if (sa == nullptr) {
      for (uint16_t k = i; k < j; ++k) DropPkt(pkts[k], Meta(pkts[k])->in_ifindex, Drop::kNoSa);
    } else if (unlikely(((sa->sa->flags & esp::kSaOuterV6) != 0) != v6)) {
      // One SPI space serves both families: an ESP payload re-wrapped in the other family
      // than its SA's is not this SA's traffic, and the engine's checked path reads each
      // family's header at its own offsets. Once per run of one SPI, here and not per packet.
      for (uint16_t k = i; k < j; ++k)
        DropPkt(pkts[k], Meta(pkts[k])->in_ifindex, DropIndex(esp::DropReason::kBadOuterHeader));
    } else if (sa->owner != id_) {
      for (uint16_t k = i; k < j; ++k)
        Handoff(pkts[k], sa->owner, PktKind::kEspIn, sa->id, Meta(pkts[k])->in_ifindex);
    } else {
      EspInSa(*sa, pkts + i, j - i, t, depth);
    }
    i = j;
  }
}

void Worker::EspInSa(SaEntry& sa, rte_mbuf** pkts, uint16_t n, const Tables& t, int depth) {
  esp::DropList drops;
  // Everything here came through CheckIpv4 and Local, or Input6 and Local6 (here or on another
  // worker): their checks are what the engine's checked fast path relies on.
  uint16_t ok = esp_->Decrypt(*sa.sa, pkts, n, drops, /*outer_checked=*/true);
  for (uint16_t k = 0; k < drops.n; ++k)
    DropPkt(drops.pkts[k], Meta(drops.pkts[k])->in_ifindex, DropIndex(drops.reasons[k]));
  if (ok == 0) return;
  // A policy-based SA (of no interface, or of a VFP, which only names where its traffic
  // arrives): what comes out of it must be what its policies let in, IPv4 packets by the IPv4
  // policies and IPv6 ones by the IPv6 policies. Packets that are neither (or malformed)
  // match nothing; the rest are classified in one call per family.
  if ((sa.ifindex == 0 || t.ifs[sa.ifindex].kind == IfKind::kVfp) &&
      (t.spd.in.n | t.spd.in6.n) != 0) {
    PacketSelector sel[kBurst];
    PacketSelector6 sel6[kBurst];
    const PolicyEntry* match[kBurst];
    const PolicyEntry* match6[kBurst];
    uint8_t fam[kBurst];  // 4, 6, or 0: matches nothing
    uint16_t ns = 0, ns6 = 0;
    for (uint16_t k = 0; k < ok; ++k) {
      const rte_mbuf* m = pkts[k];
      auto* ip = rte_pktmbuf_mtod(m, const uint8_t*);
      const uint8_t version = m->data_len != 0 ? ip[0] >> 4 : 0;
      fam[k] = 0;
      if (version == 4) {
        const uint32_t l3 = m->data_len >= 20 ? (ip[0] & 0x0fu) * 4 : 0;
        if (l3 >= 20 && l3 <= m->data_len) {
          sel[ns++] = SelectorOf(ip, l3, m->data_len);
          fam[k] = 4;
        }
      } else if (version == 6 && Selector6(m, &sel6[ns6])) {
        ++ns6;
        fam[k] = 6;
      }
    }
    if (ns != 0) t.spd.in.Classify(sel, match, ns);
    if (ns6 != 0) t.spd.in6.Classify6(sel6, match6, ns6);
    uint16_t kept = 0, s = 0, s6 = 0;
    for (uint16_t k = 0; k < ok; ++k) {
      rte_mbuf* m = pkts[k];
      const PolicyEntry* p = fam[k] == 4 ? match[s++] : fam[k] == 6 ? match6[s6++] : nullptr;
      if (p == nullptr || p->action != PolicyAction::kProtect || p->reqid != sa.reqid) {
        DropPkt(m, Meta(m)->in_ifindex, Drop::kPolicyMismatch);
        continue;
      }
      pkts[kept++] = m;
    }
    ok = kept;
  }
  Decrypted(pkts, ok, sa.ifindex, t, depth + 1);
}

void Worker::EspOut(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth,
                    const PolicyEntry* const* policies) {
  rte_mbuf* ready[kBurst];
  SaEntry* sas[kBurst];
  uint16_t nr = 0;
  // Runs of packets for one SA go to its owner (here or another worker).
  auto flush = [&] {
    uint16_t i = 0;
    while (i < nr) {
      SaEntry* sa = sas[i];
      const uint16_t vti = Meta(ready[i])->out_ifindex;
      uint16_t j = i + 1;
      while (j < nr && sas[j] == sa) ++j;
      if (sa->owner != id_) {
        const bool track = policies == nullptr && t.ifs[vti].out_group != nullptr;
        for (uint16_t k = i; k < j; ++k)
          Handoff(ready[k], sa->owner, PktKind::kEspOut, sa->id, vti, track);
      } else {
        EspOutSa(*sa, vti, ready + i, j - i, t, depth);
      }
      i = j;
    }
    nr = 0;
  };
  constexpr int kMaxFragments = 16;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const uint16_t vti = Meta(m)->out_ifindex;
    SaEntry* sa;
    uint32_t mtu;
    if (policies == nullptr) {
      const Interface& f = t.ifs[vti];
      sa = f.out_sa;
      mtu = f.mtu;
      // This worker's member of the tunnel's group (RFC 9611), instead of the fallback's
      // owner.
      if (sa == nullptr || f.out_owner != id_) {
        if (const SaGroup::Member* own = OwnMember(f, vti)) sa = own->sa;
      }
    } else {
      sa = policies[i]->sa;
      mtu = policies[i]->mtu;
    }
    if (sa == nullptr) {
      // A trap: vpnd brings the tunnel (back) up.
      if (policies == nullptr) {
        Acquire(m, 0, vti);
      } else {
        Acquire(m, policies[i]->reqid, 0);
      }
      DropPkt(m, vti, Drop::kVtiWithoutSa);
      continue;
    }
    if (m->pkt_len > mtu && (*rte_pktmbuf_mtod(m, const uint8_t*) >> 4) == 6) {
      // IPv6 is never fragmented on the way (RFC 8200 §5): packet too big, the tunnel MTU.
      Icmp6Error(m, 2, 0, mtu, t, depth);
      DropPkt(m, vti, Drop::kFragmentationNeeded);
      continue;
    }
    if (m->pkt_len > mtu) {
      auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
      if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG)) {
        IcmpError(m, 3, 4, static_cast<uint16_t>(mtu), t, depth);  // fragmentation needed
        DropPkt(m, vti, Drop::kFragmentationNeeded);
        continue;
      }
      // Fragment before encryption (RFC 4459 §5.1), so the peer does not reassemble ESP.
      if (nr + kMaxFragments > kBurst) flush();
      int nf = FragmentIpv4(m, static_cast<uint16_t>(mtu), dp_.pool, kEspTailReserve, ready + nr,
                            kMaxFragments);
      if (nf <= 0) {
        DropPkt(m, vti, Drop::kFragmentFailed);
        continue;
      }
      const uint16_t in = Meta(m)->in_ifindex;
      rte_pktmbuf_free(m);
      for (int k = 0; k < nf; ++k) {
        *Meta(ready[nr]) = PacketMeta{in, vti, 0, PktKind::kNone, 0, 0, 0};
        sas[nr++] = sa;
      }
      continue;
    }
    ready[nr] = m;
    sas[nr++] = sa;
  }
  flush();
}

void Worker::ToTunnel(rte_mbuf** pkts, uint16_t n, uint16_t vti, const Tables& t, int depth,
                      const RunScan& scan) {
  const Interface& f = t.ifs[vti];
  const SaEntry* sa = f.out_sa;
  RunScan s = scan;
  if (unlikely(t.fw != nullptr) &&
      (t.fw->hooks[vti][kFwOut] != nullptr || t.fw->hooks6[vti][kFwOut] != nullptr)) {
    // `out` on the VTI sees the inner packet, before encryption. A run is one family's:
    // Forward's (IPv4) or Forward6's.
    const bool v6 = (*rte_pktmbuf_mtod(pkts[0], const uint8_t*) >> 4) == 6;
    const uint16_t kept = v6 ? FwOut<true>(pkts, n, vti, t, depth) : FwOut(pkts, n, vti, t, depth);
    if (kept == 0) return;
    if (kept != n) {
      s.bytes = s.longest = 0;
      for (uint16_t k = 0; k < kept; ++k) {
        s.bytes += pkts[k]->pkt_len;
        s.longest = std::max<uint32_t>(s.longest, pkts[k]->pkt_len);
      }
      n = kept;
    }
  }
  if (sa == nullptr && f.kind == IfKind::kVfp) {
    // A VFP sends only what its tunnels' protect policies match, and those took every packet
    // they match before routing (ApplyPolicies): nothing routed here has a tunnel, and no
    // acquire could bring one.
    for (uint16_t k = 0; k < n; ++k) DropPkt(pkts[k], vti, Drop::kVfpNoPolicy);
    return;
  }
  if (sa != nullptr && sa->owner == id_ && s.longest <= f.mtu) {
    EspOutSa(*f.out_sa, vti, pkts, n, t, depth, s.bytes);
    return;
  }
  // This worker's member of the tunnel's group (RFC 9611): no handoff.
  if (s.longest <= f.mtu) {
    if (const SaGroup::Member* own = OwnMember(f, vti)) {
      EspOutSa(*own->sa, vti, pkts, n, t, depth, s.bytes);
      return;
    }
  }
  // Fragmenting, handing to the SA's owner or dropping: the general way.
  for (uint16_t k = 0; k < n; ++k) Meta(pkts[k])->out_ifindex = vti;
  EspOut(pkts, n, t, depth);
}

void Worker::EspOutSa(SaEntry& sa, uint16_t vti, rte_mbuf** pkts, uint16_t n, const Tables& t,
                      int depth) {
  uint64_t bytes = 0;
  for (uint16_t k = 0; k < n; ++k) bytes += pkts[k]->pkt_len;
  EspOutSa(sa, vti, pkts, n, t, depth, bytes);
}

void Worker::EspOutSa(SaEntry& sa, uint16_t vti, rte_mbuf** pkts, uint16_t n, const Tables& t,
                      int depth, uint64_t bytes) {
  InterfaceStats& s = stats_->ifs[vti];
  s.tx_packets += n;
  s.tx_bytes += bytes;
  EncryptRun(sa, vti, pkts, n, t, depth);
}

void Worker::AddToBatch(TunnelBatch& b, SaEntry* sa, esp::Sa* esa, uint16_t vti, rte_mbuf** pkts,
                        uint16_t n, uint64_t bytes) {
  // The SA's line 0, for EncryptEach (as BatchTunnels does).
  __builtin_prefetch(esa);
  InterfaceStats& s = stats_->ifs[vti];
  s.tx_packets += n;
  s.tx_bytes += bytes;
  if (b.runs++ == 0) {
    b.first_sa = sa;
    b.first_vti = vti;
  }
  for (uint16_t k = 0; k < n; ++k) {
    b.pkts[b.n] = pkts[k];
    b.sas[b.n] = esa;
    b.vtis[b.n++] = vti;
  }
}

void Worker::HandoffRun(const Interface& f, uint16_t vti, rte_mbuf** pkts, uint16_t n) {
  const uint32_t sa_id = f.out_sa->id;
  const int off = g_meta_offset;
  const bool track = f.out_group != nullptr;
  for (uint16_t k = 0; k < n; ++k) {
    Meta(pkts[k], off)->out_ifindex = vti;
    Handoff(pkts[k], f.out_owner, PktKind::kEspOut, sa_id, vti, track);
  }
}

void Worker::EspOutEach(TunnelBatch& b, const Tables& t, int depth) {
  const uint16_t n = b.n;
  b.n = 0;
  if (b.runs == 1) {
    // One tunnel (the usual burst of a few): Encrypt's burst path, as ever.
    b.runs = 0;
    EncryptRun(*b.first_sa, b.first_vti, b.pkts, n, t, depth);
    return;
  }
  b.runs = 0;
  stats_->tunnel_batched += n;
  esp::DropList drops;
  uint16_t drop_vtis[kBurst];
  const uint16_t ok = esp_->EncryptEach(b.sas, b.pkts, b.vtis, n, drops, drop_vtis);
  for (uint16_t k = 0; k < drops.n; ++k)
    DropPkt(drops.pkts[k], drop_vtis[k], DropIndex(drops.reasons[k]));
  if (ok) SendOuterEach(b.pkts, b.vtis, ok, t, depth);
}

void Worker::SendOuterEach(rte_mbuf** pkts, const uint16_t* vtis, uint16_t n, const Tables& t,
                           int depth) {
  // The tunnels of one peer (or behind one gateway) leave as one run: one route lookup, one
  // neighbour lookup. Runs of one destination that need more than a plain send, and IPv6
  // peers, go packet by packet through SendOuter, which counts drops on each one's tunnel.
  uint16_t i = 0;
  while (i < n) {
    auto* ip = rte_pktmbuf_mtod(pkts[i], const rte_ipv4_hdr*);
    uint16_t j = i + 1;
    if ((ip->version_ihl >> 4) == 4) {
      const uint32_t dst = ip->dst_addr;
      while (j < n) {
        auto* o = rte_pktmbuf_mtod(pkts[j], const rte_ipv4_hdr*);
        if ((o->version_ihl >> 4) != 4 || o->dst_addr != dst) break;
        ++j;
      }
      const NextHop& nh = dp_.fib->next_hop(dp_.fib->Lookup(dst));
      if (nh.type == NhType::kConnected || nh.type == NhType::kGateway) {
        if (unlikely(t.fw != nullptr))
          FwSessionFlagOff(pkts + i, static_cast<uint16_t>(j - i), nh.ifindex, t);
        SendRun(pkts + i, static_cast<uint16_t>(j - i), nh.ifindex,
                nh.type == NhType::kGateway ? nh.gateway : dst, t);
        i = j;
        continue;
      }
    }
    for (; i < j; ++i) SendOuter(pkts + i, 1, vtis[i], t, depth);
  }
}

void Worker::EncryptRun(SaEntry& sa, uint16_t vti, rte_mbuf** pkts, uint16_t n, const Tables& t,
                        int depth) {
  esp::DropList drops;
  // Everything routed here passed CheckIpv4 (or was built here), trimmed to its length.
  uint16_t ok = esp_->Encrypt(*sa.sa, pkts, n, drops, /*inner_checked=*/true);
  for (uint16_t k = 0; k < drops.n; ++k) DropPkt(drops.pkts[k], vti, DropIndex(drops.reasons[k]));
  if (ok) SendOuter(pkts, ok, vti, t, depth);
}

void Worker::FwSessionFlagOff(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const Tables& t) {
  // kMetaFwSession said the inner packet made its flow's session; the ESP packet made none.
  // Only the port's `out` reads it on the way to the wire: without that chain the metadata
  // lines are left alone (clearing them for every packet was 5% of the firewalled encrypt
  // path's time by perf: after encryption those lines are no longer in L1).
  if (ifx != 0 && t.fw->hooks[ifx][kFwOut] == nullptr) return;
  for (uint16_t k = 0; k < n; ++k) Meta(pkts[k])->flags &= ~kMetaFwSession;
}

void Worker::SendOuter(rte_mbuf** pkts, uint16_t n, uint16_t vti, const Tables& t, int depth) {
  // All of an SA's packets go to one peer: one route lookup for the run, unless the route is
  // anything but a plain interface (another tunnel, none, local), which Forward handles.
  auto* ip = rte_pktmbuf_mtod(pkts[0], const rte_ipv4_hdr*);
  if ((ip->version_ihl >> 4) == 4) {
    const uint32_t dst = ip->dst_addr;
    const NextHop& nh = dp_.fib->next_hop(dp_.fib->Lookup(dst));
    if (nh.type == NhType::kConnected || nh.type == NhType::kGateway) {
      if (unlikely(t.fw != nullptr)) FwSessionFlagOff(pkts, n, nh.ifindex, t);
      SendRun(pkts, n, nh.ifindex, nh.type == NhType::kGateway ? nh.gateway : dst, t);
      return;
    }
  }
  // Anywhere else (another tunnel, an IPv6 peer, the general way) any hook may meet them.
  if (unlikely(t.fw != nullptr)) FwSessionFlagOff(pkts, n, 0, t);
  // Drops on the way are counted on the tunnel the packets came out of.
  for (uint16_t k = 0; k < n; ++k) Meta(pkts[k])->in_ifindex = vti;
  if ((ip->version_ihl >> 4) == 6) {
    // An IPv6 peer: one lookup for the run too, when it leads straight out of a port that
    // takes every packet of it (no out hook, within the MTU); else the general way.
    const uint8_t* dst = reinterpret_cast<const rte_ipv6_hdr*>(ip)->dst_addr;
    const NextHop6& nh = dp_.fib6->next_hop(dp_.fib6->Lookup(dst));
    if ((nh.type == NhType::kConnected || nh.type == NhType::kGateway) &&
        (t.fw == nullptr || t.fw->hooks6[nh.ifindex][kFwOut] == nullptr)) {
      const uint32_t mtu = t.ifs[nh.ifindex].mtu ? t.ifs[nh.ifindex].mtu : 1500;
      uint32_t longest = 0;
      for (uint16_t k = 0; k < n; ++k) longest = std::max(longest, pkts[k]->pkt_len);
      if (longest <= mtu) {
        uint8_t hop[16];
        std::memcpy(hop, nh.type == NhType::kGateway ? nh.gateway.data() : dst, 16);
        SendRun6(pkts, n, nh.ifindex, hop, t);
        return;
      }
    }
    Forward6(pkts, n, t, /*transit=*/false, depth);
    return;
  }
  Forward(pkts, n, t, /*transit=*/false, depth, /*own=*/false);
}

}  // namespace portcullis::dp
