// Which `interfaces <type>` node an interface name such as "dp0bond1.1750" belongs to.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace portcullis::config {

struct InterfaceName {
  std::string type;  // "dataplane", "ethernet", "bonding", "vti", "virtual-feature-point",
                     // "loopback"; "" when the name fits none
  std::string base;  // "dp0bond1"
  std::string vif;   // "1750", or "" for the interface itself
};

InterfaceName ClassifyInterface(absl::string_view name);

}  // namespace portcullis::config
