#include "dataplane/mgmt/vrrp_machine.h"

#include <catch2/catch.hpp>

namespace portcullis::dp {
namespace {

using State = api::VrrpState;
using Reason = api::VrrpReason;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kS = 1'000'000'000;
constexpr uint32_t kOwn = 0x0a000002, kLower = 0x0a000001, kHigher = 0x0a000003;

VrrpMachine Make(uint8_t priority, uint8_t version = 3, bool preempt = true,
                 uint16_t interval_cs = 100) {
  VrrpMachine m;
  VrrpParams p;
  p.priority = priority;
  p.version = version;
  p.preempt = preempt;
  p.interval_cs = interval_cs;
  m.Configure(p);
  return m;
}

TEST_CASE("a backup takes over after Master_Down_Interval with the RFC's skew", "[vrrp]") {
  // RFC 5798 6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256,
  // Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
  VrrpMachine m = Make(100);
  VrrpActions a = m.Start(0);
  CHECK(a.changed);
  CHECK(m.state() == State::kBackup);
  CHECK(m.skew_ns() == 156 * kS / 256);
  CHECK(m.master_down_ns() == 3 * kS + 156 * kS / 256);
  CHECK_FALSE(m.Tick(m.master_down_ns() - 1).changed);
  a = m.Tick(m.master_down_ns());
  CHECK(a.changed);
  CHECK(a.old == State::kBackup);
  CHECK(a.reason == Reason::kMasterDown);
  CHECK(m.state() == State::kMaster);
  CHECK(a.send_advert);
  CHECK(a.advert_priority == 100);
  CHECK(a.send_garp);
}

TEST_CASE("version 2 skews by a fraction of a second whatever the interval", "[vrrp]") {
  VrrpMachine m = Make(200, 2, true, 300);
  m.Start(0);
  CHECK(m.skew_ns() == 56 * kS / 256);
  CHECK(m.master_down_ns() == 9 * kS + 56 * kS / 256);
  // A version-2 backup keeps its own interval (it is not learned from the master).
  m.Advert(kS, 250, 100, kHigher, kOwn);
  CHECK(m.master_interval_cs() == 300);
}

TEST_CASE("a version-3 backup learns the master's interval", "[vrrp]") {
  VrrpMachine m = Make(100);
  m.Start(0);
  m.Advert(10 * kMs, 200, 50, kHigher, kOwn);
  CHECK(m.master_interval_cs() == 50);
  CHECK(m.master_down_at() == 10 * kMs + 3 * 500 * kMs + 156 * 500 * kMs / 256);
  CHECK(m.master_addr() == kHigher);
  CHECK(m.master_priority() == 200);
}

TEST_CASE("advertisements of a higher master keep a backup backup", "[vrrp]") {
  VrrpMachine m = Make(100);
  m.Start(0);
  for (uint64_t t = kS; t < 20 * kS; t += kS) {
    CHECK_FALSE(m.Advert(t, 200, 100, kHigher, kOwn).changed);
    CHECK_FALSE(m.Tick(t + 500 * kMs).changed);
  }
  CHECK(m.state() == State::kBackup);
}

TEST_CASE("the owner (priority 255) is master at once", "[vrrp]") {
  VrrpMachine m = Make(255);
  VrrpActions a = m.Start(0);
  CHECK(m.state() == State::kMaster);
  CHECK(a.reason == Reason::kOwner);
  CHECK(a.send_advert);
  CHECK(a.advert_priority == 255);
}

TEST_CASE("a master sends every Advertisement_Interval", "[vrrp]") {
  VrrpMachine m = Make(255, 3, true, 20);
  m.Start(0);
  int adverts = 0, garps = 0;
  for (uint64_t t = kMs; t <= kS; t += kMs) {
    VrrpActions a = m.Tick(t);
    adverts += a.send_advert;
    garps += a.send_garp;
  }
  CHECK(adverts == 5);  // 200 ms apart over one second (plus the one at start)
  CHECK(garps == 2);    // repeated with the first two after the one on becoming master
}

TEST_CASE("a master steps down for a higher priority, or an equal one with a higher address",
          "[vrrp]") {
  VrrpMachine m = Make(255);
  m.Start(0);
  // Lower, and equal with a lower address: ignored (they hear us and step down); the owner
  // stays master even for another priority 255 from a higher address.
  CHECK_FALSE(m.Advert(kS, 254, 100, kHigher, kOwn).changed);
  CHECK_FALSE(m.Advert(kS, 255, 100, kHigher, kOwn).changed);
  CHECK(m.state() == State::kMaster);
  m = Make(150);
  m.Start(0);
  m.Tick(10 * kS);
  REQUIRE(m.state() == State::kMaster);
  CHECK_FALSE(m.Advert(11 * kS, 150, 100, kLower, kOwn).changed);
  VrrpActions a = m.Advert(12 * kS, 150, 100, kHigher, kOwn);
  CHECK(a.changed);
  CHECK(a.reason == Reason::kHigherPriority);
  CHECK(m.state() == State::kBackup);
  m = Make(150);
  m.Start(0);
  m.Tick(10 * kS);
  a = m.Advert(11 * kS, 151, 100, kLower, kOwn);
  CHECK(a.changed);
  CHECK(m.state() == State::kBackup);
  CHECK(m.master_down_at() == 11 * kS + m.master_down_ns());
}

TEST_CASE("preempt: a higher backup takes over from a lower master; without it, it does not",
          "[vrrp]") {
  VrrpMachine m = Make(200);
  m.Start(0);
  for (uint64_t t = 0; t < 10 * kS; t += kS) m.Advert(t, 100, 100, kLower, kOwn);
  // Its advertisements did not reset our timer: we took over Master_Down_Interval after start.
  VrrpActions a = m.Tick(m.master_down_ns());
  CHECK(a.changed);
  CHECK(a.reason == Reason::kPreempted);
  CHECK(m.state() == State::kMaster);

  VrrpMachine n = Make(200, 3, /*preempt=*/false);
  n.Start(0);
  for (uint64_t t = 0; t < 10 * kS; t += kS) {
    n.Advert(t, 100, 100, kLower, kOwn);
    CHECK_FALSE(n.Tick(t + 900 * kMs).changed);
  }
  CHECK(n.state() == State::kBackup);
}

TEST_CASE("preempt-delay holds preemption back after start", "[vrrp]") {
  VrrpMachine m;
  VrrpParams p;
  p.priority = 200;
  p.version = 3;
  p.preempt_delay_ns = 10 * kS;
  m.Configure(p);
  m.Start(0);
  uint64_t t = 0;
  for (; t < 10 * kS; t += kS) {
    m.Advert(t, 100, 100, kLower, kOwn);
    CHECK_FALSE(m.Tick(t + 900 * kMs).changed);
  }
  // From 10 s on the lower master's advertisements no longer hold it back.
  m.Advert(t, 100, 100, kLower, kOwn);
  CHECK_FALSE(m.Tick(t + kS).changed);
  CHECK(m.Tick(9 * kS + m.master_down_ns()).changed);
  CHECK(m.state() == State::kMaster);
}

TEST_CASE("a resigning master sends priority 0; its backup takes over after the skew time",
          "[vrrp]") {
  VrrpMachine master = Make(200);
  master.Start(0);
  master.Tick(10 * kS);
  REQUIRE(master.state() == State::kMaster);
  VrrpActions a = master.Stop(20 * kS, Reason::kRemoved);
  CHECK(a.changed);
  CHECK(master.state() == State::kInitialize);
  CHECK(a.send_advert);
  CHECK(a.advert_priority == 0);

  VrrpMachine backup = Make(100);
  backup.Start(0);
  backup.Advert(19 * kS, 200, 100, kHigher, kOwn);
  backup.Advert(20 * kS, 0, 100, kHigher, kOwn);
  CHECK(backup.master_down_at() == 20 * kS + backup.skew_ns());
  CHECK(backup.Tick(20 * kS + backup.skew_ns()).changed);
  CHECK(backup.state() == State::kMaster);

  // A backup stopping sends nothing.
  VrrpMachine b2 = Make(100);
  b2.Start(0);
  a = b2.Stop(kS, Reason::kInterfaceDown);
  CHECK(a.changed);
  CHECK_FALSE(a.send_advert);
}

TEST_CASE("a master hearing priority 0 advertises at once", "[vrrp]") {
  VrrpMachine m = Make(255);
  m.Start(0);
  VrrpActions a = m.Advert(300 * kMs, 0, 100, kHigher, kOwn);
  CHECK(a.send_advert);
  CHECK(m.advert_at() == 1300 * kMs);
}

TEST_CASE("start-delay keeps a group in Initialize and deaf", "[vrrp]") {
  VrrpMachine m;
  VrrpParams p;
  p.priority = 100;
  p.start_delay_ns = 5 * kS;
  m.Configure(p);
  CHECK_FALSE(m.Start(0).changed);
  CHECK(m.state() == State::kInitialize);
  CHECK_FALSE(m.Advert(kS, 200, 100, kHigher, kOwn).changed);
  CHECK_FALSE(m.Tick(4 * kS).changed);
  CHECK(m.Tick(5 * kS).changed);
  CHECK(m.state() == State::kBackup);
}

TEST_CASE("new parameters keep the state", "[vrrp]") {
  VrrpMachine m = Make(255);
  m.Start(0);
  VrrpParams p = m.params();
  p.priority = 120;
  m.Configure(p);
  CHECK(m.state() == State::kMaster);
  CHECK(m.Tick(kS).advert_priority == 120);
}

}  // namespace
}  // namespace portcullis::dp
