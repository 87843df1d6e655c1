// Rekeys racing each other on random schedules: CHILD SA and IKE SA rekeys started by either
// end at random moments, their messages delivered in random order, held back while time
// passes (retransmissions), and some lost. Whatever happens, both ends must settle on the same
// IKE SA and the same CHILD SA, and no removal may ever leave an end without an SA for the
// tunnel (the installer's view, Recorder::gaps). The fixed scenarios are in
// tasks/child_rekey_test.cc and tasks/ike_rekey_test.cc; these look for the ones nobody drew.
#include <catch2/catch.hpp>

#include <random>

#include "absl/strings/str_join.h"

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

// The IKE SA carrying the node's CHILD SA (not an undecided or rekeyed one).
const IkeSa* Carrier(const Node& n) {
  for (const IkeSa* sa : n.mgr->Sas()) {
    if (sa->state() == IkeSa::State::kEstablished && !sa->undecided && !sa->children().empty()) {
      return sa;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("random races of CHILD and IKE rekeys with messages reordered, delayed and lost",
          "[ike_sa][collision][race]") {
  int collisions = 0;
  for (uint32_t seed = 1; seed <= 1000; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    Pair p;
    p.Up();
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    int drops = 0;
    for (int step = 0; step < 40; ++step) {
      uint32_t r = rng() % 100;
      Node& n = (rng() % 2) ? p.a : p.b;
      const IkeSa* sa = Carrier(n);
      if (r < 8) {
        if (sa != nullptr) Mutable(sa).Queue(NewIkeRekeyTask());
      } else if (r < 22) {
        if (sa != nullptr) n.mgr->RekeyChild(sa->children().front()->spi_in);
      } else if (r < 80) {
        if (!p.net.queue.empty()) p.net.Deliver(p.net.Take(rng() % p.net.queue.size()));
      } else if (r < 85) {
        if (!p.net.queue.empty() && drops < 3) {
          (void)p.net.Take(rng() % p.net.queue.size());
          ++drops;
        }
      } else {
        // Time passes with everything still in flight: retransmissions join the queue.
        p.net.now += absl::Seconds(1 + rng() % 5);
        for (auto& [addr, node] : p.net.nodes) node->mgr->Tick();
      }
    }
    p.net.Pump();
    p.net.Advance(absl::Seconds(300), absl::Seconds(1));
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    collisions += p.a.log.Has("collision") || p.b.log.Has("collision");
    REQUIRE(p.a.mgr->Sas().size() == 1);
    REQUIRE(p.b.mgr->Sas().size() == 1);
    const IkeSa* a = p.a.mgr->Sas()[0];
    const IkeSa* b = p.b.mgr->Sas()[0];
    CHECK(a->state() == IkeSa::State::kEstablished);
    CHECK_FALSE(a->undecided);
    CHECK(a->spi_i() == b->spi_i());
    CHECK(a->spi_r() == b->spi_r());
    CHECK(a->keys.sk_d == b->keys.sk_d);
    REQUIRE(OnlyChild(a) != nullptr);
    REQUIRE(OnlyChild(b) != nullptr);
    CHECK(OnlyChild(a)->state == ChildSa::State::kInstalled);
    CHECK(OnlyChild(b)->state == ChildSa::State::kInstalled);
    CheckMatched(*OnlyChild(a), *OnlyChild(b));
    CHECK(p.a.rec.gaps == 0);
    INFO(absl::StrJoin(p.unsendable_at, "\n"));
    CHECK(p.unsendable == 0);
    CHECK(p.b.rec.gaps == 0);
    CHECK(p.a.rec.child_up == p.a.rec.child_down + 1);
    CHECK(p.b.rec.child_up == p.b.rec.child_down + 1);
  }
  // The schedules do make the ends collide.
  CHECK(collisions > 50);
}
