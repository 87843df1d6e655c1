// vpnctl commands. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace portcullis::vpnctl {

// vpnctl check FILE...            validate configuration files
// vpnctl check --pair A B         compare the two ends of a tunnel
int CmdCheck(const std::vector<std::string>& files, bool pair);

// vpnctl show configuration [commands] --file FILE [--dialect vyatta|vyos]
int CmdShowConfiguration(const std::vector<std::string>& args, const std::string& file,
                         const std::string& dialect, bool with_defaults);

}  // namespace portcullis::vpnctl
