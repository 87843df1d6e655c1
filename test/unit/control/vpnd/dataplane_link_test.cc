// vpnd's end of the channel: batches and their acks (on time, late, refused, not sent), the
// dataplane restarting (re-attach, a new generation, unacknowledged batches dropped) and IKE
// going through the channel in use.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

TEST_CASE("a batch acknowledged after the timeout is settled when its ack comes",
          "[vpnd][dataplane][consistency]") {
  Rig r(absl::Milliseconds(100));
  East east(r);
  std::atomic<bool> slow{true};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (slow && Count(b, MessageKind::kSa, Op::kAdd) > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
    return dp::api::ApplyResult{};
  });
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(), "CHILD_SA install: no ack for batch 2 within 100ms"));
  Settle(r, east, absl::Milliseconds(600));
  CHECK(absl::StrContains(r.log.Recent(), "CHILD_SA install: batch 2 acknowledged late"));
  CHECK(r.link->unacknowledged() == 0);
  CHECK(r.installer->installed_children() == 1);
  REQUIRE(EastChild(east) != nullptr);
}

TEST_CASE("after the dataplane restarts, IKE goes through the new channel",
          "[vpnd][dataplane][sa]") {
  // The peer rekeys after the re-attach: vpnd's answer must reach it through the new segment.
  Rig r;
  East east(r);
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  REQUIRE(EastChild(east) != nullptr);
  r.dp.Restart();
  r.now += absl::Seconds(2);
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(absl::StrContains(r.log.Recent(), "re-attached to the dataplane"));
  uint32_t old_spi = EastChild(east)->spi_in;
  REQUIRE(east.mgr->RekeyChild(old_spi));
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(EastChild(east) != nullptr);
  CHECK(EastChild(east)->spi_in != old_spi);
  CHECK_FALSE(absl::StrContains(r.log.Recent(), "inject to"));
}
