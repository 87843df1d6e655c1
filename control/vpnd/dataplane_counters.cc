#include "control/vpnd/dataplane_counters.h"

#include "dataplane/api/telemetry_client.h"

namespace portcullis::vpnd {

namespace {

using dp::api::JsonValue;

std::map<std::string, uint64_t> Counters(const JsonValue* o) {
  std::map<std::string, uint64_t> out;
  if (o == nullptr) return out;
  for (const auto& [k, v] : o->object) {
    if (v.type == JsonValue::Type::kNumber) out[k] = static_cast<uint64_t>(v.number);
  }
  return out;
}

}  // namespace

std::string TelemetryPathForChannel(const std::string& channel) {
  return dp::api::TelemetryClient::DefaultPath(channel);
}

absl::StatusOr<DataplaneCounters> ReadDataplaneCounters(const std::string& path) {
  auto client = dp::api::TelemetryClient::Connect(path, absl::Seconds(1));
  if (!client.ok()) return client.status();
  DataplaneCounters out;
  auto stats = client->Query("/portcullis/stats");
  if (!stats.ok()) return stats.status();
  out.totals = Counters(&*stats);
  out.drops = Counters(stats->Get("drops"));
  // A dataplane without the command (older build) has no per-worker rows; nothing else lacks.
  if (auto w = client->Query("/portcullis/workers"); w.ok()) {
    for (const auto& [k, v] : w->object) {
      if (v.type != JsonValue::Type::kArray) continue;
      std::vector<uint64_t>& col = out.workers[k];
      for (const JsonValue& x : v.array) col.push_back(static_cast<uint64_t>(x.number));
    }
  }
  auto names = client->Query("/portcullis/interfaces");
  if (!names.ok()) return names.status();
  for (const JsonValue& n : names->array) {
    auto f = client->Query("/portcullis/interface," + n.string);
    if (!f.ok()) continue;  // removed between the two queries
    InterfaceCounters ic;
    ic.name = n.string;
    ic.kind = f->Str("kind");
    ic.state = f->Str("state");
    ic.rx_packets = f->U64("rx_packets");
    ic.rx_bytes = f->U64("rx_bytes");
    ic.tx_packets = f->U64("tx_packets");
    ic.tx_bytes = f->U64("tx_bytes");
    ic.drops = Counters(f->Get("drops"));
    out.interfaces.push_back(std::move(ic));
  }
  return out;
}

}  // namespace portcullis::vpnd
