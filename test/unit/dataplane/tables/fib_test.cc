// The IPv4 FIB: longest-prefix match from /0 to /32, route replace and delete, next hops shared
// between routes and their ids reused only after a grace period, and the next-hop limit.
#include "dataplane/tables/fib.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

// Network order, as the FIB's callers hold addresses.
uint32_t Ip(const char* s) {
  uint32_t a = 0;
  REQUIRE(inet_pton(AF_INET, s, &a) == 1);
  return a;
}

NextHop Gw(const char* gateway, uint16_t ifindex = 1) {
  return {NhType::kGateway, ifindex, Ip(gateway)};
}

std::unique_ptr<Fib> NewFib() {
  test::EnsureEal();
  // rte_fib names are process-wide; the previous test's FIB is gone, but be safe.
  static int n = 0;
  auto fib = Fib::Create(("ut_fib" + std::to_string(n++)).c_str());
  REQUIRE(fib.ok());
  return std::move(*fib);
}

// The next hop a packet to `ip` gets (type kNone: no route).
NextHop Route(const Fib& fib, const char* ip) {
  return fib.next_hop(fib.Lookup(Ip(ip)));
}

TEST_CASE("FIB: the longest matching prefix wins", "[tables][fib]") {
  auto fib = NewFib();
  REQUIRE(fib->Set(Ip("10.0.0.0"), 8, Gw("192.0.2.8")).ok());
  REQUIRE(fib->Set(Ip("10.1.0.0"), 16, Gw("192.0.2.16")).ok());
  REQUIRE(fib->Set(Ip("10.1.2.0"), 24, Gw("192.0.2.24")).ok());
  REQUIRE(fib->Set(Ip("10.1.2.3"), 32, {NhType::kLocal, 2, 0}).ok());
  CHECK(fib->route_count() == 4);

  CHECK(Route(*fib, "10.1.2.3") == NextHop{NhType::kLocal, 2, 0});
  CHECK(Route(*fib, "10.1.2.4") == Gw("192.0.2.24"));
  CHECK(Route(*fib, "10.1.2.255") == Gw("192.0.2.24"));
  CHECK(Route(*fib, "10.1.3.1") == Gw("192.0.2.16"));
  CHECK(Route(*fib, "10.255.0.1") == Gw("192.0.2.8"));
  CHECK(fib->Lookup(Ip("11.0.0.1")) == 0);
  CHECK(Route(*fib, "11.0.0.1").type == NhType::kNone);
  CHECK(Route(*fib, "9.255.255.255").type == NhType::kNone);
}

TEST_CASE("FIB: the packet path's bulk lookup takes host-order addresses", "[tables][fib]") {
  auto fib = NewFib();
  REQUIRE(fib->Set(Ip("10.1.0.0"), 16, Gw("192.0.2.1")).ok());
  REQUIRE(fib->Set(Ip("10.2.0.0"), 16, Gw("192.0.2.2")).ok());
  const uint32_t ips[3] = {ntohl(Ip("10.1.9.9")), ntohl(Ip("10.2.9.9")), ntohl(Ip("10.3.9.9"))};
  uint64_t ids[3] = {99, 99, 99};
  fib->LookupHost(ips, ids, 3);
  CHECK(ids[0] == fib->Lookup(Ip("10.1.9.9")));
  CHECK(ids[1] == fib->Lookup(Ip("10.2.9.9")));
  CHECK(ids[0] != 0);
  CHECK(ids[1] != 0);
  CHECK(ids[0] != ids[1]);
  CHECK(ids[2] == 0);
}

TEST_CASE("FIB: /0 is the default route and /32 a single host", "[tables][fib]") {
  auto fib = NewFib();
  REQUIRE(fib->Set(Ip("0.0.0.0"), 0, Gw("192.0.2.1")).ok());
  REQUIRE(fib->Set(Ip("198.51.100.7"), 32, Gw("192.0.2.2")).ok());
  for (const char* ip : {"0.0.0.0", "1.2.3.4", "198.51.100.6", "198.51.100.8", "255.255.255.255"})
    CHECK(Route(*fib, ip) == Gw("192.0.2.1"));
  CHECK(Route(*fib, "198.51.100.7") == Gw("192.0.2.2"));

  REQUIRE(fib->Remove(Ip("198.51.100.7"), 32).ok());
  CHECK(Route(*fib, "198.51.100.7") == Gw("192.0.2.1"));
  REQUIRE(fib->Remove(Ip("0.0.0.0"), 0).ok());
  CHECK(fib->Lookup(Ip("1.2.3.4")) == 0);
  CHECK(fib->route_count() == 0);
}

TEST_CASE("FIB: setting a route again replaces its next hop", "[tables][fib]") {
  auto fib = NewFib();
  REQUIRE(fib->Set(Ip("10.1.0.0"), 16, Gw("192.0.2.1")).ok());
  const uint64_t first = fib->Lookup(Ip("10.1.0.1"));
  // The same next hop again changes nothing.
  REQUIRE(fib->Set(Ip("10.1.0.0"), 16, Gw("192.0.2.1")).ok());
  CHECK(fib->Lookup(Ip("10.1.0.1")) == first);

  REQUIRE(fib->Set(Ip("10.1.0.0"), 16, {NhType::kBlackhole, 0, 0}).ok());
  CHECK(Route(*fib, "10.1.0.1").type == NhType::kBlackhole);
  CHECK(fib->route_count() == 1);
  auto dump = fib->Dump();
  REQUIRE(dump.size() == 1);
  CHECK(dump[0].second.type == NhType::kBlackhole);
}

TEST_CASE("FIB: removing a route uncovers the shorter one; a missing route is NotFound",
          "[tables][fib]") {
  auto fib = NewFib();
  REQUIRE(fib->Set(Ip("10.0.0.0"), 8, Gw("192.0.2.8")).ok());
  REQUIRE(fib->Set(Ip("10.1.0.0"), 16, Gw("192.0.2.16")).ok());
  REQUIRE(fib->Remove(Ip("10.1.0.0"), 16).ok());
  CHECK(Route(*fib, "10.1.0.1") == Gw("192.0.2.8"));
  CHECK(fib->route_count() == 1);

  CHECK(absl::IsNotFound(fib->Remove(Ip("10.1.0.0"), 16)));  // already gone
  CHECK(absl::IsNotFound(fib->Remove(Ip("10.0.0.0"), 16)));  // prefix exists with another length
  CHECK(absl::IsNotFound(fib->Remove(Ip("172.16.0.0"), 12)));
  CHECK(Route(*fib, "10.9.9.9") == Gw("192.0.2.8"));
  CHECK(fib->route_count() == 1);
}

TEST_CASE("FIB: a prefix length beyond 32 is refused and installs nothing", "[tables][fib]") {
  auto fib = NewFib();
  CHECK_FALSE(fib->Set(Ip("10.0.0.1"), 33, Gw("192.0.2.1")).ok());
  CHECK(fib->route_count() == 0);
  CHECK(fib->Dump().empty());
  CHECK(fib->Lookup(Ip("10.0.0.1")) == 0);
}

TEST_CASE("FIB: Dump lists routes in network order", "[tables][fib]") {
  auto fib = NewFib();
  REQUIRE(fib->Set(Ip("10.1.2.0"), 24, Gw("192.0.2.1", 3)).ok());
  REQUIRE(fib->Set(Ip("0.0.0.0"), 0, Gw("192.0.2.254", 4)).ok());
  auto dump = fib->Dump();
  REQUIRE(dump.size() == 2);
  CHECK(dump[0].first == std::make_pair(Ip("0.0.0.0"), uint8_t{0}));
  CHECK(dump[0].second == Gw("192.0.2.254", 4));
  CHECK(dump[1].first == std::make_pair(Ip("10.1.2.0"), uint8_t{24}));
  CHECK(dump[1].second == Gw("192.0.2.1", 3));
}

TEST_CASE("FIB: routes with the same next hop share one id", "[tables][fib]") {
  auto fib = NewFib();
  REQUIRE(fib->Set(Ip("10.1.0.0"), 16, Gw("192.0.2.1")).ok());
  REQUIRE(fib->Set(Ip("10.2.0.0"), 16, Gw("192.0.2.1")).ok());
  REQUIRE(fib->Set(Ip("10.3.0.0"), 16, Gw("192.0.2.1", 2)).ok());  // other interface
  REQUIRE(fib->Set(Ip("10.4.0.0"), 16, Gw("192.0.2.2")).ok());     // other gateway
  const uint64_t a = fib->Lookup(Ip("10.1.0.1"));
  CHECK(fib->Lookup(Ip("10.2.0.1")) == a);
  CHECK(fib->Lookup(Ip("10.3.0.1")) != a);
  CHECK(fib->Lookup(Ip("10.4.0.1")) != a);
  // Removing one user keeps the shared next hop for the other.
  REQUIRE(fib->Remove(Ip("10.1.0.0"), 16).ok());
  fib->ReclaimNextHops();
  CHECK(fib->Lookup(Ip("10.2.0.1")) == a);
  CHECK(fib->next_hop(a) == Gw("192.0.2.1"));
}

TEST_CASE("FIB: a next-hop id is reused only after ReclaimNextHops", "[tables][fib]") {
  auto fib = NewFib();
  REQUIRE(fib->Set(Ip("10.1.0.0"), 16, Gw("192.0.2.1")).ok());
  const uint64_t old_id = fib->Lookup(Ip("10.1.0.1"));
  REQUIRE(fib->Remove(Ip("10.1.0.0"), 16).ok());
  // A worker that looked the id up before the removal still reads the old next hop.
  CHECK(fib->next_hop(old_id) == Gw("192.0.2.1"));
  REQUIRE(fib->Set(Ip("10.2.0.0"), 16, Gw("192.0.2.2")).ok());
  const uint64_t second_id = fib->Lookup(Ip("10.2.0.1"));
  CHECK(second_id != old_id);
  CHECK(fib->next_hop(old_id) == Gw("192.0.2.1"));
  // Replacing a route's next hop retires the old id the same way.
  REQUIRE(fib->Set(Ip("10.2.0.0"), 16, Gw("192.0.2.3")).ok());
  const uint64_t third_id = fib->Lookup(Ip("10.2.0.1"));
  CHECK(third_id != old_id);
  CHECK(third_id != second_id);
  CHECK(fib->next_hop(second_id) == Gw("192.0.2.2"));

  fib->ReclaimNextHops();  // after the grace period: the two retired ids serve new next hops
  REQUIRE(fib->Set(Ip("10.3.0.0"), 16, Gw("192.0.2.4")).ok());
  REQUIRE(fib->Set(Ip("10.4.0.0"), 16, Gw("192.0.2.5")).ok());
  const std::set<uint64_t> reused = {fib->Lookup(Ip("10.3.0.1")), fib->Lookup(Ip("10.4.0.1"))};
  CHECK(reused == std::set<uint64_t>{old_id, second_id});
  CHECK(Route(*fib, "10.3.0.1") == Gw("192.0.2.4"));
  CHECK(Route(*fib, "10.4.0.1") == Gw("192.0.2.5"));
  CHECK(Route(*fib, "10.2.0.1") == Gw("192.0.2.3"));
}

TEST_CASE("FIB: out-of-range next-hop ids read as no route", "[tables][fib]") {
  auto fib = NewFib();
  CHECK(fib->next_hop(0).type == NhType::kNone);
  CHECK(fib->next_hop(kMaxNextHops).type == NhType::kNone);
  CHECK(fib->next_hop(~uint64_t{0}).type == NhType::kNone);
}

TEST_CASE("FIB: at most kMaxNextHops - 1 distinct next hops", "[tables][fib]") {
  auto fib = NewFib();
  // Host routes 10.0.0.1, 10.0.0.2, ..., each with a gateway of its own.
  auto host = [](uint32_t i) { return htonl(0x0a000000u + i); };
  auto gw = [](uint32_t i) { return NextHop{NhType::kGateway, 1, htonl(0xc0000000u + i)}; };
  const uint32_t usable = kMaxNextHops - 1;  // id 0 is "no route"
  for (uint32_t i = 1; i <= usable; ++i) {
    absl::Status s = fib->Set(host(i), 32, gw(i));
    if (!s.ok()) FAIL("route " << i << ": " << s);
  }
  CHECK(fib->route_count() == usable);

  absl::Status full = fib->Set(host(usable + 1), 32, gw(usable + 1));
  CHECK(absl::IsResourceExhausted(full));
  CHECK(fib->Lookup(host(usable + 1)) == 0);
  CHECK(fib->route_count() == usable);
  // A next hop already in use needs no new id.
  CHECK(fib->Set(host(usable + 1), 32, gw(1)).ok());
  CHECK(fib->next_hop(fib->Lookup(host(usable + 1))) == gw(1));

  // A freed id serves again once reclaimed, not before.
  REQUIRE(fib->Remove(host(2), 32).ok());
  CHECK(absl::IsResourceExhausted(fib->Set(host(usable + 2), 32, gw(usable + 2))));
  fib->ReclaimNextHops();
  CHECK(fib->Set(host(usable + 2), 32, gw(usable + 2)).ok());
  CHECK(fib->next_hop(fib->Lookup(host(usable + 2))) == gw(usable + 2));
}

}  // namespace
}  // namespace portcullis::dp
