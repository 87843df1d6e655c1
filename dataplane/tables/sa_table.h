// The dataplane's SAs (SAD). Inbound ones are found by SPI through an rte_hash with lock-free
// readers; outbound ones are reached from their VTI (or policy). Every SA has a small id so
// handoff messages and counters can name it. Only the main lcore adds and removes; a removed
// SA is freed after an RCU grace period.
#pragma once

#include <rte_hash.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/core/limits.h"
#include "dataplane/esp/sa.h"

namespace portcullis::dp {

struct SaEntry {
  // The SA and its owner never change while the entry lives: snapshots copy both into their
  // VTIs (Interface::SetOutSa), and a worker that batches on a stale owner would run the SA
  // beside its real owner (two writers of its sequence numbers, GCM nonces used twice).
  SaEntry(esp::SaPtr s, uint16_t o, bool p = false) : sa(std::move(s)), owner(o), pinned(p) {}
  const esp::SaPtr sa;
  // Slot index in the low bits, the slot's use count (never 0, so neither is the id) above
  // them: a packet that waits in a handoff ring while its SA is removed and the slot reused (the
  // grace period does not cover rings) names an id that no longer resolves, instead of the
  // slot's next SA.
  uint32_t id;
  uint32_t spi;
  bool inbound;
  uint16_t ifindex;  // the VTI it belongs to (inbound: decrypted traffic arrives there); 0 = none
  const uint16_t owner;  // the worker that alone runs it (docs/DESIGN.md: SA ownership)
  // Installed for a named worker (an RFC 9611 group's member): not one of the SAs whose owner
  // a tunnel's rekeys follow (TunnelOwner).
  const bool pinned;
  uint32_t reqid;
};

class SaTable {
 public:
  // `capacity` live SAs at most. Slots (and SAD hash entries) are twice that, rounded up to a
  // power of two: the SAs a batch removes or replaces keep theirs until the grace period after
  // the batch, and the batch's new SAs must still find one (capacity live before + at most as
  // many added, whatever the order). An id is the slot in the low bits and the slot's use
  // count above them.
  static absl::StatusOr<std::unique_ptr<SaTable>> Create(const char* name, uint32_t capacity);
  ~SaTable();

  // Packet path.
  SaEntry* LookupInbound(uint32_t spi_be) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &spi_be, &data) < 0) return nullptr;
    return static_cast<SaEntry*>(data);
  }
  // Only the SA the id was given to, while it is installed.
  SaEntry* ById(uint32_t id) const {
    SaEntry* e = __atomic_load_n(&by_slot_[id & slot_mask_], __ATOMIC_ACQUIRE);
    return e != nullptr && e->id == id ? e : nullptr;
  }

  // Main lcore.
  absl::StatusOr<SaEntry*> Add(esp::SaPtr sa, bool inbound, uint16_t ifindex, uint32_t reqid,
                               uint16_t owner, bool pinned = false);
  SaEntry* Find(uint32_t spi, bool inbound) const;
  // Unpublishes; the entry is destroyed by Reclaim() after a grace period.
  void Remove(SaEntry* e);
  void Reclaim();
  // Whether a batch that leaves `live_after` SAs and adds `new_entries` entries (SAs added or
  // replaced, of which `new_inbound` inbound) fits: checked while staging, so that applying
  // the batch cannot fail half way. ResourceExhausted says what is short.
  absl::Status CheckRoom(uint32_t live_after, uint32_t new_entries, uint32_t new_inbound) const;
  template <class F>
  void ForEach(F&& f) const {
    for (uint32_t i = 0; i < slots_; ++i)
      if (by_slot_[i] != nullptr) f(*by_slot_[i]);
  }
  uint32_t count() const { return count_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t slots() const { return slots_; }
  // The SA in a slot (0..slots()-1), if any: for sweeps that visit a few slots at a time.
  const SaEntry* AtSlot(uint32_t slot) const { return by_slot_[slot & slot_mask_]; }
  // Live SAs owned by worker w (of one direction).
  uint32_t load(uint16_t w) const { return w < kMaxWorkers ? load_[w] : 0; }
  uint32_t load(uint16_t w, bool inbound) const {
    return w < kMaxWorkers ? dir_load_[inbound ? 1 : 0][w] : 0;
  }
  // The owner of the live SAs of one direction of a tunnel (its VTI, or without one its
  // reqid), if it has any: what a rekeyed SA (new SPI) inherits, so that a flow does not move
  // to another worker at a rekey (docs/DESIGN.md, SA ownership).
  bool TunnelOwner(bool inbound, uint16_t ifindex, uint32_t reqid, uint16_t* owner) const;

 private:
  SaTable() = default;
  static uint64_t IndexKey(uint32_t spi, bool inbound) {
    return uint64_t{spi} << 1 | (inbound ? 1 : 0);
  }

  rte_hash* hash_ = nullptr;
  uint32_t capacity_ = 0, slots_ = 0, slot_mask_ = 0, use_shift_ = 0, use_mask_ = 0;
  std::unique_ptr<SaEntry*[]> by_slot_;
  std::unique_ptr<uint32_t[]> uses_;
  std::vector<uint32_t> free_slots_;  // FIFO order is not needed: ids carry their use count
  std::vector<std::pair<std::unique_ptr<SaEntry>, int32_t>> retired_;
  absl::flat_hash_map<uint64_t, SaEntry*> index_;  // (SPI, direction) -> live SA
  uint32_t count_ = 0;
  uint32_t hash_used_ = 0;  // SAD hash positions held by live or retired inbound SAs
  uint32_t load_[kMaxWorkers] = {};
  uint32_t dir_load_[2][kMaxWorkers] = {};  // [inbound][worker]
  // TunnelKey -> (owner, live SAs of that tunnel and direction).
  static uint64_t TunnelKey(bool inbound, uint16_t ifindex, uint32_t reqid) {
    if (ifindex == 0 && reqid == 0) return 0;  // no tunnel to name
    return uint64_t{inbound} << 62 | (ifindex ? uint64_t{1} << 61 | ifindex : reqid);
  }
  absl::flat_hash_map<uint64_t, std::pair<uint16_t, uint32_t>> tunnels_;
};

}  // namespace portcullis::dp
