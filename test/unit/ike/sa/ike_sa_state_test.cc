// The hitless restart on the two-manager harness: an end's IkeManager is thrown away (vpnd
// killed) while its Recorder (the dataplane, which keeps its SAs) stays, and a new manager
// resumes from the saved state text. Nothing may be sent with an SA the other end lacks, no new
// IKE SA may appear (no INITIAL_CONTACT, so the peer keeps everything), and the CHILD SAs are
// replaced make-before-break.
#include "ike/sa/ike_sa_state.h"

#include <catch2/catch.hpp>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "ike/sa/ike_sa_harness.h"

namespace portcullis::ike {
namespace {

using testing::Node;
using testing::OnlyChild;
using testing::Pair;

std::string Saved(const Node& n) {
  return EncodeIkeState(n.mgr->SaveState());
}

// An IPv4 address as the state file writes it.
std::string Hex4(const std::string& address) {
  std::string out;
  for (uint8_t b : Address::Parse(address)->span()) out += absl::StrFormat("%02x", b);
  return out;
}

// vpnd killed: the manager goes (its log with it), the dataplane (the Recorder) stays.
// A manager with no peers stands in while it is down (the harness ticks every node).
void Kill(Pair& p, Node& n) {
  static testing::Recorder nobody;
  static testing::CaptureLog void_log;
  n.mgr = std::make_unique<IkeManager>([&p] { return p.net.now; }, [](const Datagram&) {},
                                       &void_log, &void_log, &nobody, testing::Net::Defaults());
  p.net.drop = [&n](const Datagram& d) { return d.dst.address.ToString() == n.address; };
}

IkeManager::ResumeResult Restart(Pair& p, Node& n, const std::string& saved,
                                 std::shared_ptr<IkeSaConfig> cfg) {
  p.net.drop = nullptr;
  n.mgr = std::make_unique<IkeManager>([&p] { return p.net.now; },
                                       [&p](const Datagram& d) { p.net.Send(d); }, &n.log,
                                       &n.keylog, &n.rec, testing::Net::Defaults());
  n.mgr->SetPeers(testing::One(cfg));
  absl::StatusOr<std::vector<IkeSaState>> s = DecodeIkeState(saved);
  REQUIRE(s.ok());
  return n.mgr->Resume(*std::move(s));
}

TEST_CASE("IKE state survives its text form", "[ike_sa_state]") {
  Pair p;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  const std::string text = Saved(p.a);
  absl::StatusOr<std::vector<IkeSaState>> back = DecodeIkeState(text);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 1);
  const IkeSa& sa = *p.a.Only();
  const IkeSaState& s = (*back)[0];
  CHECK(s.config_name == sa.config().name);
  CHECK(s.spi_i == sa.spi_i());
  CHECK(s.spi_r == sa.spi_r());
  CHECK(s.remote == sa.remote());
  CHECK(s.keys.sk_d == sa.keys.sk_d);
  CHECK(s.keys.sk_er == sa.keys.sk_er);
  CHECK(s.my_mid == sa.next_request_id());
  CHECK(s.peer_mid == sa.expected_request_id());
  REQUIRE(s.children.size() == 1);
  const ChildSa& c = *sa.children()[0];
  CHECK(s.children[0]->spi_in == c.spi_in);
  CHECK(s.children[0]->encr_out == c.encr_out);
  CHECK(s.children[0]->local_ts == c.local_ts);
  CHECK(s.children[0]->remote_ts == c.remote_ts);
  CHECK(s.children[0]->expire_at == c.expire_at);
  // The same text again: nothing lost on the way.
  CHECK(EncodeIkeState(*back) == text);
}

TEST_CASE("the state's origin line: who wrote it and when, first after the header",
          "[ike_sa_state]") {
  Pair p;
  p.Up();
  const IkeStateOrigin origin{absl::FromUnixSeconds(1767225600), "dp-west"};
  const std::string text = EncodeIkeState(p.a.mgr->SaveState(), {}, &origin);
  IkeStateOrigin back;
  REQUIRE(DecodeIkeState(text, nullptr, &back).ok());
  CHECK(back.saved == origin.saved);
  CHECK(back.origin == "dp-west");
  // Without one (a file from before it existed): unknown age, no origin.
  REQUIRE(DecodeIkeState(Saved(p.a), nullptr, &back).ok());
  CHECK(back.saved == absl::InfinitePast());
  CHECK(back.origin.empty());
  // Anywhere else it is refused.
  std::string late = text;
  const size_t at = late.find("origin ");
  const std::string line = late.substr(at, late.find('\n', at) - at + 1);
  late.erase(at, line.size());
  late.insert(late.find("\nend ") + 1, line);
  CHECK_FALSE(DecodeIkeState(late).ok());
}

TEST_CASE("a NAT rebinding to another address changes the state fingerprint", "[ike_sa_state]") {
  testing::NatPair p;
  p.ca->dpd_interval = 2;
  p.Up();
  REQUIRE(p.b.Only() != nullptr);
  const uint64_t before = p.b.mgr->StateFingerprint();
  // The NAT maps A to another address, same port: B follows it (UpdateEndpoints).
  p.net.nat_outside = "198.51.100.7";
  p.net.Advance(absl::Seconds(5));
  REQUIRE(p.b.Only() != nullptr);
  REQUIRE(p.b.Only()->remote().address.ToString() == "198.51.100.7");
  CHECK(p.b.mgr->StateFingerprint() != before);
  CHECK(absl::StrContains(Saved(p.b), Hex4("198.51.100.7")));
}

TEST_CASE("a resumed AES-GCM IKE SA carries on with its IV sequence", "[ike_sa_state]") {
  Pair p;
  for (auto* c : {&p.ca, &p.cb}) {
    (*c)->ike_proposals = {testing::IkeProp(EncrId::kAesGcm16, 256, IntegId::kNone,
                                            PrfId::kHmacSha2_256, DhGroup::kCurve25519)};
  }
  p.ca->dpd_interval = 2;
  p.Up();
  p.net.Advance(absl::Seconds(5));
  REQUIRE(p.a.Only() != nullptr);
  const SkCipher& before = p.a.Only()->ciphers->outbound;
  REQUIRE(before.iv_counter() > 0);
  const uint32_t prefix = before.iv_prefix(), counter = before.iv_counter();
  const std::string saved = Saved(p.a);
  Kill(p, p.a);
  REQUIRE(Restart(p, p.a, saved, p.ca).ike_resumed == 1);
  const SkCipher& after = p.a.Only()->ciphers->outbound;
  CHECK(after.iv_prefix() == prefix);
  CHECK(after.iv_counter() > counter);
  p.net.Advance(absl::Seconds(20));
  CHECK(p.b.rec.ike_down == 0);
  CHECK(p.unsendable == 0);
}

TEST_CASE("malformed IKE state is refused with the line", "[ike_sa_state]") {
  Pair p;
  p.Up();
  const std::string text = Saved(p.a);
  CHECK_FALSE(DecodeIkeState("").ok());
  CHECK_FALSE(DecodeIkeState("portcullis-ike-state 2\nend 0\n").ok());
  // Cut off before the end line (a write that did not finish, were it not renamed into place).
  absl::StatusOr<std::vector<IkeSaState>> cut = DecodeIkeState(text.substr(0, text.size() / 2));
  REQUIRE_FALSE(cut.ok());
  std::string bad = text;
  bad.replace(bad.find("spi_i=") + 6, 2, "zz");
  absl::StatusOr<std::vector<IkeSaState>> b = DecodeIkeState(bad);
  REQUIRE_FALSE(b.ok());
  CHECK(absl::StrContains(b.status().message(), "line 2: spi_i"));
  std::string nochild = text;
  nochild.replace(nochild.find("\nike "), 5, "\nxyz ");
  CHECK_FALSE(DecodeIkeState(nochild).ok());
  CHECK(DecodeIkeState("portcullis-ike-state 1\nend 0\n")->empty());
}

TEST_CASE("an end killed and resumed keeps the IKE SA and rekeys make-before-break",
          "[ike_sa_state]") {
  for (bool kill_initiator : {true, false}) {
    DYNAMIC_SECTION((kill_initiator ? "initiator" : "responder") << " killed") {
      Pair p;
      p.ca->dpd_interval = 2;
      p.cb->dpd_interval = 2;
      p.Up();
      REQUIRE(p.a.Only() != nullptr);
      REQUIRE(p.b.Only() != nullptr);
      p.net.Advance(absl::Seconds(5));  // a few DPD exchanges move the message IDs
      Node& dead = kill_initiator ? p.a : p.b;
      Node& alive = kill_initiator ? p.b : p.a;
      auto cfg = kill_initiator ? p.ca : p.cb;
      const IkeSpi spi_i = alive.Only()->spi_i();
      const uint32_t old_in = OnlyChild(dead.Only())->spi_in;
      const uint32_t old_out = OnlyChild(dead.Only())->spi_out;
      const std::string saved = Saved(dead);
      const size_t initial_contacts = alive.log.Count("INITIAL_CONTACT");
      Kill(p, dead);
      // Down for 3 s: the peer's DPD goes unanswered and is retransmitted.
      p.net.Advance(absl::Seconds(3));
      IkeManager::ResumeResult r = Restart(p, dead, saved, cfg);
      CHECK(r.ike_resumed == 1);
      CHECK(r.children_resumed == 1);
      CHECK(r.ike_refused == 0);
      p.net.Advance(absl::Seconds(20));
      // The same IKE SA on both ends, no second one, nothing sent without a matching SA.
      REQUIRE(dead.Only() != nullptr);
      REQUIRE(alive.Only() != nullptr);
      CHECK(dead.mgr->Sas().size() == 1);
      CHECK(alive.mgr->Sas().size() == 1);
      CHECK(alive.Only()->spi_i() == spi_i);
      CHECK(dead.Only()->spi_i() == spi_i);
      CHECK(p.unsendable == 0);
      CHECK(p.a.rec.gaps == 0);
      CHECK(p.b.rec.gaps == 0);
      CHECK(alive.rec.ike_down == 0);
      CHECK(alive.log.Count("INITIAL_CONTACT") == initial_contacts);
      CHECK_FALSE(alive.log.Has("dead peer"));
      // The CHILD SA was replaced, and the old SAs are gone from both "dataplanes".
      const ChildSa* now = OnlyChild(dead.Only());
      REQUIRE(now != nullptr);
      CHECK(now->spi_in != old_in);
      CHECK_FALSE(dead.rec.HasInbound(old_in));
      CHECK_FALSE(alive.rec.HasInbound(old_out));
      CHECK(dead.rec.HasInbound(now->spi_in));
      CHECK(alive.rec.HasInbound(now->spi_out));
      testing::CheckMatched(*now, *OnlyChild(alive.Only()));
      INFO(dead.log.All());
      CHECK(dead.log.Has("resumed after the restart"));
    }
  }
}

TEST_CASE("a request in flight when vpnd died is sent again and its answer taken",
          "[ike_sa_state]") {
  Pair p;
  p.ca->dpd_interval = 2;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  // A's DPD request goes out; B answers; A dies before the answer arrives.
  p.net.now += absl::Seconds(3);
  p.a.mgr->Tick();
  REQUIRE(p.net.queue.size() == 1);
  const std::string saved = Saved(p.a);
  CHECK(absl::StrContains(saved, " request=4/"));
  Kill(p, p.a);
  p.net.Pump();  // B answers into the void
  IkeManager::ResumeResult r = Restart(p, p.a, saved, p.ca);
  REQUIRE(r.ike_resumed == 1);
  p.net.Advance(absl::Seconds(20));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("sent before the restart: taken"));
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.b.rec.ike_down == 0);
  CHECK(p.unsendable == 0);
  CHECK(p.a.rec.gaps == 0);
}

TEST_CASE("state saved just before answering the peer: its next request puts us in step",
          "[ike_sa_state]") {
  Pair p;
  p.ca->dpd_interval = 2;
  p.ca->dpd_timeout = 10;
  p.Up();
  REQUIRE(p.b.Only() != nullptr);
  // B's state is saved, then B answers A's DPD request, then B dies before saving again.
  const std::string saved = Saved(p.b);
  const uint32_t expected = p.b.Only()->expected_request_id();
  p.net.Advance(absl::Seconds(3));
  REQUIRE(p.b.Only()->expected_request_id() == expected + 1);
  Kill(p, p.b);
  IkeManager::ResumeResult r = Restart(p, p.b, saved, p.cb);
  REQUIRE(r.ike_resumed == 1);
  REQUIRE(p.b.Only()->expected_request_id() == expected);
  // Long enough for A's DPD to give up on an unanswered request (dpd timeout 10 s).
  p.net.Advance(absl::Seconds(60), absl::Seconds(1));
  INFO(p.b.log.All());
  CHECK(p.b.log.Has("is one past the saved message ID"));
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  CHECK(p.a.rec.ike_down == 0);
  CHECK_FALSE(p.a.log.Has("dead peer"));
  CHECK(p.unsendable == 0);
}

TEST_CASE("a resumed SA the peer no longer answers is given up, not kept", "[ike_sa_state]") {
  Pair p;
  p.ca->dpd_interval = 2;
  p.Up();
  p.net.now += absl::Seconds(3);
  p.a.mgr->Tick();
  const std::string saved = Saved(p.a);
  Kill(p, p.a);
  p.net.queue.clear();
  // The peer forgot the IKE SA meanwhile: nothing answers the resumed request.
  p.net.nodes.erase(testing::kB);
  Restart(p, p.a, saved, p.ca);
  p.net.Advance(absl::Seconds(200), absl::Seconds(1));
  INFO(p.a.log.All());
  CHECK(p.a.log.Has("did not answer the request resumed after the restart"));
}

TEST_CASE("a tunnel configured while vpnd was down gets its CHILD SA after the resume",
          "[ike_sa_state]") {
  Pair p;
  auto second = [](std::shared_ptr<IkeSaConfig> c, const std::string& l, const std::string& r) {
    ChildConfig ch = c->children[0];
    ch.name = c->name + "-tunnel-2";
    ch.tunnel_id = 2;
    ch.reqid = 2;
    ch.local_ts = {testing::Ts(l)};
    ch.remote_ts = {testing::Ts(r)};
    c->children.push_back(ch);
  };
  // The responder already knows the second tunnel; A's configuration gains it while A is down.
  second(p.cb, "10.2.1.0/24", "10.1.1.0/24");
  p.Up();
  REQUIRE(OnlyChild(p.a.Only()) != nullptr);
  const IkeSpi spi_i = p.a.Only()->spi_i();
  const std::string saved = Saved(p.a);
  Kill(p, p.a);
  second(p.ca, "10.1.1.0/24", "10.2.1.0/24");
  REQUIRE(Restart(p, p.a, saved, p.ca).ike_resumed == 1);
  p.net.Advance(absl::Seconds(20));
  INFO(p.a.log.All());
  REQUIRE(p.a.Only() != nullptr);
  CHECK(p.a.Only()->spi_i() == spi_i);  // the resumed SA, not a new one
  CHECK(p.a.Only()->children().size() == 2);
  CHECK(p.a.rec.HasTunnel("-tunnel-2"));
  CHECK(p.b.rec.HasTunnel("-tunnel-2"));
  CHECK(p.unsendable == 0);
}

// Each end holds exactly one SA per tunnel and they match; no SA left in a "dataplane" that no
// CHILD SA owns.
void CheckOneMatchedChild(Pair& p) {
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  CHECK(p.a.mgr->Sas().size() == 1);
  CHECK(p.b.mgr->Sas().size() == 1);
  const ChildSa* ca = OnlyChild(p.a.Only());
  const ChildSa* cb = OnlyChild(p.b.Only());
  REQUIRE(ca != nullptr);
  REQUIRE(cb != nullptr);
  testing::CheckMatched(*ca, *cb);
  for (Node* n : {&p.a, &p.b}) {
    size_t sas = 0;
    for (const auto& [name, v] : n->rec.installed) sas += v.size();
    INFO(n->address);
    CHECK(sas == 1);
  }
}

// A CREATE_CHILD_SA of ours in flight when vpnd dies: the peer acts on it when it answers (a new
// CHILD SA, the rekeyed one marked as such), so the resumed end must take that answer as the
// exchange's, not throw it away.
TEST_CASE("a CHILD SA rekey in flight at the kill is finished by the resumed vpnd",
          "[ike_sa_state]") {
  for (bool pfs : {false, true}) {
    for (bool answered : {true, false}) {
      DYNAMIC_SECTION((pfs ? "PFS" : "no PFS") << (answered ? ", peer answered" : ", lost")) {
        Pair p;
        if (pfs) {
          p.ca->children[0].pfs = DhGroup::kCurve25519;
          p.cb->children[0].pfs = DhGroup::kCurve25519;
        }
        p.ca->dpd_interval = 2;
        p.cb->dpd_interval = 2;
        p.Up();
        REQUIRE(p.a.Only() != nullptr);
        const uint32_t old_in = OnlyChild(p.a.Only())->spi_in;
        REQUIRE(p.a.mgr->RekeyChild(old_in));
        REQUIRE(p.net.queue.size() == 1);
        const std::string saved = Saved(p.a);  // written before the request goes out
        Kill(p, p.a);
        if (answered) {
          p.net.Pump();  // B makes the new CHILD SA and answers into the void
          REQUIRE(p.b.Only()->children().size() == 2);
        } else {
          p.net.queue.clear();
        }
        p.net.Advance(absl::Seconds(2));
        REQUIRE(Restart(p, p.a, saved, p.ca).ike_resumed == 1);
        p.net.Advance(absl::Seconds(120), absl::Seconds(1));
        INFO(p.a.log.All());
        INFO(p.b.log.All());
        CheckOneMatchedChild(p);
        CHECK(OnlyChild(p.a.Only())->spi_in != old_in);
        CHECK_FALSE(p.a.rec.HasInbound(old_in));
        CHECK(p.a.rec.gaps == 0);
        CHECK(p.b.rec.gaps == 0);
        CHECK(p.unsendable == 0);
        CHECK(p.b.rec.ike_down == 0);
        CHECK_FALSE(p.b.log.Has("TEMPORARY_FAILURE"));
      }
    }
  }
}

TEST_CASE("a CHILD SA creation in flight at the kill is finished by the resumed vpnd",
          "[ike_sa_state]") {
  Pair p;
  ChildConfig two = p.ca->children[0];
  two.name = p.ca->name + "-tunnel-2";
  two.tunnel_id = 2;
  two.reqid = 2;
  two.local_ts = {testing::Ts("10.1.1.0/24")};
  two.remote_ts = {testing::Ts("10.2.1.0/24")};
  p.ca->children.push_back(two);
  ChildConfig two_b = p.cb->children[0];
  two_b.name = p.cb->name + "-tunnel-2";
  two_b.tunnel_id = 2;
  two_b.reqid = 2;
  two_b.local_ts = {testing::Ts("10.2.1.0/24")};
  two_b.remote_ts = {testing::Ts("10.1.1.0/24")};
  p.cb->children.push_back(two_b);
  p.Configure();
  // IKE_SA_INIT and IKE_AUTH with tunnel 1, then A's CREATE_CHILD_SA for tunnel 2 is on the wire.
  p.a.mgr->Tick();
  for (int i = 0; i < 4; ++i) p.net.DeliverOne();
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.a.Only()->children().size() == 1);
  REQUIRE(p.net.queue.size() == 1);
  const std::string saved = Saved(p.a);
  Kill(p, p.a);
  p.net.Pump();  // B installs tunnel 2 and answers into the void
  REQUIRE(p.b.Only()->children().size() == 2);
  REQUIRE(Restart(p, p.a, saved, p.ca).ike_resumed == 1);
  p.net.Advance(absl::Seconds(120), absl::Seconds(1));
  INFO(p.a.log.All());
  INFO(p.b.log.All());
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.b.Only() != nullptr);
  for (const char* t : {"-tunnel-1", "-tunnel-2"}) {
    for (Node* n : {&p.a, &p.b}) {
      size_t sas = 0;
      for (const auto& [name, v] : n->rec.installed) {
        if (absl::EndsWith(name, t)) sas += v.size();
      }
      INFO(n->address << t);
      CHECK(sas == 1);
    }
  }
  CHECK(p.a.Only()->children().size() == 2);
  CHECK(p.b.Only()->children().size() == 2);
  CHECK(p.unsendable == 0);
  CHECK(p.b.rec.ike_down == 0);
}

TEST_CASE("an IKE SA rekey in flight at the kill is finished by the resumed vpnd",
          "[ike_sa_state]") {
  Pair p;
  p.ca->dpd_interval = 2;
  p.cb->dpd_interval = 2;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  const IkeSpi old_spi = p.a.Only()->spi_i();
  testing::Mutable(p.a.Only()).Queue(NewIkeRekeyTask());
  REQUIRE(p.net.queue.size() == 1);
  const std::string saved = Saved(p.a);
  Kill(p, p.a);
  p.net.Pump();  // B makes the new IKE SA, moves the CHILD SA to it and answers into the void
  p.net.Advance(absl::Seconds(2));
  REQUIRE(Restart(p, p.a, saved, p.ca).ike_resumed == 1);
  p.net.Advance(absl::Seconds(120), absl::Seconds(1));
  INFO(p.a.log.All());
  INFO(p.b.log.All());
  CheckOneMatchedChild(p);
  CHECK(p.a.Only()->spi_i() != old_spi);  // the new IKE SA, on both ends
  CHECK(p.b.Only()->spi_i() == p.a.Only()->spi_i());
  CHECK(p.a.rec.gaps == 0);
  CHECK(p.b.rec.gaps == 0);
  CHECK(p.unsendable == 0);
  // Only the rekeyed IKE SA went down, on each end: the tunnel never did.
  CHECK(p.b.rec.ike_down == 1);
  CHECK(p.a.rec.ike_down == 1);
  CHECK_FALSE(p.b.log.Has("dead peer"));
}

// The other side of the same window: the peer's CREATE_CHILD_SA reached us, we answered it (the
// state with the new CHILD SA written first) and died.
TEST_CASE("a CHILD SA rekey answered just before the kill goes on after the resume",
          "[ike_sa_state]") {
  Pair p;
  p.ca->dpd_interval = 2;
  p.cb->dpd_interval = 2;
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  const uint32_t old_in = OnlyChild(p.a.Only())->spi_in;
  REQUIRE(p.a.mgr->RekeyChild(old_in));
  REQUIRE(p.net.DeliverOne());  // B answers: the answer is on the wire
  REQUIRE(p.b.Only()->children().size() == 2);
  const std::string saved = Saved(p.b);
  Kill(p, p.b);
  p.net.Advance(absl::Seconds(2));  // A installs the new SA, its Delete of the old one is lost
  REQUIRE(Restart(p, p.b, saved, p.cb).ike_resumed == 1);
  p.net.Advance(absl::Seconds(120), absl::Seconds(1));
  INFO(p.a.log.All());
  INFO(p.b.log.All());
  CheckOneMatchedChild(p);
  CHECK(p.a.rec.gaps == 0);
  CHECK(p.b.rec.gaps == 0);
  for (const auto& u : p.unsendable_at) UNSCOPED_INFO(u);
  CHECK(p.unsendable == 0);
  CHECK(p.a.rec.ike_down == 0);
}

// Review-ike5 1: both ends rekeyed the same CHILD SA at once (RFC 7296 2.8.1) and A died after
// answering B's rekey, its own in flight: the collision (B's new SA and its nonces) is saved
// with the exchange, so the resumed A settles it as it would have (the SA with the lowest nonce
// deleted by its maker), whichever side that is.
TEST_CASE("a CHILD SA rekey collision in flight at the kill is settled after the resume",
          "[ike_sa_state]") {
  for (int round = 0; round < 8; ++round) {
    DYNAMIC_SECTION("round " << round) {
      Pair p;
      p.ca->dpd_interval = 2;
      p.cb->dpd_interval = 2;
      p.Up();
      REQUIRE(p.a.Only() != nullptr);
      REQUIRE(p.a.mgr->RekeyChild(OnlyChild(p.a.Only())->spi_in));
      REQUIRE(p.b.mgr->RekeyChild(OnlyChild(p.b.Only())->spi_in));
      REQUIRE(p.net.queue.size() == 2);
      const Datagram a_request = p.net.Take(0);
      REQUIRE(p.net.DeliverOne());  // A answers B's rekey: the collision, noted by A's task
      const std::string saved = Saved(p.a);
      CHECK(absl::StrContains(saved, " collided=1 "));
      Kill(p, p.a);
      p.net.Deliver(a_request);  // B answers A's rekey into the void
      p.net.Pump();              // A's answer reaches B, which settles its side
      p.net.Advance(absl::Seconds(1));
      REQUIRE(Restart(p, p.a, saved, p.ca).ike_resumed == 1);
      p.net.Advance(absl::Seconds(120), absl::Seconds(1));
      INFO(p.a.log.All());
      INFO(p.b.log.All());
      CheckOneMatchedChild(p);
      CHECK(p.a.rec.gaps == 0);
      CHECK(p.b.rec.gaps == 0);
      CHECK(p.unsendable == 0);
      CHECK(p.b.rec.ike_down == 0);
    }
  }
}

// Both ends initiated at once; the end that initiated the IKE SA that stays deletes the other
// one, and is killed before the Delete's answer comes. Its dataplane already sends with the kept
// SA's CHILD SA (moved before the Delete went), which the peer has; the restarted vpnd resumes
// the kept SA only, and the duplicate's SAs go as orphans.
TEST_CASE("the end deleting a duplicate IKE SA killed before the answer", "[ike_sa_state]") {
  for (uint32_t round = 0; round < 8; ++round) {
    DYNAMIC_SECTION("round " << round) {
      Pair p;
      p.cb->initiate = true;
      p.Configure();
      p.net.drop = [](const Datagram& d) {
        return d.data.size() > 28 && d.data[18] == 37 && (d.data[19] & 0x20) != 0;
      };
      p.a.mgr->Tick();
      p.b.mgr->Tick();
      p.net.Pump();
      Node* deleter = nullptr;
      for (Node* n : {&p.a, &p.b}) {
        if (n->log.Has("duplicate IKE_SA from simultaneous initiation, deleting")) deleter = n;
      }
      INFO(p.a.log.All() << "---\n" << p.b.log.All());
      REQUIRE(deleter != nullptr);
      Node& dead = *deleter;
      auto cfg = &dead == &p.a ? p.ca : p.cb;
      Node& other = &dead == &p.a ? p.b : p.a;
      const std::string tunnel = cfg->children[0].name;
      // The peer removed the duplicate's CHILD SA when it took the Delete; this end already
      // sends with the kept one's. (Pair::unsendable also counts both IKE_AUTH responders
      // sending before their initiators installed, which is how any tunnel starts.)
      CHECK(other.rec.HasInbound(dead.rec.Outbound(tunnel)));
      const int before = p.unsendable;
      const std::string saved = Saved(dead);
      Kill(p, dead);
      p.net.Advance(absl::Seconds(2));
      CHECK(p.unsendable == before);  // the dataplane alone, vpnd down
      IkeManager::ResumeResult r = Restart(p, dead, saved, cfg);
      CHECK(r.ike_resumed == 1);
      CHECK(r.ike_refused == 0);
      // The restart's batch removes the SAs no resumed CHILD SA claims (the duplicate's).
      std::set<uint32_t> resumed;
      for (const IkeSa* sa : dead.mgr->Sas()) {
        for (const auto& c : sa->children()) resumed.insert(c->spi_in);
      }
      for (auto& [name, v] : dead.rec.installed) {
        std::erase_if(
            v, [&](const testing::Recorder::Installed& e) { return !resumed.contains(e.in); });
      }
      p.net.Advance(absl::Seconds(40));
      INFO(dead.log.All());
      CheckOneMatchedChild(p);
      CHECK(p.unsendable == before);
      CHECK(p.a.rec.gaps == 0);
      CHECK(p.b.rec.gaps == 0);
    }
  }
}

// Review-ike5 5: a tunnel the peer closed under close-action trap, its IKE SA up, waits for its
// packet after a restart too, instead of being created at once as a tunnel without a CHILD SA.
TEST_CASE("a trapped tunnel of a resumed IKE SA waits for its packet", "[ike_sa_state]") {
  Pair p;
  p.ca->close_action = CloseAction::kHold;
  ChildConfig two = p.ca->children[0];
  two.name = p.ca->name + "-tunnel-2";
  two.tunnel_id = 2;
  two.reqid = 2;
  two.local_ts = {testing::Ts("10.1.1.0/24")};
  two.remote_ts = {testing::Ts("10.2.1.0/24")};
  p.ca->children.push_back(two);
  ChildConfig two_b = p.cb->children[0];
  two_b.name = p.cb->name + "-tunnel-2";
  two_b.tunnel_id = 2;
  two_b.reqid = 2;
  two_b.local_ts = {testing::Ts("10.2.1.0/24")};
  two_b.remote_ts = {testing::Ts("10.1.1.0/24")};
  p.cb->children.push_back(two_b);
  p.a.mgr->set_traps(true);
  p.Up();
  REQUIRE(p.a.Only() != nullptr);
  REQUIRE(p.a.Only()->children().size() == 2);
  // B closes tunnel 2: A keeps a trap for it.
  testing::Mutable(p.b.Only()).DeleteChildren(2, false);
  p.net.Pump();
  REQUIRE(p.a.Only()->children().size() == 1);
  REQUIRE(p.a.mgr->trapped(p.ca->name, two.name));
  std::vector<IkeTrap> traps = p.a.mgr->SaveTraps();
  REQUIRE(traps.size() == 1);
  const std::string saved = EncodeIkeState(p.a.mgr->SaveState(), traps);
  Kill(p, p.a);
  p.net.drop = nullptr;
  p.a.mgr = std::make_unique<IkeManager>([&p] { return p.net.now; },
                                         [&p](const Datagram& d) { p.net.Send(d); }, &p.a.log,
                                         &p.a.keylog, &p.a.rec, testing::Net::Defaults());
  p.a.mgr->set_traps(true);
  p.a.mgr->SetPeers(testing::One(p.ca));
  std::vector<IkeTrap> back;
  absl::StatusOr<std::vector<IkeSaState>> s = DecodeIkeState(saved, &back);
  REQUIRE(s.ok());
  REQUIRE(back == traps);
  CHECK(p.a.mgr->ResumeTraps(back) == 0);
  REQUIRE(p.a.mgr->Resume(*std::move(s)).ike_resumed == 1);
  p.net.Advance(absl::Seconds(20));
  INFO(p.a.log.All());
  CHECK_FALSE(p.a.log.Has("has no CHILD_SA after the restart"));
  CHECK(p.a.mgr->trapped(p.ca->name, two.name));
  REQUIRE(p.b.Only() != nullptr);
  CHECK(p.b.Only()->children().size() == 1);
}

TEST_CASE("saved SAs of peers and tunnels no longer configured are not resumed", "[ike_sa_state]") {
  Pair p;
  p.Up();
  const std::string saved = Saved(p.a);
  Kill(p, p.a);
  auto other = testing::Peer(testing::kA, "192.0.2.9");
  IkeManager::ResumeResult r = Restart(p, p.a, saved, other);
  CHECK(r.ike_resumed == 0);
  CHECK(r.ike_refused == 1);
  CHECK(r.children_refused == 1);
  CHECK(p.a.log.Has("not resumed: the peer is no longer configured"));

  Pair q;
  q.Up();
  const std::string saved2 = Saved(q.a);
  Kill(q, q.a);
  auto renamed = testing::Peer(testing::kA, testing::kB);
  renamed->children[0].name += "-renamed";
  r = Restart(q, q.a, saved2, renamed);
  CHECK(r.ike_resumed == 1);
  CHECK(r.children_refused == 1);
  CHECK(r.children_resumed == 0);
}

TEST_CASE(
    "a saved SA whose peer identity or local address the configuration no longer has is "
    "not resumed",
    "[ike_sa_state]") {
  {
    Pair p;
    p.Up();
    const std::string saved = Saved(p.a);
    Kill(p, p.a);
    // Same peer config name, now expecting another identity from the peer.
    auto changed = testing::Peer(testing::kA, testing::kB);
    changed->remote_id = IdFromText("other.example.com");
    changed->remote_id_text = "other.example.com";
    changed->any_remote_id = false;
    IkeManager::ResumeResult r = Restart(p, p.a, saved, changed);
    INFO(p.a.log.All());
    CHECK(r.ike_resumed == 0);
    CHECK(r.ike_refused == 1);
    CHECK(
        p.a.log.Has("not resumed: the peer authenticated as 192.0.2.2, the configuration now "
                    "expects other.example.com"));
    // It is set up again instead, from scratch.
    p.net.Advance(absl::Seconds(1));
    CHECK(p.a.log.Has("initiating IKE_SA"));
  }
  {
    Pair p;
    p.Up();
    const std::string saved = Saved(p.a);
    Kill(p, p.a);
    auto moved = testing::Peer("192.0.2.7", testing::kB);
    IkeManager::ResumeResult r = Restart(p, p.a, saved, moved);
    CHECK(r.ike_refused == 1);
    CHECK(p.a.log.Has(
        "not resumed: it runs from 192.0.2.1, the configured local-address is 192.0.2.7"));
  }
  {
    // Unchanged: resumed (the check refuses only what changed).
    Pair p;
    p.Up();
    const std::string saved = Saved(p.a);
    Kill(p, p.a);
    IkeManager::ResumeResult r = Restart(p, p.a, saved, p.ca);
    CHECK(r.ike_resumed == 1);
  }
}

}  // namespace
}  // namespace portcullis::ike
