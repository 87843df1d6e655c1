// `show firewall [name X] [statistics]` and `clear firewall [name X [rule N]]`: the rulesets as
// configured, where they are applied, with the dataplane's counters per rule, in the Vyatta
// 5600 layout (vplane-config-npf's vyatta-dp-npf-show-rules: a "Rulesets Information: Firewall"
// block, then per interface and direction `Firewall "NAME":` / `Active on (IF, DIR)` and a
// rule / action / proto / packets / bytes table with each rule's condition; zone policies under
// "Rulesets Information: From zone "A" to zone "B""). The counters come from the dataplane's
// telemetry (/portcullis/firewall, /portcullis/firewall_ruleset,<id>[/<from>]); the dataplane
// cannot reset them, so `clear firewall` keeps baselines in vpnd that the views subtract.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config/model.h"
#include "control/vpnd/dataplane_telemetry.h"
#include "control/vpnd/firewall_plan.h"

namespace portcullis::vpnd {

struct FwCounters {
  uint64_t packets = 0, bytes = 0, suppressed = 0;
};

struct FwRulesetTelemetry {
  uint32_t id = 0;
  std::string name;
  std::string default_action;
  FwCounters default_counters;
  std::map<uint32_t, FwCounters> rules;  // by rule number
};

struct FwTelemetry {
  uint64_t sessions_active = 0, sessions_max = 0, sessions_created = 0, sessions_expired = 0,
           sessions_table_full = 0;
  uint64_t log_sent = 0, log_suppressed = 0, log_lost = 0;
  std::map<uint32_t, FwRulesetTelemetry> rulesets;  // by id
};

// Everything, or only the ruleset `only` (by id), following each ruleset's pages.
absl::StatusOr<FwTelemetry> ReadFirewallTelemetry(DataplaneTelemetry& t,
                                                  std::optional<uint32_t> only = std::nullopt);

// What `clear firewall` set to zero: the counters as they were then, subtracted from later
// reads. A counter below its baseline (the dataplane restarted, the ruleset was sent again)
// starts over from zero, and the baseline goes.
class FwCounterBaselines {
 public:
  // `rule`: 0 = every rule and the default of the ruleset.
  void Clear(const FwRulesetTelemetry& now, uint32_t rule);
  void Apply(FwTelemetry& t);
  // A batch deleted the ruleset (every rule's and its default's baseline goes) or, with `rule`,
  // one rule: the dataplane's counters for it start from zero, and an id or rule sent again
  // later must not have the old baseline subtracted.
  void ForgetRuleset(uint32_t ruleset_id);
  void ForgetRule(uint32_t ruleset_id, uint32_t rule);
  // A new dataplane (Resync): every counter starts from zero.
  void ForgetAll() { base_.clear(); }
  size_t size() const { return base_.size(); }

 private:
  std::map<std::pair<uint32_t, uint32_t>, FwCounters> base_;  // (ruleset id, rule; 0 = default)
};

struct FwRuleRow {
  uint32_t number = 0;  // kFwDefaultRuleNumber (10000) for the default action
  std::string action;   // accept | drop | reject
  std::string proto;    // as configured; "any"
  FwCounters counters;
  std::string condition;  // "proto esp from 198.11.194.155"
};

struct FwGroupView {
  std::string name;
  std::string kind;       // fw-in | fw-out | local | zone | unapplied
  std::string interface;  // fw-in, fw-out, local
  std::string from_zone, to_zone;
  std::vector<FwRuleRow> rules;
};

struct FirewallView {
  std::vector<FwGroupView> groups;
  FwTelemetry telemetry;
  bool statistics = false;
};

// The groups in Vyatta's order (in, out, local, then zones), each ruleset once per place it
// is applied; `name` keeps one ruleset (an unapplied one is shown as such). Rules come from the
// configuration, counters from `t` (matched by the ruleset's id).
FirewallView BuildFirewallView(const config::Model& model, const FirewallIds& ids,
                               const FwTelemetry& t, const std::string& name);
std::string FirewallText(const FirewallView& v);
std::string FirewallJson(const FirewallView& v);

// The condition column of one rule, npf's words: "proto udp to any port 500,4500".
std::string FwCondition(const config::FirewallRule& r);

}  // namespace portcullis::vpnd
