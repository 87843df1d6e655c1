// IKE_SA_INIT (ike/sa/tasks/ike_init.cc) between two SA managers: the proposal choice and its
// failure logged with both lists, the INVALID_KE_PAYLOAD retry, NAT detection with the float to
// 4500, and force-udp-encapsulation's faked NAT.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

TEST_CASE("INVALID_KE_PAYLOAD: the initiator retries with the group the responder asks for",
          "[ike_sa][invalid_ke]") {
  Pair p;
  p.ca->ike_proposals = {IkeProp(EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128,
                                 PrfId::kHmacSha2_256, DhGroup::kModp2048),
                         IkeProp(EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128,
                                 PrfId::kHmacSha2_256, DhGroup::kEcp256)};
  p.cb->ike_proposals = {p.ca->ike_proposals[1]};
  p.Up();
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(p.b.log.Has("DH group MODP_2048 unacceptable, requesting ECP_256 (INVALID_KE_PAYLOAD)"));
  CHECK(p.a.log.Has("peer didn't accept DH group MODP_2048, it requested ECP_256"));
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.a.Only()->suite.dh == DhGroup::kEcp256);
  CHECK(p.b.mgr->Sas().size() == 1);  // the refused attempt left no state
}

TEST_CASE("NAT detection: IKE floats to 4500 and CHILD SAs use UDP encapsulation",
          "[ike_sa][nat]") {
  NatPair p;
  p.Up();
  INFO(p.a.log.All() << p.b.log.All());
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  CHECK(p.a.Only()->nat_local);
  CHECK_FALSE(p.a.Only()->nat_remote);
  CHECK(p.b.Only()->nat_remote);
  CHECK(p.a.log.Has("local host is behind NAT, sending keep alives"));
  CHECK(p.b.log.Has("remote host is behind NAT"));
  CHECK(p.a.log.Has("switching to NAT-T port 4500"));
  CHECK(p.a.Only()->local().port == 4500);
  CHECK(p.b.Only()->remote().port == 14500);  // the NAT's mapping of 4500
  const ChildSa* bc = OnlyChild(p.b.Only());
  REQUIRE(bc != nullptr);
  CHECK(bc->encap);
  CHECK(bc->remote.port == 14500);
  CHECK(OnlyChild(p.a.Only())->encap);
  // IKE_AUTH went over 4500 with the non-ESP marker.
  bool auth_on_4500 = false;
  for (const Datagram& d : p.net.sent) {
    if (d.data.size() > 28 && d.data[18] == 35 && d.dst.port == 4500 && d.non_esp_marker) {
      auth_on_4500 = true;
    }
  }
  CHECK(auth_on_4500);
  // Keepalives from the side behind the NAT, every 20 s of silence.
  size_t before = p.net.sent.size();
  p.net.Advance(absl::Seconds(21));
  bool keepalive = false;
  for (size_t i = before; i < p.net.sent.size(); ++i) {
    const Datagram& d = p.net.sent[i];
    if (d.data == Bytes{0xFF} && d.src.port == 14500) keepalive = true;
  }
  CHECK(keepalive);
  CHECK(p.a.log.Has("sending keep alive to 192.0.2.2[4500]"));
}

TEST_CASE("force-udp-encapsulation claims a NAT so both ends encapsulate", "[ike_sa][nat]") {
  Pair p;
  p.ca->force_encap = true;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.b.Only()->nat_remote);  // the faked source hash
  CHECK(p.a.Only()->local().port == 4500);
  CHECK(OnlyChild(p.a.Only())->encap);
  CHECK(OnlyChild(p.b.Only())->encap);
  CHECK(OnlyChild(p.b.Only())->remote.port == 4500);
}

TEST_CASE("NO_PROPOSAL_CHOSEN in IKE_SA_INIT shows both proposal lists", "[ike_sa][fail]") {
  Pair p;
  p.cb->ike_proposals = {
      IkeProp(EncrId::kAesGcm16, 128, IntegId::kNone, PrfId::kHmacSha2_384, DhGroup::kEcp384)};
  p.Up();
  CHECK(p.a.mgr->Sas().empty());
  CHECK(p.b.mgr->Sas().empty());
  CHECK(p.b.log.Count("NO_PROPOSAL_CHOSEN: no acceptable IKE proposal; received proposals: "
                      "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519; "
                      "configured proposals: IKE:AES_GCM_16_128/PRF_HMAC_SHA2_384/ECP_384") == 1);
  CHECK(p.a.log.Count("received NO_PROPOSAL_CHOSEN notify error: the peer accepted none of our "
                      "proposals; configured proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/"
                      "PRF_HMAC_SHA2_256/CURVE_25519") == 1);
}
