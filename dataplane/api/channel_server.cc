#include "dataplane/api/channel_server.h"

#include <rte_ring_elem.h>
#include <rte_ring_peek_zc.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "dataplane/api/command_producer.h"
#include "dataplane/api/key_wipe.h"
#include "dataplane/api/packet_checks.h"
#include "dataplane/api/process_liveness.h"
#include "dataplane/api/shared_atomic.h"

namespace portcullis::dp::api {
namespace {

// Small enough that the zero-copy window over the ring stays short, large enough to amortise
// the head/tail updates.
constexpr uint32_t kDequeueBurst = 64;

// A segment with no owner pid yet is either being created right now or was abandoned by a
// creator that died within microseconds of shm_open; only the latter gets this old.
constexpr int64_t kCreationGraceSeconds = 2;

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t RealtimeNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// An existing segment under our name: fine to replace (OK, already unlinked), or the reason not
// to. Only our own is looked into and removed, and only once its server is dead; another
// user's is refused before it is even mapped (someone may have put it there to be used).
// *previous_generation gets the dead server's generation when it can be read.
absl::Status RemoveIfStale(const std::string& shm_name, absl::string_view channel,
                           uint64_t* previous_generation) {
  const uid_t euid = geteuid();
  auto existing = ShmSegment::OpenExisting(
      shm_name, [&](const struct stat& st) { return CheckRemovable(st, euid, shm_name); });
  if (absl::IsNotFound(existing.status())) return absl::OkStatus();  // gone meanwhile
  if (!existing.ok()) {
    return absl::Status(existing.status().code(),
                        absl::StrFormat("channel '%s': %s", channel, existing.status().message()));
  }

  int32_t pid = 0;
  uint64_t magic = 0;
  if (existing->size() >= kHeaderPrefixSize) {
    const auto* h = reinterpret_cast<const SegmentHeader*>(existing->data());
    magic = LoadShared(h->magic);
    pid = LoadShared(h->server_pid);
    if (magic == kChannelMagic && h->layout_version == kLayoutVersion &&
        existing->size() >= sizeof(SegmentHeader)) {
      *previous_generation = h->generation;
    }
  }
  if (magic != 0 && magic != kChannelMagic) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "channel '%s': /dev/shm%s exists and is not a Portcullis channel; remove it if nothing "
        "uses it",
        channel, shm_name));
  }
  if (pid > 0 && IsProcessAlive(pid)) {
    return absl::AlreadyExistsError(
        absl::StrFormat("channel '%s' is already served by vpn-dataplane pid %d", channel, pid));
  }
  if (pid <= 0) {
    int64_t age = RealtimeNanos() / 1'000'000'000 - existing->change_time_seconds();
    if (age < kCreationGraceSeconds) {
      return absl::UnavailableError(
          absl::StrFormat("channel '%s' is being created by another process right now", channel));
    }
  }
  ShmSegment::UnlinkIfSame(shm_name, existing->inode());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChannelServer>> ChannelServer::Create(absl::string_view channel,
                                                                     ServerOptions options) {
  auto shm_name = ShmNameForChannel(channel);
  if (!shm_name.ok()) return shm_name.status();
  if (options.max_batch_messages == 0 || options.max_batch_messages > kMaxBatchMessagesLimit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max batch messages %d outside 1..%d", options.max_batch_messages, kMaxBatchMessagesLimit));
  }
  const Layout layout = ComputeLayout();

  uint64_t previous_generation = 0;
  absl::StatusOr<ShmSegment> segment;
  // Retried: once for a stale segment in the way, more if another server races us to it.
  for (int attempt = 0; attempt < 3; ++attempt) {
    segment = ShmSegment::CreateExclusive(*shm_name, layout.segment_size);
    if (!absl::IsAlreadyExists(segment.status())) break;
    absl::Status stale = RemoveIfStale(*shm_name, channel, &previous_generation);
    if (!stale.ok()) return stale;
  }
  if (!segment.ok()) return segment.status();

  std::unique_ptr<ChannelServer> server(
      new ChannelServer(std::string(channel), *std::move(shm_name), *std::move(segment), options));
  // Later than any predecessor even if the clock stepped back.
  uint64_t generation =
      std::max<uint64_t>(previous_generation + 1, static_cast<uint64_t>(RealtimeNanos()));
  server->Initialize(generation);
  return server;
}

ChannelServer::ChannelServer(std::string channel, std::string shm_name, ShmSegment segment,
                             ServerOptions options)
    : channel_(std::move(channel)),
      shm_name_(std::move(shm_name)),
      segment_(std::move(segment)),
      view_(ChannelView::Resolve(segment_.data())),
      options_(options),
      pid_(getpid()) {
  staging_budget_.limit = options_.max_batch_messages;
  for (auto& a : assemblers_) {
    a = std::make_unique<BatchAssembler>(options_.max_batch_messages, kRetainedStagingMessages,
                                         &staging_budget_);
  }
  punt_spare_.reserve(kPuntBuffers);
}

void ChannelServer::Initialize(uint64_t generation) {
  SegmentHeader* h = view_.header;
  // The pid first: a server starting concurrently must see a live owner, not a stale segment.
  StoreShared(h->server_pid, pid_);
  const Layout layout = ComputeLayout();
  h->layout_version = kLayoutVersion;
  h->generation = generation;
  h->header_size = static_cast<uint32_t>(layout.header_size);
  h->segment_size = layout.segment_size;
  h->client_slots = kClientSlots;
  h->max_batch_messages = options_.max_batch_messages;
  h->message_size = sizeof(Message);
  h->event_size = sizeof(Event);
  h->packet_descriptor_size = sizeof(PacketDescriptor);
  h->packet_buffer_size = kPacketBufferSize;
  h->areas = layout.areas;
  for (auto& slot : h->slots) {
    slot.owner_pid = kSlotFree;
    slot.epoch = 1;  // a zeroed message (epoch 0) never matches
  }
  view_ = ChannelView::Resolve(segment_.data());
  InitAllRings(view_);

  // Key material passes through the command ring: keep it out of core dumps and swap (the
  // latter best effort, it needs RLIMIT_MEMLOCK or CAP_IPC_LOCK).
  const AreaDesc& cmd = layout.areas.command_ring;
  madvise(segment_.data() + cmd.offset, cmd.bytes, MADV_DONTDUMP);
  mlock(segment_.data() + cmd.offset, cmd.bytes);

  StoreShared(h->state, SegmentState::kReady);
  // Last: a client that sees the magic sees everything above.
  StoreShared(h->magic, kChannelMagic, std::memory_order_release);
  next_reclaim_ns_ = MonotonicNanos() + absl::ToInt64Nanoseconds(options_.reclaim_interval);
}

ChannelServer::~ChannelServer() {
  StoreShared(view_.header->state, SegmentState::kClosed);
  absl::Span<uint8_t> ring = RingElementStorage(view_.command_ring, sizeof(Message));
  SecureWipe(ring.data(), ring.size());
  ShmSegment::UnlinkIfSame(shm_name_, segment_.inode());
}

bool ChannelServer::SlotAttached(uint32_t slot) const {
  return slot < kClientSlots && LoadShared(view_.header->slots[slot].owner_pid) > 0;
}

uint64_t ChannelServer::Attaches(uint32_t slot) const {
  return slot < kClientSlots ? LoadShared(view_.header->slots[slot].attaches) : 0;
}

size_t ChannelServer::PollCommands(size_t max_messages, CommandHandler handler) {
  poll_ns_ = MonotonicNanos();
  MaybeReclaim();
  FlushBacklogs();
  rte_ring* ring = view_.command_ring;
  size_t done = 0;
  while (done < max_messages) {
    uint32_t want = static_cast<uint32_t>(std::min<size_t>(max_messages - done, kDequeueBurst));
    rte_ring_zc_data zcd;
    uint32_t n = rte_ring_dequeue_zc_burst_elem_start(ring, sizeof(Message), want, &zcd, nullptr);
    if (n == 0) break;
    // The elements stay ours until the finish call: wipe them before producers may reuse the
    // slots, never after (a wipe after the finish could erase a new message).
    ConsumeRun(static_cast<Message*>(zcd.ptr1), std::min(n, zcd.n1), handler);
    if (n > zcd.n1) ConsumeRun(static_cast<Message*>(zcd.ptr2), n - zcd.n1, handler);
    rte_ring_dequeue_zc_elem_finish(ring, n);
    done += n;
  }
  if (done != 0) AddShared(view_.header->counters.messages_consumed, uint64_t{done});
  return done;
}

void ChannelServer::ConsumeRun(Message* ring_slots, uint32_t count, CommandHandler handler) {
  for (uint32_t i = 0; i < count; ++i) Consume(ring_slots[i], handler);
  SecureWipe(ring_slots, sizeof(Message) * count);
}

void ChannelServer::Consume(const Message& in_ring, CommandHandler handler) {
  MessageHeader h;
  memcpy(&h, &in_ring.header, sizeof h);
  // Left over from a client that died or detached (the slot's epoch moved on), or garbage:
  // nobody to answer.
  if (h.slot >= kClientSlots || LoadShared(view_.header->slots[h.slot].owner_pid) <= 0 ||
      h.slot_epoch != LoadShared(view_.header->slots[h.slot].epoch)) {
    AddShared(view_.header->counters.rejects[static_cast<size_t>(RejectReason::kStaleSender)],
              uint64_t{1});
    return;
  }
  const uint32_t slot = h.slot;
  if (dropped_seq_[slot] != 0) {
    // The rest of a batch dropped as idle: already refused, its sender already told.
    if (h.batch_seq == dropped_seq_[slot] && !assemblers_[slot]->open()) {
      AddShared(view_.header->counters.rejects[static_cast<size_t>(RejectReason::kStaleSender)],
                uint64_t{1});
      return;
    }
    dropped_seq_[slot] = 0;
  }
  last_message_ns_[slot] = poll_ns_;
  assemblers_[slot]->Add(in_ring, [&](const AssembledBatch& b) { FinishBatch(slot, b, handler); });
}

void ChannelServer::FinishBatch(uint32_t slot, const AssembledBatch& batch,
                                CommandHandler handler) {
  ChannelCounters& c = view_.header->counters;
  Event e = NewEvent(EventKind::kAck);
  AckEvent& ack = e.body.ack;
  ack.batch_seq = batch.seq;
  if (!batch.ok()) {
    AddShared(c.batches_rejected, uint64_t{1});
    AddShared(c.rejects[static_cast<size_t>(batch.reason)], uint64_t{1});
    ack.status = static_cast<uint16_t>(
        batch.reason == RejectReason::kBatchInterrupted ? absl::StatusCode::kAborted
        : batch.reason == RejectReason::kStagingBusy    ? absl::StatusCode::kResourceExhausted
                                                        : absl::StatusCode::kInvalidArgument);
    ack.reason = batch.reason;
    ack.failed_index = batch.failed_index;
    absl::SNPrintF(ack.text, sizeof ack.text, "%s", batch.detail);
  } else {
    ApplyResult r = handler(CommandBatch{slot, batch.seq, batch.messages});
    if (r.status.ok()) {
      AddShared(c.batches_applied, uint64_t{1});
    } else {
      AddShared(c.batches_failed, uint64_t{1});
      AddShared(c.rejects[static_cast<size_t>(RejectReason::kApplyFailed)], uint64_t{1});
      ack.status = static_cast<uint16_t>(r.status.code());
      ack.reason = RejectReason::kApplyFailed;
      ack.failed_index = r.failed_index;
      absl::string_view text = r.status.message();
      absl::SNPrintF(ack.text, sizeof ack.text, "%s", text);
    }
  }
  PostAck(slot, e);
}

void ChannelServer::PostAck(uint32_t slot, const Event& ack) {
  std::deque<Event>& backlog = backlog_[slot];
  if (backlog.empty() &&
      rte_ring_enqueue_elem(view_.event_rings[slot], const_cast<Event*>(&ack), sizeof ack) == 0) {
    return;
  }
  if (backlog_acks_[slot] >= kAckBacklog) {
    AddShared(view_.header->counters.acks_dropped, uint64_t{1});
    return;
  }
  backlog.push_back(ack);
  ++backlog_acks_[slot];
}

void ChannelServer::PostCritical(const Event& event) {
  ChannelCounters& c = view_.header->counters;
  std::deque<Event>& backlog = backlog_[kPrimarySlot];
  if (backlog.empty() && SlotAttached(kPrimarySlot) &&
      rte_ring_enqueue_elem(view_.event_rings[kPrimarySlot], const_cast<Event*>(&event),
                            sizeof event) == 0) {
    AddShared(c.events_posted, uint64_t{1});
    return;
  }
  if (backlog.size() >= kEventBacklog) {
    AddShared(c.events_dropped, uint64_t{1});
    return;
  }
  backlog.push_back(event);
}

bool ChannelServer::PostBulk(const Event& event) {
  if (!backlog_[kPrimarySlot].empty() || !SlotAttached(kPrimarySlot) ||
      rte_ring_free_count(view_.event_rings[kPrimarySlot]) <= kEventReserve) {
    return false;
  }
  // Cannot fail: there was more room than the reserve, and only this thread enqueues.
  rte_ring_enqueue_elem(view_.event_rings[kPrimarySlot], const_cast<Event*>(&event), sizeof event);
  AddShared(view_.header->counters.events_posted, uint64_t{1});
  return true;
}

void ChannelServer::FlushBacklogs() {
  for (uint32_t slot = 0; slot < kClientSlots; ++slot) {
    std::deque<Event>& backlog = backlog_[slot];
    // Critical events wait for a primary; acks only exist for a slot that is (or was) attached.
    if (backlog.empty() || !SlotAttached(slot)) continue;
    while (!backlog.empty() &&
           rte_ring_enqueue_elem(view_.event_rings[slot], &backlog.front(), sizeof(Event)) == 0) {
      if (backlog.front().header.kind == EventKind::kAck) {
        --backlog_acks_[slot];
      } else {
        AddShared(view_.header->counters.events_posted, uint64_t{1});
      }
      backlog.pop_front();
    }
  }
}

bool ChannelServer::PostEvent(uint32_t slot, const Event& event) {
  ChannelCounters& c = view_.header->counters;
  // rte_ring_enqueue_elem takes a non-const pointer but only reads through it.
  if (!SlotAttached(slot) || rte_ring_enqueue_elem(view_.event_rings[slot],
                                                   const_cast<Event*>(&event), sizeof event) != 0) {
    AddShared(c.events_dropped, uint64_t{1});
    return false;
  }
  AddShared(c.events_posted, uint64_t{1});
  return true;
}

bool ChannelServer::Punt(absl::Span<const uint8_t> datagram, const PacketMeta& meta) {
  ChannelCounters& c = view_.header->counters;
  if (datagram.empty() || datagram.size() > kPacketBufferSize) {
    AddShared(c.punt_drop_too_big, uint64_t{1});
    return false;
  }
  if (!SlotAttached(kPrimarySlot)) {
    AddShared(c.punt_drop_no_client, uint64_t{1});
    return false;
  }
  uint32_t index = 0;
  if (!punt_spare_.empty()) {
    index = punt_spare_.back();
    punt_spare_.pop_back();
  } else if (rte_ring_dequeue_elem(view_.punt_free_ring, &index, sizeof index) != 0 ||
             index >= kPuntBuffers) {
    // An out-of-range index can only come from a broken client; dropping it loses nothing.
    AddShared(c.punt_drop_pool_empty, uint64_t{1});
    return false;
  }
  memcpy(view_.punt_buffer(index), datagram.data(), datagram.size());
  PacketDescriptor d{};
  d.buffer = index;
  d.length = static_cast<uint32_t>(datagram.size());
  d.meta = meta;
  if (rte_ring_enqueue_elem(view_.punt_ring, &d, sizeof d) != 0) {
    // The free ring belongs to the client's side; keep the buffer here instead.
    punt_spare_.push_back(index);
    AddShared(c.punt_drop_ring_full, uint64_t{1});
    return false;
  }
  AddShared(c.punted, uint64_t{1});
  return true;
}

uint32_t ChannelServer::PuntRoom() const {
  if (!SlotAttached(kPrimarySlot)) return kPuntBuffers;
  return static_cast<uint32_t>(punt_spare_.size()) + rte_ring_count(view_.punt_free_ring);
}

size_t ChannelServer::PollInject(size_t max_packets, InjectHandler handler) {
  ChannelCounters& c = view_.header->counters;
  size_t done = 0;
  // Round robin, so one chatty client cannot starve the others.
  for (uint32_t i = 0; i < kClientSlots && done < max_packets; ++i) {
    const uint32_t slot = (inject_cursor_ + i) % kClientSlots;
    const uint32_t first = FirstInjectBuffer(slot);
    PacketDescriptor d;
    while (done < max_packets &&
           rte_ring_dequeue_elem(view_.inject_rings[slot], &d, sizeof d) == 0) {
      ++done;
      if (DescriptorValid(d, first, kInjectBuffersPerSlot)) {
        handler(InjectedPacket{
            slot, absl::Span<const uint8_t>(view_.inject_buffer(d.buffer), d.length), d.meta});
        AddShared(c.injected, uint64_t{1});
      } else {
        AddShared(c.inject_rejected, uint64_t{1});
      }
      if (d.buffer >= first && d.buffer - first < kInjectBuffersPerSlot) {
        rte_ring_enqueue_elem(view_.inject_free_rings[slot], &d.buffer, sizeof d.buffer);
      }
    }
  }
  inject_cursor_ = (inject_cursor_ + 1) % kClientSlots;
  return done;
}

void ChannelServer::MaybeReclaim() {
  int64_t now = MonotonicNanos();
  if (now < next_reclaim_ns_) return;
  next_reclaim_ns_ = now + absl::ToInt64Nanoseconds(options_.reclaim_interval);
  ReclaimDeadClients();
  DropIdleBatches(now);
}

void ChannelServer::DropIdleBatches(int64_t now_ns) {
  // Messages still waiting may be the rest of a batch that only looks idle because this
  // server was busy (applying a large batch): judge only an empty ring.
  if (rte_ring_count(view_.command_ring) != 0) return;
  const int64_t idle = absl::ToInt64Nanoseconds(options_.batch_idle_timeout);
  for (uint32_t slot = 0; slot < kClientSlots; ++slot) {
    BatchAssembler& a = *assemblers_[slot];
    if (!a.open() || now_ns - last_message_ns_[slot] < idle) continue;
    Event e = NewEvent(EventKind::kAck);
    AckEvent& ack = e.body.ack;
    ack.batch_seq = a.seq();
    ack.status = static_cast<uint16_t>(absl::StatusCode::kAborted);
    ack.reason = RejectReason::kAbandoned;
    ack.failed_index = a.received();
    absl::SNPrintF(ack.text, sizeof ack.text,
                   "batch %d: no message for %s after %d; dropped, nothing of it applied", a.seq(),
                   absl::FormatDuration(options_.batch_idle_timeout), a.received());
    const RejectReason counted =
        a.open_error() != RejectReason::kNone ? a.open_error() : RejectReason::kAbandoned;
    dropped_seq_[slot] = a.seq();
    a.Discard();
    AddShared(view_.header->counters.batches_rejected, uint64_t{1});
    AddShared(view_.header->counters.rejects[static_cast<size_t>(counted)], uint64_t{1});
    PostAck(slot, e);
  }
}

void ChannelServer::ReclaimDeadClients() {
  RecoverDeadProducer(view_, pid_);
  for (uint32_t s = 0; s < kClientSlots; ++s) {
    int32_t owner = LoadShared(view_.header->slots[s].owner_pid);
    if (owner == kSlotFree) continue;
    if (owner == kSlotReleased || !IsProcessAlive(owner)) Reclaim(s);
  }
}

void ChannelServer::Reclaim(uint32_t slot) {
  ChannelCounters& c = view_.header->counters;
  ClientSlot& s = view_.header->slots[slot];
  // An unfinished batch of the departed client is never applied. One already refused for a
  // fault counts as that fault.
  const RejectReason fault = assemblers_[slot]->open_error();
  if (assemblers_[slot]->Discard()) {
    const RejectReason counted = fault != RejectReason::kNone ? fault : RejectReason::kAbandoned;
    AddShared(c.rejects[static_cast<size_t>(counted)], uint64_t{1});
  }
  dropped_seq_[slot] = 0;
  ResetSlotRings(view_, slot);
  // Acks: nobody left to tell. Critical events wait for the next primary.
  std::erase_if(backlog_[slot], [](const Event& e) { return e.header.kind == EventKind::kAck; });
  backlog_acks_[slot] = 0;
  if (slot == kPrimarySlot) punt_spare_.clear();  // the punt free ring was refilled
  // Messages of the departed client still queued in the command ring are now stale.
  StoreShared(s.epoch, s.epoch + 1);
  StoreShared(s.owner_pid, kSlotFree);
  AddShared(c.slots_reclaimed, uint64_t{1});
}

}  // namespace portcullis::dp::api
