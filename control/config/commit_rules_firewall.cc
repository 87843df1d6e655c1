// Commit rules for `security firewall` and `security zone-policy` (texts from vplane-config-npf).
#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/config/commit_rule_context.h"
#include "control/config/firewall_match.h"
#include "control/config/ip_prefix.h"
#include "control/config/model.h"
#include "control/config/value_type.h"

namespace portcullis::config {

namespace {

struct Groups {
  std::map<std::string, std::vector<std::string>> address, port;
};

// The family of one address item (an address, prefix or range): an IPv6 one has a ':'.
int ItemFamily(absl::string_view v) {
  return v.find(':') == absl::string_view::npos ? 4 : 6;
}

// 4 or 6 for an address match of one family, 0 when unset (or a group of both families).
int Family(const ConfigNode* side, const Groups& groups) {
  if (side == nullptr) return 0;
  const std::string* a = side->GetIfSet("address");
  if (a == nullptr) return 0;
  absl::string_view v = *a;
  if (!v.empty() && v[0] == '!') v.remove_prefix(1);
  if (auto g = groups.address.find(std::string(v)); g != groups.address.end()) {
    int f = 0;
    for (const std::string& item : g->second) {
      const int fi = ItemFamily(item);
      if (f != 0 && fi != f) return 0;
      f = fi;
    }
    return f;
  }
  return ItemFamily(v);
}

// The dataplane holds ruleset and zone names in 32 bytes (NUL included).
constexpr size_t kMaxNameLength = 31;
// Rulesets per interface hook or zone policy (the dataplane's positions 0..7).
constexpr size_t kMaxRulesetsPerHook = 8;

void CheckRule(RuleContext& ctx, const ConfigNode& rule, const Groups& groups) {
  bool bad = false;
  auto error = [&](const ConfigNode& node, absl::string_view child, std::string message) {
    bad = true;
    ctx.Error(node, child, std::move(message));
  };
  if (!rule.GetIfSet("action")) error(rule, "", "a rule needs an action (accept, drop or reject)");
  std::string proto = rule.Get("protocol");
  bool negated = !proto.empty() && proto[0] == '!';
  if (negated) proto.erase(0, 1);
  int pnum = ProtocolNumber(proto);
  if (pnum == -1 && !proto.empty()) pnum = std::stoi(proto);
  const ConfigNode* src = rule.Child("source");
  const ConfigNode* dst = rule.Child("destination");
  for (const ConfigNode* side : {src, dst}) {
    if (side == nullptr || !side->GetIfSet("port")) continue;
    bool port_proto =
        pnum == 6 || pnum == 17 || pnum == 33 || pnum == 132 || pnum == 136 || proto == "tcp_udp";
    if (!port_proto) {
      error(*side, "port", "Only TCP/UDP/UDP-Lite/DCCP/SCTP allow a match port");
    } else if (negated) {
      error(*side, "port", "a port match needs one protocol, not a negated one");
    } else if (pnum == 33 || pnum == 136) {
      error(*side, "port", "ports are matched for tcp, udp and sctp only (not dccp or udplite)");
    }
  }
  int fs = Family(src, groups), fd = Family(dst, groups);
  if (fs && fd && fs != fd)
    error(rule, "", "Cannot mix IPv4 and IPv6 source/destination addresses");
  int fam = fs ? fs : fd;
  const ConfigNode* icmp = rule.Child("icmp");
  const ConfigNode* icmp6 = rule.Child("icmpv6");
  if (fam == 6 && (pnum == 1 || icmp != nullptr))
    error(rule, "protocol", "Cannot mix IPv6 addresses with protocol 'icmp'");
  if (fam == 4 && (pnum == 58 || icmp6 != nullptr))
    error(rule, "protocol", "Cannot mix IPv4 addresses with protocol 'ipv6-icmp'");
  if (icmp != nullptr && icmp6 != nullptr)
    error(rule, "", "Options 'tcp', 'icmp', 'icmpv6' and 'ipv6-route' are mutually exclusive");
  if (icmp != nullptr) {
    if (!proto.empty() && (pnum != 1 || negated))
      error(*icmp, "", "'icmp' options can only be used if protocol is 'icmp' or not set");
    if (icmp->Has("name") && icmp->Has("type"))
      error(*icmp, "", "Can only specify one of 'name', 'type' or 'group'");
    if (icmp->Has("code") && !icmp->Has("type"))
      error(*icmp, "code", "an icmp code needs an icmp type");
  }
  if (icmp6 != nullptr) {
    if (!proto.empty() && (pnum != 58 || negated))
      error(*icmp6, "", "'icmpv6' options can only be used if protocol is 'ipv6-icmp' or not set");
    if (icmp6->Has("name") && icmp6->Has("type"))
      error(*icmp6, "", "Can only specify one of 'name', 'type' or 'group'");
    if (icmp6->Has("code") && !icmp6->Has("type"))
      error(*icmp6, "code", "an icmpv6 code needs an icmpv6 type");
  }
  // A ruleset of one family (VyOS's `firewall ipv4|ipv6 name`): a match of the other family
  // would make a rule that never matches; said at the rule.
  if (const ConfigNode* rs = rule.parent() ? rule.parent()->parent() : nullptr) {
    if (const std::string* f = rs->GetIfSet("family")) {
      const int rf = *f == "ipv6" ? 6 : 4;
      const bool other = (fam != 0 && fam != rf) || (rf == 6 && (pnum == 1 || icmp != nullptr)) ||
                         (rf == 4 && (pnum == 58 || icmp6 != nullptr));
      if (other)
        error(rule, "",
              absl::StrCat("an IPv", rf == 6 ? 4 : 6, " match in the IPv", rf, "-only ruleset ",
                           rs->name(), " (", rf == 6 ? "firewall ipv6 name" : "firewall ipv4 name",
                           ")"));
    }
  }
  if (bad) return;
  // Neighbour discovery (ICMPv6 133-137) goes to the control path before any firewall hook:
  // a rule for it is accepted (VyOS configurations allow it explicitly) but never matches it.
  {
    const FirewallRule fr = ReadFirewallRule(rule);
    if (fr.icmpv6_type >= 133 && fr.icmpv6_type <= 137)
      ctx.Warning(rule, "icmpv6",
                  "neighbour discovery (ICMPv6 types 133-137) is handled before the firewall: "
                  "this rule never matches it, and ND is never blocked");
  }
  // What the dataplane will be sent: unknown groups and rules that expand to too many entries
  // stop the commit here, naming the rule's line.
  FwGroups g{&groups.address, &groups.port};
  absl::StatusOr<std::vector<FwEntry>> entries = ExpandRule(ReadFirewallRule(rule), g);
  if (!entries.ok()) {
    ctx.Error(rule, "", std::string(entries.status().message()));
    return;
  }
  // "!0.0.0.0/0", "protocol !all", an empty group, ipv6-icmp in a rule with IPv4
  // addresses: accepted, but it never takes effect.
  if (entries->empty())
    ctx.Warning(rule, "",
                "this rule can never match: one of its matches (an address, port, protocol or "
                "group) leaves nothing to match");
}

void CheckRulesetName(RuleContext& ctx, const ConfigNode& node, absl::string_view what) {
  if (node.name().size() > kMaxNameLength)
    ctx.Error(node, "",
              absl::StrCat(what, " name '", node.name(), "' is longer than ", kMaxNameLength,
                           " characters"));
}

void CheckZones(RuleContext& ctx, const ConfigNode& zp) {
  std::vector<const ConfigNode*> zones = zp.Instances("zone");
  std::map<std::string, const ConfigNode*> by_name;
  for (const ConfigNode* z : zones) by_name[z->name()] = z;
  int local_zones = 0;
  std::map<std::string, std::string> owner;  // interface -> zone
  for (const ConfigNode* z : zones) {
    CheckRulesetName(ctx, *z, "zone");
    bool local = z->Has("local-zone");
    local_zones += local;
    std::vector<std::string> ifs = z->LeafList("interface");
    if ((local && !ifs.empty()) || (!local && ifs.empty()))
      ctx.Error(*z, "",
                "The local zone must have no interfaces.  Non-local zones must have at least one "
                "interface.");
    for (const std::string& ifname : ifs) {
      if (ifname == "lo" || ifname.rfind("lo", 0) == 0) {
        ctx.Error(*z, "interface", "Cannot assign loopback interface to a zone.");
        continue;
      }
      // vpnd programs configured interfaces only: an unconfigured port in a zone would carry
      // its traffic unzoned, past every zone policy.
      if (!ctx.InterfaceExists(ifname)) {
        ctx.Error(*z, "interface",
                  absl::StrCat("Interface must exist in the configuration (", ifname,
                               "): a zone interface must be configured under 'interfaces' "
                               "(e.g. with an address), or its traffic would not be zoned"));
        continue;
      }
      if (const ConfigNode* fw = ctx.interfaces().at(ifname)->Child("firewall")) {
        SourceLoc other = fw->loc();
        for (const ConfigNode* c : {fw->Child("in"), fw->Child("out"), fw->Child("local")}) {
          if (c != nullptr) other = c->loc();
        }
        ctx.Error(*z, "interface",
                  absl::StrCat("Firewall and zone-policy cannot both be applied to the same "
                               "interface (",
                               ifname, "): ", fw->Path(),
                               other.line > 0 ? absl::StrCat(" at line ", other.line) : "",
                               " binds rulesets to it"));
      }
      auto [o, inserted] = owner.emplace(ifname, z->name());
      if (!inserted)
        ctx.Error(*z, "interface",
                  absl::StrCat("An interface cannot be in more than one zone. (", ifname,
                               " is also in zone ", o->second, ")"));
    }
    for (const ConfigNode* to : z->Instances("to")) {
      if (to->name() == z->name())
        ctx.Error(*to, "", "'from' and 'to' zones cannot be the same");
      else if (!by_name.count(to->name()))
        ctx.Error(*to, "", absl::StrCat("zone '", to->name(), "' does not exist"));
      std::vector<std::string> fws = to->LeafList("firewall");
      if (fws.empty()) ctx.Error(*to, "", "at least one firewall ruleset is required");
      if (fws.size() > kMaxRulesetsPerHook)
        ctx.Error(*to, "firewall",
                  absl::StrCat(fws.size(), " rulesets from zone ", z->name(), " to ", to->name(),
                               ": at most ", kMaxRulesetsPerHook));
      for (const std::string& f : fws)
        if (!ctx.RulesetExists(f))
          ctx.Error(*to, "firewall", absl::StrCat("firewall ruleset '", f, "' does not exist"));
    }
  }
  if (local_zones > 1) ctx.Error(zp, "", "Only one zone may be assigned as the local zone.");
}

}  // namespace

void CheckFirewallRules(RuleContext& ctx) {
  Groups groups;
  if (const ConfigNode* g = ctx.root().Find({"resources", "group"})) {
    for (const ConfigNode* a : g->Instances("address-group"))
      groups.address[a->name()] = a->LeafList("address");
    for (const ConfigNode* p : g->Instances("port-group"))
      groups.port[p->name()] = p->LeafList("port");
  }
  const ConfigNode* fw_node = ctx.root().Find({"security", "firewall"});
  if (fw_node != nullptr) {
    for (const ConfigNode* rs : fw_node->Instances("name")) {
      CheckRulesetName(ctx, *rs, "firewall ruleset");
      for (const ConfigNode* rule : rs->Instances("rule")) CheckRule(ctx, *rule, groups);
    }
  }
  for (const auto& [ifname, iface] : ctx.interfaces()) {
    const ConfigNode* fw = iface->Child("firewall");
    if (fw == nullptr) continue;
    for (const char* hook : {"in", "out", "local"}) {
      size_t n = fw->LeafList(hook).size();
      if (n > kMaxRulesetsPerHook)
        ctx.Error(*fw, hook,
                  absl::StrCat(n, " rulesets on ", ifname, " ", hook, ": at most ",
                               kMaxRulesetsPerHook, " per direction"));
    }
  }
  const ConfigNode* zp = ctx.root().Find({"security", "zone-policy"});
  if (zp != nullptr) CheckZones(ctx, *zp);
}

}  // namespace portcullis::config
