#include "dataplane/tables/sa_table.h"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

absl::StatusOr<std::unique_ptr<SaTable>> SaTable::Create(const char* name, uint32_t capacity) {
  if (capacity == 0 || capacity > (1u << 24))
    return absl::InvalidArgumentError(absl::StrCat("SA table: capacity ", capacity));
  std::unique_ptr<SaTable> t(new SaTable);
  t->capacity_ = capacity;
  t->use_shift_ = 1;
  while ((1u << t->use_shift_) < 2 * capacity) ++t->use_shift_;
  t->slots_ = 1u << t->use_shift_;
  t->slot_mask_ = t->slots_ - 1;
  t->use_mask_ = (1u << (32 - t->use_shift_)) - 1;
  t->by_slot_.reset(new SaEntry*[t->slots_]());
  t->uses_.reset(new uint32_t[t->slots_]());
  rte_hash_parameters p = {};
  p.name = name;
  p.entries = t->slots_;
  p.key_len = sizeof(uint32_t);
  p.socket_id = SOCKET_ID_ANY;
  // Extendable buckets: a key that finds its two buckets full goes to an overflow bucket
  // instead of failing, so an insert succeeds whenever a position is free (cuckoo alone
  // refuses some keys well before the table is full).
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  t->hash_ = rte_hash_create(&p);
  if (t->hash_ == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat("rte_hash_create: ", rte_strerror(rte_errno)));
  t->free_slots_.reserve(t->slots_);
  for (uint32_t slot = t->slots_; slot-- > 0;) t->free_slots_.push_back(slot);
  t->index_.reserve(capacity);
  return t;
}

SaTable::~SaTable() {
  for (uint32_t i = 0; i < slots_; ++i) delete by_slot_[i];
  rte_hash_free(hash_);
}

absl::Status SaTable::CheckRoom(uint32_t live_after, uint32_t new_entries,
                                uint32_t new_inbound) const {
  if (live_after > capacity_)
    return absl::ResourceExhaustedError(absl::StrCat("SA table full: the batch would leave ",
                                                     live_after, " SAs, the dataplane holds ",
                                                     capacity_, " (--max-sas)"));
  // Cannot happen while slots_ is twice the capacity; checked so that it never half-applies.
  if (new_entries > free_slots_.size() || hash_used_ + new_inbound > slots_)
    return absl::ResourceExhaustedError(
        absl::StrCat("SA table: ", new_entries, " new SAs but only ", free_slots_.size(),
                     " free slots until the removed ones' grace period ends"));
  return absl::OkStatus();
}

absl::StatusOr<SaEntry*> SaTable::Add(esp::SaPtr sa, bool inbound, uint16_t ifindex, uint32_t reqid,
                                      uint16_t owner, bool pinned) {
  if (Find(sa->spi, inbound) != nullptr)
    return absl::AlreadyExistsError(
        absl::StrCat("SA ", absl::Hex(sa->spi), inbound ? " in" : " out", " exists"));
  if (count_ >= capacity_ || free_slots_.empty())
    return absl::ResourceExhaustedError("SA table full");
  const uint32_t spi = sa->spi;
  auto e = std::make_unique<SaEntry>(std::move(sa), owner, pinned);
  e->spi = spi;
  e->inbound = inbound;
  e->ifindex = ifindex;
  e->reqid = reqid;
  const uint32_t slot = free_slots_.back();
  // The use count wraps after 2^(32 - use_shift_) reuses of one slot (2,048 at a million SAs);
  // a packet never waits in a ring that long.
  const uint32_t use =
      (uses_[slot] & use_mask_) + 1 > use_mask_ ? 1 : (uses_[slot] & use_mask_) + 1;
  e->id = use << use_shift_ | slot;
  if (inbound) {
    uint32_t key = rte_cpu_to_be_32(e->spi);
    if (int rc = rte_hash_add_key_data(hash_, &key, e.get()); rc < 0)
      return absl::ResourceExhaustedError(absl::StrCat("SAD hash: ", rte_strerror(-rc)));
    ++hash_used_;
  }
  free_slots_.pop_back();
  uses_[slot] = use;
  SaEntry* raw = e.release();
  __atomic_store_n(&by_slot_[slot], raw, __ATOMIC_RELEASE);
  index_[IndexKey(raw->spi, inbound)] = raw;
  ++count_;
  if (owner < kMaxWorkers) {
    ++load_[owner];
    ++dir_load_[inbound ? 1 : 0][owner];
  }
  if (const uint64_t key = pinned ? 0 : TunnelKey(inbound, ifindex, reqid)) {
    auto& [tunnel_owner, live] = tunnels_[key];
    if (live++ == 0) tunnel_owner = owner;
  }
  return raw;
}

bool SaTable::TunnelOwner(bool inbound, uint16_t ifindex, uint32_t reqid, uint16_t* owner) const {
  const uint64_t key = TunnelKey(inbound, ifindex, reqid);
  if (key == 0) return false;
  auto it = tunnels_.find(key);
  if (it == tunnels_.end()) return false;
  *owner = it->second.first;
  return true;
}

SaEntry* SaTable::Find(uint32_t spi, bool inbound) const {
  auto it = index_.find(IndexKey(spi, inbound));
  return it == index_.end() ? nullptr : it->second;
}

void SaTable::Remove(SaEntry* e) {
  int32_t pos = -1;
  if (e->inbound) {
    uint32_t key = rte_cpu_to_be_32(e->spi);
    pos = rte_hash_del_key(hash_, &key);
  }
  __atomic_store_n(&by_slot_[e->id & slot_mask_], nullptr, __ATOMIC_RELEASE);
  index_.erase(IndexKey(e->spi, e->inbound));
  --count_;
  if (e->owner < kMaxWorkers) {
    --load_[e->owner];
    --dir_load_[e->inbound ? 1 : 0][e->owner];
  }
  if (const uint64_t key = e->pinned ? 0 : TunnelKey(e->inbound, e->ifindex, e->reqid)) {
    auto it = tunnels_.find(key);
    if (it != tunnels_.end() && --it->second.second == 0) tunnels_.erase(it);
  }
  retired_.push_back({std::unique_ptr<SaEntry>(e), pos});
}

void SaTable::Reclaim() {
  for (auto& [e, pos] : retired_) {
    if (pos >= 0) {
      rte_hash_free_key_with_position(hash_, pos);
      --hash_used_;
    }
    free_slots_.push_back(e->id & slot_mask_);
  }
  retired_.clear();  // destroys the SAs: keys wiped (esp::SaDeleter)
}

}  // namespace portcullis::dp
