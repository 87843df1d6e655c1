// Operational command words -> command id and arguments: every command and each of its forms,
// `json` anywhere, and clear errors for what does not fit.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/ops/op_parser.h"

using namespace portcullis::ops;

namespace {

std::vector<std::string> W(const char* text) {
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

struct Form {
  const char* words;
  OpId id;
  const char* peer = "";
  std::optional<uint32_t> tunnel = std::nullopt;
  bool vti = false;
  const char* file = "";
  const char* name = "";
  std::optional<uint32_t> rule = std::nullopt;
};

// Every form each command accepts today; the test below demands one for every command.
const Form kForms[] = {
    {"show vpn ike sa", OpId::kShowIkeSa},
    {"show vpn ike sa peer 192.0.2.2", OpId::kShowIkeSa, "192.0.2.2"},
    {"show vpn ipsec sa", OpId::kShowIpsecSa},
    {"show vpn ipsec sa peer peer-192.0.2.2", OpId::kShowIpsecSa, "peer-192.0.2.2"},
    {"show vpn ipsec sa peer 192.0.2.2 tunnel 3", OpId::kShowIpsecSa, "192.0.2.2", 3},
    {"show vpn ipsec sa peer 192.0.2.2 tunnel vti", OpId::kShowIpsecSa, "192.0.2.2", {}, true},
    {"show vpn ipsec sa detail", OpId::kShowIpsecSaDetail},
    {"show vpn ipsec sa detail peer SITE-B tunnel 1", OpId::kShowIpsecSaDetail, "SITE-B", 1},
    {"show vpn ipsec sa statistics", OpId::kShowIpsecSaStatistics},
    {"show vpn ipsec sa statistics peer 192.0.2.2 tunnel vti",
     OpId::kShowIpsecSaStatistics,
     "192.0.2.2",
     {},
     true},
    {"show vpn debug", OpId::kShowDebug},
    {"show vpn debug peer 192.0.2.2", OpId::kShowDebug, "192.0.2.2"},
    {"show vpn debug peer 192.0.2.2 tunnel 10", OpId::kShowDebug, "192.0.2.2", 10},
    {"show log vpn ipsec", OpId::kShowLogIpsec},
    {"show log vpn ipsec peer 192.0.2.2", OpId::kShowLogIpsec, "192.0.2.2"},
    {"reset vpn ipsec-peer 192.0.2.2", OpId::kResetIpsecPeer, "192.0.2.2"},
    {"reset vpn ipsec-peer 192.0.2.2 tunnel 7", OpId::kResetIpsecPeer, "192.0.2.2", 7},
    {"reset vpn ipsec-peer 192.0.2.2 tunnel vti", OpId::kResetIpsecPeer, "192.0.2.2", {}, true},
    {"reset vpn ipsec-peer 192.0.2.2 vti", OpId::kResetIpsecPeer, "192.0.2.2", {}, true},
    {"load /etc/portcullis/vpn.conf", OpId::kLoad, "", {}, false, "/etc/portcullis/vpn.conf"},
    {"load relative.conf", OpId::kLoad, "", {}, false, "relative.conf"},
    {"show system commit", OpId::kShowSystemCommit},
    {"show vpn ike sa nat-traversal", OpId::kShowIkeSa},
    {"show vpn ike sa peer 192.0.2.2 nat-traversal", OpId::kShowIkeSa, "192.0.2.2"},
    {"show vpn ipsec sa peer 192.0.2.2 detail", OpId::kShowIpsecSa, "192.0.2.2"},
    {"show vpn ipsec sa peer 192.0.2.2 tunnel 1 statistics", OpId::kShowIpsecSa, "192.0.2.2", 1},
    {"show vpn ipsec sa nat-traversal", OpId::kShowIpsecSa},
    {"show log vpn ipsec subsystem ike-sa site-to-site peer 192.0.2.2", OpId::kShowLogIpsec,
     "192.0.2.2"},
    {"show log vpn ipsec subsystem child-sa", OpId::kShowLogIpsec},
    {"show vpn ipsec status", OpId::kShowIpsecStatus},
    {"show vpn ipsec connections", OpId::kShowIpsecConnections},
    {"show vpn ipsec policy", OpId::kShowIpsecPolicy},
    {"reset vpn ipsec site-to-site peer SITE-B", OpId::kResetSiteToSitePeer, "SITE-B"},
    {"reset vpn ipsec site-to-site peer SITE-B tunnel 1", OpId::kResetSiteToSitePeer, "SITE-B", 1},
    {"restart vpn", OpId::kRestartVpn},
    {"show interfaces", OpId::kShowInterfaces},
    {"show interfaces bonding", OpId::kShowInterfaces},
    {"show interfaces vti", OpId::kShowInterfaces, "", {}, true},
    {"show dataplane drops", OpId::kShowDataplaneDrops},
    {"diagnose vpn peer SITE-B", OpId::kDiagnosePeer, "SITE-B"},
    {"generate vpn peer-config SITE-B", OpId::kGeneratePeerConfig, "SITE-B"},
    {"generate vpn peer-config 192.0.2.2 format swanctl", OpId::kGeneratePeerConfig, "192.0.2.2"},
    {"show firewall", OpId::kShowFirewall},
    {"show firewall statistics", OpId::kShowFirewall},
    {"show firewall name WAN-LOCAL", OpId::kShowFirewall, "", {}, false, "", "WAN-LOCAL"},
    {"show firewall name PubIn statistics", OpId::kShowFirewall, "", {}, false, "", "PubIn"},
    {"show log firewall", OpId::kShowLogFirewall},
    {"show log firewall name PubIn", OpId::kShowLogFirewall, "", {}, false, "", "PubIn"},
    {"clear firewall", OpId::kClearFirewall},
    {"show vrrp", OpId::kShowVrrp},
    {"clear firewall name PubIn", OpId::kClearFirewall, "", {}, false, "", "PubIn"},
    {"clear firewall name PubIn rule 10", OpId::kClearFirewall, "", {}, false, "", "PubIn", 10},
};

}  // namespace

TEST_CASE("every command's forms parse to its id and arguments", "[ops][parser]") {
  std::set<OpId> covered;
  for (const Form& f : kForms) {
    INFO(f.words);
    auto r = ParseOpCommand(W(f.words));
    REQUIRE(r.ok());
    CHECK(r->id == f.id);
    CHECK(r->args.peer == f.peer);
    CHECK(r->args.tunnel == f.tunnel);
    CHECK(r->args.vti == f.vti);
    CHECK(r->args.file == f.file);
    CHECK(r->args.name == f.name);
    CHECK(r->args.rule == f.rule);
    CHECK_FALSE(r->args.json);
    std::vector<std::string> back;
    for (const OpWord& w : r->words) back.push_back(w.text);
    CHECK(absl::StrJoin(back, " ") == f.words);
    covered.insert(f.id);
  }
  CHECK(covered.size() == kOpIdCount);  // a new command needs its forms here
}

TEST_CASE("json and --json are taken anywhere and set json", "[ops][parser]") {
  for (const char* words : {"show vpn ike sa json", "show vpn ike sa --json",
                            "json show vpn ike sa", "show json vpn ike sa peer 192.0.2.2"}) {
    INFO(words);
    auto r = ParseOpCommand(W(words));
    REQUIRE(r.ok());
    CHECK(r->id == OpId::kShowIkeSa);
    CHECK(r->args.json);
    for (const OpWord& w : r->words) CHECK(w.text.find("json") == std::string::npos);
  }
}

TEST_CASE("each word says which slot it filled", "[ops][parser]") {
  auto r = ParseOpCommand(W("show vpn ipsec sa peer 192.0.2.2 tunnel 3"));
  REQUIRE(r.ok());
  REQUIRE(r->words.size() == 8);
  CHECK(r->words[4].slot == Slot::kNone);
  CHECK(r->words[5].slot == Slot::kPeer);
  CHECK(r->words[7].slot == Slot::kTunnel);
  auto load = ParseOpCommand(W("load x.conf"));
  REQUIRE(load.ok());
  CHECK(load->words[1].slot == Slot::kFile);
}

TEST_CASE("malformed commands: what is wrong, and the command's syntax", "[ops][parser]") {
  struct Bad {
    const char* words;
    const char* error;
  };
  for (const Bad& b : std::vector<Bad>{
           {"show vpn ike sa peer",
            "missing <peer> after 'peer' (expected: show vpn ike sa [peer <peer>] "
            "[nat-traversal])"},
           {"show vpn ike sa 192.0.2.2",
            "unexpected '192.0.2.2' (expected: show vpn ike sa [peer <peer>] [nat-traversal])"},
           {"show vpn ike sa peer 192.0.2.2 tunnel 1", "unexpected 'tunnel'"},
           {"show vpn ipsec sa peer 192.0.2.2 tunnel", "missing <N|vti> after 'tunnel'"},
           {"show vpn ipsec sa peer 192.0.2.2 tunnel x",
            "tunnel needs a number or vti, not 'x' (expected: show vpn ipsec sa [peer <peer> "
            "[tunnel <N|vti>]] [detail | statistics | nat-traversal])"},
           {"show log vpn ipsec subsystem bogus", "unexpected 'bogus'"},
           {"generate vpn peer-config X format yaml", "unexpected 'yaml'"},
           {"show vpn ipsec sa tunnel 1", "unexpected 'tunnel'"},
           {"show vpn ipsec sa detai", "unexpected 'detai'"},
           {"show vpn ipsec sa detail peer",
            "missing <peer> after 'peer' (expected: show vpn "
            "ipsec sa detail"},
           {"show vpn debug peer 192.0.2.2 tunnel -1", "tunnel needs a number or vti, not '-1'"},
           {"show log vpn ipsec peer", "missing <peer> after 'peer'"},
           {"reset vpn ipsec-peer", "missing <peer> after 'ipsec-peer'"},
           {"reset vpn ipsec-peer 192.0.2.2 tunnel", "missing <N|vti> after 'tunnel'"},
           {"reset vpn ipsec-peer 192.0.2.2 tunnel abc", "tunnel needs a number or vti"},
           {"reset vpn ipsec-peer 192.0.2.2 vti 1", "unexpected '1'"},
           {"load", "missing <file> after 'load' (expected: load <file>)"},
           {"load a.conf b.conf", "unexpected 'b.conf'"},
       }) {
    INFO(b.words);
    auto r = ParseOpCommand(W(b.words));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(r.status().message()), Catch::StartsWith(b.error));
  }
}

TEST_CASE("unknown and incomplete commands say what may come next", "[ops][parser]") {
  struct Bad {
    const char* words;
    const char* error;
  };
  for (const Bad& b : std::vector<Bad>{
           {"frobnicate", "unknown command 'frobnicate'"},
           {"show vpn frob",
            "unknown command 'show vpn frob' (after 'show vpn': debug, ike or "
            "ipsec)"},
           {"show",
            "incomplete command 'show' (after 'show': dataplane, firewall, interfaces, log, "
            "system, "
            "vpn or vrrp)"},

           {"show vpn ipsec",
            "incomplete command 'show vpn ipsec' (after 'show vpn ipsec': connections, policy, "
            "sa or status)"},
           {"reset vpn", "incomplete command 'reset vpn' (after 'reset vpn': ipsec or ipsec-peer)"},
           {"show vpn json",
            "incomplete command 'show vpn json' (after 'show vpn': debug, ike "
            "or ipsec)"},
       }) {
    INFO(b.words);
    auto r = ParseOpCommand(W(b.words));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kNotFound);
    CHECK(r.status().message() == b.error);
  }
  auto rule = ParseOpCommand(W("clear firewall name X rule ten"));
  CHECK(rule.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(rule.status().message() ==
        "rule needs a number 1..10000, not 'ten' (expected: clear firewall [name <name> [rule "
        "<rule>]])");
  auto none = ParseOpCommand({});
  CHECK(none.status().code() == absl::StatusCode::kNotFound);
  CHECK(none.status().message() == "unknown command ''");
}
