// A channel SA message as the ESP engine's SA configuration.
#pragma once

#include "absl/status/statusor.h"
#include "dataplane/api/messages.h"
#include "dataplane/esp/sa_config.h"

namespace portcullis::dp {

absl::StatusOr<esp::SaConfig> SaConfigFromMessage(const api::SaBody& b);

}  // namespace portcullis::dp
