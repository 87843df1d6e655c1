// The responder under a flood of IKE_SA_INITs nobody can answer for (ike/sa/ike_manager.cc,
// ike/sa/tasks/ike_init.cc): spoofed sources with a proposal B accepts and a KE that cannot be
// right cost no DH and no log lines beyond one budget, cookies are demanded by rate as well as
// by half-open SAs, the cookie secret is replaced while a cookie of the previous one still
// counts, and the ikesa-limit / init-limit-half-open knobs refuse what they must.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ike/encoding/message.h"
#include "ike/sa/ike_sa.h"
#include "test/unit/ike/sa/ike_sa_harness.h"

using namespace portcullis::ike;
using namespace portcullis::ike::testing;

namespace {

constexpr char kC[] = "192.0.2.3";

// B answers anyone ("peer any": no address, any identity), which is what makes a spoofed
// IKE_SA_INIT with an acceptable proposal reach the key exchange.
std::shared_ptr<IkeSaConfig> AnyPeer() {
  auto c = Peer(kB, "0.0.0.0", "10.2.0.0/24", "10.1.0.0/24");
  c->name = "peer-any";
  c->peer_key = "any";
  c->remote = Address{};
  c->remote_any = true;
  c->any_remote_id = true;
  c->remote_id_text = "any";
  c->remote_id = IdPayload{};
  c->initiate = false;
  c->children[0].name = "peer-any-tunnel-1";
  return c;
}

// A's real IKE_SA_INIT (curve25519, the proposal B accepts), taken off the wire before B sees it.
struct Flood {
  Net net;
  Node& a;
  Node& b;
  std::shared_ptr<IkeSaConfig> ca = Peer(kA, kB);
  Datagram init;

  explicit Flood(ManagerOptions ob = Net::Defaults()) : a(net.Add(kA)), b(net.Add(kB, ob)) {
    b.mgr->SetPeers(One(AnyPeer()));
    a.mgr->SetPeers(One(ca));
    a.mgr->Tick();
    REQUIRE(net.queue.size() == 1);
    init = net.queue.front();
    net.queue.clear();
  }

  // `init` as anyone could send it from `src`: initiator SPI `spi`, the KE replaced by `ke`
  // (all zeros unless given), a COOKIE in front when given.
  Datagram Forge(const std::string& src, uint64_t spi, std::optional<Bytes> ke = Bytes{},
                 const Bytes& cookie = {}) const {
    absl::StatusOr<Message> m = DecodeMessage(init.data);
    REQUIRE(m.ok());
    for (int i = 0; i < 8; ++i) m->header.spi_i[i] = static_cast<uint8_t>(spi >> (56 - 8 * i));
    for (Payload& p : m->payloads) {
      if (p.type != PayloadType::kKe || !ke) continue;
      auto& k = std::get<KePayload>(p.body);
      k.data = ke->empty() ? Bytes(k.data.size(), 0) : *ke;
    }
    std::vector<Payload> payloads;
    if (!cookie.empty()) payloads.push_back(MakeNotify(NotifyType::kCookie, cookie));
    for (Payload& p : m->payloads) {
      if (p.As<NotifyPayload>() == nullptr || p.As<NotifyPayload>()->type != NotifyType::kCookie) {
        payloads.push_back(p);
      }
    }
    m->payloads = std::move(payloads);
    absl::StatusOr<Bytes> wire = EncodeMessage(*m);
    REQUIRE(wire.ok());
    Datagram d = init;
    d.src.address = *Address::Parse(src);
    d.data = *wire;
    return d;
  }

  // B's answer to the initiator SPI `spi`, decoded (the last one B sent).
  std::optional<Message> AnswerTo(uint64_t spi) const {
    std::optional<Message> out;
    for (const Datagram& d : net.sent) {
      if (d.src.address.ToString() != kB) continue;
      absl::StatusOr<Message> m = DecodeMessage(d.data);
      if (!m.ok() || m->header.exchange != ExchangeType::kIkeSaInit) continue;
      uint64_t s = 0;
      for (uint8_t x : m->header.spi_i) s = s << 8 | x;
      if (s == spi) out = *m;
    }
    return out;
  }

  // B's IKE_SA_INIT answers on the wire: how many carry `type`.
  size_t Answers(NotifyType type) const {
    size_t n = 0;
    for (const Datagram& d : net.sent) {
      if (d.src.address.ToString() != kB) continue;
      absl::StatusOr<Message> m = DecodeMessage(d.data);
      if (m.ok() && !m->Notifies(type).empty()) ++n;
    }
    return n;
  }
};

std::string Spoofed(int i) {
  return absl::StrCat("198.18.", (i >> 8) & 0xff, ".", i & 0xff);
}

bool HasNotify(const std::optional<Message>& m, NotifyType t) {
  return m.has_value() && !m->Notifies(t).empty();
}

}  // namespace

TEST_CASE("spoofed IKE_SA_INITs with a zero KE: cookies by rate, no DH, a bounded log",
          "[ike_sa][cookie][dos]") {
  Flood f;
  size_t lines = f.b.log.lines.size();
  // 1000 sources, each once: no source reaches block-threshold and no SA stays half-open (every
  // KE is refused), so only a rate of answered IKE_SA_INITs can bring the COOKIEs on.
  for (int i = 0; i < 1000; ++i) f.b.mgr->HandleDatagram(f.Forge(Spoofed(i), 0x1000 + i));
  INFO(f.b.log.All());
  size_t refused = f.Answers(NotifyType::kInvalidSyntax);
  CHECK(refused == 10);  // cookie-threshold: the first second's answered ones, then COOKIEs
  CHECK(f.Answers(NotifyType::kCookie) == 1000 - refused);
  CHECK(f.b.mgr->counter(IkeCounter::kCookieSent) == 1000 - refused);
  CHECK(f.b.mgr->counter(IkeCounter::kInvalidKe) == refused);
  CHECK(f.b.mgr->HalfOpenCount() == 0);
  CHECK(f.b.log.lines.size() - lines <= static_cast<size_t>(LogRateLimiter::kBurst));
  CHECK(f.b.log.Count("sending COOKIE to") == 1);

  // It goes on for ten seconds: COOKIEs stay demanded (the calm-down restarts with every one),
  // nothing more reaches the key exchange, the log grows by its budget at most.
  for (int t = 0; t < 100; ++t) {
    f.net.now += absl::Milliseconds(100);
    f.b.mgr->Tick();
    for (int i = 0; i < 50; ++i) {
      int n = 1000 + t * 50 + i;
      f.b.mgr->HandleDatagram(f.Forge(Spoofed(n), 0x1000 + n));
    }
  }
  CHECK(f.Answers(NotifyType::kInvalidSyntax) == refused);
  CHECK(f.b.log.lines.size() - lines <=
        static_cast<size_t>(LogRateLimiter::kBurst + 10 * LogRateLimiter::kPerSecond + 5));
  CHECK(f.b.log.Has("more IKE_SA_INITs answered with COOKIE since the last report"));

  // The real peer starts in the middle of it: it proves its address with the COOKIE and is up.
  f.net.queue.clear();
  f.net.queue.push_back(f.init);
  f.net.Pump();
  f.net.Advance(absl::Seconds(1));
  INFO(f.a.log.All());
  CHECK(f.a.log.Has("received COOKIE notify, restarting IKE_SA_INIT with it"));
  REQUIRE(f.a.Only() != nullptr);
  REQUIRE(f.b.Only() != nullptr);
}

TEST_CASE("the responder checks the KE before it makes a DH key", "[ike_sa][dos]") {
  Flood f;
  SECTION("a point of small order") {
    f.b.mgr->HandleDatagram(f.Forge(kC, 0x77));
    INFO(f.b.log.All());
    CHECK(HasNotify(f.AnswerTo(0x77), NotifyType::kInvalidSyntax));
    CHECK(
        f.b.log.Has("invalid KE payload: CURVE_25519: peer public value is a point of small order "
                    "(INVALID_SYNTAX)"));
  }
  SECTION("the wrong length") {
    f.b.mgr->HandleDatagram(f.Forge(kC, 0x77, Bytes(31, 9)));
    INFO(f.b.log.All());
    CHECK(HasNotify(f.AnswerTo(0x77), NotifyType::kInvalidSyntax));
    CHECK(f.b.log.Has("public value of 31 bytes, expected 32 (INVALID_SYNTAX)"));
  }
  // Nothing was selected, so no key was generated for it.
  CHECK_FALSE(f.b.log.Has("selected proposal"));
  CHECK(f.b.mgr->counter(IkeCounter::kInvalidKe) == 1);
  CHECK(f.b.Established().empty());
  CHECK(f.b.mgr->Sas().empty());
}

TEST_CASE("a cookie of the previous secret is valid, one of the secret before is not",
          "[ike_sa][cookie]") {
  ManagerOptions ob = Net::Defaults();
  ob.cookie_threshold = 1;
  ob.cookie_secret_lifetime = absl::Seconds(5);
  Flood f(ob);
  f.net.nodes.erase(kA);  // A's own attempts stay out of this; its datagram is all we need
  // C leaves a half-open SA behind (a real KE, nobody answers B): cookies are demanded from now
  // on, for as long as it lives (half-open-timeout 30 s).
  f.b.mgr->HandleDatagram(f.Forge(kC, 0xC, std::nullopt));
  REQUIRE(f.b.mgr->HalfOpenCount() == 1);
  f.b.mgr->HandleDatagram(f.Forge(kA, 1, std::nullopt));
  f.b.mgr->HandleDatagram(f.Forge(kA, 2, std::nullopt));
  std::optional<Message> a1 = f.AnswerTo(1), a2 = f.AnswerTo(2);
  REQUIRE(HasNotify(a1, NotifyType::kCookie));
  REQUIRE(HasNotify(a2, NotifyType::kCookie));
  Bytes c1 = a1->Notifies(NotifyType::kCookie)[0]->data;
  Bytes c2 = a2->Notifies(NotifyType::kCookie)[0]->data;
  CHECK(c1.size() == 33);  // version of the secret | HMAC-SHA256

  f.net.Advance(absl::Seconds(6));  // one new secret: c1 and c2 were made with the previous one
  f.b.mgr->HandleDatagram(f.Forge(kA, 1, std::nullopt, c1));
  INFO(f.b.log.All());
  CHECK(f.AnswerTo(1)->Find(PayloadType::kSa) != nullptr);
  CHECK(f.b.mgr->HalfOpenCount() == 2);

  f.net.Advance(absl::Seconds(5));  // another: c2's secret is gone
  REQUIRE(f.b.mgr->HalfOpenCount() == 2);
  f.b.mgr->HandleDatagram(f.Forge(kA, 2, std::nullopt, c2));
  std::optional<Message> again = f.AnswerTo(2);
  REQUIRE(HasNotify(again, NotifyType::kCookie));
  CHECK(again->Notifies(NotifyType::kCookie)[0]->data != c2);
  CHECK(f.b.log.Has("(the COOKIE it sent is not valid)"));
  CHECK(f.b.mgr->HalfOpenCount() == 2);
}

TEST_CASE("init-limit-half-open and ikesa-limit refuse new IKE_SA_INITs", "[ike_sa][dos]") {
  ManagerOptions ob = Net::Defaults();
  SECTION("init-limit-half-open") {
    ob.init_limit_half_open = 1;
    Flood f(ob);
    f.b.mgr->HandleDatagram(f.Forge(kC, 0xC, std::nullopt));  // half-open, never answered
    REQUIRE(f.b.mgr->HalfOpenCount() == 1);
    f.net.queue.clear();
    f.net.queue.push_back(f.init);
    f.net.Pump();
    INFO(f.b.log.All());
    CHECK_FALSE(f.AnswerTo(0).has_value());
    CHECK(f.b.mgr->counter(IkeCounter::kInitHalfOpenLimit) == 1);
    CHECK(
        f.b.log.Has("ignoring IKE_SA setup from 192.0.2.1: 1 half-open IKE_SAs reach "
                    "init-limit-half-open 1"));
    CHECK(f.a.Only() == nullptr);
    // Once C's half-open SA timed out (30 s), A's next retransmission (47.5 s) gets in.
    f.net.Advance(absl::Seconds(50));
    CHECK(f.a.Only() != nullptr);
  }
  SECTION("ikesa-limit") {
    ob.ikesa_limit = 1;
    Flood f(ob);
    f.net.queue.push_back(f.init);
    f.net.Pump();
    REQUIRE(f.a.Only() != nullptr);
    Node& c = f.net.Add(kC);
    c.mgr->SetPeers(One(Peer(kC, kB, "10.3.0.0/24", "10.2.0.0/24")));
    f.net.Tick();
    INFO(f.b.log.All());
    CHECK(c.Only() == nullptr);
    CHECK(f.b.mgr->Sas().size() == 1);
    CHECK(f.b.mgr->counter(IkeCounter::kInitIkeSaLimit) == 1);
    CHECK(f.b.log.Has("ignoring IKE_SA setup from 192.0.2.3: 1 IKE_SAs reach ikesa-limit 1"));
    // C retransmits: counted every time, logged once per interval.
    f.net.Advance(absl::Seconds(9));
    CHECK(f.b.mgr->counter(IkeCounter::kInitIkeSaLimit) > 1);
    CHECK(f.b.log.Count("reach ikesa-limit 1") == 1);
  }
}
