#include "dataplane/api/command_producer.h"

#include <rte_pause.h>
#include <rte_ring_elem.h>
#include <time.h>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "dataplane/api/key_wipe.h"
#include "dataplane/api/process_liveness.h"
#include "dataplane/api/shared_atomic.h"

namespace portcullis::dp::api {
namespace {

// Another client's enqueue is a memcpy of at most 1 MiB: spin briefly, then check on the
// holder at a pace that costs it nothing.
constexpr int kSpinsBeforeSleeping = 512;
constexpr long kSleepNanos = 20'000;
constexpr int kSleepsPerLivenessCheck = 50;  // about a millisecond

// Only called by the lock holder: nobody else moves the producer head. Elements past the tail
// were never published, so the consumer cannot be reading them.
void RollBackTornEnqueue(const ChannelView& view) {
  rte_ring* r = view.command_ring;
  uint32_t head = __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE);
  uint32_t tail = __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE);
  if (head == tail) return;
  // They may hold a dead client's keys.
  WipeRingElements(r, sizeof(Message), tail, head - tail);
  __atomic_store_n(&r->prod.head, tail, __ATOMIC_RELEASE);
  AddShared(view.header->counters.producer_recoveries, uint64_t{1});
}

}  // namespace

bool AcquireProducer(const ChannelView& view, int32_t token, absl::Duration wait, int32_t* holder) {
  int32_t& lock = view.header->command_producer;
  const absl::Time deadline = absl::Now() + wait;
  for (int spin = 0;; ++spin) {
    int32_t seen = kSlotFree;
    if (CasShared(lock, seen, token)) break;
    if (spin < kSpinsBeforeSleeping) {
      rte_pause();
      continue;
    }
    const bool check = (spin - kSpinsBeforeSleeping) % kSleepsPerLivenessCheck == 0;
    if (check && !IsProcessAlive(seen)) {
      if (CasShared(lock, seen, token)) break;
      continue;
    }
    if (absl::Now() >= deadline) {
      if (holder != nullptr) *holder = seen;
      return false;
    }
    struct timespec ts = {0, kSleepNanos};
    nanosleep(&ts, nullptr);
  }
  // A no-op unless the previous holder died mid-enqueue.
  RollBackTornEnqueue(view);
  return true;
}

void ReleaseProducer(const ChannelView& view, int32_t token) {
  int32_t expected = token;
  CasShared(view.header->command_producer, expected, kSlotFree);
}

bool RecoverDeadProducer(const ChannelView& view, int32_t token) {
  int32_t holder = LoadShared(view.header->command_producer);
  if (holder == kSlotFree || IsProcessAlive(holder)) return false;
  if (!CasShared(view.header->command_producer, holder, token)) return false;
  RollBackTornEnqueue(view);
  ReleaseProducer(view, token);
  return true;
}

absl::Status EnqueueCommands(const ChannelView& view, absl::Span<const Message> batch,
                             int32_t token, absl::Duration wait, uint32_t min_free_after) {
  if (batch.empty()) return absl::OkStatus();
  int32_t holder = 0;
  if (!AcquireProducer(view, token, wait, &holder)) {
    return absl::UnavailableError(
        absl::StrFormat("command ring busy: pid %d has been enqueueing for over %s", holder,
                        absl::FormatDuration(wait)));
  }
  // Only this process enqueues while it holds the lock, and the consumer only adds room.
  const unsigned free_space = rte_ring_free_count(view.command_ring);
  unsigned n = 0;
  if (free_space >= batch.size() + min_free_after) {
    n = rte_ring_enqueue_bulk_elem(view.command_ring, batch.data(), sizeof(Message),
                                   static_cast<unsigned>(batch.size()), nullptr);
  }
  ReleaseProducer(view, token);
  if (n == 0) {
    return absl::UnavailableError(absl::StrFormat(
        "command ring full: batch of %d messages, room for %d%s", batch.size(), free_space,
        min_free_after ? absl::StrFormat(" (%d kept free)", min_free_after) : ""));
  }
  return absl::OkStatus();
}

}  // namespace portcullis::dp::api
