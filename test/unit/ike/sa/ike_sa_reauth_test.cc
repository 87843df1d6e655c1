// Make-before-break reauthentication (IkeSaConfig::reauth, `security vpn ike make-before-break`):
// at the end of the IKE lifetime a new IKE SA with new CHILD SAs is set up beside the old ones,
// which go only once it is complete. Neither end may ever be without an SA for a tunnel or send
// with one the other end cannot decrypt (Recorder::gaps, Pair::unsendable).
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

// A pair with two tunnels; A reauthenticates within 30..45 s, B (unless `both`) not before an
// hour.
struct ReauthPair : Pair {
  explicit ReauthPair(bool both = false) {
    for (auto* c : {&ca, &cb}) {
      ChildConfig t2 = (*c)->children[0];
      t2.name = (*c)->name + "-tunnel-2";
      t2.tunnel_id = 2;
      t2.reqid = 2;
      t2.local_ts = {Ts(c == &ca ? "10.1.1.0/24" : "10.2.1.0/24")};
      t2.remote_ts = {Ts(c == &ca ? "10.2.1.0/24" : "10.1.1.0/24")};
      (*c)->children.push_back(t2);
    }
    ca->reauth = true;
    ca->ike_lifetime = 60;
    cb->ike_lifetime = both ? 60 : 3600;
    cb->reauth = both;
    if (both) {
      cb->initiate = true;
      cb->remote_any = false;
    }
    Up();
    net.Advance(absl::Seconds(1));
  }
  // Both ends on one IKE SA (not the first) with both tunnels, every SA of the first IKE SA
  // gone, and no moment without an SA or (`exact`) with one the other end lacks.
  void CheckReplaced(bool exact = true) {
    INFO(a.log.All() << "---\n" << b.log.All());
    INFO(absl::StrJoin(unsendable_at, "\n"));
    REQUIRE(a.mgr->Sas().size() == 1);
    REQUIRE(b.mgr->Sas().size() == 1);
    const IkeSa* x = a.mgr->Sas()[0];
    const IkeSa* y = b.mgr->Sas()[0];
    CHECK(x->unique_id() > 1);
    CHECK(x->spi_i() == y->spi_i());
    CHECK(x->keys.sk_d == y->keys.sk_d);
    REQUIRE(x->children().size() == 2);
    REQUIRE(y->children().size() == 2);
    for (const auto& c : x->children()) {
      CHECK(c->outbound_active);
      CHECK(c->state == ChildSa::State::kInstalled);
      CHECK(std::find(first_a.begin(), first_a.end(), c->spi_in) == first_a.end());
    }
    for (const auto& c : y->children()) CHECK(c->outbound_active);
    CHECK(a.rec.gaps + b.rec.gaps == 0);
    if (exact) CHECK(unsendable == 0);
    CHECK(a.rec.child_up - a.rec.child_down == 2);
    CHECK(b.rec.child_up - b.rec.child_down == 2);
  }
  std::vector<uint32_t> first_a;
  void Remember() {
    REQUIRE(a.Only() != nullptr);
    REQUIRE(a.Only()->children().size() == 2);
    for (const auto& c : a.Only()->children()) first_a.push_back(c->spi_in);
  }
};

}  // namespace

TEST_CASE("make-before-break reauthentication: new IKE and CHILD SAs first, then the old go",
          "[ike_sa][reauth]") {
  ReauthPair p;
  p.Remember();
  const IkeSa* old = p.a.Only();
  CHECK(old->rekey_at() <= p.net.now + absl::Seconds(45));
  // Step to the moment the new IKE SA has both CHILD SAs, and look before the old one goes.
  bool seen_both = false;
  for (int i = 0; i < 100 && !p.a.log.Has("reauthenticated it with 2 CHILD_SAs"); ++i) {
    p.net.now += absl::Seconds(1);
    for (auto& [addr, n] : p.net.nodes) n->mgr->Tick();
    while (p.net.DeliverOne()) {
      if (p.a.mgr->Sas().size() == 2 && p.b.mgr->Sas().size() == 2) seen_both = true;
    }
  }
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(seen_both);  // old and new IKE SAs side by side
  CHECK(
      p.a.log.Has("reauthenticating IKE_SA peer-192.0.2.2[1] make-before-break: "
                  "peer-192.0.2.2[2] replaces it"));
  CHECK(
      p.a.log.Has("IKE_SA peer-192.0.2.2[2] reauthenticated it with 2 CHILD_SAs "
                  "(make-before-break), deleting IKE_SA peer-192.0.2.2[1]"));
  // The new IKE SA made a fresh start: IKE_SA_INIT, IKE_AUTH without INITIAL_CONTACT (the old
  // SA's CHILD SAs must survive until it is deleted), one CREATE_CHILD_SA.
  CHECK(p.a.log.Has("IKE_AUTH request 1 [ IDi IDr AUTH SA TSi TSr"));
  CHECK_FALSE(p.b.log.Has("INITIAL_CONTACT: it has forgotten"));
  p.net.Advance(absl::Seconds(5));
  p.CheckReplaced();
  // The new IKE SA reauthenticates in its turn.
  p.first_a.clear();
  p.Remember();
  p.net.Advance(absl::Seconds(50));
  p.CheckReplaced();
}

TEST_CASE("make-before-break reauthentication with its messages lost and retransmitted",
          "[ike_sa][reauth]") {
  ReauthPair p;
  p.Remember();
  // Every third datagram from the moment it starts is lost once.
  int n = 0;
  p.net.drop = [&](const Datagram&) {
    return p.a.log.Has("reauthenticating IKE_SA") && ++n % 3 == 0 && n < 30;
  };
  p.net.Advance(absl::Seconds(120));
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(5));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.a.log.Has("retransmit"));
  p.CheckReplaced();
}

TEST_CASE("a reauthentication that fails leaves the old IKE SA up and is tried again",
          "[ike_sa][reauth]") {
  ReauthPair p;
  p.Remember();
  const IkeSa* old = p.a.Only();
  // B answers nothing of the new IKE SA (its IKE_SA_INITs are lost).
  p.net.drop = [](const Datagram& d) { return IsRequest(d, 34); };
  p.net.Advance(absl::Seconds(45 + 170), absl::Seconds(1));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.a.log.Has("reauthentication failed, trying again in 30s"));
  REQUIRE(p.a.Only() == old);
  CHECK(old->children().size() == 2);
  CHECK(p.a.rec.child_down == 0);
  p.net.drop = nullptr;
  p.net.Advance(absl::Seconds(40));
  p.CheckReplaced();
}

// Messages delivered in order. The reauthentications send nothing with an SA the other end
// lacks; the pair's first set-up, where both ends initiate at once too, still does for a moment
// (2 such moments, one per end, tunnel 1, in each of the 16 rounds: open, simultaneous
// initiation with the tunnel not yet carrying traffic), so those are not counted.
TEST_CASE("both ends reauthenticate at once: one IKE SA is left, no tunnel ever without an SA",
          "[ike_sa][reauth]") {
  for (int i = 0; i < 16; ++i) {
    ReauthPair p(/*both=*/true);
    p.Remember();
    const int setup = p.unsendable;  // both ends initiated the first IKE SA too
    Mutable(p.a.Only()).ScheduleIkeRekey(absl::Seconds(1));
    Mutable(p.b.Only()).ScheduleIkeRekey(absl::Seconds(1));
    p.net.Advance(absl::Seconds(2));
    p.net.Advance(absl::Seconds(20));
    p.net.Advance(absl::Seconds(10));
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    CHECK(p.a.log.Has("reauthenticating IKE_SA"));
    CHECK(p.b.log.Has("reauthenticating IKE_SA"));
    p.CheckReplaced(/*exact=*/false);
    CHECK(p.unsendable == setup);
  }
}

// The soak's forced collisions (`--rekey_fuzz 0`, equal lifetimes): both ends reauthenticate
// at the same moment, and the CHILD SAs, made when the old IKE SA was, are rekeyed at that moment
// too (45 s of a 60 s IKE SA, 22.5 + 22.5 s of 30 s CHILD SAs). Their messages are delivered in
// random orders, a few lost. After every datagram no end may send a tunnel's traffic with an SA
// the other end lacks (Pair::unsendable, counted from the moment both tunnels were up), nor be
// left without an SA for it; in the end one IKE SA with both tunnels is left on both ends.
// Each order's nonces, SPIs and DH keys come from its seed too (SeededRandom), so an order
// repeats exactly: a failing seed is replayed alone with REAUTH_SEEDS=N (REAUTH_SUMMARY=1 prints
// a line per order, REAUTH_TRACE=1 each datagram with both ends' log lines and tunnel bindings).
// Session 10's rules (an end sends nothing more with an IKE SA's CHILD SAs once its Delete for
// that IKE SA goes out, MoveTunnelsOff; our reauthentication's new IKE SA that lost as a
// duplicate never deletes the old one; one abandoned for the peer's leaves the old one marked as
// being replaced) took main's IKE from 52-63 failing orders of 200 to about 1 in 1,000. Two more
// (session 11, IkeManager::IkeUp): an IKE SA whose Delete we queued (a reauthentication's old
// one, its Delete behind a request in flight) is no duplicate to keep, and two IKE SAs are
// duplicates when one was made before the other came up, however long its exchanges took.
// Besides seeds 1-200 the orders that failed before them run every time (kRegressions).
TEST_CASE("simultaneous reauthentications and CHILD rekeys in random orders lose nothing",
          "[ike_sa][reauth][race]") {
  int duplicates = 0, child_collisions = 0;
  // Orders that failed with session 10's rules (seeds 1-3800; with the key pool 1-3000): 441
  // (the old SA, its Delete queued, kept as a duplicate: both ends sent with the old SA's CHILD
  // SAs the peer had rekeyed), 502, 1895; with the key pool 309, 502, 1081, 1578, 1957, 2422,
  // 2967. Still failing (open): 2388 without the key pool (two IKE SAs left after a third
  // round of reauthentications).
  static constexpr uint32_t kRegressions[] = {309, 441, 502, 1081, 1578, 1895, 1957, 2422, 2967};
  std::vector<uint32_t> seeds;
  for (uint32_t s = 1; s <= 200; ++s) seeds.push_back(s);
  seeds.insert(seeds.end(), std::begin(kRegressions), std::end(kRegressions));
  if (const char* e = std::getenv("REAUTH_SEEDS"); e != nullptr && e[0] != '\0') {
    const uint32_t first = static_cast<uint32_t>(std::atoi(e));
    const char* dash = std::strchr(e, '-');
    const uint32_t last = dash ? static_cast<uint32_t>(std::atoi(dash + 1)) : first;
    seeds.clear();
    for (uint32_t s = first; s <= last; ++s) seeds.push_back(s);
  }
  const bool trace = std::getenv("REAUTH_TRACE") != nullptr;
  for (uint32_t seed : seeds) {
    CAPTURE(seed);
    INFO("replay this order alone: REAUTH_SEEDS=" << seed << " (REAUTH_TRACE=1 for a trace)");
    std::mt19937 rng(seed);
    // The nodes' nonces, SPIs and DH keys from the seed too: the order repeats exactly.
    SeededRandom ike_random(seed);
    ReauthPair p(/*both=*/true);
    p.net.Advance(absl::Seconds(5));
    p.Remember();
    const int before = p.unsendable;
    const size_t lines_a = p.a.log.lines.size(), lines_b = p.b.log.lines.size();
    size_t seen_a = lines_a, seen_b = lines_b;
    int seen_unsendable = p.unsendable;
    auto ike_id = [&](Node& n, const IkeSpi& spi_i) -> std::string {
      for (const IkeSa* s : n.mgr->Sas()) {
        if (s->spi_i() == spi_i) return std::to_string(s->unique_id());
      }
      return "?";
    };
    auto dump = [&](const std::string& what) {
      if (!trace) return;
      std::string out = what + "\n";
      for (; seen_a < p.a.log.lines.size(); ++seen_a) {
        const std::string& l = p.a.log.lines[seen_a];
        if (absl::StrContains(l, "[NET]") || absl::StrContains(l, "[ENC] parsed")) continue;
        out += "   A " + l.substr(20) + "\n";
      }
      for (; seen_b < p.b.log.lines.size(); ++seen_b) {
        const std::string& l = p.b.log.lines[seen_b];
        if (absl::StrContains(l, "[NET]") || absl::StrContains(l, "[ENC] parsed")) continue;
        out += "   B " + l.substr(20) + "\n";
      }
      for (Node* n : {&p.a, &p.b}) {
        out += n == &p.a ? "   [A bound" : "   [B bound";
        for (const auto& [name, v] : n->rec.installed) {
          absl::StrAppend(&out, " ", name.substr(name.rfind('-') + 1), "=",
                          absl::StrFormat("%08x", n->rec.Outbound(name)), " of {");
          for (const auto& e : v) {
            absl::StrAppend(&out, absl::StrFormat(" %08x%s", e.out, e.sending ? "" : "(ns)"));
          }
          absl::StrAppend(&out, " }");
        }
        out += "]\n";
      }
      if (p.unsendable != seen_unsendable) {
        for (size_t i = seen_unsendable; i < p.unsendable_at.size(); ++i) {
          out += "   !!! " + p.unsendable_at[i] + "\n";
        }
        seen_unsendable = p.unsendable;
      }
      std::fputs(out.c_str(), stdout);
    };
    for (Node* n : {&p.a, &p.b}) {
      Mutable(n->Only()).ScheduleIkeRekey(absl::Seconds(1));
      if (seed % 4 != 0) {
        for (const auto& c : n->Only()->children()) Mutable(n->Only()).RekeyChild(c->spi_in);
      }
    }
    p.net.now += absl::Seconds(1);
    int drops = 0;
    for (int step = 0; step < 400; ++step) {
      if (p.net.queue.empty()) {
        for (auto& [addr, n] : p.net.nodes) n->mgr->DrainCrypto(/*wait=*/true);
      }
      if (p.net.queue.empty()) {
        // Nothing in flight: time passes (retransmissions, the install checks).
        p.net.now += absl::Milliseconds(500);
        for (auto& [addr, n] : p.net.nodes) n->mgr->Tick();
        if (p.net.queue.empty()) continue;
      }
      const size_t i = rng() % p.net.queue.size();
      const Datagram d = p.net.Take(i);
      std::string desc;
      if (trace) {
        const IkeHeader h = HeaderOf(d);
        Node& from = *p.net.nodes[d.src.address.ToString()];
        desc = absl::StrCat(from.address == kA ? "A->B " : "B->A ", ExchangeTypeName(h.exchange),
                            h.response ? " resp " : " req ", h.message_id, " on IKE ",
                            ike_id(from, h.spi_i), "/",
                            ike_id(*p.net.nodes[d.dst.address.ToString()], h.spi_i));
      }
      if (rng() % 100 < 92 || drops >= 3) {
        p.net.Deliver(d);
        dump(absl::StrCat("#", step, " deliver ", desc));
      } else {
        ++drops;
        dump(absl::StrCat("#", step, " DROP ", desc));
      }
    }
    if (trace) {
      p.net.on_delivered = [&] {
        p.CheckSendable();
        dump("(advance)");
      };
    }
    p.net.Advance(absl::Seconds(120), absl::Seconds(1));
    // Besides the established ones (two, if a later reauthentication is half way) only IKE SAs
    // being deleted are left, none sending: a Delete whose answer was lost is retransmitted to
    // a peer that removed the SA as it answered, until the retransmissions give up (about
    // 165 s; the peer ignores a request for an SA it does not have).
    for (Node* n : {&p.a, &p.b}) {
      for (const IkeSa* s : n->mgr->Sas()) {
        if (s->state() == IkeSa::State::kEstablished) continue;
        CHECK(s->state() == IkeSa::State::kDeleting);
        for (const auto& c : s->children()) CHECK_FALSE(c->outbound_active);
      }
    }
    // Then settled: one IKE SA per end and nothing else.
    auto settled = [&] {
      return p.a.mgr->Sas().size() == 1 && p.b.mgr->Sas().size() == 1 && p.a.Only() != nullptr &&
             p.b.Only() != nullptr;
    };
    for (int i = 0; i < 300 && !settled(); ++i) p.net.Advance(absl::Seconds(1), absl::Seconds(1));
    std::string log;
    for (size_t i = lines_a; i < p.a.log.lines.size(); ++i) log += p.a.log.lines[i] + "\n";
    log += "---\n";
    for (size_t i = lines_b; i < p.b.log.lines.size(); ++i) log += p.b.log.lines[i] + "\n";
    INFO(log);
    INFO(absl::StrJoin(p.unsendable_at, "\n"));
    CHECK(p.a.log.Has("reauthenticating IKE_SA"));
    CHECK(p.b.log.Has("reauthenticating IKE_SA"));
    duplicates += absl::StrContains(log, "duplicate IKE_SA from simultaneous initiation");
    child_collisions += absl::StrContains(log, "CHILD_SA rekey collision");
    CHECK(p.unsendable == before);
    CHECK(p.a.rec.gaps + p.b.rec.gaps == 0);
    if (std::getenv("REAUTH_SUMMARY") != nullptr) {
      std::string states;
      for (Node* n : {&p.a, &p.b}) {
        for (const IkeSa* s : n->mgr->Sas()) {
          absl::StrAppend(&states, n == &p.a ? " A" : " B", s->unique_id(), ":",
                          IkeSaStateName(s->state()));
        }
      }
      const bool bad = p.unsendable != before || p.a.rec.gaps + p.b.rec.gaps != 0 ||
                       p.a.mgr->Sas().size() != 1 || p.b.mgr->Sas().size() != 1;
      std::printf("seed %u: unsendable %d gaps %d ike %zu/%zu%s%s\n", seed, p.unsendable - before,
                  p.a.rec.gaps + p.b.rec.gaps, p.a.mgr->Sas().size(), p.b.mgr->Sas().size(),
                  states.c_str(), bad ? " FAIL" : "");
    }
    // CHECKs, not REQUIREs, so one order's failure does not hide the next ones'.
    CHECK(p.a.mgr->Sas().size() == 1);
    CHECK(p.b.mgr->Sas().size() == 1);
    if (p.a.mgr->Sas().size() != 1 || p.b.mgr->Sas().size() != 1) continue;
    const IkeSa* x = p.a.mgr->Sas()[0];
    const IkeSa* y = p.b.mgr->Sas()[0];
    CHECK(x->spi_i() == y->spi_i());
    CHECK(x->children().size() == 2);
    CHECK(y->children().size() == 2);
    if (x->children().size() != 2 || y->children().size() != 2) continue;
    for (const auto& c : x->children()) {
      CHECK(c->outbound_active);
      CHECK(std::find(p.first_a.begin(), p.first_a.end(), c->spi_in) == p.first_a.end());
      const ChildSa* peer = nullptr;
      for (const auto& d : y->children()) {
        if (d->spi_in == c->spi_out) peer = d.get();
      }
      CHECK(peer != nullptr);
      if (peer == nullptr) continue;
      CheckMatched(*c, *peer);
      CHECK(peer->outbound_active);
      CHECK(p.a.rec.Outbound(c->name) == c->spi_out);
      CHECK(p.b.rec.Outbound(peer->name) == peer->spi_out);
    }
    CHECK(p.a.rec.child_up - p.a.rec.child_down == 2);
    CHECK(p.b.rec.child_up - p.b.rec.child_down == 2);
  }
  // The orders do make both kinds of collision.
  if (seeds.size() >= 200) {
    CHECK(duplicates > 50);
    CHECK(child_collisions > 20);
  }
}

// The new IKE SA must hold every tunnel before the old one goes: B refuses tunnel 2's CHILD SA
// on the new IKE SA (its selectors changed meanwhile), so the old IKE SA stays with both
// tunnels, the incomplete new one goes, and the reauthentication is tried again later.
TEST_CASE("a reauthentication with a CHILD SA refused keeps the old IKE SA and its tunnels",
          "[ike_sa][reauth]") {
  ReauthPair p;
  p.Remember();
  const IkeSa* old = p.a.Only();
  const std::vector<TrafficSelector> before = p.cb->children[1].local_ts;
  p.cb->children[1].local_ts = {Ts("10.2.9.0/24")};
  p.net.Advance(absl::Seconds(60), absl::Seconds(1));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.a.log.Has("received TS_UNACCEPTABLE notify error"));
  CHECK(
      p.a.log.Has("reauthentication incomplete: IKE_SA peer-192.0.2.2[2] has no CHILD_SA for "
                  "peer-192.0.2.2-tunnel-2, keeping IKE_SA peer-192.0.2.2[1] and deleting the "
                  "new one"));
  CHECK(p.a.log.Has("reauthentication failed, trying again in 30s"));
  CHECK_FALSE(p.a.log.Has("reauthenticated it with"));
  REQUIRE(p.a.Only() == old);
  REQUIRE(p.b.mgr->Sas().size() == 1);
  CHECK(old->children().size() == 2);
  CHECK(p.b.mgr->Sas()[0]->children().size() == 2);
  for (const auto& c : old->children()) {
    CHECK(std::find(p.first_a.begin(), p.first_a.end(), c->spi_in) != p.first_a.end());
  }
  CHECK(p.a.rec.gaps + p.b.rec.gaps == 0);
  CHECK(p.a.rec.HasTunnel("-tunnel-2"));
  CHECK(p.b.rec.HasTunnel("-tunnel-2"));
  // The new IKE SA's tunnel-1 CHILD SA, which A sent with, went back to the old one before
  // A's Delete of the new IKE SA went out (B drops its inbound half as it comes).
  CHECK(p.a.log.Has("is being deleted"));
  CHECK(p.unsendable == 0);
  // Once B accepts it again, the next attempt replaces both.
  p.cb->children[1].local_ts = before;
  p.net.Advance(absl::Seconds(40), absl::Seconds(1));
  p.CheckReplaced(/*exact=*/false);
}

// The old IKE SA goes only once the dataplane holds the new CHILD SAs (vpnd: their installs
// acknowledged), not as soon as IKE has negotiated them.
TEST_CASE("make-before-break waits for the new CHILD SAs' installs to be acknowledged",
          "[ike_sa][reauth]") {
  ReauthPair p;
  p.Remember();
  const IkeSa* old = p.a.Only();
  p.a.rec.in_place = false;
  p.net.Advance(absl::Seconds(60), absl::Seconds(1));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.a.log.Has("reauthenticating IKE_SA"));
  REQUIRE(p.a.mgr->Sas().size() == 2);
  CHECK(p.a.mgr->Sas()[0] == old);
  CHECK_FALSE(p.a.log.Has("reauthenticated it with"));
  p.a.rec.in_place = true;
  p.net.Advance(absl::Seconds(2), absl::Seconds(1));
  CHECK(p.a.log.Has("reauthenticated it with 2 CHILD_SAs"));
  p.net.Advance(absl::Seconds(5), absl::Seconds(1));
  p.CheckReplaced();
}

// The peer rekeys the old IKE SA while we reauthenticate it: the rekey is refused
// (TEMPORARY_FAILURE; the peer tries again later, by when the old SA is gone), else its
// successor would be neither deleted by the reauthentication nor a duplicate to delete.
TEST_CASE("the peer's IKE rekey of an IKE SA being reauthenticated is refused for now",
          "[ike_sa][reauth]") {
  for (int delay = 0; delay < 4; ++delay) {
    CAPTURE(delay);
    ReauthPair p;
    p.Remember();
    for (int i = 0; i < 100 && !p.a.log.Has("reauthenticating IKE_SA"); ++i) {
      p.net.Pump();
      p.net.now += absl::Seconds(1);
      for (auto& [addr, n] : p.net.nodes) n->mgr->Tick();
    }
    REQUIRE(p.a.log.Has("reauthenticating IKE_SA"));
    REQUIRE(p.net.queue.size() == 1);  // the new IKE SA's IKE_SA_INIT
    // B's rekey of the old IKE SA goes out while the new one is being set up, `delay`
    // messages later.
    for (int i = 0; i < delay && !p.net.queue.empty(); ++i) p.net.DeliverOne();
    const IkeSa* old_b = nullptr;
    for (const IkeSa* s : p.b.mgr->Sas()) {
      if (old_b == nullptr || s->unique_id() < old_b->unique_id()) old_b = s;
    }
    REQUIRE(old_b != nullptr);
    Mutable(old_b).ScheduleIkeRekey(absl::ZeroDuration());
    p.b.mgr->Tick();
    p.net.Advance(absl::Seconds(100), absl::Seconds(1));
    INFO(p.a.log.All() << "---\n" << p.b.log.All());
    CHECK(
        p.a.log.Has("IKE_SA rekey of an IKE_SA being reauthenticated: answering "
                    "TEMPORARY_FAILURE"));
    p.CheckReplaced(/*exact=*/false);
  }
}

// The old IKE SA the peer deletes after its make-before-break reauthentication is no close:
// another IKE SA carries its tunnels, so close-action start sets up nothing.
TEST_CASE("close-action start does not act on the Delete of a reauthentication's old IKE SA",
          "[ike_sa][reauth][close]") {
  ReauthPair p;
  p.cb->close_action = CloseAction::kRestart;
  p.cb->initiate = true;  // B could initiate: a restart would show
  p.Remember();
  p.net.Advance(absl::Seconds(60), absl::Seconds(1));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.a.log.Has("reauthenticated it with 2 CHILD_SAs"));
  CHECK(p.b.log.Has("received DELETE for IKE_SA"));
  CHECK_FALSE(p.b.log.Has("close-action restart"));
  CHECK_FALSE(p.b.log.Has("initiating IKE_SA"));
  p.CheckReplaced();
}

// A CHILD SA of the new IKE SA that never gets a request out (no SPI to be had): the task
// ends without an exchange, and the reauthentication must still be settled, not wait forever.
TEST_CASE("a reauthentication whose CHILD SA builds no request keeps the old IKE SA",
          "[ike_sa][reauth]") {
  ReauthPair p;
  p.Remember();
  const IkeSa* old = p.a.Only();
  // A's SPIs from here on: the new IKE SA's IKE_AUTH gets one, tunnel 2's CREATE_CHILD_SA none.
  int calls = 0;
  bool failing = true;
  uint32_t next = 0x10000;
  p.a.mgr->SetSpiSource([&]() -> absl::StatusOr<uint32_t> {
    if (failing && ++calls > 1 && calls <= 33) return absl::ResourceExhaustedError("no SPI");
    return next++;
  });
  p.net.Advance(absl::Seconds(50), absl::Seconds(1));
  INFO(p.a.log.All() << "---\n" << p.b.log.All());
  CHECK(p.a.log.Has("reauthenticating IKE_SA"));
  CHECK(p.a.log.Has("has no CHILD_SA for peer-192.0.2.2-tunnel-2"));
  CHECK(p.a.log.Has("reauthentication failed, trying again in 30s"));
  REQUIRE(p.a.Only() == old);
  CHECK(old->children().size() == 2);
  CHECK(p.a.rec.gaps + p.b.rec.gaps == 0);
  failing = false;
  p.net.Advance(absl::Seconds(40), absl::Seconds(1));
  p.CheckReplaced(/*exact=*/false);
}
