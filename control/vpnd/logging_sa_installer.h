// The SA installer of the kernel-socket transport (development, and interop with strongSwan
// without a dataplane): nothing carries ESP, so CHILD SAs are only logged, with their SPIs,
// suite and selectors, and the SA and policy messages the dataplane would get (without keys),
// and nothing is installed, removed or counted. Its SPIs are the same random draw as the
// channel installer's.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/time/time.h"
#include "control/vpnd/sa_installer.h"
#include "dataplane/api/messages.h"
#include "ike/sa/ike_log.h"

namespace portcullis::vpnd {

class LoggingSaInstaller : public SaInstaller {
 public:
  using Clock = std::function<absl::Time()>;
  // `log` must outlive the installer.
  LoggingSaInstaller(Clock clock, ike::LogSink* log) : clock_(std::move(clock)), log_(log) {}

  absl::StatusOr<uint32_t> GetSpi() override { return DrawChildSpi(); }
  void AddSa(const ike::ChildSa& child, uint32_t vti_ifindex) override;
  void UpdateSa(const ike::ChildSa& child) override;
  void DelSa(const ike::ChildSa&) override {}
  void InstallOutbound(const ike::ChildSa& child) override;
  // The policy messages a policy-based tunnel's dataplane would get.
  void AddPolicy(const ike::ChildSa& child) override;
  absl::StatusOr<SaCounters> QuerySa(uint32_t spi, SaDirection direction) const override;
  // Nothing here carries ESP.
  SaPlacement Placement(uint32_t) const override { return SaPlacement::kNotInstalled; }
  void FlushRemovals() override {}
  void RetryRemovals() override {}
  std::vector<InstallFailure> TakeInstallFailures() override { return {}; }
  void ForgetAll() override {}

 private:
  void Log(const ike::ChildSa& c, std::string text);
  // One "would send" line per message (SaMessageText), or why the dataplane would refuse them.
  void LogMessages(const ike::ChildSa& c,
                   const absl::StatusOr<std::vector<dp::api::Message>>& msgs);

  Clock clock_;
  ike::LogSink* log_;
};

}  // namespace portcullis::vpnd
