// Follows the words of a configuration path through the schema without touching a tree: what
// each word is (keyword, tag key or value) and what may come next. Completion, `?` help and
// `show <path>` in a configuration session use it; ApplyCommand (path_resolver) does its own walk
// because it also builds the tree.
#pragma once

#include <string>
#include <vector>

#include "control/config/schema.h"

namespace portcullis::config {

struct SchemaWalk {
  enum class Role { kKeyword, kKey, kValue };
  enum class Next {
    kChild,    // a child keyword of `at` (a container, or a tag instance)
    kKey,      // the key of the tag `at`
    kValue,    // the value of the leaf or leaf-list `at`
    kNothing,  // the path is complete (a value was given, or an empty leaf)
  };
  struct Step {
    const SchemaNode* node;  // the keyword's node; for a key or a value, its tag or leaf
    Role role;
  };
  std::vector<Step> steps;  // one per word walked
  const SchemaNode* at = nullptr;
  Next next = Next::kChild;
  // Non-empty when a word does not fit: the reason, and the word's index.
  std::string error;
  size_t error_word = 0;

  bool ok() const { return error.empty(); }
};

// Walks canonical (Vyatta-dialect) words from the root. Keys and values are checked against
// their value type only when `check_values` (completion walks what the user has half typed).
SchemaWalk WalkSchema(const std::vector<std::string>& words, bool check_values = true);

}  // namespace portcullis::config
