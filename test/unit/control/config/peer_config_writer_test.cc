// `generate vpn peer-config`: the other end written from each example configuration passes
// `check --pair` against ours, in both dialects; the swanctl form carries strongSwan's names.
#include "control/config/peer_config_writer.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "control/config/config_loader.h"
#include "control/config/pair_check.h"

using namespace portcullis::config;

namespace {

Model Load(const std::string& path) {
  absl::StatusOr<LoadedConfig> l = LoadConfigFile(path);
  REQUIRE(l.ok());
  REQUIRE(l->ok());
  return BuildModel(l->tree);
}

void CheckMirror(const std::string& file, const std::string& peer, PeerConfigFormat f) {
  INFO(file << " " << peer);
  Model ours = Load(file);
  absl::StatusOr<std::string> text = GeneratePeerConfig(ours, peer, f);
  REQUIRE(text.ok());
  INFO(*text);
  LoadedConfig theirs = LoadConfigText(*text, "generated");
  for (const Diagnostic& d : theirs.diags.Sorted()) INFO(d.ToString());
  REQUIRE(theirs.ok());
  PairReport r = CheckPair(file, ours, "generated", BuildModel(theirs.tree));
  for (const PairMismatch& m : r.mismatches) INFO(m.check << ": " << m.message);
  CHECK(r.ok());
  CHECK(r.mismatches.empty());
}

}  // namespace

TEST_CASE("the generated other end passes check --pair, both dialects", "[config][generate]") {
  for (PeerConfigFormat f : {PeerConfigFormat::kVyatta, PeerConfigFormat::kVyos}) {
    CheckMirror("configs/vyatta-west.conf", "159.8.98.213", f);
    CheckMirror("configs/vyatta-east.conf", "peer-169.50.194.197", f);
    CheckMirror("configs/vyos-site-a.conf", "SITE-B", f);
    CheckMirror("configs/vyos-site-b.conf", "SITE-A", f);
  }
}

TEST_CASE("route-based: the mirrored /30 and the route to our LAN", "[config][generate]") {
  Model west = Load("configs/vyatta-west.conf");
  auto text = GeneratePeerConfig(west, "159.8.98.213", PeerConfigFormat::kVyatta);
  REQUIRE(text.ok());
  CHECK(absl::StrContains(*text, "set interfaces vti vti2 address 172.16.0.6/30\n"));
  CHECK(absl::StrContains(
      *text, "set protocols static interface-route 10.165.125.112/28 next-hop-interface vti2\n"));
  CHECK(absl::StrContains(*text, "site-to-site peer 169.50.194.197 local-address 159.8.98.213\n"));
  CHECK(absl::StrContains(*text, "peer 169.50.194.197 authentication id 159.8.98.213\n"));
  CHECK(absl::StrContains(*text, "peer 169.50.194.197 authentication remote-id 169.50.194.197\n"));
  CHECK(absl::StrContains(*text, "esp-group ESP-Fergie pfs dh-group20\n"));
  auto vyos = GeneratePeerConfig(west, "159.8.98.213", PeerConfigFormat::kVyos);
  REQUIRE(vyos.ok());
  CHECK(absl::StrContains(*vyos, "set vpn ipsec "));
}

TEST_CASE("swanctl: strongSwan's algorithm names, selectors swapped", "[config][generate]") {
  Model a = Load("configs/vyos-site-a.conf");
  auto text = GeneratePeerConfig(a, "SITE-B", PeerConfigFormat::kSwanctl);
  REQUIRE(text.ok());
  CHECK(absl::StrContains(*text, "local_addrs = 198.51.100.1\n"));
  CHECK(absl::StrContains(*text, "remote_addrs = 203.0.113.1\n"));
  CHECK(absl::StrContains(*text, "proposals = aes256-sha256-modp2048\n"));
  CHECK(absl::StrContains(*text, "esp_proposals = aes256-sha256-modp2048\n"));
  CHECK(absl::StrContains(*text, "local_ts = 10.2.0.0/24\n"));
  CHECK(absl::StrContains(*text, "remote_ts = 10.1.0.0/24\n"));
  CHECK(absl::StrContains(*text, "id = site-b@example.com\n"));
  CHECK(absl::StrContains(*text, "secret = \"YourVeryStrongPSKHere123!\"\n"));
  Model west = Load("configs/vyatta-west.conf");
  auto gcm = GeneratePeerConfig(west, "159.8.98.213", PeerConfigFormat::kSwanctl);
  REQUIRE(gcm.ok());
  CHECK(absl::StrContains(*gcm, "proposals = aes256-sha256-ecp384\n"));
  CHECK(absl::StrContains(*gcm, "esp_proposals = aes128gcm16-ecp384\n"));
}

TEST_CASE("esn and replay-window are mirrored; swanctl gets -esn and replay_window",
          "[config][generate]") {
  absl::StatusOr<LoadedConfig> l = LoadConfigFile("configs/vyos-site-a.conf");
  REQUIRE(l.ok());
  std::string text;
  for (const Diagnostic& d : l->diags.all()) INFO(d.ToString());
  Model a = BuildModel(l->tree);
  for (auto& [name, e] : a.esp_groups) e.esn = true;
  for (Peer& p : a.peers) p.replay_window = 64;
  auto vyatta = GeneratePeerConfig(a, "SITE-B", PeerConfigFormat::kVyatta);
  REQUIRE(vyatta.ok());
  INFO(*vyatta);
  CHECK(absl::StrContains(*vyatta, " esn enable\n"));
  CHECK(absl::StrContains(*vyatta, " replay-window 64\n"));
  LoadedConfig theirs = LoadConfigText(*vyatta, "generated");
  REQUIRE(theirs.ok());
  Model b = BuildModel(theirs.tree);
  CHECK(CheckPair("a", a, "generated", b).mismatches.empty());
  for (const auto& [name, e] : b.esp_groups) CHECK(e.esn);
  auto swan = GeneratePeerConfig(a, "SITE-B", PeerConfigFormat::kSwanctl);
  REQUIRE(swan.ok());
  CHECK(absl::StrContains(*swan, "esp_proposals = aes256-sha256-modp2048-esn\n"));
  CHECK(absl::StrContains(*swan, "replay_window = 64\n"));
}

TEST_CASE("generate refuses what it cannot mirror", "[config][generate]") {
  Model a = Load("configs/vyos-site-a.conf");
  CHECK(GeneratePeerConfig(a, "SITE-Z", PeerConfigFormat::kVyatta).status().message() ==
        "peer SITE-Z is not configured");
}

// #21: an IPv6 peer with a dual-stack VTI. The other end gets the other host of each VTI
// subnet (an IPv6 /127 and /64 too), an interface-route6 for each IPv6 LAN, and in swanctl the
// VTI selectors vpnd proposes (0.0.0.0/0 and ::/0, by the VTI's families).
TEST_CASE("IPv6: mirrored VTI addresses, interface-route6, both families in swanctl",
          "[config][generate][ipv6]") {
  const std::string p = "set security vpn ipsec site-to-site peer 2001:db8::2 ";
  std::string text =
      "set security vpn ike make-before-break\n"
      "set interfaces dataplane dp0p1 address 2001:db8::1/64\n"
      "set interfaces dataplane dp0p2 address 2001:db8:a::1/64\n"
      "set interfaces dataplane dp0p2 address 10.1.0.1/24\n"
      "set interfaces dataplane dp0p2 address fe80::1/64\n"
      "set interfaces vti vti1 address 2001:db8:ff::/127\n"
      "set interfaces vti vti1 address 2001:db8:fe::1/64\n"
      "set interfaces vti vti1 address 10.255.0.1/30\n"
      "set security vpn ipsec ike-group IKE ike-version 2\n"
      "set security vpn ipsec ike-group IKE proposal 1 encryption aes256\n"
      "set security vpn ipsec ike-group IKE proposal 1 hash sha2_256\n"
      "set security vpn ipsec ike-group IKE proposal 1 dh-group 14\n"
      "set security vpn ipsec ike-group IKE dead-peer-detection action restart\n"
      "set security vpn ipsec ike-group IKE dead-peer-detection interval 30\n"
      "set security vpn ipsec ike-group IKE dead-peer-detection timeout 120\n"
      "set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128\n"
      "set security vpn ipsec esp-group ESP proposal 1 hash null\n" +
      p + "authentication pre-shared-secret abcdefghijklmnopqrstuvwxyz\n" + p +
      "local-address 2001:db8::1\n" + p + "ike-group IKE\n" + p + "vti bind vti1\n" + p +
      "vti esp-group ESP\n";
  LoadedConfig l = LoadConfigText(text, "v6.conf");
  for (const Diagnostic& d : l.diags.Sorted()) INFO(d.ToString());
  REQUIRE(l.ok());
  Model ours = BuildModel(l.tree);
  auto vyatta = GeneratePeerConfig(ours, "2001:db8::2", PeerConfigFormat::kVyatta);
  INFO(vyatta.status().ToString());
  REQUIRE(vyatta.ok());
  INFO(*vyatta);
  CHECK(absl::StrContains(*vyatta, "set interfaces vti vti1 address 2001:db8:ff::1/127\n"));
  CHECK(absl::StrContains(*vyatta, "set interfaces vti vti1 address 2001:db8:fe::2/64\n"));
  CHECK(absl::StrContains(*vyatta, "set interfaces vti vti1 address 10.255.0.2/30\n"));
  CHECK(absl::StrContains(
      *vyatta, "set protocols static interface-route6 2001:db8:a::/64 next-hop-interface vti1\n"));
  CHECK(absl::StrContains(
      *vyatta, "set protocols static interface-route 10.1.0.0/24 next-hop-interface vti1\n"));
  CHECK(absl::StrContains(*vyatta, "peer 2001:db8::1 local-address 2001:db8::2\n"));
  CHECK_FALSE(absl::StrContains(*vyatta, "fe80"));  // link-local LANs are not routed
  // A real Vyatta's VTI proposes only the outer family: said in the Vyatta form only.
  CHECK(absl::StrContains(*vyatta,
                          "# warning: vti1 carries IPv4 and IPv6, and a Vyatta 5600 VTI proposes "
                          "only IPv6 selectors: the rest is lost; use format vyos or swanctl for "
                          "that peer\n"));
  auto vyos = GeneratePeerConfig(ours, "2001:db8::2", PeerConfigFormat::kVyos);
  REQUIRE(vyos.ok());
  CHECK_FALSE(absl::StrContains(*vyos, "# warning"));
  auto swan = GeneratePeerConfig(ours, "2001:db8::2", PeerConfigFormat::kSwanctl);
  REQUIRE(swan.ok());
  CHECK(absl::StrContains(*swan, "local_ts = 0.0.0.0/0,::/0\n"));
  CHECK(absl::StrContains(*swan, "local_addrs = 2001:db8::2\n"));
  // The generated end loads and agrees with ours.
  LoadedConfig theirs = LoadConfigText(*vyatta, "generated");
  for (const Diagnostic& d : theirs.diags.Sorted()) INFO(d.ToString());
  REQUIRE(theirs.ok());
  PairReport r = CheckPair("v6.conf", ours, "generated", BuildModel(theirs.tree));
  std::string mismatches;
  for (const PairMismatch& m : r.mismatches) mismatches += m.check + ": " + m.message + "\n";
  CHECK(mismatches == "");
  // An IPv6 VTI subnet wider than /64 has no obvious other host.
  Model wide = ours;
  wide.interfaces["vti1"].addresses = {*IpPrefix::Parse("2001:db8:fe::1/56")};
  CHECK(GeneratePeerConfig(wide, "2001:db8::2", PeerConfigFormat::kVyatta).status().message() ==
        "VTI address 2001:db8:fe::1/56: only an IPv4 /24../31 or an IPv6 /64../127 can be "
        "mirrored");
}

TEST_CASE("Vyatta form warns of tunnels of the other family than the outer one",
          "[config][generate][ipv6]") {
  Model a = Load("configs/vyatta-west.conf");
  // A policy-based IPv6 tunnel to the seed's IPv4 peer.
  Peer& p = const_cast<Peer&>(*a.FindPeer("159.8.98.213"));
  p.vti_bind.clear();
  Tunnel t;
  t.id = 3;
  t.selector.local = IpPrefix::Parse("2001:db8:a::/64");
  t.selector.remote = IpPrefix::Parse("2001:db8:b::/64");
  t.esp_group = p.vti_esp_group;
  p.tunnels = {t};
  p.default_esp_group = p.vti_esp_group;
  auto text = GeneratePeerConfig(a, "159.8.98.213", PeerConfigFormat::kVyatta);
  REQUIRE(text.ok());
  CHECK(absl::StrContains(*text,
                          "# warning: tunnel 3 is IPv6 over IPv4, which a Vyatta 5600 "
                          "refuses: use format vyos or swanctl for that peer\n"));
}
