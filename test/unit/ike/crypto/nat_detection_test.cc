// NAT detection hashes (RFC 7296 2.23). The expected digests were computed once with Python's
// hashlib over SPIi | SPIr | address | port, an implementation independent of this one.
#include "ike/crypto/nat_detection.h"

#include <catch2/catch.hpp>

#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::ToHex;

namespace {
constexpr IkeSpi kSpiI = {0x65, 0x96, 0x7e, 0xb4, 0xbe, 0xab, 0x85, 0x49};
constexpr IkeSpi kSpiR = {0x1e, 0xac, 0xdf, 0xa5, 0xf9, 0x26, 0xb9, 0xa3};
}  // namespace

TEST_CASE("NAT detection hash over IPv4 and IPv6 endpoints", "[nat]") {
  // IKE_SA_INIT request: SPIr is still zero.
  auto h1 = ComputeNatDetectionHash(kSpiI, IkeSpi{}, FromHex("c0000201"), 500);
  REQUIRE(h1.ok());
  CHECK(ToHex(*h1) == "b7d546865146ea7673b8a1fda9c064a60e3f83fb");
  auto h2 = ComputeNatDetectionHash(kSpiI, kSpiR, FromHex("c6336407"), 4500);
  REQUIRE(h2.ok());
  CHECK(ToHex(*h2) == "720b73884309b8f6e8bf58b9e858d0aa4797538d");
  auto h3 = ComputeNatDetectionHash(kSpiI, kSpiR, FromHex("20010db8000000000000000000000001"), 500);
  REQUIRE(h3.ok());
  CHECK(ToHex(*h3) == "68112da8b6542ae8f679de3103b91b0b97844a17");
  // A NAT that rewrites the port changes the hash.
  auto h4 = ComputeNatDetectionHash(kSpiI, kSpiR, FromHex("c6336407"), 4501);
  REQUIRE(h4.ok());
  CHECK(*h4 != *h2);
}

TEST_CASE("NAT detection needs a 4 or 16 byte address", "[nat]") {
  CHECK_FALSE(ComputeNatDetectionHash(kSpiI, kSpiR, FromHex("c00002"), 500).ok());
  CHECK_FALSE(ComputeNatDetectionHash(kSpiI, kSpiR, {}, 500).ok());
}
