#include "control/config/firewall_eval.h"

#include "control/config/firewall_match.h"

namespace portcullis::config {

namespace {

template <class T, class V>
bool In(const FwRange<T>& r, V v) {
  return v >= r.lo && v <= r.hi;
}

bool Matches(const FwEntry& e, const FwProbe& p) {
  if (e.family != 4) return false;  // the probe is IPv4
  if (!In(e.proto, p.proto) || !In(e.src, p.src) || !In(e.dst, p.dst)) return false;
  if (e.proto.lo == e.proto.hi && FwProtocolHasPorts(e.proto.lo))
    return In(e.sport, p.sport) && In(e.dport, p.dport);
  return true;
}

}  // namespace

std::optional<FwVerdict> EvaluateRulesets(const Model& model,
                                          const std::vector<std::string>& rulesets,
                                          const FwProbe& p) {
  FwGroups groups{&model.address_groups, &model.port_groups};
  const FirewallRuleset* last = nullptr;
  for (const std::string& name : rulesets) {
    auto it = model.firewalls.find(name);
    if (it == model.firewalls.end()) continue;
    if (it->second.family == 6) continue;  // IPv6 only: passes IPv4 as if not bound
    last = &it->second;
    for (const FirewallRule& r : it->second.rules) {
      if (r.disabled || r.action.empty()) continue;
      uint8_t state = FwStateMask(r);
      if (state != 0 && (state & p.state) == 0) continue;
      absl::StatusOr<std::vector<FwEntry>> entries = ExpandRule(r, groups);
      if (!entries.ok()) continue;
      for (const FwEntry& e : *entries) {
        if (Matches(e, p)) return FwVerdict{r.action, name, r.number};
      }
    }
  }
  if (last == nullptr) return std::nullopt;
  return FwVerdict{last->default_action, last->name, 0};
}

}  // namespace portcullis::config
