// Configuration model -> IKE: proposals as IKEv2 transforms (hash is also the PRF unless prf is
// set, GCM takes no integrity, pfs enable = the IKE group's DH group), peers, identities and
// the CHILD configs of route-based and policy-based peers.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "control/config/config_loader.h"
#include "control/vpnd/config_mapping.h"
#include "ike/sa/proposal_select.h"
#include "ike/sa/traffic_selectors.h"

using namespace portcullis;
using namespace portcullis::vpnd;

namespace {

config::Model Load(const std::string& text) {
  config::LoadedConfig c = config::LoadConfigText(text, "test.conf");
  for (const auto& d : c.diags.all()) INFO(d.ToString());
  REQUIRE(c.ok());
  return config::BuildModel(c.tree);
}

config::Model LoadFile(const std::string& path) {
  auto c = config::LoadConfigFile(path);
  REQUIRE(c.ok());
  REQUIRE(c->ok());
  return config::BuildModel(c->tree);
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string Props(const std::vector<ike::Proposal>& p) {
  return ike::ProposalListString(p);
}

const char* kBase = R"(
set interfaces dataplane dp0p1 address 192.0.2.1/24
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128
set security vpn ipsec esp-group ESP proposal 1 hash null
set security vpn ipsec site-to-site peer 192.0.2.2 authentication mode pre-shared-secret
set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret 'secret'
set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.1
set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE
set security vpn ipsec site-to-site peer 192.0.2.2 default-esp-group ESP
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 local prefix 10.1.0.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 remote prefix 10.2.0.0/24
)";

}  // namespace

TEST_CASE("ike-group proposals: hash gives integrity and PRF, prf overrides, GCM has no integ",
          "[config_mapping]") {
  config::Model m = Load(std::string(kBase) + R"(
set security vpn ipsec ike-group IKE proposal 1 encryption aes256
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec ike-group IKE proposal 1 dh-group 14
set security vpn ipsec ike-group IKE proposal 2 encryption aes128
set security vpn ipsec ike-group IKE proposal 2 hash sha1
set security vpn ipsec ike-group IKE proposal 2 dh-group 20
set security vpn ipsec ike-group IKE proposal 3 encryption aes128gcm128
set security vpn ipsec ike-group IKE proposal 3 hash sha2_384
set security vpn ipsec ike-group IKE proposal 3 dh-group 31
set security vpn ipsec ike-group IKE proposal 4 encryption aes256gcm128
set security vpn ipsec ike-group IKE proposal 4 hash null
set security vpn ipsec ike-group IKE proposal 4 prf prfsha512
set security vpn ipsec ike-group IKE proposal 4 dh-group 19
)");
  auto p = IkeProposals(m.ike_groups.at("IKE"));
  REQUIRE(p.ok());
  CHECK(Props(*p) ==
        "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048, "
        "IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/ECP_384, "
        "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_384/CURVE_25519, "
        "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_512/ECP_256");
  CHECK((*p)[2].number == 3);
  for (const auto& pr : *p) CHECK(ike::IkeSuiteFromProposal(pr).ok());
}

TEST_CASE("esp-group proposals and pfs", "[config_mapping]") {
  config::Model m = Load(std::string(kBase) + R"(
set security vpn ipsec ike-group IKE proposal 1 dh-group 20
set security vpn ipsec esp-group ESP proposal 2 encryption aes256
set security vpn ipsec esp-group ESP proposal 2 hash sha2_512
set security vpn ipsec esp-group ESP2 proposal 1 encryption aes256gcm128
set security vpn ipsec esp-group ESP2 proposal 1 hash null
set security vpn ipsec esp-group ESP2 pfs dh-group14
set security vpn ipsec esp-group ESP3 pfs disable
set security vpn ipsec esp-group ESP3 proposal 1 encryption aes128
set security vpn ipsec esp-group ESP3 proposal 1 hash sha1
)");
  auto p = EspProposals(m.esp_groups.at("ESP"));
  REQUIRE(p.ok());
  CHECK(Props(*p) == "ESP:AES_GCM_16_128, ESP:AES_CBC_256/HMAC_SHA2_512_256");
  const auto& ike = m.ike_groups.at("IKE");
  CHECK(PfsGroup(m.esp_groups.at("ESP"), ike) == ike::DhGroup::kEcp384);  // enable = IKE's group
  CHECK(PfsGroup(m.esp_groups.at("ESP2"), ike) == ike::DhGroup::kModp2048);
  CHECK(PfsGroup(m.esp_groups.at("ESP3"), ike) == ike::DhGroup::kNone);
  ReqidAllocator r;
  auto setup = MapConfig(m, r);
  REQUIRE(setup.ok());
  REQUIRE(setup->peers.size() == 1);
  const auto& child = setup->peers[0]->children.at(0);
  CHECK(child.pfs == ike::DhGroup::kEcp384);
  CHECK(Props(ike::WithDhGroup(child.esp_proposals, child.pfs)) ==
        "ESP:AES_GCM_16_128/ECP_384, ESP:AES_CBC_256/HMAC_SHA2_512_256/ECP_384");
}

TEST_CASE("algorithms Portcullis cannot negotiate are refused with where they are",
          "[config_mapping]") {
  // The commit rules already refuse these; the mapping does not rely on it.
  config::IkeGroup g;
  g.name = "IKE";
  g.proposals = {
      {1, "3des", "sha1", 14, ""}, {2, "aes128", "md5", 14, ""}, {3, "aes128", "sha1", 99, ""}};
  auto p = IkeProposals(g);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message() ==
        "ike-group IKE proposal 1: encryption 3des is not supported; ike-group IKE proposal 2: "
        "hash md5 is not supported; ike-group IKE proposal 3: dh-group 99 is not supported");
  config::EspGroup e;
  e.name = "ESP";
  CHECK(EspProposals(e).status().message() == "esp-group ESP has no proposal");
}

TEST_CASE("route-based seed (Vyatta west): VTI child with 0.0.0.0/0 selectors",
          "[config_mapping]") {
  config::Model m = LoadFile("configs/vyatta-west.conf");
  ReqidAllocator r;
  auto setup = MapConfig(m, r);
  INFO(setup.status().ToString());
  REQUIRE(setup.ok());
  REQUIRE(setup->peers.size() == 1);
  const ike::IkeSaConfig& p = *setup->peers[0];
  CHECK(p.name == "peer-159.8.98.213");
  CHECK(p.local.ToString() == "169.50.194.197");
  CHECK(p.remote.ToString() == "159.8.98.213");
  CHECK(p.local_id_text == "169.50.194.197");
  CHECK(p.local_id.type == ike::IdType::kIpv4Addr);
  CHECK(p.remote_id_text == "159.8.98.213");
  CHECK(p.psk == ike::SharedSecret("Fergie-west-east-2024"));
  CHECK(p.initiate);
  CHECK(p.ike_lifetime == 28800);
  CHECK(p.reauth);  // make-before-break: the lifetime reauthenticates, new SAs first
  CHECK(p.dpd_interval == 30);
  CHECK(p.dpd_action == ike::DpdAction::kRestart);
  CHECK(p.dpd_timeout == 120);
  CHECK(p.close_action == ike::CloseAction::kNone);
  CHECK(Props(p.ike_proposals) == "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_384");
  REQUIRE(p.children.size() == 1);
  const ike::ChildConfig& c = p.children[0];
  CHECK(c.name == "peer-159.8.98.213-tunnel-vti");
  CHECK(c.vti);
  CHECK(c.vti_interface == "vti2");
  CHECK(ike::TsListToString(c.local_ts) == "0.0.0.0/0");
  CHECK(ike::TsListToString(c.remote_ts) == "0.0.0.0/0");
  CHECK(Props(c.esp_proposals) == "ESP:AES_GCM_16_128");
  CHECK(c.pfs == ike::DhGroup::kEcp384);
  CHECK(c.lifetime == 3600);
  CHECK(c.reqid == 1);
  CHECK(setup->options.retransmit.tries == 5);
  CHECK(setup->options.retransmit.timeout == 4.0);
  CHECK(setup->options.retransmit.base == 1.8);
  // reqids are stable across reloads.
  auto again = MapConfig(m, r);
  CHECK(again->peers[0]->children[0].reqid == 1);
  // Without make-before-break the IKE SA is rekeyed, never torn down first.
  m.ike.make_before_break = false;
  CHECK_FALSE(MapConfig(m, r)->peers[0]->reauth);
}

TEST_CASE("the IKE DoS knobs reach the SA manager: ikesa-limit, init-limit-half-open, interface",
          "[config_mapping]") {
  ReqidAllocator r;
  auto unset = MapConfig(LoadFile("configs/vyatta-west.conf"), r);
  REQUIRE(unset.ok());
  CHECK(unset->options.ikesa_limit == 0);  // not configured: no limit
  CHECK(unset->options.init_limit_half_open == 0);
  CHECK(unset->options.cookie_threshold == 10);
  CHECK(unset->options.block_threshold == 5);
  CHECK(unset->ike_interfaces.empty());
  std::string text = ReadAll("configs/vyatta-west.conf") + R"(
set security vpn ike ikesa-limit 2000
set security vpn ike init-limit-half-open 300
set security vpn ike cookie-threshold 20
set security vpn ike interface dp0bond1
set security vpn ike interface dp0bond0
)";
  auto set = MapConfig(Load(text), r);
  REQUIRE(set.ok());
  CHECK(set->options.ikesa_limit == 2000);
  CHECK(set->options.init_limit_half_open == 300);
  CHECK(set->options.cookie_threshold == 20);
  CHECK(set->ike_interfaces == std::vector<std::string>{"dp0bond1", "dp0bond0"});
}

// VyOS writes a VTI peer's 0.0.0.0/0 selectors as `tunnel 1`: the VTI's CHILD SA is the tunnel,
// and no policy CHILD SA (whose 0/0 protect policy would take all traffic) comes with it.
TEST_CASE("a VTI peer's 0.0.0.0/0 tunnel is the VTI's own CHILD SA", "[config_mapping]") {
  std::stringstream file;
  file << std::ifstream("configs/vyatta-west.conf").rdbuf();
  const std::string text =
      file.str() +
      "set security vpn ipsec site-to-site peer 159.8.98.213 tunnel 1 local prefix 0.0.0.0/0\n"
      "set security vpn ipsec site-to-site peer 159.8.98.213 tunnel 1 remote prefix "
      "0.0.0.0/0\n";
  ReqidAllocator r;
  auto setup = MapConfig(Load(text), r);
  INFO(setup.status().ToString());
  REQUIRE(setup.ok());
  REQUIRE(setup->peers.size() == 1);
  REQUIRE(setup->peers[0]->children.size() == 1);
  CHECK(setup->peers[0]->children[0].vti);
}

TEST_CASE("policy-based seed (VyOS site A): named peer, FQDN/user IDs, tunnel selectors",
          "[config_mapping]") {
  config::Model m = LoadFile("configs/vyos-site-a.conf");
  ReqidAllocator r;
  auto setup = MapConfig(m, r);
  INFO(setup.status().ToString());
  REQUIRE(setup.ok());
  const ike::IkeSaConfig& p = *setup->peers.at(0);
  CHECK(p.name == "peer-198.51.100.1");
  CHECK(p.peer_key == "SITE-B");
  CHECK(p.local_id.type == ike::IdType::kRfc822Addr);
  CHECK(p.local_id_text == "site-a@example.com");
  CHECK(p.remote_id_text == "site-b@example.com");
  CHECK(Props(p.ike_proposals) == "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
  REQUIRE(p.children.size() == 1);
  const ike::ChildConfig& c = p.children[0];
  CHECK(c.name == "peer-198.51.100.1-tunnel-1");
  CHECK(c.tunnel_id == 1);
  CHECK_FALSE(c.vti);
  CHECK(ike::TsListToString(c.local_ts) == "10.1.0.0/24");
  CHECK(ike::TsListToString(c.remote_ts) == "10.2.0.0/24");
  CHECK(Props(c.esp_proposals) == "ESP:AES_CBC_256/HMAC_SHA2_256_128");
  CHECK(c.pfs == ike::DhGroup::kModp2048);
}

TEST_CASE("tunnel protocol and ports become selector fields; respond peers do not initiate",
          "[config_mapping]") {
  config::Model m = Load(std::string(kBase) + R"(
set security vpn ipsec ike-group IKE proposal 1 dh-group 14
set security vpn ipsec site-to-site peer 192.0.2.2 connection-type respond
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 protocol tcp
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 remote port 443
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 local prefix 10.1.5.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 remote prefix 10.2.5.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 disable
set security vpn ipsec site-to-site peer 192.0.2.2 authentication id @a.example.com
set security vpn ipsec site-to-site peer 192.0.2.2 authentication remote-id @#0a0b0c
)");
  ReqidAllocator r;
  auto setup = MapConfig(m, r);
  REQUIRE(setup.ok());
  const ike::IkeSaConfig& p = *setup->peers.at(0);
  CHECK_FALSE(p.initiate);
  CHECK(p.local_id.type == ike::IdType::kFqdn);
  CHECK(p.remote_id.type == ike::IdType::kKeyId);
  CHECK(p.remote_id.data == ike::Bytes{0x0a, 0x0b, 0x0c});
  REQUIRE(p.children.size() == 1);  // tunnel 2 is disabled
  CHECK(ike::TsListToString(p.children[0].local_ts) == "10.1.0.0/24[tcp]");
  CHECK(ike::TsListToString(p.children[0].remote_ts) == "10.2.0.0/24[tcp/443]");
}

TEST_CASE("a tunnel that uses a VFP names it as where its traffic arrives, and stays policy-based",
          "[config_mapping][vfp]") {
  config::Model m = Load(std::string(kBase) + R"(
set security vpn ipsec ike-group IKE proposal 1 dh-group 14
set interfaces virtual-feature-point vfp1 address 10.255.0.1/32
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 uses vfp1
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 local prefix 10.1.5.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 remote prefix 10.2.5.0/24
)");
  ReqidAllocator r;
  auto setup = MapConfig(m, r);
  INFO(setup.status().ToString());
  REQUIRE(setup.ok());
  const ike::IkeSaConfig& p = *setup->peers.at(0);
  REQUIRE(p.children.size() == 2);
  CHECK_FALSE(p.children[0].vti);
  CHECK(p.children[0].vti_interface == "vfp1");
  CHECK(ike::TsListToString(p.children[0].local_ts) == "10.1.0.0/24");
  CHECK_FALSE(p.children[1].vti);
  CHECK(p.children[1].vti_interface.empty());
}

TEST_CASE("peers without an address: remote-id is enforced unless the peer accepts any identity",
          "[config_mapping][identity]") {
  auto peer = [](const std::string& key, const std::string& extra) {
    std::string text = kBase;
    const std::string with = "peer " + key;
    for (size_t p = 0; (p = text.find("peer 192.0.2.2", p)) != std::string::npos;
         p += with.size()) {
      text.replace(p, 14, with);
    }
    return text + "set security vpn ipsec ike-group IKE proposal 1 dh-group 14\n" +
           "set security vpn ipsec site-to-site peer " + key + " connection-type respond\n" + extra;
  };
  struct Case {
    std::string key, extra;
    bool any_id;
    std::string remote_id;
  } cases[] = {
      {"@site-b.example", "", false, "site-b.example"},
      {"any", "", true, ""},
      {"any",
       "set security vpn ipsec site-to-site peer any authentication remote-id @site-c.example\n",
       false, "site-c.example"},
      {"192.0.2.2", "", false, "192.0.2.2"},
  };
  for (const Case& c : cases) {
    INFO(c.key << " " << c.extra);
    config::Model m = Load(peer(c.key, c.extra));
    ReqidAllocator r;
    auto setup = MapConfig(m, r);
    INFO(setup.status().ToString());
    REQUIRE(setup.ok());
    const ike::IkeSaConfig& p = *setup->peers.at(0);
    CHECK(p.remote_any == (c.key != "192.0.2.2"));
    CHECK(p.any_remote_id == c.any_id);
    if (!c.any_id) CHECK(ike::IdToText(p.remote_id) == c.remote_id);
    CHECK_FALSE(p.initiate);
  }
}

// #21: IPv6 outer addresses give IPv6 endpoints and ID_IPV6_ADDR identities; IPv6 prefixes give
// TS_IPV6_ADDR_RANGE selectors; a VTI's selectors are the families of its own addresses,
// whatever the outer family.
TEST_CASE("IPv6 peers, identities and selectors; a VTI's selectors follow its addresses",
          "[config_mapping][ipv6]") {
  const std::string p = "set security vpn ipsec site-to-site peer 2001:db8::2 ";
  const std::string v6_base =
      "set interfaces dataplane dp0p1 address 2001:db8::1/64\n"
      "set security vpn ipsec ike-group IKE ike-version 2\n"
      "set security vpn ipsec ike-group IKE proposal 1 encryption aes256\n"
      "set security vpn ipsec ike-group IKE proposal 1 hash sha2_256\n"
      "set security vpn ipsec ike-group IKE proposal 1 dh-group 14\n"
      "set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128\n"
      "set security vpn ipsec esp-group ESP proposal 1 hash null\n" +
      p + "authentication mode pre-shared-secret\n" + p +
      "authentication pre-shared-secret 'secret'\n" + p + "local-address 2001:db8::1\n" + p +
      "ike-group IKE\n";
  ReqidAllocator r;
  SECTION("policy-based, IPv6 selectors") {
    auto setup = MapConfig(Load(v6_base + p + "default-esp-group ESP\n" + p +
                                "tunnel 1 local prefix 2001:db8:a::/64\n" + p +
                                "tunnel 1 remote prefix 2001:db8:b::/64\n"),
                           r);
    INFO(setup.status().ToString());
    REQUIRE(setup.ok());
    const ike::IkeSaConfig& c = *setup->peers[0];
    CHECK(c.name == "peer-2001:db8::2");
    CHECK(c.local.family == 6);
    CHECK(c.remote.ToString() == "2001:db8::2");
    CHECK(c.local_id.type == ike::IdType::kIpv6Addr);
    CHECK(c.local_id.data.size() == 16);
    CHECK(c.remote_id.type == ike::IdType::kIpv6Addr);
    REQUIRE(c.children.size() == 1);
    REQUIRE(c.children[0].local_ts.size() == 1);
    CHECK(c.children[0].local_ts[0].type == ike::TsType::kIpv6AddrRange);
    CHECK(ike::TsListToString(c.children[0].local_ts) == "2001:db8:a::/64");
    CHECK(ike::TsListToString(c.children[0].remote_ts) == "2001:db8:b::/64");
  }
  SECTION("IPv4 selectors over IPv6") {
    auto setup = MapConfig(
        Load(v6_base + p + "default-esp-group ESP\n" + p + "tunnel 1 local prefix 10.1.0.0/24\n" +
             p + "tunnel 1 remote prefix 10.2.0.0/24\n"),
        r);
    REQUIRE(setup.ok());
    CHECK(setup->peers[0]->local.family == 6);
    CHECK(ike::TsListToString(setup->peers[0]->children[0].local_ts) == "10.1.0.0/24");
  }
  SECTION("VTI with IPv4 and IPv6 addresses over IPv6: both families") {
    auto setup = MapConfig(Load(v6_base + "set interfaces vti vti1 address 10.255.0.1/30\n" +
                                "set interfaces vti vti1 address 2001:db8:ff::1/127\n" + p +
                                "vti bind vti1\n" + p + "vti esp-group ESP\n"),
                           r);
    INFO(setup.status().ToString());
    REQUIRE(setup.ok());
    const ike::ChildConfig& ch = setup->peers[0]->children[0];
    CHECK(ch.vti);
    CHECK(ike::TsListToString(ch.local_ts) == "0.0.0.0/0 ::/0");
    CHECK(ike::TsListToString(ch.remote_ts) == "0.0.0.0/0 ::/0");
  }
  SECTION("VTI without addresses: the outer family") {
    auto setup = MapConfig(Load(v6_base + "set interfaces vti vti1\n" + p + "vti bind vti1\n" + p +
                                "vti esp-group ESP\n"),
                           r);
    REQUIRE(setup.ok());
    CHECK(ike::TsListToString(setup->peers[0]->children[0].local_ts) == "::/0");
  }
}

TEST_CASE("an IPv4 peer's VTI with an IPv6 address carries IPv6", "[config_mapping][ipv6]") {
  std::stringstream file;
  file << std::ifstream("configs/vyatta-west.conf").rdbuf();
  std::string text = file.str();
  // vyatta-west's vti2 has 172.16.0.x: replace it with an IPv6 address.
  config::Model m = Load(text);
  REQUIRE(m.interfaces.count("vti2"));
  m.interfaces["vti2"].addresses = {*config::IpPrefix::Parse("2001:db8:ff::1/127")};
  ReqidAllocator r;
  auto setup = MapConfig(m, r);
  REQUIRE(setup.ok());
  CHECK(setup->peers[0]->local.family == 4);
  // ... and IPv4 too: vyatta-west routes 10.127.132.128/26 into vti2.
  CHECK(ike::TsListToString(setup->peers[0]->children[0].local_ts) == "0.0.0.0/0 ::/0");
  CHECK(ike::TsListToString(setup->peers[0]->children[0].remote_ts) == "0.0.0.0/0 ::/0");
}

TEST_CASE("routes into a VTI add their family to its selectors", "[config_mapping][ipv6]") {
  config::Model m = Load(ReadAll("configs/vyatta-west.conf"));
  REQUIRE(m.interfaces.count("vti2"));
  ReqidAllocator r;
  SECTION("interface-route6 into an IPv4-numbered VTI") {
    config::StaticRoute route;
    route.prefix = *config::IpPrefix::Parse("2001:db8:b::/48");
    route.interface = "vti2";
    m.routes.push_back(route);
    auto setup = MapConfig(m, r);
    REQUIRE(setup.ok());
    CHECK(ike::TsListToString(setup->peers[0]->children[0].local_ts) == "0.0.0.0/0 ::/0");
  }
  SECTION("an unnumbered VTI over IPv4 with only IPv6 routes into it") {
    m.interfaces["vti2"].addresses.clear();
    std::erase_if(m.routes, [](const config::StaticRoute& x) { return x.interface == "vti2"; });
    config::StaticRoute route;
    route.prefix = *config::IpPrefix::Parse("2001:db8:b::/48");
    route.interface = "vti2";
    m.routes.push_back(route);
    auto setup = MapConfig(m, r);
    REQUIRE(setup.ok());
    CHECK(ike::TsListToString(setup->peers[0]->children[0].local_ts) == "::/0");
  }
}
