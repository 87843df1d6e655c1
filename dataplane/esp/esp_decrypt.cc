// Inbound ESP (RFC 4303 §3.4): anti-replay check, ICV, window update only after the ICV
// verified, padding and next-header checks, then the outer headers and trailer are removed.
#include <rte_branch_prediction.h>

#include <type_traits>

#include "dataplane/esp/esp_engine.h"
#include "dataplane/esp/esp_wire.h"
#include "dataplane/esp/mbuf_chain.h"
#include "dataplane/esp/wipe_on_exit.h"
#include "drivers/crypto/ipsecmb_backend.h"
#include "drivers/crypto/openssl_backend.h"
#include "drivers/crypto/tag_compare.h"

namespace portcullis::dp::esp {

namespace {

// Where a packet stands between parsing and the end of its crypto.
struct Pending {
  uint8_t* payload;  // first ciphertext byte
  uint32_t ct_len;
  uint64_t seq;
  uint8_t outer_tos;
};

// The SA's sizes, in locals for the burst: the crypto call in between would make the compiler
// load them again for every packet.
struct Layout {
  uint32_t iv_len;
  uint32_t overhead;  // ESP header, IV and ICV
  uint32_t pad_mask;
  bool esn;
  static Layout Of(const Sa& sa) {
    return {sa.iv_len, 8u + sa.iv_len + sa.icv_len, sa.pad_mask(), sa.esn()};
  }
};

// The outer header of a packet the pipeline has checked and classified: IPv4 (or IPv6, `v6`)
// with its header length in l3_len, one segment trimmed to the header's length, not a
// fragment, and ESP or UDP with room for the UDP header. What that leaves is the UDP length.
// The caller checked the family too (EspIn drops a packet of the other family than its SA's).
template <bool v6>
__attribute__((always_inline)) inline DropReason CheckedOuter(const rte_mbuf* m, const uint8_t* p,
                                                              wire::OuterInfo* o) {
  const uint32_t hl = m->l3_len;
  o->len = m->data_len;
  o->esp_off = hl;
  uint8_t proto;
  if constexpr (v6) {
    o->tos = static_cast<uint8_t>((p[0] << 4) | (p[1] >> 4));  // the traffic class
    proto = p[6];
  } else {
    o->tos = p[1];
    proto = p[9];
  }
  if (proto == kProtoUdp) {
    if (static_cast<uint32_t>(p[hl + 4] << 8 | p[hl + 5]) != o->len - hl)
      return DropReason::kBadOuterHeader;
    o->esp_off = hl + 8;
  }
  return DropReason::kCount;
}

// Parses the ESP header of a packet at buf whose outer headers `o` describes, and checks the
// window.
__attribute__((always_inline)) inline DropReason Parse(const Sa& sa, const Layout& lay,
                                                       uint8_t* buf, const wire::OuterInfo& o,
                                                       Pending* p) {
  const uint32_t esp_len = o.len - o.esp_off;
  if (esp_len < lay.overhead + 2) return DropReason::kTruncated;
  p->ct_len = esp_len - lay.overhead;
  if ((p->ct_len & lay.pad_mask) != 0) return DropReason::kBadLength;
  uint8_t* esp = buf + o.esp_off;
  uint32_t seq_lo;
  std::memcpy(&seq_lo, esp + 4, 4);
  seq_lo = rte_be_to_cpu_32(seq_lo);
  p->seq = lay.esn ? sa.replay.InferEsn(seq_lo) : seq_lo;
  switch (sa.replay.Check(p->seq)) {
    case ReplayWindow::Verdict::kOk:
      break;
    case ReplayWindow::Verdict::kReplayed:
      return DropReason::kReplayed;
    case ReplayWindow::Verdict::kTooOld:
      return DropReason::kTooOld;
  }
  p->payload = esp + 8 + lay.iv_len;
  p->outer_tos = o.tos;
  return DropReason::kCount;
}

__attribute__((always_inline)) inline DropReason Parse(const Sa& sa, const Layout& lay,
                                                       uint8_t* buf, uint32_t len, Pending* p) {
  wire::OuterInfo o;
  DropReason r = wire::ReadOuter(buf, len, &o);
  if (r != DropReason::kCount) return r;
  return Parse(sa, lay, buf, o, p);
}

// After the ICV verified: window, trailer, inner packet. On success [*inner, *inner + *len)
// is the inner packet.
__attribute__((always_inline)) inline DropReason Finish(Sa& sa, const Pending& p,
                                                        uint32_t* inner_len) {
  switch (sa.replay.Update(p.seq)) {
    case ReplayWindow::Verdict::kOk:
      break;
    case ReplayWindow::Verdict::kReplayed:
      return DropReason::kReplayed;
    case ReplayWindow::Verdict::kTooOld:
      return DropReason::kTooOld;
  }
  const uint8_t* pt = p.payload;
  const uint32_t pad = pt[p.ct_len - 2];
  const uint8_t nh = pt[p.ct_len - 1];
  if (pad + 2 > p.ct_len) return DropReason::kBadPadLength;
  const uint8_t* pad_bytes = pt + p.ct_len - 2 - pad;
  for (uint32_t k = 0; k < pad; ++k)
    if (pad_bytes[k] != k + 1) return DropReason::kBadPadding;
  if (nh == kNextHeaderDummy) return DropReason::kDummyPacket;
  if (nh != kNextHeaderIpv4 && nh != kNextHeaderIpv6) return DropReason::kBadNextHeader;
  uint32_t avail = p.ct_len - 2 - pad;
  uint32_t len;
  uint8_t* ip = p.payload;
  if (nh == kNextHeaderIpv4) {
    // Version 4 with a header length of at least 5 words: 0x45..0x4f.
    if (avail < 20 || static_cast<uint8_t>(ip[0] - 0x45) > 0x0a) return DropReason::kInnerMalformed;
    len = static_cast<uint32_t>(ip[2] << 8 | ip[3]);
  } else {
    if (avail < 40 || (ip[0] >> 4) != 6) return DropReason::kInnerMalformed;
    len = 40 + static_cast<uint32_t>(ip[4] << 8 | ip[5]);
  }
  // Shorter than what was decrypted: TFC padding (RFC 4303 §2.4), removed below.
  if (len > avail || len < (nh == kNextHeaderIpv4 ? 20u : 40u)) return DropReason::kInnerMalformed;
  // RFC 6040 decapsulation: congestion marked on the outer header is kept on the inner one.
  if ((p.outer_tos & 0x03) == 0x03) {
    if (nh == kNextHeaderIpv4) {
      uint8_t ecn = ip[1] & 0x03;
      if (ecn == 0) return DropReason::kEcnDrop;
      if (ecn != 0x03) {
        // Incremental checksum update (RFC 1624) for the changed TOS byte.
        uint16_t old_word = static_cast<uint16_t>(ip[0] << 8 | ip[1]);
        ip[1] |= 0x03;
        uint16_t new_word = static_cast<uint16_t>(ip[0] << 8 | ip[1]);
        uint32_t sum = static_cast<uint16_t>(~(ip[10] << 8 | ip[11]));
        sum += static_cast<uint16_t>(~old_word);
        sum += new_word;
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        uint16_t csum = static_cast<uint16_t>(~sum);
        ip[10] = static_cast<uint8_t>(csum >> 8);
        ip[11] = static_cast<uint8_t>(csum);
      }
    } else {
      uint8_t ecn = (ip[1] >> 4) & 0x03;
      if (ecn == 0) return DropReason::kEcnDrop;
      ip[1] |= 0x30;
    }
  }
  *inner_len = len;
  return DropReason::kCount;
}

}  // namespace

template <class Backend>
uint16_t EspEngine<Backend>::Decrypt(Sa& sa, rte_mbuf** pkts, uint16_t n, DropList& drops,
                                     bool outer_checked) {
  auto& keys = *reinterpret_cast<typename Backend::Keys*>(sa.crypto);
  const bool aead = IsAead(sa.cipher);
  const bool aes256 = sa.cipher == Cipher::kAesGcm256;
  const uint32_t icv = sa.icv_len;
  const Layout lay = Layout::Of(sa);
  bool alive[kMaxBurst];
  Pending pend[kMaxBurst];
  drivers::crypto::HmacJob jobs[kMaxBurst];
  uint16_t job_pkt[kMaxBurst];
  alignas(16) uint8_t tags[kMaxBurst][32];
  alignas(16) uint8_t received[kMaxBurst][32];
  uint16_t nj = 0;

  // Single-segment packets only (chains are finished in DecryptChained): the outer headers
  // and the trailer go, the inner packet stays where it was decrypted.
  auto trim = [&](rte_mbuf * m, const Pending& p, uint32_t inner_len)
      __attribute__((always_inline)) {
    m->data_off = static_cast<uint16_t>(m->data_off + (p.payload - rte_pktmbuf_mtod(m, uint8_t*)));
    m->data_len = static_cast<uint16_t>(inner_len);
    m->pkt_len = inner_len;
    m->tx_offload = 0;  // the outer packet's lengths; nothing else applies to the inner one
  };
  auto finish = [&](uint16_t i) __attribute__((always_inline)) {
    rte_mbuf* m = pkts[i];
    uint32_t inner_len = 0;
    DropReason r = Finish(sa, pend[i], &inner_len);
    if (unlikely(r != DropReason::kCount)) {
      Drop(sa, drops, m, r);
      return false;
    }
    trim(m, pend[i], inner_len);
    CountLifetime(sa, inner_len);
    return true;
  };
  // One single-segment AEAD packet, start to end; false (and counted) when it is dropped.
  auto open_aead = [&](rte_mbuf * m, uint32_t * inner_len, auto checked)
      __attribute__((always_inline)) {
    Pending p;
    uint8_t* buf = rte_pktmbuf_mtod(m, uint8_t*);
    DropReason r;
    if constexpr (decltype(checked)::value != 0) {
      wire::OuterInfo o;
      r = CheckedOuter<decltype(checked)::value == 6>(m, buf, &o);
      if (likely(r == DropReason::kCount)) r = Parse(sa, lay, buf, o, &p);
    } else {
      r = Parse(sa, lay, buf, m->data_len, &p);
    }
    if (likely(r == DropReason::kCount)) {
      uint8_t* esp = p.payload - 8 - lay.iv_len;
      alignas(16) uint8_t nonce[16];
      alignas(16) uint8_t aad_buf[16];
      const uint8_t* aad;
      wire::Nonce(sa, esp + 8, nonce);
      uint32_t aad_len = wire::Aad(sa, esp, p.seq, aad_buf, &aad);
      r = crypto_.GcmDecrypt(keys, aes256, p.payload, p.ct_len, nonce, aad, aad_len,
                             p.payload + p.ct_len)
              ? Finish(sa, p, inner_len)
              : DropReason::kAuthFailed;
    }
    if (unlikely(r != DropReason::kCount)) {
      Drop(sa, drops, m, r);
      return false;
    }
    trim(m, p, *inner_len);
    return true;
  };

  // AEAD packets finish as they decrypt and are compacted on the way; HMAC ones finish after
  // the burst's HMAC jobs and are compacted at the end by `alive`.
  uint16_t out = 0;
  uint16_t i = 0;
  // The usual burst: AEAD, not blocked, and no lifetime event within reach of the whole burst
  // (every inner packet is shorter than 64 KiB), so the SA's counters stay in locals and no
  // packet checks for events. The first chained packet leaves the rest to the general loop.
  if (aead && !(sa.flags & kSaBlocked) && sa.packets + n < sa.next_packets_event &&
      sa.bytes + uint64_t{n} * 0xffff < sa.next_bytes_event) {  // no add wraps: kNoLimit
    // One copy of the loop per mode, as for Encrypt's inner_checked.
    // The packet count follows from `out`: a second counter beside the bytes was kept as a
    // vector pair on the stack (GCC's SLP), with the call in between.
    auto fast = [&](auto checked) __attribute__((always_inline)) {
      uint64_t bytes = 0;
      for (; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        if (unlikely(m->nb_segs != 1)) break;
        uint32_t inner_len = 0;
        if (open_aead(m, &inner_len, checked)) {
          bytes += inner_len;
          pkts[out++] = m;
        }
      }
      sa.packets += out;
      sa.bytes += bytes;
    };
    if (!outer_checked) {
      fast(std::integral_constant<int, 0>{});
    } else if (sa.flags & kSaOuterV6) {  // line 0, not the cold family
      fast(std::integral_constant<int, 6>{});
    } else {
      fast(std::integral_constant<int, 4>{});
    }
  }
  for (; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    alive[i] = false;
    if (unlikely(sa.flags & kSaBlocked)) {
      Drop(sa, drops, m, sa.blocked_reason);
      continue;
    }
    if (unlikely(m->nb_segs != 1)) {
      DropReason r = DecryptChained(sa, m);
      if (r != DropReason::kCount) {
        Drop(sa, drops, m, r);
      } else if (aead) {
        pkts[out++] = m;
      } else {
        alive[i] = true;
      }
      continue;
    }
    if (aead) {
      uint32_t inner_len = 0;
      if (open_aead(m, &inner_len, std::integral_constant<int, 0>{})) {
        CountLifetime(sa, inner_len);
        pkts[out++] = m;
      }
      continue;
    }
    Pending& p = pend[i];
    DropReason r = Parse(sa, lay, rte_pktmbuf_mtod(m, uint8_t*), m->data_len, &p);
    if (unlikely(r != DropReason::kCount)) {
      Drop(sa, drops, m, r);
      continue;
    }
    uint8_t* esp = p.payload - 8 - lay.iv_len;
    drivers::crypto::HmacJob& j = jobs[nj];
    j.cipher_start = p.payload;
    j.cipher_len = p.ct_len;
    j.iv = esp + 8;
    j.hash_start = esp;
    j.hash_len = 8 + sa.iv_len + p.ct_len;
    j.tag_out = tags[nj];
    std::memcpy(received[nj], p.payload + p.ct_len, icv);
    if (sa.esn()) {
      // The high sequence bits are hashed in the ICV's place (RFC 4303 §2.2.1).
      uint32_t hi = rte_cpu_to_be_32(static_cast<uint32_t>(p.seq >> 32));
      std::memcpy(p.payload + p.ct_len, &hi, 4);
      j.hash_len += 4;
    }
    job_pkt[nj++] = i;
    alive[i] = true;
  }

  if (nj > 0) {
    crypto_.HmacBurst(keys, sa.cipher, /*encrypt=*/false, jobs, nj);
    for (uint16_t k = 0; k < nj; ++k) {
      uint16_t i = job_pkt[k];
      if (unlikely(!jobs[k].ok)) {
        alive[i] = false;
        Drop(sa, drops, pkts[i], DropReason::kCryptoError);
      } else if (unlikely(!drivers::crypto::TagsEqual(tags[k], received[k], icv))) {
        alive[i] = false;
        Drop(sa, drops, pkts[i], DropReason::kAuthFailed);
      } else if (!finish(i)) {
        alive[i] = false;
      }
    }
  }
  if (aead) return out;

  for (uint16_t i = 0; i < n; ++i)
    if (alive[i]) pkts[out++] = pkts[i];
  return out;
}

// A packet in several segments: decrypted in the scratch buffer, the inner packet copied back
// to the front of the chain, which is then cut to its length.
template <class Backend>
DropReason EspEngine<Backend>::DecryptChained(Sa& sa, rte_mbuf* m) {
  auto& keys = *reinterpret_cast<typename Backend::Keys*>(sa.crypto);
  const uint32_t len = m->pkt_len;
  if (len > sizeof scratch_) return DropReason::kBadLength;
  uint8_t* buf = scratch_;
  // GCM decrypts before the tag is checked, CBC with HMAC in one job: after an ICV or padding
  // failure, or a copy that does not fit back, plaintext would remain.
  WipeOnExit wipe(buf, len);
  if (!CopyOut(m, 0, len, buf)) return DropReason::kTruncated;
  Pending p;
  DropReason r = Parse(sa, Layout::Of(sa), buf, len, &p);
  if (r != DropReason::kCount) return r;
  uint8_t* esp = p.payload - 8 - sa.iv_len;
  bool ok;
  if (IsAead(sa.cipher)) {
    alignas(16) uint8_t nonce[16];
    alignas(16) uint8_t aad_buf[16];
    const uint8_t* aad;
    wire::Nonce(sa, esp + 8, nonce);
    uint32_t aad_len = wire::Aad(sa, esp, p.seq, aad_buf, &aad);
    ok = crypto_.GcmDecrypt(keys, sa.cipher == Cipher::kAesGcm256, p.payload, p.ct_len, nonce, aad,
                            aad_len, p.payload + p.ct_len);
  } else {
    alignas(16) uint8_t tag[32], received[32];
    std::memcpy(received, p.payload + p.ct_len, sa.icv_len);
    drivers::crypto::HmacJob j{p.payload, p.ct_len, esp + 8, esp, 8u + sa.iv_len + p.ct_len,
                               tag,       false};
    if (sa.esn()) {
      uint32_t hi = rte_cpu_to_be_32(static_cast<uint32_t>(p.seq >> 32));
      std::memcpy(p.payload + p.ct_len, &hi, 4);
      j.hash_len += 4;
    }
    crypto_.HmacBurst(keys, sa.cipher, false, &j, 1);
    if (!j.ok) return DropReason::kCryptoError;
    ok = drivers::crypto::TagsEqual(tag, received, sa.icv_len);
  }
  if (!ok) return DropReason::kAuthFailed;
  uint32_t inner_len = 0;
  r = Finish(sa, p, &inner_len);
  if (r != DropReason::kCount) return r;
  if (!CopyIn(m, 0, inner_len, p.payload) || !TrimTo(m, inner_len)) return DropReason::kBadLength;
  m->l2_len = 0;
  m->l3_len = 0;
  CountLifetime(sa, inner_len);
  return DropReason::kCount;
}

template uint16_t EspEngine<drivers::crypto::IpsecMbBackend>::Decrypt(Sa&, rte_mbuf**, uint16_t,
                                                                      DropList&, bool);
template uint16_t EspEngine<drivers::crypto::OpenSslBackend>::Decrypt(Sa&, rte_mbuf**, uint16_t,
                                                                      DropList&, bool);

}  // namespace portcullis::dp::esp
