// ICMP type names as Vyatta's `icmp name` (and VyOS's `icmp type-name`) accept them: the
// iptables names, each a type and optionally one code.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace portcullis::config {

struct IcmpName {
  const char* name;
  int type;
  int code;  // -1: every code of the type
};

std::optional<IcmpName> FindIcmpName(absl::string_view name);
// Every name, in table order (the schema's enum).
std::vector<std::string> IcmpTypeNames();

// ICMPv6 names: Vyatta 5600's `icmpv6 name` (vyatta-fw-types icmpv6-symbolic) and VyOS's
// `icmpv6 type-name` (nftables' names), one table: where both name a type they agree.
std::optional<IcmpName> FindIcmp6Name(absl::string_view name);
std::vector<std::string> Icmp6TypeNames();

}  // namespace portcullis::config
