// The operational commands: sent to vpnd over its unix socket (control/vpnd/control_protocol.h),
// which answers with the text to print (the Vyatta layouts, or JSON with --json), then through
// the output filters (`| match RE`, ...).
#include <cstdio>
#include <string>

#include "control/vpnctl/commands.h"
#include "control/vpnctl/output_filter.h"
#include "control/vpnctl/vpnd_client.h"

namespace portcullis::vpnctl {

int CmdOperational(const ops::OpRequest& request, const std::string& socket_path, bool json,
                   const std::vector<OutputFilter>& filters) {
  std::vector<std::string> words = OpRequestWords(request);
  if (json || request.args.json) words.push_back("--json");
  absl::StatusOr<VpndReply> reply = AskVpnd(socket_path, words);
  if (!reply.ok()) {
    std::fprintf(stderr, "vpnctl: %s\n", std::string(reply.status().message()).c_str());
    return 1;
  }
  std::string text = reply->ok ? ApplyFilters(filters, reply->text) : reply->text;
  std::fputs(EscapeForTerminal(text).c_str(), reply->ok ? stdout : stderr);
  return reply->ok ? 0 : 1;
}

}  // namespace portcullis::vpnctl
