#include "control/config/config_display.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "control/config/line_lexer.h"

namespace portcullis::config {

namespace {

constexpr char kHidden[] = "********";

void Walk(const ConfigNode& node, DisplayCommand& prefix, bool with_defaults,
          std::vector<DisplayCommand>& out) {
  const SchemaNode* schema = node.schema();
  for (const auto& [name, child] : node.children()) {
    const SchemaNode* cs = child->schema();
    if (cs->kind == NodeKind::kTag && !child->is_tag_instance()) {
      // The tag keyword: its children are the instances.
      for (const auto& [key, inst] : child->children()) {
        prefix.push_back({name, DisplayWord::Kind::kKeyword});
        prefix.push_back({key, DisplayWord::Kind::kKey});
        size_t before = out.size();
        Walk(*inst, prefix, with_defaults, out);
        if (out.size() == before) out.push_back(prefix);
        prefix.resize(prefix.size() - 2);
      }
      continue;
    }
    prefix.push_back({name, DisplayWord::Kind::kKeyword});
    switch (cs->kind) {
      case NodeKind::kLeaf:
      case NodeKind::kLeafList:
        for (const auto& v : child->values()) {
          DisplayCommand c = prefix;
          c.push_back({v, DisplayWord::Kind::kValue, cs->secret});
          out.push_back(std::move(c));
        }
        break;
      case NodeKind::kEmpty:
        out.push_back(prefix);
        break;
      default: {
        size_t before = out.size();
        Walk(*child, prefix, with_defaults, out);
        if (out.size() == before) out.push_back(prefix);
        break;
      }
    }
    prefix.pop_back();
  }
  if (with_defaults && schema != nullptr) {
    for (const SchemaNode& cs : schema->children) {
      if (cs.kind != NodeKind::kLeaf || cs.default_value.empty() || node.Has(cs.name)) continue;
      DisplayCommand c = prefix;
      c.push_back({cs.name, DisplayWord::Kind::kKeyword});
      c.push_back({cs.default_value, DisplayWord::Kind::kValue, cs.secret});
      out.push_back(std::move(c));
    }
  }
}

bool CommandLess(const DisplayCommand& a, const DisplayCommand& b) {
  NaturalLess less;
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i].text != b[i].text) return less(a[i].text, b[i].text);
  }
  return a.size() < b.size();
}

std::string ValueText(const DisplayWord& w, bool show_secrets, bool quote) {
  std::string v = w.secret && !show_secrets ? kHidden : w.text;
  if (quote) return QuoteValue(v);
  bool plain = !v.empty() && v.find_first_of(" \t'\"#") == std::string::npos;
  return plain ? v : QuoteValue(v);
}

struct BraceNode {
  std::string label;
  bool leaf = false;
  std::vector<std::unique_ptr<BraceNode>> kids;
  BraceNode* Child(const std::string& l) {
    for (auto& k : kids)
      if (k->label == l && !k->leaf) return k.get();
    kids.push_back(std::make_unique<BraceNode>());
    kids.back()->label = l;
    return kids.back().get();
  }
};

void PrintBraces(const BraceNode& n, int depth, std::string& out) {
  std::string indent(depth * 4, ' ');
  for (const auto& k : n.kids) {
    if (k->kids.empty()) {
      absl::StrAppend(&out, indent, k->label, "\n");
    } else {
      absl::StrAppend(&out, indent, k->label, " {\n");
      PrintBraces(*k, depth + 1, out);
      absl::StrAppend(&out, indent, "}\n");
    }
  }
}

}  // namespace

std::vector<DisplayCommand> TreeToCommands(const ConfigNode& root, bool with_defaults) {
  std::vector<DisplayCommand> out;
  DisplayCommand prefix;
  Walk(root, prefix, with_defaults, out);
  return out;
}

std::string RenderCommands(const std::vector<DisplayCommand>& commands, bool show_secrets) {
  std::string out;
  for (const DisplayCommand& c : commands) {
    std::string line = "set";
    for (const DisplayWord& w : c) {
      absl::StrAppend(
          &line, " ",
          w.kind == DisplayWord::Kind::kValue ? ValueText(w, show_secrets, true) : w.text);
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string RenderBraces(const std::vector<DisplayCommand>& commands, bool show_secrets) {
  BraceNode root;
  for (const DisplayCommand& c : commands) {
    BraceNode* n = &root;
    for (size_t i = 0; i < c.size(); ++i) {
      const DisplayWord& w = c[i];
      bool joins_key = i + 1 < c.size() && c[i + 1].kind == DisplayWord::Kind::kKey;
      bool joins_value = i + 1 < c.size() && c[i + 1].kind == DisplayWord::Kind::kValue;
      if (joins_key) {
        n = n->Child(absl::StrCat(w.text, " ", c[i + 1].text));
        ++i;
      } else if (joins_value) {
        auto leaf = std::make_unique<BraceNode>();
        leaf->label = absl::StrCat(w.text, " ", ValueText(c[i + 1], show_secrets, false));
        leaf->leaf = true;
        n->kids.push_back(std::move(leaf));
        break;
      } else {
        n = n->Child(w.text);
      }
    }
  }
  std::string out;
  PrintBraces(root, 0, out);
  return out;
}

std::string ShowConfiguration(const ConfigTree& tree, const DisplayOptions& options) {
  std::vector<DisplayCommand> cmds = TreeToCommands(tree.root(), options.with_defaults);
  if (options.dialect == Dialect::kVyos) {
    cmds = ToVyos(cmds);
    std::stable_sort(cmds.begin(), cmds.end(), CommandLess);
  }
  return options.commands ? RenderCommands(cmds, options.show_secrets)
                          : RenderBraces(cmds, options.show_secrets);
}

}  // namespace portcullis::config
