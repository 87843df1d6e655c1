// IKE_SA_INIT (ike/sa/tasks/ike_init.cc) between two SA managers: the proposal choice and its
// failure logged with both lists, the INVALID_KE_PAYLOAD retry, NAT detection with the float to
// 4500, and force-udp-encapsulation's faked NAT.
#include <catch2/catch.hpp>
#include <cstdlib>

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

Proposal ModpProposal() {
  return IkeProp(EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128, PrfId::kHmacSha2_256,
                 DhGroup::kModp2048);
}

// IKE_SA_INIT's keys on the managers' crypto pools (IkeManager::StartCryptoPool): the responder
// answers before its keys exist, the initiator's IKE_AUTH waits for its keys, an IKE_AUTH that
// comes before the responder's keys is held, not dropped (a drop would cost the initiator a
// retransmission timeout).
TEST_CASE("crypto pool: IKE_SA_INIT keys off the loop, IKE_AUTH held until they are computed",
          "[ike_sa][crypto_pool]") {
  Pair p;
  p.ca->ike_proposals = p.cb->ike_proposals = {ModpProposal()};
  p.a.mgr->StartCryptoPool(1, 16);
  p.b.mgr->StartCryptoPool(1, 16);
  Datagram init = p.HalfOpen();
  INFO(p.a.log.All() << p.b.log.All());
  // B answered at once; its keys are on the pool.
  REQUIRE(p.net.queue.size() == 1);
  REQUIRE(p.b.mgr->Sas().size() == 1);
  const IkeSa* bsa = p.b.mgr->Sas()[0];
  CHECK(bsa->keys_pending());
  CHECK_FALSE(bsa->ciphers.has_value());
  // A takes the answer: its keys go to its pool, no IKE_AUTH yet.
  REQUIRE(p.net.DeliverOne());
  CHECK(p.net.queue.empty());
  REQUIRE(p.a.mgr->Sas().size() == 1);
  CHECK(p.a.mgr->Sas()[0]->keys_pending());
  REQUIRE(p.a.mgr->DrainCrypto(/*wait=*/true) == 1);
  REQUIRE(p.net.queue.size() == 1);
  CHECK(IsRequest(p.net.queue.front(), 35));  // IKE_AUTH
  // It reaches B before B's keys: held.
  REQUIRE(p.net.DeliverOne());
  CHECK(p.net.queue.empty());
  CHECK(p.b.log.Has("held until the IKE_SA_INIT keys are computed"));
  REQUIRE(p.b.mgr->DrainCrypto(/*wait=*/true) == 1);
  REQUIRE(p.net.queue.size() == 1);  // B's IKE_AUTH response
  p.net.Pump();
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
  CHECK(p.a.Only()->keys.sk_d == p.b.Only()->keys.sk_d);
  CHECK(p.b.mgr->crypto_pool()->stats().finished == 1);
  CHECK(p.b.mgr->crypto_results_dropped() == 0);
}

TEST_CASE("crypto pool: keys computed for an SA gone meanwhile are dropped",
          "[ike_sa][crypto_pool]") {
  Pair p;
  p.ca->ike_proposals = p.cb->ike_proposals = {ModpProposal()};
  p.b.mgr->StartCryptoPool(1, 16);
  p.HalfOpen();
  REQUIRE(p.b.mgr->Sas().size() == 1);
  CHECK(p.b.mgr->Sas()[0]->keys_pending());
  // B's half-open SA goes (its peer config removed) while the job is in flight.
  p.b.mgr->SetPeers({});
  p.b.mgr->Tick();
  REQUIRE(p.b.mgr->DrainCrypto(/*wait=*/true) == 1);
  CHECK(p.b.mgr->crypto_results_dropped() == 1);
  CHECK(p.b.Established().empty());
}

TEST_CASE("crypto pool: a full pool computes on the loop, counted", "[ike_sa][crypto_pool]") {
  if (std::getenv("PORTCULLIS_TEST_KEY_POOL") != nullptr) return;  // its own pools here
  // Two initiators A and C, one responder B with room for one job.
  Net net;
  Node& a = net.Add(kA);
  Node& b = net.Add(kB);
  Node& c = net.Add("192.0.2.3");
  auto ca = Peer(kA, kB, "10.1.0.0/24", "10.2.0.0/24");
  auto cc = Peer("192.0.2.3", kB, "10.3.0.0/24", "10.2.0.0/24");
  auto ba = Peer(kB, kA, "10.2.0.0/24", "10.1.0.0/24");
  auto bc = Peer(kB, "192.0.2.3", "10.2.0.0/24", "10.3.0.0/24");
  ba->initiate = bc->initiate = false;
  for (auto* c : {&ca, &cc, &ba, &bc}) (*c)->ike_proposals = {ModpProposal()};
  a.mgr->SetPeers(One(ca));
  c.mgr->SetPeers(One(cc));
  b.mgr->SetPeers({ba, bc});
  b.mgr->StartCryptoPool(1, 1);
  a.mgr->Tick();
  c.mgr->Tick();
  REQUIRE(net.queue.size() == 2);
  net.DeliverOne();  // A's IKE_SA_INIT: on the pool
  net.DeliverOne();  // C's: the pool is full, B computes it in place
  INFO(a.log.All() << b.log.All() << c.log.All());
  CHECK(b.mgr->crypto_pool()->stats().refused == 1);
  REQUIRE(b.mgr->Sas().size() == 2);
  int pending = 0, keyed = 0;
  for (const IkeSa* sa : b.mgr->Sas()) {
    pending += sa->keys_pending();
    keyed += sa->ciphers.has_value();
  }
  CHECK(pending == 1);
  CHECK(keyed == 1);
  net.Pump();
  CHECK(a.Only() != nullptr);
  CHECK(c.Only() != nullptr);
  CHECK(b.Established().size() == 2);
}

TEST_CASE("crypto pool: Curve25519's keys are computed in place, cheaper than the hand-off",
          "[ike_sa][crypto_pool]") {
  if (std::getenv("PORTCULLIS_TEST_KEY_POOL") != nullptr) return;  // its own pools here
  Pair p;                                                          // Curve25519
  p.a.mgr->StartCryptoPool(1, 16);
  p.b.mgr->StartCryptoPool(1, 16);
  p.HalfOpen();
  REQUIRE(p.b.mgr->Sas().size() == 1);
  CHECK_FALSE(p.b.mgr->Sas()[0]->keys_pending());
  CHECK(p.b.mgr->Sas()[0]->ciphers.has_value());
  p.net.Pump();
  CHECK(p.a.Only() != nullptr);
  CHECK(p.a.mgr->crypto_pool()->stats().submitted == 0);
  CHECK(p.b.mgr->crypto_pool()->stats().submitted == 0);
}

TEST_CASE("crypto pool: a forged message after the held IKE_AUTH does not evict it",
          "[ike_sa][crypto_pool]") {
  Pair p;
  p.ca->ike_proposals = p.cb->ike_proposals = {ModpProposal()};
  p.a.mgr->StartCryptoPool(1, 16);
  p.b.mgr->StartCryptoPool(1, 16);
  p.HalfOpen();
  REQUIRE(p.net.DeliverOne());  // B's answer to A
  REQUIRE(p.a.mgr->DrainCrypto(/*wait=*/true) == 1);
  REQUIRE(p.net.queue.size() == 1);
  Datagram auth = p.net.queue.front();
  REQUIRE(p.net.DeliverOne());  // A's IKE_AUTH, held at B
  // The same SPIs and message ID, garbage in the SK payload: anyone on the path can send it.
  p.net.Deliver(auth);  // a retransmission: not held twice
  INFO(p.b.log.All());
  CHECK(p.b.log.Has("a copy of one held"));
  Datagram forged = auth;
  for (size_t i = 40; i < forged.data.size(); ++i) forged.data[i] ^= 0x5a;
  p.net.Deliver(forged);  // last: it must not take the genuine one's place
  REQUIRE(p.b.mgr->DrainCrypto(/*wait=*/true) == 1);
  REQUIRE(p.net.queue.size() == 1);  // B answered the genuine one
  p.net.Pump();
  CHECK(p.a.Only() != nullptr);
  CHECK(p.b.Only() != nullptr);
}

TEST_CASE("crypto pool: forgeries held first do not keep the genuine IKE_AUTH out",
          "[ike_sa][crypto_pool]") {
  Pair p;
  p.ca->ike_proposals = p.cb->ike_proposals = {ModpProposal()};
  p.a.mgr->StartCryptoPool(1, 16);
  p.b.mgr->StartCryptoPool(1, 16);
  p.HalfOpen();
  REQUIRE(p.net.DeliverOne());  // B's answer to A
  REQUIRE(p.a.mgr->DrainCrypto(/*wait=*/true) == 1);
  REQUIRE(p.net.queue.size() == 1);
  Datagram auth = p.net.Take();
  for (uint8_t k = 1; k <= 6; ++k) {  // more distinct forgeries than are held
    Datagram forged = auth;
    for (size_t i = 40; i < forged.data.size(); ++i) forged.data[i] ^= k;
    p.net.Deliver(forged);
  }
  p.net.Deliver(auth);
  INFO(p.b.log.All());
  REQUIRE(p.b.mgr->DrainCrypto(/*wait=*/true) == 1);
  REQUIRE(p.net.queue.size() == 1);  // B answered the genuine one
  p.net.Pump();
  CHECK(p.a.Only() != nullptr);
  CHECK(p.b.Only() != nullptr);
}
