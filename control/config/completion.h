// Tab completion and `?` help for configuration paths, from the schema and its help texts:
// the child keywords of a node, a tag's existing instances, a leaf's enum values, and the names
// a leaf refers to (a peer's ike-group lists the configured IKE groups, `vti bind` the VTIs...).
// For `delete` and `show` only what the candidate holds is offered.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "control/config/config_tree.h"

namespace portcullis::config {

struct Completion {
  std::string text;          // the word, or a placeholder such as <30-86400> (not typed as is)
  std::string help;          // one line
  bool placeholder = false;  // describes what to type rather than being a word to insert
};

enum class CompleteFor { kSet, kDelete, kShow };

struct CompletionResult {
  std::vector<Completion> items;  // placeholders first, then words in order
  std::string error;              // the words typed so far do not fit the schema
  // The words form a command that can run as it is (Vyatta's `<Enter>` entry in `?`).
  bool complete = false;
};

// `words`: the canonical words typed before the one being completed; `partial`: that word so
// far ("" right after a space). Items are filtered by `partial`.
CompletionResult CompletePath(const ConfigTree& candidate, CompleteFor mode,
                              const std::vector<std::string>& words, absl::string_view partial);

// What to show for a value: <30-86400>, <vtiN>, <x.x.x.x/x>, <text>.
std::string Placeholder(const SchemaNode& node);

}  // namespace portcullis::config
