// ARP neighbours: (interface, IPv4) -> MAC, visible to workers only once resolved; the
// primitives ageing uses (invalidate, remove with the packets that waited, reclaim after a
// grace period); and the table's limit. The ageing timers themselves are mgmt/slow_path's.
#include "dataplane/tables/neighbor_table.h"

#include <arpa/inet.h>
#include <rte_mbuf.h>

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

uint32_t Ip(const char* s) {
  uint32_t a = 0;
  REQUIRE(inet_pton(AF_INET, s, &a) == 1);
  return a;
}

std::unique_ptr<NeighborTable> NewTable() {
  test::EnsureEal();
  static int n = 0;
  auto t = NeighborTable::Create(("ut_nbr" + std::to_string(n++)).c_str());
  REQUIRE(t.ok());
  return std::move(*t);
}

constexpr rte_ether_addr kMac = {{0x02, 0x00, 0x00, 0x00, 0x01, 0x0a}};
constexpr rte_ether_addr kOtherMac = {{0x02, 0x00, 0x00, 0x00, 0x02, 0xff}};

bool SameMac(const rte_ether_addr& a, const rte_ether_addr& b) {
  return rte_is_same_ether_addr(&a, &b);
}

TEST_CASE("neighbours: a new entry is not resolved", "[tables][neighbor]") {
  auto t = NewTable();
  NeighborEntry* e = t->GetOrCreate(1, Ip("10.1.0.2"));
  REQUIRE(e != nullptr);
  CHECK(e->ifindex == 1);
  CHECK(e->ip == Ip("10.1.0.2"));
  CHECK(e->state == NeighborState::kIncomplete);
  CHECK(e->npending == 0);
  CHECK(e->requests_sent == 0);
  rte_ether_addr mac;
  CHECK_FALSE(t->Lookup(1, Ip("10.1.0.2"), &mac));
  CHECK(t->Find(1, Ip("10.1.0.2")) == e);
  CHECK(t->GetOrCreate(1, Ip("10.1.0.2")) == e);  // the same entry, not a second one
}

TEST_CASE("neighbours: SetMac resolves the entry for the packet path", "[tables][neighbor]") {
  auto t = NewTable();
  NeighborEntry* e = t->GetOrCreate(1, Ip("10.1.0.2"));
  REQUIRE(e != nullptr);
  e->requests_sent = 2;
  t->SetMac(e, kMac, NeighborState::kReachable, 12345);
  rte_ether_addr mac{};
  REQUIRE(t->Lookup(1, Ip("10.1.0.2"), &mac));
  CHECK(SameMac(mac, kMac));
  CHECK(e->state == NeighborState::kReachable);
  CHECK(e->updated_ns == 12345);
  CHECK(e->requests_sent == 0);  // an answer ends the retries

  // A new MAC (the neighbour moved) replaces the old one whole.
  t->SetMac(e, kOtherMac, NeighborState::kReachable, 23456);
  REQUIRE(t->Lookup(1, Ip("10.1.0.2"), &mac));
  CHECK(SameMac(mac, kOtherMac));
  CHECK(t->GetOrCreate(1, Ip("10.1.0.2")) == e);
  REQUIRE(t->Lookup(1, Ip("10.1.0.2"), &mac));  // GetOrCreate of a known one keeps its MAC
  CHECK(SameMac(mac, kOtherMac));
}

TEST_CASE("neighbours: the key is the interface and the address", "[tables][neighbor]") {
  auto t = NewTable();
  NeighborEntry* a = t->GetOrCreate(1, Ip("10.1.0.2"));
  NeighborEntry* b = t->GetOrCreate(2, Ip("10.1.0.2"));
  NeighborEntry* c = t->GetOrCreate(1, Ip("10.1.0.3"));
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  REQUIRE(c != nullptr);
  CHECK(a != b);
  CHECK(a != c);
  t->SetMac(a, kMac, NeighborState::kStatic, 0);
  t->SetMac(b, kOtherMac, NeighborState::kReachable, 0);
  rte_ether_addr mac;
  REQUIRE(t->Lookup(1, Ip("10.1.0.2"), &mac));
  CHECK(SameMac(mac, kMac));
  REQUIRE(t->Lookup(2, Ip("10.1.0.2"), &mac));
  CHECK(SameMac(mac, kOtherMac));
  CHECK_FALSE(t->Lookup(1, Ip("10.1.0.3"), &mac));  // exists, unresolved
  CHECK_FALSE(t->Lookup(3, Ip("10.1.0.2"), &mac));  // not on that interface
  CHECK(t->Find(3, Ip("10.1.0.2")) == nullptr);
}

TEST_CASE("neighbours: Invalidate hides the MAC until it is learned again", "[tables][neighbor]") {
  auto t = NewTable();
  NeighborEntry* e = t->GetOrCreate(1, Ip("10.1.0.2"));
  REQUIRE(e != nullptr);
  t->SetMac(e, kMac, NeighborState::kReachable, 1);
  t->Invalidate(e);
  rte_ether_addr mac;
  CHECK_FALSE(t->Lookup(1, Ip("10.1.0.2"), &mac));
  CHECK(e->state == NeighborState::kIncomplete);
  CHECK(t->Find(1, Ip("10.1.0.2")) == e);  // still known: the next answer resolves it
  t->SetMac(e, kOtherMac, NeighborState::kReachable, 2);
  REQUIRE(t->Lookup(1, Ip("10.1.0.2"), &mac));
  CHECK(SameMac(mac, kOtherMac));
}

TEST_CASE("neighbours: Remove forgets the entry and frees the packets that waited",
          "[tables][neighbor]") {
  auto t = NewTable();
  rte_mempool* pool = test::TestPool();
  const unsigned avail = rte_mempool_avail_count(pool);
  NeighborEntry* e = t->GetOrCreate(1, Ip("10.1.0.2"));
  REQUIRE(e != nullptr);
  for (int i = 0; i < 3; ++i) e->pending[e->npending++] = rte_pktmbuf_alloc(pool);
  CHECK(rte_mempool_avail_count(pool) == avail - 3);
  t->SetMac(e, kMac, NeighborState::kReachable, 1);

  t->Remove(e);
  CHECK(rte_mempool_avail_count(pool) == avail);
  CHECK(e->npending == 0);
  rte_ether_addr mac;
  CHECK_FALSE(t->Lookup(1, Ip("10.1.0.2"), &mac));
  CHECK(t->Find(1, Ip("10.1.0.2")) == nullptr);
  int visited = 0;
  t->ForEach([&](NeighborEntry&) { ++visited; });
  CHECK(visited == 0);
}

TEST_CASE("neighbours: a removed entry's storage is reused only after Reclaim",
          "[tables][neighbor]") {
  auto t = NewTable();
  NeighborEntry* gone = t->GetOrCreate(1, Ip("10.1.0.2"));
  REQUIRE(gone != nullptr);
  t->Remove(gone);
  // Before the grace period a worker may still read it: a new neighbour gets other storage,
  // and the removed address can come back at once.
  NeighborEntry* other = t->GetOrCreate(1, Ip("10.1.0.3"));
  NeighborEntry* back = t->GetOrCreate(1, Ip("10.1.0.2"));
  REQUIRE(other != nullptr);
  REQUIRE(back != nullptr);
  CHECK(other != gone);
  CHECK(back != gone);
  t->SetMac(back, kMac, NeighborState::kReachable, 1);
  rte_ether_addr mac;
  CHECK(t->Lookup(1, Ip("10.1.0.2"), &mac));

  t->Reclaim();
  NeighborEntry* reused = t->GetOrCreate(2, Ip("10.1.0.4"));
  CHECK(reused == gone);
  CHECK(reused->state == NeighborState::kIncomplete);
  CHECK_FALSE(t->Lookup(2, Ip("10.1.0.4"), &mac));  // nothing of the old entry carries over
  CHECK(t->Lookup(1, Ip("10.1.0.2"), &mac));        // the re-added one is untouched
  CHECK(SameMac(mac, kMac));
}

TEST_CASE("neighbours: ForEach visits the live entries", "[tables][neighbor]") {
  auto t = NewTable();
  for (const char* ip : {"10.1.0.2", "10.1.0.3", "10.1.0.4"}) REQUIRE(t->GetOrCreate(1, Ip(ip)));
  t->Remove(t->Find(1, Ip("10.1.0.3")));
  std::set<uint32_t> seen;
  t->ForEach([&](NeighborEntry& e) { seen.insert(e.ip); });
  CHECK(seen == std::set<uint32_t>{Ip("10.1.0.2"), Ip("10.1.0.4")});
}

TEST_CASE("neighbours: at most kMaxNeighbors entries", "[tables][neighbor]") {
  auto t = NewTable();
  auto ip = [](uint32_t i) { return htonl(0x0a000000u + i); };
  for (uint32_t i = 0; i < kMaxNeighbors; ++i)
    if (t->GetOrCreate(1, ip(i)) == nullptr) FAIL("neighbour " << i << " refused");
  CHECK(t->GetOrCreate(1, ip(kMaxNeighbors)) == nullptr);
  CHECK(t->GetOrCreate(2, ip(0)) == nullptr);
  CHECK(t->Find(1, ip(kMaxNeighbors)) == nullptr);
  CHECK(t->GetOrCreate(1, ip(7)) == t->Find(1, ip(7)));  // existing ones are still found

  // A removal makes room only once its grace period has passed. (The same address comes back:
  // with every hash bucket full, another key may find no free bucket of its own.)
  t->Remove(t->Find(1, ip(0)));
  CHECK(t->GetOrCreate(1, ip(0)) == nullptr);
  t->Reclaim();
  NeighborEntry* e = t->GetOrCreate(1, ip(0));
  REQUIRE(e != nullptr);
  t->SetMac(e, kMac, NeighborState::kReachable, 1);
  rte_ether_addr mac;
  CHECK(t->Lookup(1, ip(0), &mac));
}

}  // namespace
}  // namespace portcullis::dp
