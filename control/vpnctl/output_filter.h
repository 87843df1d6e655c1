// Vyatta's output pipes for operational commands, applied by vpnctl to vpnd's answer:
//   | match RE      lines that match the regular expression
//   | no-match RE   lines that do not
//   | count         the number of lines
//   | json          the answer as JSON (the same as --json)
// The pipe may come as a word of its own (`vpnctl show vpn ike sa '|' match up`) or inside one
// (`vpnctl show vpn ike sa "| match up"`), and filters chain left to right.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portcullis::vpnctl {

struct OutputFilter {
  enum class Kind { kMatch, kNoMatch, kCount, kJson } kind = Kind::kMatch;
  std::string pattern;  // match / no-match
};

struct Pipeline {
  std::vector<std::string> command;  // the words before the first pipe
  std::vector<OutputFilter> filters;
  bool json() const;
};

// InvalidArgument for an unknown filter, a match without its expression, or a bad expression.
absl::StatusOr<Pipeline> ParsePipeline(const std::vector<std::string>& words);

// The text after the filters (JSON is vpnd's business: kJson passes the text through).
std::string ApplyFilters(const std::vector<OutputFilter>& filters, absl::string_view text);

// Control characters (ESC, CR, BEL, the C1 range, ...) of text that reached vpnd from a peer
// (identities, log lines) as \xNN, so they cannot drive the operator's terminal.
std::string EscapeForTerminal(absl::string_view text);

}  // namespace portcullis::vpnctl
