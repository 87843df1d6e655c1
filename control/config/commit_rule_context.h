// Shared helpers of the commit rule files: where to report, and indexes of what exists.
#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "control/config/config_tree.h"
#include "control/config/diagnostic.h"

namespace portcullis::config {

class RuleContext {
 public:
  RuleContext(const ConfigNode& root, Diagnostics& diags);

  const ConfigNode& root() const { return root_; }

  // Reports at `node` (its path, and the line that set `child` if present, else the node's).
  void Error(const ConfigNode& node, absl::string_view child, std::string message);
  void Warning(const ConfigNode& node, absl::string_view child, std::string message);

  // Every interface by name, vifs as "dp0bond0.1750".
  const std::map<std::string, const ConfigNode*>& interfaces() const { return interfaces_; }
  bool InterfaceExists(absl::string_view name) const;
  // A reference to an interface that is not configured: for a physical port name (dp0pXsY,
  // ethN) only a warning, because ports exist once the dataplane owns them even without a line
  // of configuration (as on a Vyatta or VyOS router); for anything else `error`. True if found.
  bool CheckInterfaceRef(const ConfigNode& node, absl::string_view child, const std::string& name,
                         const std::string& error);
  bool RulesetExists(absl::string_view name) const;
  // Every interface address (without prefix length) and VRRP virtual address.
  const std::map<std::string, std::string>& local_addresses() const { return local_addresses_; }

 private:
  void Report(bool error, const ConfigNode& node, absl::string_view child, std::string message);

  const ConfigNode& root_;
  Diagnostics& diags_;
  std::map<std::string, const ConfigNode*> interfaces_;
  std::map<std::string, std::string> local_addresses_;  // address -> interface
  std::set<std::string> rulesets_;
};

void CheckVpnRules(RuleContext& ctx);
void CheckInterfaceRules(RuleContext& ctx);
void CheckRoutingRules(RuleContext& ctx);
void CheckFirewallRules(RuleContext& ctx);

}  // namespace portcullis::config
