// The back-off both firewall caches use (the session positions, the verdicts): it doubles
// while windows keep failing and comes back when one pays.
#include "dataplane/tables/fw_adaptive_probe.h"

#include <catch2/catch.hpp>

namespace portcullis::dp {
namespace {

// Runs skipped before the cache is probed again.
uint32_t Skipped(FwAdaptiveProbe& p) {
  uint32_t n = 0;
  while (!p.Use()) ++n;
  return n;
}

// One failed window: 256 keys probed, none found.
void FailWindow(FwAdaptiveProbe& p) {
  for (int r = 0; r < 4; ++r) p.Count(64, 64);
}

}  // namespace

TEST_CASE("adaptive probe: the back-off doubles while windows fail, resets when one pays",
          "[firewall]") {
  FwAdaptiveProbe p;
  CHECK(p.Use());
  p.Count(200, 0);  // under a window: nothing decided yet
  CHECK(Skipped(p) == 0);
  p.Count(56, 56);  // 256 keys, 200 found: the cache pays
  CHECK(Skipped(p) == 0);
  FailWindow(p);
  CHECK(Skipped(p) == 32);
  FailWindow(p);
  CHECK(Skipped(p) == 64);
  for (int i = 0; i < 10; ++i) {
    FailWindow(p);
    Skipped(p);
  }
  CHECK(p.backoff() == 1024);  // the cap
  FailWindow(p);
  CHECK(Skipped(p) == 1024);
  // A window that pays: the next failure skips kRest again.
  for (int r = 0; r < 4; ++r) p.Count(64, 0);
  CHECK(p.backoff() == 32);
  FailWindow(p);
  CHECK(Skipped(p) == 32);
  p.Reset();
  CHECK(p.Use());
  CHECK(p.backoff() == 32);
}

TEST_CASE("adaptive probe: exactly a quarter found keeps probing", "[firewall]") {
  FwAdaptiveProbe p;
  p.Count(256, 192);  // 64 of 256 found: not under a quarter
  CHECK(Skipped(p) == 0);
  p.Count(256, 193);  // 63 found: under
  CHECK(Skipped(p) == 32);
}

TEST_CASE("adaptive probe: one skipped run in eight still remembers", "[firewall]") {
  FwAdaptiveProbe p;
  FailWindow(p);
  int sampled = 0, skipped = 0;
  while (!p.Use()) {
    ++skipped;
    if (p.Sample()) ++sampled;
  }
  CHECK(skipped == 32);
  CHECK(sampled == 32 / 8);
}

}  // namespace portcullis::dp
