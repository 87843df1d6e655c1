// Reads a configuration file (set/delete lines, either dialect, '#' comments, blank lines and
// configure/commit/save/exit) into a tree and validates it. Every problem is reported with its
// file and line; nothing stops at the first error.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/config/config_tree.h"
#include "control/config/diagnostic.h"

namespace portcullis::config {

struct LoadedConfig {
  ConfigTree tree;
  Diagnostics diags;
  bool ok() const { return !diags.has_errors(); }
};

// Lines into the tree; lines with errors are reported and skipped.
void ParseConfigText(absl::string_view text, const std::string& file, ConfigTree& tree,
                     Diagnostics& diags);

// Parse + commit rules. Only an unreadable file is a Status error; everything else is in diags.
absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path);
LoadedConfig LoadConfigText(absl::string_view text, const std::string& file = "");

}  // namespace portcullis::config
