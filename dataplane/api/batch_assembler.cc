#include "dataplane/api/batch_assembler.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "dataplane/api/key_wipe.h"

namespace portcullis::dp::api {

BatchAssembler::BatchAssembler(uint32_t capacity)
    : capacity_(capacity), staging_(new Message[capacity]()) {}

BatchAssembler::~BatchAssembler() {
  SecureWipe(staging_.get(), sizeof(Message) * capacity_);
}

absl::Span<const uint8_t> BatchAssembler::staging_bytes() const {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(staging_.get()),
                                   sizeof(Message) * capacity_);
}

template <typename... Args>
void BatchAssembler::Reject(RejectReason reason, uint32_t index,
                            const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (!error_.ok()) return;  // the first problem is the one worth reporting
  error_.reason = reason;
  error_index_ = index;
  absl::SNPrintF(error_.detail, sizeof error_.detail, format, args...);
  // Nothing more of this batch will be applied; do not keep its keys around.
  Wipe();
}

void BatchAssembler::Start(const MessageHeader& h) {
  open_ = true;
  seq_ = h.batch_seq;
  size_ = h.batch_size;
  received_ = 0;
  staged_ = 0;
  error_ = Rejection();
  error_index_ = 0;
  if (size_ == 0 || size_ > capacity_) {
    Reject(RejectReason::kBadLength, 0, "batch %d: size %d outside 1..%d", seq_, size_, capacity_);
  } else if (h.index != 0) {
    Reject(RejectReason::kBadFraming, 0, "batch %d starts at message %d", seq_, h.index);
  }
}

void BatchAssembler::Add(const Message& message, Sink sink) {
  MessageHeader h;
  memcpy(&h, &message.header, sizeof h);

  if (open_ && h.batch_seq != seq_) {
    Reject(RejectReason::kBatchInterrupted, received_,
           "batch %d interrupted by batch %d after %d of %d messages", seq_, h.batch_seq, received_,
           size_);
    Finish(sink);
  }
  if (!open_) {
    Start(h);
  } else if (h.index != received_ || h.batch_size != size_) {
    Reject(RejectReason::kBadFraming, received_, "batch %d: message %d arrived as index %d of %d",
           seq_, received_, h.index, h.batch_size);
  }

  if (error_.ok() && staged_ < capacity_) {
    Message& copy = staging_[staged_++];
    memcpy(&copy, &message, sizeof copy);
    Rejection r = ValidateMessage(copy);
    if (!r.ok()) {
      error_ = r;
      error_index_ = received_;
      Wipe();
    }
  }
  ++received_;

  const bool flagged_last = (h.flags & kLastInBatch) != 0;
  const bool is_last = h.index + 1 == size_;
  if (flagged_last && !is_last) {
    Reject(RejectReason::kBadFraming, h.index, "batch %d: last flag on message %d of %d", seq_,
           h.index, size_);
  } else if (is_last && !flagged_last) {
    Reject(RejectReason::kBadFraming, h.index, "batch %d: message %d of %d is not flagged last",
           seq_, h.index, size_);
  }
  if (flagged_last || is_last) Finish(sink);
}

void BatchAssembler::Finish(Sink sink) {
  AssembledBatch b;
  b.seq = seq_;
  if (error_.ok()) {
    b.messages = absl::Span<const Message>(staging_.get(), staged_);
    b.failed_index = 0;
  } else {
    b.reason = error_.reason;
    b.failed_index = error_index_;
    b.detail = error_.detail;
  }
  sink(b);
  Wipe();
  open_ = false;
}

bool BatchAssembler::Discard() {
  if (!open_) return false;
  Wipe();
  open_ = false;
  return true;
}

void BatchAssembler::Wipe() {
  SecureWipe(staging_.get(), sizeof(Message) * staged_);
  staged_ = 0;
}

}  // namespace portcullis::dp::api
