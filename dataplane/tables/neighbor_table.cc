#include "dataplane/tables/neighbor_table.h"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

absl::StatusOr<std::unique_ptr<NeighborTable>> NeighborTable::Create(const char* name,
                                                                     uint32_t capacity, bool v6) {
  if (capacity < 2) return absl::InvalidArgumentError("neighbor table: capacity below 2");
  std::unique_ptr<NeighborTable> t(new NeighborTable);
  t->capacity_ = capacity;
  t->v6_ = v6;
  t->storage_ = 2 * capacity;
  rte_hash_parameters p = {};
  p.name = name;
  // Room for the evicted entries' positions until their grace period, and extendable buckets:
  // sized exactly to the limit, cuckoo refused many new keys once the table was nearly full.
  p.entries = t->storage_;
  p.key_len = v6 ? sizeof(Key6) : sizeof(uint64_t);
  p.socket_id = SOCKET_ID_ANY;
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  t->hash_ = rte_hash_create(&p);
  if (t->hash_ == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat("rte_hash_create: ", rte_strerror(rte_errno)));
  // Grown as entries are made: a million-entry table costs only what it holds.
  t->entries_.reserve(std::min<uint32_t>(t->storage_, 8192));
  return t;
}

NeighborTable::~NeighborTable() {
  for (auto& e : entries_)
    for (uint8_t i = 0; i < e->npending; ++i) rte_pktmbuf_free(e->pending[i]);
  rte_hash_free(hash_);
}

NeighborEntry* NeighborTable::Find(uint16_t ifindex, uint32_t ip) {
  uint64_t key = Key(ifindex, ip);
  void* data = nullptr;
  if (rte_hash_lookup_data(hash_, &key, &data) < 0) return nullptr;
  return static_cast<NeighborEntry*>(data);
}

void NeighborTable::Link(NeighborEntry* e, List list) {
  Chain& c = lists_[list];
  e->list = list;
  e->next = nullptr;
  e->prev = c.tail;
  (c.tail ? c.tail->next : c.head) = e;
  c.tail = e;
}

void NeighborTable::Unlink(NeighborEntry* e) {
  if (e->list == kNoList) return;
  Chain& c = lists_[e->list];
  (e->prev ? e->prev->next : c.head) = e->next;
  (e->next ? e->next->prev : c.tail) = e->prev;
  e->prev = e->next = nullptr;
  e->list = kNoList;
}

NeighborEntry* NeighborTable::Victim() const {
  // An unresolved entry costs the most (it holds packets and sends requests) and is the least
  // likely to be needed: a flood of destinations that never answer makes only those.
  if (lists_[kUnresolved].head) return lists_[kUnresolved].head;
  return lists_[kResolved].head;
}

NeighborEntry* NeighborTable::Find6(uint16_t ifindex, const uint8_t* ip6) {
  const Key6 key = MakeKey6(ifindex, ip6);
  void* data = nullptr;
  if (rte_hash_lookup_data(hash_, &key, &data) < 0) return nullptr;
  return static_cast<NeighborEntry*>(data);
}

void NeighborTable::KeyOf(const NeighborEntry* e, void* key) const {
  if (v6_) {
    *static_cast<Key6*>(key) = MakeKey6(e->ifindex, e->ip6);
  } else {
    *static_cast<uint64_t*>(key) = Key(e->ifindex, e->ip);
  }
}

NeighborEntry* NeighborTable::GetOrCreate(uint16_t ifindex, uint32_t ip) {
  if (NeighborEntry* e = Find(ifindex, ip)) return e;
  uint64_t key = Key(ifindex, ip);
  NeighborEntry* e = GetOrCreateKey(&key, ifindex);
  if (e != nullptr) e->ip = ip;
  return e;
}

NeighborEntry* NeighborTable::GetOrCreate6(uint16_t ifindex, const uint8_t* ip6) {
  if (NeighborEntry* e = Find6(ifindex, ip6)) return e;
  const Key6 key = MakeKey6(ifindex, ip6);
  NeighborEntry* e = GetOrCreateKey(&key, ifindex);
  if (e != nullptr) std::memcpy(e->ip6, ip6, 16);
  return e;
}

NeighborEntry* NeighborTable::GetOrCreateKey(const void* key, uint16_t ifindex) {
  if (live_ >= capacity_) {
    NeighborEntry* victim = Victim();
    if (victim == nullptr) return nullptr;  // every entry is static
    evicted_packets_ += Remove(victim);
    ++evictions_;
  }
  NeighborEntry* e;
  if (!free_.empty()) {
    e = free_.back();
    free_.pop_back();
  } else if (entries_.size() < storage_) {
    entries_.push_back(std::make_unique<NeighborEntry>());
    e = entries_.back().get();
  } else {
    return nullptr;  // the evicted entries' storage is waiting for a grace period
  }
  e->mac_word.store(0, std::memory_order_relaxed);
  e->ifindex = ifindex;
  e->ip = 0;
  std::memset(e->ip6, 0, sizeof e->ip6);
  e->state = NeighborState::kIncomplete;
  e->updated_ns = e->requested_ns = 0;
  e->requests_sent = 0;
  e->npending = 0;
  e->list = kNoList;
  if (rte_hash_add_key_data(hash_, key, e) < 0) {
    e->ifindex = 0;
    free_.push_back(e);
    return nullptr;
  }
  ++live_;
  Link(e, kUnresolved);
  return e;
}

void NeighborTable::SetMac(NeighborEntry* e, const rte_ether_addr& mac, NeighborState state,
                           uint64_t now_ns) {
  uint64_t w = uint64_t{1} << 63;
  for (int i = 0; i < 6; ++i) w |= uint64_t{mac.addr_bytes[i]} << (8 * i);
  e->mac_word.store(w, std::memory_order_release);
  e->state = state;
  e->updated_ns = now_ns;
  e->requests_sent = 0;
  Unlink(e);
  if (state != NeighborState::kStatic) Link(e, kResolved);  // the most recently confirmed
}

void NeighborTable::Invalidate(NeighborEntry* e) {
  e->mac_word.store(0, std::memory_order_release);
  e->state = NeighborState::kIncomplete;
  Unlink(e);
  Link(e, kUnresolved);
}

uint32_t NeighborTable::Remove(NeighborEntry* e) {
  alignas(8) uint8_t key[sizeof(Key6)];
  KeyOf(e, key);
  int32_t pos = rte_hash_del_key(hash_, key);
  const uint32_t freed = e->npending;
  for (uint8_t i = 0; i < e->npending; ++i) rte_pktmbuf_free(e->pending[i]);
  held_ -= e->npending;
  e->npending = 0;
  e->ifindex = 0;
  Unlink(e);
  --live_;
  retired_.push_back({e, pos});
  return freed;
}

void NeighborTable::Reclaim() {
  // With lock-free readers the key slot stays reserved until readers are past it.
  for (auto [e, pos] : retired_) {
    if (pos >= 0) rte_hash_free_key_with_position(hash_, pos);
    free_.push_back(e);
  }
  retired_.clear();
}

NeighborTable::HoldResult NeighborTable::Hold(NeighborEntry* e, rte_mbuf* m) {
  if (e->npending >= NeighborEntry::kMaxPending) return HoldResult::kEntryFull;
  if (held_ >= kMaxHeldPackets) return HoldResult::kTableFull;
  e->pending[e->npending++] = m;
  ++held_;
  return HoldResult::kHeld;
}

}  // namespace portcullis::dp
