// The SPI draw both SA installers share (their get-SPI): charon's 0xc prefix, so never below
// 256, drawn again while the caller says the SPI is in use, and giving up rather than spinning.
#include <catch2/catch.hpp>

#include "control/vpnd/sa_installer.h"

using namespace portcullis;

TEST_CASE("the SPI draw skips SPIs in use and gives up when none is free", "[vpnd][sa][spi]") {
  std::vector<uint32_t> offered;
  absl::StatusOr<uint32_t> spi = vpnd::DrawChildSpi([&](uint32_t s) {
    offered.push_back(s);
    return offered.size() <= 3;  // the first three are taken
  });
  REQUIRE(spi.ok());
  REQUIRE(offered.size() == 4);
  CHECK(*spi == offered[3]);
  for (uint32_t s : offered) {
    CHECK(s >= 256);
    CHECK(s >> 28 == 0xc);
  }
  absl::StatusOr<uint32_t> none = vpnd::DrawChildSpi([](uint32_t) { return true; });
  CHECK(absl::IsResourceExhausted(none.status()));
  absl::StatusOr<uint32_t> any = vpnd::DrawChildSpi();
  REQUIRE(any.ok());
  CHECK(*any >> 28 == 0xc);
}
