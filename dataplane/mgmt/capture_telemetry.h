// The /portcullis/capture telemetry command: how `dpctl capture` starts, stops and watches the
// dataplane's packet capture (packet_capture.h). Telemetry rather than the channel: capture is
// an operator's tool beside `dpctl show`, and the channel's contract stays vpnd's.
//   /portcullis/capture,start TARGET [count N] [file ABSPATH] [snaplen N]
//   /portcullis/capture,stop
//   /portcullis/capture,status       (also with no parameter)
#pragma once

#include "dataplane/mgmt/main_lcore.h"

namespace portcullis::dp {

void RegisterCaptureTelemetry(MainLcore& main);

}  // namespace portcullis::dp
