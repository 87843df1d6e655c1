// A client of DPDK's telemetry socket (SOCK_SEQPACKET, one JSON reply per command).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "dataplane/dpctl/json_value.h"

namespace portcullis::dp::dpctl {

class TelemetryClient {
 public:
  // The dataplane of `channel` uses the file prefix portcullis-<channel> unless told otherwise.
  static std::string DefaultPath(const std::string& channel);
  static absl::StatusOr<TelemetryClient> Connect(const std::string& path);
  TelemetryClient(TelemetryClient&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~TelemetryClient();

  // The value of the reply's single member, e.g. Query("/portcullis/stats").
  absl::StatusOr<JsonValue> Query(const std::string& command);

 private:
  explicit TelemetryClient(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace portcullis::dp::dpctl
