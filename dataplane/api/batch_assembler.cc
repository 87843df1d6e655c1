#include "dataplane/api/batch_assembler.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "dataplane/api/key_wipe.h"

namespace portcullis::dp::api {
namespace {

// Staging is mapped, not taken from the heap: pages are only committed as messages arrive (a
// batch that announces much and sends little costs little), and they stay out of core dumps
// (they hold SA keys), as the command ring does. nullptr when there is no memory.
Message* MapStaging(uint32_t messages) {
  void* p = mmap(nullptr, sizeof(Message) * messages, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  madvise(p, sizeof(Message) * messages, MADV_DONTDUMP);
  return static_cast<Message*>(p);
}

void UnmapStaging(Message* staging, uint32_t messages) {
  if (staging != nullptr) munmap(staging, sizeof(Message) * messages);
}

}  // namespace

BatchAssembler::BatchAssembler(uint32_t max_messages, uint32_t retained, StagingBudget* budget)
    : max_(max_messages),
      retained_(std::max<uint32_t>(1, std::min(retained, max_messages))),
      budget_(budget),
      capacity_(retained_),
      staging_(MapStaging(retained_)) {
  if (staging_ == nullptr) std::abort();  // at start-up: nothing sensible to go on with
}

BatchAssembler::~BatchAssembler() {
  Wipe();
  UnmapStaging(staging_, capacity_);
  if (budget_ != nullptr) budget_->used -= capacity_ - retained_;
}

absl::Span<const uint8_t> BatchAssembler::staging_bytes() const {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(staging_),
                                   sizeof(Message) * capacity_);
}

template <typename... Args>
void BatchAssembler::Reject(RejectReason reason, uint32_t index,
                            const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (!error_.ok()) return;  // the first problem is the one worth reporting
  error_.reason = reason;
  error_index_ = index;
  absl::SNPrintF(error_.detail, sizeof error_.detail, format, args...);
  // Nothing more of this batch will be applied; do not keep its keys, or its memory, around.
  Wipe();
  Shrink();
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
    Reject(RejectReason::kStagingBusy, received_,
           "batch %d: no staging for message %d of %d: other clients' batches hold the "
           "dataplane's staging (--max-batch-messages in all), or no memory; try again",
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
    b.messages = absl::Span<const Message>(staging_, staged_);
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
  const uint64_t more = want - capacity_;
  if (budget_ != nullptr && budget_->used + more > budget_->limit) return false;
  Message* bigger = MapStaging(want);
  if (bigger == nullptr) return false;
  memcpy(bigger, staging_, sizeof(Message) * staged_);
  // The old copies hold key material too.
  SecureWipe(staging_, sizeof(Message) * staged_);
  UnmapStaging(staging_, capacity_);
  staging_ = bigger;
  capacity_ = want;
  if (budget_ != nullptr) budget_->used += more;
  return true;
}

void BatchAssembler::Shrink() {
  if (capacity_ == retained_) return;
  Message* small = MapStaging(retained_);
  if (small == nullptr) return;  // keep the larger (wiped) staging; the next batch uses it
  UnmapStaging(staging_, capacity_);
  if (budget_ != nullptr) budget_->used -= capacity_ - retained_;
  staging_ = small;
  capacity_ = retained_;
}

void BatchAssembler::Wipe() {
  SecureWipe(staging_, sizeof(Message) * staged_);
  staged_ = 0;
}

}  // namespace portcullis::dp::api
