// vpnd between IKE and the SA installer, in kernel-socket mode (no dataplane at all): CHILD SA
// SPIs come from the installer's get-SPI, and CHILD SAs going up and down reach the installer
// (SAs with their VTI's ifindex, policies for policy-based tunnels only, removals) whatever the
// transport, with the kernel transport's log lines.
#include <catch2/catch.hpp>

#include <deque>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "control/vpnd/logging_sa_installer.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

namespace {

// The kernel transport's installer, noting what vpnd asks of it and handing out the SPIs the test
// chose.
class RecordingSaInstaller : public vpnd::LoggingSaInstaller {
 public:
  using LoggingSaInstaller::LoggingSaInstaller;
  absl::StatusOr<uint32_t> GetSpi() override {
    calls.push_back("get_spi");
    if (spis.empty()) return LoggingSaInstaller::GetSpi();
    uint32_t spi = spis.front();
    spis.pop_front();
    return spi;
  }
  void AddSa(const ike::ChildSa& c, uint32_t vti_ifindex) override {
    calls.push_back(absl::StrFormat("add_sa %08x vti %d", c.spi_in, vti_ifindex));
    LoggingSaInstaller::AddSa(c, vti_ifindex);
  }
  void AddPolicy(const ike::ChildSa& c) override {
    calls.push_back(absl::StrFormat("add_policy %08x", c.spi_in));
  }
  void DelSa(const ike::ChildSa& c) override {
    calls.push_back(absl::StrFormat("del_sa %08x", c.spi_in));
  }

  std::deque<uint32_t> spis;
  std::vector<std::string> calls;
};

// vpnd with the kernel transport, and a plain IKE engine as its peer; datagrams go between the
// two through vectors.
struct KernelPair {
  absl::Time now = absl::FromUnixSeconds(1767225600);
  vpnd::VpndLog log{"", false};
  RecordingSaInstaller installer{[this] { return now; }, &log};
  std::vector<ike::Datagram> to_peer, to_vpnd;
  std::unique_ptr<vpnd::Vpnd> vpnd;
  Sink peer_log;
  std::unique_ptr<ike::IkeManager> peer;
  // The interface the peer's datagrams arrive on, as the kernel transport reports it.
  uint32_t arrive_ifindex = 7;

  explicit KernelPair(std::shared_ptr<ike::IkeSaConfig> peer_config) {
    vpnd::VpndDeps deps;
    deps.clock = [this] { return now; };
    deps.interface_name = [](uint32_t ifindex) -> std::string {
      return ifindex == 7 ? "eth0" : ifindex == 8 ? "eth1" : "";
    };
    deps.send = [this](const ike::Datagram& d) { to_peer.push_back(d); };
    deps.log = &log;
    deps.installer = &installer;
    vpnd = std::make_unique<vpnd::Vpnd>(deps);
    peer = std::make_unique<ike::IkeManager>(
        [this] { return now; }, [this](const ike::Datagram& d) { to_vpnd.push_back(d); }, &peer_log,
        nullptr, nullptr);
    peer_config->initiate = false;
    peer->SetPeers({peer_config});
  }
  void Pump() {
    for (int i = 0; i < 100; ++i) {
      vpnd->Poll();
      if (to_peer.empty() && to_vpnd.empty()) return;
      for (const auto& d : std::exchange(to_peer, {})) peer->HandleDatagram(d);
      for (auto d : std::exchange(to_vpnd, {})) {
        d.ifindex = arrive_ifindex;
        vpnd->HandleDatagram(d);
      }
    }
  }
  const ike::ChildSa* PeerChild() const {
    auto sas = peer->Sas();
    if (sas.size() != 1 || sas[0]->children().size() != 1) return nullptr;
    return sas[0]->children()[0].get();
  }
};

std::shared_ptr<ike::IkeSaConfig> EastConfig() {
  auto loaded = config::LoadConfigFile("configs/vyatta-east.conf");
  REQUIRE(loaded.ok());
  vpnd::ReqidAllocator reqids;
  auto setup = vpnd::MapConfig(config::BuildModel(loaded->tree), reqids);
  REQUIRE(setup.ok());
  return std::make_shared<ike::IkeSaConfig>(*setup->peers[0]);
}

uint32_t RunningIfindex(const vpnd::Vpnd& v, const std::string& name) {
  for (const auto& [key, m] : v.running()) {
    if (m.header.kind == MessageKind::kInterface && name == m.body.interface.name) {
      return m.body.interface.ifindex;
    }
  }
  return 0;
}

}  // namespace

TEST_CASE("a route-based CHILD SA: its SPI from get-SPI, add_sa with the VTI, del_sa on reset",
          "[vpnd][kernel][sa][spi]") {
  KernelPair k(EastConfig());
  k.installer.spis = {0xc0001234};
  REQUIRE(k.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  k.Pump();
  INFO(k.log.Recent());
  const ike::ChildSa* pc = k.PeerChild();
  REQUIRE(pc != nullptr);
  CHECK(pc->spi_out == 0xc0001234);  // the peer sends with the SPI the installer gave
  uint32_t vti = RunningIfindex(*k.vpnd, "vti2");
  REQUIRE(vti != 0);
  CHECK(k.installer.calls ==
        std::vector<std::string>{"get_spi", absl::StrFormat("add_sa c0001234 vti %d", vti)});
  CHECK(absl::StrContains(k.log.Recent(),
                          "kernel transport: CHILD_SA not installed (SAs are only logged): ESP "
                          "SPIs c0001234_i"));
  CHECK_FALSE(absl::StrContains(k.log.Recent(), "installed ESP SAs"));
  REQUIRE(k.vpnd->Command({"reset", "vpn", "ipsec-peer", "159.8.98.213"}).ok());
  k.Pump();
  REQUIRE(k.installer.calls.size() >= 3);
  CHECK(k.installer.calls[2] == "del_sa c0001234");
}

TEST_CASE("a policy-based CHILD SA: add_sa without a VTI, then add_policy",
          "[vpnd][kernel][sa][spi]") {
  KernelPair k(MirrorPeer(kOneTunnel));
  k.installer.spis = {0xc0005678};
  std::string mine = WriteFile(kOneTunnel);
  REQUIRE(k.vpnd->LoadFile(mine).ok());
  k.Pump();
  INFO(k.log.Recent());
  REQUIRE(k.PeerChild() != nullptr);
  CHECK(k.PeerChild()->spi_out == 0xc0005678);
  CHECK(k.installer.calls ==
        std::vector<std::string>{"get_spi", "add_sa c0005678 vti 0", "add_policy c0005678"});
  std::remove(mine.c_str());
}

TEST_CASE("kernel transport: show says the CHILD SA is negotiated, not installed",
          "[vpnd][kernel][show]") {
  KernelPair k(EastConfig());
  REQUIRE(k.vpnd->LoadFile("configs/vyatta-west.conf").ok());
  k.Pump();
  INFO(k.log.Recent());
  REQUIRE(k.PeerChild() != nullptr);
  auto run = [&](std::vector<std::string> words) {
    auto out = k.vpnd->Command(words);
    REQUIRE(out.ok());
    return *out;
  };
  // Nothing carries ESP: down, no counters (not "up 0/0").
  std::string brief = run({"show", "vpn", "ipsec", "sa"});
  INFO(brief);
  CHECK(absl::StrContains(brief,
                          "    vti     1           down   n/a            aes128gcm128  "
                          "null      n/a 0       3600\n"));
  std::string detail = run({"show", "vpn", "ipsec", "sa", "detail"});
  CHECK(absl::StrContains(detail, "        State:                  down\n"));
  CHECK(absl::StrContains(detail, "        Inbound Bytes:          n/a\n"));
  std::string debug = run({"show", "vpn", "debug"});
  INFO(debug);
  CHECK(absl::StrContains(debug, "peer-159.8.98.213-tunnel-vti{1}:  CREATED, TUNNEL, reqid 1"));
  CHECK(absl::StrContains(debug, "uses pre-shared key authentication\n"));
  // vyatta-west.conf has make-before-break: the IKE lifetime reauthenticates, as in the seed.
  CHECK(absl::StrContains(debug, ", pre-shared key reauthentication in "));
  CHECK(absl::StrContains(run({"show", "vpn", "ipsec", "sa", "--json"}),
                          "\"state\":\"down\",\"installed\":false"));
  // The IKE SA is up, and IKEv2.
  std::string ike = run({"show", "vpn", "ike", "sa"});
  INFO(ike);
  CHECK(absl::StrContains(ike, "    up     aes256        sha2_256  20       0       28800   2\n"));
}

TEST_CASE("security vpn ike interface: IKE from other interfaces is dropped and counted",
          "[vpnd][kernel][ike]") {
  KernelPair k(MirrorPeer(kOneTunnel));
  std::string mine = WriteFile(std::string(kOneTunnel) + "set security vpn ike interface eth1\n");
  REQUIRE(k.vpnd->LoadFile(mine).ok());
  std::remove(mine.c_str());
  SECTION("the peer's answers come in on eth0") {
    k.Pump();
    INFO(k.log.Recent());
    CHECK(k.peer->Sas().size() == 1);  // the peer answered vpnd's IKE_SA_INIT...
    CHECK(k.PeerChild() == nullptr);
    REQUIRE(k.vpnd->ike().Sas().size() == 1);
    CHECK(k.vpnd->ike().Sas()[0]->state() == ike::IkeSa::State::kConnecting);  // ...in vain
    CHECK(k.vpnd->ike_interface_drops() == 1);
    CHECK(absl::StrContains(k.log.Recent(),
                            "on eth0, which security vpn ike interface does not name: dropped"));
    CHECK(absl::StrContains(k.log.Recent(), "IKE is received only on eth1"));
  }
  SECTION("on eth1") {
    k.arrive_ifindex = 8;
    k.Pump();
    INFO(k.log.Recent());
    REQUIRE(k.PeerChild() != nullptr);
    CHECK(k.vpnd->ike().Sas()[0]->state() == ike::IkeSa::State::kEstablished);
    CHECK(k.vpnd->ike_interface_drops() == 0);
  }
}
