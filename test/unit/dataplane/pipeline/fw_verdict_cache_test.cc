// The worker's verdict cache on its own: an entry answers only for its key, chain tag and
// state byte, and the back-off that keeps a miss-bound workload off the probes doubles while
// windows keep failing and comes back when one pays.
#include "dataplane/pipeline/fw_verdict_cache.h"

#include <catch2/catch.hpp>

#include "dataplane/tables/firewall_acl.h"

namespace portcullis::dp {
namespace {

FwKey Key(uint16_t sport, uint8_t state = 0) {
  FwKey k{17, {state, 0, 0}, 0x0a01000a, 0x0a02000a, sport, 5001};
  return k;
}

// Runs skipped before the cache is probed again.
uint32_t Skipped(FwVerdictCache<FwKey>& c) {
  uint32_t n = 0;
  while (!c.Use()) ++n;
  return n;
}

// One failed window: 256 keys probed, none found.
void FailWindow(FwVerdictCache<FwKey>& c) {
  for (int r = 0; r < 4; ++r) c.Count(64, 64);
}

}  // namespace

TEST_CASE("verdict cache: an entry answers for its key, chain and state only", "[firewall]") {
  FwVerdictCache<FwKey> c;
  const FwKey k = Key(1024);
  const uint32_t h = FwVerdictCache<FwKey>::Hash(k, 7);
  CHECK(c.Find(k, 7, h) == nullptr);
  c.Remember(h, k, 7, 42);
  const auto* e = c.Find(k, 7, h);
  REQUIRE(e != nullptr);
  CHECK(e->result == 42);
  const FwKey other_state = Key(1024, kFwCatEstablished);
  CHECK(c.Find(other_state, 7, FwVerdictCache<FwKey>::Hash(other_state, 7)) == nullptr);
  CHECK(c.Find(k, 8, FwVerdictCache<FwKey>::Hash(k, 8)) == nullptr);  // another chain
  const FwKey other_port = Key(1025);
  CHECK(c.Find(other_port, 7, FwVerdictCache<FwKey>::Hash(other_port, 7)) == nullptr);
}

TEST_CASE("verdict cache: the back-off doubles while windows fail, resets when one pays",
          "[firewall]") {
  FwVerdictCache<FwKey> c;
  CHECK(c.Use());
  c.Count(200, 0);  // under a window: nothing decided yet
  CHECK(Skipped(c) == 0);
  c.Count(56, 56);  // 256 keys, 200 found: the cache pays
  CHECK(Skipped(c) == 0);
  FailWindow(c);
  CHECK(Skipped(c) == 32);
  FailWindow(c);
  CHECK(Skipped(c) == 64);
  for (int i = 0; i < 10; ++i) {
    FailWindow(c);
    Skipped(c);
  }
  CHECK(c.backoff() == 1024);  // the cap
  FailWindow(c);
  CHECK(Skipped(c) == 1024);
  // A window that pays: the next failure skips kRest again.
  for (int r = 0; r < 4; ++r) c.Count(64, 0);
  CHECK(c.backoff() == 32);
  FailWindow(c);
  CHECK(Skipped(c) == 32);
  c.ResetAdaptive();
  CHECK(c.Use());
  CHECK(c.backoff() == 32);
}

}  // namespace portcullis::dp
