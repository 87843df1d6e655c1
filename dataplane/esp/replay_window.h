// Anti-replay window (RFC 4303 §3.4.3 and Appendix A), with the ESN high-order-bit inference of
// Appendix A.2.2. The bitmap is a ring of 64-bit buckets, so advancing the window clears whole
// buckets instead of shifting bits; checks and updates are O(1) for any window size.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/esp/esp_types.h"

namespace portcullis::dp::esp {

class ReplayWindow {
 public:
  enum class Verdict : uint8_t { kOk, kReplayed, kTooOld };

  // size: packets in the window (0 = no anti-replay; the top is still tracked for ESN).
  void Init(uint32_t size, uint64_t top = 0) {
    size_ = size;
    top_ = top;
    uint32_t need = size / 64 + 2;  // one spare bucket: the one being vacated
    uint32_t buckets = 1;
    while (buckets < need) buckets <<= 1;
    mask_ = buckets - 1;
    std::memset(bits_, 0, sizeof bits_);
  }

  uint32_t size() const { return size_; }
  uint64_t top() const { return top_; }

  // The full 64-bit sequence number of a packet whose low 32 bits are seq_lo, given the window
  // (RFC 4303 A.2.2). 0 when it can only lie before the first packet: 0 is never valid.
  uint64_t InferEsn(uint32_t seq_lo) const {
    const uint32_t tl = static_cast<uint32_t>(top_);
    const uint32_t th = static_cast<uint32_t>(top_ >> 32);
    const uint32_t w = size_ == 0 ? 1 : size_;
    uint32_t seq_hi;
    if (tl >= w - 1) {  // Case A: the window lies within one 2^32 subspace
      seq_hi = seq_lo >= tl - w + 1 ? th : th + 1;
    } else {  // Case B: the window spans two subspaces
      if (seq_lo >= static_cast<uint32_t>(tl - w + 1)) {
        if (th == 0) return 0;  // would be in the subspace before the first one
        seq_hi = th - 1;
      } else {
        seq_hi = th;
      }
    }
    return (uint64_t{seq_hi} << 32) | seq_lo;
  }

  // Before decryption: is this sequence number acceptable?
  Verdict Check(uint64_t seq) const {
    if (seq == 0) return Verdict::kTooOld;
    if (size_ == 0 || seq > top_) return Verdict::kOk;
    if (top_ - seq >= size_) return Verdict::kTooOld;
    return (bits_[(seq >> 6) & mask_] & Bit(seq)) ? Verdict::kReplayed : Verdict::kOk;
  }

  // After the ICV verified. Checks again (a duplicate may have been accepted earlier in the same
  // burst, or the window moved past it) and records the packet.
  Verdict Update(uint64_t seq) {
    if (size_ == 0) {
      if (seq > top_) top_ = seq;
      return Verdict::kOk;
    }
    if (seq > top_) {
      uint64_t diff = (seq >> 6) - (top_ >> 6);
      if (diff > mask_) diff = mask_ + 1;
      for (uint64_t i = 1; i <= diff; ++i) bits_[((top_ >> 6) + i) & mask_] = 0;
      top_ = seq;
    } else if (top_ - seq >= size_) {
      return Verdict::kTooOld;
    }
    uint64_t& bucket = bits_[(seq >> 6) & mask_];
    if (bucket & Bit(seq)) return Verdict::kReplayed;
    bucket |= Bit(seq);
    return Verdict::kOk;
  }

 private:
  static constexpr uint32_t kMaxBuckets = 128;  // kMaxReplayWindow / 64 + 2, rounded up to 2^n
  static_assert(kMaxReplayWindow / 64 + 2 <= kMaxBuckets);
  static uint64_t Bit(uint64_t seq) { return uint64_t{1} << (seq & 63); }

  uint64_t top_ = 0;   // highest authenticated sequence number (T in RFC 4303)
  uint32_t size_ = 0;  // W
  uint32_t mask_ = 0;  // buckets in use - 1
  uint64_t bits_[kMaxBuckets] = {};
};

}  // namespace portcullis::dp::esp
