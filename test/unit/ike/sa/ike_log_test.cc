// The IKE log's line format and the escaping of a peer's bytes (ike/sa/ike_log.h).
#include "ike/sa/ike_log.h"

#include <catch2/catch.hpp>

#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"

using namespace portcullis::ike;

namespace {

bool OnlyPrintable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a peer's bytes are escaped: control characters, ESC, NUL, high bytes",
          "[log][security]") {
  using namespace std::string_literals;
  CHECK(EscapePeerBytes("site-a.example.com") == "site-a.example.com");
  CHECK(EscapePeerBytes("a\nb") == "a\\x0ab");
  CHECK(EscapePeerBytes("\x1b[31mred") == "\\x1b[31mred");
  CHECK(EscapePeerBytes("nul\0here"s) == "nul\\x00here");
  CHECK(EscapePeerBytes("\xff\x80\x7f") == "\\xff\\x80\\x7f");
  CHECK(EscapePeerBytes("tab\there\r") == "tab\\x09here\\x0d");
  // A backslash is doubled, so an escaped byte and the same text sent literally differ.
  CHECK(EscapePeerBytes("a\\x0ab") == "a\\\\x0ab");
}

TEST_CASE("a log line is always one line of printable text", "[log][security]") {
  using namespace std::string_literals;
  LogRecord r{absl::FromUnixSeconds(1767225600),
              LogGroup::kIke,
              "peer-x",
              1,
              false,
              "peer identified as 'a\n2026-01-01 00:00:00 01[IKE] forged\x1b[2J\0\xfe'"s};
  std::string line = FormatLogLine(r);
  CHECK(OnlyPrintable(line));
  CHECK(line ==
        "2026-01-01 00:00:00 01[IKE] <peer-x|1> peer identified as "
        "'a\\x0a2026-01-01 00:00:00 01[IKE] forged\\x1b[2J\\x00\\xfe'");
  // Our own text keeps its backslashes as they are.
  r.text = "path C:\\x";
  CHECK(FormatLogLine(r) == "2026-01-01 00:00:00 01[IKE] <peer-x|1> path C:\\x");
  r.conn = "peer-\n";
  CHECK(OnlyPrintable(FormatLogLine(r)));
}

// FormatLogLine converts the time once a second and reuses the text: lines in the same second
// share it, the next second (or an earlier one, a clock stepped back) gets its own, and a time
// just before a second's end still belongs to that second.
TEST_CASE("a log line's time: cached per second, never carried into the next", "[log]") {
  auto line = [](absl::Time t) {
    return FormatLogLine(LogRecord{t, LogGroup::kIke, "", 0, false, "x"});
  };
  const absl::Time t = absl::FromUnixSeconds(1767225600);  // 2026-01-01 00:00:00 UTC
  CHECK(absl::StartsWith(line(t), "2026-01-01 00:00:00 "));
  CHECK(absl::StartsWith(line(t + absl::Milliseconds(999)), "2026-01-01 00:00:00 "));
  CHECK(
      absl::StartsWith(line(t + absl::Seconds(1) - absl::Nanoseconds(1)), "2026-01-01 00:00:00 "));
  CHECK(absl::StartsWith(line(t + absl::Seconds(1)), "2026-01-01 00:00:01 "));
  CHECK(absl::StartsWith(line(t + absl::Milliseconds(1500)), "2026-01-01 00:00:01 "));
  CHECK(absl::StartsWith(line(t - absl::Milliseconds(1)), "2025-12-31 23:59:59 "));
  CHECK(absl::StartsWith(line(t + absl::Hours(24)), "2026-01-02 00:00:00 "));
  CHECK(absl::StartsWith(line(t), "2026-01-01 00:00:00 "));
}
