// INFORMATIONAL requests that carry only notifications (ike/sa/tasks/informational.cc): the
// responder logs each one, error or status, known or not, and answers with an empty response;
// nothing else about the IKE SA or its CHILD SAs changes. The requests are made up with a
// ProbeTask, as no task of ours sends one.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("a notify-only INFORMATIONAL is logged and answered with an empty response",
          "[ike_sa][informational]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  REQUIRE(OnlyChild(b) != nullptr);
  const uint32_t child = OnlyChild(b)->spi_in;
  std::vector<Payload> notifies = {
      // The peer saw ESP with an SPI it does not know (RFC 7296 1.5).
      MakeNotify(NotifyType::kInvalidSpi, {0xc0, 0x00, 0x00, 0x01}, ProtocolId::kEsp),
      // RFC 4478: re-authenticate within 3600 s.
      MakeNotify(NotifyType::kAuthLifetime, {0x00, 0x00, 0x0e, 0x10}),
      MakeNotify(static_cast<NotifyType>(40000)),
  };
  auto probe = Probe(a, ExchangeType::kInformational, notifies);
  REQUIRE(p.net.queue.size() == 1);
  Datagram request = p.net.queue.front();
  CHECK(HeaderOf(request).message_id == 2);
  CHECK(Inner(request, *b) == notifies);

  p.net.DeliverOne();
  INFO(p.b.log.All());
  CHECK(p.b.log.Has(
      "parsed INFORMATIONAL request 2 [ N(INVALID_SPI) N(AUTH_LIFETIME) N(NOTIFY_40000) ]"));
  CHECK(p.b.log.Count("received INVALID_SPI notify error") == 1);
  CHECK(p.b.log.Count("received AUTH_LIFETIME notify") == 1);
  CHECK_FALSE(p.b.log.Has("received AUTH_LIFETIME notify error"));
  CHECK(p.b.log.Count("received NOTIFY_40000 notify") == 1);
  CHECK(p.b.log.Has("generating INFORMATIONAL response 2 [ ]"));
  REQUIRE(p.net.queue.size() == 1);
  Datagram response = p.net.queue.front();
  CHECK(HeaderOf(response).response);
  CHECK(HeaderOf(response).message_id == 2);
  CHECK(Inner(response, *a).empty());
  CHECK(b->expected_request_id() == 3);

  p.net.DeliverOne();
  CHECK(probe->answered);
  CHECK(probe->response.empty());
  CHECK(a->next_request_id() == 3);
  // Neither an error notify nor an unknown one touches the SAs.
  CHECK(p.a.Only() == a);
  CHECK(p.b.Only() == b);
  REQUIRE(OnlyChild(b) != nullptr);
  CHECK(OnlyChild(b)->spi_in == child);
  CHECK(OnlyChild(b)->state == ChildSa::State::kInstalled);
  CheckMatched(*OnlyChild(a), *OnlyChild(b));
  CHECK(p.a.rec.child_down + p.b.rec.child_down == 0);
  CHECK(p.a.rec.ike_down + p.b.rec.ike_down == 0);
}

TEST_CASE("the original responder's notify-only INFORMATIONAL is answered the same way",
          "[ike_sa][informational]") {
  Pair p;
  p.Up();
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  auto probe = Probe(b, ExchangeType::kInformational,
                     {MakeNotify(NotifyType::kAuthLifetime, {0x00, 0x00, 0x0e, 0x10})});
  p.net.Pump();
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("parsed INFORMATIONAL request 0 [ N(AUTH_LIFETIME) ]"));
  CHECK(p.a.log.Count("received AUTH_LIFETIME notify") == 1);
  CHECK(p.a.log.Has("generating INFORMATIONAL response 0 [ ]"));
  CHECK(probe->answered);
  CHECK(probe->response.empty());
  CHECK(b->next_request_id() == 1);
  CHECK(a->expected_request_id() == 1);
  CHECK(p.a.Only() == a);
  CHECK(p.b.Only() == b);
}
