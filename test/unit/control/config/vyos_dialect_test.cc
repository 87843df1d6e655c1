// The VyOS dialect onto the canonical model, and back.
#include "control/config/vyos_dialect.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"

#include "control/config/config_display.h"
#include "control/config/config_loader.h"

using namespace portcullis::config;

namespace {

LoadedConfig Load(const std::string& text) {
  return LoadConfigText(text, "v.conf");
}

std::string Errors(const LoadedConfig& c) {
  std::string out;
  for (const auto& d : c.diags.all())
    if (d.severity == Diagnostic::Severity::kError) out += d.ToString() + "\n";
  return out;
}

std::string Commands(const LoadedConfig& c, Dialect d = Dialect::kVyatta) {
  DisplayOptions o;
  o.commands = true;
  o.dialect = d;
  o.show_secrets = true;
  return ShowConfiguration(c.tree, o);
}

}  // namespace

TEST_CASE("VyOS ike-group and esp-group words", "[vyos]") {
  auto c = Load(
      "set vpn ipsec ike-group G key-exchange 'ikev2'\n"
      "set vpn ipsec ike-group G proposal 1 hash 'sha256'\n"
      "set vpn ipsec ike-group G proposal 2 hash 'sha384'\n"
      "set vpn ipsec ike-group G proposal 3 hash 'sha512'\n"
      "set vpn ipsec ike-group G dead-peer-detection action 'trap'\n"
      "set vpn ipsec ike-group G close-action 'start'\n"
      "set vpn ipsec ike-group G disable-mobike\n"
      "set vpn ipsec esp-group E proposal 1 hash 'sha1'\n"
      "set vpn ipsec esp-group E life-bytes '100000000'\n"
      "set vpn ipsec log level '1'\n");
  std::string cmds = Commands(c);
  CHECK_THAT(cmds, Catch::Contains("set security vpn ipsec ike-group G ike-version '2'"));
  CHECK_THAT(cmds, Catch::Contains("ike-group G proposal 1 hash 'sha2_256'"));
  CHECK_THAT(cmds, Catch::Contains("ike-group G proposal 2 hash 'sha2_384'"));
  CHECK_THAT(cmds, Catch::Contains("ike-group G proposal 3 hash 'sha2_512'"));
  CHECK_THAT(cmds, Catch::Contains("dead-peer-detection action 'hold'"));
  CHECK_THAT(cmds, Catch::Contains("ike-group G close-action 'start'"));
  CHECK_THAT(cmds, Catch::Contains("esp-group E life-bytes '100000000'"));
  CHECK_THAT(cmds, Catch::Contains("set security vpn ipsec logging log-level '1'"));
  CHECK_THAT(cmds, !Catch::Contains("mobike"));
}

TEST_CASE("an ike-group written in VyOS without key-exchange initiates IKEv2", "[vyos]") {
  auto vyos = Load("set vpn ipsec ike-group G lifetime '3600'\n");
  CHECK_THAT(Commands(vyos), Catch::Contains("ike-group G ike-version '2'"));
  // The same group in the Vyatta dialect keeps Vyatta's default (IKEv1), which is refused.
  auto vyatta = Load("set security vpn ipsec ike-group G lifetime '3600'\n");
  CHECK_THAT(Errors(vyatta), Catch::Contains("ike-version is not set"));
  // An explicit key-exchange ikev1 is refused on its own line.
  auto v1 = Load(
      "set vpn ipsec ike-group G proposal 1 dh-group 14\n"
      "set vpn ipsec ike-group G key-exchange ikev1\n");
  CHECK_THAT(Errors(v1), Catch::Contains("v.conf: line 2: security vpn ipsec ike-group G "
                                         "ike-version: IKEv1 is not supported (ike-version 1)"));
}

TEST_CASE("VyOS peer words", "[vyos]") {
  auto c = Load(
      "set vpn ipsec site-to-site peer SITE-B authentication local-id 'a@example.com'\n"
      "set vpn ipsec site-to-site peer SITE-B remote-address '198.51.100.1'\n"
      "set vpn ipsec site-to-site peer SITE-B force-udp-encapsulation\n"
      "set vpn ipsec site-to-site peer SITE-B tunnel 1 local prefix '10.1.0.0/24'\n"
      "set vpn ipsec interface 'eth0'\n");
  std::string cmds = Commands(c);
  CHECK_THAT(cmds, Catch::Contains("peer SITE-B authentication id 'a@example.com'"));
  CHECK_THAT(cmds, Catch::Contains("peer SITE-B remote-address '198.51.100.1'"));
  CHECK_THAT(cmds, Catch::Contains("peer SITE-B force-udp-encapsulation"));
  CHECK_THAT(cmds, Catch::Contains("peer SITE-B tunnel 1 local prefix '10.1.0.0/24'"));
  CHECK_THAT(cmds, Catch::Contains("set security vpn ike interface 'eth0'"));
}

TEST_CASE("VyOS replay-window and esn take the same words in both dialects", "[vyos]") {
  auto c = Load(
      "set vpn ipsec esp-group E esn 'enable'\n"
      "set vpn ipsec site-to-site peer SITE-B replay-window '64'\n");
  // (The incomplete peer has errors of its own; none about these two lines.)
  CHECK_THAT(Errors(c), !Catch::Contains("replay-window") && !Catch::Contains("esn"));
  std::string cmds = Commands(c);
  CHECK_THAT(cmds, Catch::Contains("set security vpn ipsec esp-group E esn 'enable'"));
  CHECK_THAT(cmds, Catch::Contains("set security vpn ipsec site-to-site peer SITE-B "
                                   "replay-window '64'"));
  CHECK_THAT(Commands(c, Dialect::kVyos), Catch::Contains("set vpn ipsec site-to-site peer "
                                                          "SITE-B replay-window '64'"));
  // Beyond the dataplane's 4,096 packets: refused on its line, in VyOS words too.
  auto big = Load("set vpn ipsec site-to-site peer SITE-B replay-window '8192'\n");
  CHECK_THAT(Errors(big), Catch::Contains("v.conf: line 1: "));
  CHECK_THAT(Errors(big), Catch::Contains("replay-window"));
}

TEST_CASE("VyOS routes, bonds and interfaces", "[vyos]") {
  auto c = Load(
      "set interfaces vti vti0 address '10.255.0.1/30'\n"
      "set protocols static route 10.2.0.0/24 interface vti0\n"
      "set protocols static route6 2001:db8:2::/48 interface vti0\n"
      "set interfaces bonding bond0 mode '802.3ad'\n"
      "set interfaces bonding bond1 mode 'xor-hash'\n"
      "set interfaces bonding bond0 member interface 'eth1'\n"
      "set interfaces bonding bond0 member interface 'eth2'\n");
  std::string cmds = Commands(c);
  CHECK_THAT(cmds, Catch::Contains("set protocols static interface-route 10.2.0.0/24 "
                                   "next-hop-interface vti0"));
  CHECK_THAT(cmds, Catch::Contains("set protocols static interface-route6 2001:db8:2::/48 "
                                   "next-hop-interface vti0"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces bonding bond0 mode 'lacp'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces bonding bond1 mode 'balanced'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces ethernet eth1 bond-group 'bond0'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces ethernet eth2 bond-group 'bond0'"));
  auto bad = Load("set interfaces bonding bond0 mode 'broadcast'\n");
  CHECK_THAT(Errors(bad), Catch::Contains("bonding mode 'broadcast' is not supported"));
}

TEST_CASE("VyOS firewall groups, reject and icmp type-name map onto Vyatta's nodes", "[vyos]") {
  auto c = Load(
      "set firewall group address-group PEERS address '192.0.2.1'\n"
      "set firewall group address-group PEERS address '198.51.100.0/24'\n"
      "set firewall group port-group IKE port '500'\n"
      "set firewall group port-group IKE port '4500'\n"
      "set firewall ipv4 name WAN-LOCAL default-action 'reject'\n"
      "set firewall ipv4 name WAN-LOCAL rule 5 action 'reject'\n"
      "set firewall ipv4 name WAN-LOCAL rule 5 protocol 'udp'\n"
      "set firewall ipv4 name WAN-LOCAL rule 5 source group address-group 'PEERS'\n"
      "set firewall ipv4 name WAN-LOCAL rule 5 destination group port-group 'IKE'\n"
      "set firewall ipv4 name WAN-LOCAL rule 6 action 'accept'\n"
      "set firewall ipv4 name WAN-LOCAL rule 6 protocol 'icmp'\n"
      "set firewall ipv4 name WAN-LOCAL rule 6 icmp type-name 'echo-request'\n");
  INFO(Errors(c));
  CHECK(Errors(c).empty());
  std::string cmds = Commands(c);
  CHECK_THAT(cmds, Catch::Contains("set resources group address-group PEERS address '192.0.2.1'"));
  CHECK_THAT(cmds, Catch::Contains("set resources group port-group IKE port '4500'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name WAN-LOCAL default-action 'reject'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name WAN-LOCAL rule 5 source address "
                                   "'PEERS'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name WAN-LOCAL rule 5 destination port "
                                   "'IKE'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name WAN-LOCAL rule 6 icmp name "
                                   "'echo-request'"));
  std::string vyos = Commands(c, Dialect::kVyos);
  CHECK_THAT(vyos, Catch::Contains("set firewall group address-group PEERS address '192.0.2.1'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 name WAN-LOCAL rule 6 icmp type-name "
                                   "'echo-request'"));
}

TEST_CASE("VyOS firewalls become rulesets and interface bindings", "[vyos]") {
  auto c = Load(
      "set interfaces vti vti0 address '10.255.0.1/30'\n"
      "set interfaces ethernet eth0 address '203.0.113.1/24'\n"
      "set interfaces ethernet eth1 vif 10 address '10.1.0.1/24'\n"
      "set firewall ipv4 name IPSEC-IN default-action 'drop'\n"
      "set firewall ipv4 name IPSEC-IN rule 10 action 'accept'\n"
      "set firewall ipv4 name IPSEC-IN rule 10 state 'established'\n"
      "set firewall ipv4 name IPSEC-IN rule 10 state 'related'\n"
      "set firewall ipv4 name IPSEC-IN rule 20 action 'accept'\n"
      "set firewall ipv4 name IPSEC-IN rule 20 destination address '10.1.0.0/24'\n"
      "set firewall ipv4 forward filter rule 30 inbound-interface name 'vti0'\n"
      "set firewall ipv4 forward filter rule 30 action 'jump'\n"
      "set firewall ipv4 forward filter rule 30 jump-target 'IPSEC-IN'\n"
      "set firewall ipv4 forward filter rule 40 outbound-interface name 'eth1.10'\n"
      "set firewall ipv4 forward filter rule 40 action 'jump'\n"
      "set firewall ipv4 forward filter rule 40 jump-target 'IPSEC-IN'\n"
      "set firewall ipv4 input filter rule 10 inbound-interface name 'eth0'\n"
      "set firewall ipv4 input filter rule 10 action 'jump'\n"
      "set firewall ipv4 input filter rule 10 jump-target 'IPSEC-IN'\n"
      "set firewall ipv4 forward filter default-action 'accept'\n");
  INFO(Errors(c));
  std::string cmds = Commands(c);
  CHECK_THAT(cmds, Catch::Contains("set security firewall name IPSEC-IN rule 10 match-state "
                                   "'established'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name IPSEC-IN rule 10 match-state "
                                   "'related'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces vti vti0 firewall in 'IPSEC-IN'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces ethernet eth1 vif 10 firewall out 'IPSEC-IN'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces ethernet eth0 firewall local 'IPSEC-IN'"));
  // And back: the bindings are jump rules again.
  std::string vyos = Commands(c, Dialect::kVyos);
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 forward filter rule 10 action 'jump'"));
  CHECK_THAT(vyos, Catch::Contains("inbound-interface name 'vti0'"));
  CHECK_THAT(vyos, Catch::Contains("outbound-interface name 'eth1.10'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 input filter rule 10 inbound-interface name "
                                   "'eth0'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 name IPSEC-IN rule 10 state 'established'"));
}

std::string Warnings(const LoadedConfig& c) {
  std::string out;
  for (const auto& d : c.diags.all())
    if (d.severity == Diagnostic::Severity::kWarning) out += d.ToString() + "\n";
  return out;
}

TEST_CASE("a forward filter jump warns, naming its line, that it filters local traffic too",
          "[vyos]") {
  auto c = Load(
      "set interfaces ethernet eth0 address '203.0.113.1/24'\n"
      "set interfaces ethernet eth1 address '10.1.0.1/24'\n"
      "set firewall ipv4 name WAN-IN default-action 'drop'\n"
      "set firewall ipv4 forward filter rule 10 inbound-interface name 'eth0'\n"
      "set firewall ipv4 forward filter rule 10 action 'jump'\n"
      "set firewall ipv4 forward filter rule 10 jump-target 'WAN-IN'\n"
      "set firewall ipv4 forward filter rule 20 outbound-interface name 'eth1'\n"
      "set firewall ipv4 forward filter rule 20 action 'jump'\n"
      "set firewall ipv4 forward filter rule 20 jump-target 'WAN-IN'\n"
      "set firewall ipv4 input filter rule 10 inbound-interface name 'eth0'\n"
      "set firewall ipv4 input filter rule 10 action 'jump'\n"
      "set firewall ipv4 input filter rule 10 jump-target 'WAN-IN'\n");
  INFO(Errors(c));
  CHECK(Errors(c).empty());
  std::string w = Warnings(c);
  CHECK_THAT(w, Catch::Contains(
                    "v.conf: line 6: warning: firewall ipv4 forward filter rule 10: forward "
                    "filter jump mapped onto eth0's firewall in, which filters more than VyOS "
                    "forward: traffic to this router's addresses on eth0 (IKE and ESP from peers "
                    "too) is filtered too"));
  CHECK_THAT(w, Catch::Contains("v.conf: line 9: warning: firewall ipv4 forward filter rule 20: "
                                "forward filter jump mapped onto eth1's firewall out"));
  CHECK_THAT(w, Catch::Contains("this router's own traffic out of it (IKE, ESP)"));
  // The input filter is VyOS's local traffic: no warning.
  CHECK(w.find("line 12") == std::string::npos);
}

TEST_CASE("VyOS filter jumps: numeric order, one per interface and direction", "[vyos]") {
  const std::string base =
      "set interfaces ethernet eth0 address '203.0.113.1/24'\n"
      "set firewall ipv4 name A default-action 'drop'\n"
      "set firewall ipv4 name B default-action 'accept'\n";
  auto jump = [](int n, const char* target) {
    return absl::StrCat("set firewall ipv4 input filter rule ", n,
                        " inbound-interface name 'eth0'\n", "set firewall ipv4 input filter rule ",
                        n, " action 'jump'\n", "set firewall ipv4 input filter rule ", n,
                        " jump-target '", target, "'\n");
  };
  // Rule 100 is configured before 20 and sorts as text before it; VyOS evaluates 20 first.
  auto two = Load(base + jump(100, "B") + jump(20, "A"));
  CHECK_THAT(Errors(two),
             Catch::Contains("v.conf: line 6: firewall ipv4 input filter rule 100: a second jump "
                             "for eth0 input (local): rule 100 jumps to B, rule 20 at line 9 "
                             "already to A; one jump per interface and direction can be mapped"));
  // The same target twice is the same filter.
  auto same = Load(base + jump(100, "A") + jump(20, "A"));
  INFO(Errors(same));
  CHECK(Errors(same).empty());
  CHECK_THAT(Commands(same), Catch::Contains("set interfaces ethernet eth0 firewall local 'A'"));
}

TEST_CASE("a VyOS rule with an address and an address-group on one side is refused", "[vyos]") {
  auto c = Load(
      "set firewall group address-group G address '192.0.2.1'\n"
      "set firewall ipv4 name F rule 10 action 'accept'\n"
      "set firewall ipv4 name F rule 10 source address '10.0.0.0/8'\n"
      "set firewall ipv4 name F rule 10 source group address-group 'G'\n"
      "set firewall ipv4 name F rule 10 destination group address-group 'G'\n");
  CHECK_THAT(Errors(c),
             Catch::Contains("v.conf: line 4: firewall ipv4 name F rule 10 source group "
                             "address-group G: rule 10 of F has a source address and a source "
                             "group address-group (line 3): only one of them can be mapped"));
  // The destination's group alone is fine.
  CHECK(Errors(c).find("line 5") == std::string::npos);
}

TEST_CASE("VyOS constructs that cannot be mapped are refused with the reason", "[vyos]") {
  struct Bad {
    std::string line;
    std::string why;
  };
  for (const Bad& b : std::vector<Bad>{
           {"set vpn l2tp remote-access authentication mode local",
            "only 'vpn ipsec' is supported"},
           {"set vpn ipsec ike-group G key-exchange ikev3", "expected ikev1|ikev2"},
           {"set vpn ipsec ike-group G proposal 1 hash aesxcbc", "hash 'aesxcbc' is not supported"},
           {"set vpn ipsec ike-group G mobike enable", "MOBIKE is not supported"},
           {"set vpn ipsec ike-group G ikev2-reauth yes",
            "IKEv2 reauthentication is not supported"},
           {"set vpn ipsec site-to-site peer P connection-type none",
            "connection-type none (on demand) is not supported"},
           {"set vpn ipsec log subsystem ike", "only 'vpn ipsec log level' is supported"},
           {"set firewall ipv4 name F rule 1 action return",
            "rule action 'return' is not supported"},
           {"set firewall ipv4 name F rule 1 jump-target X",
            "'jump-target' inside a named ruleset"},
           {"set firewall ipv4 name F default-action return", "default-action 'return' is not"},
           {"set firewall ipv4 forward filter rule 5 source address 10.0.0.0/8",
            "'source' is not supported in a filter rule"},
           {"set firewall ipv4 forward filter rule 5 action accept",
            "only rules with 'action jump', a 'jump-target'"},
           {"set firewall ipv4 forward filter default-action drop",
            "a filter default-action other than accept is not supported"},
           {"set firewall ipv4 output filter rule 1 action accept",
            "only 'firewall ipv4|ipv6 name', 'forward filter' and 'input filter'"},
           // One name for an ipv4 and an ipv6 ruleset cannot map onto one canonical ruleset.
           {"set firewall ipv4 name F rule 10 action drop\n"
            "set firewall ipv6 name F rule 10 action drop",
            "line 2: firewall ipv6 name F rule 10 action drop: ruleset name 'F' is also an ipv4 "
            "ruleset (line 1)"},
           {"set firewall group ipv6-address-group G address 2001:db8::1",
            "IPv6 firewall groups are not supported"},
           {"set high-availability vrrp group LAN vrid 10",
            "VyOS high-availability is not supported"},
           {"set interfaces bonding bond0 member interface wlan0",
            "'wlan0' is not a bondable port"},
       }) {
    auto c = Load(b.line + "\n");
    INFO(b.line);
    CHECK_THAT(Errors(c), Catch::Contains(b.why));
  }
}

TEST_CASE("host settings are ignored with one warning per tree", "[vyos]") {
  auto c = Load("set system host-name 'a'\nset system time-zone 'UTC'\nset service ssh port 22\n");
  CHECK(c.ok());
  REQUIRE(c.diags.all().size() == 2);
  CHECK(c.diags.all()[0].ToString() ==
        "v.conf: line 3: warning: service: ignored: 'service' is not managed by Portcullis (1 "
        "line)");
  CHECK(c.diags.all()[1].ToString() ==
        "v.conf: line 1: warning: system: ignored: 'system' is not managed by Portcullis (2 "
        "lines)");
}

// VyOS lets a tunnel list several prefixes (a dual-stack tunnel: one IPv4, one IPv6); the
// canonical tree holds one per side, and a second line used to replace the first silently.
TEST_CASE("a second VyOS tunnel prefix is refused naming the first", "[vyos][ipv6]") {
  const std::string t = "set vpn ipsec site-to-site peer B tunnel 1 ";
  auto c = Load(t + "local prefix '10.1.0.0/24'\n" + t + "remote prefix '10.2.0.0/24'\n" + t +
                "local prefix '2001:db8:a::/64'\n" + t + "local prefix '10.1.0.0/24'\n");
  CHECK_THAT(
      Errors(c),
      Catch::StartsWith(
          "v.conf: line 3: vpn ipsec site-to-site peer B tunnel 1 local prefix 2001:db8:a::/64: "
          "tunnel 1 already has local prefix 10.1.0.0/24 (line 1): Portcullis takes one prefix "
          "per tunnel side; put 2001:db8:a::/64 in a tunnel of its own (one tunnel per address "
          "family)\n"));
  CHECK(Errors(c).find("already has", 100) == std::string::npos);  // line 4 repeats line 1
  CHECK_THAT(Commands(c), Catch::Contains("tunnel 1 local prefix '10.1.0.0/24'"));
  // The same prefix twice, or one per tunnel: fine.
  auto ok = Load(t + "local prefix '10.1.0.0/24'\n" + t + "local prefix '10.1.0.0/24'\n" +
                 "set vpn ipsec site-to-site peer B tunnel 2 local prefix '2001:db8:a::/64'\n");
  CHECK_THAT(Errors(ok), !Catch::Contains("already has"));
}

TEST_CASE("a VyOS tunnel prefix replaced after a delete, and the VTI's any pair", "[vyos][ipv6]") {
  const std::string t = "set vpn ipsec site-to-site peer B tunnel 1 ";
  auto c = Load(t + "local prefix '10.1.0.0/24'\n" + "delete vpn ipsec site-to-site peer B " +
                "tunnel 1 local prefix\n" + t + "local prefix '2001:db8:a::/64'\n" + t +
                "remote prefix '0.0.0.0/0'\n" + t + "remote prefix '::/0'\n");
  CHECK_THAT(Errors(c), !Catch::Contains("already has"));
}

TEST_CASE("VyOS IPv6 rulesets: family ipv6, icmpv6 type-name, ipv4 and ipv6 jumps together",
          "[vyos][ipv6]") {
  auto c = Load(
      "set interfaces ethernet eth0 address '203.0.113.1/24'\n"
      "set interfaces ethernet eth0 address '2001:db8:ff::1/64'\n"
      "set firewall ipv4 name WAN-LOCAL default-action 'drop'\n"
      "set firewall ipv4 name WAN-LOCAL rule 10 action 'accept'\n"
      "set firewall ipv4 name WAN-LOCAL rule 10 protocol 'esp'\n"
      "set firewall ipv6 name WAN6-LOCAL default-action 'drop'\n"
      "set firewall ipv6 name WAN6-LOCAL rule 10 action 'accept'\n"
      "set firewall ipv6 name WAN6-LOCAL rule 10 protocol 'ipv6-icmp'\n"
      "set firewall ipv6 name WAN6-LOCAL rule 10 icmpv6 type-name 'echo-request'\n"
      "set firewall ipv6 name WAN6-LOCAL rule 20 action 'accept'\n"
      "set firewall ipv6 name WAN6-LOCAL rule 20 source address '2001:db8:ff::2'\n"
      "set firewall ipv4 input filter rule 10 inbound-interface name 'eth0'\n"
      "set firewall ipv4 input filter rule 10 action 'jump'\n"
      "set firewall ipv4 input filter rule 10 jump-target 'WAN-LOCAL'\n"
      "set firewall ipv6 input filter rule 10 inbound-interface name 'eth0'\n"
      "set firewall ipv6 input filter rule 10 action 'jump'\n"
      "set firewall ipv6 input filter rule 10 jump-target 'WAN6-LOCAL'\n");
  INFO(Errors(c));
  CHECK(Errors(c).empty());
  std::string cmds = Commands(c);
  CHECK_THAT(cmds, Catch::Contains("set security firewall name WAN-LOCAL family 'ipv4'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name WAN6-LOCAL family 'ipv6'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name WAN6-LOCAL rule 10 icmpv6 name "
                                   "'echo-request'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces ethernet eth0 firewall local 'WAN-LOCAL'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces ethernet eth0 firewall local 'WAN6-LOCAL'"));
  // And back: ipv6 rulesets and their jumps in VyOS's words.
  std::string vyos = Commands(c, Dialect::kVyos);
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv6 name WAN6-LOCAL rule 10 icmpv6 type-name "
                                   "'echo-request'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 name WAN-LOCAL rule 10 protocol 'esp'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv6 input filter rule 10 jump-target "
                                   "'WAN6-LOCAL'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 input filter rule 10 jump-target "
                                   "'WAN-LOCAL'"));
  CHECK_THAT(vyos, !Catch::Contains("family"));
  // A jump of one family to a ruleset of the other is refused naming the line.
  auto bad = Load(
      "set interfaces ethernet eth0 address '2001:db8:ff::1/64'\n"
      "set firewall ipv4 name V4 default-action 'drop'\n"
      "set firewall ipv6 input filter rule 10 inbound-interface name 'eth0'\n"
      "set firewall ipv6 input filter rule 10 action 'jump'\n"
      "set firewall ipv6 input filter rule 10 jump-target 'V4'\n");
  CHECK_THAT(Errors(bad), Catch::Contains("firewall ipv6 input filter rule 10: jump-target V4 is "
                                          "an ipv4 ruleset (line 2)"));
}

TEST_CASE("a Vyatta ruleset of both families shows in VyOS as one per family, both bound",
          "[vyos][ipv6]") {
  // No `family`: F filters IPv4 and IPv6 (rule 10 both, 20 IPv4 only, 30 IPv6 only).
  auto c = Load(
      "set interfaces ethernet eth0 address '203.0.113.1/24'\n"
      "set interfaces ethernet eth0 address '2001:db8:ff::1/64'\n"
      "set interfaces ethernet eth0 firewall local 'F'\n"
      "set security firewall name F default-action 'drop'\n"
      "set security firewall name F rule 10 action 'accept'\n"
      "set security firewall name F rule 10 protocol 'esp'\n"
      "set security firewall name F rule 20 action 'accept'\n"
      "set security firewall name F rule 20 source address '198.51.100.0/24'\n"
      "set security firewall name F rule 30 action 'accept'\n"
      "set security firewall name F rule 30 source address '2001:db8:1::/48'\n");
  INFO(Errors(c));
  REQUIRE(Errors(c).empty());
  std::string vyos = Commands(c, Dialect::kVyos);
  INFO(vyos);
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 name F rule 20 source address"));
  CHECK_THAT(vyos, !Catch::Contains("set firewall ipv4 name F rule 30"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv6 name F-v6 rule 30 source address"));
  CHECK_THAT(vyos, !Catch::Contains("set firewall ipv6 name F-v6 rule 20"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv6 name F-v6 rule 10 protocol 'esp'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv6 name F-v6 default-action 'drop'"));
  // Loaded back: IPv4 meets F, IPv6 meets F-v6, both at eth0's local hook.
  auto back = Load(vyos);
  INFO(Errors(back));
  REQUIRE(Errors(back).empty());
  std::string cmds = Commands(back);
  CHECK_THAT(cmds, Catch::Contains("set security firewall name F family 'ipv4'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name F-v6 family 'ipv6'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces ethernet eth0 firewall local 'F'"));
  CHECK_THAT(cmds, Catch::Contains("set interfaces ethernet eth0 firewall local 'F-v6'"));
  CHECK_THAT(cmds, Catch::Contains("set security firewall name F-v6 rule 30 source address "
                                   "'2001:db8:1::/48'"));
}

TEST_CASE("a both-family ruleset's rule naming an address-group goes where the group's items do",
          "[vyos][ipv6]") {
  auto c = Load(
      "set interfaces ethernet eth0 address '203.0.113.1/24'\n"
      "set interfaces ethernet eth0 address '2001:db8:ff::1/64'\n"
      "set interfaces ethernet eth0 firewall in 'F'\n"
      "set resources group address-group BAD address '2001:db8:bad::/48'\n"
      "set resources group address-group MIX address '198.51.100.7'\n"
      "set resources group address-group MIX address '2001:db8:7::7'\n"
      "set security firewall name F default-action 'accept'\n"
      "set security firewall name F rule 5 action 'drop'\n"
      "set security firewall name F rule 5 source address 'BAD'\n"
      "set security firewall name F rule 6 action 'drop'\n"
      "set security firewall name F rule 6 source address 'MIX'\n"
      "set security firewall name F rule 7 action 'drop'\n"
      "set security firewall name F rule 7 source address 'MIX'\n"
      "set security firewall name F rule 7 destination address '192.0.2.0/24'\n");
  INFO(Errors(c));
  REQUIRE(Errors(c).empty());
  std::string vyos = Commands(c, Dialect::kVyos);
  INFO(vyos);
  // BAD holds IPv6 only: rule 5 in the IPv6 half alone; MIX both: rule 6 in both; rule 7's
  // destination leaves it IPv4 only.
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv6 name F-v6 rule 5 source address 'BAD'"));
  CHECK_THAT(vyos, !Catch::Contains("set firewall ipv4 name F rule 5"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 name F rule 6 source address 'MIX'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv6 name F-v6 rule 6 source address 'MIX'"));
  CHECK_THAT(vyos, Catch::Contains("set firewall ipv4 name F rule 7 destination address"));
  CHECK_THAT(vyos, !Catch::Contains("set firewall ipv6 name F-v6 rule 7"));
  auto back = Load(vyos);
  INFO(Errors(back));
  CHECK(Errors(back).empty());
  CHECK_THAT(Commands(back), Catch::Contains("set security firewall name F-v6 rule 5 source "
                                             "address 'BAD'"));
}
