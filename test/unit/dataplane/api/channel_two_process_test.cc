// The channel between two real processes: the server here, the client a separate program
// (channel_peer) that shares nothing with this process but the segment. Covers throughput and
// ordering, rejected batches, clients killed mid-batch and mid-enqueue, primary exclusivity
// and punt/inject round trips.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/channel_server.h"
#include "dataplane/api/key_wipe.h"
#include "dataplane/api/shared_atomic.h"
#include "test/unit/dataplane/api/channel_test_support.h"
#include "test/unit/dataplane/api/test_messages.h"

using namespace portcullis::dp::api;
using namespace portcullis::dp::api::testing;
using Catch::Matchers::Contains;

namespace {

constexpr absl::Duration kPeerTimeout = absl::Seconds(60);

struct Channel {
  explicit Channel(ServerOptions options = {}) {
    auto s = ChannelServer::Create(name, options);
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    server = *std::move(s);
  }

  uint64_t Counter(const uint64_t& field) const { return LoadShared(field); }
  uint64_t Rejects(RejectReason r) const {
    return LoadShared(server->counters().rejects[static_cast<size_t>(r)]);
  }

  std::string name = UniqueChannelName();
  ShmCleanup cleanup{name};
  std::unique_ptr<ChannelServer> server;
};

// What the test's "dataplane" applied: route numbers, batch by batch.
struct Applied {
  std::vector<std::vector<uint32_t>> batches;
  uint64_t messages = 0;

  ApplyResult Apply(const CommandBatch& b) {
    std::vector<uint32_t> routes;
    for (uint32_t i = 0; i < b.messages.size(); ++i) {
      if (RouteNumber(b.messages[i]) == 999999) {
        return {absl::FailedPreconditionError("route 999999 refused by the test dataplane"), i};
      }
      routes.push_back(RouteNumber(b.messages[i]));
    }
    messages += routes.size();
    batches.push_back(std::move(routes));
    return {};
  }

  bool AnyAtLeast(uint32_t n) const {
    for (const auto& b : batches) {
      for (uint32_t r : b) {
        if (r >= n) return true;
      }
    }
    return false;
  }
};

// Polls commands (and reclaims, on the server's schedule) until done() or the timeout.
template <typename Done>
bool Pump(ChannelServer& server, Applied& applied, Done done,
          absl::Duration timeout = kPeerTimeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    if (server.PollCommands(256, [&](const CommandBatch& b) { return applied.Apply(b); }) == 0) {
      usleep(10);
    }
  }
  return true;
}

// Runs a peer to completion while serving it; its exit code.
int Serve(Channel& ch, Applied& applied, const std::vector<std::string>& args) {
  PeerProcess peer(args);
  bool exited = Pump(*ch.server, applied, [&] { return peer.TryWait().has_value(); });
  INFO(peer.output());
  REQUIRE(exited);
  return *peer.TryWait();
}

}  // namespace

TEST_CASE("two processes: many batches applied in order, acks in order", "[channel][process]") {
  struct Run {
    uint32_t batches, size;
  };
  for (Run run : {Run{20000, 50}, Run{2000, 500}}) {
    Channel ch;
    uint32_t next_route = 0;
    bool in_order = true;
    uint64_t batches = 0;
    absl::Time first = absl::InfinitePast(), last;
    auto handler = [&](const CommandBatch& b) {
      if (first == absl::InfinitePast()) first = absl::Now();
      for (const Message& m : b.messages) in_order = in_order && RouteNumber(m) == next_route++;
      in_order = in_order && b.seq == ++batches;
      last = absl::Now();
      return ApplyResult{};
    };
    PeerProcess peer({"send", ch.name, std::to_string(run.batches), std::to_string(run.size)});
    const absl::Time deadline = absl::Now() + kPeerTimeout;
    while (!peer.TryWait().has_value() && absl::Now() < deadline) {
      if (ch.server->PollCommands(1024, handler) == 0) usleep(5);
    }
    INFO(peer.output());
    REQUIRE(peer.TryWait().has_value());
    CHECK(*peer.TryWait() == 0);
    CHECK(in_order);
    CHECK(batches == run.batches);
    CHECK(next_route == run.batches * run.size);
    CHECK(ch.Counter(ch.server->counters().acks_dropped) == 0);
    const double secs = absl::ToDoubleSeconds(last - first);
    std::printf(
        "channel throughput (two processes, batches of %u): %u messages in %.3f s = %.0f "
        "messages/s through the command ring\n  peer: %s",
        run.size, run.batches * run.size, secs, run.batches * run.size / secs,
        peer.output().c_str());
    std::fflush(stdout);
  }
}

TEST_CASE("two processes: bad batches are rejected and counted, good ones still applied",
          "[channel][process]") {
  Channel ch;
  Applied applied;
  CHECK(Serve(ch, applied, {"bad", ch.name}) == 0);
  CHECK(applied.batches == std::vector<std::vector<uint32_t>>{{1, 2, 3}, {4}, {5, 6}});
  CHECK(ch.Rejects(RejectReason::kUnknownKind) == 1);
  CHECK(ch.Rejects(RejectReason::kBadPrefixLength) == 1);
  CHECK(ch.Rejects(RejectReason::kBadKeyLength) == 1);
  CHECK(ch.Rejects(RejectReason::kBadReplayWindow) == 1);
  CHECK(ch.Rejects(RejectReason::kNonZeroReserved) == 1);
  CHECK(ch.Rejects(RejectReason::kUnknownOp) == 1);
  CHECK(ch.Rejects(RejectReason::kBadFraming) == 1);
  CHECK(ch.Rejects(RejectReason::kBatchInterrupted) == 1);
  CHECK(ch.Rejects(RejectReason::kApplyFailed) == 1);
  CHECK(ch.Counter(ch.server->counters().batches_rejected) == 8);
  CHECK(ch.Counter(ch.server->counters().batches_failed) == 1);
  CHECK(ch.Counter(ch.server->counters().batches_applied) == 3);
}

TEST_CASE("two processes: a client killed mid-batch never gets it applied", "[channel][process]") {
  Channel ch(ServerOptions{absl::Milliseconds(5)});
  Applied applied;
  uint32_t half_slot = 0;
  SECTION("the server had consumed the half batch") {
    PeerProcess half({"half", ch.name, "1000"});
    REQUIRE(half.WaitForLine("READY", absl::Seconds(10)));
    size_t consumed = 0;
    REQUIRE(Pump(*ch.server, applied, [&] {
      consumed = LoadShared(ch.server->counters().messages_consumed);
      return consumed >= 500;
    }));
    for (uint32_t s = 1; s < kClientSlots; ++s) half_slot += ch.server->SlotAttached(s) ? s : 0;
    CHECK(half_slot != 0);
    half.KillHard();
    REQUIRE(Pump(*ch.server, applied,
                 [&] { return ch.Counter(ch.server->counters().slots_reclaimed) == 1; }));
    CHECK(ch.Rejects(RejectReason::kAbandoned) == 1);
  }
  SECTION("the half batch was still in the ring") {
    PeerProcess half({"half", ch.name, "1000"});
    REQUIRE(half.WaitForLine("READY", absl::Seconds(10)));
    half.KillHard();
    ch.server->ReclaimDeadClients();
    CHECK(ch.Counter(ch.server->counters().slots_reclaimed) == 1);
    REQUIRE(Pump(*ch.server, applied,
                 [&] { return ch.Counter(ch.server->counters().messages_consumed) == 500; }));
    CHECK(ch.Rejects(RejectReason::kStaleSender) == 500);
  }
  CHECK(applied.batches.empty());
  CHECK(ch.Counter(ch.server->counters().acks_dropped) == 0);

  // A new client gets a slot and is served as if nothing happened.
  CHECK(Serve(ch, applied, {"send", ch.name, "20", "10"}) == 0);
  CHECK(applied.batches.size() == 20);
  CHECK(applied.messages == 200);
  CHECK_FALSE(applied.AnyAtLeast(1'000'000));
}

TEST_CASE("two processes: a client killed inside an enqueue is rolled back and wiped",
          "[channel][process]") {
  Channel ch(ServerOptions{absl::Milliseconds(5)});
  Applied applied;
  absl::Span<uint8_t> ring = RingElementStorage(ch.server->view().command_ring, sizeof(Message));
  PeerProcess torn({"torn", ch.name});
  REQUIRE(torn.WaitForLine("READY", absl::Seconds(10)));
  CHECK(ContainsKeyProbe(ring));  // written but not published
  CHECK(ch.server->PollCommands(1000, [&](const CommandBatch& b) { return applied.Apply(b); }) ==
        0);
  torn.KillHard();
  REQUIRE(Pump(*ch.server, applied,
               [&] { return ch.Counter(ch.server->counters().producer_recoveries) == 1; }));
  CHECK_FALSE(ContainsKeyProbe(ring));
  CHECK(applied.batches.empty());

  CHECK(Serve(ch, applied, {"send", ch.name, "10", "10"}) == 0);
  CHECK(applied.batches.size() == 10);
  CHECK(ch.Counter(ch.server->counters().messages_consumed) == 100);
}

TEST_CASE("two processes: a second primary is refused while the first lives",
          "[channel][process]") {
  Channel ch;
  PeerProcess holder({"hold-primary", ch.name});
  REQUIRE(holder.WaitForLine("READY", absl::Seconds(10)));
  auto second = ChannelClient::Attach(ch.name, true, absl::Milliseconds(100));
  CHECK(second.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK_THAT(std::string(second.status().message()),
             Contains(absl::StrCat("held by live pid ", holder.pid())));
  CHECK(ChannelClient::Attach(ch.name, false).ok());

  holder.KillHard();
  // Until the server reclaims it, the dead holder's slot is waited for, not stolen.
  auto early = ChannelClient::Attach(ch.name, true, absl::Milliseconds(20));
  CHECK(early.status().code() == absl::StatusCode::kUnavailable);
  ch.server->ReclaimDeadClients();
  auto now_primary = ChannelClient::Attach(ch.name, true);
  REQUIRE(now_primary.ok());
  CHECK(now_primary->primary());
}

TEST_CASE("two processes: punted datagrams come back injected with their metadata",
          "[channel][process]") {
  Channel ch;
  constexpr uint32_t kCount = 200;
  PeerProcess echo({"echo", ch.name, std::to_string(kCount)});
  REQUIRE(echo.WaitForLine("READY", absl::Seconds(10)));

  auto datagram = [](uint32_t i) {
    std::vector<uint8_t> d(i + 1 == kCount ? kPacketBufferSize : 60 + i * 7);
    for (size_t j = 0; j < d.size(); ++j) d[j] = static_cast<uint8_t>(i * 31 + j);
    return d;
  };
  auto meta = [](uint32_t i) {
    PacketMeta m = IkeMeta(i);
    if (i % 2) {
      m.flags = kNonEspMarker;
      m.src_port = 4500;
      m.dst_port = 4500;
    }
    return m;
  };
  for (uint32_t i = 0; i < kCount; ++i) REQUIRE(ch.server->Punt(datagram(i), meta(i)));

  uint32_t received = 0;
  bool all_match = true;
  const absl::Time deadline = absl::Now() + kPeerTimeout;
  while (received < kCount && absl::Now() < deadline) {
    ch.server->PollInject(64, [&](const InjectedPacket& p) {
      PacketMeta want = meta(received);
      std::swap(want.src, want.dst);
      std::swap(want.src_port, want.dst_port);
      std::vector<uint8_t> bytes = datagram(received);
      all_match = all_match && memcmp(&p.meta, &want, sizeof want) == 0 &&
                  p.datagram.size() == bytes.size() &&
                  memcmp(p.datagram.data(), bytes.data(), bytes.size()) == 0;
      ++received;
    });
    usleep(10);
  }
  CHECK(received == kCount);
  CHECK(all_match);
  while (!echo.TryWait().has_value() && absl::Now() < deadline) usleep(1000);
  INFO(echo.output());
  CHECK(echo.TryWait() == 0);
  CHECK(ch.Counter(ch.server->counters().injected) == kCount);
  CHECK(ch.Counter(ch.server->counters().inject_rejected) == 0);
}

namespace {

// The child's pid from a forked-echo peer's "CHILD <pid>" line.
pid_t ForkedChild(const PeerProcess& peer) {
  const size_t at = peer.output().find("CHILD ");
  return at == std::string::npos ? -1 : std::atoi(peer.output().c_str() + at + 6);
}

// Until the peer's own process (the forking parent) has exited; its exit code.
std::optional<int> WaitExit(PeerProcess& peer) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!peer.TryWait().has_value() && absl::Now() < deadline) usleep(1000);
  return peer.TryWait();
}

}  // namespace

// vpnd attaches, then becomes a daemon (fork, parent exits): the slot recorded under the
// parent's pid must pass to the child first, or the dataplane's reclaim of dead clients frees
// it and punts IKE to nobody (found by booting the units under systemd: test_systemd_boot.py).
TEST_CASE("two processes: a client that forks hands its slot to the child before its parent exits",
          "[channel][process]") {
  Channel ch;
  constexpr uint32_t kCount = 20;
  PeerProcess peer({"forked-echo", ch.name, std::to_string(kCount), "1"});
  REQUIRE(peer.WaitForLine("READY", absl::Seconds(10)));
  REQUIRE(WaitExit(peer) == 0);
  const pid_t child = ForkedChild(peer);
  REQUIRE(child > 0);
  CHECK(LoadShared(ch.server->view().header->slots[kPrimarySlot].owner_pid) == child);

  ch.server->ReclaimDeadClients();
  uint32_t punted = 0, injected = 0;
  for (uint32_t i = 0; i < kCount; ++i)
    punted += ch.server->Punt(std::vector<uint8_t>(64, i), IkeMeta(i));
  CHECK(punted == kCount);
  const absl::Time deadline = absl::Now() + kPeerTimeout;
  while (injected < kCount && absl::Now() < deadline) {
    injected += ch.server->PollInject(64, [](const InjectedPacket&) {});
    usleep(10);
  }
  CHECK(injected == kCount);
  CHECK(peer.WaitForLine(absl::StrCat("ECHOED ", kCount), absl::Seconds(30)));
}

TEST_CASE("two processes: a forked client that keeps its parent's pid loses its slot",
          "[channel][process]") {
  Channel ch;
  PeerProcess peer({"forked-echo", ch.name, "1", "0"});
  REQUIRE(peer.WaitForLine("READY", absl::Seconds(10)));
  REQUIRE(WaitExit(peer) == 0);
  const pid_t child = ForkedChild(peer);
  REQUIRE(child > 0);
  ch.server->ReclaimDeadClients();
  // The child lives, but the channel knew only its parent: no primary, nothing punted.
  CHECK_FALSE(ch.server->Punt(std::vector<uint8_t>(64, 1), IkeMeta(1)));
  kill(child, SIGKILL);
}

namespace {

// What a streamed batch applied: its size, SAs and whether route numbers came in order.
struct StreamApplied {
  uint32_t batches = 0;
  uint32_t messages = 0;
  uint32_t sas = 0;
  bool in_order = true;

  ApplyResult Apply(const CommandBatch& b) {
    ++batches;
    for (uint32_t i = 0; i < b.messages.size(); ++i) {
      const Message& m = b.messages[i];
      if (m.header.kind == MessageKind::kSa) {
        ++sas;
      } else {
        in_order = in_order && RouteNumber(m) == i;
      }
    }
    messages += static_cast<uint32_t>(b.messages.size());
    return {};
  }
};

int ServeStream(Channel& ch, StreamApplied& applied, const std::vector<std::string>& args) {
  PeerProcess peer(args);
  const absl::Time deadline = absl::Now() + kPeerTimeout;
  while (!peer.TryWait().has_value() && absl::Now() < deadline) {
    if (ch.server->PollCommands(256, [&](const CommandBatch& b) { return applied.Apply(b); }) ==
        0) {
      usleep(10);
    }
  }
  INFO(peer.output());
  REQUIRE(peer.TryWait().has_value());
  std::printf("%s", peer.output().c_str());
  return *peer.TryWait();
}

bool StagingClean(const Channel& ch) {
  for (uint32_t s = 0; s < kClientSlots; ++s) {
    absl::Span<const uint8_t> staging = ch.server->StagingBytesForTesting(s);
    if (ContainsKeyProbe(staging) || staging.size() != kRetainedStagingMessages * sizeof(Message))
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("two processes: a batch six times the ring streams through and applies once, whole",
          "[channel][process][stream]") {
  Channel ch;
  StreamApplied applied;
  CHECK(ServeStream(ch, applied, {"stream", ch.name, "50000", "50000"}) == 0);
  CHECK(applied.batches == 1);
  CHECK(applied.messages == 50000);
  CHECK(applied.sas == 50);
  CHECK(applied.in_order);
  CHECK(ch.Counter(ch.server->counters().batches_applied) == 1);
  // Staged keys are wiped once consumed and the grown staging is given back.
  CHECK(StagingClean(ch));
  CHECK_FALSE(
      ContainsKeyProbe(RingElementStorage(ch.server->view().command_ring, sizeof(Message))));
}

TEST_CASE("two processes: one bad message at the end of a streamed batch refuses all of it",
          "[channel][process][stream]") {
  Channel ch;
  StreamApplied applied;
  CHECK(ServeStream(ch, applied, {"stream", ch.name, "50000", "49998"}) == 0);
  CHECK(applied.batches == 0);
  CHECK(ch.Rejects(RejectReason::kBadPrefixLength) == 1);
  CHECK(ch.Counter(ch.server->counters().batches_applied) == 0);
  CHECK(StagingClean(ch));
}

TEST_CASE("two processes: a client killed mid-stream never gets its batch applied",
          "[channel][process][stream]") {
  Channel ch(ServerOptions{absl::Milliseconds(5)});
  StreamApplied applied;
  PeerProcess peer({"stream", ch.name, "50000", "50000"});
  REQUIRE(peer.WaitForLine("READY", absl::Seconds(10)));
  const absl::Time deadline = absl::Now() + kPeerTimeout;
  while (LoadShared(ch.server->counters().messages_consumed) < 20000 && absl::Now() < deadline) {
    if (ch.server->PollCommands(256, [&](const CommandBatch& b) { return applied.Apply(b); }) ==
        0) {
      usleep(10);
    }
  }
  REQUIRE(LoadShared(ch.server->counters().messages_consumed) >= 20000);
  // Past the retained staging, and holding SA keys.
  bool grown = false;
  for (uint32_t s = 1; s < kClientSlots; ++s) {
    grown = grown || ch.server->StagingBytesForTesting(s).size() >
                         kRetainedStagingMessages * sizeof(Message);
  }
  CHECK(grown);
  peer.KillHard();
  while (ch.Counter(ch.server->counters().slots_reclaimed) == 0 && absl::Now() < deadline) {
    ch.server->PollCommands(256, [&](const CommandBatch& b) { return applied.Apply(b); });
    usleep(100);
  }
  CHECK(ch.Counter(ch.server->counters().slots_reclaimed) == 1);
  CHECK(ch.Rejects(RejectReason::kAbandoned) == 1);
  ch.server->PollCommands(kCommandRingSize,
                          [&](const CommandBatch& b) { return applied.Apply(b); });
  CHECK(applied.batches == 0);
  CHECK(StagingClean(ch));
  CHECK_FALSE(
      ContainsKeyProbe(RingElementStorage(ch.server->view().command_ring, sizeof(Message))));
}

TEST_CASE("two processes: a batch over --max-batch-messages is refused and counted",
          "[channel][process][stream]") {
  ServerOptions options;
  options.max_batch_messages = 30000;
  Channel ch(options);
  StreamApplied applied;
  CHECK(ServeStream(ch, applied, {"stream", ch.name, "30001", "30001"}) == 1);
  CHECK(ch.Rejects(RejectReason::kBatchTooLarge) == 1);
  CHECK(ch.Counter(ch.server->counters().messages_consumed) == 0);
  CHECK(ServeStream(ch, applied, {"stream", ch.name, "30000", "30000"}) == 0);
  CHECK(applied.batches == 1);
  CHECK(applied.messages == 30000);
}
