// Events the ESP engine raises for the control plane (lifetimes, sequence exhaustion). The
// engine only records them; the dataplane forwards them to vpnd. Nothing is logged per packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/esp/esp_types.h"

namespace portcullis::dp::esp {

struct EspEvent {
  enum class Type : uint8_t {
    kSoftBytes,  // rekey now
    kHardBytes,  // the SA is blocked from here on
    kSoftPackets,
    kHardPackets,
    kSeqSoft,  // outbound sequence numbers nearly used up: rekey
    kSeqHard,  // outbound sequence numbers used up: the SA sends nothing more
  };
  Type type;
  Direction direction;
  uint32_t spi;
  uint64_t value;  // the counter that crossed the limit
};

// Per-worker queue, drained by the dataplane after each burst. A full queue refuses the event
// and the engine raises it again on the next packet, so none is lost.
class EventQueue {
 public:
  static constexpr size_t kCapacity = 256;
  bool Push(const EspEvent& e) {
    if (n_ == kCapacity) {
      ++refused_;
      return false;
    }
    items_[n_++] = e;
    return true;
  }
  size_t size() const { return n_; }
  const EspEvent& operator[](size_t i) const { return items_[i]; }
  void Clear() { n_ = 0; }
  // Removes the first `k` events (handed on), keeping the rest in order.
  void Consume(size_t k) {
    if (k >= n_) {
      n_ = 0;
      return;
    }
    for (size_t i = k; i < n_; ++i) items_[i - k] = items_[i];
    n_ -= k;
  }
  uint64_t refused() const { return refused_; }

 private:
  EspEvent items_[kCapacity];
  size_t n_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace portcullis::dp::esp
