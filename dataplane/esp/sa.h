// An ESP SA as the packet path sees it. Cache line 0 holds what every packet of either
// direction reads (counters, sizes, flags, the GCM salt); line 1 what an outbound packet reads
// besides (the outer header template, IP id, checksum base); the inbound anti-replay window
// starts at line 2. So an outbound packet reads two lines of its SA's own fields, an inbound one
// line 0 and its window (docs/DESIGN.md, ESP: a burst spread over many SAs finds none of them in
// the cache). Each SA is owned by one worker,
// which alone writes its counters, sequence number and window (docs/DESIGN.md, SA ownership), so
// nothing here is atomic; other threads only read counters, which x86 never tears.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "dataplane/esp/drop_reason.h"
#include "dataplane/esp/esp_types.h"
#include "dataplane/esp/replay_window.h"
#include "dataplane/esp/sa_config.h"

namespace portcullis::dp::esp {

// Room for the largest backend's per-SA key material (IPsec-MB GCM: 1 KiB of GHASH tables).
constexpr size_t kCryptoStateBytes = 1280;
constexpr size_t kMaxOuterHeader = 40 + 8 + 8 + 16;  // IPv6 + UDP + ESP + CBC IV

enum SaFlags : uint8_t {
  kSaEsn = 1 << 0,
  kSaUdpEncap = 1 << 1,
  kSaOuterV6 = 1 << 2,
  kSaBlocked = 1 << 3,  // hard lifetime or sequence space reached: every packet is dropped
  kSaCopyDscp = 1 << 4,
  // Outbound in the usual layout, which EncryptEach takes without looking at more (outer IPv4
  // without UDP, AES-GCM: a 36-byte header with the IV, a 16-byte ICV, 4-byte padding; see
  // wire::kFastHdr): set with the SA, never changed.
  kSaFastOut = 1 << 5,
};

struct alignas(64) Sa {
  // ---- cache line 0: every packet, both directions
  uint64_t seq;                 // outbound: last sequence number sent; inbound: unused
  uint64_t packets;             // successfully processed
  uint64_t bytes;               // inner bytes of those packets
  uint64_t next_packets_event;  // `packets` value at which a lifetime event is due
  uint64_t next_bytes_event;
  uint64_t next_seq_event;  // outbound: `seq` value at which exhaustion is reported
  uint8_t salt[4];          // AES-GCM nonce salt
  uint32_t spi_be;          // network order, as written into packets
  Cipher cipher;
  Auth auth;
  uint8_t iv_len;
  uint8_t icv_len;
  uint8_t pad_mask;  // PadAlign - 1
  uint8_t hdr_len;   // outbound: outer IP [+ UDP] + ESP header + IV
  uint8_t flags;     // SaFlags (kSaOuterV6: the outer family, for the packet path)
  uint8_t backend;   // which crypto backend owns `crypto`

  // ---- cache line 1: outbound encapsulation
  alignas(64) uint8_t outer_template[56];  // outer IP [+ UDP] + SPI + zero sequence number
  uint16_t ip_id;                          // outer IPv4 identification, per SA
  uint8_t dscp;                            // when not copied
  DfMode df;
  uint32_t ip_csum_base;  // one's-complement sum of the template's fixed IPv4 header words,
                          // in memory order (see wire::OuterIpv4Words)

  // ---- cache line 2 on: inbound, the anti-replay window (its top, size and first buckets in
  // line 2)
  alignas(64) ReplayWindow replay;

  // ---- cold: identity, limits and counters
  uint32_t spi;  // host order (events)
  uint8_t ttl;
  Direction direction;
  Mode mode;
  int family;  // AF_INET or AF_INET6, for the control path (the packet path reads kSaOuterV6)
  uint16_t udp_sport, udp_dport;
  uint8_t local[16], remote[16];
  uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets;
  bool soft_bytes_fired, soft_packets_fired, seq_soft_fired;
  DropReason blocked_reason;  // why kSaBlocked was set
  bool hard_event_pending;    // the event for blocking could not be queued yet
  uint8_t hard_event_type;    // EspEvent::Type of that event
  uint64_t seq_soft, seq_hard;
  uint64_t drops[kDropReasonCount];

  void (*destroy_keys)(void* crypto);
  alignas(64) uint8_t crypto[kCryptoStateBytes];

  bool esn() const { return flags & kSaEsn; }
  // The outer IP header's length, from line 0 (20 or 40).
  uint32_t outer_ip_len() const { return (flags & kSaOuterV6) ? 40 : 20; }
  bool blocked() const { return flags & kSaBlocked; }
  uint64_t drop_count(DropReason r) const { return drops[static_cast<int>(r)]; }
  uint64_t total_drops() const;
};

// What a packet reads of its SA: line 0, then line 1 (outbound) or the window (inbound).
static_assert(offsetof(Sa, salt) + sizeof(Sa::salt) <= 64 && offsetof(Sa, backend) < 64,
              "an inbound packet reads one line of the SA's own fields, then its window");
static_assert(offsetof(Sa, outer_template) == 64 &&
                  offsetof(Sa, ip_csum_base) + sizeof(Sa::ip_csum_base) <= 128,
              "an outbound packet reads two");
static_assert(offsetof(Sa, replay) == 128 && offsetof(Sa, spi) >= 128 + sizeof(ReplayWindow),
              "the window right after them, the cold fields after it");
static_assert(sizeof(Sa::outer_template) >= 40 + 8 + 8, "IPv6 + UDP + SPI + sequence number");

struct SaDeleter {
  void operator()(Sa* sa) const;
};
using SaPtr = std::unique_ptr<Sa, SaDeleter>;

// Everything but the key material: validated config, limits, outer header template. Memory is
// 64-byte aligned and locked (best effort) so keys never reach swap, out of core dumps, on huge
// pages where the kernel has them (sa_memory.h); it is wiped when freed.
absl::StatusOr<SaPtr> AllocateSa(const SaConfig& config);

// With the key material of a crypto backend (see drivers/crypto): Backend::InitKeys fills
// sa->crypto in its own layout from the config's key spec, Backend::DestroyKeys wipes it.
template <class Backend>
absl::StatusOr<SaPtr> CreateSa(const SaConfig& config) {
  auto sa = AllocateSa(config);
  if (!sa.ok()) return sa.status();
  static_assert(sizeof(typename Backend::Keys) <= kCryptoStateBytes);
  const drivers::crypto::KeySpec keys = KeySpecOf(config);
  if (absl::Status s = Backend::InitKeys((*sa)->crypto, keys); !s.ok()) return s;
  (*sa)->backend = Backend::kId;
  (*sa)->destroy_keys = &Backend::DestroyKeys;
  return std::move(*sa);
}

}  // namespace portcullis::dp::esp
