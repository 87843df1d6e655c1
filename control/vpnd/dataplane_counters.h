// The dataplane's own counters for the metrics endpoint: per-interface traffic and drops by
// reason, read from its DPDK telemetry socket when Prometheus scrapes, off vpnd's event loop.
// (The channel already carries the per-SA counters.)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis::vpnd {

struct InterfaceCounters {
  std::string name, kind, state;
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  std::map<std::string, uint64_t> drops;  // by reason
};

struct DataplaneCounters {
  std::vector<InterfaceCounters> interfaces;
  std::map<std::string, uint64_t> drops;   // all interfaces, by reason
  std::map<std::string, uint64_t> totals;  // /portcullis/stats' plain counters
  // /portcullis/workers: each counter's value per worker (index = worker id).
  std::map<std::string, std::vector<uint64_t>> workers;
};

// The telemetry socket of the dataplane serving `channel` (its default EAL file prefix).
std::string TelemetryPathForChannel(const std::string& channel);

// Connects, reads everything, disconnects; bounded by a 1 s timeout per reply.
absl::StatusOr<DataplaneCounters> ReadDataplaneCounters(const std::string& socket_path);

}  // namespace portcullis::vpnd
