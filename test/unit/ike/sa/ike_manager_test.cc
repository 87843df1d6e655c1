// The IKE SA manager (ike/sa/ike_manager.cc): COOKIEs and blocking of IKE_SA_INIT floods, the
// responder's config lookup, datagrams for SAs it does not have, and which IKE SA survives when
// both ends initiate, and where CHILD SA SPIs come from.
#include <catch2/catch.hpp>
#include <deque>

#include "absl/strings/str_cat.h"
#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

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

TEST_CASE("CHILD SA SPIs come from the SPI source when one is set", "[ike_sa][rekey]") {
  // vpnd's SA installer hands out SPIs (strongSwan's get_spi); the manager still refuses SPIs
  // below 256, failed draws and SPIs it has reserved already.
  Pair p;
  std::deque<absl::StatusOr<uint32_t>> draws = {absl::UnavailableError("no randomness"), 255u,
                                                0x00001234u, 0x00001234u, 0x00005678u};
  int asked = 0;
  p.a.mgr->SetSpiSource([&]() -> absl::StatusOr<uint32_t> {
    ++asked;
    if (draws.empty()) return absl::ResourceExhaustedError("test ran out of SPIs");
    absl::StatusOr<uint32_t> s = draws.front();
    draws.pop_front();
    return s;
  });
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CHECK(OnlyChild(p.a.Only())->spi_in == 0x1234);
  CHECK(OnlyChild(p.b.Only())->spi_out == 0x1234);
  // The rekey draws while 0x1234 is still reserved: the repeat is skipped.
  REQUIRE(p.a.mgr->RekeyChild(0x1234));
  p.net.Pump();
  INFO(p.a.log.All() << p.b.log.All());
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CHECK(OnlyChild(p.a.Only())->spi_in == 0x5678);
  CHECK(asked == 5);
  // B has no source: its SPIs are today's random draw, charon-style.
  CHECK(OnlyChild(p.b.Only())->spi_in >> 28 == 0xc);
}

TEST_CASE("an SPI source that never yields fails the exchange instead of hanging it",
          "[ike_sa][rekey]") {
  // No randomness, or an installer with no free SPI: a bounded number of draws, then the
  // exchange is abandoned (initiator) or refused with NO_PROPOSAL_CHOSEN (responder), and the
  // CHILD SA in place keeps working.
  Pair p;
  p.Up();
  const uint32_t a_in = OnlyChild(p.a.Only())->spi_in;
  const uint32_t b_in = OnlyChild(p.b.Only())->spi_in;
  int asked = 0;
  auto broken = [&]() -> absl::StatusOr<uint32_t> {
    ++asked;
    return absl::UnavailableError("no randomness");
  };
  SECTION("initiator") {
    p.a.mgr->SetSpiSource(broken);
    REQUIRE(p.a.mgr->RekeyChild(a_in));
    p.net.Pump();
    INFO(p.a.log.All() << p.b.log.All());
    CHECK(asked == 32);
    CHECK(
        p.a.log.Has("no inbound SPI for CHILD_SA peer-192.0.2.2-tunnel-1, exchange abandoned: "
                    "no free CHILD_SA SPI in 32 draws: no randomness"));
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CHECK(OnlyChild(p.a.Only())->spi_in == a_in);
    CHECK(OnlyChild(p.a.Only())->state == ChildSa::State::kInstalled);
    CHECK(p.net.queue.empty());
  }
  SECTION("responder") {
    p.b.mgr->SetSpiSource(broken);
    REQUIRE(p.a.mgr->RekeyChild(a_in));
    p.net.Pump();
    INFO(p.a.log.All() << p.b.log.All());
    CHECK(asked == 32);
    CHECK(p.b.log.Has("no inbound SPI for the CHILD_SA: no free CHILD_SA SPI in 32 draws"));
    CHECK(p.a.log.Has("received NO_PROPOSAL_CHOSEN notify error"));
    REQUIRE(OnlyChild(p.b.Only()) != nullptr);
    CHECK(OnlyChild(p.b.Only())->spi_in == b_in);
    REQUIRE(OnlyChild(p.a.Only()) != nullptr);
    CHECK(OnlyChild(p.a.Only())->spi_in == a_in);
  }
}

TEST_CASE("many initiate peers: at most kMaxInitiating IKE_SA_INITs in flight, all come up",
          "[ike_sa][scale]") {
  // 100 peers behind 100 addresses, each answering for itself; A initiates to all of them.
  Net net;
  Node& a = net.Add(kA);
  std::vector<std::shared_ptr<const IkeSaConfig>> ours;
  constexpr int kPeers = 100;
  for (int i = 1; i <= kPeers; ++i) {
    std::string addr = absl::StrCat("198.18.0.", i);
    Node& b = net.Add(addr);
    auto theirs = Peer(addr, kA);
    theirs->initiate = false;
    b.mgr->SetPeers(One(theirs));
    ours.push_back(Peer(kA, addr));
  }
  a.mgr->SetPeers(ours);
  auto inits_sent = [&] {
    size_t n = 0;
    for (const Datagram& d : net.sent) {
      n += d.src.address.ToString() == kA && d.data.size() > 18 && d.data[18] == 34 &&
           (d.data[19] & 0x20) == 0;  // IKE_SA_INIT, not a response
    }
    return n;
  };
  a.mgr->Tick();
  CHECK(inits_sent() == IkeManager::kMaxInitiating);
  // Nothing answered yet: another round starts nothing more.
  a.mgr->Tick();
  CHECK(inits_sent() == IkeManager::kMaxInitiating);
  // Each completed setup frees a slot for the next round.
  for (int round = 0; round < 10 && a.Established().size() < kPeers; ++round) {
    net.Pump();
    a.mgr->Tick();
  }
  net.Pump();
  INFO(a.log.All());
  CHECK(a.Established().size() == kPeers);
  CHECK(inits_sent() == kPeers);  // no retransmissions, nothing started twice
}

TEST_CASE("unreachable peers do not hold the initiation slots beyond their first retransmission",
          "[ike_sa][scale]") {
  // 70 initiate peers; the 64 first by name never answer, the last 6 do.
  Net net;
  Node& a = net.Add(kA);
  std::vector<std::shared_ptr<const IkeSaConfig>> ours;
  for (int i = 10; i < 80; ++i) {
    std::string addr = absl::StrCat("198.18.0.", i);
    if (i >= 74) {
      Node& b = net.Add(addr);
      auto theirs = Peer(addr, kA);
      theirs->initiate = false;
      b.mgr->SetPeers(One(theirs));
    }
    ours.push_back(Peer(kA, addr));
  }
  a.mgr->SetPeers(ours);
  net.Advance(absl::Seconds(6));
  INFO(a.log.All());
  CHECK(a.Established().size() == 6);
}
