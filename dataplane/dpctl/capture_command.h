// `dpctl capture`: the dataplane's packet capture (dataplane/mgmt/packet_capture.h), through
// its telemetry socket.
//   dpctl --channel NAME capture start <port|interface> [count N] [file F] [snaplen N] [--wait]
//   dpctl --channel NAME capture stop | status
// F is made absolute here: the dataplane writes it, from its own working directory. --wait
// returns once a capture with a count has finished (or after 60 s, stopping it).
#pragma once

#include <string>
#include <vector>

#include "dataplane/api/telemetry_client.h"

namespace portcullis::dp::dpctl {

int CaptureCommand(api::TelemetryClient& tel, const std::vector<std::string>& args, bool json);

}  // namespace portcullis::dp::dpctl
