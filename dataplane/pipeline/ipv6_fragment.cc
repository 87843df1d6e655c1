#include "dataplane/pipeline/ipv6_fragment.h"

#include <rte_byteorder.h>
#include <rte_ip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace portcullis::dp {

namespace {

constexpr uint8_t kFragmentHeader = 44;
constexpr uint32_t kHeaders = sizeof(rte_ipv6_hdr) + 8;  // each fragment's: IPv6, fragment

bool Extension(uint8_t nh) {
  return nh == 0 || nh == 43 || nh == kFragmentHeader || nh == 60;
}

void FreeAll(rte_mbuf** out, int n) {
  for (int k = 0; k < n; ++k) rte_pktmbuf_free(out[k]);
}

}  // namespace

int FragmentIpv6(const rte_mbuf* m, uint32_t mtu, uint32_t id, rte_mempool* pool,
                 uint16_t tail_reserve, rte_mbuf** out, int max_out) {
  rte_ipv6_hdr hdr;
  const void* h = rte_pktmbuf_read(m, 0, sizeof hdr, &hdr);
  if (h == nullptr || mtu < 1280) return -EINVAL;
  if (h != &hdr) std::memcpy(&hdr, h, sizeof hdr);
  const uint32_t payload = rte_be_to_cpu_16(hdr.payload_len);
  // Only a plain header: an unfragmentable part of extension headers would have to go in
  // front of every fragment, and nothing of ours carries one.
  if ((hdr.vtc_flow & RTE_BE32(0xf0000000)) != RTE_BE32(0x60000000) || Extension(hdr.proto) ||
      payload == 0 || sizeof hdr + payload > m->pkt_len)
    return -EINVAL;
  const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
  if (room <= tail_reserve + kHeaders + 8u) return -EINVAL;
  // Every fragment's data but the last's is a multiple of 8 bytes (the offset counts eights).
  const uint32_t chunk_max = (std::min(mtu, room - tail_reserve) - kHeaders) & ~7u;
  int count = 0;
  for (uint32_t done = 0; done < payload; ++count) {
    const uint32_t chunk = std::min(payload - done, chunk_max);
    const bool last = done + chunk == payload;
    if (count == max_out) {
      FreeAll(out, count);
      return -EMSGSIZE;
    }
    rte_mbuf* f = rte_pktmbuf_alloc(pool);
    uint8_t* d = f ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(f, kHeaders + chunk)) : nullptr;
    if (d == nullptr) {
      if (f) rte_pktmbuf_free(f);
      FreeAll(out, count);
      return -ENOBUFS;
    }
    const void* p = rte_pktmbuf_read(m, sizeof hdr + done, chunk, d + kHeaders);
    if (p == nullptr) {
      rte_pktmbuf_free(f);
      FreeAll(out, count);
      return -EINVAL;
    }
    if (p != d + kHeaders) std::memcpy(d + kHeaders, p, chunk);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(d);
    *ip = hdr;
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + chunk));
    ip->proto = kFragmentHeader;
    uint8_t* fh = d + sizeof hdr;
    fh[0] = hdr.proto;
    fh[1] = 0;
    const uint16_t field = static_cast<uint16_t>(done | (last ? 0 : 1));  // offset (eights) | M
    fh[2] = static_cast<uint8_t>(field >> 8);
    fh[3] = static_cast<uint8_t>(field);
    const uint32_t nid = rte_cpu_to_be_32(id);
    std::memcpy(fh + 4, &nid, 4);
    f->l3_len = kHeaders;
    out[count] = f;
    done += chunk;
  }
  return count;
}

}  // namespace portcullis::dp
