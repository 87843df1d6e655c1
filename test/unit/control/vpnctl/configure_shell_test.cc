// vpnctl's side of a session against a scripted vpnd: requests as vpnd gets them (quotes,
// absolute files, `run` checked first), a failed line blocks a later commit from a pipe, end
// of input with uncommitted changes fails, completions decoded, `?` formatted.
#include "control/vpnctl/configure_shell.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <deque>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "control/vpnctl/absolute_paths.h"

using namespace portcullis::vpnctl;

namespace {

struct ScriptedVpnd {
  std::vector<std::string> requests;              // tab-joined
  std::deque<absl::StatusOr<VpndReply>> replies;  // default: OK with no text
  ConfigureShell::Transport transport() {
    return [this](const std::vector<std::string>& words) -> absl::StatusOr<VpndReply> {
      requests.push_back(absl::StrJoin(words, "|"));
      if (requests.size() == 1) return VpndReply{true, "tok 4\n"};
      if (replies.empty()) return VpndReply{true, ""};
      auto r = replies.front();
      replies.pop_front();
      return r;
    };
  }
};

}  // namespace

TEST_CASE("lines become session requests; quoted values stay one word", "[configure_shell]") {
  ScriptedVpnd v;
  ConfigureShell s(v.transport(), "alice", true);
  REQUIRE(s.Open().ok());
  CHECK(s.number() == 4);
  CHECK(v.requests[0] == "configure|alice");
  auto r = s.Execute("set interfaces vti vti2 description 'to the east'");
  CHECK_FALSE(r.failed);
  CHECK(v.requests.back() == "session|tok|set|interfaces|vti|vti2|description|to the east");
  s.Execute("save rel.conf");
  CHECK(v.requests.back() == "session|tok|save|" + AbsolutePath("rel.conf"));
  CHECK(absl::StartsWith(AbsolutePath("rel.conf"), "/"));
  s.Execute("   ");
  CHECK(v.requests.size() == 3);  // empty lines send nothing
  r = s.Execute("set x 'open");
  CHECK(r.failed);
  CHECK(absl::StartsWith(r.err, "unterminated quote"));
}

TEST_CASE("run: checked against the op table before it is sent", "[configure_shell]") {
  ScriptedVpnd v;
  ConfigureShell s(v.transport(), "alice", true);
  REQUIRE(s.Open().ok());
  auto r = s.Execute("run show vpn frob");
  CHECK(r.failed);
  CHECK(v.requests.size() == 1);
  v.replies.push_back(VpndReply{true, "rows\n"});
  r = s.Execute("run show vpn ike sa json");
  CHECK(r.out == "rows\n");
  CHECK(v.requests.back() == "session|tok|run|show|vpn|ike|sa|--json");
}

TEST_CASE("errors, exit, and a vpnd that went away", "[configure_shell]") {
  ScriptedVpnd v;
  ConfigureShell s(v.transport(), "alice", true);
  REQUIRE(s.Open().ok());
  v.replies.push_back(VpndReply{false, "Cannot exit: configuration modified."});
  auto r = s.Execute("exit");
  CHECK(r.failed);
  CHECK_FALSE(r.leave);
  CHECK(r.err == "Cannot exit: configuration modified.\n");
  CHECK(s.open());
  r = s.Execute("exit discard");
  CHECK(r.leave);
  CHECK_FALSE(s.open());
  ScriptedVpnd gone;
  ConfigureShell t(gone.transport(), "alice", true);
  REQUIRE(t.Open().ok());
  gone.replies.push_back(absl::UnavailableError("cannot reach vpnd"));
  r = t.Execute("show");
  CHECK(r.failed);
  CHECK(r.err == "vpnctl: cannot reach vpnd\n");
}

TEST_CASE("from a pipe: a failed line blocks commit; errors carry line numbers",
          "[configure_shell]") {
  ScriptedVpnd v;
  ConfigureShell s(v.transport(), "alice", false);
  REQUIRE(s.Open().ok());
  s.Execute("set interfaces vti vti2 mtu 1400");
  v.replies.push_back(VpndReply{false, "interfaces vti vti2 mtu: value '5' out of range"});
  auto r = s.Execute("set interfaces vti vti2 mtu 5");
  CHECK(r.err == "line 2: interfaces vti vti2 mtu: value '5' out of range\n");
  size_t sent = v.requests.size();
  r = s.Execute("commit");
  CHECK(r.failed);
  CHECK(absl::StrContains(r.err, "line 3: 'commit' refused: an earlier command failed"));
  CHECK(v.requests.size() == sent);  // never reached vpnd
  v.replies.push_back(VpndReply{true, "changed\n"});
  r = s.EndOfInput();
  CHECK(r.leave);
  CHECK(absl::StrContains(r.err, "end of input with uncommitted changes: discarded"));
  CHECK(v.requests.back() == "session|tok|exit|discard");
  CHECK(s.any_failed());
}

TEST_CASE("from a pipe: end of input after a commit is fine", "[configure_shell]") {
  ScriptedVpnd v;
  ConfigureShell s(v.transport(), "alice", false);
  REQUIRE(s.Open().ok());
  s.Execute("commit");
  v.replies.push_back(VpndReply{true, "unchanged\n"});
  auto r = s.EndOfInput();
  CHECK_FALSE(r.failed);
  CHECK_FALSE(s.any_failed());
}

TEST_CASE("completions: decoded and formatted for `?`", "[configure_shell]") {
  ScriptedVpnd v;
  ConfigureShell s(v.transport(), "alice", true);
  REQUIRE(s.Open().ok());
  v.replies.push_back(VpndReply{true, "P\t<name>\tIKE group\nW\tIKE-A\tIKE group\nC\n"});
  ConfigureShell::Completions c = s.Complete("set security vpn ipsec ike-group ");
  CHECK(v.requests.back() == "session|tok|complete|set security vpn ipsec ike-group ");
  REQUIRE(c.items.size() == 2);
  CHECK(c.items[0].placeholder);
  CHECK(c.complete);
  CHECK(FormatHelp(c) ==
        "\nPossible completions:\n"
        "  <name>   IKE group\n"
        "  IKE-A    IKE group\n"
        "  <Enter>  Execute the current command\n");
  ConfigureShell::Completions err;
  err.error = "unknown command 'x'";
  CHECK(FormatHelp(err) == "\n  unknown command 'x'\n");
}
