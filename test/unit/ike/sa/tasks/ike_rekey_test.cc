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

namespace {

// The IKE SAs of a node by unique ID, whatever their state.
const IkeSa* ById(const Node& n, uint32_t id) {
  for (const IkeSa* sa : n.mgr->Sas()) {
    if (sa->unique_id() == id) return sa;
  }
  return nullptr;
}

Bytes SpiBytes(const IkeSpi& s) {
  return Bytes(s.begin(), s.end());
}

}  // namespace

TEST_CASE("IKE SA rekey step by step: states, SPIs and CHILD SAs on both ends after each message",
          "[ike_sa][ike_rekey]") {
  Pair p;
  p.Up();
  const IkeSa* a1 = p.a.Only();
  const IkeSa* b1 = p.b.Only();
  REQUIRE(OnlyChild(a1) != nullptr);
  REQUIRE(OnlyChild(b1) != nullptr);
  const uint32_t ac = OnlyChild(a1)->spi_in, bc = OnlyChild(b1)->spi_in;

  Mutable(a1).Queue(NewIkeRekeyTask());
  REQUIRE(p.net.queue.size() == 1);
  Datagram request = p.net.queue.front();
  CHECK(HeaderOf(request).exchange == ExchangeType::kCreateChildSa);
  CHECK(HeaderOf(request).message_id == 2);
  std::vector<Payload> in = Inner(request, *b1);
  const auto* sa = FindPayload<SaPayload>(in, PayloadType::kSa);
  const auto* ke = FindPayload<KePayload>(in, PayloadType::kKe);
  REQUIRE(sa != nullptr);
  REQUIRE(ke != nullptr);
  CHECK(FindPayload<NoncePayload>(in, PayloadType::kNonce) != nullptr);
  REQUIRE(sa->proposals.size() == 1);
  CHECK(sa->proposals[0].protocol == ProtocolId::kIke);
  CHECK(sa->proposals[0].spi.size() == 8);  // A's SPI of the new IKE SA
  CHECK(ke->group == DhGroup::kCurve25519);
  CHECK(a1->state() == IkeSa::State::kEstablished);

  // B makes the successor, with A's new SPI as SPIi, and moves the CHILD SA onto it.
  p.net.DeliverOne();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  const IkeSa* b2 = ById(p.b, 2);
  REQUIRE(b2 != nullptr);
  CHECK(b1->state() == IkeSa::State::kRekeyed);
  CHECK(b1->children().empty());
  CHECK(b2->state() == IkeSa::State::kEstablished);
  CHECK_FALSE(b2->original_initiator());
  CHECK(SpiBytes(b2->spi_i()) == sa->proposals[0].spi);
  REQUIRE(OnlyChild(b2) != nullptr);
  CHECK(OnlyChild(b2)->spi_in == bc);
  REQUIRE(p.net.queue.size() == 1);
  std::vector<Payload> out = Inner(p.net.queue.front(), *a1);
  const auto* answer = FindPayload<SaPayload>(out, PayloadType::kSa);
  REQUIRE(answer != nullptr);
  REQUIRE(answer->proposals.size() == 1);
  CHECK(answer->proposals[0].spi == SpiBytes(b2->spi_r()));
  CHECK(FindPayload<KePayload>(out, PayloadType::kKe) != nullptr);
  CHECK(FindPayload<NoncePayload>(out, PayloadType::kNonce) != nullptr);

  // A makes the same successor and deletes the old IKE SA at once.
  p.net.DeliverOne();
  const IkeSa* a2 = ById(p.a, 2);
  REQUIRE(a2 != nullptr);
  CHECK(a1->state() == IkeSa::State::kRekeyed);
  CHECK(a1->children().empty());
  CHECK(a2->state() == IkeSa::State::kEstablished);
  CHECK(a2->original_initiator());
  CHECK(a2->spi_i() == b2->spi_i());
  CHECK(a2->spi_r() == b2->spi_r());
  CHECK(a2->keys.sk_d == b2->keys.sk_d);
  CHECK_FALSE(a2->keys.sk_d == a1->keys.sk_d);
  REQUIRE(OnlyChild(a2) != nullptr);
  CHECK(OnlyChild(a2)->spi_in == ac);
  REQUIRE(p.net.queue.size() == 1);
  Datagram del = p.net.queue.front();
  CHECK(HeaderOf(del).spi_i == a1->spi_i());
  CHECK(HeaderOf(del).message_id == 3);
  CHECK(Inner(del, *b1) == std::vector<Payload>{IkeDelete()});

  p.net.DeliverOne();
  CHECK(p.b.mgr->Sas() == std::vector<const IkeSa*>{b2});
  p.net.DeliverOne();
  CHECK(p.a.mgr->Sas() == std::vector<const IkeSa*>{a2});
  CHECK(p.net.queue.empty());
  // The CHILD SA never went down, and the new IKE SA starts its message IDs at 0.
  CHECK(p.a.rec.child_down + p.b.rec.child_down == 0);
  CHECK(p.a.rec.child_up == 1);
  CHECK(a2->next_request_id() == 0);
  CHECK(b2->expected_request_id() == 0);
  REQUIRE(p.a.mgr->RekeyChild(ac));
  REQUIRE(p.net.queue.size() == 1);
  CHECK(HeaderOf(p.net.queue.front()).message_id == 0);
  p.net.Pump();
  CheckMatched(*OnlyChild(a2), *OnlyChild(b2));
}

TEST_CASE("an IKE SA rekey the peer refuses: the old SA stays and the rekey is retried later",
          "[ike_sa][ike_rekey]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  // B's proposals change under the established SA (its config object is shared with it), so the
  // rekey finds nothing in common.
  const std::vector<Proposal> kept = p.cb->ike_proposals;
  p.cb->ike_proposals = {
      IkeProp(EncrId::kAesGcm16, 256, IntegId::kNone, PrfId::kHmacSha2_384, DhGroup::kEcp384)};
  Mutable(a).Queue(NewIkeRekeyTask());
  p.net.Pump();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Count("NO_PROPOSAL_CHOSEN for the IKE_SA rekey: received proposals: "
                      "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519; "
                      "configured proposals: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384") == 1);
  CHECK(p.a.log.Count("received NO_PROPOSAL_CHOSEN notify error for the IKE_SA rekey, "
                      "retrying later") == 1);
  CHECK(p.a.Only() == a);
  CHECK(p.b.Only() == b);
  CHECK(p.a.mgr->Sas().size() == 1);
  CHECK(p.b.mgr->Sas().size() == 1);
  CHECK(a->next_request_id() == 3);
  CHECK(OnlyChild(a) != nullptr);
  // Retried in 20..40 s.
  CHECK(a->rekey_at() >= p.net.now + absl::Seconds(20));
  CHECK(a->rekey_at() <= p.net.now + absl::Seconds(40));
  p.cb->ike_proposals = kept;
  p.net.Advance(absl::Seconds(41));
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.a.Only()->unique_id() == 2);
  CHECK(p.a.mgr->Sas().size() == 1);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

TEST_CASE("an IKE SA rekey answered INVALID_KE_PAYLOAD is retried with the group asked for",
          "[ike_sa][ike_rekey]") {
  Pair p;
  Proposal curve = IkeProp(EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128, PrfId::kHmacSha2_256,
                           DhGroup::kCurve25519);
  Proposal ecp = IkeProp(EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128, PrfId::kHmacSha2_256,
                         DhGroup::kEcp256);
  p.ca->ike_proposals = {curve, ecp};
  p.cb->ike_proposals = {curve, ecp};
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.a.Only()->suite.dh == DhGroup::kCurve25519);
  p.cb->ike_proposals = {ecp};  // B now wants ECP_256; A's KE is for the group it has
  Mutable(p.a.Only()).Queue(NewIkeRekeyTask());
  p.net.Pump();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Count("IKE_SA rekey: DH group unacceptable (INVALID_KE_PAYLOAD)") == 1);
  CHECK(p.a.log.Count("IKE_SA rekey: peer requested DH group ECP_256 (INVALID_KE_PAYLOAD), "
                      "retrying") == 1);
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->unique_id() == 2);
  CHECK(a->suite.dh == DhGroup::kEcp256);
  CHECK(a->keys.sk_d == b->keys.sk_d);
  CHECK(p.a.mgr->Sas().size() == 1);
  CHECK(p.b.mgr->Sas().size() == 1);
}
