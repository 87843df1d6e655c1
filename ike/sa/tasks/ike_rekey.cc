// Rekeying the IKE SA with CREATE_CHILD_SA (RFC 7296 1.3.2, 2.18): new SPIs in the SA payload,
// a fresh DH exchange, SKEYSEED = prf(SK_d old, g^ir new | Ni | Nr). The new IKE SA takes the
// CHILD SAs over and the rekey initiator deletes the old one.
//
// Collisions (RFC 7296 2.8.2): when the peer's IKE rekey arrives while ours is in flight, we
// answer it (making its new IKE SA, which takes nothing over yet) and settle the collision once
// our own response is in: the new IKE SA made with the lowest of the four nonces is redundant
// and deleted by its initiator; the other one takes the CHILD SAs over, and its initiator
// deletes the old IKE SA. If the peer never saw the collision (our request reached it after it
// finished, and it answered TEMPORARY_FAILURE) or deletes the old IKE SA before our response
// comes, its new IKE SA is the one. While any other exchange of ours that moves CHILD SAs is in
// flight, the peer's rekey gets TEMPORARY_FAILURE (the CHILD SAs would move under it).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ike/crypto/dh_group.h"
#include "ike/crypto/random.h"
#include "ike/sa/ike_sa.h"
#include "ike/sa/proposal_select.h"
#include "ike/sa/proposal_string.h"

namespace portcullis::ike {

namespace {

// A failed or refused rekey is tried again in 20..40 s.
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

Bytes MinNonce(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end()) ? a : b;
}

bool Less(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

// Builds the successor and gives it to the manager. With `take_over` it takes the CHILD SAs over
// and `sa` is rekeyed; without, it is an undecided successor of a collision, holding nothing.
IkeSa* MakeSuccessor(IkeSa& sa, bool we_initiated, const IkeSpi& spi_i, const IkeSpi& spi_r,
                     const IkeSaCryptoSuite& suite, const SecretBytes& g_ir, const Bytes& ni,
                     const Bytes& nr, bool take_over) {
  auto skeyseed = ComputeRekeySkeyseed(sa.suite.prf, sa.keys.sk_d, g_ir, ni, nr);
  if (!skeyseed.ok()) {
    sa.Log(LogGroup::kIke, absl::StrCat("rekey SKEYSEED failed: ", skeyseed.status().message()));
    return nullptr;
  }
  auto next = std::make_unique<IkeSa>(sa.ctx(), sa.config_ptr(), sa.ctx().NextIkeId(), we_initiated,
                                      spi_i, spi_r, sa.local(), sa.remote());
  next->suite = suite;
  next->nonce_i = ni;
  next->nonce_r = nr;
  next->successor = true;
  if (!next->InstallIkeKeys(*skeyseed)) return nullptr;
  IkeSa* raw = next.get();
  sa.Log(LogGroup::kIke,
         absl::StrCat("IKE_SA ", sa.config().name, "[", sa.unique_id(), "] ",
                      take_over ? "rekeyed into " : "rekey collision: made ", sa.config().name, "[",
                      next->unique_id(), "], selected proposal: IKE:", SuiteString(suite)));
  if (take_over) {
    sa.RekeyedInto(*next);
  } else {
    next->undecided = true;
    next->predecessor = sa.own_spi();
    next->InheritPeerState(sa);
  }
  next->SetEstablished();
  sa.ctx().AdoptSuccessor(std::move(next));
  return raw;
}

class IkeRekeyTask : public Task {
 public:
  TaskKind kind() const override { return TaskKind::kIkeRekey; }
  ExchangeType exchange() const override { return ExchangeType::kCreateChildSa; }

  // The peer's rekey met ours: we answered it, making `theirs` (undecided); its exchange's lowest
  // nonce decides once our response is in.
  void Collision(const Bytes& ni, const Bytes& nr) { peer_min_nonce_ = MinNonce(ni, nr); }

  // Restored after a restart with its request in flight.
  bool Restore(IkeSa& sa, const InFlightExchange& x) {
    absl::StatusOr<std::unique_ptr<DhKeyPair>> kp =
        DhKeyPairFromPrivateKey(x.group, x.dh_private.span());
    if (!kp.ok()) {
      sa.Log(LogGroup::kIke, absl::StrCat("the saved key of the IKE_SA rekey is unusable: ",
                                          kp.status().message()));
      return false;
    }
    group_ = x.group;
    dh_ = *std::move(kp);
    spi_ = x.ike_spi;
    nonce_ = x.nonce;
    return true;
  }
  std::optional<InFlightExchange> SaveInFlight() const override {
    if (!dh_) return std::nullopt;
    absl::StatusOr<SecretBytes> k = dh_->PrivateKey();
    if (!k.ok()) return std::nullopt;
    InFlightExchange x;
    x.kind = TaskKind::kIkeRekey;
    x.ike_spi = spi_;
    x.nonce = nonce_;
    x.group = group_;
    x.dh_private = *std::move(k);
    return x;
  }

  bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) override {
    if (sa.state() != IkeSa::State::kEstablished || sa.undecided) return false;
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
    // The peer's new IKE SA took over while our request was out (the peer deleted this one, or
    // already sent on its new one): whatever our answer says, our rekey is moot.
    const bool superseded = sa.state() != IkeSa::State::kEstablished;
    if (const NotifyPayload* e = FirstErrorNotify(in)) {
      if (superseded) return TaskOutcome::kDone;
      // TEMPORARY_FAILURE after we answered the peer's rekey: the peer finished its rekey before
      // ours reached it (it never saw the collision). Its new IKE SA is the one.
      if (sa.AdoptPassiveSuccessor(absl::StrCat("the peer answered our rekey with ",
                                                NotifyName(e->type),
                                                ", its own rekey finished first"))) {
        return TaskOutcome::kDone;
      }
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
      return Failed(sa, "invalid IKE_SA rekey response");
    }
    auto suite = IkeSuiteFromProposal(sap->proposals[0]);
    if (!suite.ok() || !SelectProposal({sap->proposals[0]}, cfg.ike_proposals) ||
        ke->group != group_ || suite->dh != group_) {
      return Failed(
          sa, absl::StrCat("IKE_SA rekey response selected IKE:", ProposalString(sap->proposals[0]),
                           ", which we did not offer"));
    }
    auto g_ir = dh_->ComputeSharedSecret(ke->data);
    if (!g_ir.ok()) return Failed(sa, "invalid KE in the IKE_SA rekey response");
    // The peer's new IKE SA, if the peer rekeyed too and it is still there (the peer deletes it
    // as soon as it sees that it lost, which may be before our response comes).
    IkeSa* theirs = sa.passive_successor ? sa.ctx().FindSa(*sa.passive_successor) : nullptr;
    bool ours_redundant = superseded;
    if (superseded) {
      sa.Log(LogGroup::kIke,
             "IKE_SA rekey collision: the peer's new IKE_SA took over already, deleting ours");
    } else if (theirs != nullptr) {
      Bytes ours_min = MinNonce(nonce_, nonce->data);
      ours_redundant = Less(ours_min, peer_min_nonce_);
      sa.Log(LogGroup::kIke,
             absl::StrCat("IKE_SA rekey collision: ",
                          ours_redundant ? "our new IKE_SA has the lowest nonce, deleting it; the "
                                           "peer's takes over"
                                         : "the peer's new IKE_SA has the lowest nonce and is "
                                           "deleted by the peer; ours takes over"));
    }
    IkeSa* next = MakeSuccessor(sa, true, spi_, spi_r, *suite, *g_ir, nonce_, nonce->data,
                                /*take_over=*/!ours_redundant);
    if (next == nullptr) return Failed(sa, "the new IKE_SA could not be set up");
    if (ours_redundant) {
      // The peer deletes the old IKE SA; we delete the new one we made.
      next->Queue(NewIkeDeleteTask());
      sa.AdoptPassiveSuccessor("the peer's rekey won");
      return TaskOutcome::kDone;
    }
    sa.passive_successor.reset();  // the peer deletes it
    sa.Queue(NewIkeDeleteTask());
    return TaskOutcome::kDone;
  }

  void Timeout(IkeSa& sa) override {
    // The peer is gone: the new IKE SA we made as responder goes too.
    if (!sa.passive_successor) return;
    if (IkeSa* theirs = sa.ctx().FindSa(*sa.passive_successor)) {
      theirs->Destroy("the peer did not answer our rekey of its predecessor");
    }
    sa.passive_successor.reset();
  }

  void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                      std::vector<Payload>& out) override {
    const IkeSaConfig& cfg = sa.config();
    // Our own IKE rekey in flight: a collision, settled when our response comes. Any other
    // exchange of ours that touches CHILD SAs would finish on the old IKE SA after the rekey
    // moved them (a new CHILD SA deleted with it, an old one left REKEYING): refuse, as
    // strongSwan does, and the peer retries later. A liveness check moves nothing.
    IkeRekeyTask* ours = nullptr;
    if (Task* t = sa.active_task(); t != nullptr) {
      if (t->kind() == TaskKind::kIkeRekey) {
        ours = static_cast<IkeRekeyTask*>(t);
      } else if (t->kind() != TaskKind::kDpd) {
        sa.Log(LogGroup::kIke, absl::StrCat("IKE_SA rekey while our ", TaskKindName(t->kind()),
                                            " exchange is in flight: answering TEMPORARY_FAILURE"));
        out.push_back(MakeNotify(NotifyType::kTemporaryFailure));
        return;
      }
    }
    if (sa.undecided) {
      out.push_back(MakeNotify(NotifyType::kTemporaryFailure));
      return;
    }
    if (sa.reauthenticating) {
      // A new IKE SA replaces this one (make-before-break) and deletes it once it carries every
      // tunnel. A successor made now would carry the CHILD SAs away from it and stay beside the
      // new one for good: the peer tries again later, by when this SA is gone.
      sa.Log(LogGroup::kIke,
             "IKE_SA rekey of an IKE_SA being reauthenticated: answering "
             "TEMPORARY_FAILURE");
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
    if (ours != nullptr && sa.passive_successor) {
      // A second rekey from the peer in one collision (it cannot have seen our answer to the
      // first): only the latest counts.
      if (IkeSa* stale = sa.ctx().FindSa(*sa.passive_successor)) {
        stale->Destroy("replaced by the peer's next rekey");
      }
      sa.passive_successor.reset();
    }
    IkeSa* next = MakeSuccessor(sa, false, spi_i, *spi_r, *suite, *g_ir, nonce->data, *nr,
                                /*take_over=*/ours == nullptr);
    if (next == nullptr) {
      out.clear();
      out.push_back(MakeNotify(NotifyType::kNoAdditionalSas));
      return;
    }
    if (ours != nullptr) {
      sa.Log(LogGroup::kIke,
             "IKE_SA rekey collision: the peer rekeys too, deciding once our response comes");
      sa.passive_successor = next->own_spi();
      ours->Collision(nonce->data, *nr);
    }
  }

 private:
  // Our rekey failed: the peer's, if it made one, is the one; else ours is tried again later.
  TaskOutcome Failed(IkeSa& sa, const std::string& why) {
    if (sa.state() != IkeSa::State::kEstablished) return TaskOutcome::kDone;
    if (sa.AdoptPassiveSuccessor(absl::StrCat(why, ", the peer's rekey stands"))) {
      return TaskOutcome::kDone;
    }
    sa.Log(LogGroup::kIke, absl::StrCat(why, ", retrying later"));
    sa.ScheduleIkeRekey(RetryDelay());
    return TaskOutcome::kDone;
  }

  DhGroup group_ = DhGroup::kNone;
  IkeSpi spi_{};
  std::unique_ptr<DhKeyPair> dh_;
  Bytes nonce_;
  Bytes peer_min_nonce_;
  int tries_ = 0;
};

}  // namespace

std::unique_ptr<Task> NewIkeRekeyTask() {
  return std::make_unique<IkeRekeyTask>();
}

std::unique_ptr<Task> RestoreIkeRekeyTask(IkeSa& sa, const InFlightExchange& x) {
  auto t = std::make_unique<IkeRekeyTask>();
  if (!t->Restore(sa, x)) return nullptr;
  return t;
}

}  // namespace portcullis::ike
