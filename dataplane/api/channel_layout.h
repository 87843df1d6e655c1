// The shared-memory segment: a versioned header followed by page-aligned rings and buffer pools.
// The dataplane (server) creates it and writes where every area is; a client only trusts a
// header whose magic and layout version match its own build and whose area table equals what
// its own build computes, so a mismatched vpnd/dataplane pair fails at attach, not later with
// garbage.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "dataplane/api/events.h"
#include "dataplane/api/messages.h"
#include "dataplane/api/packet_descriptor.h"

namespace portcullis::dp::api {

inline constexpr uint64_t kChannelMagic = 0x314e48434c554350ull;  // "PCULCHN1" in memory
// 3: firewall; 4: acquire's VTI; 5: bonds; 6: batches streamed in chunks, max_batch_messages
// set at run time, reject reasons kBatchTooLarge and kStagingBusy; 7: VRRP groups and their
// state events; 8: an SA's worker and a VTI binding's per-worker members (RFC 9611 groups).
inline constexpr uint32_t kLayoutVersion = 8;

inline constexpr uint32_t kClientSlots = 4;
inline constexpr uint32_t kPrimarySlot = 0;  // vpnd; gets punts and unsolicited events

inline constexpr uint32_t kCommandRingSize = 8192;  // 2 MiB of 256-byte messages
// A batch streams through the command ring in chunks of at most kBatchChunkMessages (each
// enqueued whole), so a batch can be far larger than the ring; the dataplane stages it and
// applies it only once its last message arrived. How large a batch may get is the dataplane's
// --max-batch-messages (SegmentHeader::max_batch_messages), which also bounds the staging all
// client slots together hold beyond kRetainedStagingMessages each (256 bytes a message, mapped
// while a batch arrives and unmapped after it): that is what keeps clients from exhausting the
// dataplane's memory.
inline constexpr uint32_t kBatchChunkMessages = 1024;
inline constexpr uint32_t kDefaultMaxBatchMessages = 262144;  // 64 MiB of staging at most
inline constexpr uint32_t kMaxBatchMessagesLimit = 16777216;  // what --max-batch-messages takes
// Staging every slot keeps between batches (the size of an ordinary commit or SA install).
inline constexpr uint32_t kRetainedStagingMessages = 4096;
inline constexpr uint32_t kEventRingSize = 1024;
inline constexpr uint32_t kPuntBuffers = 256;
inline constexpr uint32_t kPuntRingSize = 512;
inline constexpr uint32_t kInjectBuffersPerSlot = 64;
inline constexpr uint32_t kInjectRingSize = 128;

constexpr bool IsPowerOfTwo(uint32_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}
static_assert(IsPowerOfTwo(kCommandRingSize) && IsPowerOfTwo(kEventRingSize) &&
              IsPowerOfTwo(kPuntRingSize) && IsPowerOfTwo(kInjectRingSize));
// An rte_ring of size N holds N-1 elements. A chunk must fit in one enqueue, and a
// descriptor or free index must always fit in its ring (no one ever waits for room there).
static_assert(kBatchChunkMessages <= (kCommandRingSize - 1) / 2);
static_assert(kRetainedStagingMessages <= kDefaultMaxBatchMessages &&
              kDefaultMaxBatchMessages <= kMaxBatchMessagesLimit);
static_assert(kPuntBuffers <= kPuntRingSize - 1);
static_assert(kInjectBuffersPerSlot <= kInjectRingSize - 1);
static_assert(kClientSlots <= 255);

enum class SegmentState : uint32_t {
  kInitializing = 0,
  kReady = 1,
  kClosed = 2,  // the server shut down cleanly; the name is already unlinked
};

// ClientSlot.owner_pid values besides a live pid.
inline constexpr int32_t kSlotFree = 0;
inline constexpr int32_t kSlotReleased = -1;  // detached; the server resets it, then frees it

struct AreaDesc {
  uint64_t offset;  // from the start of the segment, page aligned
  uint64_t bytes;
  uint32_t count;      // ring size or buffer count
  uint32_t elem_size;  // ring element or buffer size
  bool operator==(const AreaDesc&) const = default;
};

struct Areas {
  AreaDesc command_ring;                     // Message; clients -> server, one producer at a time
  AreaDesc event_rings[kClientSlots];        // Event; server -> that slot
  AreaDesc punt_ring;                        // PacketDescriptor; server -> primary
  AreaDesc punt_free_ring;                   // uint32 buffer index; primary -> server
  AreaDesc punt_pool;                        // kPuntBuffers x kPacketBufferSize
  AreaDesc inject_rings[kClientSlots];       // PacketDescriptor; that slot -> server
  AreaDesc inject_free_rings[kClientSlots];  // uint32 buffer index; server -> that slot
  AreaDesc inject_pool;  // kClientSlots x kInjectBuffersPerSlot buffers, a range per slot
  bool operator==(const Areas&) const = default;
};

// A client attachment. Only a client moves owner_pid from kSlotFree (claim, by CAS) and to
// kSlotReleased (detach); only the server moves it back to kSlotFree, after resetting the
// slot's rings, and bumps epoch as it does so that messages still queued from the previous
// owner are recognisable.
struct alignas(64) ClientSlot {
  int32_t owner_pid;
  uint32_t epoch;
  uint64_t attaches;
  uint8_t reserved[48];
};

// Written by the server (producer_recoveries also by clients); read by anyone, e.g. dpctl.
// Per-reason rejects count batches, except kStaleSender which counts messages.
struct ChannelCounters {
  uint64_t messages_consumed;
  uint64_t batches_applied;
  uint64_t batches_failed;    // valid, but the dataplane refused to apply
  uint64_t batches_rejected;  // contract violations, see rejects[]
  uint64_t rejects[kRejectReasonCount];
  uint64_t acks_dropped;  // the sender read no events and its ack backlog overflowed
  uint64_t events_posted;
  uint64_t events_dropped;  // no client on the slot, or its ring full
  uint64_t punted;
  uint64_t punt_drop_no_client;
  uint64_t punt_drop_pool_empty;
  uint64_t punt_drop_ring_full;
  uint64_t punt_drop_too_big;
  uint64_t injected;
  uint64_t inject_rejected;  // malformed descriptors
  uint64_t slots_reclaimed;
  uint64_t producer_recoveries;  // command-ring enqueues torn by a dead client, rolled back
};

struct SegmentHeader {
  // These three never move in any layout version: they are what lets a client name both
  // versions, and a starting server recognise a dead predecessor.
  uint64_t magic;  // written last when the segment is created
  uint32_t layout_version;
  int32_t server_pid;

  uint64_t generation;  // differs at every server start: clients resynchronise on a change
  SegmentState state;
  uint32_t header_size;
  uint64_t segment_size;
  uint32_t client_slots;
  uint32_t max_batch_messages;  // the dataplane's --max-batch-messages
  uint32_t message_size;
  uint32_t event_size;
  uint32_t packet_descriptor_size;
  uint32_t packet_buffer_size;
  Areas areas;

  // Pid of the client enqueueing on the command ring (see command_producer.h); 0 = none.
  alignas(64) int32_t command_producer;
  alignas(64) ClientSlot slots[kClientSlots];
  alignas(64) ChannelCounters counters;
};

static_assert(offsetof(SegmentHeader, magic) == 0);
static_assert(offsetof(SegmentHeader, layout_version) == 8);
static_assert(offsetof(SegmentHeader, server_pid) == 12);
inline constexpr size_t kHeaderPrefixSize = 16;

struct Layout {
  uint64_t header_size;
  uint64_t segment_size;
  Areas areas;
};

// Where this build puts everything.
Layout ComputeLayout();

// Everything a client checks before it touches anything but the header: magic, version (the
// error names both), element sizes and the area table against ComputeLayout(), and that the
// segment really is as big as it says.
absl::Status CheckHeader(const SegmentHeader& header, uint64_t mapped_size,
                         absl::string_view channel);

}  // namespace portcullis::dp::api
