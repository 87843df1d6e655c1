#include "dataplane/core/packet_meta.h"

namespace portcullis::dp {

int g_meta_offset = -1;

bool RegisterPacketMeta() {
  static const rte_mbuf_dynfield desc = {"portcullis_packet_meta", sizeof(PacketMeta),
                                         alignof(PacketMeta), 0};
  g_meta_offset = rte_mbuf_dynfield_register(&desc);
  return g_meta_offset >= 0;
}

}  // namespace portcullis::dp
