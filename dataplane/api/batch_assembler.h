// Turns one client slot's stream of command messages into complete batches, or into one
// rejection per batch. A batch is handed on only when every message arrived in order, was
// framed consistently and passed ValidateMessage; anything else rejects the whole batch, and an
// unfinished batch is dropped when the same slot starts another one or its client goes away.
// The server keeps one assembler per slot, because batches of different clients are consumed
// from the same ring.
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

class BatchAssembler {
 public:
  // Called once per finished batch. The messages are wiped as soon as it returns.
  using Sink = absl::FunctionRef<void(const AssembledBatch&)>;

  // Staging for `capacity` messages is allocated here, once.
  explicit BatchAssembler(uint32_t capacity);
  ~BatchAssembler();
  BatchAssembler(const BatchAssembler&) = delete;
  BatchAssembler& operator=(const BatchAssembler&) = delete;

  // Takes a copy of one message; the caller may wipe its own as soon as this returns. Calls
  // `sink` for a batch this message finishes, and first for the batch it interrupts.
  void Add(const Message& message, Sink sink);

  // Drops an unfinished batch without a verdict; returns whether there was one.
  bool Discard();

  bool open() const { return open_; }
  // The staging memory, so tests can check that no key bytes stay behind.
  absl::Span<const uint8_t> staging_bytes() const;

 private:
  void Start(const MessageHeader& h);
  template <typename... Args>
  void Reject(RejectReason reason, uint32_t index, const absl::FormatSpec<Args...>& format,
              const Args&... args);
  void Finish(Sink sink);
  void Wipe();

  const uint32_t capacity_;
  std::unique_ptr<Message[]> staging_;
  bool open_ = false;
  uint64_t seq_ = 0;
  uint32_t size_ = 0;      // as announced by the first message
  uint32_t received_ = 0;  // messages seen, staged or not
  uint32_t staged_ = 0;    // messages copied into staging (none after a rejection)
  Rejection error_;
  uint32_t error_index_ = 0;
};

}  // namespace portcullis::dp::api
