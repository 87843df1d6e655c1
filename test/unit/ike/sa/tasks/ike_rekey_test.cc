// IKE SA rekeying (ike/sa/tasks/ike_rekey.cc): the successor takes the CHILD SAs over and the
// old SA is deleted, a refused rekey, the states on both ends after each message, and colliding
// rekeys (RFC 7296 2.8.2) with their messages delayed, dropped and reordered, as strongSwan's
// test_ike_rekey.c has them. What a rekey hands over is in ../ike_sa_handover_test.cc.
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

namespace {

// Both ends rekey the IKE SA at once: A's request ra and B's request rb are on the wire, in
// that order. The CHILD SA must never go down: it moves to whichever new IKE SA wins.
struct IkeCollision : Pair {
  const IkeSa* a1 = nullptr;
  const IkeSa* b1 = nullptr;
  uint32_t ac = 0, bc = 0;
  IkeCollision() {
    Up();
    a1 = a.Only();
    b1 = b.Only();
    REQUIRE(OnlyChild(a1) != nullptr);
    REQUIRE(OnlyChild(b1) != nullptr);
    ac = OnlyChild(a1)->spi_in;
    bc = OnlyChild(b1)->spi_in;
    Mutable(a1).Queue(NewIkeRekeyTask());
    Mutable(b1).Queue(NewIkeRekeyTask());
    REQUIRE(net.queue.size() == 2);
  }
  // The initiator SPI a rekey request offers, and the smaller of its exchange's two nonces.
  struct Exchange {
    Bytes spi_i;
    Bytes min_nonce;
  };
  static Exchange Read(const Datagram& request, const IkeSa& responder, const Datagram& response,
                       const IkeSa& initiator) {
    std::vector<Payload> q = Inner(request, responder), r = Inner(response, initiator);
    const auto* sa = FindPayload<SaPayload>(q, PayloadType::kSa);
    const auto* ni = FindPayload<NoncePayload>(q, PayloadType::kNonce);
    const auto* nr = FindPayload<NoncePayload>(r, PayloadType::kNonce);
    REQUIRE(sa != nullptr);
    REQUIRE(ni != nullptr);
    REQUIRE(nr != nullptr);
    return {sa->proposals.at(0).spi, std::min(ni->data, nr->data)};
  }
  // Settled: one IKE SA on each end, the same one, with the first IKE SA's CHILD SA untouched;
  // its initiator SPI is `winner`. The new IKE SA works (a CHILD SA rekey over it). A redundant
  // IKE SA its initiator never made (the answer that would have made it came after the old IKE
  // SA was gone) is deleted after IkeSa::kRekeyedTimeout, into silence: the retransmissions run
  // out within 200 s.
  void CheckSettled(const Bytes& winner) {
    net.Pump();
    net.Advance(absl::Seconds(200), absl::Seconds(1));
    INFO(a.log.All() << "---\n" << b.log.All());
    REQUIRE(a.mgr->Sas().size() == 1);
    REQUIRE(b.mgr->Sas().size() == 1);
    const IkeSa* x = a.mgr->Sas()[0];
    const IkeSa* y = b.mgr->Sas()[0];
    CHECK(x->state() == IkeSa::State::kEstablished);
    CHECK(y->state() == IkeSa::State::kEstablished);
    CHECK_FALSE(x->undecided);
    CHECK_FALSE(y->undecided);
    CHECK(x->unique_id() > 1);
    CHECK(x->spi_i() == y->spi_i());
    CHECK(x->spi_r() == y->spi_r());
    CHECK(Bytes(x->spi_i().begin(), x->spi_i().end()) == winner);
    CHECK(x->keys.sk_d == y->keys.sk_d);
    REQUIRE(OnlyChild(x) != nullptr);
    REQUIRE(OnlyChild(y) != nullptr);
    CHECK(OnlyChild(x)->spi_in == ac);
    CHECK(OnlyChild(y)->spi_in == bc);
    // The CHILD SA never went down on either end: no window without an outbound SA.
    CHECK(a.rec.child_down + b.rec.child_down == 0);
    CHECK(a.rec.gaps + b.rec.gaps == 0);
    CHECK(unsendable == 0);
    REQUIRE(a.mgr->RekeyChild(ac));
    net.Pump();
    REQUIRE(OnlyChild(a.mgr->Sas()[0]) != nullptr);
    REQUIRE(OnlyChild(b.mgr->Sas()[0]) != nullptr);
    CheckMatched(*OnlyChild(a.mgr->Sas()[0]), *OnlyChild(b.mgr->Sas()[0]));
    CHECK(a.rec.gaps + b.rec.gaps == 0);
  }
};

}  // namespace

// strongSwan test_ike_rekey.c test_collision: both requests cross, both answers come, the new
// IKE SA with the lowest nonce is deleted by its initiator and the other one stays. Run until
// each end has won at least once (the nonces are random).
TEST_CASE("IKE SA rekey collision: the new IKE SA with the lowest nonce is deleted, nothing else",
          "[ike_sa][ike_rekey][collision]") {
  int a_won = 0, b_won = 0;
  for (int i = 0; i < 64 && (a_won == 0 || b_won == 0); ++i) {
    IkeCollision p;
    Datagram ra = p.net.Take(), rb = p.net.Take();
    p.net.Deliver(ra);  // B: collision, answers
    p.net.Deliver(rb);  // A: collision, answers
    REQUIRE(p.net.queue.size() == 2);
    Datagram ra_answer = p.net.queue[0], rb_answer = p.net.queue[1];
    auto xa = IkeCollision::Read(ra, *p.b1, ra_answer, *p.a1);
    auto xb = IkeCollision::Read(rb, *p.a1, rb_answer, *p.b1);
    bool a_wins = xb.min_nonce < xa.min_nonce;
    (a_wins ? a_won : b_won)++;
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    // Both answers in: each end has decided and both decided alike.
    p.net.DeliverOne();
    p.net.DeliverOne();
    CHECK(p.a.log.Has(a_wins ? "the peer's new IKE_SA has the lowest nonce"
                             : "our new IKE_SA has the lowest nonce, deleting it"));
    CHECK(p.b.log.Has(a_wins ? "our new IKE_SA has the lowest nonce, deleting it"
                             : "the peer's new IKE_SA has the lowest nonce"));
    CHECK_FALSE(p.a.log.Has("TEMPORARY_FAILURE"));
    CHECK_FALSE(p.b.log.Has("TEMPORARY_FAILURE"));
    p.CheckSettled(a_wins ? xa.spi_i : xb.spi_i);
  }
  CHECK(a_won > 0);
  CHECK(b_won > 0);
}

// test_collision_delayed_response: B's answer to A is held back until B has settled the
// collision and its Delete (of the old IKE SA if B won, of its redundant one if it lost) reached
// A. Either way A ends on the same IKE SA as B.
TEST_CASE("IKE SA rekey collision with one answer delayed past the other end's Delete",
          "[ike_sa][ike_rekey][collision]") {
  int a_won = 0, b_won = 0;
  for (int i = 0; i < 64 && (a_won == 0 || b_won == 0); ++i) {
    IkeCollision p;
    Datagram ra = p.net.Take(), rb = p.net.Take();
    p.net.Deliver(ra);
    p.net.Deliver(rb);
    Datagram ra_answer = p.net.Take(0);
    auto xa = IkeCollision::Read(ra, *p.b1, ra_answer, *p.a1);
    auto xb = IkeCollision::Read(rb, *p.a1, p.net.queue[0], *p.b1);
    bool a_wins = xb.min_nonce < xa.min_nonce;
    (a_wins ? a_won : b_won)++;
    p.net.Pump();  // B decides; its Delete reaches A and is answered
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    if (!a_wins) {
      CHECK(p.a.log.Has("the peer deleted the old IKE_SA before our rekey was answered"));
    }
    p.net.Deliver(ra_answer);  // dropped if the old IKE SA is gone
    p.CheckSettled(a_wins ? xa.spi_i : xb.spi_i);
  }
  CHECK(a_won > 0);
  CHECK(b_won > 0);
}

// test_collision_dropped_request: B's request is lost, so A finishes a plain rekey and deletes
// the old IKE SA; B, which answered A's request, takes A's new IKE SA when that Delete comes.
TEST_CASE("IKE SA rekey collision one end never sees: the other end's request is lost",
          "[ike_sa][ike_rekey][collision]") {
  IkeCollision p;
  Datagram ra = p.net.Take();
  (void)p.net.Take();  // rb, lost
  p.net.Deliver(ra);
  Datagram ra_answer = p.net.queue.front();
  auto xa = IkeCollision::Read(ra, *p.b1, ra_answer, *p.a1);
  p.net.Pump();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Has("the peer deleted the old IKE_SA before our rekey was answered"));
  p.CheckSettled(xa.spi_i);
}

// test_collision_delayed_request and _and_delete: B's request reaches A only after A finished
// its rekey. A answers TEMPORARY_FAILURE on the rekeyed SA; B takes A's new IKE SA on that
// answer or on A's Delete, whichever comes first.
TEST_CASE("IKE SA rekey collision with one request delayed until the other end finished",
          "[ike_sa][ike_rekey][collision]") {
  for (bool delete_first : {false, true}) {
    IkeCollision p;
    Datagram ra = p.net.Take(), rb = p.net.Take();
    p.net.Deliver(ra);
    Datagram ra_answer = p.net.Take();
    auto xa = IkeCollision::Read(ra, *p.b1, ra_answer, *p.a1);
    p.net.Deliver(ra_answer);  // A is done: new IKE SA, Delete of the old one on the wire
    REQUIRE(p.net.queue.size() == 1);
    if (delete_first) {
      p.net.Pump();  // B takes A's IKE SA over; the old SAs are gone on both ends
      p.net.Deliver(rb);
    } else {
      p.net.Deliver(rb);  // A answers TEMPORARY_FAILURE on its rekeyed IKE SA
      INFO(p.a.log.All() << "---\n" << p.b.log.All());
      CHECK(p.a.log.Has("answering TEMPORARY_FAILURE"));
      Datagram del = p.net.Take(0);
      p.net.Pump();  // B: the TEMPORARY_FAILURE
      CHECK(p.b.log.Has("the peer answered our rekey with TEMPORARY_FAILURE"));
      p.net.Deliver(del);
    }
    p.CheckSettled(xa.spi_i);
    CHECK_FALSE(p.b.log.Has("retrying later"));
  }
}

// A rekey whose answer is lost: the responder has switched already, and answers the
// retransmission from its old IKE SA's response cache, not with TEMPORARY_FAILURE.
TEST_CASE("IKE SA rekey with its request or its answer lost: retransmitted, nothing else",
          "[ike_sa][ike_rekey]") {
  for (bool lose_answer : {false, true}) {
    Pair p;
    p.Up();
    const IkeSa* a1 = p.a.Only();
    REQUIRE(OnlyChild(a1) != nullptr);
    const uint32_t ac = OnlyChild(a1)->spi_in;
    Mutable(a1).Queue(NewIkeRekeyTask());
    if (lose_answer) p.net.DeliverOne();
    (void)p.net.Take();               // lost
    p.net.Advance(absl::Seconds(5));  // the first retransmission
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    CHECK(p.a.log.Has("retransmit 1 of request with message ID 2"));
    if (lose_answer) CHECK(p.b.log.Has("received retransmit of request with ID 2"));
    CHECK_FALSE(p.b.log.Has("TEMPORARY_FAILURE"));
    REQUIRE(p.a.Only() != nullptr);
    REQUIRE(p.b.Only() != nullptr);
    CHECK(p.a.mgr->Sas().size() == 1);
    CHECK(p.b.mgr->Sas().size() == 1);
    CHECK(p.a.Only()->unique_id() == 2);
    CHECK(p.a.Only()->keys.sk_d == p.b.Only()->keys.sk_d);
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CHECK(OnlyChild(p.a.Only())->spi_in == ac);
    CHECK(p.a.rec.child_down + p.b.rec.child_down == 0);
  }
}

// test_collision_delete: A rekeys the IKE SA while B deletes it. B answers the rekey with
// TEMPORARY_FAILURE, A honours the Delete; nothing is left half-made on either end.
TEST_CASE("IKE SA rekey meets the peer's Delete of the IKE SA", "[ike_sa][ike_rekey][collision]") {
  Pair p;
  p.Up();
  Mutable(p.a.Only()).Queue(NewIkeRekeyTask());
  Mutable(p.b.Only()).Delete();
  REQUIRE(p.net.queue.size() == 2);
  p.net.Pump();
  p.net.Advance(absl::Seconds(60));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Has("answering TEMPORARY_FAILURE"));
  CHECK(p.a.log.Has("received DELETE for IKE_SA peer-192.0.2.2[1]"));
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.b.mgr->Sas().empty());
  CHECK(p.a.rec.child_up == p.a.rec.child_down);
  CHECK(p.b.rec.child_up == p.b.rec.child_down);
}
