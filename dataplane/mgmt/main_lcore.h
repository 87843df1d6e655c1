// The main lcore's loop: channel commands (applied all or nothing), the slow path, vpnd's
// injected IKE, ESP events and counters, neighbor ageing. It sleeps between rounds when idle:
// none of this is on the packet path.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "dataplane/api/channel_server.h"
#include "dataplane/mgmt/command_applier.h"
#include "dataplane/mgmt/event_pump.h"
#include "dataplane/mgmt/packet_capture.h"
#include "dataplane/mgmt/slow_path.h"
#include "dataplane/mgmt/vrrp.h"
#include "dataplane/runtime/dataplane.h"

namespace portcullis::dp {

class MainLcore {
 public:
  MainLcore(Dataplane& dp, std::unique_ptr<api::ChannelServer> server);
  // Runs until dp.stop.
  void Run();
  // One round (tests).
  bool PollOnce(uint64_t now_ns);
  // Shutdown, after the workers stopped: the bonds the configuration built.
  void StopBonds() { applier_.StopBonds(); }

  // Held while main-lcore-only structures change; telemetry takes it to read them.
  std::mutex& mu() { return mu_; }
  const CommandApplier& applier() const { return applier_; }
  const SlowPath& slow_path() const { return slow_; }
  const EventPump& events() const { return events_; }
  const VrrpService& vrrp() const { return vrrp_; }
  api::ChannelServer* server() { return server_.get(); }
  // `dpctl capture`: take mu() to use it.
  PacketCapture& capture() { return capture_; }

 private:
  Dataplane& dp_;
  std::unique_ptr<api::ChannelServer> server_;
  CommandApplier applier_;
  SlowPath slow_;
  EventPump events_;
  PacketCapture capture_;
  VrrpService vrrp_;
  std::mutex mu_;
  uint64_t next_age_ns_ = 0;
};

uint64_t NowNs();

}  // namespace portcullis::dp
