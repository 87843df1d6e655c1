#include "control/config/completion.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/config/schema_walk.h"

namespace portcullis::config {

namespace {

// A node without a help text of its own still gets a line: its name spelled out, with what its
// value looks like ("default-esp-group" -> "Default ESP group (<name>)").
std::string HelpOf(const SchemaNode& n) {
  if (!n.help.empty()) return n.help;
  static const std::map<std::string, std::string> kAcronyms = {
      {"ike", "IKE"}, {"esp", "ESP"},   {"vti", "VTI"},   {"mtu", "MTU"},     {"dh", "DH"},
      {"pfs", "PFS"}, {"udp", "UDP"},   {"id", "ID"},     {"mac", "MAC"},     {"vrrp", "VRRP"},
      {"prf", "PRF"}, {"icmp", "ICMP"}, {"lacp", "LACP"}, {"ikesa", "IKE SA"}};
  std::vector<std::string> words;
  for (absl::string_view w : absl::StrSplit(n.name, absl::ByAnyChar("-_"), absl::SkipEmpty())) {
    auto it = kAcronyms.find(std::string(w));
    words.push_back(it != kAcronyms.end() ? it->second : std::string(w));
  }
  std::string out = absl::StrJoin(words, " ");
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  if (n.kind == NodeKind::kLeaf || n.kind == NodeKind::kLeafList || n.kind == NodeKind::kTag) {
    std::string d = n.value.Describe();
    if (!d.empty() && d.size() <= 40) absl::StrAppend(&out, " (", d, ")");
  }
  return out;
}

// Configured instances of a tag: {"security", "vpn", "ipsec", "ike-group"} -> the group names.
std::vector<std::string> Instances(const ConfigTree& tree, std::vector<std::string> path) {
  const ConfigNode* n = &tree.root();
  for (const std::string& w : path) {
    n = n->Child(w);
    if (n == nullptr) return {};
  }
  std::vector<std::string> out;
  for (const auto& [name, _] : n->children()) out.push_back(name);
  return out;
}

std::vector<std::string> ConfiguredInterfaces(const ConfigTree& tree) {
  std::vector<std::string> out;
  const ConfigNode* ifs = tree.root().Child("interfaces");
  if (ifs == nullptr) return out;
  for (const auto& [type, tag] : ifs->children()) {
    for (const auto& [name, inst] : tag->children()) {
      out.push_back(name);
      if (const ConfigNode* vif = inst->Child("vif")) {
        for (const auto& [v, _] : vif->children()) out.push_back(absl::StrCat(name, ".", v));
      }
    }
  }
  return out;
}

// The names a leaf refers to, by the leaf's name (the references of the Vyatta tree).
std::vector<std::string> ReferencedNames(const ConfigTree& tree, const SchemaNode& leaf,
                                         const std::vector<std::string>& path) {
  const std::string& n = leaf.name;
  if (n == "ike-group") return Instances(tree, {"security", "vpn", "ipsec", "ike-group"});
  if (n == "esp-group" || n == "default-esp-group")
    return Instances(tree, {"security", "vpn", "ipsec", "esp-group"});
  if (n == "bind") return Instances(tree, {"interfaces", "vti"});
  if (n == "bond-group") return Instances(tree, {"interfaces", "bonding"});
  if (n == "uses") return Instances(tree, {"interfaces", "virtual-feature-point"});
  if (n == "primary") return ConfiguredInterfaces(tree);
  bool in_firewall = path.size() >= 2 && path[path.size() - 2] == "firewall";
  if (in_firewall && (n == "in" || n == "out" || n == "local"))
    return Instances(tree, {"security", "firewall", "name"});
  if (n == "firewall") return Instances(tree, {"security", "firewall", "name"});
  if (n == "interface" || n == "next-hop-interface") return ConfiguredInterfaces(tree);
  return {};
}

// The candidate's node at the walked path (keywords and keys; a value ends the walk), or null.
const ConfigNode* NodeAt(const ConfigTree& tree, const std::vector<std::string>& words,
                         const SchemaWalk& walk) {
  const ConfigNode* n = &tree.root();
  for (size_t i = 0; i < words.size() && i < walk.steps.size(); ++i) {
    if (walk.steps[i].role == SchemaWalk::Role::kValue) break;
    n = n->Child(words[i]);
    if (n == nullptr) return nullptr;
  }
  return n;
}

}  // namespace

std::string Placeholder(const SchemaNode& node) {
  const ValueSpec& v = node.value;
  if (node.secret) return "<secret>";
  switch (v.kind) {
    case ValueKind::kNumber:
      return absl::StrCat("<", v.lo, "-", v.hi, ">");
    case ValueKind::kDecimal:
      return absl::StrCat("<", v.Describe(), ">");
    case ValueKind::kPattern:
      return absl::StartsWith(v.pattern_help, "<") ? v.pattern_help
                                                   : absl::StrCat("<", v.pattern_help, ">");
    case ValueKind::kIpAddr:
    case ValueKind::kIpAddrOrAny:
      return "<x.x.x.x>|<h:h:h:h:h:h:h:h>";
    case ValueKind::kIpv4Addr:
      return "<x.x.x.x>";
    case ValueKind::kIpPrefix:
      return "<x.x.x.x/x>|<h:h:h:h:h:h:h:h/x>";
    case ValueKind::kIpv4Prefix:
      return "<x.x.x.x/x>";
    case ValueKind::kIfAddress:
    case ValueKind::kIpAddrOrPrefix:
      return "<x.x.x.x/x>";
    case ValueKind::kPeerKey:
      return "<x.x.x.x>|<@id>|<name>";
    case ValueKind::kMac:
      return "<h:h:h:h:h:h>";
    case ValueKind::kPort:
      return "<port>";
    case ValueKind::kProtocol:
      return "<protocol>";
    case ValueKind::kFwAddress:
      return "<x.x.x.x/x>|<x.x.x.x-x.x.x.x>|<group>|!<...>";
    case ValueKind::kFwPort:
      return "<port>|<a-b>|<name>|<group>|!<...>";
    case ValueKind::kFwProtocol:
      return "<protocol>|!<protocol>";
    case ValueKind::kIdentity:
      return "<id>";
    case ValueKind::kName:
      return "<name>";
    case ValueKind::kText:
      return "<text>";
    case ValueKind::kEnum:
    case ValueKind::kNone:
      break;
  }
  return "<value>";
}

CompletionResult CompletePath(const ConfigTree& candidate, CompleteFor mode,
                              const std::vector<std::string>& words, absl::string_view partial) {
  CompletionResult r;
  // Keys and values already typed are not checked: completion helps whatever was typed.
  SchemaWalk walk = WalkSchema(words, /*check_values=*/false);
  if (!walk.ok()) {
    r.error = walk.error;
    return r;
  }
  const bool existing_only = mode != CompleteFor::kSet;
  const ConfigNode* node = NodeAt(candidate, words, walk);
  if (existing_only && node == nullptr && !words.empty()) {
    r.error = "nothing configured at this path";
    return r;
  }
  std::vector<Completion> words_out, placeholders;
  auto offer = [&](const std::string& text, const std::string& help) {
    if (absl::StartsWith(text, partial)) words_out.push_back({text, help, false});
  };
  const SchemaNode& at = *walk.at;
  switch (walk.next) {
    case SchemaWalk::Next::kChild:
      for (const SchemaNode& c : at.children) {
        if (!c.unsupported.empty() || !c.deprecated.empty()) continue;  // not offered
        if (existing_only && (node == nullptr || !node->Has(c.name))) continue;
        offer(c.name, HelpOf(c));
      }
      r.complete = mode == CompleteFor::kShow || !words.empty();
      break;
    case SchemaWalk::Next::kKey: {
      if (mode == CompleteFor::kSet) placeholders.push_back({Placeholder(at), HelpOf(at), true});
      if (node != nullptr) {
        for (const auto& [key, _] : node->children()) offer(key, HelpOf(at));
      }
      // `delete ... peer` removes every instance; `set` needs a key.
      r.complete = mode != CompleteFor::kSet;
      break;
    }
    case SchemaWalk::Next::kValue: {
      if (existing_only) {
        if (node != nullptr && !at.secret) {
          for (const std::string& v : node->values()) offer(v, HelpOf(at));
        }
        r.complete = true;
        break;
      }
      if (at.value.kind == ValueKind::kEnum) {
        for (const std::string& c : at.value.choices) offer(c, HelpOf(at));
        break;
      }
      placeholders.push_back({Placeholder(at), HelpOf(at), true});
      if (at.value.kind == ValueKind::kIpAddrOrAny || at.value.kind == ValueKind::kPeerKey)
        offer("any", "Any address");
      if (at.value.kind == ValueKind::kIfAddress) offer("dhcp", "Address from DHCP");
      for (const std::string& name : ReferencedNames(candidate, at, words)) offer(name, HelpOf(at));
      break;
    }
    case SchemaWalk::Next::kNothing:
      r.complete = true;
      break;
  }
  std::sort(words_out.begin(), words_out.end(),
            [](const Completion& a, const Completion& b) { return a.text < b.text; });
  words_out.erase(
      std::unique(words_out.begin(), words_out.end(),
                  [](const Completion& a, const Completion& b) { return a.text == b.text; }),
      words_out.end());
  r.items = std::move(placeholders);
  r.items.insert(r.items.end(), words_out.begin(), words_out.end());
  return r;
}

}  // namespace portcullis::config
