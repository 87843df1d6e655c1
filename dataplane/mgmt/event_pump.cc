#include "dataplane/mgmt/event_pump.h"

#include "dataplane/esp/esp_event.h"

namespace portcullis::dp {

namespace {
constexpr uint64_t kCountersIntervalNs = 1'000'000'000;
}

unsigned EventPump::PollEspEvents() {
  esp::EspEvent evs[kBurst];
  unsigned n =
      rte_ring_sc_dequeue_burst_elem(dp_.event_ring, evs, sizeof(esp::EspEvent), kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const esp::EspEvent& e = evs[i];
    const auto dir =
        e.direction == esp::Direction::kInbound ? api::Direction::kIn : api::Direction::kOut;
    api::Event out;
    using T = esp::EspEvent::Type;
    if (e.type == T::kSeqSoft || e.type == T::kSeqHard) {
      out = api::NewEvent(api::EventKind::kSeqExhausted);
      out.body.seq_exhausted.spi = e.spi;
      out.body.seq_exhausted.direction = dir;
    } else {
      out = api::NewEvent(api::EventKind::kSaExpired);
      auto& x = out.body.sa_expired;
      x.spi = e.spi;
      x.direction = dir;
      x.kind = (e.type == T::kSoftBytes || e.type == T::kSoftPackets) ? api::ExpiryKind::kSoft
                                                                      : api::ExpiryKind::kHard;
      x.cause = (e.type == T::kSoftBytes || e.type == T::kHardBytes) ? api::ExpiryCause::kBytes
                                                                     : api::ExpiryCause::kPackets;
      (e.type == T::kSoftBytes || e.type == T::kHardBytes ? x.bytes : x.packets) = e.value;
    }
    if (server_ && server_->PostToPrimary(out)) {
      ++forwarded_;
    } else {
      ++undeliverable_;  // no vpnd attached: the SA state still changed in the dataplane
    }
  }
  return n;
}

void EventPump::MaybeSendCounters(uint64_t now_ns) {
  if (server_ == nullptr || now_ns < next_counters_ns_) return;
  next_counters_ns_ = now_ns + kCountersIntervalNs;
  if (!server_->SlotAttached(api::kPrimarySlot)) return;
  dp_.sas->ForEach([&](const SaEntry& e) {
    const esp::Sa& sa = *e.sa;
    api::Event ev = api::NewEvent(api::EventKind::kSaCounters);
    auto& c = ev.body.sa_counters;
    c.spi = e.spi;
    c.direction = e.inbound ? api::Direction::kIn : api::Direction::kOut;
    c.packets = ReadCounter(sa.packets);
    c.bytes = ReadCounter(sa.bytes);
    c.drops_replay = ReadCounter(sa.drops[static_cast<int>(esp::DropReason::kReplayed)]) +
                     ReadCounter(sa.drops[static_cast<int>(esp::DropReason::kTooOld)]);
    c.drops_auth = ReadCounter(sa.drops[static_cast<int>(esp::DropReason::kAuthFailed)]);
    c.drops_other = sa.total_drops() - c.drops_replay - c.drops_auth;
    server_->PostToPrimary(ev);
  });
}

}  // namespace portcullis::dp
