// What a commit will do to the tunnels, from the running and the candidate IKE configurations.
#include "control/vpnd/commit_impact.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_replace.h"
#include "control/config/config_loader.h"
#include "control/vpnd/config_mapping.h"

using namespace portcullis;

namespace {

constexpr char kBase[] =
    "set security vpn ipsec ike-group IKE ike-version 2\n"
    "set security vpn ipsec ike-group IKE proposal 1 encryption aes256\n"
    "set security vpn ipsec ike-group IKE proposal 1 dh-group 14\n"
    "set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128\n"
    "set security vpn ipsec esp-group ESP proposal 1 hash null\n"
    "set security vpn ipsec esp-group ESP lifetime LIFE\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret 'k'\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.1\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 vti bind vti2\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 vti esp-group ESP\n"
    "set interfaces vti vti2 address 10.0.0.1/30\n";

constexpr char kPolicyPeer[] =
    "set security vpn ipsec site-to-site peer 192.0.2.9 authentication pre-shared-secret 'k'\n"
    "set security vpn ipsec site-to-site peer 192.0.2.9 ike-group IKE\n"
    "set security vpn ipsec site-to-site peer 192.0.2.9 connection-type respond\n"
    "set security vpn ipsec site-to-site peer 192.0.2.9 local-address 192.0.2.1\n"
    "set security vpn ipsec site-to-site peer 192.0.2.9 default-esp-group ESP\n"
    "set security vpn ipsec site-to-site peer 192.0.2.9 tunnel 1 local prefix 10.1.0.0/16\n"
    "set security vpn ipsec site-to-site peer 192.0.2.9 tunnel 1 remote prefix 10.2.0.0/16\n";

vpnd::PeerConfigs Peers(const std::string& text, vpnd::ReqidAllocator& reqids) {
  config::LoadedConfig c = config::LoadConfigText(text);
  INFO((c.diags.Sorted().empty() ? std::string() : c.diags.Sorted()[0].ToString()));
  REQUIRE(c.ok());
  absl::StatusOr<vpnd::IkeSetup> s = vpnd::MapConfig(config::BuildModel(c.tree), reqids);
  REQUIRE(s.ok());
  return s->peers;
}

std::string Base(int lifetime) {
  return absl::StrReplaceAll(kBase, {{"LIFE", std::to_string(lifetime)}});
}

}  // namespace

TEST_CASE("an unchanged configuration resets nothing", "[commit_impact]") {
  vpnd::ReqidAllocator r;
  CHECK(vpnd::DescribeCommitImpact(Peers(Base(3600), r), Peers(Base(3600), r)) == "");
}

TEST_CASE("a tunnel setting resets its peer, naming the tunnel", "[commit_impact]") {
  vpnd::ReqidAllocator r;
  CHECK(vpnd::DescribeCommitImpact(Peers(Base(3600), r), Peers(Base(1800), r)) ==
        "peer 192.0.2.2: reset (tunnel vti (vti2) changed): its IKE SA and tunnels are "
        "renegotiated\n");
}

TEST_CASE("peers created and removed; IKE settings named", "[commit_impact]") {
  vpnd::ReqidAllocator r;
  std::string more = Base(3600) + kPolicyPeer;
  CHECK(vpnd::DescribeCommitImpact(Peers(Base(3600), r), Peers(more, r)) ==
        "peer 192.0.2.9: created (tunnel 1): waits for the peer\n");
  CHECK(vpnd::DescribeCommitImpact(Peers(more, r), Peers(Base(3600), r)) ==
        "peer 192.0.2.9: removed: its IKE SA and tunnels are deleted\n");
  std::string ike = Base(3600) + "set security vpn ipsec ike-group IKE lifetime 3600\n";
  CHECK(vpnd::DescribeCommitImpact(Peers(Base(3600), r), Peers(ike, r)) ==
        "peer 192.0.2.2: reset (IKE settings changed): its IKE SA and tunnels are "
        "renegotiated\n");
  std::string two = more +
                    "set security vpn ipsec site-to-site peer 192.0.2.9 tunnel 2 local "
                    "prefix 10.3.0.0/16\n"
                    "set security vpn ipsec site-to-site peer 192.0.2.9 tunnel 2 remote "
                    "prefix 10.4.0.0/16\n";
  CHECK(vpnd::DescribeCommitImpact(Peers(more, r), Peers(two, r)) ==
        "peer 192.0.2.9: reset (tunnel 2 created): its IKE SA and tunnels are renegotiated\n");
}
