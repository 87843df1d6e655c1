#include "dataplane/tables/neighbor_table.h"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

absl::StatusOr<std::unique_ptr<NeighborTable>> NeighborTable::Create(const char* name) {
  std::unique_ptr<NeighborTable> t(new NeighborTable);
  rte_hash_parameters p = {};
  p.name = name;
  p.entries = kMaxNeighbors;
  p.key_len = sizeof(uint64_t);
  p.socket_id = SOCKET_ID_ANY;
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  t->hash_ = rte_hash_create(&p);
  if (t->hash_ == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat("rte_hash_create: ", rte_strerror(rte_errno)));
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

NeighborEntry* NeighborTable::GetOrCreate(uint16_t ifindex, uint32_t ip) {
  if (NeighborEntry* e = Find(ifindex, ip)) return e;
  NeighborEntry* e;
  if (!free_.empty()) {
    e = free_.back();
    free_.pop_back();
  } else {
    if (entries_.size() >= kMaxNeighbors) return nullptr;
    entries_.push_back(std::make_unique<NeighborEntry>());
    e = entries_.back().get();
  }
  e->mac_word.store(0, std::memory_order_relaxed);
  e->ifindex = ifindex;
  e->ip = ip;
  e->state = NeighborState::kIncomplete;
  e->updated_ns = e->requested_ns = 0;
  e->requests_sent = 0;
  e->npending = 0;
  uint64_t key = Key(ifindex, ip);
  if (rte_hash_add_key_data(hash_, &key, e) < 0) {
    e->ifindex = 0;
    free_.push_back(e);
    return nullptr;
  }
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
}

void NeighborTable::Invalidate(NeighborEntry* e) {
  e->mac_word.store(0, std::memory_order_release);
  e->state = NeighborState::kIncomplete;
}

void NeighborTable::Remove(NeighborEntry* e) {
  uint64_t key = Key(e->ifindex, e->ip);
  int32_t pos = rte_hash_del_key(hash_, &key);
  for (uint8_t i = 0; i < e->npending; ++i) rte_pktmbuf_free(e->pending[i]);
  e->npending = 0;
  e->ifindex = 0;
  retired_.push_back({e, pos});
}

void NeighborTable::Reclaim() {
  // With lock-free readers the key slot stays reserved until readers are past it.
  for (auto [e, pos] : retired_) {
    if (pos >= 0) rte_hash_free_key_with_position(hash_, pos);
    free_.push_back(e);
  }
  retired_.clear();
}

}  // namespace portcullis::dp
