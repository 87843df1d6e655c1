// Applies one `set` or `delete` (in canonical, Vyatta-dialect words) to the tree, checking every
// word against the schema first: a command with any error changes nothing.
#pragma once

#include <string>
#include <vector>

#include "control/config/config_tree.h"
#include "control/config/diagnostic.h"

namespace portcullis::config {

struct Command {
  enum class Op { kSet, kDelete };
  Op op = Op::kSet;
  std::vector<std::string> words;
  SourceLoc loc;
};

bool ApplyCommand(ConfigTree& tree, const Command& cmd, Diagnostics& diags);

}  // namespace portcullis::config
