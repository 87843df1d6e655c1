// Dead peer detection (ike/sa/tasks/dpd.cc): an empty INFORMATIONAL when the peer has been
// silent for dpd-interval, answered by an empty one; when the retransmissions run out, IkeSa
// applies the dead-peer-detection action (restart, clear, hold).
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

void RouteBased(IkeSaConfig& c) {
  c.children.at(0).vti = true;
  c.children.at(0).vti_interface = "vti1";
}

// Up, A checking liveness every `interval` s with `action`; one try of 2 s per request, so a
// dead peer is declared quickly.
struct DpdPair : Pair {
  static ManagerOptions Fast() {
    ManagerOptions o = Net::Defaults();
    o.retransmit.tries = 1;
    o.retransmit.timeout = 2.0;
    return o;
  }
  DpdPair(uint32_t interval, DpdAction action, bool vti = false) : Pair(Fast(), Fast()) {
    ca->dpd_interval = interval;
    ca->dpd_action = action;
    // Traps are a VTI's (the dataplane keeps a VTI without an SA and raises its acquires).
    if (vti) RouteBased(*ca);
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

namespace {

// INFORMATIONAL requests A put on the wire.
size_t InformationalRequestsFromA(const Net& net) {
  return std::count_if(net.sent.begin(), net.sent.end(), [](const Datagram& d) {
    return d.src.address.ToString() == kA && IsRequest(d, 37);
  });
}

}  // namespace

TEST_CASE("DPD step by step: an empty INFORMATIONAL request, answered by an empty one",
          "[ike_sa][dpd]") {
  DpdPair p(10, DpdAction::kClear);
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(b != nullptr);
  REQUIRE(p.net.queue.empty());
  // Silent for less than dpd-interval: nothing to check yet.
  p.net.now += absl::Seconds(9);
  p.a.mgr->Tick();
  CHECK(p.net.queue.empty());
  p.net.now += absl::Seconds(1);
  p.a.mgr->Tick();
  REQUIRE(p.net.queue.size() == 1);
  Datagram request = p.net.queue.front();
  IkeHeader h = HeaderOf(request);
  CHECK(h.exchange == ExchangeType::kInformational);
  CHECK_FALSE(h.response);
  CHECK(h.message_id == 2);
  CHECK(Inner(request, *b).empty());
  CHECK(a->retransmit_state().active);

  // B answers at once, with nothing in it, and changes nothing else.
  p.net.DeliverOne();
  REQUIRE(p.net.queue.size() == 1);
  Datagram response = p.net.queue.front();
  h = HeaderOf(response);
  CHECK(h.exchange == ExchangeType::kInformational);
  CHECK(h.response);
  CHECK(h.message_id == 2);
  CHECK(Inner(response, *a).empty());
  CHECK(b->expected_request_id() == 3);
  CHECK(p.b.Only() == b);
  CHECK(b->children().size() == 1);
  CHECK(p.b.rec.child_down == 0);

  // The answer ends A's exchange: no retransmission, the next DPD a full interval later.
  p.net.DeliverOne();
  CHECK(a->next_request_id() == 3);
  CHECK_FALSE(a->retransmit_state().active);
  CHECK(a->last_inbound() == p.net.now);
  CHECK(p.a.Only() == a);
  CHECK(p.a.rec.child_down == 0);
  p.net.Advance(absl::Seconds(9.5));
  CHECK(InformationalRequestsFromA(p.net) == 1);
  p.net.Advance(absl::Seconds(0.5));
  CHECK(InformationalRequestsFromA(p.net) == 2);
  CHECK_FALSE(p.b.log.Has("sending DPD request"));  // B has no dpd-interval
}

// hold installs a trap that renegotiates on the next packet; without a dataplane to raise
// acquires (this manager's default) an initiate tunnel comes back by itself, with the
// re-initiation backoff.
TEST_CASE("DPD action hold: retransmissions run out on schedule, an initiate tunnel comes back",
          "[ike_sa][dpd]") {
  ManagerOptions o = Net::Defaults();
  o.retransmit.tries = 2;
  o.retransmit.timeout = 1.0;
  o.retransmit.base = 2.0;
  Pair p(o, o);
  p.ca->dpd_interval = 5;
  p.ca->dpd_action = DpdAction::kHold;
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  const uint32_t child = OnlyChild(p.a.Only())->spi_in;
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  auto step = [&](double seconds) {
    p.net.now += absl::Seconds(seconds);
    p.net.Tick();
  };
  step(5);  // the DPD request
  REQUIRE(InformationalRequestsFromA(p.net) == 1);
  const Bytes first = p.net.sent.back().data;
  step(0.9);
  CHECK(InformationalRequestsFromA(p.net) == 1);
  step(0.1);  // 1 s: first retransmission, the same bytes
  CHECK(InformationalRequestsFromA(p.net) == 2);
  CHECK(p.net.sent.back().data == first);
  CHECK(p.a.log.Has("retransmit 1 of request with message ID 2"));
  step(2);  // 1 * 2 s later: the second and last
  CHECK(InformationalRequestsFromA(p.net) == 3);
  CHECK(p.a.log.Has("retransmit 2 of request with message ID 2"));
  step(3.9);
  CHECK(p.a.Only() != nullptr);
  step(0.1);  // 1 * 2^2 s after the last one: dead
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("giving up after 2 retransmits"));
  CHECK(p.a.log.Has("did not answer IKE_DPD (dead peer), dead-peer-detection action hold"));
  CHECK(p.a.log.Has("no dataplane to raise acquires: the trap is emulated"));
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.a.rec.child_down == 1);
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{child});
  CHECK(p.a.rec.ike_down == 1);
  // Not at once (that is restart): after the backoff, and up again once the peer answers.
  p.net.drop = nullptr;
  step(1);
  CHECK(p.a.log.Count("initiating IKE_SA") == 1);
  p.net.Advance(absl::Seconds(60), absl::Seconds(1));
  CHECK(p.a.log.Count("initiating IKE_SA") == 2);
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

TEST_CASE("DPD action hold on a respond-only tunnel: the SA goes and stays down", "[ike_sa][dpd]") {
  DpdPair p(5, DpdAction::kHold);
  p.ca->initiate = false;
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(60), absl::Seconds(1));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("dead-peer-detection action hold"));
  CHECK_FALSE(p.a.log.Has("the trap is emulated"));
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(60), absl::Seconds(1));
  CHECK(p.a.log.Count("initiating IKE_SA") == 1);
  CHECK(p.a.mgr->Sas().empty());
}

TEST_CASE("DPD action hold with acquires: down until the tunnel's next packet", "[ike_sa][dpd]") {
  DpdPair p(5, DpdAction::kHold, /*vti=*/true);
  p.a.mgr->set_traps(true);
  const std::string peer = p.a.Only()->config().name;
  const std::string child = p.a.Only()->config().children.at(0).name;
  // An acquire while it is up changes nothing.
  CHECK(p.a.mgr->Acquire(peer, child) == "its CHILD_SA is up");
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(12));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("dead-peer-detection action hold"));
  CHECK(p.a.log.Has("trap installed: " + peer + " comes up on its next packet"));
  CHECK(p.a.mgr->trapped(peer));
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(120), absl::Seconds(1));
  CHECK(p.a.log.Count("initiating IKE_SA") == 1);  // no backoff re-initiation: traffic decides
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.a.mgr->Acquire(peer, child) == "initiating (trap)");
  CHECK(p.a.mgr->Acquire(peer, child) == "an IKE_SA is being set up");
  p.net.Pump();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
  CHECK_FALSE(p.a.mgr->trapped(peer));
}

TEST_CASE("a trap outlives an attempt that fails, and a commit that changes the peer drops it",
          "[ike_sa][dpd]") {
  DpdPair p(5, DpdAction::kHold, /*vti=*/true);
  p.a.mgr->set_traps(true);
  const std::string peer = p.a.Only()->config().name;
  const std::string child = p.a.Only()->config().children.at(0).name;
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(12));
  REQUIRE(p.a.mgr->trapped(peer));
  // The peer is still dead: the attempt the packet starts fails; the trap waits for the next
  // packet instead of turning into re-initiation with backoff.
  CHECK(p.a.mgr->Acquire(peer, child) == "initiating (trap)");
  p.net.Advance(absl::Seconds(120), absl::Seconds(1));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("establishing IKE_SA failed"));
  CHECK(p.a.mgr->trapped(peer));
  CHECK(p.a.log.Count("initiating IKE_SA") == 2);
  // A commit that changes the peer (here to action clear) takes the trap away.
  auto changed = std::make_shared<IkeSaConfig>(*p.ca);
  changed->dpd_action = DpdAction::kClear;
  p.a.mgr->SetPeers(One(changed));
  CHECK_FALSE(p.a.mgr->trapped(peer));
  CHECK(p.a.mgr->Acquire(peer, child) == "no trap (IKE_SA down without one)");
}

TEST_CASE("an acquire without a trap brings nothing up", "[ike_sa][dpd]") {
  DpdPair p(5, DpdAction::kClear, /*vti=*/true);
  p.a.mgr->set_traps(true);
  const std::string peer = p.a.Only()->config().name;
  const std::string child = p.a.Only()->config().children.at(0).name;
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(12));
  p.net.drop = nullptr;
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.a.mgr->Acquire(peer, child) == "no trap (IKE_SA down without one)");
  CHECK(p.a.mgr->Acquire("nobody", child) == "no such peer");
  p.net.Advance(absl::Seconds(10));
  CHECK(p.a.mgr->Sas().empty());
}

TEST_CASE("DPD action hold on a policy-based tunnel with acquires: a trap, as on a VTI",
          "[ike_sa][dpd]") {
  DpdPair p(5, DpdAction::kHold);
  p.a.mgr->set_traps(true);
  const std::string peer = p.a.Only()->config().name;
  const std::string child = p.a.Only()->config().children.at(0).name;
  REQUIRE_FALSE(p.a.Only()->config().children.at(0).vti);
  CHECK_FALSE(p.a.mgr->ChildTrapped(child));
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(12));
  p.net.drop = nullptr;
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("trap installed: " + peer + " comes up on its next packet"));
  CHECK_FALSE(p.a.log.Has("the trap is emulated"));
  // vpnd keeps the tunnel's policies while this holds (ChannelSaInstaller's traps).
  CHECK(p.a.mgr->ChildTrapped(child));
  CHECK_FALSE(p.a.mgr->ChildTrapped("no-such-tunnel"));
  p.net.Advance(absl::Seconds(60), absl::Seconds(1));
  CHECK(p.a.mgr->Sas().empty());  // no re-initiation with backoff: traffic decides
  CHECK(p.a.mgr->Acquire(peer, child) == "initiating (trap)");
  p.net.Pump();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CHECK_FALSE(p.a.mgr->ChildTrapped(child));
}

TEST_CASE("no DPD while the peer is heard from; the responder without dpd-interval sends none",
          "[ike_sa][dpd]") {
  DpdPair p(10, DpdAction::kClear);
  p.net.Advance(absl::Seconds(6));
  // B rekeys its CHILD SA: A hears from B at 6 s and 6 s only.
  REQUIRE(p.b.mgr->RekeyChild(OnlyChild(p.b.Only())->spi_in));
  p.net.Pump();
  p.net.Advance(absl::Seconds(9.5));
  INFO(p.a.log.All());
  CHECK_FALSE(p.a.log.Has("sending DPD request"));
  p.net.Advance(absl::Seconds(1));
  CHECK(p.a.log.Count("sending DPD request") == 1);
  p.net.Advance(absl::Seconds(60));
  CHECK_FALSE(p.b.log.Has("sending DPD request"));
  CHECK(p.a.Only() != nullptr);
}

// dead-peer-detection timeout: the check unanswered this long means the peer is dead, without
// waiting for the retransmission schedule (5 tries from 4 s, about 165 s).
TEST_CASE("DPD timeout: the peer is dead once a liveness check is unanswered that long",
          "[ike_sa][dpd]") {
  Pair p;
  p.ca->dpd_interval = 10;
  p.ca->dpd_timeout = 15;
  p.ca->dpd_action = DpdAction::kClear;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(24), absl::Seconds(1));
  CHECK(p.a.Only() != nullptr);  // the check went out at 10 s, 15 s have not passed
  p.net.Advance(absl::Seconds(3), absl::Seconds(1));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("DPD request unanswered for 15s (dead-peer-detection timeout)"));
  CHECK(p.a.log.Has("dead-peer-detection action clear"));
  CHECK(p.a.mgr->Sas().empty());
}

namespace {

// The times A started an IKE SA, as its log says.
std::vector<std::string> Initiations(const Node& n) {
  std::vector<std::string> out;
  for (const auto& l : n.log.lines) {
    if (absl::StrContains(l, "initiating IKE_SA")) out.push_back(l.substr(11, 8));
  }
  return out;
}

// The re-initiation delays A chose, in seconds, as its log says.
std::vector<double> Waits(const Node& n) {
  std::vector<double> out;
  const std::string mark = "initiating peer-192.0.2.2 again in ";
  for (const auto& l : n.log.lines) {
    auto at = l.find(mark);
    if (at != std::string::npos) out.push_back(std::stod(l.substr(at + mark.size())));
  }
  return out;
}

}  // namespace

// Without DPD there is no DPD action, and a peer that dies in the middle of an exchange used to
// leave an `initiate` tunnel down for good. It now comes back, each attempt after a longer wait
// (10 s, then doubled per failure in a row), and is up again as soon as the peer is.
TEST_CASE("no DPD: a peer dead mid-exchange brings an initiate tunnel back, with backoff",
          "[ike_sa][dpd]") {
  Pair p(DpdPair::Fast(), DpdPair::Fast());
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
  // Failed at ~6 s; attempts 10 s, then 20 s, 40 s after each failure (~6 s each), each +-25%:
  // the fourth by 6 + 12.5 + 6 + 25 + 6 + 50 s at the latest.
  p.net.Advance(absl::Seconds(110), absl::Seconds(1));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("did not answer CHILD_REKEY (dead peer), initiating again"));
  // 10 s, 20 s, 40 s, each within +-25% (jitter: tunnels failing together do not retry in
  // lockstep), and not all exactly on the nominal value.
  std::vector<double> waits = Waits(p.a);
  REQUIRE(waits.size() >= 3);
  std::vector<double> nominal = {10, 20, 40};
  bool all_nominal = true;
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i, waits[i]);
    CHECK(waits[i] >= nominal[i] * 0.75);
    CHECK(waits[i] <= nominal[i] * 1.25);
    all_nominal &= waits[i] == nominal[i];
  }
  CHECK_FALSE(all_nominal);
  REQUIRE(Initiations(p.a).size() >= 4);
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(200), absl::Seconds(1));
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

// close-action trap: what the peer closes comes back on the tunnel's next packet.
TEST_CASE("close-action trap: what the peer closes comes back on an acquire", "[ike_sa][close]") {
  SECTION("the IKE SA") {
    Pair p;
    p.ca->close_action = CloseAction::kHold;
    RouteBased(*p.ca);
    p.a.mgr->set_traps(true);
    p.Up();
    const std::string peer = p.a.Only()->config().name;
    const std::string child = p.a.Only()->config().children.at(0).name;
    p.net.Advance(absl::Seconds(20));
    Mutable(p.b.Only()).Delete();
    p.net.Pump();
    p.net.Advance(absl::Seconds(60));
    INFO(p.a.log.All());
    CHECK(p.a.log.Has("deleted by the peer, close-action trap"));
    CHECK(p.a.mgr->Sas().empty());
    CHECK(p.a.mgr->Acquire(peer, child) == "initiating (trap)");
    p.net.Pump();
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
  }
  SECTION("a CHILD SA") {
    Pair p;
    p.ca->close_action = CloseAction::kHold;
    RouteBased(*p.ca);
    p.a.mgr->set_traps(true);
    p.Up();
    const std::string peer = p.a.Only()->config().name;
    const std::string child = p.a.Only()->config().children.at(0).name;
    Mutable(p.b.Only()).DeleteChildren(0, true);
    p.net.Pump();
    INFO(p.a.log.All());
    CHECK(p.a.log.Has("close-action trap: created again on its next packet"));
    CHECK(p.a.Only()->children().empty());
    CHECK(p.a.mgr->Acquire(peer, child) == "creating its CHILD_SA");
    CHECK(p.a.mgr->Acquire(peer, child) == "its CHILD_SA is being created");
    p.net.Pump();
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
    CHECK_FALSE(p.a.mgr->trapped(peer, child));
    // Up again: the next acquire finds it.
    CHECK(p.a.mgr->Acquire(peer, child) == "its CHILD_SA is up");
  }
  SECTION("a CHILD SA, across an IKE SA rekey") {
    Pair p;
    p.ca->close_action = CloseAction::kHold;
    p.ca->ike_lifetime = 60;
    RouteBased(*p.ca);
    p.a.mgr->set_traps(true);
    p.Up();
    const std::string peer = p.a.Only()->config().name;
    const std::string child = p.a.Only()->config().children.at(0).name;
    const IkeSa* first = p.a.Only();
    Mutable(p.b.Only()).DeleteChildren(0, true);
    p.net.Pump();
    REQUIRE(p.a.mgr->trapped(peer, child));
    p.net.Advance(absl::Seconds(60), absl::Seconds(1));  // A rekeys its IKE SA meanwhile
    INFO(p.a.log.All());
    REQUIRE(p.a.Only() != nullptr);
    CHECK(p.a.Only() != first);
    CHECK(p.a.mgr->Acquire(peer, child) == "creating its CHILD_SA");
    p.net.Pump();
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
  }
  SECTION("a policy-based tunnel's CHILD SA: trapped like a VTI's") {
    Pair p;
    p.ca->close_action = CloseAction::kHold;
    p.a.mgr->set_traps(true);
    p.Up();
    const std::string peer = p.a.Only()->config().name;
    const std::string child = p.a.Only()->config().children.at(0).name;
    REQUIRE_FALSE(p.a.Only()->config().children.at(0).vti);
    Mutable(p.b.Only()).DeleteChildren(0, true);
    p.net.Pump();
    INFO(p.a.log.All());
    CHECK(p.a.log.Has("close-action trap: created again on its next packet"));
    CHECK(p.a.Only()->children().empty());
    CHECK(p.a.mgr->ChildTrapped(child));
    CHECK(p.a.mgr->Acquire(peer, child) == "creating its CHILD_SA");
    p.net.Pump();
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CHECK_FALSE(p.a.mgr->ChildTrapped(child));
  }
  SECTION("a CHILD SA without acquires (no dataplane): emulated, created again at once") {
    Pair p;
    p.ca->close_action = CloseAction::kHold;
    RouteBased(*p.ca);
    p.Up();
    Mutable(p.b.Only()).DeleteChildren(0, true);
    p.net.Pump();
    INFO(p.a.log.All());
    CHECK(p.a.log.Has("close-action trap (emulated, no acquires for it): creating it again"));
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
  }
}

// close-action (none | trap | start): the peer deletes the IKE SA or a tunnel's CHILD SA
// outside a rekey. `start` sets it up again at once; `none` leaves it down.
TEST_CASE("close-action start: what the peer closes is set up again", "[ike_sa][close]") {
  for (CloseAction action : {CloseAction::kNone, CloseAction::kRestart}) {
    CAPTURE(CloseActionName(action));
    // One section per action (a plain SECTION in a loop runs for the first action only).
    DYNAMIC_SECTION("the IKE SA, " << CloseActionName(action)) {
      Pair p;
      p.ca->close_action = action;
      p.Up();
      p.net.Advance(absl::Seconds(20));  // up for a while: restarted at once
      Mutable(p.b.Only()).Delete();
      p.net.Pump();
      p.net.Tick();
      INFO(p.a.log.All());
      if (action == CloseAction::kRestart) {
        CHECK(p.a.log.Has("deleted by the peer, close-action restart"));
        REQUIRE(OnlyChild(p.a.Only()) != nullptr);
        CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
      } else {
        p.net.Advance(absl::Seconds(60));
        CHECK(p.a.mgr->Sas().empty());
      }
    }
    DYNAMIC_SECTION("a CHILD SA, " << CloseActionName(action)) {
      Pair p;
      p.ca->close_action = action;
      p.Up();
      Mutable(p.b.Only()).DeleteChildren(0, true);
      p.net.Pump();
      INFO(p.a.log.All());
      if (action == CloseAction::kRestart) {
        CHECK(p.a.log.Has("close-action restart: creating it again"));
        REQUIRE(OnlyChild(p.a.Only()) != nullptr);
        CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
      } else {
        CHECK(p.a.Only()->children().empty());
      }
    }
  }
}

// A peer that deletes every IKE SA right after it is set up: restarted after the re-initiation
// backoff, not a round trip later for ever.
TEST_CASE("close-action start after an IKE SA that lived only seconds waits for the backoff",
          "[ike_sa][close]") {
  Pair p;
  p.ca->close_action = CloseAction::kRestart;
  p.Up();
  p.net.Advance(absl::Seconds(2));
  Mutable(p.b.Only()).Delete();
  p.net.Pump();
  p.net.Tick();
  INFO(p.a.log.All());
  CHECK(
      p.a.log.Has("deleted by the peer, close-action restart (after backoff: it was up only "
                  "briefly)"));
  CHECK(p.a.mgr->Sas().empty());
  p.net.Advance(absl::Seconds(7), absl::Seconds(1));
  CHECK(p.a.mgr->Sas().empty());  // not before 7.5 s
  p.net.Advance(absl::Seconds(6), absl::Seconds(1));
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

// A rekey's Delete of the old CHILD SA is no close: nothing is created in its place.
TEST_CASE("close-action start does not act on a rekey's Delete", "[ike_sa][close]") {
  Pair p;
  p.ca->close_action = CloseAction::kRestart;
  p.cb->close_action = CloseAction::kRestart;
  p.Up();
  REQUIRE(p.b.mgr->RekeyChild(OnlyChild(p.b.Only())->spi_in));
  REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
  p.net.Pump();
  p.net.Advance(absl::Seconds(30));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK_FALSE(p.a.log.Has("close-action restart"));
  CHECK_FALSE(p.b.log.Has("close-action restart"));
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}
