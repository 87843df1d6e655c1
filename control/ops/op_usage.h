// The operational commands' part of vpnctl's usage text, one entry of op_commands.h each.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace portcullis::ops {

// "  vpnctl show vpn ike sa [peer <peer>]      IKE SAs: ...\n" per command, in table order: the
// help starts at `help_column`, or on a line of its own there when the syntax reaches it.
std::string OpUsage(absl::string_view program, size_t help_column);

}  // namespace portcullis::ops
