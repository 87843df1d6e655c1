// Messages nobody authenticated are dropped without an answer; a flood of them must not become
// a flood of log lines. One line per interval gets through, and says how many were not logged.
// The same holds for anything else that repeats at the peer's pace (COOKIEs sent, IKE_SA_INITs
// refused by a limit, CHILD SAs refused): `what` names them in that report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace portcullis::ike {

class DropLogLimiter {
 public:
  static constexpr absl::Duration kInterval = absl::Seconds(10);

  explicit DropLogLimiter(std::string what = "unauthenticated messages dropped")
      : what_(std::move(what)) {}

  // Counts a drop. Returns the line to log, or nothing while the interval lasts.
  std::optional<std::string> Drop(absl::Time now, const std::string& line_text) {
    ++dropped_;
    if (now < next_log_) {
      ++not_logged_;
      return std::nullopt;
    }
    std::string line = line_text;
    if (not_logged_ > 0) {
      absl::StrAppend(&line, " (", not_logged_, " more ", what_, " since the last report)");
    }
    not_logged_ = 0;
    next_log_ = now + kInterval;
    return line;
  }
  uint64_t dropped() const { return dropped_; }

 private:
  std::string what_;
  uint64_t dropped_ = 0;
  uint64_t not_logged_ = 0;
  absl::Time next_log_ = absl::InfinitePast();
};

}  // namespace portcullis::ike
