// The SAD: SAs keyed by (SPI, direction), inbound ones found by network-order SPI on the packet
// path, slots reused only after a grace period and ids never, replacement under the same SPI,
// and the limit.
#include "dataplane/tables/sa_table.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

constexpr uint32_t kCapacity = 8192;  // the default --max-sas

std::unique_ptr<SaTable> NewTable() {
  test::EnsureEal();
  static int n = 0;
  auto t = SaTable::Create(("ut_sad" + std::to_string(n++)).c_str(), kCapacity);
  REQUIRE(t.ok());
  return std::move(*t);
}

// An SA without key material: the table never looks at keys.
esp::SaPtr NewSa(uint32_t spi, bool inbound) {
  esp::SaConfig c;
  c.spi = spi;
  c.direction = inbound ? esp::Direction::kInbound : esp::Direction::kOutbound;
  c.family = AF_INET;
  c.cipher = esp::Cipher::kAesGcm128;
  c.enc_key_len = 16;
  auto sa = esp::AllocateSa(c);
  REQUIRE(sa.ok());
  return std::move(*sa);
}

SaEntry* Add(SaTable& t, uint32_t spi, bool inbound, uint16_t ifindex = 0, uint32_t reqid = 0,
             uint16_t owner = 0) {
  auto e = t.Add(NewSa(spi, inbound), inbound, ifindex, reqid, owner);
  REQUIRE(e.ok());
  return *e;
}

TEST_CASE("SAD: an inbound SA is found by SPI, by id and on the packet path", "[tables][sad]") {
  auto t = NewTable();
  SaEntry* e = Add(*t, 0x1001, /*inbound=*/true, /*ifindex=*/7, /*reqid=*/42, /*owner=*/3);
  CHECK(e->spi == 0x1001);
  CHECK(e->sa->spi == 0x1001);
  CHECK(e->inbound);
  CHECK(e->ifindex == 7);
  CHECK(e->reqid == 42);
  CHECK(e->owner == 3);
  CHECK(e->id != 0);
  CHECK(t->count() == 1);

  CHECK(t->Find(0x1001, true) == e);
  CHECK(t->ById(e->id) == e);
  CHECK(t->LookupInbound(htonl(0x1001)) == e);
  CHECK(t->LookupInbound(0x1001) == nullptr);  // the packet path passes the SPI as on the wire
  CHECK(t->Find(0x1001, false) == nullptr);
  CHECK(t->Find(0x1002, true) == nullptr);
  CHECK(t->ById(0) == nullptr);
  CHECK(t->ById(kCapacity) == nullptr);
}

TEST_CASE("SAD: outbound SAs are not in the inbound lookup; directions are separate keys",
          "[tables][sad]") {
  auto t = NewTable();
  SaEntry* out = Add(*t, 0x2001, /*inbound=*/false);
  CHECK(t->LookupInbound(htonl(0x2001)) == nullptr);
  CHECK(t->Find(0x2001, false) == out);
  CHECK(t->Find(0x2001, true) == nullptr);

  SaEntry* in = Add(*t, 0x2001, /*inbound=*/true);
  CHECK(in != out);
  CHECK(in->id != out->id);
  CHECK(t->Find(0x2001, true) == in);
  CHECK(t->Find(0x2001, false) == out);
  CHECK(t->LookupInbound(htonl(0x2001)) == in);
  CHECK(t->count() == 2);
}

TEST_CASE("SAD: adding an existing (SPI, direction) is refused", "[tables][sad]") {
  auto t = NewTable();
  SaEntry* first = Add(*t, 0x3001, true, 1, 10);
  auto again = t->Add(NewSa(0x3001, true), true, 2, 20, 0);
  CHECK(absl::IsAlreadyExists(again.status()));
  CHECK(t->count() == 1);
  CHECK(t->Find(0x3001, true) == first);
  CHECK(t->LookupInbound(htonl(0x3001)) == first);
  CHECK(first->ifindex == 1);
  CHECK(first->reqid == 10);
}

TEST_CASE("SAD: Remove unpublishes at once; the slot is reused only after Reclaim, the id never",
          "[tables][sad]") {
  auto t = NewTable();
  SaEntry* e = Add(*t, 0x4001, true);
  const uint32_t id = e->id;
  t->Remove(e);
  CHECK(t->count() == 0);
  CHECK(t->Find(0x4001, true) == nullptr);
  CHECK(t->LookupInbound(htonl(0x4001)) == nullptr);
  CHECK(t->ById(id) == nullptr);
  // A worker may still hold it until the grace period ends: it is still intact.
  CHECK(e->spi == 0x4001);
  CHECK(e->sa->spi == 0x4001);
  bool visited = false;
  t->ForEach([&](const SaEntry&) { visited = true; });
  CHECK_FALSE(visited);

  SaEntry* before = Add(*t, 0x4002, false);
  CHECK((before->id & (t->slots() - 1)) != (id & (t->slots() - 1)));
  t->Reclaim();
  SaEntry* after = Add(*t, 0x4003, false);
  CHECK((after->id & (t->slots() - 1)) == (id & (t->slots() - 1)));
  CHECK(t->ById(after->id) == after);
  // A handoff ring may still hold packets naming the old id: it must not find the newcomer.
  CHECK(after->id != id);
  CHECK(t->ById(id) == nullptr);
}

TEST_CASE("SAD: an SA replaced under the same SPI before the grace period", "[tables][sad]") {
  // What the applier does for an update: remove the old SA, add the new one, reclaim later.
  auto t = NewTable();
  SaEntry* old = Add(*t, 0x5001, true, 0, 1);
  t->Remove(old);
  SaEntry* fresh = Add(*t, 0x5001, true, 0, 2);
  CHECK(fresh != old);
  CHECK(t->LookupInbound(htonl(0x5001)) == fresh);
  t->Reclaim();  // frees the old SA's hash slot, not the new key
  CHECK(t->LookupInbound(htonl(0x5001)) == fresh);
  CHECK(t->Find(0x5001, true) == fresh);
  CHECK(t->Find(0x5001, true)->reqid == 2);
  CHECK(t->count() == 1);
}

TEST_CASE("SAD: ForEach visits every published SA once", "[tables][sad]") {
  auto t = NewTable();
  std::set<uint32_t> want;
  for (uint32_t spi = 0x6000; spi < 0x6010; ++spi) {
    Add(*t, spi, spi % 2 == 0);
    want.insert(spi);
  }
  t->Remove(t->Find(0x6003, false));
  want.erase(0x6003);
  std::multiset<uint32_t> seen;
  t->ForEach([&](const SaEntry& e) { seen.insert(e.spi); });
  CHECK(std::set<uint32_t>(seen.begin(), seen.end()) == want);
  CHECK(seen.size() == want.size());
  CHECK(t->count() == want.size());
}

TEST_CASE("SAD: full at its capacity; removed ones make room at once", "[tables][sad]") {
  auto t = NewTable();
  const uint32_t capacity = t->capacity();
  CHECK(capacity == kCapacity);
  // Inbound ones, so the packet-path hash is filled as well.
  for (uint32_t i = 0; i < capacity; ++i) {
    auto e = t->Add(NewSa(0x10000 + i, true), true, 0, 0, 0);
    if (!e.ok()) FAIL("SA " << i << ": " << e.status());
  }
  CHECK(t->count() == capacity);
  CHECK(t->CheckRoom(capacity, 0, 0).ok());
  CHECK(absl::IsResourceExhausted(t->CheckRoom(capacity + 1, 1, 1)));
  auto full = t->Add(NewSa(0x90000, true), true, 0, 0, 0);
  CHECK(absl::IsResourceExhausted(full.status()));
  CHECK(absl::IsResourceExhausted(t->Add(NewSa(0x90000, false), false, 0, 0, 0).status()));
  CHECK(t->count() == capacity);
  CHECK(t->Find(0x90000, true) == nullptr);
  CHECK(t->LookupInbound(htonl(0x90000)) == nullptr);
  CHECK(t->LookupInbound(htonl(0x10000 + capacity - 1)) != nullptr);

  // What one batch does at a full table: replace SAs and swap others for new SPIs, all before
  // the grace period frees anything. Every new key must get in, whatever its hash.
  for (uint32_t i = 0; i < 100; ++i) t->Remove(t->Find(0x10000 + i, true));
  CHECK(t->CheckRoom(capacity, 200, 200).ok());
  for (uint32_t i = 0; i < 100; ++i) {
    auto e = t->Add(NewSa(0x90000 + i, true), true, 0, 0, 0);
    if (!e.ok()) FAIL("new SA " << i << ": " << e.status());
  }
  for (uint32_t i = 100; i < 200; ++i) {
    SaEntry* old = t->Find(0x10000 + i, true);
    t->Remove(old);
    auto e = t->Add(NewSa(0x10000 + i, true), true, 0, 0, 0);
    if (!e.ok()) FAIL("replacement " << i << ": " << e.status());
  }
  CHECK(t->count() == capacity);
  t->Reclaim();
  for (uint32_t i = 0; i < 100; ++i) {
    CHECK(t->LookupInbound(htonl(0x90000 + i)) != nullptr);
    CHECK(t->LookupInbound(htonl(0x10000 + i)) == nullptr);
  }
  CHECK(t->LookupInbound(htonl(0x10000 + 150)) == t->Find(0x10000 + 150, true));
}

TEST_CASE("SAD: a flush and a full table's worth of new SAs fit before the grace period",
          "[tables][sad]") {
  auto t = NewTable();
  for (uint32_t i = 0; i < kCapacity; ++i) Add(*t, 0x20000 + i, i % 2 == 0);
  std::vector<SaEntry*> all;
  t->ForEach([&](const SaEntry& e) { all.push_back(const_cast<SaEntry*>(&e)); });
  for (SaEntry* e : all) t->Remove(e);
  CHECK(t->CheckRoom(kCapacity, kCapacity, kCapacity).ok());
  for (uint32_t i = 0; i < kCapacity; ++i) {
    auto e = t->Add(NewSa(0x40000 + i, true), true, 0, 0, 0);
    if (!e.ok()) FAIL("SA " << i << ": " << e.status());
  }
  t->Reclaim();
  CHECK(t->count() == kCapacity);
}

TEST_CASE("SAD: load counts the SAs each worker owns", "[tables][sad]") {
  auto t = NewTable();
  SaEntry* a = Add(*t, 0x7001, true, 0, 0, 1);
  Add(*t, 0x7002, false, 0, 0, 1);
  Add(*t, 0x7003, false, 0, 0, 2);
  CHECK(t->load(0) == 0);
  CHECK(t->load(1) == 2);
  CHECK(t->load(2) == 1);
  t->Remove(a);
  CHECK(t->load(1) == 1);
}

}  // namespace
}  // namespace portcullis::dp
