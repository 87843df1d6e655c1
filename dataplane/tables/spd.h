// The security policy database (RFC 4301 §4.4.1) for policy-based tunnels, IPv4: ordered
// selectors with protect / bypass / discard. It is part of the published Tables snapshot, so
// workers read it without locks; it is small (a site has a few policies per tunnel) and
// searched linearly in priority order, and not at all while empty (route-based VPN only).
#pragma once

#include <cstdint>

namespace portcullis::dp {

struct SaEntry;

constexpr uint32_t kMaxPolicies = 256;

// What a matching policy decides (RFC 4301 §4.4.1). The command applier converts the channel's
// api::PolicyAction into this.
enum class PolicyAction : uint8_t {
  kProtect = 1,
  kBypass = 2,
  kDiscard = 3,
};

struct PolicyEntry {
  uint32_t src, src_mask, dst, dst_mask;  // network order
  uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
  uint8_t proto;  // 0 = any
  PolicyAction action;
  bool has_ports;  // some range is narrower than 0-65535
  uint32_t priority;
  uint32_t reqid;
  uint32_t mtu;  // outbound protect: the largest inner packet sent without fragmenting
  SaEntry* sa;   // outbound protect: the SA, or null until vpnd has one

  bool Matches(uint32_t s, uint32_t d, uint8_t p, uint16_t sp, uint16_t dp) const {
    if (((s ^ src) & src_mask) | ((d ^ dst) & dst_mask)) return false;
    if (proto && proto != p) return false;
    if (has_ports && (sp < sport_lo || sp > sport_hi || dp < dport_lo || dp > dport_hi))
      return false;
    return true;
  }
};

struct PacketSelector {
  uint32_t src, dst;  // network order
  uint8_t proto;
  uint16_t sport, dport;  // host order; 0 when the packet has none (or is a later fragment)
};

struct Spd {
  uint32_t nout, nin;
  bool out_ports, in_ports;  // whether any policy looks at ports
  PolicyEntry out[kMaxPolicies];
  PolicyEntry in[kMaxPolicies];

  // The first matching policy (they are in priority order), or null.
  static const PolicyEntry* Find(const PolicyEntry* list, uint32_t n, const PacketSelector& s) {
    for (uint32_t i = 0; i < n; ++i)
      if (list[i].Matches(s.src, s.dst, s.proto, s.sport, s.dport)) return &list[i];
    return nullptr;
  }
};

// The selector of the IPv4 packet at ip (l3_len header bytes, `avail` bytes readable).
PacketSelector SelectorOf(const uint8_t* ip, uint32_t l3_len, uint32_t avail);

}  // namespace portcullis::dp
