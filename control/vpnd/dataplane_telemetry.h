// vpnd's reader of the dataplane's DPDK telemetry socket (dataplane/mgmt/telemetry.cc): the
// interfaces, routes, neighbours and drop counters that `show interfaces`, `show dataplane
// drops` and `diagnose` print. One connection per command, with a short timeout, so a stuck
// dataplane costs the command an error, not vpnd's event loop.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/api/json_value.h"

namespace portcullis::vpnd {

using dp::api::JsonValue;

class DataplaneTelemetry {
 public:
  // The dataplane of channel `name` uses DPDK's file prefix portcullis-<name>.
  static std::string DefaultPath(const std::string& channel);
  explicit DataplaneTelemetry(std::string path) : path_(std::move(path)) {}
  virtual ~DataplaneTelemetry() = default;

  // The value of the reply's one member, for each command in order, over one connection
  // (e.g. {"/portcullis/routes", "/portcullis/neighbors"}).
  virtual absl::StatusOr<std::vector<JsonValue>> Query(const std::vector<std::string>& commands);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace portcullis::vpnd
