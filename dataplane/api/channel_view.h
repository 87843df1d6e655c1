// Typed pointers into a mapped segment, and the server's (re)initialisation of its rings.
// Offsets come from the header, so server and client may map the segment at different
// addresses; rte_ring itself stores only indices.
#pragma once

#include <rte_ring.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "dataplane/api/channel_layout.h"

namespace portcullis::dp::api {

struct ChannelView {
  uint8_t* base = nullptr;
  SegmentHeader* header = nullptr;
  rte_ring* command_ring = nullptr;
  rte_ring* event_rings[kClientSlots] = {};
  rte_ring* punt_ring = nullptr;
  rte_ring* punt_free_ring = nullptr;
  uint8_t* punt_pool = nullptr;
  rte_ring* inject_rings[kClientSlots] = {};
  rte_ring* inject_free_rings[kClientSlots] = {};
  uint8_t* inject_pool = nullptr;

  // Resolves the header's area table; the caller has already checked it (CheckHeader) or
  // written it (the server).
  static ChannelView Resolve(uint8_t* base);

  uint8_t* punt_buffer(uint32_t index) const {
    return punt_pool + size_t{index} * kPacketBufferSize;
  }
  uint8_t* inject_buffer(uint32_t index) const {
    return inject_pool + size_t{index} * kPacketBufferSize;
  }
};

// Client side, after CheckHeader and Resolve and before any ring is touched: every rte_ring
// header in the segment must say what InitAllRings writes (size, mask, capacity, flags,
// single-producer/single-consumer sync). rte_ring indexes its elements with the mask and size
// it finds there, so a header someone else wrote would send enqueues and dequeues outside the
// ring; the error names the ring and the field.
absl::Status CheckRings(const ChannelView& view, absl::string_view channel);

// Server side only. Every ring is single-producer/single-consumer at the rte_ring level: the
// command ring's many clients take turns through the producer lock (command_producer.h),
// because a process killed inside a multi-producer enqueue would stall every other producer
// forever and leave no record of what it had reserved.
void InitAllRings(const ChannelView& view);

// Back to the state of a fresh attach: empty event and inject rings, every inject buffer of
// the slot on its free ring; for the primary slot also the punt rings and pool. Only safe
// while no live client owns the slot.
void ResetSlotRings(const ChannelView& view, uint32_t slot);

// Inject buffers [first, first + kInjectBuffersPerSlot) belong to `slot`.
constexpr uint32_t FirstInjectBuffer(uint32_t slot) {
  return slot * kInjectBuffersPerSlot;
}

}  // namespace portcullis::dp::api
