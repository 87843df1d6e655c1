// `show configuration [commands]`: the tree printed as Vyatta's brace form or as set commands,
// in the Vyatta or the VyOS dialect, with secrets hidden.
#pragma once

#include <string>
#include <vector>

#include "control/config/config_tree.h"
#include "control/config/vyos_dialect.h"

namespace portcullis::config {

enum class Dialect { kVyatta, kVyos };

struct DisplayOptions {
  Dialect dialect = Dialect::kVyatta;
  bool commands = false;       // set lines instead of the brace form
  bool show_secrets = false;   // only for writing a config file back, never for display
  bool with_defaults = false;  // also the defaults of leaves under configured nodes
};

// The tree as canonical commands, in tree order.
std::vector<DisplayCommand> TreeToCommands(const ConfigNode& root, bool with_defaults);

std::string ShowConfiguration(const ConfigTree& tree, const DisplayOptions& options);

// Just the rendering steps, exposed for tests.
std::string RenderCommands(const std::vector<DisplayCommand>& commands, bool show_secrets);
std::string RenderBraces(const std::vector<DisplayCommand>& commands, bool show_secrets);

}  // namespace portcullis::config
