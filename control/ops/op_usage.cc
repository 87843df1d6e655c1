#include "control/ops/op_usage.h"

#include "absl/strings/str_cat.h"
#include "control/ops/op_commands.h"

namespace portcullis::ops {

std::string OpUsage(absl::string_view program, size_t help_column) {
  std::string out;
  for (const OpCommand& c : kOpCommands) {
    std::string line = absl::StrCat("  ", program, " ", c.syntax);
    if (line.size() + 2 > help_column) {
      absl::StrAppend(&out, line, "\n");
      line.clear();
    }
    line.resize(help_column, ' ');
    absl::StrAppend(&out, line, c.help, "\n");
  }
  return out;
}

}  // namespace portcullis::ops
