// vpnd's handlers of the operational commands (control/ops/op_commands.h), one per command id.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/config/model.h"
#include "control/ops/op_parser.h"
#include "control/vpnd/dataplane_telemetry.h"
#include "control/vpnd/diagnose.h"
#include "control/vpnd/firewall_views.h"
#include "control/vpnd/log_sinks.h"
#include "control/vpnd/peer_failures.h"
#include "control/vpnd/resume_stats.h"
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
  // The running configuration (interfaces, firewall, and the PSKs `generate` writes); may be
  // null.
  const config::Model* model = nullptr;
  // The dataplane's telemetry; null without a dataplane (kernel-socket mode).
  DataplaneTelemetry* telemetry = nullptr;
  PeerFailures* failures = nullptr;  // the last IKE failure per peer; may be null
  // `diagnose`'s previous counter sample per peer (step e compares against it); may be null.
  std::map<std::string, CounterSample>* samples = nullptr;
  int64_t pid = 0;  // `show vpn ipsec status`
  // The firewall's ruleset ids (to match the dataplane's counters) and the baselines `clear
  // firewall` keeps; may be null.
  const FirewallIds* firewall_ids = nullptr;
  FwCounterBaselines* firewall_baselines = nullptr;
  // What this vpnd's start resumed (hitless restart); null without a dataplane.
  const ResumeStats* restart = nullptr;
};

// The text to print for the command, or an error with the message.
absl::StatusOr<std::string> RunOpCommand(OpContext& ctx, const ops::OpRequest& request);

}  // namespace portcullis::vpnd
