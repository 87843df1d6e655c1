// Ethernet in and out: which interface a frame arrived on (port, 802.1Q tag), ARP to the main
// lcore, IPv4 on into the pipeline; and on the way out the neighbor's MAC, the Ethernet header
// (with the tag of a VLAN interface) and the transmit queue.
#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_prefetch.h>

#include "dataplane/pipeline/ipv4_check.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

void Worker::FromWire(rte_mbuf** pkts, uint16_t n, uint16_t port) {
  const Tables& t = dp_.CurrentTables();
  rte_mbuf* v4[kBurst];
  uint16_t n4 = 0;
  uint16_t run_ifx = 0;
  uint64_t run_packets = 0, run_bytes = 0;
  // Headers of big packets leave L1 while the rest of the burst arrives: ask for them all at
  // once, so the loads below overlap instead of waiting one after another.
  for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (m->data_len < sizeof(rte_ether_hdr)) {
      DropPkt(m, 0, Drop::kTruncated);
      continue;
    }
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    uint16_t type = eth->ether_type;
    uint16_t vlan = 0;
    uint16_t l2 = sizeof(rte_ether_hdr);
    if (type == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
      if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr)) {
        DropPkt(m, 0, Drop::kTruncated);
        continue;
      }
      auto* vh = reinterpret_cast<rte_vlan_hdr*>(eth + 1);
      vlan = rte_be_to_cpu_16(vh->vlan_tci) & 0x0fff;
      type = vh->eth_proto;
      l2 += sizeof(rte_vlan_hdr);
    }
    uint16_t ifx = t.RxInterface(port, vlan);
    if (ifx == 0) {
      DropPkt(m, 0, Drop::kUnknownInterface);
      continue;
    }
    if (!t.ifs[ifx].up) {
      DropPkt(m, ifx, Drop::kInterfaceDown);
      continue;
    }
    if (!rte_is_same_ether_addr(&eth->dst_addr, &t.ifs[ifx].mac) &&
        !rte_is_multicast_ether_addr(&eth->dst_addr)) {
      DropPkt(m, ifx, Drop::kOtherHost);
      continue;
    }
    // Counted per run of one interface (a port's burst is usually one run).
    if (ifx != run_ifx) {
      FlushRx(run_ifx, run_packets, run_bytes);
      run_ifx = ifx;
      run_packets = run_bytes = 0;
    }
    ++run_packets;
    run_bytes += m->pkt_len;
    PacketMeta* meta = Meta(m);
    meta->in_ifindex = ifx;
    meta->out_ifindex = 0;
    meta->flags = 0;
    if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
      // IPv4 checks in the same pass, while the header is at hand.
      m->data_off = static_cast<uint16_t>(m->data_off + l2);
      m->data_len = static_cast<uint16_t>(m->data_len - l2);
      m->pkt_len -= l2;
      if (CheckIpv4(m, ifx)) v4[n4++] = m;
    } else if (type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
      // Rare: the main lcore owns the neighbor table and answers.
      m->l2_len = l2;
      ToSlowPath(m, PktKind::kArp, ifx);
    } else if (type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
      DropPkt(m, ifx, Drop::kIpv6NotYet);
    } else {
      DropPkt(m, ifx, Drop::kUnsupportedEthertype);
    }
  }
  FlushRx(run_ifx, run_packets, run_bytes);
  if (n4) Route(v4, n4, t, 0);
}

void Worker::Send(rte_mbuf** pkts, uint16_t n, const Tables& t) {
  // Runs of packets to one neighbour (all of a tunnel's, most of a LAN's) look it up once.
  uint16_t last_ifx = 0;
  uint32_t last_hop = 0;
  rte_ether_addr dst;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    PacketMeta* meta = Meta(m);
    const uint16_t ifx = meta->out_ifindex;
    const Interface& f = t.ifs[ifx];
    if (f.kind == IfKind::kNone || ifx == 0) {
      DropPkt(m, 0, Drop::kUnknownInterface);
      continue;
    }
    if (!f.up) {
      DropPkt(m, ifx, Drop::kInterfaceDown);
      continue;
    }
    if (ifx != last_ifx || meta->next_hop != last_hop) {
      if (!dp_.neighbors->Lookup(ifx, meta->next_hop, &dst)) {
        // The main lcore asks (ARP) and sends the packet once it knows.
        last_ifx = 0;
        ToSlowPath(m, PktKind::kResolve, ifx);
        continue;
      }
      last_ifx = ifx;
      last_hop = meta->next_hop;
    }
    const bool tagged = f.kind == IfKind::kVif;
    const uint16_t l2 =
        tagged ? sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr) : sizeof(rte_ether_hdr);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, l2));
    if (eth == nullptr) {
      DropPkt(m, ifx, Drop::kNoMemory);
      continue;
    }
    rte_ether_addr_copy(&dst, &eth->dst_addr);
    rte_ether_addr_copy(&f.mac, &eth->src_addr);
    if (tagged) {
      eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
      auto* vh = reinterpret_cast<rte_vlan_hdr*>(eth + 1);
      vh->vlan_tci = rte_cpu_to_be_16(f.vlan);
      vh->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    } else {
      eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    }
    TxFrame(m, f.port, ifx);
  }
}

}  // namespace portcullis::dp
