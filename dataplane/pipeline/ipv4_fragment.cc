#include "dataplane/pipeline/ipv4_fragment.h"

#include <rte_byteorder.h>
#include <rte_ip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace portcullis::dp {

namespace {

// Copies len bytes at off of a possibly chained mbuf.
bool CopyOut(const rte_mbuf* m, uint32_t off, uint32_t len, uint8_t* dst) {
  const void* p = rte_pktmbuf_read(m, off, len, dst);
  if (p == nullptr) return false;
  if (p != dst) std::memcpy(dst, p, len);
  return true;
}

// The options a non-first fragment carries: those with the copied flag (RFC 791 §3.1),
// padded with end-of-options to a multiple of four bytes.
uint32_t CopiedOptions(const uint8_t* opts, uint32_t len, uint8_t* dst) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < len;) {
    const uint8_t type = opts[i];
    if (type == 0) break;  // end of option list
    if (type == 1) {       // no-operation: one byte, not copied
      ++i;
      continue;
    }
    if (i + 1 >= len || opts[i + 1] < 2 || i + opts[i + 1] > len) break;  // malformed: stop
    const uint8_t olen = opts[i + 1];
    if (type & 0x80) {
      std::memcpy(dst + n, opts + i, olen);
      n += olen;
    }
    i += olen;
  }
  while (n % 4) dst[n++] = 0;
  return n;
}

}  // namespace

int FragmentIpv4(rte_mbuf* m, uint16_t mtu, rte_mempool* pool, uint16_t tail_reserve,
                 rte_mbuf** out, int max_out) {
  uint8_t hdr[60];
  if (m->pkt_len < sizeof(rte_ipv4_hdr) || !CopyOut(m, 0, sizeof(rte_ipv4_hdr), hdr))
    return -EINVAL;
  const uint32_t hlen = (hdr[0] & 0x0f) * 4u;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(hdr);
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if (hlen < 20 || total < hlen || total > m->pkt_len || !CopyOut(m, 0, hlen, hdr)) return -EINVAL;

  uint8_t later_hdr[60];
  std::memcpy(later_hdr, hdr, 20);
  const uint32_t later_hlen = 20 + CopiedOptions(hdr + 20, hlen - 20, later_hdr + 20);

  const uint16_t frag_field = rte_be_to_cpu_16(ip->fragment_offset);
  const uint32_t base_off = (frag_field & RTE_IPV4_HDR_OFFSET_MASK) * 8u;
  const bool more_after = (frag_field & RTE_IPV4_HDR_MF_FLAG) != 0;

  // Every fragment must fit one segment with room left for the ESP trailer.
  const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
  if (room <= tail_reserve + 60u + 8u) return -EINVAL;
  const uint32_t limit = std::min<uint32_t>(mtu, room - tail_reserve);

  const uint32_t payload = total - hlen;
  int count = 0;
  for (uint32_t done = 0; done < payload; ++count) {
    const bool first = done == 0;
    const uint32_t h = first ? hlen : later_hlen;
    if (limit <= h + 8) return -EINVAL;
    uint32_t chunk = std::min(payload - done, (limit - h) & ~7u);
    const bool last = done + chunk == payload;
    if (count == max_out) {
      for (int k = 0; k < count; ++k) rte_pktmbuf_free(out[k]);
      return -EMSGSIZE;
    }
    rte_mbuf* f = rte_pktmbuf_alloc(pool);
    uint8_t* d = f ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(f, h + chunk)) : nullptr;
    if (d == nullptr) {
      if (f) rte_pktmbuf_free(f);
      for (int k = 0; k < count; ++k) rte_pktmbuf_free(out[k]);
      return -ENOBUFS;
    }
    std::memcpy(d, first ? hdr : later_hdr, h);
    if (!CopyOut(m, hlen + done, chunk, d + h)) {
      rte_pktmbuf_free(f);
      for (int k = 0; k < count; ++k) rte_pktmbuf_free(out[k]);
      return -EINVAL;
    }
    auto* fh = reinterpret_cast<rte_ipv4_hdr*>(d);
    fh->version_ihl = static_cast<uint8_t>(0x40 | (h / 4));
    fh->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(h + chunk));
    uint16_t field =
        static_cast<uint16_t>((frag_field & RTE_IPV4_HDR_DF_FLAG) | ((base_off + done) / 8));
    // A fragment of a fragment keeps MF when the original had more after it.
    if (!last || more_after) field |= RTE_IPV4_HDR_MF_FLAG;
    fh->fragment_offset = rte_cpu_to_be_16(field);
    fh->hdr_checksum = 0;
    fh->hdr_checksum = rte_ipv4_cksum(fh);
    f->l3_len = static_cast<uint16_t>(h);
    out[count] = f;
    done += chunk;
  }
  return count;
}

}  // namespace portcullis::dp
