// Dead peer detection (ike/sa/tasks/dpd.cc): an empty INFORMATIONAL when the peer has been
// silent for dpd-interval, answered by an empty one; when the retransmissions run out, IkeSa
// applies the dead-peer-detection action (restart, clear, hold).
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

// Up, A checking liveness every `interval` s with `action`; one try of 2 s per request, so a
// dead peer is declared quickly.
struct DpdPair : Pair {
  static ManagerOptions Fast() {
    ManagerOptions o = Net::Defaults();
    o.retransmit.tries = 1;
    o.retransmit.timeout = 2.0;
    return o;
  }
  DpdPair(uint32_t interval, DpdAction action) : Pair(Fast(), Fast()) {
    ca->dpd_interval = interval;
    ca->dpd_action = action;
    Up();
    REQUIRE(a.Only() != nullptr);
  }
};

}  // namespace

TEST_CASE("DPD: liveness checks when idle; a dead peer triggers the configured action",
          "[ike_sa][dpd]") {
  DpdPair p(10, DpdAction::kRestart);
  p.net.Advance(absl::Seconds(11));
  CHECK(p.a.log.Has("sending DPD request"));
  CHECK(p.a.log.Has("INFORMATIONAL request 2 [ ]"));
  CHECK(p.b.log.Has("INFORMATIONAL response 2 [ ]"));
  CHECK(p.a.Only() != nullptr);
  // The peer goes silent.
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(18));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("did not answer IKE_DPD (dead peer), dead-peer-detection action restart"));
  CHECK(p.a.rec.child_down == 1);
  CHECK(p.a.log.Count("initiating IKE_SA peer-192.0.2.2") >= 2);  // restarted at once
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(20));  // the attempt during the outage failed; the next one works
  CHECK(p.a.Only() != nullptr);
}

TEST_CASE("DPD action clear: a dead peer's SA is removed and not restarted", "[ike_sa][dpd]") {
  DpdPair p(5, DpdAction::kClear);
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(12));
  CHECK(p.a.log.Has("dead-peer-detection action clear"));
  CHECK(p.a.mgr->Sas().empty());
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(30));
  CHECK(p.a.log.Count("initiating IKE_SA") == 1);
  CHECK(p.a.mgr->Sas().empty());
}
