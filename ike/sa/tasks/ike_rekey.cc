// Rekeying the IKE SA with CREATE_CHILD_SA (RFC 7296 1.3.2, 2.18): new SPIs in the SA payload,
// a fresh DH exchange, SKEYSEED = prf(SK_d old, g^ir new | Ni | Nr). The new IKE SA takes the
// CHILD SAs over and the rekey initiator deletes the old one. If any exchange of ours (our own
// IKE rekey, a CHILD SA create or rekey, ...) is in flight when the peer's rekey arrives we
// answer TEMPORARY_FAILURE and the peer retries later.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ike/crypto/dh_group.h"
#include "ike/crypto/random.h"
#include "ike/sa/ike_sa.h"
#include "ike/sa/proposal_select.h"
#include "ike/sa/proposal_string.h"

namespace portcullis::ike {

namespace {

// A failed or refused rekey is tried again in 20..40 s, so two ends that collided do not collide
// again.
absl::Duration RetryDelay() {
  uint8_t r = 0;
  (void)FillRandom(absl::MakeSpan(&r, 1));
  return absl::Seconds(20 + r % 21);
}

Bytes SpiBytes(const IkeSpi& s) {
  return Bytes(s.begin(), s.end());
}

bool SpiFrom(const Bytes& b, IkeSpi* out) {
  if (b.size() != 8) return false;
  std::copy(b.begin(), b.end(), out->begin());
  return true;
}

// Builds the successor, hands the CHILD SAs over and gives it to the manager.
bool MakeSuccessor(IkeSa& sa, bool we_initiated, const IkeSpi& spi_i, const IkeSpi& spi_r,
                   const IkeSaCryptoSuite& suite, const SecretBytes& g_ir, const Bytes& ni,
                   const Bytes& nr) {
  auto skeyseed = ComputeRekeySkeyseed(sa.suite.prf, sa.keys.sk_d, g_ir, ni, nr);
  if (!skeyseed.ok()) {
    sa.Log(LogGroup::kIke, absl::StrCat("rekey SKEYSEED failed: ", skeyseed.status().message()));
    return false;
  }
  auto next = std::make_unique<IkeSa>(sa.ctx(), sa.config_ptr(), sa.ctx().NextIkeId(), we_initiated,
                                      spi_i, spi_r, sa.local(), sa.remote());
  next->suite = suite;
  next->nonce_i = ni;
  next->nonce_r = nr;
  if (!next->InstallIkeKeys(*skeyseed)) return false;
  sa.HandOverTo(*next);
  sa.Log(LogGroup::kIke, absl::StrCat("IKE_SA ", sa.config().name, "[", sa.unique_id(),
                                      "] rekeyed into ", sa.config().name, "[", next->unique_id(),
                                      "], selected proposal: IKE:", SuiteString(suite)));
  sa.set_state(IkeSa::State::kRekeyed);
  next->SetEstablished();
  sa.ctx().AdoptSuccessor(std::move(next));
  return true;
}

class IkeRekeyTask : public Task {
 public:
  TaskKind kind() const override { return TaskKind::kIkeRekey; }
  ExchangeType exchange() const override { return ExchangeType::kCreateChildSa; }

  bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) override {
    if (sa.state() != IkeSa::State::kEstablished) return false;
    if (group_ == DhGroup::kNone) group_ = sa.suite.dh;
    auto spi = RandomIkeSpi();
    auto kp = GenerateDhKeyPair(group_);
    auto n = RandomBytes(32);
    if (!spi.ok() || !kp.ok() || !n.ok()) return false;
    spi_ = *spi;
    dh_ = *std::move(kp);
    nonce_ = *n;
    sa.Log(LogGroup::kIke,
           absl::StrCat("rekeying IKE_SA ", sa.config().name, "[", sa.unique_id(), "]"));
    out.push_back(
        Payload{PayloadType::kSa, SaPayload{WithSpi(sa.config().ike_proposals, SpiBytes(spi_))}});
    out.push_back(Payload{PayloadType::kNonce, NoncePayload{nonce_}});
    auto pub = dh_->public_value();
    out.push_back(Payload{PayloadType::kKe, KePayload{group_, Bytes(pub.begin(), pub.end())}});
    return true;
  }

  TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>& in) override {
    const IkeSaConfig& cfg = sa.config();
    if (const NotifyPayload* n = FindNotify(in, NotifyType::kInvalidKePayload)) {
      DhGroup wanted =
          n->data.size() == 2 ? static_cast<DhGroup>(n->data[0] << 8 | n->data[1]) : DhGroup::kNone;
      auto ours = DhGroupsOf(cfg.ike_proposals);
      if (std::find(ours.begin(), ours.end(), wanted) != ours.end() && wanted != group_ &&
          ++tries_ <= 2) {
        sa.Log(LogGroup::kIke,
               absl::StrCat("IKE_SA rekey: peer requested DH group ",
                            TransformName(TransformType::kDh, static_cast<uint16_t>(wanted)),
                            " (INVALID_KE_PAYLOAD), retrying"));
        group_ = wanted;
        return TaskOutcome::kRetry;
      }
    }
    if (const NotifyPayload* e = FirstErrorNotify(in)) {
      sa.Log(LogGroup::kIke, absl::StrCat("received ", NotifyName(e->type),
                                          " notify error for the IKE_SA rekey, retrying later"));
      sa.ScheduleIkeRekey(RetryDelay());
      return TaskOutcome::kDone;
    }
    const auto* sap = FindPayload<SaPayload>(in, PayloadType::kSa);
    const auto* ke = FindPayload<KePayload>(in, PayloadType::kKe);
    const auto* nonce = FindPayload<NoncePayload>(in, PayloadType::kNonce);
    IkeSpi spi_r{};
    if (sap == nullptr || ke == nullptr || nonce == nullptr || sap->proposals.size() != 1 ||
        !SpiFrom(sap->proposals[0].spi, &spi_r)) {
      sa.Log(LogGroup::kIke, "invalid IKE_SA rekey response, retrying later");
      sa.ScheduleIkeRekey(RetryDelay());
      return TaskOutcome::kDone;
    }
    auto suite = IkeSuiteFromProposal(sap->proposals[0]);
    if (!suite.ok() || !SelectProposal({sap->proposals[0]}, cfg.ike_proposals) ||
        ke->group != group_ || suite->dh != group_) {
      sa.Log(LogGroup::kIke,
             absl::StrCat("IKE_SA rekey response selected IKE:", ProposalString(sap->proposals[0]),
                          ", which we did not offer; retrying later"));
      sa.ScheduleIkeRekey(RetryDelay());
      return TaskOutcome::kDone;
    }
    auto g_ir = dh_->ComputeSharedSecret(ke->data);
    if (!g_ir.ok() || !MakeSuccessor(sa, true, spi_, spi_r, *suite, *g_ir, nonce_, nonce->data)) {
      sa.ScheduleIkeRekey(RetryDelay());
      return TaskOutcome::kDone;
    }
    sa.Queue(NewIkeDeleteTask());
    return TaskOutcome::kDone;
  }

  void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                      std::vector<Payload>& out) override {
    const IkeSaConfig& cfg = sa.config();
    // While any exchange of ours is in flight, the rekey would move the CHILD SAs under it to
    // the new IKE SA and the exchange would finish on the old one (a new CHILD SA deleted with
    // it, an old one left REKEYING): refuse, as strongSwan does, and the peer retries later.
    if (Task* t = sa.active_task(); t != nullptr) {
      sa.Log(LogGroup::kIke,
             t->kind() == TaskKind::kIkeRekey
                 ? std::string("IKE_SA rekey collision: answering TEMPORARY_FAILURE")
                 : absl::StrCat("IKE_SA rekey while our ", TaskKindName(t->kind()),
                                " exchange is in flight: answering TEMPORARY_FAILURE"));
      out.push_back(MakeNotify(NotifyType::kTemporaryFailure));
      return;
    }
    const auto* sap = FindPayload<SaPayload>(in, PayloadType::kSa);
    const auto* ke = FindPayload<KePayload>(in, PayloadType::kKe);
    const auto* nonce = FindPayload<NoncePayload>(in, PayloadType::kNonce);
    if (sap == nullptr || ke == nullptr || nonce == nullptr) {
      out.push_back(MakeNotify(NotifyType::kInvalidSyntax));
      return;
    }
    std::optional<Proposal> sel = SelectProposal(sap->proposals, cfg.ike_proposals);
    auto suite = sel ? IkeSuiteFromProposal(*sel) : absl::NotFoundError("none");
    IkeSpi spi_i{};
    if (!suite.ok() || !SpiFrom(sel->spi, &spi_i)) {
      sa.Log(LogGroup::kIke,
             absl::StrCat("NO_PROPOSAL_CHOSEN for the IKE_SA rekey: received proposals: ",
                          ProposalListString(sap->proposals),
                          "; configured proposals: ", ProposalListString(cfg.ike_proposals)));
      out.push_back(MakeNotify(NotifyType::kNoProposalChosen));
      return;
    }
    if (ke->group != suite->dh) {
      uint16_t g = static_cast<uint16_t>(suite->dh);
      sa.Log(LogGroup::kIke, "IKE_SA rekey: DH group unacceptable (INVALID_KE_PAYLOAD)");
      out.push_back(MakeNotify(NotifyType::kInvalidKePayload,
                               Bytes{static_cast<uint8_t>(g >> 8), static_cast<uint8_t>(g)}));
      return;
    }
    auto spi_r = RandomIkeSpi();
    auto kp = GenerateDhKeyPair(suite->dh);
    auto nr = RandomBytes(32);
    if (!spi_r.ok() || !kp.ok() || !nr.ok()) {
      out.push_back(MakeNotify(NotifyType::kNoAdditionalSas));
      return;
    }
    auto g_ir = (*kp)->ComputeSharedSecret(ke->data);
    if (!g_ir.ok()) {
      out.push_back(MakeNotify(NotifyType::kInvalidSyntax));
      return;
    }
    Proposal answer = *sel;
    answer.spi = SpiBytes(*spi_r);
    out.push_back(Payload{PayloadType::kSa, SaPayload{{answer}}});
    out.push_back(Payload{PayloadType::kNonce, NoncePayload{*nr}});
    auto pub = (*kp)->public_value();
    out.push_back(Payload{PayloadType::kKe, KePayload{suite->dh, Bytes(pub.begin(), pub.end())}});
    if (!MakeSuccessor(sa, false, spi_i, *spi_r, *suite, *g_ir, nonce->data, *nr)) {
      out.clear();
      out.push_back(MakeNotify(NotifyType::kNoAdditionalSas));
    }
  }

 private:
  DhGroup group_ = DhGroup::kNone;
  IkeSpi spi_{};
  std::unique_ptr<DhKeyPair> dh_;
  Bytes nonce_;
  int tries_ = 0;
};

}  // namespace

std::unique_ptr<Task> NewIkeRekeyTask() {
  return std::make_unique<IkeRekeyTask>();
}

}  // namespace portcullis::ike
