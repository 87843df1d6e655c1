// Packets addressed to one of our addresses: ESP and UDP-encapsulated ESP go to the ESP stage;
// IKE (UDP 500, and UDP 4500 behind the four-byte non-ESP marker, RFC 3948 §2.2) is punted to
// vpnd; NAT keepalives (a single 0xFF, RFC 3948 §2.3) are absorbed; ICMP echo is answered;
// VRRP goes to the main lcore.
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {
constexpr uint16_t kIkePort = 500;
constexpr uint16_t kNatTPort = 4500;
constexpr uint8_t kIpProtoVrrp = 112;
}  // namespace

void Worker::Local(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth) {
  rte_mbuf* esp[kBurst];
  uint32_t spis[kBurst];
  uint16_t ne = 0;
  // The SPI names the SA (0: too short to carry one). EspIn looks SAs up once per run of one
  // SPI (a burst is mostly one tunnel's), so this stage makes no call for ESP.
  if (unlikely(t.fw != nullptr)) {
    // `local` (and the local zone's policy) before anything here answers or punts.
    n = FwLocal(pkts, n, t, depth);
  }
  auto to_esp = [&](rte_mbuf * m, uint32_t off) __attribute__((always_inline)) {
    uint32_t spi = 0;
    if (m->data_len >= off + 8)
      std::memcpy(&spi, rte_pktmbuf_mtod_offset(m, const uint8_t*, off), 4);
    spis[ne] = spi;
    esp[ne++] = m;
  };
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    const uint32_t hlen = m->l3_len;
    if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
      DropPkt(m, Meta(m)->in_ifindex, Drop::kFragmentToUs);
      continue;
    }
    switch (ip->next_proto_id) {
      case IPPROTO_ESP:
        to_esp(m, hlen);
        break;
      case IPPROTO_UDP: {
        if (m->data_len < hlen + sizeof(rte_udp_hdr)) {
          DropPkt(m, Meta(m)->in_ifindex, Drop::kTruncated);
          break;
        }
        auto* udp =
            reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + hlen);
        const uint16_t dport = rte_be_to_cpu_16(udp->dst_port);
        const uint32_t payload = m->pkt_len - hlen - sizeof(rte_udp_hdr);
        const uint8_t* body = reinterpret_cast<const uint8_t*>(udp + 1);
        if (dport == kIkePort) {
          PuntIke(m, hlen + sizeof(rte_udp_hdr));
        } else if (dport == kNatTPort) {
          if (payload == 1 && m->data_len > hlen + 8 && body[0] == 0xff) {
            DropPkt(m, Meta(m)->in_ifindex, Drop::kNatKeepalive);
          } else if (payload >= 4 && m->data_len >= hlen + 12 && body[0] == 0 && body[1] == 0 &&
                     body[2] == 0 && body[3] == 0) {
            Meta(m)->flags |= kMetaNonEspMarker;
            PuntIke(m, hlen + sizeof(rte_udp_hdr) + 4);
          } else {
            to_esp(m, hlen + sizeof(rte_udp_hdr));
          }
        } else {
          DropPkt(m, Meta(m)->in_ifindex, Drop::kLocalUnhandled);
        }
        break;
      }
      case IPPROTO_ICMP: {
        const uint8_t* icmp = reinterpret_cast<const uint8_t*>(ip) + hlen;
        if (m->data_len >= hlen + 8 && icmp[0] == 8 && icmp[1] == 0) {
          IcmpEchoReply(m, t, depth);
        } else {
          DropPkt(m, Meta(m)->in_ifindex, Drop::kLocalUnhandled);
        }
        break;
      }
      case kIpProtoVrrp:
        // VRRP advertisements (to 224.0.0.18, whose local route exists while groups do): the
        // main lcore runs the groups and checks the rest.
        // Only from interfaces with groups: a flood elsewhere cannot fill the slow path's ring.
        if (t.ifs[Meta(m)->in_ifindex].has_vrrp) {
          ToSlowPath(m, PktKind::kVrrp, Meta(m)->in_ifindex);
        } else {
          DropPkt(m, Meta(m)->in_ifindex, Drop::kLocalUnhandled);
        }
        break;
      default:
        DropPkt(m, Meta(m)->in_ifindex, Drop::kLocalUnhandled);
    }
  }
  if (ne) EspIn(esp, spis, ne, t, depth, /*v6=*/false);
}

}  // namespace portcullis::dp
