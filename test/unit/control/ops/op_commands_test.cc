// The operational command table: every entry well-formed, helped, and selected by its own
// leading keywords.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "control/ops/op_commands.h"
#include "control/ops/op_parser.h"

using namespace portcullis::ops;

namespace {

// The keywords before the first slot or group: what selects the command.
std::vector<std::string> Prefix(absl::string_view syntax) {
  std::vector<std::string> out;
  for (absl::string_view w : absl::StrSplit(syntax, ' ')) {
    if (w.empty() || w[0] == '[' || w[0] == '<') break;
    out.emplace_back(w);
  }
  return out;
}

}  // namespace

TEST_CASE("every entry's syntax is well-formed and has one line of help", "[ops]") {
  for (const OpCommand& c : kOpCommands) {
    INFO(c.syntax);
    CHECK(CheckSyntax(c.syntax).ok());
    CHECK_FALSE(c.help.empty());
    CHECK(c.help.find('\n') == absl::string_view::npos);
    CHECK(&CommandOf(c.id) == &c);
  }
}

TEST_CASE("no two entries have the same leading keywords", "[ops]") {
  std::set<std::vector<std::string>> seen;
  for (const OpCommand& c : kOpCommands) {
    INFO(c.syntax);
    CHECK_FALSE(Prefix(c.syntax).empty());
    CHECK(seen.insert(Prefix(c.syntax)).second);
  }
}

TEST_CASE("malformed syntax is caught", "[ops]") {
  for (const char* bad : {"show [peer <peer>", "show peer <peer>]", "show [peer | ]", "[peer]",
                          "show <nonsense>", "<peer> show", ""}) {
    INFO(bad);
    CHECK(CheckSyntax(bad).code() == absl::StatusCode::kInternal);
  }
  CHECK(CheckSyntax("show interfaces [<peer> | detail [peer <peer>]]").ok());
}

TEST_CASE("CoversEveryOpOnce: a missing or doubled id fails", "[ops]") {
  struct E {
    OpId id;
  };
  static constexpr E kMissing[] = {{OpId::kShowIkeSa}};
  static_assert(!CoversEveryOpOnce(kMissing));
  static constexpr E kDoubled[] = {{OpId::kShowIkeSa},         {OpId::kShowIkeSa},
                                   {OpId::kShowIpsecSaDetail}, {OpId::kShowIpsecSaStatistics},
                                   {OpId::kShowDebug},         {OpId::kShowLogIpsec},
                                   {OpId::kResetIpsecPeer},    {OpId::kLoad}};
  static_assert(!CoversEveryOpOnce(kDoubled));
  static_assert(CoversEveryOpOnce(kOpCommands));
  SUCCEED();
}
