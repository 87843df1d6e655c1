// CREATE_CHILD_SA for a new CHILD SA (ike/sa/tasks/child_create.cc): one per further tunnel,
// made again after a tunnel reset, and always in tunnel mode.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("CREATE_CHILD_SA for further tunnels, deleting CHILD SAs and the IKE SA",
          "[ike_sa][child]") {
  Pair p;
  ChildConfig t2 = p.ca->children[0];
  t2.name = "peer-192.0.2.2-tunnel-2";
  t2.tunnel_id = 2;
  t2.local_ts = {Ts("10.1.1.0/24")};
  t2.remote_ts = {Ts("10.2.1.0/24")};
  p.ca->children.push_back(t2);
  ChildConfig u2 = p.cb->children[0];
  u2.name = "peer-192.0.2.1-tunnel-2";
  u2.tunnel_id = 2;
  u2.local_ts = {Ts("10.2.1.0/24")};
  u2.remote_ts = {Ts("10.1.1.0/24")};
  p.cb->children.push_back(u2);
  p.Up();
  INFO(p.a.log.All() << p.b.log.All());
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.a.Only()->children().size() == 2);
  CHECK(p.b.Only()->children().size() == 2);
  CHECK(p.a.log.Has("CREATE_CHILD_SA request 2 [ SA No KE TSi TSr"));
  CHECK(p.b.log.Has("TS 10.2.1.0/24 === 10.1.1.0/24"));

  SECTION("reset of one tunnel deletes and re-creates only its CHILD SA") {
    REQUIRE(p.a.mgr->Reset(kB, 2u).ok());
    p.net.Pump();
    CHECK(p.a.Only()->children().size() == 2);
    CHECK(p.b.Only()->children().size() == 2);
    CHECK(p.a.rec.child_down == 1);
    CHECK(p.b.log.Has("received DELETE for ESP CHILD_SA with SPI"));
  }
  SECTION("reset of the peer deletes the IKE SA and initiates a new one") {
    REQUIRE(p.a.mgr->Reset(kB, std::nullopt).ok());
    p.net.Pump();
    CHECK(p.b.log.Has("received DELETE for IKE_SA peer-192.0.2.1[1]"));
    CHECK(p.a.rec.child_down == 2);
    CHECK(p.b.rec.child_down == 2);
    p.net.Tick();
    REQUIRE(p.a.Only() != nullptr);
    CHECK(p.a.Only()->unique_id() == 2);
    CHECK(p.a.Only()->children().size() == 2);
  }
  SECTION("a reset of an unknown tunnel is an error") {
    CHECK(p.a.mgr->Reset(kB, 9u).code() == absl::StatusCode::kNotFound);
    CHECK(p.a.mgr->Reset("203.0.113.9", std::nullopt).code() == absl::StatusCode::kNotFound);
  }
}

TEST_CASE("USE_TRANSPORT_MODE is refused: the CHILD SA is made in tunnel mode", "[ike_sa][child]") {
  Pair p;
  p.ca->children[0].pfs = DhGroup::kNone;
  p.cb->children[0].pfs = DhGroup::kNone;
  p.Up();
  const IkeSa* a = p.a.Only();
  REQUIRE(a != nullptr);
  auto ciphers = MakeSkCiphers(a->suite, a->keys, Role::kInitiator);
  REQUIRE(ciphers.ok());
  IkeHeader h;
  h.spi_i = a->spi_i();
  h.spi_r = a->spi_r();
  h.exchange = ExchangeType::kCreateChildSa;
  h.initiator = true;
  h.message_id = a->next_request_id();
  Proposal esp = EspProp(EncrId::kAesGcm16, 128);
  esp.spi = {0xc1, 0x02, 0x03, 0x04};
  std::vector<Payload> req = {
      MakeNotify(NotifyType::kUseTransportMode),
      Payload{PayloadType::kSa, SaPayload{{esp}}},
      Payload{PayloadType::kNonce, NoncePayload{Bytes(32, 0x5a)}},
      Payload{PayloadType::kTsi, TsPayload{{Ts("10.1.0.0/24")}}},
      Payload{PayloadType::kTsr, TsPayload{{Ts("10.2.0.0/24")}}},
  };
  auto wire = SealMessage(ciphers->outbound, h, req);
  REQUIRE(wire.ok());
  Datagram d;
  d.src = a->local();
  d.dst = a->remote();
  d.data = *wire;
  p.net.queue.push_back(d);
  p.net.Pump();
  INFO(p.b.log.All());
  CHECK(
      p.b.log.Has("peer requested transport mode (USE_TRANSPORT_MODE): refused, only tunnel "
                  "mode is supported"));
  CHECK(
      p.b.log.Has("generating CREATE_CHILD_SA response 2 [ SA No TSi TSr "
                  "N(ESP_TFC_PADDING_NOT_SUPPORTED) ]"));
  CHECK(p.b.Only()->children().size() == 2);
}

TEST_CASE("a peer cannot make CHILD SAs without end: NO_ADDITIONAL_SAS beyond the limit",
          "[ike_sa][child][dos]") {
  Pair p;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  // The same tunnel over and over: each request alone is acceptable.
  for (int i = 0; i < 20; ++i) Mutable(p.a.Only()).CreateChild(p.ca->children[0]);
  p.net.Pump();
  INFO(p.b.log.All());
  const IkeSa* b = p.b.Only();
  REQUIRE(b != nullptr);
  CHECK(b->ChildSaLimit() == IkeSa::kMinChildSaLimit);
  CHECK(b->children().size() == IkeSa::kMinChildSaLimit);
  CHECK(p.b.mgr->counter(IkeCounter::kChildSaRefused) == 21 - IkeSa::kMinChildSaLimit);
  CHECK(p.b.log.Count("NO_ADDITIONAL_SAS: the peer already has 16 CHILD_SAs on this IKE_SA") == 1);
  CHECK(p.a.log.Has("NO_ADDITIONAL_SAS"));
  // The IKE SA stays up, and its CHILD SAs with it.
  CHECK(p.a.Only() != nullptr);
  CHECK(p.b.rec.child_down == 0);
  // Logged again once the interval is over, with how many went unlogged.
  p.net.Advance(DropLogLimiter::kInterval);
  Mutable(p.a.Only()).CreateChild(p.ca->children[0]);
  p.net.Pump();
  CHECK(p.b.log.Has("(4 more CHILD_SA requests refused since the last report)"));
}
