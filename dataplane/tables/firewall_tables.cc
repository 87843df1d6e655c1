#include "dataplane/tables/firewall_tables.h"

#include <atomic>

namespace portcullis::dp {

uint32_t NextFwChainTag() {
  // 2^32 chains before one comes back: a commit a second for a century.
  static std::atomic<uint32_t> next{0};
  uint32_t t = next.fetch_add(1, std::memory_order_relaxed) + 1;
  if (t == 0) t = next.fetch_add(1, std::memory_order_relaxed) + 1;
  return t;
}

void FwTables::AllocateCounters(uint32_t nworkers) {
  const size_t n = slots.size();
  for (uint32_t w = 0; w < nworkers && w < kMaxWorkers; ++w) {
    FwWorkerCounters& c = workers[w];
    c.packets.reset(new uint64_t[n]());
    c.bytes.reset(new uint64_t[n]());
    c.suppressed.reset(new uint64_t[n]());
    c.log_tokens.reset(new uint64_t[n]());
    c.log_refill_tsc.reset(new uint64_t[n]());
  }
  base_packets.assign(n, 0);
  base_bytes.assign(n, 0);
  base_suppressed.assign(n, 0);
}

namespace {
uint64_t Sum(const FwTables& t, uint32_t slot, uint32_t nworkers,
             std::unique_ptr<uint64_t[]> FwWorkerCounters::*field) {
  uint64_t s = 0;
  for (uint32_t w = 0; w < nworkers && w < kMaxWorkers; ++w)
    if (t.workers[w].*field) s += __atomic_load_n(&(t.workers[w].*field)[slot], __ATOMIC_RELAXED);
  return s;
}
}  // namespace

uint64_t FwTables::SlotPackets(uint32_t slot, uint32_t nworkers) const {
  return base_packets[slot] + Sum(*this, slot, nworkers, &FwWorkerCounters::packets);
}
uint64_t FwTables::SlotBytes(uint32_t slot, uint32_t nworkers) const {
  return base_bytes[slot] + Sum(*this, slot, nworkers, &FwWorkerCounters::bytes);
}
uint64_t FwTables::SlotSuppressed(uint32_t slot, uint32_t nworkers) const {
  return base_suppressed[slot] + Sum(*this, slot, nworkers, &FwWorkerCounters::suppressed);
}

}  // namespace portcullis::dp
