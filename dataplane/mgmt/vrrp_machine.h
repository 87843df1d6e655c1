// One virtual router's state machine (RFC 5798 section 6.4; version 2, RFC 3768, differs only
// in that a backup does not learn the master's interval and the skew is in whole seconds'
// fractions), without packets or a clock of its own: the main lcore's VRRP service feeds it
// advertisements and the time and carries out what it asks (send an advertisement, gratuitous
// ARP, take or drop the virtual addresses). Kept apart so its timers are tested exactly.
#pragma once

#include <cstdint>

#include "dataplane/api/events.h"

namespace portcullis::dp {

struct VrrpParams {
  uint8_t priority = 100;  // 1-255; 255: the addresses are ours (the owner)
  uint8_t version = 2;     // 2 or 3
  bool preempt = true;
  uint16_t interval_cs = 100;     // Advertisement_Interval
  uint64_t preempt_delay_ns = 0;  // no preemption this long after the group started
  uint64_t start_delay_ns = 0;    // Initialize this long after Start
};

// What the caller does after an input, in this order: addresses (on a change to or from
// master), advertisement, gratuitous ARP, then the state event.
struct VrrpActions {
  bool send_advert = false;
  uint8_t advert_priority = 0;  // 0: the master resigns (RFC 5798 6.4.3, Shutdown)
  bool send_garp = false;
  bool changed = false;  // state changed from `old` for `reason`
  api::VrrpState old = api::VrrpState::kInitialize;
  api::VrrpReason reason = api::VrrpReason::kStarted;
};

class VrrpMachine {
 public:
  using State = api::VrrpState;
  using Reason = api::VrrpReason;

  // New parameters; the state is kept (a master stays master, a backup's timer is recomputed
  // from the next advertisement).
  void Configure(const VrrpParams& p) { p_ = p; }
  const VrrpParams& params() const { return p_; }

  // The group may run (configured, its interface up): Initialize -> Backup, or Master for an
  // owner, now or once the start delay passed (Tick).
  VrrpActions Start(uint64_t now);
  // Back to Initialize (interface down, group removed or disabled); a master resigns with a
  // priority-0 advertisement so a backup takes over after its skew time, not three intervals.
  VrrpActions Stop(uint64_t now, Reason why);
  // A valid advertisement for this VRID. `src`/`own`: the sender's and our primary address in
  // host order (equal priorities: the higher address is master).
  VrrpActions Advert(uint64_t now, uint8_t priority, uint16_t interval_cs, uint32_t src,
                     uint32_t own);
  // Timers: the master's advertisements, a backup's Master_Down_Timer, the start delay.
  VrrpActions Tick(uint64_t now);

  State state() const { return state_; }
  bool running() const { return running_; }
  // The interval a backup times the master by (the master's own in version 3).
  uint16_t master_interval_cs() const { return master_interval_cs_; }
  uint64_t skew_ns() const;
  uint64_t master_down_ns() const { return 3 * Ns(master_interval_cs_) + skew_ns(); }
  uint64_t master_down_at() const { return master_down_at_; }
  uint64_t advert_at() const { return advert_at_; }
  // The last master heard (0 when none yet; ours while master).
  uint8_t master_priority() const { return master_priority_; }
  uint32_t master_addr() const { return master_addr_; }
  uint64_t transitions() const { return transitions_; }

  static constexpr uint64_t Ns(uint16_t cs) { return uint64_t{cs} * 10'000'000; }

 private:
  VrrpActions BecomeMaster(uint64_t now, Reason why);
  VrrpActions BecomeBackup(uint64_t now, Reason why);
  VrrpActions Enter(State s, Reason why);
  bool Preempts(uint64_t now) const {
    return p_.preempt && now >= started_at_ + p_.preempt_delay_ns;
  }

  VrrpParams p_;
  State state_ = State::kInitialize;
  bool running_ = false;  // Start()ed and not Stop()ped
  uint64_t start_at_ = 0, started_at_ = 0;
  uint16_t master_interval_cs_ = 100;
  uint64_t master_down_at_ = 0, advert_at_ = 0;
  uint8_t master_priority_ = 0;
  uint32_t master_addr_ = 0;
  uint32_t own_addr_ = 0;
  bool heard_lower_ = false;  // a lower-priority master's advertisement since we became backup
  uint8_t garps_left_ = 0;    // gratuitous ARP again with the first advertisements as master
  uint64_t transitions_ = 0;
};

}  // namespace portcullis::dp
