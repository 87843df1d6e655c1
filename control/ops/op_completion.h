// Completion and `?` help for operational commands (after `run` in configuration mode), from
// the same table that parses them (op_commands.h): the keywords that may come next, or the
// argument slot (<peer>, <N|vti>, <file>) with the help of the command it belongs to.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "control/ops/op_parser.h"

namespace portcullis::ops {

struct OpCompletion {
  std::string text;  // a keyword, or the slot as written ("<peer>")
  std::string help;  // the help of the command the word completes, else ""
  Slot slot = Slot::kNone;
};

struct OpCompletionResult {
  std::vector<OpCompletion> items;  // sorted, no duplicates
  bool complete = false;            // the words already form a whole command
};

// `words`: typed before the word being completed; `partial`: that word so far.
OpCompletionResult CompleteOpCommand(const std::vector<std::string>& words,
                                     absl::string_view partial);

}  // namespace portcullis::ops
