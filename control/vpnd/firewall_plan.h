// The firewall part of the dataplane plan: rulesets with their rules (each rule as the entries
// config/firewall_match.h expands it into), bindings per interface and hook in configured
// order, zones with their interfaces and policies, and the global state policy, as dataplane
// objects keyed so that DiffBatch deletes dependents first and adds them last. Ruleset and zone
// ids are vpnd's, stable by name for the life of the process, so a commit that changes one
// ruleset resends only what changed of it, and log events and counters name the right one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/config/model.h"
#include "control/vpnd/dataplane_plan.h"

namespace portcullis::vpnd {

// Stable ids by name (1, 2, ...), one space for rulesets and one for zones.
class FirewallIds {
 public:
  uint32_t Ruleset(const std::string& name) { return Get(rulesets_, name); }
  uint32_t Zone(const std::string& name) { return Get(zones_, name); }
  std::optional<std::string> RulesetName(uint32_t id) const { return Name(rulesets_, id); }
  std::optional<std::string> ZoneName(uint32_t id) const { return Name(zones_, id); }
  std::optional<uint32_t> FindRuleset(const std::string& name) const;

 private:
  struct Space {
    std::map<std::string, uint32_t> ids;
    std::map<uint32_t, std::string> names;
    uint32_t next = 1;
  };
  static uint32_t Get(Space& s, const std::string& name);
  static std::optional<std::string> Name(const Space& s, uint32_t id);
  Space rulesets_, zones_;
};

// Adds the firewall's objects to `out` (keys "4 fw<N> ..."). Rules the commit checks would
// refuse (they cannot be expanded) are left out; disabled rules are not sent. The global state
// policy is sent only when the configuration has any firewall part (DiffBatch resets it to the
// defaults when that goes).
void PlanFirewall(const config::Model& model, InterfaceIndexes& ifindexes, FirewallIds& ids,
                  DataplaneObjects& out);

// How many of `batch`'s messages are the firewall's, and its largest rulesets by messages in
// the batch ("A (n), B (m)", at most three): what an over-cap batch error names.
struct FirewallShare {
  size_t messages = 0;
  std::string largest;
};
FirewallShare FirewallShareOf(const std::vector<dp::api::Message>& batch, const FirewallIds& ids);

// Firewall kinds the contract gives no update: a changed one is sent as delete + add.
bool FirewallNeedsReplace(dp::api::MessageKind kind);

}  // namespace portcullis::vpnd
