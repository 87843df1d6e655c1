// The configured rulesets' verdict for one IPv4 packet, as the dataplane would reach it: the
// rulesets of a hook in order, the first rule whose entries (firewall_match.h) match decides,
// and a packet no rule matched meets the last ruleset's default action. `diagnose` asks it
// whether IKE and ESP from a peer get in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/config/model.h"

namespace portcullis::config {

struct FwProbe {
  uint32_t src = 0, dst = 0;  // IPv4, host order
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;
  uint8_t state = 1;  // FwStateMask bits: 1 = new
};

struct FwVerdict {
  std::string action;  // accept | drop | reject
  std::string ruleset;
  uint32_t rule = 0;  // 0: the default action
};

// nullopt when `rulesets` is empty (nothing filters). Unknown names are skipped.
std::optional<FwVerdict> EvaluateRulesets(const Model& model,
                                          const std::vector<std::string>& rulesets,
                                          const FwProbe& p);

}  // namespace portcullis::config
