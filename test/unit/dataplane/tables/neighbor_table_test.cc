// ARP neighbours: (interface, IPv4) -> MAC, visible to workers only once resolved; the
// primitives ageing uses (invalidate, remove with the packets that waited, reclaim after a
// grace period); the table's limit and what it evicts there; the caps on waiting packets. The
// ageing timers themselves are mgmt/slow_path's.
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

constexpr uint32_t kMaxNeighbors = 4096;  // the default --max-neighbors

uint32_t Ip(const char* s) {
  uint32_t a = 0;
  REQUIRE(inet_pton(AF_INET, s, &a) == 1);
  return a;
}

std::unique_ptr<NeighborTable> NewTable() {
  test::EnsureEal();
  static int n = 0;
  auto t = NeighborTable::Create(("ut_nbr" + std::to_string(n++)).c_str(), kMaxNeighbors);
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
  for (int i = 0; i < 3; ++i)
    REQUIRE(t->Hold(e, rte_pktmbuf_alloc(pool)) == NeighborTable::HoldResult::kHeld);
  CHECK(rte_mempool_avail_count(pool) == avail - 3);
  CHECK(t->held() == 3);
  t->SetMac(e, kMac, NeighborState::kReachable, 1);

  CHECK(t->Remove(e) == 3);
  CHECK(rte_mempool_avail_count(pool) == avail);
  CHECK(e->npending == 0);
  CHECK(t->held() == 0);
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

uint32_t Nth(uint32_t i) {
  return htonl(0x0a000000u + i);
}

TEST_CASE(
    "neighbours: a full table evicts the oldest unresolved entry, then the least recently "
    "confirmed, never a static one",
    "[tables][neighbor]") {
  auto t = NewTable();
  // Static first, then resolved ones (confirmed in order), then unresolved ones.
  const uint32_t nstatic = 10, nresolved = 1000;
  for (uint32_t i = 0; i < kMaxNeighbors; ++i) {
    NeighborEntry* e = t->GetOrCreate(1, Nth(i));
    if (e == nullptr) FAIL("neighbour " << i << " refused");
    if (i < nstatic) t->SetMac(e, kMac, NeighborState::kStatic, 0);
    if (i >= nstatic && i < nstatic + nresolved) t->SetMac(e, kMac, NeighborState::kReachable, i);
  }
  CHECK(t->size() == kMaxNeighbors);
  // Confirming an old resolved entry again makes it the most recent.
  t->SetMac(t->Find(1, Nth(nstatic)), kOtherMac, NeighborState::kReachable, 99999);

  // Every new neighbour gets in; the unresolved make way first, oldest first.
  const uint32_t unresolved = kMaxNeighbors - nstatic - nresolved;
  for (uint32_t i = 0; i < unresolved; ++i) {
    NeighborEntry* e = t->GetOrCreate(2, Nth(i));
    if (e == nullptr) FAIL("new neighbour " << i << " refused");
    t->SetMac(e, kMac, NeighborState::kReachable, 100000 + i);
    if (i == 0) CHECK(t->Find(1, Nth(nstatic + nresolved)) == nullptr);
    if (i == 0) CHECK(t->Find(1, Nth(nstatic + nresolved + 1)) != nullptr);
    if ((i + 1) % 512 == 0) t->Reclaim();  // a grace period now and then, as the slow path has
  }
  CHECK(t->evictions() == unresolved);
  // Then the least recently confirmed: the second resolved one (the first was confirmed again).
  REQUIRE(t->GetOrCreate(3, Nth(0)) != nullptr);
  CHECK(t->Find(1, Nth(nstatic + 1)) == nullptr);
  CHECK(t->Find(1, Nth(nstatic)) != nullptr);
  // Static entries stay whatever comes.
  for (uint32_t i = 1; i < 2000; ++i) {
    if (t->GetOrCreate(3, Nth(i)) == nullptr) {
      REQUIRE(t->NeedsReclaim());
      t->Reclaim();
      REQUIRE(t->GetOrCreate(3, Nth(i)) != nullptr);
    }
  }
  for (uint32_t i = 0; i < nstatic; ++i) CHECK(t->Find(1, Nth(i)) != nullptr);
  CHECK(t->size() == kMaxNeighbors);
  rte_ether_addr mac;
  CHECK(t->Lookup(1, Nth(0), &mac));
}

TEST_CASE("neighbours: at a full table 100 new addresses all get in before a grace period",
          "[tables][neighbor]") {
  // Sized exactly to the limit, the hash refused 67 of 100 new keys after one removal.
  auto t = NewTable();
  for (uint32_t i = 0; i < kMaxNeighbors; ++i) REQUIRE(t->GetOrCreate(1, Nth(i)) != nullptr);
  t->Remove(t->Find(1, Nth(5)));
  uint32_t refused = 0;
  for (uint32_t i = 0; i < 100; ++i)
    if (t->GetOrCreate(7, Nth(0x100000 + i)) == nullptr) ++refused;
  CHECK(refused == 0);
  CHECK(t->size() == kMaxNeighbors);
  for (uint32_t i = 0; i < 100; ++i) CHECK(t->Find(7, Nth(0x100000 + i)) != nullptr);
}

TEST_CASE("neighbours: only static entries make a full table refuse", "[tables][neighbor]") {
  auto t = NewTable();
  for (uint32_t i = 0; i < kMaxNeighbors; ++i)
    t->SetMac(t->GetOrCreate(1, Nth(i)), kMac, NeighborState::kStatic, 0);
  CHECK(t->GetOrCreate(1, Nth(kMaxNeighbors)) == nullptr);
  CHECK_FALSE(t->NeedsReclaim());
  CHECK(t->GetOrCreate(1, Nth(7)) == t->Find(1, Nth(7)));  // existing ones are still found
}

TEST_CASE("neighbours: waiting packets are capped per entry and over the table",
          "[tables][neighbor]") {
  auto t = NewTable();
  rte_mempool* pool = test::TestPool();
  const unsigned avail = rte_mempool_avail_count(pool);
  NeighborEntry* one = t->GetOrCreate(1, Nth(1));
  for (int i = 0; i < NeighborEntry::kMaxPending; ++i)
    REQUIRE(t->Hold(one, rte_pktmbuf_alloc(pool)) == NeighborTable::HoldResult::kHeld);
  rte_mbuf* extra = rte_pktmbuf_alloc(pool);
  CHECK(t->Hold(one, extra) == NeighborTable::HoldResult::kEntryFull);
  uint32_t i = 2;
  while (t->held() < kMaxHeldPackets) {
    NeighborEntry* e = t->GetOrCreate(1, Nth(i++));
    REQUIRE(e != nullptr);
    while (e->npending < NeighborEntry::kMaxPending && t->held() < kMaxHeldPackets)
      REQUIRE(t->Hold(e, rte_pktmbuf_alloc(pool)) == NeighborTable::HoldResult::kHeld);
  }
  NeighborEntry* late = t->GetOrCreate(1, Nth(i));
  CHECK(t->Hold(late, extra) == NeighborTable::HoldResult::kTableFull);
  rte_pktmbuf_free(extra);
  CHECK(rte_mempool_avail_count(pool) == avail - kMaxHeldPackets);
  // Released packets leave the count.
  std::vector<rte_mbuf*> out;
  t->Release(one, [&](rte_mbuf* m) { out.push_back(m); });
  CHECK(out.size() == NeighborEntry::kMaxPending);
  CHECK(t->held() == kMaxHeldPackets - NeighborEntry::kMaxPending);
  for (rte_mbuf* m : out) rte_pktmbuf_free(m);
  t.reset();  // frees what is still held
  CHECK(rte_mempool_avail_count(pool) == avail);
}

}  // namespace
}  // namespace portcullis::dp
