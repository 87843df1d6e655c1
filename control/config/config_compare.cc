#include "control/config/config_compare.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/config/config_display.h"
#include "control/config/line_lexer.h"

namespace portcullis::config {

namespace {

constexpr char kHidden[] = "********";

// One string per command, for set membership (a unit separator cannot occur in a word).
std::string Key(const DisplayCommand& c) {
  std::string k;
  for (const DisplayWord& w : c) absl::StrAppend(&k, w.text, "\x1f");
  return k;
}

// How many leading words of `c` name nodes that exist in `tree` (a value is not a node).
size_t ExistingDepth(const ConfigNode& root, const DisplayCommand& c) {
  const ConfigNode* n = &root;
  size_t i = 0;
  for (; i < c.size() && c[i].kind != DisplayWord::Kind::kValue; ++i) {
    n = n->Child(c[i].text);
    if (n == nullptr) break;
  }
  return i;
}

bool HasValue(const DisplayCommand& c) {
  return !c.empty() && c.back().kind == DisplayWord::Kind::kValue;
}

}  // namespace

std::vector<std::string> ConfigChange::NodePath() const {
  std::vector<std::string> out;
  for (const DisplayWord& w : words) {
    if (w.kind != DisplayWord::Kind::kValue) out.push_back(w.text);
  }
  return out;
}

std::vector<ConfigChange> CompareTrees(const ConfigTree& from, const ConfigTree& to) {
  std::vector<DisplayCommand> a = TreeToCommands(from.root(), false);
  std::vector<DisplayCommand> b = TreeToCommands(to.root(), false);
  std::set<std::string> in_a, in_b;
  for (const DisplayCommand& c : a) in_a.insert(Key(c));
  for (const DisplayCommand& c : b) in_b.insert(Key(c));

  std::vector<ConfigChange> out;
  std::set<std::string> deleted;
  for (const DisplayCommand& c : a) {
    if (in_b.count(Key(c))) continue;
    size_t depth = ExistingDepth(to.root(), c);
    size_t nodes = HasValue(c) ? c.size() - 1 : c.size();
    DisplayCommand del;
    if (depth < nodes) {
      del.assign(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(depth + 1));
    } else {
      // The node stays: a single-valued leaf gets its new value from a set below; a leaf-list
      // loses just this value.
      const ConfigNode* leaf = to.root().Child(c[0].text);
      for (size_t i = 1; leaf != nullptr && i < nodes; ++i) leaf = leaf->Child(c[i].text);
      if (leaf == nullptr || leaf->schema()->kind != NodeKind::kLeafList) continue;
      del = c;
    }
    if (deleted.insert(Key(del)).second) out.push_back({Command::Op::kDelete, std::move(del)});
  }
  for (const DisplayCommand& c : b) {
    if (!in_a.count(Key(c))) out.push_back({Command::Op::kSet, c});
  }
  return out;
}

std::string RenderChanges(const std::vector<ConfigChange>& changes, bool show_secrets) {
  std::string out;
  for (const ConfigChange& ch : changes) {
    std::string line = ch.op == Command::Op::kSet ? "set" : "delete";
    for (const DisplayWord& w : ch.words) {
      if (w.kind == DisplayWord::Kind::kValue) {
        absl::StrAppend(&line, " ", QuoteValue(w.secret && !show_secrets ? kHidden : w.text));
      } else {
        absl::StrAppend(&line, " ", w.text);
      }
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

Command ToCommand(const ConfigChange& change) {
  Command cmd;
  cmd.op = change.op;
  for (const DisplayWord& w : change.words) cmd.words.push_back(w.text);
  return cmd;
}

bool Overlaps(const ConfigChange& a, const ConfigChange& b) {
  std::vector<std::string> pa = a.NodePath(), pb = b.NodePath();
  size_t n = std::min(pa.size(), pb.size());
  for (size_t i = 0; i < n; ++i) {
    if (pa[i] != pb[i]) return false;
  }
  return true;
}

}  // namespace portcullis::config
