// What vpnd's dataplane tests share: a real ChannelServer in this process, run by a thread that
// plays the dataplane's main lcore (FakeDataplane), vpnd wired to it as main.cc wires it (Rig),
// and the seed's east end as a second IKE engine that talks to vpnd over punt/inject (East).
#pragma once

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "control/config/config_loader.h"
#include "control/vpnd/channel_sa_installer.h"
#include "control/vpnd/config_mapping.h"
#include "control/vpnd/dataplane_link.h"
#include "control/vpnd/vpnd.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/channel_server.h"
#include "ike/encoding/message.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd::testing {

using dp::api::Message;
using dp::api::MessageKind;
using dp::api::Op;

inline std::string UniqueChannelName() {
  static std::atomic<int> counter{0};
  return absl::StrCat("vpndtest-", getpid(), "-", counter++);
}

// Unlinks the segment whatever happens to the test.
struct ShmCleanup {
  explicit ShmCleanup(std::string n) : name(std::move(n)) {}
  ~ShmCleanup() { shm_unlink(absl::StrCat("/portcullis-", name).c_str()); }
  std::string name;
};

// The dataplane's side: records every batch, answers with `verdict`, hands injected IKE
// datagrams to the test and punts the ones the test queues.
class FakeDataplane {
 public:
  explicit FakeDataplane(dp::api::ServerOptions options = {}) : options_(options) {
    auto s = dp::api::ChannelServer::Create(name, options_);
    REQUIRE(s.ok());
    server_ = *std::move(s);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeDataplane() {
    stop_ = true;
    thread_.join();
  }
  // The dataplane process restarts: its segment goes away and a new one (a new generation)
  // replaces it; what it held is lost.
  void Restart() {
    stop_ = true;
    thread_.join();
    server_.reset();
    auto s = dp::api::ChannelServer::Create(name, options_);
    REQUIRE(s.ok());
    server_ = *std::move(s);
    {
      std::lock_guard<std::mutex> l(mu_);
      batches_.clear();
    }
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
  }

  std::vector<std::vector<Message>> Batches() {
    std::lock_guard<std::mutex> l(mu_);
    return batches_;
  }
  void SetVerdict(std::function<dp::api::ApplyResult(const std::vector<Message>&)> v) {
    std::lock_guard<std::mutex> l(mu_);
    verdict_ = std::move(v);
  }
  std::vector<ike::Datagram> TakeInjected() {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<ike::Datagram> out(injected_.begin(), injected_.end());
    injected_.clear();
    return out;
  }
  void Punt(const ike::Datagram& d) {
    std::lock_guard<std::mutex> l(mu_);
    to_punt_.push_back(d);
  }
  void Post(const dp::api::Event& e) {
    std::lock_guard<std::mutex> l(mu_);
    to_post_.push_back(e);
  }
  // While held, injected datagrams stay in their buffers (a dataplane busy elsewhere).
  void HoldInjects(bool hold) { hold_injects_ = hold; }
  // A dataplane busy elsewhere: consumes no command while paused.
  void PauseCommands(bool pause) { pause_commands_ = pause; }
  // Waits until everything queued with Punt is in the channel's punt ring.
  bool WaitPunted(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (to_punt_.empty()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  std::string name = UniqueChannelName();

 private:
  void Run() {
    while (!stop_) {
      server_->PollCommands(pause_commands_ ? 0 : 256, [&](const dp::api::CommandBatch& b) {
        std::vector<Message> copy(b.messages.begin(), b.messages.end());
        std::function<dp::api::ApplyResult(const std::vector<Message>&)> verdict;
        {
          std::lock_guard<std::mutex> l(mu_);
          batches_.push_back(copy);
          verdict = verdict_;
        }
        // Outside the lock: a verdict that takes its time must not stall the test's side.
        return verdict ? verdict(copy) : dp::api::ApplyResult{};
      });
      server_->PollInject(hold_injects_ ? 0 : 64, [&](const dp::api::InjectedPacket& p) {
        ike::Datagram d;
        size_t n = p.meta.family == dp::api::Family::kIpv4 ? 4 : 16;
        d.src.address = *ike::Address::FromBytes(absl::MakeConstSpan(p.meta.src.bytes, n));
        d.dst.address = *ike::Address::FromBytes(absl::MakeConstSpan(p.meta.dst.bytes, n));
        d.src.port = p.meta.src_port;
        d.dst.port = p.meta.dst_port;
        d.non_esp_marker = p.meta.flags & dp::api::kNonEspMarker;
        d.data.assign(p.datagram.begin(), p.datagram.end());
        std::lock_guard<std::mutex> l(mu_);
        injected_.push_back(d);
      });
      {
        std::lock_guard<std::mutex> l(mu_);
        while (!to_punt_.empty()) {
          const ike::Datagram& d = to_punt_.front();
          dp::api::PacketMeta m;
          std::memset(&m, 0, sizeof m);
          std::memcpy(m.src.bytes, d.src.address.span().data(), d.src.address.span().size());
          std::memcpy(m.dst.bytes, d.dst.address.span().data(), d.dst.address.span().size());
          m.src_port = d.src.port;
          m.dst_port = d.dst.port;
          m.family = d.src.address.family == 4 ? dp::api::Family::kIpv4 : dp::api::Family::kIpv6;
          m.flags = d.non_esp_marker ? dp::api::kNonEspMarker : 0;
          m.ifindex = d.ifindex;
          server_->Punt(d.data, m);
          to_punt_.pop_front();
        }
        while (!to_post_.empty()) {
          server_->PostToPrimary(to_post_.front());
          to_post_.pop_front();
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  ShmCleanup cleanup_{name};
  dp::api::ServerOptions options_;
  std::unique_ptr<dp::api::ChannelServer> server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> hold_injects_{false};
  std::atomic<bool> pause_commands_{false};
  std::mutex mu_;
  std::vector<std::vector<Message>> batches_;
  std::function<dp::api::ApplyResult(const std::vector<Message>&)> verdict_;
  std::deque<ike::Datagram> injected_, to_punt_;
  std::deque<dp::api::Event> to_post_;
};

struct Sink : ike::LogSink {
  std::vector<std::string> lines;
  void Write(const ike::LogRecord& r) override { lines.push_back(ike::FormatLogLine(r)); }
  bool Has(const std::string& s) const {
    for (const auto& l : lines) {
      if (absl::StrContains(l, s)) return true;
    }
    return false;
  }
};

struct Rig {
  FakeDataplane dp;
  absl::Time now = absl::FromUnixSeconds(1767225600);
  vpnd::VpndLog log{"", false};
  Sink keys;
  std::optional<dp::api::ChannelClient> client;
  std::unique_ptr<vpnd::DataplaneLink> link;
  std::unique_ptr<vpnd::ChannelSaInstaller> installer;
  std::unique_ptr<vpnd::Vpnd> vpnd;

  explicit Rig(absl::Duration ack_timeout = absl::Seconds(2),
               vpnd::SyslogSink* dataplane_syslog = nullptr, dp::api::ServerOptions dp_options = {})
      : dp(dp_options) {
    auto c = dp::api::ChannelClient::Attach(dp.name, true, absl::Seconds(1));
    REQUIRE(c.ok());
    client.emplace(*std::move(c));
    auto clock = [this] { return now; };
    link = std::make_unique<vpnd::DataplaneLink>(
        &*client,
        [this] { return dp::api::ChannelClient::Attach(dp.name, true, absl::Milliseconds(100)); },
        ack_timeout, clock, &log);
    installer = std::make_unique<vpnd::ChannelSaInstaller>(*link, clock, &log);
    vpnd::VpndDeps deps;
    deps.clock = clock;
    deps.log = &log;
    deps.keylog = &keys;
    deps.link = link.get();
    deps.installer = installer.get();
    deps.dataplane_syslog = dataplane_syslog;
    vpnd = std::make_unique<vpnd::Vpnd>(deps);
  }
};

inline size_t Count(const std::vector<Message>& b, MessageKind k, Op op) {
  size_t n = 0;
  for (const Message& m : b) n += m.header.kind == k && m.header.op == op;
  return n;
}

inline const Message* Find(const std::vector<Message>& b, MessageKind k, Op op,
                           const std::function<bool(const Message&)>& pred = nullptr) {
  for (const Message& m : b) {
    if (m.header.kind == k && m.header.op == op && (!pred || pred(m))) return &m;
  }
  return nullptr;
}

inline const Message* Interface(const std::vector<Message>& b, const std::string& name) {
  return Find(b, MessageKind::kInterface, Op::kAdd,
              [&](const Message& m) { return name == m.body.interface.name; });
}

inline std::string WriteFile(const std::string& text) {
  static int n = 0;
  std::string path = absl::StrCat("/tmp/vpnd-test-", getpid(), "-", n++, ".conf");
  std::ofstream(path) << text;
  return path;
}

// `rulesets` rulesets of 1001 messages each: 1000 addresses that do not merge into ranges.
inline std::string BigFirewall(const std::vector<std::string>& rulesets) {
  std::string t =
      "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n"
      "set protocols static route 0.0.0.0/0 next-hop 192.0.2.254\n";
  for (int i = 0; i < 1000; ++i)
    t += absl::StrCat("set resources group address-group G address 10.0.", i / 100, ".",
                      (i % 100) * 2, "\n");
  for (const std::string& rs : rulesets) {
    t += absl::StrCat("set security firewall name ", rs, " rule 1 action accept\n",
                      "set security firewall name ", rs, " rule 1 source address G\n",
                      "set interfaces dataplane dp0p1s1 firewall local ", rs, "\n");
  }
  return t;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The seed's east end as a plain IKE engine that talks to vpnd through the fake dataplane.
struct East {
  Sink log;
  std::vector<ike::Datagram> out;
  std::unique_ptr<ike::IkeManager> mgr;
  std::vector<const ike::ChildSa*> up;
  vpnd::ReqidAllocator reqids;
  std::shared_ptr<const ike::IkeSaConfig> cfg;

  explicit East(Rig& r) : East(r.now) {}
  // On `now`, the clock of whichever vpnd it talks to.
  explicit East(absl::Time& now) {
    auto loaded = config::LoadConfigFile("configs/vyatta-east.conf");
    REQUIRE(loaded.ok());
    auto setup = vpnd::MapConfig(config::BuildModel(loaded->tree), reqids);
    REQUIRE(setup.ok());
    auto cfg = std::make_shared<ike::IkeSaConfig>(*setup->peers[0]);
    cfg->initiate = false;
    mgr = std::make_unique<ike::IkeManager>([&now] { return now; },
                                            [this](const ike::Datagram& d) { out.push_back(d); },
                                            &log, nullptr, nullptr);
    mgr->SetPeers({cfg});
    this->cfg = cfg;
  }
  const ike::IkeSa* Sa() const {
    auto s = mgr->Sas();
    return s.size() == 1 ? s[0] : nullptr;
  }
};

// Moves datagrams both ways until things are quiet; `rewrite` may change what east sends, and
// what `hold` matches of it goes to `held` instead of vpnd (delayed or lost on the way).
inline void PumpHolding(Rig& r, East& e, const std::function<bool(const ike::Datagram&)>& hold,
                        std::vector<ike::Datagram>* held,
                        const std::function<void(ike::Datagram&)>& rewrite = nullptr) {
  for (int quiet = 0, i = 0; quiet < 200 && i < 20000; ++i) {
    r.vpnd->Poll();
    bool moved = false;
    for (const auto& d : r.dp.TakeInjected()) {
      e.mgr->HandleDatagram(d);
      moved = true;
    }
    for (auto& d : e.out) {
      if (rewrite) rewrite(d);
      if (hold && hold(d)) {
        held->push_back(d);
      } else {
        r.dp.Punt(d);
      }
      moved = true;
    }
    e.out.clear();
    quiet = moved ? 0 : quiet + 1;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

inline void Pump(Rig& r, East& e, const std::function<void(ike::Datagram&)>& rewrite = nullptr) {
  PumpHolding(r, e, nullptr, nullptr, rewrite);
}

// Whether `d` is an IKE message of `exchange`, a request or a response, from its header (`data`
// is the IKE message: on port 4500 the non-ESP marker is `non_esp_marker`, not in `data`).
inline bool IsIke(const ike::Datagram& d, ike::ExchangeType exchange, bool response) {
  auto h = ike::DecodeHeader(d.data);
  return h.ok() && h->header.exchange == exchange && h->header.response == response;
}

inline const ike::ChildSa* EastChild(const East& e) {
  const ike::IkeSa* sa = e.Sa();
  if (sa == nullptr || sa->children().size() != 1) return nullptr;
  return sa->children()[0].get();
}

// One policy-based tunnel between 192.0.2.1 (us) and 192.0.2.2, AES-CBC-256 + SHA2-256.
inline constexpr char kOneTunnel[] = R"(
set interfaces dataplane dp0p1 address 192.0.2.1/24
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE proposal 1 dh-group 19
set security vpn ipsec esp-group ESP proposal 1 encryption aes256
set security vpn ipsec esp-group ESP proposal 1 hash sha2_256
set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret 'secret'
set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.1
set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE
set security vpn ipsec site-to-site peer 192.0.2.2 default-esp-group ESP
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 local prefix 10.1.0.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 1 remote prefix 10.2.0.0/24
)";

inline const std::string kTwoTunnels = std::string(kOneTunnel) + R"(
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 local prefix 10.1.1.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 remote prefix 10.2.1.0/24
)";

// The other end of `text` (one of the above), as a responder config for East.
inline std::shared_ptr<ike::IkeSaConfig> MirrorPeer(const std::string& text) {
  std::string t = text;
  for (auto [a, b] : std::vector<std::pair<std::string, std::string>>{
           {"192.0.2.1/24", "192.0.2.9/24"},
           {"peer 192.0.2.2", "peer 192.0.2.1"},
           {"local-address 192.0.2.1", "local-address 192.0.2.2"},
           {"local prefix 10.1.", "local prefix 10.X."},
           {"remote prefix 10.2.", "remote prefix 10.1."},
           {"local prefix 10.X.", "local prefix 10.2."}}) {
    for (size_t p = 0; (p = t.find(a, p)) != std::string::npos; p += b.size()) {
      t.replace(p, a.size(), b);
    }
  }
  auto loaded = config::LoadConfigText(t);
  REQUIRE(loaded.ok());
  vpnd::ReqidAllocator reqids;
  auto setup = vpnd::MapConfig(config::BuildModel(loaded.tree), reqids);
  REQUIRE(setup.ok());
  auto cfg = std::make_shared<ike::IkeSaConfig>(*setup->peers[0]);
  cfg->initiate = false;
  return cfg;
}

inline size_t BatchesWith(const std::vector<std::vector<Message>>& all, MessageKind k, Op op) {
  size_t n = 0;
  for (const auto& b : all) n += Count(b, k, op) > 0;
  return n;
}

// Polls for a while of real time, so late acks can arrive.
inline void Settle(Rig& r, East& e, absl::Duration d) {
  absl::Time end = absl::Now() + d;
  while (absl::Now() < end) {
    Pump(r, e);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A CHILD SA as IKE hands it over (AES-GCM-128, 10.1.0.0/24 === 10.2.0.0/24 between 192.0.2.1
// and 192.0.2.2), for installer tests that need no IKE exchange. Route-based when
// `vti_interface` is given.
inline std::unique_ptr<ike::ChildSa> MakeChild(uint32_t spi_in, uint32_t spi_out,
                                               const std::string& vti_interface = "") {
  auto c = std::make_unique<ike::ChildSa>();
  c->unique_id = 7;
  c->name = "peer-192.0.2.2-tunnel-1";
  c->reqid = 1;
  c->vti = !vti_interface.empty();
  c->vti_interface = vti_interface;
  c->spi_in = spi_in;
  c->spi_out = spi_out;
  c->local = ike::Endpoint{*ike::Address::Parse("192.0.2.1"), 500};
  c->remote = ike::Endpoint{*ike::Address::Parse("192.0.2.2"), 500};
  c->local_ts = {ike::TsFromPrefix(*ike::Address::Parse("10.1.0.0"), 24)};
  c->remote_ts = {ike::TsFromPrefix(*ike::Address::Parse("10.2.0.0"), 24)};
  std::vector<uint8_t> key_in(20, 0x11), key_out(20, 0x22);
  c->encr_in = ike::SecretBytes(absl::MakeConstSpan(key_in));
  c->encr_out = ike::SecretBytes(absl::MakeConstSpan(key_out));
  return c;
}

// The dataplane answers the first batch 300 ms late (past a 100 ms ack timeout), the rest at
// once: a batch whose outcome is unknown for a while.
inline void AckFirstBatchLate(Rig& r) {
  auto slow = std::make_shared<std::atomic<bool>>(true);
  r.dp.SetVerdict([slow](const std::vector<Message>&) {
    if (slow->exchange(false)) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return dp::api::ApplyResult{};
  });
}

// Holds the dataplane's answer to the first batch that adds an SA until Release() (at most
// 30 s): an install whose ack has not come yet. Declare it before the Rig, so it outlives the
// rig's dataplane thread even when a REQUIRE ends the test early (its end releases too).
class HeldSaInstall {
 public:
  ~HeldSaInstall() { release_ = true; }
  void Arm(Rig& r) {
    r.dp.SetVerdict([this](const std::vector<Message>& b) {
      if (Count(b, MessageKind::kSa, Op::kAdd) > 0 && held_.exchange(false)) {
        for (int i = 0; i < 30000 && !release_; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      return dp::api::ApplyResult{};
    });
  }
  void Release() { release_ = true; }

 private:
  std::atomic<bool> held_{true}, release_{false};
};

// A counter report, as the dataplane's event pump sends it.
inline dp::api::Event CountersEvent(uint32_t spi, dp::api::Direction dir, uint64_t bytes = 0,
                                    uint64_t packets = 0) {
  dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSaCounters);
  e.body.sa_counters.spi = spi;
  e.body.sa_counters.direction = dir;
  e.body.sa_counters.bytes = bytes;
  e.body.sa_counters.packets = packets;
  return e;
}

// Polls the link (acks and events) until `done` or a second of real time has passed.
// Polls until `done`: what it waits for takes a few hundred milliseconds (AckFirstBatchLate),
// and a loaded machine (CI on 2 cores) may take much longer; the deadline only ends a test that
// would otherwise hang.
inline bool PollLinkUntil(Rig& r, const std::function<bool()>& done) {
  absl::Time end = absl::Now() + absl::Seconds(20);
  while (!done() && absl::Now() < end) {
    r.link->PollEvents(256, nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

}  // namespace portcullis::vpnd::testing
