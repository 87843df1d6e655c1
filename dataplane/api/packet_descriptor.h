// IKE datagrams between the dataplane and its clients: punt (dataplane -> primary client) and
// inject (client -> dataplane). The bytes live in a buffer pool inside the segment; the rings
// carry these fixed-size descriptors and the free-buffer rings carry buffer indices.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/api/messages.h"

namespace portcullis::dp::api {

inline constexpr size_t kPacketBufferSize = 8192;  // the largest datagram either way
inline constexpr size_t kPacketDescriptorSize = 64;

// PacketMeta.flags bits; every other bit is reserved.
// Punt: the datagram came to UDP 4500 behind a non-ESP marker (RFC 3948), which the dataplane
// has already removed. Inject: send it from 4500 with the marker put back in front.
inline constexpr uint8_t kNonEspMarker = 0x01;

// Addresses and ports as seen on the wire (punt) or to put on the wire (inject). Ports are
// host order.
struct PacketMeta {
  IpAddr src;
  IpAddr dst;
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t ifindex;  // punt: where it arrived; inject: where to send it, 0 = route lookup
  Family family;
  uint8_t flags;
  uint8_t reserved[2];
};

struct PacketDescriptor {
  uint32_t buffer;  // index into the pool
  uint32_t length;  // bytes used in the buffer, 1..kPacketBufferSize
  PacketMeta meta;
  uint8_t reserved[12];
};

static_assert(sizeof(PacketMeta) == 44 && kWireSafe<PacketMeta>);
static_assert(sizeof(PacketDescriptor) == kPacketDescriptorSize && kWireSafe<PacketDescriptor>);

}  // namespace portcullis::dp::api
