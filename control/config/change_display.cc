#include "control/config/change_display.h"

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "control/config/config_display.h"
#include "control/config/line_lexer.h"
#include "control/config/schema_walk.h"

namespace portcullis::config {

namespace {

constexpr char kHidden[] = "********";

// A line of the brace form, from either tree or both. `key` compares the real text (a changed
// secret is a change), `label` is what is printed.
struct Node {
  std::string key, label, name;
  bool leaf = false;
  bool in_running = false, in_candidate = false;
  std::vector<std::unique_ptr<Node>> kids;

  Node* Child(const std::string& k, const std::string& l, const std::string& n, bool is_leaf) {
    for (auto& kid : kids) {
      if (kid->key == k && kid->leaf == is_leaf) return kid.get();
    }
    kids.push_back(std::make_unique<Node>());
    Node* c = kids.back().get();
    c->key = k;
    c->label = l;
    c->name = n;
    c->leaf = is_leaf;
    return c;
  }
};

std::string ValueLabel(const DisplayWord& w) {
  std::string v = w.secret ? kHidden : w.text;
  bool plain = !v.empty() && v.find_first_of(" \t'\"#") == std::string::npos;
  return plain ? v : QuoteValue(v);
}

void Add(Node& root, const DisplayCommand& c, bool running) {
  Node* n = &root;
  auto mark = [&](Node* x) { (running ? x->in_running : x->in_candidate) = true; };
  for (size_t i = 0; i < c.size(); ++i) {
    const DisplayWord& w = c[i];
    bool joins_key = i + 1 < c.size() && c[i + 1].kind == DisplayWord::Kind::kKey;
    bool joins_value = i + 1 < c.size() && c[i + 1].kind == DisplayWord::Kind::kValue;
    if (joins_key) {
      std::string label = absl::StrCat(w.text, " ", c[i + 1].text);
      n = n->Child(label, label, label, false);
      ++i;
    } else if (joins_value) {
      n = n->Child(absl::StrCat(w.text, " ", c[i + 1].text),
                   absl::StrCat(w.text, " ", ValueLabel(c[i + 1])), w.text, true);
      mark(n);
      return;
    } else if (w.kind == DisplayWord::Kind::kValue) {
      n = n->Child(w.text, ValueLabel(w), w.text, true);
    } else {
      n = n->Child(w.text, w.text, w.text, false);
    }
    mark(n);
  }
}

// Tree order: by name (so a changed leaf's old and new lines sit together, old first), tag
// instances by their key.
void Sort(Node& n) {
  NaturalLess less;
  std::stable_sort(n.kids.begin(), n.kids.end(),
                   [&](const std::unique_ptr<Node>& a, const std::unique_ptr<Node>& b) {
                     return less(a->name, b->name);
                   });
  for (auto& k : n.kids) Sort(*k);
}

void Print(const Node& n, int depth, std::string& out) {
  for (const auto& k : n.kids) {
    char mark = k->in_running && k->in_candidate ? ' ' : (k->in_candidate ? '+' : '-');
    std::string indent(static_cast<size_t>(depth) * 4, ' ');
    if (k->kids.empty()) {
      absl::StrAppend(&out, std::string(1, mark), indent, k->label, "\n");
    } else {
      absl::StrAppend(&out, std::string(1, mark), indent, k->label, " {\n");
      Print(*k, depth + 1, out);
      absl::StrAppend(&out, std::string(1, mark), indent, "}\n");
    }
  }
}

// The commands below `path`, without it; a leaf's path keeps its keyword.
std::vector<DisplayCommand> Below(const std::vector<DisplayCommand>& all,
                                  const std::vector<std::string>& path) {
  std::vector<DisplayCommand> out;
  for (const DisplayCommand& c : all) {
    if (c.size() < path.size()) continue;
    bool match = true;
    for (size_t i = 0; i < path.size() && match; ++i) match = c[i].text == path[i];
    if (!match) continue;
    size_t cut = path.size();
    if (cut > 0 && cut < c.size() && c[cut].kind == DisplayWord::Kind::kValue) --cut;
    DisplayCommand rest(c.begin() + static_cast<std::ptrdiff_t>(cut), c.end());
    if (!rest.empty()) out.push_back(std::move(rest));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> ShowChanges(const ConfigTree& running, const ConfigTree& candidate,
                                        const std::vector<std::string>& path) {
  SchemaWalk walk = WalkSchema(path);
  if (!walk.ok()) return absl::InvalidArgumentError(walk.error);
  Node root;
  for (const DisplayCommand& c : Below(TreeToCommands(running.root(), false), path))
    Add(root, c, true);
  for (const DisplayCommand& c : Below(TreeToCommands(candidate.root(), false), path))
    Add(root, c, false);
  if (root.kids.empty()) return std::string("Configuration under specified path is empty\n");
  Sort(root);
  std::string out;
  Print(root, 0, out);
  return out;
}

}  // namespace portcullis::config
