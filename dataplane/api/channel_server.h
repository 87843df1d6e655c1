// The dataplane's end of the channel, driven by its main lcore. It creates the segment, hands
// complete and validated command batches to the dataplane and acknowledges them, posts events,
// punts IKE datagrams to vpnd and takes the ones vpnd injects. Nothing here blocks. Polling
// maps memory only around a batch larger than kRetainedStagingMessages (its staging grows,
// within ServerOptions::max_batch_messages over all slots, and goes back after it). A client
// that dies at any moment costs the server nothing but a slot reclaim (and drops its
// unfinished batch); one that stops mid-batch loses the batch after batch_idle_timeout.
//
// Not thread-safe: one thread (the main lcore) owns the server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "dataplane/api/batch_assembler.h"
#include "dataplane/api/channel_layout.h"
#include "dataplane/api/channel_view.h"
#include "dataplane/api/shm_segment.h"

namespace portcullis::dp::api {

struct CommandBatch {
  uint32_t slot = 0;
  uint64_t seq = 0;
  absl::Span<const Message> messages;  // wiped once the handler returns
};

// The dataplane applies a batch entirely or not at all and says which.
struct ApplyResult {
  absl::Status status;
  uint32_t failed_index = 0;  // the message it blames, for the ack
};

using CommandHandler = absl::FunctionRef<ApplyResult(const CommandBatch&)>;

struct InjectedPacket {
  uint32_t slot = 0;
  absl::Span<const uint8_t> datagram;  // valid until the handler returns
  PacketMeta meta{};
};

using InjectHandler = absl::FunctionRef<void(const InjectedPacket&)>;

struct ServerOptions {
  // How often polling looks for dead or detached clients (a kill(2) per attached slot).
  absl::Duration reclaim_interval = absl::Milliseconds(50);
  // The largest batch a client may send (1..kMaxBatchMessagesLimit); larger ones are refused
  // as kBatchTooLarge. It is also the staging all slots together may hold beyond their
  // kRetainedStagingMessages each (256 bytes a message): a batch that finds it taken by other
  // slots' batches is refused as kStagingBusy.
  uint32_t max_batch_messages = kDefaultMaxBatchMessages;
  // An unfinished batch that gets no message for this long (its client stopped but lives) is
  // dropped, its staging and keys wiped, and refused (kAbandoned, ack status Aborted); the rest
  // of it, should it come, is ignored (counted as stale). While other clients keep the ring
  // from ever being empty, the drop waits for a moment it is.
  absl::Duration batch_idle_timeout = absl::Seconds(10);
};

class ChannelServer {
 public:
  // Creates /portcullis-CHANNEL (O_EXCL, 0600). A segment left by a dead server is replaced;
  // one whose server is alive is AlreadyExists.
  static absl::StatusOr<std::unique_ptr<ChannelServer>> Create(absl::string_view channel,
                                                               ServerOptions options = {});
  // Marks the segment closed, wipes the command ring and unlinks the name.
  ~ChannelServer();
  ChannelServer(const ChannelServer&) = delete;
  ChannelServer& operator=(const ChannelServer&) = delete;

  // Consumes up to max_messages command messages. Every finished batch is either rejected
  // (contract violation, counted per reason) or handed to `handler`; either way its sender gets
  // an ack. Returns the number of messages consumed.
  size_t PollCommands(size_t max_messages, CommandHandler handler);

  // To one slot's event ring. False (and counted) if nobody is attached there or the ring is
  // full. Unsolicited events go to the primary only.
  bool PostEvent(uint32_t slot, const Event& event);
  bool PostToPrimary(const Event& event) { return PostEvent(kPrimarySlot, event); }

  // An event vpnd must not miss (SA expiry, sequence exhaustion): posted to the primary now if
  // its ring has room and nothing older waits, else kept, in order, and posted as soon as there
  // is room (every PollCommands), also to a primary that attaches later. Only a primary that
  // reads no events at all while kEventBacklog of them pile up loses any (events_dropped).
  void PostCritical(const Event& event);
  // An event that can wait (counter snapshots): posted to the primary only if nothing waits and
  // its ring keeps kEventReserve free slots afterwards, for acks and critical events; false
  // otherwise (nothing counted: the caller tries again later).
  bool PostBulk(const Event& event);
  static constexpr uint32_t kEventReserve = kEventRingSize / 4;
  static constexpr size_t kEventBacklog = 65536;  // 8 MiB

  // Copies an IKE datagram to the primary client. Never waits: without a primary, a free
  // buffer or ring room, the datagram is dropped, counted, and false returned.
  bool Punt(absl::Span<const uint8_t> datagram, const PacketMeta& meta);
  // How many datagrams Punt could take now (free punt buffers); kPuntBuffers while no primary
  // is attached (Punt then drops and counts whatever it gets).
  uint32_t PuntRoom() const;

  // Hands up to max_packets injected datagrams to `handler`; malformed descriptors are
  // dropped and counted.
  size_t PollInject(size_t max_packets, InjectHandler handler);

  // Resets and frees the slots of dead or detached clients and rolls back an enqueue torn by a
  // dead client. PollCommands calls it every reclaim_interval.
  void ReclaimDeadClients();

  uint64_t generation() const { return view_.header->generation; }
  const std::string& shm_name() const { return shm_name_; }
  // Live counters; read fields with LoadShared.
  const ChannelCounters& counters() const { return view_.header->counters; }
  bool SlotAttached(uint32_t slot) const;
  // How many times a client attached to the slot: a change means a new client there.
  uint64_t Attaches(uint32_t slot) const;

  // For tests that look at ring and staging memory.
  const ChannelView& view() const { return view_; }
  absl::Span<const uint8_t> StagingBytesForTesting(uint32_t slot) const {
    return assemblers_[slot]->staging_bytes();
  }

 private:
  ChannelServer(std::string channel, std::string shm_name, ShmSegment segment,
                ServerOptions options);
  void Initialize(uint64_t generation);
  void ConsumeRun(Message* ring_slots, uint32_t count, CommandHandler handler);
  void Consume(const Message& in_ring, CommandHandler handler);
  void FinishBatch(uint32_t slot, const AssembledBatch& batch, CommandHandler handler);
  void Reclaim(uint32_t slot);
  void MaybeReclaim();
  // Drops the unfinished batches that made no progress for batch_idle_timeout.
  void DropIdleBatches(int64_t now_ns);
  // Acks go to the sender's event ring; when it is full they wait in the slot's backlog
  // (oldest first, with the primary's critical events) and are posted before any new command is
  // consumed. A lost ack would leave its sender unable to tell an applied batch from a refused
  // one, so acks are only dropped when the backlog of a client that reads no events at all
  // passes kAckBacklog, or the client goes away.
  void PostAck(uint32_t slot, const Event& ack);
  void FlushBacklogs();
  static constexpr size_t kAckBacklog = 4096;

  const std::string channel_;
  const std::string shm_name_;
  ShmSegment segment_;
  ChannelView view_;
  const ServerOptions options_;
  const int32_t pid_;
  StagingBudget staging_budget_;
  std::unique_ptr<BatchAssembler> assemblers_[kClientSlots];
  int64_t last_message_ns_[kClientSlots] = {};  // when each slot's open batch last grew
  uint64_t dropped_seq_[kClientSlots] = {};     // batch dropped as idle: its rest is ignored
  int64_t poll_ns_ = 0;                         // this PollCommands call's time
  std::deque<Event> backlog_[kClientSlots];
  size_t backlog_acks_[kClientSlots] = {};  // of which acks
  std::vector<uint32_t> punt_spare_;        // free punt buffers the server could not put back
  uint32_t inject_cursor_ = 0;
  int64_t next_reclaim_ns_ = 0;
};

}  // namespace portcullis::dp::api
