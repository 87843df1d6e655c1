// `vpnctl check --pair A B`: reads the two ends of a tunnel and reports every mismatch the seeds
// list as a common cause of tunnels that do not come up, drop on rekey or fail auth.
#pragma once

#include <string>
#include <vector>

#include "control/config/model.h"

namespace portcullis::config {

struct PairMismatch {
  std::string check;    // "ike-version", "ike-proposal", "esp-lifetime", ...
  std::string message;  // both values, each named by its side
};

struct PairReport {
  std::vector<std::string> pairs;  // "A peer X <-> B peer Y", one per compared pair
  std::vector<PairMismatch> mismatches;
  int checks = 0;  // comparisons made
  bool ok() const { return mismatches.empty() && !pairs.empty(); }
};

// `name_a`/`name_b` label the sides in messages (usually the file names).
PairReport CheckPair(const std::string& name_a, const Model& a, const std::string& name_b,
                     const Model& b);

}  // namespace portcullis::config
