// Configuration sessions through the real vpnd (kernel transport, SAs only logged): a commit
// changes the peers IKE runs, is archived and listed by `show system commit`; `load` moves the
// running configuration under an open session; commit-confirm rolls back from vpnd's Poll.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "control/vpnd/logging_sa_installer.h"
#include "control/vpnd/vpnd.h"

using namespace portcullis;

namespace {

struct KernelVpnd {
  absl::Time now = absl::FromUnixSeconds(1767225600);
  vpnd::VpndLog log{"", false};
  vpnd::LoggingSaInstaller installer{[this] { return now; }, &log};
  std::unique_ptr<vpnd::Vpnd> vpnd;
  KernelVpnd() {
    vpnd::VpndDeps deps;
    deps.clock = [this] { return now; };
    deps.send = [](const ike::Datagram&) {};
    deps.log = &log;
    deps.installer = &installer;
    deps.sessions.confirm_minute = absl::Seconds(1);
    vpnd = std::make_unique<vpnd::Vpnd>(deps);
    REQUIRE(vpnd->LoadFile("configs/vyatta-west.conf", "vpnd via startup").ok());
  }
  absl::StatusOr<std::string> Run(const std::string& line) {
    return vpnd->Command(absl::StrSplit(line, ' ', absl::SkipEmpty()));
  }
  std::string Session(const std::string& token, const std::string& line) {
    absl::StatusOr<std::string> r = Run("session " + token + " " + line);
    INFO(line << ": " << r.status().message());
    REQUIRE(r.ok());
    return *r;
  }
  std::string Open() {
    absl::StatusOr<std::string> r = Run("configure tester");
    REQUIRE(r.ok());
    return r->substr(0, r->find(' '));
  }
  uint32_t ChildLifetime() {
    const ike::IkeSaConfig* p = vpnd->ike().FindPeer("159.8.98.213");
    REQUIRE(p != nullptr);
    REQUIRE(!p->children.empty());
    return p->children[0].lifetime;
  }
};

}  // namespace

TEST_CASE("a session's commit reaches IKE and the archive", "[vpnd][sessions]") {
  KernelVpnd v;
  CHECK(v.ChildLifetime() == 3600);
  std::string t = v.Open();
  v.Session(t, "set security vpn ipsec esp-group ESP-Fergie lifetime 1800");
  CHECK(v.ChildLifetime() == 3600);
  std::string out = v.Session(t, "commit");
  CHECK(absl::StrContains(out,
                          "peer 159.8.98.213: reset (tunnel vti (vti2) changed): its IKE SA "
                          "and tunnels are renegotiated\n"));
  CHECK(v.ChildLifetime() == 1800);
  absl::StatusOr<std::string> commits = v.Run("show system commit");
  REQUIRE(commits.ok());
  CHECK(absl::StrContains(*commits, "0   "));
  CHECK(absl::StrContains(*commits, " by tester via vpnctl configure (session 1)\n1   "));
  CHECK(absl::StrContains(*commits, " by vpnd via startup\n"));
  CHECK(v.Session(t, "run show system commit") == *commits);
  CHECK(absl::StrContains(v.log.Recent(), "configuration session 1 (tester): commit done"));
}

TEST_CASE("a load moves the running configuration under open sessions", "[vpnd][sessions]") {
  KernelVpnd v;
  std::string idle = v.Open(), busy = v.Open();
  v.Session(busy, "set security vpn ipsec ike-group IKE-Fergie lifetime 3600");
  REQUIRE(v.Run("load configs/vyatta-east.conf").ok());
  // The session without changes now shows east's configuration.
  CHECK(absl::StrContains(v.Session(idle, "show security vpn ipsec site-to-site"),
                          "peer 169.50.194.197"));
  // The one with changes merges them on commit (east has its own IKE-Fergie group).
  CHECK(absl::StrContains(v.Session(busy, "compare"), "# the running configuration changed"));
  std::string out = v.Session(busy, "commit");
  CHECK(absl::StartsWith(out, "merged with changes committed by another session"));
  CHECK(v.vpnd->ike().FindPeer("169.50.194.197") != nullptr);
}

TEST_CASE("commit-confirm rolls back from vpnd's poll", "[vpnd][sessions]") {
  KernelVpnd v;
  std::string t = v.Open();
  v.Session(t, "set security vpn ipsec esp-group ESP-Fergie lifetime 1800");
  v.Session(t, "commit-confirm 2");
  CHECK(v.ChildLifetime() == 1800);
  v.now += absl::Seconds(1);
  v.vpnd->Poll();
  CHECK(v.ChildLifetime() == 1800);
  v.now += absl::Seconds(2);
  v.vpnd->Poll();
  CHECK(v.ChildLifetime() == 3600);
  CHECK(absl::StrContains(v.log.Recent(), "not confirmed in time: rolled back"));
  CHECK(absl::StrContains(*v.Run("show system commit"), "via commit-confirm rollback"));
}
