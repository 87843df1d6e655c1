// The per-source IKE limiter: a source's burst, then its rate; classes and sources apart; a
// bounded table that forgets quiet sources first.
#include "dataplane/pipeline/ike_limiter.h"

#include <catch2/catch.hpp>
#include <memory>

namespace portcullis::dp {
namespace {

constexpr uint64_t kHz = 1'000'000;  // one tick per microsecond

uint32_t Admitted(IkeLimiter& l, uint32_t src, bool established, uint64_t now, int tries) {
  uint32_t n = 0;
  for (int i = 0; i < tries; ++i) n += l.Admit(src, established, now);
  return n;
}

TEST_CASE("IKE limiter: a burst per source, then its rate", "[pipeline][ike]") {
  auto l = std::make_unique<IkeLimiter>(kHz);
  const uint64_t t0 = 5 * kHz;
  CHECK(Admitted(*l, 0x0a000001, false, t0, 1000) == IkeLimiter::kNew.burst);
  // A second later, a second's worth more.
  CHECK(Admitted(*l, 0x0a000001, false, t0 + kHz, 1000) == IkeLimiter::kNew.per_second);
  // Established IKE SAs of the same source have their own, larger share.
  CHECK(Admitted(*l, 0x0a000001, true, t0 + kHz, 1000) == IkeLimiter::kEstablished.burst);
  // Another source is not affected.
  CHECK(Admitted(*l, 0x0a000002, false, t0 + kHz, 1000) == IkeLimiter::kNew.burst);
  // A source that stays within its rate is never refused.
  for (uint64_t k = 0; k < 100; ++k)
    CHECK(l->Admit(0x0a000003, false, t0 + k * kHz / IkeLimiter::kNew.per_second));
}

TEST_CASE("IKE limiter: fixed memory, a flooding source keeps its way", "[pipeline][ike]") {
  auto l = std::make_unique<IkeLimiter>(kHz);
  const uint64_t t0 = 5 * kHz;
  const uint32_t flooder = 0xc0000266;
  CHECK(Admitted(*l, flooder, false, t0, 1000) == IkeLimiter::kNew.burst);
  // Many other sources, each once, while the flood goes on: the flooder, active all along,
  // is not the one forgotten, so it stays limited.
  uint64_t now = t0;
  uint32_t flood_admitted = 0;
  for (uint32_t s = 1; s <= 20000; ++s) {
    now += 1;
    CHECK(l->Admit(0x0b000000 + s, false, now));  // every new source gets in
    flood_admitted += l->Admit(flooder, false, now);
  }
  // 20 ms of flooding earns it a third of one datagram at 16/s.
  CHECK(flood_admitted == 0);
}

}  // namespace
}  // namespace portcullis::dp
