// vpnd's dataplane programming against a real ChannelServer in this process (run by a thread
// that plays the dataplane's main lcore): the commit batch and its contents, diffs and
// all-or-nothing on reload, CHILD SAs installed and removed as IKE (over punt/inject, with a
// second IKE engine as the peer) brings them up and rekeys them, VTI bindings, policies answered
// Unimplemented, and the events the dataplane sends (soft expiry, counters).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include <sys/mman.h>
#include <unistd.h>
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "control/config/config_loader.h"
#include "control/vpnd/config_mapping.h"
#include "control/vpnd/vpnd.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/channel_server.h"

using namespace portcullis;
using dp::api::Message;
using dp::api::MessageKind;
using dp::api::Op;

namespace {

std::string UniqueChannelName() {
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
  FakeDataplane() {
    auto s = dp::api::ChannelServer::Create(name);
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
    auto s = dp::api::ChannelServer::Create(name);
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

  std::string name = UniqueChannelName();

 private:
  void Run() {
    while (!stop_) {
      server_->PollCommands(256, [&](const dp::api::CommandBatch& b) {
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
      server_->PollInject(64, [&](const dp::api::InjectedPacket& p) {
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
          m.family = dp::api::Family::kIpv4;
          m.flags = d.non_esp_marker ? dp::api::kNonEspMarker : 0;
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
  std::unique_ptr<dp::api::ChannelServer> server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
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
  std::unique_ptr<vpnd::Vpnd> vpnd;

  explicit Rig(absl::Duration ack_timeout = absl::Seconds(2)) {
    auto c = dp::api::ChannelClient::Attach(dp.name, true, absl::Seconds(1));
    REQUIRE(c.ok());
    client.emplace(*std::move(c));
    vpnd::VpndDeps deps;
    deps.clock = [this] { return now; };
    deps.log = &log;
    deps.keylog = &keys;
    deps.dataplane = &*client;
    deps.ack_timeout = ack_timeout;
    deps.reattach = [this] {
      return dp::api::ChannelClient::Attach(dp.name, true, absl::Milliseconds(100));
    };
    vpnd = std::make_unique<vpnd::Vpnd>(deps);
  }
};

size_t Count(const std::vector<Message>& b, MessageKind k, Op op) {
  size_t n = 0;
  for (const Message& m : b) n += m.header.kind == k && m.header.op == op;
  return n;
}

const Message* Find(const std::vector<Message>& b, MessageKind k, Op op,
                    const std::function<bool(const Message&)>& pred = nullptr) {
  for (const Message& m : b) {
    if (m.header.kind == k && m.header.op == op && (!pred || pred(m))) return &m;
  }
  return nullptr;
}

const Message* Interface(const std::vector<Message>& b, const std::string& name) {
  return Find(b, MessageKind::kInterface, Op::kAdd,
              [&](const Message& m) { return name == m.body.interface.name; });
}

std::string WriteFile(const std::string& text) {
  static int n = 0;
  std::string path = absl::StrCat("/tmp/vpnd-test-", getpid(), "-", n++, ".conf");
  std::ofstream(path) << text;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST_CASE("a commit is one batch: interfaces, addresses, static routes incl. VTI routes",
          "[vpnd][dataplane]") {
  Rig r;
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 1);
  const auto& b = batches[0];
  // It starts with a flush: whatever an earlier vpnd left in the dataplane goes in the same
  // atomic batch.
  REQUIRE(b[0].header.kind == MessageKind::kFlush);
  CHECK(b[0].body.flush.scope == dp::api::kFlushAll);
  CHECK(Count(b, MessageKind::kFlush, Op::kDelete) == 1);
  // dp0p1s1 dp0p2s1 dp0p1s2 dp0p2s2, dp0bond0 dp0bond1, vti2
  CHECK(Count(b, MessageKind::kInterface, Op::kAdd) == 7);
  CHECK(Count(b, MessageKind::kAddress, Op::kAdd) == 3);
  CHECK(Count(b, MessageKind::kRoute, Op::kAdd) == 2);
  const Message* vti = Interface(b, "vti2");
  REQUIRE(vti != nullptr);
  CHECK(vti->body.interface.kind == dp::api::InterfaceKind::kVti);
  CHECK(vti->body.interface.mtu == 1428);
  CHECK(Interface(b, "dp0bond1")->body.interface.kind == dp::api::InterfaceKind::kBond);
  CHECK(Interface(b, "dp0p1s1")->body.interface.kind == dp::api::InterfaceKind::kPort);
  const Message* vroute = Find(b, MessageKind::kRoute, Op::kAdd, [](const Message& m) {
    return m.body.route.type == dp::api::RouteType::kInterface;
  });
  REQUIRE(vroute != nullptr);
  CHECK(vroute->body.route.out_ifindex == vti->body.interface.ifindex);
  CHECK(vroute->body.route.prefix_length == 26);
  CHECK(vroute->body.route.prefix.bytes[0] == 10);
  CHECK(vroute->body.route.prefix.bytes[3] == 128);
  const Message* def = Find(b, MessageKind::kRoute, Op::kAdd, [](const Message& m) {
    return m.body.route.type == dp::api::RouteType::kGateway;
  });
  REQUIRE(def != nullptr);
  CHECK(def->body.route.prefix_length == 0);
  CHECK(def->body.route.next_hop.bytes[3] == 193);
  // Interfaces come before the addresses and routes that refer to them.
  size_t last_if = 0, first_route = b.size();
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i].header.kind == MessageKind::kInterface) last_if = i;
    if (b[i].header.kind == MessageKind::kRoute) first_route = std::min(first_route, i);
  }
  CHECK(last_if < first_route);
}

TEST_CASE("reload: only the difference is sent; an identical file sends nothing",
          "[vpnd][dataplane]") {
  Rig r;
  std::string base = ReadFile("configs/vyatta-west.conf");
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  CHECK(r.dp.Batches().size() == 1);
  std::string changed = base;
  changed.replace(changed.find("172.16.0.5/30"), 13, "172.16.0.9/30");
  changed.replace(changed.find("set protocols static route 0.0.0.0/0 next-hop 169.50.194.193"), 60,
                  "");
  std::string path = WriteFile(changed);
  REQUIRE(r.vpnd->LoadFile(path).ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 2);
  const auto& b = batches[1];
  CHECK(b.size() == 3);  // no flush after the first commit
  CHECK(Count(b, MessageKind::kAddress, Op::kDelete) == 1);
  CHECK(Count(b, MessageKind::kAddress, Op::kAdd) == 1);
  CHECK(Count(b, MessageKind::kRoute, Op::kDelete) == 1);
  CHECK(b[0].header.op == Op::kDelete);  // deletes first
  std::remove(path.c_str());
}

TEST_CASE("all or nothing: a batch the dataplane refuses changes nothing", "[vpnd][dataplane]") {
  Rig r;
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto running = r.vpnd->running();
  r.dp.SetVerdict([](const std::vector<Message>&) {
    return dp::api::ApplyResult{absl::FailedPreconditionError("fib full"), 1};
  });
  std::string changed = ReadFile("configs/vyatta-west.conf");
  changed.replace(changed.find("172.16.0.5/30"), 13, "172.16.0.9/30");
  std::string path = WriteFile(changed);
  absl::Status st = r.vpnd->LoadFile(path);
  CHECK_FALSE(st.ok());
  CHECK(absl::StrContains(st.message(), "the dataplane refused the batch"));
  CHECK(absl::StrContains(st.message(), "fib full"));
  CHECK(r.vpnd->running().size() == running.size());
  CHECK(r.vpnd->config_path() == "configs/vyatta-west.conf");
  // Once the dataplane accepts, the same difference goes again.
  r.dp.SetVerdict(nullptr);
  REQUIRE(r.vpnd->LoadFile(path).ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 3);
  CHECK(batches[2].size() == 2);
  std::remove(path.c_str());
}

TEST_CASE("a vpnd attaching to a dataplane another vpnd programmed replaces its state",
          "[vpnd][dataplane]") {
  // A real dataplane refuses "interface exists" when a restarted vpnd adds what its predecessor
  // left: play that, and check the flush makes the first commit go through, and that a refused
  // first commit keeps the flush for the next attempt.
  Rig r;
  int attempts = 0;
  r.dp.SetVerdict([&attempts](const std::vector<Message>& b) {
    ++attempts;
    if (attempts == 1) return dp::api::ApplyResult{absl::UnavailableError("busy"), 0};
    if (b.empty() || b[0].header.kind != MessageKind::kFlush) {
      return dp::api::ApplyResult{absl::AlreadyExistsError("interface 1 exists"), 0};
    }
    return dp::api::ApplyResult{};
  });
  CHECK_FALSE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 2);
  CHECK(batches[1][0].header.kind == MessageKind::kFlush);
  CHECK(absl::StrContains(r.log.Recent(), "flushed, then"));
}

TEST_CASE("a file with errors is refused with its line numbers; nothing is sent",
          "[vpnd][dataplane]") {
  Rig r;
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  std::string path = WriteFile(
      "set security vpn ipsec ike-group X proposal 1 encryption aes999\n"
      "set interfaces dataplane dp0p1s1 address 10.0.0.1/24\n");
  absl::Status st = r.vpnd->LoadFile(path);
  CHECK_FALSE(st.ok());
  CHECK(absl::StrContains(st.message(), "line 1"));
  CHECK(absl::StrContains(st.message(), "nothing changed"));
  CHECK(r.dp.Batches().size() == 1);
  auto out = r.vpnd->Command({"load", path});
  CHECK_FALSE(out.ok());
  std::remove(path.c_str());
}

namespace {

// The seed's east end as a plain IKE engine that talks to vpnd through the fake dataplane.
struct East {
  Sink log;
  std::vector<ike::Datagram> out;
  std::unique_ptr<ike::IkeManager> mgr;
  std::vector<const ike::ChildSa*> up;
  vpnd::ReqidAllocator reqids;
  std::shared_ptr<const ike::IkeSaConfig> cfg;

  explicit East(Rig& r) {
    auto loaded = config::LoadConfigFile("configs/vyatta-east.conf");
    REQUIRE(loaded.ok());
    auto setup = vpnd::MapConfig(config::BuildModel(loaded->tree), reqids);
    REQUIRE(setup.ok());
    auto cfg = std::make_shared<ike::IkeSaConfig>(*setup->peers[0]);
    cfg->initiate = false;
    mgr = std::make_unique<ike::IkeManager>([&r] { return r.now; },
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

// Moves datagrams both ways until things are quiet; `rewrite` may change what east sends.
void Pump(Rig& r, East& e, const std::function<void(ike::Datagram&)>& rewrite = nullptr) {
  for (int quiet = 0, i = 0; quiet < 200 && i < 20000; ++i) {
    r.vpnd->Poll();
    bool moved = false;
    for (const auto& d : r.dp.TakeInjected()) {
      e.mgr->HandleDatagram(d);
      moved = true;
    }
    for (auto& d : e.out) {
      if (rewrite) rewrite(d);
      r.dp.Punt(d);
      moved = true;
    }
    e.out.clear();
    quiet = moved ? 0 : quiet + 1;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

const ike::ChildSa* EastChild(const East& e) {
  const ike::IkeSa* sa = e.Sa();
  if (sa == nullptr || sa->children().size() != 1) return nullptr;
  return sa->children()[0].get();
}

}  // namespace

TEST_CASE(
    "CHILD SAs negotiated over punt/inject are installed with their keys, bound to the "
    "VTI, replaced on rekey and rekeyed on soft expiry",
    "[vpnd][dataplane][sa]") {
  Rig r;
  East east(r);
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  const ike::ChildSa* ec = EastChild(east);
  INFO(r.log.Recent());
  REQUIRE(ec != nullptr);
  auto batches = r.dp.Batches();
  REQUIRE(batches.size() == 2);  // the commit, then the CHILD SA
  const auto& b = batches[1];
  uint32_t vti = Interface(batches[0], "vti2")->body.interface.ifindex;
  const Message* in = Find(b, MessageKind::kSa, Op::kAdd, [](const Message& m) {
    return m.body.sa.direction == dp::api::Direction::kIn;
  });
  const Message* out = Find(b, MessageKind::kSa, Op::kAdd, [](const Message& m) {
    return m.body.sa.direction == dp::api::Direction::kOut;
  });
  REQUIRE(in != nullptr);
  REQUIRE(out != nullptr);
  CHECK(in->body.sa.spi == ec->spi_out);
  CHECK(out->body.sa.spi == ec->spi_in);
  CHECK(in->body.sa.cipher == dp::api::Cipher::kAesGcm128);
  CHECK(in->body.sa.auth == dp::api::Auth::kNone);
  CHECK(in->body.sa.enc_key_length == 16);
  // The dataplane's inbound key is what east encrypts with: key, then the 4-byte salt.
  CHECK(std::memcmp(in->body.sa.enc_key, ec->encr_out.data(), 16) == 0);
  CHECK(std::memcmp(in->body.sa.salt, ec->encr_out.data() + 16, 4) == 0);
  CHECK(std::memcmp(out->body.sa.enc_key, ec->encr_in.data(), 16) == 0);
  CHECK(in->body.sa.vti_ifindex == vti);
  CHECK(in->body.sa.replay_window == 1024);
  CHECK(in->body.sa.local.bytes[0] == 169);
  CHECK(in->body.sa.remote.bytes[0] == 159);
  CHECK(in->body.sa.udp_encap == 0);
  CHECK(in->body.sa.reqid == 1);
  const Message* bind = Find(b, MessageKind::kVtiBinding, Op::kAdd);
  REQUIRE(bind != nullptr);
  CHECK(bind->body.vti_binding.vti_ifindex == vti);
  CHECK(bind->body.vti_binding.out_spi == ec->spi_in);
  CHECK(r.log.Recent().find("installed ESP SAs") != std::string::npos);

  SECTION("the peer rekeys: new pair added, binding moved, old pair removed") {
    uint32_t old_in = ec->spi_out, old_out = ec->spi_in;
    REQUIRE(east.mgr->RekeyChild(ec->spi_in));
    Pump(r, east);
    ec = EastChild(east);
    REQUIRE(ec != nullptr);
    auto all = r.dp.Batches();
    REQUIRE(all.size() == 4);
    CHECK(Count(all[2], MessageKind::kSa, Op::kAdd) == 2);
    const Message* moved = Find(all[2], MessageKind::kVtiBinding, Op::kUpdate);
    REQUIRE(moved != nullptr);
    CHECK(moved->body.vti_binding.out_spi == ec->spi_in);
    CHECK(Count(all[3], MessageKind::kSa, Op::kDelete) == 2);
    CHECK(Find(all[3], MessageKind::kSa, Op::kDelete,
               [&](const Message& m) { return m.body.sa.spi == old_in; }) != nullptr);
    CHECK(Find(all[3], MessageKind::kSa, Op::kDelete,
               [&](const Message& m) { return m.body.sa.spi == old_out; }) != nullptr);
    CHECK(Find(all[3], MessageKind::kVtiBinding, Op::kDelete) == nullptr);
  }
  SECTION("a soft expiry event from the dataplane makes vpnd rekey") {
    dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSaExpired);
    e.body.sa_expired.spi = ec->spi_in;  // vpnd's outbound SA
    e.body.sa_expired.direction = dp::api::Direction::kOut;
    e.body.sa_expired.kind = dp::api::ExpiryKind::kSoft;
    e.body.sa_expired.cause = dp::api::ExpiryCause::kBytes;
    r.dp.Post(e);
    Pump(r, east);
    CHECK(r.log.Recent().find("soft expiry of outbound SA") != std::string::npos);
    CHECK(r.log.Recent().find("rekeying CHILD_SA peer-159.8.98.213-tunnel-vti{1}") !=
          std::string::npos);
    const ike::ChildSa* now = EastChild(east);
    REQUIRE(now != nullptr);
    CHECK(now->spi_in != bind->body.vti_binding.out_spi);
    CHECK(now->suite.pfs == ike::DhGroup::kEcp384);  // KE in the CREATE_CHILD_SA
  }
  SECTION("sequence number exhaustion makes vpnd rekey") {
    dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSeqExhausted);
    e.body.seq_exhausted.spi = ec->spi_in;
    e.body.seq_exhausted.direction = dp::api::Direction::kOut;
    r.dp.Post(e);
    Pump(r, east);
    CHECK(r.log.Recent().find("sequence numbers of SA") != std::string::npos);
    const ike::ChildSa* now = EastChild(east);
    REQUIRE(now != nullptr);
    CHECK(now->spi_in != bind->body.vti_binding.out_spi);
  }
  SECTION("counters from the dataplane show up in show vpn ipsec sa") {
    dp::api::Event e = dp::api::NewEvent(dp::api::EventKind::kSaCounters);
    e.body.sa_counters.spi = ec->spi_out;  // vpnd's inbound SA
    e.body.sa_counters.direction = dp::api::Direction::kIn;
    e.body.sa_counters.bytes = 29205000000ull;
    e.body.sa_counters.packets = 1000;
    r.dp.Post(e);
    Pump(r, east);
    auto shown = r.vpnd->Command({"show", "vpn", "ipsec", "sa", "peer", "159.8.98.213"});
    REQUIRE(shown.ok());
    CHECK(absl::StrContains(*shown,
                            "    vti     1           up     0/27.2G        aes128gcm128  "
                            "null      n/a 0       3600"));
    // Counters in one direction only: the statistics view shows it per direction.
    auto stats =
        r.vpnd->Command({"show", "vpn", "ipsec", "sa", "statistics", "peer", "159.8.98.213"});
    REQUIRE(stats.ok());
    INFO(*stats);
    CHECK(absl::StrContains(*stats, "    Tunnel  Id          Dir  Source Network"));
    CHECK(absl::StrContains(*stats,
                            "    vti     1           in   0.0.0.0/0                    0.0.0.0/0"
                            "                    27.2G\n"));
    CHECK(absl::StrContains(*stats,
                            "    vti     1           out  0.0.0.0/0                    0.0.0.0/0"
                            "                    0\n"));
    auto detail = r.vpnd->Command({"show", "vpn", "ipsec", "sa", "detail"});
    REQUIRE(detail.ok());
    INFO(*detail);
    for (const char* line :
         {"Peer IP:                159.8.98.213\n", "Local IP:               169.50.194.197\n",
          "NAT Traversal:          no\n", "    Tunnel vti:\n",
          "        State:                  up\n", "        Encryption:             aes128gcm128\n",
          "        Hash:                   null\n", "        Local Net:              0.0.0.0/0\n",
          "        Remote Protocol:        all\n", "        Inbound Bytes:          27.2G\n",
          "        Inbound Packets:        1000\n", "        Lifetime (s):           3600\n"}) {
      CHECK(absl::StrContains(*detail, line));
    }
    CHECK(absl::StrContains(
        *detail, absl::StrFormat("        Inbound SPI:            %08x\n", ec->spi_out)));
    auto js = r.vpnd->Command({"show", "vpn", "ipsec", "sa", "detail", "--json"});
    REQUIRE(js.ok());
    CHECK(absl::StrContains(*js, "\"bytes_in\":29205000000"));
    CHECK_FALSE(r.vpnd->Command({"show", "vpn", "ipsec", "sa", "detail", "peer", "10.9.9.9"}).ok());
    auto ike_sa = r.vpnd->Command({"show", "vpn", "ike", "sa"});
    REQUIRE(ike_sa.ok());
    CHECK(absl::StrContains(*ike_sa, "159.8.98.213                            169.50.194.197"));
    CHECK(absl::StrContains(*ike_sa,
                            "    up     aes256        sha2_256  20       0       28800"
                            "   2"));
  }
  SECTION("the dataplane restarts: vpnd re-attaches and sends config and SAs again") {
    r.dp.Restart();
    r.now += absl::Seconds(2);
    Pump(r, east);
    INFO(r.log.Recent());
    CHECK(r.log.Recent().find("the dataplane is gone") != std::string::npos);
    CHECK(r.log.Recent().find("re-attached to the dataplane") != std::string::npos);
    auto again = r.dp.Batches();
    REQUIRE(again.size() == 2);
    // The whole configuration; no flush: the new dataplane starts empty.
    CHECK(again[0].size() + 1 == batches[0].size());
    CHECK(Count(again[0], MessageKind::kFlush, Op::kDelete) == 0);
    CHECK(Count(again[1], MessageKind::kSa, Op::kAdd) == 2);
    CHECK(Count(again[1], MessageKind::kVtiBinding, Op::kAdd) == 1);
    CHECK(EastChild(east) == ec);  // IKE was not disturbed
  }
  SECTION("reset vpn ipsec-peer removes the SAs and brings them back") {
    auto reply = r.vpnd->Command({"reset", "vpn", "ipsec-peer", "159.8.98.213"});
    REQUIRE(reply.ok());
    Pump(r, east);
    r.now += absl::Seconds(1);
    Pump(r, east);
    auto all = r.dp.Batches();
    bool removed = false;
    for (const auto& batch : all) removed |= Count(batch, MessageKind::kSa, Op::kDelete) == 2;
    CHECK(removed);
    CHECK(Count(all.back(), MessageKind::kSa, Op::kAdd) == 2);
    CHECK(EastChild(east) != nullptr);
  }
}

namespace {

// One policy-based tunnel between 192.0.2.1 (us) and 192.0.2.2, AES-CBC-256 + SHA2-256.
const char kOneTunnel[] = R"(
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

const std::string kTwoTunnels = std::string(kOneTunnel) + R"(
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 local prefix 10.1.1.0/24
set security vpn ipsec site-to-site peer 192.0.2.2 tunnel 2 remote prefix 10.2.1.0/24
)";

// The other end of `text` (one of the above), as a responder config for East.
std::shared_ptr<ike::IkeSaConfig> MirrorPeer(const std::string& text) {
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

}  // namespace

TEST_CASE("policy-based tunnels: policies answered Unimplemented are reported clearly",
          "[vpnd][dataplane][sa]") {
  Rig r;
  r.dp.SetVerdict([](const std::vector<Message>& b) {
    for (const Message& m : b) {
      if (m.header.kind == MessageKind::kPolicy) {
        return dp::api::ApplyResult{absl::UnimplementedError("policies are not implemented"), 0};
      }
    }
    return dp::api::ApplyResult{};
  });
  std::string mine = WriteFile(kOneTunnel);
  REQUIRE(r.vpnd->LoadFile(mine).ok());
  auto cfg = MirrorPeer(kOneTunnel);
  East east(r);
  east.mgr->SetPeers({cfg});
  Pump(r, east);
  INFO(r.log.Recent());
  auto all = r.dp.Batches();
  REQUIRE(all.size() == 3);  // commit, SAs, the refused policies
  CHECK(Count(all[1], MessageKind::kSa, Op::kAdd) == 2);
  CHECK(all[1][0].body.sa.cipher == dp::api::Cipher::kAesCbc256);
  CHECK(all[1][0].body.sa.auth == dp::api::Auth::kHmacSha256_128);
  CHECK(all[1][0].body.sa.auth_key_length == 32);
  CHECK(all[1][0].body.sa.vti_ifindex == 0);
  CHECK(Count(all[2], MessageKind::kPolicy, Op::kAdd) == 2);
  const Message* po = Find(all[2], MessageKind::kPolicy, Op::kAdd, [](const Message& m) {
    return m.body.policy.direction == dp::api::Direction::kOut;
  });
  REQUIRE(po != nullptr);
  CHECK(po->body.policy.src.bytes[1] == 1);
  CHECK(po->body.policy.dst.bytes[1] == 2);
  CHECK(po->body.policy.src_prefix_length == 24);
  CHECK(po->body.policy.action == dp::api::PolicyAction::kProtect);
  CHECK(po->body.policy.out_spi == all[1][1].body.sa.spi);
  CHECK(r.log.Recent().find("not installed: the dataplane answered Unimplemented (no SPD for "
                            "policy-based tunnels in this dataplane yet)") != std::string::npos);
  std::remove(mine.c_str());
}

// ---- IKE and the dataplane in step ----

namespace {

size_t BatchesWith(const std::vector<std::vector<Message>>& all, MessageKind k, Op op) {
  size_t n = 0;
  for (const auto& b : all) n += Count(b, k, op) > 0;
  return n;
}

// Polls for a while of real time, so late acks can arrive.
void Settle(Rig& r, East& e, absl::Duration d) {
  absl::Time end = absl::Now() + d;
  while (absl::Now() < end) {
    Pump(r, e);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

TEST_CASE("a CHILD SA the dataplane refuses is deleted in IKE and created again later",
          "[vpnd][dataplane][sa][consistency]") {
  Rig r;
  East east(r);
  std::atomic<int> refusals{1};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kAdd) > 0 && refusals.fetch_sub(1) > 0) {
      return dp::api::ApplyResult{absl::ResourceExhaustedError("SAD full"), 0};
    }
    return dp::api::ApplyResult{};
  });
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(),
                          "SAD full: the CHILD_SA is deleted and created again later"));
  CHECK(absl::StrContains(r.log.Recent(), "could not be installed"));
  CHECK(r.vpnd->installed_children() == 0);
  REQUIRE(east.Sa() != nullptr);  // the IKE SA stays
  CHECK(EastChild(east) == nullptr);
  auto shown = r.vpnd->Command({"show", "vpn", "ipsec", "sa"});
  REQUIRE(shown.ok());
  CHECK_FALSE(absl::StrContains(*shown, " up "));
  // The re-initiation delay later, the CHILD SA is back, and installed.
  r.now += absl::Seconds(11);
  Pump(r, east);
  REQUIRE(EastChild(east) != nullptr);
  CHECK(r.vpnd->installed_children() == 1);
  CHECK(absl::StrContains(r.log.Recent(), "installed ESP SAs"));
}

TEST_CASE("a removal the dataplane refuses is retried; bindings change only once applied",
          "[vpnd][dataplane][sa][consistency]") {
  Rig r;
  East east(r);
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  REQUIRE(EastChild(east) != nullptr);
  REQUIRE(r.vpnd->installed_children() == 1);
  std::atomic<int> refusals{1};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kDelete) > 0 && refusals.fetch_sub(1) > 0) {
      return dp::api::ApplyResult{absl::FailedPreconditionError("tables busy"), 0};
    }
    return dp::api::ApplyResult{};
  });
  REQUIRE(r.vpnd->Command({"reset", "vpn", "ipsec-peer", "159.8.98.213"}).ok());
  Pump(r, east);
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(), "tables busy: retrying the removal of 1 CHILD_SA"));
  CHECK(r.vpnd->removals_to_retry() == 1);
  r.now += absl::Seconds(2);
  Pump(r, east);
  CHECK(r.vpnd->removals_to_retry() == 0);
  CHECK(BatchesWith(r.dp.Batches(), MessageKind::kSa, Op::kDelete) == 2);
  CHECK(absl::StrContains(r.log.Recent(), "removed ESP SAs"));
  // The new CHILD SA of the re-established IKE SA is the only one left, and the VTI is bound
  // to it.
  REQUIRE(EastChild(east) != nullptr);
  CHECK(r.vpnd->installed_children() == 1);
  const auto all = r.dp.Batches();
  const Message* last_bind = nullptr;
  for (const auto& b : all) {
    for (const Message& m : b) {
      if (m.header.kind == MessageKind::kVtiBinding) last_bind = &m;
    }
  }
  REQUIRE(last_bind != nullptr);
  CHECK(last_bind->header.op != Op::kDelete);
  CHECK(last_bind->body.vti_binding.out_spi == EastChild(east)->spi_in);
}

TEST_CASE("the CHILD SAs of one IKE SA are removed in one batch",
          "[vpnd][dataplane][sa][consistency]") {
  Rig r;
  std::string mine = WriteFile(kTwoTunnels);
  REQUIRE(r.vpnd->LoadFile(mine).ok());
  East east(r);
  east.mgr->SetPeers({MirrorPeer(kTwoTunnels)});
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(east.Sa() != nullptr);
  REQUIRE(east.Sa()->children().size() == 2);
  REQUIRE(r.vpnd->installed_children() == 2);
  size_t before = r.dp.Batches().size();
  REQUIRE(r.vpnd->Command({"reset", "vpn", "ipsec-peer", "192.0.2.2"}).ok());
  Pump(r, east);
  auto all = r.dp.Batches();
  size_t removal_batches = 0;
  for (size_t i = before; i < all.size(); ++i) {
    if (Count(all[i], MessageKind::kSa, Op::kDelete) == 0) continue;
    ++removal_batches;
    CHECK(Count(all[i], MessageKind::kSa, Op::kDelete) == 4);
    CHECK(Count(all[i], MessageKind::kPolicy, Op::kDelete) == 4);  // in the same batch
  }
  CHECK(removal_batches == 1);
  std::remove(mine.c_str());
}

TEST_CASE("a batch acknowledged after the timeout is settled when its ack comes",
          "[vpnd][dataplane][consistency]") {
  Rig r(absl::Milliseconds(100));
  East east(r);
  std::atomic<bool> slow{true};
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (slow && Count(b, MessageKind::kSa, Op::kAdd) > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
    return dp::api::ApplyResult{};
  });
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  CHECK(absl::StrContains(r.log.Recent(), "CHILD_SA install: no ack for batch 2 within 100ms"));
  Settle(r, east, absl::Milliseconds(600));
  CHECK(absl::StrContains(r.log.Recent(), "CHILD_SA install: batch 2 acknowledged late"));
  CHECK(r.vpnd->unacknowledged() == 0);
  CHECK(r.vpnd->installed_children() == 1);
  REQUIRE(EastChild(east) != nullptr);
}

TEST_CASE("a removal decided before the install's ack comes unbinds the VTI too",
          "[vpnd][dataplane][consistency]") {
  // The dataplane holds the first SA install until the test lets it go. Declared before the
  // rig, so they outlive its dataplane thread even when a REQUIRE ends the test early.
  std::atomic<bool> held{true}, release{false};
  struct Release {
    std::atomic<bool>& r;
    ~Release() { r = true; }
  } release_on_exit{release};
  Rig r(absl::Milliseconds(100));
  East east(r);
  r.dp.SetVerdict([&](const std::vector<Message>& b) {
    if (Count(b, MessageKind::kSa, Op::kAdd) > 0 && held.exchange(false)) {
      for (int i = 0; i < 30000 && !release; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return dp::api::ApplyResult{};
  });
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(r.vpnd->unacknowledged() == 1);  // the install, still unanswered
  REQUIRE(r.vpnd->Command({"reset", "vpn", "ipsec-peer", "159.8.98.213"}).ok());
  release = true;
  Settle(r, east, absl::Milliseconds(300));
  INFO(r.log.Recent());
  auto all = r.dp.Batches();
  const std::vector<Message>* removal = nullptr;
  for (const auto& b : all) {
    if (Count(b, MessageKind::kSa, Op::kDelete) > 0) removal = &b;
  }
  REQUIRE(removal != nullptr);
  // The VTI pointed at the SA being removed: the same batch re-points or unbinds it first.
  CHECK(Count(*removal, MessageKind::kVtiBinding, Op::kDelete) +
            Count(*removal, MessageKind::kVtiBinding, Op::kUpdate) ==
        1);
  CHECK((*removal)[0].header.kind == MessageKind::kVtiBinding);
  CHECK(r.vpnd->unacknowledged() == 0);
  CHECK(r.vpnd->removals_to_retry() == 0);
}

TEST_CASE("a commit whose ack comes late completes then; running matches the dataplane",
          "[vpnd][dataplane][consistency]") {
  Rig r(absl::Milliseconds(100));
  std::atomic<bool> slow{true};
  r.dp.SetVerdict([&](const std::vector<Message>&) {
    if (slow.exchange(false)) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return dp::api::ApplyResult{};
  });
  absl::Status st = r.vpnd->LoadFile("configs/vyatta-west.conf");
  CHECK(absl::IsDeadlineExceeded(st));
  CHECK(absl::StrContains(st.message(), "outcome is unknown"));
  CHECK(r.vpnd->running().empty());
  // Another commit meanwhile would diff against a state nobody knows: refused.
  CHECK(absl::IsUnavailable(r.vpnd->LoadFile("configs/vyatta-west.conf")));
  absl::Time end = absl::Now() + absl::Seconds(2);
  while (r.vpnd->unacknowledged() > 0 && absl::Now() < end) {
    r.vpnd->Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  INFO(r.log.Recent());
  CHECK(r.vpnd->unacknowledged() == 0);
  CHECK_FALSE(r.vpnd->running().empty());
  CHECK(absl::StrContains(r.log.Recent(), "configuration committed: 1 peer"));
  // The next commit of the same file has nothing left to send.
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  CHECK(r.dp.Batches().size() == 1);
}

TEST_CASE("a NAT rebinding re-pushes the outbound SA with the new port",
          "[vpnd][dataplane][sa][nat]") {
  Rig r;
  East east(r);
  auto cfg = std::make_shared<ike::IkeSaConfig>(*east.cfg);
  cfg->force_encap = true;  // claims a NAT: both ends use UDP encapsulation
  east.mgr->SetPeers({cfg});
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  INFO(r.log.Recent());
  const ike::ChildSa* ec = EastChild(east);
  REQUIRE(ec != nullptr);
  REQUIRE(ec->encap);
  size_t before = r.dp.Batches().size();
  // The NAT in front of east now maps it to port 4501.
  auto rebind = [](ike::Datagram& d) { d.src.port = 4501; };
  REQUIRE(east.mgr->RekeyChild(ec->spi_in));
  Pump(r, east, rebind);
  auto all = r.dp.Batches();
  const Message* update = nullptr;
  for (size_t i = before; i < all.size() && update == nullptr; ++i) {
    update = Find(all[i], MessageKind::kSa, Op::kUpdate);
  }
  REQUIRE(update != nullptr);
  CHECK(update->body.sa.direction == dp::api::Direction::kOut);
  CHECK(update->body.sa.udp_encap == 1);
  CHECK(update->body.sa.encap_dst_port == 4501);
  CHECK(absl::StrContains(r.log.Recent(), "now sends to 159.8.98.213[4501]"));
}

TEST_CASE("after the dataplane restarts, IKE goes through the new channel",
          "[vpnd][dataplane][sa]") {
  // The peer rekeys after the re-attach: vpnd's answer must reach it through the new segment.
  Rig r;
  East east(r);
  REQUIRE(r.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  Pump(r, east);
  REQUIRE(EastChild(east) != nullptr);
  r.dp.Restart();
  r.now += absl::Seconds(2);
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(absl::StrContains(r.log.Recent(), "re-attached to the dataplane"));
  uint32_t old_spi = EastChild(east)->spi_in;
  REQUIRE(east.mgr->RekeyChild(old_spi));
  Pump(r, east);
  INFO(r.log.Recent());
  REQUIRE(EastChild(east) != nullptr);
  CHECK(EastChild(east)->spi_in != old_spi);
  CHECK_FALSE(absl::StrContains(r.log.Recent(), "inject to"));
}
