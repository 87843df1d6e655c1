#include "dataplane/core/drop_reason.h"

namespace portcullis::dp {

const char* DropName(int index) {
  if (index >= kDpDropCount)
    return esp::DropReasonName(static_cast<esp::DropReason>(index - kDpDropCount));
  switch (static_cast<Drop>(index)) {
    case Drop::kUnknownInterface:
      return "unknown_interface";
    case Drop::kInterfaceDown:
      return "interface_down";
    case Drop::kUnsupportedEthertype:
      return "unsupported_ethertype";
    case Drop::kTruncated:
      return "truncated";
    case Drop::kBadIpHeader:
      return "bad_ip_header";
    case Drop::kBadIpChecksum:
      return "bad_ip_checksum";
    case Drop::kFragmentToUs:
      return "fragment_to_us";
    case Drop::kLocalUnhandled:
      return "local_unhandled";
    case Drop::kNatKeepalive:
      return "nat_keepalive";
    case Drop::kNoSa:
      return "no_sa";
    case Drop::kNoRoute:
      return "no_route";
    case Drop::kBlackhole:
      return "blackhole";
    case Drop::kTtlExceeded:
      return "ttl_exceeded";
    case Drop::kVtiWithoutSa:
      return "vti_without_sa";
    case Drop::kFragmentationNeeded:
      return "fragmentation_needed";
    case Drop::kFragmentFailed:
      return "fragment_failed";
    case Drop::kNeighborQueueFull:
      return "neighbor_queue_full";
    case Drop::kNeighborUnresolved:
      return "neighbor_unresolved";
    case Drop::kPuntQueueFull:
      return "punt_queue_full";
    case Drop::kSlowPathQueueFull:
      return "slow_path_queue_full";
    case Drop::kHandoffQueueFull:
      return "handoff_queue_full";
    case Drop::kTxQueueFull:
      return "tx_queue_full";
    case Drop::kIpv6Malformed:
      return "ipv6_malformed";
    case Drop::kIpv6Multicast:
      return "ipv6_multicast";
    case Drop::kFirewallIpv6:
      return "firewall_ipv6";
    case Drop::kNdIgnored:
      return "nd_ignored";
    case Drop::kIpv6Scope:
      return "ipv6_scope";
    case Drop::kReassemblyFailed:
      return "reassembly_failed";
    case Drop::kReassemblyTimeout:
      return "reassembly_timeout";
    case Drop::kNoMemory:
      return "no_memory";
    case Drop::kArpIgnored:
      return "arp_ignored";
    case Drop::kOtherHost:
      return "l2_other_host";
    case Drop::kFirewallDrop:
      return "firewall_drop";
    case Drop::kFirewallReject:
      return "firewall_reject";
    case Drop::kFirewallNoZonePolicy:
      return "firewall_no_zone_policy";
    case Drop::kFirewallSessionFull:
      return "firewall_session_full";
    case Drop::kPolicyDiscard:
      return "policy_discard";
    case Drop::kPolicyNoSa:
      return "policy_no_sa";
    case Drop::kPolicyMismatch:
      return "policy_mismatch";
    case Drop::kPolicyCleartext:
      return "policy_cleartext";
    case Drop::kNoPort:
      return "interface_without_port";
    case Drop::kVfpNoPolicy:
      return "vfp_no_policy";
    case Drop::kCount:
      break;
  }
  return "unknown";
}

const char* IkeDropName(IkeDrop d) {
  switch (d) {
    case IkeDrop::kRateLimited:
      return "ike_rate_limited";
    case IkeDrop::kInitQueueFull:
      return "ike_init_queue_full";
    case IkeDrop::kCookieQueueFull:
      return "ike_cookie_queue_full";
    case IkeDrop::kCount:
      break;
  }
  return "unknown";
}

}  // namespace portcullis::dp
