// IKE SA rekeying (ike/sa/tasks/ike_rekey.cc): the successor takes the CHILD SAs over and the
// old SA is deleted, colliding rekeys, a refused rekey, and the states on both ends after each
// message. What a rekey hands over is in ../ike_sa_handover_test.cc.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("IKE SA rekey: the successor takes the CHILD SAs over, the old SA is deleted",
          "[ike_sa][ike_rekey]") {
  Pair p;
  p.ca->ike_lifetime = 60;  // A rekeys within 30..45 s
  p.cb->ike_lifetime = 600;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  const ChildSa* before = OnlyChild(p.a.Only());
  uint32_t spi = before->spi_in;
  IkeSpi old_spi = p.a.Only()->spi_i();
  p.net.Advance(absl::Seconds(46));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(p.a.log.Has("rekeying IKE_SA peer-192.0.2.2[1]"));
  CHECK(p.b.log.Has("IKE_SA peer-192.0.2.1[1] rekeyed into peer-192.0.2.1[2]"));
  CHECK(p.b.log.Has("received DELETE for IKE_SA peer-192.0.2.1[1]"));
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->unique_id() == 2);
  CHECK_FALSE(a->spi_i() == old_spi);
  CHECK(a->keys.sk_d == b->keys.sk_d);
  REQUIRE(OnlyChild(a) != nullptr);
  CHECK(OnlyChild(a)->spi_in == spi);  // the CHILD SA moved, untouched
  CHECK(p.a.rec.child_down == 0);
  CHECK(p.b.rec.child_down == 0);
  // The new IKE SA works: a CHILD SA rekey over it.
  REQUIRE(p.b.mgr->RekeyChild(OnlyChild(b)->spi_in));
  p.net.Pump();
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

TEST_CASE("simultaneous IKE SA rekeys: TEMPORARY_FAILURE, then one rekey succeeds",
          "[ike_sa][ike_rekey][collision]") {
  Pair p;
  p.ca->ike_lifetime = 60;  // both rekey within 30..45 s
  p.cb->ike_lifetime = 60;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  uint32_t child = OnlyChild(p.a.Only())->spi_in;
  // Hold every datagram back until both rekey requests are out, so they cross.
  p.net.drop = [](const Datagram&) { return true; };
  p.net.Advance(absl::Seconds(46));
  CHECK(p.a.log.Has("rekeying IKE_SA peer-192.0.2.2[1]"));
  CHECK(p.b.log.Has("rekeying IKE_SA peer-192.0.2.1[1]"));
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(120));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK((p.a.log.Has("IKE_SA rekey collision: answering TEMPORARY_FAILURE") ||
         p.b.log.Has("IKE_SA rekey collision: answering TEMPORARY_FAILURE")));
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->unique_id() > 1);
  CHECK(a->spi_i() == b->spi_i());
  CHECK(a->keys.sk_d == b->keys.sk_d);
  REQUIRE(OnlyChild(a) != nullptr);
  CHECK(OnlyChild(a)->spi_in == child);
  CheckMatched(*OnlyChild(a), *OnlyChild(b));
}
