// The slow paths shared by both directions: lifetime limits, sequence exhaustion, drops.
#include "dataplane/esp/esp_engine.h"

#include <algorithm>
#include <cstddef>
#include <memory>

#include "drivers/crypto/ipsecmb_backend.h"
#include "drivers/crypto/openssl_backend.h"

namespace portcullis::dp::esp {

template <class Backend>
void EspEngine<Backend>::Drop(Sa& sa, DropList& drops, rte_mbuf* m, DropReason r) {
  ++sa.drops[static_cast<int>(r)];
  drops.Add(m, r);
  if (sa.hard_event_pending) {
    EspEvent e{static_cast<EspEvent::Type>(sa.hard_event_type), sa.direction, sa.spi,
               sa.hard_event_type == static_cast<uint8_t>(EspEvent::Type::kHardBytes) ? sa.bytes
               : sa.hard_event_type == static_cast<uint8_t>(EspEvent::Type::kSeqHard) ? sa.seq
                                                                                      : sa.packets};
    if (events_.Push(e)) sa.hard_event_pending = false;
  }
}

namespace {
void Block(Sa& sa, DropReason why, EspEvent::Type type, EventQueue& events, uint64_t value) {
  sa.flags |= kSaBlocked;
  sa.blocked_reason = why;
  sa.next_packets_event = sa.next_bytes_event = sa.next_seq_event = kNoLimit;
  if (!events.Push({type, sa.direction, sa.spi, value})) {
    sa.hard_event_pending = true;
    sa.hard_event_type = static_cast<uint8_t>(type);
  }
}
}  // namespace

template <class Backend>
bool EspEngine<Backend>::OutboundSeqSlowPath(Sa& sa) {
  if (sa.flags & kSaBlocked) return false;
  uint64_t next = sa.seq + 1;
  if (sa.seq >= sa.seq_hard) {  // nothing left: a sequence number must never repeat
    Block(sa, DropReason::kSeqExhausted, EspEvent::Type::kSeqHard, events_, sa.seq);
    return false;
  }
  if (!sa.seq_soft_fired && next >= sa.seq_soft) {
    if (events_.Push({EspEvent::Type::kSeqSoft, sa.direction, sa.spi, next})) {
      sa.seq_soft_fired = true;
      sa.next_seq_event = sa.seq_hard;
    }
  }
  if (next == sa.seq_hard) {
    // The last number goes out; the SA refuses everything after it.
    sa.flags |= kSaBlocked;
    sa.blocked_reason = DropReason::kSeqExhausted;
    if (!events_.Push({EspEvent::Type::kSeqHard, sa.direction, sa.spi, next})) {
      sa.hard_event_pending = true;
      sa.hard_event_type = static_cast<uint8_t>(EspEvent::Type::kSeqHard);
    }
  }
  return true;
}

template <class Backend>
void EspEngine<Backend>::LifetimeSlowPath(Sa& sa) {
  if ((sa.hard_packets && sa.packets >= sa.hard_packets)) {
    Block(sa, DropReason::kSaExpired, EspEvent::Type::kHardPackets, events_, sa.packets);
    return;
  }
  if ((sa.hard_bytes && sa.bytes >= sa.hard_bytes)) {
    Block(sa, DropReason::kSaExpired, EspEvent::Type::kHardBytes, events_, sa.bytes);
    return;
  }
  if (sa.soft_packets && !sa.soft_packets_fired && sa.packets >= sa.soft_packets &&
      events_.Push({EspEvent::Type::kSoftPackets, sa.direction, sa.spi, sa.packets})) {
    sa.soft_packets_fired = true;
  }
  if (sa.soft_bytes && !sa.soft_bytes_fired && sa.bytes >= sa.soft_bytes &&
      events_.Push({EspEvent::Type::kSoftBytes, sa.direction, sa.spi, sa.bytes})) {
    sa.soft_bytes_fired = true;
  }
  auto next = [](bool fired, uint64_t soft, uint64_t hard) {
    return std::min(soft && !fired ? soft : hard ? hard : kNoLimit, kNoLimit);
  };
  sa.next_packets_event = next(sa.soft_packets_fired, sa.soft_packets, sa.hard_packets);
  sa.next_bytes_event = next(sa.soft_bytes_fired, sa.soft_bytes, sa.hard_bytes);
  FoldSeqEvent(sa);  // and again no later than the sequence number event
}

template <class Backend>
void EspEngine<Backend>::FindKeyLines() {
  if constexpr (requires(const Backend& b, const typename Backend::Keys& k, const uint8_t** l) {
                  b.GcmKeyLines(k, true, 0u, l);
                }) {
    static_assert(Backend::kMaxGcmKeyLines <= kKeyLines);
    // Every SA's keys lie at the same offset from a 64-byte boundary as these do.
    static_assert(alignof(typename Backend::Keys) == 64 && offsetof(Sa, crypto) % 64 == 0);
    auto keys = std::make_unique<typename Backend::Keys>();
    const auto* base = reinterpret_cast<const uint8_t*>(keys.get());
    for (const bool aes256 : {false, true}) {
      for (const bool long_ct : {false, true}) {
        const uint8_t* lines[Backend::kMaxGcmKeyLines];
        const int n = crypto_.GcmKeyLines(*keys, aes256, long_ct ? kLongCt : kShortCt, lines);
        uint16_t* out = key_lines_[aes256][long_ct];
        int count = 0;
        for (int i = 0; i < n; ++i) {
          const auto off = static_cast<uint16_t>(lines[i] - base);
          if (std::find(out, out + count, off) == out + count) out[count++] = off;
        }
        for (int i = count; i > 0 && i < kKeyLines; ++i) out[i] = out[count - 1];
      }
    }
  }
}

template class EspEngine<drivers::crypto::IpsecMbBackend>;
template class EspEngine<drivers::crypto::OpenSslBackend>;

}  // namespace portcullis::dp::esp
