// Peers without an address ("peer any", "peer @id", VyOS peers without remote-address): the
// responder picks the peer config in IKE_AUTH by the identity the initiator proves (address
// matches first, then dynamic peers whose remote-id is that identity, then those that accept any
// identity), enforces remote-id whenever one is configured, and INITIAL_CONTACT only replaces
// IKE SAs of the same identity (RFC 7296 2.4).
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

constexpr char kC[] = "192.0.2.3";

void SetLocalId(IkeSaConfig& c, const std::string& id) {
  c.local_id = IdFromText(id);
  c.local_id_text = id;
}

// B's side of a peer without an address, identified by `remote_id` ("" = any identity).
std::shared_ptr<IkeSaConfig> Dynamic(const std::string& name, const std::string& remote_id,
                                     const std::string& psk) {
  auto c = Peer(kB, "0.0.0.0", "10.2.0.0/24", "10.1.0.0/8");
  c->name = name;
  c->peer_key = name;
  c->remote = Address{};
  c->remote_any = true;
  c->initiate = false;
  c->any_remote_id = remote_id.empty();
  c->remote_id_text = remote_id.empty() ? "any" : remote_id;
  c->remote_id = remote_id.empty() ? IdPayload{} : IdFromText(remote_id);
  c->psk = SharedSecret(psk);
  c->children[0].name = name + "-tunnel-1";
  return c;
}

// An initiator at `address` with identity `id` and `psk`, its inner net 10.x.0.0/24.
std::shared_ptr<IkeSaConfig> Road(const char* address, const std::string& id,
                                  const std::string& psk, const std::string& net) {
  auto c = Peer(address, kB, net, "10.2.0.0/24");
  SetLocalId(*c, id);
  c->psk = SharedSecret(psk);
  return c;
}

// B accepts "@site-a.example" without knowing its address; A dials in claiming `a_id`.
struct DialIn {
  Net net;
  Node& a = net.Add(kA);
  Node& b = net.Add(kB);
  explicit DialIn(const std::string& a_id) {
    b.mgr->SetPeers(One(Dynamic("peer-@site-a.example", "@site-a.example", "test-psk-0123456789")));
    a.mgr->SetPeers(One(Road(kA, a_id, "test-psk-0123456789", "10.1.0.0/24")));
    net.Tick();
  }
};

// B serves `b_peers`; A (@alpha.example, 10.1.0.0/24) and C (@gamma.example, 10.3.0.0/24) dial
// in with their PSKs.
struct TwoDialIns {
  Net net;
  Node& a = net.Add(kA);
  Node& b = net.Add(kB);
  Node& c = net.Add(kC);
  TwoDialIns(std::vector<std::shared_ptr<const IkeSaConfig>> b_peers, const std::string& psk_a,
             const std::string& psk_c) {
    b.mgr->SetPeers(b_peers);
    a.mgr->SetPeers(One(Road(kA, "@alpha.example", psk_a, "10.1.0.0/24")));
    c.mgr->SetPeers(One(Road(kC, "@gamma.example", psk_c, "10.3.0.0/24")));
    net.Tick();
  }
};

}  // namespace

TEST_CASE("remote-id is enforced for a peer without an address", "[ike_sa][identity]") {
  DialIn d("@attacker.example");
  Node& a = d.a;
  Node& b = d.b;
  INFO(b.log.All());
  CHECK(b.Only() == nullptr);
  CHECK(
      b.log.Has("AUTHENTICATION_FAILED: peer identified as 'attacker.example' (ID_FQDN) but "
                "remote-id of peer-@site-a.example is '@site-a.example' (remote-id mismatch)"));
  CHECK(a.log.Has("received AUTHENTICATION_FAILED notify error"));
  CHECK(b.rec.child_up == 0);
}

TEST_CASE("the right identity is accepted by the dynamic peer", "[ike_sa][identity]") {
  DialIn d("@site-a.example");
  INFO(d.b.log.All());
  const IkeSa* sa = d.b.Only();
  REQUIRE(sa != nullptr);
  CHECK(sa->config().name == "peer-@site-a.example");
  REQUIRE(sa->peer_id().has_value());
  CHECK(IdToText(*sa->peer_id()) == "site-a.example");
}

TEST_CASE("several dynamic peers coexist, each checked against its own PSK", "[ike_sa][identity]") {
  // Sorted by name, "peer-@alpha" comes first: it must not be used for gamma.
  TwoDialIns d({Dynamic("peer-@alpha", "@alpha.example", "alpha-secret"),
                Dynamic("peer-@gamma", "@gamma.example", "gamma-secret")},
               "alpha-secret", "gamma-secret");
  Node& a = d.a;
  Node& b = d.b;
  Node& c = d.c;
  INFO(b.log.All());
  auto sas = b.Established();
  REQUIRE(sas.size() == 2);
  std::set<std::string> names;
  for (const IkeSa* sa : sas) names.insert(sa->config().name);
  CHECK(names == std::set<std::string>{"peer-@alpha", "peer-@gamma"});
  REQUIRE(a.Only() != nullptr);
  REQUIRE(c.Only() != nullptr);
}

TEST_CASE("an address-matched peer wins over a dynamic one", "[ike_sa][identity]") {
  Net net;
  Node& a = net.Add(kA);
  Node& b = net.Add(kB);
  auto fixed = Peer(kB, kA, "10.2.0.0/24", "10.1.0.0/24");
  fixed->initiate = false;
  fixed->psk = SharedSecret("fixed-secret");
  auto any = Dynamic("peer-any", "", "any-secret");
  b.mgr->SetPeers({fixed, any});
  auto ca = Peer(kA, kB);
  ca->psk = SharedSecret("fixed-secret");
  a.mgr->SetPeers(One(ca));
  net.Tick();
  INFO(b.log.All());
  REQUIRE(b.Only() != nullptr);
  CHECK(b.Only()->config().name == "peer-192.0.2.1");
}

namespace {

bool AllPrintable(const CaptureLog& log) {
  for (const std::string& l : log.lines) {
    for (unsigned char c : l) {
      if (c < 0x20 || c >= 0x7f) return false;
    }
  }
  return true;
}

// An identity chosen to forge a log line, clear the operator's screen, cut a C string and
// carry bytes no terminal should get raw.
const std::string kEvilId =
    std::string("@evil\n2026-01-01 00:00:00 01[IKE] forged\x1b[2J") + std::string(1, '\0') + "\xff";
constexpr char kEvilEscaped[] = "evil\\x0a2026-01-01 00:00:00 01[IKE] forged\\x1b[2J\\x00\\xff";

}  // namespace

TEST_CASE("a peer's identity reaches the log and show output escaped", "[ike_sa][identity]") {
  SECTION("refused: the remote-id does not match") {
    DialIn d(kEvilId);
    INFO(d.b.log.All());
    CHECK(d.b.Only() == nullptr);
    CHECK(d.b.log.Has(
        absl::StrCat("AUTHENTICATION_FAILED: peer identified as '", kEvilEscaped, "' (ID_FQDN)")));
    CHECK(AllPrintable(d.b.log));
  }
  SECTION("accepted by a peer that takes any identity") {
    Net net;
    Node& a = net.Add(kA);
    Node& b = net.Add(kB);
    b.mgr->SetPeers(One(Dynamic("peer-any", "", "test-psk-0123456789")));
    a.mgr->SetPeers(One(Road(kA, kEvilId, "test-psk-0123456789", "10.1.0.0/24")));
    net.Tick();
    INFO(b.log.All());
    REQUIRE(b.Only() != nullptr);
    REQUIRE(b.Only()->peer_id().has_value());
    // What `show vpn ike sa` prints for the peer.
    CHECK(IdToText(*b.Only()->peer_id()) == kEvilEscaped);
    CHECK(b.log.Has(
        absl::StrCat("authentication of '", kEvilEscaped, "' with pre-shared key successful")));
    CHECK(AllPrintable(b.log));
    CHECK(AllPrintable(a.log));
  }
}

TEST_CASE("INITIAL_CONTACT only replaces IKE SAs of the same identity", "[ike_sa][identity]") {
  TwoDialIns d({Dynamic("peer-any", "", "shared-secret")}, "shared-secret", "shared-secret");
  Net& net = d.net;
  Node& b = d.b;
  REQUIRE(b.Established().size() == 2);
  const IkeSa* gamma = nullptr;
  for (const IkeSa* sa : b.Established()) {
    if (IdToText(*sa->peer_id()) == "gamma.example") gamma = sa;
  }
  REQUIRE(gamma != nullptr);
  // A reboots: a fresh node at the same address sends INITIAL_CONTACT.
  Node& a2 = net.Add(kA);
  a2.mgr->SetPeers(One(Road(kA, "@alpha.example", "shared-secret", "10.1.0.0/24")));
  net.Tick();
  INFO(b.log.All());
  CHECK(b.log.Count("the peer sent INITIAL_CONTACT") == 1);
  auto sas = b.Established();
  REQUIRE(sas.size() == 2);
  CHECK(std::find(sas.begin(), sas.end(), gamma) != sas.end());
  CHECK(b.rec.ike_down == 1);
}

TEST_CASE("one config, many peers: a new peer never counts as a duplicate of another's SA",
          "[ike_sa][identity]") {
  // B rekeys A's IKE SA itself, so B is the initiator of the successor: the simultaneous-
  // initiation rule (the lower-nonce SA of a peer goes) must compare peers, not configs.
  auto any = Dynamic("peer-any", "", "shared-secret");
  any->ike_lifetime = 60;
  Net net;
  Node& a = net.Add(kA);
  Node& b = net.Add(kB);
  b.mgr->SetPeers(One(any));
  auto ca = Road(kA, "@alpha.example", "shared-secret", "10.1.0.0/24");
  ca->ike_lifetime = 3600;
  a.mgr->SetPeers(One(ca));
  net.Tick();
  while (!b.log.Has("rekeyed into")) net.Advance(absl::Seconds(1));
  net.Advance(absl::Seconds(1));
  REQUIRE(a.Only() != nullptr);
  const uint32_t alpha_id = a.Only()->unique_id();
  // More peers dial in on the same config; each nonce comparison is a coin toss, so with 16 of
  // them the old rule (by config name) is caught in all but 1 run in 65536.
  const int more = 16;
  for (int n = 0; n < more; ++n) {
    std::string addr = absl::StrCat("192.0.2.", 10 + n);
    Node& x = net.Add(addr);
    x.mgr->SetPeers(One(Road(addr.c_str(), absl::StrCat("@peer", n, ".example"), "shared-secret",
                             absl::StrCat("10.", 10 + n, ".0.0/24"))));
    net.Tick();
    REQUIRE(x.Only() != nullptr);
  }
  INFO(b.log.All());
  CHECK_FALSE(b.log.Has("duplicate IKE_SA"));
  REQUIRE(a.Only() != nullptr);
  CHECK(a.Only()->unique_id() == alpha_id);
  CHECK(b.Established().size() == 1 + more);
}

TEST_CASE("an SA that IKE_AUTH moved to another config is found there: INITIAL_CONTACT replaces it",
          "[ike_sa][identity]") {
  // Gamma's IKE_SA_INIT gets the first dynamic config by name (peer-@alpha); IKE_AUTH moves the
  // SA to peer-@gamma, and the manager's index of SAs by config must follow (ConfigChanged).
  TwoDialIns d({Dynamic("peer-@alpha", "@alpha.example", "alpha-secret"),
                Dynamic("peer-@gamma", "@gamma.example", "gamma-secret")},
               "alpha-secret", "gamma-secret");
  Net& net = d.net;
  Node& b = d.b;
  REQUIRE(b.Established().size() == 2);
  CHECK(b.log.Has("switching to peer config peer-@gamma"));
  // C reboots: a fresh node at the same address sends INITIAL_CONTACT as @gamma.example.
  Node& c2 = net.Add(kC);
  c2.mgr->SetPeers(One(Road(kC, "@gamma.example", "gamma-secret", "10.3.0.0/24")));
  net.Tick();
  INFO(b.log.All());
  CHECK(b.log.Count("the peer sent INITIAL_CONTACT") == 1);
  auto sas = b.Established();
  REQUIRE(sas.size() == 2);  // alpha's and gamma's new one; gamma's old one is gone
  std::set<std::string> names;
  for (const IkeSa* sa : sas) names.insert(sa->config().name);
  CHECK(names == std::set<std::string>{"peer-@alpha", "peer-@gamma"});
}

// The peer restarts (vpnd killed) seconds after B set the IKE SA up: its new IKE SA carries
// INITIAL_CONTACT, so it is no duplicate of a simultaneous initiation. B destroys the old one at
// once instead of Deleting it (a Delete the restarted peer would never answer, while B kept
// sending on the old CHILD SA the peer no longer has).
TEST_CASE("INITIAL_CONTACT within seconds of an IKE SA: destroyed, not a duplicate to delete",
          "[ike_sa][identity]") {
  Pair p;
  p.ca->initiate = false;
  p.cb->initiate = true;
  p.Up();
  REQUIRE(p.b.Established().size() == 1);
  REQUIRE(p.b.Established()[0]->original_initiator());
  p.net.Advance(absl::Seconds(2));  // well within kSimultaneousInitiation
  Node& a2 = p.net.Add(kA);
  auto again = std::make_shared<IkeSaConfig>(*p.ca);
  again->initiate = true;
  a2.mgr->SetPeers(One(again));
  p.net.Tick();
  p.net.Pump();
  INFO(p.b.log.All());
  CHECK(p.b.log.Count("the peer sent INITIAL_CONTACT") == 1);
  CHECK_FALSE(p.b.log.Has("duplicate IKE_SA from simultaneous initiation"));
  REQUIRE(p.b.Established().size() == 1);
  REQUIRE(a2.Established().size() == 1);
  CheckMatched(*OnlyChild(a2.Only()), *OnlyChild(p.b.Only()));
}
