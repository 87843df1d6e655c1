// vpnd's handlers of the operational commands, reached through Vpnd::Command as vpnctl reaches
// them: every command of the table runs, named peers must exist, and malformed words never get
// to a handler.
#include "control/vpnd/op_handlers.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "control/vpnd/logging_sa_installer.h"
#include "control/vpnd/vpnd.h"

using namespace portcullis;

namespace {

// vpnd on the kernel transport with the datagrams it sends dropped: its IKE SAs stay down.
struct KernelVpnd {
  vpnd::VpndLog log{"", false};
  vpnd::LoggingSaInstaller installer{[] { return absl::FromUnixSeconds(1767225600); }, &log};
  std::unique_ptr<vpnd::Vpnd> vpnd;
  KernelVpnd() {
    vpnd::VpndDeps deps;
    deps.clock = [] { return absl::FromUnixSeconds(1767225600); };
    deps.send = [](const ike::Datagram&) {};
    deps.log = &log;
    deps.installer = &installer;
    vpnd = std::make_unique<vpnd::Vpnd>(deps);
    REQUIRE(vpnd->LoadFile("configs/vyatta-west.conf").ok());
    vpnd->Poll();
  }
  absl::StatusOr<std::string> Run(const char* words) {
    return vpnd->Command(absl::StrSplit(words, ' ', absl::SkipEmpty()));
  }
};

}  // namespace

TEST_CASE("every operational command reaches its handler", "[vpnd][ops]") {
  KernelVpnd v;
  struct Case {
    const char* words;
    const char* starts;
  };
  std::set<ops::OpId> covered;
  for (const Case& c : std::vector<Case>{
           {"show vpn ike sa", "Peer ID / IP"},
           {"show vpn ike sa peer 159.8.98.213 --json", "[{\"peer\":\"peer-159.8.98.213\""},
           {"show vpn ipsec sa peer 159.8.98.213 tunnel vti", "Peer ID / IP"},
           {"show vpn ipsec sa detail json", "[{\"peer\":\"peer-159.8.98.213\""},
           {"show vpn ipsec sa statistics", "Peer ID / IP"},
           {"show vpn debug peer peer-159.8.98.213", "peer-159.8.98.213:  169.50.194.197..."},
           {"show log vpn ipsec peer 159.8.98.213", ""},
           {"reset vpn ipsec-peer 159.8.98.213 tunnel vti", "Resetting peer 159.8.98.213\n"},
           {"reset vpn ipsec-peer 159.8.98.213 vti", "Resetting peer 159.8.98.213\n"},
           {"load configs/vyatta-west.conf", "Loaded configs/vyatta-west.conf\n"},
           {"show system commit", "0   "},
           {"show vpn ipsec status", "IPsec Process Running PID: "},
           {"show vpn ipsec connections", "Connection         "},
           {"show vpn ipsec policy --json", "["},
           {"reset vpn ipsec site-to-site peer 159.8.98.213", "Resetting peer 159.8.98.213\n"},
           {"restart vpn", "Restarting IPsec VPN: 1 peer reset, 1 initiating again\n"},
           {"diagnose vpn peer 159.8.98.213", "Diagnosing peer-159.8.98.213 (159.8.98.213)\n"},
           {"generate vpn peer-config 159.8.98.213", "# The other end of peer 159.8.98.213"},
           {"show log firewall", ""},
       }) {
    INFO(c.words);
    auto out = v.Run(c.words);
    REQUIRE(out.ok());
    CHECK_THAT(*out, Catch::StartsWith(c.starts));
    auto parsed = ops::ParseOpCommand(absl::StrSplit(c.words, ' '));
    REQUIRE(parsed.ok());
    covered.insert(parsed->id);
  }
  // Without a dataplane these say so instead of printing an empty table.
  for (const char* words : {"show interfaces", "show dataplane drops", "show firewall",
                            "clear firewall", "show vrrp"}) {
    INFO(words);
    auto out = v.Run(words);
    REQUIRE_FALSE(out.ok());
    CHECK_THAT(std::string(out.status().message()), Catch::StartsWith("there is no dataplane"));
    covered.insert(ops::ParseOpCommand(absl::StrSplit(words, ' '))->id);
  }
  CHECK(covered.size() == ops::kOpIdCount);
}

TEST_CASE("show log firewall: interface, zone and local rulesets' lines", "[vpnd][ops]") {
  KernelVpnd v;
  absl::Time t = absl::FromUnixSeconds(1767225600);
  v.log.WriteSyslogStyle(t,
                         "dataplane[7]:  In:dp0p1s1 DROP local rule WAN-LOCAL:10000 "
                         "proto=(udp/17)");
  v.log.WriteSyslogStyle(t, "dataplane[7]: Out:eth1 DROP fw rule LAN-IN:7 proto=(icmp/1)");
  v.log.WriteSyslogStyle(t, "dataplane[7]: some other rule line");
  auto out = v.Run("show log firewall");
  REQUIRE(out.ok());
  CHECK(absl::StrContains(*out, " In:dp0p1s1 DROP local rule WAN-LOCAL:10000"));
  CHECK(absl::StrContains(*out, "Out:eth1 DROP fw rule LAN-IN:7"));
  CHECK_FALSE(absl::StrContains(*out, "other rule"));
}

TEST_CASE("clear firewall of a rule that is not configured says so", "[vpnd][ops]") {
  KernelVpnd v;
  std::string path = "/tmp/op-handlers-fw-" + std::to_string(getpid()) + ".conf";
  {
    std::ofstream f(path);
    f << "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n"
         "set security firewall name F rule 10 action accept\n";
  }
  REQUIRE(v.vpnd->LoadFile(path).ok());
  std::remove(path.c_str());
  auto none = v.Run("clear firewall name F rule 20");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message() == "firewall ruleset F has no rule 20");
  // A configured rule and the default (10000) get as far as the dataplane.
  for (const char* words : {"clear firewall name F rule 10", "clear firewall name F rule 10000"}) {
    INFO(words);
    auto out = v.Run(words);
    REQUIRE_FALSE(out.ok());
    CHECK_THAT(std::string(out.status().message()), Catch::StartsWith("there is no dataplane"));
  }
}

TEST_CASE("a named peer must be configured; IKE's own refusals come through", "[vpnd][ops]") {
  KernelVpnd v;
  for (const char* words :
       {"show vpn ike sa peer 10.9.9.9", "show vpn ipsec sa peer 10.9.9.9",
        "show vpn ipsec sa detail peer 10.9.9.9", "show vpn ipsec sa statistics peer 10.9.9.9",
        "show vpn debug peer 10.9.9.9 tunnel 1"}) {
    INFO(words);
    auto out = v.Run(words);
    CHECK(out.status().code() == absl::StatusCode::kNotFound);
    CHECK(out.status().message() == "peer 10.9.9.9 is not configured");
  }
  CHECK(v.Run("reset vpn ipsec-peer 10.9.9.9").status().message() == "no peer 10.9.9.9 configured");
  CHECK(v.Run("reset vpn ipsec-peer 159.8.98.213 tunnel 7").status().message() ==
        "peer 159.8.98.213 has no tunnel 7");
  CHECK_FALSE(v.Run("load /nonexistent/vpn.conf").ok());
  // The log of a peer no longer configured is still there to read.
  CHECK(v.Run("show log vpn ipsec peer 10.9.9.9").ok());
}

TEST_CASE("malformed and unknown commands are refused before any handler", "[vpnd][ops]") {
  KernelVpnd v;
  auto peerless = v.Run("show vpn ike sa peer");
  CHECK(peerless.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(peerless.status().message()),
             Catch::StartsWith("missing <peer> after 'peer'"));
  auto tunnel = v.Run("reset vpn ipsec-peer 159.8.98.213 tunnel x");
  CHECK_THAT(std::string(tunnel.status().message()),
             Catch::StartsWith("tunnel needs a number or vti"));
  auto unknown = v.Run("show vpn frob");
  CHECK_THAT(std::string(unknown.status().message()),
             Catch::StartsWith("unknown command 'show vpn frob'"));
}

TEST_CASE("load answers with each warning of the file; start and load both log them",
          "[vpnd][ops][not_enforced]") {
  KernelVpnd v;  // started with configs/vyatta-west.conf
  // (Bonds are built from the configuration since #17, VRRP groups run since #17: the seed's
  // group without a virtual address is what the file still keeps without running it.)
  const std::string bond =
      "configs/vyatta-west.conf: line 45: warning: interfaces bonding dp0bond1 vrrp vrrp-group 2: "
      "vrrp-group 2 on dp0bond1 has no IPv4 virtual-address: it is not run";
  auto count = [&](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  CHECK(count(v.log.Recent(), bond) == 1);  // at start
  auto out = v.Run("load configs/vyatta-west.conf");
  REQUIRE(out.ok());
  CHECK_THAT(*out, Catch::StartsWith("Loaded configs/vyatta-west.conf\n"));
  CHECK(count(*out, bond) == 1);
  CHECK(count(v.log.Recent(), bond) == 2);  // and at the load
  // make-before-break and the bonds are enforced: no warning for them.
  CHECK(count(*out, "make-before-break") == 0);
  CHECK(count(*out, "not enforced yet: interfaces bonding") == 0);
}
