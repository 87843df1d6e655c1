// INFORMATIONAL Delete of the IKE SA (ike/sa/tasks/ike_delete.cc): the request carries a Delete
// payload for protocol IKE, the peer destroys its SA with all CHILD SAs and answers empty, and
// then we destroy ours. Either end may delete; neither brings the SA up again by itself; a Delete
// the peer never answers still ends the SA.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("IKE SA delete step by step: both ends' SAs go, their CHILD SAs reported down",
          "[ike_sa][ike_delete]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(OnlyChild(a) != nullptr);
  REQUIRE(OnlyChild(b) != nullptr);
  const uint32_t ac = OnlyChild(a)->spi_in, bc = OnlyChild(b)->spi_in;

  Mutable(a).Delete();
  CHECK(a->state() == IkeSa::State::kDeleting);
  CHECK(p.a.log.Has("deleting IKE_SA peer-192.0.2.2[1] between 192.0.2.1...192.0.2.2"));
  REQUIRE(p.net.queue.size() == 1);
  Datagram request = p.net.queue.front();
  CHECK(HeaderOf(request).exchange == ExchangeType::kInformational);
  CHECK(HeaderOf(request).message_id == 2);
  CHECK(Inner(request, *b) == std::vector<Payload>{IkeDelete()});
  CHECK(p.a.rec.child_down == 0);

  // B destroys its SA with the CHILD SA once its (empty) answer is out.
  p.net.DeliverOne();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Has("received DELETE for IKE_SA peer-192.0.2.1[1]"));
  CHECK(p.b.log.Has("generating INFORMATIONAL response 2 [ ]"));
  CHECK(p.b.mgr->Sas().empty());
  CHECK(p.b.rec.down_spis == std::vector<uint32_t>{bc});
  CHECK(p.b.rec.ike_down == 1);
  REQUIRE(p.net.queue.size() == 1);
  CHECK(Inner(p.net.queue.front(), *a).empty());
  CHECK(p.a.mgr->Sas().size() == 1);

  p.net.DeliverOne();
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{ac});
  CHECK(p.a.rec.ike_down == 1);
  CHECK(p.a.log.Has("destroying IKE_SA peer-192.0.2.2[1]: IKE_SA deleted"));
  // A deleted SA stays down on both ends.
  p.net.Advance(absl::Seconds(60));
  CHECK(p.a.log.Count("initiating IKE_SA") == 1);
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.b.mgr->Sas().empty());
}

TEST_CASE("the original responder deletes the IKE SA: the initiator's goes too",
          "[ike_sa][ike_delete]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(b != nullptr);
  Mutable(b).Delete();
  REQUIRE(p.net.queue.size() == 1);
  CHECK(HeaderOf(p.net.queue.front()).message_id == 0);  // B's first request
  CHECK_FALSE(HeaderOf(p.net.queue.front()).initiator);
  CHECK(Inner(p.net.queue.front(), *a) == std::vector<Payload>{IkeDelete()});
  p.net.DeliverOne();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.a.log.Has("received DELETE for IKE_SA peer-192.0.2.2[1]"));
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.a.rec.child_down == 1);
  CHECK(p.b.mgr->Sas().size() == 1);
  p.net.DeliverOne();
  CHECK(p.b.mgr->Sas().empty());
  CHECK(p.b.rec.child_down == 1);
  p.net.Advance(absl::Seconds(60));
  CHECK(p.a.log.Count("initiating IKE_SA") == 1);
  CHECK(p.a.mgr->Sas().empty());
}

TEST_CASE("a Delete the peer never answers ends the SA when the retransmissions run out",
          "[ike_sa][ike_delete]") {
  ManagerOptions o = Net::Defaults();
  o.retransmit.tries = 1;
  o.retransmit.timeout = 2.0;
  Pair p(o, o);
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kA; };
  Mutable(p.a.Only()).Delete();
  p.net.Advance(absl::Seconds(5.5));  // 2 s, then 2 * 1.8 s
  CHECK(p.a.mgr->Sas().size() == 1);
  p.net.Advance(absl::Seconds(0.5));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("giving up after 1 retransmits"));
  CHECK(p.a.log.Has("IKE_SA deleted (peer did not confirm)"));
  CHECK_FALSE(p.a.log.Has("dead-peer-detection action"));
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.a.rec.child_down == 1);
  CHECK(p.a.rec.ike_down == 1);
  // B never heard of it.
  CHECK(p.b.Only() != nullptr);
}
