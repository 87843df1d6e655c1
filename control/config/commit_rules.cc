#include "control/config/commit_rules.h"

#include "absl/strings/str_cat.h"
#include "control/config/commit_rule_context.h"
#include "control/config/interface_names.h"
#include "control/config/ip_prefix.h"
#include "control/config/not_enforced.h"

namespace portcullis::config {

RuleContext::RuleContext(const ConfigNode& root, Diagnostics& diags) : root_(root), diags_(diags) {
  if (const ConfigNode* ifs = root.Child("interfaces")) {
    for (const auto& [type, holder] : ifs->children()) {
      for (const auto& [name, iface] : holder->children()) {
        interfaces_[name] = iface.get();
        auto note_addresses = [&](const ConfigNode& n, const std::string& ifname) {
          for (const auto& a : n.LeafList("address")) {
            if (auto p = IpPrefix::Parse(a)) local_addresses_[p->address.ToString()] = ifname;
          }
          for (const ConfigNode* g : n.Child("vrrp") ? n.Child("vrrp")->Instances("vrrp-group")
                                                     : std::vector<const ConfigNode*>{}) {
            for (const auto& a : g->LeafList("virtual-address")) {
              std::string addr = a.substr(0, a.find('/'));
              local_addresses_[addr] = ifname;
            }
          }
        };
        note_addresses(*iface, name);
        for (const ConfigNode* vif : iface->Instances("vif")) {
          std::string vname = absl::StrCat(name, ".", vif->name());
          interfaces_[vname] = vif;
          note_addresses(*vif, vname);
        }
      }
    }
  }
  if (const ConfigNode* fw = root.Find({"security", "firewall"})) {
    for (const ConfigNode* rs : fw->Instances("name")) rulesets_.insert(rs->name());
  }
}

void RuleContext::Report(bool error, const ConfigNode& node, absl::string_view child,
                         std::string message) {
  std::string path = node.Path();
  if (!child.empty()) absl::StrAppend(&path, " ", child);
  SourceLoc loc = child.empty() ? node.loc() : node.LocOf(child);
  if (error) {
    diags_.Error(loc, path, std::move(message));
  } else {
    diags_.Warning(loc, path, std::move(message));
  }
}

void RuleContext::Error(const ConfigNode& node, absl::string_view child, std::string message) {
  Report(true, node, child, std::move(message));
}

void RuleContext::Warning(const ConfigNode& node, absl::string_view child, std::string message) {
  Report(false, node, child, std::move(message));
}

bool RuleContext::InterfaceExists(absl::string_view name) const {
  return interfaces_.count(std::string(name)) > 0;
}

bool RuleContext::CheckInterfaceRef(const ConfigNode& node, absl::string_view child,
                                    const std::string& name, const std::string& error) {
  if (InterfaceExists(name)) return true;
  InterfaceName n = ClassifyInterface(name);
  if (n.vif.empty() && (n.type == "dataplane" || n.type == "ethernet")) {
    Warning(node, child,
            absl::StrCat("interface ", name,
                         " is not in the configuration: it must be a dataplane port of this "
                         "appliance (vpn-dataplane --port ",
                         name, "=...)"));
  } else {
    Error(node, child, error);
  }
  return false;
}

bool RuleContext::RulesetExists(absl::string_view name) const {
  return rulesets_.count(std::string(name)) > 0;
}

namespace {

void WarnDeprecated(RuleContext& ctx, const ConfigNode& node) {
  for (const auto& [name, child] : node.children()) {
    const SchemaNode* s = child->schema();
    if (!child->is_tag_instance() && s != nullptr && !s->deprecated.empty())
      ctx.Warning(*child, "", s->deprecated);
    WarnDeprecated(ctx, *child);
  }
}

}  // namespace

void ValidateConfig(const ConfigTree& tree, Diagnostics& diags) {
  RuleContext ctx(tree.root(), diags);
  WarnDeprecated(ctx, tree.root());
  CheckVpnRules(ctx);
  CheckInterfaceRules(ctx);
  CheckRoutingRules(ctx);
  CheckFirewallRules(ctx);
  WarnNotEnforced(tree.root(), diags);
}

}  // namespace portcullis::config
