// The difference between two configuration trees as the set and delete commands that turn one
// into the other: a session's `compare`, the merge of two sessions' changes, and what a commit
// will change.
#pragma once

#include <string>
#include <vector>

#include "control/config/config_tree.h"
#include "control/config/path_resolver.h"
#include "control/config/vyos_dialect.h"

namespace portcullis::config {

struct ConfigChange {
  Command::Op op = Command::Op::kSet;
  DisplayCommand words;  // canonical words; a delete names the highest node that goes

  // The words without a leaf's value: the node the change is about.
  std::vector<std::string> NodePath() const;
};

// Deletes first (each removed subtree once, at its top), then sets, each group in tree order.
// Applying them to `from` with ApplyCommand gives a tree with the same commands as `to`.
std::vector<ConfigChange> CompareTrees(const ConfigTree& from, const ConfigTree& to);

// "delete security vpn ...\nset security vpn ... 'value'\n"; secrets as '********' unless
// `show_secrets`.
std::string RenderChanges(const std::vector<ConfigChange>& changes, bool show_secrets = false);

// The change as a command for ApplyCommand (real values, secrets included).
Command ToCommand(const ConfigChange& change);

// Whether two changes touch the same node or one's node lies inside the other's: the two
// cannot both be applied without one deciding over the other.
bool Overlaps(const ConfigChange& a, const ConfigChange& b);

}  // namespace portcullis::config
