// The metric families vpnd exposes: names, labels a Grafana user groups by, and tunnel counters
// that never go down across a rekey.
#include <catch2/catch.hpp>

#include "control/vpnd/metrics_families.h"
#include "prometheus/text_serializer.h"

using namespace portcullis;
using namespace portcullis::vpnd;

namespace {

ChildRow Child(uint32_t spi_in, uint64_t bytes_in, uint64_t bytes_out) {
  ChildRow c;
  c.name = "peer-159.8.98.213-tunnel-vti";
  c.child_state = "INSTALLED";
  c.up = true;
  c.spi_in = spi_in;
  c.spi_out = spi_in + 1;
  c.bytes_in = bytes_in;
  c.bytes_out = bytes_out;
  c.packets_in = bytes_in / 100;
  c.packets_out = bytes_out / 100;
  return c;
}

std::vector<DebugPeer> Peer(std::vector<ChildRow> children) {
  DebugPeer p;
  p.name = "peer-159.8.98.213";
  p.remote = "159.8.98.213";
  p.children = {{"peer-159.8.98.213-tunnel-vti", "", ""}};
  DebugSa sa;
  sa.state = "ESTABLISHED";
  sa.established = true;
  sa.children = std::move(children);
  p.sas = {sa};
  return {p};
}

std::string Text(const Families& f) {
  return prometheus::TextSerializer().Serialize(f);
}

}  // namespace

TEST_CASE("metrics: a tunnel's byte counter survives a rekey", "[vpnd][metrics]") {
  TunnelTotals t;
  t.Update(Peer({Child(0xc1, 1000, 2000)}));
  auto key = TunnelTotals::Key{"159.8.98.213", "vti"};
  CHECK(t.totals().at(key).bytes_out == 2000);
  t.Update(Peer({Child(0xc1, 1500, 2500), Child(0xc3, 0, 0)}));  // rekey in flight
  CHECK(t.totals().at(key).bytes_out == 2500);
  t.Update(Peer({Child(0xc3, 100, 300)}));  // the old SA is gone
  CHECK(t.totals().at(key).bytes_out == 2800);
  CHECK(t.totals().at(key).bytes_in == 1600);
  t.Update(Peer({}));  // IKE SA down
  CHECK(t.totals().at(key).bytes_out == 2800);
  std::string text = Text(TunnelFamilies(t));
  CHECK(text.find("portcullis_tunnel_bytes_total{direction=\"out\",peer=\"159.8.98.213\","
                  "tunnel=\"vti\"} 2800") != std::string::npos);
}

TEST_CASE("metrics: SA states, peers up and per-SA counters carry peer/tunnel/spi/direction",
          "[vpnd][metrics]") {
  std::string text = Text(SaFamilies(Peer({Child(0xc1, 1000, 2000)}), {}));
  CHECK(text.find("portcullis_ike_sas{peer=\"159.8.98.213\",state=\"established\"} 1") !=
        std::string::npos);
  CHECK(text.find("portcullis_peer_up{peer=\"159.8.98.213\"} 1") != std::string::npos);
  CHECK(text.find("portcullis_ipsec_sas{peer=\"159.8.98.213\",state=\"installed\"} 1") !=
        std::string::npos);
  CHECK(text.find("portcullis_sa_bytes_total{direction=\"in\",peer=\"159.8.98.213\",spi="
                  "\"000000c1\",tunnel=\"vti\"} 1000") != std::string::npos);
  CHECK(text.find("# TYPE portcullis_sa_bytes_total counter") != std::string::npos);
}

TEST_CASE("metrics: the dataplane's interfaces and drop reasons; down when it did not answer",
          "[vpnd][metrics]") {
  DataplaneCounters c;
  InterfaceCounters i;
  i.name = "dp0bond1";
  i.kind = "bond";
  i.state = "up";
  i.rx_packets = 7;
  i.drops = {{"no_route", 2}};
  c.interfaces = {i};
  c.drops = {{"no_route", 2}};
  std::string text = Text(DataplaneFamilies(&c));
  CHECK(text.find("portcullis_dataplane_up 1") != std::string::npos);
  CHECK(text.find("portcullis_interface_packets_total{direction=\"in\",interface=\"dp0bond1\"} "
                  "7") != std::string::npos);
  CHECK(text.find("portcullis_interface_drops_total{interface=\"dp0bond1\",reason=\"no_route\"} "
                  "2") != std::string::npos);
  CHECK(text.find("portcullis_dataplane_drops_total{reason=\"no_route\"} 2") != std::string::npos);
  CHECK(Text(DataplaneFamilies(nullptr)).find("portcullis_dataplane_up 0") != std::string::npos);
}

TEST_CASE("metrics: per-worker counters carry a worker label", "[vpnd][metrics]") {
  DataplaneCounters c;
  c.workers = {{"rx_packets", {10, 20}},     {"tx_packets", {11, 21}},       {"handed_off", {0, 5}},
               {"handoff_received", {5, 0}}, {"handoff_queue_full", {0, 1}}, {"drops", {2, 3}},
               {"sas_owned", {1, 1}}};
  std::string text = Text(DataplaneFamilies(&c));
  CHECK(text.find("portcullis_worker_packets_total{direction=\"in\",worker=\"1\"} 20") !=
        std::string::npos);
  CHECK(text.find("portcullis_worker_packets_total{direction=\"out\",worker=\"0\"} 11") !=
        std::string::npos);
  CHECK(text.find("portcullis_worker_handoff_packets_total{direction=\"sent\",worker=\"1\"} 5") !=
        std::string::npos);
  CHECK(text.find("portcullis_worker_handoff_packets_total{direction=\"received\",worker=\"0\"} "
                  "5") != std::string::npos);
  CHECK(text.find("portcullis_worker_handoff_queue_full_total{worker=\"1\"} 1") !=
        std::string::npos);
  CHECK(text.find("portcullis_worker_drops_total{worker=\"0\"} 2") != std::string::npos);
  CHECK(text.find("portcullis_worker_sas{worker=\"1\"} 1") != std::string::npos);
  CHECK(text.find("# TYPE portcullis_worker_sas gauge") != std::string::npos);
}

TEST_CASE("metrics: the IKE key pool's jobs by result and those pending", "[vpnd][metrics]") {
  const std::string t = Text(KeyPoolFamilies({7, 2, 1, 3}));
  CHECK(t.find("portcullis_ike_key_jobs_total{result=\"finished\"} 7") != std::string::npos);
  CHECK(t.find("portcullis_ike_key_jobs_total{result=\"refused\"} 2") != std::string::npos);
  CHECK(t.find("portcullis_ike_key_jobs_total{result=\"dropped\"} 1") != std::string::npos);
  CHECK(t.find("portcullis_ike_key_jobs_pending 3") != std::string::npos);
}
