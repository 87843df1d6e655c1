// `show firewall` from a fake telemetry answer in the dataplane's shape: the Vyatta 5600 layout,
// pages of a long ruleset followed, counters matched by ruleset id, `clear firewall` baselines,
// JSON with the same numbers.
#include "control/vpnd/firewall_views.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/config/config_loader.h"

using namespace portcullis;
using namespace portcullis::vpnd;

namespace {

// Answers as the dataplane's telemetry does, and records what was asked.
class FakeTelemetry : public DataplaneTelemetry {
 public:
  FakeTelemetry() : DataplaneTelemetry("") {}
  std::map<std::string, std::string> answers;  // command -> JSON
  std::vector<std::string> asked;
  absl::StatusOr<std::vector<JsonValue>> Query(const std::vector<std::string>& cmds) override {
    std::vector<JsonValue> out;
    for (const std::string& c : cmds) {
      asked.push_back(c);
      auto it = answers.find(c);
      if (it == answers.end()) return absl::NotFoundError(absl::StrCat("no answer for ", c));
      auto v = dp::api::ParseJson(it->second);
      REQUIRE(v.ok());
      out.push_back(*v);
    }
    return out;
  }
};

config::Model ModelOf(const std::string& text) {
  auto c = config::LoadConfigText(text, "t.conf");
  REQUIRE(c.ok());
  return config::BuildModel(c.tree);
}

const char kConfig[] = R"(set interfaces bonding dp0bond1 address 159.8.98.214/29
set interfaces vti vti0 address 172.16.0.5/30
set security firewall name PubIn default-action drop
set security firewall name PubIn rule 1 action accept
set security firewall name PubIn rule 1 protocol esp
set security firewall name PubIn rule 1 source address 198.11.194.155
set security firewall name PubIn rule 1 log
set security firewall name PubIn rule 2 action accept
set security firewall name PubIn rule 2 protocol udp
set security firewall name PubIn rule 2 destination port 500,4500
set security firewall name PubIn rule 3 action accept
set security firewall name PubIn rule 3 disable
set security firewall name INipsecvti0 default-action accept
set security firewall name INipsecvti0 rule 10 action reject
set security firewall name INipsecvti0 rule 10 icmp name echo-request
set security firewall name INipsecvti0 rule 20 action accept
set security firewall name INipsecvti0 rule 20 state established
set security firewall name INipsecvti0 rule 20 state related
set interfaces bonding dp0bond1 firewall in PubIn
set interfaces bonding dp0bond1 firewall local PubIn
set interfaces vti vti0 firewall in INipsecvti0
)";

void Answer(FakeTelemetry& t) {
  t.answers["/portcullis/firewall"] =
      R"({"sessions_active":3,"sessions_max":1048576,"sessions_created":10,"sessions_expired":7,)"
      R"("sessions_table_full":0,"log_sent":6,"log_suppressed":1,"log_lost":0,"rulesets":[1,2]})";
  // PubIn comes in two pages: rules 1, then 2.
  t.answers["/portcullis/firewall_ruleset,1"] =
      R"({"id":1,"name":"PubIn","default_action":"drop","default_packets":5,"default_bytes":420,)"
      R"("next":2,"numbers":[1],"packets":[12],"bytes":[1872],"suppressed":[0]})";
  t.answers["/portcullis/firewall_ruleset,1/2"] =
      R"({"id":1,"name":"PubIn","default_action":"drop","default_packets":5,"default_bytes":420,)"
      R"("next":0,"numbers":[2],"packets":[4],"bytes":[1312],"suppressed":[0]})";
  t.answers["/portcullis/firewall_ruleset,2"] =
      R"({"id":2,"name":"INipsecvti0","default_action":"accept","default_packets":0,)"
      R"("default_bytes":0,"next":0,"numbers":[10,20],"packets":[2,100],"bytes":[168,8400],)"
      R"("suppressed":[0,0]})";
}

}  // namespace

TEST_CASE("show firewall: Vyatta's layout with the dataplane's counters", "[firewall][show]") {
  config::Model m = ModelOf(kConfig);
  FirewallIds ids;
  CHECK(ids.Ruleset("PubIn") == 1);
  CHECK(ids.Ruleset("INipsecvti0") == 2);
  FakeTelemetry t;
  Answer(t);
  auto tel = ReadFirewallTelemetry(t);
  REQUIRE(tel.ok());
  CHECK(t.asked == std::vector<std::string>{
                       "/portcullis/firewall", "/portcullis/firewall_ruleset,1",
                       "/portcullis/firewall_ruleset,1/2", "/portcullis/firewall_ruleset,2"});
  FirewallView v = BuildFirewallView(m, ids, *tel, "");
  std::string text = FirewallText(v);
  INFO(text);
  const std::string header =
      "------------------------------\n"
      "Rulesets Information: Firewall\n"
      "------------------------------\n" +
      std::string(80, '-') + "\n";
  const std::string rule_header =
      "rule    action  proto           packets         bytes          \n"
      "----    ------  -----           -------         -----          \n";
  CHECK(text == header + "Firewall \"PubIn\":\nActive on (dp0bond1, in)\n" + rule_header +
                    "1       allow   esp             12              1872           \n"
                    "  condition - proto esp from 198.11.194.155 apply log\n\n"
                    "2       allow   udp             4               1312           \n"
                    "  condition - proto udp to any port 500,4500\n\n"
                    "default drop    any             5               420            \n"
                    "  condition - \n\n"
                    "Firewall \"INipsecvti0\":\nActive on (vti0, in)\n" +
                    rule_header +
                    "10      drop    icmp            2               168            \n"
                    "  condition - icmp-type 8 apply reject\n\n"
                    "20      allow   any             100             8400           \n"
                    "  condition - state established,related\n\n"
                    "default allow   any             0               0              \n"
                    "  condition - \n\n"
                    "\n"
                    "Firewall \"PubIn\":\nActive on (dp0bond1, local)\n" +
                    rule_header +
                    "1       allow   esp             12              1872           \n"
                    "  condition - proto esp from 198.11.194.155 apply log\n\n"
                    "2       allow   udp             4               1312           \n"
                    "  condition - proto udp to any port 500,4500\n\n"
                    "default drop    any             5               420            \n"
                    "  condition - \n\n"
                    "\n");
  // JSON: the same numbers.
  std::string json = FirewallJson(v);
  CHECK(absl::StrContains(json,
                          "{\"name\":\"PubIn\",\"applied\":\"fw-in\",\"interface\":\"dp0bond1\","
                          "\"rules\":[{\"rule\":1,\"action\":\"accept\",\"proto\":\"esp\","
                          "\"packets\":12,\"bytes\":1872,\"log_suppressed\":0,"));
  CHECK(absl::StrContains(json,
                          "{\"rule\":\"default\",\"action\":\"drop\",\"proto\":\"any\","
                          "\"packets\":5,\"bytes\":420"));
  CHECK(absl::StrContains(json,
                          "\"sessions\":{\"active\":3,\"max\":1048576,\"created\":10,"
                          "\"expired\":7,\"table_full\":0},\"log\":{\"sent\":6,"
                          "\"suppressed\":1,\"lost\":0}}"));
}

TEST_CASE("show firewall name X statistics; an unapplied ruleset; zones", "[firewall][show]") {
  config::Model m = ModelOf(std::string(kConfig) +
                            "set security firewall name SPARE rule 1 action drop\n"
                            "set interfaces dataplane dp0p1s1 address 10.0.0.1/24\n"
                            "set security zone-policy zone PRIV interface dp0p1s1\n"
                            "set security zone-policy zone PUB interface dp0bond0\n"
                            "set interfaces bonding dp0bond0 address 10.9.0.1/24\n"
                            "set security zone-policy zone PRIV to PUB firewall SPARE\n");
  FirewallIds ids;
  ids.Ruleset("PubIn");
  ids.Ruleset("INipsecvti0");
  FakeTelemetry t;
  Answer(t);
  auto tel = ReadFirewallTelemetry(t, 2);
  REQUIRE(tel.ok());
  CHECK(tel->rulesets.size() == 1);
  FirewallView v = BuildFirewallView(m, ids, *tel, "INipsecvti0");
  v.statistics = true;
  std::string text = FirewallText(v);
  CHECK(absl::StrContains(text, "Firewall \"INipsecvti0\":\nActive on (vti0, in)\n"));
  CHECK_FALSE(absl::StrContains(text, "PubIn"));
  CHECK_FALSE(absl::StrContains(text, "condition"));
  CHECK(absl::StrContains(text, "20      allow   any             100             8400"));
  CHECK(absl::StrContains(
      text, "Sessions: 3 active of 1048576, 10 created, 7 expired, 0 refused (table full)\n"));
  CHECK(absl::StrContains(text, "Log lines: 6 sent, 1 suppressed (rate limit), 0 lost"));
  // The zone policy's ruleset, under Vyatta's zone header; no counters yet (not in telemetry).
  FirewallView z = BuildFirewallView(m, ids, *tel, "SPARE");
  std::string zt = FirewallText(z);
  CHECK(absl::StrContains(zt, "Rulesets Information: From zone \"PRIV\" to zone \"PUB\"\n"));
  CHECK(absl::StrContains(zt, "Firewall \"SPARE\":\nrule "));
  CHECK(absl::StrContains(zt, "1       drop    any             0               0"));
}

TEST_CASE("clear firewall: baselines subtract, and go when a counter starts over",
          "[firewall][show]") {
  FakeTelemetry t;
  Answer(t);
  auto before = ReadFirewallTelemetry(t);
  REQUIRE(before.ok());
  FwCounterBaselines b;
  b.Clear(before->rulesets.at(2), 20);  // one rule
  b.Clear(before->rulesets.at(1), 0);   // a whole ruleset with its default
  // Traffic since: rule 20 +5 packets, PubIn rule 1 +1, default unchanged.
  t.answers["/portcullis/firewall_ruleset,2"] =
      R"({"id":2,"name":"INipsecvti0","default_action":"accept","default_packets":0,)"
      R"("default_bytes":0,"next":0,"numbers":[10,20],"packets":[2,105],"bytes":[168,8820],)"
      R"("suppressed":[0,0]})";
  t.answers["/portcullis/firewall_ruleset,1"] =
      R"({"id":1,"name":"PubIn","default_action":"drop","default_packets":5,"default_bytes":420,)"
      R"("next":2,"numbers":[1],"packets":[13],"bytes":[2028],"suppressed":[0]})";
  auto after = ReadFirewallTelemetry(t);
  REQUIRE(after.ok());
  b.Apply(*after);
  CHECK(after->rulesets.at(2).rules.at(20).packets == 5);
  CHECK(after->rulesets.at(2).rules.at(20).bytes == 420);
  CHECK(after->rulesets.at(2).rules.at(10).packets == 2);  // not cleared
  CHECK(after->rulesets.at(1).rules.at(1).packets == 1);
  CHECK(after->rulesets.at(1).rules.at(2).packets == 0);
  CHECK(after->rulesets.at(1).default_counters.packets == 0);
  // The dataplane restarted: its counters are below the baselines, which go.
  t.answers["/portcullis/firewall_ruleset,2"] =
      R"({"id":2,"name":"INipsecvti0","default_action":"accept","default_packets":0,)"
      R"("default_bytes":0,"next":0,"numbers":[10,20],"packets":[0,3],"bytes":[0,252],)"
      R"("suppressed":[0,0]})";
  auto restarted = ReadFirewallTelemetry(t);
  b.Apply(*restarted);
  CHECK(restarted->rulesets.at(2).rules.at(20).packets == 3);
  auto again = ReadFirewallTelemetry(t);
  b.Apply(*again);
  CHECK(again->rulesets.at(2).rules.at(20).packets == 3);
}
