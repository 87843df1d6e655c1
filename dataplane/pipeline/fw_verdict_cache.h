// A worker's cache of its firewall classifications (docs/DESIGN.md, Firewall): rte_acl's
// answer for an exact ACL key at one chain, in two-way buckets by the key's CRC32 seeded with
// the chain's tag. A chain's answer depends on nothing but the key (and the packet's state, which
// the caller puts in the key's pad byte when the chain's rules look at it), so a hit is the
// verdict classify would give; a chain rebuilt at a commit has a new tag and misses. Flows
// repeat their key from packet to packet: the classify (10,000 rules or 10) is paid once per
// flow and chain while its entry lasts; a miss costs the probe on top of the classify.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "dataplane/tables/firewall_sessions.h"

namespace portcullis::dp {

template <class Key>
class FwVerdictCache {
 public:
  static constexpr uint32_t kEntries = 4096;
  struct alignas(sizeof(Key) <= 24 ? 32 : 64) Entry {
    Key key;
    uint32_t tag;     // the chain's (0: empty)
    uint32_t result;  // rte_acl's: rule userdata, 0 for no match
  };

  FwVerdictCache() : e_(new Entry[kEntries]()) {}

  // Adaptive: when under a quarter of the last kWindow keys probed were found, the next
  // runs go straight to classify (the probe and the remembering would only add to its cost:
  // a port scan, more live flows than entries); then probing resumes. So a miss-bound
  // workload pays about what it paid without the cache, and a few misses (new flows) do not
  // turn it off. The runs skipped double with each window that fails again (kRest up to
  // kMaxRest) and go back to kRest when one pays: the probing windows of a steadily
  // miss-bound workload (each probe an L2 miss or worse) were a ninth of its runs, 7% of the
  // worker's time with 65,536 flows through 10,000 rules by perf.
  bool Use() {
    if (rest_ == 0) return true;
    --rest_;
    return false;
  }
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
  // Back to probing with a fresh window (tests: the cache path, whatever ran before).
  void ResetAdaptive() {
    rest_ = looked_ = found_ = 0;
    backoff_ = kRest;
  }
  // Runs the next failed window would skip (tests).
  uint32_t backoff() const { return backoff_; }

  // Where key at the chain tagged tag lives (and a miss is to be remembered).
  static uint32_t Hash(const Key& key, uint32_t tag) { return FwKeyHash(key, tag); }
  // Asks for hash's bucket (one line): a burst's keys hashed and their buckets asked for
  // first, then probed, so the probes' misses overlap (a bucket is rarely still in L1 when the
  // flow's next packet comes: the burst's packets and the crypto pushed it out).
  void Prefetch(uint32_t hash) const { __builtin_prefetch(&e_[(hash & (kEntries / 2 - 1)) * 2]); }
  // The entry for key at the chain tagged tag (hash: Hash(key, tag)), or nullptr. Two ways
  // per bucket, as the session table's cache.
  const Entry* Find(const Key& key, uint32_t tag, uint32_t hash) const {
    const Entry* b = &e_[(hash & (kEntries / 2 - 1)) * 2];
    if (Same(b[0], key, tag)) return &b[0];
    if (Same(b[1], key, tag)) return &b[1];
    return nullptr;
  }
  // The newest first, the one it displaces second.
  void Remember(uint32_t hash, const Key& key, uint32_t tag, uint32_t result) {
    Entry* b = &e_[(hash & (kEntries / 2 - 1)) * 2];
    Entry* e = b;
    if (Same(b[1], key, tag)) {
      e = &b[1];
    } else if (!Same(b[0], key, tag)) {
      b[1] = b[0];
    }
    e->key = key;
    e->tag = tag;
    e->result = result;
  }

 private:
  static constexpr uint32_t kRest = 32, kMaxRest = 1024, kWindow = 256;
  static bool Same(const Entry& e, const Key& key, uint32_t tag) {
    return e.tag == tag && std::memcmp(&e.key, &key, sizeof(Key)) == 0;
  }
  std::unique_ptr<Entry[]> e_;
  uint32_t rest_ = 0;                // runs left that skip the cache
  uint32_t backoff_ = kRest;         // runs the next failed window skips
  uint32_t looked_ = 0, found_ = 0;  // keys probed and found in this window
};

}  // namespace portcullis::dp
