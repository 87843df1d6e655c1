// IKE for vpnd (UDP 500, and UDP 4500 behind the non-ESP marker): classified, limited per
// source, and queued to the main lcore apart from ARP, so that neither a flood of IKE_SA_INITs
// nor one chatty source can delay ARP or the DPD and rekey messages of established IKE SAs.
// Only IKE comes here; it is never on the path of ESP or forwarded traffic.
#include <rte_cycles.h>
#include <rte_ring.h>

#include <cstring>

#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {

constexpr uint32_t kIkeHeaderLen = 28;  // RFC 7296 §3.1
constexpr uint8_t kIkeSaInit = 34;      // exchange type
constexpr uint8_t kNotifyPayload = 41;
constexpr uint16_t kNotifyCookie = 16390;

// A message of an established IKE SA: the responder's SPI is known (not zero) and it is not an
// IKE_SA_INIT (whose response also carries one). Anyone can forge that; the per-source limit
// applies to both classes, and this one only decides which queue and share a datagram gets.
bool FromEstablishedSa(const rte_mbuf* m, uint32_t ike_off) {
  if (m->data_len < ike_off + kIkeHeaderLen) return false;  // vpnd will refuse it as new
  const uint8_t* h = rte_pktmbuf_mtod_offset(m, const uint8_t*, ike_off);
  uint64_t spi_r;
  std::memcpy(&spi_r, h + 8, 8);
  return spi_r != 0 && h[18] != kIkeSaInit;
}

// An IKE_SA_INIT that returns a COOKIE: RFC 7296 §2.6 puts the COOKIE notify first. A spoofer
// never sees our cookies, so under a flood of plain IKE_SA_INITs (which vpnd answers with
// COOKIE demands) a real initiator's second try waits in a queue of its own instead of being as
// likely to be dropped as a spoofed one. Anyone can forge one; vpnd checks the cookie (one HMAC)
// after parsing, before any DH or state, and the main lcore takes the two queues in turns, so a
// flood of forged ones cannot starve the first tries either (slow_path.cc).
bool ReturnsCookie(const rte_mbuf* m, uint32_t ike_off) {
  if (m->data_len < ike_off + kIkeHeaderLen + 8) return false;
  const uint8_t* h = rte_pktmbuf_mtod_offset(m, const uint8_t*, ike_off);
  const uint8_t* n = h + kIkeHeaderLen;  // generic header 4, protocol, SPI size, type 2
  return h[16] == kNotifyPayload && h[18] == kIkeSaInit && ((n[6] << 8) | n[7]) == kNotifyCookie;
}

}  // namespace

void Worker::PuntIke(rte_mbuf* m, uint32_t ike_off) {
  const bool established = FromEstablishedSa(m, ike_off);
  uint32_t src;
  const uint8_t* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  if ((ip[0] >> 4) == 6) {
    src = IkeSourceKey6(ip + 8, ike_key_seed_);
  } else {
    std::memcpy(&src, ip + 12, 4);
  }
  if (!ike_limiter_->Admit(src, established, rte_rdtsc())) {
    DropIke(m, IkeDrop::kRateLimited);
    return;
  }
  Meta(m)->kind = PktKind::kPunt;
  if (established) {
    if (rte_ring_mp_enqueue(dp_.ike_ring, m) != 0) {
      DropPkt(m, Meta(m)->in_ifindex, Drop::kPuntQueueFull);
      return;
    }
  } else if (ReturnsCookie(m, ike_off)) {
    if (rte_ring_mp_enqueue(dp_.ike_cookie_ring, m) != 0) {
      DropIke(m, IkeDrop::kCookieQueueFull);
      return;
    }
  } else if (rte_ring_mp_enqueue(dp_.ike_init_ring, m) != 0) {
    DropIke(m, IkeDrop::kInitQueueFull);
    return;
  }
  ++stats_->punted;
}

}  // namespace portcullis::dp
