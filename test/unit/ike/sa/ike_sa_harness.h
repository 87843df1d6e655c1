// Two (or more) IKE SA managers wired together through an in-memory network with a fake clock:
// datagrams are queued and delivered by Pump(), can be dropped or rewritten by a NAT on the
// way, and time only moves when Advance() says so. Every node keeps its log lines.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "ike/crypto/random.h"
#include "ike/crypto/sk_cipher.h"
#include "ike/encoding/message.h"
#include "ike/sa/ike_config.h"
#include "ike/sa/ike_manager.h"
#include "ike/sa/ike_sa.h"
#include "ike/sa/task.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::ike::testing {

struct CaptureLog : LogSink {
  std::vector<std::string> lines;
  void Write(const LogRecord& r) override { lines.push_back(FormatLogLine(r)); }
  bool Has(absl::string_view s) const { return Count(s) > 0; }
  size_t Count(absl::string_view s) const {
    return std::count_if(lines.begin(), lines.end(),
                         [&](const std::string& l) { return absl::StrContains(l, s); });
  }
  std::string Find(absl::string_view s) const {
    for (const auto& l : lines) {
      if (absl::StrContains(l, s)) return l;
    }
    return "";
  }
  std::string All() const {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

struct Recorder : IkeListener {
  int child_up = 0, child_down = 0, child_updated = 0, ike_up = 0, ike_down = 0;
  std::vector<uint32_t> up_spis, down_spis;
  // The SA installer's view, by its rules (control/vpnd/channel_sa_installer.cc): vpnd turns
  // ChildUp into add_sa, ChildDown into del_sa, ChildOutbound into moving the VTI binding or
  // policies. Per child config, the CHILD SAs installed and the outbound SA the tunnel is bound
  // to: an install binds it if it sends (or nothing is bound), ChildOutbound binds it and marks
  // the tunnel's other SAs not sending, and the removal of the bound SA binds the next sender
  // (a sending one first, the newest first), as ChannelSaInstaller::NextSender does. `gaps`
  // counts removals that left a child config with no SA at all: a window with no outbound SA,
  // where every packet is lost.
  struct Installed {
    uint32_t in = 0, out = 0;
    bool sending = true;
    uint64_t order = 0;
  };
  std::map<std::string, std::vector<Installed>> installed;
  std::map<std::string, uint32_t> bound;  // child config -> outbound SPI the tunnel sends with
  uint64_t order = 0;
  int gaps = 0;
  // What ChildInPlace answers: false, as while the dataplane has not acknowledged an install.
  bool in_place = true;
  bool ChildInPlace(const ChildSa&) const override { return in_place; }
  void ChildUp(const IkeSa&, const ChildSa& c) override {
    ++child_up;
    up_spis.push_back(c.spi_in);
    const bool unbound = Outbound(c.name) == 0;
    installed[c.name].push_back({c.spi_in, c.spi_out, c.outbound_active || unbound, ++order});
    if (c.outbound_active || unbound) bound[c.name] = c.spi_out;
  }
  void ChildOutbound(const IkeSa&, const ChildSa& c) override {
    for (auto& e : installed[c.name]) {
      e.sending = e.in == c.spi_in;
      if (e.in == c.spi_in) e.order = ++order;
    }
    bound[c.name] = c.spi_out;
  }
  void ChildDown(const IkeSa&, const ChildSa& c) override {
    ++child_down;
    down_spis.push_back(c.spi_in);
    auto& v = installed[c.name];
    std::erase_if(v, [&](const Installed& e) { return e.in == c.spi_in; });
    if (v.empty()) ++gaps;
    if (bound[c.name] == c.spi_out) bound[c.name] = NextSender(c.name);
  }
  // The SA a removal binds the tunnel to: the newest sending one, else the newest; 0: none.
  uint32_t NextSender(const std::string& name) const {
    auto it = installed.find(name);
    if (it == installed.end()) return 0;
    const Installed* best = nullptr;
    for (const auto& e : it->second) {
      if (best == nullptr || (e.sending && !best->sending) ||
          (e.sending == best->sending && e.order > best->order)) {
        best = &e;
      }
    }
    return best == nullptr ? 0 : best->out;
  }
  // The outbound SPI this node sends `name`'s traffic with; 0: none. (A test that takes
  // entries out of `installed` itself, as a restart's batch does, gets the next sender.)
  uint32_t Outbound(const std::string& name) const {
    auto b = bound.find(name);
    auto it = installed.find(name);
    if (b == bound.end() || b->second == 0 || it == installed.end()) return NextSender(name);
    for (const auto& e : it->second) {
      if (e.out == b->second) return b->second;
    }
    return NextSender(name);
  }
  bool HasInbound(uint32_t spi) const {
    for (const auto& [n, v] : installed) {
      for (const auto& e : v) {
        if (e.in == spi) return true;
      }
    }
    return false;
  }
  // Whether an SA of tunnel `tunnel` ("-tunnel-1", the end of a child config name, which has
  // the other end's address before it) is installed.
  bool HasTunnel(const std::string& tunnel) const {
    for (const auto& [n, v] : installed) {
      if (!v.empty() && n.size() >= tunnel.size() &&
          n.compare(n.size() - tunnel.size(), tunnel.size(), tunnel) == 0) {
        return true;
      }
    }
    return false;
  }
  void ChildUpdated(const IkeSa&, const ChildSa&) override { ++child_updated; }
  void IkeUp(const IkeSa&) override { ++ike_up; }
  void IkeDown(const IkeSa&) override { ++ike_down; }
};

// This thread's IKE randomness (nonces, IKE and CHILD SPIs, DH keys, jitter: FillRandom,
// ike/crypto/random.h) from a generator seeded with `seed` while it lives. Made before the
// nodes, a run with the same seed and the same order of events repeats exactly (the managers
// keep their SAs in ordered containers), so a failing random order can be replayed.
class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed)
      : rng_(seed ^ 0x9e3779b97f4a7c15ull), guard_([this](absl::Span<uint8_t> out) {
          for (uint8_t& b : out) b = static_cast<uint8_t>(rng_() >> 56);
        }) {}

 private:
  std::mt19937_64 rng_;
  ScopedRandomSource guard_;
};

class Net;

struct Node {
  Node(Net& net, const std::string& address, ManagerOptions opts);
  std::string address;
  CaptureLog log, keylog;
  Recorder rec;
  std::unique_ptr<IkeManager> mgr;

  // The established IKE SAs.
  std::vector<const IkeSa*> Established() const {
    std::vector<const IkeSa*> out;
    for (const IkeSa* sa : mgr->Sas()) {
      if (sa->state() == IkeSa::State::kEstablished) out.push_back(sa);
    }
    return out;
  }
  const IkeSa* Only() const {
    auto e = Established();
    return e.size() == 1 ? e[0] : nullptr;
  }
};

class Net {
 public:
  absl::Time now = absl::FromUnixSeconds(1767225600);
  std::deque<Datagram> queue;
  std::function<bool(const Datagram&)> drop;  // true: lose it
  std::function<void(Datagram&)> on_wire;     // inspect/modify in flight
  std::function<void()> on_delivered;         // after each datagram was handled
  std::vector<Datagram> sent;                 // everything that went out
  // NAT: packets from `inside` leave with `outside` as source, ports +10000.
  std::string nat_inside, nat_outside;
  std::map<std::string, Node*> nodes;

  Node& Add(const std::string& address, ManagerOptions opts = Defaults()) {
    owned_.push_back(std::make_unique<Node>(*this, address, opts));
    nodes[address] = owned_.back().get();
    return *owned_.back();
  }

  static ManagerOptions Defaults() {
    ManagerOptions o;
    o.reinitiate_delay = absl::Seconds(10);
    return o;
  }

  void Send(const Datagram& d) {
    Datagram x = d;
    if (!nat_inside.empty() && x.src.address.ToString() == nat_inside) {
      x.src.address = *Address::Parse(nat_outside);
      x.src.port = static_cast<uint16_t>(x.src.port + 10000);
    }
    sent.push_back(x);
    queue.push_back(std::move(x));
  }

  // Delivers until nothing is in flight, nor computing on a node's crypto pool
  // (IkeManager::StartCryptoPool): its results are handed over when the wire is quiet.
  void Pump(int max = 10000) {
    for (;;) {
      while (!queue.empty() && max-- > 0) DeliverOne();
      size_t drained = 0;
      for (auto& [a, n] : nodes) drained += n->mgr->DrainCrypto(/*wait=*/true);
      if (drained == 0 || max <= 0) return;
    }
  }

  // Delivers the first datagram in flight (or loses it, as `drop` says); false if there was
  // none. Step-by-step tests check both ends' state after each message this way.
  bool DeliverOne() {
    // Nothing on the wire: what a node's crypto pool finished may send the next message.
    if (queue.empty()) {
      for (auto& [a, n] : nodes) n->mgr->DrainCrypto(/*wait=*/true);
    }
    if (queue.empty()) return false;
    Datagram d = std::move(queue.front());
    queue.pop_front();
    if (drop && drop(d)) return true;
    if (on_wire) on_wire(d);
    if (!nat_inside.empty() && d.dst.address.ToString() == nat_outside) {
      d.dst.address = *Address::Parse(nat_inside);
      d.dst.port = static_cast<uint16_t>(d.dst.port - 10000);
    }
    auto it = nodes.find(d.dst.address.ToString());
    if (it != nodes.end()) it->second->mgr->HandleDatagram(d);
    CheckIndexes();
    if (on_delivered) on_delivered();
    return true;
  }

  // Every suite on this harness checks, after each datagram and each round of Ticks, that each
  // manager's CHILD SPI index holds exactly its IKE SAs' CHILD SAs: every path a CHILD SA
  // takes (install, rekey, collision, IKE rekey, reauthentication, duplicates, delete, resume);
  // and, with the timer heap (PORTCULLIS_TEST_SWEEP_MS, the ike_sa_sweep suite), that no IKE
  // SA is filed later than its NextTimer() says.
  void CheckIndexes() const {
    for (const auto& [a, n] : nodes) {
      absl::Status s = n->mgr->CheckChildIndex();
      INFO(a << ": " << s.message());
      REQUIRE(s.ok());
      s = n->mgr->CheckTimers();
      INFO(a << ": " << s.message());
      REQUIRE(s.ok());
    }
  }

  // Takes the i-th datagram in flight off the wire (to deliver later, or never).
  Datagram Take(size_t i = 0) {
    REQUIRE(i < queue.size());
    Datagram d = std::move(queue[i]);
    queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(i));
    return d;
  }
  // Delivers `d` now, past `drop`.
  void Deliver(const Datagram& d) {
    auto it = nodes.find(d.dst.address.ToString());
    if (it != nodes.end()) it->second->mgr->HandleDatagram(d);
    CheckIndexes();
    if (on_delivered) on_delivered();
  }

  // Moves the clock in `step`s, ticking every node and delivering after each.
  void Advance(absl::Duration total, absl::Duration step = absl::Milliseconds(500)) {
    for (absl::Duration t; t < total; t += step) {
      now += step;
      for (auto& [a, n] : nodes) n->mgr->Tick();
      CheckIndexes();
      Pump();
    }
  }
  void Tick() {
    for (auto& [a, n] : nodes) n->mgr->Tick();
    CheckIndexes();
    Pump();
  }

 private:
  std::vector<std::unique_ptr<Node>> owned_;
};

inline Node::Node(Net& net, const std::string& addr, ManagerOptions opts) : address(addr) {
  mgr = std::make_unique<IkeManager>([&net] { return net.now; },
                                     [&net](const Datagram& d) { net.Send(d); }, &log, &keylog,
                                     &rec, opts);
  // PORTCULLIS_TEST_KEY_POOL=1: every IKE_SA_INIT's keys through a 1-thread pool, drained by
  // Pump when the wire is quiet (meson runs the harness suites both ways).
  if (const char* e = std::getenv("PORTCULLIS_TEST_KEY_POOL"); e != nullptr && e[0] == '1') {
    mgr->StartCryptoPool(1, 64, /*all_groups=*/true);
  }
  // PORTCULLIS_TEST_SWEEP_MS=N: Tick visits the SAs whose timers are due (the timer heap) and
  // those touched since the last Tick, and walks every SA at most every N ms of the fake clock,
  // as vpnd runs it (ManagerOptions::sweep_interval).
  if (const char* e = std::getenv("PORTCULLIS_TEST_SWEEP_MS"); e != nullptr && e[0] != '\0') {
    ManagerOptions o = mgr->options();
    o.sweep_interval = absl::Milliseconds(std::atoi(e));
    mgr->SetOptions(o);
  }
}

inline Proposal IkeProp(EncrId e, uint16_t bits, IntegId i, PrfId p, DhGroup g) {
  Proposal pr;
  pr.protocol = ProtocolId::kIke;
  pr.transforms.push_back(Transform::Encr(e, bits));
  if (i != IntegId::kNone) pr.transforms.push_back(Transform::Integ(i));
  pr.transforms.push_back(Transform::Prf(p));
  pr.transforms.push_back(Transform::Dh(g));
  return pr;
}

inline Proposal EspProp(EncrId e, uint16_t bits, IntegId i = IntegId::kNone) {
  Proposal pr;
  pr.protocol = ProtocolId::kEsp;
  pr.transforms.push_back(Transform::Encr(e, bits));
  if (i != IntegId::kNone) pr.transforms.push_back(Transform::Integ(i));
  pr.transforms.push_back(Transform::Esn(EsnId::kNoEsn));
  return pr;
}

inline TrafficSelector Ts(const std::string& prefix) {
  auto slash = prefix.find('/');
  return TsFromPrefix(*Address::Parse(prefix.substr(0, slash)),
                      std::stoi(prefix.substr(slash + 1)));
}

// A peer connection `local` -> `remote` with IP-address IDs, one policy-based tunnel
// local_net === remote_net, curve25519 IKE and AES-GCM ESP with PFS.
inline std::shared_ptr<IkeSaConfig> Peer(const std::string& local, const std::string& remote,
                                         const std::string& local_net = "10.1.0.0/24",
                                         const std::string& remote_net = "10.2.0.0/24") {
  auto c = std::make_shared<IkeSaConfig>();
  c->name = "peer-" + remote;
  c->peer_key = remote;
  c->local = *Address::Parse(local);
  c->remote = *Address::Parse(remote);
  c->local_id_text = local;
  c->remote_id_text = remote;
  c->local_id = IdFromText(local);
  c->remote_id = IdFromText(remote);
  c->psk = SharedSecret("test-psk-0123456789");
  c->ike_proposals = {IkeProp(EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128,
                              PrfId::kHmacSha2_256, DhGroup::kCurve25519)};
  c->initiate = true;
  ChildConfig ch;
  ch.name = c->name + "-tunnel-1";
  ch.tunnel_id = 1;
  ch.local_ts = {Ts(local_net)};
  ch.remote_ts = {Ts(remote_net)};
  ch.esp_proposals = {EspProp(EncrId::kAesGcm16, 128)};
  ch.pfs = DhGroup::kCurve25519;
  ch.reqid = 1;
  c->children.push_back(ch);
  return c;
}

inline std::vector<std::shared_ptr<const IkeSaConfig>> One(std::shared_ptr<IkeSaConfig> c) {
  return {c};
}

inline constexpr char kA[] = "192.0.2.1";
inline constexpr char kB[] = "192.0.2.2";

// A initiates, B responds; mirrored selectors 10.1.0.0/24 === 10.2.0.0/24.
struct Pair {
  Net net;
  Node& a;
  Node& b;
  std::shared_ptr<IkeSaConfig> ca = Peer(kA, kB, "10.1.0.0/24", "10.2.0.0/24");
  std::shared_ptr<IkeSaConfig> cb = Peer(kB, kA, "10.2.0.0/24", "10.1.0.0/24");
  // Moments (after a datagram was handled) when an end sent a tunnel's traffic with an SA the
  // other end had no inbound SA for, once both had one for the tunnel: those packets would be
  // lost.
  int unsendable = 0;
  std::vector<std::string> unsendable_at;
  explicit Pair(ManagerOptions oa = Net::Defaults(), ManagerOptions ob = Net::Defaults())
      : a(net.Add(kA, oa)), b(net.Add(kB, ob)) {
    cb->initiate = false;
    net.on_delivered = [this] { CheckSendable(); };
  }
  void CheckSendable() {
    for (auto [x, y] : {std::pair<Node*, Node*>{&a, &b}, {&b, &a}}) {
      for (const auto& [name, v] : x->rec.installed) {
        auto at = name.rfind("-tunnel");
        if (at == std::string::npos || !y->rec.HasTunnel(name.substr(at))) continue;
        uint32_t out = x->rec.Outbound(name);
        if (out != 0 && !y->rec.HasInbound(out)) {
          ++unsendable;
          unsendable_at.push_back(x->address + " sends " + name + " with " + std::to_string(out));
        }
      }
    }
  }
  void Configure() {
    a.mgr->SetPeers(One(ca));
    b.mgr->SetPeers(One(cb));
  }
  // Configures both and lets A initiate.
  void Up() {
    Configure();
    net.Tick();
  }
  // Configures both, takes A's IKE_SA_INIT request off the wire and hands it to B, which now
  // holds a half-open SA. Returns the request; B's answer is on the wire.
  Datagram HalfOpen() {
    Configure();
    a.mgr->Tick();
    REQUIRE(net.queue.size() == 1);
    Datagram init = net.queue.front();
    net.queue.pop_front();
    b.mgr->HandleDatagram(init);
    return init;
  }
};

// A behind a NAT (10.0.0.1 seen as 198.51.100.1) identified by FQDN, B at kB expecting it.
struct NatPair {
  Net net;
  Node& a;
  Node& b;
  std::shared_ptr<IkeSaConfig> ca = Peer("10.0.0.1", kB);
  std::shared_ptr<IkeSaConfig> cb = Peer(kB, "198.51.100.1", "10.2.0.0/24", "10.1.0.0/24");
  NatPair() : a(AddInside(net)), b(net.Add(kB)) {
    ca->local_id = IdFromText("a.example.com");
    ca->local_id_text = "a.example.com";
    cb->remote_id = IdFromText("a.example.com");
    cb->remote_id_text = "a.example.com";
    cb->initiate = false;
  }
  void Up() {
    a.mgr->SetPeers(One(ca));
    b.mgr->SetPeers(One(cb));
    net.Tick();
  }

 private:
  static Node& AddInside(Net& n) {
    n.nat_inside = "10.0.0.1";
    n.nat_outside = "198.51.100.1";
    return n.Add("10.0.0.1");
  }
};

inline const ChildSa* OnlyChild(const IkeSa* sa) {
  if (sa == nullptr || sa->children().size() != 1) return nullptr;
  return sa->children()[0].get();
}

// The two ends of one CHILD SA pair agree on SPIs, keys, suite and selectors.
inline void CheckMatched(const ChildSa& x, const ChildSa& y) {
  CHECK(x.spi_in == y.spi_out);
  CHECK(x.spi_out == y.spi_in);
  CHECK(x.encr_in == y.encr_out);
  CHECK(x.encr_out == y.encr_in);
  CHECK(x.integ_in == y.integ_out);
  CHECK(x.integ_out == y.integ_in);
  CHECK(x.suite == y.suite);
  CHECK(x.local_ts == y.remote_ts);
  CHECK(x.remote_ts == y.local_ts);
  CHECK_FALSE(x.encr_in == x.encr_out);
}

// An IKE request (not a response) of the given exchange type.
inline bool IsRequest(const Datagram& d, uint8_t exchange) {
  return d.data.size() > 28 && d.data[18] == exchange && (d.data[19] & 0x20) == 0;
}

// The last datagram `from` put on the wire whose exchange type is `exchange` (35: IKE_AUTH).
inline Datagram LastSent(const Net& net, const std::string& from, uint8_t exchange) {
  Datagram out;
  for (const Datagram& d : net.sent) {
    if (d.src.address.ToString() == from && d.data.size() > 28 && d.data[18] == exchange) out = d;
  }
  return out;
}

// The manager hands out const SAs. Step-by-step tests start an exchange on one directly (as
// the manager does on a timer or an operator command) to see each message of it.
inline IkeSa& Mutable(const IkeSa* sa) {
  REQUIRE(sa != nullptr);
  return const_cast<IkeSa&>(*sa);
}

// The header of an IKE message on the wire.
inline IkeHeader HeaderOf(const Datagram& d) {
  absl::StatusOr<DecodedHeader> h = DecodeHeader(d.data);
  REQUIRE(h.ok());
  return h->header;
}

// The payloads inside the SK payload of `d`, opened with the keys `receiver` opens its peer's
// messages with: what the peer really sent, not what its log says it sent.
inline std::vector<Payload> Inner(const Datagram& d, const IkeSa& receiver) {
  REQUIRE(receiver.ciphers.has_value());
  absl::StatusOr<OpenedMessage> m = OpenMessage(receiver.ciphers->inbound, d.data);
  REQUIRE(m.ok());
  return m->inner;
}

// Delete payloads as a request or response carries them: ESP with inbound SPIs, or the IKE SA.
inline Payload EspDelete(std::vector<uint32_t> spis) {
  return Payload{PayloadType::kDelete, DeletePayload{ProtocolId::kEsp, std::move(spis)}};
}
inline Payload IkeDelete() {
  return Payload{PayloadType::kDelete, DeletePayload{ProtocolId::kIke, {}}};
}

// What a ProbeTask saw of its exchange.
struct ProbeResult {
  bool answered = false;
  std::vector<Payload> response;
};

// A request no task of ours would send (a notify-only INFORMATIONAL, a Delete for an SPI
// nobody has), sent by the IKE SA as its next task: with the next message ID, SK protection and
// retransmissions, so the two SAs stay in step and can go on. The response's payloads go to
// `result`, shared with the test as the SA may go first.
class ProbeTask : public Task {
 public:
  ProbeTask(ExchangeType exchange, std::vector<Payload> request,
            std::shared_ptr<ProbeResult> result)
      : exchange_(exchange), request_(std::move(request)), result_(std::move(result)) {}
  TaskKind kind() const override { return TaskKind::kInformational; }
  ExchangeType exchange() const override { return exchange_; }
  bool BuildRequest(IkeSa&, std::vector<Payload>& out) override {
    out = request_;
    return true;
  }
  TaskOutcome ProcessResponse(IkeSa&, const std::vector<Payload>& in) override {
    result_->answered = true;
    result_->response = in;
    return TaskOutcome::kDone;
  }
  void ProcessRequest(IkeSa&, const std::vector<Payload>&, std::vector<Payload>&) override {}

 private:
  ExchangeType exchange_;
  std::vector<Payload> request_;
  std::shared_ptr<ProbeResult> result_;
};

// Queues a ProbeTask on `sa` and returns where its outcome will be.
inline std::shared_ptr<ProbeResult> Probe(const IkeSa* sa, ExchangeType exchange,
                                          std::vector<Payload> request) {
  auto result = std::make_shared<ProbeResult>();
  Mutable(sa).Queue(std::make_unique<ProbeTask>(exchange, std::move(request), result));
  return result;
}

}  // namespace portcullis::ike::testing
