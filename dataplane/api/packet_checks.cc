#include "dataplane/api/packet_checks.h"

namespace portcullis::dp::api {
namespace {

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

bool PacketMetaValid(const PacketMeta& m) {
  size_t width = m.family == Family::kIpv4 ? 4 : m.family == Family::kIpv6 ? 16 : 0;
  if (width == 0) return false;
  if (!AllZero(m.src.bytes + width, sizeof m.src.bytes - width) ||
      !AllZero(m.dst.bytes + width, sizeof m.dst.bytes - width)) {
    return false;
  }
  if (m.src_port == 0 || m.dst_port == 0) return false;
  if ((m.flags & ~kNonEspMarker) != 0) return false;
  return AllZero(m.reserved, sizeof m.reserved);
}

bool DescriptorValid(const PacketDescriptor& d, uint32_t first_buffer, uint32_t buffer_count) {
  return d.buffer >= first_buffer && d.buffer - first_buffer < buffer_count && d.length > 0 &&
         d.length <= kPacketBufferSize && AllZero(d.reserved, sizeof d.reserved) &&
         PacketMetaValid(d.meta);
}

}  // namespace portcullis::dp::api
