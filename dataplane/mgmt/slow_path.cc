#include "dataplane/mgmt/slow_path.h"

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "dataplane/core/packet_meta.h"
#include "dataplane/mgmt/vrrp.h"

namespace portcullis::dp {

namespace {

constexpr uint64_t kRetryNs = 1'000'000'000;     // ARP request retry
constexpr uint8_t kMaxRequests = 3;              // then the neighbor is unreachable
constexpr uint64_t kRefreshNs = 60'000'000'000;  // re-ask a reachable neighbor
constexpr uint64_t kStaleNs = 90'000'000'000;    // forget one that stopped answering
// vpnd's punt buffers that new IKE (IKE_SA_INIT) may not take: DPD and rekeys of established
// IKE SAs still get through while vpnd works through a flood of new ones.
constexpr uint32_t kEstablishedPuntReserve = api::kPuntBuffers / 4;

}  // namespace

void SlowPath::Drop(rte_mbuf* m, dp::Drop why) {
  ++stats_.drops[DropIndex(why)];
  rte_pktmbuf_free(m);
}

bool SlowPath::ToWorker(rte_mbuf* m) {
  if (rte_ring_mp_enqueue(dp_.inject_ring, m) != 0) {
    Drop(m, Drop::kSlowPathQueueFull);
    return false;
  }
  return true;
}

unsigned SlowPath::Poll(uint64_t now_ns) {
  rte_mbuf* pkts[kBurst];
  unsigned n =
      rte_ring_sc_dequeue_burst(dp_.slow_ring, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    switch (Meta(pkts[i])->kind) {
      case PktKind::kArp:
        Arp(pkts[i], now_ns);
        break;
      case PktKind::kResolve:
        if ((*rte_pktmbuf_mtod(pkts[i], const uint8_t*) >> 4) == 6) {
          Resolve6(pkts[i], now_ns);
        } else {
          Resolve(pkts[i], now_ns);
        }
        break;
      case PktKind::kNd:
        Nd(pkts[i], now_ns);
        break;
      case PktKind::kVrrp:
        if (vrrp_ != nullptr) {
          vrrp_->Receive(pkts[i], now_ns);
        } else {
          Drop(pkts[i], Drop::kLocalUnhandled);
        }
        break;
      default:
        rte_pktmbuf_free(pkts[i]);
    }
  }
  return n + PollIke();
}

unsigned SlowPath::PollIke() {
  rte_mbuf* pkts[kBurst];
  unsigned n =
      rte_ring_sc_dequeue_burst(dp_.ike_ring, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) Punt(pkts[i]);
  // Without a channel (tests, fuzzing) there is no vpnd to keep room for: Punt drops and
  // counts whatever comes, new IKE included, rather than leaving it in its ring.
  // New IKE that returns a cookie and new IKE that does not (ike_punt.cc), each first in turn:
  // a retry with our cookie waits behind at most two bursts of first tries, and a flood of
  // forged cookies leaves first tries half the room.
  unsigned k = 0;
  cookie_first_ = !cookie_first_;
  rte_ring* first = cookie_first_ ? dp_.ike_cookie_ring : dp_.ike_init_ring;
  rte_ring* second = cookie_first_ ? dp_.ike_init_ring : dp_.ike_cookie_ring;
  for (rte_ring* ring : {first, second}) {
    const uint32_t room = server_ != nullptr ? server_->PuntRoom() : api::kPuntBuffers;
    if (room <= kEstablishedPuntReserve) break;
    const unsigned want = std::min<unsigned>(kBurst, room - kEstablishedPuntReserve);
    const unsigned got =
        rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(pkts), want, nullptr);
    for (unsigned i = 0; i < got; ++i) Punt(pkts[i]);
    k += got;
  }
  return n + k;
}

void SlowPath::Arp(rte_mbuf* m, uint64_t now_ns) {
  const Tables& t = dp_.CurrentTables();
  const uint16_t ifx = Meta(m)->in_ifindex;
  const uint16_t l2 = m->l2_len;
  if (m->data_len < l2 + sizeof(rte_arp_hdr)) {
    ++stats_.arp_ignored;
    Drop(m, Drop::kArpIgnored);
    return;
  }
  auto* arp = rte_pktmbuf_mtod_offset(m, rte_arp_hdr*, l2);
  const bool request = arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST);
  if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
      arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
      arp->arp_plen != 4 || (!request && arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REPLY))) {
    ++stats_.arp_ignored;
    Drop(m, Drop::kArpIgnored);
    return;
  }
  const uint32_t sip = arp->arp_data.arp_sip;
  const uint32_t tip = arp->arp_data.arp_tip;
  const bool for_us = t.LocalInterface(tip) == ifx ||
                      (t.LocalInterface(tip) != 0 && t.ifs[ifx].kind == IfKind::kVif);
  // A sender that is not one station (broadcast, multicast or zero MAC, or claiming one of our
  // addresses) is neither answered nor learned; one without an address (an RFC 5227 probe) is
  // answered, not learned.
  const bool station = rte_is_valid_assigned_ether_addr(&arp->arp_data.arp_sha) &&
                       (sip == 0 || t.LocalInterface(sip) == 0);
  // RFC 826: update an entry we have (a reply to our request finds the one we made); add one
  // only when a request is addressed to us.
  NeighborEntry* e = station && sip != 0 ? dp_.neighbors->Find(ifx, sip) : nullptr;
  if (e == nullptr && station && sip != 0 && request && for_us) e = dp_.AdmitNeighbor(ifx, sip);
  if (e != nullptr && e->state != NeighborState::kStatic) {
    dp_.neighbors->SetMac(e, arp->arp_data.arp_sha, NeighborState::kReachable, now_ns);
    ++stats_.arp_replies_learned;
    Release(*e);
  }
  if (request && for_us && station) {
    // Answer in place: the request becomes the reply.
    // A VRRP master's virtual address is answered for with its virtual MAC (RFC 5798 section
    // 6.4.3); a backup does not have the address and stays silent.
    rte_ether_addr mac = t.ifs[ifx].mac;
    if (const uint8_t vrid = vrrp_ != nullptr ? vrrp_->VirtualRouterFor(ifx, tip) : 0)
      mac = rte_ether_addr{{0x00, 0x00, 0x5e, 0x00, 0x01, vrid}};
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
    rte_ether_addr_copy(&mac, &eth->src_addr);
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    arp->arp_data.arp_tha = arp->arp_data.arp_sha;
    arp->arp_data.arp_tip = sip;
    rte_ether_addr_copy(&mac, &arp->arp_data.arp_sha);
    arp->arp_data.arp_sip = tip;
    Meta(m)->kind = PktKind::kFrameReady;
    Meta(m)->out_ifindex = ifx;
    if (ToWorker(m)) ++stats_.arp_requests_answered;
    return;
  }
  if (e == nullptr) {
    // Not for us and from no neighbour we know: another host's conversation, an answer nobody
    // asked for, or gratuitous ARP of a host we do not talk to.
    ++stats_.arp_ignored;
    Drop(m, Drop::kArpIgnored);
    return;
  }
  rte_pktmbuf_free(m);  // consumed: it updated a neighbour
}

void SlowPath::SendArpRequest(NeighborEntry& e, uint64_t now_ns) {
  const Tables& t = dp_.CurrentTables();
  const Interface& f = t.ifs[e.ifindex];
  e.requested_ns = now_ns;
  ++e.requests_sent;
  rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool);
  if (m == nullptr) return;
  const bool tagged = f.kind == IfKind::kVif;
  const uint16_t l2 = tagged ? 18 : 14;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(
      rte_pktmbuf_append(m, static_cast<uint16_t>(l2 + sizeof(rte_arp_hdr))));
  std::memset(&eth->dst_addr, 0xff, 6);
  rte_ether_addr_copy(&f.mac, &eth->src_addr);
  if (tagged) {
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
    auto* vh = reinterpret_cast<rte_vlan_hdr*>(eth + 1);
    vh->vlan_tci = rte_cpu_to_be_16(f.vlan);
    vh->eth_proto = RTE_BE16(RTE_ETHER_TYPE_ARP);
  } else {
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
  }
  auto* arp = reinterpret_cast<rte_arp_hdr*>(reinterpret_cast<uint8_t*>(eth) + l2);
  arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = 6;
  arp->arp_plen = 4;
  arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
  rte_ether_addr_copy(&f.mac, &arp->arp_data.arp_sha);
  // The sender address: ours on that network if there is one.
  uint32_t sip = t.PrimaryAddress(e.ifindex);
  for (uint8_t a = 0; a < f.naddr; ++a) {
    uint32_t mask = f.addr[a].len ? rte_cpu_to_be_32(~uint32_t{0} << (32 - f.addr[a].len)) : 0;
    if ((f.addr[a].addr & mask) == (e.ip & mask)) sip = f.addr[a].addr;
  }
  arp->arp_data.arp_sip = sip;
  std::memset(&arp->arp_data.arp_tha, 0, 6);
  arp->arp_data.arp_tip = e.ip;
  Meta(m)->kind = PktKind::kFrameReady;
  Meta(m)->out_ifindex = e.ifindex;
  if (ToWorker(m)) ++stats_.arp_requests_sent;
}

void SlowPath::Release(NeighborEntry& e) {
  // The packets that waited for this answer go back to a worker, which now finds the MAC.
  dp_.neighbors->Release(&e, [&](rte_mbuf* m) {
    // They were routed already: send them as frames-to-build via the normal send path.
    Meta(m)->kind = PktKind::kRouteLocal;
    Meta(m)->flags |= kMetaRouted;  // the worker sends it without a new lookup
    if (ToWorker(m)) ++stats_.resolved;
  });
}

void SlowPath::Resolve(rte_mbuf* m, uint64_t now_ns) {
  PacketMeta* meta = Meta(m);
  const uint64_t evicted = dp_.neighbors->evicted_packets();
  NeighborEntry* e = dp_.AdmitNeighbor(meta->out_ifindex, meta->next_hop);
  HoldForNeighbor(m, *dp_.neighbors, e, evicted, now_ns, &SlowPath::SendArpRequest);
}

void SlowPath::HoldForNeighbor(rte_mbuf* m, NeighborTable& table, NeighborEntry* e,
                               uint64_t evicted, uint64_t now_ns,
                               void (SlowPath::*ask)(NeighborEntry&, uint64_t)) {
  PacketMeta* meta = Meta(m);
  // Packets that waited for an entry evicted to make room for this one.
  const uint64_t lost = table.evicted_packets() - evicted;
  stats_.unresolved += lost;
  stats_.drops[DropIndex(Drop::kNeighborUnresolved)] += lost;
  if (e == nullptr) {
    ++stats_.queue_full;
    Drop(m, Drop::kNeighborQueueFull);
    return;
  }
  if (e->mac_word.load(std::memory_order_relaxed) >> 63) {  // answered meanwhile
    meta->flags |= kMetaRouted;
    meta->kind = PktKind::kRouteLocal;
    if (ToWorker(m)) ++stats_.resolved;
    return;
  }
  if (table.Hold(e, m) != NeighborTable::HoldResult::kHeld) {
    ++stats_.queue_full;
    Drop(m, Drop::kNeighborQueueFull);
    return;
  }
  if (e->requests_sent == 0 || now_ns - e->requested_ns > kRetryNs) (this->*ask)(*e, now_ns);
}

template <class Ask>
void SlowPath::AgeTable(NeighborTable& table, uint64_t now_ns, Ask&& ask) {
  std::vector<NeighborEntry*> dead;
  table.ForEach([&](NeighborEntry& e) {
    switch (e.state) {
      case NeighborState::kStatic:
        break;
      case NeighborState::kIncomplete:
        if (now_ns - e.requested_ns > kRetryNs) {
          if (e.requests_sent >= kMaxRequests) {
            stats_.unresolved += e.npending;
            stats_.drops[DropIndex(Drop::kNeighborUnresolved)] += e.npending;
            dead.push_back(&e);
          } else {
            ask(e, now_ns);
          }
        }
        break;
      case NeighborState::kReachable:
      case NeighborState::kStale:
        if (now_ns - e.updated_ns > kStaleNs && e.requests_sent >= kMaxRequests) {
          dead.push_back(&e);
        } else if (now_ns - e.updated_ns > kRefreshNs &&
                   (e.requests_sent == 0 || now_ns - e.requested_ns > kRetryNs) &&
                   e.requests_sent < kMaxRequests) {
          e.state = NeighborState::kStale;  // keeps its MAC while we ask again
          ask(e, now_ns);
        }
        break;
    }
  });
  for (NeighborEntry* e : dead) table.Remove(e);  // frees its waiting packets
  if (!dead.empty()) {
    rte_rcu_qsbr_synchronize(dp_.rcu, RTE_QSBR_THRID_INVALID);
    table.Reclaim();
  }
}

void SlowPath::Age(uint64_t now_ns) {
  CheckDad(now_ns);
  AgeTable(*dp_.neighbors, now_ns, [&](NeighborEntry& e, uint64_t now) { SendArpRequest(e, now); });
  AgeTable(*dp_.neighbors6, now_ns,
           [&](NeighborEntry& e, uint64_t now) { SendNeighborSolicit(e, now); });
}

void SlowPath::Punt(rte_mbuf* m) {
  if ((*rte_pktmbuf_mtod(m, const uint8_t*) >> 4) == 6) {
    Punt6(m);
    return;
  }
  auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  const uint32_t hlen = m->l3_len;
  auto* udp = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + hlen);
  const bool marker = Meta(m)->flags & kMetaNonEspMarker;
  const uint32_t skip = hlen + sizeof(rte_udp_hdr) + (marker ? 4 : 0);
  if (server_ == nullptr || m->pkt_len <= skip || m->nb_segs != 1) {
    ++stats_.punt_dropped;
    Drop(m, Drop::kPuntQueueFull);
    return;
  }
  api::PacketMeta pm{};
  pm.family = api::Family::kIpv4;
  std::memcpy(pm.src.bytes, &ip->src_addr, 4);
  std::memcpy(pm.dst.bytes, &ip->dst_addr, 4);
  pm.src_port = rte_be_to_cpu_16(udp->src_port);
  pm.dst_port = rte_be_to_cpu_16(udp->dst_port);
  pm.ifindex = Meta(m)->in_ifindex;
  pm.flags = marker ? api::kNonEspMarker : 0;
  absl::Span<const uint8_t> data(rte_pktmbuf_mtod_offset(m, const uint8_t*, skip),
                                 m->pkt_len - skip);
  if (server_->Punt(data, pm)) {
    ++stats_.punted;
    rte_pktmbuf_free(m);
  } else {
    ++stats_.punt_dropped;  // the channel's counters say why (no vpnd, pool, ring, size)
    Drop(m, Drop::kPuntQueueFull);
  }
}

rte_mbuf* SlowPath::InjectBuffer(uint32_t len) {
  // One segment: IKE messages larger than that are fragmented by IKE itself (RFC 7383).
  rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool);
  if (m == nullptr || len > rte_pktmbuf_tailroom(m) ||
      rte_pktmbuf_append(m, static_cast<uint16_t>(len)) == nullptr) {
    rte_pktmbuf_free(m);
    ++stats_.inject_dropped;
    return nullptr;
  }
  return m;
}

unsigned SlowPath::PollInject() {
  if (server_ == nullptr) return 0;
  return static_cast<unsigned>(server_->PollInject(kBurst, [&](const api::InjectedPacket& p) {
    const api::PacketMeta& pm = p.meta;
    if (pm.family == api::Family::kIpv6) {
      Inject6(p);
      return;
    }
    if (pm.family != api::Family::kIpv4) {
      ++stats_.inject_dropped;
      return;
    }
    const bool marker = pm.flags & api::kNonEspMarker;
    const uint32_t len = sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + (marker ? 4 : 0) +
                         static_cast<uint32_t>(p.datagram.size());
    rte_mbuf* m = InjectBuffer(len);
    if (m == nullptr) return;
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    std::memset(ip, 0, sizeof *ip);
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    std::memcpy(&ip->src_addr, pm.src.bytes, 4);
    std::memcpy(&ip->dst_addr, pm.dst.bytes, 4);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->src_port = rte_cpu_to_be_16(pm.src_port);
    udp->dst_port = rte_cpu_to_be_16(pm.dst_port);
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof(rte_ipv4_hdr)));
    uint8_t* body = reinterpret_cast<uint8_t*>(udp + 1);
    if (marker) {
      std::memset(body, 0, 4);
      body += 4;
    }
    std::memcpy(body, p.datagram.data(), p.datagram.size());
    udp->dgram_cksum = 0;
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    m->l3_len = sizeof(rte_ipv4_hdr);
    *Meta(m) = PacketMeta{0, 0, 0, PktKind::kRouteLocal, 0, 0, 0};
    if (ToWorker(m)) {
      ++stats_.injected;
    } else {
      ++stats_.inject_dropped;
    }
  }));
}

void SlowPath::Punt6(rte_mbuf* m) {
  // The worker checked the extension headers and left the UDP header's offset in l3_len.
  auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
  const uint32_t l4 = m->l3_len;
  auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, l4);
  const bool marker = Meta(m)->flags & kMetaNonEspMarker;
  const uint32_t skip = l4 + sizeof(rte_udp_hdr) + (marker ? 4 : 0);
  if (server_ == nullptr || m->pkt_len <= skip || m->nb_segs != 1) {
    ++stats_.punt_dropped;
    Drop(m, Drop::kPuntQueueFull);
    return;
  }
  api::PacketMeta pm{};
  pm.family = api::Family::kIpv6;
  std::memcpy(pm.src.bytes, ip->src_addr, 16);
  std::memcpy(pm.dst.bytes, ip->dst_addr, 16);
  pm.src_port = rte_be_to_cpu_16(udp->src_port);
  pm.dst_port = rte_be_to_cpu_16(udp->dst_port);
  pm.ifindex = Meta(m)->in_ifindex;
  pm.flags = marker ? api::kNonEspMarker : 0;
  absl::Span<const uint8_t> data(rte_pktmbuf_mtod_offset(m, const uint8_t*, skip),
                                 m->pkt_len - skip);
  if (server_->Punt(data, pm)) {
    ++stats_.punted;
    rte_pktmbuf_free(m);
  } else {
    ++stats_.punt_dropped;
    Drop(m, Drop::kPuntQueueFull);
  }
}

void SlowPath::Inject6(const api::InjectedPacket& p) {
  const api::PacketMeta& pm = p.meta;
  const bool marker = pm.flags & api::kNonEspMarker;
  const uint32_t udp_len =
      sizeof(rte_udp_hdr) + (marker ? 4 : 0) + static_cast<uint32_t>(p.datagram.size());
  const uint32_t len = sizeof(rte_ipv6_hdr) + udp_len;
  rte_mbuf* m = InjectBuffer(len);
  if (m == nullptr) return;
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
  std::memset(ip, 0, sizeof *ip);
  ip->vtc_flow = RTE_BE32(0x60000000);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(udp_len));
  ip->proto = IPPROTO_UDP;
  ip->hop_limits = 64;
  std::memcpy(ip->src_addr, pm.src.bytes, 16);
  std::memcpy(ip->dst_addr, pm.dst.bytes, 16);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(pm.src_port);
  udp->dst_port = rte_cpu_to_be_16(pm.dst_port);
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(udp_len));
  uint8_t* body = reinterpret_cast<uint8_t*>(udp + 1);
  if (marker) {
    std::memset(body, 0, 4);
    body += 4;
  }
  std::memcpy(body, p.datagram.data(), p.datagram.size());
  udp->dgram_cksum = 0;
  udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);  // mandatory over IPv6 (RFC 8200 §8.1)
  m->l3_len = sizeof(rte_ipv6_hdr);
  *Meta(m) = PacketMeta{0, 0, 0, PktKind::kRouteLocal, 0, 0, 0};
  if (ToWorker(m)) {
    ++stats_.injected;
  } else {
    ++stats_.inject_dropped;
  }
}

}  // namespace portcullis::dp
