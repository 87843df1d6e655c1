// Events from the workers' ESP engines (lifetimes, sequence exhaustion) to vpnd, and SA counter
// snapshots so `show vpn ipsec sa` has bytes and packets.
//
// The two never compete: expiry and exhaustion events are critical (vpnd rekeys on them) and
// go through ChannelServer::PostCritical, which keeps them until vpnd has room, in order.
// Snapshots are bulk: a sweep over the SA table every second, a few slots per main-loop round,
// sending only SAs whose counters changed since vpnd last heard of them, and only while vpnd's
// event ring keeps room for acks and critical events. At 8,192 busy SAs that is 8,192 events a
// second in an even stream, never a burst that fills the ring.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/api/channel_server.h"
#include "dataplane/runtime/dataplane.h"

namespace portcullis::dp {

class EventPump {
 public:
  static constexpr uint64_t kCountersIntervalNs = 1'000'000'000;  // one sweep

  EventPump(Dataplane& dp, api::ChannelServer* server);
  unsigned PollEspEvents();
  // Firewall log records from the workers to vpnd, best effort: what vpnd's ring cannot take
  // now is counted (Dataplane::fw_log_undeliverable), never kept.
  unsigned PollFwLog();
  // Acquires from the workers to vpnd (api::AcquireEvent), best effort like the log: a worker
  // sends the next one a second later while packets keep needing the SA.
  unsigned PollAcquires();
  // Visits the share of SA slots due since the last call (a whole sweep per interval) and
  // sends the changed ones' counters to the primary client (vpnd); stops early, to resume at
  // the same slot, when vpnd's ring has no room to spare.
  void MaybeSendCounters(uint64_t now_ns);

  uint64_t forwarded() const { return forwarded_; }
  uint64_t undeliverable() const { return undeliverable_; }
  uint64_t snapshots() const { return snapshots_; }

 private:
  // What vpnd last heard about the SA in a slot (id tells a new SA in the same slot).
  struct Reported {
    uint32_t id = 0;
    uint64_t packets = 0, bytes = 0, drops = 0;
  };

  Dataplane& dp_;
  api::ChannelServer* server_;
  std::vector<Reported> reported_;  // by SA slot
  uint32_t cursor_ = 0;             // the next slot to visit
  uint64_t last_ns_ = 0;
  uint64_t credit_ns_ = 0;  // time not yet turned into visits
  uint64_t primary_attaches_ = 0;
  uint64_t forwarded_ = 0, undeliverable_ = 0, snapshots_ = 0;
};

}  // namespace portcullis::dp
