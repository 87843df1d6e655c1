// The firewall's dataplane objects: rulesets and their expanded rules, bindings in order, zones
// with interfaces and policies, the global state policy; ids stable across commits; a changed
// rule sent as delete + add in the commit's one batch.
#include "control/vpnd/firewall_plan.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "control/config/config_loader.h"

using namespace portcullis;
using namespace portcullis::vpnd;
using dp::api::FwAction;
using dp::api::FwHook;
using dp::api::Message;
using dp::api::MessageKind;
using dp::api::Op;

namespace {

config::Model ModelOf(const std::string& text) {
  config::LoadedConfig c = config::LoadConfigText(text, "t.conf");
  std::string errors;
  for (const auto& d : c.diags.Sorted()) {
    if (d.severity == config::Diagnostic::Severity::kError) errors += d.ToString() + "\n";
  }
  INFO(errors);
  REQUIRE(errors.empty());
  return config::BuildModel(c.tree);
}

std::vector<Message> OfKind(const DataplaneObjects& o, MessageKind k) {
  std::vector<Message> out;
  for (const auto& [key, m] : o) {
    if (m.header.kind == k) out.push_back(m);
  }
  return out;
}

std::vector<Message> OfKind(const std::vector<Message>& b, MessageKind k, Op op) {
  std::vector<Message> out;
  for (const Message& m : b) {
    if (m.header.kind == k && m.header.op == op) out.push_back(m);
  }
  return out;
}

uint32_t V4(const dp::api::IpAddr& a) {
  return (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) | (uint32_t{a.bytes[2]} << 8) |
         a.bytes[3];
}

// The seed's interface-based layout (vyatta-vra-ipsec.txt): PubIn/PubOut on the WAN bond,
// INipsecvti0/OUTipsecvti0 on the VTI, INipsec1750/OUTipsec1750 on the private vif.
const char kSeed[] = R"(set interfaces bonding dp0bond1 address 159.8.98.214/29
set interfaces bonding dp0bond0 vif 1750 address 10.126.19.161/26
set interfaces vti vti0 address 172.16.0.5/30
set security firewall name PubIn default-action drop
set security firewall name PubIn rule 1 action accept
set security firewall name PubIn rule 1 protocol esp
set security firewall name PubIn rule 1 source address 198.11.194.155
set security firewall name PubIn rule 1 log
set security firewall name PubIn rule 2 action accept
set security firewall name PubIn rule 2 protocol udp
set security firewall name PubIn rule 2 destination port 500,4500
set security firewall name PubOut default-action accept
set security firewall name PubOut rule 1 action accept
set security firewall name PubOut rule 1 protocol esp
set security firewall name PubOut rule 1 log
set security firewall name INipsecvti0 rule 10 action accept
set security firewall name INipsecvti0 rule 10 icmp name echo-request
set security firewall name INipsecvti0 rule 10 log
set security firewall name INipsecvti0 rule 20 action reject
set security firewall name INipsecvti0 rule 20 protocol !icmp
set security firewall name INipsecvti0 rule 30 action accept
set security firewall name INipsecvti0 rule 30 disable
set interfaces bonding dp0bond1 firewall in PubIn
set interfaces bonding dp0bond1 firewall out PubOut
set interfaces bonding dp0bond1 firewall local PubIn
set interfaces vti vti0 firewall in INipsecvti0
set interfaces vti vti0 firewall in PubOut
set security firewall global-state-policy tcp
)";

}  // namespace

TEST_CASE("rulesets, expanded rules and ordered bindings", "[firewall][plan]") {
  InterfaceIndexes ifs;
  FirewallIds ids;
  DataplaneObjects o = PlanDataplane(ModelOf(kSeed), ifs, ids);
  auto rulesets = OfKind(o, MessageKind::kFwRuleset);
  REQUIRE(rulesets.size() == 3);
  uint32_t pubin = ids.Ruleset("PubIn"), vti_in = ids.Ruleset("INipsecvti0");
  const Message* pi = nullptr;
  for (const Message& m : rulesets) {
    if (m.body.fw_ruleset.ruleset_id == pubin) pi = &m;
  }
  REQUIRE(pi != nullptr);
  CHECK(std::string(pi->body.fw_ruleset.name) == "PubIn");
  CHECK(pi->body.fw_ruleset.default_action == FwAction::kDrop);
  CHECK(pi->body.fw_ruleset.default_implicit == 0);  // `default-action drop` is configured
  for (const Message& m : rulesets) {
    // INipsecvti0 has no default-action: Vyatta's implicit drop.
    if (m.body.fw_ruleset.ruleset_id == vti_in) CHECK(m.body.fw_ruleset.default_implicit == 1);
  }

  std::vector<Message> rules = OfKind(o, MessageKind::kFwRule);
  auto of = [&](uint32_t rs, uint32_t n) {
    std::vector<dp::api::FwRuleBody> out;
    for (const Message& m : rules) {
      if (m.body.fw_rule.ruleset_id == rs && m.body.fw_rule.rule_number == n)
        out.push_back(m.body.fw_rule);
    }
    return out;
  };
  auto esp = of(pubin, 1);
  REQUIRE(esp.size() == 1);
  CHECK(esp[0].proto_low == 50);
  CHECK(esp[0].proto_high == 50);
  CHECK(esp[0].log == 1);
  CHECK(V4(esp[0].src_low) == V4(esp[0].src_high));
  CHECK(esp[0].src_low.bytes[0] == 198);
  CHECK(esp[0].src_port_low == 0);
  CHECK(esp[0].src_port_high == 65535);
  CHECK(esp[0].family == dp::api::Family::kIpv4);
  // Port lists: one entry per port; without an address, in both families (IPv6's entries
  // numbered from 1024, so IPv4 changes leave them alone).
  auto ike = of(pubin, 2);
  REQUIRE(ike.size() == 4);
  CHECK(ike[0].dst_port_low == 500);
  CHECK(ike[1].dst_port_low == 4500);
  CHECK(ike[1].entry == 1);
  CHECK(ike[2].family == dp::api::Family::kIpv6);
  CHECK(ike[2].dst_port_low == 500);
  CHECK(ike[2].entry == 1024);
  CHECK(ike[3].entry == 1025);
  // icmp name: protocol 1, type 8, any code.
  auto echo = of(vti_in, 10);
  REQUIRE(echo.size() == 1);
  CHECK(echo[0].proto_low == 1);
  CHECK(echo[0].icmp_type_low == 8);
  CHECK(echo[0].icmp_type_high == 8);
  CHECK(echo[0].icmp_code_high == 255);
  // !icmp: two protocol ranges, reject.
  auto not_icmp = of(vti_in, 20);
  REQUIRE(not_icmp.size() == 4);  // both families: IPv6 packets are not ICMP either
  CHECK(not_icmp[0].proto_high == 0);
  CHECK(not_icmp[1].proto_low == 2);
  CHECK(not_icmp[1].proto_high == 255);
  CHECK(not_icmp[0].action == FwAction::kReject);
  CHECK(not_icmp[1].icmp_type_high == 0);
  // Disabled rules are not sent.
  CHECK(of(vti_in, 30).empty());

  auto bindings = OfKind(o, MessageKind::kFwBinding);
  CHECK(bindings.size() == 5);
  uint32_t vti = *ifs.Find("vti0");
  std::vector<uint32_t> vti_in_order;
  for (const Message& m : bindings) {
    const auto& b = m.body.fw_binding;
    if (b.ifindex == vti && b.hook == FwHook::kIn) {
      CHECK(b.position == vti_in_order.size());
      vti_in_order.push_back(b.ruleset_id);
    }
  }
  CHECK(vti_in_order == std::vector<uint32_t>{vti_in, ids.Ruleset("PubOut")});
  auto global = OfKind(o, MessageKind::kFwGlobal);
  REQUIRE(global.size() == 1);
  CHECK(global[0].header.op == Op::kUpdate);
  CHECK(global[0].body.fw_global.state_tcp == 1);
  CHECK(global[0].body.fw_global.state_udp == 0);
}

TEST_CASE("the batch: rulesets before rules before bindings; deletes in reverse",
          "[firewall][plan]") {
  InterfaceIndexes ifs;
  FirewallIds ids;
  DataplaneObjects first = PlanDataplane(ModelOf(kSeed), ifs, ids);
  std::vector<Message> b = DiffBatch({}, first);
  auto pos = [&](MessageKind k, bool last) {
    size_t p = b.size();
    for (size_t i = 0; i < b.size(); ++i) {
      if (b[i].header.kind == k && (last || p == b.size())) p = i;
    }
    return p;
  };
  CHECK(pos(MessageKind::kInterface, true) < pos(MessageKind::kFwRuleset, false));
  CHECK(pos(MessageKind::kFwRuleset, true) < pos(MessageKind::kFwRule, false));
  CHECK(pos(MessageKind::kFwRule, true) < pos(MessageKind::kFwBinding, false));
  // Everything goes: bindings are deleted before the rulesets they name, the global policy
  // returns to the defaults (it has no delete).
  std::vector<Message> gone = DiffBatch(first, {});
  size_t last_binding = 0, first_ruleset = gone.size();
  for (size_t i = 0; i < gone.size(); ++i) {
    CHECK((gone[i].header.op == Op::kDelete || gone[i].header.kind == MessageKind::kFwGlobal));
    if (gone[i].header.kind == MessageKind::kFwBinding) last_binding = i;
    if (gone[i].header.kind == MessageKind::kFwRuleset) first_ruleset = std::min(first_ruleset, i);
  }
  CHECK(last_binding < first_ruleset);
  auto reset = OfKind(gone, MessageKind::kFwGlobal, Op::kUpdate);
  REQUIRE(reset.size() == 1);
  CHECK(reset[0].body.fw_global.state_tcp == 0);
}

TEST_CASE("a changed rule is deleted and added again; ids stay", "[firewall][plan]") {
  InterfaceIndexes ifs;
  FirewallIds ids;
  DataplaneObjects first = PlanDataplane(ModelOf(kSeed), ifs, ids);
  uint32_t pubin = ids.Ruleset("PubIn");
  std::string changed = kSeed;
  changed.replace(changed.find("destination port 500,4500"), 25, "destination port 500");
  changed.replace(changed.find("name PubIn default-action drop"), 30,
                  "name PubIn default-action reject");
  changed += "set security firewall name NEW rule 1 action drop\n";
  DataplaneObjects second = PlanDataplane(ModelOf(changed), ifs, ids);
  CHECK(ids.Ruleset("PubIn") == pubin);
  CHECK(ids.Ruleset("NEW") == 4);
  std::vector<Message> b = DiffBatch(first, second);
  // Rule 2 lost entry 1 (4500) and its IPv6 twin 1025; entries 0 and 1024 are unchanged; the
  // ruleset's default action is an update; the new ruleset and its rule (both families) are
  // adds.
  auto deleted = OfKind(b, MessageKind::kFwRule, Op::kDelete);
  REQUIRE(deleted.size() == 2);
  CHECK(deleted[0].body.fw_rule.rule_number == 2);
  CHECK(deleted[1].body.fw_rule.rule_number == 2);
  // Deletes go in reverse key order.
  CHECK(deleted[0].body.fw_rule.entry == 1025);
  CHECK(deleted[1].body.fw_rule.entry == 1);
  auto updated = OfKind(b, MessageKind::kFwRuleset, Op::kUpdate);
  REQUIRE(updated.size() == 1);
  CHECK(updated[0].body.fw_ruleset.default_action == FwAction::kReject);
  CHECK(updated[0].body.fw_ruleset.default_implicit == 0);  // configured: an explicit last rule
  CHECK(OfKind(b, MessageKind::kFwRuleset, Op::kAdd).size() == 1);
  CHECK(OfKind(b, MessageKind::kFwRule, Op::kAdd).size() == 2);

  // A rule whose match changes keeps its key: delete + add, never an update.
  std::string moved = changed;
  moved.replace(moved.find("source address 198.11.194.155"), 29, "source address 198.11.194.0/24");
  DataplaneObjects third = PlanDataplane(ModelOf(moved), ifs, ids);
  std::vector<Message> c = DiffBatch(second, third);
  REQUIRE(c.size() == 2);
  CHECK(c[0].header.op == Op::kDelete);
  CHECK(c[1].header.op == Op::kAdd);
  CHECK(c[1].body.fw_rule.src_low.bytes[3] == 0);
  CHECK(c[1].body.fw_rule.src_high.bytes[3] == 255);
  CHECK(OfKind(c, MessageKind::kFwRule, Op::kUpdate).empty());
}

TEST_CASE("zones: interfaces, policies in order, local zone, default action", "[firewall][plan]") {
  std::string z = "set security zone-policy zone ";
  std::string text = std::string(R"(set interfaces dataplane dp0p1s1 address 192.0.2.1/24
set interfaces dataplane dp0p1s2 address 10.1.0.1/24
set interfaces vti vti0 address 172.16.0.1/30
set security firewall name A rule 1 action accept
set security firewall name B rule 1 action drop
)") + z + "PRIV interface dp0p1s2\n" +
                     z + "VPN interface vti0\n" + z + "VPN default-action reject\n" + z +
                     "LOCAL local-zone\n" + z + "PRIV to VPN firewall A\n" + z +
                     "PRIV to VPN firewall B\n" + z + "VPN to PRIV firewall B\n";
  InterfaceIndexes ifs;
  FirewallIds ids;
  DataplaneObjects o = PlanDataplane(ModelOf(text), ifs, ids);
  auto zones = OfKind(o, MessageKind::kFwZone);
  REQUIRE(zones.size() == 3);
  for (const Message& m : zones) {
    const auto& b = m.body.fw_zone;
    std::string name = b.name;
    CHECK(b.zone_id == ids.Zone(name));
    CHECK(b.local == (name == "LOCAL" ? 1 : 0));
    CHECK(b.default_action == (name == "VPN" ? FwAction::kReject : FwAction::kDrop));
  }
  auto zifs = OfKind(o, MessageKind::kFwZoneInterface);
  REQUIRE(zifs.size() == 2);
  auto policies = OfKind(o, MessageKind::kFwZonePolicy);
  REQUIRE(policies.size() == 3);
  uint32_t priv = ids.Zone("PRIV"), vpn = ids.Zone("VPN");
  std::vector<uint32_t> priv_to_vpn;
  for (const Message& m : policies) {
    const auto& p = m.body.fw_zone_policy;
    if (p.from_zone == priv && p.to_zone == vpn) {
      CHECK(p.position == priv_to_vpn.size());
      priv_to_vpn.push_back(p.ruleset_id);
    }
  }
  CHECK(priv_to_vpn == std::vector<uint32_t>{ids.Ruleset("A"), ids.Ruleset("B")});
  // Zone policies come after zones and rulesets.
  std::vector<Message> b = DiffBatch({}, o);
  size_t first_policy = b.size(), last_zone = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i].header.kind == MessageKind::kFwZonePolicy) first_policy = std::min(first_policy, i);
    if (b[i].header.kind == MessageKind::kFwZone) last_zone = i;
  }
  CHECK(last_zone < first_policy);
}

TEST_CASE("the VyOS seed's rulesets map onto the same messages", "[firewall][plan][vyos]") {
  InterfaceIndexes ifs;
  FirewallIds ids;
  DataplaneObjects o = PlanDataplane(
      ModelOf(std::string("set interfaces ethernet eth0 address '203.0.113.1/24'\n"
                          "set interfaces ethernet eth1 address '10.1.0.1/24'\n"
                          "set interfaces vti vti0 address '10.255.0.1/30'\n") +
              "set firewall ipv4 name WAN-LOCAL rule 70 action 'accept'\n"
              "set firewall ipv4 name WAN-LOCAL rule 70 protocol 'udp'\n"
              "set firewall ipv4 name WAN-LOCAL rule 70 destination port '500'\n"
              "set firewall ipv4 name WAN-LOCAL rule 71 action 'accept'\n"
              "set firewall ipv4 name WAN-LOCAL rule 71 protocol 'udp'\n"
              "set firewall ipv4 name WAN-LOCAL rule 71 destination port '4500'\n"
              "set firewall ipv4 name WAN-LOCAL rule 72 action 'accept'\n"
              "set firewall ipv4 name WAN-LOCAL rule 72 protocol 'esp'\n"
              "set firewall ipv4 input filter rule 10 inbound-interface name 'eth0'\n"
              "set firewall ipv4 input filter rule 10 action 'jump'\n"
              "set firewall ipv4 input filter rule 10 jump-target 'WAN-LOCAL'\n"
              "set firewall ipv4 name IPSEC-IN default-action 'drop'\n"
              "set firewall ipv4 name IPSEC-IN rule 10 action 'accept'\n"
              "set firewall ipv4 name IPSEC-IN rule 10 state 'established'\n"
              "set firewall ipv4 name IPSEC-IN rule 10 state 'related'\n"
              "set firewall ipv4 name IPSEC-IN rule 20 action 'accept'\n"
              "set firewall ipv4 name IPSEC-IN rule 20 destination address '10.1.0.0/24'\n"
              "set firewall ipv4 forward filter rule 30 inbound-interface name 'vti0'\n"
              "set firewall ipv4 forward filter rule 30 action 'jump'\n"
              "set firewall ipv4 forward filter rule 30 jump-target 'IPSEC-IN'\n"),
      ifs, ids);
  auto bindings = OfKind(o, MessageKind::kFwBinding);
  REQUIRE(bindings.size() == 2);
  for (const Message& m : bindings) {
    const auto& b = m.body.fw_binding;
    if (b.ifindex == *ifs.Find("eth0")) {
      CHECK(b.hook == FwHook::kLocal);
      CHECK(b.ruleset_id == ids.Ruleset("WAN-LOCAL"));
    } else {
      CHECK(b.ifindex == *ifs.Find("vti0"));
      CHECK(b.hook == FwHook::kIn);
      CHECK(b.ruleset_id == ids.Ruleset("IPSEC-IN"));
    }
  }
  uint32_t ipsec_in = ids.Ruleset("IPSEC-IN");
  for (const Message& m : OfKind(o, MessageKind::kFwRule)) {
    const auto& r = m.body.fw_rule;
    if (r.ruleset_id != ipsec_in) continue;
    if (r.rule_number == 10) {
      CHECK(r.state == (dp::api::kFwStateEstablished | dp::api::kFwStateRelated));
    } else {
      CHECK(r.state == 0);
      CHECK(V4(r.dst_low) == ((10u << 24) | (1u << 16)));
      CHECK(V4(r.dst_high) == ((10u << 24) | (1u << 16) | 255u));
    }
  }
}

TEST_CASE("IPv6: entries of both families, 16-byte ranges, the ruleset's family",
          "[firewall][plan][ipv6]") {
  InterfaceIndexes ifs;
  FirewallIds ids;
  DataplaneObjects o = PlanDataplane(
      ModelOf("set interfaces dataplane dp0p1s1 address 2001:db8:1::1/64\n"
              "set security firewall name BOTH rule 10 action accept\n"
              "set security firewall name BOTH rule 10 protocol udp\n"
              "set security firewall name BOTH rule 10 destination port 53\n"
              "set security firewall name BOTH rule 20 action accept\n"
              "set security firewall name BOTH rule 20 source address 2001:db8:1::/48\n"
              "set security firewall name BOTH rule 30 action accept\n"
              "set security firewall name BOTH rule 30 icmpv6 name echo-request\n"
              "set interfaces dataplane dp0p1s1 firewall in BOTH\n"
              "set firewall ipv6 name V6 default-action 'drop'\n"
              "set firewall ipv6 name V6 rule 10 action 'accept'\n"
              "set firewall ipv6 name V6 rule 10 protocol 'tcp'\n"
              "set firewall ipv6 input filter rule 10 inbound-interface name 'dp0p1s1'\n"
              "set firewall ipv6 input filter rule 10 action 'jump'\n"
              "set firewall ipv6 input filter rule 10 jump-target 'V6'\n"),
      ifs, ids);
  std::vector<Message> rules = OfKind(o, MessageKind::kFwRule);
  auto of = [&](uint32_t rs, uint32_t n) {
    std::vector<dp::api::FwRuleBody> out;
    for (const Message& m : rules)
      if (m.body.fw_rule.ruleset_id == rs && m.body.fw_rule.rule_number == n)
        out.push_back(m.body.fw_rule);
    return out;
  };
  const uint32_t both = ids.Ruleset("BOTH"), v6 = ids.Ruleset("V6");
  // No address: one IPv4 and one IPv6 entry, each spanning its family.
  auto dns = of(both, 10);
  REQUIRE(dns.size() == 2);
  CHECK(dns[0].family == dp::api::Family::kIpv4);
  CHECK(dns[1].family == dp::api::Family::kIpv6);
  CHECK(dns[1].dst_port_low == 53);
  CHECK(dns[1].src_high.bytes[15] == 0xff);
  CHECK(dns[1].src_low.bytes[0] == 0);
  // An IPv6 prefix: IPv6 only, its range in 16 bytes.
  auto pfx = of(both, 20);
  REQUIRE(pfx.size() == 1);
  CHECK(pfx[0].family == dp::api::Family::kIpv6);
  const uint8_t lo[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
  CHECK(std::equal(lo, lo + 16, pfx[0].src_low.bytes));
  CHECK(pfx[0].src_high.bytes[5] == 1);
  CHECK(pfx[0].src_high.bytes[6] == 0xff);
  CHECK(pfx[0].src_high.bytes[15] == 0xff);
  // icmpv6 name: protocol 58 with the type in place.
  auto echo = of(both, 30);
  REQUIRE(echo.size() == 1);
  CHECK(echo[0].proto_low == 58);
  CHECK(echo[0].icmp_type_low == 128);
  CHECK(echo[0].icmp_type_high == 128);
  // The VyOS ipv6 ruleset: family 6 on the ruleset, IPv6 entries only.
  for (const Message& m : OfKind(o, MessageKind::kFwRuleset)) {
    if (m.body.fw_ruleset.ruleset_id == v6) CHECK(m.body.fw_ruleset.family == 6);
    if (m.body.fw_ruleset.ruleset_id == both) CHECK(m.body.fw_ruleset.family == 0);
  }
  auto tcp = of(v6, 10);
  REQUIRE(tcp.size() == 1);
  CHECK(tcp[0].family == dp::api::Family::kIpv6);
  // Two bindings on dp0p1s1: BOTH at `in`, V6 at `local`.
  CHECK(OfKind(o, MessageKind::kFwBinding).size() == 2);
}
