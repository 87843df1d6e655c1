// Commit rules for `interfaces` (addresses, bonding, VTI, VRRP) and `protocols static`.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "control/config/commit_rule_context.h"
#include "control/config/interface_names.h"
#include "control/config/ip_prefix.h"

namespace portcullis::config {

namespace {

void CheckAddresses(RuleContext& ctx, const ConfigNode& iface,
                    std::map<std::string, std::string>& seen, const std::string& ifname) {
  const ConfigNode* addr = iface.Child("address");
  if (addr == nullptr) return;
  bool dhcp = false, dhcp6 = false, v4 = false, v6 = false;
  for (const std::string& a : addr->values()) {
    if (a == "dhcp") {
      dhcp = true;
      continue;
    }
    if (a == "dhcpv6") {
      dhcp6 = true;
      continue;
    }
    auto p = IpPrefix::Parse(a);
    if (!p) continue;  // the schema already rejected it
    const auto& b = p->address.bytes;
    if (p->address.is_v4()) {
      v4 = true;
      if (b[0] == 127) ctx.Error(iface, "address", "127.0.0.1 reserved for system use.");
      if (b[0] >= 224 && b[0] <= 239)
        ctx.Error(iface, "address", "IPv4 address reserved for multicast use");
      if (p->length <= 30 && !p->HasHostBits())
        ctx.Error(iface, "address",
                  absl::StrCat(a,
                               " is the network address of its prefix: give the interface a "
                               "host address"));
      uint32_t host =
          (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
      uint32_t mask = p->length == 0 ? 0 : ~uint32_t{0} << (32 - p->length);
      if (p->length <= 30 && (host & ~mask) == ~mask)
        ctx.Error(iface, "address",
                  absl::StrCat(a,
                               " is the broadcast address of its prefix: give the interface a "
                               "host address"));
    } else {
      v6 = true;
      if (p->address == IpAddress::Parse("::1").value())
        ctx.Error(iface, "address", "::1 reserved for system use.");
      if (b[0] == 0xff) ctx.Error(iface, "address", "IPv6 address reserved for multicast use");
    }
    std::string host = p->address.ToString();
    auto [it, inserted] = seen.emplace(host, ifname);
    if (!inserted && it->second != ifname)
      ctx.Error(iface, "address",
                absl::StrCat("address ", host, " is also configured on ", it->second));
  }
  if (dhcp && v4)
    ctx.Error(iface, "address",
              "Can't configure static IPv4 address and DHCP on the same interface.");
  if (dhcp6 && v6)
    ctx.Error(iface, "address",
              "Can't configure static IPv6 address and DHCPv6 on the same interface.");
  if (dhcp || dhcp6)
    ctx.Error(iface, "address", "DHCP addresses are not supported yet: configure a static address");
}

void CheckFirewallBindings(RuleContext& ctx, const ConfigNode& iface) {
  const ConfigNode* fw = iface.Child("firewall");
  if (fw == nullptr) return;
  for (const char* dir : {"in", "out", "local"}) {
    for (const std::string& rs : fw->LeafList(dir)) {
      if (!ctx.RulesetExists(rs))
        ctx.Error(*fw, dir, absl::StrCat("firewall ruleset '", rs, "' does not exist"));
    }
  }
}

void CheckVrrp(RuleContext& ctx, const ConfigNode& iface, const std::string& ifname) {
  const ConfigNode* vrrp = iface.Child("vrrp");
  if (vrrp == nullptr) return;
  for (const ConfigNode* g : vrrp->Instances("vrrp-group")) {
    const std::string what = absl::StrCat("vrrp-group ", g->name(), " on ", ifname);
    const bool v3 = g->Get("version") == "3";
    // Vyatta's own rules (vyatta-vrrp-v1.yang).
    if (g->Has("fast-advertise-interval")) {
      if (!v3)
        ctx.Error(*g, "fast-advertise-interval",
                  "Fast-advertise-interval is allowed when version 3 is configured");
      else if (std::stoul(g->Get("fast-advertise-interval")) % 10 != 0)
        ctx.Error(*g, "fast-advertise-interval",
                  "Fast-advertise-interval value is not a multiple of 10");
    }
    if (v3 && g->Has("authentication"))
      ctx.Error(*g, "authentication", "Cannot define authentication for version 3");
    const std::vector<std::string> vips = g->LeafList("virtual-address");
    if (vips.size() > 20) ctx.Error(*g, "virtual-address", "at most 20 virtual addresses");
    if (g->Has("disable")) continue;  // kept, not run: what Vyatta does
    size_t v4 = 0;
    for (const std::string& a : vips) {
      auto ip = IpAddress::Parse(a.substr(0, a.find('/')));
      if (ip && ip->is_v4()) {
        ++v4;
      } else {
        ctx.Warning(*g, "virtual-address",
                    absl::StrCat(what, ": IPv6 virtual address ", a,
                                 " is not run (VRRP runs IPv4 groups only)"));
      }
    }
    if (v4 == 0)
      ctx.Warning(*g, "",
                  absl::StrCat(what, " has no IPv4 virtual-address: it is not run",
                               g->Has("notify") ? " (and 'notify ipsec' has no effect)" : ""));
    // A version 3 advertisement carries its interval in 12 bits of centiseconds (RFC 5798
    // §5.2.7): longer ones run at 40.95 s.
    if (v3 && !g->Has("fast-advertise-interval") && g->Has("advertise-interval") &&
        std::stoul(g->Get("advertise-interval")) > 40)
      ctx.Warning(*g, "advertise-interval",
                  absl::StrCat(what, ": advertise-interval ", g->Get("advertise-interval"),
                               " runs at 40.95 s (a version 3 advertisement carries at most "
                               "40.95 s)"));
    // `notify ipsec` starts and stops the tunnels whose local-address is a virtual address of
    // the group: with none, it does nothing.
    const std::vector<std::string> notify = g->LeafList("notify");
    if (v4 != 0 && std::find(notify.begin(), notify.end(), "ipsec") != notify.end()) {
      bool used = false;
      if (const ConfigNode* s2s = ctx.root().Find({"security", "vpn", "ipsec", "site-to-site"}))
        for (const ConfigNode* peer : s2s->Instances("peer")) {
          const std::string* local = peer->GetIfSet("local-address");
          for (const std::string& a : vips)
            if (local != nullptr && a.substr(0, a.find('/')) == *local) used = true;
        }
      if (!used)
        ctx.Warning(*g, "notify",
                    absl::StrCat(what,
                                 ": 'notify ipsec' has no effect: no site-to-site peer's "
                                 "local-address is a virtual address of the group"));
    }
  }
}

void CheckInterface(RuleContext& ctx, const ConfigNode& iface, const std::string& ifname,
                    std::map<std::string, std::string>& seen) {
  CheckAddresses(ctx, iface, seen, ifname);
  CheckFirewallBindings(ctx, iface);
  CheckVrrp(ctx, iface, ifname);
  for (const ConfigNode* vif : iface.Instances("vif")) {
    std::string vname = absl::StrCat(ifname, ".", vif->name());
    CheckAddresses(ctx, *vif, seen, vname);
    CheckFirewallBindings(ctx, *vif);
    CheckVrrp(ctx, *vif, vname);
  }
}

void CheckBonding(RuleContext& ctx, const ConfigNode& interfaces) {
  // Members per bond, from the ports' bond-group leaves.
  std::map<std::string, std::vector<const ConfigNode*>> members;
  for (const char* type : {"dataplane", "ethernet"}) {
    const ConfigNode* holder = interfaces.Child(type);
    if (holder == nullptr) continue;
    for (const auto& [name, port] : holder->children()) {
      const std::string* bond = port->GetIfSet("bond-group");
      if (bond == nullptr) continue;
      const ConfigNode* b = interfaces.Find({"bonding", *bond});
      if (b == nullptr) {
        ctx.Error(
            *port, "bond-group",
            absl::StrCat("Error: interface ", name, " belongs to nonexistent bond-group ", *bond));
        continue;
      }
      members[*bond].push_back(port.get());
      if (port->Has("address"))
        ctx.Error(
            *port, "address",
            absl::StrCat("Error: can not add interface ", name, " with addresses to bond-group"));
      if (port->Has("vif"))
        ctx.Error(*port, "vif",
                  absl::StrCat("Error: can not add interface ", name, " with VIF to bond-group"));
      if (port->Has("vrrp"))
        ctx.Error(*port, "vrrp",
                  absl::StrCat("Error: can not add interface ", name, " with VRRP to bond-group"));
      if (port->Has("disable"))
        ctx.Error(
            *port, "disable",
            absl::StrCat("Error: can not add disabled interface ", name, " to bond-group ", *bond));
      if (port->Has("firewall"))
        ctx.Error(*port, "firewall",
                  absl::StrCat("a bond-group member cannot have a firewall: apply it to ", *bond));
    }
  }
  const ConfigNode* bonds = interfaces.Child("bonding");
  if (bonds == nullptr) return;
  for (const auto& [name, bond] : bonds->children()) {
    std::string mode = bond->Get("mode");
    if (bond->Has("lacp-options") && mode != "lacp")
      ctx.Error(*bond, "lacp-options", "lacp-options apply only to mode lacp");
    // One member carries everything: there is nothing to hash over.
    if (bond->Has("hash-policy") && mode == "active-backup")
      ctx.Error(*bond, "hash-policy", "hash-policy applies only to mode lacp and balanced");
    std::string min_links = bond->Get("minimum-links");
    if (min_links != "1") {
      if (mode != "lacp")
        ctx.Error(*bond, "minimum-links",
                  "Mode must be lacp to set minimum-links to anything other than 1");
      else if (std::stoul(min_links) > members[name].size())
        ctx.Error(*bond, "minimum-links",
                  "Cannot set minimum-links to more than the number of member interfaces");
    }
    const std::string* primary = bond->GetIfSet("primary");
    if (primary != nullptr) {
      if (mode != "active-backup")
        ctx.Error(*bond, "primary",
                  "The bonding group mode must be active-backup to set a primary interface.");
      bool is_member = false;
      for (const ConfigNode* m : members[name]) is_member |= m->name() == *primary;
      if (!is_member)
        ctx.Error(*bond, "primary", "Primary slave interface must be part of the bonding group");
    } else if (mode == "active-backup") {
      ctx.Error(*bond, "mode", "Active-backup interfaces must have a configured primary.");
    }
    if (members[name].empty())
      ctx.Warning(
          *bond, "",
          absl::StrCat(name, " has no members: set interfaces dataplane <port> bond-group ", name));
  }
}

void CheckVtiMtu(RuleContext& ctx, const ConfigNode& interfaces) {
  const ConfigNode* vtis = interfaces.Child("vti");
  if (vtis == nullptr) return;
  for (const auto& [name, vti] : vtis->children()) {
    const std::string* mtu = vti->GetIfSet("mtu");
    if (mtu == nullptr || std::stoul(*mtu) >= 1280) continue;
    for (const std::string& a : vti->LeafList("address")) {
      if (a.find(':') != std::string::npos) {
        ctx.Error(*vti, "mtu",
                  "MTU less than 1280 not permitted on interfaces with any IPv6 configuration.");
        break;
      }
    }
  }
}

}  // namespace

void CheckInterfaceRules(RuleContext& ctx) {
  const ConfigNode* interfaces = ctx.root().Child("interfaces");
  if (interfaces == nullptr) return;
  std::map<std::string, std::string> seen;  // address -> interface
  for (const auto& [type, holder] : interfaces->children()) {
    for (const auto& [name, iface] : holder->children()) CheckInterface(ctx, *iface, name, seen);
  }
  CheckBonding(ctx, *interfaces);
  CheckVtiMtu(ctx, *interfaces);
}

void CheckRoutingRules(RuleContext& ctx) {
  const ConfigNode* st = ctx.root().Find({"protocols", "static"});
  if (st == nullptr) return;
  for (const char* tag : {"route", "route6"}) {
    for (const ConfigNode* r : st->Instances(tag)) {
      auto p = IpPrefix::Parse(r->name());
      if (absl::string_view(tag) == "route6" && p && p->address.is_v4())
        ctx.Error(*r, "", "route6 needs an IPv6 prefix: use 'route' for IPv4");
      if (r->Instances("next-hop").empty() && !r->Has("blackhole"))
        ctx.Error(*r, "", "a static route needs a next-hop (or blackhole)");
      for (const ConfigNode* nh : r->Instances("next-hop")) {
        auto a = IpAddress::Parse(nh->name());
        if (p && a && a->family != p->address.family)
          ctx.Error(*nh, "", "the next-hop and the prefix are of different address families");
        if (const std::string* via = nh->GetIfSet("interface")) {
          ctx.CheckInterfaceRef(*nh, "interface", *via,
                                absl::StrCat("Interface '", *via, "' does not exist"));
        } else if (a && a->is_v6() && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80) {
          // A link-local gateway exists on every link: which one is not in the address.
          ctx.Error(*nh, "",
                    absl::StrCat("next-hop ", nh->name(),
                                 " is link-local: say which interface it is on (next-hop ",
                                 nh->name(), " interface <name>)"));
        }
      }
    }
  }
  for (const char* tag : {"interface-route", "interface-route6"}) {
    for (const ConfigNode* r : st->Instances(tag)) {
      auto p = IpPrefix::Parse(r->name());
      if (absl::string_view(tag) == "interface-route6" && p && p->address.is_v4())
        ctx.Error(*r, "", "interface-route6 needs an IPv6 prefix: use 'interface-route' for IPv4");
      std::vector<const ConfigNode*> nhs = r->Instances("next-hop-interface");
      if (nhs.empty()) ctx.Error(*r, "", "an interface-route needs a next-hop-interface");
      for (const ConfigNode* nh : nhs) {
        ctx.CheckInterfaceRef(*nh, "", nh->name(),
                              absl::StrCat("Interface '", nh->name(), "' does not exist"));
      }
    }
  }
}

}  // namespace portcullis::config
