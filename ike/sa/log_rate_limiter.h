// One budget for every log line an unauthenticated message causes: a half-open responder SA's
// lines (proposals, failures, its destruction), the manager's answers and refusals of
// IKE_SA_INITs, drops of forged messages. A token bucket: kBurst lines at once, then kPerSecond
// lines a second; what it refuses is counted and reported in one line per kReportInterval. A
// flood of spoofed IKE_SA_INITs then costs the log a bounded number of lines however long it
// lasts, while the handful of lines one misconfigured peer causes per attempt all get through.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace portcullis::ike {

class LogRateLimiter {
 public:
  static constexpr double kBurst = 100;
  static constexpr double kPerSecond = 10;
  static constexpr absl::Duration kReportInterval = absl::Seconds(10);

  // Whether a line may be written now; a refused line is counted.
  bool Allow(absl::Time now) {
    Refill(now);
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return true;
    }
    ++suppressed_;
    ++unreported_;
    return false;
  }

  // The line that reports refused lines, at most once per kReportInterval and only when there
  // are some; it does not take from the budget.
  std::optional<std::string> Report(absl::Time now) {
    if (unreported_ == 0 || now < next_report_) return std::nullopt;
    std::string line = absl::StrCat(unreported_,
                                    " log lines about unauthenticated messages suppressed (more "
                                    "than ",
                                    kPerSecond, " a second)");
    unreported_ = 0;
    next_report_ = now + kReportInterval;
    return line;
  }

  uint64_t suppressed() const { return suppressed_; }

 private:
  void Refill(absl::Time now) {
    if (last_ == absl::InfinitePast()) {
      last_ = now;
      return;
    }
    if (now <= last_) return;
    tokens_ = std::min(kBurst, tokens_ + absl::ToDoubleSeconds(now - last_) * kPerSecond);
    last_ = now;
  }

  double tokens_ = kBurst;
  absl::Time last_ = absl::InfinitePast();
  uint64_t suppressed_ = 0;
  uint64_t unreported_ = 0;
  absl::Time next_report_ = absl::InfinitePast();
};

}  // namespace portcullis::ike
