// ike/crypto/random.h: OpenSSL's DRBG by default; a test's ScopedRandomSource replaces it on
// its thread only, for every draw that can decide an IKE exchange (nonces, SPIs, DH keys).
#include <catch2/catch.hpp>

#include <cstdint>
#include <thread>
#include <vector>

#include "ike/crypto/dh_group.h"
#include "ike/crypto/random.h"

using namespace portcullis::ike;

namespace {

// Counts up from `start`, byte by byte: a source whose output the test can predict.
RandomSource Counter(uint8_t& next) {
  return [&next](absl::Span<uint8_t> out) {
    for (uint8_t& b : out) b = next++;
  };
}

std::vector<uint8_t> Draw(size_t n) {
  absl::StatusOr<std::vector<uint8_t>> r = RandomBytes(n);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("a scoped source replaces the DRBG on its thread until it goes", "[random]") {
  CHECK_FALSE(RandomSourceOverridden());
  uint8_t next = 1;
  {
    ScopedRandomSource s(Counter(next));
    CHECK(RandomSourceOverridden());
    CHECK(Draw(3) == std::vector<uint8_t>{1, 2, 3});
    absl::StatusOr<uint32_t> spi = RandomChildSpi();
    REQUIRE(spi.ok());
    CHECK(*spi == (0xc0000000u | 0x04050607u));  // charon's 0xc prefix kept
    uint8_t inner_next = 100;
    {
      ScopedRandomSource inner(Counter(inner_next));
      CHECK(Draw(2) == std::vector<uint8_t>{100, 101});
    }
    CHECK(Draw(1) == std::vector<uint8_t>{8});  // the outer one again
    // Another thread is not affected.
    bool other_overridden = true;
    std::thread t([&] { other_overridden = RandomSourceOverridden(); });
    t.join();
    CHECK_FALSE(other_overridden);
  }
  CHECK_FALSE(RandomSourceOverridden());
  // The DRBG again: two draws of 32 bytes differ (and are not the counter's).
  CHECK(Draw(32) != Draw(32));
}

TEST_CASE("DH key pairs from a scoped source repeat with it, in every family", "[random]") {
  for (DhGroup g : {DhGroup::kCurve25519, DhGroup::kEcp256, DhGroup::kEcp521, DhGroup::kModp2048}) {
    CAPTURE(static_cast<int>(g));
    std::vector<uint8_t> pub[2];
    for (int run = 0; run < 2; ++run) {
      uint8_t next = 7;
      ScopedRandomSource s(Counter(next));
      absl::StatusOr<std::unique_ptr<DhKeyPair>> kp = GenerateDhKeyPair(g);
      REQUIRE(kp.ok());
      pub[run].assign((*kp)->public_value().begin(), (*kp)->public_value().end());
      CHECK(next != 7);  // the key came from the source
    }
    CHECK(pub[0] == pub[1]);
    // And it is a working key: the exchange with a DRBG key agrees both ways.
    uint8_t next = 7;
    std::unique_ptr<DhKeyPair> seeded;
    {
      ScopedRandomSource s(Counter(next));
      seeded = *GenerateDhKeyPair(g);
    }
    std::unique_ptr<DhKeyPair> other = *GenerateDhKeyPair(g);
    absl::StatusOr<SecretBytes> x = seeded->ComputeSharedSecret(other->public_value());
    absl::StatusOr<SecretBytes> y = other->ComputeSharedSecret(seeded->public_value());
    REQUIRE(x.ok());
    REQUIRE(y.ok());
    CHECK(*x == *y);
  }
}
