// Why the dataplane dropped (or absorbed) a packet. Every packet that does not leave is counted
// under one of these, per interface and in total; the ESP engine's reasons follow its own list.
#pragma once

#include <cstdint>

#include "dataplane/esp/drop_reason.h"

namespace portcullis::dp {

enum class Drop : uint8_t {
  kUnknownInterface = 0,  // arrived on a port (or VLAN) with no interface configured
  kInterfaceDown,
  kUnsupportedEthertype,
  kTruncated,    // shorter than its headers
  kBadIpHeader,  // version, header length or total length wrong
  kBadIpChecksum,
  kFragmentToUs,    // a fragment addressed to the dataplane that is not reassembled (IPv4; IPv6
                    // with an extension header before its fragment header)
  kLocalUnhandled,  // addressed to us, but not ESP, IKE or ICMP echo
  kNatKeepalive,    // RFC 3948 0xFF keepalive: absorbed, not an error
  kNoSa,            // ESP with an SPI we do not have
  kNoRoute,
  kBlackhole,
  kTtlExceeded,
  kVtiWithoutSa,         // routed into a VTI that has no outbound SA yet
  kFragmentationNeeded,  // DF set and larger than the tunnel MTU (ICMP sent)
  kFragmentFailed,
  kNeighborQueueFull,   // waiting for ARP, and that queue is full
  kNeighborUnresolved,  // ARP gave no answer
  kPuntQueueFull,       // IKE for vpnd, but its ring is full
  kSlowPathQueueFull,
  kHandoffQueueFull,  // the SA's owner worker is behind
  kTxQueueFull,
  kIpv6Malformed,  // IPv6 header or extension header chain runs past the packet, or is invalid
  kNoMemory,
  kArpIgnored,            // ARP not for us / malformed
  kOtherHost,             // unicast frame for another MAC (shared segments, promiscuous ports)
  kPolicyDiscard,         // an outbound policy says discard
  kPolicyNoSa,            // an outbound protect policy has no SA yet (IKE still negotiating)
  kPolicyMismatch,        // decrypted, but not what the SA's policies allow (RFC 4301 §5.2)
  kPolicyCleartext,       // arrived in the clear although a policy requires ESP
  kNoPort,                // sent on an interface that has no DPDK port (not in the port map)
  kFirewallDrop,          // a firewall rule or default action said drop
  kFirewallReject,        // ... said reject (a TCP RST or ICMP port unreachable went back)
  kFirewallNoZonePolicy,  // between two zones (or a zone and no zone) with no policy
  kFirewallSessionFull,   // accepted by a stateful rule, but the session table is full
  kVfpNoPolicy,           // routed into a VFP, but no protect policy of its tunnels matched
  kIpv6Multicast,         // IPv6 to a multicast group other than neighbour discovery's
  kFirewallIpv6,          // unused since IPv6 rules exist (kept: the indices after it stay)
  kNdIgnored,             // neighbour discovery not for us, malformed, or an RA (ignored)
  kIpv6Scope,             // IPv6 from ::, ::1 or a group, or link-local to or from another link
  kReassemblyFailed,      // an IPv6 fragment to us whose datagram was abandoned: overlapping
                          // (RFC 5722), duplicate or too many fragments, a bad length, no room
  kReassemblyTimeout,     // an IPv6 fragment to us whose datagram was not whole within 60 s
  kCount
};

constexpr int kDpDropCount = static_cast<int>(Drop::kCount);
// One counter space for both: dataplane reasons first, then the ESP engine's.
constexpr int kAllDropCount = kDpDropCount + esp::kDropReasonCount;
inline constexpr int DropIndex(Drop d) {
  return static_cast<int>(d);
}
inline constexpr int DropIndex(esp::DropReason r) {
  return kDpDropCount + static_cast<int>(r);
}

const char* DropName(int index);

// Why an IKE datagram for vpnd was dropped before it reached vpnd (besides punt_queue_full, the
// queue of established IKE SAs' messages being full). A range of its own, counted per worker
// in total only: adding one moves none of the packet path's per-interface counters.
enum class IkeDrop : uint8_t {
  kRateLimited,      // its source sent more than its share (per source and worker, ike_limiter.h)
  kInitQueueFull,    // new IKE (IKE_SA_INIT and the like), but its queue to vpnd is full
  kCookieQueueFull,  // an IKE_SA_INIT returning a COOKIE, but its queue to vpnd is full
  kCount
};
constexpr int kIkeDropCount = static_cast<int>(IkeDrop::kCount);
const char* IkeDropName(IkeDrop d);

}  // namespace portcullis::dp
