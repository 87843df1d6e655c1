// vpnd runs from / and may not share vpnctl's working directory: every file named on vpnctl's
// command line (`load`, `save`, an op command's <file>) is sent as an absolute path.
#pragma once

#include <string>
#include <vector>

#include "control/ops/op_parser.h"

namespace portcullis::vpnctl {

// `name` made absolute against the working directory (symlinks resolved when it exists).
std::string AbsolutePath(const std::string& name);

// The words of an operational command as sent to vpnd: files absolute.
std::vector<std::string> OpRequestWords(const ops::OpRequest& request);

}  // namespace portcullis::vpnctl
