// The session table on its own: canonical keys (both directions one entry), inserts and the
// race with another worker's, timeouts per protocol and state, expiry sweeps and their counts,
// and a full table counted.
#include "dataplane/tables/firewall_sessions.h"

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

std::unique_ptr<FwSessionTable> NewTable(uint32_t capacity) {
  test::EnsureEal();
  static int n = 0;
  auto t = FwSessionTable::Create("ut_fwsess" + std::to_string(n++), capacity, nullptr);
  REQUIRE(t.ok());
  return std::move(*t);
}

int32_t Find(const FwSessionTable& t, const FwSessionKey& k) {
  const FwSessionKey* keys[1] = {&k};
  int32_t pos = -1;
  t.Lookup(keys, 1, &pos);
  return pos;
}

}  // namespace

TEST_CASE("sessions: both directions of a flow have one key", "[firewall]") {
  bool a1, a2;
  const FwSessionKey k1 = MakeSessionKey(6, 0x0a000001, 1000, 0x0a000002, 80, &a1);
  const FwSessionKey k2 = MakeSessionKey(6, 0x0a000002, 80, 0x0a000001, 1000, &a2);
  CHECK(std::memcmp(&k1, &k2, sizeof k1) == 0);
  CHECK(a1 != a2);
  bool a3;
  const FwSessionKey k3 = MakeSessionKey(17, 0x0a000001, 1000, 0x0a000002, 80, &a3);
  CHECK(std::memcmp(&k1, &k3, sizeof k1) != 0);  // the protocol is part of it
}

TEST_CASE("sessions: the key's fields are the smaller endpoint's first, pad zero", "[firewall]") {
  // MakeSessionKey builds the key as two words in registers: each field where the struct
  // names it, whichever direction, and nothing but zero in the pad the hash reads.
  bool from_a;
  const FwSessionKey k = MakeSessionKey(17, 0x0b000001, 53, 0x0a000002, 40000, &from_a);
  CHECK(!from_a);  // (0x0a000002, 40000) is the smaller endpoint
  CHECK(k.a_addr == 0x0a000002);
  CHECK(k.a_port == 40000);
  CHECK(k.b_addr == 0x0b000001);
  CHECK(k.b_port == 53);
  CHECK(k.proto == 17);
  CHECK((k.pad[0] | k.pad[1] | k.pad[2]) == 0);
  // One address, the ports decide.
  const FwSessionKey e = MakeSessionKey(6, 0x0a000001, 2000, 0x0a000001, 1000, &from_a);
  CHECK(!from_a);
  CHECK(e.a_addr == 0x0a000001);
  CHECK(e.a_port == 1000);
  CHECK(e.b_port == 2000);
  CHECK(e.proto == 6);
  CHECK(sizeof(FwSession) == 64);  // one cache line per session
}

TEST_CASE("sessions: the key from a header's words is MakeSessionKey's, hash too", "[firewall]") {
  // SessionKeyOfWords (the usual packet's parse) against MakeSessionKey field by field: random
  // endpoints, and ones that differ only in the address's or the port's low or high bits,
  // equal addresses, equal endpoints.
  uint64_t x = 0x9e3779b97f4a7c15;
  auto next = [&x]() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 20000; ++i) {
    const uint64_t r = next(), q = next();
    uint32_t src = static_cast<uint32_t>(r), dst = static_cast<uint32_t>(r >> 32);
    uint16_t sport = static_cast<uint16_t>(q), dport = static_cast<uint16_t>(q >> 16);
    switch (i % 5) {
      case 1:
        dst = src ^ (1u << (q >> 59));
        break;  // one address bit apart
      case 2:
        dst = src;
        break;  // ports decide
      case 3:
        dst = src, dport = sport ^ (1u << (q >> 60));
        break;
      case 4:
        dst = src, dport = sport;
        break;  // one endpoint
      default:
        break;
    }
    const uint8_t proto = static_cast<uint8_t>(q >> 40);
    bool want_a, got_a;
    uint32_t want_h, got_h;
    const FwSessionKey want = MakeSessionKey(proto, src, sport, dst, dport, &want_a, &want_h);
    const FwSessionKey got = SessionKeyOfWords(proto, src | (uint64_t{dst} << 32),
                                               sport | (uint32_t{dport} << 16), &got_a, &got_h);
    INFO("pair " << i);
    REQUIRE(std::memcmp(&want, &got, sizeof want) == 0);
    REQUIRE(want_a == got_a);
    REQUIRE(want_h == got_h);
    REQUIRE(got_h == FwKeyHash(got));
  }
}

TEST_CASE("sessions: insert, find, expire by timeout, counts", "[firewall]") {
  auto t = NewTable(1024);
  const uint64_t hz = rte_get_tsc_hz();
  t->SetTimeouts({100 * hz, 10 * hz, 5 * hz, 50 * hz, 3 * hz, 7 * hz});
  bool from_a;
  const FwSessionKey tcp = MakeSessionKey(6, 1, 1000, 2, 80, &from_a);
  const FwSessionKey udp = MakeSessionKey(17, 1, 1000, 2, 53, &from_a);
  const FwSessionKey gre = MakeSessionKey(47, 1, 0, 2, 0, &from_a);
  CHECK(Find(*t, tcp) == -1);
  const uint64_t now = 1000 * hz;
  const int32_t p = t->Insert(0, tcp, true, TcpState::kSynSent, now);
  REQUIRE(p >= 0);
  CHECK(Find(*t, tcp) == p);
  CHECK(t->Insert(1, tcp, false, TcpState::kSynSent, now) == p);  // the other worker's race
  REQUIRE(t->Insert(1, udp, true, TcpState::kNone, now) >= 0);
  REQUIRE(t->Insert(1, gre, true, TcpState::kNone, now) >= 0);
  CHECK(t->created() == 3);
  CHECK(t->active() == 3);
  // Transitory TCP (10 s), unanswered UDP (5 s), other (7 s).
  CHECK(t->Timeout(t->At(p)) == 10 * hz);
  t->At(p).tcp_state.store(static_cast<uint8_t>(TcpState::kEstablished));
  CHECK(t->Timeout(t->At(p)) == 100 * hz);
  CHECK(t->Expire(now + 6 * hz, t->slots()) == 1);  // UDP
  CHECK(Find(*t, udp) == -1);
  CHECK(t->Expire(now + 8 * hz, t->slots()) == 1);   // GRE
  CHECK(t->Expire(now + 99 * hz, t->slots()) == 0);  // established TCP stays
  t->At(p).last_tsc.store(now + 99 * hz);            // a packet refreshed it
  CHECK(t->Expire(now + 150 * hz, t->slots()) == 0);
  CHECK(t->Expire(now + 200 * hz, t->slots()) == 1);
  CHECK(t->active() == 0);
  CHECK(t->expired() == 3);
}

TEST_CASE("sessions: a full table refuses and counts; clearing empties it", "[firewall]") {
  auto t = NewTable(256);
  bool from_a;
  uint32_t made = 0;
  for (uint32_t i = 0; i < 100000; ++i) {
    const FwSessionKey k = MakeSessionKey(17, i, 1, 0xffffffff, 2, &from_a);
    if (t->Insert(0, k, from_a, TcpState::kNone, 1) < 0) break;
    ++made;
  }
  CHECK(made >= 256);
  CHECK(made < 100000);
  CHECK(t->table_full() == 1);
  t->Clear();
  CHECK(t->active() == 0);
  const FwSessionKey k = MakeSessionKey(17, 0, 1, 0xffffffff, 2, &from_a);
  CHECK(Find(*t, k) == -1);
}

TEST_CASE("sessions: the key hash is rte_hash's, so one computation serves both", "[firewall]") {
  bool fa;
  const FwSessionKey k = MakeSessionKey(6, 0x0a000001, 40000, 0xc6336405, 443, &fa);
  CHECK(FwKeyHash(k) == rte_hash_crc(&k, sizeof k, 0));
  uint8_t x[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  uint8_t y[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const FwSessionKey6 k6 = MakeSessionKey6(17, x, 53, y, 5353, &fa);
  CHECK(FwKeyHash(k6) == rte_hash_crc(&k6, sizeof k6, 0));
  CHECK(FwKeyHash(k6, 7) == rte_hash_crc(&k6, sizeof k6, 7));
}

TEST_CASE("sessions: a worker's cached position never stands for a later session there",
          "[firewall]") {
  // With lock-free readers a deleted position comes back only through the RCU defer queue:
  // a QSBR variable no reader holds, so each grace period is over at once.
  test::EnsureEal();
  const size_t rcu_size = rte_rcu_qsbr_get_memsize(1);
  auto* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("ut_fwsess_rcu", rcu_size, 64));
  REQUIRE(rcu != nullptr);
  REQUIRE(rte_rcu_qsbr_init(rcu, 1) == 0);
  auto made = FwSessionTable::Create("ut_fwsess_reuse", 64, rcu);
  REQUIRE(made.ok());
  auto t = std::move(*made);
  bool fa;
  const FwSessionKey k1 = MakeSessionKey(17, 1, 1000, 2, 53, &fa);
  const int32_t p1 = t->Insert(0, k1, fa, TcpState::kNone, 1);
  REQUIRE(p1 >= 0);
  const FwSessionKey* keys[1] = {&k1};
  int32_t got = -1;
  t->Lookup(uint16_t{0}, keys, 1, &got);  // now in worker 0's cache
  CHECK(got == p1);
  t->Lookup(uint16_t{1}, keys, 1, &got);  // worker 1 finds it too (a miss there, then cached)
  CHECK(got == p1);
  // Deleted; other sessions made until one takes the first one's position (no RCU here: a
  // deleted position is handed out again at once, in the table's own order).
  t->Clear();
  t->Lookup(uint16_t{0}, keys, 1, &got);
  CHECK(got == -1);
  FwSessionKey k2{};
  int32_t p2 = -1;
  for (uint16_t port = 1; port < 1000 && p2 != p1; ++port) {
    k2 = MakeSessionKey(17, 3, port, 4, 53, &fa);
    p2 = t->Insert(1, k2, fa, TcpState::kNone, 1);
    REQUIRE(p2 >= 0);
    if (p2 != p1) t->Clear();  // the others go again (the first flow's stays in the cache)
  }
  REQUIRE(p2 == p1);
  for (uint16_t w : {uint16_t{0}, uint16_t{1}}) {
    t->Lookup(w, keys, 1, &got);
    CHECK(got == -1);
  }
  const FwSessionKey* keys2[1] = {&k2};
  t->Lookup(uint16_t{0}, keys2, 1, &got);
  CHECK(got == p2);
  // The first flow again: a new session, found by both workers.
  const int32_t p3 = t->Insert(0, k1, fa, TcpState::kNone, 1);
  REQUIRE(p3 >= 0);
  for (uint16_t w : {uint16_t{0}, uint16_t{1}}) {
    t->Lookup(w, keys, 1, &got);
    CHECK(got == p3);
  }
  t.reset();
  rte_free(rcu);
}

TEST_CASE("sessions: a backed-off cache still learns on one skipped lookup in eight",
          "[firewall]") {
  auto t = NewTable(1024);
  FwSessionTable& s = *t;
  bool fa;
  // Sessions worker 1 made (so in its cache only): worker 0 finds none of the first 256 in
  // its own cache, a failed window (FwAdaptiveProbe) that backs it off for kRest lookups.
  std::vector<FwSessionKey> seen, later;
  for (uint16_t p = 1; p <= 256; ++p) seen.push_back(MakeSessionKey(17, 1, p, 2, 53, &fa));
  for (uint16_t p = 1; p <= FwAdaptiveProbe::kRest; ++p)
    later.push_back(MakeSessionKey(17, 3, p, 4, 53, &fa));
  for (const auto* keys : {&seen, &later})
    for (const FwSessionKey& k : *keys) REQUIRE(s.Insert(1, k, fa, TcpState::kNone, 1) >= 0);
  s.ResetCacheAdaptive();
  for (size_t i = 0; i < seen.size(); i += 32) {
    const FwSessionKey* keys[32];
    int32_t pos[32];
    for (size_t k = 0; k < 32; ++k) keys[k] = &seen[i + k];
    s.Lookup(uint16_t{0}, keys, 32, pos);
    for (size_t k = 0; k < 32; ++k) REQUIRE(pos[k] >= 0);
  }
  // Backed off: the next kRest lookups go straight to rte_hash, and every kSample-th of them
  // remembers what it found; the others leave the cache alone.
  for (uint32_t j = 0; j < FwAdaptiveProbe::kRest; ++j) {
    const FwSessionKey* keys[1] = {&later[j]};
    int32_t pos = -1;
    s.Lookup(uint16_t{0}, keys, 1, &pos);
    REQUIRE(pos >= 0);
  }
  int learnt = 0;
  for (uint32_t j = 0; j < FwAdaptiveProbe::kRest; ++j) {
    const bool sampled = (j + 1) % FwAdaptiveProbe::kSample == 0;
    CHECK(s.Cached(0, later[j]) == sampled);
    learnt += s.Cached(0, later[j]);
  }
  CHECK(learnt == FwAdaptiveProbe::kRest / FwAdaptiveProbe::kSample);
  // A probing lookup (the back-off over) remembers as before.
  CHECK(!s.Cached(0, later[0]));
  const FwSessionKey* keys[1] = {&later[0]};
  int32_t pos = -1;
  s.Lookup(uint16_t{0}, keys, 1, &pos);
  CHECK(pos >= 0);
  CHECK(s.Cached(0, later[0]));
}

TEST_CASE("the session counters agree with the hash and the live flags") {
  auto t = NewTable(64);
  FwSessionTable& s = *t;
  bool fa;
  for (uint16_t p = 1; p <= 10; ++p)
    REQUIRE(s.Insert(0, MakeSessionKey(17, 1, p, 2, 53, &fa), fa, TcpState::kNone, 1) >= 0);
  CHECK(s.HashKeys() == 10);
  CHECK(s.LiveFlags() == 10);
  CHECK(s.active() == 10);
  s.Expire(~uint64_t{0} / 2, s.slots());
  CHECK(s.HashKeys() == 0);
  CHECK(s.LiveFlags() == 0);
  CHECK(s.active() == 0);
}

}  // namespace portcullis::dp

namespace portcullis::dp {

TEST_CASE("sessions: IPv6 keys built in registers equal the keys built field by field",
          "[firewall][ipv6]") {
  // The reference: the struct filled as its fields say, the smaller (address, port) first
  // by memcmp of the addresses, then the ports.
  auto reference = [](uint8_t proto, const uint8_t* src, uint16_t sport, const uint8_t* dst,
                      uint16_t dport, bool* from_a) {
    FwSessionKey6 k{};
    k.proto = proto;
    const int c = std::memcmp(src, dst, 16);
    *from_a = c < 0 || (c == 0 && sport <= dport);
    std::memcpy(k.a_addr, *from_a ? src : dst, 16);
    std::memcpy(k.b_addr, *from_a ? dst : src, 16);
    k.a_port = *from_a ? sport : dport;
    k.b_port = *from_a ? dport : sport;
    return k;
  };
  uint32_t seed = 12345;
  auto next = [&seed]() { return seed = seed * 1103515245u + 12345u; };
  for (int i = 0; i < 20000; ++i) {
    uint8_t x[16], y[16];
    for (int b = 0; b < 16; ++b) x[b] = static_cast<uint8_t>(next() >> 16);
    // Addresses that share a prefix of any length, or are equal: every byte decides somewhere.
    const int same = static_cast<int>(next() >> 16) % 17;
    std::memcpy(y, x, same);
    for (int b = same; b < 16; ++b) y[b] = static_cast<uint8_t>(next() >> 16);
    const uint16_t sp = static_cast<uint16_t>(next() >> 16),
                   dp = (i & 7) == 0 ? sp : static_cast<uint16_t>(next() >> 16);
    const uint8_t proto = static_cast<uint8_t>(next() >> 24);
    bool fa, fr;
    uint32_t h;
    const FwSessionKey6 k = MakeSessionKey6(proto, x, sp, y, dp, &fa, &h);
    const FwSessionKey6 r = reference(proto, x, sp, y, dp, &fr);
    INFO("case " << i);
    REQUIRE(std::memcmp(&k, &r, sizeof k) == 0);
    REQUIRE(fa == fr);
    // The hash from the words in registers is the table's (rte_hash_crc over the key).
    REQUIRE(h == rte_hash_crc(&r, sizeof r, 0));
    // IPv4's the same way, from the first words of the addresses.
    uint32_t s4, d4, h4;
    std::memcpy(&s4, x, 4);
    std::memcpy(&d4, y, 4);
    bool fa4;
    const FwSessionKey k4 = MakeSessionKey(proto, s4, sp, d4, dp, &fa4, &h4);
    REQUIRE(h4 == rte_hash_crc(&k4, sizeof k4, 0));
  }
}

TEST_CASE("sessions: IPv6 keys, canonical both ways, in a table of their own", "[firewall][ipv6]") {
  uint8_t x[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1}, y[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};
  bool a1, a2;
  const FwSessionKey6 k1 = MakeSessionKey6(6, x, 1000, y, 80, &a1);
  const FwSessionKey6 k2 = MakeSessionKey6(6, y, 80, x, 1000, &a2);
  CHECK(std::memcmp(&k1, &k2, sizeof k1) == 0);
  CHECK(a1 != a2);
  // Addresses decide before ports: the same address both ends, the ports then.
  bool a3, a4;
  const FwSessionKey6 k3 = MakeSessionKey6(17, x, 9, x, 5, &a3);
  const FwSessionKey6 k4 = MakeSessionKey6(17, x, 5, x, 9, &a4);
  CHECK(std::memcmp(&k3, &k4, sizeof k3) == 0);
  CHECK(a3 != a4);
  test::EnsureEal();
  auto t = FwSessionTable::Create("ut_fwsess6", 256, nullptr, sizeof(FwSessionKey6));
  REQUIRE(t.ok());
  FwSessionTable& s = **t;
  const uint64_t hz = rte_get_tsc_hz();
  s.SetTimeouts({100 * hz, 10 * hz, 5 * hz, 50 * hz, 3 * hz, 7 * hz});
  const uint64_t now = rte_rdtsc();
  const int32_t pos = s.Insert(0, k1, a1, TcpState::kSynSent, now);
  REQUIRE(pos >= 0);
  const FwSessionKey6* keys[2] = {&k2, &k3};
  int32_t found[2];
  s.Lookup(keys, 2, found);
  CHECK(found[0] == pos);
  CHECK(found[1] == -1);
  // ICMPv6 sessions take ICMP's timeout.
  bool ae;
  const FwSessionKey6 echo = MakeSessionKey6(58, x, 7, y, 7, &ae);
  const int32_t ep = s.Insert(0, echo, ae, TcpState::kNone, now);
  REQUIRE(ep >= 0);
  CHECK(s.Timeout(s.At(ep)) == 3 * hz);
  CHECK(s.active() == 2);
  CHECK(s.Expire(now + 4 * hz, s.slots()) == 1);   // the echo's
  CHECK(s.Expire(now + 11 * hz, s.slots()) == 1);  // the SYN-SENT TCP's (transitory)
  CHECK(s.active() == 0);
  CHECK(s.HashKeys() == 0);
}

}  // namespace portcullis::dp
