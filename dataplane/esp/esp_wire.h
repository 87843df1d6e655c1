// Byte-level pieces of ESP tunnel-mode packets shared by the outbound and inbound paths:
// reading the inner and outer IP headers, writing the outer headers and the trailer, AAD/nonce.
#pragma once

#include <emmintrin.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <cstdint>
#include <cstring>

#include "dataplane/esp/drop_reason.h"
#include "dataplane/esp/sa.h"

namespace portcullis::dp::esp::wire {

struct InnerInfo {
  uint8_t next_header;  // 4 or 41
  uint8_t tos;          // IPv4 TOS / IPv6 traffic class (DSCP + ECN)
  bool df;
};

// The inner packet's next header, TOS and DF from a header known to be a whole IPv4 or IPv6
// one (ReadInner checks it; a caller that has checked it already reads it directly).
__attribute__((always_inline)) inline InnerInfo InnerOf(const uint8_t* p) {
  if ((p[0] >> 4) == 4) return {kNextHeaderIpv4, p[1], (p[6] & 0x40) != 0};
  // IPv6 is never fragmented on the path: neither is its tunnel packet (DF).
  return {kNextHeaderIpv6, static_cast<uint8_t>((p[0] << 4) | (p[1] >> 4)), true};
}

// The inner packet's version, TOS and DF. False if it is not an IPv4/IPv6 packet whose header
// fits in `avail` bytes and whose stated length matches `len`.
__attribute__((always_inline)) inline bool ReadInner(const uint8_t* p, uint32_t avail, uint32_t len,
                                                     InnerInfo* out) {
  if (avail < 1) return false;
  const uint8_t v = p[0] >> 4;
  if (v == 4) {
    if (avail < 20 || (p[0] & 0x0f) < 5) return false;
    uint16_t total = static_cast<uint16_t>(p[2] << 8 | p[3]);
    if (total != len) return false;
    *out = InnerOf(p);
    return true;
  }
  if (v == 6) {
    if (avail < 40) return false;
    uint16_t payload = static_cast<uint16_t>(p[4] << 8 | p[5]);
    if (uint32_t{payload} + 40 != len) return false;
    *out = InnerOf(p);
    return true;
  }
  return false;
}

// RFC 4303 §2.4 padding (1, 2, 3, ...), pad length, next header.
inline void WriteTrailer(uint8_t* t, uint32_t pad, uint8_t next_header) {
  for (uint32_t k = 0; k < pad; ++k) t[k] = static_cast<uint8_t>(k + 1);
  t[pad] = static_cast<uint8_t>(pad);
  t[pad + 1] = next_header;
}

// The same with one 16-byte store of the whole pattern, for a trailer (pad <= 14) with at
// least 16 writable bytes at t (the ICV's room always provides them).
inline void WriteTrailer16(uint8_t* t, uint32_t pad, uint8_t next_header) {
  const __m128i pattern = _mm_setr_epi8(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(t), pattern);
  const uint16_t tail = static_cast<uint16_t>(pad | (uint32_t{next_header} << 8));
  std::memcpy(t + pad, &tail, 2);
}

// What the outbound path reads from an SA for every packet, copied out once per burst: the
// packet stores go through uint8_t*, which may alias the SA, so fields read through `sa`
// would be reloaded after each of them.
struct EncapParams {
  const uint8_t* tmpl;  // sa.outer_template
  uint32_t csum_base;
  uint16_t outer_ip_len;
  uint8_t flags;
  uint8_t dscp;
  DfMode df;
  static EncapParams Of(const Sa& sa) {
    return {sa.outer_template, sa.ip_csum_base, static_cast<uint16_t>(sa.outer_ip_len()),
            sa.flags,          sa.dscp(),       sa.df()};
  }
};

inline uint8_t OuterTos(const EncapParams& p, uint8_t inner_tos) {
  // DSCP copied or set; ECN copied (RFC 6040 normal mode).
  uint8_t dscp = (p.flags & kSaCopyDscp) ? (inner_tos & 0xfc) : static_cast<uint8_t>(p.dscp << 2);
  return dscp | (inner_tos & 0x03);
}

// The outer IPv4 header's first eight bytes (version to fragment offset) as one little-endian
// load of the wire bytes would give them, and its checksum where it lies in the third 32-bit
// word. The one's-complement sum does not depend on byte order (RFC 1071 §2(B)), so it is
// summed over the words in memory order and never swapped.
// w01: the constant bits of the eight bytes (version and IHL, and any TOS or DF bits always
// set); csum_base: the template's other words, and those constant bits, summed the same way.
// tos_df: the TOS and DF bits taken from the inner packet, where an IPv4 header's own first
// eight bytes have them (TOS << 8; DF: kDfInWords01).
struct Ipv4Words {
  uint64_t w01;
  uint32_t csum;  // in bits 16-31
};
constexpr uint64_t kDfInWords01 = uint64_t{0x40} << 48;  // 0x40 in byte 6
__attribute__((always_inline)) inline Ipv4Words OuterIpv4Words(uint64_t w01, uint32_t csum_base,
                                                               uint64_t tos_df, uint32_t total_len,
                                                               uint32_t id) {
  const uint64_t v =
      tos_df | __builtin_bswap32(total_len & 0xffff) | uint64_t{__builtin_bswap32(id << 16)} << 32;
  uint64_t sum = uint64_t{csum_base} + (v & 0xffffffff) + (v >> 32);  // below 2^34
  sum = (sum & 0xffff) + (sum >> 16);                                 // below 2^19
  sum = (sum & 0xffff) + (sum >> 16);                                 // below 2^16 + 8
  sum = (sum & 0xffff) + (sum >> 16);
  return {w01 | v, static_cast<uint32_t>((~sum & 0xffff) << 16)};
}

// The usual outbound packet (outer IPv4 without UDP, AES-GCM: a 36-byte header with the IV, a
// 16-byte ICV, 4-byte alignment; one segment with room on both sides), written by Encrypt's
// burst path and by EncryptEach alike. FastIpv4Esp is what an SA's packets share: built once
// per burst of one SA, or per packet of a burst over many.
constexpr uint32_t kFastHdr = 20 + 8 + 8, kFastIcv = 16, kFastPadMask = 3;
struct FastIpv4Esp {
  uint64_t keep;       // the TOS and DF bits taken from the inner header (see OuterIpv4Words)
  uint64_t w01;        // the constant bits of the first eight bytes
  uint32_t csum_base;  // and of the checksum
  uint64_t w23;        // TTL, protocol, a zero checksum and the source
  uint64_t dst_spi;    // destination and SPI
  __attribute__((always_inline)) static FastIpv4Esp Of(const uint8_t* tmpl, uint32_t ip_csum_base,
                                                       uint8_t flags, uint8_t dscp, DfMode df) {
    // ECN is always copied (RFC 6040); DSCP copied or set; DF copied, set or clear.
    const bool copy_dscp = flags & kSaCopyDscp;
    const uint64_t keep =
        (copy_dscp ? 0xffu : 0x03u) << 8 | (df == DfMode::kCopy ? kDfInWords01 : 0);
    const uint32_t tos_set = copy_dscp ? 0 : uint32_t{dscp} << 10;
    const uint32_t df_set = df == DfMode::kSet ? kDfInWords01 >> 32 : 0;
    uint64_t w23, dst_spi;
    std::memcpy(&w23, tmpl + 8, 8);
    std::memcpy(&dst_spi, tmpl + 16, 8);
    return {keep, tmpl[0] | tos_set | uint64_t{df_set} << 32, ip_csum_base + tos_set + df_set,
            w23 & ~uint64_t{0xffff0000}, dst_spi};
  }
  // The same from the SA's line 0 alone (Sa::src4 to spi_be), for a burst over many SAs: the
  // template's line is not read. The checksum's base is summed here, as 32-bit words: each is
  // its two 16-bit words modulo 0xffff, so the folded one's-complement sum is the same.
  __attribute__((always_inline)) static FastIpv4Esp OfLine0(const Sa& sa) {
    const uint8_t flags = sa.flags, dscp_df = sa.dscp_df;
    const bool copy_dscp = flags & kSaCopyDscp;
    const DfMode df = static_cast<DfMode>(dscp_df >> 6);
    const uint64_t keep =
        (copy_dscp ? 0xffu : 0x03u) << 8 | (df == DfMode::kCopy ? kDfInWords01 : 0);
    const uint32_t tos_set = copy_dscp ? 0 : uint32_t{dscp_df & 63u} << 10;
    const uint32_t df_set = df == DfMode::kSet ? kDfInWords01 >> 32 : 0;
    uint32_t src, dst;
    uint64_t dst_spi;
    std::memcpy(&src, sa.src4, 4);
    std::memcpy(&dst, sa.dst4, 4);
    std::memcpy(&dst_spi, sa.dst4, 8);
    const uint32_t ttl_proto = sa.ttl | uint32_t{kProtoEsp} << 8;
    uint64_t sum = uint64_t{src} + dst + (0x45 + ttl_proto + tos_set + df_set);  // below 2^34
    sum = (sum & 0xffff) + (sum >> 16);                                          // below 2^19
    return {keep, 0x45 | tos_set | uint64_t{df_set} << 32, static_cast<uint32_t>(sum),
            ttl_proto | uint64_t{src} << 32, dst_spi};
  }
};

// The TOS and DF bits (FastIpv4Esp::keep of them) and the next header of an inner packet that
// passed the IPv4 or IPv6 checks.
__attribute__((always_inline)) inline void CheckedInner(const uint8_t* inner, uint64_t keep,
                                                        uint64_t* tos_df, uint8_t* next_header) {
  uint64_t in01;
  std::memcpy(&in01, inner, 8);
  if (__builtin_expect((in01 & 0xf0) == 0x40, 1)) {
    *tos_df = in01 & keep;
    *next_header = kNextHeaderIpv4;
  } else {
    const InnerInfo in = InnerOf(inner);  // IPv6: DF, as it is never fragmented
    *tos_df = (uint64_t{in.tos} << 8 | kDfInWords01) & keep;
    *next_header = in.next_header;
  }
}

// Trailer, outer IPv4 header, ESP header and IV of packet m, whose inner packet (inner_len
// bytes at `inner`) gets `pad` bytes of padding; `id` its outer IPv4 identification, `seq` its
// sequence number (the IV: the same, RFC 4106 §3.1).
__attribute__((always_inline)) inline void WriteFastIpv4Esp(const FastIpv4Esp& c, rte_mbuf* m,
                                                            uint8_t* inner, uint32_t inner_len,
                                                            uint32_t pad, uint64_t tos_df,
                                                            uint8_t next_header, uint16_t id,
                                                            uint64_t seq) {
  WriteTrailer16(inner + inner_len, pad, next_header);
  const uint32_t total = kFastHdr + inner_len + pad + 2 + kFastIcv;
  m->data_len = static_cast<uint16_t>(total);
  m->pkt_len = total;
  m->data_off = static_cast<uint16_t>(m->data_off - kFastHdr);
  const Ipv4Words w = OuterIpv4Words(c.w01, c.csum_base, tos_df, total, id);
  const uint32_t seq_lo = __builtin_bswap32(static_cast<uint32_t>(seq));
  const uint64_t seq_iv =
      uint64_t{seq_lo} | uint64_t{__builtin_bswap32(static_cast<uint32_t>(seq >> 32))} << 32;
  // Bytes 0-15: the IPv4 header up to the source; 16-31: destination, SPI, sequence number and
  // the first half of the IV; 32-35: its rest.
  uint8_t* h = inner - kFastHdr;
  _mm_storeu_si128(
      reinterpret_cast<__m128i*>(h),
      _mm_set_epi64x(static_cast<int64_t>(c.w23 | w.csum), static_cast<int64_t>(w.w01)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h + 16),
                   _mm_set_epi64x(static_cast<int64_t>(seq_iv), static_cast<int64_t>(c.dst_spi)));
  std::memcpy(h + 32, &seq_lo, 4);
  m->tx_offload = uint64_t{20} << 7;  // l3_len
  m->ol_flags &= ~RTE_MBUF_F_TX_OFFLOAD_MASK;
}

// Outer IP [+ UDP] and the ESP header at h (the IV follows). total_len: the whole outer packet;
// id: the outer IPv4 identification. Returns the ESP header.
inline uint8_t* WriteHeaders(const EncapParams& sa, uint8_t* h, uint32_t total_len,
                             const InnerInfo& in, uint64_t seq, uint16_t id) {
  const bool v6 = sa.flags & kSaOuterV6;
  const bool udp = sa.flags & kSaUdpEncap;
  // Fixed-size copies compile to a few vector moves; the variable length would be a call.
  if (!v6) {
    if (udp) {
      std::memcpy(h, sa.tmpl, 20 + 8 + 8);
    } else {
      std::memcpy(h, sa.tmpl, 20 + 8);
    }
    const uint32_t tos = OuterTos(sa, in.tos);
    const bool df = sa.df == DfMode::kSet || (sa.df == DfMode::kCopy && in.df);
    uint32_t w2;
    std::memcpy(&w2, sa.tmpl + 8, 4);
    const Ipv4Words w = OuterIpv4Words(sa.tmpl[0], sa.csum_base,
                                       uint64_t{tos} << 8 | (df ? kDfInWords01 : 0), total_len, id);
    w2 = (w2 & 0xffff) | w.csum;
    std::memcpy(h, &w.w01, 8);
    std::memcpy(h + 8, &w2, 4);
  } else {
    if (udp) {
      std::memcpy(h, sa.tmpl, 40 + 8 + 8);
    } else {
      std::memcpy(h, sa.tmpl, 40 + 8);
    }
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(h);
    ip->vtc_flow = rte_cpu_to_be_32((6u << 28) | (uint32_t{OuterTos(sa, in.tos)} << 20));
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(total_len - 40));
  }
  uint8_t* p = h + sa.outer_ip_len;
  if (udp) {
    auto* u = reinterpret_cast<rte_udp_hdr*>(p);
    u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(total_len - sa.outer_ip_len));
    p += 8;
  }
  uint32_t seq_lo = rte_cpu_to_be_32(static_cast<uint32_t>(seq));
  std::memcpy(p + 4, &seq_lo, 4);
  return p;
}

// RFC 4106 nonce: salt || explicit IV, written with a single 16-byte store. The cipher reads
// it with one wide load right after; built from two narrower stores, that load cannot be
// forwarded from the store buffer and stalls (measured: +16 ns per packet).
inline void Nonce(const Sa& sa, const uint8_t* iv8, uint8_t* nonce16) {
  uint32_t salt;
  uint64_t iv;
  std::memcpy(&salt, sa.salt, 4);
  std::memcpy(&iv, iv8, 8);
  __m128i v = _mm_set_epi64x(static_cast<int64_t>(iv >> 32),
                             static_cast<int64_t>(uint64_t{salt} | (iv << 32)));
  _mm_store_si128(reinterpret_cast<__m128i*>(nonce16), v);
}

// The same nonce from the sequence number, the outbound IV, without reading the packet back.
inline void NonceOf(uint32_t salt, uint64_t seq, uint8_t* nonce16) {
  const uint64_t iv = rte_cpu_to_be_64(seq);
  __m128i v = _mm_set_epi64x(static_cast<int64_t>(iv >> 32),
                             static_cast<int64_t>(uint64_t{salt} | (iv << 32)));
  _mm_store_si128(reinterpret_cast<__m128i*>(nonce16), v);
}

// RFC 4106 §5 AAD: SPI || [seq high 32 with ESN] || seq low 32. Without ESN it is the ESP
// header itself; with ESN it is assembled in `buf` (16 bytes, one store, as for the nonce).
// Returns the length.
inline uint32_t Aad(const Sa& sa, const uint8_t* esp, uint64_t seq, uint8_t* buf,
                    const uint8_t** aad) {
  if (!sa.esn()) {
    *aad = esp;
    return 8;
  }
  uint32_t spi, lo;
  std::memcpy(&spi, esp, 4);
  std::memcpy(&lo, esp + 4, 4);
  uint32_t hi = rte_cpu_to_be_32(static_cast<uint32_t>(seq >> 32));
  __m128i v = _mm_set_epi32(0, static_cast<int>(lo), static_cast<int>(hi), static_cast<int>(spi));
  _mm_store_si128(reinterpret_cast<__m128i*>(buf), v);
  *aad = buf;
  return 12;
}

struct OuterInfo {
  uint32_t esp_off;  // ESP header offset from the outer IP header
  uint32_t len;      // the outer packet's length by its IP header (link padding excluded)
  uint8_t tos;
};

// Parses the outer IPv4/IPv6 [+ UDP] header of an inbound ESP packet of `len` bytes.
inline DropReason ReadOuter(const uint8_t* p, uint32_t len, OuterInfo* out) {
  if (len < 20) return DropReason::kTruncated;
  const uint8_t v = p[0] >> 4;
  uint32_t hl;
  uint8_t proto;
  if (v == 4) {
    hl = (p[0] & 0x0fu) * 4;
    uint32_t total = static_cast<uint32_t>(p[2] << 8 | p[3]);
    if (hl < 20 || total < hl) return DropReason::kBadOuterHeader;
    if (total > len) return DropReason::kBadLength;
    // Fragments are reassembled before they reach ESP.
    if ((p[6] & 0x3f) | p[7]) return DropReason::kBadOuterHeader;
    out->len = total;
    out->tos = p[1];
    proto = p[9];
  } else if (v == 6) {
    if (len < 40) return DropReason::kTruncated;
    hl = 40;
    uint32_t total = 40 + static_cast<uint32_t>(p[4] << 8 | p[5]);
    if (total > len) return DropReason::kBadLength;
    out->len = total;
    out->tos = static_cast<uint8_t>((p[0] << 4) | (p[1] >> 4));
    proto = p[6];  // extension headers are handled before ESP (or refused here)
  } else {
    return DropReason::kBadOuterHeader;
  }
  if (proto == kProtoUdp) {
    if (out->len < hl + 8) return DropReason::kTruncated;
    uint32_t ulen = static_cast<uint32_t>(p[hl + 4] << 8 | p[hl + 5]);
    if (ulen != out->len - hl) return DropReason::kBadOuterHeader;
    out->esp_off = hl + 8;
  } else if (proto == kProtoEsp) {
    out->esp_off = hl;
  } else {
    return DropReason::kBadOuterHeader;
  }
  return DropReason::kCount;  // no error
}

}  // namespace portcullis::dp::esp::wire
