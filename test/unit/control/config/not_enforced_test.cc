// Nodes accepted and not enforced yet: each row of the table warns once per configured node,
// with its line; nothing else warns so; every row names a node of the schema; README lists them.
// The cases follow the table: when an issue implements a node and deletes its row, the node's
// case expects no warning without any change here.
#include "control/config/not_enforced.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/config/config_loader.h"
#include "control/config/schema.h"

using namespace portcullis::config;

namespace {

struct Case {
  std::string row;     // the table row the line is an instance of
  std::string line;    // a line that configures it
  std::string warned;  // the path the warning names
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"security firewall name", "set security firewall name FW rule 10 action accept",
       "security firewall name FW"},
      {"security firewall global-state-policy", "set security firewall global-state-policy tcp",
       "security firewall global-state-policy"},
      {"security zone-policy zone", "set security zone-policy zone LAN default-action drop",
       "security zone-policy zone LAN"},
      {"interfaces * firewall", "set interfaces dataplane dp0p1s1 firewall in FW",
       "interfaces dataplane dp0p1s1 firewall"},
      {"interfaces * vif firewall", "set interfaces bonding dp0bond0 vif 10 firewall out FW",
       "interfaces bonding dp0bond0 vif 10 firewall"},
      {"security firewall name rule state", "set security firewall name FW rule 30 state enable",
       "security firewall name FW rule 30 state"},
      {"security firewall name rule source mac-address",
       "set security firewall name FW rule 31 source mac-address 02:00:00:00:00:01",
       "security firewall name FW rule 31 source mac-address"},
      {"security firewall name rule destination mac-address",
       "set security firewall name FW rule 32 destination mac-address 02:00:00:00:00:02",
       "security firewall name FW rule 32 destination mac-address"},
      {"interfaces bonding mode", "set interfaces bonding dp0bond0 mode active-backup",
       "interfaces bonding dp0bond0 mode"},
      {"interfaces bonding lacp-options",
       "set interfaces bonding dp0bond0 lacp-options periodic-rate slow",
       "interfaces bonding dp0bond0 lacp-options"},
      {"interfaces bonding minimum-links", "set interfaces bonding dp0bond0 minimum-links 2",
       "interfaces bonding dp0bond0 minimum-links"},
      {"interfaces bonding lacp-options activity",
       "set interfaces bonding dp0bond0 lacp-options activity passive",
       "interfaces bonding dp0bond0 lacp-options activity (DPDK's 802.3ad is always active)"},
      {"interfaces bonding lacp-options key", "set interfaces bonding dp0bond0 lacp-options key 7",
       "interfaces bonding dp0bond0 lacp-options key (DPDK picks the key)"},
      {"interfaces bonding lacp-options periodic-rate",
       "set interfaces bonding dp0bond4 lacp-options periodic-rate fast",
       "interfaces bonding dp0bond4 lacp-options periodic-rate (the partner is not asked to send "
       "fast: configure it fast too)"},
      {"interfaces bonding hash-policy", "set interfaces bonding dp0bond2 hash-policy encap3+4",
       "interfaces bonding dp0bond2 hash-policy (DPDK hashes outer headers only)"},
      {"interfaces bonding primary", "set interfaces bonding dp0bond0 primary dp0p1s2",
       "interfaces bonding dp0bond0 primary"},
      {"interfaces * bond-group", "set interfaces ethernet eth3 bond-group dp0bond0",
       "interfaces ethernet eth3 bond-group"},
      {"interfaces * mac", "set interfaces dataplane dp0p1s3 mac 02:00:00:00:00:01",
       "interfaces dataplane dp0p1s3 mac"},
      {"interfaces * vrrp vrrp-group authentication",
       "set interfaces dataplane dp0p1s3 vrrp vrrp-group 4 authentication type plaintext-password",
       "interfaces dataplane dp0p1s3 vrrp vrrp-group 4 authentication (advertisements carry none)"},
      {"interfaces * vrrp vrrp-group sync-group",
       "set interfaces bonding dp0bond1 vrrp vrrp-group 4 sync-group SG",
       "interfaces bonding dp0bond1 vrrp vrrp-group 4 sync-group (each group changes state "
       "alone)"},
      {"interfaces * vrrp vrrp-group hello-source-address",
       "set interfaces dataplane dp0p1s3 vrrp vrrp-group 5 hello-source-address 192.0.2.1",
       "interfaces dataplane dp0p1s3 vrrp vrrp-group 5 hello-source-address (the interface's "
       "first address is the source)"},
      {"interfaces * vrrp vrrp-group notify",
       "set interfaces dataplane dp0p1s3 vrrp vrrp-group 6 notify bgp",
       "interfaces dataplane dp0p1s3 vrrp vrrp-group 6 notify (no BGP runs here)"},
      {"interfaces * vrrp vrrp-group accept",
       "set interfaces dataplane dp0p1s3 vrrp vrrp-group 8 accept false",
       "interfaces dataplane dp0p1s3 vrrp vrrp-group 8 accept (accept mode is always on: the "
       "master's virtual addresses take IKE, ESP and ping)"},
      {"interfaces * vif vrrp vrrp-group accept",
       "set interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 8 accept false",
       "interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 8 accept (accept mode is always on: "
       "the master's virtual addresses take IKE, ESP and ping)"},
      {"interfaces * vif vrrp vrrp-group authentication",
       "set interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 4 authentication type ah",
       "interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 4 authentication (advertisements "
       "carry none)"},
      {"interfaces * vif vrrp vrrp-group sync-group",
       "set interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 4 sync-group SG",
       "interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 4 sync-group (each group changes "
       "state alone)"},
      {"interfaces * vif vrrp vrrp-group hello-source-address",
       "set interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 5 hello-source-address 192.0.2.1",
       "interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 5 hello-source-address (the "
       "interface's first address is the source)"},
      {"interfaces * vif vrrp vrrp-group notify",
       "set interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 6 notify bgp",
       "interfaces dataplane dp0p1s3 vif 7 vrrp vrrp-group 6 notify (no BGP runs here)"},
      {"security vpn ipsec logging", "set vpn ipsec log level 2", "security vpn ipsec logging"},
      {"security vpn ike ikesa-table-size", "set security vpn ike ikesa-table-size 4",
       "security vpn ike ikesa-table-size"},
      {"security vpn ike ikesa-table-segments", "set security vpn ike ikesa-table-segments 4",
       "security vpn ike ikesa-table-segments"},
      {"security vpn ike worker-threads", "set security vpn ike worker-threads 16",
       "security vpn ike worker-threads"},
      {"security vpn ike v1", "set security vpn ike v1 max_ikev1_exchanges 32",
       "security vpn ike v1"},
      {"security vpn ipsec ike-group disable-strict-mode",
       "set security vpn ipsec ike-group IKE disable-strict-mode",
       "security vpn ipsec ike-group IKE disable-strict-mode"},
      {"security vpn ipsec esp-group disable-strict-mode",
       "set security vpn ipsec esp-group ESP disable-strict-mode",
       "security vpn ipsec esp-group ESP disable-strict-mode"},
      {"interfaces vti multicast", "set interfaces vti vti0 multicast enable",
       "interfaces vti vti0 multicast"},
  };
  return cases;
}

bool InTable(const std::string& row) {
  for (const NotEnforcedNode& n : NotEnforcedNodes())
    if (n.path == row) return true;
  return false;
}

// The "accepted, not enforced yet" warnings of `text`, as "LINE: PATH".
std::vector<std::string> NotEnforcedWarnings(const std::string& text) {
  std::vector<std::string> out;
  for (const Diagnostic& d : LoadConfigText(text, "n.conf").diags.Sorted()) {
    const std::string prefix = "accepted, not enforced yet: ";
    if (!absl::StartsWith(d.message, prefix)) continue;
    CHECK(d.severity == Diagnostic::Severity::kWarning);
    CHECK(d.loc.file == "n.conf");
    out.push_back(absl::StrCat(d.loc.line, ": ", d.message.substr(prefix.size())));
  }
  return out;
}

}  // namespace

TEST_CASE("each node of the table warns once, at the line that configured it", "[not_enforced]") {
  std::string text;
  std::vector<std::string> expected;
  int line = 0;
  for (const Case& c : Cases()) {
    text += c.line + "\n";
    ++line;
    if (InTable(c.row)) expected.push_back(absl::StrCat(line, ": ", c.warned));
  }
  // More lines of nodes already warned about: still one warning each.
  text += "set security firewall name FW rule 20 action drop\n";
  text += "set interfaces dataplane dp0p1s1 firewall local FW\n";
  // Nodes that take effect: no warning.
  text += "set security firewall name FW rule 33 state established\n";
  text += "set security vpn ike retransmit tries 3\n";
  text += "set interfaces vti vti1 multicast disable\n";
  text += "set interfaces bonding dp0bond3 hash-policy layer3+4\n";
  text += "set interfaces dataplane dp0p1s3 vrrp vrrp-group 9 accept true\n";
  text += "set interfaces bonding dp0bond3 lacp-options activity active\n";
  text += "set interfaces bonding dp0bond3 lacp-options periodic-rate slow\n";
  text += "set interfaces bonding dp0bond3 primary dp0p1s2\n";
  text += "set interfaces dataplane dp0p1s4 address 192.0.2.1/24\n";
  text += "set security vpn ipsec ike-group IKE dead-peer-detection interval 10\n";
  text += "set security vpn ipsec ike-group IKE2 dead-peer-detection action clear\n";
  text += "set security vpn ipsec ike-group IKE3 dead-peer-detection action restart\n";
  text += "set security vpn ipsec ike-group IKE3 close-action start\n";
  INFO(text);
  CHECK(NotEnforcedWarnings(text) == expected);
}

// dead-peer-detection action hold (also when left out) and close-action trap take effect: a
// VTI's trap (policy-based tunnels are warned by the commit rules, commit_rules_vpn.cc).
TEST_CASE("traps are not in the table", "[not_enforced]") {
  const std::string text =
      "set security vpn ipsec ike-group IKE dead-peer-detection interval 10\n"
      "set security vpn ipsec ike-group IKE2 dead-peer-detection action hold\n"
      "set security vpn ipsec ike-group IKE2 close-action trap\n";
  INFO(text);
  CHECK(NotEnforcedWarnings(text).empty());
}

TEST_CASE("every row of the table has a case and names a node of the schema", "[not_enforced]") {
  std::set<std::string> with_case;
  for (const Case& c : Cases()) with_case.insert(c.row);
  for (const NotEnforcedNode& n : NotEnforcedNodes()) {
    std::string row(n.path);
    INFO(row);
    CHECK(with_case.count(row) == 1);
    std::vector<std::string> words = absl::StrSplit(row, ' ');
    // Walks the schema; "*" stands for any one child.
    std::function<int(const SchemaNode&, size_t)> count = [&](const SchemaNode& s, size_t i) {
      if (i == words.size()) return 1;
      int found = 0;
      for (const SchemaNode& c : s.children)
        if (words[i] == "*" || c.name == words[i]) found += count(c, i + 1);
      return found;
    };
    CHECK(count(RootSchema(), 0) > 0);
  }
}

TEST_CASE("README lists every node of the table", "[not_enforced]") {
  std::ifstream f("README.md");
  REQUIRE(f.good());
  std::stringstream readme;
  readme << f.rdbuf();
  for (const NotEnforcedNode& n : NotEnforcedNodes()) {
    INFO(n.path);
    CHECK(absl::StrContains(readme.str(), absl::StrCat("`", n.path, "`")));
  }
}
