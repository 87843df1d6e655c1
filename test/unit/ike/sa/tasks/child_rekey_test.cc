// CHILD SA rekeying (ike/sa/tasks/child_rekey.cc): with and without PFS, started by either end,
// a PFS mismatch, the collision of two rekeys, and (step by step, as strongSwan's
// test_child_rekey.c) the states of the old and new SAs on both ends after each message.
#include <catch2/catch.hpp>

#include "absl/strings/str_format.h"
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
