#include "dataplane/mgmt/event_pump.h"

#include <algorithm>
#include <cstring>

#include "dataplane/core/acquire_record.h"
#include "dataplane/core/fw_log_record.h"
#include "dataplane/esp/esp_event.h"

namespace portcullis::dp {

EventPump::EventPump(Dataplane& dp, api::ChannelServer* server)
    : dp_(dp), server_(server), reported_(dp.sas->slots()) {}

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
    if (server_ != nullptr) {
      server_->PostCritical(out);  // delivered when vpnd has room, or attaches
      ++forwarded_;
    } else {
      ++undeliverable_;  // no channel at all: the SA state still changed in the dataplane
    }
  }
  return n;
}

unsigned EventPump::PollFwLog() {
  FwLogRecord logs[kBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst_elem(dp_.fw_log_ring, logs, sizeof(FwLogRecord), kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const FwLogRecord& r = logs[i];
    api::Event ev = api::NewEvent(api::EventKind::kFwLog);
    api::FwLogEvent& e = ev.body.fw_log;
    e.ruleset_id = r.ruleset_id;
    e.rule_number = r.rule_number;
    e.ifindex = r.ifindex;
    e.zone_from = r.zone_from;
    e.zone_to = r.zone_to;
    e.hook = r.hook == 0 ? api::FwHook::kIn : r.hook == 1 ? api::FwHook::kOut : api::FwHook::kLocal;
    e.action = r.verdict == 1   ? api::FwAction::kAccept
               : r.verdict == 3 ? api::FwAction::kReject
                                : api::FwAction::kDrop;
    e.family = r.l3_length >= 1 && (r.l3[0] >> 4) == 6 ? api::Family::kIpv6 : api::Family::kIpv4;
    e.has_macs = r.has_macs;
    std::memcpy(e.src_mac, r.src_mac, sizeof e.src_mac);
    std::memcpy(e.dst_mac, r.dst_mac, sizeof e.dst_mac);
    e.l3_length = r.l3_length;
    e.l4_length = r.l4_length;
    std::memcpy(e.l3, r.l3, sizeof e.l3);
    static_assert(sizeof e.l4 == sizeof r.l4 && sizeof e.l3 == sizeof r.l3);
    std::memcpy(e.l4, r.l4, sizeof e.l4);
    if (server_ == nullptr || !server_->PostBulk(ev))
      dp_.fw_log_undeliverable.fetch_add(1, std::memory_order_relaxed);
  }
  return n;
}

unsigned EventPump::PollAcquires() {
  AcquireRecord recs[kBurst];
  const unsigned n = rte_ring_sc_dequeue_burst_elem(dp_.acquire_ring, recs, sizeof(AcquireRecord),
                                                    kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const AcquireRecord& r = recs[i];
    api::Event ev = api::NewEvent(api::EventKind::kAcquire);
    api::AcquireEvent& e = ev.body.acquire;
    e.reqid = r.reqid;
    e.vti_ifindex = r.vti_ifindex;
    const bool v6 = r.family == 6;
    e.family = v6 ? api::Family::kIpv6 : api::Family::kIpv4;
    e.protocol = r.proto;
    e.src_port = r.sport;
    e.dst_port = r.dport;
    std::memcpy(e.src.bytes, r.src, v6 ? 16 : 4);
    std::memcpy(e.dst.bytes, r.dst, v6 ? 16 : 4);
    if (server_ == nullptr || !server_->PostBulk(ev))
      dp_.acquires_undeliverable.fetch_add(1, std::memory_order_relaxed);
  }
  return n;
}

void EventPump::MaybeSendCounters(uint64_t now_ns) {
  if (server_ == nullptr) return;
  const uint64_t elapsed = last_ns_ == 0 ? 0 : now_ns - last_ns_;
  last_ns_ = now_ns;
  if (!server_->SlotAttached(api::kPrimarySlot)) return;
  // A new vpnd knows nothing yet: everything with traffic is news to it.
  if (const uint64_t attaches = server_->Attaches(api::kPrimarySlot);
      attaches != primary_attaches_) {
    primary_attaches_ = attaches;
    std::fill(reported_.begin(), reported_.end(), Reported{});
  }
  credit_ns_ = std::min(credit_ns_ + elapsed, kCountersIntervalNs);
  const uint64_t visits = credit_ns_ * dp_.sas->slots() / kCountersIntervalNs;
  if (visits == 0) return;
  credit_ns_ -= visits * kCountersIntervalNs / dp_.sas->slots();
  for (uint64_t v = 0; v < visits; ++v) {
    const uint32_t slot = cursor_;
    if (const SaEntry* e = dp_.sas->AtSlot(slot)) {
      const esp::Sa& sa = *e->sa;
      Reported now{e->id, ReadCounter(sa.packets), ReadCounter(sa.bytes), sa.total_drops()};
      Reported& last = reported_[slot];
      if (last.id != e->id) last = Reported{e->id};
      if (now.packets != last.packets || now.bytes != last.bytes || now.drops != last.drops) {
        api::Event ev = api::NewEvent(api::EventKind::kSaCounters);
        auto& c = ev.body.sa_counters;
        c.spi = e->spi;
        c.direction = e->inbound ? api::Direction::kIn : api::Direction::kOut;
        c.packets = now.packets;
        c.bytes = now.bytes;
        c.drops_replay = ReadCounter(sa.drops[static_cast<int>(esp::DropReason::kReplayed)]) +
                         ReadCounter(sa.drops[static_cast<int>(esp::DropReason::kTooOld)]);
        c.drops_auth = ReadCounter(sa.drops[static_cast<int>(esp::DropReason::kAuthFailed)]);
        c.drops_other = now.drops - c.drops_replay - c.drops_auth;
        if (!server_->PostBulk(ev)) {
          credit_ns_ = 0;  // resume here later, at the usual pace
          return;
        }
        last = now;
        ++snapshots_;
      }
    }
    cursor_ = (cursor_ + 1) % dp_.sas->slots();
  }
}

}  // namespace portcullis::dp
