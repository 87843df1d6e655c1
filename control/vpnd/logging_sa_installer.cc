#include "control/vpnd/logging_sa_installer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/vpnd/sa_message_text.h"
#include "control/vpnd/sa_messages.h"
#include "dataplane/api/key_wipe.h"
#include "ike/sa/proposal_string.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

void LoggingSaInstaller::Log(const ike::ChildSa& c, std::string text) {
  log_->Write(
      ike::LogRecord{clock_(), ike::LogGroup::kKnl, c.name, c.unique_id, true, std::move(text)});
}

void LoggingSaInstaller::LogMessages(const ike::ChildSa& c,
                                     const absl::StatusOr<std::vector<dp::api::Message>>& msgs) {
  if (!msgs.ok()) {
    Log(c, absl::StrCat("kernel transport: the dataplane would refuse this CHILD_SA: ",
                        msgs.status().message()));
    return;
  }
  for (const dp::api::Message& m : *msgs) {
    Log(c, absl::StrCat("kernel transport: would send ", SaMessageText(m)));
  }
}

void LoggingSaInstaller::AddSa(const ike::ChildSa& c, uint32_t vti_ifindex) {
  Log(c,
      absl::StrFormat("kernel transport: CHILD_SA not installed (SAs are only logged): ESP "
                      "SPIs %08x_i %08x_o, %s %s === %s%s",
                      c.spi_in, c.spi_out, ike::SuiteString(c.suite),
                      ike::TsListToString(c.local_ts), ike::TsListToString(c.remote_ts),
                      c.encap ? absl::StrCat(", UDP-encapsulated to ", c.remote.ToString()) : ""));
  // The messages the channel installer would send (same builder), so a run against another
  // implementation shows their outer family, addresses and SPIs; the keys are wiped unread.
  absl::StatusOr<std::vector<dp::api::Message>> msgs =
      SaMessages(c, vti_ifindex, dp::api::Op::kAdd);
  LogMessages(c, msgs);
  if (msgs.ok()) dp::api::SecureWipe(msgs->data(), msgs->size() * sizeof(dp::api::Message));
}

void LoggingSaInstaller::AddPolicy(const ike::ChildSa& c) {
  LogMessages(c, PolicyMessages(c, dp::api::Op::kAdd));
}

void LoggingSaInstaller::InstallOutbound(const ike::ChildSa& c) {
  log_->Write(ike::LogRecord{
      clock_(), ike::LogGroup::kKnl, c.name, c.unique_id, true,
      absl::StrFormat("kernel transport: CHILD_SA with SPIs %08x_i %08x_o sends from now on",
                      c.spi_in, c.spi_out)});
}

void LoggingSaInstaller::UpdateSa(const ike::ChildSa& c) {
  log_->Write(ike::LogRecord{
      clock_(), ike::LogGroup::kKnl, c.name, c.unique_id, true,
      absl::StrFormat("kernel transport: CHILD_SA with SPIs %08x_i %08x_o now between %s and %s",
                      c.spi_in, c.spi_out, c.local.ToString(), c.remote.ToString())});
}

absl::StatusOr<SaCounters> LoggingSaInstaller::QuerySa(uint32_t spi, SaDirection dir) const {
  return absl::NotFoundError(
      absl::StrFormat("kernel transport: no counters for %s SA %08x (SAs are only logged)",
                      dir == SaDirection::kIn ? "inbound" : "outbound", spi));
}

}  // namespace portcullis::vpnd
