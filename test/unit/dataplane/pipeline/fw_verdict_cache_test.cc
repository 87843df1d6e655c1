// The worker's verdict cache on its own: an entry answers only for its key, chain tag and
// state byte, holds two chains' answers, and a bucket the two newest keys (the back-off that
// keeps a miss-bound workload off the probes: fw_adaptive_probe_test.cc).
#include "dataplane/pipeline/fw_verdict_cache.h"

#include <catch2/catch.hpp>

#include "dataplane/tables/firewall_acl.h"
#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

FwKey Key(uint16_t sport, uint8_t state = 0) {
  FwKey k{17, {state, 0, 0}, 0x0a01000a, 0x0a02000a, sport, 5001};
  return k;
}

}  // namespace

TEST_CASE("verdict cache: an entry answers for its key, chain and state only", "[firewall]") {
  test::EnsureEal();  // the cache is on DPDK memory
  FwVerdictCache<FwKey> c;
  const FwKey k = Key(1024);
  const uint32_t h = FwVerdictCache<FwKey>::Hash(k);
  CHECK(c.Find(k, 7, h) == nullptr);
  c.Remember(h, k, 7, 42);
  const uint32_t* r = c.Find(k, 7, h);
  REQUIRE(r != nullptr);
  CHECK(*r == 42);
  const FwKey other_state = Key(1024, kFwCatEstablished);
  CHECK(c.Find(other_state, 7, FwVerdictCache<FwKey>::Hash(other_state)) == nullptr);
  CHECK(c.Find(k, 8, h) == nullptr);  // another chain
  const FwKey other_port = Key(1025);
  CHECK(c.Find(other_port, 7, FwVerdictCache<FwKey>::Hash(other_port)) == nullptr);
}

TEST_CASE("verdict cache: an entry holds two chains' answers, the older displaced by a third",
          "[firewall]") {
  test::EnsureEal();  // the cache is on DPDK memory
  FwVerdictCache<FwKey> c;
  const FwKey k = Key(1024);
  const uint32_t h = FwVerdictCache<FwKey>::Hash(k);
  c.Remember(h, k, 7, 42);
  c.Remember(h, k, 8, 43);
  REQUIRE(c.Find(k, 7, h) != nullptr);
  REQUIRE(c.Find(k, 8, h) != nullptr);
  CHECK(*c.Find(k, 7, h) == 42);
  CHECK(*c.Find(k, 8, h) == 43);
  c.Remember(h, k, 7, 44);  // a chain's answer again: replaced in its place
  CHECK(*c.Find(k, 7, h) == 44);
  CHECK(*c.Find(k, 8, h) == 43);
  // A third chain displaces the older slot's (7's: refreshed in place, it did not move up).
  c.Remember(h, k, 9, 45);
  REQUIRE(c.Find(k, 9, h) != nullptr);
  CHECK(*c.Find(k, 9, h) == 45);
  CHECK(c.Find(k, 7, h) == nullptr);
  REQUIRE(c.Find(k, 8, h) != nullptr);
  CHECK(*c.Find(k, 8, h) == 43);
}

TEST_CASE("verdict cache: a bucket keeps the two newest keys, each with its chains", "[firewall]") {
  test::EnsureEal();
  FwVerdictCache<FwKey> c(2);  // one bucket: every key meets there
  const FwKey a = Key(1), b = Key(2), d = Key(3);
  c.Remember(FwVerdictCache<FwKey>::Hash(a), a, 7, 1);
  c.Remember(FwVerdictCache<FwKey>::Hash(b), b, 7, 2);
  c.Remember(FwVerdictCache<FwKey>::Hash(a), a, 8, 3);  // a's entry, another chain
  CHECK(*c.Find(a, 7, FwVerdictCache<FwKey>::Hash(a)) == 1);
  CHECK(*c.Find(a, 8, FwVerdictCache<FwKey>::Hash(a)) == 3);
  CHECK(*c.Find(b, 7, FwVerdictCache<FwKey>::Hash(b)) == 2);
  // d displaces the older way (a's: found in its place, it did not move up), chains and all.
  c.Remember(FwVerdictCache<FwKey>::Hash(d), d, 7, 4);
  CHECK(*c.Find(d, 7, FwVerdictCache<FwKey>::Hash(d)) == 4);
  CHECK(c.Find(a, 7, FwVerdictCache<FwKey>::Hash(a)) == nullptr);
  CHECK(c.Find(a, 8, FwVerdictCache<FwKey>::Hash(a)) == nullptr);
  CHECK(*c.Find(b, 7, FwVerdictCache<FwKey>::Hash(b)) == 2);
  CHECK(sizeof(FwVerdictCache<FwKey>::Bucket) == 64);
  CHECK(alignof(FwVerdictCache<FwKey>::Bucket) == 64);
}

}  // namespace portcullis::dp
