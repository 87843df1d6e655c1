// Server and clients in one process: attach rules, acks and events, slot reclaim, all-or-nothing
// sends, key wiping, punt/inject, segment lifetime.
#include <fcntl.h>
#include <rte_ring.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/channel_server.h"
#include "dataplane/api/command_producer.h"
#include "dataplane/api/key_wipe.h"
#include "dataplane/api/shared_atomic.h"
#include "test/unit/dataplane/api/channel_test_support.h"
#include "test/unit/dataplane/api/test_messages.h"

using namespace portcullis::dp::api;
using namespace portcullis::dp::api::testing;
using Catch::Matchers::Contains;

namespace {

struct Channel {
  explicit Channel(ServerOptions options = {}) {
    auto s = ChannelServer::Create(name, options);
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    server = *std::move(s);
  }

  ChannelClient Attach(bool primary) {
    auto c = ChannelClient::Attach(name, primary, absl::Milliseconds(500));
    INFO(c.status().ToString());
    REQUIRE(c.ok());
    return *std::move(c);
  }

  uint64_t Counter(const uint64_t& field) const { return LoadShared(field); }
  uint64_t Rejects(RejectReason r) const {
    return LoadShared(server->counters().rejects[static_cast<size_t>(r)]);
  }

  std::string name = UniqueChannelName();
  ShmCleanup cleanup{name};
  std::unique_ptr<ChannelServer> server;
};

ApplyResult AcceptAll(const CommandBatch&) {
  return {};
}

}  // namespace

TEST_CASE("a batch reaches the handler whole and its sender gets the ack", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(false);
  CHECK(c.slot() != kPrimarySlot);
  CHECK(c.generation() == ch.server->generation());

  std::vector<Message> batch = {InterfaceMessage(2), AddressMessage(2), RouteMessage(1)};
  auto seq = c.SendBatch(absl::MakeSpan(batch));
  REQUIRE(seq.ok());
  CHECK(*seq == 1);

  std::vector<MessageKind> kinds;
  uint32_t slot = 99;
  CHECK(ch.server->PollCommands(100, [&](const CommandBatch& b) {
    slot = b.slot;
    for (const Message& m : b.messages) kinds.push_back(m.header.kind);
    return ApplyResult{};
  }) == 3);
  CHECK(slot == c.slot());
  CHECK(kinds == std::vector<MessageKind>{MessageKind::kInterface, MessageKind::kAddress,
                                          MessageKind::kRoute});
  CHECK(c.WaitAck(*seq, absl::Seconds(1)).ok());
  CHECK(ch.Counter(ch.server->counters().batches_applied) == 1);
  CHECK(ch.Counter(ch.server->counters().messages_consumed) == 3);

  std::vector<Message> next = {RouteMessage(2)};
  auto seq2 = c.SendBatch(absl::MakeSpan(next));
  REQUIRE(seq2.ok());
  CHECK(*seq2 == 2);
}

TEST_CASE("a batch the dataplane refuses is acked with its status and index", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(false);
  std::vector<Message> batch = {RouteMessage(1), RouteMessage(2)};
  auto seq = c.SendBatch(absl::MakeSpan(batch));
  REQUIRE(seq.ok());
  ch.server->PollCommands(100, [](const CommandBatch&) {
    return ApplyResult{absl::FailedPreconditionError("no such interface 9"), 1};
  });
  absl::Status s = c.WaitAck(*seq, absl::Seconds(1));
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(s.message()),
             Contains("message 1") && Contains("apply-failed") && Contains("no such interface 9"));
  CHECK(ch.Counter(ch.server->counters().batches_failed) == 1);
  CHECK(ch.Rejects(RejectReason::kApplyFailed) == 1);
}

TEST_CASE("acks go to the sender, unsolicited events to the primary only", "[channel]") {
  Channel ch;
  ChannelClient primary = ch.Attach(true);
  ChannelClient other = ch.Attach(false);
  CHECK(primary.slot() == kPrimarySlot);

  std::vector<Message> a = {RouteMessage(1)};
  std::vector<Message> b = {RouteMessage(2)};
  auto seq_a = primary.SendBatch(absl::MakeSpan(a));
  auto seq_b = other.SendBatch(absl::MakeSpan(b));
  REQUIRE((seq_a.ok() && seq_b.ok()));
  ch.server->PollCommands(100, AcceptAll);

  Event expiry = NewEvent(EventKind::kSaExpired);
  expiry.body.sa_expired = {0x1234, Direction::kIn, ExpiryKind::kSoft, ExpiryCause::kBytes, 0, 1000,
                            10};
  CHECK(ch.server->PostToPrimary(expiry));

  std::vector<Event> to_primary, to_other;
  primary.PollEvents(100, [&](const Event& e) { to_primary.push_back(e); });
  other.PollEvents(100, [&](const Event& e) { to_other.push_back(e); });
  REQUIRE(to_primary.size() == 2);
  CHECK(to_primary[0].header.kind == EventKind::kAck);
  CHECK(to_primary[0].body.ack.batch_seq == *seq_a);
  CHECK(to_primary[1].header.kind == EventKind::kSaExpired);
  CHECK(to_primary[1].body.sa_expired.spi == 0x1234);
  REQUIRE(to_other.size() == 1);
  CHECK(to_other[0].body.ack.batch_seq == *seq_b);
}

TEST_CASE("acks are never lost to a full event ring: they wait and arrive in order", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(true);
  // The client does not read events while it sends more batches than its event ring holds
  // (and the server posts unsolicited events that fill it too).
  const uint64_t batches = kEventRingSize + 300;
  Event expiry = NewEvent(EventKind::kSaExpired);
  for (uint64_t i = 0; i < batches; ++i) {
    std::vector<Message> b = {RouteMessage(static_cast<uint32_t>(i % 200) + 1)};
    REQUIRE(c.SendBatch(absl::MakeSpan(b)).ok());
    ch.server->PollCommands(100, AcceptAll);
    if (i % 7 == 0) ch.server->PostToPrimary(expiry);
  }
  std::vector<uint64_t> acks;
  for (int round = 0; round < 10 && acks.size() < batches; ++round) {
    c.PollEvents(10000, [&](const Event& e) {
      if (e.header.kind == EventKind::kAck) acks.push_back(e.body.ack.batch_seq);
    });
    ch.server->PollCommands(100, AcceptAll);  // room again: the backlog goes out
  }
  REQUIRE(acks.size() == batches);
  for (uint64_t i = 0; i < batches; ++i) CHECK(acks[i] == i + 1);
  CHECK(ch.Counter(ch.server->counters().acks_dropped) == 0);
}

TEST_CASE(
    "critical events wait for room and for a primary, in order; bulk ones keep out of the "
    "reserve",
    "[channel][events]") {
  Channel ch;
  auto expiry = [](uint32_t spi) {
    Event e = NewEvent(EventKind::kSaExpired);
    e.body.sa_expired.spi = spi;
    return e;
  };
  Event snapshot = NewEvent(EventKind::kSaCounters);
  // No vpnd yet: nothing bulk is taken, critical events wait.
  CHECK_FALSE(ch.server->PostBulk(snapshot));
  ch.server->PostCritical(expiry(1));
  ChannelClient c = ch.Attach(true);
  // Snapshots fill the ring up to the reserve, not further.
  uint32_t bulk = 0;
  while (ch.server->PostBulk(snapshot)) ++bulk;
  CHECK(bulk == 0);  // the waiting critical event goes first
  ch.server->PollCommands(0, AcceptAll);
  while (ch.server->PostBulk(snapshot)) ++bulk;
  CHECK(bulk == kEventRingSize - 1 - 1 - ChannelServer::kEventReserve);
  // Critical events take the reserve, then wait; a snapshot never overtakes them.
  for (uint32_t spi = 2; spi <= 2000; ++spi) ch.server->PostCritical(expiry(spi));
  CHECK_FALSE(ch.server->PostBulk(snapshot));
  std::vector<uint32_t> spis;
  for (int round = 0; round < 10; ++round) {
    c.PollEvents(100000, [&](const Event& e) {
      if (e.header.kind == EventKind::kSaExpired) spis.push_back(e.body.sa_expired.spi);
    });
    ch.server->PollCommands(0, AcceptAll);
  }
  REQUIRE(spis.size() == 2000);
  for (uint32_t i = 0; i < 2000; ++i) CHECK(spis[i] == i + 1);
  CHECK(ch.Counter(ch.server->counters().events_dropped) == 0);
  CHECK(ch.server->PostBulk(snapshot));
}

TEST_CASE("a departed vpnd's critical events go to the next one, its acks nowhere",
          "[channel][events]") {
  Channel ch;
  Event expiry = NewEvent(EventKind::kSaExpired);
  expiry.body.sa_expired.spi = 0x77;
  {
    ChannelClient first = ch.Attach(true);
    Event filler = NewEvent(EventKind::kSaCounters);
    while (ch.server->PostBulk(filler)) {
    }
    for (uint32_t i = 0; i < ChannelServer::kEventReserve + 10; ++i)
      ch.server->PostCritical(expiry);  // the last 10 wait
  }
  ch.server->ReclaimDeadClients();
  ChannelClient second = ch.Attach(true);
  ch.server->PollCommands(0, AcceptAll);
  size_t got = 0;
  second.PollEvents(100000, [&](const Event& e) { got += e.header.kind == EventKind::kSaExpired; });
  CHECK(got == 10);
}

TEST_CASE("WaitAck sets other events aside for PollEvents", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(true);
  Event acquire = NewEvent(EventKind::kAcquire);
  acquire.body.acquire.reqid = 42;
  ch.server->PostToPrimary(acquire);
  std::vector<Message> batch = {RouteMessage(1)};
  auto seq = c.SendBatch(absl::MakeSpan(batch));
  REQUIRE(seq.ok());
  ch.server->PollCommands(100, AcceptAll);
  CHECK(c.WaitAck(*seq, absl::Seconds(1)).ok());
  std::vector<Event> events;
  c.PollEvents(100, [&](const Event& e) { events.push_back(e); });
  REQUIRE(events.size() == 1);
  CHECK(events[0].body.acquire.reqid == 42);
  CHECK(c.WaitAck(99, absl::Milliseconds(20)).code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("attach fails loudly on a channel layout version mismatch", "[channel]") {
  Channel ch;
  SegmentHeader* h = ch.server->view().header;
  h->layout_version = kLayoutVersion + 1;
  auto c = ChannelClient::Attach(ch.name, true, absl::Milliseconds(100));
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == absl::StatusCode::kFailedPrecondition);
  const std::string msg(c.status().message());
  INFO(msg);
  CHECK_THAT(msg, Contains(absl::StrCat("version ", kLayoutVersion + 1)) &&
                      Contains(absl::StrCat("version ", kLayoutVersion)) &&
                      Contains(absl::StrCat("pid ", getpid())));

  // Same version but a different build: the area table gives it away.
  h->layout_version = kLayoutVersion;
  h->areas.punt_pool.offset += 4096;
  c = ChannelClient::Attach(ch.name, true, absl::Milliseconds(100));
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(std::string(c.status().message()), Contains("disagree on ring and pool offsets"));
  h->areas.punt_pool.offset -= 4096;
  CHECK(ChannelClient::Attach(ch.name, true).ok());
}

// Not root's and not ours: what an unprivileged local user would own (the tests run as root).
constexpr uid_t kOtherUid = 65534;

TEST_CASE("attach refuses a segment another user owns or others may write", "[channel][trust]") {
  Channel ch;
  const std::string shm = "/portcullis-" + ch.name;
  int fd = shm_open(shm.c_str(), O_RDWR, 0);
  REQUIRE(fd >= 0);
  auto attach = [&] { return ChannelClient::Attach(ch.name, true, absl::Milliseconds(50)); };

  REQUIRE(fchown(fd, kOtherUid, kOtherUid) == 0);
  auto c = attach();
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(c.status().message()),
             Contains(ch.name) && Contains(absl::StrCat("belongs to uid ", kOtherUid)));

  REQUIRE(fchown(fd, geteuid(), getegid()) == 0);
  for (mode_t mode : {0644, 0660, 0606, 0700, 0400}) {
    REQUIRE(fchmod(fd, mode) == 0);
    c = attach();
    INFO(absl::StrFormat("mode %04o", mode));
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == absl::StatusCode::kPermissionDenied);
    CHECK_THAT(std::string(c.status().message()),
               Contains(absl::StrFormat("mode is %04o, not 0600", mode)));
  }
  REQUIRE(fchmod(fd, 0600) == 0);
  close(fd);
  CHECK(attach().ok());
}

TEST_CASE("who may own a segment we attach to or remove", "[channel][trust]") {
  struct stat st {};
  st.st_mode = S_IFREG | 0600;
  st.st_uid = 1000;
  CHECK(CheckAttachable(st, 1000, "/x").ok());  // our own
  CHECK(CheckRemovable(st, 1000, "/x").ok());
  CHECK(CheckAttachable(st, 1001, "/x").code() == absl::StatusCode::kPermissionDenied);
  CHECK(CheckRemovable(st, 1001, "/x").code() == absl::StatusCode::kPermissionDenied);
  st.st_uid = 0;
  CHECK(CheckAttachable(st, 1000, "/x").ok());  // root's: a dataplane run as root
  CHECK(CheckRemovable(st, 1000, "/x").code() == absl::StatusCode::kPermissionDenied);
  st.st_mode = S_IFDIR | 0600;
  CHECK_FALSE(CheckAttachable(st, 0, "/x").ok());
  st.st_mode = S_IFREG | 0640;
  CHECK_FALSE(CheckAttachable(st, 0, "/x").ok());
}

TEST_CASE("attach refuses ring headers this build did not lay out", "[channel][trust]") {
  Channel ch;
  const ChannelView& v = ch.server->view();
  struct Case {
    rte_ring* ring;
    const char* what;
  };
  for (const Case& k :
       {Case{v.command_ring, "command ring"},
        Case{v.event_rings[kPrimarySlot], "event ring of slot 0"},
        Case{v.event_rings[2], "event ring of slot 2"}, Case{v.punt_ring, "punt ring"},
        Case{v.punt_free_ring, "punt free ring"}, Case{v.inject_rings[1], "inject ring of slot 1"},
        Case{v.inject_free_rings[3], "inject free ring of slot 3"}}) {
    // rte_ring has volatile members: saved and restored as bytes.
    alignas(rte_ring) unsigned char saved[sizeof(rte_ring)];
    memcpy(saved, k.ring, sizeof saved);
    for (int field = 0; field < 5; ++field) {
      memcpy(static_cast<void*>(k.ring), saved, sizeof saved);
      const char* name = nullptr;
      switch (field) {
        case 0:
          k.ring->mask = 0xffffffff;  // would index the whole address space
          name = "mask";
          break;
        case 1:
          k.ring->size *= 2;
          name = "size";
          break;
        case 2:
          k.ring->capacity = k.ring->size;
          name = "capacity";
          break;
        case 3:
          k.ring->flags = 0;  // multi-producer/multi-consumer
          name = "flags";
          break;
        case 4:
          k.ring->cons.sync_type = RTE_RING_SYNC_MT_RTS;
          name = "consumer sync type";
          break;
      }
      auto c = ChannelClient::Attach(ch.name, true, absl::Milliseconds(50));
      INFO(k.what << " " << name);
      REQUIRE_FALSE(c.ok());
      CHECK(c.status().code() == absl::StatusCode::kFailedPrecondition);
      CHECK_THAT(std::string(c.status().message()),
                 Contains(k.what) && Contains(absl::StrCat("wrong ", name)));
    }
    memcpy(static_cast<void*>(k.ring), saved, sizeof saved);
  }
  CHECK(ChannelClient::Attach(ch.name, true).ok());
}

TEST_CASE("one primary at a time, and slots run out", "[channel]") {
  Channel ch;
  ChannelClient primary = ch.Attach(true);
  auto second = ChannelClient::Attach(ch.name, true, absl::Milliseconds(100));
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK_THAT(std::string(second.status().message()),
             Contains(absl::StrCat("held by live pid ", getpid())));

  std::vector<ChannelClient> others;
  for (uint32_t i = 1; i < kClientSlots; ++i) others.push_back(ch.Attach(false));
  auto extra = ChannelClient::Attach(ch.name, false, absl::Milliseconds(100));
  CHECK(extra.status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("a detached slot is reclaimed; what it left in the ring is dropped", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(false);
  const uint32_t slot = c.slot();
  const uint32_t epoch = c.epoch();
  std::vector<Message> batch = {RouteMessage(1), RouteMessage(2)};
  REQUIRE(c.SendBatch(absl::MakeSpan(batch)).ok());
  c.Detach();
  CHECK_FALSE(ch.server->SlotAttached(slot));  // released, not yet free

  // Nobody can take the slot before the server has reset it.
  ch.server->ReclaimDeadClients();
  CHECK(ch.Counter(ch.server->counters().slots_reclaimed) == 1);
  ChannelClient again = ch.Attach(false);
  CHECK(again.slot() == slot);
  CHECK(again.epoch() == epoch + 1);

  int applied = 0;
  ch.server->PollCommands(100, [&](const CommandBatch&) {
    ++applied;
    return ApplyResult{};
  });
  CHECK(applied == 0);
  CHECK(ch.Rejects(RejectReason::kStaleSender) == 2);

  std::vector<Message> fresh = {RouteMessage(3)};
  auto seq = again.SendBatch(absl::MakeSpan(fresh));
  REQUIRE(seq.ok());
  CHECK(*seq == 1);
  ch.server->PollCommands(100, [&](const CommandBatch&) {
    ++applied;
    return ApplyResult{};
  });
  CHECK(applied == 1);
  CHECK(again.WaitAck(*seq, absl::Seconds(1)).ok());
}

TEST_CASE("a send of one chunk never enqueues part of it", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(false);
  std::vector<Message> chunk(kBatchChunkMessages, RouteMessage(1));
  // Batches of one chunk go in whole, up to the ring's last slot.
  for (uint32_t i = 0; i < kCommandRingSize / kBatchChunkMessages - 1; ++i) {
    REQUIRE(c.SendBatch(absl::MakeSpan(chunk)).ok());
  }
  auto s = c.SendBatch(absl::MakeSpan(chunk), absl::Milliseconds(20));  // one more than the room
  CHECK(s.status().code() == absl::StatusCode::kUnavailable);
  CHECK(rte_ring_count(ch.server->view().command_ring) == kCommandRingSize - kBatchChunkMessages);
  std::vector<Message> oversized(ch.server->view().header->max_batch_messages + 1, RouteMessage(1));
  CHECK(c.SendBatch(absl::MakeSpan(oversized)).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ch.Rejects(RejectReason::kBatchTooLarge) == 1);

  chunk.pop_back();  // now it fits exactly
  REQUIRE(c.SendBatch(absl::MakeSpan(chunk)).ok());
  size_t applied_messages = 0;
  ch.server->PollCommands(kCommandRingSize, [&](const CommandBatch& b) {
    applied_messages += b.messages.size();
    return ApplyResult{};
  });
  CHECK(applied_messages == kCommandRingSize - 1);
}

TEST_CASE("a client streaming leaves room for another client's batch of a chunk",
          "[channel][stream]") {
  Channel ch;
  ChannelClient a = ch.Attach(false);
  ChannelClient b = ch.Attach(false);
  std::vector<Message> big(3 * kCommandRingSize, RouteMessage(1));
  // Nobody consumes: a fills the ring as far as it may, then gives up.
  CHECK(a.SendBatch(absl::MakeSpan(big), absl::Milliseconds(20)).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(rte_ring_free_count(ch.server->view().command_ring) >= kBatchChunkMessages);
  std::vector<Message> chunk(kBatchChunkMessages, RouteMessage(2));
  auto seq = b.SendBatch(absl::MakeSpan(chunk), absl::Milliseconds(20));
  REQUIRE(seq.ok());
  size_t applied = 0;
  ch.server->PollCommands(kCommandRingSize, [&](const CommandBatch& batch) {
    applied += batch.messages.size();
    return ApplyResult{};
  });
  CHECK(applied == kBatchChunkMessages);
  CHECK(b.WaitAck(*seq, absl::Seconds(1)).ok());
}

TEST_CASE("a streamed batch cut short by a full ring is never applied", "[channel][stream]") {
  Channel ch;
  ChannelClient c = ch.Attach(false);
  std::vector<Message> big(3 * kCommandRingSize, RouteMessage(1));
  auto s = c.SendBatch(absl::MakeSpan(big), absl::Milliseconds(20));
  CHECK(s.status().code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StrContains(s.status().message(), "nothing of it is applied"));
  size_t applied = 0;
  auto count = [&](const CommandBatch& b) {
    applied += b.messages.size();
    return ApplyResult{};
  };
  ch.server->PollCommands(kCommandRingSize, count);
  CHECK(applied == 0);
  // The next batch ends the torn one (refused as interrupted) and is applied itself.
  std::vector<Message> next = {RouteMessage(2)};
  auto seq = c.SendBatch(absl::MakeSpan(next));
  REQUIRE(seq.ok());
  ch.server->PollCommands(kCommandRingSize, count);
  CHECK(applied == 1);
  CHECK(ch.Rejects(RejectReason::kBatchInterrupted) == 1);
  CHECK(c.WaitAck(*seq, absl::Seconds(1)).ok());
  // The refusal of the batch cut short came too; nobody waits for it, nothing keeps it.
  CHECK(c.pending_acks_for_testing() == 0);
}

TEST_CASE("key bytes do not survive consumption in ring or staging memory", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(true);
  absl::Span<uint8_t> ring = RingElementStorage(ch.server->view().command_ring, sizeof(Message));
  std::vector<Message> batch;
  for (uint32_t i = 0; i < 100; ++i) {
    batch.push_back(i % 2 ? GcmSaMessage(0x1000 + i) : CbcSaMessage(0x1000 + i));
  }
  // More than once round the ring, so bursts that wrap are covered too.
  for (int round = 0; round < 3; ++round) {
    std::vector<Message> copy = batch;
    REQUIRE(c.SendBatch(absl::MakeSpan(copy)).ok());
    CHECK(ContainsKeyProbe(ring));  // the scan does find keys while they are there
    bool handler_saw_keys = false;
    ch.server->PollCommands(kCommandRingSize, [&](const CommandBatch& b) {
      handler_saw_keys = ContainsKeyProbe(
          absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.messages.data()),
                                    b.messages.size() * sizeof(Message)));
      return ApplyResult{};
    });
    CHECK(handler_saw_keys);
    CHECK_FALSE(ContainsKeyProbe(ring));
    CHECK_FALSE(ContainsKeyProbe(ch.server->StagingBytesForTesting(c.slot())));
    for (int filler = 0; filler < 40; ++filler) {
      std::vector<Message> routes(100, RouteMessage(1));
      REQUIRE(c.SendBatch(absl::MakeSpan(routes)).ok());
      ch.server->PollCommands(kCommandRingSize, AcceptAll);
    }
  }
  // Rejected batches are wiped as well.
  std::vector<Message> bad = {GcmSaMessage(0x2000), RouteMessage(1)};
  bad[1].body.route.distance = 0;
  REQUIRE(c.SendBatch(absl::MakeSpan(bad)).ok());
  ch.server->PollCommands(100, AcceptAll);
  CHECK_FALSE(ContainsKeyProbe(ring));
  CHECK_FALSE(ContainsKeyProbe(ch.server->StagingBytesForTesting(c.slot())));
}

TEST_CASE("punt round trip; an exhausted pool drops and counts without blocking", "[channel]") {
  Channel ch;
  const std::vector<uint8_t> datagram(300, 0xab);
  PacketMeta meta = IkeMeta(1);
  CHECK_FALSE(ch.server->Punt(datagram, meta));  // nobody to punt to
  CHECK(ch.Counter(ch.server->counters().punt_drop_no_client) == 1);

  ChannelClient c = ch.Attach(true);
  int accepted = 0;
  const absl::Time start = absl::Now();
  for (uint32_t i = 0; i < kPuntBuffers + 44; ++i) {
    std::vector<uint8_t> d(100 + i, static_cast<uint8_t>(i));
    accepted += ch.server->Punt(d, IkeMeta(i)) ? 1 : 0;
  }
  CHECK(absl::Now() - start < absl::Seconds(1));
  CHECK(accepted == static_cast<int>(kPuntBuffers));
  CHECK(ch.Counter(ch.server->counters().punt_drop_pool_empty) == 44);
  CHECK(ch.Counter(ch.server->counters().punted) == kPuntBuffers);

  uint32_t n = 0;
  bool all_match = true;
  c.PollPunt(1000, [&](absl::Span<const uint8_t> bytes, const PacketMeta& m) {
    PacketMeta want = IkeMeta(n);
    all_match = all_match && bytes.size() == 100 + n && bytes[0] == static_cast<uint8_t>(n) &&
                memcmp(&m, &want, sizeof m) == 0;
    ++n;
  });
  CHECK(n == kPuntBuffers);
  CHECK(all_match);

  // Buffers came back: punting works again, up to the largest datagram.
  std::vector<uint8_t> largest(kPacketBufferSize, 0x5c);
  meta.flags = kNonEspMarker;
  CHECK(ch.server->Punt(largest, meta));
  std::vector<uint8_t> too_big(kPacketBufferSize + 1, 0);
  CHECK_FALSE(ch.server->Punt(too_big, meta));
  CHECK(ch.Counter(ch.server->counters().punt_drop_too_big) == 1);
  size_t got = 0;
  c.PollPunt(10, [&](absl::Span<const uint8_t> bytes, const PacketMeta& m) {
    got = bytes.size();
    CHECK(m.flags == kNonEspMarker);
  });
  CHECK(got == kPacketBufferSize);
}

TEST_CASE("inject round trip; a slot's buffers run out without blocking", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(false);
  for (uint32_t i = 0; i < kInjectBuffersPerSlot; ++i) {
    std::vector<uint8_t> d(200, static_cast<uint8_t>(i));
    REQUIRE(c.Inject(d, IkeMeta(i)).ok());
  }
  CHECK(c.InjectsInFlight() == kInjectBuffersPerSlot);
  std::vector<uint8_t> d(200, 0);
  CHECK(c.Inject(d, IkeMeta(0)).code() == absl::StatusCode::kResourceExhausted);
  PacketMeta bad = IkeMeta(0);
  bad.src_port = 0;
  CHECK(c.Inject(d, bad).code() == absl::StatusCode::kInvalidArgument);

  uint32_t n = 0;
  bool all_match = true;
  ch.server->PollInject(1000, [&](const InjectedPacket& p) {
    PacketMeta want = IkeMeta(n);
    all_match = all_match && p.slot == c.slot() && p.datagram.size() == 200 &&
                p.datagram[0] == static_cast<uint8_t>(n) &&
                memcmp(&p.meta, &want, sizeof want) == 0;
    ++n;
  });
  CHECK(n == kInjectBuffersPerSlot);
  CHECK(all_match);
  CHECK(c.InjectsInFlight() == 0);
  CHECK(c.Inject(d, IkeMeta(0)).ok());
}

TEST_CASE("a stale segment is replaced, a live or foreign one is not", "[channel]") {
  std::string name = UniqueChannelName();
  ShmCleanup cleanup(name);
  const std::string shm = "/portcullis-" + name;
  const uint64_t old_generation = uint64_t{1} << 62;  // far in the future: must still go up

  auto write_segment = [&](uint64_t magic, int32_t pid) {
    int fd = shm_open(shm.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    SegmentHeader h{};
    h.magic = magic;
    h.layout_version = kLayoutVersion;
    h.server_pid = pid;
    h.generation = old_generation;
    REQUIRE(write(fd, &h, sizeof h) == static_cast<ssize_t>(sizeof h));
    close(fd);
  };

  write_segment(kChannelMagic, DeadPid());
  {
    auto server = ChannelServer::Create(name);
    INFO(server.status().ToString());
    REQUIRE(server.ok());
    CHECK((*server)->generation() == old_generation + 1);
    auto second = ChannelServer::Create(name);
    CHECK(second.status().code() == absl::StatusCode::kAlreadyExists);
    CHECK_THAT(std::string(second.status().message()), Contains(absl::StrCat("pid ", getpid())));
  }
  write_segment(0x1122334455667788ull, DeadPid());
  auto foreign = ChannelServer::Create(name);
  CHECK(foreign.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(foreign.status().message()), Contains("not a Portcullis channel"));
}

TEST_CASE("a stale segment of ours is replaced; another user's is refused and left alone",
          "[channel][trust]") {
  std::string name = UniqueChannelName();
  ShmCleanup cleanup(name);
  const std::string shm = "/portcullis-" + name;
  int fd = shm_open(shm.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  REQUIRE(fd >= 0);
  SegmentHeader h{};
  h.magic = kChannelMagic;
  h.layout_version = kLayoutVersion;
  h.server_pid = DeadPid();
  REQUIRE(write(fd, &h, sizeof h) == static_cast<ssize_t>(sizeof h));

  // Someone else's, even with a dead server in it: not used, not removed, and said so.
  REQUIRE(fchown(fd, kOtherUid, kOtherUid) == 0);
  auto server = ChannelServer::Create(name);
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(server.status().message()),
             Contains(name) && Contains(absl::StrCat("belongs to uid ", kOtherUid)));
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  CHECK(st.st_nlink == 1);  // still there
  int again = shm_open(shm.c_str(), O_RDONLY, 0);
  CHECK(again >= 0);
  if (again >= 0) close(again);

  // Ours, stale and with a mode we would not attach to: replaced by a fresh 0600 segment.
  REQUIRE(fchown(fd, geteuid(), getegid()) == 0);
  REQUIRE(fchmod(fd, 0644) == 0);
  close(fd);
  server = ChannelServer::Create(name);
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  fd = shm_open(shm.c_str(), O_RDONLY, 0);
  REQUIRE(fd >= 0);
  REQUIRE(fstat(fd, &st) == 0);
  close(fd);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(ChannelClient::Attach(name, true).ok());
}

TEST_CASE("shutdown unlinks the segment and clients notice", "[channel]") {
  Channel ch;
  ChannelClient c = ch.Attach(true);
  std::vector<Message> batch = {RouteMessage(1)};
  auto seq = c.SendBatch(absl::MakeSpan(batch));
  REQUIRE(seq.ok());
  CHECK(c.ServerAlive());
  ch.server.reset();
  CHECK_FALSE(c.ServerAlive());
  CHECK(c.WaitAck(*seq, absl::Milliseconds(10)).code() == absl::StatusCode::kUnavailable);
  int fd = shm_open(("/portcullis-" + ch.name).c_str(), O_RDONLY, 0);
  CHECK(fd < 0);
  auto late = ChannelClient::Attach(ch.name, false, absl::Milliseconds(10));
  CHECK(late.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(late.status().message()), Contains("--channel " + ch.name));
}

TEST_CASE("channel names cannot escape their namespace", "[channel]") {
  CHECK(ShmNameForChannel("lab-1").value() == "/portcullis-lab-1");
  CHECK_FALSE(ShmNameForChannel("").ok());
  CHECK_FALSE(ShmNameForChannel("a/b").ok());
  CHECK_FALSE(ShmNameForChannel("..").ok());
  CHECK_FALSE(ShmNameForChannel(std::string(65, 'a')).ok());
}

TEST_CASE("a streamed send stops at once when the dataplane goes away", "[channel][stream]") {
  Channel ch;
  ChannelClient c = ch.Attach(false);
  ch.server.reset();  // closes the segment; the client keeps its mapping
  std::vector<Message> big(3 * kCommandRingSize, RouteMessage(1));
  auto s = c.SendBatch(absl::MakeSpan(big), absl::Seconds(30));
  CHECK(s.status().code() == absl::StatusCode::kUnavailable);
  // Not the stall timeout's "no room" after 30 s: the ring filled, and the dataplane was gone.
  CHECK(absl::StrContains(s.status().message(), "vpn-dataplane is gone"));
}

namespace {

// Messages [first, first + count) of batch `seq` of `size` messages, framed as the client library
// would, put on the ring directly: a client that sends part of a batch and then stops.
void EnqueuePart(const ChannelClient& c, uint64_t seq, uint32_t first, uint32_t count,
                 uint32_t size, const std::function<Message(uint32_t)>& make) {
  std::vector<Message> part;
  for (uint32_t i = first; i < first + count; ++i) {
    Message m = make(i);
    m.header.flags = i + 1 == size ? kLastInBatch : 0;
    m.header.slot = static_cast<uint8_t>(c.slot());
    m.header.slot_epoch = c.epoch();
    m.header.batch_seq = seq;
    m.header.index = i;
    m.header.batch_size = size;
    part.push_back(m);
  }
  REQUIRE(EnqueueCommands(c.view(), part, getpid()).ok());
  SecureWipe(part.data(), part.size() * sizeof(Message));
}

}  // namespace

TEST_CASE("all slots' staging together stays within --max-batch-messages", "[channel][stream]") {
  ServerOptions options;
  options.max_batch_messages = 2 * kRetainedStagingMessages;
  Channel ch(options);
  std::vector<ChannelClient> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(ch.Attach(false));
  const uint32_t size = options.max_batch_messages;
  const uint64_t budget_bytes =
      (uint64_t{kClientSlots} * kRetainedStagingMessages + options.max_batch_messages) *
      sizeof(Message);
  uint32_t applied = 0;
  uint64_t most = 0;
  // Three batches of the largest size, arriving side by side: two fit in the budget.
  for (uint32_t first = 0; first < size; first += kBatchChunkMessages) {
    for (const ChannelClient& c : clients) {
      EnqueuePart(c, 1, first, kBatchChunkMessages, size,
                  [](uint32_t i) { return RouteMessage(i); });
    }
    ch.server->PollCommands(kCommandRingSize, [&](const CommandBatch&) {
      ++applied;
      return ApplyResult{};
    });
    uint64_t total = 0;
    for (uint32_t s = 0; s < kClientSlots; ++s)
      total += ch.server->StagingBytesForTesting(s).size();
    most = std::max(most, total);
  }
  CHECK(most <= budget_bytes);
  CHECK(applied == 2);
  CHECK(ch.Rejects(RejectReason::kStagingBusy) == 1);
  // The refused one hears why, as a status to retry on.
  int busy = 0;
  for (ChannelClient& c : clients) {
    absl::Status st = c.WaitAck(1, absl::Seconds(1));
    if (absl::IsResourceExhausted(st)) {
      ++busy;
      CHECK(absl::StrContains(st.message(), "staging-busy"));
    }
  }
  CHECK(busy == 1);
  for (uint32_t s = 0; s < kClientSlots; ++s) {
    CHECK(ch.server->StagingBytesForTesting(s).size() ==
          kRetainedStagingMessages * sizeof(Message));
  }
}

TEST_CASE("an unfinished batch of a client that stays is dropped once idle, keys wiped",
          "[channel][stream]") {
  ServerOptions options;
  options.reclaim_interval = absl::Milliseconds(1);
  // Long enough that a loaded machine never makes the rounds below look idle.
  options.batch_idle_timeout = absl::Seconds(2);
  Channel ch(options);
  ChannelClient c = ch.Attach(false);
  // 6,000 of 9,000 messages (staging grown past the retained), an SA with keys among them.
  for (uint32_t first = 0; first < 6000; first += 1000) {
    EnqueuePart(c, 1, first, 1000, 9000,
                [](uint32_t i) { return i == 4500 ? GcmSaMessage(0x5000) : RouteMessage(i); });
    ch.server->PollCommands(kCommandRingSize, AcceptAll);
  }
  const uint32_t slot = c.slot();
  CHECK(ContainsKeyProbe(ch.server->StagingBytesForTesting(slot)));
  CHECK(ch.server->StagingBytesForTesting(slot).size() >
        kRetainedStagingMessages * sizeof(Message));
  absl::SleepFor(absl::Milliseconds(2100));
  ch.server->PollCommands(kCommandRingSize, AcceptAll);
  CHECK_FALSE(ContainsKeyProbe(ch.server->StagingBytesForTesting(slot)));
  CHECK(ch.server->StagingBytesForTesting(slot).size() ==
        kRetainedStagingMessages * sizeof(Message));
  CHECK(ch.Rejects(RejectReason::kAbandoned) == 1);
  absl::Status st = c.WaitAck(1, absl::Seconds(1));
  CHECK(absl::IsAborted(st));
  CHECK(absl::StrContains(st.message(), "no message for"));
  // The rest of it, arriving late, is ignored: refused once, told once.
  EnqueuePart(c, 1, 6000, 3000, 9000, [](uint32_t i) { return RouteMessage(i); });
  size_t applied = 0;
  auto count = [&](const CommandBatch&) {
    ++applied;
    return ApplyResult{};
  };
  ch.server->PollCommands(kCommandRingSize, count);
  CHECK(applied == 0);
  CHECK(ch.Counter(ch.server->counters().batches_rejected) == 1);
  // The next batch is served as usual, and no second ack for batch 1 is left behind.
  EnqueuePart(c, 2, 0, 1, 1, [](uint32_t i) { return RouteMessage(i); });
  ch.server->PollCommands(kCommandRingSize, count);
  CHECK(applied == 1);
  CHECK(c.WaitAck(2, absl::Seconds(1)).ok());
  CHECK(c.pending_acks_for_testing() == 0);
}

TEST_CASE("a client that dies after its batch was refused counts the fault, not abandoned",
          "[channel][stream]") {
  Channel ch;
  ChannelClient c = ch.Attach(false);
  EnqueuePart(c, 1, 0, 10, 100, [](uint32_t i) {
    Message m = RouteMessage(i);
    if (i == 3) m.body.route.prefix_length = 40;
    return m;
  });
  ch.server->PollCommands(kCommandRingSize, AcceptAll);
  c.Detach();
  ch.server->ReclaimDeadClients();
  CHECK(ch.Rejects(RejectReason::kBadPrefixLength) == 1);
  CHECK(ch.Rejects(RejectReason::kAbandoned) == 0);
}

TEST_CASE("a batch whose rest waits in the ring is not idle, however long the server was away",
          "[channel][stream]") {
  ServerOptions options;
  options.reclaim_interval = absl::Milliseconds(1);
  options.batch_idle_timeout = absl::Milliseconds(20);
  Channel ch(options);
  ChannelClient c = ch.Attach(false);
  auto route = [](uint32_t i) { return RouteMessage(i); };
  EnqueuePart(c, 1, 0, 1000, 2000, route);
  ch.server->PollCommands(kCommandRingSize, AcceptAll);
  // The rest arrives while the server is busy elsewhere for longer than the idle timeout.
  EnqueuePart(c, 1, 1000, 1000, 2000, route);
  absl::SleepFor(absl::Milliseconds(30));
  size_t applied = 0;
  ch.server->PollCommands(kCommandRingSize, [&](const CommandBatch& b) {
    applied += b.messages.size();
    return ApplyResult{};
  });
  CHECK(applied == 2000);
  CHECK(ch.Rejects(RejectReason::kAbandoned) == 0);
}
