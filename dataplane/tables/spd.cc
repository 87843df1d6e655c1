#include "dataplane/tables/spd.h"

#include <netinet/in.h>

#include <cstring>

namespace portcullis::dp {

PacketSelector SelectorOf(const uint8_t* ip, uint32_t l3_len, uint32_t avail) {
  PacketSelector s{};
  std::memcpy(&s.src, ip + 12, 4);
  std::memcpy(&s.dst, ip + 16, 4);
  s.proto = ip[9];
  const bool later_fragment = ((ip[6] & 0x1f) | ip[7]) != 0;
  if (!later_fragment && avail >= l3_len + 4 &&
      (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP || s.proto == IPPROTO_SCTP)) {
    const uint8_t* l4 = ip + l3_len;
    s.sport = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
    s.dport = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
  }
  return s;
}

}  // namespace portcullis::dp
