// Completion and `?` help for a whole configuration-mode line: the mode's commands
// (control/ops/config_mode_commands.h), configuration paths after set/delete/show (from the
// schema and the session's candidate, either dialect), operational commands after run (with
// the configured peers for <peer>), and the arguments of the other commands.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "control/config/completion.h"
#include "control/config/config_tree.h"

namespace portcullis::vpnd {

struct LineCompletion {
  std::vector<config::Completion> items;
  bool complete = false;  // the line can run as it is
  std::string error;      // the line cannot become a command
};

// `line`: what is typed up to the cursor; the word under the cursor is completed ("" after a
// space).
LineCompletion CompleteLine(const config::ConfigTree& candidate, absl::string_view line);

// The reply to a session's `complete`: one item per line, "W\t<word>\t<help>" or
// "P\t<placeholder>\t<help>", then "C" when the line can run as it is, or "E\t<error>".
std::string EncodeCompletion(const LineCompletion& c);

}  // namespace portcullis::vpnd
