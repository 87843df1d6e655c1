// Outbound ESP (RFC 4303 §3.3): inner packet -> outer IP [+ UDP] + ESP + IV + ciphertext + ICV.
#include <rte_branch_prediction.h>
#include <rte_ip.h>

#include <type_traits>

#include "dataplane/esp/esp_engine.h"
#include "dataplane/esp/esp_wire.h"
#include "dataplane/esp/mbuf_chain.h"
#include "dataplane/esp/wipe_on_exit.h"
#include "drivers/crypto/ipsecmb_backend.h"
#include "drivers/crypto/openssl_backend.h"

namespace portcullis::dp::esp {

namespace {

// IPv6 forbids a zero UDP checksum here (RFC 8200 §8.1): computed over the finished packet.
void FinishUdp6(const Sa& sa, rte_mbuf* m) {
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->dgram_cksum = 0;
  if (m->nb_segs == 1) {
    udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
  } else {
    udp->dgram_cksum = rte_ipv6_udptcp_cksum_mbuf(m, ip, sa.outer_ip_len());
  }
}

// Sets up the cipher+HMAC work of a packet whose ESP header is at `esp`. With ESN the high 32
// bits of the sequence number are hashed after the ciphertext (RFC 4303 §2.2.1) but never sent:
// they occupy the ICV's place until the tag, computed elsewhere, is copied over them.
void SetupHmac(const Sa& sa, uint8_t* esp, uint32_t ct_len, uint64_t seq, uint8_t* tag_scratch,
               drivers::crypto::HmacJob* j) {
  uint8_t* payload = esp + 8 + sa.iv_len;
  j->cipher_start = payload;
  j->cipher_len = ct_len;
  j->iv = esp + 8;
  j->hash_start = esp;
  j->hash_len = 8 + sa.iv_len + ct_len;
  if (sa.esn()) {
    uint32_t hi = rte_cpu_to_be_32(static_cast<uint32_t>(seq >> 32));
    std::memcpy(payload + ct_len, &hi, 4);
    j->hash_len += 4;
    j->tag_out = tag_scratch;
  } else {
    j->tag_out = payload + ct_len;
  }
}

}  // namespace

template <class Backend>
uint16_t EspEngine<Backend>::Encrypt(Sa& sa, rte_mbuf** pkts, uint16_t n, DropList& drops,
                                     bool inner_checked) {
  auto& keys = *reinterpret_cast<typename Backend::Keys*>(sa.crypto);
  const bool aead = IsAead(sa.cipher);
  const bool aes256 = sa.cipher == Cipher::kAesGcm256;
  const bool cbc = IsCbc(sa.cipher);
  const uint32_t hdr = sa.hdr_len;
  const uint32_t icv = sa.icv_len;
  // Pass 1 writes headers and trailers of the whole burst; pass 2 runs the crypto. By then the
  // stores have reached the cache, so the cipher's wide loads over them do not stall on
  // store-to-load forwarding (measured: about 15 ns per packet at 64 bytes).
  struct Work {
    uint8_t* esp;
    uint32_t ct_len;
    uint64_t seq;
  };
  Work work[kMaxBurst];
  const uint16_t drops_before = drops.n;
  bool alive[kMaxBurst];
  uint16_t nw = 0;
  uint16_t work_pkt[kMaxBurst];

  // The SA's per-packet state stays in locals for the burst (see EncapParams) and is written
  // back before any slow path reads it.
  const wire::EncapParams params = wire::EncapParams::Of(sa);
  const uint32_t pad_mask = sa.pad_mask();
  uint64_t seq = sa.seq, packets = sa.packets, bytes = sa.bytes;
  uint16_t ip_id = sa.ip_id;
  uint8_t flags = sa.flags;
  uint64_t next_packets_event = sa.next_packets_event, next_bytes_event = sa.next_bytes_event;
  auto store = [&] {
    sa.seq = seq;
    sa.packets = packets;
    sa.bytes = bytes;
    sa.ip_id = ip_id;
  };
  auto reload = [&] {
    flags = sa.flags;
    next_packets_event = sa.next_packets_event;
    next_bytes_event = sa.next_bytes_event;
  };
  auto count = [&](uint32_t inner_len) {
    ++packets;
    bytes += inner_len;
    if (unlikely(packets >= next_packets_event || bytes >= next_bytes_event)) {
      store();
      LifetimeSlowPath(sa);
      reload();
    }
  };

  uint16_t i = 0;
  // The usual burst: outer IPv4 without UDP, AES-GCM, and no lifetime or sequence event within
  // reach of the whole burst (the sequence number's is within next_packets_event's: Sa's
  // comment). Its packets skip the per-packet event checks and write the outer header from
  // registers (two 16-byte stores); the first packet that is not one segment with room on both
  // sides, or not a well-formed IP packet, leaves the rest to the general loop.
  // Packets [0, nfast) are this path's: their crypto finds everything again from the mbuf and
  // the first sequence number, so nothing is recorded per packet.
  const uint64_t fast_seq = seq;
  if (aead && hdr == 20 + 8 + 8 && icv == 16 && pad_mask == 3 &&
      !(flags & (kSaBlocked | kSaOuterV6 | kSaUdpEncap)) && packets + n < next_packets_event &&
      bytes + uint64_t{n} * 0xffff < next_bytes_event) {  // no add wraps: kNoLimit
    // What the burst's packets share: the TOS and DF bits taken from the inner header (read as
    // one load) and the bits always set, which join the constant part of the header and of
    // its checksum; the source, and the destination with the SPI, never change. Sequence
    // number and IP id follow from the packet's place in the burst, so the loop carries
    // nothing from one packet to the next but the byte count. Few loop invariants: more than
    // the registers would go to the stack and back for every packet.
    const wire::FastIpv4Esp c =
        wire::FastIpv4Esp::Of(params.tmpl, params.csum_base, params.flags, params.dscp, params.df);
    constexpr uint32_t kIcv = wire::kFastIcv, kPadMask = wire::kFastPadMask;
    const uint16_t id0 = ip_id;
    // One copy of the loop per mode: the checking one calls ReadInner, and sharing the loop
    // would keep InnerInfo (and much else) in memory for both.
    auto fast = [&](auto checked) __attribute__((always_inline)) {
      uint64_t fast_bytes = 0;
      uint16_t k = 0;
      for (; k < n; ++k) {
        rte_mbuf* m = pkts[k];
        const uint32_t inner_len = m->pkt_len;
        const uint32_t pad = (0u - (inner_len + 2)) & kPadMask;
        const uint32_t tail = pad + 2 + kIcv;
        uint8_t* inner = rte_pktmbuf_mtod(m, uint8_t*);
        if (unlikely(m->nb_segs != 1 || rte_pktmbuf_headroom(m) < hdr ||
                     rte_pktmbuf_tailroom(m) < tail))
          break;
        uint64_t tos_df;
        uint8_t next_header;
        if constexpr (decltype(checked)::value) {
          wire::CheckedInner(inner, c.keep, &tos_df, &next_header);
        } else {
          wire::InnerInfo in;
          if (unlikely(!wire::ReadInner(inner, m->data_len, inner_len, &in))) break;
          tos_df = (uint64_t{in.tos} << 8 | (in.df ? wire::kDfInWords01 : 0)) & c.keep;
          next_header = in.next_header;
        }
        wire::WriteFastIpv4Esp(c, m, inner, inner_len, pad, tos_df, next_header,
                               static_cast<uint16_t>(id0 + k), fast_seq + 1 + k);
        fast_bytes += inner_len;
      }
      bytes += fast_bytes;
      return k;
    };
    i = inner_checked ? fast(std::true_type{}) : fast(std::false_type{});
    seq += i;
    ip_id = static_cast<uint16_t>(ip_id + i);
    packets += i;
  }
  const uint16_t nfast = i;

  for (; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    alive[i] = false;
    if (unlikely(flags & kSaBlocked)) {
      Drop(sa, drops, m, sa.blocked_reason);
      continue;
    }
    const uint64_t next = seq + 1;
    // The sequence number event is due no earlier than next_packets_event (Sa's comment), so
    // its line is read only near that.
    if (unlikely(packets + 1 >= next_packets_event) && next >= sa.next_seq_event) {
      store();
      const bool ok = OutboundSeqSlowPath(sa);
      reload();
      if (!ok) {
        Drop(sa, drops, m, DropReason::kSeqExhausted);
        continue;
      }
    }
    const uint32_t inner_len = m->pkt_len;
    wire::InnerInfo in;
    if (unlikely(
            !wire::ReadInner(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, inner_len, &in))) {
      Drop(sa, drops, m, DropReason::kInnerMalformed);
      continue;
    }
    const uint32_t pad = (0u - (inner_len + 2)) & pad_mask;
    const uint32_t ct_len = inner_len + pad + 2;
    const uint32_t tail = pad + 2 + icv;
    if (unlikely(m->nb_segs != 1 || rte_pktmbuf_headroom(m) < hdr ||
                 rte_pktmbuf_tailroom(m) < tail)) {
      DropReason why = EncryptChained(sa, pkts[i], next, ip_id);
      if (why != DropReason::kCount) {
        Drop(sa, drops, pkts[i], why);
        continue;
      }
      ++ip_id;
      seq = next;
      count(inner_len);
      alive[i] = true;
      continue;
    }
    // Single segment with room on both sides: grow in place (no segment walk).
    uint8_t* t = rte_pktmbuf_mtod_offset(m, uint8_t*, m->data_len);
    m->data_len = static_cast<uint16_t>(m->data_len + tail + hdr);
    m->pkt_len += tail + hdr;
    m->data_off = static_cast<uint16_t>(m->data_off - hdr);
    if (pad <= 14 && icv >= 14) {
      wire::WriteTrailer16(t, pad, in.next_header);
    } else {
      wire::WriteTrailer(t, pad, in.next_header);
    }
    uint8_t* h = rte_pktmbuf_mtod(m, uint8_t*);
    uint8_t* esp = wire::WriteHeaders(params, h, m->pkt_len, in, next, ip_id++);
    if (aead) {
      uint64_t iv = rte_cpu_to_be_64(next);  // unique per SA: RFC 4106 §3.1 allows a counter
      std::memcpy(esp + 8, &iv, 8);
    } else if (cbc) {
      crypto_.CbcIv(keys, sa.spi_be, next, esp + 8);
    }
    // l3_len only (l2_len 0): inner offload requests are meaningless now.
    m->tx_offload = uint64_t{params.outer_ip_len} << 7;
    m->ol_flags &= ~RTE_MBUF_F_TX_OFFLOAD_MASK;
    seq = next;
    count(inner_len);
    alive[i] = true;
    work[nw] = {esp, ct_len, next};
    work_pkt[nw++] = i;
  }
  store();

  if (aead) {
    uint32_t salt;
    std::memcpy(&salt, sa.salt, 4);
    const bool esn = sa.esn();
    for (uint16_t k = 0; k < nfast; ++k) {
      rte_mbuf* m = pkts[k];
      const uint64_t pseq = fast_seq + 1 + k;
      uint8_t* esp = rte_pktmbuf_mtod(m, uint8_t*) + 20;
      const uint32_t ct_len = m->pkt_len - hdr - icv;
      alignas(16) uint8_t nonce[16];
      alignas(16) uint8_t aad_buf[16];
      const uint8_t* aad = esp;
      uint32_t aad_len = 8;
      wire::NonceOf(salt, pseq, nonce);
      if (unlikely(esn)) aad_len = wire::Aad(sa, esp, pseq, aad_buf, &aad);
      uint8_t* payload = esp + 8 + 8;
      crypto_.GcmEncrypt(keys, aes256, payload, ct_len, nonce, aad, aad_len, payload + ct_len);
    }
    for (uint16_t k = 0; k < nw; ++k) {
      const Work& w = work[k];
      alignas(16) uint8_t nonce[16];
      alignas(16) uint8_t aad_buf[16];
      const uint8_t* aad;
      wire::NonceOf(salt, w.seq, nonce);
      uint32_t aad_len = wire::Aad(sa, w.esp, w.seq, aad_buf, &aad);
      uint8_t* payload = w.esp + 8 + 8;
      crypto_.GcmEncrypt(keys, aes256, payload, w.ct_len, nonce, aad, aad_len, payload + w.ct_len);
    }
  } else if (nw > 0) {
    drivers::crypto::HmacJob jobs[kMaxBurst];
    alignas(16) uint8_t tags[kMaxBurst][32];
    for (uint16_t k = 0; k < nw; ++k)
      SetupHmac(sa, work[k].esp, work[k].ct_len, work[k].seq, tags[k], &jobs[k]);
    crypto_.HmacBurst(keys, sa.cipher, /*encrypt=*/true, jobs, nw);
    for (uint16_t k = 0; k < nw; ++k) {
      if (unlikely(!jobs[k].ok)) {
        alive[work_pkt[k]] = false;
        Drop(sa, drops, pkts[work_pkt[k]], DropReason::kCryptoError);
      } else if (sa.esn()) {
        std::memcpy(const_cast<uint8_t*>(jobs[k].hash_start) + jobs[k].hash_len - 4, tags[k], icv);
      }
    }
  }

  const bool udp6 = (params.flags & (kSaOuterV6 | kSaUdpEncap)) == (kSaOuterV6 | kSaUdpEncap);
  if (drops.n == drops_before && !udp6) return n;  // the usual burst: nothing to compact
  for (uint16_t k = 0; k < nfast; ++k) alive[k] = true;
  uint16_t out = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (!alive[i]) continue;
    if (udp6) FinishUdp6(sa, pkts[i]);
    pkts[out++] = pkts[i];
  }
  return out;
}

// A packet in several segments or without head/tail room: build the ESP packet in the scratch
// buffer, then lay it back over the mbuf chain (grown as needed).
template <class Backend>
DropReason EspEngine<Backend>::EncryptChained(Sa& sa, rte_mbuf*& m, uint64_t seq, uint16_t ip_id) {
  auto& keys = *reinterpret_cast<typename Backend::Keys*>(sa.crypto);
  const uint32_t inner_len = m->pkt_len;
  const uint32_t hdr = sa.hdr_len;
  const uint32_t pad = (0u - (inner_len + 2)) & sa.pad_mask();
  const uint32_t ct_len = inner_len + pad + 2;
  const uint32_t total = hdr + ct_len + sa.icv_len;
  if (total + 4 > sizeof scratch_) return DropReason::kBadLength;
  uint8_t* h = scratch_;
  // The inner packet is copied here in the clear; an inner header it refuses, or a chain it
  // cannot grow, would leave it behind.
  WipeOnExit wipe(h, total + 4);
  if (!CopyOut(m, 0, inner_len, h + hdr)) return DropReason::kInnerMalformed;
  wire::InnerInfo in;
  if (!wire::ReadInner(h + hdr, inner_len, inner_len, &in)) return DropReason::kInnerMalformed;
  wire::WriteTrailer(h + hdr + inner_len, pad, in.next_header);
  uint8_t* esp = wire::WriteHeaders(wire::EncapParams::Of(sa), h, total, in, seq, ip_id);
  uint8_t* payload = h + hdr;
  if (IsAead(sa.cipher)) {
    uint64_t iv = rte_cpu_to_be_64(seq);
    std::memcpy(esp + 8, &iv, 8);
    alignas(16) uint8_t nonce[16];
    alignas(16) uint8_t aad_buf[16];
    const uint8_t* aad;
    wire::Nonce(sa, esp + 8, nonce);
    uint32_t aad_len = wire::Aad(sa, esp, seq, aad_buf, &aad);
    crypto_.GcmEncrypt(keys, sa.cipher == Cipher::kAesGcm256, payload, ct_len, nonce, aad, aad_len,
                       payload + ct_len);
  } else {
    if (IsCbc(sa.cipher)) crypto_.CbcIv(keys, sa.spi_be, seq, esp + 8);
    alignas(16) uint8_t tag[32];
    drivers::crypto::HmacJob j;
    SetupHmac(sa, esp, ct_len, seq, tag, &j);
    crypto_.HmacBurst(keys, sa.cipher, true, &j, 1);
    if (!j.ok) return DropReason::kCryptoError;
    if (sa.esn()) std::memcpy(payload + ct_len, tag, sa.icv_len);
  }
  rte_mbuf* head = PrependSpace(m, static_cast<uint16_t>(hdr));
  if (head == nullptr) return DropReason::kNoBufferSpace;
  m = head;
  if (!GrowTo(m, total) || !CopyIn(m, 0, total, h)) return DropReason::kNoBufferSpace;
  m->l2_len = 0;
  m->l3_len = sa.outer_ip_len();
  m->ol_flags &= ~RTE_MBUF_F_TX_OFFLOAD_MASK;
  return DropReason::kCount;
}

template uint16_t EspEngine<drivers::crypto::IpsecMbBackend>::Encrypt(Sa&, rte_mbuf**, uint16_t,
                                                                      DropList&, bool);
template uint16_t EspEngine<drivers::crypto::OpenSslBackend>::Encrypt(Sa&, rte_mbuf**, uint16_t,
                                                                      DropList&, bool);

}  // namespace portcullis::dp::esp
