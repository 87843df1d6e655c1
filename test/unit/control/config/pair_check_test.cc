// check --pair: a correct pair passes; each broken pair fails with the right class and both values.
#include "control/config/pair_check.h"

#include <catch2/catch.hpp>

#include "control/config/config_loader.h"

using namespace portcullis::config;

namespace {

constexpr char kA[] = R"(set interfaces dataplane dp0p1s1 address 192.0.2.1/24
set security vpn ike make-before-break
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE lifetime 28800
set security vpn ipsec ike-group IKE proposal 1 encryption aes256
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec ike-group IKE proposal 1 dh-group 14
set security vpn ipsec ike-group IKE dead-peer-detection action restart
set security vpn ipsec esp-group ESP lifetime 3600
set security vpn ipsec esp-group ESP pfs enable
set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128
set security vpn ipsec esp-group ESP proposal 1 hash null
set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret s3cret
set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE
set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.1
set security vpn ipsec site-to-site peer 192.0.2.2 default-esp-group ESP
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 local prefix 10.1.0.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 remote prefix 10.2.0.0/24
)";

constexpr char kB[] = R"(set interfaces dataplane dp0p1s1 address 192.0.2.2/24
set security vpn ike make-before-break
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE lifetime 28800
set security vpn ipsec ike-group IKE proposal 1 encryption aes256
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec ike-group IKE proposal 1 dh-group 14
set security vpn ipsec ike-group IKE dead-peer-detection action restart
set security vpn ipsec esp-group ESP lifetime 3600
set security vpn ipsec esp-group ESP pfs dh-group14
set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128
set security vpn ipsec esp-group ESP proposal 1 hash null
set security vpn ipsec site-to-site peer 192.0.2.1 authentication pre-shared-secret s3cret
set security vpn ipsec site-to-site peer 192.0.2.1 ike-group IKE
set security vpn ipsec site-to-site peer 192.0.2.1 local-address 192.0.2.2
set security vpn ipsec site-to-site peer 192.0.2.1 default-esp-group ESP
set security vpn ipsec site-to-site peer 192.0.2.1 tunnel 1 local prefix 10.2.0.0/24
set security vpn ipsec site-to-site peer 192.0.2.1 tunnel 1 remote prefix 10.1.0.0/24
)";

PairReport Check(const std::string& extra_a, const std::string& extra_b) {
  LoadedConfig a = LoadConfigText(std::string(kA) + extra_a + "\n", "A");
  LoadedConfig b = LoadConfigText(std::string(kB) + extra_b + "\n", "B");
  return CheckPair("A", BuildModel(a.tree), "B", BuildModel(b.tree));
}

std::string Dump(const PairReport& r) {
  std::string out;
  for (const auto& m : r.mismatches) out += "[" + m.check + "] " + m.message + "\n";
  return out;
}

struct Broken {
  std::string a, b;
  std::string check;
  std::string message;  // substring
};

constexpr char kPa[] = "set security vpn ipsec site-to-site peer 192.0.2.2 ";
constexpr char kPb[] = "set security vpn ipsec site-to-site peer 192.0.2.1 ";

std::string L(const char* prefix, const std::string& rest) {
  return prefix + rest;
}

}  // namespace

// A's pfs 'enable' (the IKE group's dh 14) and B's 'dh-group14' are the same PFS.
TEST_CASE("a matching pair passes", "[pair]") {
  PairReport r = Check("", "");
  INFO(Dump(r));
  CHECK(r.ok());
  REQUIRE(r.pairs.size() == 1);
  CHECK(r.pairs[0] == "A peer 192.0.2.2 <-> B peer 192.0.2.1");
  CHECK(r.checks >= 15);
}

TEST_CASE("each mismatch class is reported with both values", "[pair]") {
  const std::string ike = "set security vpn ipsec ike-group IKE ";
  const std::string esp = "set security vpn ipsec esp-group ESP ";
  for (const Broken& t : std::vector<Broken>{
           {ike + "ike-version 1", "", "ike-version",
            "IKE version differs: A peer 192.0.2.2 ike-version 1, B peer 192.0.2.1 ike-version 2"},
           {"delete security vpn ipsec ike-group IKE ike-version", "", "ike-version",
            "A peer 192.0.2.2 ike-version 1 (unset: the Vyatta default)"},
           {ike + "proposal 1 encryption aes128", "", "ike-proposal",
            "no common IKE proposal: encryption differs: A peer 192.0.2.2 ike-group IKE offers "
            "aes128, B peer 192.0.2.1 ike-group IKE offers aes256"},
           {ike + "proposal 1 hash sha1", "", "ike-proposal", "hash differs"},
           {ike + "proposal 1 dh-group 20", "", "ike-proposal",
            "dh-group differs: A peer 192.0.2.2 ike-group IKE offers 20, B peer 192.0.2.1 "
            "ike-group IKE offers 14"},
           {ike + "proposal 1 dh-group 20\n" + ike + "proposal 2 encryption aes128\n" + ike +
                "proposal 2 hash sha2_256\n" + ike + "proposal 2 dh-group 14",
            ike + "proposal 2 encryption aes128\n" + ike + "proposal 2 hash sha2_256\n" + ike +
                "proposal 2 dh-group 20\n" + "delete security vpn ipsec ike-group IKE proposal 1",
            "ike-proposal",
            "no proposal matches as a whole: A peer 192.0.2.2 ike-group IKE offers "
            "aes256-sha2_256-dh20, aes128-sha2_256-dh14; B peer 192.0.2.1 ike-group IKE offers "
            "aes128-sha2_256-dh20"},
           {esp + "proposal 1 encryption aes256gcm128", "", "esp-proposal",
            "no common ESP proposal: encryption differs: A peer 192.0.2.2 esp-group ESP offers "
            "aes256gcm128, B peer 192.0.2.1 esp-group ESP offers aes128gcm128"},
           {esp + "proposal 1 encryption aes256\n" + esp + "proposal 1 hash sha1",
            esp + "proposal 1 encryption aes256\n" + esp + "proposal 1 hash sha2_256",
            "esp-proposal", "hash differs: A peer 192.0.2.2 esp-group ESP offers sha1"},
           {ike + "lifetime 86400", "", "ike-lifetime",
            "IKE lifetime differs: A peer 192.0.2.2 ike-group IKE lifetime 86400, B peer "
            "192.0.2.1 ike-group IKE lifetime 28800"},
           {esp + "lifetime 1800", "", "esp-lifetime",
            "ESP lifetime differs: A peer 192.0.2.2 esp-group ESP lifetime 1800, B peer 192.0.2.1 "
            "esp-group ESP lifetime 3600"},
           {ike + "lifetime 3600", ike + "lifetime 3600", "ike-vs-esp-lifetime",
            "IKE lifetime not longer than ESP lifetime on A peer 192.0.2.2: ike-group IKE "
            "lifetime 3600 <= esp-group ESP lifetime 3600"},
           {esp + "pfs disable", "", "pfs",
            "PFS differs (tunnels come up, then fail on rekey): A peer 192.0.2.2 esp-group ESP pfs "
            "disable, B peer 192.0.2.1 esp-group ESP pfs dh-group14"},
           {esp + "pfs dh-group19", "", "pfs", "pfs dh-group19"},
           {esp + "esn enable", "", "esn",
            "ESN differs (no CHILD SA: NO_PROPOSAL_CHOSEN): A peer 192.0.2.2 esp-group ESP esn "
            "enable, B peer 192.0.2.1 esp-group ESP esn disable"},
           {L(kPa, "authentication id 192.0.2.9"), "", "ids",
            "id/remote-id not mirrored: A peer 192.0.2.2 authentication id '192.0.2.9', but B "
            "peer 192.0.2.1 authentication remote-id '192.0.2.1' (unset: its peer address)"},
           {"", L(kPb, "authentication remote-id gw-a.example.com"), "ids",
            "A peer 192.0.2.2 authentication id '192.0.2.1' (unset: its local-address), but B "
            "peer 192.0.2.1 authentication remote-id 'gw-a.example.com'"},
           {"", L(kPb, "authentication pre-shared-secret other"), "psk",
            "pre-shared-secret differs between A peer 192.0.2.2 and B peer 192.0.2.1 (values not "
            "shown)"},
           {L(kPa, "tunnel 1 remote prefix 10.3.0.0/24"), "", "traffic-selectors",
            "traffic selectors not swapped: A peer 192.0.2.2 tunnel 1 local 10.1.0.0/24 remote "
            "10.3.0.0/24 has no mirror in B (tunnel 1 local 10.2.0.0/24 remote 10.1.0.0/24)"},
           {L(kPa, "tunnel 1 protocol tcp"), L(kPb, "tunnel 1 protocol udp"), "traffic-selectors",
            "protocol tcp"},
           {"set interfaces vti vti0 address 172.16.0.1/30\n" +
                std::string("delete security vpn ipsec site-to-site peer 192.0.2.2 tunnel\n") +
                L(kPa, "vti bind vti0"),
            "", "vti-vs-policy",
            "one side is route-based and the other policy-based: A peer 192.0.2.2 is route-based "
            "(vti bind vti0), B peer 192.0.2.1 is policy-based (tunnel selectors)"},
           {"", "delete security vpn ike make-before-break", "make-before-break",
            "IKEv2 without make-before-break on B"},
           {"", "delete security vpn ipsec ike-group IKE dead-peer-detection", "dpd",
            "DPD missing on B peer 192.0.2.1: ike-group IKE has no dead-peer-detection (the other "
            "side has it)"},
           {L(kPa, "local-address 192.0.2.7"), "", "peer-address",
            "peer address is not the other side's local-address: B peer 192.0.2.1 points at "
            "192.0.2.1, but A peer 192.0.2.2 has local-address 192.0.2.7"},
           {L(kPa, "connection-type respond"), L(kPb, "connection-type respond"), "connection-type",
            "nobody initiates"},
       }) {
    INFO("A +:\n" << t.a << "\nB +:\n" << t.b);
    PairReport r = Check(t.a, t.b);
    std::string dump = Dump(r);
    INFO(dump);
    bool found = false;
    for (const auto& m : r.mismatches)
      found |= m.check == t.check && m.message.find(t.message) != std::string::npos;
    CHECK(found);
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("peers are paired by address; unrelated configs say so", "[pair]") {
  LoadedConfig a = LoadConfigText(kA, "A");
  LoadedConfig c = LoadConfigText(
      std::string(kA) + "set security vpn ipsec site-to-site peer 192.0.2.9 ike-group IKE\n", "C");
  // A second peer in C that points elsewhere is not compared.
  LoadedConfig b = LoadConfigText(kB, "B");
  PairReport r = CheckPair("C", BuildModel(c.tree), "B", BuildModel(b.tree));
  CHECK(r.pairs.size() == 1);
  LoadedConfig empty = LoadConfigText("set interfaces dataplane dp0p1s1 address 192.0.2.5/24\n");
  PairReport none = CheckPair("A", BuildModel(a.tree), "E", BuildModel(empty.tree));
  CHECK_FALSE(none.ok());
  REQUIRE(none.mismatches.size() == 1);
  CHECK(none.mismatches[0].check == "peer-address");
  CHECK_THAT(none.mismatches[0].message, Catch::Contains("E: no peers"));
}

TEST_CASE("the example pairs in configs/ match", "[pair]") {
  for (auto [fa, fb] : {std::pair{"configs/vyatta-west.conf", "configs/vyatta-east.conf"},
                        std::pair{"configs/vyos-site-a.conf", "configs/vyos-site-b.conf"}}) {
    auto a = LoadConfigFile(fa);
    auto b = LoadConfigFile(fb);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    PairReport r = CheckPair(fa, BuildModel(a->tree), fb, BuildModel(b->tree));
    INFO(fa << " <-> " << fb << "\n" << Dump(r));
    CHECK(r.ok());
  }
}

TEST_CASE("the seed's east config with the typo, against west", "[pair]") {
  auto w = LoadConfigFile("test/data/seed-vyatta-west.conf");
  auto e = LoadConfigFile("test/data/seed-vyatta-east.conf");
  REQUIRE(w.ok());
  REQUIRE(e.ok());
  PairReport r = CheckPair("west", BuildModel(w->tree), "east", BuildModel(e->tree));
  // The lost id line defaults to the local address, which is what west expects; the seed pair
  // lacks DPD on both sides.
  INFO(Dump(r));
  int dpd = 0;
  for (const auto& m : r.mismatches) {
    CHECK(m.check == "dpd");
    dpd += m.check == "dpd";
  }
  CHECK(dpd == 2);
}
