// The ESP packet path (RFC 4303 tunnel mode): bursts of mbufs in, bursts out. One engine per
// worker, templated on its crypto backend so the per-packet path has no virtual calls; the
// dataplane uses drivers::crypto::IpsecMbBackend, tests also drivers::crypto::OpenSslBackend.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>

#include "dataplane/esp/drop_reason.h"
#include "dataplane/esp/esp_event.h"
#include "dataplane/esp/sa.h"

namespace portcullis::dp::esp {

// Packets the engine refused, with the reason; the caller frees them and counts them per
// interface (the engine already counted them per SA).
struct DropList {
  uint16_t n = 0;
  rte_mbuf* pkts[kMaxBurst];
  DropReason reasons[kMaxBurst];
  void Add(rte_mbuf* m, DropReason r) {
    pkts[n] = m;
    reasons[n] = r;
    ++n;
  }
  void Clear() { n = 0; }
  void FreeAll() {
    if (n) rte_pktmbuf_free_bulk(pkts, n);
    n = 0;
  }
};

// Largest packet the engine handles (jumbo frames): chained packets are linearised into a
// scratch buffer of this size.
constexpr uint32_t kMaxPacket = 9216 + 128;

template <class Backend>
class EspEngine {
 public:
  explicit EspEngine(Backend& crypto) : crypto_(crypto) { FindKeyLines(); }

  // A short packet: ciphertext up to this many bytes (a 64-byte frame's). Its GCM call reads
  // the lines of its SA's keys that a 64-byte one reads, which include a shorter one's (fewer
  // GHASH powers, nested); a longer packet's call reads at most the lines of kLongCt bytes
  // (all eight powers of the SSE/AVX/AVX2 table), as the backend's GcmKeyLines models it
  // (IPsec-MB's AVX2 code, this machine's; its AVX-512 VAES code reads more of its 48 powers
  // for long buffers, and its SSE/AVX code the Karatsuba halves, which the model, and so this,
  // does not cover).
  static constexpr uint32_t kShortCt = 64;
  static constexpr uint32_t kLongCt = 8 * 16;
  // Lines EncryptEach asks for per packet: every key size's and length's lines fit (IpsecMb's
  // kMaxGcmKeyLines), a list with fewer repeats its last line.
  static constexpr int kKeyLines = 7;

  // Outbound. pkts[0..n) are inner IPv4/IPv6 packets (data starting at the IP header) for
  // `sa`, n <= kMaxBurst. Returns how many were encrypted: those are compacted to the front of
  // pkts and start at the outer IP header. The rest went to `drops`.
  // inner_checked: the caller vouches that every packet is IPv4 or IPv6 with a whole header in
  // its first segment and ends where that header's length says (the pipeline has checked and
  // trimmed what it routes), so the usual packet's header is read, not checked again.
  uint16_t Encrypt(Sa& sa, rte_mbuf** pkts, uint16_t n, DropList& drops,
                   bool inner_checked = false);

  // Outbound, each packet with its own SA (sas[k] for pkts[k]; one SA may come back any number
  // of times, its packets keep their order), for bursts spread over many tunnels: one pass
  // writes every packet's headers, the next runs every packet's crypto, with each SA's keys
  // fetched ahead of it, instead of an Encrypt call per SA with its state and keys cold. The
  // packets are inner_checked as for Encrypt. Returns how many were encrypted, compacted to the
  // front of pkts with tags[k] (the caller's, e.g. the VTI) moved alongside; the rest went to
  // `drops`, their tags at drop_tags[i] for drops' entry i.
  uint16_t EncryptEach(Sa* const* sas, rte_mbuf** pkts, uint16_t* tags, uint16_t n, DropList& drops,
                       uint16_t* drop_tags);

  // Inbound. pkts[0..n) are ESP packets (raw or UDP-encapsulated, data starting at the outer IP
  // header) whose SPI resolved to `sa`. Returns how many decrypted: compacted to the front, each
  // now holding the inner packet. The rest went to `drops`.
  // outer_checked: the caller vouches that every packet has its header length in l3_len
  // (IPv6: no extension header, 40), ends where that header's length says, is not a fragment,
  // and is ESP or UDP with a whole UDP header in its first segment (the pipeline's checks
  // before local delivery, IPv4 and IPv6), so the usual packet's outer header is read, not
  // checked again; and of the SA's outer family (EspIn drops the other).
  uint16_t Decrypt(Sa& sa, rte_mbuf** pkts, uint16_t n, DropList& drops,
                   bool outer_checked = false);

  EventQueue& events() { return events_; }
  // The lines of sa's key material EncryptEach asks for ahead of the GCM call of a packet of
  // ct_len bytes of ciphertext with a key of that size (tests), in the order it asks.
  std::array<const uint8_t*, kKeyLines> KeyLinesForTesting(const Sa& sa, bool aes256,
                                                           uint32_t ct_len) const {
    std::array<const uint8_t*, kKeyLines> lines;
    const uint16_t* off = key_lines_[aes256][ct_len > kShortCt];
    for (int k = 0; k < kKeyLines; ++k) lines[k] = sa.crypto + off[k];
    return lines;
  }
  // The chained paths' scratch buffer, for tests that check it holds nothing afterwards.
  const uint8_t* scratch_for_testing() const { return scratch_; }
  static constexpr size_t kScratchBytes = kMaxPacket + 256;

 private:
  struct OutState;
  struct InState;
  bool OutboundSeqSlowPath(Sa& sa);
  static const typename Backend::Keys& KeysOf(const Sa& sa) {
    return *reinterpret_cast<const typename Backend::Keys*>(sa.crypto);
  }
  // A packet went through: count it, and look at the limits only when one is reached.
  void CountLifetime(Sa& sa, uint32_t inner_len) {
    ++sa.packets;
    sa.bytes += inner_len;
    if (__builtin_expect(sa.packets >= sa.next_packets_event || sa.bytes >= sa.next_bytes_event, 0))
      LifetimeSlowPath(sa);
  }
  void LifetimeSlowPath(Sa& sa);
  void Drop(Sa& sa, DropList& drops, rte_mbuf* m, DropReason r);
  DropReason EncryptChained(Sa& sa, rte_mbuf*& m, uint64_t seq, uint16_t ip_id);
  DropReason DecryptChained(Sa& sa, rte_mbuf* m);

  // The lines the GCM call of a packet reads of any SA's keys, per key size (AES-256 reads
  // round keys AES-128 does not) and length (short: up to kShortCt; long: the lines of
  // kLongCt, all any length reads), as offsets into Sa::crypto: found once from the backend's
  // layout (GcmKeyLines), so that EncryptEach asks for them without working them out per
  // packet, and with no call into the backend that could compile to nothing (session 7 found
  // the long packets' one had: a `requires` GCC 12 did not see satisfied). A backend without
  // GcmKeyLines (OpenSSL, tests) has every offset 0: its first line asked for, harmlessly.
  void FindKeyLines();
  void PrefetchKeys(const Sa& sa, bool aes256, uint32_t ct_len) const {
    // A fixed count, unrolled: two instructions a line (the offset's load, the prefetch).
    const uint16_t* off = key_lines_[aes256][ct_len > kShortCt];
#pragma GCC unroll 8
    for (int k = 0; k < kKeyLines; ++k) __builtin_prefetch(sa.crypto + off[k]);
  }
  uint16_t key_lines_[2][2][kKeyLines] = {};

  Backend& crypto_;
  EventQueue events_;
  // Zero from the start (not whatever the allocator left there): between chained operations it
  // holds nothing at all, which the tests check over the whole buffer.
  alignas(64) uint8_t scratch_[kScratchBytes] = {};
};

}  // namespace portcullis::dp::esp
