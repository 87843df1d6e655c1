// vpnctl commands. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "control/ops/op_parser.h"
#include "control/vpnctl/absolute_paths.h"
#include "control/vpnctl/output_filter.h"

namespace portcullis::vpnctl {

// vpnctl check FILE...            validate configuration files
// vpnctl check --pair A B         compare the two ends of a tunnel
int CmdCheck(const std::vector<std::string>& files, bool pair);

// vpnctl show configuration [commands] --file FILE [--dialect vyatta|vyos]
int CmdShowConfiguration(const std::vector<std::string>& args, const std::string& file,
                         const std::string& dialect, bool with_defaults);

// vpnctl [--socket PATH] [--json] <an operational command of control/ops/op_commands.h>
// Sends the parsed command to vpnd (a file by its absolute path) and prints its answer.
// Then through the output filters (output_filter.h).
int CmdOperational(const ops::OpRequest& request, const std::string& socket_path, bool json,
                   const std::vector<OutputFilter>& filters = {});

// vpnctl [--socket PATH] [--json] [--interval D] diagnose vpn peer X
// Two answers `interval` apart (step e compares their counters); exit 0 when every step passed.
int CmdDiagnose(const ops::OpRequest& request, const std::string& socket_path, bool json,
                absl::Duration interval, const std::vector<OutputFilter>& filters = {});

// vpnctl generate vpn peer-config X [format vyatta|vyos|swanctl] --file OURS.conf
int CmdGenerateOffline(const ops::OpRequest& request, const std::string& file);

// vpnctl [--socket PATH] configure
// A configuration session in vpnd: interactive on a terminal (line editing, history, Tab and
// `?`), else the commands on stdin, one per line (exit status 1 if any failed).
int CmdConfigure(const std::string& socket_path);

}  // namespace portcullis::vpnctl
