// The IPv6 FIB: longest-prefix match from /0 to /128 (link-local, /64 and host routes),
// replace and delete, next hops shared and their ids reused only after a grace period, and a
// few thousand random prefixes against a reference longest-prefix match.
#include "dataplane/tables/fib6.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

Ip6 A(const char* s) {
  Ip6 a{};
  REQUIRE(inet_pton(AF_INET6, s, a.data()) == 1);
  return a;
}

std::unique_ptr<Fib6> NewFib6(const char* name) {
  test::EnsureEal();
  auto f = Fib6::Create(name, TableSizes{});
  REQUIRE(f.ok());
  return std::move(*f);
}

NextHop6 Via(uint16_t ifx, const char* gw) {
  return {NhType::kGateway, ifx, A(gw)};
}

TEST_CASE("FIB6: the longest prefix wins, from the default route to a host route") {
  auto fib = NewFib6("t_fib6_lpm");
  REQUIRE(fib->Set(A("::"), 0, Via(1, "fe80::1")).ok());
  REQUIRE(fib->Set(A("2001:db8::"), 32, Via(2, "fe80::2")).ok());
  REQUIRE(fib->Set(A("2001:db8:1::"), 64, {NhType::kConnected, 3, {}}).ok());
  REQUIRE(fib->Set(A("2001:db8:1::1"), 128, {NhType::kLocal, 3, {}}).ok());
  // Host bits in a prefix are cleared, as the FIB holds it.
  REQUIRE(fib->Set(A("2001:db8:2::ffff"), 48, {NhType::kBlackhole, 0, {}}).ok());
  auto type_at = [&](const char* ip) { return fib->next_hop(fib->Lookup(A(ip).data())); };
  CHECK(type_at("2001:db8:1::1").type == NhType::kLocal);
  CHECK(type_at("2001:db8:1::2").type == NhType::kConnected);
  CHECK(type_at("2001:db8:2::5").type == NhType::kBlackhole);
  CHECK(type_at("2001:db8:9::5").ifindex == 2);
  CHECK(type_at("2002::1").gateway == A("fe80::1"));
  REQUIRE(fib->Remove(A("::"), 0).ok());
  CHECK(fib->Lookup(A("2002::1").data()) == 0);
  CHECK(!fib->Remove(A("::"), 0).ok());
  // The bulk form the workers use agrees with the single one.
  alignas(16) uint8_t ips[3][16];
  std::memcpy(ips[0], A("2001:db8:1::1").data(), 16);
  std::memcpy(ips[1], A("2001:db8:1::77").data(), 16);
  std::memcpy(ips[2], A("3000::").data(), 16);
  uint64_t ids[3];
  fib->Lookup(ips, ids, 3);
  CHECK(fib->next_hop(ids[0]).type == NhType::kLocal);
  CHECK(fib->next_hop(ids[1]).type == NhType::kConnected);
  CHECK(ids[2] == 0);
}

TEST_CASE("FIB6: next hops are shared and reused only after ReclaimNextHops") {
  auto fib = NewFib6("t_fib6_nh");
  REQUIRE(fib->Set(A("2001:db8:a::"), 48, Via(1, "2001:db8::1")).ok());
  REQUIRE(fib->Set(A("2001:db8:b::"), 48, Via(1, "2001:db8::1")).ok());
  const uint64_t id = fib->Lookup(A("2001:db8:a::1").data());
  CHECK(fib->Lookup(A("2001:db8:b::1").data()) == id);
  REQUIRE(fib->Remove(A("2001:db8:a::"), 48).ok());
  REQUIRE(fib->Remove(A("2001:db8:b::"), 48).ok());
  // Retired: a worker that looked it up before still reads the old next hop.
  CHECK(fib->next_hop(id).gateway == A("2001:db8::1"));
  REQUIRE(fib->Set(A("2001:db8:c::"), 48, Via(2, "2001:db8::2")).ok());
  CHECK(fib->Lookup(A("2001:db8:c::1").data()) != id);
  fib->ReclaimNextHops();
}

TEST_CASE("FIB6: random prefixes agree with a reference longest-prefix match") {
  auto fib = NewFib6("t_fib6_rand");
  std::mt19937 rng(21);
  std::map<std::pair<Ip6, uint8_t>, uint16_t> ref;
  for (int i = 0; i < 3000; ++i) {
    Ip6 a = A("2001:db8::");
    for (int b = 4; b < 16; ++b) a[b] = static_cast<uint8_t>(rng() & 0x0f);
    const uint8_t len = static_cast<uint8_t>(32 + rng() % 97);
    const uint16_t ifx = static_cast<uint16_t>(1 + rng() % 50);
    REQUIRE(fib->Set(a, len, {NhType::kConnected, ifx, {}}).ok());
    ref[{MaskIp6(a, len), len}] = ifx;
  }
  for (int i = 0; i < 3000; ++i) {
    Ip6 a = A("2001:db8::");
    for (int b = 4; b < 16; ++b) a[b] = static_cast<uint8_t>(rng() & 0x0f);
    uint16_t want = 0;
    for (int len = 128; len >= 0 && want == 0; --len) {
      auto it = ref.find({MaskIp6(a, static_cast<uint8_t>(len)), static_cast<uint8_t>(len)});
      if (it != ref.end()) want = it->second;
    }
    CHECK(fib->next_hop(fib->Lookup(a.data())).ifindex == want);
  }
}

}  // namespace
}  // namespace portcullis::dp
