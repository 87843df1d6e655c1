// DhKeyPool: key pairs made on a worker thread, handed out once each, through
// GenerateDhKeyPair; without Start nothing is pooled.
#include "ike/crypto/dh_key_pool.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

using namespace portcullis::ike;

namespace {

bool WaitMade(uint64_t n) {
  for (int i = 0; i < 2000; ++i) {
    if (DhKeyPool::GetStats().made >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::vector<uint8_t> Pub(const DhKeyPair& k) {
  return {k.public_value().begin(), k.public_value().end()};
}

}  // namespace

TEST_CASE("without Start, GenerateDhKeyPair makes the pair itself", "[dh][pool]") {
  CHECK(DhKeyPool::Take(DhGroup::kCurve25519) == nullptr);
  auto kp = GenerateDhKeyPair(DhGroup::kCurve25519);
  REQUIRE(kp.ok());
  CHECK(DhKeyPool::GetStats().taken == 0);
}

TEST_CASE("the pool stocks the groups asked for and hands each pair out once", "[dh][pool]") {
  DhKeyPool::Start(1, 4);
  // The first request finds nothing ready: it is made on the caller's thread, and the group is
  // stocked from then on.
  auto first = GenerateDhKeyPair(DhGroup::kCurve25519);
  REQUIRE(first.ok());
  CHECK(DhKeyPool::GetStats().missed == 1);
  REQUIRE(WaitMade(4));
  std::set<std::vector<uint8_t>> seen = {Pub(**first)};
  std::vector<std::unique_ptr<DhKeyPair>> pairs;
  for (int i = 0; i < 4; ++i) {
    auto kp = GenerateDhKeyPair(DhGroup::kCurve25519);
    REQUIRE(kp.ok());
    CHECK(seen.insert(Pub(**kp)).second);  // never the same pair twice
    pairs.push_back(*std::move(kp));
  }
  CHECK(DhKeyPool::GetStats().taken == 4);
  // Pooled pairs are ordinary ones: two of them agree on a shared secret.
  auto ab = pairs[0]->ComputeSharedSecret(pairs[1]->public_value());
  auto ba = pairs[1]->ComputeSharedSecret(pairs[0]->public_value());
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(*ab == *ba);
  // Another group is stocked once it is asked for; MODP too.
  CHECK(DhKeyPool::Take(DhGroup::kModp2048) == nullptr);
  REQUIRE(WaitMade(8 + 4));
  auto modp = DhKeyPool::Take(DhGroup::kModp2048);
  REQUIRE(modp != nullptr);
  CHECK(modp->group() == DhGroup::kModp2048);
  CHECK(modp->public_value().size() == 256);
  DhKeyPool::Stop();
  CHECK(DhKeyPool::Take(DhGroup::kCurve25519) == nullptr);
}
