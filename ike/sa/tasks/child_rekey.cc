// CREATE_CHILD_SA rekeying a CHILD SA (RFC 7296 1.3.3, 2.8): REKEY_SA names the old SA by our
// inbound SPI, a KE goes with it when PFS is configured, and the initiator deletes the old SA
// once the new one is in. When both ends rekey the same SA at once (2.8.1), the new SA made with
// the lowest of the four nonces is redundant and is deleted by the end that made it.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ike/sa/child_negotiation.h"
#include "ike/sa/ike_sa.h"

namespace portcullis::ike {

namespace {

const Bytes& MinNonce(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end()) ? a : b;
}

bool Less(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

class ChildRekeyTask : public Task {
 public:
  explicit ChildRekeyTask(uint32_t spi_in) : old_spi_in_(spi_in) {}
  // Restored after a restart with its request in flight.
  bool Restore(IkeSa& sa, const InFlightExchange& x, const ChildConfig& config) {
    collided_ = x.collided;
    peer_new_spi_in_ = x.peer_new_spi_in;
    peer_min_nonce_ = x.peer_min_nonce;
    return RestoreChildRequest(sa, x, config, req_);
  }
  std::optional<InFlightExchange> SaveInFlight() const override {
    InFlightExchange x;
    x.kind = TaskKind::kChildRekey;
    if (req_.spi_in == 0 || !SaveChildRequest(req_, x)) return std::nullopt;
    x.collided = collided_;
    x.peer_new_spi_in = peer_new_spi_in_;
    x.peer_min_nonce = peer_min_nonce_;
    return x;
  }
  TaskKind kind() const override { return TaskKind::kChildRekey; }
  ExchangeType exchange() const override { return ExchangeType::kCreateChildSa; }

  void Collision(uint32_t old_spi_in, uint32_t peer_new_spi_in, const Bytes& ni, const Bytes& nr) {
    if (old_spi_in != old_spi_in_) return;
    collided_ = true;
    peer_new_spi_in_ = peer_new_spi_in;
    peer_min_nonce_ = MinNonce(ni, nr);
  }

  bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) override {
    ChildSa* old = sa.FindChildBySpiIn(old_spi_in_);
    if (old == nullptr || old->state != ChildSa::State::kInstalled) return false;
    const ChildConfig* cfg = sa.FindChildConfig(old->name);
    if (cfg == nullptr) return false;
    req_.config = *cfg;
    // Without an SPI there is no rekey: the SA stays installed and its lifetime decides.
    if (!req_.AllocateSpi(sa)) return false;
    old->state = ChildSa::State::kRekeying;
    req_.group = cfg->pfs;
    req_.tsi = old->local_ts;
    req_.tsr = old->remote_ts;
    req_.rekey_spi_in = old_spi_in_;
    req_.worker = old->worker != 0 ? old->worker - 1 : -1;  // a group's member stays its worker's
    sa.LogChild(*old, LogGroup::kChd,
                absl::StrFormat("rekeying CHILD_SA %s{%u} with SPIs %08x_i %08x_o%s", old->name,
                                old->unique_id, old->spi_in, old->spi_out,
                                cfg->pfs != DhGroup::kNone ? " (PFS)" : ""));
    return AppendChildRequest(sa, req_, /*ike_auth=*/false, out);
  }

  TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>& in) override {
    ChildSa* old = sa.FindChildBySpiIn(old_spi_in_);
    if (FindNotify(in, NotifyType::kTemporaryFailure) != nullptr) {
      if (old == nullptr) {
        // The peer deleted the SA meanwhile (RFC 7296 2.25.1: it was deleting it when our
        // request came): nothing to rekey.
        sa.Log(LogGroup::kChd,
               absl::StrFormat("received TEMPORARY_FAILURE notify for the rekey of CHILD_SA with "
                               "SPI %08x, which the peer deleted meanwhile",
                               old_spi_in_));
        return TaskOutcome::kDone;
      }
      if (collided_) {
        // We answered the peer's rekey of this SA and the peer finished its own before ours
        // reached it: its new SA replaces this one, and its Delete for this one is on the way.
        sa.LogChild(*old, LogGroup::kChd,
                    absl::StrFormat("received TEMPORARY_FAILURE notify: the peer rekeyed CHILD_SA "
                                    "%s{%u} first, its new SA %08x_i replaces it",
                                    old->name, old->unique_id, peer_new_spi_in_));
        old->state = ChildSa::State::kRekeyed;
        return TaskOutcome::kDone;
      }
      absl::Duration wait = Jitter(absl::Seconds(10));
      sa.Log(LogGroup::kChd,
             absl::StrFormat("received TEMPORARY_FAILURE notify, retrying CHILD_SA rekey in %.1fs",
                             absl::ToDoubleSeconds(wait)));
      old->state = ChildSa::State::kInstalled;
      old->rekey_at = sa.ctx().Now() + wait;
      if (!old->install_failure.empty()) sa.InstallFailed(old_spi_in_, old->install_failure);
      return TaskOutcome::kDone;
    }
    if (FindNotify(in, NotifyType::kChildSaNotFound) != nullptr) {
      if (old == nullptr) {
        // The peer deleted the SA before our request came (its Delete reached us first), or
        // rekeyed it first and deleted it (and we answered that rekey): either way it meant to,
        // so nothing is created in its place.
        sa.Log(
            LogGroup::kChd,
            absl::StrFormat(
                "received CHILD_SA_NOT_FOUND for SPI %08x, which the peer deleted "
                "before our rekey reached it%s",
                old_spi_in_,
                collided_ ? absl::StrFormat(": its new SA %08x_i stays", peer_new_spi_in_) : ""));
        return TaskOutcome::kDone;
      }
      sa.Log(LogGroup::kChd, absl::StrFormat("received CHILD_SA_NOT_FOUND for SPI %08x: the peer "
                                             "has no such CHILD_SA, creating a new one",
                                             old_spi_in_));
      sa.RemoveChild(old_spi_in_, "unknown to the peer");
      if (const ChildConfig* c = sa.FindChildConfig(req_.config.name)) sa.CreateChild(*c);
      return TaskOutcome::kDone;
    }
    ChildSa* fresh = nullptr;
    ChildResult r = ProcessChildResponse(sa, req_, false, in, &fresh);
    if (r == ChildResult::kRetry) return TaskOutcome::kRetry;
    old = sa.FindChildBySpiIn(old_spi_in_);
    if (r != ChildResult::kInstalled) {
      if (old != nullptr && old->state == ChildSa::State::kRekeying) {
        old->state = ChildSa::State::kInstalled;
        old->rekey_at = sa.ctx().Now() + absl::Seconds(30);
        if (!old->install_failure.empty()) sa.InstallFailed(old_spi_in_, old->install_failure);
      }
      return TaskOutcome::kDone;
    }
    if (collided_) {
      Bytes ours = MinNonce(req_.nonce, req_.peer_nonce);
      if (Less(ours, peer_min_nonce_)) {
        sa.Log(LogGroup::kChd,
               absl::StrFormat("CHILD_SA rekey collision: our new SA %08x_i has the lowest nonce, "
                               "deleting it (the peer's %08x_i stays)",
                               fresh->spi_in, peer_new_spi_in_));
        // Not a packet more on it: the peer drops its inbound half as soon as our Delete comes,
        // before we hear back. The old SA sends until the peer deletes it (then the peer's new
        // one takes over); if the peer deleted it already, the peer's new one sends now.
        fresh->outbound_active = false;
        if (old != nullptr) {
          sa.SendWith(*old, "our redundant SA goes");
        } else if (ChildSa* theirs = sa.FindChildBySpiIn(peer_new_spi_in_)) {
          sa.SendWith(*theirs, "our redundant SA goes, the old one is gone");
        }
        sa.Queue(NewChildDeleteTask({fresh->spi_in}));
        if (old != nullptr) old->state = ChildSa::State::kRekeyed;
        return TaskOutcome::kDone;
      }
      sa.Log(LogGroup::kChd,
             absl::StrFormat("CHILD_SA rekey collision: the peer's new SA %08x_i has the lowest "
                             "nonce and will be deleted by the peer",
                             peer_new_spi_in_));
      // Redundant: it carries nothing new and must not be rekeyed itself meanwhile (the peer,
      // which has not settled the collision yet, would not know it).
      if (ChildSa* redundant = sa.FindChildBySpiIn(peer_new_spi_in_);
          redundant != nullptr && redundant->state == ChildSa::State::kInstalled) {
        redundant->state = ChildSa::State::kRekeyed;
      }
    }
    if (old != nullptr) {
      old->state = ChildSa::State::kRekeyed;
      sa.Queue(NewChildDeleteTask({old_spi_in_}));
    }
    return TaskOutcome::kDone;
  }

  void Timeout(IkeSa& sa) override {
    if (ChildSa* old = sa.FindChildBySpiIn(old_spi_in_)) old->state = ChildSa::State::kInstalled;
  }

  void Dropped(IkeSa& sa) override {
    // Queuing this task cleared the CHILD SA's own rekey time; without one it would run into its
    // hard lifetime with no successor.
    ChildSa* c = sa.FindChildBySpiIn(old_spi_in_);
    if (c != nullptr && c->state == ChildSa::State::kInstalled) c->rekey_at = sa.ctx().Now();
  }

  void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                      std::vector<Payload>& out) override {
    const NotifyPayload* n = FindNotify(in, NotifyType::kRekeySa);
    uint32_t spi = n ? SpiFromBytes(n->spi) : 0;
    ChildSa* old = sa.FindChildBySpiOut(spi);
    if (old == nullptr) {
      sa.Log(LogGroup::kChd,
             absl::StrFormat("received REKEY_SA for unknown CHILD_SA with SPI %08x, answering "
                             "CHILD_SA_NOT_FOUND",
                             spi));
      out.push_back(
          MakeNotify(NotifyType::kChildSaNotFound, {}, ProtocolId::kEsp, SpiToBytes(spi)));
      return;
    }
    if (old->state == ChildSa::State::kRekeyed || old->state == ChildSa::State::kDeleting) {
      sa.LogChild(*old, LogGroup::kChd,
                  "CHILD_SA is already rekeyed or being deleted, answering TEMPORARY_FAILURE");
      out.push_back(MakeNotify(NotifyType::kTemporaryFailure));
      return;
    }
    RespondChild(sa, in, out, /*ike_auth=*/false, old);
  }

 private:
  uint32_t old_spi_in_;
  ChildRequest req_;
  bool collided_ = false;
  uint32_t peer_new_spi_in_ = 0;
  Bytes peer_min_nonce_;
};

}  // namespace

void NoteRekeyCollision(Task* active, uint32_t old_spi_in, uint32_t peer_new_spi_in,
                        const Bytes& ni, const Bytes& nr) {
  if (active == nullptr || active->kind() != TaskKind::kChildRekey) return;
  static_cast<ChildRekeyTask*>(active)->Collision(old_spi_in, peer_new_spi_in, ni, nr);
}

std::unique_ptr<Task> NewChildRekeyTask(uint32_t spi_in) {
  return std::make_unique<ChildRekeyTask>(spi_in);
}

std::unique_ptr<Task> RestoreChildRekeyTask(IkeSa& sa, const InFlightExchange& x,
                                            const ChildConfig& config) {
  auto t = std::make_unique<ChildRekeyTask>(x.rekey_spi_in);
  if (!t->Restore(sa, x, config)) return nullptr;
  return t;
}

}  // namespace portcullis::ike
