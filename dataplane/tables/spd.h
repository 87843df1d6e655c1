// The security policy database (RFC 4301 §4.4.1) for policy-based tunnels, IPv4: ordered
// selectors with protect / bypass / discard. It is part of the published Tables snapshot, so
// workers read it without locks. Each direction's selectors are one rte_acl context (the
// firewall's matcher, tables/firewall_acl.h) whose rule priorities are the policies' order, so
// a burst's packets are classified in one call whatever the number of policies (10,000 per
// direction and more); not at all while the SPD is empty (route-based VPN only). The context
// is compiled on the main lcore when a batch changes policies and shared by the snapshots
// until then.
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
  uint32_t src, src_mask, dst, dst_mask;  // network order
  uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
  uint8_t proto;  // 0 = any
  PolicyAction action;
  bool has_ports;  // some range is narrower than 0-65535
  uint32_t priority;
  uint32_t reqid;
  uint32_t mtu;     // outbound protect: the largest inner packet sent without fragmenting
  SaEntry* sa;      // outbound protect: the SA, or null until vpnd has one
  uint32_t sa_spi;  // outbound protect: the SA's SPI (0: none yet)

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
  // One packet (the main lcore, tests): as Classify.
  const PolicyEntry* Find(const PacketSelector& s) const {
    const PolicyEntry* p = nullptr;
    Classify(&s, &p, 1);
    return p;
  }
};

struct Spd {
  SpdDirection out, in;

  // The first matching policy of the list (in priority order), or null: the linear reference
  // the ACL must agree with (tests; the SPD itself classifies with the ACL).
  static const PolicyEntry* Find(const PolicyEntry* list, uint32_t n, const PacketSelector& s) {
    for (uint32_t i = 0; i < n; ++i)
      if (list[i].Matches(s.src, s.dst, s.proto, s.sport, s.dport)) return &list[i];
    return nullptr;
  }
};

// The selector of the IPv4 packet at ip (l3_len header bytes, `avail` bytes readable).
PacketSelector SelectorOf(const uint8_t* ip, uint32_t l3_len, uint32_t avail);

}  // namespace portcullis::dp
