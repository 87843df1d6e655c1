// --metrics-listen ADDR:PORT: a Prometheus endpoint (GET /metrics) served by prometheus-cpp's
// pull exposer (civetweb threads of its own). vpnd's state belongs to its event loop, so the
// loop hands the exporter a snapshot of IKE and SA values (Update, at most once a second); the
// dataplane's counters are read from its telemetry when Prometheus scrapes, on the exposer's
// thread, so a scrape never waits for the loop and the loop never waits for a scrape.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/vpnd/ike_log_counters.h"
#include "control/vpnd/metrics_families.h"
#include "control/vpnd/show_gather.h"

namespace prometheus {
class Exposer;
}

namespace portcullis::vpnd {

class MetricsExporter {
 public:
  // Binds `listen` ("127.0.0.1:9400", "[::1]:9400", "0.0.0.0:9400"). `telemetry_path`: the
  // dataplane's telemetry socket, "" without a dataplane (kernel transport).
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(const std::string& listen,
                                                                std::string telemetry_path);
  ~MetricsExporter();

  std::vector<int> ports() const;
  // Add to vpnd's log: it counts IKE messages and notify errors.
  IkeLogCounters* log_counters() { return &log_counters_; }
  // On vpnd's loop; cheap when called more often than once a second.
  void Update(const ike::IkeManager& m, const SaInstaller& installer, const ShowPeers& peers,
              absl::Time now);

 private:
  class Collector;
  MetricsExporter() = default;

  IkeLogCounters log_counters_;
  TunnelTotals totals_;
  absl::Time next_update_ = absl::InfinitePast();
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace portcullis::vpnd
