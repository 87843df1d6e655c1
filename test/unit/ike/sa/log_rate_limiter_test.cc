// The one budget for log lines about unauthenticated messages (ike/sa/log_rate_limiter.h).
#include "ike/sa/log_rate_limiter.h"

#include <catch2/catch.hpp>

using namespace portcullis::ike;

TEST_CASE("a burst, then a rate; what is held back is reported once per interval", "[log][dos]") {
  LogRateLimiter l;
  absl::Time t = absl::FromUnixSeconds(1767225600);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += l.Allow(t);
  CHECK(allowed == static_cast<int>(LogRateLimiter::kBurst));
  CHECK(l.suppressed() == 1000 - LogRateLimiter::kBurst);
  std::optional<std::string> report = l.Report(t);
  REQUIRE(report.has_value());
  CHECK(*report ==
        "900 log lines about unauthenticated messages suppressed (more than 10 a second)");
  CHECK_FALSE(l.Report(t + absl::Seconds(1)).has_value());  // nothing new, and too soon

  // A flood that goes on gets kPerSecond lines a second through, no more.
  allowed = 0;
  for (int ms = 0; ms < 10000; ms += 1) allowed += l.Allow(t + absl::Milliseconds(ms));
  CHECK(allowed <= static_cast<int>(10 * LogRateLimiter::kPerSecond) + 1);
  CHECK(allowed >= static_cast<int>(10 * LogRateLimiter::kPerSecond) - 1);
  CHECK(l.Report(t + absl::Seconds(10)).has_value());

  // Quiet for a while: the burst is back.
  t += absl::Minutes(1);
  allowed = 0;
  for (int i = 0; i < 200; ++i) allowed += l.Allow(t);
  CHECK(allowed == static_cast<int>(LogRateLimiter::kBurst));
}
