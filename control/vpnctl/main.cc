// vpnctl: the operator's command line. Offline commands work on files; the operational ones
// (show vpn ..., reset ...) talk to vpnd over its unix socket.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "control/vpnctl/commands.h"

ABSL_FLAG(std::string, file, "", "configuration file for 'show configuration'");
ABSL_FLAG(std::string, dialect, "vyatta", "output dialect: vyatta or vyos");
ABSL_FLAG(bool, pair, false, "check: compare the two ends of a tunnel (two files)");
ABSL_FLAG(bool, defaults, false, "show configuration: include default values");
ABSL_FLAG(std::string, socket, "", "vpnd's socket (default /run/portcullis/vpnd.sock)");
ABSL_FLAG(bool, json, false, "operational commands: print JSON");

namespace {

constexpr char kUsage[] =
    "vpnctl: Portcullis command line\n"
    "  vpnctl check FILE...                              validate configuration files\n"
    "  vpnctl check --pair A.conf B.conf                 compare the two ends of a tunnel\n"
    "  vpnctl show configuration [commands] --file FILE [--dialect vyatta|vyos] [--defaults]\n"
    "Talking to vpnd ([--socket PATH] [--json]):\n"
    "  vpnctl show vpn ike sa [peer X]\n"
    "  vpnctl show vpn ipsec sa [detail|statistics] [peer X [tunnel N|vti]]\n"
    "  vpnctl show vpn debug [peer X [tunnel N|vti]]\n"
    "  vpnctl show log vpn ipsec [peer X]\n"
    "  vpnctl reset vpn ipsec-peer X [tunnel N]\n"
    "  vpnctl load FILE                                  re-read and commit, all or nothing\n";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> words(rest.begin() + 1, rest.end());
  if (words.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  using namespace portcullis::vpnctl;
  if (words[0] == "check") {
    return CmdCheck({words.begin() + 1, words.end()}, absl::GetFlag(FLAGS_pair));
  }
  if (words[0] == "show" && words.size() >= 2 && words[1] == "configuration") {
    return CmdShowConfiguration({words.begin() + 2, words.end()}, absl::GetFlag(FLAGS_file),
                                absl::GetFlag(FLAGS_dialect), absl::GetFlag(FLAGS_defaults));
  }
  bool op = (words[0] == "show" && words.size() >= 2 && (words[1] == "vpn" || words[1] == "log")) ||
            words[0] == "reset" || words[0] == "load";
  if (op) return CmdOperational(words, absl::GetFlag(FLAGS_socket), absl::GetFlag(FLAGS_json));
  std::fprintf(stderr, "vpnctl: unknown command '%s'\n%s", words[0].c_str(), kUsage);
  return 2;
}
