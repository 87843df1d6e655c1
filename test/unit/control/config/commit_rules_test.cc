// Every commit rule, one case each: a valid base configuration plus the lines that break it,
// and the message (and line) that must come out.
#include "control/config/commit_rules.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/config/config_loader.h"
#include "control/config/model.h"

using namespace portcullis::config;

namespace {

// Route-based peer 192.0.2.2 on vti0 and policy-based peer 198.51.100.2 with one tunnel.
constexpr char kBase[] = R"(set interfaces dataplane dp0p1s1 address 192.0.2.1/24
set interfaces dataplane dp0p1s2 address 10.1.0.1/24
set interfaces dataplane dp0p1s3 address 198.51.100.1/24
set interfaces vti vti0 address 172.16.0.1/30
set interfaces virtual-feature-point vfp0 address 172.16.1.1/32
set security vpn ike make-before-break
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE proposal 1 encryption aes256
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec ike-group IKE proposal 1 dh-group 14
set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128
set security vpn ipsec esp-group ESP proposal 1 hash null
set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret s3cret-s3cret-s3cret-20
set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE
set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.1
set security vpn ipsec site-to-site peer 192.0.2.2 vti bind vti0
set security vpn ipsec site-to-site peer 192.0.2.2 vti esp-group ESP
set security vpn ipsec site-to-site peer 198.51.100.2 authentication pre-shared-secret s3cret-s3cret-s3cret-20
set security vpn ipsec site-to-site peer 198.51.100.2 ike-group IKE
set security vpn ipsec site-to-site peer 198.51.100.2 local-address 198.51.100.1
set security vpn ipsec site-to-site peer 198.51.100.2 default-esp-group ESP
set security vpn ipsec site-to-site peer 198.51.100.2 tunnel 1 local prefix 10.1.0.0/24
set security vpn ipsec site-to-site peer 198.51.100.2 tunnel 1 remote prefix 10.2.0.0/24
set security vpn ipsec site-to-site peer 198.51.100.2 tunnel 1 uses vfp0
set protocols static interface-route 10.3.0.0/24 next-hop-interface vti0
set protocols static route 0.0.0.0/0 next-hop 192.0.2.254
set security firewall name IN default-action drop
set security firewall name IN rule 10 action accept
set security firewall name IN rule 10 protocol udp
set security firewall name IN rule 10 destination port 500
set interfaces dataplane dp0p1s1 firewall local IN
)";

constexpr char kPeer[] = "set security vpn ipsec site-to-site peer 192.0.2.2 ";
constexpr char kTun[] = "set security vpn ipsec site-to-site peer 198.51.100.2 tunnel 1 ";
constexpr char kIke[] = "set security vpn ipsec ike-group IKE ";
constexpr char kEsp[] = "set security vpn ipsec esp-group ESP ";

struct Case {
  std::string change;  // lines appended to kBase (set or delete)
  std::string expect;  // substring of the diagnostic
  bool warning = false;
};

std::string P(const std::string& a, const std::string& b) {
  return a + b;
}

void Expect(const Case& c) {
  std::string text = std::string(kBase) + c.change + "\n";
  LoadedConfig cfg = LoadConfigText(text, "c.conf");
  INFO("change:\n" << c.change);
  std::string all;
  const Diagnostic* hit = nullptr;
  for (const Diagnostic& d : cfg.diags.all()) {
    all += d.ToString() + "\n";
    bool sev_ok = (d.severity == Diagnostic::Severity::kWarning) == c.warning;
    if (sev_ok && d.ToString().find(c.expect) != std::string::npos) hit = &d;
  }
  INFO("diagnostics:\n" << all);
  REQUIRE(hit != nullptr);
  // Every message names the file and a line inside it, and a config path.
  CHECK(hit->loc.file == "c.conf");
  int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  CHECK(hit->loc.line >= 1);
  CHECK(hit->loc.line <= lines);
}

}  // namespace

TEST_CASE("the base configuration is clean", "[commit]") {
  LoadedConfig cfg = LoadConfigText(kBase, "c.conf");
  std::string all;
  for (const auto& d : cfg.diags.Sorted()) all += d.ToString() + "\n";
  CHECK(all.empty());
}

TEST_CASE("ike-group rules", "[commit]") {
  std::string eleven;
  for (int i = 2; i <= 11; ++i) eleven += absl::StrCat(kIke, "proposal ", i, " dh-group 14\n");
  for (const Case& c : std::vector<Case>{
           {"delete security vpn ipsec ike-group IKE ike-version",
            "ike-version is not set, and the Vyatta default is 1 (IKEv1), which Portcullis does "
            "not support: add 'set security vpn ipsec ike-group IKE ike-version 2'"},
           {P(kIke, "ike-version 1"), "IKEv1 is not supported (ike-version 1)"},
           {P(kIke, "ike-version 2+1"), "IKEv1 is not supported (ike-version 2+1)"},
           {"delete security vpn ipsec ike-group IKE proposal",
            "No proposals configured for IKE group \"IKE\".  At least one proposal required."},
           {eleven,
            "A total of 11 proposals have been configured for IKE group \"IKE\". The maximum "
            "proposals allowed for an IKE group is 10"},
           {P(kIke, "ike-version 1\n") + P(kIke, "proposal 1 encryption aes128gcm128"),
            "IKEv1 not allowed for selected encryption algorithm"},
           {P(kIke, "proposal 1 hash null"),
            "Selected encryption algorithm cannot have null hash/integrity algorithm"},
           {P(kIke, "proposal 1 encryption aes256gcm128\n") + P(kIke, "proposal 1 hash null"),
            "null hash is no longer supported for IKE-group"},
           {"delete security vpn ipsec ike-group IKE proposal 1 dh-group",
            "no dh-group: IKEv2 needs a Diffie-Hellman group"},
           {P(kIke, "proposal 1 dh-group 2"), "dh-group 2 (MODP-1024) is weak", true},
           {P(kIke, "proposal 1 encryption 3des"), "3des is not supported (insecure)"},
           {P(kIke, "proposal 1 hash md5"), "md5 is not supported (insecure)"},
           {P(kIke, "proposal 1 hash sha1_160"), "sha1_160 is no longer supported."},
       })
    Expect(c);
}

TEST_CASE("esp-group rules", "[commit]") {
  std::string eleven;
  for (int i = 2; i <= 11; ++i) eleven += absl::StrCat(kEsp, "proposal ", i, " hash null\n");
  for (const Case& c : std::vector<Case>{
           {"delete security vpn ipsec esp-group ESP proposal",
            "No proposals configured for ESP group \"ESP\".  At least one proposal required."},
           {eleven, "The maximum proposals allowed for an ESP group is 10"},
           {P(kEsp, "proposal 1 hash sha1"),
            "No hash/integrity algorithm allowed for selected authenticated encryption "
            "algorithm"},
           {P(kEsp, "proposal 1 encryption aes128"),
            "esp-group ESP proposal 1 hash: Selected encryption algorithm cannot have null "
            "hash/integrity algorithm"},
           {P(kEsp, "mode transport"), "transport mode is not supported yet"},
           {P(kEsp, "compression enable"), "IPsec header compression is not supported", true},
           {P(kEsp, "pfs dh-group5"), "dh-group5 is weak", true},
           {P(kEsp, "proposal 1 encryption 3des\n") + P(kEsp, "proposal 1 hash sha1"),
            "3des is not supported"},
       })
    Expect(c);
}

TEST_CASE("site-to-site peer rules", "[commit]") {
  const std::string second_vti_peer =
      "set security vpn ipsec site-to-site peer 192.0.2.3 authentication pre-shared-secret x\n"
      "set security vpn ipsec site-to-site peer 192.0.2.3 ike-group IKE\n"
      "set security vpn ipsec site-to-site peer 192.0.2.3 local-address 192.0.2.1\n"
      "set security vpn ipsec site-to-site peer 192.0.2.3 vti esp-group ESP\n"
      "set security vpn ipsec site-to-site peer 192.0.2.3 vti bind vti0";
  const std::string any_peer =
      "set security vpn ipsec site-to-site peer any authentication pre-shared-secret x\n"
      "set security vpn ipsec site-to-site peer any ike-group IKE\n"
      "set security vpn ipsec site-to-site peer any local-address 192.0.2.1\n"
      "set interfaces vti vti1 address 172.16.2.1/30\n"
      "set security vpn ipsec site-to-site peer any vti bind vti1\n"
      "set security vpn ipsec site-to-site peer any vti esp-group ESP";
  const std::string named_peer =
      "set security vpn ipsec site-to-site peer SITE-B authentication pre-shared-secret x\n"
      "set security vpn ipsec site-to-site peer SITE-B ike-group IKE\n"
      "set security vpn ipsec site-to-site peer SITE-B local-address 192.0.2.1\n"
      "set security vpn ipsec site-to-site peer SITE-B default-esp-group ESP\n"
      "set security vpn ipsec site-to-site peer SITE-B tunnel 1 local prefix 10.1.0.0/24\n"
      "set security vpn ipsec site-to-site peer SITE-B tunnel 1 remote prefix 10.9.0.0/24";
  const std::string v6_peer =
      "set security vpn ipsec site-to-site peer 2001:db8::2 authentication pre-shared-secret x\n"
      "set security vpn ipsec site-to-site peer 2001:db8::2 ike-group IKE\n"
      "set security vpn ipsec site-to-site peer 2001:db8::2 local-address any\n"
      "set security vpn ipsec site-to-site peer 2001:db8::2 default-esp-group ESP\n"
      "set security vpn ipsec site-to-site peer 2001:db8::2 tunnel 1 local prefix 2001:db8:1::/48\n"
      "set security vpn ipsec site-to-site peer 2001:db8::2 tunnel 1 remote prefix 2001:db8:2::/48";
  for (const Case& c : std::vector<Case>{
           {"delete security vpn ipsec site-to-site peer 192.0.2.2 ike-group",
            "No IKE group specified for peer \"192.0.2.2\"."},
           {P(kPeer, "ike-group NOPE"),
            "The IKE group \"NOPE\" specified for peer \"192.0.2.2\" has not been configured."},
           {"delete security vpn ipsec site-to-site peer 192.0.2.2 local-address",
            "No local-address specified for peer \"192.0.2.2\""},
           {P(kPeer, "local-address 2001:db8::1"),
            "The 'local-address' and peer protocols do not match"},
           {P(kPeer, "local-address 192.0.2.9"),
            "Local address 192.0.2.9 specified for peer \"192.0.2.2\" is not configured on any "
            "interface",
            true},
           {v6_peer, "'any' local address is not supported for IPv6 peers"},
           {"delete security vpn ipsec site-to-site peer 192.0.2.2 authentication",
            "No 'pre-shared-secret' specified for peer '192.0.2.2'"},
           {P(kPeer, "authentication pre-shared-secret '*********'"),
            "looks like the redacted output of 'show configuration'", true},
           {P(kPeer, "authentication mode x509"),
            "authentication mode x509 is not supported yet: use pre-shared-secret"},
           {"delete security vpn ipsec site-to-site peer 192.0.2.2 vti",
            "No tunnels or vti interface specified for peer '192.0.2.2'"},
           {P(kPeer, "tunnel 1 local prefix 10.1.0.0/24\n") +
                P(kPeer, "tunnel 1 remote prefix 10.5.0.0/24"),
            "Both Vti and tunnel(s) configured for peer \"192.0.2.2\""},
           {"delete security vpn ipsec site-to-site peer 192.0.2.2 vti bind",
            "No interface bind specified for peer \"192.0.2.2\" vti"},
           {P(kPeer, "vti bind vti9"), "vti bind: Interface 'vti9' does not exist"},
           {second_vti_peer, "vti bind vti0 already used (by peer 192.0.2.2)."},
           {"delete security vpn ipsec site-to-site peer 192.0.2.2 vti esp-group",
            "No ESP group specified for peer \"192.0.2.2\" vti"},
           {P(kPeer, "vti esp-group NOPE"),
            "The ESP group \"NOPE\" specified for peer \"192.0.2.2\" vti has not been configured."},
           {P(kPeer, "default-esp-group NOPE"),
            "The ESP group \"NOPE\" specified for peer \"192.0.2.2\" has not been configured."},
           {any_peer, "cannot initiate to peer 'any' without an address"},
           {any_peer, "peer 'any' cannot be used with a vti: an IP address must be specified"},
           {named_peer, "peer 'SITE-B' is a name, not an address: set remote-address"},
           {P(kPeer, "remote-address 192.0.2.7"),
            "the peer is named by its address 192.0.2.2, and remote-address differs (192.0.2.7)"},
           {P(kPeer, "local-address any"),
            "The local interface must be specified for peer \"192.0.2.2\" vti"},
           {P(kPeer, "replay-window 4097"), "value '4097' out of range"},
           {P(kPeer, "replay-window -1"), "replay-window"},
           {P(kEsp, "esn enable\n") + P(kPeer, "replay-window 0"),
            "replay-window 0 (anti-replay off) cannot be used with esp-group ESP, which has esn "
            "enable"},
           {P(kEsp, "esn on"), "esn"},
       })
    Expect(c);
}

TEST_CASE("replay-window and esn: errors name the line that set them", "[commit]") {
  auto diags_of = [](const std::string& change) {
    LoadedConfig cfg = LoadConfigText(std::string(kBase) + change + "\n", "c.conf");
    std::vector<std::string> out;
    for (const Diagnostic& d : cfg.diags.all())
      if (d.severity == Diagnostic::Severity::kError) out.push_back(d.ToString());
    return out;
  };
  const int base_lines = static_cast<int>(std::count(kBase, kBase + sizeof kBase - 1, '\n'));
  // The replay-window line is the second one appended.
  auto e = diags_of(P(kEsp, "esn enable\n") + P(kPeer, "replay-window 0"));
  REQUIRE(e.size() == 1);
  CHECK(absl::StrContains(e[0], absl::StrCat("line ", base_lines + 2, ": ")));
  CHECK(absl::StrContains(e[0], "peer 192.0.2.2 replay-window"));
  e = diags_of(P(kPeer, "replay-window 5000"));
  REQUIRE(e.size() == 1);
  CHECK(absl::StrContains(e[0], absl::StrCat("line ", base_lines + 1, ": ")));
  // In range, with or without ESN, and ESN with the default window: clean.
  CHECK(diags_of(P(kPeer, "replay-window 0")).empty());
  CHECK(diags_of(P(kPeer, "replay-window 4096")).empty());
  CHECK(diags_of(P(kEsp, "esn enable")).empty());
  CHECK(diags_of(P(kEsp, "esn enable\n") + P(kPeer, "replay-window 64")).empty());
}

TEST_CASE("a VTI peer may carry 0.0.0.0/0 tunnel selectors (VyOS style)", "[commit]") {
  LoadedConfig cfg =
      LoadConfigText(std::string(kBase) + kPeer + "tunnel 1 local prefix 0.0.0.0/0\n" + kPeer +
                         "tunnel 1 remote prefix 0.0.0.0/0\n",
                     "c.conf");
  CHECK(cfg.ok());
  // ... but not a VFP: the VTI is the tunnel's interface.
  LoadedConfig vfp =
      LoadConfigText(std::string(kBase) + kPeer + "tunnel 1 local prefix 0.0.0.0/0\n" + kPeer +
                         "tunnel 1 remote prefix 0.0.0.0/0\n" + kPeer + "tunnel 1 uses vfp0\n",
                     "c.conf");
  CHECK_FALSE(vfp.ok());
  std::string all;
  for (const auto& d : vfp.diags.all()) all += d.ToString() + "\n";
  CHECK(absl::StrContains(all,
                          "tunnel 1 uses: peer \"192.0.2.2\" is route-based (vti vti0): a "
                          "VFP is for policy-based tunnels"));
}

TEST_CASE("policy-based tunnel rules", "[commit]") {
  for (const Case& c : std::vector<Case>{
           {"delete security vpn ipsec site-to-site peer 198.51.100.2 tunnel 1 remote",
            "a tunnel needs both 'local prefix' and 'remote prefix'"},
           {P(kTun, "remote prefix 2001:db8::/32"),
            "The 'remote prefix' and 'local prefix' protocols do not match"},
           {P(kTun, "remote prefix 10.1.0.0/24"),
            "local prefix and remote prefix cannot be the same."},
           {P(kTun, "protocol icmp\n") + P(kTun, "local port 22"),
            "local port can only be defined when protocol is tcp, udp, or undefined."},
           {P(kTun, "protocol gre\n") + P(kTun, "remote port 22"),
            "remote port can only be defined when protocol is tcp, udp, or undefined."},
           {P(kTun, "uses vfp9"), "tunnel 1 uses: Interface 'vfp9' does not exist"},
           {"delete security vpn ipsec site-to-site peer 198.51.100.2 default-esp-group",
            "No ESP group specified for peer \"198.51.100.2\" tunnel 1"},
           {P(kTun, "esp-group NOPE"),
            "The ESP group \"NOPE\" specified for peer \"198.51.100.2\" tunnel 1 has not been "
            "configured."},
       })
    Expect(c);
}

TEST_CASE("vpn globals, deprecated nodes and unused objects", "[commit]") {
  for (const Case& c : std::vector<Case>{
           {"set security vpn ike interface vti9",
            "Interface must exist in the configuration (vti9)"},
           {"set security vpn ike interface dp0p9s9",
            "interface dp0p9s9 is not in the configuration: it must be a dataplane port", true},
           {"set security vpn ipsec nat-traversal enable",
            "nat-traversal is deprecated: NAT-T is always enabled", true},
           {P(kTun, "allow-nat-networks enable"), "allow-nat-networks is deprecated", true},
           {"set interfaces vti vti5 address 172.16.9.1/30",
            "[interface vti vti5] defined but not used under VPN configuration", true},
           {"delete security vpn ipsec site-to-site",
            "VPN Warning: IPsec configured but no site-to-site peers configured", true},
       })
    Expect(c);
}

TEST_CASE("interface rules", "[commit]") {
  const std::string dp = "set interfaces dataplane dp0p1s4 ";
  for (const Case& c : std::vector<Case>{
           {P(dp, "address 127.0.0.1/8"), "127.0.0.1 reserved for system use."},
           {P(dp, "address 224.0.0.5/24"), "IPv4 address reserved for multicast use"},
           {P(dp, "address 10.9.0.0/24"), "10.9.0.0/24 is the network address of its prefix"},
           {P(dp, "address 10.9.0.255/24"), "10.9.0.255/24 is the broadcast address of its prefix"},
           {P(dp, "address 192.0.2.1/24"), "address 192.0.2.1 is also configured on dp0p1s1"},
           {P(dp, "address dhcp\n") + P(dp, "address 10.9.0.1/24"),
            "Can't configure static IPv4 address and DHCP on the same interface."},
           {P(dp, "address dhcpv6\n") + P(dp, "address 2001:db8::1/64"),
            "Can't configure static IPv6 address and DHCPv6 on the same interface."},
           {P(dp, "address dhcp"), "DHCP addresses are not supported yet"},
           {P(dp, "address ::1/128"), "::1 reserved for system use."},
           {P(dp, "address ff02::1/64"), "IPv6 address reserved for multicast use"},
           {P(dp, "firewall in NOPE"), "firewall ruleset 'NOPE' does not exist"},
           {P(dp, "vif 10 firewall out NOPE"), "firewall ruleset 'NOPE' does not exist"},
           {P(dp, "vrrp vrrp-group 3 notify ipsec"),
            "vrrp-group 3 on dp0p1s4 has no IPv4 virtual-address: it is not run", true},
           {P(dp, "vrrp vrrp-group 3 virtual-address 2001:db8::1"),
            "IPv6 virtual address 2001:db8::1 is not run", true},
           {P(dp, "vrrp vrrp-group 3 virtual-address 10.9.9.9\n") +
                P(dp, "vrrp vrrp-group 3 notify ipsec"),
            "'notify ipsec' has no effect: no site-to-site peer's local-address is a virtual "
            "address of the group",
            true},
           {P(dp, "vrrp vrrp-group 3 virtual-address 10.9.9.9\n") +
                P(dp, "vrrp vrrp-group 3 version 3\n") +
                P(dp, "vrrp vrrp-group 3 advertise-interval 100"),
            "advertise-interval 100 runs at 40.95 s", true},
           {P(dp, "vrrp vrrp-group 3 priority 255"), "priority"},
           {P(dp, "vrrp vrrp-group 3 fast-advertise-interval 500"),
            "Fast-advertise-interval is allowed when version 3 is configured"},
           {P(dp, "vrrp vrrp-group 3 version 3\n") +
                P(dp, "vrrp vrrp-group 3 fast-advertise-interval 505"),
            "Fast-advertise-interval value is not a multiple of 10"},
           {P(dp, "vrrp vrrp-group 3 version 3\n") +
                P(dp, "vrrp vrrp-group 3 authentication type plaintext-password"),
            "Cannot define authentication for version 3"},
           {"set interfaces vti vti0 mtu 1200\nset interfaces vti vti0 address 2001:db8::1/64",
            "MTU less than 1280 not permitted on interfaces with any IPv6 configuration."},
       })
    Expect(c);
}

TEST_CASE("bonding rules", "[commit]") {
  const std::string bond = "set interfaces bonding dp0bond0 ";
  const std::string m1 = "set interfaces dataplane dp0p2s1 bond-group dp0bond0\n";
  for (const Case& c : std::vector<Case>{
           {"set interfaces dataplane dp0p2s1 bond-group dp0bond7",
            "Error: interface dp0p2s1 belongs to nonexistent bond-group dp0bond7"},
           {P(bond, "mode lacp\n") + m1 + "set interfaces dataplane dp0p2s1 address 10.8.0.1/24",
            "Error: can not add interface dp0p2s1 with addresses to bond-group"},
           {P(bond, "mode lacp\n") + m1 + "set interfaces dataplane dp0p2s1 vif 5",
            "Error: can not add interface dp0p2s1 with VIF to bond-group"},
           {P(bond, "mode lacp\n") + m1 + "set interfaces dataplane dp0p2s1 vrrp vrrp-group 1",
            "Error: can not add interface dp0p2s1 with VRRP to bond-group"},
           {P(bond, "mode lacp\n") + m1 + "set interfaces dataplane dp0p2s1 disable",
            "Error: can not add disabled interface dp0p2s1 to bond-group dp0bond0"},
           {P(bond, "mode lacp\n") + m1 + "set interfaces dataplane dp0p2s1 firewall in IN",
            "a bond-group member cannot have a firewall: apply it to dp0bond0"},
           {P(bond, "mode balanced\n") + m1 + P(bond, "lacp-options activity passive"),
            "lacp-options apply only to mode lacp"},
           {P(bond, "mode active-backup\n") + m1 + P(bond, "primary dp0p2s1\n") +
                P(bond, "hash-policy layer3+4"),
            "hash-policy applies only to mode lacp and balanced"},
           {P(bond, "mode balanced\n") + m1 + P(bond, "minimum-links 2"),
            "Mode must be lacp to set minimum-links to anything other than 1"},
           {P(bond, "mode lacp\n") + m1 + P(bond, "minimum-links 2"),
            "Cannot set minimum-links to more than the number of member interfaces"},
           {P(bond, "mode lacp\n") + m1 + P(bond, "primary dp0p2s1"),
            "The bonding group mode must be active-backup to set a primary interface."},
           {P(bond, "mode active-backup\n") + m1 + P(bond, "primary dp0p2s2"),
            "Primary slave interface must be part of the bonding group"},
           {P(bond, "mode active-backup\n") + m1,
            "Active-backup interfaces must have a configured primary."},
           {P(bond, "mode lacp"), "dp0bond0 has no members", true},
       })
    Expect(c);
}

TEST_CASE("static route rules", "[commit]") {
  for (const Case& c : std::vector<Case>{
           {"set protocols static route6 10.5.0.0/16 next-hop 192.0.2.254",
            "route6 needs an IPv6 prefix"},
           {"set protocols static route 10.5.0.0/16", "a static route needs a next-hop"},
           {"set protocols static route6 2001:db8:5::/48 next-hop 192.0.2.254",
            "the next-hop and the prefix are of different address families"},
           {"set protocols static route 10.5.0.0/16 next-hop 192.0.2.254 interface dp0bond7",
            "Interface 'dp0bond7' does not exist"},
           {"set protocols static route 10.5.0.0/16 next-hop 192.0.2.254 interface dp0p7s7",
            "interface dp0p7s7 is not in the configuration", true},
           {"set protocols static interface-route 10.6.0.0/16 next-hop-interface vti9",
            "interface-route 10.6.0.0/16 next-hop-interface vti9: Interface 'vti9' does not exist"},
           {"set protocols static interface-route6 10.6.0.0/16 next-hop-interface vti0",
            "interface-route6 needs an IPv6 prefix"},
           {"set protocols static interface-route 10.6.0.0/16",
            "an interface-route needs a next-hop-interface"},
       })
    Expect(c);
}

TEST_CASE("firewall rules", "[commit]") {
  const std::string r = "set security firewall name F rule 5 ";
  for (const Case& c : std::vector<Case>{
           {P(r, "protocol tcp"), "a rule needs an action (accept, drop or reject)"},
           {P(r, "action accept\n") + P(r, "protocol icmp\n") + P(r, "destination port 80"),
            "Only TCP/UDP/UDP-Lite/DCCP/SCTP allow a match port"},
           {P(r, "action accept\n") + P(r, "source address 10.0.0.0/8\n") +
                P(r, "destination address 2001:db8::/32"),
            "Cannot mix IPv4 and IPv6 source/destination addresses"},
           {P(r, "action accept\n") + P(r, "protocol icmp\n") +
                P(r, "destination address 2001:db8::/32"),
            "Cannot mix IPv6 addresses with protocol 'icmp'"},
           {P(r, "action accept\n") + P(r, "protocol ipv6-icmp\n") +
                P(r, "destination address 10.0.0.0/8"),
            "Cannot mix IPv4 addresses with protocol 'ipv6-icmp'"},
           {P(r, "action accept\n") + P(r, "protocol tcp\n") + P(r, "icmp type 8"),
            "'icmp' options can only be used if protocol is 'icmp' or not set"},
           {P(r, "action accept\n") + P(r, "icmp type 8\n") + P(r, "icmp name echo-request"),
            "Can only specify one of 'name', 'type' or 'group'"},
           {P(r, "action accept\n") + P(r, "icmp code 0"), "an icmp code needs an icmp type"},
           // IPv6 (Vyatta 5600's texts): icmpv6 with another protocol, with icmp, with IPv4.
           {P(r, "action accept\n") + P(r, "protocol tcp\n") + P(r, "icmpv6 name echo-request"),
            "'icmpv6' options can only be used if protocol is 'ipv6-icmp' or not set"},
           {P(r, "action accept\n") + P(r, "icmp name echo-request\n") +
                P(r, "icmpv6 name echo-request"),
            "Options 'tcp', 'icmp', 'icmpv6' and 'ipv6-route' are mutually exclusive"},
           {P(r, "action accept\n") + P(r, "icmpv6 name echo-request\n") +
                P(r, "source address 10.0.0.0/8"),
            "security firewall name F rule 5 protocol: Cannot mix IPv4 addresses with protocol "
            "'ipv6-icmp'"},
           // A family-scoped ruleset (VyOS's ipv4/ipv6 rulesets) with the other family's match.
           {"set security firewall name F family ipv4\n" + P(r, "action accept\n") +
                P(r, "destination address 2001:db8::/32"),
            "security firewall name F rule 5: an IPv6 match in the IPv4-only ruleset F"},
           {"set security firewall name F family ipv6\n" + P(r, "action accept\n") +
                P(r, "protocol icmp"),
            "an IPv4 match in the IPv6-only ruleset F"},
           {P(r, "action accept\n") + P(r, "protocol !tcp\n") + P(r, "destination port 80"),
            "a port match needs one protocol, not a negated one"},
           {P(r, "action accept\n") + P(r, "protocol 136\n") + P(r, "destination port 80"),
            "ports are matched for tcp, udp and sctp only"},
           {P(r, "action accept\n") + P(r, "source address NOGROUP"),
            "address-group 'NOGROUP' does not exist"},
           {P(r, "action accept\n") + P(r, "protocol tcp\n") + P(r, "destination port NOPORTS"),
            "port-group 'NOPORTS' does not exist"},
           // 2 protocols x 2 sources x 1 destination x 16 x 17 ports = 1088 entries.
           {"set resources group address-group TWO address 10.0.0.1\n"
            "set resources group address-group TWO address 10.0.0.9\n" +
                P(r, "action accept\n") + P(r, "protocol tcp_udp\n") +
                P(r, "source address TWO\n") +
                P(r, "source port 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31\n") +
                P(r, "destination port 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33"),
            "the rule expands to 1088 entries"},
           {"set security firewall name A234567890123456789012345678901 rule 1 action drop\n"
            "set security firewall name A2345678901234567890123456789012 rule 1 action drop",
            "firewall ruleset name 'A2345678901234567890123456789012' is longer than 31"},
           {"set security firewall name F rule 1 action drop\n"
            "set interfaces dataplane dp0p1s1 firewall in F\n"
            "set interfaces dataplane dp0p1s1 firewall in F2\n"
            "set interfaces dataplane dp0p1s1 firewall in F3\n"
            "set interfaces dataplane dp0p1s1 firewall in F4\n"
            "set interfaces dataplane dp0p1s1 firewall in F5\n"
            "set interfaces dataplane dp0p1s1 firewall in F6\n"
            "set interfaces dataplane dp0p1s1 firewall in F7\n"
            "set interfaces dataplane dp0p1s1 firewall in F8\n"
            "set interfaces dataplane dp0p1s1 firewall in F9\n"
            "set security firewall name F2 rule 1 action drop\n"
            "set security firewall name F3 rule 1 action drop\n"
            "set security firewall name F4 rule 1 action drop\n"
            "set security firewall name F5 rule 1 action drop\n"
            "set security firewall name F6 rule 1 action drop\n"
            "set security firewall name F7 rule 1 action drop\n"
            "set security firewall name F8 rule 1 action drop\n"
            "set security firewall name F9 rule 1 action drop",
            "9 rulesets on dp0p1s1 in: at most 8 per direction"},
           // Rules that can never match are accepted, with a warning naming them.
           {P(r, "action drop\n") + P(r, "source address !0.0.0.0/0"), "this rule can never match",
            true},
           {P(r, "action drop\n") + P(r, "protocol !all"), "this rule can never match", true},
       })
    Expect(c);
}

TEST_CASE("a firewall of over 4,096 dataplane messages commits: batches stream (#18)", "[commit]") {
  // 1000 addresses that do not merge into ranges: 1000 entries (and messages) per rule.
  std::string big;
  for (int i = 0; i < 1000; ++i)
    big += absl::StrCat("set resources group address-group G address 10.0.", i / 100, ".",
                        (i % 100) * 2, "\n");
  for (const char* rs : {"BIG1", "BIG2", "BIG3", "BIG4", "BIG5"})
    big += absl::StrCat("set security firewall name ", rs, " rule 1 action accept\n",
                        "set security firewall name ", rs, " rule 1 source address G\n");
  LoadedConfig cfg = LoadConfigText(std::string(kBase) + big, "c.conf");
  CHECK(cfg.ok());
  for (const auto& d : cfg.diags.all()) {
    INFO(d.ToString());
    CHECK(d.ToString().find("dataplane messages") == std::string::npos);
  }
}

TEST_CASE("the issue's firewall lines commit cleanly", "[commit]") {
  const std::string r = "set security firewall name F rule ";
  LoadedConfig cfg = LoadConfigText(
      std::string(kBase) + "set resources group address-group PEERS address 192.0.2.0/24\n" +
          "set resources group address-group PEERS address 10.9.0.1-10.9.0.7\n" +
          "set resources group port-group WEB port http\n" +
          "set resources group port-group WEB port 8000-8080\n" +
          "set security firewall name F default-action reject\n" +
          "set security firewall name F default-log\n" + r + "1 action accept\n" + r +
          "1 protocol !tcp\n" + r + "1 source address !10.0.0.0/8\n" + r + "1 state established\n" +
          r + "1 state related\n" + r + "2 action reject\n" + r + "2 protocol tcp\n" + r +
          "2 destination port 22,80,443,1000-2000\n" + r + "2 source port !1-1023\n" + r +
          "2 destination address 10.1.0.1-10.1.0.9\n" + r + "2 log\n" + r +
          "2 description 'web and ssh'\n" + r + "3 action drop\n" + r +
          "3 icmp name echo-request\n" + r + "4 action accept\n" + r + "4 protocol 50\n" + r +
          "4 disable\n" + r + "5 action accept\n" + r + "5 source address PEERS\n" + r +
          "5 protocol tcp_udp\n" + r + "5 destination port WEB\n" + r + "6 action accept\n" + r +
          "6 state enable\n" + "set security firewall global-state-policy tcp\n" +
          "set interfaces dataplane dp0p1s1 firewall in F\n" +
          "set interfaces vti vti0 firewall out F\n" +
          "set interfaces virtual-feature-point vfp0 firewall local F\n",
      "c.conf");
  std::string errors;
  for (const auto& d : cfg.diags.Sorted()) {
    if (d.severity == Diagnostic::Severity::kError) errors += d.ToString() + "\n";
  }
  INFO(errors);
  CHECK(errors.empty());
}

TEST_CASE("zone-policy rules", "[commit]") {
  const std::string z = "set security zone-policy zone ";
  const std::string base = z + "LAN interface dp0p1s2\n" + z + "WAN interface dp0p1s3\n";
  for (const Case& c : std::vector<Case>{
           {z + "LOCAL local-zone\n" + z + "LOCAL interface dp0p1s2",
            "The local zone must have no interfaces.  Non-local zones must have at least one "
            "interface."},
           {z + "EMPTY description x",
            "The local zone must have no interfaces.  Non-local zones must have at least one "
            "interface."},
           {z + "L1 local-zone\n" + z + "L2 local-zone",
            "Only one zone may be assigned as the local zone."},
           {base + z + "DMZ interface dp0p1s2", "An interface cannot be in more than one zone."},
           {"set interfaces loopback lo address 10.255.255.1/32\n" + z + "LO interface lo",
            "Cannot assign loopback interface to a zone."},
           {z + "X interface vfp9", "Interface must exist in the configuration (vfp9)"},
           // An unconfigured port too: vpnd would leave its traffic unzoned.
           {z + "X interface eth9",
            "Interface must exist in the configuration (eth9): a zone interface must be "
            "configured under 'interfaces'"},
           {z + "X interface dp0p1s9", "Interface must exist in the configuration (dp0p1s9)"},
           {z + "X interface dp0p1s1",
            "Firewall and zone-policy cannot both be applied to the same interface (dp0p1s1): "
            "interfaces dataplane dp0p1s1 firewall at line 31 binds rulesets to it"},
           {base + z + "LAN to WAN firewall IN\n" + z + "LAN to WAN firewall IN2\n" + z +
                "LAN to WAN firewall IN3\n" + z + "LAN to WAN firewall IN4\n" + z +
                "LAN to WAN firewall IN5\n" + z + "LAN to WAN firewall IN6\n" + z +
                "LAN to WAN firewall IN7\n" + z + "LAN to WAN firewall IN8\n" + z +
                "LAN to WAN firewall IN9",
            "9 rulesets from zone LAN to WAN: at most 8"},
           {base + z + "LAN to LAN firewall IN", "'from' and 'to' zones cannot be the same"},
           {base + z + "LAN to DMZ firewall IN", "zone 'DMZ' does not exist"},
           {base + z + "LAN to WAN", "at least one firewall ruleset is required"},
           {base + z + "LAN to WAN firewall NOPE", "firewall ruleset 'NOPE' does not exist"},
       })
    Expect(c);
}

TEST_CASE("errors are all reported, not only the first", "[commit]") {
  LoadedConfig cfg = LoadConfigText(std::string(kBase) + P(kPeer, "ike-group NOPE\n") +
                                        P(kEsp, "proposal 1 hash sha1\n") + "set bogus line\n",
                                    "c.conf");
  CHECK(cfg.diags.error_count() == 3);
}

// A trap (DPD action hold, also when left out, and close-action trap) works for every tunnel:
// the dataplane raises acquires for traffic into a VTI without an SA, and for a policy-based
// tunnel's policies, which vpnd keeps without an SA while trapped. Nothing to warn about.
TEST_CASE("traps on policy-based tunnels are not warned about: they are real", "[commit]") {
  for (const std::string& extra :
       {P(kIke, "dead-peer-detection interval 10\n"), P(kIke, "close-action trap\n")}) {
    LoadedConfig cfg = LoadConfigText(std::string(kBase) + extra, "c.conf");
    for (const Diagnostic& d : cfg.diags.all()) {
      CHECK_FALSE(absl::StrContains(d.ToString(), "trap"));
      CHECK_FALSE(absl::StrContains(d.ToString(), "emulated"));
    }
  }
}

// #21: IKE runs between two addresses of one family, and one tunnel's selectors are of one
// family. Both refusals name the two values and their lines, in both dialects.
TEST_CASE("mixed address families are refused naming both lines", "[commit][ipv6]") {
  auto errors = [](const LoadedConfig& cfg) {
    std::vector<std::string> out;
    for (const Diagnostic& d : cfg.diags.Sorted())
      if (d.severity == Diagnostic::Severity::kError) out.push_back(d.ToString());
    return out;
  };
  SECTION("Vyatta") {
    LoadedConfig cfg =
        LoadConfigText(std::string(kBase) + P(kTun, "remote prefix 2001:db8::/32\n") +
                           P(kPeer, "local-address 2001:db8::1\n"),
                       "c.conf");
    CHECK(errors(cfg) ==
          std::vector<std::string>{
              "c.conf: line 32: security vpn ipsec site-to-site peer 198.51.100.2 tunnel 1 remote "
              "prefix: The 'remote prefix' and 'local prefix' protocols do not match: local "
              "prefix 10.1.0.0/24 (line 22) is IPv4, remote prefix 2001:db8::/32 (line 32) is "
              "IPv6: one tunnel's selectors are of one address family (use one tunnel per "
              "family)",
              "c.conf: line 33: security vpn ipsec site-to-site peer 192.0.2.2 local-address: The "
              "'local-address' and peer protocols do not match: local-address 2001:db8::1 (line "
              "33) is IPv6, peer 192.0.2.2 (line 13) is IPv4"});
  }
  SECTION("VyOS: remote-address names the peer") {
    const std::string p = "set vpn ipsec site-to-site peer B ";
    LoadedConfig cfg = LoadConfigText(
        "set interfaces ethernet eth0 address '2001:db8::1/64'\n"
        "set vpn ipsec ike-group IKE proposal 1 encryption 'aes256'\n"
        "set vpn ipsec ike-group IKE proposal 1 hash 'sha256'\n"
        "set vpn ipsec ike-group IKE proposal 1 dh-group '14'\n"
        "set vpn ipsec esp-group ESP proposal 1 encryption 'aes256'\n"
        "set vpn ipsec esp-group ESP proposal 1 hash 'sha256'\n" +
            p + "authentication mode 'pre-shared-secret'\n" + p +
            "authentication pre-shared-secret 'abcdefghijklmnopqrstuvwxyz'\n" + p +
            "ike-group 'IKE'\n" + p + "local-address '2001:db8::1'\n" + p +
            "remote-address '192.0.2.7'\n" + p + "default-esp-group 'ESP'\n" + p +
            "tunnel 1 local prefix '2001:db8:a::/64'\n" + p +
            "tunnel 1 remote prefix '10.2.0.0/24'\n",
        "v.conf");
    CHECK(errors(cfg) ==
          std::vector<std::string>{
              "v.conf: line 10: security vpn ipsec site-to-site peer B local-address: The "
              "'local-address' and peer protocols do not match: local-address 2001:db8::1 (line "
              "10) is IPv6, peer 192.0.2.7 (line 11) is IPv4",
              "v.conf: line 14: security vpn ipsec site-to-site peer B tunnel 1 remote prefix: The "
              "'remote prefix' and 'local prefix' protocols do not match: local prefix "
              "2001:db8:a::/64 (line 13) is IPv6, remote prefix 10.2.0.0/24 (line 14) is IPv4: "
              "one tunnel's selectors are of one address family (use one tunnel per family)"});
  }
  SECTION("IPv6 everywhere, and IPv4 selectors over IPv6: accepted") {
    LoadedConfig cfg = LoadConfigText(
        std::string(kBase) + "set interfaces dataplane dp0p1s1 address 2001:db8::1/64\n" +
            "set security vpn ipsec site-to-site peer 2001:db8::2 authentication "
            "pre-shared-secret s3cret-s3cret-s3cret-20\n"
            "set security vpn ipsec site-to-site peer 2001:db8::2 ike-group IKE\n"
            "set security vpn ipsec site-to-site peer 2001:db8::2 local-address 2001:db8::1\n"
            "set security vpn ipsec site-to-site peer 2001:db8::2 default-esp-group ESP\n"
            "set security vpn ipsec site-to-site peer 2001:db8::2 tunnel 1 local prefix "
            "2001:db8:a::/64\n"
            "set security vpn ipsec site-to-site peer 2001:db8::2 tunnel 1 remote prefix "
            "2001:db8:b::/64\n"
            "set security vpn ipsec site-to-site peer 2001:db8::2 tunnel 2 local prefix "
            "10.1.0.0/24\n"
            "set security vpn ipsec site-to-site peer 2001:db8::2 tunnel 2 remote prefix "
            "10.9.0.0/24\n"
            "set protocols static route6 2001:db8:b::/48 next-hop 2001:db8::2\n"
            "set protocols static interface-route6 2001:db8:c::/48 next-hop-interface vti0\n",
        "c.conf");
    CHECK(errors(cfg).empty());
  }
}

TEST_CASE("ICMP of the other family than a tunnel's prefixes is refused", "[commit][ipv6]") {
  for (const Case& c : std::vector<Case>{
           {P(kTun, "protocol ipv6-icmp"),
            "tunnel 1 protocol: protocol ipv6-icmp is IPv6's ICMP, and the prefixes are IPv4: "
            "use protocol icmp"},
           {P(kTun, "local prefix 2001:db8:1::/64\n") + P(kTun, "remote prefix 2001:db8:2::/64\n") +
                P(kTun, "protocol icmp"),
            "tunnel 1 protocol: protocol icmp is IPv4's ICMP, and the prefixes are IPv6: use "
            "protocol ipv6-icmp"},
       })
    Expect(c);
  LoadedConfig ok = LoadConfigText(std::string(kBase) + P(kTun, "protocol icmp\n"), "c.conf");
  CHECK(ok.ok());
}

TEST_CASE("multicast and IPv6 link-local IKE addresses are refused", "[commit][ipv6]") {
  const std::string ll = "set security vpn ipsec site-to-site peer fe80::2 ";
  for (const Case& c : std::vector<Case>{
           {ll + "authentication pre-shared-secret s3cret-s3cret-s3cret-20\n" + ll +
                "ike-group IKE\n" + ll + "local-address 2001:db8::1\n" + ll +
                "default-esp-group ESP\n" + ll + "tunnel 1 local prefix 2001:db8:1::/64\n" + ll +
                "tunnel 1 remote prefix 2001:db8:2::/64",
            "peer fe80::2: peer address fe80::2 is an IPv6 link-local address (it needs an "
            "interface scope): use a global or unique-local address"},
           {P(kPeer, "local-address fe80::1"),
            "local-address: local-address fe80::1 is an IPv6 link-local address"},
           {"set security vpn ipsec site-to-site peer SITE remote-address ff02::1",
            "peer SITE remote-address: peer address ff02::1 is a multicast address"},
           {"set security vpn ipsec site-to-site peer 224.0.0.5 ike-group IKE",
            "peer 224.0.0.5: peer address 224.0.0.5 is a multicast address"},
       })
    Expect(c);
}

// vpn-dataplane's SPD classifies IPv6 as IPv4 (#21): IPv6 prefixes in a policy-based tunnel
// take effect, so commit says nothing about them.
TEST_CASE("IPv6 prefixes in a policy-based tunnel commit without a diagnostic", "[commit][ipv6]") {
  const std::string text = std::string(kBase) + P(kTun, "local prefix 2001:db8:1::/64\n") +
                           P(kTun, "remote prefix 2001:db8:2::/64\n");
  LoadedConfig cfg = LoadConfigText(text, "c.conf");
  std::string all;
  for (const auto& d : cfg.diags.Sorted()) all += d.ToString() + "\n";
  CHECK(all.empty());
}

// ND never reaches a hook (the receive stage takes it to the control path): a rule for it is
// accepted, with a warning at the rule that it never matches.
TEST_CASE("an ICMPv6 neighbour discovery rule warns that it never matches", "[commit][ipv6]") {
  const std::string r = "set security firewall name F rule 5 ";
  Expect({P(r, "action drop\n") + P(r, "icmpv6 name neighbor-solicitation"),
          "security firewall name F rule 5 icmpv6: neighbour discovery (ICMPv6 types 133-137) is "
          "handled before the firewall",
          true});
  Expect({P(r, "action accept\n") + P(r, "icmpv6 type 136"), "never matches it", true});
}

// IPv6 rules exist now: an IPv6 address on a firewalled or zoned interface says nothing (its
// traffic meets the rulesets' IPv6 entries), where it used to warn that IPv6 was dropped.
TEST_CASE("IPv6 addresses on firewalled or zoned interfaces no longer warn",
          "[commit][ipv6][firewall]") {
  const std::string text = std::string(kBase) +
                           "set interfaces dataplane dp0p1s1 address 2001:db8::1/64\n"
                           "set interfaces dataplane dp0p1s3 address 2001:db8:3::1/64\n";
  LoadedConfig cfg = LoadConfigText(text, "c.conf");
  for (const Diagnostic& d : cfg.diags.all()) {
    INFO(d.ToString());
    CHECK(d.message.find("IPv6 traffic") == std::string::npos);
  }
}

TEST_CASE("IKE and next-hop addresses that cannot work over IPv6", "[commit][ipv6]") {
  const std::string m = "set security vpn ipsec site-to-site peer ::ffff:192.0.2.7 ";
  for (const Case& c : std::vector<Case>{
           {m + "ike-group IKE",
            "peer address ::ffff:192.0.2.7 is an IPv4-mapped IPv6 address (IKE over IPv6 cannot "
            "reach it): write the IPv4 address"},
           {P(kPeer, "local-address 127.0.0.1"),
            "local-address 127.0.0.1 is a loopback address (it never leaves this host)"},
           {"set security vpn ipsec site-to-site peer ::1 ike-group IKE",
            "peer address ::1 is a loopback address"},
           {"set protocols static route6 ::/0 next-hop fe80::1",
            "next-hop fe80::1 is link-local: say which interface it is on (next-hop fe80::1 "
            "interface <name>)"},
       })
    Expect(c);
  // Vyatta's `peer 0.0.0.0` / `peer ::` are `any`: respond only, no "is a name" error.
  for (const std::string key : {"0.0.0.0", "::"}) {
    const std::string p = "set security vpn ipsec site-to-site peer " + key + " ";
    Expect({p + "ike-group IKE\n" + p + "local-address 192.0.2.1",
            "cannot initiate to peer '" + key + "' without an address"});
    LoadedConfig cfg = LoadConfigText(
        std::string(kBase) + p + "ike-group IKE\n" + p + "connection-type respond\n", "c.conf");
    for (const Diagnostic& d : cfg.diags.all())
      CHECK(d.message.find("is a name") == std::string::npos);
    CHECK_FALSE(BuildModel(cfg.tree).FindPeer(key)->address.has_value());
  }
  LoadedConfig ok = LoadConfigText(
      std::string(kBase) + "set protocols static route6 ::/0 next-hop fe80::1 interface dp0p1s1\n",
      "c.conf");
  CHECK(ok.ok());
}

TEST_CASE("a VRRP group with an IPv4 virtual address runs: no warning", "[commit][vrrp]") {
  // Its virtual address is a tunnel's local-address: `notify ipsec` has something to do.
  std::string text =
      std::string(kBase) +
      "set interfaces dataplane dp0p1s4 vrrp vrrp-group 3 virtual-address "
      "192.0.2.50\nset interfaces dataplane dp0p1s4 vrrp vrrp-group 3 notify ipsec\n"
      "set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.50\n";
  LoadedConfig cfg = LoadConfigText(text, "c.conf");
  for (const Diagnostic& d : cfg.diags.all()) {
    INFO(d.ToString());
    CHECK(d.ToString().find("vrrp") == std::string::npos);
  }
}
