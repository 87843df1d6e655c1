#include "dataplane/api/channel_view.h"

#include <rte_ring_elem.h>

#include "absl/strings/str_format.h"

namespace portcullis::dp::api {
namespace {

constexpr unsigned kRingFlags = RING_F_SP_ENQ | RING_F_SC_DEQ;

rte_ring* RingAt(uint8_t* base, const AreaDesc& a) {
  return reinterpret_cast<rte_ring*>(base + a.offset);
}

void InitRing(rte_ring* r, const char* name, uint32_t count) {
  // Only fails for a bad size or flags, which the static_asserts in channel_layout.h exclude.
  rte_ring_init(r, name, count, kRingFlags);
}

void FillFreeRing(rte_ring* r, uint32_t first, uint32_t count) {
  for (uint32_t i = first; i < first + count; ++i) {
    rte_ring_enqueue_elem(r, &i, sizeof(uint32_t));
  }
}

void InitSlotRings(const ChannelView& v, uint32_t slot) {
  char name[RTE_RING_NAMESIZE];
  absl::SNPrintF(name, sizeof name, "pc_event%d", slot);
  InitRing(v.event_rings[slot], name, kEventRingSize);
  absl::SNPrintF(name, sizeof name, "pc_inject%d", slot);
  InitRing(v.inject_rings[slot], name, kInjectRingSize);
  absl::SNPrintF(name, sizeof name, "pc_inject_free%d", slot);
  InitRing(v.inject_free_rings[slot], name, kInjectRingSize);
  FillFreeRing(v.inject_free_rings[slot], FirstInjectBuffer(slot), kInjectBuffersPerSlot);
  if (slot == kPrimarySlot) {
    InitRing(v.punt_ring, "pc_punt", kPuntRingSize);
    InitRing(v.punt_free_ring, "pc_punt_free", kPuntRingSize);
    FillFreeRing(v.punt_free_ring, 0, kPuntBuffers);
  }
}

// What rte_ring_init(count, kRingFlags) leaves in a ring header, or the field that differs.
const char* RingMismatch(const rte_ring* r, uint32_t count) {
  if (r->size != count) return "size";
  if (r->mask != count - 1) return "mask";
  if (r->capacity != count - 1) return "capacity";
  if (static_cast<unsigned>(r->flags) != kRingFlags) return "flags";
  if (r->prod.sync_type != RTE_RING_SYNC_ST) return "producer sync type";
  if (r->cons.sync_type != RTE_RING_SYNC_ST) return "consumer sync type";
  return nullptr;
}

}  // namespace

absl::Status CheckRings(const ChannelView& v, absl::string_view channel) {
  struct Want {
    const rte_ring* ring;
    uint32_t count;
    const char* name;
    int slot;  // -1: not a per-slot ring
  };
  Want want[3 + 3 * kClientSlots];
  size_t n = 0;
  want[n++] = {v.command_ring, kCommandRingSize, "command", -1};
  want[n++] = {v.punt_ring, kPuntRingSize, "punt", -1};
  want[n++] = {v.punt_free_ring, kPuntRingSize, "punt free", -1};
  for (uint32_t s = 0; s < kClientSlots; ++s) {
    const int slot = static_cast<int>(s);
    want[n++] = {v.event_rings[s], kEventRingSize, "event", slot};
    want[n++] = {v.inject_rings[s], kInjectRingSize, "inject", slot};
    want[n++] = {v.inject_free_rings[s], kInjectRingSize, "inject free", slot};
  }
  for (size_t i = 0; i < n; ++i) {
    const char* field = RingMismatch(want[i].ring, want[i].count);
    if (field == nullptr) continue;
    return absl::FailedPreconditionError(absl::StrFormat(
        "channel '%s': the %s ring%s in the segment has a wrong %s (size %d, mask %#x); "
        "refusing to use a segment this build's vpn-dataplane did not lay out",
        channel, want[i].name,
        want[i].slot < 0 ? std::string() : absl::StrFormat(" of slot %d", want[i].slot), field,
        want[i].ring->size, want[i].ring->mask));
  }
  return absl::OkStatus();
}

ChannelView ChannelView::Resolve(uint8_t* base) {
  ChannelView v;
  v.base = base;
  v.header = reinterpret_cast<SegmentHeader*>(base);
  const Areas& a = v.header->areas;
  v.command_ring = RingAt(base, a.command_ring);
  for (uint32_t s = 0; s < kClientSlots; ++s) {
    v.event_rings[s] = RingAt(base, a.event_rings[s]);
    v.inject_rings[s] = RingAt(base, a.inject_rings[s]);
    v.inject_free_rings[s] = RingAt(base, a.inject_free_rings[s]);
  }
  v.punt_ring = RingAt(base, a.punt_ring);
  v.punt_free_ring = RingAt(base, a.punt_free_ring);
  v.punt_pool = base + a.punt_pool.offset;
  v.inject_pool = base + a.inject_pool.offset;
  return v;
}

void InitAllRings(const ChannelView& v) {
  InitRing(v.command_ring, "pc_command", kCommandRingSize);
  for (uint32_t s = 0; s < kClientSlots; ++s) InitSlotRings(v, s);
}

void ResetSlotRings(const ChannelView& v, uint32_t slot) {
  InitSlotRings(v, slot);
}

}  // namespace portcullis::dp::api
