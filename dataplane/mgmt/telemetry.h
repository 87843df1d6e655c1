// Registers the /portcullis/... telemetry commands (see telemetry.cc for the list).
#pragma once

#include "dataplane/mgmt/main_lcore.h"
#include "dataplane/runtime/dataplane.h"

namespace portcullis::dp {

void RegisterTelemetry(Dataplane& dp, MainLcore& main);

}  // namespace portcullis::dp
