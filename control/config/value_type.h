// Value types of the configuration language: what a leaf, a leaf-list or a tag key accepts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace portcullis::config {

enum class ValueKind {
  kNone,            // container / empty leaf: no value
  kNumber,          // integer in [lo, hi]
  kDecimal,         // decimal in [dlo, dhi] ("4", "4.0")
  kEnum,            // one of choices
  kIpAddr,          // IPv4 or IPv6 address
  kIpv4Addr,        // IPv4 address
  kIpAddrOrAny,     // address or "any"
  kIpPrefix,        // network prefix, v4 or v6, host bits clear
  kIpv4Prefix,      // IPv4 network prefix, host bits clear
  kIfAddress,       // interface address "a.b.c.d/len" (host bits allowed), "dhcp", "dhcpv6"
  kName,            // [-_a-zA-Z0-9.]+, the YANG name pattern for groups and rulesets
  kText,            // any non-empty text
  kIdentity,        // IKE identity: address, FQDN, @FQDN, user@FQDN, @#hex key id
  kPeerKey,         // site-to-site peer: address, "any", @id, or a name (VyOS)
  kPattern,         // text matching `pattern` (interface names, group names, secrets, ids)
  kPort,            // port, port range "a-b", service name, or comma list of those
  kProtocol,        // IP protocol name or number 0..255
  kMac,             // aa:bb:cc:dd:ee:ff
  kFwAddress,       // firewall match: address, prefix, range a-b or address-group, '!' negates
  kFwPort,          // firewall match: ports, ranges, service names or a port-group, '!' negates
  kFwProtocol,      // firewall match: protocol name or number, '!' negates
  kIpAddrOrPrefix,  // VRRP virtual address: "10.0.0.1" or "10.0.0.1/24"
};

struct ValueSpec {
  ValueKind kind = ValueKind::kNone;
  uint64_t lo = 0, hi = 0;           // kNumber
  double dlo = 0, dhi = 0;           // kDecimal
  std::vector<std::string> choices;  // kEnum
  std::string pattern;               // kPattern: ECMAScript regex, anchored
  std::string pattern_help;          // kPattern: what the user reads, e.g. "<vtiN>"
  std::string pattern_error;         // kPattern: the Vyatta error text, if it has one

  // What a user may type, as shown in errors and help: "30..86400", "aes128|aes256", "vtiN".
  std::string Describe() const;
};

// Empty on success, otherwise the reason (without the path), e.g. "value '10' out of range
// 30..86400". Enum errors suggest the closest choice.
std::string CheckValue(const ValueSpec& spec, absl::string_view value);

ValueSpec Range(uint64_t lo, uint64_t hi);  // kNumber
ValueSpec Decimal(double lo, double hi);
ValueSpec Enum(std::vector<std::string> choices);
ValueSpec Kind(ValueKind k);
ValueSpec Pattern(std::string pattern, std::string help, std::string error = "");

bool MatchesPattern(const std::string& pattern, absl::string_view value);

// Name patterns shared by the schema and the checks that resolve references (Vyatta YANG
// typedefs; ethN and bondN are the VyOS names, accepted as well).
extern const char kDataplaneIfPattern[];
extern const char kBondingIfPattern[];
extern const char kVtiIfPattern[];
extern const char kVfpIfPattern[];
extern const char kLoopbackIfPattern[];
extern const char kEthernetIfPattern[];
extern const char kGroupNamePattern[];    // ike-group, esp-group
extern const char kRulesetNamePattern[];  // firewall name, zone name
extern const char kPskPattern[];
extern const char kPrintablePattern[];  // authentication id / remote-id

// Closest candidate by edit distance (<= 2, or a prefix match), or "" when none is close.
std::string Suggest(absl::string_view word, const std::vector<std::string>& candidates);

// Well-known service names accepted for ports, with their numbers.
int ServicePort(absl::string_view name);  // -1 when unknown
// IP protocol name to number; -1 when unknown. "tcp_udp" and "all" map to -2 (pseudo).
int ProtocolNumber(absl::string_view name);
// A group name a firewall address or port may reference (it is neither an address nor a port).
bool IsFwGroupName(absl::string_view v);

}  // namespace portcullis::config
