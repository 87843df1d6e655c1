// The SAD: SAs keyed by (SPI, direction), inbound ones found by network-order SPI on the packet
// path, ids reused only after a grace period, replacement under the same SPI, and the limit.
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

std::unique_ptr<SaTable> NewTable() {
  test::EnsureEal();
  static int n = 0;
  auto t = SaTable::Create(("ut_sad" + std::to_string(n++)).c_str());
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
  CHECK(e->id < kMaxSas);
  CHECK(t->count() == 1);

  CHECK(t->Find(0x1001, true) == e);
  CHECK(t->ById(e->id) == e);
  CHECK(t->LookupInbound(htonl(0x1001)) == e);
  CHECK(t->LookupInbound(0x1001) == nullptr);  // the packet path passes the SPI as on the wire
  CHECK(t->Find(0x1001, false) == nullptr);
  CHECK(t->Find(0x1002, true) == nullptr);
  CHECK(t->ById(0) == nullptr);
  CHECK(t->ById(kMaxSas) == nullptr);
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

TEST_CASE("SAD: Remove unpublishes at once; the id is reused only after Reclaim", "[tables][sad]") {
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
  CHECK(before->id != id);
  t->Reclaim();
  SaEntry* after = Add(*t, 0x4003, false);
  CHECK(after->id == id);
  CHECK(t->ById(id) == after);
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

TEST_CASE("SAD: full at kMaxSas - 1 SAs, with room again after a removal", "[tables][sad]") {
  auto t = NewTable();
  const uint32_t capacity = kMaxSas - 1;  // id 0 names no SA
  // Inbound ones, so the packet-path hash is filled as well.
  for (uint32_t i = 0; i < capacity; ++i) {
    auto e = t->Add(NewSa(0x10000 + i, true), true, 0, 0, 0);
    if (!e.ok()) FAIL("SA " << i << ": " << e.status());
  }
  CHECK(t->count() == capacity);
  auto full = t->Add(NewSa(0x90000, true), true, 0, 0, 0);
  CHECK(absl::IsResourceExhausted(full.status()));
  CHECK(absl::IsResourceExhausted(t->Add(NewSa(0x90000, false), false, 0, 0, 0).status()));
  CHECK(t->count() == capacity);
  CHECK(t->Find(0x90000, true) == nullptr);
  CHECK(t->LookupInbound(htonl(0x90000)) == nullptr);
  CHECK(t->LookupInbound(htonl(0x10000 + capacity - 1)) != nullptr);

  // Room again once the removed SA's grace period has passed. (Its own SPI comes back: with the
  // hash nearly full, another key may find no free bucket of its own.)
  t->Remove(t->Find(0x10000, true));
  CHECK(absl::IsResourceExhausted(t->Add(NewSa(0x10000, true), true, 0, 0, 0).status()));
  t->Reclaim();
  SaEntry* e = Add(*t, 0x10000, true);
  CHECK(t->LookupInbound(htonl(0x10000)) == e);
  CHECK(t->count() == capacity);
}

}  // namespace
}  // namespace portcullis::dp
