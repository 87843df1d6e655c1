// The security policy database (RFC 4301 §4.4.1) for policy-based tunnels, IPv4 and IPv6:
// ordered selectors with protect / bypass / discard, one list per direction and family. It is part
// of the published Tables snapshot, so workers read it without locks. Each direction's selectors
// are one rte_acl context (the firewall's matcher, tables/firewall_acl.h) whose rule priorities are
// the policies' order, so a burst's packets are classified in one call whatever the number of
// policies (10,000 per direction and more); not at all while the SPD is empty (route-based VPN
// only). The context is compiled on the main lcore when a batch changes policies and shared by the
// snapshots until then.
#pragma once

#include <rte_acl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis::dp {

struct SaEntry;

// What a matching policy decides (RFC 4301 §4.4.1). The command applier converts the channel's
// api::PolicyAction into this.
enum class PolicyAction : uint8_t {
  kProtect = 1,
  kBypass = 2,
  kDiscard = 3,
};

struct PolicyEntry {
  uint32_t src, src_mask, dst, dst_mask;  // IPv4, network order (0 in an IPv6 entry)
  uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
  uint8_t proto;  // 0 = any
  PolicyAction action;
  bool has_ports;  // some range is narrower than 0-65535
  uint32_t priority;
  uint32_t reqid;
  uint32_t mtu;     // outbound protect: the largest inner packet sent without fragmenting
  SaEntry* sa;      // outbound protect: the SA, or null until vpnd has one
  uint32_t sa_spi;  // outbound protect: the SA's SPI (0: none yet)
  // IPv6 entries (in Spd's out6/in6): the prefixes, host bits zero.
  uint8_t src6[16], dst6[16];
  uint8_t src6_len, dst6_len;

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

struct PacketSelector6 {
  uint8_t src[16], dst[16];
  uint8_t proto;          // the upper-layer protocol, after extension headers
  uint16_t sport, dport;  // host order; 0 when the packet has none (or is a later fragment)
};

// Whether the first len bits of a and b agree.
inline bool PrefixMatch6(const uint8_t* a, const uint8_t* b, uint8_t len) {
  const uint32_t bytes = len / 8u;
  for (uint32_t i = 0; i < bytes; ++i)
    if (a[i] != b[i]) return false;
  const uint32_t bits = len % 8u;
  if (bits == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00u >> bits);
  return ((a[bytes] ^ b[bytes]) & mask) == 0;
}

inline bool Matches6(const PolicyEntry& e, const PacketSelector6& s) {
  if (!PrefixMatch6(s.src, e.src6, e.src6_len) || !PrefixMatch6(s.dst, e.dst6, e.dst6_len))
    return false;
  if (e.proto && e.proto != s.proto) return false;
  if (e.has_ports && (s.sport < e.sport_lo || s.sport > e.sport_hi || s.dport < e.dport_lo ||
                      s.dport > e.dport_hi))
    return false;
  return true;
}

// A compiled selector set: owns the rte_acl context. Freed with the last snapshot using it
// (snapshots are freed after the grace period, on the main lcore).
class SpdAcl {
 public:
  explicit SpdAcl(rte_acl_ctx* ctx) : ctx_(ctx) {}
  ~SpdAcl() { rte_acl_free(ctx_); }
  SpdAcl(const SpdAcl&) = delete;
  SpdAcl& operator=(const SpdAcl&) = delete;
  rte_acl_ctx* ctx() const { return ctx_; }

 private:
  rte_acl_ctx* ctx_;
};

// The context for these policies, in this order (the first of several matches wins; only the
// selectors are read). Main lcore; about a second for 10,000 policies.
absl::StatusOr<std::shared_ptr<const SpdAcl>> CompileSpd(const std::string& name,
                                                         const std::vector<PolicyEntry>& ordered);
// The same for IPv6 entries (their src6/dst6 selectors): a context of its own, whose key holds
// the two addresses as four 32-bit fields each.
absl::StatusOr<std::shared_ptr<const SpdAcl>> CompileSpd6(const std::string& name,
                                                          const std::vector<PolicyEntry>& ordered);

// One direction: the policies in priority order (index i is the ACL's userdata i + 1).
struct SpdDirection {
  // Up to this many policies are searched in order instead of classified: as fast for a
  // site's few policies as before the ACL.
  static constexpr uint32_t kLinearPolicies = 8;

  uint32_t n = 0;
  bool ports = false;  // whether any policy looks at ports
  std::vector<PolicyEntry> entries;
  std::shared_ptr<const SpdAcl> acl;  // compiled from exactly these selectors, in this order

  // Packet path: for each of n (at most 64) selectors the first matching policy, or null.
  void Classify(const PacketSelector* sel, const PolicyEntry** out, uint32_t count) const;
  // The same for an IPv6 direction (entries and ACL from CompileSpd6).
  void Classify6(const PacketSelector6* sel, const PolicyEntry** out, uint32_t count) const;
  // One packet (the main lcore, tests): as Classify.
  const PolicyEntry* Find(const PacketSelector& s) const {
    const PolicyEntry* p = nullptr;
    Classify(&s, &p, 1);
    return p;
  }
  const PolicyEntry* Find6(const PacketSelector6& s) const {
    const PolicyEntry* p = nullptr;
    Classify6(&s, &p, 1);
    return p;
  }
};

struct Spd {
  SpdDirection out, in;    // IPv4 selectors
  SpdDirection out6, in6;  // IPv6 selectors: their own lists and ACLs

  // The first matching policy of the list (in priority order), or null: the linear reference
  // the ACL must agree with (tests; the SPD itself classifies with the ACL).
  static const PolicyEntry* Find(const PolicyEntry* list, uint32_t n, const PacketSelector& s) {
    for (uint32_t i = 0; i < n; ++i)
      if (list[i].Matches(s.src, s.dst, s.proto, s.sport, s.dport)) return &list[i];
    return nullptr;
  }
  static const PolicyEntry* Find6(const PolicyEntry* list, uint32_t n, const PacketSelector6& s) {
    for (uint32_t i = 0; i < n; ++i)
      if (Matches6(list[i], s)) return &list[i];
    return nullptr;
  }
};

// The selector of the IPv4 packet at ip (l3_len header bytes, `avail` bytes readable).
PacketSelector SelectorOf(const uint8_t* ip, uint32_t l3_len, uint32_t avail);
// The selector of the IPv6 packet at ip whose upper-layer header (protocol proto) starts at l4
// (after the extension headers; `avail` bytes readable). A later fragment passes its protocol
// with later_fragment set: no ports.
PacketSelector6 SelectorOf6(const uint8_t* ip, uint32_t l4, uint8_t proto, bool later_fragment,
                            uint32_t avail);

}  // namespace portcullis::dp
