// Messages nobody authenticated must not change an IKE SA: forged or replayed IKE_SA_INIT
// requests for an SA that exists (RFC 7296 2.1, 2.2: IKE_SA_INIT has message ID 0 and is only
// answered again from the response cache), and requests whose SK payload fails before the
// ICV/tag is checked (2.21.1, 2.21.2: only an authentic message gets an error answer, advances
// the message ID or replaces the cached response).
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

// A bare IKE header (no payload bodies) with `extra` bytes announced after it.
Bytes Header(const IkeSpi& si, const IkeSpi& sr, uint8_t next, uint8_t exchange, uint8_t flags,
             uint32_t mid, size_t extra = 0) {
  Bytes h(si.begin(), si.end());
  h.insert(h.end(), sr.begin(), sr.end());
  h.push_back(next);
  h.push_back(0x20);
  h.push_back(exchange);
  h.push_back(flags);
  for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(mid >> s));
  uint32_t len = static_cast<uint32_t>(28 + extra);
  for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(len >> s));
  return h;
}

Datagram From(const char* src, uint16_t sport, const char* dst, Bytes data) {
  Datagram d;
  d.src = Endpoint{*Address::Parse(src), sport};
  d.dst = Endpoint{*Address::Parse(dst), 500};
  d.data = std::move(data);
  return d;
}

constexpr uint8_t kSaInit = 34, kInformational = 37, kInitiatorFlag = 0x08;

// A and B with an established IKE SA; `b` is B's side of it, `mid` the request ID B expects.
struct Established : Pair {
  const IkeSa* b_sa = nullptr;
  uint32_t mid = 0;
  Established() {
    Up();
    b_sa = b.Only();
    REQUIRE(b_sa != nullptr);
    mid = b_sa->expected_request_id();
  }
  // An INFORMATIONAL request for B's SA with the expected message ID and no payload at all.
  Datagram EmptyRequest() const {
    return From(kA, 500, kB,
                Header(b_sa->spi_i(), b_sa->spi_r(), 0, kInformational, kInitiatorFlag, mid));
  }
};

}  // namespace

TEST_CASE("a forged malformed IKE_SA_INIT request leaves an established SA alone",
          "[ike_sa][security]") {
  Established p;
  const IkeSa* b = p.b_sa;
  uint32_t mid = p.mid;
  // Next payload SA but no body: the body does not decode.
  p.b.mgr->HandleDatagram(
      From(kA, 500, kB, Header(b->spi_i(), IkeSpi{}, 33, kSaInit, kInitiatorFlag, mid)));
  INFO(p.b.log.All());
  REQUIRE(p.b.Only() == b);
  CHECK(p.b.rec.child_down == 0);
  CHECK(p.b.rec.ike_down == 0);
  CHECK(b->expected_request_id() == mid);
}

TEST_CASE("a forged well-formed IKE_SA_INIT request does not move the peer's endpoint",
          "[ike_sa][security]") {
  Established p;
  const IkeSa* b = p.b_sa;
  for (uint32_t mid : {0u, b->expected_request_id()}) {
    p.b.mgr->HandleDatagram(
        From(kA, 31337, kB, Header(b->spi_i(), IkeSpi{}, 0, kSaInit, kInitiatorFlag, mid)));
  }
  INFO(p.b.log.All());
  REQUIRE(p.b.Only() == b);
  CHECK(b->remote().port == 500);
  CHECK(b->local().port == 500);
  CHECK(p.net.queue.empty());  // nothing answered
  // The SA still works.
  REQUIRE(p.a.mgr->RekeyChild(p.a.Only()->children()[0]->spi_in));
  p.net.Pump();
  CHECK(p.b.rec.child_up == 2);
}

TEST_CASE("half-open, a replayed IKE_SA_INIT with message ID 1 does not re-run IKE_SA_INIT",
          "[ike_sa][security]") {
  Pair p;
  Datagram init = p.HalfOpen();  // B has the genuine request
  Datagram forged = init;
  forged.data[23] = 1;  // message ID 1, otherwise byte-identical: no key needed
  p.b.mgr->HandleDatagram(forged);
  p.net.Pump();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.b.log.Count("is initiating an IKE_SA") == 1);
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  CHECK(p.a.Only()->keys.sk_d == p.b.Only()->keys.sk_d);
  p.net.Advance(absl::Seconds(300));
  CHECK_FALSE(p.a.log.Has("giving up after"));
}

TEST_CASE("a retransmitted IKE_SA_INIT of a half-open SA is answered from the cache",
          "[ike_sa][security]") {
  Pair p;
  Datagram init = p.HalfOpen();
  REQUIRE(p.net.queue.size() == 1);
  Datagram first = p.net.queue.front();
  p.net.queue.clear();
  p.b.mgr->HandleDatagram(init);  // A did not hear the answer and sends again
  REQUIRE(p.net.queue.size() == 1);
  CHECK(p.net.queue.front().data == first.data);
  CHECK(p.b.log.Count("is initiating an IKE_SA") == 1);
  CHECK(p.b.mgr->HalfOpenCount() == 1);
}

TEST_CASE("a request without SK payload neither advances the message ID nor poisons the cache",
          "[ike_sa][security]") {
  Established p;
  const IkeSa* b = p.b_sa;
  uint32_t mid = p.mid;
  // A 28-byte INFORMATIONAL request with the expected message ID and no payload at all.
  p.b.mgr->HandleDatagram(p.EmptyRequest());
  CHECK(p.net.queue.empty());  // no INVALID_SYNTAX answer
  CHECK(b->expected_request_id() == mid);
  // A's next real request (a CHILD SA rekey with message ID `mid`) is processed normally.
  uint32_t spi = p.a.Only()->children()[0]->spi_in;
  REQUIRE(p.a.mgr->RekeyChild(spi));
  p.net.Pump();
  p.net.Advance(absl::Seconds(200));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK_FALSE(p.b.log.Has("received retransmit of request with ID"));
  CHECK_FALSE(p.a.log.Has("received unexpected INFORMATIONAL response"));
  CHECK_FALSE(p.a.log.Has("did not answer"));
  CHECK(p.a.rec.ike_down == 0);
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.a.Only()->children().size() == 1);
  CHECK(p.a.Only()->children()[0]->spi_in != spi);
}

TEST_CASE("SK bodies that fail before the ICV check are dropped silently", "[ike_sa][security]") {
  Established p;
  const IkeSa* b = p.b_sa;
  uint32_t mid = p.mid;
  SECTION("SK body too short") {
    Bytes d = Header(b->spi_i(), b->spi_r(), 46, kInformational, kInitiatorFlag, mid, 8);
    Bytes sk = {0, 0, 0, 8, 1, 2, 3, 4};  // generic header (next 0, length 8) + 4 bytes
    d.insert(d.end(), sk.begin(), sk.end());
    p.b.mgr->HandleDatagram(From(kA, 500, kB, d));
  }
  SECTION("ciphertext not whole AES blocks") {
    // IV 16 + 17 bytes + ICV 16 (HMAC-SHA2-256-128).
    size_t body = 16 + 17 + 16;
    Bytes d = Header(b->spi_i(), b->spi_r(), 46, kInformational, kInitiatorFlag, mid, 4 + body);
    d.push_back(0);
    d.push_back(0);
    d.push_back(0);
    d.push_back(static_cast<uint8_t>(4 + body));
    d.insert(d.end(), body, 0xAB);
    p.b.mgr->HandleDatagram(From(kA, 500, kB, d));
  }
  INFO(p.b.log.All());
  CHECK(p.net.queue.empty());
  CHECK(b->expected_request_id() == mid);
  CHECK(p.b.Only() == b);
  CHECK(p.b.log.Has("message dropped"));
}

TEST_CASE("unauthenticated drops are logged once, then rate-limited", "[ike_sa][security]") {
  Established p;
  const IkeSa* b = p.b_sa;
  for (int i = 0; i < 50; ++i) p.b.mgr->HandleDatagram(p.EmptyRequest());
  INFO(p.b.log.All());
  CHECK(p.b.log.Count("message dropped") == 1);
  CHECK(b->unauthenticated_drops() == 50);
  p.net.Advance(DropLogLimiter::kInterval);
  p.b.mgr->HandleDatagram(p.EmptyRequest());
  CHECK(p.b.log.Count("message dropped") == 2);
  CHECK(p.b.log.Has("49 more unauthenticated messages dropped"));
}

TEST_CASE("a header-only request does not abort IKE_AUTH on a half-open SA", "[ike_sa][security]") {
  Pair p;
  p.HalfOpen();
  const IkeSa* b = p.b.mgr->Sas().at(0);
  p.b.mgr->HandleDatagram(
      From(kA, 500, kB, Header(b->spi_i(), b->spi_r(), 0, 35, kInitiatorFlag, 1)));
  p.net.Pump();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
}

TEST_CASE("only a byte-identical retransmission is answered from the response cache",
          "[ike_sa][security]") {
  Established p;
  REQUIRE(p.a.mgr->RekeyChild(p.a.Only()->children()[0]->spi_in));
  p.net.Pump();
  // The rekey ended with A's Delete of the old CHILD SA (INFORMATIONAL): that answer is cached.
  const uint32_t answered = p.b_sa->expected_request_id() - 1;
  // Same message ID and exchange as the cached one, other bytes: anyone could send it.
  p.b.mgr->HandleDatagram(
      From(kA, 500, kB,
           Header(p.b_sa->spi_i(), p.b_sa->spi_r(), 0, kInformational, kInitiatorFlag, answered)));
  INFO(p.b.log.All());
  CHECK(p.net.queue.empty());
  CHECK_FALSE(p.b.log.Has("retransmitting response"));
  CHECK(p.b_sa->unauthenticated_drops() == 1);
}
