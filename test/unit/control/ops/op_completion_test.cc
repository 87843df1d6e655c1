// Completion of operational commands after `run`, from the op table.
#include "control/ops/op_completion.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "control/ops/config_mode_commands.h"

using namespace portcullis::ops;

namespace {
std::vector<std::string> Texts(const OpCompletionResult& r) {
  std::vector<std::string> out;
  for (const OpCompletion& c : r.items) out.push_back(c.text);
  return out;
}
using V = std::vector<std::string>;
}  // namespace

TEST_CASE("the first words of the table, by prefix", "[op_completion]") {
  CHECK(Texts(CompleteOpCommand({}, "")) ==
        V{"clear", "diagnose", "generate", "load", "reset", "restart", "show"});
  CHECK(Texts(CompleteOpCommand({}, "res")) == V{"reset", "restart"});
  CHECK(Texts(CompleteOpCommand({"show"}, "")) ==
        V{"dataplane", "firewall", "interfaces", "log", "system", "vpn", "vrrp"});
  CHECK_FALSE(CompleteOpCommand({"show"}, "").complete);
}

TEST_CASE("the word that ends a command carries its help", "[op_completion]") {
  OpCompletionResult r = CompleteOpCommand({"show", "vpn", "ipsec", "sa"}, "");
  CHECK(Texts(r) == V{"detail", "nat-traversal", "peer", "statistics"});
  CHECK(r.complete);
  // `detail` ends both `show vpn ipsec sa detail` and `show vpn ipsec sa [...] [detail]`.
  CHECK(!r.items[0].help.empty());
  r = CompleteOpCommand({"show", "system"}, "");
  CHECK(Texts(r) == V{"commit"});
  CHECK(r.items[0].help == CommandOf(OpId::kShowSystemCommit).help);
}

TEST_CASE("slots are offered as slots and accept what the parser accepts", "[op_completion]") {
  OpCompletionResult r = CompleteOpCommand({"reset", "vpn", "ipsec-peer"}, "");
  REQUIRE(r.items.size() == 1);
  CHECK(r.items[0].text == "<peer>");
  CHECK(r.items[0].slot == Slot::kPeer);
  r = CompleteOpCommand({"reset", "vpn", "ipsec-peer", "192.0.2.2"}, "");
  CHECK(Texts(r) == V{"tunnel", "vti"});
  CHECK(r.complete);
  r = CompleteOpCommand({"reset", "vpn", "ipsec-peer", "192.0.2.2", "tunnel"}, "");
  CHECK(Texts(r) == V{"<N|vti>"});
  CHECK(CompleteOpCommand({"reset", "vpn", "ipsec-peer", "192.0.2.2", "tunnel", "x"}, "")
            .items.empty());
  CHECK(CompleteOpCommand({"show", "vpn", "ike", "sa", "json"}, "").complete);
}

TEST_CASE("configuration-mode commands: sorted, unique, each with one line of help",
          "[config_mode_commands]") {
  absl::string_view prev;
  for (const ConfigModeCommand& c : kConfigModeCommands) {
    INFO(c.name);
    CHECK(prev < c.name);
    CHECK(absl::StartsWith(c.syntax, c.name));
    CHECK_FALSE(c.help.empty());
    CHECK(c.help.find('\n') == absl::string_view::npos);
    CHECK(FindConfigModeCommand(c.name) == &c);
    prev = c.name;
  }
  CHECK(FindConfigModeCommand("configure") == nullptr);
}
