// The dataplane's SAs (SAD). Inbound ones are found by SPI through an rte_hash with lock-free
// readers; outbound ones are reached from their VTI (or policy). Every SA has a small id so
// handoff messages and counters can name it. Only the main lcore adds and removes; a removed
// SA is freed after an RCU grace period.
#pragma once

#include <rte_hash.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/core/limits.h"
#include "dataplane/esp/sa.h"

namespace portcullis::dp {

struct SaEntry {
  esp::SaPtr sa;
  uint32_t id;
  uint32_t spi;
  bool inbound;
  uint16_t ifindex;  // the VTI it belongs to (inbound: decrypted traffic arrives there); 0 = none
  uint16_t owner;    // the worker that alone runs it (docs/DESIGN.md: SA ownership)
  uint32_t reqid;
};

class SaTable {
 public:
  static absl::StatusOr<std::unique_ptr<SaTable>> Create(const char* name);
  ~SaTable();

  // Packet path.
  SaEntry* LookupInbound(uint32_t spi_be) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &spi_be, &data) < 0) return nullptr;
    return static_cast<SaEntry*>(data);
  }
  SaEntry* ById(uint32_t id) const {
    return id < kMaxSas ? __atomic_load_n(&by_id_[id], __ATOMIC_ACQUIRE) : nullptr;
  }

  // Main lcore.
  absl::StatusOr<SaEntry*> Add(esp::SaPtr sa, bool inbound, uint16_t ifindex, uint32_t reqid,
                               uint16_t owner);
  SaEntry* Find(uint32_t spi, bool inbound) const;
  // Unpublishes; the entry is destroyed by Reclaim() after a grace period.
  void Remove(SaEntry* e);
  void Reclaim();
  template <class F>
  void ForEach(F&& f) const {
    for (uint32_t i = 1; i < kMaxSas; ++i)
      if (by_id_[i] != nullptr) f(*by_id_[i]);
  }
  uint32_t count() const { return count_; }

 private:
  SaTable() = default;
  rte_hash* hash_ = nullptr;
  SaEntry* by_id_[kMaxSas] = {};
  std::vector<uint32_t> free_ids_;
  std::vector<std::pair<std::unique_ptr<SaEntry>, int32_t>> retired_;
  uint32_t count_ = 0;
};

}  // namespace portcullis::dp
