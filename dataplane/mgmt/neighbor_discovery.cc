// IPv6 neighbour discovery on the main lcore (RFC 4861), the counterpart of ARP in
// slow_path.cc: solicitations for our addresses are answered (to the solicited-node group's
// MAC the workers accept as any group address), advertisements update neighbours we have
// (or asked for), router advertisements are counted and ignored (the appliance routes; it
// takes no prefixes or default routes from the link), and next hops the workers could not
// send to are solicited, their packets held as ARP holds them. Every message is checked as
// §7.1 asks: hop limit 255, code 0, the checksum over the pseudo-header, its length.
#include <rte_ether.h>
#include <rte_ip.h>

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <set>

#include "dataplane/core/ipv6_scope.h"
#include "dataplane/core/packet_meta.h"
#include "dataplane/mgmt/slow_path.h"

namespace portcullis::dp {

namespace {

constexpr uint64_t kRetryNs = 1'000'000'000;  // as ARP's
constexpr uint64_t kDadNs = 1'000'000'000;    // RetransTimer: a probe pending this long
constexpr uint8_t kRouterAdvert = 134, kNeighborSolicit = 135, kNeighborAdvert = 136;
constexpr uint8_t kOptSourceLinkAddr = 1, kOptTargetLinkAddr = 2;
constexpr uint32_t kNaRouter = 0x80000000, kNaSolicited = 0x40000000, kNaOverride = 0x20000000;

// The link-layer address option of `type` among the options [p, end), each a multiple of 8
// bytes (a zero length is malformed: false).
bool FindLinkAddr(const uint8_t* p, const uint8_t* end, uint8_t type, rte_ether_addr* mac,
                  bool* found) {
  *found = false;
  while (p + 2 <= end) {
    const uint32_t len = 8u * p[1];
    if (len == 0 || p + len > end) return false;
    if (p[0] == type && len >= 8) {
      std::memcpy(mac->addr_bytes, p + 2, 6);
      *found = true;
    }
    p += len;
  }
  return p == end;
}

// Is addr one of ifx's IPv6 addresses?
bool OwnAddress(const Interface& f, const uint8_t* addr) {
  for (uint8_t a = 0; a < f.naddr6; ++a)
    if (std::memcmp(f.addr6[a].addr, addr, 16) == 0) return true;
  return false;
}

// ff02::1:ffXX:XXXX (RFC 4291 §2.7.1) and its MAC 33:33:ff:XX:XX:XX (RFC 2464 §7).
void SolicitedNode(const uint8_t* target, uint8_t* group, rte_ether_addr* mac) {
  static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  std::memcpy(group, kPrefix, 13);
  std::memcpy(group + 13, target + 13, 3);
  mac->addr_bytes[0] = mac->addr_bytes[1] = 0x33;
  std::memcpy(mac->addr_bytes + 2, group + 12, 4);
}

// An Ethernet + IPv6 + ICMPv6 frame of icmp_len bytes on f, everything but the ICMPv6 body;
// returns the ICMPv6 header (nullptr: no mbuf).
uint8_t* BuildFrame(rte_mempool* pool, const Interface& f, const rte_ether_addr& dst_mac,
                    const uint8_t* src, const uint8_t* dst, uint16_t icmp_len, rte_mbuf** out) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  const bool tagged = f.kind == IfKind::kVif;
  const uint16_t l2 = tagged ? 18 : 14;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(
      rte_pktmbuf_append(m, static_cast<uint16_t>(l2 + sizeof(rte_ipv6_hdr) + icmp_len)));
  if (eth == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  rte_ether_addr_copy(&dst_mac, &eth->dst_addr);
  rte_ether_addr_copy(&f.mac, &eth->src_addr);
  if (tagged) {
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
    auto* vh = reinterpret_cast<rte_vlan_hdr*>(eth + 1);
    vh->vlan_tci = rte_cpu_to_be_16(f.vlan);
    vh->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV6);
  } else {
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
  }
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(reinterpret_cast<uint8_t*>(eth) + l2);
  std::memset(ip, 0, sizeof *ip + icmp_len);
  ip->vtc_flow = RTE_BE32(0x60000000);
  ip->payload_len = rte_cpu_to_be_16(icmp_len);
  ip->proto = IPPROTO_ICMPV6;
  ip->hop_limits = 255;
  std::memcpy(ip->src_addr, src, 16);
  std::memcpy(ip->dst_addr, dst, 16);
  *out = m;
  return reinterpret_cast<uint8_t*>(ip + 1);
}

void FinishChecksum(uint8_t* icmp) {
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(icmp - sizeof(rte_ipv6_hdr));
  const uint16_t c = rte_ipv6_udptcp_cksum(ip, icmp);
  std::memcpy(icmp + 2, &c, 2);
}

std::array<uint8_t, 16> ToArray(const uint8_t* a) {
  std::array<uint8_t, 16> v;
  std::memcpy(v.data(), a, 16);
  return v;
}

}  // namespace

bool SlowPath::Duplicate(uint16_t ifx, const uint8_t* addr) const {
  auto it = dad_.find({ifx, ToArray(addr)});
  return it != dad_.end() && it->second.duplicate;
}

void SlowPath::MarkDuplicate(uint16_t ifx, const uint8_t* addr, const char* why) {
  auto key = std::make_pair(ifx, ToArray(addr));
  auto it = dad_.find(key);
  if (it == dad_.end()) it = dad_.emplace(key, DadState{0, false}).first;
  if (it->second.duplicate) return;
  it->second.duplicate = true;
  ++stats_.nd_duplicates;
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, addr, text, sizeof text);
  std::fprintf(stderr, "vpn-dataplane: duplicate address %s on %s (%s): not used\n", text,
               dp_.CurrentTables().ifs[ifx].name, why);
  if (on_duplicate_) on_duplicate_(ifx, addr);
}

void SlowPath::CheckDad(uint64_t now_ns) {
  const Tables& t = dp_.CurrentTables();
  std::set<std::pair<uint16_t, std::array<uint8_t, 16>>> current;
  for (uint32_t i = 1; i < t.nifs; ++i) {
    const Interface& f = t.ifs[i];
    if (f.naddr6 == 0 || !f.up || f.port >= kMaxPorts ||
        (f.kind != IfKind::kPort && f.kind != IfKind::kBond && f.kind != IfKind::kVif))
      continue;
    for (uint8_t a = 0; a < f.naddr6; ++a) {
      auto key = std::make_pair(static_cast<uint16_t>(i), ToArray(f.addr6[a].addr));
      current.insert(key);
      if (dad_.count(key)) continue;
      dad_[key] = DadState{now_ns, false};
      // The probe: from ::, to the solicited-node group, no link-layer option (§5.4.2).
      uint8_t group[16], unspecified[16] = {};
      rte_ether_addr mac;
      SolicitedNode(f.addr6[a].addr, group, &mac);
      rte_mbuf* m = nullptr;
      uint8_t* ns = BuildFrame(dp_.pool, f, mac, unspecified, group, 24, &m);
      if (ns == nullptr) continue;
      ns[0] = kNeighborSolicit;
      std::memcpy(ns + 8, f.addr6[a].addr, 16);
      FinishChecksum(ns);
      Meta(m)->kind = PktKind::kFrameReady;
      Meta(m)->out_ifindex = static_cast<uint16_t>(i);
      if (ToWorker(m)) ++stats_.nd_dad_probes_sent;
    }
  }
  // Removed addresses are forgotten: configured again, they are probed again.
  for (auto it = dad_.begin(); it != dad_.end();)
    it = current.count(it->first) ? std::next(it) : dad_.erase(it);
}

void SlowPath::Nd(rte_mbuf* m, uint64_t now_ns) {
  const Tables& t = dp_.CurrentTables();
  const uint16_t ifx = Meta(m)->in_ifindex;
  const uint16_t l2 = m->l2_len;
  auto ignore = [&] {
    ++stats_.nd_ignored;
    Drop(m, Drop::kNdIgnored);
  };
  // The worker saw 44 bytes; the whole message must be in the segment and as long as the
  // header says.
  if (m->nb_segs != 1 || m->data_len < l2 + sizeof(rte_ipv6_hdr) + 8u) return ignore();
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, l2);
  const uint32_t icmp_len = rte_be_to_cpu_16(ip->payload_len);
  if (l2 + sizeof(rte_ipv6_hdr) + icmp_len > m->data_len || icmp_len < 8) return ignore();
  uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  const uint8_t type = icmp[0];
  // RFC 4861 §6.1.2, §7.1.1-2: hop limit 255 (never forwarded), code 0, a valid checksum.
  if (ip->hop_limits != 255 || icmp[1] != 0 || rte_ipv6_udptcp_cksum_verify(ip, icmp) != 0)
    return ignore();
  if (type == kRouterAdvert) {
    ++stats_.nd_router_adverts_ignored;
    Drop(m, Drop::kNdIgnored);
    return;
  }
  if ((type != kNeighborSolicit && type != kNeighborAdvert) || icmp_len < 24) return ignore();
  const uint8_t* target = icmp + 8;
  if (target[0] == 0xff) return ignore();
  const Interface& f = t.ifs[ifx];
  const uint8_t* end = icmp + icmp_len;
  rte_ether_addr lladdr;
  bool has_lladdr;
  if (!FindLinkAddr(icmp + 24, end,
                    type == kNeighborSolicit ? kOptSourceLinkAddr : kOptTargetLinkAddr, &lladdr,
                    &has_lladdr))
    return ignore();
  const bool from_unspecified = Unspecified6(ip->src_addr);
  if (has_lladdr && !rte_is_valid_assigned_ether_addr(&lladdr)) return ignore();

  if (type == kNeighborSolicit) {
    // A DAD probe (from ::) carries no link-layer address (§7.1.1); other solicitations to us
    // are answered and, with one, teach us the solicitor (§7.2.3).
    if (from_unspecified && has_lladdr) return ignore();
    // A probe goes to the target's solicited-node group (§7.1.1).
    static constexpr uint8_t kSolicitedPrefix[13] = {0xff, 0x02, 0, 0, 0, 0,   0,
                                                     0,    0,    0, 0, 1, 0xff};
    if (from_unspecified && std::memcmp(ip->dst_addr, kSolicitedPrefix, 13) != 0) return ignore();
    if (!OwnAddress(f, target) || Duplicate(ifx, target)) return ignore();
    if (from_unspecified) {
      // Another node's probe for our address while ours is pending: both lose (§5.4.3).
      auto it = dad_.find({ifx, ToArray(target)});
      if (it != dad_.end() && now_ns - it->second.probed_ns < kDadNs) {
        MarkDuplicate(ifx, target, "another node probes for it");
        return ignore();
      }
    }
    if (!from_unspecified && has_lladdr && !OwnAddress(f, ip->src_addr)) {
      NeighborEntry* e = dp_.AdmitNeighbor6(ifx, ip->src_addr);
      if (e != nullptr && e->state != NeighborState::kStatic) {
        dp_.neighbors6->SetMac(e, lladdr, NeighborState::kReachable, now_ns);
        Release6(*e);
      }
    }
    // The advertisement: to the solicitor, or to all nodes for a DAD probe (§7.2.4).
    static constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t* dst = from_unspecified ? kAllNodes : ip->src_addr;
    rte_ether_addr dst_mac;
    if (from_unspecified) {
      const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
      std::memcpy(dst_mac.addr_bytes, all_nodes_mac, 6);
    } else if (has_lladdr) {
      dst_mac = lladdr;
    } else {
      dst_mac = rte_pktmbuf_mtod(m, const rte_ether_hdr*)->src_addr;  // a unicast probe
    }
    uint8_t src[16], to[16];
    std::memcpy(src, target, 16);
    std::memcpy(to, dst, 16);
    rte_mbuf* out = nullptr;
    uint8_t* na = BuildFrame(dp_.pool, f, dst_mac, src, to, 32, &out);
    rte_pktmbuf_free(m);
    if (na == nullptr) return;
    na[0] = kNeighborAdvert;
    const uint32_t flags =
        rte_cpu_to_be_32(kNaRouter | kNaOverride | (from_unspecified ? 0 : kNaSolicited));
    std::memcpy(na + 4, &flags, 4);
    std::memcpy(na + 8, src, 16);
    na[24] = kOptTargetLinkAddr;
    na[25] = 1;
    std::memcpy(na + 26, &f.mac, 6);
    FinishChecksum(na);
    Meta(out)->kind = PktKind::kFrameReady;
    Meta(out)->out_ifindex = ifx;
    if (ToWorker(out)) ++stats_.nd_solicits_answered;
    return;
  }

  // Flags (§4.4); a solicited answer is never sent to a group (§7.1.2).
  uint32_t na_flags;
  std::memcpy(&na_flags, icmp + 4, 4);
  na_flags = rte_be_to_cpu_32(na_flags);
  const bool solicited = na_flags & kNaSolicited, override = na_flags & kNaOverride;
  if (solicited && ip->dst_addr[0] == 0xff) return ignore();
  // Our own address advertised by another node: a duplicate (§5.4.4).
  if (OwnAddress(f, target)) {
    MarkDuplicate(ifx, target, "another node advertises it");
    return ignore();
  }
  // An advertisement: updates a neighbour we have (a solicited answer finds the entry our
  // solicitation made); unsolicited ones from hosts we do not talk to are ignored, as ARP's.
  NeighborEntry* e = dp_.neighbors6->Find6(ifx, target);
  if (e == nullptr || e->state == NeighborState::kStatic) return ignore();
  if (!has_lladdr) {
    // Without the option only a confirmation of the MAC we have (§7.2.5).
    if (!(e->mac_word.load(std::memory_order_relaxed) >> 63)) return ignore();
    e->updated_ns = now_ns;
    e->requests_sent = 0;
    rte_pktmbuf_free(m);
    return;
  }
  // §7.2.5: a MAC we have changes only when the advertisement overrides it (else the entry
  // is only marked stale); only a solicited answer confirms reachability.
  const uint64_t w = e->mac_word.load(std::memory_order_relaxed);
  if ((w >> 63) && !override) {
    uint64_t now_mac = 0;
    std::memcpy(&now_mac, lladdr.addr_bytes, 6);
    if ((w & 0xffffffffffffull) != now_mac) {
      e->state = NeighborState::kStale;
      rte_pktmbuf_free(m);
      return;
    }
  }
  dp_.neighbors6->SetMac(e, lladdr, solicited ? NeighborState::kReachable : NeighborState::kStale,
                         now_ns);
  ++stats_.nd_adverts_learned;
  Release6(*e);
  rte_pktmbuf_free(m);
}

void SlowPath::Release6(NeighborEntry& e) {
  dp_.neighbors6->Release(&e, [&](rte_mbuf* m) {
    Meta(m)->kind = PktKind::kRouteLocal;
    Meta(m)->flags |= kMetaRouted;
    if (ToWorker(m)) ++stats_.resolved;
  });
}

void SlowPath::Resolve6(rte_mbuf* m, uint64_t now_ns) {
  PacketMeta* meta = Meta(m);
  // The neighbour: the route's gateway, or the destination itself on-link (the worker had it
  // from the same FIB6 a moment ago).
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
  // A link-local destination is on the link the worker chose (it is in no FIB6 route).
  const NextHop6& nh = dp_.fib6->next_hop(dp_.fib6->Lookup(ip->dst_addr));
  const uint8_t* hop =
      nh.type == NhType::kGateway && !LinkLocal6(ip->dst_addr) ? nh.gateway.data() : ip->dst_addr;
  const uint64_t evicted = dp_.neighbors6->evicted_packets();
  NeighborEntry* e = dp_.AdmitNeighbor6(meta->out_ifindex, hop);
  HoldForNeighbor(m, *dp_.neighbors6, e, evicted, now_ns, &SlowPath::SendNeighborSolicit);
}

void SlowPath::SendNeighborSolicit(NeighborEntry& e, uint64_t now_ns) {
  const Tables& t = dp_.CurrentTables();
  const Interface& f = t.ifs[e.ifindex];
  e.requested_ns = now_ns;
  ++e.requests_sent;
  // The source: our address on that link of the target's scope (a link-local target is
  // asked from a link-local address, §7.2.2), else the first.
  const uint8_t* src = nullptr;
  for (uint8_t a = f.naddr6; a-- > 0;)
    if (!Duplicate(e.ifindex, f.addr6[a].addr) &&
        (src == nullptr || LinkLocal6(f.addr6[a].addr) == LinkLocal6(e.ip6)))
      src = f.addr6[a].addr;
  if (src == nullptr) return;  // no IPv6 address on the link: nothing to ask from
  uint8_t group[16];
  rte_ether_addr mac;
  SolicitedNode(e.ip6, group, &mac);
  uint8_t from[16];
  std::memcpy(from, src, 16);
  rte_mbuf* m = nullptr;
  uint8_t* ns = BuildFrame(dp_.pool, f, mac, from, group, 32, &m);
  if (ns == nullptr) return;
  ns[0] = kNeighborSolicit;
  std::memcpy(ns + 8, e.ip6, 16);
  ns[24] = kOptSourceLinkAddr;
  ns[25] = 1;
  std::memcpy(ns + 26, &f.mac, 6);
  FinishChecksum(ns);
  Meta(m)->kind = PktKind::kFrameReady;
  Meta(m)->out_ifindex = e.ifindex;
  if (ToWorker(m)) ++stats_.nd_solicits_sent;
}

}  // namespace portcullis::dp
