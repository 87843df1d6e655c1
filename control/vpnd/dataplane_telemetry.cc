#include "control/vpnd/dataplane_telemetry.h"

#include "dataplane/api/telemetry_client.h"

namespace portcullis::vpnd {

std::string DataplaneTelemetry::DefaultPath(const std::string& channel) {
  return dp::api::TelemetryClient::DefaultPath(channel);
}

absl::StatusOr<std::vector<JsonValue>> DataplaneTelemetry::Query(
    const std::vector<std::string>& commands) {
  // One connection for the whole view; a second at most for each send and receive, so a stuck
  // dataplane fails the command instead of stalling vpnd's event loop.
  auto client = dp::api::TelemetryClient::Connect(path_, absl::Seconds(1));
  if (!client.ok()) return client.status();
  std::vector<JsonValue> out;
  for (const std::string& c : commands) {
    auto v = client->Query(c);
    if (!v.ok()) return v.status();
    out.push_back(*std::move(v));
  }
  return out;
}

}  // namespace portcullis::vpnd
