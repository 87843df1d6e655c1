// vpnctl: the operator's command line. Offline commands work on files; the operational ones
// (show vpn ..., reset ..., load ...: control/ops/op_commands.h) talk to vpnd over its unix
// socket.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "control/ops/op_parser.h"
#include "control/ops/op_usage.h"
#include "control/vpnctl/commands.h"

ABSL_FLAG(std::string, file, "",
          "configuration file for 'show configuration' and 'generate vpn peer-config'");
ABSL_FLAG(std::string, dialect, "vyatta", "output dialect: vyatta or vyos");
ABSL_FLAG(bool, pair, false, "check: compare the two ends of a tunnel (two files)");
ABSL_FLAG(bool, defaults, false, "show configuration: include default values");
ABSL_FLAG(std::string, socket, "", "vpnd's socket (default /run/portcullis/vpnd.sock)");
ABSL_FLAG(bool, json, false, "operational commands: print JSON");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(3),
          "diagnose: time between the two counter samples (step e)");

namespace {

constexpr char kOfflineUsage[] =
    "vpnctl: Portcullis command line\n"
    "  vpnctl check FILE...                              validate configuration files\n"
    "  vpnctl check --pair A.conf B.conf                 compare the two ends of a tunnel\n"
    "  vpnctl show configuration [commands] --file FILE [--dialect vyatta|vyos] [--defaults]\n"
    "  vpnctl generate vpn peer-config PEER [format vyatta|vyos|swanctl] --file FILE\n"
    "                                                    the other end's configuration, offline\n"
    "Talking to vpnd ([--socket PATH] [--json]):\n"
    "  vpnctl configure                                  configuration mode: set, delete, show,\n"
    "                                                    compare, commit, ... ('?' lists them);\n"
    "                                                    reads the commands from stdin if piped\n";
// Where the help of each command starts, as in the lines above.
constexpr size_t kHelpColumn = 52;

}  // namespace

int main(int argc, char** argv) {
  const std::string usage = kOfflineUsage + portcullis::ops::OpUsage("vpnctl", kHelpColumn);
  absl::SetProgramUsageMessage(usage);
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> words(rest.begin() + 1, rest.end());
  if (words.empty()) {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  using namespace portcullis::vpnctl;
  if (words[0] == "check") {
    return CmdCheck({words.begin() + 1, words.end()}, absl::GetFlag(FLAGS_pair));
  }
  if (words[0] == "configure") {
    if (words.size() != 1) {
      std::fputs("usage: vpnctl [--socket PATH] configure\n", stderr);
      return 2;
    }
    return CmdConfigure(absl::GetFlag(FLAGS_socket));
  }
  if (words[0] == "show" && words.size() >= 2 && words[1] == "configuration") {
    return CmdShowConfiguration({words.begin() + 2, words.end()}, absl::GetFlag(FLAGS_file),
                                absl::GetFlag(FLAGS_dialect), absl::GetFlag(FLAGS_defaults));
  }
  // Everything else is an operational command for vpnd, checked here first so a malformed one
  // gets its error without a round trip (or without a running vpnd), and may end in output
  // filters (`| match RE`, ...) that vpnctl applies to the answer.
  absl::StatusOr<Pipeline> pipeline = ParsePipeline(words);
  if (!pipeline.ok()) {
    std::fprintf(stderr, "vpnctl: %s\n", std::string(pipeline.status().message()).c_str());
    return 2;
  }
  words = pipeline->command;
  absl::StatusOr<portcullis::ops::OpRequest> op = portcullis::ops::ParseOpCommand(words);
  if (!op.ok()) {
    std::fprintf(stderr, "vpnctl: %s\n", std::string(op.status().message()).c_str());
    if (absl::IsNotFound(op.status())) std::fputs(usage.c_str(), stderr);
    return 2;
  }
  using portcullis::ops::OpId;
  bool json = absl::GetFlag(FLAGS_json) || pipeline->json();
  if (op->id == OpId::kGeneratePeerConfig && !absl::GetFlag(FLAGS_file).empty()) {
    return CmdGenerateOffline(*op, absl::GetFlag(FLAGS_file));
  }
  if (op->id == OpId::kDiagnosePeer) {
    return CmdDiagnose(*op, absl::GetFlag(FLAGS_socket), json, absl::GetFlag(FLAGS_interval),
                       pipeline->filters);
  }
  return CmdOperational(*op, absl::GetFlag(FLAGS_socket), json, pipeline->filters);
}
