// Sanity of packet descriptors crossing the channel: a descriptor names a buffer index and a
// length that the receiving side is about to use as a memory range, so both sides check them
// against the pool before touching anything.
#pragma once

#include <cstdint>

#include "dataplane/api/packet_descriptor.h"

namespace portcullis::dp::api {

// Family, canonical addresses, non-zero ports, known flags, zero reserved bytes.
bool PacketMetaValid(const PacketMeta& meta);

// The buffer lies in [first_buffer, first_buffer + buffer_count), the length fits a buffer,
// reserved bytes are zero.
bool DescriptorValid(const PacketDescriptor& d, uint32_t first_buffer, uint32_t buffer_count);

}  // namespace portcullis::dp::api
