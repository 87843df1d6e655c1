// ARP neighbors: (interface, IPv4) -> MAC; a second table of the same kind (Create with v6)
// holds the IPv6 ones that neighbour discovery learns: (interface, IPv6) -> MAC. Workers look up
// lock-free (rte_hash with lock-free readers); only the main lcore adds, updates, ages and evicts
// entries. The MAC and its validity live in one 64-bit word, so a worker never sees half of an
// update.
//
// The table is bounded and cannot be filled for good: at capacity() entries a new neighbor
// evicts the oldest unresolved one, else the least recently confirmed one (static entries are
// never evicted). Packets waiting for an answer are bounded per entry and in total
// (kMaxHeldPackets), so resolution can never hold a large part of the mbuf pool.
#pragma once

#include <rte_ether.h>
#include <rte_hash.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/core/limits.h"

struct rte_mbuf;

namespace portcullis::dp {

enum class NeighborState : uint8_t { kIncomplete, kReachable, kStale, kStatic };

struct NeighborEntry {
  static constexpr uint8_t kMaxPending = 8;

  std::atomic<uint64_t> mac_word;  // bit 63: valid; bits 0..47: MAC
  // Main lcore only:
  uint16_t ifindex;
  uint32_t ip;      // network order (an IPv4 table's)
  uint8_t ip6[16];  // an IPv6 table's
  NeighborState state;
  uint64_t updated_ns;
  uint64_t requested_ns;
  uint8_t requests_sent;
  uint8_t npending;
  rte_mbuf* pending[kMaxPending];  // packets waiting for the answer
  // Place in the eviction order (NeighborTable's lists); none for static entries.
  NeighborEntry* prev;
  NeighborEntry* next;
  uint8_t list;
};

class NeighborTable {
 public:
  // capacity live entries (--max-neighbors). Entry storage and hash positions are twice that:
  // live entries plus those evicted or removed since the last grace period.
  // v6: keyed by IPv6 addresses (the *6 methods), else by IPv4 ones.
  static absl::StatusOr<std::unique_ptr<NeighborTable>> Create(const char* name, uint32_t capacity,
                                                               bool v6 = false);
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

  bool Lookup6(uint16_t ifindex, const uint8_t* ip6, rte_ether_addr* mac) const {
    const Key6 key = MakeKey6(ifindex, ip6);
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) return false;
    uint64_t w = static_cast<const NeighborEntry*>(data)->mac_word.load(std::memory_order_acquire);
    if (!(w >> 63)) return false;
    for (int i = 0; i < 6; ++i) mac->addr_bytes[i] = static_cast<uint8_t>(w >> (8 * i));
    return true;
  }

  // Main lcore.
  NeighborEntry* Find(uint16_t ifindex, uint32_t ip);
  NeighborEntry* Find6(uint16_t ifindex, const uint8_t* ip6);
  NeighborEntry* GetOrCreate6(uint16_t ifindex, const uint8_t* ip6);
  bool v6() const { return v6_; }
  // The entry, made if needed. At capacity() live entries one is evicted for it (its waiting
  // packets freed and counted in evicted_packets()). nullptr only if every entry is static, or
  // if the storage of evicted entries awaits a grace period (NeedsReclaim(): synchronize,
  // Reclaim, and ask again).
  NeighborEntry* GetOrCreate(uint16_t ifindex, uint32_t ip);
  void SetMac(NeighborEntry* e, const rte_ether_addr& mac, NeighborState state, uint64_t now_ns);
  void Invalidate(NeighborEntry* e);
  // Removes the entry from lookups and frees the packets that waited (returns how many); its
  // storage is reusable after a grace period (Reclaim).
  uint32_t Remove(NeighborEntry* e);
  void Reclaim();
  bool NeedsReclaim() const { return !retired_.empty(); }

  enum class HoldResult { kHeld, kEntryFull, kTableFull };
  // Keeps m until the entry is resolved; on anything but kHeld the caller still owns m.
  HoldResult Hold(NeighborEntry* e, rte_mbuf* m);
  // Hands the waiting packets to `send` (oldest first) and forgets them.
  template <class F>
  void Release(NeighborEntry* e, F&& send) {
    const uint8_t n = e->npending;
    e->npending = 0;
    held_ -= n;
    for (uint8_t i = 0; i < n; ++i) send(e->pending[i]);
  }

  template <class F>
  void ForEach(F&& f) {
    for (auto& e : entries_)
      if (e->ifindex != 0) f(*e);
  }
  uint32_t size() const { return live_; }
  uint32_t capacity() const { return capacity_; }
  // Configured (static) neighbours at most: half, so learned ones always have room.
  uint32_t static_capacity() const { return capacity_ / 2; }
  uint32_t held() const { return held_; }
  uint64_t evictions() const { return evictions_; }
  uint64_t evicted_packets() const { return evicted_packets_; }

 private:
  enum List : uint8_t { kNoList = 0, kUnresolved = 1, kResolved = 2 };
  struct Chain {
    NeighborEntry* head = nullptr;  // the next to evict
    NeighborEntry* tail = nullptr;
  };
  NeighborTable() = default;
  static uint64_t Key(uint16_t ifindex, uint32_t ip) { return (uint64_t{ifindex} << 32) | ip; }
  struct Key6 {
    uint32_t ifindex;
    uint8_t ip[16];
  };
  static Key6 MakeKey6(uint16_t ifindex, const uint8_t* ip6) {
    Key6 k;
    k.ifindex = ifindex;
    std::memcpy(k.ip, ip6, 16);
    return k;
  }
  // The entry for a key of this table's kind (uint64_t or Key6), made if needed.
  NeighborEntry* GetOrCreateKey(const void* key, uint16_t ifindex);
  void KeyOf(const NeighborEntry* e, void* key) const;
  void Link(NeighborEntry* e, List list);  // at the tail
  void Unlink(NeighborEntry* e);
  NeighborEntry* Victim() const;

  rte_hash* hash_ = nullptr;
  bool v6_ = false;
  uint32_t capacity_ = 0, storage_ = 0;
  std::vector<std::unique_ptr<NeighborEntry>> entries_;
  std::vector<NeighborEntry*> free_;
  std::vector<std::pair<NeighborEntry*, int32_t>> retired_;  // entry, hash position
  Chain lists_[3];
  uint32_t live_ = 0;
  uint32_t held_ = 0;
  uint64_t evictions_ = 0, evicted_packets_ = 0;
};

}  // namespace portcullis::dp
