// Events to vpnd at a full SA table: expiry and sequence exhaustion are never lost to counter
// snapshots, and snapshots come as an even stream of the SAs that changed, not a burst of all.
#include "dataplane/mgmt/event_pump.h"

#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/shared_atomic.h"
#include "dataplane/core/fw_log_record.h"
#include "dataplane/esp/esp_event.h"
#include "dataplane/tables/firewall_tables.h"
#include "test/unit/dataplane/pipeline/pipeline_rig.h"

namespace portcullis::dp::testing {
namespace {

constexpr uint32_t kSas = 8000;
constexpr uint32_t kFirstSpi = 0x300000;
constexpr uint64_t kMs = 1'000'000;

struct Vpnd {
  explicit Vpnd(const std::string& name) {
    auto c = api::ChannelClient::Attach(name, /*primary=*/true, absl::Seconds(1));
    REQUIRE(c.ok());
    client.emplace(*std::move(c));
  }
  // Reads everything waiting; returns how many counter snapshots it was.
  size_t Read() {
    size_t snapshots = 0;
    client->PollEvents(100000, [&](const api::Event& e) {
      if (e.header.kind == api::EventKind::kSaCounters) {
        ++snapshots;
        counters[e.body.sa_counters.spi] = e.body.sa_counters.packets;
      } else if (e.header.kind != api::EventKind::kAck) {
        critical.push_back(e);
      }
    });
    return snapshots;
  }
  std::optional<api::ChannelClient> client;
  std::map<uint32_t, uint64_t> counters;  // SPI -> packets last heard
  std::vector<api::Event> critical;
};

TEST_CASE(
    "Expiry events are never lost to counter snapshots; snapshots are paced and only of "
    "SAs that changed",
    "[mgmt][events]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add wan kind port\naddress add wan 192.0.2.1/24").status.ok());
  for (uint32_t first = 0; first < kSas; first += 1000) {
    std::string batch;
    for (uint32_t i = first; i < first + 1000; ++i)
      batch += absl::StrFormat(
          "sa add spi %#x dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key "
          "00112233445566778899aabbccddeeff salt 01020304\n",
          kFirstSpi + i);
    REQUIRE(rig.Apply(batch).status.ok());
  }
  // Every SA carried traffic.
  rig.dp().sas->ForEach([](const SaEntry& e) {
    e.sa->packets = 1;
    e.sa->bytes = 100;
  });

  const std::string name = "evtest-" + std::to_string(getpid());
  auto server = api::ChannelServer::Create(name);
  REQUIRE(server.ok());
  Vpnd vpnd(name);
  EventPump pump(rig.dp(), server->get());
  uint64_t now = 1000 * kMs;
  auto step = [&] {
    (*server)->PollCommands(0, [](const api::CommandBatch&) { return api::ApplyResult{}; });
    while (pump.PollEspEvents() != 0) {
    }
    pump.MaybeSendCounters(now);
  };

  // The counters go out, and while vpnd is busy elsewhere 40 SAs expire or run out of sequence
  // numbers.
  step();
  now += 1000 * kMs;
  step();
  for (uint32_t i = 0; i < 20; ++i) {
    esp::EspEvent soft{esp::EspEvent::Type::kSoftBytes, esp::Direction::kInbound, kFirstSpi + i, 1};
    esp::EspEvent seq{esp::EspEvent::Type::kSeqHard, esp::Direction::kOutbound, kFirstSpi + i, 0};
    REQUIRE(rte_ring_enqueue_elem(rig.dp().event_ring, &soft, sizeof soft) == 0);
    REQUIRE(rte_ring_enqueue_elem(rig.dp().event_ring, &seq, sizeof seq) == 0);
  }
  step();

  // vpnd reads every 10 ms from now on.
  size_t most_per_step = 0;
  for (int k = 0; k < 300; ++k) {
    most_per_step = std::max(most_per_step, vpnd.Read());
    now += 10 * kMs;
    step();
  }
  vpnd.Read();
  CHECK(vpnd.critical.size() == 40);
  CHECK(api::LoadShared((*server)->counters().events_dropped) == 0);
  CHECK(vpnd.counters.size() == kSas);  // every SA reported within the sweep
  // An even stream: a 10 ms step carries about 1/100 of a sweep, never the whole table.
  CHECK(most_per_step <= api::kEventRingSize - (*server)->kEventReserve);
  size_t steady = 0;
  for (int k = 0; k < 200; ++k) {
    steady = std::max(steady, vpnd.Read());
    now += 10 * kMs;
    step();
  }
  // Nothing changed: nothing is sent again.
  CHECK(steady == 0);

  // One SA changes: it alone is reported, within one sweep.
  rig.dp().sas->Find(kFirstSpi + 7, true)->sa->packets = 5;
  size_t sent = 0;
  for (int k = 0; k < 110; ++k) {
    now += 10 * kMs;
    step();
    sent += vpnd.Read();
  }
  CHECK(sent == 1);
  CHECK(vpnd.counters[kFirstSpi + 7] == 5);

  // A new vpnd hears about every SA again.
  vpnd.client->Detach();
  (*server)->ReclaimDeadClients();
  Vpnd second(name);
  for (int k = 0; k < 110; ++k) {
    now += 10 * kMs;
    step();
    second.Read();
  }
  CHECK(second.counters.size() == kSas);
  rig.Reset();
}

}  // namespace
}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {

TEST_CASE("Firewall log records reach vpnd as FwLogEvents, field for field", "[mgmt][events]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  const std::string name = "fwlog-" + std::to_string(getpid());
  auto server = api::ChannelServer::Create(name);
  REQUIRE(server.ok());
  Vpnd vpnd(name);
  EventPump pump(rig.dp(), server->get());
  FwLogRecord r{};
  r.ruleset_id = 7;
  r.rule_number = 10;
  r.ifindex = 3;
  r.zone_from = 1;
  r.zone_to = 2;
  r.hook = kFwOut;
  r.verdict = static_cast<uint8_t>(FwVerdict::kReject);
  r.has_macs = 1;
  for (int i = 0; i < 6; ++i) r.src_mac[i] = static_cast<uint8_t>(i), r.dst_mac[i] = 0xa0 + i;
  r.l3_length = 20;
  r.l4_length = 20;
  for (int i = 0; i < 60; ++i) r.l3[i] = static_cast<uint8_t>(i * 3);
  for (int i = 0; i < 20; ++i) r.l4[i] = static_cast<uint8_t>(0xe0 + i);
  REQUIRE(rte_ring_enqueue_elem(rig.dp().fw_log_ring, &r, sizeof r) == 0);
  CHECK(pump.PollFwLog() == 1);
  vpnd.Read();
  REQUIRE(vpnd.critical.size() == 1);
  const api::Event& ev = vpnd.critical[0];
  REQUIRE(ev.header.kind == api::EventKind::kFwLog);
  const api::FwLogEvent& e = ev.body.fw_log;
  CHECK(e.ruleset_id == 7);
  CHECK(e.rule_number == 10);
  CHECK(e.ifindex == 3);
  CHECK((e.zone_from == 1 && e.zone_to == 2));
  CHECK(e.hook == api::FwHook::kOut);
  CHECK(e.action == api::FwAction::kReject);
  CHECK(e.family == api::Family::kIpv4);
  CHECK(e.has_macs == 1);
  CHECK(std::memcmp(e.src_mac, r.src_mac, 6) == 0);
  CHECK(std::memcmp(e.dst_mac, r.dst_mac, 6) == 0);
  CHECK((e.l3_length == 20 && e.l4_length == 20));
  CHECK(std::memcmp(e.l3, r.l3, 60) == 0);
  CHECK(std::memcmp(e.l4, r.l4, 20) == 0);
  // Without vpnd's room (or without vpnd) a record is counted, never kept.
  const uint64_t lost = rig.dp().fw_log_undeliverable.load();
  EventPump alone(rig.dp(), nullptr);
  REQUIRE(rte_ring_enqueue_elem(rig.dp().fw_log_ring, &r, sizeof r) == 0);
  CHECK(alone.PollFwLog() == 1);
  CHECK(rig.dp().fw_log_undeliverable.load() - lost == 1);
}

}  // namespace portcullis::dp::testing
