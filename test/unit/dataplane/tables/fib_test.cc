// The IPv4 FIB: longest-prefix match from /0 to /32, route replace and delete, next hops shared
// between routes and their ids reused only after a grace period, the next-hop limit, and a
// million routes against a reference longest-prefix match.
#include "dataplane/tables/fib.h"

#include <arpa/inet.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

// The defaults (vpn-dataplane without --max-* options).
TableSizes Sizes() {
  return TableSizes{};
}

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
  auto fib = Fib::Create(("ut_fib" + std::to_string(n++)).c_str(), Sizes());
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
  CHECK(fib->next_hop(Sizes().NextHops()).type == NhType::kNone);
  CHECK(fib->next_hop(~uint64_t{0}).type == NhType::kNone);
}

TEST_CASE("FIB: at most its next hops - 1 distinct next hops", "[tables][fib]") {
  auto fib = NewFib();
  // Host routes 10.0.0.1, 10.0.0.2, ..., each with a gateway of its own.
  auto host = [](uint32_t i) { return htonl(0x0a000000u + i); };
  auto gw = [](uint32_t i) { return NextHop{NhType::kGateway, 1, htonl(0xc0000000u + i)}; };
  const uint32_t usable = Sizes().NextHops() - 1;  // id 0 is "no route"
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

namespace portcullis::dp {
namespace {

TEST_CASE("FIB: a million random routes resolve as a reference longest-prefix match",
          "[tables][fib][scale]") {
  test::EnsureEal();
  TableSizes sizes;
  sizes.routes = 1 << 20;
  auto created = Fib::Create("ut_fib_1m", sizes);
  INFO(created.status());
  REQUIRE(created.ok());
  Fib& fib = **created;
  // Lengths as in a full Internet table (most /24, fewer the shorter they are), plus 1% longer
  // than /24 (tbl8 groups); 1,000 gateways. The reference: one hash map per prefix length
  // (host order), searched from /32 down.
  std::mt19937 rnd(1918);
  std::unordered_map<uint32_t, uint32_t> ref[33];
  auto len_of = [&]() -> uint8_t {
    const uint32_t r = rnd() % 1000;
    if (r < 10) return static_cast<uint8_t>(25 + rnd() % 8);
    if (r < 600) return 24;
    if (r < 700) return 23;
    if (r < 800) return 22;
    if (r < 860) return 21;
    if (r < 910) return 20;
    if (r < 950) return 19;
    if (r < 975) return 18;
    if (r < 990) return 17;
    return static_cast<uint8_t>(8 + rnd() % 9);
  };
  auto mask = [](uint8_t len) { return len == 0 ? 0u : ~uint32_t{0} << (32 - len); };
  constexpr uint32_t kRoutes = 1000000;
  std::vector<std::pair<uint32_t, uint8_t>> routes;
  routes.reserve(kRoutes);
  while (routes.size() < kRoutes) {
    const uint8_t len = len_of();
    const uint32_t prefix = static_cast<uint32_t>(rnd()) & mask(len);
    const uint32_t gw = 1 + static_cast<uint32_t>(rnd() % 1000);
    if (!ref[len].emplace(prefix, gw).second) continue;  // drawn before
    routes.emplace_back(prefix, len);
    absl::Status s =
        fib.Set(htonl(prefix), len, NextHop{NhType::kGateway, 1, htonl(0xc0000000u + gw)});
    if (!s.ok()) FAIL("route " << routes.size() << ": " << s);
  }
  CHECK(fib.route_count() == kRoutes);
  auto expect = [&](uint32_t host) -> uint32_t {
    for (int len = 32; len >= 0; --len) {
      auto it = ref[len].find(host & mask(static_cast<uint8_t>(len)));
      if (it != ref[len].end()) return htonl(0xc0000000u + it->second);
    }
    return 0;  // no route
  };
  // Lookups hitting every route (an address inside each), then random addresses, through the
  // packet path's bulk lookup.
  std::vector<uint32_t> queries;
  queries.reserve(kRoutes + 200000);
  for (const auto& [prefix, len] : routes) queries.push_back(prefix | (rnd() & ~mask(len)));
  for (int i = 0; i < 200000; ++i) queries.push_back(static_cast<uint32_t>(rnd()));
  uint64_t wrong = 0, unrouted = 0;
  for (size_t base = 0; base < queries.size(); base += 64) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(64, queries.size() - base));
    uint64_t ids[64];
    fib.LookupHost(queries.data() + base, ids, n);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t want = expect(queries[base + i]);
      const NextHop& got = fib.next_hop(ids[i]);
      unrouted += want == 0;
      if (want == 0 ? got.type != NhType::kNone : got.gateway != want) {
        if (wrong++ < 5) UNSCOPED_INFO("address " << std::hex << queries[base + i]);
      }
    }
  }
  CHECK(wrong == 0);
  // And a tenth of them removed: their addresses fall back to what covers them.
  for (size_t i = 0; i < routes.size(); i += 10) {
    const auto [prefix, len] = routes[i];
    REQUIRE(fib.Remove(htonl(prefix), len).ok());
    ref[len].erase(prefix);
  }
  fib.ReclaimNextHops();
  wrong = 0;
  for (size_t i = 0; i < routes.size(); i += 10) {
    const uint32_t q = routes[i].first;
    const NextHop& got = fib.next_hop(fib.Lookup(htonl(q)));
    const uint32_t want = expect(q);
    if (want == 0 ? got.type != NhType::kNone : got.gateway != want) ++wrong;
  }
  CHECK(wrong == 0);
}

}  // namespace
}  // namespace portcullis::dp
