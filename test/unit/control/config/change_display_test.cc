// show in a configuration session: the candidate in brace form with +/- in the first column
// for what is not committed, below a path if asked, secrets hidden.
#include "control/config/change_display.h"

#include <catch2/catch.hpp>

#include "control/config/config_loader.h"

using namespace portcullis::config;

namespace {
constexpr char kRunning[] =
    "set security vpn ipsec esp-group ESP lifetime 3600\n"
    "set security vpn ipsec esp-group ESP pfs enable\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret 'old'\n"
    "set interfaces vti vti0 address 10.0.0.1/30\n";
constexpr char kCandidate[] =
    "set security vpn ipsec esp-group ESP lifetime 1800\n"
    "set security vpn ipsec esp-group ESP pfs enable\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret 'new'\n"
    "set security vpn ipsec site-to-site peer 192.0.2.3 ike-group IKE\n";
}  // namespace

TEST_CASE("show marks added and removed lines, whole blocks too", "[change_display]") {
  LoadedConfig r = LoadConfigText(kRunning), c = LoadConfigText(kCandidate);
  absl::StatusOr<std::string> out = ShowChanges(r.tree, c.tree);
  REQUIRE(out.ok());
  CHECK(*out ==
        "-interfaces {\n"
        "-    vti vti0 {\n"
        "-        address 10.0.0.1/30\n"
        "-    }\n"
        "-}\n"
        " security {\n"
        "     vpn {\n"
        "         ipsec {\n"
        "             esp-group ESP {\n"
        "-                lifetime 3600\n"
        "+                lifetime 1800\n"
        "                 pfs enable\n"
        "             }\n"
        "             site-to-site {\n"
        "                 peer 192.0.2.2 {\n"
        "                     authentication {\n"
        "-                        pre-shared-secret ********\n"
        "+                        pre-shared-secret ********\n"
        "                     }\n"
        "                 }\n"
        "+                peer 192.0.2.3 {\n"
        "+                    ike-group IKE\n"
        "+                }\n"
        "             }\n"
        "         }\n"
        "     }\n"
        " }\n");
  CHECK(out->find("old") == std::string::npos);
  CHECK(out->find("new") == std::string::npos);
}

TEST_CASE("show with no changes has no marks", "[change_display]") {
  LoadedConfig r = LoadConfigText(kRunning);
  absl::StatusOr<std::string> out = ShowChanges(r.tree, r.tree, {"interfaces"});
  REQUIRE(out.ok());
  CHECK(*out == " vti vti0 {\n     address 10.0.0.1/30\n }\n");
}

TEST_CASE("show below a path, a leaf, an empty or a wrong path", "[change_display]") {
  LoadedConfig r = LoadConfigText(kRunning), c = LoadConfigText(kCandidate);
  CHECK(*ShowChanges(r.tree, c.tree, {"security", "vpn", "ipsec", "esp-group", "ESP"}) ==
        "-lifetime 3600\n+lifetime 1800\n pfs enable\n");
  CHECK(
      *ShowChanges(r.tree, c.tree, {"security", "vpn", "ipsec", "esp-group", "ESP", "lifetime"}) ==
      "-lifetime 3600\n+lifetime 1800\n");
  CHECK(*ShowChanges(r.tree, c.tree, {"protocols"}) ==
        "Configuration under specified path is empty\n");
  absl::StatusOr<std::string> bad = ShowChanges(r.tree, c.tree, {"security", "vpx"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "unknown configuration node 'vpx' (did you mean 'vpn'?)");
}
