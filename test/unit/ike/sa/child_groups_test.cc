// RFC 9611 per-worker CHILD SAs negotiated by two IkeManagers (child_negotiation.cc,
// tasks/child_create.cc, tasks/child_rekey.cc): the SA_RESOURCE_INFO exchange in IKE_AUTH and
// the CREATE_CHILD_SAs that follow, TS_MAX_QUEUE from a responder with fewer workers, a peer
// that does not answer the notify (strongSwan 5.9.8: one CHILD SA, as before), policy-based
// tunnels (never grouped), a member's rekey and delete on their own, and the state file.
#include <catch2/catch.hpp>

#include <set>

#include "ike/sa/ike_sa.h"
#include "ike/sa/ike_sa_state.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

ManagerOptions Workers(uint32_t n) {
  ManagerOptions o = Net::Defaults();
  o.child_resources = n;
  return o;
}

void RouteBased(IkeSaConfig& c) {
  c.children[0].vti = true;
  c.children[0].vti_interface = "vti0";
}

// Both ends route-based (the only tunnels grouped), the IKE SA and its CHILD SAs up.
void UpRouteBased(Pair& p) {
  RouteBased(*p.ca);
  RouteBased(*p.cb);
  p.Up();
  p.net.Pump();
}

// The installed CHILD SAs of the node's one IKE SA, by worker (0: not in a group).
std::map<int, const ChildSa*> ByWorker(const Node& n) {
  std::map<int, const ChildSa*> out;
  const IkeSa* sa = n.Only();
  if (sa == nullptr) return out;
  for (const auto& c : sa->children()) {
    if (c->state == ChildSa::State::kInstalled) out[c->worker] = c.get();
  }
  return out;
}

// A log line with every one of `parts`.
bool HasLine(const CaptureLog& log, std::initializer_list<std::string> parts) {
  for (const std::string& l : log.lines) {
    bool all = true;
    for (const std::string& part : parts) all = all && l.find(part) != std::string::npos;
    if (all) return true;
  }
  return false;
}

const ChildSa* Peer(const Node& n, const ChildSa& c) {
  for (const auto& o : n.Only()->children()) {
    if (o->spi_in == c.spi_out) return o.get();
  }
  return nullptr;
}

}  // namespace

TEST_CASE("Two ends with two workers make a CHILD SA per worker", "[ike_sa][rfc9611]") {
  Pair p(Workers(2), Workers(2));
  UpRouteBased(p);
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(HasLine(p.a.log, {"generating", "IKE_AUTH request 1", "N(SA_RESOURCE_INFO)"}));
  CHECK(HasLine(p.b.log, {"generating", "IKE_AUTH response 1", "N(SA_RESOURCE_INFO)"}));
  CHECK(HasLine(p.a.log, {"generating", "CREATE_CHILD_SA request 2", "N(SA_RESOURCE_INFO)"}));
  CHECK(HasLine(p.b.log, {"generating", "CREATE_CHILD_SA response 2", "N(SA_RESOURCE_INFO)"}));
  CHECK(p.a.log.Has(
      "is worker 1's of a per-worker group (RFC 9611, SA_RESOURCE_INFO; the peer's resource 1)"));
  auto a = ByWorker(p.a), b = ByWorker(p.b);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  CHECK(a.count(1) == 1);
  CHECK(a.count(2) == 1);
  CHECK(b.count(1) == 1);
  CHECK(b.count(2) == 1);
  for (const auto& [w, c] : a) {
    const ChildSa* other = Peer(p.b, *c);
    REQUIRE(other != nullptr);
    CheckMatched(*c, *other);
    CHECK(c->local_ts == a.begin()->second->local_ts);
    CHECK(c->outbound_active);
  }
  CHECK(p.a.rec.child_up == 2);
  CHECK(p.b.rec.child_up == 2);
  CHECK(p.a.rec.child_down == 0);
  CHECK(p.b.rec.child_down == 0);
  // Nothing more is asked for once every worker has one.
  p.net.Advance(absl::Seconds(30));
  CHECK(p.a.Only()->children().size() == 2);
}

TEST_CASE("A responder with fewer workers answers TS_MAX_QUEUE", "[ike_sa][rfc9611]") {
  Pair p(Workers(4), Workers(2));
  UpRouteBased(p);
  p.net.Advance(absl::Seconds(30));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(
      p.b.log.Has("TS_MAX_QUEUE: CHILD_SA peer-192.0.2.1-tunnel-1 already has a CHILD_SA for "
                  "each of our 2 workers"));
  CHECK(HasLine(p.b.log, {"generating", "CREATE_CHILD_SA response", "[ N(TS_MAX_QUEUE) ]"}));
  CHECK(
      p.a.log.Has("received TS_MAX_QUEUE notify error: the peer takes no more CHILD_SAs with "
                  "the selectors of peer-192.0.2.2-tunnel-1, which keeps its 2 per-worker"));
  // One refusal, no retry.
  CHECK(p.a.log.Count("generating CREATE_CHILD_SA request") == 2);
  CHECK(p.b.log.Count("TS_MAX_QUEUE: CHILD_SA") == 1);
  CHECK(ByWorker(p.a).size() == 2);
  CHECK(ByWorker(p.b).size() == 2);
}

TEST_CASE("A peer that does not answer SA_RESOURCE_INFO gets one CHILD SA", "[ike_sa][rfc9611]") {
  // A responder with one worker never sends the notify, as strongSwan 5.9.8, which ignores
  // status notifies it does not know (RFC 7296 3.10.1).
  Pair p(Workers(2), Workers(1));
  UpRouteBased(p);
  p.net.Advance(absl::Seconds(30));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(HasLine(p.a.log, {"generating", "N(SA_RESOURCE_INFO)"}));
  CHECK_FALSE(HasLine(p.b.log, {"generating", "N(SA_RESOURCE_INFO)"}));
  CHECK(
      p.a.log.Has("the peer did not answer SA_RESOURCE_INFO: CHILD_SA peer-192.0.2.2-tunnel-1 "
                  "is its tunnel's only CHILD_SA"));
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  REQUIRE(OnlyChild(p.b.Only()) != nullptr);
  CHECK(OnlyChild(p.a.Only())->worker == 0);
  CHECK(OnlyChild(p.b.Only())->worker == 0);
  CHECK(p.a.log.Count("generating CREATE_CHILD_SA request") == 0);
}

TEST_CASE("A responder with workers answers a peer that offers nothing with one SA",
          "[ike_sa][rfc9611]") {
  Pair p(Workers(1), Workers(2));
  UpRouteBased(p);
  INFO(p.a.log.All() << p.b.log.All());
  CHECK_FALSE(HasLine(p.a.log, {"generating", "N(SA_RESOURCE_INFO)"}));
  CHECK_FALSE(HasLine(p.b.log, {"generating", "N(SA_RESOURCE_INFO)"}));
  REQUIRE(OnlyChild(p.b.Only()) != nullptr);
  CHECK(OnlyChild(p.b.Only())->worker == 0);
}

TEST_CASE("Policy-based tunnels are not grouped", "[ike_sa][rfc9611]") {
  // The dataplane's protect policies do not point at groups (a binding with members on a VFP
  // is refused), so the notify is not offered for them.
  Pair p(Workers(2), Workers(2));
  p.Up();
  p.net.Pump();
  INFO(p.a.log.All());
  CHECK_FALSE(p.a.log.Has("N(SA_RESOURCE_INFO)"));
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  CHECK(OnlyChild(p.a.Only())->worker == 0);
}

TEST_CASE("A member is rekeyed and deleted on its own", "[ike_sa][rfc9611]") {
  Pair p(Workers(2), Workers(2));
  UpRouteBased(p);
  auto a = ByWorker(p.a);
  REQUIRE(a.size() == 2);
  const uint32_t w0_in = a[1]->spi_in, w1_in = a[2]->spi_in;
  auto check_rekeyed = [&] {
    p.net.Pump();
    INFO(p.a.log.All() << p.b.log.All());
    CHECK((HasLine(p.a.log, {"generating", "N(REKEY_SA)", "N(SA_RESOURCE_INFO)"}) ||
           HasLine(p.b.log, {"generating", "N(REKEY_SA)", "N(SA_RESOURCE_INFO)"})));
    auto after = ByWorker(p.a);
    REQUIRE(after.size() == 2);
    CHECK(after[1]->spi_in == w0_in);  // worker 0's SA untouched
    CHECK(after[2]->spi_in != w1_in);
    CHECK(after[2]->worker == 2);
    REQUIRE(ByWorker(p.b).size() == 2);
    const ChildSa* peer = Peer(p.b, *after[2]);
    REQUIRE(peer != nullptr);
    CHECK(peer->worker != 0);
    CheckMatched(*after[2], *peer);
    CHECK(p.a.rec.down_spis == std::vector<uint32_t>{w1_in});
    CHECK(p.a.Only()->children().size() == 2);
    CHECK(p.b.Only()->children().size() == 2);
  };
  SECTION("rekey of worker 1's SA by the initiator") {
    REQUIRE(p.a.mgr->RekeyChild(w1_in));
    check_rekeyed();
  }
  SECTION("rekey of worker 1's SA by the responder") {
    REQUIRE(p.b.mgr->RekeyChild(a[2]->spi_out));
    check_rekeyed();
  }
  SECTION("delete of worker 1's SA (a refused install): it comes back for the same worker") {
    REQUIRE(p.a.mgr->ChildInstallFailed(w1_in, "test"));
    p.net.Pump();
    INFO(p.a.log.All() << p.b.log.All());
    // The peer does not ask again at once for a member that lived less than the re-initiation
    // delay (a refused install would loop); A creates it again after that delay, as worker 1's.
    auto after = ByWorker(p.a);
    REQUIRE(after.size() == 1);
    CHECK(after[1]->spi_in == w0_in);
    CHECK(ByWorker(p.b).size() == 1);
    CHECK_FALSE(p.b.log.Has("asking for one for worker"));
    p.net.Advance(absl::Seconds(15));
    after = ByWorker(p.a);
    REQUIRE(after.size() == 2);
    CHECK(after[1]->spi_in == w0_in);
    CHECK(after[2]->spi_in != w1_in);
    CHECK(p.a.Only()->children().size() == 2);
    CHECK(ByWorker(p.b).size() == 2);
  }
}

TEST_CASE("A member the peer deletes is asked for again at once", "[ike_sa][rfc9611]") {
  Pair p(Workers(2), Workers(2));
  UpRouteBased(p);
  auto a = ByWorker(p.a);
  REQUIRE(a.size() == 2);
  const uint32_t w0_in = a[1]->spi_in, w1_in = a[2]->spi_in;
  // Members older than the re-initiation delay (10 s here): a younger one is not asked for at
  // once (the refused-install case above).
  p.net.Advance(absl::Seconds(11));
  const size_t creates = p.a.log.Count("generating CREATE_CHILD_SA request");
  // The peer deletes its end of A's worker 1 member (its hard lifetime, say), not the tunnel.
  const ChildSa* theirs = Peer(p.b, *a[2]);
  REQUIRE(theirs != nullptr);
  Mutable(p.b.Only()).Queue(NewChildDeleteTask({theirs->spi_in}));
  p.net.Pump();  // no time passes: not the re-initiation delay, nor a reauthentication
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(
      p.a.log.Has("the peer deleted a CHILD_SA of peer-192.0.2.2-tunnel-1's per-worker group "
                  "(RFC 9611): asking for one for worker 1 again"));
  CHECK(p.a.log.Count("generating CREATE_CHILD_SA request") == creates + 1);
  CHECK(HasLine(p.a.log, {"generating", "CREATE_CHILD_SA request", "N(SA_RESOURCE_INFO)"}));
  auto after = ByWorker(p.a);
  REQUIRE(after.size() == 2);
  CHECK(after[1]->spi_in == w0_in);  // worker 0's SA untouched
  CHECK(after[2]->spi_in != w1_in);
  REQUIRE(ByWorker(p.b).size() == 2);
  const ChildSa* peer = Peer(p.b, *after[2]);
  REQUIRE(peer != nullptr);
  CheckMatched(*after[2], *peer);
  CHECK(peer->worker != 0);
  CHECK(p.a.Only()->children().size() == 2);
  CHECK(p.b.Only()->children().size() == 2);
  // The whole group deleted is the tunnel closed: the close action's, not a member's.
  Mutable(p.b.Only()).DeleteChildren(0, /*all=*/true);
  p.net.Pump();
  CHECK(p.a.log.Count("asking for one for worker") == 1);
  CHECK(p.a.Only()->children().empty());
}

TEST_CASE("A member request answered without SA_RESOURCE_INFO ends the group's growth",
          "[ike_sa][rfc9611]") {
  // The responder answers IKE_AUTH's notify, then (its worker count down to 1, say) the
  // initiator's CREATE_CHILD_SA for worker 1 without it: RFC 9611's agreement is per exchange,
  // so that CHILD SA is an ordinary one and nothing more is asked for.
  Pair p(Workers(2), Workers(2));
  RouteBased(*p.ca);
  RouteBased(*p.cb);
  p.net.on_delivered = [&] {
    const IkeSa* b = p.b.Only();
    if (b != nullptr && !b->children().empty()) p.b.mgr->SetChildResources(1);
  };
  p.Up();
  p.net.Pump();
  p.net.Advance(absl::Seconds(30));
  INFO(p.a.log.All() << p.b.log.All());
  CHECK(HasLine(p.b.log, {"generating", "IKE_AUTH response 1", "N(SA_RESOURCE_INFO)"}));
  CHECK(HasLine(p.a.log, {"generating", "CREATE_CHILD_SA request 2", "N(SA_RESOURCE_INFO)"}));
  CHECK_FALSE(HasLine(p.b.log, {"generating", "CREATE_CHILD_SA response", "N(SA_RESOURCE_INFO)"}));
  CHECK(
      p.a.log.Has("the peer answered the request for worker 1's CHILD_SA of "
                  "peer-192.0.2.2-tunnel-1 without SA_RESOURCE_INFO: a second CHILD_SA with the "
                  "same selectors, not a member; deleting it, the group grows no further"));
  // One member request, no more; the second SA it made is deleted on both ends.
  CHECK(p.a.log.Count("generating CREATE_CHILD_SA request") == 1);
  auto a = ByWorker(p.a);
  REQUIRE(a.size() == 1);
  CHECK(a.count(1) == 1);  // worker 0's of the group, from IKE_AUTH
  CHECK(p.a.Only()->children().size() == 1);
  CHECK(p.b.Only()->children().size() == 1);
}

TEST_CASE("The state file keeps each CHILD SA's worker", "[ike_sa][rfc9611]") {
  Pair p(Workers(2), Workers(2));
  UpRouteBased(p);
  std::vector<IkeSaState> saved = p.a.mgr->SaveState();
  REQUIRE(saved.size() == 1);
  std::string text = EncodeIkeState(saved, {});
  absl::StatusOr<std::vector<IkeSaState>> back = DecodeIkeState(text, nullptr, nullptr);
  REQUIRE(back.ok());
  std::set<int> workers;
  for (const auto& c : (*back)[0].children) workers.insert(c->worker);
  CHECK(workers == std::set<int>{1, 2});
  // An older vpnd's file has no worker field: no group.
  std::string old = text;
  for (size_t at; (at = old.find(" worker=")) != std::string::npos;) old.erase(at, 9);
  back = DecodeIkeState(old, nullptr, nullptr);
  REQUIRE(back.ok());
  for (const auto& c : (*back)[0].children) CHECK(c->worker == 0);
  // A worker beyond kMaxChildResources is refused (the dataplane would refuse its SA), the
  // last one taken.
  auto with_worker = [&](int w) {
    std::string t = text;
    for (size_t at = 0; (at = t.find(" worker=", at)) != std::string::npos; at += 8) {
      const size_t end = t.find_first_of(" \n", at + 8);
      t.replace(at + 8, end - at - 8, std::to_string(w));
    }
    return DecodeIkeState(t, nullptr, nullptr);
  };
  CHECK(with_worker(kMaxChildResources).ok());
  absl::StatusOr<std::vector<IkeSaState>> bad = with_worker(kMaxChildResources + 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("worker out of range") != std::string::npos);
}
