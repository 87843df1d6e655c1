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

// vpnctl [--socket PATH] [--json] show vpn ike sa [peer X] | show vpn ipsec sa [peer X [tunnel N]]
//        | show vpn debug [peer X [tunnel N]] | show log vpn ipsec [peer X]
//        | reset vpn ipsec-peer X [tunnel N] | load FILE
// Sends the words to vpnd and prints its answer.
int CmdOperational(std::vector<std::string> words, const std::string& socket_path, bool json);

}  // namespace portcullis::vpnctl
