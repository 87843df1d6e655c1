#include "dataplane/api/channel_client.h"

#include <rte_pause.h>
#include <rte_ring_elem.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "dataplane/api/command_producer.h"
#include "dataplane/api/message_names.h"
#include "dataplane/api/packet_checks.h"
#include "dataplane/api/process_liveness.h"
#include "dataplane/api/shared_atomic.h"

namespace portcullis::dp::api {
namespace {

constexpr uint32_t kEventBurst = 32;

void SleepMicros(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, nullptr);
}

// Maps the segment once the server has finished writing it (the magic is written last), and
// only if its owner and mode say that no one but us (or root) can have written it.
absl::StatusOr<ShmSegment> OpenReady(const std::string& shm_name, absl::string_view channel,
                                     absl::Time deadline) {
  const uid_t euid = geteuid();
  for (;;) {
    auto seg = ShmSegment::OpenExisting(
        shm_name, [&](const struct stat& st) { return CheckAttachable(st, euid, shm_name); });
    if (absl::IsNotFound(seg.status())) {
      return absl::NotFoundError(absl::StrFormat(
          "no channel '%s' (/dev/shm%s does not exist): is vpn-dataplane running with "
          "--channel %s?",
          channel, shm_name, channel));
    }
    if (!seg.ok()) {
      return absl::Status(seg.status().code(),
                          absl::StrFormat("channel '%s': %s", channel, seg.status().message()));
    }
    if (seg->size() >= kHeaderPrefixSize) {
      const auto* h = reinterpret_cast<const SegmentHeader*>(seg->data());
      if (LoadShared(h->magic, std::memory_order_acquire) != 0) return seg;
    }
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(
          absl::StrFormat("channel '%s' is still being created by vpn-dataplane", channel));
    }
    SleepMicros(1000);
  }
}

}  // namespace

absl::Status AckStatus(const AckEvent& ack) {
  if (ack.status == 0) return absl::OkStatus();
  char text[kAckTextSize + 1] = {};
  memcpy(text, ack.text, kAckTextSize);  // terminated even if the sender did not
  return absl::Status(static_cast<absl::StatusCode>(ack.status),
                      absl::StrFormat("batch %d refused at message %d (%s): %s", ack.batch_seq,
                                      ack.failed_index, RejectReasonName(ack.reason), text));
}

absl::StatusOr<ChannelClient> ChannelClient::Attach(absl::string_view channel, bool primary,
                                                    absl::Duration timeout) {
  auto shm_name = ShmNameForChannel(channel);
  if (!shm_name.ok()) return shm_name.status();
  const absl::Time deadline = absl::Now() + timeout;
  auto seg = OpenReady(*shm_name, channel, deadline);
  if (!seg.ok()) return seg.status();
  const auto& h = *reinterpret_cast<const SegmentHeader*>(seg->data());
  if (absl::Status s = CheckHeader(h, seg->size(), channel); !s.ok()) return s;
  if (LoadShared(h.state) != SegmentState::kReady || !IsProcessAlive(h.server_pid)) {
    return absl::UnavailableError(absl::StrFormat(
        "channel '%s': vpn-dataplane (pid %d) is no longer running", channel, h.server_pid));
  }

  ChannelClient c;
  c.channel_ = std::string(channel);
  c.segment_ = *std::move(seg);
  c.view_ = ChannelView::Resolve(c.segment_.data());
  if (absl::Status s = CheckRings(c.view_, channel); !s.ok()) return s;
  c.pid_ = getpid();
  SegmentHeader& header = *c.view_.header;
  const AreaDesc& cmd = header.areas.command_ring;
  madvise(c.segment_.data() + cmd.offset, cmd.bytes, MADV_DONTDUMP);

  const uint32_t first = primary ? kPrimarySlot : kPrimarySlot + 1;
  const uint32_t last = primary ? kPrimarySlot + 1 : kClientSlots;
  for (;;) {
    bool someone_departed = false;
    int32_t live_owner = 0;
    for (uint32_t s = first; s < last; ++s) {
      int32_t owner = kSlotFree;
      if (CasShared(header.slots[s].owner_pid, owner, c.pid_)) {
        c.slot_ = s;
        // Stable while we own the slot: only the server moves it, and only on a free slot.
        c.epoch_ = LoadShared(header.slots[s].epoch);
        AddShared(header.slots[s].attaches, uint64_t{1});
        c.attached_ = true;
        return c;
      }
      if (owner > 0 && IsProcessAlive(owner)) {
        live_owner = owner;
      } else {
        someone_departed = true;  // the server will reclaim it on its next poll
      }
    }
    if (primary && live_owner != 0) {
      return absl::AlreadyExistsError(
          absl::StrFormat("channel '%s': the primary slot is held by live pid %d (another vpnd?)",
                          channel, live_owner));
    }
    if (!someone_departed) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("channel '%s': all %d client slots are held by live processes", channel,
                          kClientSlots - 1));
    }
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(absl::StrFormat(
          "channel '%s': a slot is still held by a client that exited; vpn-dataplane (pid %d) "
          "has not reclaimed it within %s - is it polling?",
          channel, h.server_pid, absl::FormatDuration(timeout)));
    }
    SleepMicros(1000);
  }
}

ChannelClient::ChannelClient(ChannelClient&& other) noexcept {
  *this = std::move(other);
}

ChannelClient& ChannelClient::operator=(ChannelClient&& other) noexcept {
  if (this != &other) {
    Detach();
    channel_ = std::move(other.channel_);
    segment_ = std::move(other.segment_);
    view_ = other.view_;
    pid_ = other.pid_;
    slot_ = other.slot_;
    epoch_ = other.epoch_;
    attached_ = std::exchange(other.attached_, false);
    next_seq_ = other.next_seq_;
    set_aside_ = std::move(other.set_aside_);
    acks_ = std::move(other.acks_);
    cut_short_ = std::move(other.cut_short_);
  }
  return *this;
}

ChannelClient::~ChannelClient() {
  Detach();
}

void ChannelClient::Detach() {
  if (!attached_) return;
  attached_ = false;
  // Fails only if the server already took the slot back (it thought we were gone).
  int32_t expected = pid_;
  CasShared(view_.header->slots[slot_].owner_pid, expected, kSlotReleased);
}

uint32_t ChannelClient::max_batch_messages() const {
  return LoadShared(view_.header->max_batch_messages);
}

void ChannelClient::CountBatchTooLarge() {
  if (!attached_) return;
  AddShared(view_.header->counters.rejects[static_cast<size_t>(RejectReason::kBatchTooLarge)],
            uint64_t{1});
}

absl::StatusOr<uint64_t> ChannelClient::SendBatch(absl::Span<Message> batch,
                                                  absl::Duration stall_timeout) {
  if (!attached_) return absl::FailedPreconditionError("channel client is not attached");
  const uint32_t max = max_batch_messages();
  if (batch.empty() || batch.size() > max) {
    if (!batch.empty()) CountBatchTooLarge();
    return absl::InvalidArgumentError(absl::StrFormat(
        "batch of %d messages; a batch has 1..%d (vpn-dataplane --max-batch-messages)",
        batch.size(), max));
  }
  const uint64_t seq = next_seq_;
  const uint32_t n = static_cast<uint32_t>(batch.size());
  for (uint32_t i = 0; i < n; ++i) {
    MessageHeader& h = batch[i].header;
    h.flags = i + 1 == n ? kLastInBatch : 0;
    h.slot = static_cast<uint8_t>(slot_);
    h.slot_epoch = epoch_;
    h.batch_seq = seq;
    h.index = i;
    h.batch_size = n;
  }
  if (n <= kBatchChunkMessages) {
    // One enqueue: all or nothing. The ring may be short of room for a moment (another client
    // streaming keeps a chunk free, which its next chunk may take first): wait a little.
    const absl::Time deadline = absl::Now() + std::min(stall_timeout, kSmallBatchWait);
    for (;;) {
      absl::Status s = EnqueueCommands(view_, batch, pid_);
      if (s.ok()) break;
      if (absl::Now() >= deadline || !ServerAlive()) return s;
      SleepMicros(50);
    }
    ++next_seq_;
    return seq;
  }
  // Streamed: chunk after chunk as the dataplane makes room, always leaving a chunk's room for
  // other clients. Nothing is applied before the last message arrives, so a batch cut short
  // (here, or by this process dying) is never applied: the dataplane drops it when this slot's
  // next batch starts, the slot is reclaimed or it sees no progress for a while.
  uint32_t sent = 0;
  absl::Time stalled_since = absl::Now();
  while (sent < n) {
    const uint32_t chunk = std::min(n - sent, kBatchChunkMessages);
    absl::Status s = EnqueueCommands(view_, batch.subspan(sent, chunk), pid_, kDefaultProducerWait,
                                     kBatchChunkMessages);
    if (s.ok()) {
      sent += chunk;
      stalled_since = absl::Now();
      continue;
    }
    const bool gone = !ServerAlive();
    if (gone || absl::Now() - stalled_since >= stall_timeout) {
      if (sent != 0) {
        ++next_seq_;             // the dataplane saw part of this sequence number
        cut_short_.insert(seq);  // its refusal (interrupted, abandoned) is nobody's to wait for
      }
      return absl::UnavailableError(absl::StrFormat(
          "channel '%s': batch %d of %d messages cut short after %d: %s; nothing of it is "
          "applied",
          channel_, seq, n, sent,
          gone ? "vpn-dataplane is gone"
               : absl::StrFormat("the command ring stayed full for %s (%s)",
                                 absl::FormatDuration(stall_timeout), s.message())));
    }
    SleepMicros(50);
  }
  ++next_seq_;
  return seq;
}

void ChannelClient::DrainEvents() {
  Event events[kEventBurst];
  unsigned n;
  while ((n = rte_ring_dequeue_burst_elem(view_.event_rings[slot_], events, sizeof(Event),
                                          kEventBurst, nullptr)) != 0) {
    for (unsigned i = 0; i < n; ++i) {
      if (events[i].header.kind == EventKind::kAck) {
        if (cut_short_.erase(events[i].body.ack.batch_seq) != 0) continue;
        acks_[events[i].body.ack.batch_seq] = events[i].body.ack;
      } else {
        set_aside_.push_back(events[i]);
      }
    }
  }
}

absl::Status ChannelClient::WaitAck(uint64_t seq, absl::Duration timeout) {
  if (!attached_) return absl::FailedPreconditionError("channel client is not attached");
  const absl::Time deadline = absl::Now() + timeout;
  for (int round = 0;; ++round) {
    DrainEvents();
    if (auto it = acks_.find(seq); it != acks_.end()) {
      absl::Status s = AckStatus(it->second);
      acks_.erase(it);
      return s;
    }
    // The dataplane polls continuously: spin briefly, then sleep in short steps.
    if (round < 2000) {
      rte_pause();
      continue;
    }
    if (absl::Now() >= deadline) {
      if (!ServerAlive()) {
        return absl::UnavailableError(absl::StrFormat(
            "channel '%s': vpn-dataplane (pid %d) is gone; batch %d was not acknowledged", channel_,
            view_.header->server_pid, seq));
      }
      return absl::DeadlineExceededError(
          absl::StrFormat("channel '%s': no ack for batch %d within %s", channel_, seq,
                          absl::FormatDuration(timeout)));
    }
    SleepMicros(20);
  }
}

size_t ChannelClient::PollEvents(size_t max, absl::FunctionRef<void(const Event&)> fn) {
  if (!attached_) return 0;
  size_t done = 0;
  while (done < max && !set_aside_.empty()) {
    Event e = set_aside_.front();
    set_aside_.pop_front();
    fn(e);
    ++done;
  }
  Event events[kEventBurst];
  while (done < max) {
    unsigned want = static_cast<unsigned>(std::min<size_t>(max - done, kEventBurst));
    unsigned n =
        rte_ring_dequeue_burst_elem(view_.event_rings[slot_], events, sizeof(Event), want, nullptr);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) fn(events[i]);
    done += n;
  }
  return done;
}

absl::Status ChannelClient::Inject(absl::Span<const uint8_t> datagram, const PacketMeta& meta) {
  if (!attached_) return absl::FailedPreconditionError("channel client is not attached");
  if (datagram.empty() || datagram.size() > kPacketBufferSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "datagram of %d bytes; the channel carries 1..%d", datagram.size(), kPacketBufferSize));
  }
  if (!PacketMetaValid(meta)) {
    return absl::InvalidArgumentError(
        "packet metadata: bad family, non-canonical address, zero port or reserved bits");
  }
  uint32_t index = 0;
  if (rte_ring_dequeue_elem(view_.inject_free_rings[slot_], &index, sizeof index) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("all %d inject buffers of slot %d are waiting for the dataplane",
                        kInjectBuffersPerSlot, slot_));
  }
  const uint32_t first = FirstInjectBuffer(slot_);
  if (index < first || index - first >= kInjectBuffersPerSlot) {
    return absl::DataLossError(absl::StrFormat("inject free ring gave buffer %d", index));
  }
  memcpy(view_.inject_buffer(index), datagram.data(), datagram.size());
  PacketDescriptor d{};
  d.buffer = index;
  d.length = static_cast<uint32_t>(datagram.size());
  d.meta = meta;
  // Cannot fail: the ring holds more descriptors than the slot has buffers.
  if (rte_ring_enqueue_elem(view_.inject_rings[slot_], &d, sizeof d) != 0) {
    return absl::InternalError("inject ring full although a buffer was free");
  }
  return absl::OkStatus();
}

size_t ChannelClient::InjectsInFlight() const {
  if (!attached_) return 0;
  return kInjectBuffersPerSlot - rte_ring_count(view_.inject_free_rings[slot_]);
}

size_t ChannelClient::PollPunt(
    size_t max, absl::FunctionRef<void(absl::Span<const uint8_t>, const PacketMeta&)> fn) {
  if (!attached_ || slot_ != kPrimarySlot) return 0;
  size_t done = 0;
  PacketDescriptor d;
  while (done < max && rte_ring_dequeue_elem(view_.punt_ring, &d, sizeof d) == 0) {
    ++done;
    if (DescriptorValid(d, 0, kPuntBuffers)) {
      fn(absl::Span<const uint8_t>(view_.punt_buffer(d.buffer), d.length), d.meta);
    }
    if (d.buffer < kPuntBuffers) {
      rte_ring_enqueue_elem(view_.punt_free_ring, &d.buffer, sizeof d.buffer);
    }
  }
  return done;
}

absl::Status ChannelClient::AdoptAfterFork() {
  if (!attached_) return absl::FailedPreconditionError("not attached");
  const int32_t self = getpid();
  if (self == pid_) return absl::OkStatus();
  int32_t expected = pid_;
  if (!CasShared(view_.header->slots[slot_].owner_pid, expected, self)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("channel '%s': slot %d now belongs to pid %d, not to the parent %d",
                        channel_, slot_, expected, pid_));
  }
  pid_ = self;
  return absl::OkStatus();
}

bool ChannelClient::ServerAlive() const {
  return LoadShared(view_.header->state) == SegmentState::kReady &&
         IsProcessAlive(view_.header->server_pid);
}

}  // namespace portcullis::dp::api
