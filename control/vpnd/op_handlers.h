// vpnd's handlers of the operational commands (control/ops/op_commands.h), one per command id.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/ops/op_parser.h"
#include "control/vpnd/log_sinks.h"
#include "control/vpnd/sa_installer.h"
#include "ike/sa/ike_manager.h"

namespace portcullis::vpnd {

// What the commands act on.
struct OpContext {
  ike::IkeManager& ike;
  const SaInstaller& installer;                // where CHILD SAs are installed, if anywhere
  std::vector<const ike::IkeSaConfig*> peers;  // in configuration order
  const VpndLog& log;
  absl::Time now;
  // vpnd's all-or-nothing reload; the file's warnings are added to `warnings`.
  std::function<absl::Status(const std::string& path, std::vector<std::string>* warnings)> load;
  std::function<std::string()> commits;  // `show system commit`: the archive's revisions
};

// The text to print for the command, or an error with the message.
absl::StatusOr<std::string> RunOpCommand(OpContext& ctx, const ops::OpRequest& request);

}  // namespace portcullis::vpnd
