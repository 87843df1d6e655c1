// IKEv2 between IPv6 addresses (#21), through the same in-memory network as the IPv4 tests:
// ID_IPV6_ADDR identities, TS_IPV6_ADDR_RANGE selectors narrowed as for IPv4, IPv4 selectors
// over IPv6 outer addresses and back, NAT detection hashes over the 16-byte addresses with the
// float to 4500 (RFC 7296 2.23 and RFC 3948 allow it for IPv6), and COOKIEs / per-address
// limits keyed on IPv6 sources.
#include <catch2/catch.hpp>

#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

constexpr char kA6[] = "2001:db8::1";
constexpr char kB6[] = "2001:db8::2";
constexpr char kC6[] = "2001:db8:c::3";  // another /64 than A's and B's

struct Pair6 {
  Net net;
  Node& a;
  Node& b;
  std::shared_ptr<IkeSaConfig> ca;
  std::shared_ptr<IkeSaConfig> cb;
  Pair6(const std::string& a_addr, const std::string& b_addr, const std::string& a_net,
        const std::string& b_net, ManagerOptions ob = Net::Defaults())
      : a(net.Add(a_addr)),
        b(net.Add(b_addr, ob)),
        ca(Peer(a_addr, b_addr, a_net, b_net)),
        cb(Peer(b_addr, a_addr, b_net, a_net)) {
    cb->initiate = false;
  }
  void Up() {
    a.mgr->SetPeers(One(ca));
    b.mgr->SetPeers(One(cb));
    net.Tick();
  }
};

}  // namespace

TEST_CASE("IKE over IPv6: ID_IPV6_ADDR identities and IPv6 selectors", "[ike_sa][ipv6]") {
  Pair6 p(kA6, kB6, "2001:db8:a::/64", "2001:db8:b::/64");
  CHECK(p.ca->local_id.type == IdType::kIpv6Addr);
  CHECK(p.ca->local_id.data.size() == 16);
  p.Up();
  INFO(p.a.log.All() << p.b.log.All());
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  CHECK(
      p.a.log.Has("IKE_SA peer-2001:db8::2[1] established between "
                  "2001:db8::1[2001:db8::1]...2001:db8::2[2001:db8::2]"));
  // B learnt A's identity off the wire: ID_IPV6_ADDR, the 16 bytes of 2001:db8::1.
  REQUIRE(p.b.Only()->peer_id().has_value());
  CHECK(p.b.Only()->peer_id()->type == IdType::kIpv6Addr);
  Address a6 = *Address::Parse(kA6);
  CHECK(p.b.Only()->peer_id()->data == Bytes(a6.bytes.begin(), a6.bytes.end()));
  const ChildSa* bc = OnlyChild(p.b.Only());
  REQUIRE(bc != nullptr);
  REQUIRE(bc->local_ts.size() == 1);
  CHECK(bc->local_ts[0].type == TsType::kIpv6AddrRange);
  CHECK(TsListToString(bc->local_ts) == "2001:db8:b::/64");
  CHECK(TsListToString(bc->remote_ts) == "2001:db8:a::/64");
  CHECK(bc->remote.address.ToString() == kA6);
  CHECK_FALSE(bc->encap);
  // Every datagram travelled between the two IPv6 addresses.
  for (const Datagram& d : p.net.sent) {
    CHECK(d.src.address.family == 6);
    CHECK(d.dst.address.family == 6);
  }
}

TEST_CASE("IPv6 selectors are narrowed as IPv4 ones are", "[ike_sa][ipv6][narrow]") {
  // A proposes a /48 and a host; B allows only a /64 inside the /48: B narrows, A accepts.
  Pair6 p(kA6, kB6, "2001:db8:a::/48", "2001:db8:b::/48");
  p.cb->children[0].local_ts = {Ts("2001:db8:b:1::/64")};
  p.cb->children[0].remote_ts = {Ts("2001:db8:a:1::/64")};
  p.Up();
  INFO(p.a.log.All() << p.b.log.All());
  const ChildSa* ac = OnlyChild(p.a.Only());
  REQUIRE(ac != nullptr);
  CHECK(TsListToString(ac->local_ts) == "2001:db8:a:1::/64");
  CHECK(TsListToString(ac->remote_ts) == "2001:db8:b:1::/64");
}

TEST_CASE("selectors of the other family than the outer addresses", "[ike_sa][ipv6]") {
  SECTION("IPv4 inner over IPv6") {
    Pair6 p(kA6, kB6, "10.1.0.0/24", "10.2.0.0/24");
    p.Up();
    INFO(p.a.log.All() << p.b.log.All());
    const ChildSa* bc = OnlyChild(p.b.Only());
    REQUIRE(bc != nullptr);
    CHECK(bc->local_ts[0].type == TsType::kIpv4AddrRange);
    CHECK(bc->local.address.family == 6);
  }
  SECTION("IPv6 inner over IPv4") {
    Pair6 p(kA, kB, "2001:db8:a::/64", "2001:db8:b::/64");
    p.Up();
    INFO(p.a.log.All() << p.b.log.All());
    const ChildSa* bc = OnlyChild(p.b.Only());
    REQUIRE(bc != nullptr);
    CHECK(bc->local_ts[0].type == TsType::kIpv6AddrRange);
    CHECK(bc->local.address.family == 4);
  }
  SECTION("IPv4 proposed, IPv6 allowed: no overlap, TS_UNACCEPTABLE") {
    Pair6 p(kA6, kB6, "10.1.0.0/24", "10.2.0.0/24");
    p.cb->children[0].local_ts = {Ts("2001:db8:b::/64")};
    p.cb->children[0].remote_ts = {Ts("2001:db8:a::/64")};
    p.Up();
    INFO(p.a.log.All() << p.b.log.All());
    CHECK((p.b.Only() == nullptr || OnlyChild(p.b.Only()) == nullptr));
    CHECK(p.b.log.Has("TS_UNACCEPTABLE"));
  }
}

TEST_CASE("NAT detection over IPv6: hashes of the 16-byte addresses, float to 4500",
          "[ike_sa][ipv6][nat]") {
  Net net;
  net.nat_inside = "fd00::1";
  net.nat_outside = "2001:db8::99";
  Node& a = net.Add("fd00::1");
  Node& b = net.Add(kB6);
  auto ca = Peer("fd00::1", kB6, "2001:db8:a::/64", "2001:db8:b::/64");
  auto cb = Peer(kB6, "2001:db8::99", "2001:db8:b::/64", "2001:db8:a::/64");
  ca->local_id = IdFromText("a.example.com");
  ca->local_id_text = "a.example.com";
  cb->remote_id = IdFromText("a.example.com");
  cb->remote_id_text = "a.example.com";
  cb->initiate = false;
  a.mgr->SetPeers(One(ca));
  b.mgr->SetPeers(One(cb));
  net.Tick();
  INFO(a.log.All() << b.log.All());
  REQUIRE(a.Only() != nullptr);
  REQUIRE(b.Only() != nullptr);
  CHECK(a.log.Has("local host is behind NAT, sending keep alives"));
  CHECK(b.log.Has("remote host is behind NAT"));
  CHECK(a.Only()->local().port == 4500);
  CHECK(b.Only()->remote().port == 14500);
  const ChildSa* bc = OnlyChild(b.Only());
  REQUIRE(bc != nullptr);
  CHECK(bc->encap);
  CHECK(bc->remote.address.ToString() == "2001:db8::99");
  CHECK(bc->remote.port == 14500);
}

TEST_CASE("no NAT between IPv6 addresses: no encapsulation", "[ike_sa][ipv6][nat]") {
  Pair6 p(kA6, kB6, "2001:db8:a::/64", "2001:db8:b::/64");
  p.Up();
  INFO(p.a.log.All() << p.b.log.All());
  REQUIRE(p.a.Only() != nullptr);
  CHECK_FALSE(p.a.Only()->nat_local);
  CHECK_FALSE(p.b.Only()->nat_remote);
  CHECK_FALSE(p.a.log.Has("behind NAT"));
}

TEST_CASE("COOKIEs and per-source limits keyed on IPv6 sources (per /64)",
          "[ike_sa][ipv6][cookie]") {
  ManagerOptions ob = Net::Defaults();
  ob.cookie_threshold = 1;
  ob.block_threshold = 0;
  Pair6 p(kA6, kB6, "2001:db8:a::/64", "2001:db8:b::/64", ob);
  Node& c = p.net.Add(kC6);
  auto cc = Peer(kC6, kB6, "2001:db8:c::/64", "2001:db8:b::/64");
  auto cb3 = Peer(kB6, kC6, "2001:db8:b::/64", "2001:db8:c::/64");
  cb3->initiate = false;
  p.b.mgr->SetPeers({p.cb, cb3});
  p.a.mgr->SetPeers(One(p.ca));
  p.net.drop = [](const Datagram& d) { return d.dst.address.ToString() == kC6; };
  c.mgr->SetPeers(One(cc));
  c.mgr->Tick();
  p.net.Pump();
  CHECK(p.b.mgr->HalfOpenCount() == 1);
  p.a.mgr->Tick();
  p.net.Pump();
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(p.b.log.Has("1 half-open IKE_SAs reach cookie-threshold 1, sending COOKIE to 2001:db8::1"));
  CHECK(p.a.log.Has("received COOKIE notify, restarting IKE_SA_INIT with it"));
  CHECK(p.a.Only() != nullptr);
  // Another SPI from the same IPv6 source: a second half-open SA from it is blocked.
  ManagerOptions o = ob;
  o.block_threshold = 1;
  p.b.mgr->SetOptions(o);
  Datagram second;
  for (const Datagram& d : p.net.sent) {
    if (d.src.address.ToString() == kC6) second = d;
  }
  second.data[0] ^= 0x55;
  p.net.queue.push_back(second);
  p.net.Pump();
  CHECK(p.b.log.Has(
      "ignoring IKE_SA setup from 2001:db8:c::3: 1 half-open IKE_SAs from its /64 reach "
      "block-threshold 1"));
  // The per-source counts are per /64 for IPv6: one host holds a /64 and could rotate through
  // it. Another address of C's /64 is blocked too; an address of another /64 is not.
  Datagram rotated = second;
  rotated.data[1] ^= 0x55;
  rotated.src.address = *Address::Parse("2001:db8:c::3:4");
  p.net.queue.push_back(rotated);
  p.net.Pump();
  // (the refusal line is rate-limited: the counter says it was refused too)
  CHECK(p.b.mgr->counter(IkeCounter::kInitBlocked) == 2);
  CHECK(p.b.mgr->HalfOpenCount(&rotated.src.address) == 1);
  Address elsewhere = *Address::Parse("2001:db8:d::3");
  CHECK(p.b.mgr->HalfOpenCount(&elsewhere) == 0);
  CHECK(IkeManager::SourceKey(*Address::Parse("2001:db8::3:4")).ToString() == "2001:db8::");
  CHECK(IkeManager::SourceKey(*Address::Parse("192.0.2.3")).ToString() == "192.0.2.3");
}

TEST_CASE("dual-stack selectors narrowed to the family the responder allows",
          "[ike_sa][ipv6][narrow]") {
  Pair6 p(kA6, kB6, "10.1.0.0/24", "10.2.0.0/24");
  p.ca->children[0].local_ts = {Ts("10.1.0.0/24"), Ts("2001:db8:a::/64")};
  p.ca->children[0].remote_ts = {Ts("10.2.0.0/24"), Ts("2001:db8:b::/64")};
  p.cb->children[0].local_ts = {Ts("2001:db8:b::/64")};
  p.cb->children[0].remote_ts = {Ts("2001:db8:a::/64")};
  p.Up();
  INFO(p.a.log.All() << p.b.log.All());
  const ChildSa* ac = OnlyChild(p.a.Only());
  REQUIRE(ac != nullptr);
  CHECK(TsListToString(ac->local_ts) == "2001:db8:a::/64");
  CHECK(TsListToString(ac->remote_ts) == "2001:db8:b::/64");
  // Both families allowed: both kept.
  Pair6 q(kA6, kB6, "10.1.0.0/24", "10.2.0.0/24");
  q.ca->children[0].local_ts = {Ts("10.1.0.0/24"), Ts("2001:db8:a::/64")};
  q.ca->children[0].remote_ts = {Ts("10.2.0.0/24"), Ts("2001:db8:b::/64")};
  q.cb->children[0].local_ts = {Ts("0.0.0.0/0"), Ts("::/0")};
  q.cb->children[0].remote_ts = {Ts("0.0.0.0/0"), Ts("::/0")};
  q.Up();
  const ChildSa* qc = OnlyChild(q.b.Only());
  REQUIRE(qc != nullptr);
  CHECK(TsListToString(qc->local_ts) == "10.2.0.0/24 2001:db8:b::/64");
}
