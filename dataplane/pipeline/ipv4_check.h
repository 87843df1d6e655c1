// IPv4 header checks, inline: they run on every received packet, in the L2 pass and again on
// every decrypted one, and a call per packet costs more than the checks.
#pragma once

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_ip.h>

#include <cstring>

#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

// RFC 1071 over the header; the common 20-byte header in five 32-bit adds.
inline bool Ipv4ChecksumOk(const uint8_t* h, uint32_t hlen) {
  uint64_t sum = 0;
  auto word = [h](uint32_t i) {
    uint32_t w;
    std::memcpy(&w, h + i, 4);
    return uint64_t{w};
  };
  if (hlen == 20) {
    sum = word(0) + word(4) + word(8) + word(12) + word(16);
  } else {
    for (uint32_t i = 0; i < hlen; i += 4) sum += word(i);
  }
  // Folded to 16 bits the sum is 0xffff exactly when it is a non-zero multiple of 0xffff
  // (folding keeps the value mod 0xffff and never reaches 0): a multiply instead of four folds.
  return sum != 0 && sum % 0xffff == 0;
}

// The checks alone: Drop::kCount when the packet passes (l3_len is then set and link-layer
// padding trimmed), else why it fails. For loops that keep calls out of their way and drop
// after the loop (see Worker::CheckIpv4 for `exact`).
template <bool exact = false>
__attribute__((always_inline)) inline Drop Ipv4Verdict(rte_mbuf* m) {
  if (m->data_len < sizeof(rte_ipv4_hdr)) return Drop::kTruncated;
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  uint32_t hlen = 20;
  if (likely(ip->version_ihl == 0x45)) {
    // No options, the usual case: one length check (data_len >= 20, so pkt_len - 20 is safe),
    // none when the packet is known to end where its header says.
    if (!exact && unlikely(total - 20u > m->pkt_len - 20u)) return Drop::kBadIpHeader;
  } else {
    hlen = (ip->version_ihl & 0x0f) * 4u;
    if ((ip->version_ihl >> 4) != 4 || hlen < 20 || hlen > m->data_len || total < hlen ||
        total > m->pkt_len)
      return Drop::kBadIpHeader;
  }
  if (!Ipv4ChecksumOk(reinterpret_cast<const uint8_t*>(ip), hlen)) return Drop::kBadIpChecksum;
  if (!exact && m->pkt_len > total) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - total));
  m->tx_offload = hlen << 7;  // l3_len; nothing else is set on a received packet
  return Drop::kCount;
}

template <bool exact>
inline bool Worker::CheckIpv4(rte_mbuf* m, uint16_t ifx) {
  const Drop why = Ipv4Verdict<exact>(m);
  if (likely(why == Drop::kCount)) return true;
  DropPkt(m, ifx, why);
  return false;
}

}  // namespace portcullis::dp
