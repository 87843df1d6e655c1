// A client of the dataplane's DPDK telemetry socket (SOCK_SEQPACKET, one JSON reply per
// command), for dpctl and for vpnd's show commands: the interfaces, routes, neighbours, stats
// and drop counters that dataplane/mgmt/telemetry.cc publishes.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/api/json_value.h"

namespace portcullis::dp::api {

class TelemetryClient {
 public:
  // The dataplane of `channel` uses the file prefix portcullis-<channel> unless told otherwise.
  static std::string DefaultPath(const std::string& channel);
  // `timeout` bounds each send and receive: vpnd's event loop waits for the answer, and a
  // dataplane that does not answer must fail the command, not stall IKE.
  static absl::StatusOr<TelemetryClient> Connect(const std::string& path,
                                                 absl::Duration timeout = absl::Seconds(5));
  TelemetryClient(TelemetryClient&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  TelemetryClient& operator=(TelemetryClient&&) = delete;
  ~TelemetryClient();

  // The value of the reply's single member, e.g. Query("/portcullis/stats"); NotFound when
  // the dataplane has no such object.
  absl::StatusOr<JsonValue> Query(const std::string& command);

 private:
  explicit TelemetryClient(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace portcullis::dp::api
