// Per-packet metadata carried in an mbuf dynamic field from stage to stage, and across the
// rings between workers and the main lcore.
#pragma once

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <cstdint>

namespace portcullis::dp {

// What the receiver of a ring packet must do with it.
enum class PktKind : uint8_t {
  kNone = 0,
  kArp,         // worker -> main: an ARP packet (Ethernet header still on)
  kResolve,     // worker -> main: routed, waiting for the neighbor of next_hop on out_ifindex
  kPunt,        // worker -> main: IKE for vpnd (IP header at data start)
  kFrameReady,  // main -> worker: a complete Ethernet frame, send it out of out_ifindex
  kRouteLocal,  // main -> worker: an IP packet we originate (IKE, ICMP): route and send it
  kEspIn,       // worker -> owner worker: inbound ESP for an SA the owner holds
  kEspOut,      // worker -> owner worker: inner packet to encrypt with out_sa_handle's SA
  kNd,          // worker -> main: ICMPv6 neighbour discovery (Ethernet header still on)
  kVrrp,        // worker -> main: a VRRP advertisement (IP header at data start)
};

// PacketMeta::flags
inline constexpr uint8_t kMetaNonEspMarker = 0x01;  // IKE that arrived behind the 4500 marker
inline constexpr uint8_t kMetaDecrypted = 0x02;     // came out of an inbound SA
// This packet made its flow's firewall session at an earlier hook: later hooks, which find
// that session (another chain's), still see the packet as new. Cleared where a packet becomes
// another one: decrypted, encrypted, turned into an echo reply.
inline constexpr uint8_t kMetaFwSession = 0x04;
inline constexpr uint8_t kMetaRouted = 0x80;  // routed before it waited for ARP
// Arrived in a link-layer group frame (broadcast or multicast MAC): no ICMP error answers it
// (RFC 1812 §4.3.2.7), nor an ICMPv6 one but packet too big and parameter problem code 2
// (RFC 4443 §2.4 e.2/e.3). Cleared where a packet becomes another one: decrypted, turned into
// an echo reply.
inline constexpr uint8_t kMetaL2Group = 0x08;

struct PacketMeta {
  uint16_t in_ifindex;
  uint16_t out_ifindex;
  uint32_t next_hop;  // IPv4, network order: the neighbor to resolve / send to (IPv6: unused,
                      // the main lcore finds the neighbour from the FIB6 and the destination)
  PktKind kind;
  uint8_t flags;
  uint16_t reserved;
  uint32_t sa_id;  // handoff: which SA (index in the SA table)
};

extern int g_meta_offset;

// Registers the dynamic field; call once after rte_eal_init, before creating pools.
bool RegisterPacketMeta();

inline PacketMeta* Meta(rte_mbuf* m) {
  return RTE_MBUF_DYNFIELD(m, g_meta_offset, PacketMeta*);
}
// With the offset read once by the caller: in a loop that stores bytes, the compiler must
// otherwise load the global again for every packet (a byte store may alias anything).
inline PacketMeta* Meta(rte_mbuf* m, int offset) {
  return RTE_MBUF_DYNFIELD(m, offset, PacketMeta*);
}

}  // namespace portcullis::dp
