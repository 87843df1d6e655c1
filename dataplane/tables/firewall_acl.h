// The firewall's rule matcher: one rte_acl context per place rules apply (an interface's hook,
// a zone pair), built from the rules of the rulesets bound there. A packet is looked up by a
// 16-byte key the firewall stage fills in (FwKey); the four ACL categories are the session
// states, so one classify call answers for whichever state the packet turns out to be in.
#pragma once

#include <rte_acl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis::dp {

// What the ACL reads: addresses and ports as on the wire (network order). ICMP puts its type
// and code where the ports are (host numbers in network order), other protocols zero.
struct FwKey {
  uint8_t proto;
  uint8_t pad[3];
  uint32_t src;
  uint32_t dst;
  uint16_t sport;
  uint16_t dport;
};
static_assert(sizeof(FwKey) == 16);

// The IPv6 key: the same fields with 16-byte addresses. ICMPv6 type and code go where the
// ports are, as ICMP's do.
struct FwKey6 {
  uint8_t proto;
  uint8_t pad[3];
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t sport;
  uint16_t dport;
};
static_assert(sizeof(FwKey6) == 40);

// The categories: a packet's state picks which of the four results counts.
enum FwCategory : uint8_t {
  kFwCatNew = 0,
  kFwCatEstablished = 1,
  kFwCatRelated = 2,
  kFwCatInvalid = 3,
  kFwCategories = 4,
};
static_assert(kFwCategories % RTE_ACL_RESULTS_MULTIPLIER == 0);

// One entry of a rule, in host order, inclusive ranges. ICMP type/code ranges go in the
// port ranges (sport = type, dport = code).
struct FwAclRule {
  uint32_t userdata;    // returned on a match; never 0 (0 means "no match")
  uint32_t precedence;  // lower is earlier (position * 10000 + rule number)
  uint8_t categories;   // bit c: matches in category c
  uint8_t proto_low, proto_high;
  uint32_t src_low, src_high, dst_low, dst_high;
  uint16_t sport_low, sport_high, dport_low, dport_high;
};

// An IPv6 entry: addresses as prefixes (rte_acl matches a 128-bit address as four 32-bit
// fields; a range is first cut into the prefixes that cover it exactly, FwPrefixes6).
struct FwAclRule6 {
  uint32_t userdata;
  uint32_t precedence;
  uint8_t categories;
  uint8_t proto_low, proto_high;
  uint8_t src_len, dst_len;  // prefix lengths 0..128
  uint8_t src[16], dst[16];  // network order
  uint16_t sport_low, sport_high, dport_low, dport_high;
};

// The fewest prefixes covering [lo, hi] exactly (big-endian 128-bit addresses): appends
// (address, length) pairs to out.
struct FwPrefix6 {
  uint8_t addr[16];
  uint8_t len;
};
void FwPrefixes6(const uint8_t lo[16], const uint8_t hi[16], std::vector<FwPrefix6>* out);

// Builds a context with these rules (any order: precedence decides). name must be unique
// among live contexts. Runs on the main lcore; can take a while for thousands of rules.
absl::StatusOr<rte_acl_ctx*> CompileFwAcl(const std::string& name,
                                          const std::vector<FwAclRule>& rules);
absl::StatusOr<rte_acl_ctx*> CompileFwAcl6(const std::string& name,
                                           const std::vector<FwAclRule6>& rules);

}  // namespace portcullis::dp
