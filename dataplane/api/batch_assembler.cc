#include "dataplane/api/batch_assembler.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "absl/strings/str_format.h"
#include "dataplane/api/key_wipe.h"

namespace portcullis::dp::api {

BatchAssembler::BatchAssembler(uint32_t max_messages, uint32_t retained)
    : max_(max_messages),
      retained_(std::min(retained, max_messages)),
      capacity_(retained_),
      staging_(new Message[retained_]()) {}

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
  if (size_ == 0) {
    Reject(RejectReason::kBadLength, 0, "batch %d: size 0", seq_);
  } else if (size_ > max_) {
    Reject(RejectReason::kBatchTooLarge, 0,
           "batch %d: %d messages, more than the dataplane's --max-batch-messages %d", seq_, size_,
           max_);
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

  if (error_.ok() && staged_ == capacity_ && staged_ < size_ && !Grow()) {
    Reject(RejectReason::kBatchTooLarge, received_, "batch %d: no memory to stage message %d of %d",
           seq_, received_, size_);
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
  Shrink();
  open_ = false;
}

bool BatchAssembler::Discard() {
  if (!open_) return false;
  Wipe();
  Shrink();
  open_ = false;
  return true;
}

bool BatchAssembler::Grow() {
  // Doubling keeps the copies linear in the batch; never past what the batch announced.
  const uint32_t want = static_cast<uint32_t>(
      std::min<uint64_t>({uint64_t{capacity_} * 2, uint64_t{size_}, uint64_t{max_}}));
  if (want <= capacity_) return false;
  std::unique_ptr<Message[]> bigger(new (std::nothrow) Message[want]());
  if (!bigger) return false;
  memcpy(bigger.get(), staging_.get(), sizeof(Message) * staged_);
  // The old copies hold key material too.
  SecureWipe(staging_.get(), sizeof(Message) * staged_);
  staging_ = std::move(bigger);
  capacity_ = want;
  return true;
}

void BatchAssembler::Shrink() {
  if (capacity_ == retained_) return;
  std::unique_ptr<Message[]> small(new (std::nothrow) Message[retained_]());
  if (!small) return;  // keep the larger (wiped) staging; the next batch uses it
  staging_ = std::move(small);
  capacity_ = retained_;
}

void BatchAssembler::Wipe() {
  SecureWipe(staging_.get(), sizeof(Message) * staged_);
  staged_ = 0;
}

}  // namespace portcullis::dp::api
