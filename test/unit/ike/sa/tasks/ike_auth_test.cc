// IKE_AUTH (ike/sa/tasks/ike_auth.cc): the exchange that establishes the IKE SA with its first
// CHILD SA, and AUTHENTICATION_FAILED saying which part did not match. Choosing the peer config
// by identity is in ../ike_sa_identity_test.cc.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("IKE_SA_INIT and IKE_AUTH establish the IKE SA and the first CHILD SA", "[ike_sa]") {
  Pair p;
  p.Up();
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->original_initiator());
  CHECK_FALSE(b->original_initiator());
  CHECK(a->spi_i() == b->spi_i());
  CHECK(a->spi_r() == b->spi_r());
  CHECK(a->keys.sk_d == b->keys.sk_d);
  // Two exchanges: message IDs 0 and 1 used on A's side, expected next on B's.
  CHECK(a->next_request_id() == 2);
  CHECK(b->expected_request_id() == 2);
  CHECK(b->next_request_id() == 0);
  REQUIRE(OnlyChild(a) != nullptr);
  REQUIRE(OnlyChild(b) != nullptr);
  CheckMatched(*OnlyChild(a), *OnlyChild(b));
  CHECK(OnlyChild(a)->suite.pfs == DhGroup::kNone);  // no KE in IKE_AUTH
  CHECK_FALSE(OnlyChild(a)->encap);
  CHECK(p.a.rec.child_up == 1);
  CHECK(p.b.rec.child_up == 1);
  CHECK(
      p.a.log.Has("IKE_SA_INIT request 0 [ SA KE No N(NAT_DETECTION_SOURCE_IP) "
                  "N(NAT_DETECTION_DESTINATION_IP) ]"));
  CHECK(p.a.log.Has("IKE_AUTH request 1 [ IDi N(INITIAL_CONTACT) IDr AUTH SA TSi TSr"));
  CHECK(p.a.log.Has("N(ESP_TFC_PADDING_NOT_SUPPORTED)"));
  CHECK(
      p.b.log.Has("IKE_SA peer-192.0.2.1[1] established between 192.0.2.2[192.0.2.2]..."
                  "192.0.2.1[192.0.2.1]"));
  CHECK(p.a.log.Has("CHILD_SA peer-192.0.2.2-tunnel-1{1} established with SPIs"));
  CHECK(p.a.log.Has("TS 10.1.0.0/24 === 10.2.0.0/24"));
  CHECK(
      p.b.log.Has("selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/"
                  "CURVE_25519"));
}

TEST_CASE("AUTHENTICATION_FAILED says whether the PSK, the id or the remote-id differ",
          "[ike_sa][fail]") {
  Pair p;
  SECTION("PSK") {
    p.cb->psk = SharedSecret("another-secret");
    p.Up();
    CHECK(p.b.log.Count("AUTHENTICATION_FAILED: AUTH payload of '192.0.2.1' does not verify with "
                        "the pre-shared-secret of peer-192.0.2.1") == 1);
    CHECK(p.b.log.Has("pre-shared-secret mismatch"));
    CHECK(p.a.log.Count("received AUTHENTICATION_FAILED notify error: the peer rejected our "
                        "authentication as '192.0.2.1'") == 1);
  }
  SECTION("remote-id (the peer's ID is not what we expect)") {
    p.cb->remote_id = IdFromText("198.51.100.7");
    p.cb->remote_id_text = "198.51.100.7";
    p.Up();
    CHECK(p.b.log.Count("AUTHENTICATION_FAILED: peer identified as '192.0.2.1' (ID_IPV4_ADDR) "
                        "but remote-id of peer-192.0.2.1 is '198.51.100.7' (remote-id "
                        "mismatch)") == 1);
  }
  SECTION("id (the peer expects another ID of us)") {
    p.ca->remote_id = IdFromText("@east.example.com");
    p.ca->remote_id_text = "east.example.com";
    p.Up();
    CHECK(p.b.log.Count("AUTHENTICATION_FAILED: the peer expects us to be 'east.example.com' "
                        "(ID_FQDN) but our id is '192.0.2.2'") == 1);
  }
  SECTION("the initiator checks the responder too") {
    p.ca->remote_id = IdFromText("198.51.100.8");
    p.ca->remote_id_text = "198.51.100.8";
    p.cb->local_id = IdFromText("198.51.100.8");
    p.cb->local_id_text = "198.51.100.8";
    p.ca->psk = SharedSecret("initiators-own");
    p.cb->psk = SharedSecret("responders-own");
    p.Up();
    CHECK(p.b.log.Has("pre-shared-secret mismatch"));
  }
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.b.mgr->Sas().empty());
  CHECK(p.a.rec.child_up == 0);
}
