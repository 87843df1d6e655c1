// What the show views gather comes from the IKE SA, the connection and the SA installer, never
// from constants: the IKE version column is the SA's (none without one), the authentication a
// side must prove is the connection's.
#include "control/vpnd/show_gather.h"

#include <catch2/catch.hpp>

#include <memory>

#include "absl/strings/match.h"
#include "control/vpnd/logging_sa_installer.h"
#include "control/vpnd/show_text.h"

using namespace portcullis;
using namespace portcullis::vpnd;

namespace {

struct NullSink : ike::LogSink {
  void Write(const ike::LogRecord&) override {}
};

// An IKE manager that sends nowhere, with one connection to 192.0.2.2.
struct Engine {
  absl::Time now = absl::FromUnixSeconds(1767225600);
  NullSink log;
  LoggingSaInstaller installer{[this] { return now; }, &log};
  ike::IkeManager ike{[this] { return now; }, [](const ike::Datagram&) {}, &log, nullptr, nullptr};
  std::shared_ptr<ike::IkeSaConfig> cfg = std::make_shared<ike::IkeSaConfig>();

  explicit Engine(bool initiate, const char* psk) {
    cfg->name = "peer-192.0.2.2";
    cfg->local = *ike::Address::Parse("192.0.2.1");
    cfg->remote = *ike::Address::Parse("192.0.2.2");
    cfg->local_id_text = "192.0.2.1";
    cfg->remote_id_text = "192.0.2.2";
    cfg->local_id = ike::IdFromText(cfg->local_id_text);
    cfg->remote_id = ike::IdFromText(cfg->remote_id_text);
    cfg->psk = ike::SharedSecret(psk);
    ike::Proposal p;
    p.protocol = ike::ProtocolId::kIke;
    p.number = 1;
    p.transforms = {ike::Transform::Encr(ike::EncrId::kAesCbc, 256),
                    ike::Transform::Integ(ike::IntegId::kHmacSha2_256_128),
                    ike::Transform::Prf(ike::PrfId::kHmacSha2_256),
                    ike::Transform::Dh(ike::DhGroup::kModp2048)};
    cfg->ike_proposals = {p};
    cfg->initiate = initiate;
    ike.SetPeers({cfg});
    ike.Tick();
  }
  ShowPeers Peers() const { return {cfg.get()}; }
};

}  // namespace

TEST_CASE("the IKE version is the IKE SA's: none without one", "[show]") {
  Engine respond_only(/*initiate=*/false, "Zq7Wx9Kp2Lm5Nv8Rt3Yh");
  auto rows = GatherIkeSas(respond_only.ike, respond_only.installer, respond_only.Peers(), {},
                           respond_only.now);
  REQUIRE(rows.size() == 1);
  REQUIRE(rows[0].sas.size() == 1);
  CHECK(rows[0].sas[0].state == "down");
  CHECK(rows[0].sas[0].ike_version == "n/a");
  CHECK(absl::StrContains(IkeSaText(rows),
                          "    down   n/a           n/a       n/a      0       "
                          "28800   n/a\n"));

  Engine initiator(/*initiate=*/true, "Zq7Wx9Kp2Lm5Nv8Rt3Yh");
  rows = GatherIkeSas(initiator.ike, initiator.installer, initiator.Peers(), {}, initiator.now);
  REQUIRE(rows.size() == 1);
  REQUIRE(rows[0].sas.size() == 1);
  CHECK(rows[0].sas[0].state == "init");  // IKE_SA_INIT sent: an IKEv2 SA exists
  CHECK(rows[0].sas[0].ike_version == "2");
  auto debug =
      GatherDebug(initiator.ike, initiator.installer, initiator.Peers(), {}, initiator.now);
  REQUIRE(debug.size() == 1);
  REQUIRE(debug[0].sas.size() == 1);
  CHECK(debug[0].sas[0].ike_version == "2");
}

TEST_CASE("the authentication shown is the connection's", "[show]") {
  Engine with_psk(/*initiate=*/false, "Zq7Wx9Kp2Lm5Nv8Rt3Yh");
  auto debug = GatherDebug(with_psk.ike, with_psk.installer, with_psk.Peers(), {}, with_psk.now);
  REQUIRE(debug.size() == 1);
  CHECK(debug[0].local_auth == "pre-shared key");
  CHECK(debug[0].remote_auth == "pre-shared key");
  CHECK(absl::StrContains(DebugText(debug),
                          "peer-192.0.2.2:   local:  [192.0.2.1] uses "
                          "pre-shared key authentication\n"));

  Engine without(/*initiate=*/false, "");
  debug = GatherDebug(without.ike, without.installer, without.Peers(), {}, without.now);
  REQUIRE(debug.size() == 1);
  CHECK(debug[0].local_auth == "any");
  CHECK(absl::StrContains(DebugText(debug),
                          "peer-192.0.2.2:   remote: [192.0.2.2] uses any authentication\n"));
}
