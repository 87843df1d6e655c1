// A per-source rate limit for IKE datagrams to vpnd, one per worker: IKE arrives at a few
// datagrams per second per peer, so a source far above that is flooding (or spoofed), and its
// excess is dropped before it can fill the queues to vpnd. Each source address has a generic
// cell rate (GCRA) state per class: messages of established IKE SAs get a larger share than new
// ones (IKE_SA_INIT), so a peer's DPD and rekeys are not limited by its own reconnect attempts.
//
// Memory is fixed: 256 sets of 4 sources; a new source takes its set's least recently active
// way. A flood from many (spoofed) sources therefore evicts quiet ones, which then start afresh
// with a full burst: the limiter fails open for them, and the queues behind it stay bounded
// anyway. O(1) per datagram, no allocation; only IKE ever gets here.
#pragma once

#include <cstdint>
#include <cstring>

namespace portcullis::dp {

// The limiter's 32-bit key for an IPv6 source: its /64 (a host picks its interface identifier
// freely, so all of one /64 is one source), hashed with a seed drawn at start, so no sender can
// choose an address whose key is another peer's (IPv4 keys are the address itself).
inline uint32_t IkeSourceKey6(const uint8_t* src, uint64_t seed) {
  uint64_t p;
  std::memcpy(&p, src, 8);
  p = (p ^ seed) * 0x9e3779b97f4a7c15ull;
  p ^= p >> 29;
  p *= 0xbf58476d1ce4e5b9ull;
  return static_cast<uint32_t>(p >> 32);
}

class IkeLimiter {
 public:
  struct Rate {
    uint32_t per_second;
    uint32_t burst;
  };
  // Established IKE SAs: a rekey of many CHILD SAs at once stays within the burst.
  static constexpr Rate kEstablished = {128, 256};
  // New IKE SAs: a peer's IKE_SA_INIT with its retransmissions, several peers behind one NAT.
  static constexpr Rate kNew = {16, 32};

  explicit IkeLimiter(uint64_t ticks_per_second) : hz_(ticks_per_second) {}

  // Whether a datagram from src (IPv4, any byte order) at time `now` (in ticks) is within its
  // source's share for its class.
  bool Admit(uint32_t src, bool established, uint64_t now) {
    Way* set = sets_[(src * 0x9e3779b1u) >> (32 - kSetBits)];
    Way* w = nullptr;
    for (int i = 0; i < kWays; ++i) {
      if (set[i].used && set[i].src == src) {
        w = &set[i];
        break;
      }
    }
    if (w == nullptr) w = Replace(set, src);
    w->active = now;  // refused datagrams too: a flooding source keeps its way, and its limit
    const int cls = established ? 1 : 0;
    const Rate r = established ? kEstablished : kNew;
    const uint64_t interval = hz_ / r.per_second;
    const uint64_t t = w->tat[cls] > now ? w->tat[cls] : now;
    if (t - now > interval * (r.burst - 1)) return false;
    w->tat[cls] = t + interval;
    return true;
  }

 private:
  static constexpr int kSetBits = 8;
  static constexpr int kWays = 4;
  struct Way {
    uint32_t src;
    uint32_t used;
    uint64_t active;  // last datagram, admitted or not
    uint64_t tat[2];  // theoretical arrival time per class (GCRA); 0 = none yet
  };
  static Way* Replace(Way* set, uint32_t src) {
    Way* victim = &set[0];
    for (int i = 0; i < kWays; ++i) {
      if (!set[i].used) {
        victim = &set[i];
        break;
      }
      if (set[i].active < victim->active) victim = &set[i];
    }
    *victim = Way{src, 1, 0, {0, 0}};
    return victim;
  }

  const uint64_t hz_;
  Way sets_[1 << kSetBits][kWays] = {};
};

}  // namespace portcullis::dp
