// Registers the /portcullis/... telemetry commands (see telemetry.cc for the list).
#pragma once

#include "dataplane/core/dataplane.h"
#include "dataplane/mgmt/main_lcore.h"

namespace portcullis::dp {

void RegisterTelemetry(Dataplane& dp, MainLcore& main);

}  // namespace portcullis::dp
