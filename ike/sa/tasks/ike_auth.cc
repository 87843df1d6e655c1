// IKE_AUTH (RFC 7296 1.2, 2.15) with pre-shared keys: identities, AUTH, INITIAL_CONTACT, and
// the first CHILD SA (ESP, tunnel mode; ESP_TFC_PADDING_NOT_SUPPORTED sent). The responder picks
// the peer config here, by the identity the initiator claims, among those its addresses allow
// (the one IKE_SA_INIT used was only provisional: several peers without an address share it),
// and checks remote-id whenever one is configured. A failed authentication says which part did
// not match, as far as this side can tell: the peer's ID against remote-id, the ID the peer
// expects of us against our id, or the PSK.
#include "absl/strings/str_cat.h"
#include "ike/crypto/psk_auth.h"
#include "ike/sa/child_negotiation.h"
#include "ike/sa/ike_sa.h"

namespace portcullis::ike {

namespace {

std::string Established(IkeSa& sa) {
  const IkeSaConfig& c = sa.config();
  // A config that accepts any identity names the one the peer proved.
  std::string remote = c.any_remote_id && sa.peer_id() ? IdToText(*sa.peer_id()) : c.remote_id_text;
  return absl::StrCat("IKE_SA ", c.name, "[", sa.unique_id(), "] established between ",
                      sa.local().address.ToString(), "[", c.local_id_text, "]...",
                      sa.remote().address.ToString(), "[", remote, "]");
}

// The SharedSecret, not its bytes: PSK AUTH keeps its padded key beside it (psk_auth.h).
const SharedSecret& Psk(const IkeSaConfig& c) {
  return c.psk;
}

// The candidate config for a peer that claims `idi` (and wants us to be `idr`, if it says so):
// one whose remote-id it is, preferring one that is also the identity it wants, then one
// configured with its address, then one with its exact remote-id over one that accepts any.
std::shared_ptr<const IkeSaConfig> ChooseConfig(IkeSa& sa, const IdPayload& idi,
                                                const IdPayload* idr) {
  std::vector<std::shared_ptr<const IkeSaConfig>> candidates = sa.ctx().AuthCandidates(sa);
  if (candidates.empty()) candidates.push_back(sa.config_ptr());
  std::shared_ptr<const IkeSaConfig> best;
  int best_rank = 0;
  for (const auto& c : candidates) {
    if (!RemoteIdMatches(*c, idi)) continue;
    int rank = (idr != nullptr && !(*idr == c->local_id) ? 4 : 0) + (c->remote_any ? 2 : 0) +
               (c->any_remote_id ? 1 : 0);
    if (!best || rank < best_rank) {
      best = c;
      best_rank = rank;
    }
  }
  return best;
}

class IkeAuthTask : public Task {
 public:
  TaskKind kind() const override { return TaskKind::kIkeAuth; }
  ExchangeType exchange() const override { return ExchangeType::kIkeAuth; }

  bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) override {
    const IkeSaConfig& cfg = sa.config();
    out.push_back(Payload{PayloadType::kIdi, cfg.local_id});
    if (!sa.ctx().HasOtherSa(sa)) out.push_back(MakeNotify(NotifyType::kInitialContact));
    if (!cfg.remote_any) out.push_back(Payload{PayloadType::kIdr, cfg.remote_id});
    auto auth = OwnPskAuth(sa.suite.prf, Psk(cfg), Role::kInitiator, sa.keys, sa.own_init,
                           sa.nonce_r, cfg.local_id);
    if (!auth.ok()) {
      sa.Log(LogGroup::kIke, absl::StrCat("AUTH computation failed: ", auth.status().message()));
      sa.destroy_after_response = true;
      sa.destroy_reason = "AUTH computation failed";
      return false;
    }
    sa.Log(LogGroup::kIke, absl::StrCat("authentication of '", cfg.local_id_text,
                                        "' (myself) with pre-shared key"));
    out.push_back(Payload{PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, *auth}});
    if (!cfg.children.empty()) {
      child_.config = cfg.children[0];
      if (!child_.AllocateSpi(sa)) {
        // The IKE SA cannot come up without its CHILD SA (no childless IKE SAs, RFC 6023).
        sa.destroy_after_response = true;
        sa.destroy_reason = "no inbound SPI for the CHILD_SA";
        return false;
      }
      child_.tsi = child_.config.local_ts;
      child_.tsr = child_.config.remote_ts;
      child_.worker = FreeWorker(sa, child_.config);  // RFC 9611: offered for worker 0
      sa.Log(LogGroup::kChd, absl::StrCat("establishing CHILD_SA ", child_.config.name));
      have_child_ = AppendChildRequest(sa, child_, /*ike_auth=*/true, out);
    }
    return true;
  }

  TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>& in) override {
    const IkeSaConfig& cfg = sa.config();
    const auto* idr = FindPayload<IdPayload>(in, PayloadType::kIdr);
    const auto* auth = FindPayload<AuthPayload>(in, PayloadType::kAuth);
    if (FindNotify(in, NotifyType::kAuthenticationFailed) != nullptr) {
      sa.Log(LogGroup::kIke,
             absl::StrCat("received AUTHENTICATION_FAILED notify error: the peer rejected our "
                          "authentication as '",
                          cfg.local_id_text,
                          "': the pre-shared-secret differs, or the peer's remote-id for us is "
                          "not '",
                          cfg.local_id_text, "'"));
      sa.destroy_reason = "AUTHENTICATION_FAILED";
      return TaskOutcome::kFatal;
    }
    if (idr == nullptr || auth == nullptr) {
      const NotifyPayload* e = FirstErrorNotify(in);
      sa.Log(LogGroup::kIke,
             absl::StrCat("IKE_AUTH response without IDr/AUTH",
                          e ? absl::StrCat(": received ", NotifyName(e->type), " notify error")
                            : std::string(" (INVALID_SYNTAX)")));
      sa.destroy_reason = e ? NotifyName(e->type) : "invalid IKE_AUTH response";
      return TaskOutcome::kFatal;
    }
    if (!RemoteIdMatches(cfg, *idr)) {
      sa.Log(LogGroup::kIke,
             absl::StrCat("AUTHENTICATION_FAILED: the peer identified as '", IdToText(*idr), "' (",
                          IdTypeName(idr->type), ") but remote-id is '", cfg.remote_id_text,
                          "' (remote-id mismatch)"));
      sa.destroy_reason = "AUTHENTICATION_FAILED (remote-id mismatch)";
      return TaskOutcome::kFatal;
    }
    absl::Status v = VerifyPeerPskAuth(sa.suite.prf, Psk(cfg), Role::kInitiator, sa.keys,
                                       sa.peer_init, sa.nonce_i, *idr, auth->data);
    if (auth->method != AuthMethod::kSharedKeyMic || !v.ok()) {
      sa.Log(LogGroup::kIke,
             absl::StrCat("AUTHENTICATION_FAILED: AUTH payload of '", IdToText(*idr),
                          "' does not verify (", AuthMethodName(auth->method),
                          "): pre-shared-secret mismatch (the IDs matched)"));
      sa.destroy_reason = "AUTHENTICATION_FAILED (PSK mismatch)";
      return TaskOutcome::kFatal;
    }
    sa.Log(LogGroup::kIke,
           absl::StrCat("authentication of '", IdToText(*idr), "' with pre-shared key successful"));
    sa.set_peer_id(*idr);
    sa.SetEstablished();
    sa.Log(LogGroup::kIke, Established(sa));
    if (have_child_) {
      ChildSa* c = nullptr;
      ProcessChildResponse(sa, child_, /*ike_auth=*/true, in, &c);
    }
    return TaskOutcome::kDone;
  }

  void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                      std::vector<Payload>& out) override {
    auto fail = [&](const std::string& why, const std::string& reason) {
      sa.Log(LogGroup::kIke, why);
      out.clear();
      out.push_back(MakeNotify(NotifyType::kAuthenticationFailed));
      sa.destroy_after_response = true;
      sa.destroy_reason = reason;
    };
    const auto* idi = FindPayload<IdPayload>(in, PayloadType::kIdi);
    const auto* idr = FindPayload<IdPayload>(in, PayloadType::kIdr);
    const auto* auth = FindPayload<AuthPayload>(in, PayloadType::kAuth);
    if (idi == nullptr || auth == nullptr) {
      fail("IKE_AUTH request without IDi/AUTH: AUTHENTICATION_FAILED", "invalid IKE_AUTH");
      return;
    }
    std::shared_ptr<const IkeSaConfig> chosen = ChooseConfig(sa, *idi, idr);
    if (!chosen) {
      const IkeSaConfig& cfg = sa.config();
      fail(absl::StrCat("AUTHENTICATION_FAILED: peer identified as '", IdToText(*idi), "' (",
                        IdTypeName(idi->type), ") but remote-id of ", cfg.name, " is '",
                        cfg.remote_id_text, "' (remote-id mismatch)"),
           "AUTHENTICATION_FAILED (remote-id mismatch)");
      return;
    }
    if (chosen != sa.config_ptr()) {
      sa.Log(LogGroup::kCfg, absl::StrCat("peer identified as '", IdToText(*idi),
                                          "': switching to peer config ", chosen->name));
      sa.set_config(chosen);
    }
    const IkeSaConfig& cfg = sa.config();
    if (idr != nullptr && !(*idr == cfg.local_id)) {
      fail(absl::StrCat("AUTHENTICATION_FAILED: the peer expects us to be '", IdToText(*idr), "' (",
                        IdTypeName(idr->type), ") but our id is '", cfg.local_id_text,
                        "' (id mismatch: the peer's remote-id for us differs from our id)"),
           "AUTHENTICATION_FAILED (id mismatch)");
      return;
    }
    absl::Status v = VerifyPeerPskAuth(sa.suite.prf, Psk(cfg), Role::kResponder, sa.keys,
                                       sa.peer_init, sa.nonce_r, *idi, auth->data);
    if (auth->method != AuthMethod::kSharedKeyMic || !v.ok()) {
      fail(absl::StrCat("AUTHENTICATION_FAILED: AUTH payload of '", IdToText(*idi),
                        "' does not verify with the pre-shared-secret of ", cfg.name, " (",
                        AuthMethodName(auth->method),
                        "; the IDs matched): pre-shared-secret mismatch"),
           "AUTHENTICATION_FAILED (PSK mismatch)");
      return;
    }
    sa.Log(LogGroup::kIke,
           absl::StrCat("authentication of '", IdToText(*idi), "' with pre-shared key successful"));
    sa.set_peer_id(*idi);
    if (FindNotify(in, NotifyType::kInitialContact) != nullptr) {
      initial_contact_ = true;
      sa.peer_initial_contact = true;
    }
    auto own = OwnPskAuth(sa.suite.prf, Psk(cfg), Role::kResponder, sa.keys, sa.own_init,
                          sa.nonce_i, cfg.local_id);
    if (!own.ok()) {
      fail(absl::StrCat("AUTH computation failed: ", own.status().message()), "AUTH failed");
      return;
    }
    sa.Log(LogGroup::kIke, absl::StrCat("authentication of '", cfg.local_id_text,
                                        "' (myself) with pre-shared key"));
    out.push_back(Payload{PayloadType::kIdr, cfg.local_id});
    out.push_back(Payload{PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, *own}});
    sa.SetEstablished();
    sa.Log(LogGroup::kIke, Established(sa));
    RespondChild(sa, in, out, /*ike_auth=*/true, nullptr);
  }

  void AfterResponse(IkeSa& sa) override {
    if (initial_contact_ && sa.state() == IkeSa::State::kEstablished) {
      sa.ctx().InitialContact(sa);
    }
  }

 private:
  ChildRequest child_;
  bool have_child_ = false;
  bool initial_contact_ = false;
};

}  // namespace

std::unique_ptr<Task> NewIkeAuthTask() {
  return std::make_unique<IkeAuthTask>();
}

}  // namespace portcullis::ike
