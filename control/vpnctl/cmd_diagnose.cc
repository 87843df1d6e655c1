// vpnctl diagnose vpn peer X: asks vpnd twice, --interval apart, so that step e (counters that
// grow one way only) compares two samples; prints the second answer and exits 0 only when every
// step passed. vpnd keeps each call's sample; waiting here keeps its event loop free.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "control/vpnctl/commands.h"
#include "control/vpnctl/output_filter.h"
#include "control/vpnctl/vpnd_client.h"
#include "control/vpnd/control_protocol.h"

namespace portcullis::vpnctl {

int CmdDiagnose(const ops::OpRequest& request, const std::string& socket_path, bool json,
                absl::Duration interval, const std::vector<OutputFilter>& filters) {
  std::vector<std::string> words = OpRequestWords(request);
  json = json || request.args.json;
  if (json) words.push_back("--json");
  absl::StatusOr<VpndReply> reply = AskVpnd(socket_path, words);
  if (reply.ok() && reply->ok && interval > absl::ZeroDuration()) {
    absl::SleepFor(interval);
    reply = AskVpnd(socket_path, words);
  }
  if (!reply.ok()) {
    std::fprintf(stderr, "vpnctl: %s\n", std::string(reply.status().message()).c_str());
    return 1;
  }
  if (!reply->ok) {
    std::fputs(EscapeForTerminal(reply->text).c_str(), stderr);
    return 1;
  }
  std::fputs(EscapeForTerminal(ApplyFilters(filters, reply->text)).c_str(), stdout);
  bool passed = json ? absl::StrContains(reply->text, vpnd::kDiagnosePassedJson)
                     : absl::EndsWith(reply->text, vpnd::kDiagnosePassedLine);
  return passed ? 0 : 1;
}

}  // namespace portcullis::vpnctl
