// Operational command words -> the command (op_commands.h) and what its slots held. vpnctl
// parses what the operator typed, to refuse a malformed command before it reaches vpnd; vpnd
// parses what it receives, to know which handler to run.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/ops/op_commands.h"

namespace portcullis::ops {

// The argument slots of the syntax (op_commands.h).
enum class Slot { kNone, kPeer, kTunnel, kFile, kName, kRule };

// A word of a parsed command: a keyword (kNone) or the slot it filled.
struct OpWord {
  std::string text;
  Slot slot = Slot::kNone;
};

struct OpRequest {
  OpId id;
  OpArgs args;
  std::vector<OpWord> words;  // as given, without `json` / `--json`
};

// kNotFound when no command starts with these words (the message says whether they are
// unknown or incomplete, and what may come next); kInvalidArgument when they start a command
// but do not fit its syntax (the message names the problem and shows the syntax).
absl::StatusOr<OpRequest> ParseOpCommand(const std::vector<std::string>& words);

// Whether a syntax string is well-formed (balanced groups, known slots, starts with a keyword).
absl::Status CheckSyntax(absl::string_view syntax);

}  // namespace portcullis::ops
