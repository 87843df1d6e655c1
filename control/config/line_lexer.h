// Splits one configuration line into words the way the Vyatta shell does: whitespace separates,
// 'single quotes' keep everything literally, "double quotes" allow \" and \\.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace portcullis::config {

struct LexedLine {
  std::vector<std::string> words;
  // Non-empty: the line cannot be read. It names columns, never quoted text (which may be a
  // pre-shared key).
  std::string error;
};

// A word starting with '#' (outside quotes) starts a comment.
LexedLine LexLine(absl::string_view line);

// Quotes a value for display: 'value' (Vyatta style), escaping as needed.
std::string QuoteValue(absl::string_view value);

}  // namespace portcullis::config
