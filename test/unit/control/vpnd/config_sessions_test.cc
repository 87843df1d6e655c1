// The session table's state machine against a fake vpnd: open, set/delete/compare/commit,
// discard, exit (refused with changes), concurrent sessions (merged, or refused when both
// changed a node), commit-confirm rolled back when not confirmed in time, rollback from the
// archive, save/load, idle sessions closed.
#include "control/vpnd/config_sessions.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/config/config_clone.h"
#include "control/config/config_loader.h"
#include "control/vpnd/config_file.h"

using namespace portcullis;

namespace {

constexpr char kRunning[] =
    "set security vpn ipsec ike-group IKE ike-version 2\n"
    "set security vpn ipsec ike-group IKE proposal 1 encryption aes256\n"
    "set security vpn ipsec ike-group IKE proposal 1 dh-group 14\n"
    "set security vpn ipsec esp-group ESP proposal 1 encryption aes128gcm128\n"
    "set security vpn ipsec esp-group ESP proposal 1 hash null\n"
    "set security vpn ipsec esp-group ESP lifetime 3600\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret "
    "'k-0123456789abcdefghij'\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.1\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 vti bind vti2\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 vti esp-group ESP\n"
    "set interfaces vti vti2 address 10.0.0.1/30\n"
    "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n";

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

class FakeVpnd : public vpnd::SessionHost {
 public:
  FakeVpnd() {
    config::LoadedConfig c = config::LoadConfigText(kRunning);
    REQUIRE(c.ok());
    running = config::CloneTree(c.tree);
    REQUIRE(archive.Record(*running, now, "vpnd via startup").ok());
  }
  absl::Time Now() const override { return now; }
  std::shared_ptr<const config::ConfigTree> Running() const override { return running; }
  uint64_t RunningGeneration() const override { return generation; }
  absl::StatusOr<std::string> CommitTree(std::shared_ptr<const config::ConfigTree> tree,
                                         const std::string& via) override {
    if (!refuse.ok()) return refuse;
    running = std::move(tree);
    ++generation;
    commits.push_back(via);
    REQUIRE(archive.Record(*running, now, via).ok());
    return std::string("peer 192.0.2.2: reset\n");
  }
  std::string ConfigPath() const override { return path; }
  absl::StatusOr<std::string> RunOp(const std::vector<std::string>& words) override {
    return absl::StrCat("ran ", absl::StrJoin(words, " "), "\n");
  }
  void Log(const std::string& line) override { log.push_back(line); }

  std::string Running(const std::vector<std::string>& path) const {
    const config::ConfigNode* n = &running->root();
    for (size_t i = 0; i + 1 < path.size() && n != nullptr; ++i) n = n->Child(path[i]);
    return n == nullptr ? "<none>" : n->Get(path.back());
  }

  absl::Time now = kT0;
  std::shared_ptr<const config::ConfigTree> running;
  uint64_t generation = 1;
  absl::Status refuse;
  std::vector<std::string> commits, log;
  std::string path = "/nonexistent/vpn.conf";
  vpnd::ConfigArchive archive{"", 10};
};

struct Rig {
  FakeVpnd host;
  vpnd::ConfigSessions sessions{host, &host.archive, Options()};
  static vpnd::ConfigSessions::Options Options() {
    vpnd::ConfigSessions::Options o;
    o.idle_timeout = absl::Minutes(30);
    o.max_sessions = 3;
    return o;
  }
  std::string Open(const std::string& user = "root") {
    absl::StatusOr<std::string> r = sessions.Handle({"configure", user});
    REQUIRE(r.ok());
    return r->substr(0, r->find(' '));
  }
  absl::StatusOr<std::string> Do(const std::string& token, const std::string& line) {
    std::vector<std::string> words = {"session", token};
    for (absl::string_view w : absl::StrSplit(line, ' ', absl::SkipEmpty())) words.emplace_back(w);
    return sessions.Handle(words);
  }
  std::string Ok(const std::string& token, const std::string& line) {
    absl::StatusOr<std::string> r = Do(token, line);
    INFO(line << ": " << r.status().message());
    REQUIRE(r.ok());
    return *r;
  }
  std::string Err(const std::string& token, const std::string& line) {
    absl::StatusOr<std::string> r = Do(token, line);
    INFO(line);
    REQUIRE_FALSE(r.ok());
    return std::string(r.status().message());
  }
};

const std::vector<std::string> kEspLifetime = {"security",  "vpn", "ipsec",
                                               "esp-group", "ESP", "lifetime"};
const std::vector<std::string> kIkeLifetime = {"security",  "vpn", "ipsec",
                                               "ike-group", "IKE", "lifetime"};

}  // namespace

TEST_CASE("open, set, compare, commit: the tree goes to vpnd's commit", "[sessions]") {
  Rig r;
  absl::StatusOr<std::string> open = r.sessions.Handle({"configure", "alice"});
  REQUIRE(open.ok());
  std::vector<std::string> f = absl::StrSplit(absl::StripTrailingAsciiWhitespace(*open), ' ');
  REQUIRE(f.size() == 2);
  CHECK(f[0].size() == 24);
  CHECK(f[1] == "1");
  std::string t = f[0];
  CHECK(r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 1800") == "");
  CHECK(r.Ok(t, "compare") == "set security vpn ipsec esp-group ESP lifetime '1800'\n");
  CHECK(r.host.Running(kEspLifetime) == "3600");  // nothing committed yet
  CHECK(r.Ok(t, "commit") == "peer 192.0.2.2: reset\n");
  CHECK(r.host.Running(kEspLifetime) == "1800");
  CHECK(r.host.commits == std::vector<std::string>{"alice via vpnctl configure (session 1)"});
  CHECK(r.Ok(t, "compare") == "No changes between working and active configurations\n");
  CHECK(r.Ok(t, "commit") == "No configuration changes to commit\n");
  CHECK(r.Ok(t, "changed") == "unchanged\n");
  CHECK(
      absl::StrContains(absl::StrJoin(r.host.log, "\n"), "configuration session 1 (alice) opened"));
}

TEST_CASE("a commit that fails validation or in vpnd changes nothing", "[sessions]") {
  Rig r;
  std::string t = r.Open();
  r.Ok(t, "set security vpn ipsec site-to-site peer 192.0.2.2 ike-group NOPE");
  std::string e = r.Err(t, "commit");
  CHECK(absl::StrContains(e, "NOPE"));
  CHECK(absl::StrContains(e, "Commit failed: 1 error, nothing changed"));
  CHECK(r.host.commits.empty());
  r.Ok(t, "discard");
  r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 1800");
  r.host.refuse = absl::UnavailableError("the dataplane refused the batch");
  CHECK(r.Err(t, "commit") == "Commit failed: the dataplane refused the batch");
  CHECK(r.host.Running(kEspLifetime) == "3600");
  CHECK(r.Ok(t, "changed") == "changed\n");  // the session keeps its changes to try again
}

TEST_CASE("exit is refused with uncommitted changes; exit discard leaves", "[sessions]") {
  Rig r;
  std::string t = r.Open();
  r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 1800");
  CHECK(r.Err(t, "exit") ==
        "Cannot exit: configuration modified.\nUse 'exit discard' to discard the changes and "
        "exit.");
  CHECK(r.Err(t, "exit now") == "usage: exit [discard]");
  CHECK(r.sessions.count() == 1);
  CHECK(r.Ok(t, "exit discard") == "");
  CHECK(r.sessions.count() == 0);
  CHECK(absl::StrContains(r.Err(t, "show"), "no longer exists"));
  CHECK(r.host.Running(kEspLifetime) == "3600");
  std::string u = r.Open();
  CHECK(r.Ok(u, "exit") == "");
}

TEST_CASE("discard returns to the running configuration", "[sessions]") {
  Rig r;
  std::string t = r.Open();
  CHECK(r.Ok(t, "discard") == "No changes have been discarded\n");
  r.Ok(t, "delete interfaces");
  CHECK(r.Ok(t, "discard") == "Changes have been discarded\n");
  CHECK(r.Ok(t, "compare") == "No changes between working and active configurations\n");
}

TEST_CASE("concurrent sessions: separate candidates; disjoint changes merge", "[sessions]") {
  Rig r;
  std::string a = r.Open("alice"), b = r.Open("bob");
  r.Ok(a, "set security vpn ipsec esp-group ESP lifetime 1800");
  r.Ok(b, "set security vpn ipsec ike-group IKE lifetime 3600");
  CHECK(r.Ok(b, "compare") == "set security vpn ipsec ike-group IKE lifetime '3600'\n");
  r.Ok(a, "commit");
  CHECK(absl::StrContains(r.Ok(b, "compare"), "# the running configuration changed"));
  std::string out = r.Ok(b, "commit");
  CHECK(absl::StartsWith(out,
                         "merged with changes committed by another session meanwhile (1 "
                         "change, none to the nodes this session changed)\n"));
  CHECK(r.host.Running(kEspLifetime) == "1800");  // alice's change survives bob's commit
  CHECK(r.host.Running(kIkeLifetime) == "3600");
}

TEST_CASE("concurrent sessions: both changed a node, the second commit is refused", "[sessions]") {
  Rig r;
  std::string a = r.Open("alice"), b = r.Open("bob");
  r.Ok(a, "set security vpn ipsec esp-group ESP lifetime 1800");
  r.Ok(b, "set security vpn ipsec esp-group ESP lifetime 7200");
  r.Ok(b, "set security vpn ipsec ike-group IKE lifetime 3600");
  r.Ok(a, "commit");
  std::string e = r.Err(b, "commit");
  CHECK(absl::StartsWith(e, "configuration changed by another session; compare and commit again"));
  CHECK(absl::StrContains(e, "security vpn ipsec esp-group ESP lifetime"));
  CHECK(r.host.Running(kEspLifetime) == "1800");
  CHECK(r.host.commits.size() == 1);
  // The session now starts from alice's configuration, with its own changes on top.
  CHECK(r.Ok(b, "compare") ==
        "set security vpn ipsec esp-group ESP lifetime '7200'\n"
        "set security vpn ipsec ike-group IKE lifetime '3600'\n");
  r.Ok(b, "commit");
  CHECK(r.host.Running(kEspLifetime) == "7200");
}

TEST_CASE("a session without changes follows the running configuration", "[sessions]") {
  Rig r;
  std::string a = r.Open(), b = r.Open();
  r.Ok(a, "set security vpn ipsec esp-group ESP lifetime 1800");
  r.Ok(a, "commit");
  CHECK(r.Ok(b, "show security vpn ipsec esp-group ESP lifetime") == " lifetime 1800\n");
  CHECK(r.Ok(b, "compare") == "No changes between working and active configurations\n");
}

TEST_CASE("commit-confirm: rolled back when not confirmed in time", "[sessions]") {
  Rig r;
  std::string t = r.Open();
  r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 1800");
  std::string out = r.Ok(t, "commit-confirm 2");
  CHECK(absl::StrContains(out, "commit confirm will be automatically rolled back in 2 minutes"));
  CHECK(r.host.Running(kEspLifetime) == "1800");
  CHECK(r.sessions.confirm_pending());
  // Meanwhile other commits wait for the confirmation.
  std::string u = r.Open();
  r.Ok(u, "set security vpn ipsec ike-group IKE lifetime 3600");
  CHECK(absl::StrContains(r.Err(u, "commit"), "is pending"));
  r.host.now += absl::Seconds(119);
  r.sessions.Tick();
  CHECK(r.host.Running(kEspLifetime) == "1800");
  r.host.now += absl::Seconds(2);
  r.sessions.Tick();
  CHECK(r.host.Running(kEspLifetime) == "3600");
  CHECK_FALSE(r.sessions.confirm_pending());
  CHECK(r.host.commits.back() == "vpnd via commit-confirm rollback (session 1 did not confirm)");
  CHECK(absl::StrContains(absl::StrJoin(r.host.log, "\n"), "rolled back to the previous"));
  // The committing session, with nothing uncommitted, follows the rolled-back configuration.
  CHECK(r.Ok(t, "compare") == "No changes between working and active configurations\n");
  CHECK(r.Err(t, "confirm") == "no commit-confirm is pending");
}

TEST_CASE("commit-confirm: confirmed in time stays", "[sessions]") {
  Rig r;
  std::string t = r.Open(), u = r.Open();
  r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 1800");
  r.Ok(t, "commit-confirm 1");
  CHECK(r.Ok(u, "confirm") == "commit confirmed\n");  // from any session
  r.host.now += absl::Minutes(5);
  r.sessions.Tick();
  CHECK(r.host.Running(kEspLifetime) == "1800");
  CHECK(r.Err(t, "commit-confirm 0") == "usage: commit-confirm [<N>] (minutes, 1..1440)");
}

TEST_CASE("commit-confirm: a failed rollback is retried", "[sessions]") {
  Rig r;
  std::string t = r.Open();
  r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 1800");
  r.Ok(t, "commit-confirm 1");
  r.host.now += absl::Minutes(2);
  r.host.refuse = absl::UnavailableError("no ack");
  r.sessions.Tick();
  CHECK(r.sessions.confirm_pending());
  r.host.refuse = absl::OkStatus();
  r.host.now += absl::Seconds(6);
  r.sessions.Tick();
  CHECK_FALSE(r.sessions.confirm_pending());
  CHECK(r.host.Running(kEspLifetime) == "3600");
}

TEST_CASE("rollback N commits a revision of the archive", "[sessions]") {
  Rig r;
  std::string t = r.Open();
  r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 1800");
  r.Ok(t, "commit");
  r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 900");
  CHECK(absl::StartsWith(r.Err(t, "rollback 1"), "Cannot rollback: the candidate has uncommitted"));
  r.Ok(t, "commit");
  CHECK(r.host.archive.revisions().size() == 3);
  CHECK(r.Ok(t, "rollback 0") == "Revision 0 is the running configuration: nothing to do\n");
  r.Ok(t, "rollback 2");
  CHECK(r.host.Running(kEspLifetime) == "3600");
  CHECK(r.host.commits.back() == "root via rollback 2 (session 1)");
  CHECK(absl::StrContains(r.Err(t, "rollback 99"), "no revision 99"));
  CHECK(r.Err(t, "rollback") == "usage: rollback <N> (revisions: 'run show system commit')");
  CHECK(r.Ok(t, "compare") == "No changes between working and active configurations\n");
}

TEST_CASE("save writes the running configuration; load replaces the candidate", "[sessions]") {
  Rig r;
  std::string dir = absl::StrCat("/tmp/vpnd-sessions-test-", getpid());
  std::filesystem::create_directories(dir);
  std::string t = r.Open();
  r.Ok(t, "set security vpn ipsec esp-group ESP lifetime 1800");
  std::string out = r.Ok(t, "save " + dir + "/saved.conf");
  CHECK(out == "Saving configuration to '" + dir +
                   "/saved.conf'...\nDone\nWarning: you have uncommitted changes that will not "
                   "be saved\n");
  absl::StatusOr<config::LoadedConfig> saved = config::LoadConfigFile(dir + "/saved.conf");
  REQUIRE(saved.ok());
  CHECK(vpnd::ConfigFileText(saved->tree) == vpnd::ConfigFileText(*r.host.running));
  r.host.path = dir + "/default.conf";
  r.Ok(t, "save");
  CHECK(std::filesystem::exists(dir + "/default.conf"));
  CHECK(r.Err(t, "save relative.conf") == "save: the file must be named by an absolute path");

  std::ofstream(dir + "/other.conf") << "set interfaces vti vti7 address 10.7.0.1/30\n";
  CHECK(absl::StrContains(r.Ok(t, "load " + dir + "/other.conf"), "Load complete."));
  CHECK(absl::StrContains(r.Ok(t, "compare"), "set interfaces vti vti7 address '10.7.0.1/30'"));
  std::ofstream(dir + "/bad.conf") << "set interfaces vti vti7 mtu 5\n";
  std::string e = r.Err(t, "load " + dir + "/bad.conf");
  CHECK(absl::StrContains(e, "bad.conf: line 1: "));
  CHECK(absl::StrContains(e, "the candidate is unchanged"));
  CHECK(absl::StrContains(r.Ok(t, "compare"), "vti7"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("run, complete, and requests that do not fit", "[sessions]") {
  Rig r;
  std::string t = r.Open();
  CHECK(r.Ok(t, "run show vpn ike sa") == "ran show vpn ike sa\n");
  CHECK(r.Ok(t, "complete").find("W\tcommit\t") != std::string::npos);
  CHECK(r.sessions.Handle({"session", t, "complete", "set security vpn ipsec si"}).value() ==
        "W\tsite-to-site\tSite to site\n");
  CHECK(r.Err(t, "frob") == "unknown configuration command 'frob' (press ? for the list)");
  CHECK(r.Err(t, "set") == "'set' needs a configuration path");
  CHECK_FALSE(r.sessions.Handle({"session", t}).ok());
  CHECK(vpnd::ConfigSessions::IsSessionRequest({"configure"}));
  CHECK_FALSE(vpnd::ConfigSessions::IsSessionRequest({"show", "vpn", "ike", "sa"}));
}

TEST_CASE("idle sessions are closed; the table is bounded", "[sessions]") {
  Rig r;
  std::string a = r.Open(), b = r.Open(), c = r.Open();
  CHECK(absl::StrContains(r.sessions.Handle({"configure", "x"}).status().message(),
                          "too many configuration sessions (3)"));
  r.host.now += absl::Minutes(20);
  r.Ok(a, "show");  // a is used, b and c are not
  r.host.now += absl::Minutes(15);
  r.sessions.Tick();
  CHECK(r.sessions.count() == 1);
  CHECK(absl::StrContains(r.Err(b, "show"), "no longer exists"));
  CHECK(r.Ok(a, "compare") == "No changes between working and active configurations\n");
  CHECK(absl::StrContains(absl::StrJoin(r.host.log, "\n"), "closed after 35m idle"));
}
