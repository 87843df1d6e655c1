// The IKE state machine end to end between two in-process SA managers over a test network:
// every task in both roles, retransmission with a fake clock, message IDs and the response
// cache, cookies, INVALID_KE retries, NAT detection, narrowing, and each failure with its log line.
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
  p.net.Advance(absl::Seconds(11));  // reinitiate_delay
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

TEST_CASE("COOKIEs above cookie-threshold; IKE_SA_INITs dropped above block-threshold",
          "[ike_sa][cookie]") {
  ManagerOptions ob = Net::Defaults();
  ob.cookie_threshold = 1;
  ob.block_threshold = 0;
  Pair p(Net::Defaults(), ob);
  // A half-open SA from a third host that never completes.
  Node& c = p.net.Add("192.0.2.3");
  auto cc = Peer("192.0.2.3", kB);
  auto cb3 = Peer(kB, "192.0.2.3");
  cb3->initiate = false;
  p.b.mgr->SetPeers({p.cb, cb3});
  p.a.mgr->SetPeers(One(p.ca));
  p.net.drop = [](const Datagram& d) { return d.dst.address.ToString() == "192.0.2.3"; };
  c.mgr->SetPeers(One(cc));
  c.mgr->Tick();
  p.net.Pump();
  CHECK(p.b.mgr->HalfOpenCount() == 1);
  p.a.mgr->Tick();
  p.net.Pump();
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(p.b.log.Has("1 half-open IKE_SAs reach cookie-threshold 1, sending COOKIE to 192.0.2.1"));
  CHECK(p.a.log.Has("received COOKIE notify, restarting IKE_SA_INIT with it"));
  CHECK(p.a.log.Has("IKE_SA_INIT request 0 [ N(COOKIE) SA KE No"));
  CHECK(p.a.Only() != nullptr);

  SECTION("block-threshold") {
    ManagerOptions o = ob;
    o.block_threshold = 1;
    p.b.mgr->SetOptions(o);
    c.mgr->Tick();  // C's retransmission is a retransmit of the same half-open SA, not a new one
    Datagram second;
    for (const Datagram& d : p.net.sent) {
      if (d.src.address.ToString() == "192.0.2.3") second = d;
    }
    second.data[0] ^= 0x55;  // another SPIi: a new IKE SA from the same address
    p.net.queue.push_back(second);
    p.net.Pump();
    CHECK(
        p.b.log.Has("ignoring IKE_SA setup from 192.0.2.3: 1 half-open IKE_SAs from it reach "
                    "block-threshold 1"));
  }
}

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

TEST_CASE("CHILD SA rekey with PFS, started by either end", "[ike_sa][rekey]") {
  Pair p;
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  uint32_t old_a = OnlyChild(p.a.Only())->spi_in;
  uint32_t old_b = OnlyChild(p.b.Only())->spi_in;
  SECTION("initiator rekeys") {
    REQUIRE(p.a.mgr->RekeyChild(old_a));
  }
  SECTION("responder rekeys (dataplane soft expiry on its outbound SA)") {
    REQUIRE(p.b.mgr->RekeyChild(OnlyChild(p.b.Only())->spi_out));
  }
  p.net.Pump();
  INFO(p.a.log.All() << p.b.log.All());
  CHECK((p.a.log.Has("CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No KE TSi TSr") ||
         p.b.log.Has("CREATE_CHILD_SA request 0 [ N(REKEY_SA) SA No KE TSi TSr")));
  const ChildSa* a = OnlyChild(p.a.Only());
  const ChildSa* b = OnlyChild(p.b.Only());
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->spi_in != old_a);
  CHECK(b->spi_in != old_b);
  CHECK(a->suite.pfs == DhGroup::kCurve25519);
  CheckMatched(*a, *b);
  CHECK(p.a.rec.child_up == 2);
  CHECK(p.a.rec.child_down == 1);
  CHECK(p.b.rec.child_down == 1);
  CHECK(p.a.rec.down_spis == std::vector<uint32_t>{old_a});
}

TEST_CASE("CHILD SA rekey without PFS carries no KE", "[ike_sa][rekey]") {
  Pair p;
  p.ca->children[0].pfs = DhGroup::kNone;
  p.cb->children[0].pfs = DhGroup::kNone;
  p.Up();
  REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
  p.net.Pump();
  CHECK(p.a.log.Has("CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No TSi TSr"));
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

TEST_CASE("PFS mismatch on rekey: the responder answers INVALID_KE or NO_PROPOSAL_CHOSEN",
          "[ike_sa][rekey]") {
  Pair p;
  p.ca->children[0].pfs = DhGroup::kNone;  // B requires PFS, A offers none
  p.Up();
  REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
  p.net.Pump();
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(
      p.b.log.Has("NO_PROPOSAL_CHOSEN: no acceptable ESP proposal for peer-192.0.2.1-tunnel-1; "
                  "received proposals: ESP:AES_GCM_16_128; configured proposals: "
                  "ESP:AES_GCM_16_128/CURVE_25519"));
  CHECK(
      p.a.log.Has("received NO_PROPOSAL_CHOSEN notify error: the peer accepted none of our ESP "
                  "proposals"));
  // The old CHILD SA stays.
  CHECK(OnlyChild(p.a.Only()) != nullptr);
  CHECK(OnlyChild(p.a.Only())->state == ChildSa::State::kInstalled);
}

TEST_CASE("simultaneous CHILD SA rekeys: one new SA survives on both ends", "[ike_sa][rekey]") {
  Pair p;
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in);
  p.b.mgr->RekeyChild(OnlyChild(p.b.Only())->spi_in);
  p.net.Pump();
  p.net.Advance(absl::Seconds(30));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK((p.a.log.Has("CHILD_SA rekey collision") && p.b.log.Has("CHILD_SA rekey collision")));
  const ChildSa* a = OnlyChild(p.a.Only());
  const ChildSa* b = OnlyChild(p.b.Only());
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CheckMatched(*a, *b);
}

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

namespace {

// Up, A checking liveness every `interval` s with `action`; one try of 2 s per request, so a
// dead peer is declared quickly.
struct DpdPair : Pair {
  static ManagerOptions Fast() {
    ManagerOptions o = Net::Defaults();
    o.retransmit.tries = 1;
    o.retransmit.timeout = 2.0;
    return o;
  }
  DpdPair(uint32_t interval, DpdAction action) : Pair(Fast(), Fast()) {
    ca->dpd_interval = interval;
    ca->dpd_action = action;
    Up();
    REQUIRE(a.Only() != nullptr);
  }
};

}  // namespace

TEST_CASE("DPD: liveness checks when idle; a dead peer triggers the configured action",
          "[ike_sa][dpd]") {
  DpdPair p(10, DpdAction::kRestart);
  p.net.Advance(absl::Seconds(11));
  CHECK(p.a.log.Has("sending DPD request"));
  CHECK(p.a.log.Has("INFORMATIONAL request 2 [ ]"));
  CHECK(p.b.log.Has("INFORMATIONAL response 2 [ ]"));
  CHECK(p.a.Only() != nullptr);
  // The peer goes silent.
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(18));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("did not answer IKE_DPD (dead peer), dead-peer-detection action restart"));
  CHECK(p.a.rec.child_down == 1);
  CHECK(p.a.log.Count("initiating IKE_SA peer-192.0.2.2") >= 2);  // restarted at once
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(20));  // the attempt during the outage failed; the next one works
  CHECK(p.a.Only() != nullptr);
}

TEST_CASE("IKE SA rekey: the successor takes the CHILD SAs over, the old SA is deleted",
          "[ike_sa][ike_rekey]") {
  Pair p;
  p.ca->ike_lifetime = 60;  // A rekeys within 30..45 s
  p.cb->ike_lifetime = 600;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  const ChildSa* before = OnlyChild(p.a.Only());
  uint32_t spi = before->spi_in;
  IkeSpi old_spi = p.a.Only()->spi_i();
  p.net.Advance(absl::Seconds(46));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(p.a.log.Has("rekeying IKE_SA peer-192.0.2.2[1]"));
  CHECK(p.b.log.Has("IKE_SA peer-192.0.2.1[1] rekeyed into peer-192.0.2.1[2]"));
  CHECK(p.b.log.Has("received DELETE for IKE_SA peer-192.0.2.1[1]"));
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->unique_id() == 2);
  CHECK_FALSE(a->spi_i() == old_spi);
  CHECK(a->keys.sk_d == b->keys.sk_d);
  REQUIRE(OnlyChild(a) != nullptr);
  CHECK(OnlyChild(a)->spi_in == spi);  // the CHILD SA moved, untouched
  CHECK(p.a.rec.child_down == 0);
  CHECK(p.b.rec.child_down == 0);
  // The new IKE SA works: a CHILD SA rekey over it.
  REQUIRE(p.b.mgr->RekeyChild(OnlyChild(b)->spi_in));
  p.net.Pump();
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

TEST_CASE("simultaneous initiation ends with one IKE SA on both ends", "[ike_sa][collision]") {
  Pair p;
  p.cb->initiate = true;
  p.Configure();
  p.a.mgr->Tick();
  p.b.mgr->Tick();
  p.net.Pump();
  p.net.Advance(absl::Seconds(2));
  INFO(p.a.log.All() << p.b.log.All());
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  CHECK(p.a.Only()->spi_i() == p.b.Only()->spi_i());
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
}

// ---- failures: each logged once with its notify name and both sides' values ----

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

TEST_CASE("messages for unknown IKE SAs are logged as INVALID_IKE_SPI", "[ike_sa][fail]") {
  Pair p;
  p.Up();
  REQUIRE(p.b.Only() != nullptr);
  Datagram d = LastSent(p.net, kA, 35);
  d.data[8] ^= 0xFF;  // another responder SPI
  p.net.queue.push_back(d);
  p.net.Pump();
  CHECK(p.b.log.Has("received IKE_AUTH request 1 for unknown IKE_SA with SPIs"));
  CHECK(p.b.log.Has("(INVALID_IKE_SPI), ignored"));
  CHECK(p.b.mgr->unauthenticated_drops() == 1);
  SECTION("a flood is counted, and logged once per interval") {
    for (int i = 0; i < 1000; ++i) p.b.mgr->HandleDatagram(d);
    CHECK(p.b.mgr->unauthenticated_drops() == 1001);
    CHECK(p.b.log.Count("(INVALID_IKE_SPI), ignored") == 1);
    p.net.Advance(DropLogLimiter::kInterval);
    p.b.mgr->HandleDatagram(d);
    CHECK(p.b.log.Count("(INVALID_IKE_SPI), ignored") == 2);
    CHECK(p.b.log.Has("1000 more unauthenticated messages dropped since the last report"));
  }
}

TEST_CASE("no peer config for the initiator: NO_PROPOSAL_CHOSEN", "[ike_sa][fail]") {
  Pair p;
  p.a.mgr->SetPeers(One(p.ca));
  p.net.Tick();
  CHECK(p.b.log.Has("no IKE config found for 192.0.2.2...192.0.2.1, sending NO_PROPOSAL_CHOSEN"));
  CHECK(p.a.log.Has("received NO_PROPOSAL_CHOSEN notify error"));
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

TEST_CASE("DPD action clear: a dead peer's SA is removed and not restarted", "[ike_sa][dpd]") {
  DpdPair p(5, DpdAction::kClear);
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  p.net.Advance(absl::Seconds(12));
  CHECK(p.a.log.Has("dead-peer-detection action clear"));
  CHECK(p.a.mgr->Sas().empty());
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(30));
  CHECK(p.a.log.Count("initiating IKE_SA") == 1);
  CHECK(p.a.mgr->Sas().empty());
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

TEST_CASE("the peer comes up later and initiates: our unanswered attempt is abandoned",
          "[ike_sa][collision]") {
  Pair p;
  p.cb->initiate = true;
  p.a.mgr->SetPeers(One(p.ca));
  p.net.Tick();  // A's IKE_SA_INIT reaches a B without configuration: NO_PROPOSAL_CHOSEN...
  p.net.drop = [](const Datagram& d) { return d.src.address.ToString() == kB; };
  REQUIRE(p.a.mgr->Reset(kB, std::nullopt).ok());
  p.net.Tick();  // ...and the next attempt gets no answer at all
  p.net.drop = nullptr;
  p.b.mgr->SetPeers(One(p.cb));
  p.net.Tick();
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("the peer established an IKE_SA meanwhile, abandoning our unanswered one"));
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.a.mgr->Sas().size() == 1);
  CheckMatched(*OnlyChild(p.a.Only()), *OnlyChild(p.b.Only()));
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

TEST_CASE("simultaneous IKE SA rekeys: TEMPORARY_FAILURE, then one rekey succeeds",
          "[ike_sa][ike_rekey][collision]") {
  Pair p;
  p.ca->ike_lifetime = 60;  // both rekey within 30..45 s
  p.cb->ike_lifetime = 60;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  uint32_t child = OnlyChild(p.a.Only())->spi_in;
  // Hold every datagram back until both rekey requests are out, so they cross.
  p.net.drop = [](const Datagram&) { return true; };
  p.net.Advance(absl::Seconds(46));
  CHECK(p.a.log.Has("rekeying IKE_SA peer-192.0.2.2[1]"));
  CHECK(p.b.log.Has("rekeying IKE_SA peer-192.0.2.1[1]"));
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(120));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK((p.a.log.Has("IKE_SA rekey collision: answering TEMPORARY_FAILURE") ||
         p.b.log.Has("IKE_SA rekey collision: answering TEMPORARY_FAILURE")));
  const IkeSa* a = p.a.Only();
  const IkeSa* b = p.b.Only();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->unique_id() > 1);
  CHECK(a->spi_i() == b->spi_i());
  CHECK(a->keys.sk_d == b->keys.sk_d);
  REQUIRE(OnlyChild(a) != nullptr);
  CHECK(OnlyChild(a)->spi_in == child);
  CheckMatched(*OnlyChild(a), *OnlyChild(b));
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
