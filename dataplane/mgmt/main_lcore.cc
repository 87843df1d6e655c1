#include "dataplane/mgmt/main_lcore.h"

#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include <algorithm>

namespace portcullis::dp {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

MainLcore::MainLcore(Dataplane& dp, std::unique_ptr<api::ChannelServer> server)
    : dp_(dp),
      server_(std::move(server)),
      applier_(dp),
      slow_(dp, server_.get()),
      events_(dp, server_.get()),
      capture_(dp),
      vrrp_(dp, server_.get(), applier_) {
  // Duplicate address detection decides on the main lcore; the applier stops using the address.
  slow_.OnDuplicate(
      [this](uint16_t ifx, const uint8_t* addr) { applier_.MarkDuplicate6(ifx, addr); });
  slow_.set_vrrp(&vrrp_);
}

bool MainLcore::PollOnce(uint64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t work = 0;
  if (server_) {
    work +=
        server_->PollCommands(256, [&](const api::CommandBatch& b) { return applier_.Apply(b); });
  }
  vrrp_.Sync(now_ns);  // groups a batch configured, before their advertisements are heard
  work += slow_.Poll(now_ns);
  vrrp_.Tick(now_ns);
  work += slow_.PollInject();
  work += events_.PollEspEvents();
  work += events_.PollFwLog();
  work += events_.PollAcquires();
  work += capture_.Poll();
  events_.MaybeSendCounters(now_ns);
  if (now_ns >= next_age_ns_) {
    slow_.Age(now_ns);
    applier_.WatchBondLinks();
    // Firewall sessions: a twentieth of the table every 100 ms, so every session is looked at
    // every two seconds whatever the table's size.
    for (FwSessionTable* sessions : {dp_.sessions.get(), dp_.sessions6.get()})
      sessions->Expire(rte_rdtsc(), std::max<uint32_t>(4096, sessions->slots() / 20));
    next_age_ns_ = now_ns + 100'000'000;
  }
  return work > 0;
}

void MainLcore::Run() {
  while (!dp_.stop.load(std::memory_order_relaxed)) {
    if (!PollOnce(NowNs())) usleep(200);
  }
}

}  // namespace portcullis::dp
