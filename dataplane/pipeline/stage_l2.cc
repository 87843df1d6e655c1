// Ethernet in and out: which interface a frame arrived on (port, 802.1Q tag), ARP and IPv6
// neighbour discovery to the main lcore, IPv4 and IPv6 on into the pipeline; and on the way out the
// neighbor's MAC, the Ethernet header (with the tag of a VLAN interface) and the transmit queue.
#include <emmintrin.h>
#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstddef>

#include "dataplane/core/ipv6_scope.h"
#include "dataplane/pipeline/ipv4_check.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

void Worker::FromWire(rte_mbuf** pkts, uint16_t n, uint16_t port) {
  const Tables& t = dp_.CurrentTables();
  rte_mbuf* v4[kBurst];
  rte_mbuf* mine[kBurst];
  rte_mbuf* v6[kBurst];
  rte_mbuf* mine6[kBurst];
  uint32_t dsts[kBurst];
  uint16_t n4 = 0, nmine = 0, n6 = 0, nmine6 = 0;
  auto mac_word = [](const rte_ether_addr& a) {
    uint64_t w = 0;
    std::memcpy(&w, &a, 6);
    return w;
  };
  // A packet to the receiving interface's (first) address is ours: the FIB's /32 local route
  // for it always wins (distance 0), so it goes straight to local delivery without a lookup.
  // An address of another interface, or a second one, still finds its local route in the FIB.
  auto own_addr = [](const Interface& f) -> uint64_t {
    return f.naddr ? f.addr[0].addr : uint64_t{1} << 32;  // never equal to a 32-bit address
  };
  // Untagged frames, the usual ones: their interface, its state, MAC and address, once per
  // burst. The metadata offset too: every byte store below could alias the global.
  const uint16_t plain_ifx = t.RxInterface(port, 0);
  const bool plain_ok = plain_ifx != 0 && t.ifs[plain_ifx].up;
  const uint64_t plain_mac = mac_word(t.ifs[plain_ifx].mac);
  // A VRRP master's virtual MAC (its first group's) is the interface's too: frames to it (a
  // LAN's gateway traffic, the peer's ESP to the virtual address) stay in the fast loop. The
  // port's own MAC without a master group, so the second compare is the first again.
  const Interface& plain_if = t.ifs[plain_ifx];
  const uint64_t plain_vmac =
      plain_if.nvmac ? 0x01005e0000ull | (uint64_t{plain_if.vmac_vrid[0]} << 40) : plain_mac;
  const uint64_t plain_own = own_addr(t.ifs[plain_ifx]);
  // Its first IPv6 address (unless another node has it), as two words; none: all ones, a
  // multicast address no packet to it is taken for ours (checked after the compare, so
  // transit packets pay only the compare).
  uint64_t plain_own6[2] = {~uint64_t{0}, ~uint64_t{0}};
  if (plain_if.naddr6 != 0 && !plain_if.addr6[0].duplicate)
    std::memcpy(plain_own6, plain_if.addr6[0].addr, 16);
  const int meta_off = g_meta_offset;
  // PacketMeta{plain_ifx, 0, ...} as one store.
  static_assert(sizeof(PacketMeta) == 16 && offsetof(PacketMeta, in_ifindex) == 0);
  const __m128i plain_meta = _mm_cvtsi32_si128(plain_ifx);
  // The same marked as a link-layer group's (broadcast, multicast): no ICMP error answers it.
  static_assert(offsetof(PacketMeta, flags) == 9);
  const __m128i plain_group_meta =
      _mm_set_epi64x(int64_t{kMetaL2Group} << 8, static_cast<int64_t>(plain_ifx));
  uint64_t plain_packets = 0, plain_bytes = 0;
  constexpr uint64_t kMacMask = 0xffffffffffffull;

  // A checked IPv4 packet: delivered here or routed.
  auto sort = [&](rte_mbuf * m, uint64_t own) __attribute__((always_inline)) {
    const uint32_t dst = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->dst_addr;
    if (dst == own) {
      mine[nmine++] = m;
    } else {
      dsts[n4] = rte_be_to_cpu_32(dst);
      v4[n4++] = m;
    }
  };
  // Any frame, the unusual ones included: short, tagged, for another host, not IPv4, or
  // arriving where no interface is up. An IPv4 packet comes back, Ethernet header off, with its
  // interface and that interface's address (ifx 0: the packet was taken care of here). Out of
  // line: it is rare.
  struct Ip4 {
    uint16_t ifx;
    uint64_t own;
  };
  uint16_t run_ifx = 0;
  uint64_t run_packets = 0, run_bytes = 0;
  auto other = [&](rte_mbuf * m) __attribute__((noinline))->Ip4 {
    if (m->data_len < sizeof(rte_ether_hdr)) {
      DropPkt(m, 0, Drop::kTruncated);
      return {};
    }
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    uint16_t type = eth->ether_type;
    uint16_t vlan = 0;
    uint16_t l2 = sizeof(rte_ether_hdr);
    if (type == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
      if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr)) {
        DropPkt(m, 0, Drop::kTruncated);
        return {};
      }
      auto* vh = reinterpret_cast<rte_vlan_hdr*>(eth + 1);
      vlan = rte_be_to_cpu_16(vh->vlan_tci) & 0x0fff;
      type = vh->eth_proto;
      l2 += sizeof(rte_vlan_hdr);
    }
    const uint16_t ifx = vlan != 0 ? t.RxInterface(port, vlan) : plain_ifx;
    if (ifx == 0) {
      DropPkt(m, 0, Drop::kUnknownInterface);
      return {};
    }
    const Interface& f = t.ifs[ifx];
    if (!f.up) {
      DropPkt(m, ifx, Drop::kInterfaceDown);
      return {};
    }
    // Destination MAC and the first two bytes of the source in one load (the frame has 14).
    uint64_t dst;
    std::memcpy(&dst, eth, 8);
    // Bit 0: a group address. A VRRP master's virtual MAC is the interface's too.
    if (((dst ^ mac_word(f.mac)) & kMacMask) != 0 && !(dst & 1) && !f.VirtualMac(dst)) {
      DropPkt(m, ifx, Drop::kOtherHost);
      return {};
    }
    if (ifx != run_ifx) {
      FlushRx(run_ifx, run_packets, run_bytes);
      run_ifx = ifx;
      run_packets = run_bytes = 0;
    }
    ++run_packets;
    run_bytes += m->pkt_len;
    *Meta(m, meta_off) = PacketMeta{
        ifx, 0, 0, PktKind::kNone, static_cast<uint8_t>(dst & 1 ? kMetaL2Group : 0), 0, 0};
    if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
      rte_pktmbuf_adj(m, l2);
      return Ip4{ifx, own_addr(f)};
    }
    if (type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
      // Rare: the main lcore owns the neighbor table and answers.
      m->l2_len = l2;
      ToSlowPath(m, PktKind::kArp, ifx);
    } else if (type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
      // Neighbour discovery (ICMPv6 133-137 right after the IPv6 header, as RFC 4861 sends
      // it) goes to the main lcore with its Ethernet header, like ARP; the rest on to IPv6.
      const uint8_t* ip6 = reinterpret_cast<const uint8_t*>(eth) + l2;
      if (m->data_len >= l2 + 44u && ip6[6] == IPPROTO_ICMPV6 && ip6[40] >= 133 && ip6[40] <= 137) {
        m->l2_len = l2;
        ToSlowPath(m, PktKind::kNd, ifx);
      } else {
        rte_pktmbuf_adj(m, l2);
        v6[n6++] = m;
      }
    } else {
      DropPkt(m, ifx, Drop::kUnsupportedEthertype);
    }
    return {};
  };

  // Headers of big packets leave L1 while the rest of the burst arrives: ask for them all at
  // once, so the loads below overlap instead of waiting one after another.
  for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  // The usual frames, until the first that is not one: this loop makes no call (around a call
  // the burst's invariants and counters would go to the stack and back for every packet), so
  // a packet that fails the IPv4 checks is dropped after it.
  rte_mbuf* bad[kBurst];
  Drop bad_why[kBurst];
  uint16_t nbad = 0;
  uint16_t i = 0;
  // A burst that switches family (a dual-stack LAN, IPv4 and IPv6 peers on one WAN) goes back
  // and forth between the two loops; only a frame neither takes ends them.
  for (;;) {
    const uint16_t start = i;
    for (; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      auto* eth = rte_pktmbuf_mtod(m, const uint8_t*);
      // Untagged IPv4 to our MAC (or a group address) on an interface that is up. The MAC is
      // compared with the first two bytes of the source in one load, once the frame is known to
      // have a whole Ethernet header (a runt's buffer may end right after it).
      if (unlikely(!plain_ok || m->data_len < sizeof(rte_ether_hdr))) break;
      uint64_t dst;
      uint16_t type;
      std::memcpy(&dst, eth, 8);
      std::memcpy(&type, eth + 12, 2);
      if (unlikely(type != RTE_BE16(RTE_ETHER_TYPE_IPV4))) break;
      __m128i meta = plain_meta;
      if (unlikely(((dst ^ plain_mac) & kMacMask) != 0 && ((dst ^ plain_vmac) & kMacMask) != 0)) {
        if (!(dst & 1)) break;  // another host's
        meta = plain_group_meta;
      }
      ++plain_packets;
      plain_bytes += m->pkt_len;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(Meta(m, meta_off)), meta);
      m->data_off = static_cast<uint16_t>(m->data_off + sizeof(rte_ether_hdr));
      m->data_len = static_cast<uint16_t>(m->data_len - sizeof(rte_ether_hdr));
      m->pkt_len -= sizeof(rte_ether_hdr);
      const Drop why = Ipv4Verdict(m);
      if (unlikely(why != Drop::kCount)) {
        bad[nbad] = m;
        bad_why[nbad++] = why;
        continue;
      }
      sort(m, plain_own);
    }
    // Untagged IPv6 to our MAC (an IPv6 WAN's ESP, all of it) has a loop of its own after the
    // IPv4 one rather than a branch in it: in the same loop its array and count took registers
    // the IPv4 checks need (the mbuf pointer went to the stack: 10 instructions per IPv4 packet
    // more, by callgrind). Neighbour discovery and what is too short to tell go the per-frame way.
    for (; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      auto* eth = rte_pktmbuf_mtod(m, const uint8_t*);
      if (unlikely(!plain_ok || m->data_len < sizeof(rte_ether_hdr) + 44u)) break;
      uint64_t dst;
      uint16_t type;
      std::memcpy(&dst, eth, 8);
      std::memcpy(&type, eth + 12, 2);
      if (type != RTE_BE16(RTE_ETHER_TYPE_IPV6) || ((dst ^ plain_mac) & kMacMask) != 0 ||
          (eth[14 + 6] == IPPROTO_ICMPV6 && eth[14 + 40] >= 133 && eth[14 + 40] <= 137))
        break;
      ++plain_packets;
      plain_bytes += m->pkt_len;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(Meta(m, meta_off)), plain_meta);
      m->data_off = static_cast<uint16_t>(m->data_off + sizeof(rte_ether_hdr));
      m->data_len = static_cast<uint16_t>(m->data_len - sizeof(rte_ether_hdr));
      m->pkt_len -= sizeof(rte_ether_hdr);
      // A plain packet to the interface's first address (an IPv6 WAN's ESP) is sorted here,
      // while its header is in L1, and goes straight to local delivery, as IPv4's does: a
      // second pass over the burst (Input6) reloaded each packet's header and metadata line
      // after the burst had moved on, a quarter of the IPv6-outer decrypt's extra time by
      // perf. Anything else (extension headers, padding, another address, a bad header) takes
      // Input6's checks, which drop with the reason.
      const uint8_t* ip = eth + sizeof(rte_ether_hdr);
      uint64_t d0, d1;
      std::memcpy(&d0, ip + 24, 8);
      std::memcpy(&d1, ip + 32, 8);
      if (((d0 ^ plain_own6[0]) | (d1 ^ plain_own6[1])) == 0) {
        uint16_t plen;
        std::memcpy(&plen, ip + 4, 2);
        if (ip[24] != 0xff && (ip[0] >> 4) == 6 &&
            sizeof(rte_ipv6_hdr) + rte_be_to_cpu_16(plen) == m->pkt_len && m->nb_segs == 1 &&
            !Extension6(ip[6]) && !BadSource6(ip + 8)) {
          m->tx_offload = sizeof(rte_ipv6_hdr) << 7;  // l3_len; nothing else is set on receipt
          mine6[nmine6++] = m;
          continue;
        }
      }
      v6[n6++] = m;
    }
    if (i == n || i == start) break;
  }
  // The rest of the burst, one frame at a time: whatever it is.
  for (; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const Ip4 r = other(m);
    if (r.ifx != 0 && CheckIpv4(m, r.ifx)) sort(m, r.own);
  }
  for (uint16_t k = 0; k < nbad; ++k) DropPkt(bad[k], plain_ifx, bad_why[k]);
  FlushRx(plain_ifx, plain_packets, plain_bytes);
  FlushRx(run_ifx, run_packets, run_bytes);
  if (unlikely(t.fw != nullptr)) {
    // The firewall's `in` on the receiving interface, before anything else looks at them.
    if (nmine) nmine = FwIn(mine, nmine, t, 0, nullptr);
    if (n4) n4 = FwIn(v4, n4, t, 0, dsts);
    if (nmine6) nmine6 = FwIn<true>(mine6, nmine6, t, 0, nullptr);
  }
  if (nmine) Local(mine, nmine, t, 0);
  if (n4) Route(v4, dsts, n4, t, 0);
  if (nmine6) Local6(mine6, nmine6, t, 0);
  if (n6) Input6(v6, n6, t, 0);
}

void Worker::Send(rte_mbuf** pkts, uint16_t n, const Tables& t) {
  // Runs of packets to one neighbour (all of a tunnel's, most of a LAN's) share everything
  // but their bytes: the interface checks, the neighbour lookup and the Ethernet header.
  uint16_t i = 0;
  while (i < n) {
    const PacketMeta* meta = Meta(pkts[i]);
    const uint16_t ifx = meta->out_ifindex;
    const uint32_t hop = meta->next_hop;
    uint16_t j = i + 1;
    while (j < n && Meta(pkts[j])->out_ifindex == ifx && Meta(pkts[j])->next_hop == hop) ++j;
    SendRun(pkts + i, static_cast<uint16_t>(j - i), ifx, hop, t);
    i = j;
  }
}

void Worker::SendRun(rte_mbuf** pkts, uint16_t n, uint16_t ifx, uint32_t hop, const Tables& t) {
  const Interface& f = t.ifs[ifx];
  if (const Drop why = CannotSend(f, ifx); unlikely(why != Drop::kCount)) {
    if (why == Drop::kUnknownInterface) ifx = 0;
    for (uint16_t k = 0; k < n; ++k) DropPkt(pkts[k], ifx, why);
    return;
  }
  rte_ether_addr dst;
  // `out` on the sending interface: what leaves, ESP included (the last stage before the
  // wire). A packet that waited for ARP met it before it waited and comes back here flagged
  // kMetaRouted (DrainInject sends those one at a time): not a second time. Encrypted
  // packets reach here with kMetaFwSession cleared only when this port has an `out` chain
  // (Worker::FwSessionFlagOff): a new reader of that flag on the send path must clear it
  // there too.
  if (unlikely(t.fw != nullptr) && !(Meta(pkts[0])->flags & kMetaRouted)) {
    n = FwOut(pkts, n, ifx, t, /*depth=*/2);
    if (n == 0) return;
  }
  if (!dp_.neighbors->Lookup(ifx, hop, &dst)) {
    // The main lcore asks (ARP) and sends the packets once it knows.
    for (uint16_t k = 0; k < n; ++k) {
      PacketMeta* meta = Meta(pkts[k]);
      meta->out_ifindex = ifx;
      meta->next_hop = hop;
      ToSlowPath(pkts[k], PktKind::kResolve, ifx);
    }
    return;
  }
  // The header once, then one fixed-size copy per packet.
  alignas(8) uint8_t l2[20];
  const bool tagged = f.kind == IfKind::kVif;
  const uint16_t l2_len =
      tagged ? sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr) : sizeof(rte_ether_hdr);
  std::memcpy(l2, &dst, 6);
  std::memcpy(l2 + 6, &f.mac, 6);
  if (tagged) {
    const uint16_t tpid = RTE_BE16(RTE_ETHER_TYPE_VLAN), tci = rte_cpu_to_be_16(f.vlan);
    const uint16_t type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    std::memcpy(l2 + 12, &tpid, 2);
    std::memcpy(l2 + 14, &tci, 2);
    std::memcpy(l2 + 16, &type, 2);
  } else {
    const uint16_t type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    std::memcpy(l2 + 12, &type, 2);
  }
  uint16_t sent = 0;
  uint64_t bytes = 0;
  for (uint16_t k = 0; k < n; ++k) {
    rte_mbuf* m = pkts[k];
    if (unlikely(m->data_off < l2_len)) {
      DropPkt(m, ifx, Drop::kNoMemory);
      continue;
    }
    m->data_off = static_cast<uint16_t>(m->data_off - l2_len);
    m->data_len = static_cast<uint16_t>(m->data_len + l2_len);
    m->pkt_len += l2_len;
    uint8_t* h = rte_pktmbuf_mtod(m, uint8_t*);
    if (tagged) {
      std::memcpy(h, l2, 18);
    } else {
      std::memcpy(h, l2, 14);
    }
    bytes += m->pkt_len;
    pkts[sent++] = m;
  }
  // Onto the transmit queue in as few copies as its room allows.
  TxQueue& q = tx_[f.port];
  for (uint16_t done = 0; done < sent;) {
    const uint16_t c = std::min<uint16_t>(static_cast<uint16_t>(kBurst - q.n), sent - done);
    std::memcpy(q.pkts + q.n, pkts + done, c * sizeof *pkts);
    q.n = static_cast<uint16_t>(q.n + c);
    done = static_cast<uint16_t>(done + c);
    if (q.n == kBurst) FlushQueue(f.port, ifx);
  }
  if (q.n != 0) tx_pending_ |= 1u << f.port;
  InterfaceStats& s = stats_->ifs[ifx];
  s.tx_packets += sent;
  s.tx_bytes += bytes;
}

}  // namespace portcullis::dp
