// What an IKE SA rekey hands over and what it leaves behind: the peer's IKE rekey is refused with
// TEMPORARY_FAILURE while any exchange of ours is in flight (strongSwan does the same), queued
// tasks move to the new IKE SA, an old IKE SA the peer never deletes is deleted after a while,
// SPIs of failed exchanges are released, and a NAT rebinding moves the CHILD SAs' endpoints too.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

// Up, with A rekeying the IKE SA within 30..45 s and B not before an hour.
struct RekeyingPair : Pair {
  RekeyingPair() {
    ca->ike_lifetime = 60;
    cb->ike_lifetime = 3600;
    Up();
  }
};

// Every IKE SA of the node, whatever its state.
size_t AllSas(const Node& n) {
  return n.mgr->Sas().size();
}

}  // namespace

TEST_CASE("the peer's IKE rekey meets our CHILD rekey: TEMPORARY_FAILURE, nothing stranded",
          "[ike_sa][ike_rekey][handover]") {
  RekeyingPair p;
  REQUIRE(OnlyChild(p.b.Only()) != nullptr);
  // Nothing gets through until both requests are out.
  p.net.drop = [](const Datagram&) { return true; };
  while (!p.a.log.Has("rekeying IKE_SA")) p.net.Advance(absl::Seconds(1));
  REQUIRE(p.b.mgr->RekeyChild(OnlyChild(p.b.Only())->spi_in));
  p.net.Pump();  // lost too: the two retransmissions cross
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(120));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Has("answering TEMPORARY_FAILURE"));
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->spi_i() == b->spi_i());
  CHECK(a->keys.sk_d == b->keys.sk_d);
  REQUIRE(OnlyChild(a) != nullptr);
  REQUIRE(OnlyChild(b) != nullptr);
  CheckMatched(*OnlyChild(a), *OnlyChild(b));
  CHECK(OnlyChild(a)->state == ChildSa::State::kInstalled);
  CHECK(OnlyChild(b)->state == ChildSa::State::kInstalled);
  CHECK(p.a.mgr->Sas().size() == 1);
  CHECK(p.b.mgr->Sas().size() == 1);
}

TEST_CASE("a CHILD rekey queued behind our IKE rekey runs on the new IKE SA",
          "[ike_sa][ike_rekey][handover]") {
  RekeyingPair p;
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  uint32_t old_spi = OnlyChild(p.a.Only())->spi_in;
  std::deque<Datagram> held;
  p.net.drop = [&](const Datagram& d) {
    held.push_back(d);
    return true;
  };
  while (!p.a.log.Has("rekeying IKE_SA")) p.net.Advance(absl::Seconds(1));
  // A soft expiry while the IKE rekey is in flight: the CHILD rekey waits in the queue.
  REQUIRE(p.a.mgr->RekeyChild(old_spi));
  CHECK(p.a.Only()->queued_tasks() == 1);
  p.net.drop = nullptr;
  for (auto& d : held) p.net.queue.push_back(d);
  p.net.Pump();
  p.net.Advance(absl::Seconds(5));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  const IkeSa* a = p.a.Only();
  REQUIRE(a != nullptr);
  CHECK(a->unique_id() > 1);
  REQUIRE(OnlyChild(a) != nullptr);
  CHECK(OnlyChild(a)->spi_in != old_spi);  // rekeyed, on the new IKE SA
  CHECK(OnlyChild(a)->rekey_at < absl::InfiniteFuture());
  CheckMatched(*OnlyChild(a), *OnlyChild(p.b.Only()));
}

TEST_CASE("an old IKE SA the peer never deletes is deleted by the rekey responder",
          "[ike_sa][ike_rekey][handover]") {
  RekeyingPair p;
  // Every INFORMATIONAL request from A is lost: its Delete of the old IKE SA never arrives.
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kA && IsRequest(d, 37); };
  while (!p.b.log.Has("rekeyed into")) p.net.Advance(absl::Seconds(1));
  CHECK(AllSas(p.b) == 2);
  auto has_first = [&] {
    for (const IkeSa* sa : p.b.mgr->Sas()) {
      if (sa->unique_id() == 1) return true;
    }
    return false;
  };
  p.net.Advance(absl::Seconds(29));
  CHECK(has_first());
  // A rekeys again 30..45 s after the first rekey; B's own timeout comes first.
  p.net.Advance(absl::Seconds(2));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Has("the peer did not delete the rekeyed IKE_SA within 30s, deleting it"));
  CHECK_FALSE(has_first());
  REQUIRE(p.b.Only() != nullptr);
  CHECK(OnlyChild(p.b.Only()) != nullptr);
}

TEST_CASE("SPIs of failed CHILD SA exchanges are released", "[ike_sa][spi]") {
  Pair p;
  p.ca->children[0].pfs = DhGroup::kNone;  // B requires PFS: every rekey A tries fails
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CHECK(p.a.mgr->AllocatedSpis() == 1);
  REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
  p.net.Pump();
  p.net.Advance(absl::Seconds(200));  // retried every 30 s
  INFO(p.a.log.All());
  CHECK(p.a.log.Count("received NO_PROPOSAL_CHOSEN notify error") >= 5);
  CHECK(p.a.mgr->AllocatedSpis() == 1);
  CHECK(p.b.mgr->AllocatedSpis() == 1);

  SECTION("and when the IKE SA goes away while the exchange is in flight") {
    p.net.drop = [](const Datagram&) { return true; };
    REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
    CHECK(p.a.mgr->AllocatedSpis() == 2);
    const uint32_t gone = p.a.Only()->unique_id();
    p.net.Advance(absl::Seconds(300));  // the peer is dead
    // Without DPD configured, A initiates again (unanswered here): no IKE SA is up.
    for (const IkeSa* sa : p.a.mgr->Sas()) {
      CHECK(sa->unique_id() != gone);
      CHECK(sa->state() == IkeSa::State::kConnecting);
    }
    CHECK(p.a.mgr->AllocatedSpis() == 0);
  }
}

TEST_CASE("a NAT rebinding moves the CHILD SAs' endpoints and tells the listener",
          "[ike_sa][nat]") {
  NatPair p;
  p.Up();
  REQUIRE(p.b.Only() != nullptr);
  REQUIRE(OnlyChild(p.b.Only()) != nullptr);
  CHECK(OnlyChild(p.b.Only())->remote.port == 14500);
  // The NAT forgets the mapping and picks another port.
  p.net.on_wire = [](Datagram& d) {
    if (d.src.address.ToString() == "198.51.100.1") d.src.port = 23456;
  };
  SECTION("an authenticated request from the new port moves the endpoints") {
    REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
    p.net.Pump();
    INFO(p.b.log.All());
    CHECK(p.b.log.Has("remote endpoint changed from 198.51.100.1[14500] to 198.51.100.1[23456]"));
    CHECK(p.b.Only()->remote().port == 23456);
    for (const auto& c : p.b.Only()->children()) CHECK(c->remote.port == 23456);
    CHECK(p.b.rec.child_updated >= 1);
  }
  SECTION("a forged unauthenticated message from the new port does not") {
    Datagram d;
    d.src = Endpoint{*Address::Parse("198.51.100.1"), 23456};
    d.dst = Endpoint{*Address::Parse(kB), 4500};
    d.non_esp_marker = true;
    const IkeSa* sa = p.b.Only();
    Bytes h(sa->spi_i().begin(), sa->spi_i().end());
    h.insert(h.end(), sa->spi_r().begin(), sa->spi_r().end());
    Bytes rest = {0, 0x20, 37, 0x08, 0, 0, 0, static_cast<uint8_t>(sa->expected_request_id()),
                  0, 0,    0,  28};
    h.insert(h.end(), rest.begin(), rest.end());
    d.data = h;
    p.b.mgr->HandleDatagram(d);
    CHECK(p.b.Only()->remote().port == 14500);
    CHECK(OnlyChild(p.b.Only())->remote.port == 14500);
    CHECK(p.b.rec.child_updated == 0);
  }
}

TEST_CASE("without a NAT an established SA does not follow a changed source", "[ike_sa][nat]") {
  // The ICV does not cover the outer headers: a rewritten source must not redirect IKE or ESP.
  Pair p;
  p.Up();
  REQUIRE(OnlyChild(p.b.Only()) != nullptr);
  p.net.on_wire = [](Datagram& d) {
    if (d.src.address.ToString() == kA) d.src.port = 40000;
  };
  const uint32_t old_spi = OnlyChild(p.b.Only())->spi_in;
  REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
  p.net.Pump();
  INFO(p.b.log.All());
  // B did process the authenticated request from the new port: the CHILD SA was rekeyed.
  REQUIRE(OnlyChild(p.b.Only()) != nullptr);
  CHECK(OnlyChild(p.b.Only())->spi_in != old_spi);
  CHECK_FALSE(p.b.log.Has("remote endpoint changed"));
  CHECK(p.b.Only()->remote().port == 500);
  for (const auto& c : p.b.Only()->children()) CHECK(c->remote.port == 500);
  CHECK(p.b.rec.child_updated == 0);
}
