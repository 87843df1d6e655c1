// An ESP SA as the packet path sees it. Cache line 0 holds what every packet of either
// direction reads (counters, limits, flags, sizes, the GCM salt) and all that the usual outbound
// packet (outer IPv4 without UDP, AES-GCM: kSaFastOut) needs besides: IP id, TTL, addresses,
// SPI, DSCP and DF, from which EncryptEach builds the outer header; line 1 the full outer header
// template the other outbound layouts (IPv6, UDP) copy; the inbound anti-replay window starts
// at line 2. So the usual outbound packet reads one line of its SA's own fields, another
// outbound packet two, an inbound one line 0 and its window (docs/DESIGN.md, ESP: a burst spread
// over many SAs finds none of them in the cache). Each SA is owned by one worker,
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
// An event limit (Sa::next_packets_event, next_bytes_event, next_seq_event) that is never
// reached: 2^63 - 1, so that the packet path's `packets + 1 >= limit` and
// `bytes + 0xffff >= limit` cannot wrap for any limit up to it (the counters themselves stay
// below 2^63: 9.2 EB through one SA), one compare each instead of two.
constexpr uint64_t kNoLimit = (uint64_t{1} << 63) - 1;

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
  // ---- cache line 0: every packet, both directions; all of the usual outbound packet's
  uint64_t seq;      // outbound: last sequence number sent; inbound: unused
  uint64_t packets;  // successfully processed
  uint64_t bytes;    // inner bytes of those packets
  // The `packets` value at which the lifetimes must be looked at. Outbound, no later than the
  // packet that reaches the sequence number event either (FoldSeqEvent): `seq` and `packets`
  // go up together (every packet path counts a packet when it spends its number), so one
  // compare covers both and next_seq_event can stay out of this line. Anything else that sets
  // seq, packets or either event (an SA replacing another, CommandApplier) must fold again.
  uint64_t next_packets_event;
  uint64_t next_bytes_event;
  uint8_t salt[4];  // AES-GCM nonce salt
  uint8_t flags;    // SaFlags (kSaOuterV6: the outer family, for the packet path)
  Cipher cipher;
  uint8_t iv_len;
  uint8_t icv_len;
  uint16_t ip_id;   // outbound: outer IPv4 identification, per SA
  uint8_t dscp_df;  // outbound: DSCP when not copied (bits 0-5), DfMode (bits 6-7)
  uint8_t ttl;      // outbound: outer TTL / hop limit
  uint8_t src4[4];  // outbound IPv4: the outer source and destination (as in outer_template)
  uint8_t dst4[4];
  uint32_t spi_be;  // network order, as written into packets

  // ---- cache line 1: the other outbound layouts
  alignas(64) uint8_t outer_template[56];  // outer IP [+ UDP] + SPI + zero sequence number
  uint32_t ip_csum_base;  // one's-complement sum of the template's fixed IPv4 header words,
                          // in memory order (see wire::OuterIpv4Words)
  uint8_t hdr_len;        // outbound: outer IP [+ UDP] + ESP header + IV
  Auth auth;
  uint8_t backend;  // which crypto backend owns `crypto`

  // ---- cache line 2 on: inbound, the anti-replay window (its top, size and first buckets in
  // line 2)
  alignas(64) ReplayWindow replay;

  // ---- cold: identity, limits and counters
  uint32_t spi;  // host order (events)
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
  uint64_t next_seq_event;  // outbound: `seq` value at which exhaustion is reported
  uint64_t drops[kDropReasonCount];

  void (*destroy_keys)(void* crypto);
  alignas(64) uint8_t crypto[kCryptoStateBytes];

  bool esn() const { return flags & kSaEsn; }
  uint32_t pad_mask() const { return static_cast<uint32_t>(PadAlign(cipher) - 1); }
  uint8_t dscp() const { return dscp_df & 63; }
  DfMode df() const { return static_cast<DfMode>(dscp_df >> 6); }
  // The outer IP header's length, from line 0 (20 or 40).
  uint32_t outer_ip_len() const { return (flags & kSaOuterV6) ? 40 : 20; }
  bool blocked() const { return flags & kSaBlocked; }
  uint64_t drop_count(DropReason r) const { return drops[static_cast<int>(r)]; }
  uint64_t total_drops() const;
};

// What a packet reads of its SA: line 0 (the usual outbound packet), then line 1 (another
// outbound one) or the window (inbound).
static_assert(offsetof(Sa, spi_be) + sizeof(Sa::spi_be) <= 64 && offsetof(Sa, salt) < 64,
              "line 0 holds all the usual outbound packet reads and an inbound one's fields");
static_assert(offsetof(Sa, dst4) == offsetof(Sa, spi_be) - 4,
              "destination and SPI: one 8-byte load, as the header has them");
static_assert(offsetof(Sa, outer_template) == 64 && offsetof(Sa, backend) < 128,
              "an outbound packet of another layout reads two");
static_assert(offsetof(Sa, replay) == 128 && offsetof(Sa, spi) >= 128 + sizeof(ReplayWindow),
              "the window right after them, the cold fields after it");
static_assert(sizeof(Sa::outer_template) >= 40 + 8 + 8, "IPv6 + UDP + SPI + sequence number");

// Outbound: brings next_packets_event forward to the packet that reaches next_seq_event, if
// that comes first (see Sa::next_packets_event). Called wherever seq, packets or either event
// is set other than by counting a packet: AllocateSa, the lifetime slow path, an SA replace.
inline void FoldSeqEvent(Sa& sa) {
  if (sa.direction != Direction::kOutbound) return;
  const uint64_t left = sa.next_seq_event > sa.seq ? sa.next_seq_event - sa.seq : 0;
  const uint64_t at = left >= kNoLimit - sa.packets ? kNoLimit : sa.packets + left;
  if (at < sa.next_packets_event) sa.next_packets_event = at;
}

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
