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

}  // namespace portcullis::config
