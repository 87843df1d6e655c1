#include "drivers/ethdev/eal_lcores.h"

#include <catch2/catch.hpp>

namespace portcullis::drivers::ethdev {
namespace {

unsigned Count(std::vector<std::string> eal) {
  auto n = CountEalLcores(eal);
  REQUIRE(n.ok());
  return *n;
}

TEST_CASE("Lcore lists in every EAL spelling are counted") {
  CHECK(Count({"prog", "--no-huge"}) == 0);
  CHECK(Count({"prog", "-l", "0,1"}) == 2);
  CHECK(Count({"prog", "-l", "0-3"}) == 4);
  CHECK(Count({"prog", "-l0-1,4"}) == 3);
  CHECK(Count({"prog", "-l", "1,1"}) == 1);
  CHECK(Count({"prog", "--lcores", "0@0,1@1,2@0"}) == 3);
  CHECK(Count({"prog", "--lcores=(0-2)@(0,1)"}) == 3);
  CHECK(Count({"prog", "--lcores", "0,1@2,(3,4)@(0-1)"}) == 4);
  CHECK(Count({"prog", "-c", "0x7"}) == 3);
  CHECK(Count({"prog", "-c", "f0"}) == 4);
}

TEST_CASE("Malformed lcore lists are errors, not guesses") {
  CHECK_FALSE(CountEalLcores({"prog", "-l", "a-b"}).ok());
  CHECK_FALSE(CountEalLcores({"prog", "-l", "3-1"}).ok());
  CHECK_FALSE(CountEalLcores({"prog", "-l"}).ok());
  CHECK_FALSE(CountEalLcores({"prog", "--lcores", "(0-1@0"}).ok());
  CHECK_FALSE(CountEalLcores({"prog", "-c", "0"}).ok());
}

TEST_CASE("A worker count becomes an lcore map over the allowed CPUs") {
  CHECK(LcoreMapForWorkers(1, {0, 1}) == "0@1,1@0");
  CHECK(LcoreMapForWorkers(2, {0, 1}) == "0@0,1@0,2@1");
  CHECK(LcoreMapForWorkers(3, {4, 5, 6, 7}) == "0@7,1@4,2@5,3@6");
  CHECK(LcoreMapForWorkers(1, {3}) == "0@3,1@3");
  auto n = CountEalLcores({"prog", "--lcores", LcoreMapForWorkers(3, {0, 1})});
  REQUIRE(n.ok());
  CHECK(*n == 4);
}

}  // namespace
}  // namespace portcullis::drivers::ethdev
