// What IkeSa (ike/sa/ike_sa.cc) does around every exchange, between two in-process SA
// managers over a test network: retransmission with a fake clock, message IDs and the response
// cache, the half-open timeout, the debug key log, and the answer to an authentic request it
// cannot parse. The exchanges themselves are tested per task in tasks/.
#include <cstdio>

#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("a lost request is retransmitted with exponential back-off", "[ike_sa][retransmit]") {
  Pair p;
  int dropped = 0;
  p.net.drop = [&](const Datagram& d) {
    return d.src.address.ToString() == kA && dropped++ < 2;  // IKE_SA_INIT lost twice
  };
  p.Up();
  CHECK(p.a.Only() == nullptr);
  p.net.Advance(absl::Seconds(3.5));
  CHECK_FALSE(p.a.log.Has("retransmit 1 of request with message ID 0"));
  p.net.Advance(absl::Seconds(1));  // 4.0 s: first retransmit (lost too)
  CHECK(p.a.log.Has("retransmit 1 of request with message ID 0"));
  CHECK(p.a.Only() == nullptr);
  p.net.Advance(absl::Seconds(6.5));  // 4.0 * 1.8 = 7.2 s after the first: second retransmit
  CHECK_FALSE(p.a.log.Has("retransmit 2 of request"));
  p.net.Advance(absl::Seconds(0.5));
  CHECK(p.a.log.Has("retransmit 2 of request with message ID 0"));
  INFO(p.a.log.All());
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

TEST_CASE("retransmissions run out: the SA is destroyed and re-initiated later",
          "[ike_sa][retransmit]") {
  ManagerOptions o = Net::Defaults();
  o.retransmit.tries = 2;
  o.retransmit.timeout = 1.0;
  o.retransmit.base = 2.0;
  Pair p(o, o);
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kA; };
  p.Up();
  p.net.Advance(absl::Seconds(7.5));  // 1 + 2 + 4 s
  CHECK(p.a.log.Has("retransmit 2 of request with message ID 0"));
  CHECK(p.a.log.Has("giving up after 2 retransmits"));
  CHECK(p.a.log.Has("establishing IKE_SA failed, peer not responding"));
  CHECK(p.a.mgr->Sas().empty());
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(13));  // reinitiate_delay, +25% jitter at most
  CHECK(p.a.log.Count("initiating IKE_SA peer-192.0.2.2") == 2);
  CHECK(p.a.Only() != nullptr);
}

TEST_CASE("a retransmitted request gets the cached response, not a second exchange",
          "[ike_sa][msgid]") {
  Pair p;
  int responses = 0;
  p.net.drop = [&](const Datagram& d) {
    // Lose B's first IKE_AUTH response.
    return d.src.address.ToString() == kB && d.data.size() > 28 && d.data[18] == 35 &&
           responses++ == 0;
  };
  p.Up();
  CHECK(p.a.Only() == nullptr);
  CHECK(p.b.Only() != nullptr);
  p.net.Advance(absl::Seconds(4.5));
  INFO(p.b.log.All());
  CHECK(p.b.log.Has("received retransmit of request with ID 1, retransmitting response"));
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.b.rec.child_up == 1);  // processed once
  CHECK(p.b.Only()->expected_request_id() == 2);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

TEST_CASE("a request with an unexpected message ID is ignored", "[ike_sa][msgid]") {
  Pair p;
  p.Up();
  REQUIRE(p.b.Only() != nullptr);
  // Replay A's IKE_SA_INIT-era... the IKE_AUTH request (ID 1) is cached; a replay of an older
  // datagram with ID 0 under the SK keys is not: send the DPD with a forged ID.
  Datagram replay = LastSent(p.net, kA, 35);
  REQUIRE_FALSE(replay.data.empty());
  replay.data[23] = 7;  // message ID 7: the ICV no longer matches either, it must be ignored
  p.net.queue.push_back(replay);
  p.net.Pump();
  CHECK(
      p.b.log.Has("received request with message ID 7, expected 2: ignored (INVALID_MESSAGE_ID)"));
  CHECK(p.b.Only() != nullptr);
}

TEST_CASE("the debug key log has charon's level-4 lines; the normal log never has keys",
          "[ike_sa][keylog]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  REQUIRE(a != nullptr);
  CHECK(p.a.keylog.Has("Sk_ei secret => 32 bytes"));
  CHECK(p.a.keylog.Has("encryption initiator key => 20 bytes"));
  CHECK(p.a.keylog.Has("adding inbound ESP SA"));
  char spi[64];
  std::snprintf(spi, sizeof spi, "SPI 0x%08x, src 192.0.2.2 dst 192.0.2.1", OnlyChild(a)->spi_in);
  CHECK(p.a.keylog.Has(spi));
  for (const std::string& l : p.a.log.lines) {
    CHECK_FALSE(absl::StrContains(l, "secret =>"));
    CHECK_FALSE(absl::StrContains(l, "key =>"));
  }
}

TEST_CASE("a half-open responder SA is dropped after half-open-timeout", "[ike_sa][half_open]") {
  ManagerOptions ob = Net::Defaults();
  ob.half_open_timeout = 15;
  Pair p(Net::Defaults(), ob);
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.Up();
  CHECK(p.b.mgr->HalfOpenCount() == 1);
  p.a.mgr->SetPeers({});  // the initiator goes away
  p.net.Advance(absl::Seconds(16));
  CHECK(p.b.log.Has("half-open IKE_SA timed out (half-open-timeout)"));
  CHECK(p.b.mgr->HalfOpenCount() == 0);
}

TEST_CASE(
    "an authentic request with an unknown critical payload is answered "
    "UNSUPPORTED_CRITICAL_PAYLOAD; a forged one is dropped",
    "[ike_sa][fail]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  REQUIRE(a != nullptr);
  auto ciphers = MakeSkCiphers(a->suite, a->keys, Role::kInitiator);
  REQUIRE(ciphers.ok());
  Message outer;
  outer.header.spi_i = a->spi_i();
  outer.header.spi_r = a->spi_r();
  outer.header.exchange = ExchangeType::kInformational;
  outer.header.initiator = true;
  outer.header.message_id = a->next_request_id();
  // Payload type 60, critical, empty body.
  const uint8_t inner[] = {0x00, 0x80, 0x00, 0x04};
  auto wire = ciphers->outbound.Seal(outer, static_cast<PayloadType>(60), inner);
  REQUIRE(wire.ok());
  Datagram d;
  d.src = a->local();
  d.dst = a->remote();
  d.data = *wire;
  p.net.queue.push_back(d);
  p.net.Pump();
  INFO(p.b.log.All());
  CHECK(p.b.log.Has("(UNSUPPORTED_CRITICAL_PAYLOAD), answering with it"));
  CHECK(p.b.log.Has("generating INFORMATIONAL response 2 [ N(UNSUPPORTED_CRITICAL_PAYLOAD) ]"));
  CHECK(p.b.Only()->expected_request_id() == 3);
  // The same bytes with a broken ICV: dropped without an answer.
  d.data.back() ^= 1;
  d.data[23] = 3;  // message ID 3
  p.net.queue.push_back(d);
  p.net.Pump();
  CHECK(p.b.log.Has("integrity check of INFORMATIONAL request 3 failed, message dropped"));
  CHECK(p.b.Only()->expected_request_id() == 3);
}
