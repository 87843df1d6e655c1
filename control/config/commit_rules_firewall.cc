// Commit rules for `security firewall` and `security zone-policy` (texts from vplane-config-npf).
#include <map>

#include "absl/strings/str_cat.h"
#include "control/config/commit_rule_context.h"
#include "control/config/ip_prefix.h"
#include "control/config/value_type.h"

namespace portcullis::config {

namespace {

// 4 or 6 for an address match, 0 when unset.
int Family(const ConfigNode* side) {
  if (side == nullptr) return 0;
  const std::string* a = side->GetIfSet("address");
  if (a == nullptr) return 0;
  absl::string_view v = *a;
  if (!v.empty() && v[0] == '!') v.remove_prefix(1);
  return v.find(':') == absl::string_view::npos ? 4 : 6;
}

void CheckRule(RuleContext& ctx, const ConfigNode& rule) {
  if (!rule.GetIfSet("action")) ctx.Error(rule, "", "a rule needs an action (accept or drop)");
  std::string proto = rule.Get("protocol");
  int pnum = ProtocolNumber(proto);
  if (pnum == -1 && !proto.empty()) pnum = std::stoi(proto);
  const ConfigNode* src = rule.Child("source");
  const ConfigNode* dst = rule.Child("destination");
  for (const ConfigNode* side : {src, dst}) {
    if (side == nullptr || !side->GetIfSet("port")) continue;
    bool port_proto =
        pnum == 6 || pnum == 17 || pnum == 33 || pnum == 132 || pnum == 136 || proto == "tcp_udp";
    if (!port_proto) ctx.Error(*side, "port", "Only TCP/UDP/UDP-Lite/DCCP/SCTP allow a match port");
  }
  int fs = Family(src), fd = Family(dst);
  if (fs && fd && fs != fd)
    ctx.Error(rule, "", "Cannot mix IPv4 and IPv6 source/destination addresses");
  int fam = fs ? fs : fd;
  if (fam == 6 && pnum == 1)
    ctx.Error(rule, "protocol", "Cannot mix IPv6 addresses with protocol 'icmp'");
  if (fam == 4 && pnum == 58)
    ctx.Error(rule, "protocol", "Cannot mix IPv4 addresses with protocol 'ipv6-icmp'");
  if (const ConfigNode* icmp = rule.Child("icmp")) {
    if (!proto.empty() && pnum != 1)
      ctx.Error(*icmp, "", "'icmp' options can only be used if protocol is 'icmp' or not set");
    if (icmp->Has("name") && icmp->Has("type"))
      ctx.Error(*icmp, "", "Can only specify one of 'name', 'type' or 'group'");
    if (icmp->Has("code") && !icmp->Has("type"))
      ctx.Error(*icmp, "code", "an icmp code needs an icmp type");
  }
}

void CheckZones(RuleContext& ctx, const ConfigNode& zp) {
  std::vector<const ConfigNode*> zones = zp.Instances("zone");
  std::map<std::string, const ConfigNode*> by_name;
  for (const ConfigNode* z : zones) by_name[z->name()] = z;
  int local_zones = 0;
  std::map<std::string, std::string> owner;  // interface -> zone
  for (const ConfigNode* z : zones) {
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
      if (!ctx.CheckInterfaceRef(
              *z, "interface", ifname,
              absl::StrCat("Interface must exist in the configuration (", ifname, ")")))
        continue;
      if (ctx.interfaces().at(ifname)->Has("firewall"))
        ctx.Error(*z, "interface",
                  absl::StrCat("Firewall and zone-policy cannot both be applied to the same "
                               "interface (",
                               ifname, ")"));
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
      for (const std::string& f : fws)
        if (!ctx.RulesetExists(f))
          ctx.Error(*to, "firewall", absl::StrCat("firewall ruleset '", f, "' does not exist"));
    }
  }
  if (local_zones > 1) ctx.Error(zp, "", "Only one zone may be assigned as the local zone.");
}

}  // namespace

void CheckFirewallRules(RuleContext& ctx) {
  if (const ConfigNode* fw = ctx.root().Find({"security", "firewall"})) {
    for (const ConfigNode* rs : fw->Instances("name")) {
      for (const ConfigNode* rule : rs->Instances("rule")) CheckRule(ctx, *rule);
    }
  }
  if (const ConfigNode* zp = ctx.root().Find({"security", "zone-policy"})) CheckZones(ctx, *zp);
}

}  // namespace portcullis::config
