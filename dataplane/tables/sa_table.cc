#include "dataplane/tables/sa_table.h"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

absl::StatusOr<std::unique_ptr<SaTable>> SaTable::Create(const char* name) {
  std::unique_ptr<SaTable> t(new SaTable);
  rte_hash_parameters p = {};
  p.name = name;
  p.entries = kMaxSas;
  p.key_len = sizeof(uint32_t);
  p.socket_id = SOCKET_ID_ANY;
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  t->hash_ = rte_hash_create(&p);
  if (t->hash_ == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat("rte_hash_create: ", rte_strerror(rte_errno)));
  for (uint32_t id = kMaxSas - 1; id >= 1; --id) t->free_ids_.push_back(id);
  return t;
}

SaTable::~SaTable() {
  for (uint32_t i = 0; i < kMaxSas; ++i) delete by_id_[i];
  rte_hash_free(hash_);
}

absl::StatusOr<SaEntry*> SaTable::Add(esp::SaPtr sa, bool inbound, uint16_t ifindex, uint32_t reqid,
                                      uint16_t owner) {
  if (Find(sa->spi, inbound) != nullptr)
    return absl::AlreadyExistsError(
        absl::StrCat("SA ", absl::Hex(sa->spi), inbound ? " in" : " out", " exists"));
  if (free_ids_.empty()) return absl::ResourceExhaustedError("SA table full");
  auto e = std::make_unique<SaEntry>();
  e->spi = sa->spi;
  e->sa = std::move(sa);
  e->inbound = inbound;
  e->ifindex = ifindex;
  e->reqid = reqid;
  e->owner = owner;
  e->id = free_ids_.back();
  if (inbound) {
    uint32_t key = rte_cpu_to_be_32(e->spi);
    if (int rc = rte_hash_add_key_data(hash_, &key, e.get()); rc < 0)
      return absl::ResourceExhaustedError(absl::StrCat("SAD hash: ", rte_strerror(-rc)));
  }
  free_ids_.pop_back();
  SaEntry* raw = e.release();
  __atomic_store_n(&by_id_[raw->id], raw, __ATOMIC_RELEASE);
  ++count_;
  return raw;
}

SaEntry* SaTable::Find(uint32_t spi, bool inbound) const {
  for (uint32_t i = 1; i < kMaxSas; ++i)
    if (by_id_[i] != nullptr && by_id_[i]->spi == spi && by_id_[i]->inbound == inbound)
      return by_id_[i];
  return nullptr;
}

void SaTable::Remove(SaEntry* e) {
  int32_t pos = -1;
  if (e->inbound) {
    uint32_t key = rte_cpu_to_be_32(e->spi);
    pos = rte_hash_del_key(hash_, &key);
  }
  __atomic_store_n(&by_id_[e->id], nullptr, __ATOMIC_RELEASE);
  --count_;
  retired_.push_back({std::unique_ptr<SaEntry>(e), pos});
}

void SaTable::Reclaim() {
  for (auto& [e, pos] : retired_) {
    if (pos >= 0) rte_hash_free_key_with_position(hash_, pos);
    free_ids_.push_back(e->id);
  }
  retired_.clear();  // destroys the SAs: keys wiped (esp::SaDeleter)
}

}  // namespace portcullis::dp
