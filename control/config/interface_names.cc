#include "control/config/interface_names.h"

#include "control/config/value_type.h"

namespace portcullis::config {

InterfaceName ClassifyInterface(absl::string_view name) {
  InterfaceName out;
  absl::string_view base = name;
  size_t dot = name.find('.');
  if (dot != absl::string_view::npos) {
    base = name.substr(0, dot);
    out.vif = std::string(name.substr(dot + 1));
  }
  out.base = std::string(base);
  struct Kind {
    const char* type;
    const char* pattern;
  };
  static const Kind kKinds[] = {
      {"bonding", kBondingIfPattern},           {"dataplane", kDataplaneIfPattern},
      {"ethernet", kEthernetIfPattern},         {"vti", kVtiIfPattern},
      {"virtual-feature-point", kVfpIfPattern}, {"loopback", kLoopbackIfPattern},
  };
  for (const auto& k : kKinds) {
    if (MatchesPattern(k.pattern, base)) {
      out.type = k.type;
      break;
    }
  }
  return out;
}

}  // namespace portcullis::config
