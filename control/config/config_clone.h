// A deep copy of a configuration tree: a configuration session's candidate starts as a copy of
// the running tree, and a commit hands vpnd a copy the session can no longer change.
#pragma once

#include <memory>

#include "control/config/config_tree.h"

namespace portcullis::config {

// Every node, value and source location; secrets are copied too (the copy wipes its own).
std::unique_ptr<ConfigTree> CloneTree(const ConfigTree& tree);

}  // namespace portcullis::config
