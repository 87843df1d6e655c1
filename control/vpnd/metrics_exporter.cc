#include "control/vpnd/metrics_exporter.h"

#include <exception>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "control/vpnd/dataplane_counters.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"

namespace portcullis::vpnd {

class MetricsExporter::Collector : public prometheus::Collectable {
 public:
  explicit Collector(std::string telemetry_path) : telemetry_path_(std::move(telemetry_path)) {}

  void Set(Families f) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = std::move(f);
  }

  Families Collect() const override {
    Families out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      out = snapshot_;
    }
    if (!telemetry_path_.empty()) {
      auto c = ReadDataplaneCounters(telemetry_path_);
      Families d = DataplaneFamilies(c.ok() ? &*c : nullptr);
      out.insert(out.end(), std::make_move_iterator(d.begin()), std::make_move_iterator(d.end()));
    }
    return out;
  }

 private:
  const std::string telemetry_path_;
  mutable std::mutex mu_;
  Families snapshot_;
};

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    const std::string& listen, std::string telemetry_path) {
  std::unique_ptr<MetricsExporter> m(new MetricsExporter());
  m->collector_ = std::make_shared<Collector>(std::move(telemetry_path));
  try {
    // One thread: Prometheus scrapes one at a time, and each scrape walks the dataplane's
    // telemetry once.
    m->exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-listen ", listen, ": cannot listen (", e.what(), ")"));
  }
  m->exposer_->RegisterCollectable(m->collector_);
  return m;
}

MetricsExporter::~MetricsExporter() = default;

std::vector<int> MetricsExporter::ports() const {
  return exposer_->GetListeningPorts();
}

void MetricsExporter::Update(const ike::IkeManager& ike, const SaInstaller& installer,
                             const ShowPeers& peers, absl::Time now) {
  if (now < next_update_) return;
  next_update_ = now + absl::Seconds(1);
  std::vector<DebugPeer> debug = GatherDebug(ike, installer, peers, ShowFilter{}, now);
  std::vector<TunnelPeer> tunnels = GatherTunnels(ike, installer, peers, ShowFilter{}, now);
  totals_.Update(debug);
  Families f = SaFamilies(debug, tunnels);
  KeyPoolCounters keys;
  if (const ike::CryptoPool* pool = ike.crypto_pool()) {
    const ike::CryptoPool::Stats st = pool->stats();
    keys = {st.finished, st.refused, ike.crypto_results_dropped(), pool->pending()};
  }
  for (Families more :
       {TunnelFamilies(totals_), IkeLogFamilies(log_counters_), KeyPoolFamilies(keys)}) {
    f.insert(f.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  collector_->Set(std::move(f));
}

}  // namespace portcullis::vpnd
