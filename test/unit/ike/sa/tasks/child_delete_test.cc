// INFORMATIONAL Delete of CHILD SAs (ike/sa/tasks/child_delete.cc): the request names our
// inbound SPIs, the peer removes the SAs it sends with on them and answers with its own inbound
// SPIs, and only then do we remove ours. Step by step, both ends' CHILD SAs after each message.
#include <catch2/catch.hpp>

#include "absl/strings/str_format.h"
#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

// Up with two tunnels: 1 (10.1.0.0/24 === 10.2.0.0/24) and 2 (10.1.1.0/24 === 10.2.1.0/24).
struct TwoTunnels : Pair {
  TwoTunnels() {
    ChildConfig t2 = ca->children[0];
    t2.name = "peer-192.0.2.2-tunnel-2";
    t2.tunnel_id = 2;
    t2.local_ts = {Ts("10.1.1.0/24")};
    t2.remote_ts = {Ts("10.2.1.0/24")};
    ca->children.push_back(t2);
    ChildConfig u2 = cb->children[0];
    u2.name = "peer-192.0.2.1-tunnel-2";
    u2.tunnel_id = 2;
    u2.local_ts = {Ts("10.2.1.0/24")};
    u2.remote_ts = {Ts("10.1.1.0/24")};
    cb->children.push_back(u2);
    Up();
    REQUIRE(a.Only() != nullptr);
    REQUIRE(b.Only() != nullptr);
    REQUIRE(a.Only()->children().size() == 2);
    REQUIRE(b.Only()->children().size() == 2);
  }
  // The CHILD SA of `tunnel` on `sa`.
  static const ChildSa* Tunnel(const IkeSa* sa, uint32_t tunnel) {
    for (const auto& c : sa->children()) {
      if (c->tunnel_id == tunnel) return c.get();
    }
    return nullptr;
  }
};

}  // namespace

TEST_CASE("CHILD SA delete step by step: only the named SA goes, the peer answers with its SPI",
          "[ike_sa][child_delete]") {
  TwoTunnels p;
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  const uint32_t a1 = TwoTunnels::Tunnel(a, 1)->spi_in, b1 = TwoTunnels::Tunnel(b, 1)->spi_in;
  const uint32_t a2 = TwoTunnels::Tunnel(a, 2)->spi_in, b2 = TwoTunnels::Tunnel(b, 2)->spi_in;
  REQUIRE(TwoTunnels::Tunnel(b, 2)->spi_out == a2);

  Mutable(a).DeleteChildren(2, /*all=*/false);
  REQUIRE(p.net.queue.size() == 1);
  Datagram request = p.net.queue.front();
  CHECK(HeaderOf(request).exchange == ExchangeType::kInformational);
  CHECK(Inner(request, *b) == std::vector<Payload>{EspDelete({a2})});
  CHECK(TwoTunnels::Tunnel(a, 2)->state == ChildSa::State::kDeleting);
  CHECK(TwoTunnels::Tunnel(a, 1)->state == ChildSa::State::kInstalled);
  CHECK(p.a.log.Has(absl::StrFormat("sending DELETE for ESP CHILD_SA with SPI %08x", a2)));

  // B removes the SA it sent with on a2 (its own b2) and names b2 in the answer.
  p.net.DeliverOne();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Has(absl::StrFormat("received DELETE for ESP CHILD_SA with SPI %08x", a2)));
  REQUIRE(b->children().size() == 1);
  CHECK(b->children()[0]->spi_in == b1);
  CHECK(p.b.rec.down_spis == std::vector<uint32_t>{b2});
  REQUIRE(p.net.queue.size() == 1);
  Datagram response = p.net.queue.front();
  CHECK(HeaderOf(response).response);
  CHECK(Inner(response, *a) == std::vector<Payload>{EspDelete({b2})});
  // A keeps its half until the answer is in.
  CHECK(a->children().size() == 2);
  CHECK(p.a.rec.child_down == 0);

  p.net.DeliverOne();
  REQUIRE(a->children().size() == 1);
  CHECK(a->children()[0]->spi_in == a1);
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{a2});
  CheckMatched(*TwoTunnels::Tunnel(a, 1), *TwoTunnels::Tunnel(b, 1));
  CHECK(p.a.Only() == a);
  CHECK(p.b.Only() == b);
  CHECK(a->next_request_id() == b->expected_request_id());
}

TEST_CASE("one Delete for all CHILD SAs lists every SPI, and so does the answer",
          "[ike_sa][child_delete]") {
  TwoTunnels p;
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  const uint32_t a1 = TwoTunnels::Tunnel(a, 1)->spi_in, b1 = TwoTunnels::Tunnel(b, 1)->spi_in;
  const uint32_t a2 = TwoTunnels::Tunnel(a, 2)->spi_in, b2 = TwoTunnels::Tunnel(b, 2)->spi_in;
  Mutable(a).DeleteChildren(0, /*all=*/true);
  REQUIRE(p.net.queue.size() == 1);
  CHECK(Inner(p.net.queue.front(), *b) == std::vector<Payload>{EspDelete({a1, a2})});
  p.net.DeliverOne();
  REQUIRE(p.net.queue.size() == 1);
  CHECK(Inner(p.net.queue.front(), *a) == std::vector<Payload>{EspDelete({b1, b2})});
  p.net.DeliverOne();
  CHECK(a->children().empty());
  CHECK(b->children().empty());
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{a1, a2});
  CHECK(p.b.rec.down_spis == std::vector<uint32_t>{b1, b2});
  // A childless IKE SA stays up.
  CHECK(p.a.Only() == a);
  CHECK(p.b.Only() == b);
}

TEST_CASE("a Delete for an SPI nobody has is logged and answered without a Delete payload",
          "[ike_sa][child_delete]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(OnlyChild(b) != nullptr);
  const uint32_t child = OnlyChild(b)->spi_in;
  auto probe = Probe(a, ExchangeType::kInformational, {EspDelete({0xc0ffee00})});
  p.net.Pump();
  INFO(p.b.log.All());
  CHECK(p.b.log.Has("received DELETE for unknown ESP CHILD_SA with SPI c0ffee00"));
  CHECK(p.b.log.Has("generating INFORMATIONAL response 2 [ ]"));
  CHECK(probe->answered);
  CHECK(probe->response.empty());
  REQUIRE(OnlyChild(b) != nullptr);
  CHECK(OnlyChild(b)->spi_in == child);
  CHECK(p.b.rec.child_down == 0);
}

TEST_CASE("crossing Deletes of one CHILD SA: each end removes it on the other's request, once",
          "[ike_sa][child_delete]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(OnlyChild(a) != nullptr);
  const uint32_t ai = OnlyChild(a)->spi_in, bi = OnlyChild(b)->spi_in;
  Mutable(a).DeleteChildren(1, false);
  Mutable(b).DeleteChildren(1, false);
  REQUIRE(p.net.queue.size() == 2);  // the two requests cross
  // RFC 7296 1.4.1: a Delete for SAs we are deleting ourselves removes them at once; our own
  // exchange must not wait for its answer to do it.
  p.net.DeliverOne();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(b->children().empty());
  CHECK(p.b.rec.down_spis == std::vector<uint32_t>{bi});
  p.net.DeliverOne();
  CHECK(a->children().empty());
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{ai});
  // The answers change nothing more: each end reported its SA down once.
  p.net.Pump();
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{ai});
  CHECK(p.b.rec.down_spis == std::vector<uint32_t>{bi});
  CHECK_FALSE(a->retransmit_state().active);
  CHECK_FALSE(b->retransmit_state().active);
  CHECK(p.a.Only() == a);
  CHECK(p.b.Only() == b);
}

// RFC 7296 1.4.1: when both ends send a Delete for the same SAs and the requests cross, each
// removes the SAs while answering the other's request, and the responses MUST NOT include Delete
// payloads for them.
TEST_CASE("crossing Deletes of one CHILD SA are answered without a Delete payload",
          "[ike_sa][child_delete]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(OnlyChild(a) != nullptr);
  Mutable(a).DeleteChildren(1, false);
  Mutable(b).DeleteChildren(1, false);
  REQUIRE(p.net.queue.size() == 2);
  p.net.DeliverOne();  // A's request reaches B, which is deleting the SA itself
  p.net.DeliverOne();  // and B's reaches A
  REQUIRE(p.net.queue.size() == 2);
  const Datagram from_b = p.net.queue[0];
  const Datagram from_a = p.net.queue[1];
  REQUIRE(HeaderOf(from_b).response);
  REQUIRE(HeaderOf(from_a).response);
  CHECK(Inner(from_b, *a).empty());
  CHECK(Inner(from_a, *b).empty());
}
