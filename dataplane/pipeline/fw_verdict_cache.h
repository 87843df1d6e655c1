// A worker's cache of its firewall classifications (docs/DESIGN.md, Firewall): rte_acl's
// answer for an exact ACL key at a chain, in two-way buckets by the key's CRC32. A chain's
// answer depends on nothing but the key (and the packet's state, which the caller puts in the
// key's pad byte when the chain's rules look at it), so a hit is the verdict classify would
// give; a chain rebuilt at a commit has a new tag and misses. Flows repeat their key from
// packet to packet: the classify (10,000 rules or 10) is paid once per flow and chain while its
// entry lasts; a miss costs the probe on top of the classify.
//
// An entry holds the answers of two chains for its key: a forwarded packet meets two hooks
// with one key (the LAN's `in`, the VTI's or the port's `out`), so the second hook finds its
// answer in the line the first one brought in, and a flow takes one entry, not two.
#pragma once

#include <rte_malloc.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "dataplane/tables/firewall_sessions.h"
#include "dataplane/tables/fw_adaptive_probe.h"

namespace portcullis::dp {

template <class Key>
class FwVerdictCache {
 public:
  struct Entry {
    Key key;
    uint32_t tag[2];     // the chains' (0: none); [0] the newer
    uint32_t result[2];  // rte_acl's: rule userdata, 0 for no match
  };
  // One line for IPv4's keys (two 32-byte entries), two for IPv6's; never straddling lines.
  struct alignas(64) Bucket {
    Entry way[2];  // [0] the newer
  };

  // entries: rounded down to a power of two, at least 2 (two per bucket). On DPDK's memory
  // (hugepages where the dataplane has them: a many-flow working set misses the TLB less).
  explicit FwVerdictCache(uint32_t entries = 4096)
      : mask_(std::bit_floor(std::max<uint32_t>(entries, 2)) / 2 - 1),
        b_(static_cast<Bucket*>(rte_zmalloc("fw_verdicts", sizeof(Bucket) * (mask_ + 1), 64))) {
    if (b_ == nullptr) throw std::bad_alloc();
  }

  // Whether this run probes (FwAdaptiveProbe: a miss-bound workload goes to classify alone).
  bool Use() { return probe_.Use(); }
  // Whether the next run will probe (Use() true): its caller may ask for the buckets first.
  bool Probing() const { return probe_.Probing(); }
  void Count(uint32_t looked, uint32_t missed) { probe_.Count(looked, missed); }
  bool Sample() { return probe_.Sample(); }
  void ResetAdaptive() { probe_.Reset(); }
  uint32_t backoff() const { return probe_.backoff(); }

  // Where key lives (and a miss is to be remembered), whichever chain asks.
  static uint32_t Hash(const Key& key) { return FwKeyHash(key); }
  // Asks for hash's bucket: a burst's keys hashed and their buckets asked for first, then
  // probed, so the probes' misses overlap.
  void Prefetch(uint32_t hash) const {
    const Bucket* b = &b_.get()[hash & mask_];
    __builtin_prefetch(b);
    if constexpr (sizeof(Bucket) > 64) __builtin_prefetch(reinterpret_cast<const char*>(b) + 64);
  }
  // The answer for key at the chain tagged tag (hash: Hash(key)), or nullptr.
  const uint32_t* Find(const Key& key, uint32_t tag, uint32_t hash) const {
    const Bucket& b = b_.get()[hash & mask_];
    for (const Entry& e : b.way) {
      if (!SameKey(e, key)) continue;
      if (e.tag[0] == tag) return &e.result[0];
      if (e.tag[1] == tag) return &e.result[1];
      return nullptr;
    }
    return nullptr;
  }
  // Whether key has an entry, for any chain (tests: what a classify or a sampled run
  // remembered; keys other than all zeros, an empty entry's).
  bool Holds(const Key& key) const {
    const Bucket& b = b_.get()[Hash(key) & mask_];
    return SameKey(b.way[0], key) || SameKey(b.way[1], key);
  }
  // The newest first, the one it displaces second: in the bucket by key, in the entry by chain.
  void Remember(uint32_t hash, const Key& key, uint32_t tag, uint32_t result) {
    Bucket& b = b_.get()[hash & mask_];
    Entry* e = &b.way[0];
    if (SameKey(b.way[1], key)) {
      e = &b.way[1];
    } else if (!SameKey(b.way[0], key)) {
      b.way[1] = b.way[0];
      e->key = key;
      e->tag[0] = e->tag[1] = 0;
    }
    if (e->tag[0] == tag) {
      e->result[0] = result;
    } else if (e->tag[1] == tag) {
      e->result[1] = result;
    } else {
      e->tag[1] = e->tag[0];
      e->result[1] = e->result[0];
      e->tag[0] = tag;
      e->result[0] = result;
    }
  }

 private:
  static bool SameKey(const Entry& e, const Key& key) {
    return std::memcmp(&e.key, &key, sizeof(Key)) == 0;
  }
  struct Free {
    void operator()(Bucket* b) const { rte_free(b); }
  };
  uint32_t mask_;  // buckets - 1
  std::unique_ptr<Bucket, Free> b_;
  FwAdaptiveProbe probe_;
};

}  // namespace portcullis::dp
