// A configuration session's `show`: the candidate in Vyatta's brace form with the uncommitted
// changes marked in the first column, as the Vyatta shell does: '+' only in the candidate, '-'
// only in the running configuration, ' ' in both. Secrets are shown as '********'.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config/config_tree.h"

namespace portcullis::config {

// `path`: canonical words to show the part below (a leaf's path shows the leaf). The path must
// exist in the schema; when neither tree has anything there the answer says so.
absl::StatusOr<std::string> ShowChanges(const ConfigTree& running, const ConfigTree& candidate,
                                        const std::vector<std::string>& path = {});

}  // namespace portcullis::config
