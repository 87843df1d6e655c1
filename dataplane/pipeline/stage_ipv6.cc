// IPv6 (docs/DESIGN.md, IPv6): header and extension-header validation, then local delivery or
// forwarding through the FIB6 (rte_fib6), with the router's duties of RFC 8200: hop limit
// (ICMPv6 time exceeded), no fragmentation (packet too big with the egress or tunnel MTU),
// destination unreachable when there is no route. Tunnels take IPv6 inner packets as IPv4
// ones: routed into a VTI, encrypted with its SA whatever the SA's outer family.
#include <rte_ip.h>
#include <rte_random.h>

#include <algorithm>
#include <cstring>

#include "dataplane/core/ipv6_scope.h"
#include "dataplane/pipeline/ipv6_check.h"
#include "dataplane/pipeline/ipv6_fragment.h"
#include "dataplane/pipeline/policy_sort.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {

// Whether dst (link-local) is one of f's addresses.
bool OwnLinkLocal(const Interface& f, const uint8_t* dst) {
  for (uint8_t a = 0; a < f.naddr6; ++a)
    if (!f.addr6[a].duplicate && std::memcmp(dst, f.addr6[a].addr, 16) == 0) return true;
  return false;
}

// Next-hop ids Forward6 gives our own packets to a link-local destination instead of a FIB6
// lookup (no link-local prefix is in the FIB6): the interface the packet belongs to, the one it
// answers, in the low bits.
constexpr uint64_t kLinkLocalOut = uint64_t{1} << 63;
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kDestOptions = 60;
constexpr uint32_t kMaxExtensions = 8;  // more is an attack, not a packet (RFC 8504 §5.3)
constexpr uint8_t kNoNextHeader = 59;
// Tailroom every fragment of ours keeps for an ESP trailer, should its route be a tunnel (as
// EspOut's for IPv4 fragments).
constexpr uint16_t kFragmentTailReserve = 64;

// The offset of the next-header field that names the upper-layer protocol at `l4` (the IPv6
// header's, or the last extension header's first byte), of a chain SkipExtensions6 accepted
// without a fragment header: what a parameter problem's pointer gives (RFC 4443 §3.4).
// The offset of the Routing Type field of the first routing header in the chain before `l4`
// whose Segments Left is not 0, or 0 when there is none. A chain SkipExtensions6 accepted
// without a fragment header. We know no routing type (type 0 is deprecated, RFC 5095): such
// a header makes the packet not ours to deliver (RFC 8200 §4.4).
uint32_t RoutingLeft6(const rte_mbuf* m, uint32_t l4) {
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  uint8_t nh = p[6];
  uint32_t off = sizeof(rte_ipv6_hdr);
  while (off < l4) {
    if (nh == kRouting && p[off + 3] != 0) return off + 2;
    nh = p[off];
    off += 8 + 8u * p[off + 1];
  }
  return 0;
}

uint32_t NextHeaderField6(const rte_mbuf* m, uint32_t l4) {
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t field = 6, off = sizeof(rte_ipv6_hdr);
  while (off < l4) {
    field = off;
    off += 8 + 8u * p[off + 1];
  }
  return field;
}

}  // namespace

uint32_t Worker::SkipExtensions6(const rte_mbuf* m, uint8_t* proto, bool* fragment) {
  static_assert(Extension6(kHopByHop) && Extension6(kRouting) && Extension6(kFragment) &&
                Extension6(kDestOptions));
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = m->data_len;
  uint8_t nh = p[6];
  uint32_t off = sizeof(rte_ipv6_hdr);
  *fragment = false;
  for (uint32_t k = 0; k <= kMaxExtensions; ++k) {
    switch (nh) {
      case kHopByHop:
        if (k != 0) return 0;  // only right after the IPv6 header (RFC 8200 §4.1)
        [[fallthrough]];
      case kRouting:
      case kDestOptions: {
        if (off + 8 > len) return 0;
        const uint32_t ext = 8 + 8u * p[off + 1];
        if (off + ext > len) return 0;
        nh = p[off];
        off += ext;
        continue;
      }
      case kFragment: {
        if (off + 8 > len) return 0;
        *fragment = true;
        // A later fragment's data is no header: nothing past it is read (59: no next header).
        if (((p[off + 2] << 8 | p[off + 3]) & 0xfff8) != 0) {
          *proto = 59;
          return off + 8;
        }
        nh = p[off];
        off += 8;
        continue;
      }
      default:
        *proto = nh;
        return off;
    }
  }
  return 0;  // too long a chain
}

bool Worker::Selector6(const rte_mbuf* m, PacketSelector6* sel) {
  const uint8_t* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  if (m->data_len < sizeof(rte_ipv6_hdr)) return false;
  uint8_t proto = ip[6];
  uint32_t l4 = sizeof(rte_ipv6_hdr);
  bool later = false;
  if (Extension6(proto)) {
    bool frag;
    l4 = SkipExtensions6(m, &proto, &frag);
    if (l4 == 0) return false;
    // A later fragment: its protocol is the fragment header's next header, it has no ports.
    if (frag && proto == 59 && l4 >= sizeof(rte_ipv6_hdr) + 8) {
      const uint8_t* fh = ip + l4 - 8;
      if (((fh[2] << 8 | fh[3]) & 0xfff8) != 0) {
        proto = fh[0];
        later = true;
      }
    }
  }
  *sel = SelectorOf6(ip, l4, proto, later, m->data_len);
  return true;
}

uint16_t Worker::ApplyPolicies6(rte_mbuf** pkts, uint64_t* nh_ids, uint16_t n, const Tables& t,
                                int depth) {
  rte_mbuf* protect[kBurst];
  const PolicyEntry* policies[kBurst];
  uint16_t np;
  const uint16_t kept = SortByPolicy<true>(pkts, nh_ids, n, t, depth, protect, policies, &np);
  if (unlikely(t.fw != nullptr) && np) np = FwThroughVfp6(protect, policies, np, t, depth);
  if (np) EspOut(protect, np, t, depth + 1, policies);
  return kept;
}

uint16_t Worker::FwThroughVfp6(rte_mbuf** pkts, const PolicyEntry** policies, uint16_t n,
                               const Tables& t, int depth) {
  // FwThroughVfp's (stage_ipv4.cc) for IPv6: a tunnel that uses a VFP sends through it, so the
  // zone policy towards the VFP and its IPv6 `out` chain see the inner packet before
  // encryption. Runs of one policy (hence one SA, one VFP) are filtered together.
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
      if (fw.any_zone) rn = FwZones<true>(run, rn, vfp, t, depth);
      if (rn != 0 && fw.hooks6[vfp][kFwOut] != nullptr) rn = FwOut<true>(run, rn, vfp, t, depth);
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

void Worker::Input6(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth) {
  uint16_t nok = 0;
  // To the receiving interface's first address: ours without a lookup (a /128 costs the
  // TRIE a dozen levels), as IPv4 does; other addresses of ours find their local routes.
  rte_mbuf* mine[kBurst];
  uint16_t nmine = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const uint16_t in = Meta(m)->in_ifindex;
    if (m->data_len < sizeof(rte_ipv6_hdr)) {
      DropPkt(m, in, Drop::kTruncated);
      continue;
    }
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
    const uint32_t total = sizeof(rte_ipv6_hdr) + rte_be_to_cpu_16(ip->payload_len);
    if ((ip->vtc_flow & RTE_BE32(0xf0000000)) != RTE_BE32(0x60000000) || total > m->pkt_len ||
        m->nb_segs != 1) {
      DropPkt(m, in, Drop::kBadIpHeader);
      continue;
    }
    if (total < m->pkt_len) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - total));
    if (ip->dst_addr[0] == 0xff) {
      DropPkt(m, in, Drop::kIpv6Multicast);  // ND went to the main lcore before this
      continue;
    }
    if (BadSource6(ip->src_addr)) {
      DropPkt(m, in, Drop::kIpv6Scope);
      continue;
    }
    // A chain of extension headers is checked before anything trusts it; plain packets (the
    // usual ones) have none to walk.
    uint32_t l4 = sizeof(rte_ipv6_hdr);
    const uint8_t nh = ip->proto;
    if (Extension6(nh)) {
      uint8_t proto;
      bool frag;
      l4 = WalkExtensions6(m, in, &proto, &frag);
      if (l4 == 0) continue;
    }
    // l3_len, in one store of the word (nothing else is set on a received packet, as
    // Ipv4Verdict): the bit-field's read-modify-write waited on the mbuf's second cache line.
    m->tx_offload = uint64_t{l4} << 7;
    const Interface& f = t.ifs[in];
    if (f.naddr6 != 0 && std::memcmp(ip->dst_addr, f.addr6[0].addr, 16) == 0 &&
        !f.addr6[0].duplicate) {
      mine[nmine++] = m;
    } else if (unlikely(LinkLocal6(ip->dst_addr))) {
      // Link-local addresses are not in the FIB6 (the same one may be on every link): ours
      // when the receiving interface has it, else another link's, never routed (no lookup: a
      // default route or a firewall would otherwise count it under their own reasons).
      if (OwnLinkLocal(f, ip->dst_addr)) {
        mine[nmine++] = m;
      } else {
        DropPkt(m, in, Drop::kIpv6Scope);
      }
    } else {
      pkts[nok++] = m;
    }
  }
  if (unlikely(t.fw != nullptr)) {
    // The firewall's `in` on the receiving interface (the VTI for what an SA decrypted).
    if (nmine) nmine = FwIn<true>(mine, nmine, t, depth, nullptr);
    if (nok) nok = FwIn<true>(pkts, nok, t, depth, nullptr);
  }
  if (nmine) Local6(mine, nmine, t, depth);
  if (nok) Forward6(pkts, nok, t, /*transit=*/true, depth);
}

void Worker::Forward6(rte_mbuf** pkts, uint16_t n, const Tables& t, bool transit, int depth) {
  alignas(16) uint8_t dsts[kBurst][16];
  uint64_t nh_ids[kBurst];
  bool any_link_local = false;
  for (uint16_t i = 0; i < n; ++i) {
    std::memcpy(dsts[i], rte_pktmbuf_mtod(pkts[i], const rte_ipv6_hdr*)->dst_addr, 16);
    any_link_local |= LinkLocal6(dsts[i]);
  }
  dp_.fib6->Lookup(dsts, nh_ids, n);
  // Ours to a link-local address (an echo reply, an error to a neighbour's link-local source)
  // leaves by the interface it answers: the address names no link by itself. Received ones to
  // another link's link-local address find no route, or a default one, and are dropped below.
  if (unlikely(any_link_local) && !transit)
    for (uint16_t i = 0; i < n; ++i)
      if (LinkLocal6(dsts[i])) nh_ids[i] = kLinkLocalOut | Meta(pkts[i])->in_ifindex;
  // Policies apply to what passes through (as for IPv4, Dispatch), not to what we originate.
  if (transit && (t.spd.out6.n | t.spd.in6.n) != 0) {
    n = ApplyPolicies6(pkts, nh_ids, n, t, depth);
    if (n == 0) return;
  }
  uint16_t i = 0;
  while (i < n) {
    const uint64_t id = nh_ids[i];
    uint16_t j = i + 1;
    while (j < n && nh_ids[j] == id) ++j;
    rte_mbuf** run = pkts + i;
    uint16_t rn = static_cast<uint16_t>(j - i);
    i = j;
    NextHop6 on_link;
    if (unlikely(id & kLinkLocalOut)) {
      const uint16_t ifx = static_cast<uint16_t>(id);
      on_link = {t.ifs[ifx].kind == IfKind::kVti || t.ifs[ifx].kind == IfKind::kVfp
                     ? NhType::kInterface
                     : NhType::kConnected,
                 ifx,
                 {}};
    }
    const NextHop6& nh = unlikely(id & kLinkLocalOut) ? on_link : dp_.fib6->next_hop(id);
    switch (nh.type) {
      case NhType::kLocal:
        if (transit) {
          Local6(run, rn, t, depth);
        } else {
          for (uint16_t k = 0; k < rn; ++k)
            DropPkt(run[k], Meta(run[k])->in_ifindex, Drop::kLocalUnhandled);
        }
        continue;
      case NhType::kNone:
        for (uint16_t k = 0; k < rn; ++k) {
          // Another link's link-local address, or ::1: not routable, and not worth an error.
          const uint8_t* dst = rte_pktmbuf_mtod(run[k], const rte_ipv6_hdr*)->dst_addr;
          if (transit && (LinkLocal6(dst) || BadSource6(dst))) {
            DropPkt(run[k], Meta(run[k])->in_ifindex, Drop::kIpv6Scope);
            continue;
          }
          if (transit) Icmp6Error(run[k], 1, 0, 0, t, depth);  // no route to destination
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
    const Interface& f = t.ifs[nh.ifindex];
    const bool tunnel = f.kind == IfKind::kVti || f.kind == IfKind::kVfp;
    const uint32_t mtu = f.mtu ? f.mtu : 1500;
    // Zone policies between the receiving and the sending interface (our own packets: the
    // local zone's policy to the sending interface's zone, if it has one), as IPv4's.
    // What waited for neighbour discovery met its zones and `out` before it waited (SendRun6)
    // and comes back through DrainInject as ours: not a second time (IPv4's kMetaRouted too).
    const bool routed = Meta(run[0])->flags & kMetaRouted;
    if (unlikely(t.fw != nullptr) && t.fw->any_zone && !routed) {
      const FwTables& fw = *t.fw;
      if (transit) {
        rn = FwZones<true>(run, rn, nh.ifindex, t, depth);
      } else if (fw.local_zone != 0 &&
                 fw.zone_pairs6[fw.local_zone][fw.zone_of[nh.ifindex]] != nullptr) {
        rn = FwFromLocal<true>(run, rn, nh.ifindex, t, depth);
      }
      if (rn == 0) continue;
    }
    // Hop limit and MTU, per packet; the survivors compacted.
    uint16_t kept = 0;
    uint64_t bytes = 0;
    uint32_t longest = 0;
    for (uint16_t k = 0; k < rn; ++k) {
      rte_mbuf* m = run[k];
      auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
      const uint16_t in = Meta(m)->in_ifindex;
      if (transit) {
        if (!MayForward6(m, in, t, depth)) continue;
        --ip->hop_limits;
      }
      // IPv6 routers never fragment (RFC 8200 §5): too big for the link or the tunnel is
      // answered with its MTU. Our own packets are a source's, which may be fragmented
      // (§4.5): an echo reply as long as a reassembled request, IKE.
      if (m->pkt_len > mtu) {
        if (transit) {
          Icmp6Error(m, 2, 0, mtu, t, depth);
          DropPkt(m, in, Drop::kFragmentationNeeded);
        } else {
          FragmentOwn6(m, mtu, t, depth);
        }
        continue;
      }
      bytes += m->pkt_len;
      longest = std::max<uint32_t>(longest, m->pkt_len);
      run[kept++] = m;
    }
    rn = kept;
    if (rn == 0) continue;
    if (tunnel) {
      if (depth >= kMaxDepth) {
        for (uint16_t k = 0; k < rn; ++k) DropPkt(run[k], Meta(run[k])->in_ifindex, Drop::kNoRoute);
        continue;
      }
      const RunScan scan{bytes, longest, 0, false};
      ToTunnel(run, rn, nh.ifindex, t, depth + 1, scan);
      continue;
    }
    // `out` on the sending port (a tunnel's is ToTunnel's, on the inner packet), after the
    // hop limit as IPv4's after the TTL; our own packets (ESP, IKE, errors) too.
    if (unlikely(t.fw != nullptr) && t.fw->hooks6[nh.ifindex][kFwOut] != nullptr && !routed) {
      rn = FwOut<true>(run, rn, nh.ifindex, t, depth);
      if (rn == 0) continue;
    }
    if (nh.type == NhType::kGateway) {
      SendRun6(run, rn, nh.ifindex, nh.gateway.data(), t);
    } else {
      // On-link: each destination is its own neighbour; runs of one destination share it.
      uint16_t k = 0;
      while (k < rn) {
        const uint8_t* dst = rte_pktmbuf_mtod(run[k], const rte_ipv6_hdr*)->dst_addr;
        uint16_t e = k + 1;
        while (e < rn &&
               std::memcmp(rte_pktmbuf_mtod(run[e], const rte_ipv6_hdr*)->dst_addr, dst, 16) == 0)
          ++e;
        uint8_t hop[16];
        std::memcpy(hop, dst, 16);
        SendRun6(run + k, static_cast<uint16_t>(e - k), nh.ifindex, hop, t);
        k = e;
      }
    }
  }
}

void Worker::FragmentOwn6(rte_mbuf* m, uint32_t mtu, const Tables& t, int depth) {
  rte_mbuf* frags[kBurst];
  const PacketMeta meta = *Meta(m);
  // A fresh random identification per datagram (RFC 7739: not predictable).
  const int nf = FragmentIpv6(m, mtu, static_cast<uint32_t>(rte_rand()), dp_.pool,
                              kFragmentTailReserve, frags, kBurst);
  if (nf <= 0) {
    DropPkt(m, meta.in_ifindex, Drop::kFragmentFailed);
    return;
  }
  rte_pktmbuf_free(m);
  for (int k = 0; k < nf; ++k) *Meta(frags[k]) = meta;
  // Each fits: routed as the packet was (the same way out; its zones and `out` again).
  Forward6(frags, static_cast<uint16_t>(nf), t, /*transit=*/false, depth);
}

void Worker::SendRun6(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const uint8_t* hop,
                      const Tables& t) {
  const Interface& f = t.ifs[ifx];
  if (const Drop why = CannotSend(f, ifx); unlikely(why != Drop::kCount)) {
    if (why == Drop::kUnknownInterface) ifx = 0;
    for (uint16_t k = 0; k < n; ++k) DropPkt(pkts[k], ifx, why);
    return;
  }
  rte_ether_addr dst;
  if (!dp_.neighbors6->Lookup6(ifx, hop, &dst)) {
    // The main lcore solicits the neighbour (ND) and sends the packets once it knows.
    for (uint16_t k = 0; k < n; ++k) {
      Meta(pkts[k])->out_ifindex = ifx;
      ToSlowPath(pkts[k], PktKind::kResolve, ifx);
    }
    return;
  }
  const bool tagged = f.kind == IfKind::kVif;
  const uint16_t l2_len =
      tagged ? sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr) : sizeof(rte_ether_hdr);
  alignas(8) uint8_t l2[20];
  std::memcpy(l2, &dst, 6);
  std::memcpy(l2 + 6, &f.mac, 6);
  const uint16_t type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
  if (tagged) {
    const uint16_t tpid = RTE_BE16(RTE_ETHER_TYPE_VLAN), tci = rte_cpu_to_be_16(f.vlan);
    std::memcpy(l2 + 12, &tpid, 2);
    std::memcpy(l2 + 14, &tci, 2);
    std::memcpy(l2 + 16, &type, 2);
  } else {
    std::memcpy(l2 + 12, &type, 2);
  }
  uint64_t bytes = 0;
  uint16_t sent = 0;
  for (uint16_t k = 0; k < n; ++k) {
    rte_mbuf* m = pkts[k];
    uint8_t* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, l2_len));
    if (unlikely(h == nullptr)) {
      DropPkt(m, ifx, Drop::kNoMemory);
      continue;
    }
    std::memcpy(h, l2, l2_len);
    bytes += m->pkt_len;
    ++sent;
    Enqueue(m, f.port, ifx);
  }
  InterfaceStats& s = stats_->ifs[ifx];
  s.tx_packets += sent;
  s.tx_bytes += bytes;
}

void Worker::Local6(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth) {
  // `local` (and the local zone's policy) before anything here answers or punts. Neighbour
  // discovery never gets here: stage_l2 hands it to the main lcore, so a `local` ruleset
  // with default drop cannot cut the router off its links (docs/DESIGN.md, Firewall).
  if (unlikely(t.fw != nullptr)) {
    n = FwLocal<true>(pkts, n, t, depth);
    if (n == 0) return;
  }
  rte_mbuf* esp[kBurst];
  uint32_t spis[kBurst];
  uint16_t ne = 0;
  constexpr uint16_t kIkePort = 500, kNatTPort = 4500;
  auto to_esp = [&](rte_mbuf* m, uint32_t off) {
    uint32_t spi = 0;
    if (m->data_len >= off + 8)
      std::memcpy(&spi, rte_pktmbuf_mtod_offset(m, const uint8_t*, off), 4);
    spis[ne] = spi;
    esp[ne++] = m;
  };
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const uint16_t in = Meta(m)->in_ifindex;
    // Plain packets (the usual ones) have no chain to walk; their protocol and offset stay in
    // registers (the walk's out-parameters live on the stack).
    uint8_t proto = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*)->proto;
    uint32_t off = sizeof(rte_ipv6_hdr);
    if (unlikely(Extension6(proto))) {
      uint8_t last;
      bool frag;
      off = WalkExtensions6(m, in, &last, &frag);
      if (off == 0) continue;
      proto = last;
      if (frag) {
        // Reassembled (ipv6_reassembly.cc): the datagram goes on once whole, its fragment
        // header gone and its own chain (if any) walked.
        m = Reassemble6(m, t, depth);
        if (m == nullptr) continue;
        proto = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*)->proto;
        off = sizeof(rte_ipv6_hdr);
        if (Extension6(proto)) {
          off = WalkExtensions6(m, in, &last, &frag);
          if (off == 0) continue;
          if (frag) {
            DropPkt(m, in, Drop::kReassemblyFailed);  // a fragment header inside a fragment
            continue;
          }
          proto = last;
        }
        // Longer than one buffer it stays chained: only an echo request is answered so (vpnd's
        // punt and the ESP stage take one segment).
        if (m->nb_segs != 1 && proto != IPPROTO_ICMPV6) {
          DropPkt(m, in, Drop::kLocalUnhandled);
          continue;
        }
        m->l3_len = off;  // as Input6 sets it (the punt reads it)
      }
      // A routing header with segments left names a next destination we cannot take it to:
      // parameter problem, code 0, at its routing type (RFC 8200 §4.4).
      if (const uint32_t type = RoutingLeft6(m, off); type != 0) {
        Icmp6Error(m, 4, 0, type, t, depth);
        DropPkt(m, in, Drop::kLocalUnhandled);
        continue;
      }
    }
    // l3_len is Input6's (or stage_l2's) already: the same walk of the same packet.
    const uint8_t* l4 = rte_pktmbuf_mtod_offset(m, const uint8_t*, off);
    switch (proto) {
      case IPPROTO_ESP:
        if (off != sizeof(rte_ipv6_hdr)) {
          DropPkt(m, in, Drop::kLocalUnhandled);  // the ESP engine takes plain outer headers
          break;
        }
        to_esp(m, off);
        break;
      case IPPROTO_UDP: {
        if (m->data_len < off + 8) {
          DropPkt(m, in, Drop::kTruncated);
          break;
        }
        const uint16_t dport = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
        const uint32_t payload = m->pkt_len - off - 8;
        const uint8_t* body = l4 + 8;
        if (dport == kIkePort) {
          PuntIke(m, off + 8);
        } else if (dport == kNatTPort) {
          if (payload == 1 && m->data_len > off + 8 && body[0] == 0xff) {
            DropPkt(m, in, Drop::kNatKeepalive);
          } else if (payload >= 4 && m->data_len >= off + 12 && body[0] == 0 && body[1] == 0 &&
                     body[2] == 0 && body[3] == 0) {
            Meta(m)->flags |= kMetaNonEspMarker;
            PuntIke(m, off + 12);
          } else if (off != sizeof(rte_ipv6_hdr)) {
            DropPkt(m, in, Drop::kLocalUnhandled);
          } else {
            to_esp(m, off + 8);
          }
        } else {
          DropPkt(m, in, Drop::kLocalUnhandled);
        }
        break;
      }
      case IPPROTO_ICMPV6:
        // A request whose checksum fails is not answered (RFC 4443 §2.4).
        if (m->data_len >= off + 8 && l4[0] == 128 && l4[1] == 0 &&
            (likely(m->nb_segs == 1)
                 ? rte_ipv6_udptcp_cksum_verify(rte_pktmbuf_mtod(m, const rte_ipv6_hdr*), l4)
                 : rte_ipv6_udptcp_cksum_mbuf_verify(m, rte_pktmbuf_mtod(m, const rte_ipv6_hdr*),
                                                     static_cast<uint16_t>(off))) == 0) {
          Icmp6EchoReply(m, off, t, depth);
        } else {
          DropPkt(m, in, Drop::kLocalUnhandled);
        }
        break;
      case IPPROTO_TCP:    // no TCP service here: quiet, as IPv4's (a closed port)
      case kNoNextHeader:  // nothing follows: ignored (RFC 8200 §4.7)
        DropPkt(m, in, Drop::kLocalUnhandled);
        break;
      default:
        // A next header we do not know (RFC 8200 §4: parameter problem, code 1, pointing at
        // the field that names it; rate-limited as every error).
        Icmp6Error(m, 4, 1, NextHeaderField6(m, off), t, depth);
        DropPkt(m, in, Drop::kLocalUnhandled);
    }
  }
  if (ne) EspIn(esp, spis, ne, t, depth, /*v6=*/true);
}

}  // namespace portcullis::dp
