#include "control/config/path_resolver.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis::config {

namespace {

struct Step {
  const SchemaNode* schema;
  std::string word;
  bool instance;
};

std::string JoinSteps(const std::vector<Step>& steps) {
  std::vector<absl::string_view> w;
  for (const auto& s : steps) w.push_back(s.word);
  return absl::StrJoin(w, " ");
}

// Numeric tag keys are stored canonically so "proposal 01" and "proposal 1" are one node.
std::string CanonicalKey(const ValueSpec& spec, const std::string& key) {
  if (spec.kind != ValueKind::kNumber) return key;
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
  if (ec != std::errc() || p != key.data() + key.size()) return key;
  return std::to_string(n);
}

std::string ValueError(const SchemaNode& node, const std::string& value) {
  std::string why = CheckValue(node.value, value);
  if (why.empty() || !node.secret) return why;
  // Never echo a secret, even a malformed one.
  if (node.value.kind == ValueKind::kPattern && !node.value.pattern_error.empty())
    return "invalid secret: " + node.value.pattern_error;
  return "invalid secret";
}

}  // namespace

bool ApplyCommand(ConfigTree& tree, const Command& cmd, Diagnostics& diags) {
  const bool is_set = cmd.op == Command::Op::kSet;
  const SchemaNode* cur = &RootSchema();
  std::vector<Step> steps;
  std::string value;
  bool has_value = false;
  const auto& w = cmd.words;
  if (w.empty()) {
    diags.Error(cmd.loc, "", is_set ? "'set' needs a configuration path" : "'delete' needs a path");
    return false;
  }
  size_t i = 0;
  while (i < w.size()) {
    const SchemaNode* child = cur->Child(w[i]);
    if (child == nullptr) {
      std::string where = JoinSteps(steps);
      std::string hint = Suggest(w[i], cur->ChildNames());
      std::string msg = absl::StrCat("unknown configuration node '", w[i], "'");
      if (!hint.empty()) {
        absl::StrAppend(&msg, " (did you mean '", hint, "'?)");
      } else if (!cur->children.empty()) {
        absl::StrAppend(&msg, "; expected one of: ", absl::StrJoin(cur->ChildNames(), ", "));
      }
      diags.Error(cmd.loc, where, msg);
      return false;
    }
    steps.push_back({child, w[i], false});
    if (!child->unsupported.empty() && is_set) {
      diags.Error(cmd.loc, JoinSteps(steps), child->unsupported);
      return false;
    }
    switch (child->kind) {
      case NodeKind::kContainer:
        cur = child;
        ++i;
        break;
      case NodeKind::kTag: {
        if (i + 1 >= w.size()) {
          if (!is_set) {
            ++i;
            break;
          }
          diags.Error(cmd.loc, JoinSteps(steps),
                      absl::StrCat("needs a value: ", child->value.Describe()));
          return false;
        }
        const std::string& key = w[i + 1];
        if (std::string why = CheckValue(child->value, key); !why.empty()) {
          diags.Error(cmd.loc, JoinSteps(steps), why);
          return false;
        }
        steps.push_back({child, CanonicalKey(child->value, key), true});
        cur = child;
        i += 2;
        break;
      }
      case NodeKind::kLeaf:
      case NodeKind::kLeafList:
        if (i + 1 >= w.size()) {
          if (!is_set) {
            ++i;
            break;
          }
          diags.Error(cmd.loc, JoinSteps(steps),
                      absl::StrCat("needs a value: ", child->value.Describe()));
          return false;
        }
        if (i + 2 < w.size()) {
          // A secret with a space in it arrives as several words: none of them is shown.
          diags.Error(cmd.loc, JoinSteps(steps),
                      child->secret
                          ? std::string("unexpected words after the secret (quote "
                                        "values that contain spaces)")
                          : absl::StrCat("unexpected '", w[i + 2], "' after the value '", w[i + 1],
                                         "' (quote values that contain spaces)"));
          return false;
        }
        value = w[i + 1];
        has_value = true;
        if (is_set) {
          if (std::string why = ValueError(*child, value); !why.empty()) {
            diags.Error(cmd.loc, JoinSteps(steps), why);
            return false;
          }
        }
        i += 2;
        break;
      case NodeKind::kEmpty:
        if (i + 1 < w.size()) {
          diags.Error(cmd.loc, JoinSteps(steps),
                      absl::StrCat("takes no value (got '", w[i + 1], "')"));
          return false;
        }
        ++i;
        break;
    }
  }

  ConfigNode* node = &tree.root();
  if (is_set) {
    for (const Step& s : steps)
      node = node->GetOrCreateChild(s.schema, s.word, s.instance, cmd.loc);
    node->set_loc(cmd.loc);
    if (has_value) {
      if (node->schema()->kind == NodeKind::kLeafList) {
        node->AddValue(value, cmd.loc);
      } else {
        node->SetValue(value, cmd.loc);
      }
    }
    return true;
  }

  for (const Step& s : steps) {
    const ConfigNode* next = node->Child(s.word);
    if (next == nullptr) {
      diags.Error(cmd.loc, JoinSteps(steps), "nothing to delete: the node is not configured");
      return false;
    }
    node = const_cast<ConfigNode*>(next);
  }
  if (has_value && node->schema()->kind == NodeKind::kLeafList) {
    if (!node->RemoveValue(value)) {
      diags.Error(cmd.loc, JoinSteps(steps),
                  absl::StrCat("nothing to delete: value '", value, "' is not configured"));
      return false;
    }
    if (!node->values().empty()) return true;
  }
  // Remove the node, then any container left empty above it (tag instances stay: an empty
  // `ike-group X` is a configured group).
  ConfigNode* parent = node->parent();
  std::string name = node->name();
  parent->RemoveChild(name);
  while (parent->parent() != nullptr && parent->children().empty() && !parent->is_tag_instance() &&
         (parent->schema()->kind == NodeKind::kTag ||
          parent->schema()->kind == NodeKind::kContainer)) {
    ConfigNode* up = parent->parent();
    up->RemoveChild(parent->name());
    parent = up;
  }
  return true;
}

}  // namespace portcullis::config
