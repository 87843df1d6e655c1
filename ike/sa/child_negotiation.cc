#include "ike/sa/child_negotiation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ike/crypto/key_schedule.h"
#include "ike/crypto/random.h"
#include "ike/encoding/resource_info.h"
#include "ike/sa/ike_sa.h"
#include "ike/sa/proposal_select.h"
#include "ike/sa/proposal_string.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::ike {

namespace {

std::string GroupName(DhGroup g) {
  return TransformName(TransformType::kDh, static_cast<uint16_t>(g));
}

std::vector<Proposal> OurProposals(const ChildConfig& c, bool ike_auth, DhGroup group) {
  return ike_auth ? StripDh(c.esp_proposals) : WithDhGroup(c.esp_proposals, group);
}

std::unique_ptr<ChildSa> NewChild(IkeSa& sa, const ChildSaCryptoSuite& suite) {
  auto c = std::make_unique<ChildSa>();
  c->suite = suite;
  c->local = sa.local();
  c->remote = sa.remote();
  c->encap = sa.nat_any();
  return c;
}

// How many CHILD SAs of `name` on `sa` are in its group (installed or being rekeyed).
size_t GroupSize(const IkeSa& sa, const std::string& name) {
  size_t n = 0;
  for (const auto& c : sa.children()) {
    n += c->name == name && c->worker != 0 &&
         (c->state == ChildSa::State::kInstalled || c->state == ChildSa::State::kRekeying);
  }
  return n;
}

}  // namespace

bool OffersGroup(IkeSa& sa, const ChildConfig& config) {
  return sa.ctx().ChildResources() > 1 && config.vti;
}

int FreeWorker(IkeSa& sa, const ChildConfig& config) {
  if (!OffersGroup(sa, config)) return -1;
  uint32_t n = std::min(sa.ctx().ChildResources(), kMaxChildResources);
  std::vector<bool> taken(n, false);
  for (const auto& c : sa.children()) {
    if (c->name != config.name || c->worker == 0 || c->worker > n) continue;
    if (c->state == ChildSa::State::kInstalled || c->state == ChildSa::State::kRekeying) {
      taken[c->worker - 1] = true;
    }
  }
  for (uint32_t w = 0; w < n; ++w) {
    if (!taken[w]) return static_cast<int>(w);
  }
  return -1;
}

uint32_t SpiFromBytes(const Bytes& b) {
  if (b.size() != 4) return 0;
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | b[3];
}

Bytes SpiToBytes(uint32_t spi) {
  return {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
          static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
}

ChildRequest::~ChildRequest() {
  if (spi_owner != nullptr && spi_in != 0) spi_owner->ReleaseSpi(spi_in);
}

bool ChildRequest::AllocateSpi(IkeSa& sa) {
  if (spi_owner != nullptr && spi_in != 0) spi_owner->ReleaseSpi(spi_in);
  spi_owner = &sa.ctx();
  spi_in = 0;
  absl::StatusOr<uint32_t> spi = spi_owner->AllocateSpi();
  if (!spi.ok()) {
    sa.Log(LogGroup::kChd, absl::StrCat("no inbound SPI for CHILD_SA ", config.name,
                                        ", exchange abandoned: ", spi.status().message()));
    return false;
  }
  spi_in = *spi;
  return true;
}

bool SaveChildRequest(const ChildRequest& req, InFlightExchange& x) {
  x.child = req.config.name;
  x.spi_in = req.spi_in;
  x.rekey_spi_in = req.rekey_spi_in;
  x.tsi = req.tsi;
  x.tsr = req.tsr;
  x.nonce = req.nonce;
  x.group = req.dh ? req.group : DhGroup::kNone;
  if (req.dh) {
    absl::StatusOr<SecretBytes> k = req.dh->PrivateKey();
    if (!k.ok()) return false;
    x.dh_private = *std::move(k);
  }
  return true;
}

bool RestoreChildRequest(IkeSa& sa, const InFlightExchange& x, const ChildConfig& config,
                         ChildRequest& req) {
  req.config = config;
  req.group = x.group;
  if (x.group != DhGroup::kNone) {
    absl::StatusOr<std::unique_ptr<DhKeyPair>> kp =
        DhKeyPairFromPrivateKey(x.group, x.dh_private.span());
    if (!kp.ok()) {
      sa.Log(LogGroup::kChd, absl::StrCat("the saved PFS key of CHILD_SA ", config.name,
                                          " is unusable: ", kp.status().message()));
      return false;
    }
    req.dh = *std::move(kp);
  }
  req.nonce = x.nonce;
  req.tsi = x.tsi;
  req.tsr = x.tsr;
  req.rekey_spi_in = x.rekey_spi_in;
  if (x.rekey_spi_in != 0) {
    const ChildSa* old = sa.FindChildBySpiIn(x.rekey_spi_in);
    req.worker = old != nullptr && old->worker != 0 ? old->worker - 1 : -1;
  } else {
    req.worker = FreeWorker(sa, config);
  }
  req.spi_in = x.spi_in;
  req.spi_owner = &sa.ctx();
  sa.ctx().ReserveSpi(x.spi_in);
  return true;
}

bool AppendChildRequest(IkeSa& sa, ChildRequest& req, bool ike_auth, std::vector<Payload>& out) {
  if (!ike_auth && req.rekey_spi_in != 0) {
    out.push_back(
        MakeNotify(NotifyType::kRekeySa, {}, ProtocolId::kEsp, SpiToBytes(req.rekey_spi_in)));
  }
  std::vector<Proposal> props =
      WithSpi(OurProposals(req.config, ike_auth, req.group), SpiToBytes(req.spi_in));
  out.push_back(Payload{PayloadType::kSa, SaPayload{props}});
  if (!ike_auth) {
    auto n = RandomBytes(32);
    if (!n.ok()) return false;
    req.nonce = *n;
    out.push_back(Payload{PayloadType::kNonce, NoncePayload{req.nonce}});
    if (req.group != DhGroup::kNone) {
      auto kp = GenerateDhKeyPair(req.group);
      if (!kp.ok()) {
        sa.Log(LogGroup::kChd, absl::StrCat("PFS group ", GroupName(req.group),
                                            " not usable: ", kp.status().message()));
        return false;
      }
      req.dh = *std::move(kp);
      auto pub = req.dh->public_value();
      out.push_back(Payload{PayloadType::kKe, KePayload{req.group, Bytes(pub.begin(), pub.end())}});
    }
  }
  out.push_back(Payload{PayloadType::kTsi, TsPayload{req.tsi}});
  out.push_back(Payload{PayloadType::kTsr, TsPayload{req.tsr}});
  out.push_back(MakeNotify(NotifyType::kEspTfcPaddingNotSupported));
  if (req.worker >= 0) out.push_back(SaResourceInfoNotify(WorkerResourceId(req.worker)));
  return true;
}

ChildResult ProcessChildResponse(IkeSa& sa, ChildRequest& req, bool ike_auth,
                                 const std::vector<Payload>& in, ChildSa** installed) {
  const ChildConfig& cfg = req.config;
  std::vector<Proposal> ours = OurProposals(cfg, ike_auth, req.group);
  auto log = [&](const std::string& s) { sa.Log(LogGroup::kChd, s); };
  if (const NotifyPayload* n = FindNotify(in, NotifyType::kInvalidKePayload); n && !ike_auth) {
    DhGroup wanted =
        n->data.size() == 2 ? static_cast<DhGroup>(n->data[0] << 8 | n->data[1]) : DhGroup::kNone;
    log(absl::StrCat("received INVALID_KE_PAYLOAD notify error for CHILD_SA ", cfg.name,
                     ": peer requested DH group ", GroupName(wanted), ", configured PFS group ",
                     GroupName(cfg.pfs), " (check pfs on both sides)"));
    return ChildResult::kFailed;
  }
  if (const NotifyPayload* e = FirstErrorNotify(in)) {
    switch (e->type) {
      case NotifyType::kNoProposalChosen:
        log(
            absl::StrCat("received NO_PROPOSAL_CHOSEN notify error: the peer accepted none of "
                         "our ESP proposals for ",
                         cfg.name, "; configured proposals: ", ProposalListString(ours)));
        break;
      case NotifyType::kTsMaxQueue:
        log(
            absl::StrCat("received TS_MAX_QUEUE notify error: the peer takes no more CHILD_SAs "
                         "with the selectors of ",
                         cfg.name, ", which keeps its ", GroupSize(sa, cfg.name),
                         " per-worker CHILD_SA(s) (RFC 9611)"));
        break;
      case NotifyType::kTsUnacceptable:
        log(absl::StrCat(
            "received TS_UNACCEPTABLE notify error: the peer accepted none of our "
            "traffic selectors for ",
            cfg.name, ": TSi ", TsListToString(req.tsi), " TSr ", TsListToString(req.tsr)));
        break;
      default:
        log(absl::StrCat("received ", NotifyName(e->type), " notify error, no CHILD_SA ", cfg.name,
                         " built"));
    }
    return ChildResult::kFailed;
  }
  const auto* sap = FindPayload<SaPayload>(in, PayloadType::kSa);
  const auto* tsi = FindPayload<TsPayload>(in, PayloadType::kTsi);
  const auto* tsr = FindPayload<TsPayload>(in, PayloadType::kTsr);
  if (sap == nullptr || tsi == nullptr || tsr == nullptr || sap->proposals.size() != 1) {
    log(absl::StrCat("response for CHILD_SA ", cfg.name, " lacks SA/TSi/TSr, no CHILD_SA built"));
    return ChildResult::kFailed;
  }
  const Proposal& chosen = sap->proposals[0];
  auto suite = ChildSuiteFromProposal(chosen);
  if (!OneTransformPerType(chosen) || !SelectProposal({chosen}, ours, ike_auth) || !suite.ok() ||
      chosen.spi.size() != 4) {
    log(absl::StrCat("peer selected an ESP proposal we did not offer: ESP:", ProposalString(chosen),
                     "; configured proposals: ", ProposalListString(ours),
                     " (NO_PROPOSAL_CHOSEN)"));
    return ChildResult::kFailed;
  }
  if (ike_auth) suite->pfs = DhGroup::kNone;
  if (!TsSubset(tsi->selectors, req.tsi) || !TsSubset(tsr->selectors, req.tsr) ||
      tsi->selectors.empty() || tsr->selectors.empty()) {
    log(absl::StrCat("TS_UNACCEPTABLE: the peer's selectors ", TsListToString(tsi->selectors),
                     " === ", TsListToString(tsr->selectors), " are not within ours ",
                     TsListToString(req.tsi), " === ", TsListToString(req.tsr)));
    return ChildResult::kFailed;
  }
  if (FindNotify(in, NotifyType::kUseTransportMode) != nullptr) {
    log("peer answered with transport mode, which we did not request: no CHILD_SA built");
    return ChildResult::kFailed;
  }
  const Bytes* ni = &sa.nonce_i;
  const Bytes* nr = &sa.nonce_r;
  std::optional<SecretBytes> g_ir;
  if (!ike_auth) {
    const auto* nonce = FindPayload<NoncePayload>(in, PayloadType::kNonce);
    if (nonce == nullptr) {
      log("CREATE_CHILD_SA response without nonce (INVALID_SYNTAX)");
      return ChildResult::kFailed;
    }
    req.peer_nonce = nonce->data;
    ni = &req.nonce;
    nr = &req.peer_nonce;
    if (suite->pfs != DhGroup::kNone) {
      const auto* ke = FindPayload<KePayload>(in, PayloadType::kKe);
      if (ke == nullptr || !req.dh || ke->group != suite->pfs) {
        log(absl::StrCat("CREATE_CHILD_SA response KE does not match PFS group ",
                         GroupName(suite->pfs), " (INVALID_KE_PAYLOAD)"));
        return ChildResult::kFailed;
      }
      auto s = req.dh->ComputeSharedSecret(ke->data);
      if (!s.ok()) {
        log(absl::StrCat("invalid KE in CREATE_CHILD_SA response: ", s.status().message()));
        return ChildResult::kFailed;
      }
      g_ir = *std::move(s);
    }
  }
  auto keys =
      DeriveChildSaKeys(sa.suite.prf, sa.keys.sk_d, *suite, g_ir ? &*g_ir : nullptr, *ni, *nr);
  if (!keys.ok()) {
    log(absl::StrCat("CHILD_SA key derivation failed: ", keys.status().message()));
    return ChildResult::kFailed;
  }
  auto child = NewChild(sa, *suite);
  child->spi_in = req.spi_in;
  child->spi_out = SpiFromBytes(chosen.spi);
  // RFC 9611: a group's CHILD SA when the peer answered our SA_RESOURCE_INFO with its own (the
  // agreement is per exchange: without it the peer made an ordinary CHILD SA, kept as one, and
  // the group grows no further); a rekey of a member stays its worker's.
  const std::optional<Bytes> peer_resource = FindSaResourceInfo(in);
  bool surplus = false;
  if (req.worker >= 0 && (peer_resource || req.rekey_spi_in != 0)) {
    child->worker = static_cast<uint8_t>(req.worker + 1);
    if (req.rekey_spi_in == 0) {
      log(absl::StrCat("CHILD_SA ", cfg.name, " is worker ", req.worker,
                       "'s of a per-worker group (RFC 9611, SA_RESOURCE_INFO; the peer's resource ",
                       peer_resource ? ResourceIdForLog(*peer_resource) : "(none)", ")"));
    }
  } else if (req.worker > 0 && req.rekey_spi_in == 0) {
    // Asked for a further worker's member and got an ordinary CHILD SA with the selectors the
    // tunnel's SA has (a peer down to one worker): not wanted, deleted once installed.
    surplus = true;
    log(absl::StrCat("the peer answered the request for worker ", req.worker, "'s CHILD_SA of ",
                     cfg.name,
                     " without SA_RESOURCE_INFO: a second CHILD_SA with the same "
                     "selectors, not a member; deleting it, the group grows no further"));
  } else if (req.worker >= 0 && req.rekey_spi_in == 0) {
    log(absl::StrCat("the peer did not answer SA_RESOURCE_INFO: CHILD_SA ", cfg.name,
                     " is its tunnel's only CHILD_SA"));
  }
  const bool grow = child->worker != 0 && req.rekey_spi_in == 0;
  child->local_ts = tsi->selectors;
  child->remote_ts = tsr->selectors;
  child->encr_out = std::move(keys->encr_i);
  child->integ_out = std::move(keys->integ_i);
  child->encr_in = std::move(keys->encr_r);
  child->integ_in = std::move(keys->integ_r);
  ChildSa* raw = child.get();
  req.spi_owner = nullptr;  // the CHILD SA has the SPI now; ChildDown releases it
  sa.AddChild(std::move(child), cfg, /*we_initiated=*/true);
  *installed = raw;
  if (surplus) sa.Queue(NewChildDeleteTask({raw->spi_in}));
  // One more member at a time, for the next worker without one, until every worker has one,
  // the peer answers TS_MAX_QUEUE, or an exchange fails.
  if (grow) {
    if (int next = FreeWorker(sa, cfg); next >= 0) sa.Queue(NewChildMemberTask(cfg, next));
  }
  return ChildResult::kInstalled;
}

void RespondChild(IkeSa& sa, const std::vector<Payload>& in, std::vector<Payload>& out,
                  bool ike_auth, ChildSa* rekeyed) {
  const IkeSaConfig& cfg = sa.config();
  auto log = [&](const std::string& s) { sa.Log(LogGroup::kChd, s); };
  const auto* sap = FindPayload<SaPayload>(in, PayloadType::kSa);
  const auto* tsi = FindPayload<TsPayload>(in, PayloadType::kTsi);
  const auto* tsr = FindPayload<TsPayload>(in, PayloadType::kTsr);
  if (sap == nullptr || tsi == nullptr || tsr == nullptr) {
    if (ike_auth) return;  // a childless IKE SA
    log("CREATE_CHILD_SA request lacks SA/TSi/TSr (INVALID_SYNTAX)");
    out.push_back(MakeNotify(NotifyType::kInvalidSyntax));
    return;
  }
  // Each CHILD SA costs a DH (with PFS), an SPI and two dataplane SAs: a peer may not make them
  // without end. Checked before any of that work.
  if (!ike_auth && sa.children().size() >= sa.ChildSaLimit()) {
    sa.ChildSaRefused(absl::StrCat("NO_ADDITIONAL_SAS: the peer already has ", sa.children().size(),
                                   " CHILD_SAs on this IKE_SA, the limit (", sa.ChildSaLimit(),
                                   " for ", cfg.children.size(), " configured tunnels)"));
    out.push_back(MakeNotify(NotifyType::kNoAdditionalSas));
    return;
  }
  if (FindNotify(in, NotifyType::kUseTransportMode) != nullptr) {
    log("peer requested transport mode (USE_TRANSPORT_MODE): refused, only tunnel mode is "
        "supported; answering with tunnel mode");
  }
  std::vector<const ChildConfig*> candidates;
  if (rekeyed != nullptr) {
    if (const ChildConfig* c = sa.FindChildConfig(rekeyed->name)) candidates.push_back(c);
  } else {
    for (const ChildConfig& c : cfg.children) candidates.push_back(&c);
  }
  const ChildConfig* child_cfg = nullptr;
  std::vector<TrafficSelector> narrowed_i, narrowed_r;
  for (const ChildConfig* c : candidates) {
    auto ni = NarrowTs(tsi->selectors, c->remote_ts);
    auto nr = NarrowTs(tsr->selectors, c->local_ts);
    if (!ni.empty() && !nr.empty()) {
      child_cfg = c;
      narrowed_i = std::move(ni);
      narrowed_r = std::move(nr);
      break;
    }
  }
  if (child_cfg == nullptr) {
    std::string configured;
    for (const ChildConfig* c : candidates) {
      absl::StrAppend(&configured, configured.empty() ? "" : "; ", c->name, ": local ",
                      TsListToString(c->local_ts), " remote ", TsListToString(c->remote_ts));
    }
    log(absl::StrCat("TS_UNACCEPTABLE: traffic selectors unacceptable: received TSi ",
                     TsListToString(tsi->selectors), " TSr ", TsListToString(tsr->selectors),
                     "; configured ", configured.empty() ? "(none)" : configured));
    out.push_back(MakeNotify(NotifyType::kTsUnacceptable));
    return;
  }
  // RFC 9611: the peer asks for a CHILD SA of a per-worker group. Ours for the lowest worker
  // without one; with one on every worker no more (TS_MAX_QUEUE), before any DH work. A rekey
  // keeps its SA's worker.
  const std::optional<Bytes> peer_resource = FindSaResourceInfo(in);
  int worker = -1;
  if (rekeyed != nullptr) {
    worker = rekeyed->worker != 0 ? rekeyed->worker - 1 : -1;
  } else if (peer_resource && OffersGroup(sa, *child_cfg)) {
    worker = FreeWorker(sa, *child_cfg);
    if (worker < 0) {
      log(absl::StrCat("TS_MAX_QUEUE: CHILD_SA ", child_cfg->name,
                       " already has a CHILD_SA for each of our ", sa.ctx().ChildResources(),
                       " workers (the peer's resource ", ResourceIdForLog(*peer_resource), ")"));
      out.push_back(TsMaxQueueNotify());
      return;
    }
  }
  std::vector<Proposal> ours = OurProposals(*child_cfg, ike_auth, child_cfg->pfs);
  std::optional<Proposal> sel = SelectProposal(sap->proposals, ours, ike_auth);
  auto suite = sel ? ChildSuiteFromProposal(*sel) : absl::NotFoundError("none");
  if (!suite.ok() || sel->spi.size() != 4) {
    log(absl::StrCat("NO_PROPOSAL_CHOSEN: no acceptable ESP proposal for ", child_cfg->name,
                     "; received proposals: ", ProposalListString(sap->proposals),
                     "; configured proposals: ", ProposalListString(ours)));
    out.push_back(MakeNotify(NotifyType::kNoProposalChosen));
    return;
  }
  if (ike_auth) suite->pfs = DhGroup::kNone;
  std::optional<SecretBytes> g_ir;
  std::unique_ptr<DhKeyPair> dh;
  Bytes ni, nr;
  if (ike_auth) {
    ni = sa.nonce_i;
    nr = sa.nonce_r;
  } else {
    const auto* nonce = FindPayload<NoncePayload>(in, PayloadType::kNonce);
    auto own = RandomBytes(32);
    if (nonce == nullptr || !own.ok()) {
      log("CREATE_CHILD_SA request without nonce (INVALID_SYNTAX)");
      out.push_back(MakeNotify(NotifyType::kInvalidSyntax));
      return;
    }
    ni = nonce->data;
    nr = *own;
    if (suite->pfs != DhGroup::kNone) {
      const auto* ke = FindPayload<KePayload>(in, PayloadType::kKe);
      if (ke == nullptr || ke->group != suite->pfs) {
        uint16_t g = static_cast<uint16_t>(suite->pfs);
        log(absl::StrCat("DH group ", ke ? GroupName(ke->group) : "(no KE payload)",
                         " unacceptable for CHILD_SA ", child_cfg->name, ", requesting ",
                         GroupName(suite->pfs), " (INVALID_KE_PAYLOAD)"));
        out.push_back(MakeNotify(NotifyType::kInvalidKePayload,
                                 Bytes{static_cast<uint8_t>(g >> 8), static_cast<uint8_t>(g)}));
        return;
      }
      if (absl::Status v = CheckPeerPublicValue(ke->group, ke->data); !v.ok()) {
        sa.ctx().Count(IkeCounter::kInvalidKe);
        log(absl::StrCat("invalid KE payload: ", v.message(), " (INVALID_SYNTAX)"));
        out.push_back(MakeNotify(NotifyType::kInvalidSyntax));
        return;
      }
      auto kp = GenerateDhKeyPair(suite->pfs);
      if (!kp.ok()) {
        out.push_back(MakeNotify(NotifyType::kNoProposalChosen));
        return;
      }
      dh = *std::move(kp);
      auto s = dh->ComputeSharedSecret(ke->data);
      if (!s.ok()) {
        log(absl::StrCat("invalid KE payload: ", s.status().message()));
        out.push_back(MakeNotify(NotifyType::kInvalidSyntax));
        return;
      }
      g_ir = *std::move(s);
    }
  }
  auto keys =
      DeriveChildSaKeys(sa.suite.prf, sa.keys.sk_d, *suite, g_ir ? &*g_ir : nullptr, ni, nr);
  if (!keys.ok()) {
    log(absl::StrCat("CHILD_SA key derivation failed: ", keys.status().message()));
    out.push_back(MakeNotify(NotifyType::kNoProposalChosen));
    return;
  }
  absl::StatusOr<uint32_t> spi_in = sa.ctx().AllocateSpi();
  if (!spi_in.ok()) {
    // strongSwan answers a failed SPI allocation the same way.
    log(absl::StrCat("no inbound SPI for the CHILD_SA: ", spi_in.status().message()));
    out.push_back(MakeNotify(NotifyType::kNoProposalChosen));
    return;
  }
  auto child = NewChild(sa, *suite);
  child->spi_in = *spi_in;
  child->spi_out = SpiFromBytes(sel->spi);
  child->worker = worker >= 0 ? static_cast<uint8_t>(worker + 1) : 0;
  child->local_ts = narrowed_r;
  child->remote_ts = narrowed_i;
  child->encr_in = std::move(keys->encr_i);
  child->integ_in = std::move(keys->integ_i);
  child->encr_out = std::move(keys->encr_r);
  child->integ_out = std::move(keys->integ_r);

  Proposal answer = *sel;
  answer.spi = SpiToBytes(child->spi_in);
  out.push_back(Payload{PayloadType::kSa, SaPayload{{answer}}});
  if (!ike_auth) {
    out.push_back(Payload{PayloadType::kNonce, NoncePayload{nr}});
    if (dh) {
      auto pub = dh->public_value();
      out.push_back(
          Payload{PayloadType::kKe, KePayload{suite->pfs, Bytes(pub.begin(), pub.end())}});
    }
  }
  out.push_back(Payload{PayloadType::kTsi, TsPayload{narrowed_i}});
  out.push_back(Payload{PayloadType::kTsr, TsPayload{narrowed_r}});
  out.push_back(MakeNotify(NotifyType::kEspTfcPaddingNotSupported));
  if (worker >= 0 && peer_resource) {
    out.push_back(SaResourceInfoNotify(WorkerResourceId(worker)));
    if (rekeyed == nullptr) {
      log(absl::StrCat("CHILD_SA ", child_cfg->name, " is worker ", worker,
                       "'s of a per-worker group (RFC 9611, SA_RESOURCE_INFO; the peer's resource ",
                       ResourceIdForLog(*peer_resource), ")"));
    }
  }
  if (rekeyed != nullptr) {
    uint32_t old_in = rekeyed->spi_in;
    child->replaces = old_in;
    child->outbound_active = false;
    if (rekeyed->state == ChildSa::State::kRekeying) {
      NoteRekeyCollision(sa.active_task(), old_in, child->spi_in, ni, nr);
    } else {
      rekeyed->state = ChildSa::State::kRekeyed;
    }
    sa.LogChild(
        *rekeyed, LogGroup::kChd,
        absl::StrCat("CHILD_SA ", rekeyed->name, "{", rekeyed->unique_id, "} rekeyed by the peer"));
  } else if (const ChildSa* prev = sa.ctx().FindInstalledChild(sa, child_cfg->name)) {
    // The peer replaces an IKE SA (reauthentication) or made a second one: the CHILD SA of the
    // other IKE SA sends until the peer deletes it, as the old SA of a rekey does.
    child->replaces = prev->spi_in;
    child->outbound_active = false;
  }
  sa.AddChild(std::move(child), *child_cfg, /*we_initiated=*/false);
}

}  // namespace portcullis::ike
