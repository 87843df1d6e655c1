// vpnctl's usage of the operational commands: every entry, with its help, aligned.
#include <catch2/catch.hpp>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/ops/op_commands.h"
#include "control/ops/op_usage.h"

using namespace portcullis::ops;

TEST_CASE("the usage lists every entry with its help", "[ops][usage]") {
  std::string usage = OpUsage("vpnctl", 52);
  INFO(usage);
  for (const OpCommand& c : kOpCommands) {
    CHECK(absl::StrContains(usage, absl::StrCat("  vpnctl ", c.syntax)));
    CHECK(absl::StrContains(usage, absl::StrCat(c.help, "\n")));
  }
}

TEST_CASE("help starts at the column, on the next line after a long syntax", "[ops][usage]") {
  std::string usage = OpUsage("vpnctl", 52);
  INFO(usage);
  for (const OpCommand& c : kOpCommands) {
    size_t at = usage.find(absl::StrCat(c.help, "\n"));
    REQUIRE(at != std::string::npos);
    size_t line_start = usage.rfind('\n', at) + 1;  // npos + 1 == 0 on the first line
    CHECK(at - line_start == 52);
  }
  CHECK(absl::StrContains(usage, "  vpnctl show vpn ipsec status                      vpnd's PID"));
  CHECK(absl::StrContains(usage,
                          "  vpnctl show vpn ipsec sa detail [peer <peer> [tunnel <N|vti>]]\n" +
                              std::string(52, ' ') + "every field"));
}
