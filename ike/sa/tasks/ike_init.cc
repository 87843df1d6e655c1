// IKE_SA_INIT (RFC 7296 1.2, 2.6, 2.7, 2.10, 2.23): proposals, key exchange, nonces, NAT
// detection. As initiator it answers a COOKIE request and an INVALID_KE_PAYLOAD (another DH
// group from our proposals); as responder it picks a proposal, asks for another group when the
// KE does not match the chosen one, and refuses with NO_PROPOSAL_CHOSEN when nothing matches,
// logging both sides' proposals. The SIGNATURE_HASH_ALGORITHMS notify is ignored (PSK only).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ike/crypto/crypto_pool.h"
#include "ike/crypto/dh_group.h"
#include "ike/crypto/key_schedule.h"
#include "ike/crypto/nat_detection.h"
#include "ike/crypto/random.h"
#include "ike/sa/ike_sa.h"
#include "ike/sa/proposal_select.h"
#include "ike/sa/proposal_string.h"

namespace portcullis::ike {

namespace {

constexpr size_t kNonceSize = 32;

std::string GroupName(DhGroup g) {
  return TransformName(TransformType::kDh, static_cast<uint16_t>(g));
}

Bytes NatHash(const IkeSpi& spi_i, const IkeSpi& spi_r, const Endpoint& e) {
  absl::StatusOr<NatDetectionHash> h =
      ComputeNatDetectionHash(spi_i, spi_r, e.address.span(), e.port);
  if (!h.ok()) return {};
  return Bytes(h->begin(), h->end());
}

// With forced UDP encapsulation we claim a NAT in front of us, as charon does: a source hash
// that cannot match.
Bytes SourceHash(IkeSa& sa, const IkeSpi& spi_i, const IkeSpi& spi_r) {
  if (sa.config().force_encap) {
    absl::StatusOr<Bytes> r = RandomBytes(20);
    if (r.ok()) return *r;
  }
  return NatHash(spi_i, spi_r, sa.local());
}

// Checks the peer's NAT_DETECTION notifies against what we see. `spi_r` as in the message.
void CheckNat(IkeSa& sa, const std::vector<Payload>& in, const IkeSpi& spi_i, const IkeSpi& spi_r) {
  const NotifyPayload* src = FindNotify(in, NotifyType::kNatDetectionSourceIp);
  bool have_dst = false, dst_match = false;
  for (const Payload& p : in) {
    const auto* n = p.As<NotifyPayload>();
    if (n == nullptr || n->type != NotifyType::kNatDetectionDestinationIp) continue;
    have_dst = true;
    if (n->data == NatHash(spi_i, spi_r, sa.local())) dst_match = true;
  }
  if (src == nullptr || !have_dst) return;  // the peer does not do NAT-T
  sa.nat_remote = src->data != NatHash(spi_i, spi_r, sa.remote());
  sa.nat_local = !dst_match;
  if (sa.nat_local) sa.Log(LogGroup::kIke, "local host is behind NAT, sending keep alives");
  if (sa.nat_remote) sa.Log(LogGroup::kIke, "remote host is behind NAT");
  if (!sa.nat_any() && sa.config().force_encap) {
    sa.Log(LogGroup::kIke, "forcing UDP encapsulation (force-udp-encapsulation)");
  }
}

// g^ir, SKEYSEED and SK_* of IKE_SA_INIT, from copies: what a CryptoPool worker runs.
absl::StatusOr<IkeSaKeys> DeriveInitKeys(const IkeSaCryptoSuite& suite, const DhKeyPair& dh,
                                         absl::Span<const uint8_t> peer_public,
                                         const Bytes& nonce_i, const Bytes& nonce_r,
                                         const IkeSpi& spi_i, const IkeSpi& spi_r) {
  absl::StatusOr<SecretBytes> g_ir = dh.ComputeSharedSecret(peer_public);
  if (!g_ir.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("invalid KE payload: ", g_ir.status().message()));
  absl::StatusOr<SecretBytes> skeyseed = ComputeSkeyseed(suite.prf, nonce_i, nonce_r, *g_ir);
  if (!skeyseed.ok()) {
    return absl::InternalError(absl::StrCat("SKEYSEED failed: ", skeyseed.status().message()));
  }
  absl::StatusOr<IkeSaKeys> k = DeriveIkeSaKeys(suite, *skeyseed, nonce_i, nonce_r, spi_i, spi_r);
  if (!k.ok()) {
    return absl::InternalError(absl::StrCat("key derivation failed: ", k.status().message()));
  }
  return k;
}

// The keys of one IKE SA on a worker. It owns its DH key pair and copies of the peer's public
// value, the nonces and the SPIs; Finish finds the SA again by our SPI and unique ID on the
// loop, so an SA destroyed meanwhile (half-open timeout, a Delete, shutdown) gets nothing and
// its secrets are wiped with the job.
class InitKeysJob : public CryptoPool::Job {
 public:
  InitKeysJob(IkeSa& sa, std::unique_ptr<DhKeyPair> dh, const Bytes& peer_public)
      : ctx_(sa.ctx()),
        own_spi_(sa.own_spi()),
        unique_id_(sa.unique_id()),
        suite_(sa.suite),
        dh_(std::move(dh)),
        peer_public_(peer_public),
        nonce_i_(sa.nonce_i),
        nonce_r_(sa.nonce_r),
        spi_i_(sa.spi_i()),
        spi_r_(sa.spi_r()) {}
  void Run() override {
    keys_ = DeriveInitKeys(suite_, *dh_, peer_public_, nonce_i_, nonce_r_, spi_i_, spi_r_);
    dh_.reset();  // the private key goes as soon as it served
  }
  std::unique_ptr<DhKeyPair> TakeDh() { return std::move(dh_); }
  void Finish() override {
    IkeSa* sa = ctx_.FindSa(own_spi_);
    if (sa == nullptr || sa->unique_id() != unique_id_ || !sa->keys_pending()) {
      ctx_.CryptoResultDropped();
      return;
    }
    sa->IkeKeysComputed(std::move(keys_));
  }

 private:
  IkeSaContext& ctx_;
  const IkeSpi own_spi_;
  const uint32_t unique_id_;
  const IkeSaCryptoSuite suite_;
  std::unique_ptr<DhKeyPair> dh_;
  const Bytes peer_public_, nonce_i_, nonce_r_;
  const IkeSpi spi_i_, spi_r_;
  absl::StatusOr<IkeSaKeys> keys_ = absl::UnknownError("not run");
};

// Whether g^ir of `g` costs more than handing it to a worker and back (an eventfd wake-up and
// two context switches, and on a loaded machine a wait for a CPU): measured with vpnd on this
// 2-core machine, Curve25519 on the pool lowered the setup rate (charon initiator, load 8-12:
// 468/435/545 setups/s in place, 398/412/397 on the pool) while MODP-2048 moved 0.3 ms per
// setup off the loop. X25519 and P-256 take 30-50 us (`openssl speed`), P-384 650 us,
// MODP-2048 300 us and more.
bool WorthAWorker(DhGroup g) {
  switch (g) {
    case DhGroup::kCurve25519:
    case DhGroup::kEcp256:
    case DhGroup::kEcp224:
    case DhGroup::kEcp192:
      return false;
    default:
      return true;
  }
}

// On the context's CryptoPool if it has one, the group is worth it and the pool takes the job
// (true: the SA waits for IkeKeysComputed, `dh` went with the job); false: the caller computes
// here with `dh`.
bool ComputeKeysOnPool(IkeSa& sa, std::unique_ptr<DhKeyPair>& dh, const KePayload& ke) {
  CryptoPool* pool = sa.ctx().Crypto();
  if (pool == nullptr || (!WorthAWorker(ke.group) && !sa.ctx().CryptoAllGroups())) return false;
  auto* raw = new InitKeysJob(sa, std::move(dh), ke.data);
  std::unique_ptr<CryptoPool::Job> job(raw);
  if (!pool->Submit(&job)) {  // full: the job came back, and the pair with it
    dh = raw->TakeDh();
    return false;
  }
  sa.set_keys_pending();
  return true;
}

bool ComputeKeys(IkeSa& sa, const DhKeyPair& dh, const KePayload& ke) {
  absl::StatusOr<SecretBytes> g_ir = dh.ComputeSharedSecret(ke.data);
  if (!g_ir.ok()) {
    sa.Log(LogGroup::kIke, absl::StrCat("invalid KE payload: ", g_ir.status().message()));
    return false;
  }
  absl::StatusOr<SecretBytes> skeyseed =
      ComputeSkeyseed(sa.suite.prf, sa.nonce_i, sa.nonce_r, *g_ir);
  if (!skeyseed.ok()) {
    sa.Log(LogGroup::kIke, absl::StrCat("SKEYSEED failed: ", skeyseed.status().message()));
    return false;
  }
  return sa.InstallIkeKeys(*skeyseed);
}

class IkeInitTask : public Task {
 public:
  TaskKind kind() const override { return TaskKind::kIkeInit; }
  ExchangeType exchange() const override { return ExchangeType::kIkeSaInit; }

  bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) override {
    const IkeSaConfig& cfg = sa.config();
    if (group_ == DhGroup::kNone) {
      std::vector<DhGroup> groups = DhGroupsOf(cfg.ike_proposals);
      if (groups.empty()) {
        sa.Log(LogGroup::kCfg, "no DH group in the IKE proposals, cannot initiate");
        return false;
      }
      group_ = groups[0];
    }
    if (!dh_ || dh_->group() != group_) {
      auto kp = GenerateDhKeyPair(group_);
      if (!kp.ok()) {
        sa.Log(LogGroup::kIke, absl::StrCat("DH group ", GroupName(group_),
                                            " not usable: ", kp.status().message()));
        return false;
      }
      dh_ = *std::move(kp);
    }
    if (nonce_.empty()) {
      auto n = RandomBytes(kNonceSize);
      if (!n.ok()) return false;
      nonce_ = *n;
    }
    sa.nonce_i = nonce_;
    if (!cookie_.empty()) out.push_back(MakeNotify(NotifyType::kCookie, cookie_));
    out.push_back(Payload{PayloadType::kSa, SaPayload{WithSpi(cfg.ike_proposals, {})}});
    auto pub = dh_->public_value();
    out.push_back(Payload{PayloadType::kKe, KePayload{group_, Bytes(pub.begin(), pub.end())}});
    out.push_back(Payload{PayloadType::kNonce, NoncePayload{nonce_}});
    IkeSpi zero{};
    out.push_back(MakeNotify(NotifyType::kNatDetectionSourceIp, SourceHash(sa, sa.spi_i(), zero)));
    out.push_back(
        MakeNotify(NotifyType::kNatDetectionDestinationIp, NatHash(sa.spi_i(), zero, sa.remote())));
    return true;
  }

  TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>& in) override {
    const IkeSaConfig& cfg = sa.config();
    if (const NotifyPayload* c = FindNotify(in, NotifyType::kCookie)) {
      if (++cookie_tries_ > 3 || c->data.empty()) {
        sa.Log(LogGroup::kIke, "peer keeps asking for COOKIEs, giving up");
        sa.destroy_reason = "COOKIE exchange failed";
        return TaskOutcome::kFatal;
      }
      cookie_ = c->data;
      sa.Log(LogGroup::kIke, "received COOKIE notify, restarting IKE_SA_INIT with it");
      return TaskOutcome::kRetry;
    }
    if (const NotifyPayload* n = FindNotify(in, NotifyType::kInvalidKePayload)) {
      DhGroup wanted = DhGroup::kNone;
      if (n->data.size() == 2) wanted = static_cast<DhGroup>(n->data[0] << 8 | n->data[1]);
      std::vector<DhGroup> ours = DhGroupsOf(cfg.ike_proposals);
      bool acceptable = std::find(ours.begin(), ours.end(), wanted) != ours.end();
      if (acceptable && wanted != group_ && ++ke_tries_ <= 2) {
        sa.Log(LogGroup::kIke,
               absl::StrCat("peer didn't accept DH group ", GroupName(group_), ", it requested ",
                            GroupName(wanted), " (INVALID_KE_PAYLOAD)"));
        group_ = wanted;
        dh_.reset();
        return TaskOutcome::kRetry;
      }
      sa.Log(LogGroup::kIke,
             absl::StrCat("received INVALID_KE_PAYLOAD notify error: peer requested DH group ",
                          GroupName(wanted), ", which we did not propose; configured proposals: ",
                          ProposalListString(cfg.ike_proposals)));
      sa.destroy_reason = "INVALID_KE_PAYLOAD";
      return TaskOutcome::kFatal;
    }
    if (const NotifyPayload* e = FirstErrorNotify(in)) {
      if (e->type == NotifyType::kNoProposalChosen) {
        sa.Log(LogGroup::kIke,
               absl::StrCat("received NO_PROPOSAL_CHOSEN notify error: the peer accepted none "
                            "of our proposals; configured proposals: ",
                            ProposalListString(cfg.ike_proposals)));
      } else {
        sa.Log(LogGroup::kIke,
               absl::StrCat("received ", NotifyName(e->type), " notify error in IKE_SA_INIT"));
      }
      sa.destroy_reason = NotifyName(e->type);
      return TaskOutcome::kFatal;
    }
    const auto* sap = FindPayload<SaPayload>(in, PayloadType::kSa);
    const auto* ke = FindPayload<KePayload>(in, PayloadType::kKe);
    const auto* nonce = FindPayload<NoncePayload>(in, PayloadType::kNonce);
    if (sap == nullptr || ke == nullptr || nonce == nullptr || sap->proposals.size() != 1) {
      sa.Log(LogGroup::kIke, "IKE_SA_INIT response lacks SA, KE or Nonce (INVALID_SYNTAX)");
      sa.destroy_reason = "invalid IKE_SA_INIT response";
      return TaskOutcome::kFatal;
    }
    const Proposal& chosen = sap->proposals[0];
    std::optional<Proposal> check = SelectProposal({chosen}, cfg.ike_proposals);
    absl::StatusOr<IkeSaCryptoSuite> suite = IkeSuiteFromProposal(chosen);
    if (!check || !suite.ok() || !OneTransformPerType(chosen)) {
      sa.Log(LogGroup::kIke,
             absl::StrCat("peer selected a proposal we did not offer: IKE:", ProposalString(chosen),
                          "; configured proposals: ", ProposalListString(cfg.ike_proposals),
                          " (NO_PROPOSAL_CHOSEN)"));
      sa.destroy_reason = "invalid proposal selected";
      return TaskOutcome::kFatal;
    }
    if (ke->group != suite->dh || ke->group != group_) {
      sa.Log(LogGroup::kIke, absl::StrCat("KE payload group ", GroupName(ke->group),
                                          " does not match the selected ", GroupName(suite->dh),
                                          " (INVALID_KE_PAYLOAD)"));
      sa.destroy_reason = "KE group mismatch";
      return TaskOutcome::kFatal;
    }
    sa.Log(LogGroup::kCfg, absl::StrCat("selected proposal: IKE:", ProposalString(chosen)));
    sa.suite = *suite;
    sa.nonce_r = nonce->data;
    CheckNat(sa, in, sa.spi_i(), sa.spi_r());
    if (sa.nat_any()) sa.FloatToNatT();
    // On the pool the IKE_AUTH request waits for the keys (IkeSa::IkeKeysComputed).
    if (!ComputeKeysOnPool(sa, dh_, *ke) && !ComputeKeys(sa, *dh_, *ke)) {
      sa.destroy_reason = "key derivation failed";
      return TaskOutcome::kFatal;
    }
    return TaskOutcome::kDone;
  }

  void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                      std::vector<Payload>& out) override {
    const IkeSaConfig& cfg = sa.config();
    auto fail = [&](NotifyType t, Bytes data, const std::string& reason) {
      out.clear();
      out.push_back(MakeNotify(t, std::move(data)));
      sa.destroy_after_response = true;
      sa.destroy_reason = reason;
    };
    sa.Log(LogGroup::kIke,
           absl::StrCat(sa.remote().address.ToString(), " is initiating an IKE_SA"));
    const auto* sap = FindPayload<SaPayload>(in, PayloadType::kSa);
    const auto* ke = FindPayload<KePayload>(in, PayloadType::kKe);
    const auto* nonce = FindPayload<NoncePayload>(in, PayloadType::kNonce);
    if (sap == nullptr || ke == nullptr || nonce == nullptr) {
      sa.Log(LogGroup::kIke, "IKE_SA_INIT request lacks SA, KE or Nonce (INVALID_SYNTAX)");
      fail(NotifyType::kInvalidSyntax, {}, "invalid IKE_SA_INIT request");
      return;
    }
    sa.Log(LogGroup::kCfg,
           absl::StrCat("received proposals: ", ProposalListString(sap->proposals)));
    sa.Log(LogGroup::kCfg,
           absl::StrCat("configured proposals: ", ProposalListString(cfg.ike_proposals)));
    std::optional<Proposal> sel = SelectProposal(sap->proposals, cfg.ike_proposals);
    absl::StatusOr<IkeSaCryptoSuite> suite =
        sel ? IkeSuiteFromProposal(*sel) : absl::NotFoundError("none");
    if (!suite.ok()) {
      sa.Log(LogGroup::kIke,
             absl::StrCat("NO_PROPOSAL_CHOSEN: no acceptable IKE proposal; received proposals: ",
                          ProposalListString(sap->proposals),
                          "; configured proposals: ", ProposalListString(cfg.ike_proposals)));
      fail(NotifyType::kNoProposalChosen, {}, "NO_PROPOSAL_CHOSEN");
      return;
    }
    if (ke->group != suite->dh) {
      uint16_t g = static_cast<uint16_t>(suite->dh);
      sa.Log(LogGroup::kIke,
             absl::StrCat("DH group ", GroupName(ke->group), " unacceptable, requesting ",
                          GroupName(suite->dh), " (INVALID_KE_PAYLOAD)"));
      fail(NotifyType::kInvalidKePayload,
           Bytes{static_cast<uint8_t>(g >> 8), static_cast<uint8_t>(g)}, "INVALID_KE_PAYLOAD");
      return;
    }
    // Before any DH work: a spoofed IKE_SA_INIT with a proposal we accept and a KE that cannot
    // be right (all zeros, the wrong length) must cost no key generation.
    if (absl::Status v = CheckPeerPublicValue(ke->group, ke->data); !v.ok()) {
      sa.ctx().Count(IkeCounter::kInvalidKe);
      sa.Log(LogGroup::kIke,
             absl::StrCat("invalid KE payload: ", v.message(), " (INVALID_SYNTAX)"));
      fail(NotifyType::kInvalidSyntax, {}, "invalid KE payload");
      return;
    }
    auto kp = GenerateDhKeyPair(suite->dh);
    auto nr = RandomBytes(kNonceSize);
    if (!kp.ok() || !nr.ok()) {
      fail(NotifyType::kNoProposalChosen, {}, "DH/nonce generation failed");
      return;
    }
    sa.Log(LogGroup::kCfg, absl::StrCat("selected proposal: IKE:", ProposalString(*sel)));
    sa.suite = *suite;
    sa.ike_proposal = *sel;
    sa.nonce_i = nonce->data;
    sa.nonce_r = *nr;
    CheckNat(sa, in, sa.spi_i(), IkeSpi{});
    auto pub = (*kp)->public_value();
    Bytes our_public(pub.begin(), pub.end());
    // The response needs no key: on the pool, g^ir and SK_* are computed while it travels and
    // the peer's IKE_AUTH request waits for them if it comes first.
    if (!ComputeKeysOnPool(sa, *kp, *ke) && !ComputeKeys(sa, **kp, *ke)) {
      fail(NotifyType::kInvalidSyntax, {}, "invalid KE payload");
      return;
    }
    Proposal answer = *sel;
    answer.spi.clear();
    out.push_back(Payload{PayloadType::kSa, SaPayload{{answer}}});
    out.push_back(Payload{PayloadType::kKe, KePayload{suite->dh, std::move(our_public)}});
    out.push_back(Payload{PayloadType::kNonce, NoncePayload{*nr}});
    out.push_back(
        MakeNotify(NotifyType::kNatDetectionSourceIp, SourceHash(sa, sa.spi_i(), sa.spi_r())));
    out.push_back(MakeNotify(NotifyType::kNatDetectionDestinationIp,
                             NatHash(sa.spi_i(), sa.spi_r(), sa.remote())));
  }

 private:
  DhGroup group_ = DhGroup::kNone;
  std::unique_ptr<DhKeyPair> dh_;
  Bytes nonce_;
  Bytes cookie_;
  int cookie_tries_ = 0;
  int ke_tries_ = 0;
};

}  // namespace

std::unique_ptr<Task> NewIkeInitTask() {
  return std::make_unique<IkeInitTask>();
}

}  // namespace portcullis::ike
