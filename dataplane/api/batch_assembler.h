// Turns one client slot's stream of command messages into complete batches, or into one
// rejection per batch. A batch is handed on only when every message arrived in order, was
// framed consistently and passed ValidateMessage; anything else rejects the whole batch, and an
// unfinished batch is dropped when the same slot starts another one or its client goes away.
// The server keeps one assembler per slot, because batches of different clients are consumed
// from the same ring.
//
// A batch may be far larger than the ring (it streams through in chunks, interleaved with other
// slots' messages): staging starts at `retained` messages and grows as messages arrive, never
// past `max_messages`; a batch that announces more is refused as kBatchTooLarge without
// staging anything. Staging beyond `retained` comes out of a budget the server's assemblers
// share (a batch that finds it spent is refused as kStagingBusy) and is wiped and unmapped
// once the batch is done or refused. Staging is kept out of core dumps.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "dataplane/api/message_validation.h"
#include "dataplane/api/messages.h"

namespace portcullis::dp::api {

struct AssembledBatch {
  uint64_t seq = 0;
  absl::Span<const Message> messages;  // the whole batch; empty when rejected
  RejectReason reason = RejectReason::kNone;
  uint32_t failed_index = 0;
  const char* detail = "";

  bool ok() const { return reason == RejectReason::kNone; }
};

// Messages of staging beyond the retained ones, over all of a server's assemblers.
struct StagingBudget {
  uint64_t limit = 0;
  uint64_t used = 0;
};

class BatchAssembler {
 public:
  // Called once per finished batch. The messages are wiped as soon as it returns.
  using Sink = absl::FunctionRef<void(const AssembledBatch&)>;

  // Staging for `retained` messages is allocated here and kept; batches of up to
  // `max_messages` grow it while they arrive, within `budget` (none: no limit but max).
  BatchAssembler(uint32_t max_messages, uint32_t retained, StagingBudget* budget = nullptr);
  ~BatchAssembler();
  BatchAssembler(const BatchAssembler&) = delete;
  BatchAssembler& operator=(const BatchAssembler&) = delete;

  // Takes a copy of one message; the caller may wipe its own as soon as this returns. Calls
  // `sink` for a batch this message finishes, and first for the batch it interrupts.
  void Add(const Message& message, Sink sink);

  // Drops an unfinished batch without a verdict; returns whether there was one.
  bool Discard();

  bool open() const { return open_; }
  // The open batch's sequence number and messages seen so far, and the first fault found in
  // it (kNone if none yet).
  uint64_t seq() const { return seq_; }
  uint32_t received() const { return received_; }
  RejectReason open_error() const { return open_ ? error_.reason : RejectReason::kNone; }
  uint32_t max_messages() const { return max_; }
  // Messages the staging holds room for right now.
  uint32_t capacity() const { return capacity_; }
  // The staging memory, so tests can check that no key bytes stay behind.
  absl::Span<const uint8_t> staging_bytes() const;

 private:
  void Start(const MessageHeader& h);
  template <typename... Args>
  void Reject(RejectReason reason, uint32_t index, const absl::FormatSpec<Args...>& format,
              const Args&... args);
  void Finish(Sink sink);
  void Wipe();
  // Room for one more message; false (nothing changed) if the memory is not there.
  bool Grow();
  // Back to the retained staging once a batch is over (its messages already wiped).
  void Shrink();

  const uint32_t max_;
  const uint32_t retained_;
  StagingBudget* const budget_;
  uint32_t capacity_;
  Message* staging_;  // capacity_ messages, mapped
  bool open_ = false;
  uint64_t seq_ = 0;
  uint32_t size_ = 0;      // as announced by the first message
  uint32_t received_ = 0;  // messages seen, staged or not
  uint32_t staged_ = 0;    // messages copied into staging (none after a rejection)
  Rejection error_;
  uint32_t error_index_ = 0;
};

}  // namespace portcullis::dp::api
