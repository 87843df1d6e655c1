// CHILD SA rekeying (ike/sa/tasks/child_rekey.cc): with and without PFS, started by either end,
// a PFS mismatch, the collision of two rekeys, and (step by step, as strongSwan's
// test_child_rekey.c) the states of the old and new SAs on both ends after each message.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("CHILD SA rekey with PFS, started by either end", "[ike_sa][rekey]") {
  Pair p;
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  uint32_t old_a = OnlyChild(p.a.Only())->spi_in;
  uint32_t old_b = OnlyChild(p.b.Only())->spi_in;
  SECTION("initiator rekeys") {
    REQUIRE(p.a.mgr->RekeyChild(old_a));
  }
  SECTION("responder rekeys (dataplane soft expiry on its outbound SA)") {
    REQUIRE(p.b.mgr->RekeyChild(OnlyChild(p.b.Only())->spi_out));
  }
  p.net.Pump();
  INFO(p.a.log.All() << p.b.log.All());
  CHECK((p.a.log.Has("CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No KE TSi TSr") ||
         p.b.log.Has("CREATE_CHILD_SA request 0 [ N(REKEY_SA) SA No KE TSi TSr")));
  const ChildSa* a = OnlyChild(p.a.Only());
  const ChildSa* b = OnlyChild(p.b.Only());
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->spi_in != old_a);
  CHECK(b->spi_in != old_b);
  CHECK(a->suite.pfs == DhGroup::kCurve25519);
  CheckMatched(*a, *b);
  CHECK(p.a.rec.child_up == 2);
  CHECK(p.a.rec.child_down == 1);
  CHECK(p.b.rec.child_down == 1);
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{old_a});
}

TEST_CASE("CHILD SA rekey without PFS carries no KE", "[ike_sa][rekey]") {
  Pair p;
  p.ca->children[0].pfs = DhGroup::kNone;
  p.cb->children[0].pfs = DhGroup::kNone;
  p.Up();
  REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
  p.net.Pump();
  CHECK(p.a.log.Has("CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No TSi TSr"));
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

TEST_CASE("PFS mismatch on rekey: the responder answers INVALID_KE or NO_PROPOSAL_CHOSEN",
          "[ike_sa][rekey]") {
  Pair p;
  p.ca->children[0].pfs = DhGroup::kNone;  // B requires PFS, A offers none
  p.Up();
  REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
  p.net.Pump();
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(
      p.b.log.Has("NO_PROPOSAL_CHOSEN: no acceptable ESP proposal for peer-192.0.2.1-tunnel-1; "
                  "received proposals: ESP:AES_GCM_16_128; configured proposals: "
                  "ESP:AES_GCM_16_128/CURVE_25519"));
  CHECK(
      p.a.log.Has("received NO_PROPOSAL_CHOSEN notify error: the peer accepted none of our ESP "
                  "proposals"));
  // The old CHILD SA stays.
  CHECK(OnlyChild(p.a.Only()) != nullptr);
  CHECK(OnlyChild(p.a.Only())->state == ChildSa::State::kInstalled);
}

TEST_CASE("simultaneous CHILD SA rekeys: one new SA survives on both ends", "[ike_sa][rekey]") {
  Pair p;
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in);
  p.b.mgr->RekeyChild(OnlyChild(p.b.Only())->spi_in);
  p.net.Pump();
  p.net.Advance(absl::Seconds(30));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK((p.a.log.Has("CHILD_SA rekey collision") && p.b.log.Has("CHILD_SA rekey collision")));
  const ChildSa* a = OnlyChild(p.a.Only());
  const ChildSa* b = OnlyChild(p.b.Only());
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CheckMatched(*a, *b);
}
