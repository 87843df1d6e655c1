// Outbound ESP for a burst spread over many SAs (docs/DESIGN.md, "Many tunnels in one burst"):
// every packet with its own SA in one pass for the headers and one for the crypto. With 10,000
// tunnels each packet of a burst is another SA whose state and keys are cold: fetched one SA
// after another (an Encrypt call each) their misses come one after another; here each SA's
// keys are asked for while the headers are written, and have arrived when its crypto runs.
#include <rte_branch_prediction.h>
#include <rte_ip.h>

#include "dataplane/esp/esp_engine.h"
#include "dataplane/esp/esp_wire.h"
#include "drivers/crypto/ipsecmb_backend.h"
#include "drivers/crypto/openssl_backend.h"

namespace portcullis::dp::esp {

template <class Backend>
uint16_t EspEngine<Backend>::EncryptEach(Sa* const* sas, rte_mbuf** pkts, uint16_t* tags,
                                         uint16_t n, DropList& drops, uint16_t* drop_tags) {
  // The usual packet takes the way of Encrypt's fast burst path (outer IPv4 without UDP,
  // AES-GCM, one segment with room on both sides, no lifetime or sequence event within reach),
  // with its SA's fields read per packet since the next packet's SA is another. Anything else
  // goes through Encrypt alone, in its place in the order (its SA's sequence numbers stay in
  // the order of its packets).
  constexpr uint32_t kHdr = wire::kFastHdr, kIcv = wire::kFastIcv, kPadMask = wire::kFastPadMask;
  enum : uint8_t { kFast, kDone, kDropped };
  uint8_t state[kMaxBurst];
  uint64_t seqs[kMaxBurst];
  bool dropped = false;
  for (uint16_t k = 0; k < n; ++k) {
    rte_mbuf* m = pkts[k];
    Sa& sa = *sas[k];
    const uint32_t inner_len = m->pkt_len;
    const uint32_t pad = (0u - (inner_len + 2)) & kPadMask;
    const uint32_t tail = pad + 2 + kIcv;
    const uint64_t seq = sa.seq, packets = sa.packets, bytes = sa.bytes;
    // The SA's layout in one flag (kSaFastOut), not four fields and a cipher compared; its
    // sequence number event within next_packets_event (Sa::next_packets_event): all in line 0.
    // One compare per limit: neither add wraps (kNoLimit).
    if (unlikely((sa.flags & (kSaFastOut | kSaBlocked)) != kSaFastOut ||
                 packets + 1 >= sa.next_packets_event || bytes + 0xffff >= sa.next_bytes_event ||
                 m->nb_segs != 1 || rte_pktmbuf_headroom(m) < kHdr ||
                 rte_pktmbuf_tailroom(m) < tail)) {
      const uint16_t before = drops.n;
      const uint16_t ok = Encrypt(sa, pkts + k, 1, drops, /*inner_checked=*/true);
      for (uint16_t d = before; d < drops.n; ++d) drop_tags[d] = tags[k];
      state[k] = ok ? kDone : kDropped;
      dropped |= !ok;
      continue;
    }
    // Its keys' lines, at offsets the engine found once for this key size and length class.
    PrefetchKeys(sa, sa.cipher == Cipher::kAesGcm256, inner_len + pad + 2);
    // As Encrypt's fast path, with this packet's SA.
    const wire::FastIpv4Esp c = wire::FastIpv4Esp::OfLine0(sa);
    const uint16_t ip_id = sa.ip_id;
    uint8_t* inner = rte_pktmbuf_mtod(m, uint8_t*);
    uint64_t tos_df;
    uint8_t next_header;
    wire::CheckedInner(inner, c.keep, &tos_df, &next_header);
    const uint64_t pseq = seq + 1;
    wire::WriteFastIpv4Esp(c, m, inner, inner_len, pad, tos_df, next_header, ip_id, pseq);
    sa.seq = pseq;
    sa.ip_id = static_cast<uint16_t>(ip_id + 1);
    sa.packets = packets + 1;
    sa.bytes = bytes + inner_len;
    seqs[k] = pseq;
    state[k] = kFast;
  }

  // The crypto, in the same order (the keys asked for above have arrived meanwhile).
  for (uint16_t k = 0; k < n; ++k) {
    if (state[k] != kFast) continue;
    const Sa& sa = *sas[k];
    rte_mbuf* m = pkts[k];
    uint8_t* esp = rte_pktmbuf_mtod(m, uint8_t*) + 20;
    const uint32_t ct_len = m->pkt_len - kHdr - kIcv;
    uint32_t salt;
    std::memcpy(&salt, sa.salt, 4);
    alignas(16) uint8_t nonce[16];
    alignas(16) uint8_t aad_buf[16];
    const uint8_t* aad = esp;
    uint32_t aad_len = 8;
    wire::NonceOf(salt, seqs[k], nonce);
    if (unlikely(sa.esn())) aad_len = wire::Aad(sa, esp, seqs[k], aad_buf, &aad);
    uint8_t* payload = esp + 8 + 8;
    crypto_.GcmEncrypt(KeysOf(sa), sa.cipher == Cipher::kAesGcm256, payload, ct_len, nonce, aad,
                       aad_len, payload + ct_len);
  }

  if (likely(!dropped)) return n;
  uint16_t out = 0;
  for (uint16_t k = 0; k < n; ++k) {
    if (state[k] == kDropped) continue;
    pkts[out] = pkts[k];
    tags[out++] = tags[k];
  }
  return out;
}

static_assert(wire::kFastHdr == 20 + 8 + 8 && wire::kFastIcv == 16 && wire::kFastPadMask == 3,
              "kSaFastOut's layout (sa.cc) is the one written here");

template uint16_t EspEngine<drivers::crypto::IpsecMbBackend>::EncryptEach(Sa* const*, rte_mbuf**,
                                                                          uint16_t*, uint16_t,
                                                                          DropList&, uint16_t*);
template uint16_t EspEngine<drivers::crypto::OpenSslBackend>::EncryptEach(Sa* const*, rte_mbuf**,
                                                                          uint16_t*, uint16_t,
                                                                          DropList&, uint16_t*);

}  // namespace portcullis::dp::esp
