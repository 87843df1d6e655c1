// The metric families vpnd exposes to Prometheus (metrics_exporter.h serves them), built from
// what vpnd knows: the `show vpn` rows (IKE SAs, CHILD SAs and their counters), the IKE log's
// counters, and the dataplane's telemetry. Pure functions and one accumulator, so the names,
// labels and values are unit-tested without a server.
//
// Labels follow what a Grafana dashboard groups by: peer (the peer's address, or the
// connection name when it has none), tunnel ("vti" or the tunnel number), direction ("in" |
// "out"), interface, reason (a drop reason), state, exchange, notify.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "control/vpnd/dataplane_counters.h"
#include "control/vpnd/ike_log_counters.h"
#include "control/vpnd/show_rows.h"
#include "prometheus/metric_family.h"

namespace portcullis::vpnd {

using Families = std::vector<prometheus::MetricFamily>;

// A tunnel's traffic as a Prometheus counter must never go down, but each CHILD SA counts from
// zero and a rekey replaces it: the tunnel's total is what its retired SAs carried plus what its
// live ones carried so far.
class TunnelTotals {
 public:
  struct Traffic {
    uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  };
  using Key = std::pair<std::string, std::string>;  // (peer, tunnel)

  // Every CHILD SA that exists now (any state), once per update.
  void Update(const std::vector<DebugPeer>& peers);
  const std::map<Key, Traffic>& totals() const { return totals_; }

 private:
  std::map<Key, std::map<uint32_t, Traffic>> live_;  // by inbound SPI
  std::map<Key, Traffic> retired_;
  std::map<Key, Traffic> totals_;
};

// "peer-192.0.2.2-tunnel-vti" -> "vti".
std::string TunnelOf(const std::string& child_name);
std::string PeerLabel(const DebugPeer& p);

// IKE SAs by state, peers up, CHILD SAs by state, per-SA counters, tunnels up.
Families SaFamilies(const std::vector<DebugPeer>& peers, const std::vector<TunnelPeer>& tunnels);
// Per-tunnel counters.
Families TunnelFamilies(const TunnelTotals& totals);
// Exchanges and notify errors.
Families IkeLogFamilies(const IkeLogCounters& c);

// The IKE key computation pool (ike/crypto/crypto_pool.h): jobs by result and those waiting.
struct KeyPoolCounters {
  uint64_t finished = 0, refused = 0, dropped = 0;
  size_t pending = 0;
};
Families KeyPoolFamilies(const KeyPoolCounters& c);
// Per-interface traffic, per-interface and total drops by reason; `up` says whether the
// dataplane answered at all.
Families DataplaneFamilies(const DataplaneCounters* c);

}  // namespace portcullis::vpnd
