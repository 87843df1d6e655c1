// Events from the workers' ESP engines (lifetimes, sequence exhaustion) to vpnd, and periodic
// SA counter snapshots so `show vpn ipsec sa` has bytes and packets.
#pragma once

#include <cstdint>

#include "dataplane/api/channel_server.h"
#include "dataplane/runtime/dataplane.h"

namespace portcullis::dp {

class EventPump {
 public:
  EventPump(Dataplane& dp, api::ChannelServer* server) : dp_(dp), server_(server) {}
  unsigned PollEspEvents();
  // Every SA's counters to the primary client (vpnd), when due.
  void MaybeSendCounters(uint64_t now_ns);

  uint64_t forwarded() const { return forwarded_; }
  uint64_t undeliverable() const { return undeliverable_; }

 private:
  Dataplane& dp_;
  api::ChannelServer* server_;
  uint64_t next_counters_ns_ = 0;
  uint64_t forwarded_ = 0, undeliverable_ = 0;
};

}  // namespace portcullis::dp
