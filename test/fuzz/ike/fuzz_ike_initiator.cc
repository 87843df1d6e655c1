// libFuzzer target: the initiator's handling of responses. An in-process initiator (A) and a
// real responder (B) set up an IKE SA up to the chosen request; B never sees that request.
// Instead the fuzzer's bytes are B's answer to it, which A has to take apart:
//   stage 0: the IKE_SA_INIT response (in the clear; SPIs and message ID from the harness);
//   stage 1: the IKE_AUTH response, sealed with B's SK keys; an AUTH payload in it is given the
//            value B would compute for the IDr next to it, so SA, TS and notify handling are
//            reached behind a valid AUTH;
//   stage 2: the CREATE_CHILD_SA response to A's CHILD SA rekey;
//   stage 3: the CREATE_CHILD_SA response for A's second CHILD SA;
//   stage 4: the CREATE_CHILD_SA response to A's IKE SA rekey.
// Input: [stage][first payload type][mutations][payload chain...]. Mutations: bits 0-1 add to
// the message ID, bit 2 clears the response flag, bit 3 sets the initiator flag, bit 4 (stage
// 0) sends SPIr zero.
// Properties besides "no crash, leak or UB": A never has more than one request in flight (at
// most one datagram per response it processes), and its message IDs never go backwards.
//
// The seed corpus (corpus_initiator/) is B's real answers: FUZZ_WRITE_SEEDS=<dir> makes the
// binary write them there and exit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ike/crypto/psk_auth.h"
#include "ike/crypto/sk_cipher.h"
#include "ike/encoding/message.h"
#include "ike/sa/ike_manager.h"
#include "ike/sa/traffic_selectors.h"

using namespace portcullis::ike;

namespace {

constexpr int kStages = 5;
const char kPsk[] = "fuzz-psk-fuzz-psk-fuzz";

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

ChildConfig Child(const std::string& conn, uint32_t tunnel, const char* local_net,
                  const char* remote_net) {
  ChildConfig ch;
  ch.name = conn + "-tunnel-" + std::to_string(tunnel);
  ch.tunnel_id = tunnel;
  ch.local_ts = {TsFromPrefix(*Address::Parse(local_net), 24)};
  ch.remote_ts = {TsFromPrefix(*Address::Parse(remote_net), 24)};
  Proposal e;
  e.protocol = ProtocolId::kEsp;
  e.transforms = {Transform::Encr(EncrId::kAesGcm16, 128), Transform::Esn(EsnId::kNoEsn)};
  ch.esp_proposals = {e};
  ch.pfs = DhGroup::kCurve25519;
  return ch;
}

// `second_child`: a second tunnel, made with CREATE_CHILD_SA after IKE_AUTH. `short_life`: an
// IKE SA lifetime that makes the initiator rekey the IKE SA within a minute.
std::shared_ptr<IkeSaConfig> Config(const char* local, const char* remote, bool initiate,
                                    bool second_child, bool short_life) {
  auto c = std::make_shared<IkeSaConfig>();
  c->name = std::string("peer-") + remote;
  c->peer_key = remote;
  c->local = *Address::Parse(local);
  c->remote = *Address::Parse(remote);
  c->local_id = IdFromText(local);
  c->remote_id = IdFromText(remote);
  c->local_id_text = local;
  c->remote_id_text = remote;
  c->psk = SharedSecret(kPsk);
  c->ike_proposals = {IkeProposal()};
  c->initiate = initiate;
  if (short_life) c->ike_lifetime = 60;
  // The initiator's selectors; the responder's are the mirror image.
  const char* a_net = initiate ? "10.1.0.0" : "10.2.0.0";
  const char* b_net = initiate ? "10.2.0.0" : "10.1.0.0";
  c->children = {Child(c->name, 1, a_net, b_net)};
  if (second_child) {
    c->children.push_back(
        Child(c->name, 2, initiate ? "10.1.1.0" : "10.2.1.0", initiate ? "10.2.1.0" : "10.1.1.0"));
  }
  return c;
}

struct World {
  absl::Time now = absl::FromUnixSeconds(1767225600);
  NullLog log;
  std::vector<Datagram> to_a, to_b;
  std::unique_ptr<IkeManager> a, b;

  explicit World(int stage) {
    a = std::make_unique<IkeManager>([this] { return now; },
                                     [this](const Datagram& d) { to_b.push_back(d); }, &log,
                                     nullptr, nullptr);
    b = std::make_unique<IkeManager>([this] { return now; },
                                     [this](const Datagram& d) { to_a.push_back(d); }, &log,
                                     nullptr, nullptr);
    a->SetPeers({Config("192.0.2.1", "192.0.2.2", true, stage == 3, stage == 4)});
    b->SetPeers({Config("192.0.2.2", "192.0.2.1", false, stage == 3, false)});
  }
  // A's requests to B, and B's answers to A, once.
  void Exchange() {
    auto requests = std::move(to_b);
    to_b.clear();
    for (auto& d : requests) b->HandleDatagram(d);
    auto answers = std::move(to_a);
    to_a.clear();
    for (auto& d : answers) a->HandleDatagram(d);
  }
  const IkeSa* A() const {
    auto sas = a->Sas();
    return sas.size() == 1 ? sas[0] : nullptr;
  }
  const IkeSa* B() const {
    auto sas = b->Sas();
    return sas.size() == 1 ? sas[0] : nullptr;
  }
};

// Brings A up to the request of `stage`, which is then in w.to_b, unanswered.
void Prepare(World& w, int stage) {
  w.a->Tick();  // IKE_SA_INIT
  if (stage == 0) return;
  w.Exchange();  // IKE_SA_INIT answered; IKE_AUTH sent
  if (stage == 1) return;
  w.Exchange();  // IKE_AUTH answered; established (stage 3: CREATE_CHILD_SA for tunnel 2 sent)
  const IkeSa* a = w.A();
  Require(a != nullptr && a->state() == IkeSa::State::kEstablished && !a->children().empty());
  if (stage == 2) Require(w.a->RekeyChild(a->children()[0]->spi_in));
  if (stage == 4) {
    w.now += absl::Seconds(50);  // past the rekey time of a 60 s IKE SA
    w.a->Tick();
  }
  Require(w.to_b.size() == 1);
}

ExchangeType ExchangeOf(int stage) {
  return stage == 0   ? ExchangeType::kIkeSaInit
         : stage == 1 ? ExchangeType::kIkeAuth
                      : ExchangeType::kCreateChildSa;
}

// The IKE_AUTH response's AUTH, as B would compute it for `chain`'s IDr (B's own ID without).
void FixAuth(const IkeSa& b, std::vector<Payload>& chain) {
  IdPayload idr = b.config().local_id;
  for (const Payload& p : chain) {
    if (p.type == PayloadType::kIdr && p.As<IdPayload>() != nullptr) idr = *p.As<IdPayload>();
  }
  for (Payload& p : chain) {
    if (p.type != PayloadType::kAuth || p.As<AuthPayload>() == nullptr) continue;
    auto auth = ComputePskAuth(b.suite.prf, SharedSecret(kPsk).bytes(), Role::kResponder, b.keys,
                               b.own_init, b.nonce_i, idr);
    if (auth.ok()) std::get<AuthPayload>(p.body).data = *auth;
  }
}

// B's answer to A's request in flight: the fuzzer's chain under the request's header.
std::optional<Datagram> Answer(World& w, int stage, PayloadType first, uint8_t mutations,
                               const uint8_t* chain, size_t size) {
  const IkeSa* a = w.A();
  if (a == nullptr || !a->retransmit_state().active) return std::nullopt;
  const Datagram& request = w.to_b.back();
  IkeHeader h;
  h.spi_i = a->spi_i();
  h.spi_r = a->spi_r();
  h.exchange = ExchangeOf(stage);
  h.response = (mutations & 4) == 0;
  h.initiator = (mutations & 8) != 0;
  h.message_id = a->retransmit_state().message_id + (mutations & 3);
  Datagram d;
  d.src = request.dst;
  d.dst = request.src;
  d.non_esp_marker = d.dst.port == 4500;
  if (stage == 0) {
    h.spi_r = (mutations & 16) ? IkeSpi{} : IkeSpi{1, 2, 3, 4, 5, 6, 7, 8};
    // The header by hand (the codec would re-derive Next Payload and Length from payloads it
    // decoded), then the chain as it came.
    Bytes wire(h.spi_i.begin(), h.spi_i.end());
    wire.insert(wire.end(), h.spi_r.begin(), h.spi_r.end());
    uint32_t length = static_cast<uint32_t>(kIkeHeaderSize + size);
    uint32_t mid = h.message_id;
    wire.insert(wire.end(), {static_cast<uint8_t>(first), 0x20, static_cast<uint8_t>(h.exchange),
                             static_cast<uint8_t>((h.initiator ? kFlagInitiator : 0) |
                                                  (h.response ? kFlagResponse : 0)),
                             static_cast<uint8_t>(mid >> 24), static_cast<uint8_t>(mid >> 16),
                             static_cast<uint8_t>(mid >> 8), static_cast<uint8_t>(mid),
                             static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
                             static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)});
    wire.insert(wire.end(), chain, chain + size);
    d.data = std::move(wire);
    return d;
  }
  const IkeSa* b = w.B();
  if (b == nullptr) return std::nullopt;
  auto ciphers = MakeSkCiphers(b->suite, b->keys, Role::kResponder);
  if (!ciphers.ok()) return std::nullopt;
  absl::Span<const uint8_t> bytes(chain, size);
  absl::StatusOr<Bytes> wire = absl::UnknownError("");
  auto decoded = DecodePayloadChain(first, bytes);
  if (decoded.ok() && !decoded->empty()) {
    if (stage == 1) FixAuth(*b, *decoded);
    wire = SealMessage(ciphers->outbound, h, *decoded);
  }
  if (!wire.ok()) {  // not a chain the codec reads: sealed as it came
    Message outer;
    outer.header = h;
    wire = ciphers->outbound.Seal(outer, first, bytes);
  }
  if (!wire.ok()) return std::nullopt;
  d.data = *std::move(wire);
  return d;
}

// FUZZ_WRITE_SEEDS: B's real answer at each stage, in the input format.
void WriteSeeds(const std::string& dir) {
  static const char* kNames[kStages] = {
      "ike_sa_init_response", "ike_auth_response", "create_child_sa_rekey_response",
      "create_child_sa_new_child_response", "create_child_sa_ike_rekey_response"};
  for (int stage = 0; stage < kStages; ++stage) {
    World w(stage);
    Prepare(w, stage);
    auto requests = std::move(w.to_b);
    w.to_b.clear();
    for (auto& d : requests) w.b->HandleDatagram(d);
    Require(w.to_a.size() == 1);
    const Datagram& answer = w.to_a[0];
    Bytes seed = {static_cast<uint8_t>(stage), 0, 0};
    if (stage == 0) {
      seed[1] = answer.data[16];  // the header's Next Payload
      seed.insert(seed.end(), answer.data.begin() + kIkeHeaderSize, answer.data.end());
    } else {
      // Sealed with the IKE SA's keys (a rekey's answer too): A's keys open it.
      const IkeSa* a = w.A();
      Require(a != nullptr);
      auto ciphers = MakeSkCiphers(a->suite, a->keys, Role::kInitiator);
      Require(ciphers.ok());
      auto opened = OpenMessage(ciphers->inbound, answer.data);
      Require(opened.ok() && !opened->inner.empty());
      auto chain = EncodePayloadChain(opened->inner);
      Require(chain.ok());
      seed[1] = static_cast<uint8_t>(opened->inner[0].type);
      seed.insert(seed.end(), chain->begin(), chain->end());
    }
    std::ofstream(dir + "/" + kNames[stage], std::ios::binary)
        .write(reinterpret_cast<const char*>(seed.data()),
               static_cast<std::streamsize>(seed.size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FUZZ_WRITE_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int stage = data[0] % kStages;
  World w(stage);
  Prepare(w, stage);
  std::optional<Datagram> answer =
      Answer(w, stage, static_cast<PayloadType>(data[1]), data[2], data + 3, size - 3);
  if (!answer) return 0;
  const IkeSa* a = w.A();
  const uint32_t before = a->next_request_id();
  const IkeSpi spi_i = a->spi_i();
  w.to_b.clear();
  w.a->HandleDatagram(*answer);
  Require(w.to_b.size() <= 1);  // window 1: one request in flight at most
  for (const IkeSa* s : w.a->Sas()) {
    if (s->spi_i() == spi_i) Require(s->next_request_id() >= before);
  }
  // Timers on whatever state the answer left: retransmission, half-open and rekey paths.
  w.now += absl::Seconds(5);
  w.a->Tick();
  return 0;
}
