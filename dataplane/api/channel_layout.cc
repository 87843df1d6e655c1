#include "dataplane/api/channel_layout.h"

#include <rte_ring.h>

#include "absl/strings/str_format.h"

namespace portcullis::dp::api {
namespace {

// Page alignment lets a client mlock/madvise one area (the command ring holds keys) and keeps
// every ring's cache lines to itself.
constexpr uint64_t kAreaAlign = 4096;

uint64_t AlignUp(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}

class Allocator {
 public:
  explicit Allocator(uint64_t start) : next_(AlignUp(start, kAreaAlign)) {}

  // rte_ring's own header sits in front of its elements; DPDK says how big the whole is, so a
  // client built against a DPDK with a different struct rte_ring gets a different layout and
  // is refused.
  AreaDesc Ring(uint32_t count, uint32_t elem_size) {
    ssize_t bytes = rte_ring_get_memsize_elem(elem_size, count);
    return Take(bytes < 0 ? 0 : static_cast<uint64_t>(bytes), count, elem_size);
  }

  AreaDesc Pool(uint32_t count, uint32_t elem_size) {
    return Take(uint64_t{count} * elem_size, count, elem_size);
  }

  uint64_t end() const { return next_; }

 private:
  AreaDesc Take(uint64_t bytes, uint32_t count, uint32_t elem_size) {
    AreaDesc a{next_, bytes, count, elem_size};
    next_ = AlignUp(next_ + bytes, kAreaAlign);
    return a;
  }

  uint64_t next_;
};

}  // namespace

Layout ComputeLayout() {
  Layout l{};
  l.header_size = sizeof(SegmentHeader);
  Allocator alloc(sizeof(SegmentHeader));
  Areas& a = l.areas;
  a.command_ring = alloc.Ring(kCommandRingSize, sizeof(Message));
  for (auto& r : a.event_rings) r = alloc.Ring(kEventRingSize, sizeof(Event));
  a.punt_ring = alloc.Ring(kPuntRingSize, sizeof(PacketDescriptor));
  a.punt_free_ring = alloc.Ring(kPuntRingSize, sizeof(uint32_t));
  a.punt_pool = alloc.Pool(kPuntBuffers, kPacketBufferSize);
  for (auto& r : a.inject_rings) r = alloc.Ring(kInjectRingSize, sizeof(PacketDescriptor));
  for (auto& r : a.inject_free_rings) r = alloc.Ring(kInjectRingSize, sizeof(uint32_t));
  a.inject_pool = alloc.Pool(kClientSlots * kInjectBuffersPerSlot, kPacketBufferSize);
  l.segment_size = alloc.end();
  return l;
}

absl::Status CheckHeader(const SegmentHeader& h, uint64_t mapped_size, absl::string_view channel) {
  if (mapped_size < kHeaderPrefixSize) {
    return absl::FailedPreconditionError(
        absl::StrFormat("channel '%s': segment is %d bytes, too small to be a Portcullis channel",
                        channel, mapped_size));
  }
  if (h.magic != kChannelMagic) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "channel '%s': segment is not a Portcullis channel (magic %016x)", channel, h.magic));
  }
  if (h.layout_version != kLayoutVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "channel '%s': vpn-dataplane (pid %d) speaks channel layout version %d but this "
        "program speaks version %d; install vpnd and vpn-dataplane from the same build",
        channel, h.server_pid, h.layout_version, kLayoutVersion));
  }
  const Layout want = ComputeLayout();
  const char* what = nullptr;
  if (mapped_size < sizeof(SegmentHeader) || h.header_size != want.header_size) {
    what = "header size";
  } else if (h.segment_size != want.segment_size || mapped_size < want.segment_size) {
    what = "segment size";
  } else if (h.client_slots != kClientSlots || h.max_batch_messages == 0 ||
             h.max_batch_messages > kMaxBatchMessagesLimit) {
    what = "slot count or batch limit";
  } else if (h.message_size != sizeof(Message) || h.event_size != sizeof(Event) ||
             h.packet_descriptor_size != sizeof(PacketDescriptor) ||
             h.packet_buffer_size != kPacketBufferSize) {
    what = "element sizes";
  } else if (!(h.areas == want.areas)) {
    what = "ring and pool offsets";
  }
  if (what != nullptr) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "channel '%s': vpn-dataplane (pid %d) and this program both speak layout version %d "
        "but disagree on %s; rebuild both from the same tree",
        channel, h.server_pid, kLayoutVersion, what));
  }
  return absl::OkStatus();
}

}  // namespace portcullis::dp::api
