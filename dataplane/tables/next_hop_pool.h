// The next hops of a forwarding table (Fib, Fib6): an array the packet path indexes by the id
// the LPM returns. Routes with the same next hop share its id (found by hash: 10,000 tunnels'
// routes are 10,000 next hops, never walked); ids are counted and reused only after an RCU grace
// period (Reclaim), so a worker that looked an id up just before its route went away still reads
// the next hop it meant. Id 0 is "no route". Only the main lcore writes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace portcullis::dp {

template <class NextHopT>
class NextHopPool {
 public:
  // `count` entries: ids 1..count-1 for next hops.
  void Init(uint32_t count) {
    count_ = count;
    nh_.reset(new NextHopT[count]());
    refs_.reset(new uint32_t[count]());
    free_ids_.clear();
    free_ids_.reserve(count);
    // Handed out from the top down.
    for (uint32_t id = count; id-- > 1;) free_ids_.push_back(id);
    ids_.reserve(count);
  }

  // Packet path: an id out of range reads "no route".
  const NextHopT& at(uint64_t id) const { return nh_[id < count_ ? id : 0]; }
  uint32_t capacity() const { return count_; }

  // The id of `nh`, counted once more; 0 when every id is taken.
  uint32_t Acquire(const NextHopT& nh) {
    if (auto it = ids_.find(nh); it != ids_.end()) {
      ++refs_[it->second];
      return it->second;
    }
    if (free_ids_.empty()) return 0;
    const uint32_t id = free_ids_.back();
    free_ids_.pop_back();
    // A retired id keeps its old contents until reused here; this one is written before any
    // route points at it.
    nh_[id] = nh;
    refs_[id] = 1;
    ids_[nh] = id;
    return id;
  }
  void Release(uint32_t id) {
    if (id == 0 || id >= count_ || refs_[id] == 0) return;
    if (--refs_[id] == 0) {
      ids_.erase(nh_[id]);
      retired_.push_back(id);
    }
  }
  // After a grace period: the ids released since become reusable (unless taken again).
  void Reclaim() {
    for (uint32_t id : retired_)
      if (refs_[id] == 0) free_ids_.push_back(id);
    retired_.clear();
  }

 private:
  uint32_t count_ = 0;
  std::unique_ptr<NextHopT[]> nh_;
  std::unique_ptr<uint32_t[]> refs_;
  absl::flat_hash_map<NextHopT, uint32_t> ids_;  // referenced next hops -> their id
  std::vector<uint32_t> free_ids_;
  std::vector<uint32_t> retired_;  // unreferenced, waiting for a grace period
};

}  // namespace portcullis::dp
