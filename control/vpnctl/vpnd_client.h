// One request to vpnd over its unix socket (control/vpnd/control_protocol.h) and its answer.
// The operational commands send one; a configuration session sends one per command line.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis::vpnctl {

struct VpndReply {
  bool ok = false;   // "OK" (else vpnd's "ERROR")
  std::string text;  // what to print
};

// An error status only when vpnd cannot be reached or does not answer; `socket_path` "" is the
// default socket.
absl::StatusOr<VpndReply> AskVpnd(const std::string& socket_path,
                                  const std::vector<std::string>& words);

}  // namespace portcullis::vpnctl
