// CHILD SA rekeying (ike/sa/tasks/child_rekey.cc): with and without PFS, started by either end,
// a PFS mismatch, the collision of two rekeys, and (step by step, as strongSwan's
// test_child_rekey.c) the states of the old and new SAs on both ends after each message.
#include <catch2/catch.hpp>

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
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

namespace {

// The CHILD SA of `sa` with inbound SPI `spi`.
const ChildSa* BySpi(const IkeSa* sa, uint32_t spi) {
  for (const auto& c : sa->children()) {
    if (c->spi_in == spi) return c.get();
  }
  return nullptr;
}

// The one CHILD SA of `sa` that is not `old`.
const ChildSa* Other(const IkeSa* sa, uint32_t old) {
  const ChildSa* out = nullptr;
  for (const auto& c : sa->children()) {
    if (c->spi_in == old) continue;
    if (out != nullptr) return nullptr;
    out = c.get();
  }
  return out;
}

uint32_t SpiOf(const Proposal& p) {
  return p.spi.size() != 4
             ? 0
             : static_cast<uint32_t>(p.spi[0]) << 24 | p.spi[1] << 16 | p.spi[2] << 8 | p.spi[3];
}

}  // namespace

TEST_CASE("CHILD SA rekey step by step: old and new SAs on both ends after each message",
          "[ike_sa][rekey]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(OnlyChild(a) != nullptr);
  REQUIRE(OnlyChild(b) != nullptr);
  const uint32_t old_a = OnlyChild(a)->spi_in, old_b = OnlyChild(b)->spi_in;

  REQUIRE(p.a.mgr->RekeyChild(old_a));
  CHECK(BySpi(a, old_a)->state == ChildSa::State::kRekeying);
  REQUIRE(p.net.queue.size() == 1);
  std::vector<Payload> in = Inner(p.net.queue.front(), *b);
  const NotifyPayload* rekey = FindNotify(in, NotifyType::kRekeySa);
  REQUIRE(rekey != nullptr);
  CHECK(rekey->protocol == ProtocolId::kEsp);
  CHECK(rekey->spi == Bytes{static_cast<uint8_t>(old_a >> 24), static_cast<uint8_t>(old_a >> 16),
                            static_cast<uint8_t>(old_a >> 8), static_cast<uint8_t>(old_a)});
  const auto* offer = FindPayload<SaPayload>(in, PayloadType::kSa);
  REQUIRE(offer != nullptr);
  const uint32_t new_a = SpiOf(offer->proposals.at(0));
  CHECK(new_a != old_a);
  CHECK(FindPayload<KePayload>(in, PayloadType::kKe) != nullptr);  // PFS

  // B installs the new SA beside the old one, which it now counts as rekeyed.
  p.net.DeliverOne();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  REQUIRE(b->children().size() == 2);
  CHECK(BySpi(b, old_b)->state == ChildSa::State::kRekeyed);
  const ChildSa* nb = Other(b, old_b);
  REQUIRE(nb != nullptr);
  CHECK(nb->state == ChildSa::State::kInstalled);
  CHECK(nb->spi_out == new_a);
  CHECK(p.b.rec.child_up == 2);
  CHECK(p.b.rec.child_down == 0);
  REQUIRE(p.net.queue.size() == 1);
  std::vector<Payload> out = Inner(p.net.queue.front(), *a);
  const auto* chosen = FindPayload<SaPayload>(out, PayloadType::kSa);
  REQUIRE(chosen != nullptr);
  CHECK(SpiOf(chosen->proposals.at(0)) == nb->spi_in);

  // A installs its half and starts deleting the old SA.
  p.net.DeliverOne();
  REQUIRE(a->children().size() == 2);
  CHECK(BySpi(a, old_a)->state == ChildSa::State::kDeleting);
  const ChildSa* na = BySpi(a, new_a);
  REQUIRE(na != nullptr);
  CHECK(na->state == ChildSa::State::kInstalled);
  CheckMatched(*na, *nb);
  REQUIRE(p.net.queue.size() == 1);
  CHECK(Inner(p.net.queue.front(), *b) == std::vector<Payload>{EspDelete({old_a})});

  p.net.DeliverOne();
  REQUIRE(b->children().size() == 1);
  CHECK(b->children()[0].get() == nb);
  CHECK(p.b.rec.down_spis == std::vector<uint32_t>{old_b});
  REQUIRE(p.net.queue.size() == 1);
  CHECK(Inner(p.net.queue.front(), *a) == std::vector<Payload>{EspDelete({old_b})});

  p.net.DeliverOne();
  REQUIRE(a->children().size() == 1);
  CHECK(a->children()[0].get() == na);
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{old_a});
  CHECK(p.net.queue.empty());
}

TEST_CASE("REKEY_SA for a CHILD SA the peer does not have: CHILD_SA_NOT_FOUND, then a new one",
          "[ike_sa][rekey]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(OnlyChild(a) != nullptr);
  REQUIRE(OnlyChild(b) != nullptr);
  const uint32_t old_a = OnlyChild(a)->spi_in;
  // B lost the CHILD SA without telling A.
  Mutable(b).RemoveChild(OnlyChild(b)->spi_in, "lost");
  REQUIRE(b->children().empty());
  REQUIRE(p.a.mgr->RekeyChild(old_a));
  p.net.Pump();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Has(absl::StrFormat(
      "received REKEY_SA for unknown CHILD_SA with SPI %08x, answering CHILD_SA_NOT_FOUND",
      old_a)));
  CHECK(p.a.log.Has(
      absl::StrFormat("received CHILD_SA_NOT_FOUND for SPI %08x: the peer has no such CHILD_SA, "
                      "creating a new one",
                      old_a)));
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{old_a});
  CHECK(p.a.log.Has("CREATE_CHILD_SA request 3 [ SA No KE TSi TSr"));
  REQUIRE(OnlyChild(a) != nullptr);
  REQUIRE(OnlyChild(b) != nullptr);
  CHECK(OnlyChild(a)->spi_in != old_a);
  CheckMatched(*OnlyChild(a), *OnlyChild(b));
}

namespace {

// Both ends rekey the CHILD SA at once: A's request ra and B's request rb are on the wire, in
// that order (strongSwan's test_child_rekey.c collisions).
struct ChildCollision : Pair {
  const IkeSa* a1 = nullptr;
  const IkeSa* b1 = nullptr;
  uint32_t old_a = 0, old_b = 0;
  explicit ChildCollision(bool b_rekeys = true) {
    Up();
    a1 = a.Only();
    b1 = b.Only();
    REQUIRE(OnlyChild(a1) != nullptr);
    REQUIRE(OnlyChild(b1) != nullptr);
    old_a = OnlyChild(a1)->spi_in;
    old_b = OnlyChild(b1)->spi_in;
    REQUIRE(a.mgr->RekeyChild(old_a));
    if (b_rekeys) REQUIRE(b.mgr->RekeyChild(old_b));
  }
  // The initiator's new inbound SPI a rekey request offers, and the smaller of its exchange's
  // two nonces.
  struct Exchange {
    uint32_t spi = 0;
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
    return {SpiOf(sa->proposals.at(0)), std::min(ni->data, nr->data)};
  }
  // Settled on both ends: one CHILD SA, the same pair, with `a_spi` as A's inbound SPI (0: no
  // CHILD SA at all); no removal ever left a node without an SA for the tunnel (unless
  // `allow_gap`), and nothing else happens later.
  void CheckSettled(uint32_t a_spi, bool allow_gap = false) {
    net.Pump();
    net.Advance(absl::Seconds(60), absl::Seconds(1));
    INFO(a.log.All() << "---\n" << b.log.All());
    CHECK(a.mgr->Sas().size() == 1);
    CHECK(b.mgr->Sas().size() == 1);
    if (a_spi == 0) {
      CHECK(a1->children().empty());
      CHECK(b1->children().empty());
      return;
    }
    REQUIRE(OnlyChild(a1) != nullptr);
    REQUIRE(OnlyChild(b1) != nullptr);
    CHECK(OnlyChild(a1)->spi_in == a_spi);
    CHECK(OnlyChild(a1)->state == ChildSa::State::kInstalled);
    CHECK(OnlyChild(b1)->state == ChildSa::State::kInstalled);
    CheckMatched(*OnlyChild(a1), *OnlyChild(b1));
    if (!allow_gap) CHECK(a.rec.gaps + b.rec.gaps == 0);
    // Neither end ever sent with an SA the other end could not yet (or no longer) decrypt.
    INFO(absl::StrJoin(unsendable_at, "\n"));
    CHECK(unsendable == 0);
    // Every SA ever installed was removed once, except the one left.
    CHECK(a.rec.child_up == a.rec.child_down + 1);
    CHECK(b.rec.child_up == b.rec.child_down + 1);
  }
};

}  // namespace

// test_collision: both requests cross, both answers come; the new SA with the lowest nonce is
// deleted by its initiator. Until each end won at least once (the nonces are random).
TEST_CASE("CHILD SA rekey collision: the lowest nonce's SA goes, the outbound SA never does",
          "[ike_sa][rekey][collision]") {
  int a_won = 0, b_won = 0;
  for (int i = 0; i < 64 && (a_won == 0 || b_won == 0); ++i) {
    ChildCollision p;
    Datagram ra = p.net.Take(), rb = p.net.Take();
    p.net.Deliver(ra);
    p.net.Deliver(rb);
    REQUIRE(p.net.queue.size() == 2);
    auto xa = ChildCollision::Read(ra, *p.b1, p.net.queue[0], *p.a1);
    auto xb = ChildCollision::Read(rb, *p.a1, p.net.queue[1], *p.b1);
    bool a_wins = xb.min_nonce < xa.min_nonce;
    (a_wins ? a_won : b_won)++;
    // A's SA from B's exchange has as inbound SPI what A answered rb with.
    uint32_t a_spi_from_b = SpiOf(
        FindPayload<SaPayload>(Inner(p.net.queue[1], *p.b1), PayloadType::kSa)->proposals.at(0));
    p.CheckSettled(a_wins ? xa.spi : a_spi_from_b);
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    CHECK(p.a.log.Has("CHILD_SA rekey collision"));
    CHECK(p.b.log.Has("CHILD_SA rekey collision"));
  }
  CHECK(a_won > 0);
  CHECK(b_won > 0);
}

// test_collision_delayed_response: B's answer to A is held back until B settled the collision
// and its Delete (of the old SA if it won, of its redundant one if it lost) reached A.
TEST_CASE("CHILD SA rekey collision with one answer delayed past the other end's Delete",
          "[ike_sa][rekey][collision]") {
  int a_won = 0, b_won = 0;
  for (int i = 0; i < 64 && (a_won == 0 || b_won == 0); ++i) {
    ChildCollision p;
    Datagram ra = p.net.Take(), rb = p.net.Take();
    p.net.Deliver(ra);
    p.net.Deliver(rb);
    Datagram ra_answer = p.net.Take(0);
    auto xa = ChildCollision::Read(ra, *p.b1, ra_answer, *p.a1);
    auto xb = ChildCollision::Read(rb, *p.a1, p.net.queue[0], *p.b1);
    uint32_t a_spi_from_b = SpiOf(
        FindPayload<SaPayload>(Inner(p.net.queue[0], *p.b1), PayloadType::kSa)->proposals.at(0));
    bool a_wins = xb.min_nonce < xa.min_nonce;
    (a_wins ? a_won : b_won)++;
    p.net.Pump();  // B decides and deletes; A answers
    p.net.Deliver(ra_answer);
    p.CheckSettled(a_wins ? xa.spi : a_spi_from_b);
  }
  CHECK(a_won > 0);
  CHECK(b_won > 0);
}

// test_collision_delayed_request / _and_delete / _more: B's request reaches A only after A
// finished its rekey, while A's Delete of the old SA is in flight (A answers TEMPORARY_FAILURE;
// B takes A's SA on that answer or on the Delete, whichever comes first) or after it was done
// (CHILD_SA_NOT_FOUND: B must not create another SA then). test_collision_dropped_request is
// the last one with B's request never arriving at all.
TEST_CASE("CHILD SA rekey collision with one request delayed until the other end finished",
          "[ike_sa][rekey][collision]") {
  enum Order { kTempFailFirst, kDeleteFirst, kNotFound, kDropped };
  for (Order order : {kTempFailFirst, kDeleteFirst, kNotFound, kDropped}) {
    CAPTURE(order);
    ChildCollision p;
    Datagram ra = p.net.Take(), rb = p.net.Take();
    p.net.Deliver(ra);  // B: collision, answers
    Datagram ra_answer = p.net.Take();
    auto xa = ChildCollision::Read(ra, *p.b1, ra_answer, *p.a1);
    p.net.Deliver(ra_answer);  // A: no collision seen, deletes the old SA
    REQUIRE(p.net.queue.size() == 1);
    Datagram del = p.net.Take();
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    switch (order) {
      case kTempFailFirst:
        p.net.Deliver(rb);
        CHECK(p.a.log.Has("answering TEMPORARY_FAILURE"));
        p.net.Pump();
        CHECK(p.b.log.Has("received TEMPORARY_FAILURE notify: the peer rekeyed CHILD_SA"));
        p.net.Deliver(del);
        break;
      case kDeleteFirst:
        p.net.Deliver(rb);
        p.net.Deliver(del);
        break;
      case kNotFound:
        p.net.Deliver(del);
        p.net.Pump();
        p.net.Deliver(rb);
        p.net.Pump();
        CHECK(p.a.log.Has("received REKEY_SA for unknown CHILD_SA"));
        CHECK(p.b.log.Has("which the peer deleted before our rekey reached it"));
        break;
      case kDropped:
        p.net.Deliver(del);
        break;
    }
    p.CheckSettled(xa.spi);
    CHECK_FALSE(p.b.log.Has("retrying CHILD_SA rekey"));
    CHECK_FALSE(p.b.log.Has("creating a new one"));
  }
}

// test_collision_delete and test_collision_delete_drop_rekey: A rekeys the CHILD SA while B
// deletes it. The Delete wins: B answers the rekey TEMPORARY_FAILURE (it is deleting the SA)
// or, when A's request comes after the Delete is done, CHILD_SA_NOT_FOUND; A creates nothing.
TEST_CASE("CHILD SA rekey meets the peer's Delete of that CHILD SA", "[ike_sa][rekey][collision]") {
  for (bool request_late : {false, true}) {
    CAPTURE(request_late);
    ChildCollision p(/*b_rekeys=*/false);
    Mutable(p.b1).DeleteChildren(0, true);
    Datagram ra = p.net.Take(), del = p.net.Take();
    if (request_late) {
      p.net.Deliver(del);
      p.net.Pump();
      p.net.Deliver(ra);
    } else {
      p.net.Deliver(ra);
      p.net.Deliver(del);
    }
    p.CheckSettled(0);
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    CHECK(
        p.b.log.Has(request_late ? "answering CHILD_SA_NOT_FOUND" : "answering TEMPORARY_FAILURE"));
    CHECK_FALSE(p.a.log.Has("creating a new one"));
    CHECK_FALSE(p.a.log.Has("retrying CHILD_SA rekey"));
    CHECK(p.a.rec.child_up == p.a.rec.child_down);
    CHECK(p.b.rec.child_up == p.b.rec.child_down);
  }
}

// test_collision_ike_rekey and test_collision_ike_delete: the CHILD rekey meets the peer's IKE
// rekey (TEMPORARY_FAILURE for the IKE rekey, which comes again later) or its IKE Delete.
TEST_CASE("CHILD SA rekey meets the peer's IKE rekey or IKE Delete", "[ike_sa][rekey][collision]") {
  SECTION("IKE rekey") {
    ChildCollision p(/*b_rekeys=*/false);
    Mutable(p.b1).Queue(NewIkeRekeyTask());
    p.net.Pump();
    p.net.Advance(absl::Seconds(45), absl::Seconds(1));
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    CHECK(p.a.log.Has("IKE_SA rekey while our CHILD_REKEY exchange is in flight"));
    REQUIRE(p.a.Only() != nullptr);
    REQUIRE(p.b.Only() != nullptr);
    CHECK(p.a.Only()->unique_id() == 2);  // the IKE rekey came again and went through
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CHECK(OnlyChild(p.a.Only())->spi_in != p.old_a);
    CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
    CHECK(p.a.rec.gaps + p.b.rec.gaps == 0);
  }
  SECTION("IKE Delete") {
    ChildCollision p(/*b_rekeys=*/false);
    Mutable(p.b1).Delete();
    p.net.Pump();
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    CHECK(p.b.log.Has("answering TEMPORARY_FAILURE"));
    CHECK(p.a.mgr->Sas().empty());
    CHECK(p.b.mgr->Sas().empty());
    CHECK(p.a.rec.child_up == p.a.rec.child_down);
  }
}

// A rekey whose request or answer is lost: retransmitted; the responder answers the
// retransmission from its cache, and the old SA goes only once the new one is in on both ends.
TEST_CASE("CHILD SA rekey with its request or its answer lost", "[ike_sa][rekey]") {
  for (bool lose_answer : {false, true}) {
    CAPTURE(lose_answer);
    ChildCollision p(/*b_rekeys=*/false);
    if (lose_answer) p.net.DeliverOne();
    (void)p.net.Take();
    p.net.Advance(absl::Seconds(5));
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    CHECK(p.a.log.Has("retransmit 1 of request with message ID 2"));
    CHECK(p.b.log.Count("rekeyed by the peer") == 1);
    REQUIRE(OnlyChild(p.a1) != nullptr);
    CHECK(OnlyChild(p.a1)->spi_in != p.old_a);
    p.CheckSettled(OnlyChild(p.a1)->spi_in);
  }
}

// test_regular_responder_ignore_soft_expire: while the responder waits for the initiator's
// Delete of the old SA, a soft expiry of that SA starts no rekey of its own.
TEST_CASE("a soft expiry of an SA the peer just rekeyed starts nothing", "[ike_sa][rekey]") {
  ChildCollision p(/*b_rekeys=*/false);
  p.net.DeliverOne();  // B answers, its old SA is rekeyed
  REQUIRE(p.net.queue.size() == 1);
  CHECK(p.b.mgr->RekeyChild(p.old_b));  // found, but nothing to do
  CHECK(p.net.queue.size() == 1);       // only B's answer
  p.net.Pump();
  REQUIRE(OnlyChild(p.a1) != nullptr);
  p.CheckSettled(OnlyChild(p.a1)->spi_in);
  CHECK(p.b.log.Count("rekeying CHILD_SA") == 0);
}

// test_regular_delete_timeout: the peer dies while the Delete of the old SA is out; the old SA
// goes once (on the Delete's timeout), the new one with the IKE SA, each reported down once.
TEST_CASE("a Delete of the rekeyed SA that times out reports each SA down once",
          "[ike_sa][rekey]") {
  ChildCollision p(/*b_rekeys=*/false);
  p.net.DeliverOne();  // B answers
  p.net.DeliverOne();  // A installs the new SA and sends the Delete of the old one
  REQUIRE(p.net.queue.size() == 1);
  p.net.drop = [](const Datagram&) { return true; };  // B is gone
  p.net.Advance(absl::Seconds(200), absl::Seconds(1));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("closing CHILD_SA"));
  std::vector<uint32_t> down = p.a.rec.down_spis;
  std::sort(down.begin(), down.end());
  CHECK(std::adjacent_find(down.begin(), down.end()) == down.end());
  CHECK(p.a.rec.child_down == p.a.rec.child_up);
}
