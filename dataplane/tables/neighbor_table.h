// ARP neighbors: (interface, IPv4) -> MAC. Workers look up lock-free (rte_hash with lock-free
// readers); only the main lcore adds, updates and ages entries. The MAC and its validity live in
// one 64-bit word, so a worker never sees half of an update.
#pragma once

#include <rte_ether.h>
#include <rte_hash.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/core/limits.h"

struct rte_mbuf;

namespace portcullis::dp {

enum class NeighborState : uint8_t { kIncomplete, kReachable, kStale, kStatic };

struct NeighborEntry {
  std::atomic<uint64_t> mac_word;  // bit 63: valid; bits 0..47: MAC
  // Main lcore only:
  uint16_t ifindex;
  uint32_t ip;  // network order
  NeighborState state;
  uint64_t updated_ns;
  uint64_t requested_ns;
  uint8_t requests_sent;
  uint8_t npending;
  rte_mbuf* pending[8];  // packets waiting for the answer
};

class NeighborTable {
 public:
  static absl::StatusOr<std::unique_ptr<NeighborTable>> Create(const char* name);
  ~NeighborTable();

  // Packet path.
  bool Lookup(uint16_t ifindex, uint32_t ip, rte_ether_addr* mac) const {
    uint64_t key = Key(ifindex, ip);
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) return false;
    uint64_t w = static_cast<const NeighborEntry*>(data)->mac_word.load(std::memory_order_acquire);
    if (!(w >> 63)) return false;
    for (int i = 0; i < 6; ++i) mac->addr_bytes[i] = static_cast<uint8_t>(w >> (8 * i));
    return true;
  }

  // Main lcore.
  NeighborEntry* Find(uint16_t ifindex, uint32_t ip);
  NeighborEntry* GetOrCreate(uint16_t ifindex, uint32_t ip);
  void SetMac(NeighborEntry* e, const rte_ether_addr& mac, NeighborState state, uint64_t now_ns);
  void Invalidate(NeighborEntry* e);
  // Removes the entry from lookups; its storage is reusable after a grace period (Reclaim).
  void Remove(NeighborEntry* e);
  void Reclaim();
  template <class F>
  void ForEach(F&& f) {
    for (auto& e : entries_)
      if (e->ifindex != 0) f(*e);
  }

 private:
  NeighborTable() = default;
  static uint64_t Key(uint16_t ifindex, uint32_t ip) { return (uint64_t{ifindex} << 32) | ip; }

  rte_hash* hash_ = nullptr;
  std::vector<std::unique_ptr<NeighborEntry>> entries_;
  std::vector<NeighborEntry*> free_;
  std::vector<std::pair<NeighborEntry*, int32_t>> retired_;  // entry, hash position
};

}  // namespace portcullis::dp
