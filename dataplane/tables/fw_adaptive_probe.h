// When a per-worker cache of the firewall (the session positions of FwSessionTable::Lookup,
// the verdicts of pipeline/fw_verdict_cache.h) is worth probing. Under a quarter of the last
// kWindow keys probed found, the next runs go straight to rte_hash / rte_acl (the probe and
// the remembering would only add to their cost: a port scan, more live flows than entries);
// then probing resumes. So a miss-bound workload pays about what it paid without the cache,
// and a few misses (new flows) do not turn it off. The runs skipped double with each window
// that fails again (kRest up to kMaxRest) and go back to kRest when one pays: the probing
// windows of a steadily miss-bound workload (each probe an L2 miss or worse) were a ninth of
// its runs, 7% of the worker's time with 65,536 flows through 10,000 rules by perf.
#pragma once

#include <algorithm>
#include <cstdint>

namespace portcullis::dp {

class FwAdaptiveProbe {
 public:
  // Whether this run probes the cache (false: it skips it, one of the runs backed off).
  bool Use() {
    if (rest_ == 0) return true;
    --rest_;
    return false;
  }
  // Whether the next Use() says to probe (without counting the run).
  bool Probing() const { return rest_ == 0; }
  // A probing run's outcome: `looked` keys probed, `missed` of them not found.
  void Count(uint32_t looked, uint32_t missed) {
    looked_ += looked;
    found_ += looked - missed;
    if (looked_ < kWindow) return;
    if (found_ * 4 < looked_) {
      rest_ = backoff_;
      backoff_ = std::min(backoff_ * 2, kMaxRest);
    } else {
      backoff_ = kRest;
    }
    looked_ = found_ = 0;
  }
  // While backed off, one skipped run in kSample still remembers what it looked up (without
  // probing): a cache that backed off while cold (its flows not yet in it, or another
  // workload's in their places) goes on learning them, and its next window finds them.
  bool Sample() { return (++skipped_ & (kSample - 1)) == 0; }
  // Back to probing with a fresh window (tests: the cache path, whatever ran before).
  void Reset() {
    rest_ = looked_ = found_ = skipped_ = 0;
    backoff_ = kRest;
  }
  // Runs the next failed window would skip (tests).
  uint32_t backoff() const { return backoff_; }

  static constexpr uint32_t kRest = 32, kMaxRest = 1024, kWindow = 256, kSample = 8;

 private:
  uint32_t rest_ = 0;                // runs left that skip the cache
  uint32_t backoff_ = kRest;         // runs the next failed window skips
  uint32_t looked_ = 0, found_ = 0;  // keys probed and found in this window
  uint32_t skipped_ = 0;             // runs skipped (Sample)
};

}  // namespace portcullis::dp
