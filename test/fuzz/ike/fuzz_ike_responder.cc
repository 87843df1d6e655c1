// libFuzzer target: the responder's IKE message path through the SA manager and the task
// machinery, not just the decoder. Each input runs against a fresh responder:
//   mode 0: the bytes are a datagram from the peer (IKE_SA_INIT requests with their proposals,
//           KE, nonces, cookies; anything for unknown SPIs);
//   mode 1: an IKE SA is first established between an in-process initiator and the responder;
//           the bytes are [exchange type, first inner payload type, message-ID delta, flags,
//           inner payload chain...], sealed with the initiator's SK keys for that IKE SA, so
//           arbitrary payload chains reach IKE_AUTH, CREATE_CHILD_SA (child and IKE rekeys) and
//           INFORMATIONAL processing behind a valid ICV.
// Properties besides "no crash, leak or UB": the responder never answers with more than one
// datagram per request, and its message-ID bookkeeping never goes backwards.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "ike/crypto/sk_cipher.h"
#include "ike/sa/ike_manager.h"
#include "ike/sa/traffic_selectors.h"

using namespace portcullis::ike;

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

struct NullLog : LogSink {
  void Write(const LogRecord&) override {}
};

Proposal IkeProposal() {
  Proposal p;
  p.protocol = ProtocolId::kIke;
  p.transforms = {Transform::Encr(EncrId::kAesCbc, 128),
                  Transform::Integ(IntegId::kHmacSha2_256_128),
                  Transform::Prf(PrfId::kHmacSha2_256), Transform::Dh(DhGroup::kCurve25519)};
  return p;
}

std::shared_ptr<IkeSaConfig> Config(const char* local, const char* remote, bool initiate) {
  auto c = std::make_shared<IkeSaConfig>();
  c->name = std::string("peer-") + remote;
  c->peer_key = remote;
  c->local = *Address::Parse(local);
  c->remote = *Address::Parse(remote);
  c->local_id = IdFromText(local);
  c->remote_id = IdFromText(remote);
  c->local_id_text = local;
  c->remote_id_text = remote;
  c->psk = SharedSecret("fuzz-psk");
  c->ike_proposals = {IkeProposal()};
  c->initiate = initiate;
  ChildConfig ch;
  ch.name = c->name + "-tunnel-1";
  ch.tunnel_id = 1;
  ch.local_ts = {TsAny()};
  ch.remote_ts = {TsAny()};
  Proposal e;
  e.protocol = ProtocolId::kEsp;
  e.transforms = {Transform::Encr(EncrId::kAesGcm16, 128), Transform::Esn(EsnId::kNoEsn)};
  ch.esp_proposals = {e};
  ch.pfs = DhGroup::kCurve25519;
  c->children = {ch};
  return c;
}

struct World {
  absl::Time now = absl::FromUnixSeconds(1767225600);
  NullLog log;
  std::vector<Datagram> to_a, to_b;
  std::unique_ptr<IkeManager> a, b;

  World() {
    a = std::make_unique<IkeManager>([this] { return now; },
                                     [this](const Datagram& d) { to_b.push_back(d); }, &log,
                                     nullptr, nullptr);
    b = std::make_unique<IkeManager>([this] { return now; },
                                     [this](const Datagram& d) { to_a.push_back(d); }, &log,
                                     nullptr, nullptr);
    a->SetPeers({Config("192.0.2.1", "192.0.2.2", true)});
    b->SetPeers({Config("192.0.2.2", "192.0.2.1", false)});
  }
  void Pump() {
    for (int i = 0; i < 50 && (!to_a.empty() || !to_b.empty()); ++i) {
      auto ta = std::move(to_a), tb = std::move(to_b);
      to_a.clear();
      to_b.clear();
      for (auto& d : tb) b->HandleDatagram(d);
      for (auto& d : ta) a->HandleDatagram(d);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  World w;
  uint8_t mode = data[0] % 2;
  data++;
  size--;
  if (mode == 0) {
    Datagram d;
    d.src.address = *Address::Parse("192.0.2.1");
    d.dst.address = *Address::Parse("192.0.2.2");
    d.data.assign(data, data + size);
    w.b->HandleDatagram(d);
    Require(w.to_a.size() <= 1);
    w.now += absl::Seconds(40);  // half-open timeout and retransmission paths
    w.b->Tick();
    return 0;
  }
  if (size < 4) return 0;
  w.a->Tick();
  w.Pump();
  auto sas = w.a->Sas();
  Require(sas.size() == 1 && sas[0]->state() == IkeSa::State::kEstablished);
  const IkeSa& sa = *sas[0];
  auto ciphers = MakeSkCiphers(sa.suite, sa.keys, Role::kInitiator);
  Require(ciphers.ok());
  const IkeSa* target = w.b->Sas().at(0);
  uint32_t before = target->expected_request_id();
  Message outer;
  outer.header.spi_i = sa.spi_i();
  outer.header.spi_r = sa.spi_r();
  outer.header.exchange = static_cast<ExchangeType>(data[0]);
  outer.header.initiator = true;
  outer.header.response = (data[3] & 1) != 0;
  outer.header.message_id = sa.next_request_id() + (data[2] & 3);
  auto wire = ciphers->outbound.Seal(outer, static_cast<PayloadType>(data[1]),
                                     absl::MakeConstSpan(data + 4, size - 4));
  if (!wire.ok()) return 0;
  Datagram d;
  d.src = sa.local();
  d.dst = sa.remote();
  d.non_esp_marker = d.dst.port == 4500;
  d.data = *std::move(wire);
  w.to_a.clear();
  w.b->HandleDatagram(d);
  Require(w.to_a.size() <= 1);
  for (const IkeSa* s : w.b->Sas()) {
    if (s->spi_i() == sa.spi_i()) Require(s->expected_request_id() >= before);
  }
  w.now += absl::Seconds(5);
  w.b->Tick();
  w.Pump();
  return 0;
}
