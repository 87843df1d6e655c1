// A firewall rule as the dataplane matches it (dataplane/api/messages.h FwRuleBody): a list of
// entries, each a conjunction of positive ranges, the rule matching when any entry does. Here
// Vyatta's match values become sets of ranges (port lists and names, address prefixes and
// ranges, groups, protocol names, ICMP names; `!` is the complement) and a rule becomes the
// cross product of its sets. The commit checks count the entries with it (a rule too big to
// expand is an error naming its line), and vpnd builds its messages from the same entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/config/model.h"

namespace portcullis::config {

template <class T>
struct FwRange {
  T lo, hi;  // inclusive
  bool operator==(const FwRange&) const = default;
};
using FwAddrRange = FwRange<uint32_t>;        // IPv4, host order
using FwAddr6Range = FwRange<absl::uint128>;  // IPv6, as a big-endian number
using FwPortRange = FwRange<uint16_t>;
using FwProtoRange = FwRange<uint8_t>;

// Where groups are looked up (null: no groups).
struct FwGroups {
  const std::map<std::string, std::vector<std::string>>* address = nullptr;
  const std::map<std::string, std::vector<std::string>>* port = nullptr;
};

// "" = any. Sorted, merged ranges; empty = matches nothing (the complement of everything).
absl::StatusOr<std::vector<FwAddrRange>> ExpandAddress(absl::string_view value,
                                                       const FwGroups& groups);
absl::StatusOr<std::vector<FwPortRange>> ExpandPorts(absl::string_view value,
                                                     const FwGroups& groups);
absl::StatusOr<std::vector<FwProtoRange>> ExpandProtocol(absl::string_view value);

// An address match's sets per family: an IPv4 address, prefix or range matches IPv4 packets
// only, an IPv6 one IPv6 packets; a group holds either (or both). "" = any of both families.
// A family the value does not name is absent (has4/has6 false): the rule never matches that
// family's packets. IPv6 ranges come cut into prefix-aligned ranges (what the dataplane's ACL
// matches), so counting entries counts ACL rules.
struct FwAddrSets {
  bool has4 = false, has6 = false;
  std::vector<FwAddrRange> v4;
  std::vector<FwAddr6Range> v6;
};
absl::StatusOr<FwAddrSets> ExpandAddressSets(absl::string_view value, const FwGroups& groups);

struct FwEntry {
  uint8_t family = 4;  // 4: src/dst apply; 6: src6/dst6 apply
  FwProtoRange proto{0, 255};
  FwAddrRange src{0, 0xffffffffu}, dst{0, 0xffffffffu};
  FwAddr6Range src6{0, absl::Uint128Max()}, dst6{0, absl::Uint128Max()};
  FwPortRange sport{0, 65535}, dport{0, 65535};
  // Only with protocol 1 (IPv6: 58) alone; zero otherwise (as the contract wants).
  FwProtoRange icmp_type{0, 0}, icmp_code{0, 0};
  bool operator==(const FwEntry&) const = default;
};

// More entries than this for one rule is a commit error: the ACL grows with every entry.
inline constexpr size_t kFwMaxEntriesPerRule = 1024;

// Protocols whose ports the dataplane matches.
bool FwProtocolHasPorts(int protocol);

// The entries of `rule` (error: what cannot be expanded, e.g. an unknown group, a port without
// a port protocol, more than kFwMaxEntriesPerRule entries). A rule whose sets are empty
// ("!0.0.0.0/0") has no entry: it matches nothing. The IPv4 entries come first, then the IPv6
// ones: a rule applies to the families its addresses, protocol (icmp: 4, ipv6-icmp: 6), ICMP
// match and ruleset family (rule.family) leave.
absl::StatusOr<std::vector<FwEntry>> ExpandRule(const FirewallRule& rule, const FwGroups& groups);

// The state bits (dataplane/api/messages.h FwStateBits) of a rule's state matches.
uint8_t FwStateMask(const FirewallRule& rule);

}  // namespace portcullis::config
