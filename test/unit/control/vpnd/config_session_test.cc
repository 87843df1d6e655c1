// One configuration session: set and delete in both dialects, all or nothing; show, compare,
// discard, replace and rebase.
#include "control/vpnd/config_session.h"

#include <catch2/catch.hpp>

#include "control/config/config_clone.h"
#include "control/config/config_loader.h"

using namespace portcullis;
using config::Command;

namespace {

constexpr char kRunning[] =
    "set security vpn ipsec ike-group IKE ike-version 2\n"
    "set security vpn ipsec esp-group ESP lifetime 3600\n"
    "set interfaces vti vti2 address 10.0.0.1/30\n";

std::shared_ptr<const config::ConfigTree> Tree(const char* text) {
  config::LoadedConfig c = config::LoadConfigText(text);
  return config::CloneTree(c.tree);
}

using W = std::vector<std::string>;

}  // namespace

TEST_CASE("set, show, compare and discard", "[config_session]") {
  vpnd::ConfigSession s(1, "root", Tree(kRunning), 7, absl::UnixEpoch());
  CHECK_FALSE(s.changed());
  CHECK(s.Compare() == "No changes between working and active configurations\n");
  REQUIRE(s.Apply(Command::Op::kSet,
                  {"security", "vpn", "ipsec", "esp-group", "ESP", "lifetime", "1800"})
              .ok());
  CHECK(s.changed());
  CHECK(s.Compare() == "set security vpn ipsec esp-group ESP lifetime '1800'\n");
  CHECK(*s.Show({"security", "vpn", "ipsec", "esp-group"}) ==
        " ESP {\n-    lifetime 3600\n+    lifetime 1800\n }\n");
  s.Discard();
  CHECK_FALSE(s.changed());
  CHECK(s.base_generation() == 7);
}

TEST_CASE("a bad set or delete changes nothing and says why", "[config_session]") {
  vpnd::ConfigSession s(1, "root", Tree(kRunning), 1, absl::UnixEpoch());
  absl::StatusOr<std::string> r = s.Apply(
      Command::Op::kSet, {"security", "vpn", "ipsec", "esp-group", "ESP", "lifetime", "10"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "security vpn ipsec esp-group ESP lifetime: value '10' out of range 30..86400\n");
  r = s.Apply(Command::Op::kDelete, {"protocols"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "protocols: nothing to delete: the node is not configured\n");
  CHECK_FALSE(s.changed());
}

TEST_CASE("VyOS words map onto the model; a new VyOS ike-group is IKEv2", "[config_session]") {
  vpnd::ConfigSession s(1, "root", Tree(kRunning), 1, absl::UnixEpoch());
  REQUIRE(s.Apply(Command::Op::kSet,
                  {"vpn", "ipsec", "ike-group", "NEW", "proposal", "1", "hash", "sha256"})
              .ok());
  REQUIRE(s.Apply(Command::Op::kSet, {"vpn", "ipsec", "ike-group", "IKE", "key-exchange", "ikev1"})
              .ok());
  REQUIRE(
      s.Apply(Command::Op::kSet, {"vpn", "ipsec", "ike-group", "IKE", "lifetime", "3600"}).ok());
  CHECK(s.Compare() ==
        "set security vpn ipsec ike-group IKE ike-version '1'\n"
        "set security vpn ipsec ike-group IKE lifetime '3600'\n"
        "set security vpn ipsec ike-group NEW ike-version '2'\n"
        "set security vpn ipsec ike-group NEW proposal 1 hash 'sha2_256'\n");
  REQUIRE(s.Apply(Command::Op::kDelete, {"vpn", "ipsec", "ike-group", "NEW"}).ok());
  CHECK(*s.Show({"vpn", "ipsec", "ike-group", "IKE", "lifetime"}) == "+lifetime 3600\n");
  absl::StatusOr<std::string> w = s.Apply(Command::Op::kSet, {"system", "host-name", "x"});
  REQUIRE(w.ok());
  CHECK(*w == "warning: system: ignored: 'system' is not managed by Portcullis (1 line)\n");
  absl::StatusOr<std::string> bad = s.Apply(
      Command::Op::kSet, {"firewall", "ipv4", "forward", "filter", "rule", "10", "action", "jump"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("put them in a file and 'load' it") != std::string::npos);
}

TEST_CASE("replace and rebase", "[config_session]") {
  vpnd::ConfigSession s(3, "ops", Tree(kRunning), 1, absl::UnixEpoch());
  config::LoadedConfig other = config::LoadConfigText("set interfaces vti vti9\n");
  s.Replace(config::CloneTree(other.tree));
  CHECK(s.changed());
  std::shared_ptr<const config::ConfigTree> next = Tree("set interfaces vti vti9\n");
  s.Rebase(next, 2, nullptr);
  CHECK_FALSE(s.changed());
  CHECK(s.base_generation() == 2);
  CHECK(s.base() == next);
  CHECK(vpnd::CanonicalPath({"vpn", "ipsec"}) == W{"security", "vpn", "ipsec"});
  CHECK(vpnd::CanonicalPath({"interfaces"}) == W{"interfaces"});
}

// VyOS lets a tunnel list several prefixes; the canonical leaf holds one. Pasted one command at
// a time, a second VyOS prefix must not replace the first without a word (#21: dual-stack
// tunnels list an IPv4 and an IPv6 prefix).
TEST_CASE("a second VyOS tunnel prefix in a session is refused", "[config_session][ipv6]") {
  vpnd::ConfigSession s(1, "root", Tree(kRunning), 1, absl::UnixEpoch());
  const W t = {"vpn", "ipsec", "site-to-site", "peer", "B", "tunnel", "1"};
  auto with = [&](std::vector<std::string> tail) {
    W w = t;
    w.insert(w.end(), tail.begin(), tail.end());
    return w;
  };
  REQUIRE(s.Apply(Command::Op::kSet, with({"local", "prefix", "10.1.0.0/24"})).ok());
  absl::StatusOr<std::string> r =
      s.Apply(Command::Op::kSet, with({"local", "prefix", "2001:db8:a::/64"}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "tunnel 1 already has local prefix 10.1.0.0/24: Portcullis takes one prefix per tunnel "
        "side; delete it first to replace it, or put 2001:db8:a::/64 in a tunnel of its own (one "
        "tunnel per address family)\n");
  CHECK(s.Compare().find("10.1.0.0/24") != std::string::npos);
  // The same value again, a Vyatta-dialect set (which replaces, as in Vyatta), after a delete,
  // and VyOS's 0.0.0.0/0 + ::/0 pair of a route-based peer: accepted.
  CHECK(s.Apply(Command::Op::kSet, with({"local", "prefix", "10.1.0.0/24"})).ok());
  W vyatta = {"security", "vpn", "ipsec", "site-to-site", "peer",       "B",
              "tunnel",   "1",   "local", "prefix",       "10.3.0.0/24"};
  CHECK(s.Apply(Command::Op::kSet, vyatta).ok());
  REQUIRE(s.Apply(Command::Op::kDelete, with({"local", "prefix"})).ok());
  CHECK(s.Apply(Command::Op::kSet, with({"local", "prefix", "2001:db8:a::/64"})).ok());
  CHECK(s.Apply(Command::Op::kSet, with({"remote", "prefix", "0.0.0.0/0"})).ok());
  CHECK(s.Apply(Command::Op::kSet, with({"remote", "prefix", "::/0"})).ok());
}
