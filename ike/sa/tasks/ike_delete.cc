// INFORMATIONAL Delete of the IKE SA (RFC 7296 1.4.1): its CHILD SAs go with it.
#include "absl/strings/str_cat.h"
#include "ike/sa/ike_sa.h"

namespace portcullis::ike {

namespace {

// An IKE SA deleted by the peer sooner than this after it was set up: close-action restart
// waits for the re-initiation backoff.
constexpr absl::Duration kBriefIkeSa = absl::Seconds(10);

// Whether another IKE SA with the same peer has an installed CHILD SA for each of `sa`'s (not
// one already rekeyed, which goes with its Delete; FindInstalledChild returns those too).
bool CarriedElsewhere(IkeSa& sa) {
  if (sa.children().empty()) return false;
  for (const auto& c : sa.children()) {
    const ChildSa* other = sa.ctx().FindInstalledChild(sa, c->name);
    if (other == nullptr ||
        (other->state != ChildSa::State::kInstalled && other->state != ChildSa::State::kRekeying)) {
      return false;
    }
  }
  return true;
}

class IkeDeleteTask : public Task {
 public:
  TaskKind kind() const override { return TaskKind::kIkeDelete; }
  ExchangeType exchange() const override { return ExchangeType::kInformational; }

  bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) override {
    sa.Log(LogGroup::kIke,
           absl::StrCat("deleting IKE_SA ", sa.config().name, "[", sa.unique_id(), "] between ",
                        sa.local().address.ToString(), "...", sa.remote().address.ToString()));
    if (sa.state() == IkeSa::State::kEstablished) sa.set_state(IkeSa::State::kDeleting);
    // Not a packet more with its CHILD SAs once the Delete is out: the peer drops their inbound
    // halves as it comes, before we hear back. Another IKE SA's CHILD SA of the same tunnel
    // carries it meanwhile (a reauthentication's old one when the new one is incomplete, the
    // new one when the old one goes), if one may send.
    sa.ctx().MoveTunnelsOff(
        sa, absl::StrCat("IKE_SA ", sa.config().name, "[", sa.unique_id(), "] is being deleted"));
    DeletePayload d;
    d.protocol = ProtocolId::kIke;
    out.push_back(Payload{PayloadType::kDelete, d});
    return true;
  }

  TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>&) override {
    sa.destroy_after_response = true;
    sa.destroy_reason = "IKE_SA deleted";
    return TaskOutcome::kDone;
  }

  void Timeout(IkeSa& sa) override { sa.Destroy("IKE_SA deleted (peer did not confirm)"); }

  void ProcessRequest(IkeSa& sa, const std::vector<Payload>&, std::vector<Payload>&) override {
    sa.Log(LogGroup::kIke,
           absl::StrCat("received DELETE for IKE_SA ", sa.config().name, "[", sa.unique_id(), "]"));
    // Our rekey of this SA met the peer's, and the peer deletes it before our response came: its
    // rekey won, or it never saw ours (RFC 7296 2.8.2). Its new IKE SA takes the CHILD SAs over
    // instead of their going down with this one.
    bool rekeyed =
        sa.AdoptPassiveSuccessor("the peer deleted the old IKE_SA before our rekey was answered");
    sa.destroy_after_response = true;
    sa.destroy_reason = "deleted by the peer";
    sa.deleted_by_peer = true;
    // The peer closed the connection (not a rekey's or a reauthentication's old IKE SA, nor a
    // redundant one): close-action restart sets it up again at once. The old IKE SA of the
    // peer's make-before-break reauthentication (we answered it: `reauthenticating` is the
    // initiator's) is no close either: another IKE SA with the peer carries its tunnels.
    if (!rekeyed && sa.state() == IkeSa::State::kEstablished && !sa.undecided &&
        !sa.reauthenticating && sa.config().close_action == CloseAction::kHold &&
        !sa.config().remote_any && !CarriedElsewhere(sa)) {
      sa.destroy_reason = "deleted by the peer, close-action trap";
      sa.restart_after_destroy = Restart::kTrap;
    } else if (!rekeyed && sa.state() == IkeSa::State::kEstablished && !sa.undecided &&
               !sa.reauthenticating && sa.config().close_action == CloseAction::kRestart &&
               !sa.config().remote_any && !CarriedElsewhere(sa)) {
      // A peer that deletes each IKE SA right after it is set up would otherwise be met by a
      // new one a round trip later, for ever: after a short-lived one, the re-initiation
      // backoff.
      bool brief = sa.ctx().Now() - sa.established_at() < kBriefIkeSa;
      sa.destroy_reason = brief ? "deleted by the peer, close-action restart (after backoff: it "
                                  "was up only briefly)"
                                : "deleted by the peer, close-action restart";
      sa.restart_after_destroy = brief ? Restart::kLater : Restart::kNow;
    }
  }
};

}  // namespace

std::unique_ptr<Task> NewIkeDeleteTask() {
  return std::make_unique<IkeDeleteTask>();
}

}  // namespace portcullis::ike
