// diagnose's step a with a dataplane: the configured rulesets evaluated for the peer's IKE and
// ESP on the interface that holds the local address (in, local, the zone's policy to the local
// zone), naming the rule that drops; without a dataplane nothing filters.
#include "control/vpnd/diagnose.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "control/config/config_loader.h"
#include "control/vpnd/config_mapping.h"

using namespace portcullis;
using namespace portcullis::vpnd;

namespace {

const char kBase[] = R"(set interfaces dataplane dp0p1s1 address 192.0.2.1/24
set interfaces dataplane dp0p1s2 address 10.1.0.1/24
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE proposal 1 encryption aes256gcm128
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec ike-group IKE proposal 1 dh-group 19
set security vpn ipsec esp-group ESP proposal 1 encryption aes256gcm128
set security vpn ipsec esp-group ESP proposal 1 hash null
set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret s3cret-s3cret-s3cret-20
set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE
set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.1
set security vpn ipsec site-to-site peer 192.0.2.2 default-esp-group ESP
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 local prefix 10.1.0.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 remote prefix 10.2.0.0/24
)";

struct Step {
  Verdict verdict;
  std::string details;
};

Step FirewallStep(const std::string& extra, bool dataplane = true) {
  config::LoadedConfig c = config::LoadConfigText(std::string(kBase) + extra, "d.conf");
  REQUIRE(c.ok());
  config::Model m = config::BuildModel(c.tree);
  ReqidAllocator reqids;
  auto setup = MapConfig(m, reqids);
  REQUIRE(setup.ok());
  struct NoLog : ike::LogSink {
    void Write(const ike::LogRecord&) override {}
  } log;
  absl::Time now = absl::FromUnixSeconds(1767225600);
  ike::IkeManager mgr([now] { return now; }, [](const ike::Datagram&) {}, &log, nullptr, nullptr);
  mgr.SetPeers(setup->peers);
  DiagnoseInputs in;
  in.ike = &mgr;
  in.peer = setup->peers[0].get();
  in.model = &m;
  in.now = now;
  in.have_dataplane = dataplane;
  DiagnoseReport r = Diagnose(in);
  REQUIRE(r.steps[0].id == 'a');
  return {r.steps[0].verdict, absl::StrJoin(r.steps[0].details, "\n")};
}

}  // namespace

TEST_CASE("diagnose a: rulesets that let IKE and ESP in pass, naming the rules",
          "[diagnose][firewall]") {
  Step s = FirewallStep(R"(set security firewall name WAN default-action drop
set security firewall name WAN rule 10 action accept
set security firewall name WAN rule 10 protocol udp
set security firewall name WAN rule 10 destination port 500,4500
set security firewall name WAN rule 20 action accept
set security firewall name WAN rule 20 protocol esp
set security firewall name WAN rule 20 source address 192.0.2.0/24
set interfaces dataplane dp0p1s1 firewall local WAN
)");
  INFO(s.details);
  CHECK(s.verdict == Verdict::kPass);
  CHECK(absl::StrContains(s.details, "UDP 500 on dp0p1s1: accepted by WAN rule 10 (local)"));
  CHECK(absl::StrContains(s.details, "ESP on dp0p1s1: accepted by WAN rule 20 (local)"));
}

TEST_CASE("diagnose a: a ruleset that drops ESP fails, naming hook, ruleset and rule",
          "[diagnose][firewall]") {
  Step s = FirewallStep(R"(set security firewall name WAN default-action drop
set security firewall name WAN rule 10 action accept
set security firewall name WAN rule 10 protocol udp
set security firewall name WAN rule 10 destination port 500
set security firewall name BLOCK default-action accept
set security firewall name BLOCK rule 5 action reject
set security firewall name BLOCK rule 5 protocol udp
set security firewall name BLOCK rule 5 destination port 4500
set interfaces dataplane dp0p1s1 firewall in BLOCK
set interfaces dataplane dp0p1s1 firewall local WAN
)");
  INFO(s.details);
  CHECK(s.verdict == Verdict::kFail);
  CHECK(absl::StrContains(s.details,
                          "dp0p1s1 in: ruleset BLOCK rule 5 rejects UDP 4500 from 192.0.2.2"));
  CHECK(absl::StrContains(
      s.details, "dp0p1s1 local: ruleset WAN the default action drops ESP from 192.0.2.2"));
  CHECK_FALSE(absl::StrContains(s.details, "drops UDP 500"));
}

TEST_CASE("diagnose a: a zone without a policy to the local zone drops IKE",
          "[diagnose][firewall]") {
  const std::string z = "set security zone-policy zone ";
  Step s = FirewallStep("set security firewall name ANY default-action accept\n" + z +
                        "WAN interface dp0p1s1\n" + z + "LAN interface dp0p1s2\n" + z +
                        "ME local-zone\n" + z + "LAN to ME firewall ANY\n");
  INFO(s.details);
  CHECK(s.verdict == Verdict::kFail);
  CHECK(absl::StrContains(s.details,
                          "dp0p1s1 is in zone WAN, which has no policy to the local "
                          "zone ME: UDP 500 is dropped"));
  // Our answers and rekeys leave from the local zone: without a policy from it they pass.
  Step half = FirewallStep("set security firewall name ANY default-action accept\n" + z +
                           "WAN interface dp0p1s1\n" + z + "ME local-zone\n" + z +
                           "WAN to ME firewall ANY\n");
  INFO(half.details);
  CHECK(half.verdict == Verdict::kPass);
  Step blocked = FirewallStep(
      "set security firewall name ANY default-action accept\n"
      "set security firewall name OUT default-action drop\n" +
      z + "WAN interface dp0p1s1\n" + z + "ME local-zone\n" + z + "WAN to ME firewall ANY\n" + z +
      "ME to WAN firewall OUT\n");
  INFO(blocked.details);
  CHECK(blocked.verdict == Verdict::kFail);
  CHECK(absl::StrContains(blocked.details,
                          "zone ME to WAN: ruleset OUT the default action drops our UDP 4500 to "
                          "192.0.2.2"));
  Step ok = FirewallStep("set security firewall name ANY default-action accept\n" + z +
                         "WAN interface dp0p1s1\n" + z + "ME local-zone\n" + z +
                         "WAN to ME firewall ANY\n" + z + "ME to WAN firewall ANY\n");
  INFO(ok.details);
  CHECK(ok.verdict == Verdict::kPass);
  CHECK(absl::StrContains(ok.details, "accepted by ANY the default action (zone WAN to ME)"));
  CHECK(absl::StrContains(ok.details, "(zone ME to WAN, our answers)"));
}

TEST_CASE("diagnose a: nothing filters without rulesets, or without a dataplane",
          "[diagnose][firewall]") {
  Step none = FirewallStep("");
  CHECK(none.verdict == Verdict::kPass);
  CHECK(absl::StrContains(none.details, "ESP on dp0p1s1: no ruleset filters it"));
  Step kernel = FirewallStep(
      "set security firewall name WAN default-action drop\n"
      "set interfaces dataplane dp0p1s1 firewall local WAN\n",
      false);
  CHECK(kernel.verdict == Verdict::kNotApplicable);
  CHECK(absl::StrContains(kernel.details, "no dataplane (kernel sockets)"));
}
