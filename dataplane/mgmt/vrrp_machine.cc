#include "dataplane/mgmt/vrrp_machine.h"

namespace portcullis::dp {

namespace {
// Gratuitous ARP on becoming master, and again with this many of the first advertisements
// (a switch or peer that missed the first still learns where the virtual MAC is).
constexpr uint8_t kGarpRepeats = 2;
}  // namespace

uint64_t VrrpMachine::skew_ns() const {
  const uint64_t weight = 256u - p_.priority;
  // Version 3 scales the skew with the master's interval; version 2 is a fraction of a second.
  if (p_.version == 3) return weight * Ns(master_interval_cs_) / 256;
  return weight * 1'000'000'000ull / 256;
}

VrrpActions VrrpMachine::Enter(State s, Reason why) {
  VrrpActions a;
  if (s != state_) {
    a.changed = true;
    a.old = state_;
    a.reason = why;
    state_ = s;
    ++transitions_;
  }
  return a;
}

VrrpActions VrrpMachine::BecomeMaster(uint64_t now, Reason why) {
  VrrpActions a = Enter(State::kMaster, why);
  a.send_advert = true;
  a.advert_priority = p_.priority;
  a.send_garp = true;
  garps_left_ = kGarpRepeats;
  advert_at_ = now + Ns(p_.interval_cs);
  master_priority_ = p_.priority;
  master_addr_ = 0;
  return a;
}

VrrpActions VrrpMachine::BecomeBackup(uint64_t now, Reason why) {
  VrrpActions a = Enter(State::kBackup, why);
  master_down_at_ = now + master_down_ns();
  heard_lower_ = false;
  return a;
}

VrrpActions VrrpMachine::Start(uint64_t now) {
  if (running_) return {};
  running_ = true;
  start_at_ = now + p_.start_delay_ns;
  if (p_.start_delay_ns != 0) return {};
  return Tick(now);
}

VrrpActions VrrpMachine::Stop(uint64_t now, Reason why) {
  (void)now;
  if (!running_) return {};
  running_ = false;
  const bool was_master = state_ == State::kMaster;
  VrrpActions a = Enter(State::kInitialize, why);
  if (was_master) {
    a.send_advert = true;
    a.advert_priority = 0;
  }
  master_priority_ = 0;
  master_addr_ = 0;
  return a;
}

VrrpActions VrrpMachine::Tick(uint64_t now) {
  if (!running_) return {};
  switch (state_) {
    case State::kInitialize: {
      if (now < start_at_) return {};
      started_at_ = now;
      master_interval_cs_ = p_.interval_cs;
      if (p_.priority == 255) return BecomeMaster(now, Reason::kOwner);
      return BecomeBackup(now, Reason::kStarted);
    }
    case State::kBackup:
      if (now < master_down_at_) return {};
      return BecomeMaster(now, heard_lower_ ? Reason::kPreempted : Reason::kMasterDown);
    case State::kMaster: {
      if (now < advert_at_) return {};
      VrrpActions a;
      a.send_advert = true;
      a.advert_priority = p_.priority;
      if (garps_left_ > 0) {
        --garps_left_;
        a.send_garp = true;
      }
      // From now, not from when it was due: a main lcore that stalled sends one, not a burst.
      advert_at_ = now + Ns(p_.interval_cs);
      return a;
    }
  }
  return {};
}

VrrpActions VrrpMachine::Advert(uint64_t now, uint8_t priority, uint16_t interval_cs, uint32_t src,
                                uint32_t own) {
  if (!running_) return {};
  own_addr_ = own;
  switch (state_) {
    case State::kInitialize:
      return {};  // start delay: not listening yet
    case State::kBackup:
      if (priority == 0) {
        // The master resigned: take over after the skew time (the highest priority first).
        master_down_at_ = now + skew_ns();
        return {};
      }
      if (!Preempts(now) || priority >= p_.priority) {
        if (p_.version == 3 && interval_cs != 0) master_interval_cs_ = interval_cs;
        master_down_at_ = now + master_down_ns();
        master_priority_ = priority;
        master_addr_ = src;
        return {};
      }
      // A lower priority while we preempt: its advertisements do not hold us back.
      heard_lower_ = true;
      master_priority_ = priority;
      master_addr_ = src;
      return {};
    case State::kMaster:
      if (priority == 0) {
        // Another master resigned: advertise at once so its backups hear us.
        VrrpActions a;
        a.send_advert = true;
        a.advert_priority = p_.priority;
        advert_at_ = now + Ns(p_.interval_cs);
        return a;
      }
      if (p_.priority == 255) return {};  // the owner stays master (RFC 5798 6.4.3)
      if (priority > p_.priority || (priority == p_.priority && src > own)) {
        if (p_.version == 3 && interval_cs != 0) master_interval_cs_ = interval_cs;
        VrrpActions a = BecomeBackup(now, Reason::kHigherPriority);
        master_priority_ = priority;
        master_addr_ = src;
        return a;
      }
      return {};  // a lower master: it will hear us and step down
  }
  return {};
}

}  // namespace portcullis::dp
