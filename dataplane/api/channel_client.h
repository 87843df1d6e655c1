// vpnd's and dpctl's end of the channel. A client attaches by claiming a slot (slot 0, the
// primary, is vpnd's: it alone receives punts and unsolicited events), sends command batches
// that the dataplane applies all or nothing, waits for their acks, and exchanges IKE
// datagrams. Detach (or the destructor) gives the slot back; a client that just dies gets it
// reclaimed by the server.
//
// Not thread-safe: one thread per ChannelClient.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "dataplane/api/channel_layout.h"
#include "dataplane/api/channel_view.h"
#include "dataplane/api/shm_segment.h"

namespace portcullis::dp::api {

// The verdict an ack carries, as a Status naming the batch, the message and the reason.
absl::Status AckStatus(const AckEvent& ack);

class ChannelClient {
 public:
  static constexpr absl::Duration kSmallBatchWait = absl::Milliseconds(500);

  // Fails with FailedPrecondition naming both versions if the dataplane speaks another layout
  // version, AlreadyExists if `primary` and a live process holds the primary slot,
  // ResourceExhausted if every slot is held by a live process. A slot still held by a dead
  // client is waited for (up to `timeout`) until the server reclaims it.
  static absl::StatusOr<ChannelClient> Attach(absl::string_view channel, bool primary,
                                              absl::Duration timeout = absl::Seconds(2));

  ChannelClient(ChannelClient&& other) noexcept;
  ChannelClient& operator=(ChannelClient&& other) noexcept;
  ChannelClient(const ChannelClient&) = delete;
  ChannelClient& operator=(const ChannelClient&) = delete;
  ~ChannelClient();

  void Detach();

  // Fills in the framing of every message (slot, epoch, sequence, index, size, last flag)
  // and enqueues the batch. A batch of up to kBatchChunkMessages goes in one enqueue or not at
  // all: Unavailable if the ring lacks room for min(stall_timeout, kSmallBatchWait). A larger
  // one streams in chunks while the dataplane consumes them, leaving a chunk's room for other
  // clients; Unavailable if the ring stays full for `stall_timeout` or the dataplane goes away
  // meanwhile (the dataplane then applies none of it, and its refusal's ack is dropped here).
  // InvalidArgument (counted as kBatchTooLarge) for more than max_batch_messages().
  // Returns the batch's sequence number, which its ack will carry.
  absl::StatusOr<uint64_t> SendBatch(absl::Span<Message> batch,
                                     absl::Duration stall_timeout = absl::Seconds(5));

  // The largest batch the dataplane takes (its --max-batch-messages).
  uint32_t max_batch_messages() const;
  // Counts a batch over max_batch_messages() that the caller refused before sending it, where
  // the dataplane counts the ones it refuses (rejects[kBatchTooLarge]); SendBatch counts its own.
  void CountBatchTooLarge();

  // The ack's verdict. Acks for other batches seen meanwhile are kept for their own WaitAck,
  // other events for PollEvents. DeadlineExceeded on timeout, Unavailable if the dataplane
  // is gone.
  absl::Status WaitAck(uint64_t seq, absl::Duration timeout);

  // Delivers up to max events: first those WaitAck set aside, then the ring's (acks included).
  size_t PollEvents(size_t max, absl::FunctionRef<void(const Event&)> fn);

  // Copies a datagram into one of this slot's inject buffers. ResourceExhausted if all of them
  // are waiting for the dataplane.
  absl::Status Inject(absl::Span<const uint8_t> datagram, const PacketMeta& meta);

  // Injected datagrams the dataplane has not taken yet. Detach drops them, so a client that
  // injects and leaves waits for 0 first.
  size_t InjectsInFlight() const;

  // Primary only: delivers up to max punted datagrams (valid during the call).
  size_t PollPunt(size_t max,
                  absl::FunctionRef<void(absl::Span<const uint8_t>, const PacketMeta&)> fn);

  // The dataplane still runs and has not closed the segment.
  bool ServerAlive() const;

  // In the child of a fork: moves the slot from the parent's pid (recorded at Attach) to this
  // process's, so the dataplane, which reclaims slots of dead pids, keeps serving it after the
  // parent exits. The parent must still live (a daemon's parent waits for this: vpnd's
  // Daemonize), or the dataplane may reclaim the slot first: then FailedPrecondition.
  absl::Status AdoptAfterFork();

  uint32_t slot() const { return slot_; }
  uint32_t epoch() const { return epoch_; }
  bool primary() const { return slot_ == kPrimarySlot; }
  // Changes when the dataplane restarts: everything sent before must be sent again.
  uint64_t generation() const { return view_.header->generation; }
  const SegmentHeader& header() const { return *view_.header; }
  const ChannelView& view() const { return view_; }
  // Acks kept for a WaitAck that has not come yet (tests: nothing leaks).
  size_t pending_acks_for_testing() const { return acks_.size(); }

 private:
  ChannelClient() = default;
  void DrainEvents();

  std::string channel_;
  ShmSegment segment_;
  ChannelView view_;
  int32_t pid_ = 0;
  uint32_t slot_ = 0;
  uint32_t epoch_ = 0;
  bool attached_ = false;
  uint64_t next_seq_ = 1;
  std::deque<Event> set_aside_;
  absl::flat_hash_map<uint64_t, AckEvent> acks_;
  // Batches cut short: their acks (a refusal) are dropped as they come.
  absl::flat_hash_set<uint64_t> cut_short_;
};

}  // namespace portcullis::dp::api
