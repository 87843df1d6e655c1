// The second process of the two-process channel tests: a channel client that does one scripted
// thing per mode and reports on stdout (a "READY" line when a test may act on it) and through
// its exit code (0 = everything it saw was as expected).
//
//   send CHANNEL BATCHES SIZE   pipelined route batches; every ack OK and in order
//   bad CHANNEL                 a scripted mix of good and broken batches; checks every ack
//   half CHANNEL SIZE           enqueues the first half of a batch, then waits to be killed
//   torn CHANNEL                dies (when killed) inside a command-ring enqueue
//   hold-primary CHANNEL        holds the primary slot until killed
//   echo CHANNEL COUNT          primary: injects every punted datagram back, addresses swapped
//   forked-echo CHANNEL COUNT ADOPT
//                               echo's attach, then a fork as a daemon's: the parent exits 0
//                               once the child is set up, the child prints CHILD <pid> and
//                               READY and echoes; with ADOPT 1 the child takes the slot over
//                               first (AdoptAfterFork), with 0 it waits to be killed
//   stream CHANNEL SIZE BAD     one batch of SIZE messages (routes, an SA with the key pattern
//                               every 1000th) streamed in chunks; the message at index BAD (if
//                               < SIZE) is invalid. Prints READY before sending; the ack must be
//                               OK, or refuse message BAD
#include <rte_ring.h>
// Not self-contained: needs rte_ring.h first.
#include <rte_ring_peek_zc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/command_producer.h"
#include "dataplane/api/key_wipe.h"
#include "dataplane/api/message_names.h"
#include "test/unit/dataplane/api/test_messages.h"

using namespace portcullis::dp::api;
using portcullis::dp::api::testing::CbcSaMessage;
using portcullis::dp::api::testing::GcmSaMessage;
using portcullis::dp::api::testing::RouteMessage;

namespace {

[[noreturn]] void Die(const std::string& why) {
  fprintf(stderr, "channel_peer: %s\n", why.c_str());
  exit(1);
}

void Ready() {
  printf("READY\n");
  fflush(stdout);
}

[[noreturn]] void WaitToBeKilled() {
  for (;;) pause();
}

ChannelClient AttachOrDie(const std::string& channel, bool primary) {
  auto c = ChannelClient::Attach(channel, primary);
  if (!c.ok()) Die(std::string(c.status().message()));
  return *std::move(c);
}

uint32_t Arg(char** argv, int i) {
  uint32_t v = 0;
  if (!absl::SimpleAtoi(argv[i], &v)) Die(absl::StrFormat("bad number '%s'", argv[i]));
  return v;
}

int Send(const std::string& channel, uint32_t batches, uint32_t size) {
  ChannelClient c = AttachOrDie(channel, false);
  std::vector<Message> batch(size);
  uint64_t next_ack = 1;
  uint64_t bad_acks = 0;
  auto on_event = [&](const Event& e) {
    if (e.header.kind != EventKind::kAck) return;
    if (e.body.ack.batch_seq != next_ack || e.body.ack.status != 0) {
      ++bad_acks;
      fprintf(stderr, "channel_peer: ack for batch %llu (status %u), expected batch %llu OK\n",
              static_cast<unsigned long long>(e.body.ack.batch_seq), e.body.ack.status,
              static_cast<unsigned long long>(next_ack));
    }
    ++next_ack;
  };
  const absl::Time start = absl::Now();
  uint32_t number = 0;
  for (uint32_t b = 0; b < batches; ++b) {
    for (uint32_t i = 0; i < size; ++i) batch[i] = RouteMessage(number++);
    for (;;) {
      auto seq = c.SendBatch(absl::MakeSpan(batch));
      if (seq.ok()) {
        if (*seq != b + 1) Die(absl::StrFormat("batch %d got sequence %d", b + 1, *seq));
        break;
      }
      if (!absl::IsUnavailable(seq.status())) Die(std::string(seq.status().message()));
      c.PollEvents(1024, on_event);  // ring full: let the dataplane catch up
      usleep(10);
    }
    c.PollEvents(1024, on_event);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (next_ack <= batches && absl::Now() < deadline) {
    if (c.PollEvents(1024, on_event) == 0) usleep(50);
  }
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  printf("SENT %u messages in %u batches in %.3f s: %.0f messages/s including acks\n",
         batches * size, batches, secs, batches * size / secs);
  if (next_ack != uint64_t{batches} + 1) Die("not every batch was acknowledged");
  return bad_acks == 0 ? 0 : 1;
}

// One scripted case: what to send and which verdict to expect.
struct Expect {
  const char* name;
  absl::StatusCode code;
  RejectReason reason;
  uint32_t failed_index;
};

int CheckAck(ChannelClient& c, uint64_t seq, const Expect& want) {
  absl::Status s = c.WaitAck(seq, absl::Seconds(10));
  printf("ACK %s: %s\n", want.name, s.ToString().c_str());
  if (s.code() != want.code) {
    fprintf(stderr, "channel_peer: %s: got %s, expected code %d\n", want.name, s.ToString().c_str(),
            static_cast<int>(want.code));
    return 1;
  }
  if (!s.ok()) {
    const std::string reason(RejectReasonName(want.reason));
    const std::string index = absl::StrFormat("at message %d ", want.failed_index);
    if (s.message().find(reason) == absl::string_view::npos ||
        s.message().find(index) == absl::string_view::npos) {
      fprintf(stderr, "channel_peer: %s: '%s' lacks '%s' or '%s'\n", want.name,
              s.ToString().c_str(), reason.c_str(), index.c_str());
      return 1;
    }
  }
  return 0;
}

int SendAndCheck(ChannelClient& c, std::vector<Message> batch, const Expect& want) {
  auto seq = c.SendBatch(absl::MakeSpan(batch));
  if (!seq.ok()) Die(absl::StrFormat("%s: %s", want.name, seq.status().ToString()));
  return CheckAck(c, *seq, want);
}

// Frames messages by hand, as a broken or dying client would, and enqueues them.
void EnqueueRaw(ChannelClient& c, std::vector<Message> msgs, uint64_t seq, uint32_t size,
                std::vector<uint32_t> indexes, bool last_on_final) {
  for (size_t i = 0; i < msgs.size(); ++i) {
    MessageHeader& h = msgs[i].header;
    h.slot = static_cast<uint8_t>(c.slot());
    h.slot_epoch = c.epoch();
    h.batch_seq = seq;
    h.batch_size = size;
    h.index = indexes[i];
    h.flags = (last_on_final && i + 1 == msgs.size()) ? kLastInBatch : 0;
  }
  absl::Status s = EnqueueCommands(c.view(), msgs, getpid());
  if (!s.ok()) Die(s.ToString());
}

int Bad(const std::string& channel) {
  using absl::StatusCode;
  ChannelClient c = AttachOrDie(channel, false);
  int failures = 0;
  failures += SendAndCheck(c, {RouteMessage(1), RouteMessage(2), RouteMessage(3)},
                           {"good-first", StatusCode::kOk, RejectReason::kNone, 0});

  Message unknown = RouteMessage(100);
  unknown.header.kind = static_cast<MessageKind>(99);
  failures +=
      SendAndCheck(c, {RouteMessage(101), unknown, RouteMessage(102)},
                   {"unknown-kind", StatusCode::kInvalidArgument, RejectReason::kUnknownKind, 1});

  Message long_prefix = RouteMessage(110);
  long_prefix.body.route.prefix_length = 33;
  failures +=
      SendAndCheck(c, {long_prefix},
                   {"prefix-33", StatusCode::kInvalidArgument, RejectReason::kBadPrefixLength, 0});

  Message key = GcmSaMessage(0x1000);
  key.body.sa.enc_key_length = 20;
  failures +=
      SendAndCheck(c, {RouteMessage(120), key},
                   {"gcm-key-20", StatusCode::kInvalidArgument, RejectReason::kBadKeyLength, 1});

  Message window = CbcSaMessage(0x1001);
  window.body.sa.replay_window = 5000;
  failures += SendAndCheck(
      c, {window},
      {"window-5000", StatusCode::kInvalidArgument, RejectReason::kBadReplayWindow, 0});

  Message reserved = RouteMessage(130);
  reserved.body.raw[200] = 1;
  failures += SendAndCheck(
      c, {reserved}, {"reserved", StatusCode::kInvalidArgument, RejectReason::kNonZeroReserved, 0});

  Message op = RouteMessage(140);
  op.header.op = static_cast<Op>(9);
  failures += SendAndCheck(
      c, {op}, {"unknown-op", StatusCode::kInvalidArgument, RejectReason::kUnknownOp, 0});

  // Index 1 never arrives.
  EnqueueRaw(c, {RouteMessage(150), RouteMessage(151)}, 1000, 3, {0, 2}, true);
  failures += CheckAck(
      c, 1000, {"skipped-index", StatusCode::kInvalidArgument, RejectReason::kBadFraming, 1});

  // Two of four messages, then a new batch: the first is dropped, the second applied.
  EnqueueRaw(c, {RouteMessage(160), RouteMessage(161)}, 1001, 4, {0, 1}, false);
  std::vector<Message> interrupting = {RouteMessage(4)};
  auto next = c.SendBatch(absl::MakeSpan(interrupting));
  if (!next.ok()) Die(next.status().ToString());
  failures +=
      CheckAck(c, 1001, {"interrupted", StatusCode::kAborted, RejectReason::kBatchInterrupted, 2});
  failures += CheckAck(c, *next, {"interrupting", StatusCode::kOk, RejectReason::kNone, 0});

  // Valid, but the test's dataplane refuses route 999999.
  failures +=
      SendAndCheck(c, {RouteMessage(170), RouteMessage(999999)},
                   {"refused", StatusCode::kFailedPrecondition, RejectReason::kApplyFailed, 1});

  failures += SendAndCheck(c, {RouteMessage(5), RouteMessage(6)},
                           {"good-last", StatusCode::kOk, RejectReason::kNone, 0});
  return failures == 0 ? 0 : 1;
}

int Half(const std::string& channel, uint32_t size) {
  ChannelClient c = AttachOrDie(channel, false);
  std::vector<Message> first_half;
  std::vector<uint32_t> indexes;
  for (uint32_t i = 0; i < size / 2; ++i) {
    first_half.push_back(RouteMessage(1'000'000 + i));
    indexes.push_back(i);
  }
  EnqueueRaw(c, first_half, 1, size, indexes, false);
  Ready();
  WaitToBeKilled();
}

int Torn(const std::string& channel) {
  ChannelClient c = AttachOrDie(channel, false);
  const ChannelView& v = c.view();
  if (!AcquireProducer(v, getpid(), absl::Seconds(5), nullptr)) Die("producer lock");
  constexpr uint32_t kReserved = 64;
  rte_ring_zc_data zcd;
  if (rte_ring_enqueue_zc_bulk_elem_start(v.command_ring, sizeof(Message), kReserved, &zcd,
                                          nullptr) != kReserved) {
    Die("no room to reserve");
  }
  // Half of the reservation written, keys included, nothing published.
  for (uint32_t i = 0; i < kReserved / 2; ++i) {
    Message m = GcmSaMessage(0x2000 + i);
    m.header.slot = static_cast<uint8_t>(c.slot());
    m.header.slot_epoch = c.epoch();
    m.header.batch_seq = 1;
    m.header.batch_size = kReserved;
    m.header.index = i;
    Message* dst = i < zcd.n1 ? static_cast<Message*>(zcd.ptr1) + i
                              : static_cast<Message*>(zcd.ptr2) + (i - zcd.n1);
    memcpy(dst, &m, sizeof m);
  }
  Ready();
  WaitToBeKilled();
}

int HoldPrimary(const std::string& channel) {
  ChannelClient c = AttachOrDie(channel, true);
  Ready();
  WaitToBeKilled();
}

int EchoOn(ChannelClient& c, uint32_t count) {
  Ready();
  uint32_t echoed = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::vector<std::pair<std::vector<uint8_t>, PacketMeta>> pending;
  while ((echoed < count || c.InjectsInFlight() != 0) && absl::Now() < deadline) {
    c.PollPunt(64, [&](absl::Span<const uint8_t> bytes, const PacketMeta& meta) {
      PacketMeta back = meta;
      std::swap(back.src, back.dst);
      std::swap(back.src_port, back.dst_port);
      pending.emplace_back(std::vector<uint8_t>(bytes.begin(), bytes.end()), back);
    });
    while (!pending.empty()) {
      absl::Status s = c.Inject(pending.front().first, pending.front().second);
      if (absl::IsResourceExhausted(s)) break;  // the dataplane has not polled yet
      if (!s.ok()) Die(s.ToString());
      pending.erase(pending.begin());
      ++echoed;
    }
    usleep(20);
  }
  printf("ECHOED %u\n", echoed);
  return echoed == count && c.InjectsInFlight() == 0 ? 0 : 1;
}

int Echo(const std::string& channel, uint32_t count) {
  ChannelClient c = AttachOrDie(channel, true);
  return EchoOn(c, count);
}

int ForkedEcho(const std::string& channel, uint32_t count, uint32_t adopt) {
  ChannelClient c = AttachOrDie(channel, true);
  int ready[2];
  if (pipe(ready) != 0) Die("pipe");
  const pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid > 0) {
    // The parent lives until the child has taken the slot over, as vpnd's Daemonize.
    char byte = 0;
    close(ready[1]);
    _exit(read(ready[0], &byte, 1) == 1 ? 0 : 1);
  }
  close(ready[0]);
  if (adopt) {
    absl::Status s = c.AdoptAfterFork();
    if (!s.ok()) Die(s.ToString());
  }
  printf("CHILD %d\n", static_cast<int>(getpid()));
  fflush(stdout);
  if (write(ready[1], "", 1) != 1) Die("write");
  close(ready[1]);
  if (!adopt) {
    Ready();
    WaitToBeKilled();
  }
  const int rc = EchoOn(c, count);
  fflush(stdout);
  return rc;
}

int Stream(const std::string& channel, uint32_t size, uint32_t bad) {
  ChannelClient c = AttachOrDie(channel, false);
  std::vector<Message> batch(size);
  for (uint32_t i = 0; i < size; ++i) {
    batch[i] = i % 1000 == 999 ? GcmSaMessage(0x10000 + i) : RouteMessage(i);
  }
  if (bad < size) {
    batch[bad] = RouteMessage(bad);
    batch[bad].body.route.prefix_length = 40;
  }
  Ready();
  const absl::Time start = absl::Now();
  auto seq = c.SendBatch(absl::MakeSpan(batch), absl::Seconds(60));
  SecureWipe(batch.data(), batch.size() * sizeof(Message));
  if (!seq.ok()) Die(std::string(seq.status().message()));
  absl::Status ack = c.WaitAck(*seq, absl::Seconds(60));
  printf("STREAMED %u messages in %.3f s: %s\n", size, absl::ToDoubleSeconds(absl::Now() - start),
         ack.ToString().c_str());
  if (bad >= size) return ack.ok() ? 0 : 1;
  return absl::IsInvalidArgument(ack) &&
                 ack.message().find(absl::StrFormat("at message %d (bad-prefix-length)", bad)) !=
                     absl::string_view::npos
             ? 0
             : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) Die("usage: channel_peer MODE CHANNEL [ARGS]");
  const std::string mode = argv[1];
  const std::string channel = argv[2];
  if (mode == "send" && argc == 5) return Send(channel, Arg(argv, 3), Arg(argv, 4));
  if (mode == "bad") return Bad(channel);
  if (mode == "half" && argc == 4) return Half(channel, Arg(argv, 3));
  if (mode == "torn") return Torn(channel);
  if (mode == "hold-primary") return HoldPrimary(channel);
  if (mode == "echo" && argc == 4) return Echo(channel, Arg(argv, 3));
  if (mode == "forked-echo" && argc == 5) return ForkedEcho(channel, Arg(argv, 3), Arg(argv, 4));
  if (mode == "stream" && argc == 5) return Stream(channel, Arg(argv, 3), Arg(argv, 4));
  Die("unknown mode or wrong arguments: " + mode);
}
