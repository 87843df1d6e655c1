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
  CHECK(absl::StrContains(r.log.Recent(), "CHILD_SA install: no ack for batch 2 within 100"));
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

// ---- The link on its own ----

namespace {

using Outcome = vpnd::DataplaneLink::Outcome;

// A batch any dataplane takes: one flush.
std::vector<Message> FlushBatch() {
  Message m = dp::api::NewMessage(MessageKind::kFlush, Op::kDelete);
  m.body.flush.scope = dp::api::kFlushAll;
  return {m};
}

}  // namespace

TEST_CASE("submit: applied, refused and unsent batches, each with its status",
          "[vpnd][dataplane][link]") {
  Rig r;
  absl::Status st;
  std::vector<Outcome> seen;
  auto record = [&](Outcome o, const absl::Status&) { seen.push_back(o); };
  CHECK(r.link->Submit(FlushBatch(), "test batch", true, record, &st) == Outcome::kApplied);
  CHECK(st.ok());
  r.dp.SetVerdict([](const std::vector<Message>&) {
    return dp::api::ApplyResult{absl::FailedPreconditionError("tables busy"), 0};
  });
  CHECK(r.link->Submit(FlushBatch(), "test batch", true, record, &st) == Outcome::kRefused);
  CHECK(absl::IsFailedPrecondition(st));
  CHECK(absl::StrContains(st.message(), "test batch: the dataplane refused the batch: "));
  CHECK(absl::StrContains(st.message(), "tables busy"));
  CHECK(r.dp.Batches().size() == 2);
  // The channel refuses a batch it cannot frame: nothing reaches the dataplane.
  std::vector<Message> huge(r.link->max_batch_messages() + 1, FlushBatch()[0]);
  CHECK(r.link->Submit(std::move(huge), "test batch", true, record, &st) == Outcome::kNotSent);
  CHECK(absl::StrContains(st.message(), "test batch: sending to the dataplane failed: "));
  // Nothing to send is nothing to refuse.
  CHECK(r.link->Submit({}, "test batch", true, record, &st) == Outcome::kApplied);
  CHECK(st.ok());
  CHECK(r.dp.Batches().size() == 2);
  // The handler ran once per batch, before Submit returned.
  CHECK(seen == std::vector<Outcome>{Outcome::kApplied, Outcome::kRefused, Outcome::kNotSent,
                                     Outcome::kApplied});
  CHECK(r.link->unacknowledged() == 0);
}

TEST_CASE("with a batch unacknowledged the link waits no more; late acks settle in order",
          "[vpnd][dataplane][link][consistency]") {
  Rig r(absl::Milliseconds(100));
  AckFirstBatchLate(r);
  std::vector<std::string> settled;
  absl::Status st;
  CHECK(r.link->Submit(
            FlushBatch(), "first batch", true,
            [&](Outcome o, const absl::Status&) {
              settled.push_back(o == Outcome::kApplied ? "first" : "?");
            },
            &st) == Outcome::kUnknown);
  CHECK(absl::IsDeadlineExceeded(st));
  CHECK(absl::StrContains(st.message(), "outcome is unknown"));
  CHECK(r.link->Submit(
            FlushBatch(), "second batch", true,
            [&](Outcome o, const absl::Status&) {
              settled.push_back(o == Outcome::kApplied ? "second" : "?");
            },
            &st) == Outcome::kUnknown);
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(), "first batch: no ack for batch 1 within 100"));
  // Not waited for: the first one's ack was still missing.
  CHECK_FALSE(absl::StrContains(r.log.Recent(), "second batch: no ack"));
  CHECK(r.link->unacknowledged() == 2);
  CHECK(settled.empty());
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  CHECK(settled == std::vector<std::string>{"first", "second"});
  CHECK(absl::StrContains(r.log.Recent(), "first batch: batch 1 acknowledged late"));
  CHECK(absl::StrContains(r.log.Recent(), "second batch: batch 2 acknowledged late"));
}

TEST_CASE("a dataplane restart is reported once; the old batches' handlers never run",
          "[vpnd][dataplane][link]") {
  Rig r(absl::Milliseconds(100));
  AckFirstBatchLate(r);
  bool settled = false;
  REQUIRE(r.link->Submit(FlushBatch(), "doomed batch", true, [&](Outcome, const absl::Status&) {
    settled = true;
  }) == Outcome::kUnknown);
  CHECK_FALSE(r.link->CheckRestart());  // alive, same generation
  r.dp.Restart();
  CHECK_FALSE(r.link->ServerAlive());
  r.now += absl::Seconds(2);
  bool restarted = false;
  absl::Time end = absl::Now() + absl::Seconds(2);
  while (!restarted && absl::Now() < end) {
    restarted = r.link->CheckRestart();
    r.now += absl::Seconds(1);  // re-attach is tried once a second
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  INFO(r.log.Recent());
  REQUIRE(restarted);
  CHECK(absl::StrContains(r.log.Recent(), "the dataplane is gone"));
  CHECK(absl::StrContains(r.log.Recent(), "re-attached to the dataplane"));
  CHECK(r.link->ServerAlive());
  CHECK(r.link->unacknowledged() == 0);
  CHECK_FALSE(r.link->CheckRestart());
  r.link->PollEvents(256, nullptr);
  CHECK_FALSE(settled);
  // Batches now go to the new dataplane.
  CHECK(r.link->Submit(FlushBatch(), "test batch", true, nullptr) == Outcome::kApplied);
  CHECK(r.dp.Batches().size() == 1);
}

TEST_CASE("owners that go before the link: no observer or ack handler of theirs runs again",
          "[vpnd][dataplane][link]") {
  // The SA installer and vpnd register callbacks on the link; the link may be polled after they
  // are gone (shutdown order, tests), and a late ack must then find nothing to call.
  Rig r(absl::Milliseconds(100));
  AckFirstBatchLate(r);
  int observed = 0;
  const int token = r.link->ObserveEvents([&](const dp::api::Event&) { ++observed; });
  bool handled = false;
  CHECK(r.link->Submit(FlushBatch(), "orphaned batch", true,
                       [&](Outcome, const absl::Status&) { handled = true; }) == Outcome::kUnknown);
  r.link->StopObserving(token);
  r.link->DropAckHandlers();
  r.dp.Post(CountersEvent(0xc0000101, dp::api::Direction::kIn));
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  INFO(r.log.Recent());
  CHECK_FALSE(handled);
  CHECK(observed == 0);
  // The batch itself is still settled and said so.
  CHECK(absl::StrContains(r.log.Recent(), "orphaned batch: batch 1 acknowledged late"));
}

TEST_CASE("an SA installer destroyed with its install in flight leaves the link usable",
          "[vpnd][dataplane][link]") {
  Rig r(absl::Milliseconds(100));
  AckFirstBatchLate(r);
  auto installer = std::make_unique<vpnd::ChannelSaInstaller>(
      *r.link, [] { return absl::Now(); }, &r.log);
  auto child = MakeChild(0xc0000101, 0xc0000202);
  installer->AddSa(*child, 0);
  REQUIRE(r.link->unacknowledged() == 1);
  installer.reset();  // its ack handler and counter observer must go with it
  r.dp.Post(CountersEvent(0xc0000101, dp::api::Direction::kIn));
  REQUIRE(PollLinkUntil(r, [&] { return r.link->unacknowledged() == 0; }));
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(), "CHILD_SA install: batch 1 acknowledged late"));
  CHECK_FALSE(absl::StrContains(r.log.Recent(), "installed ESP SAs c0000101_i"));
}

TEST_CASE("a large batch gets time for its size before its outcome counts as unknown",
          "[vpnd][dataplane][link][stream]") {
  Rig r(absl::Milliseconds(100));
  std::atomic<bool> release{false};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    // A dataplane still applying the large batch when the wait ends.
    while (b.size() > 20000 && !release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return dp::api::ApplyResult{};
  });
  std::vector<Message> big(25000, FlushBatch()[0]);
  absl::Status st;
  CHECK(r.link->Submit(std::move(big), "big batch", true, nullptr, &st) == Outcome::kUnknown);
  // 100 ms + 25,000 x 20 us, not the 100 ms of a small batch.
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(), "big batch: no ack for batch 1 within 600ms"));
  release = true;
  absl::Time end = absl::Now() + absl::Seconds(5);
  while (r.link->unacknowledged() > 0 && absl::Now() < end) {
    r.link->PollEvents(16, [](const dp::api::Event&) {});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(r.link->unacknowledged() == 0);
}
