// The CHILD SA half shared by IKE_AUTH, CREATE_CHILD_SA and CHILD SA rekeys
// (ike/sa/tasks/child_negotiation.cc): the responder narrows the selectors, and refuses with
// TS_UNACCEPTABLE or NO_PROPOSAL_CHOSEN, logging both sides' values, without taking the IKE SA
// down.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("the responder narrows the initiator's selectors; route-based 0/0 accepts narrowing",
          "[ike_sa]") {
  SECTION("policy-based: responder allows less than proposed") {
    Pair p;
    p.ca->children[0].local_ts = {Ts("10.1.0.0/16")};
    p.ca->children[0].remote_ts = {Ts("10.2.0.0/16")};
    p.cb->children[0].local_ts = {Ts("10.2.5.0/24")};
    p.cb->children[0].remote_ts = {Ts("10.1.7.0/24")};
    p.Up();
    INFO(p.b.log.All());
    const ChildSa* a = OnlyChild(p.a.Only());
    REQUIRE(a != nullptr);
    CHECK(TsListToString(a->local_ts) == "10.1.7.0/24");
    CHECK(TsListToString(a->remote_ts) == "10.2.5.0/24");
    CheckMatched(*a, *OnlyChild(p.b.Only()));
  }
  SECTION("route-based: 0.0.0.0/0 === 0.0.0.0/0 against a peer with specific selectors") {
    Pair p;
    p.ca->children[0].local_ts = {TsAny()};
    p.ca->children[0].remote_ts = {TsAny()};
    p.ca->children[0].vti = true;
    p.ca->children[0].name = "peer-192.0.2.2-tunnel-vti";
    p.Up();
    const ChildSa* a = OnlyChild(p.a.Only());
    REQUIRE(a != nullptr);
    CHECK(a->vti);
    CHECK(TsListToString(a->local_ts) == "10.1.0.0/24");
    CHECK(TsListToString(a->remote_ts) == "10.2.0.0/24");
  }
}

TEST_CASE("TS_UNACCEPTABLE shows both selector sets; the IKE SA stays up", "[ike_sa][fail]") {
  Pair p;
  p.cb->children[0].remote_ts = {Ts("172.16.0.0/24")};
  p.Up();
  INFO(p.b.log.All());
  CHECK(p.b.log.Count("TS_UNACCEPTABLE: traffic selectors unacceptable: received TSi "
                      "10.1.0.0/24 TSr 10.2.0.0/24; configured peer-192.0.2.1-tunnel-1: local "
                      "10.2.0.0/24 remote 172.16.0.0/24") == 1);
  CHECK(p.a.log.Count("received TS_UNACCEPTABLE notify error: the peer accepted none of our "
                      "traffic selectors for peer-192.0.2.2-tunnel-1: TSi 10.1.0.0/24 TSr "
                      "10.2.0.0/24") == 1);
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.a.Only()->children().empty());
}

TEST_CASE("NO_PROPOSAL_CHOSEN for the CHILD SA in IKE_AUTH shows both ESP lists",
          "[ike_sa][fail]") {
  Pair p;
  p.cb->children[0].esp_proposals = {EspProp(EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128)};
  p.Up();
  CHECK(p.b.log.Count("NO_PROPOSAL_CHOSEN: no acceptable ESP proposal for "
                      "peer-192.0.2.1-tunnel-1; received proposals: ESP:AES_GCM_16_128; "
                      "configured proposals: ESP:AES_CBC_256/HMAC_SHA2_256_128") == 1);
  CHECK(
      p.a.log.Has("received NO_PROPOSAL_CHOSEN notify error: the peer accepted none of our ESP "
                  "proposals for peer-192.0.2.2-tunnel-1; configured proposals: "
                  "ESP:AES_GCM_16_128"));
  CHECK(p.a.Only() != nullptr);
}
