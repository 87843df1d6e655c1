#include "control/vpnd/metrics_families.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace portcullis::vpnd {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

class FamilyBuilder {
 public:
  FamilyBuilder(std::string name, std::string help, MetricType type) {
    f_.name = std::move(name);
    f_.help = std::move(help);
    f_.type = type;
  }
  void Add(Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    if (f_.type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    f_.metric.push_back(std::move(m));
  }
  MetricFamily Take() { return std::move(f_); }

 private:
  MetricFamily f_;
};

std::string Spi(uint32_t spi) {
  return absl::StrFormat("%08x", spi);
}

}  // namespace

std::string TunnelOf(const std::string& child_name) {
  size_t at = child_name.rfind("-tunnel-");
  return at == std::string::npos ? child_name : child_name.substr(at + 8);
}

std::string PeerLabel(const DebugPeer& p) {
  return p.remote.empty() || p.remote == "%any" ? p.name : p.remote;
}

void TunnelTotals::Update(const std::vector<DebugPeer>& peers) {
  std::map<Key, std::map<uint32_t, Traffic>> now;
  for (const DebugPeer& p : peers) {
    std::string peer = PeerLabel(p);
    for (const DebugChildConfig& c : p.children) now[{peer, TunnelOf(c.name)}];
    for (const DebugSa& sa : p.sas) {
      for (const ChildRow& c : sa.children) {
        now[{peer, TunnelOf(c.name)}][c.spi_in] = {c.bytes_in, c.bytes_out, c.packets_in,
                                                   c.packets_out};
      }
    }
  }
  for (auto& [key, sas] : live_) {
    auto it = now.find(key);
    for (auto& [spi, t] : sas) {
      if (it != now.end() && it->second.count(spi)) continue;
      Traffic& r = retired_[key];
      r.bytes_in += t.bytes_in;
      r.bytes_out += t.bytes_out;
      r.packets_in += t.packets_in;
      r.packets_out += t.packets_out;
    }
  }
  live_ = std::move(now);
  totals_.clear();
  for (const auto& [key, t] : retired_) totals_[key] = t;
  for (const auto& [key, sas] : live_) {
    Traffic& sum = totals_[key];
    for (const auto& [spi, t] : sas) {
      sum.bytes_in += t.bytes_in;
      sum.bytes_out += t.bytes_out;
      sum.packets_in += t.packets_in;
      sum.packets_out += t.packets_out;
    }
  }
}

Families SaFamilies(const std::vector<DebugPeer>& peers, const std::vector<TunnelPeer>& tunnels) {
  FamilyBuilder ike("portcullis_ike_sas", "IKE SAs by state", MetricType::Gauge);
  FamilyBuilder up("portcullis_peer_up", "1 when the peer has an established IKE SA",
                   MetricType::Gauge);
  FamilyBuilder child("portcullis_ipsec_sas", "CHILD SAs by state", MetricType::Gauge);
  FamilyBuilder sab("portcullis_sa_bytes_total", "Bytes through one ESP SA (since it was made)",
                    MetricType::Counter);
  FamilyBuilder sap("portcullis_sa_packets_total", "Packets through one ESP SA (since it was made)",
                    MetricType::Counter);
  for (const DebugPeer& p : peers) {
    std::string peer = PeerLabel(p);
    std::map<std::string, int> ike_states, child_states;
    bool established = false;
    for (const DebugSa& sa : p.sas) {
      ++ike_states[absl::AsciiStrToLower(sa.state)];
      established |= sa.established;
      for (const ChildRow& c : sa.children) {
        ++child_states[absl::AsciiStrToLower(c.child_state)];
        std::string tunnel = TunnelOf(c.name);
        for (auto [spi, dir, bytes, packets] :
             {std::tuple{c.spi_in, "in", c.bytes_in, c.packets_in},
              std::tuple{c.spi_out, "out", c.bytes_out, c.packets_out}}) {
          Labels l{{"direction", dir}, {"peer", peer}, {"spi", Spi(spi)}, {"tunnel", tunnel}};
          sab.Add(l, static_cast<double>(bytes));
          sap.Add(l, static_cast<double>(packets));
        }
      }
    }
    for (const auto& [state, n] : ike_states) ike.Add({{"peer", peer}, {"state", state}}, n);
    for (const auto& [state, n] : child_states) child.Add({{"peer", peer}, {"state", state}}, n);
    up.Add({{"peer", peer}}, established ? 1 : 0);
  }
  FamilyBuilder tup("portcullis_tunnel_up", "1 when the tunnel has an installed CHILD SA",
                    MetricType::Gauge);
  for (const TunnelPeer& p : tunnels) {
    std::string peer = p.heading.peer_ip.empty() ? p.heading.name : p.heading.peer_ip;
    for (const TunnelRow& t : p.tunnels) tup.Add({{"peer", peer}, {"tunnel", t.tunnel}}, t.up());
  }
  return {ike.Take(), up.Take(), child.Take(), sab.Take(), sap.Take(), tup.Take()};
}

Families TunnelFamilies(const TunnelTotals& totals) {
  FamilyBuilder b("portcullis_tunnel_bytes_total",
                  "Bytes through a tunnel (inner packets; all its CHILD SAs, rekeys included)",
                  MetricType::Counter);
  FamilyBuilder p("portcullis_tunnel_packets_total",
                  "Packets through a tunnel (all its CHILD SAs, rekeys included)",
                  MetricType::Counter);
  for (const auto& [key, t] : totals.totals()) {
    const auto& [peer, tunnel] = key;
    b.Add({{"direction", "in"}, {"peer", peer}, {"tunnel", tunnel}},
          static_cast<double>(t.bytes_in));
    b.Add({{"direction", "out"}, {"peer", peer}, {"tunnel", tunnel}},
          static_cast<double>(t.bytes_out));
    p.Add({{"direction", "in"}, {"peer", peer}, {"tunnel", tunnel}},
          static_cast<double>(t.packets_in));
    p.Add({{"direction", "out"}, {"peer", peer}, {"tunnel", tunnel}},
          static_cast<double>(t.packets_out));
  }
  return {b.Take(), p.Take()};
}

Families IkeLogFamilies(const IkeLogCounters& c) {
  FamilyBuilder m("portcullis_ike_messages_total",
                  "IKE messages by exchange, direction (in: parsed, out: generated) and kind",
                  MetricType::Counter);
  for (const auto& [key, n] : c.messages()) {
    const auto& [exchange, direction, message] = key;
    m.Add({{"direction", direction}, {"exchange", exchange}, {"message", message}},
          static_cast<double>(n));
  }
  FamilyBuilder e("portcullis_ike_notify_errors_total",
                  "Error notifies received from peers (failed exchanges), by notify",
                  MetricType::Counter);
  for (const auto& [key, n] : c.notify_errors()) {
    e.Add({{"notify", key.second}, {"peer", key.first}}, static_cast<double>(n));
  }
  return {m.Take(), e.Take()};
}

Families KeyPoolFamilies(const KeyPoolCounters& c) {
  FamilyBuilder j("portcullis_ike_key_jobs_total",
                  "IKE_SA_INIT key computations on the worker pool, by result (finished; refused: "
                  "the pool was full, computed on the event loop; dropped: the SA had gone)",
                  MetricType::Counter);
  j.Add({{"result", "finished"}}, static_cast<double>(c.finished));
  j.Add({{"result", "refused"}}, static_cast<double>(c.refused));
  j.Add({{"result", "dropped"}}, static_cast<double>(c.dropped));
  FamilyBuilder p("portcullis_ike_key_jobs_pending",
                  "IKE_SA_INIT key computations queued, running or waiting for the event loop",
                  MetricType::Gauge);
  p.Add({}, static_cast<double>(c.pending));
  return {j.Take(), p.Take()};
}

Families DataplaneFamilies(const DataplaneCounters* c) {
  FamilyBuilder up("portcullis_dataplane_up", "1 when vpn-dataplane's telemetry answered",
                   MetricType::Gauge);
  up.Add({}, c != nullptr);
  if (c == nullptr) return {up.Take()};
  FamilyBuilder pk("portcullis_interface_packets_total", "Packets by interface and direction",
                   MetricType::Counter);
  FamilyBuilder by("portcullis_interface_bytes_total", "Bytes by interface and direction",
                   MetricType::Counter);
  FamilyBuilder ifd("portcullis_interface_drops_total",
                    "Packets dropped on an interface, by reason", MetricType::Counter);
  FamilyBuilder ifup("portcullis_interface_up", "1 when the interface is up", MetricType::Gauge);
  for (const InterfaceCounters& i : c->interfaces) {
    pk.Add({{"direction", "in"}, {"interface", i.name}}, static_cast<double>(i.rx_packets));
    pk.Add({{"direction", "out"}, {"interface", i.name}}, static_cast<double>(i.tx_packets));
    by.Add({{"direction", "in"}, {"interface", i.name}}, static_cast<double>(i.rx_bytes));
    by.Add({{"direction", "out"}, {"interface", i.name}}, static_cast<double>(i.tx_bytes));
    ifup.Add({{"interface", i.name}, {"kind", i.kind}}, i.state == "up");
    for (const auto& [reason, n] : i.drops)
      ifd.Add({{"interface", i.name}, {"reason", reason}}, static_cast<double>(n));
  }
  FamilyBuilder d("portcullis_dataplane_drops_total",
                  "Packets the dataplane dropped, by reason (all interfaces)", MetricType::Counter);
  for (const auto& [reason, n] : c->drops) d.Add({{"reason", reason}}, static_cast<double>(n));
  FamilyBuilder punt("portcullis_dataplane_ike_punted_total",
                     "IKE datagrams the dataplane handed to vpnd", MetricType::Counter);
  auto it = c->totals.find("ike_punted");
  punt.Add({}, it == c->totals.end() ? 0 : static_cast<double>(it->second));
  // Per worker (label worker="0"...): traffic, SA owner handoffs both ways and what a full
  // ring dropped, all drops, SAs owned.
  FamilyBuilder wp("portcullis_worker_packets_total",
                   "Packets by worker and direction, its interface counters summed (a "
                   "route-based tunnel's packet counts on its VTI and on the port)",
                   MetricType::Counter);
  FamilyBuilder wh("portcullis_worker_handoff_packets_total",
                   "Packets a worker handed to an SA's owner (sent) or took from its own handoff "
                   "ring (received)",
                   MetricType::Counter);
  FamilyBuilder wf("portcullis_worker_handoff_queue_full_total",
                   "Packets a worker dropped because the SA owner's handoff ring was full",
                   MetricType::Counter);
  FamilyBuilder wd("portcullis_worker_drops_total", "Packets a worker dropped (all reasons)",
                   MetricType::Counter);
  FamilyBuilder ws("portcullis_worker_sas", "SAs a worker owns", MetricType::Gauge);
  auto column = [&](const char* name) -> const std::vector<uint64_t>* {
    auto it = c->workers.find(name);
    return it == c->workers.end() ? nullptr : &it->second;
  };
  struct Row {
    FamilyBuilder* family;
    const char* counter;
    const char* direction;  // nullptr: no direction label
  };
  for (const Row& r :
       {Row{&wp, "rx_packets", "in"}, Row{&wp, "tx_packets", "out"}, Row{&wh, "handed_off", "sent"},
        Row{&wh, "handoff_received", "received"}, Row{&wf, "handoff_queue_full", nullptr},
        Row{&wd, "drops", nullptr}, Row{&ws, "sas_owned", nullptr}}) {
    const std::vector<uint64_t>* v = column(r.counter);
    if (v == nullptr) continue;
    for (size_t w = 0; w < v->size(); ++w) {
      Labels l;
      if (r.direction) l.push_back({"direction", r.direction});
      l.push_back({"worker", std::to_string(w)});
      r.family->Add(std::move(l), static_cast<double>((*v)[w]));
    }
  }
  return {up.Take(),   pk.Take(), by.Take(), ifd.Take(), ifup.Take(), d.Take(),
          punt.Take(), wp.Take(), wh.Take(), wf.Take(),  wd.Take(),   ws.Take()};
}

}  // namespace portcullis::vpnd
