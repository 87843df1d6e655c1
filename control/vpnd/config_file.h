// Writes a configuration tree as a file vpnd can load again: `set` lines in the canonical
// (Vyatta) dialect with the pre-shared keys in clear, so mode 0600, written to a temporary file
// and renamed over the target (a crash leaves the old file or the new one, never half of one).
// `save` in a configuration session and the configuration archive use it.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "control/config/config_tree.h"

namespace portcullis::vpnd {

// `header`: comment lines put first ("# ..."), may be empty.
absl::Status WriteConfigFile(const std::string& path, const config::ConfigTree& tree,
                             const std::string& header);

// The text WriteConfigFile writes (without the header); the caller wipes it.
std::string ConfigFileText(const config::ConfigTree& tree);

}  // namespace portcullis::vpnd
