// The per-source IKE limiter: a source's burst, then its rate; classes and sources apart; a
// bounded table that forgets quiet sources first.
#include "dataplane/pipeline/ike_limiter.h"

#include <arpa/inet.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
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
TEST_CASE("IPv6 sources are keyed by their /64, unpredictably to senders") {
  auto a6 = [](const char* s) {
    std::array<uint8_t, 16> a{};
    REQUIRE(inet_pton(AF_INET6, s, a.data()) == 1);
    return a;
  };
  const uint64_t seed = 0x0123456789abcdefull;
  // One /64 is one source, whatever interface identifiers its host picks.
  CHECK(IkeSourceKey6(a6("2001:db8:1::1").data(), seed) ==
        IkeSourceKey6(a6("2001:db8:1::ffff:1234:5678").data(), seed));
  // Addresses whose 32-bit words XOR to the same value (what the first key was) in two /64s:
  // different keys, so one cannot be picked to share the other's budget.
  const auto v = a6("2001:db8:1::1"), w = a6("2001:db8:2:0:3:1::");
  uint32_t fv = 0, fw = 0;
  for (int i = 0; i < 4; ++i) {
    uint32_t x, y;
    std::memcpy(&x, v.data() + 4 * i, 4);
    std::memcpy(&y, w.data() + 4 * i, 4);
    fv ^= x;
    fw ^= y;
  }
  REQUIRE(fv == fw);
  CHECK(IkeSourceKey6(v.data(), seed) != IkeSourceKey6(w.data(), seed));
  // The seed changes the key (it is drawn at start).
  CHECK(IkeSourceKey6(v.data(), seed) != IkeSourceKey6(v.data(), seed + 1));
}

}  // namespace portcullis::dp
