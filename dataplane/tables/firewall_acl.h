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

// Builds a context with these rules (any order: precedence decides). name must be unique
// among live contexts. Runs on the main lcore; can take a while for thousands of rules.
absl::StatusOr<rte_acl_ctx*> CompileFwAcl(const std::string& name,
                                          const std::vector<FwAclRule>& rules);

}  // namespace portcullis::dp
