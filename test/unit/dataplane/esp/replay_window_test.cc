// The anti-replay window at its edges, ESN inference across the 2^32 boundary, and a property
// test against a plain reference model (a set of seen numbers).
#include "dataplane/esp/replay_window.h"

#include <catch2/catch.hpp>
#include <random>
#include <set>

using portcullis::dp::esp::ReplayWindow;
using V = ReplayWindow::Verdict;

namespace {
V Accept(ReplayWindow& w, uint64_t seq) {
  V v = w.Check(seq);
  if (v != V::kOk) return v;
  return w.Update(seq);
}
}  // namespace

TEST_CASE("window edges", "[replay]") {
  ReplayWindow w;
  w.Init(64);
  CHECK(Accept(w, 0) == V::kTooOld);  // 0 is never sent
  CHECK(Accept(w, 1) == V::kOk);
  CHECK(Accept(w, 1) == V::kReplayed);  // in-window duplicate
  CHECK(Accept(w, 100) == V::kOk);      // jump ahead
  CHECK(w.top() == 100);
  CHECK(Accept(w, 37) == V::kOk);  // exactly the left edge: 100 - 63
  CHECK(Accept(w, 37) == V::kReplayed);
  CHECK(Accept(w, 36) == V::kTooOld);  // just left of the edge
  CHECK(Accept(w, 99) == V::kOk);
  CHECK(Accept(w, 100) == V::kReplayed);
  // A far jump clears the whole window.
  CHECK(Accept(w, 1000000) == V::kOk);
  CHECK(Accept(w, 999999) == V::kOk);
  CHECK(Accept(w, 1000000 - 63) == V::kOk);
  CHECK(Accept(w, 1000000 - 64) == V::kTooOld);
}

TEST_CASE("a duplicate inside one burst is caught at update time", "[replay]") {
  ReplayWindow w;
  w.Init(1024);
  CHECK(w.Check(5) == V::kOk);
  CHECK(w.Check(5) == V::kOk);  // both copies pass the pre-decryption check
  CHECK(w.Update(5) == V::kOk);
  CHECK(w.Update(5) == V::kReplayed);
  // And one that the window passed by while it was being decrypted.
  CHECK(w.Check(6) == V::kOk);
  CHECK(w.Update(6 + 5000) == V::kOk);
  CHECK(w.Update(6) == V::kTooOld);
}

TEST_CASE("window sizes up to 4096", "[replay]") {
  ReplayWindow one;  // a window of one: only the newest packet is remembered
  one.Init(1);
  CHECK(Accept(one, 10) == V::kOk);
  CHECK(Accept(one, 10) == V::kReplayed);
  CHECK(Accept(one, 9) == V::kTooOld);
  CHECK(Accept(one, 11) == V::kOk);
  for (uint32_t size : {2u, 32u, 64u, 65u, 1000u, 1024u, 4096u}) {
    ReplayWindow w;
    w.Init(size);
    uint64_t top = 10000;
    CHECK(Accept(w, top) == V::kOk);
    CHECK(Accept(w, top - size + 1) == V::kOk);
    CHECK(Accept(w, top - size) == V::kTooOld);
    CHECK(Accept(w, top - size + 1) == V::kReplayed);
  }
}

TEST_CASE("no window: everything new passes, the top is tracked", "[replay]") {
  ReplayWindow w;
  w.Init(0);
  CHECK(Accept(w, 5) == V::kOk);
  CHECK(Accept(w, 5) == V::kOk);
  CHECK(Accept(w, 1) == V::kOk);
  CHECK(w.top() == 5);
  CHECK(Accept(w, 0) == V::kTooOld);
}

TEST_CASE("ESN: high bits inferred across the 2^32 wrap (RFC 4303 A.2.2)", "[replay][esn]") {
  const uint64_t k32 = uint64_t{1} << 32;
  ReplayWindow w;
  w.Init(128, k32 - 10);                       // Case A: the window lies in subspace 0
  CHECK(w.InferEsn(0xfffffff0u) == k32 - 16);  // inside the window: same subspace
  CHECK(w.InferEsn(5) == k32 + 5);             // small low bits: the next subspace
  CHECK(Accept(w, w.InferEsn(5)) == V::kOk);   // the window moves into subspace 1
  CHECK(w.top() == k32 + 5);
  // Case B: the window now spans both subspaces.
  CHECK(w.InferEsn(0xfffffff0u) == k32 - 16);  // still the previous subspace
  CHECK(Accept(w, w.InferEsn(0xfffffff0u)) == V::kOk);
  CHECK(Accept(w, w.InferEsn(0xfffffff0u)) == V::kReplayed);
  CHECK(w.InferEsn(3) == k32 + 3);
  CHECK(Accept(w, w.InferEsn(3)) == V::kOk);
  CHECK(w.InferEsn(100) == k32 + 100);
  // Before anything is received, a number from "before subspace 0" is refused.
  ReplayWindow fresh;
  fresh.Init(1024);
  CHECK(fresh.InferEsn(0xffffff00u) == 0);
  CHECK(fresh.InferEsn(1) == 1);
}

TEST_CASE("property: the window agrees with a reference model", "[replay][property]") {
  std::mt19937_64 rng(20261122);
  for (uint32_t size : {32u, 64u, 100u, 1024u, 4096u}) {
    for (bool esn : {false, true}) {
      ReplayWindow w;
      const uint64_t start = esn ? (uint64_t{1} << 32) - 3000 : 1;
      w.Init(size, start - 1);
      std::set<uint64_t> seen;
      uint64_t top = start - 1;
      uint64_t sent = start;
      for (int i = 0; i < 20000; ++i) {
        // Mostly in order, with reordering, duplicates and jumps.
        uint64_t seq;
        int r = static_cast<int>(rng() % 100);
        if (r < 70) {
          seq = sent++;
        } else if (r < 85) {
          uint64_t back = rng() % (size + size / 2 + 2);
          seq = sent > back + 1 ? sent - back : 1;
        } else if (r < 95) {
          seq = sent > 1 ? sent - 1 : 1;  // duplicate of the last
        } else {
          sent += rng() % (3 * size);
          seq = sent++;
        }
        // What the receiver sees on the wire is the low 32 bits with ESN.
        uint64_t got = esn ? w.InferEsn(static_cast<uint32_t>(seq)) : seq;
        V expect;
        if (seq == 0) {
          expect = V::kTooOld;
        } else if (seq > top) {
          expect = V::kOk;
        } else if (top - seq >= size) {
          expect = V::kTooOld;
        } else {
          expect = seen.count(seq) ? V::kReplayed : V::kOk;
        }
        INFO("size " << size << " esn " << esn << " seq " << seq << " top " << top);
        if (esn && expect == V::kTooOld && got != seq) {
          // More than a window behind looks like 2^32 ahead; only the ICV, computed with the
          // inferred high bits, tells them apart (RFC 4303 A.2.2). No update happens then.
          continue;
        }
        if (esn) REQUIRE(got == seq);
        V v = Accept(w, got);
        REQUIRE(v == expect);
        if (v == V::kOk) {
          seen.insert(seq);
          if (seq > top) top = seq;
          while (!seen.empty() && *seen.begin() + size <= top) seen.erase(seen.begin());
        }
      }
      CHECK(w.top() == top);
    }
  }
}
