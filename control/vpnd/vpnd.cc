#include "control/vpnd/vpnd.h"

#include <openssl/crypto.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/config/config_loader.h"
#include "control/ops/op_parser.h"
#include "control/vpnd/commit_impact.h"
#include "control/vpnd/fw_log_line.h"
#include "control/vpnd/ike_state_file.h"
#include "control/vpnd/op_handlers.h"
#include "dataplane/api/channel_layout.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

void WipeSecrets(config::Model& model) {
  for (config::Peer& p : model.peers) {
    if (!p.psk.empty()) OPENSSL_cleanse(p.psk.data(), p.psk.size());
    p.psk.clear();
  }
}

Vpnd::Vpnd(VpndDeps deps) : deps_(std::move(deps)) {
  // A missing required part is a wiring mistake: say which at once, not with a crash later.
  if (deps_.log == nullptr || deps_.installer == nullptr || !deps_.clock) {
    std::fprintf(stderr, "vpnd: VpndDeps needs a log, an SA installer and a clock\n");
    std::abort();
  }
  ike::IkeManager::Sender send = deps_.send;
  if (deps_.link != nullptr) {
    // Through the dataplane's inject path, on whichever channel the link holds now.
    // Answers to a flood fill the inject ring: failures are counted and logged once per
    // interval.
    // With a state file, write-ahead: what IKE sends waits until the state it leaves behind is
    // saved (ReleaseSends), so a restart never resumes from a state the peer has moved past.
    send = [this](const ike::Datagram& d) {
      if (!deps_.ike_state_path.empty()) {
        held_sends_.push_back(d);
        return;
      }
      Inject(d);
    };
  }
  failures_ = std::make_unique<PeerFailures>(deps_.log);
  ike_ = std::make_unique<ike::IkeManager>(deps_.clock, send, failures_.get(), deps_.keylog, this);
  // The dataplane raises acquires for a tunnel without an SA (its VTI's traffic): DPD action
  // hold and close-action trap wait for them. Kernel sockets have none.
  ike_->set_traps(deps_.link != nullptr);
  // A trapped policy-based tunnel keeps its policies without an SA (the dataplane's acquires).
  deps_.installer->SetTrapQuery(
      [this](const std::string& child) { return ike_->ChildTrapped(child); });
  running_tree_ = std::make_shared<const config::ConfigTree>();
  archive_ = std::make_unique<ConfigArchive>(deps_.archive_dir, deps_.commit_revisions);
  if (absl::Status st = archive_->Open(); !st.ok()) {
    Log(ike::LogGroup::kCfg, absl::StrCat(st.message(), ": commits are not archived"));
    archive_ = std::make_unique<ConfigArchive>("", deps_.commit_revisions);
  }
  sessions_ = std::make_unique<ConfigSessions>(*this, archive_.get(), deps_.sessions);
  // strongSwan's get_spi: the installer knows the SPIs still installed.
  ike_->SetSpiSource([this] { return deps_.installer->GetSpi(); });
  // strongSwan's query_sa: counters live where the SAs are, IKE keeps no copy.
  ike_->SetCounterSource([this](const ike::ChildSa& c) {
    ike::ChildCounters n;
    if (auto in = deps_.installer->QuerySa(c.spi_in, SaDirection::kIn); in.ok()) {
      n.bytes_in = in->bytes;
      n.packets_in = in->packets;
    }
    if (auto out = deps_.installer->QuerySa(c.spi_out, SaDirection::kOut); out.ok()) {
      n.bytes_out = out->bytes;
      n.packets_out = out->packets;
    }
    return n;
  });
}

Vpnd::~Vpnd() {
  // Batches in flight carry handlers that point here; the link may be polled after us.
  if (deps_.link != nullptr) deps_.link->DropAckHandlers();
  WipeSecrets(model_);
}

void Vpnd::Inject(const ike::Datagram& d) {
  absl::Status st = deps_.link->Inject(d);
  if (st.ok()) return;
  if (auto line = inject_failure_log_.Drop(
          deps_.clock(), absl::StrCat("inject to ", d.dst.ToString(), " failed: ", st.message()))) {
    Log(ike::LogGroup::kNet, *line);
  }
}

void Vpnd::ReleaseSends() {
  SaveIkeState();
  std::vector<ike::Datagram> sends;
  sends.swap(held_sends_);
  for (const ike::Datagram& d : sends) Inject(d);
}

void Vpnd::Log(ike::LogGroup g, const std::string& text, const std::string& conn, uint32_t id,
               bool child) {
  deps_.log->Write(ike::LogRecord{deps_.clock(), g, conn, id, child, text});
}

absl::Status Vpnd::LoadFile(const std::string& path, const std::string& via,
                            std::vector<std::string>* warnings) {
  absl::StatusOr<config::LoadedConfig> loaded = config::LoadConfigFile(path);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->ok()) {
    std::vector<std::string> errs;
    for (const config::Diagnostic& d : loaded->diags.Sorted()) {
      if (d.severity == config::Diagnostic::Severity::kError) errs.push_back(d.ToString());
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", errs.size(), errs.size() == 1 ? " error" : " errors",
                     ", nothing changed:\n", absl::StrJoin(errs, "\n")));
  }
  // Warnings do not stop a commit, but whoever commits must see them as `vpnctl check` shows
  // them: a line accepted and not enforced yet must never look as if it took effect.
  for (const config::Diagnostic& d : loaded->diags.Sorted()) {
    if (d.severity != config::Diagnostic::Severity::kWarning) continue;
    Log(ike::LogGroup::kCfg, d.ToString());
    if (warnings != nullptr) warnings->push_back(d.ToString());
  }
  ScopedModel model;
  model.m = config::BuildModel(loaded->tree);
  auto tree = std::make_shared<config::ConfigTree>(std::move(loaded->tree));
  absl::Status st =
      Commit(model.m, std::move(tree), via.empty() ? absl::StrCat("vpnctl via load ", path) : via);
  if (st.ok()) {
    config_path_ = path;
    Log(ike::LogGroup::kCfg, absl::StrCat("loaded configuration ", path));
  }
  return st;
}

absl::Status Vpnd::Commit(const config::Model& model) {
  return Commit(model, nullptr, "");
}

absl::Status Vpnd::Commit(const config::Model& model,
                          std::shared_ptr<const config::ConfigTree> tree, const std::string& via) {
  absl::StatusOr<IkeSetup> setup = MapConfig(model, reqids_);
  if (!setup.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("configuration cannot be used, nothing changed:\n", setup.status().message()));
  }
  if (commit_pending_) {
    absl::Status st = absl::UnavailableError(
        "commit: the dataplane has not acknowledged the previous commit yet (its outcome is "
        "unknown): nothing changed, try again once it answers");
    Log(ike::LogGroup::kCfg, std::string(st.message()));
    return st;
  }
  DataplaneObjects desired = PlanDataplane(model, ifindexes_, firewall_ids_);
  std::vector<dp::api::Message> batch = DiffBatch(running_, desired);
  size_t n = batch.size();
  bool flush = flush_before_commit_ && deps_.link != nullptr;
  std::shared_ptr<std::vector<ike::IkeSaState>> resume;
  if (flush) {
    dp::api::Message m = dp::api::NewMessage(dp::api::MessageKind::kFlush, dp::api::Op::kDelete);
    m.body.flush.scope = dp::api::kFlushAll;
    std::vector<dp::api::Message> adopted;
    if (resume_pending_ && !deps_.ike_state_path.empty()) {
      resume = PrepareResume(*setup, &adopted);
    }
    resume_commit_pending_ = resume != nullptr;
    if (resume != nullptr) {
      // The SAs stay (with their sequence numbers and replay windows): everything else is
      // rebuilt, and the adopted SAs selected again, in this one batch.
      m.body.flush.scope = dp::api::kFlushAll & ~dp::api::kFlushSas;
      batch.insert(batch.end(), adopted.begin(), adopted.end());
    }
    batch.insert(batch.begin(), m);
  }
  resume_pending_ = false;
  // The dataplane stages a batch of at most its --max-batch-messages (a batch streams through
  // the channel in chunks, so that is the only bound): refuse a larger one here, loudly and
  // naming the firewall's share, rather than have the link refuse it.
  const size_t max_batch = deps_.link != nullptr ? deps_.link->max_batch_messages() : 0;
  if (max_batch != 0 && batch.size() > max_batch) {
    FirewallShare fw = FirewallShareOf(batch, firewall_ids_);
    ++oversized_batches_;
    deps_.link->CountBatchTooLarge();
    absl::Status st = absl::ResourceExhaustedError(absl::StrCat(
        "commit: the dataplane batch would hold ", batch.size(), " messages, more than the ",
        max_batch, " vpn-dataplane takes in one batch (its --max-batch-messages; ", fw.messages,
        " of them the firewall's", fw.largest.empty() ? "" : "; largest rulesets: ", fw.largest,
        "): nothing changed; raise --max-batch-messages or commit a large change in steps"));
    Log(ike::LogGroup::kCfg, std::string(st.message()));
    return st;
  }
  // The counters of what the batch deletes (or flushes) start from zero in the dataplane, and
  // ids are reused: their `clear firewall` baselines go once it is applied.
  std::vector<std::pair<uint32_t, std::optional<uint32_t>>> forget;  // (ruleset, rule)
  bool forget_all = false;
  for (const dp::api::Message& m : batch) {
    if (m.header.kind == dp::api::MessageKind::kFlush) forget_all = true;
    if (m.header.op != dp::api::Op::kDelete) continue;
    if (m.header.kind == dp::api::MessageKind::kFwRuleset)
      forget.emplace_back(m.body.fw_ruleset.ruleset_id, std::nullopt);
    else if (m.header.kind == dp::api::MessageKind::kFwRule)
      forget.emplace_back(m.body.fw_rule.ruleset_id, m.body.fw_rule.rule_number);
  }
  auto forget_baselines = [this, forget = std::move(forget), forget_all] {
    if (forget_all) firewall_baselines_.ForgetAll();
    for (const auto& [id, rule] : forget) {
      if (rule)
        firewall_baselines_.ForgetRule(id, *rule);
      else
        firewall_baselines_.ForgetRuleset(id);
    }
  };
  if (batch.empty() || deps_.link == nullptr) {
    forget_baselines();
    CompleteCommit(model, *setup, std::move(desired), std::move(tree), via);
    return absl::OkStatus();
  }
  // What the commit completes with, whenever the ack comes; the PSKs in the copy are wiped.
  struct State {
    ScopedModel model;
    IkeSetup setup;
    DataplaneObjects desired;
    std::shared_ptr<const config::ConfigTree> tree;
    std::string via;
    bool returned = false;
  };
  auto state = std::make_shared<State>();
  state->model.m = model;
  state->setup = *setup;
  state->desired = std::move(desired);
  state->tree = std::move(tree);
  state->via = via;
  commit_pending_ = true;
  absl::Status st;
  Outcome o = deps_.link->Submit(
      std::move(batch), "commit", /*wait=*/true,
      [this, state, n, flush, forget_baselines, resume](Outcome o, const absl::Status& s) {
        commit_pending_ = false;
        resume_commit_pending_ = false;
        if (o != Outcome::kApplied) {
          if (state->returned)
            Log(ike::LogGroup::kCfg, absl::StrCat(s.message(), ": nothing changed"));
          if (resume != nullptr) {
            // The adopted SAs were not selected again: start over as without a saved state.
            Log(ike::LogGroup::kKnl,
                "the restart's commit was not applied: the IKE_SAs from before it are not "
                "resumed");
            deps_.installer->ForgetAll();
            resume_traps_.clear();
          }
          return;
        }
        forget_baselines();
        if (flush) flush_before_commit_ = false;
        Log(ike::LogGroup::kKnl,
            absl::StrCat("dataplane configuration committed (", flush ? "flushed, then " : "", n,
                         n == 1 ? " change)" : " changes)"));
        // The restart's commit keeps notify-ipsec peers until the dataplane reports their
        // groups (after this ack): a master's IKE SAs are resumed, not refused.
        if (resume != nullptr) vrrp_resuming_ = true;
        CompleteCommit(state->model.m, state->setup, std::move(state->desired),
                       std::move(state->tree), state->via);
        if (resume != nullptr) {
          ike::IkeManager::ResumeResult r = ike_->Resume(std::move(*resume));
          resume_stats_.ike_resumed += r.ike_resumed;
          resume_stats_.ike_refused += r.ike_refused;
          resume_stats_.children_refused += r.children_refused;
          Log(ike::LogGroup::kKnl,
              absl::StrCat("hitless restart: ", r.ike_resumed, " IKE_SAs resumed (", r.ike_refused,
                           " not), ", resume_stats_.children_adopted,
                           " CHILD_SAs adopted from the dataplane, ",
                           resume_stats_.children_missing, " missing there (rekeyed), ",
                           r.children_refused + resume_stats_.children_refused,
                           " no longer configured, ", resume_stats_.orphan_sas_removed,
                           " orphaned SAs removed"));
        }
      },
      &st);
  state->returned = true;
  if (o == Outcome::kApplied) return absl::OkStatus();
  if (o == Outcome::kUnknown) {
    Log(ike::LogGroup::kCfg, absl::StrCat("commit: ", st.message(),
                                          "; the commit completes if the dataplane applies it"));
    return st;
  }
  Log(ike::LogGroup::kCfg, absl::StrCat("commit failed, nothing changed: ", st.message()));
  return st;
}

std::vector<ike::ChildConfig> Vpnd::PolicyTunnels(const IkeSetup& setup) {
  std::vector<ike::ChildConfig> out;
  for (const auto& p : setup.peers) {
    if (p->remote_any) continue;  // never trapped
    for (const auto& c : p->children) {
      if (!c.vti) out.push_back(c);
    }
  }
  return out;
}

std::shared_ptr<std::vector<ike::IkeSaState>> Vpnd::PrepareResume(
    const IkeSetup& setup, std::vector<dp::api::Message>* extra) {
  absl::StatusOr<std::string> text = ReadStateFile(deps_.ike_state_path);
  if (!text.ok()) {
    if (!absl::IsNotFound(text.status())) ++resume_stats_.state_file_errors;
    Log(ike::LogGroup::kKnl, absl::StrCat("no IKE state to resume (", text.status().message(),
                                          "): flushing the dataplane"));
    return nullptr;
  }
  resume_traps_.clear();
  ike::IkeStateOrigin origin;
  absl::StatusOr<std::vector<ike::IkeSaState>> saved =
      ike::DecodeIkeState(*text, &resume_traps_, &origin);
  OPENSSL_cleanse(text->data(), text->size());
  if (!saved.ok()) {
    ++resume_stats_.state_file_errors;
    Log(ike::LogGroup::kKnl, absl::StrCat("IKE state ", deps_.ike_state_path, " unusable (",
                                          saved.status().message(), "): flushing the dataplane"));
    return nullptr;
  }
  // Another vpnd's state (a copied file, --ike-state pointing at another appliance's) would
  // resume SAs whose keys this dataplane never held; a stale one, SAs the peers have dropped.
  std::string refused;
  if (origin.saved == absl::InfinitePast() && origin.origin.empty()) {
    // Written by a vpnd from before the origin line (an upgrade under traffic): resumed, once,
    // as that vpnd would have; the dataplane read-back and IkeManager::Resume's checks of the
    // configuration still apply.
    Log(ike::LogGroup::kKnl, absl::StrCat("IKE state ", deps_.ike_state_path,
                                          " has no origin line (an older vpnd's): resuming it"));
  } else if (origin.origin != deps_.ike_state_origin) {
    refused = absl::StrCat("written by the vpnd of channel '", ike::EscapePeerBytes(origin.origin),
                           "', this is '", deps_.ike_state_origin, "'");
  } else if (deps_.clock() - origin.saved > deps_.ike_state_max_age) {
    refused = absl::StrCat("saved ", absl::FormatDuration(deps_.clock() - origin.saved),
                           " ago, more than the maximum age of ",
                           absl::FormatDuration(deps_.ike_state_max_age));
  }
  if (!refused.empty()) {
    ++resume_stats_.state_file_refused;
    resume_traps_.clear();
    Log(ike::LogGroup::kKnl, absl::StrCat("IKE state ", deps_.ike_state_path, " not resumed (",
                                          refused, "): flushing the dataplane"));
    return nullptr;
  }
  // What the dataplane holds: "spi/in" or "spi/out" (hex), as its telemetry lists them.
  std::set<std::pair<uint32_t, bool>> held;
  bool complete = false, read_back = false;
  if (deps_.telemetry != nullptr) {
    absl::StatusOr<std::vector<JsonValue>> r = deps_.telemetry->Query({"/portcullis/sas"});
    if (r.ok() && r->size() == 1 && (*r)[0].type == JsonValue::Type::kArray) {
      for (const JsonValue& v : (*r)[0].array) {
        unsigned spi = 0;
        char dir[4] = {};
        if (std::sscanf(v.string.c_str(), "%x/%3s", &spi, dir) == 2) {
          held.emplace(spi, std::strcmp(dir, "in") == 0);
        }
      }
      // DPDK telemetry lists at most 512 values: a longer list is cut.
      complete = (*r)[0].array.size() < 512;
      read_back = true;
    } else {
      Log(ike::LogGroup::kKnl, absl::StrCat("the dataplane's SAs cannot be read back (",
                                            r.ok() ? "unexpected reply" : r.status().message(),
                                            "): every resumed CHILD_SA is taken as present"));
    }
  }
  std::set<std::string> peers, tunnels;
  for (const auto& p : setup.peers) {
    peers.insert(p->name);
    for (const auto& c : p->children) tunnels.insert(c.name);
  }
  // Without a (complete) read-back an SA is taken as present: the dataplane keeps its SAs when
  // vpnd dies, and a CHILD SA that is not there is rekeyed at once anyway.
  auto present = [&](uint32_t spi, bool in) {
    return !read_back || !complete || held.contains({spi, in});
  };
  // IkeManager::Resume keeps the first IKE SA of a peer in this order and refuses the others:
  // oldest first, so that of a make-before-break reauthentication caught half way the old SA,
  // which carries the traffic, is the one resumed. Only the CHILD SAs of the SAs it keeps are
  // adopted; the others' SAs are orphans, removed below.
  std::stable_sort(saved->begin(), saved->end(),
                   [](const ike::IkeSaState& a, const ike::IkeSaState& b) {
                     return a.established < b.established;
                   });
  std::set<std::string> resumed_peers;
  std::vector<const ike::ChildSa*> adopt;
  std::set<std::pair<uint32_t, bool>> claimed;
  for (ike::IkeSaState& sa : *saved) {
    if (!peers.contains(sa.config_name)) continue;  // IkeManager::Resume refuses and counts it
    if (!resumed_peers.insert(sa.config_name).second) continue;  // refused there too
    for (auto it = sa.children.begin(); it != sa.children.end();) {
      const ike::ChildSa& c = **it;
      if (!tunnels.contains(c.name)) {
        ++it;  // refused by IkeManager::Resume too; its SAs are orphans below
        continue;
      }
      if (present(c.spi_in, true) && present(c.spi_out, false)) {
        adopt.push_back(&c);
        claimed.emplace(c.spi_in, true);
        claimed.emplace(c.spi_out, false);
        ++resume_stats_.children_adopted;
      } else {
        // Not in the dataplane (it restarted too, or vpnd died before the install): resumed
        // all the same and rekeyed at once, which installs new SAs.
        ++resume_stats_.children_missing;
        Log(ike::LogGroup::kKnl,
            absl::StrFormat("CHILD_SA %s with SPIs %08x_i %08x_o is not in the dataplane: "
                            "resumed and rekeyed",
                            c.name, c.spi_in, c.spi_out));
      }
      ++it;
    }
  }
  *extra = deps_.installer->Adopt(adopt, [this](const ike::ChildSa& c) { return VtiIfindex(c); });
  // The traps of policy-based tunnels without an SA: their policies (pointing at no SA) in this
  // same batch, so the flush never lets their traffic out in the clear.
  std::set<std::string> trapped_peers;
  std::set<std::pair<std::string, std::string>> trapped_children;
  for (const ike::IkeTrap& t : resume_traps_) {
    if (t.child.empty()) {
      trapped_peers.insert(t.peer);
    } else {
      trapped_children.emplace(t.peer, t.child);
    }
  }
  std::map<std::string, std::string> peer_of;
  for (const auto& p : setup.peers) {
    for (const auto& c : p->children) peer_of[c.name] = p->name;
  }
  deps_.installer->SetPolicyTunnels(PolicyTunnels(setup));
  std::vector<dp::api::Message> traps =
      deps_.installer->ConfiguredTraps([&](const std::string& child) {
        auto p = peer_of.find(child);
        return p != peer_of.end() &&
               (trapped_peers.contains(p->second) || trapped_children.contains({p->second, child}));
      });
  resume_stats_.trap_policies += traps.size();
  extra->insert(extra->end(), traps.begin(), traps.end());
  if (complete) {
    for (const auto& [spi, in] : held) {
      if (claimed.contains({spi, in})) continue;
      dp::api::Message m = dp::api::NewMessage(dp::api::MessageKind::kSa, dp::api::Op::kDelete);
      m.body.sa.spi = spi;
      m.body.sa.direction = in ? dp::api::Direction::kIn : dp::api::Direction::kOut;
      extra->push_back(m);
      ++resume_stats_.orphan_sas_removed;
      Log(ike::LogGroup::kKnl,
          absl::StrFormat("SA %08x/%s in the dataplane belongs to no resumed CHILD_SA: removed",
                          spi, in ? "in" : "out"));
    }
  }
  return std::make_shared<std::vector<ike::IkeSaState>>(*std::move(saved));
}

void Vpnd::SaveIkeState() {
  // Not before the restart's commit resumed IKE: the file still holds the previous vpnd's state.
  if (deps_.ike_state_path.empty() || resume_pending_ || resume_commit_pending_) return;
  const uint64_t fp = ike_->StateFingerprint();
  const absl::Time now = deps_.clock();
  // Unchanged, it is still rewritten now and then: its `saved` time says vpnd was alive then.
  if (saved_once_ && fp == saved_fingerprint_ && now - saved_at_ < deps_.ike_state_max_age / 4) {
    return;
  }
  const ike::IkeStateOrigin origin{now, deps_.ike_state_origin};
  std::string text = ike::EncodeIkeState(ike_->SaveState(), ike_->SaveTraps(), &origin);
  absl::Status st = WriteFileAtomically(deps_.ike_state_path, text);
  OPENSSL_cleanse(text.data(), text.size());  // it holds every IKE SA's keys
  if (!st.ok()) {
    ++resume_stats_.state_file_errors;
    Log(ike::LogGroup::kKnl, absl::StrCat("IKE state not saved: ", st.message()));
    return;
  }
  ++resume_stats_.state_writes;
  saved_fingerprint_ = fp;
  saved_once_ = true;
  saved_at_ = now;
}

void Vpnd::CompleteCommit(const config::Model& model, const IkeSetup& setup,
                          DataplaneObjects desired, std::shared_ptr<const config::ConfigTree> tree,
                          const std::string& via) {
  running_ = std::move(desired);
  if (resync_needed_) {
    // A commit applied after a resync the channel did not take has sent everything the resync
    // was to send (it diffed from nothing): the resync's SAs follow, and no retry is due.
    resync_needed_ = false;
    resync_backoff_ = absl::Seconds(1);
    for (const ike::IkeSa* sa : ike_->Sas()) {
      for (const auto& c : sa->children()) ChildUp(*sa, *c);
    }
  }
  if (tree != nullptr && tree != running_tree_) {
    running_tree_ = std::move(tree);
    ++running_generation_;
    absl::Status st = archive_->Record(*running_tree_, deps_.clock(), via);
    if (!st.ok()) Log(ike::LogGroup::kCfg, absl::StrCat("commit not archived: ", st.message()));
  }
  WipeSecrets(model_);
  model_ = model;
  peers_ = setup.peers;
  // Acquires name a tunnel by its policies' reqid or its VTI: found without a scan.
  acquire_targets_.clear();
  for (const auto& p : peers_) {
    for (const auto& ch : p->children) {
      const std::string key = ch.vti ? "vti " + ch.vti_interface : absl::StrCat("reqid ", ch.reqid);
      acquire_targets_[key].emplace_back(p->name, ch.name);
    }
  }
  ike::ManagerOptions opts = setup.options;
  opts.reinitiate_delay = ike_->options().reinitiate_delay;
  opts.rekey_fuzz = ike_->options().rekey_fuzz;          // a command-line option, not configuration
  opts.sweep_interval = ike_->options().sweep_interval;  // vpnd's flag, not the configuration
  // Neither Vyatta nor VyOS configures RFC 9611: on with more than one worker (--per_worker_sas).
  opts.child_resources = deps_.per_worker_sas ? DataplaneWorkers() : 1;
  ike_->SetOptions(opts);
  ike_->SetPeers(IkePeers(&vrrp_held_));
  if (deps_.link == nullptr) {
    for (const auto& [name, i] : model_.interfaces)
      for (const config::VrrpGroup& g : i.vrrp)
        if (!g.disabled)
          Log(ike::LogGroup::kCfg,
              absl::StrFormat("WARNING: VRRP group %d on %s is not run: VRRP runs in the "
                              "dataplane, and this vpnd has none (--transport kernel)",
                              g.id, name));
  }
  for (const std::string& peer : vrrp_held_)
    Log(ike::LogGroup::kCfg,
        absl::StrCat("peer ", peer,
                     ": its local-address is a VRRP virtual address with notify "
                     "ipsec: IKE waits until the group is master here"));
  if (!resume_traps_.empty()) {
    // The restart's commit: IKE's traps back before anything flushes the installer (which
    // would release trap policies IKE does not know of).
    const size_t refused = ike_->ResumeTraps(resume_traps_);
    resume_stats_.traps_refused += refused;
    resume_stats_.traps_kept += resume_traps_.size() - refused;
    resume_traps_.clear();
  }
  deps_.installer->SetPolicyTunnels(PolicyTunnels(setup));
  std::set<std::string> interfaces(setup.ike_interfaces.begin(), setup.ike_interfaces.end());
  if (interfaces != ike_interfaces_ && !interfaces.empty()) {
    Log(ike::LogGroup::kCfg,
        absl::StrCat("IKE is received only on ", absl::StrJoin(interfaces, ", "),
                     " (security vpn ike interface)"));
    for (const std::string& name : interfaces) {
      if (deps_.link != nullptr && !ifindexes_.Find(name)) {
        Log(ike::LogGroup::kCfg, absl::StrCat("WARNING: ike interface ", name,
                                              " is not a configured interface: no IKE from it"));
      }
    }
  }
  ike_interfaces_ = std::move(interfaces);
  Log(ike::LogGroup::kCfg, absl::StrCat("configuration committed: ", setup.peers.size(),
                                        setup.peers.size() == 1 ? " peer" : " peers"));
  FlushRemovals();
}

uint32_t Vpnd::VtiIfindex(const ike::ChildSa& c) {
  // A VTI, or the VFP of a policy-based tunnel (its SAs name it; its policies still select).
  if (c.vti_interface.empty()) return 0;
  return ifindexes_.Find(c.vti_interface).value_or(0);
}

// A VTI proposes 0.0.0.0/0 and/or ::/0 by the families routed into it; a peer that has fewer
// narrows them away (a Vyatta peer proposes only its outer family), and the VTI then routes
// that family into an SA whose selectors do not cover it: its packets are lost. Said once per
// CHILD SA, naming the family.
void Vpnd::WarnNarrowedVti(const ike::IkeSa& sa, const ike::ChildSa& c) {
  if (!c.vti) return;
  for (const ike::ChildConfig& cc : sa.config().children) {
    if (cc.name != c.name) continue;
    for (const ike::TrafficSelector& want : cc.local_ts) {
      bool kept = std::any_of(c.local_ts.begin(), c.local_ts.end(),
                              [&](const ike::TrafficSelector& t) { return t.type == want.type; });
      if (kept) continue;
      const bool v6 = want.type == ike::TsType::kIpv6AddrRange;
      Log(ike::LogGroup::kChd,
          absl::StrCat("WARNING: the peer narrowed ", c.name, " to ",
                       ike::TsListToString(c.local_ts), " === ", ike::TsListToString(c.remote_ts),
                       ": ", v6 ? "IPv6" : "IPv4", " traffic routed into ", c.vti_interface,
                       " is not covered by this CHILD_SA and the peer drops it (give the peer ",
                       v6 ? "::/0" : "0.0.0.0/0", " selectors too, or route no ",
                       v6 ? "IPv6" : "IPv4", " into ", c.vti_interface, ")"),
          c.name, c.unique_id, true);
    }
  }
}

void Vpnd::ChildUp(const ike::IkeSa& sa, const ike::ChildSa& c) {
  WarnNarrowedVti(sa, c);
  deps_.installer->AddSa(c, VtiIfindex(c));
  // A route-based CHILD SA is selected by its VTI's routes, a policy-based one by policies.
  if (!c.vti) deps_.installer->AddPolicy(c);
  if (deps_.observer != nullptr) deps_.observer->ChildUp(sa, c);
}

void Vpnd::ChildDown(const ike::IkeSa& sa, const ike::ChildSa& c) {
  deps_.installer->DelSa(c);
  deps_.installer->TrapsChanged();
  if (deps_.observer != nullptr) deps_.observer->ChildDown(sa, c);
}

void Vpnd::ChildUpdated(const ike::IkeSa& sa, const ike::ChildSa& c) {
  deps_.installer->UpdateSa(c);
  if (deps_.observer != nullptr) deps_.observer->ChildUpdated(sa, c);
}

void Vpnd::ChildOutbound(const ike::IkeSa&, const ike::ChildSa& c) {
  deps_.installer->InstallOutbound(c);
}

bool Vpnd::ChildInPlace(const ike::ChildSa& c) const {
  // Waiting for the install's ack; a refusal reaches IKE as an install failure (the CHILD SA
  // goes), and an installer that keeps no SAs (logging) never waits.
  return deps_.installer->Placement(c.spi_in) != SaPlacement::kInstalling;
}

void Vpnd::IkeDown(const ike::IkeSa&) {
  // A trap may begin for tunnels of the peer that had no SA: their policies come from the
  // configuration (FlushRemovals).
  deps_.installer->TrapsChanged();
}

void Vpnd::IkeUp(const ike::IkeSa& sa) {
  if (deps_.observer != nullptr) deps_.observer->IkeUp(sa);
}

void Vpnd::ReportInstallFailures() {
  for (const InstallFailure& f : deps_.installer->TakeInstallFailures()) {
    ike_->ChildInstallFailed(f.spi_in, f.reason);
  }
}

bool Vpnd::IkeInterfaceAllowed(const ike::Datagram& d) {
  if (ike_interfaces_.empty()) return true;
  std::string name;
  if (deps_.link != nullptr) {
    name = ifindexes_.Name(d.ifindex).value_or("");
  } else if (deps_.interface_name) {
    name = deps_.interface_name(d.ifindex);
  }
  if (ike_interfaces_.contains(name)) return true;
  ++ike_interface_drops_;
  if (auto line = interface_drop_log_.Drop(
          deps_.clock(),
          absl::StrCat("IKE datagram from ", d.src.ToString(), " to ", d.dst.ToString(), " on ",
                       name.empty() ? absl::StrCat("interface index ", d.ifindex) : name,
                       ", which security vpn ike interface does not name: dropped"))) {
    Log(ike::LogGroup::kNet, *line);
  }
  return false;
}

void Vpnd::ReceiveIke(const ike::Datagram& d) {
  if (IkeInterfaceAllowed(d)) ike_->HandleDatagram(d);
}

void Vpnd::HandleDatagram(const ike::Datagram& d) {
  ReceiveIke(d);
  FlushRemovals();
  ReleaseSends();
}

// Each result may send a message (the initiator's IKE_AUTH, the answer to a held IKE_AUTH): in
// channel mode no more than the inject buffers have room for, leaving PollPunts' reserve for
// vpnd's own requests (an inject that finds none free is lost, and its peer waits a
// retransmission timeout); the rest wait for the next Poll.
size_t Vpnd::CryptoResultBudget() const {
  if (deps_.link == nullptr) return SIZE_MAX;
  constexpr size_t kInjectBuffers = dp::api::kInjectBuffersPerSlot;
  constexpr size_t kInjectReserve = kInjectBuffers / 4;
  const size_t in_flight = deps_.link->InjectsInFlight();
  return in_flight + kInjectReserve >= kInjectBuffers ? 0
                                                      : kInjectBuffers - kInjectReserve - in_flight;
}

void Vpnd::HandleCryptoResults() {
  if (ike_->DrainCrypto(false, CryptoResultBudget()) == 0) return;
  FlushRemovals();
  ReleaseSends();
}

void Vpnd::HandleEvent(const dp::api::Event& e) {
  switch (e.header.kind) {
    case dp::api::EventKind::kSaExpired: {
      const auto& x = e.body.sa_expired;
      bool soft = x.kind == dp::api::ExpiryKind::kSoft;
      Log(ike::LogGroup::kKnl,
          absl::StrFormat("dataplane: %s expiry of %s SA %08x (%s), rekeying",
                          soft ? "soft" : "hard",
                          x.direction == dp::api::Direction::kIn ? "inbound" : "outbound", x.spi,
                          x.cause == dp::api::ExpiryCause::kBytes     ? "bytes"
                          : x.cause == dp::api::ExpiryCause::kPackets ? "packets"
                                                                      : "time"));
      // By the SA's direction: a peer's outbound SPI may equal an inbound SPI of ours.
      if (!ike_->RekeyChild(x.spi, x.direction == dp::api::Direction::kIn
                                       ? ike::IkeManager::SpiSide::kInbound
                                       : ike::IkeManager::SpiSide::kOutbound)) {
        Log(ike::LogGroup::kKnl, absl::StrFormat("no CHILD_SA with SPI %08x", x.spi));
      }
      break;
    }
    case dp::api::EventKind::kSeqExhausted: {
      uint32_t spi = e.body.seq_exhausted.spi;
      Log(ike::LogGroup::kKnl,
          absl::StrFormat("dataplane: sequence numbers of SA %08x exhausted, rekeying", spi));
      ike_->RekeyChild(spi, e.body.seq_exhausted.direction == dp::api::Direction::kIn
                                ? ike::IkeManager::SpiSide::kInbound
                                : ike::IkeManager::SpiSide::kOutbound);
      break;
    }
    case dp::api::EventKind::kSaCounters:
      break;  // the SA installer keeps them (it observes the link); IKE asks it
    case dp::api::EventKind::kFwLog:
      LogFirewallPacket(e.body.fw_log);
      break;
    case dp::api::EventKind::kAcquire: {
      // The tunnel a packet found no SA for: a protect policy's reqid, or a VTI.
      const dp::api::AcquireEvent& a = e.body.acquire;
      const std::string key = a.reqid != 0 ? absl::StrCat("reqid ", a.reqid)
                                           : "vti " + ifindexes_.Name(a.vti_ifindex).value_or("");
      auto targets = acquire_targets_.find(key);
      if (targets == acquire_targets_.end()) break;  // a tunnel a commit removed meanwhile
      for (const auto& [peer, child] : targets->second) {
        std::string did = ike_->Acquire(peer, child);
        // One a second per tunnel and dataplane worker: logged only when it starts something.
        if (absl::StartsWith(did, "initiating") || absl::StartsWith(did, "creating")) {
          Log(ike::LogGroup::kKnl, absl::StrCat("acquire for ", child, ": ", did));
        }
      }
      break;
    }
    case dp::api::EventKind::kVrrpState:
      HandleVrrp(e.body.vrrp_state);
      break;
    default:
      break;
  }
}

std::map<ike::Address, Vpnd::VirtualAddress> Vpnd::NotifyIpsecAddresses() const {
  std::map<ike::Address, VirtualAddress> vips;
  for (const auto& [name, i] : model_.interfaces) {
    for (const config::VrrpGroup& g : i.vrrp) {
      if (!g.notify_ipsec || g.disabled) continue;
      auto ifx = ifindexes_.Find(name);
      auto st = ifx ? vrrp_.find({*ifx, static_cast<uint8_t>(g.id)}) : vrrp_.end();
      for (const std::string& text : g.virtual_addresses) {
        auto a = ike::Address::Parse(text.substr(0, text.find('/')));
        if (!a || a->family != 4) continue;
        VirtualAddress& v = vips[*a];
        if (st == vrrp_.end()) {
          v.unknown = true;
        } else {
          v.master |= st->second.state == dp::api::VrrpState::kMaster;
        }
      }
    }
  }
  return vips;
}

std::vector<std::shared_ptr<const ike::IkeSaConfig>> Vpnd::IkePeers(
    std::set<std::string>* held) const {
  held->clear();
  if (deps_.link == nullptr) return peers_;  // no dataplane, no VRRP
  // Each notify-ipsec group's virtual addresses, and whether the group is master here. A group
  // not heard of yet holds its peers back, but for the restart's commit, which resumes the IKE
  // SAs the previous vpnd had (a backup's peers had none), and after a dataplane restart.
  const auto vips = NotifyIpsecAddresses();
  if (vips.empty()) return peers_;
  std::vector<std::shared_ptr<const ike::IkeSaConfig>> out;
  for (const auto& p : peers_) {
    auto v = vips.find(p->local);
    if (v != vips.end() && !v->second.master && !(v->second.unknown && vrrp_resuming_)) {
      held->insert(p->peer_key);
      continue;
    }
    out.push_back(p);
  }
  return out;
}

void Vpnd::ReleaseVrrpRestartRekeys() {
  if (restart_rekeys_vrrp_.empty()) return;
  const auto vips = NotifyIpsecAddresses();
  size_t queued = 0, dropped = 0;
  std::erase_if(restart_rekeys_vrrp_, [&](const std::pair<uint32_t, ike::Address>& r) {
    auto v = vips.find(r.second);
    if (v != vips.end() && !v->second.master && v->second.unknown) return false;  // wait
    if (v == vips.end() || v->second.master) {
      restart_rekeys_.push_back(r.first);
      ++queued;
    } else {
      ++dropped;
    }
    return true;
  });
  if (queued > 0) {
    next_restart_rekeys_ = absl::InfinitePast();  // the next Poll, not the next follow-up round
    Log(ike::LogGroup::kKnl,
        absl::StrCat("notify ipsec: the virtual address is master here: rekeying up to ", queued,
                     " CHILD_SA(s) held since the dataplane restart"));
  }
  if (dropped > 0) {
    Log(ike::LogGroup::kKnl,
        absl::StrCat("notify ipsec: the virtual address is not master here: ", dropped,
                     " CHILD_SA(s) held since the dataplane restart are not rekeyed"));
  }
}

void Vpnd::HandleVrrp(const dp::api::VrrpStateEvent& e) {
  auto name = [](dp::api::VrrpState s) {
    return s == dp::api::VrrpState::kMaster   ? "MASTER"
           : s == dp::api::VrrpState::kBackup ? "BACKUP"
                                              : "INIT";
  };
  const std::string ifname = ifindexes_.Name(e.ifindex).value_or(absl::StrCat("if", e.ifindex));
  const auto key = std::make_pair(e.ifindex, e.vrid);
  auto it = vrrp_.find(key);
  const bool changed = it == vrrp_.end() || it->second.state != e.state;
  VrrpStatus& s = vrrp_[key];
  if (changed) {
    Log(ike::LogGroup::kKnl,
        e.reason == dp::api::VrrpReason::kReport
            ? absl::StrFormat("VRRP group %d on %s is %s", e.vrid, ifname, name(e.state))
            : absl::StrFormat("VRRP group %d on %s: %s -> %s", e.vrid, ifname, name(e.old_state),
                              name(e.state)));
    s.since = deps_.clock();
    ++s.transitions;
  }
  s.state = e.state;
  s.reason = e.reason;
  std::memcpy(&s.master_addr, e.master_addr, 4);
  s.master_priority = e.master_priority;
  if (e.state == dp::api::VrrpState::kInitialize && e.reason == dp::api::VrrpReason::kRemoved)
    vrrp_.erase(key);
  // Once every notify-ipsec group has been reported, unknown groups (added by a later commit)
  // no longer count as master.
  if (vrrp_resuming_) {
    bool all = true;
    for (const auto& [n, i] : model_.interfaces) {
      for (const config::VrrpGroup& g : i.vrrp) {
        if (!g.notify_ipsec || g.disabled) continue;
        auto ifx = ifindexes_.Find(n);
        all = all && ifx && vrrp_.count({*ifx, static_cast<uint8_t>(g.id)});
      }
    }
    if (all) vrrp_resuming_ = false;
  }
  ReleaseVrrpRestartRekeys();
  std::set<std::string> held;
  auto peers = IkePeers(&held);
  if (held == vrrp_held_) return;
  for (const std::string& p : held)
    if (!vrrp_held_.count(p))
      Log(ike::LogGroup::kKnl,
          absl::StrFormat("VRRP group %d on %s is %s: notify ipsec: stopping IKE for peer %s",
                          e.vrid, ifname, name(e.state), p));
  for (const std::string& p : vrrp_held_)
    if (!held.count(p))
      Log(ike::LogGroup::kKnl,
          absl::StrFormat("VRRP group %d on %s is %s: notify ipsec: starting IKE for peer %s",
                          e.vrid, ifname, name(e.state), p));
  vrrp_held_ = std::move(held);
  ike_->SetPeers(peers);
  FlushRemovals();
}

// The seed's line, with the interface and ruleset named as configured; the PID is the
// dataplane's, whose line it is.
void Vpnd::LogFirewallPacket(const dp::api::FwLogEvent& e) {
  FwLogNames names;
  names.interface = ifindexes_.Name(e.ifindex).value_or(absl::StrCat("if", e.ifindex));
  names.ruleset = firewall_ids_.RulesetName(e.ruleset_id).value_or(absl::StrCat(e.ruleset_id));
  auto it = model_.interfaces.find(names.interface);
  names.ethernet = it != model_.interfaces.end() && it->second.parent.empty() &&
                   (it->second.type == "dataplane" || it->second.type == "ethernet" ||
                    it->second.type == "bonding");
  int pid = deps_.link != nullptr ? deps_.link->server_pid() : 0;
  std::string text = absl::StrCat("dataplane[", pid, "]: ", FormatFwLogLine(e, names));
  absl::Time now = deps_.clock();
  deps_.log->WriteSyslogStyle(now, text);
  if (deps_.dataplane_syslog != nullptr)
    deps_.dataplane_syslog->WriteAs(now, pid, FormatFwLogLine(e, names));
  ++firewall_log_lines_;
}

uint32_t Vpnd::DataplaneWorkers() {
  if (deps_.telemetry == nullptr) return dataplane_workers_;
  // /portcullis/workers: each counter as an array with one value per worker.
  absl::StatusOr<std::vector<JsonValue>> r = deps_.telemetry->Query({"/portcullis/workers"});
  uint32_t n = 0;
  if (r.ok() && r->size() == 1 && (*r)[0].type == JsonValue::Type::kObject) {
    n = static_cast<uint32_t>((*r)[0].U64("workers"));  // the dataplane's --workers
  }
  if (n == 0) return dataplane_workers_;
  n = std::min(n, ike::kMaxChildResources);
  if (n != dataplane_workers_) {
    Log(ike::LogGroup::kCfg,
        absl::StrCat("the dataplane runs ", n, " worker(s)",
                     n > 1 && deps_.per_worker_sas
                         ? ": route-based tunnels offer a CHILD_SA per worker (RFC 9611, "
                           "SA_RESOURCE_INFO)"
                         : ""));
  }
  dataplane_workers_ = n;
  return n;
}

void Vpnd::Resync() {
  Log(ike::LogGroup::kKnl, "the dataplane restarted: sending the configuration and SAs again");
  vrrp_.clear();          // its VRRP groups start over; it reports them after the batch
  vrrp_resuming_ = true;  // the IKE SAs stay until the reports say otherwise
  // The new dataplane holds nothing (the link dropped the old one's unacknowledged batches:
  // their acks will never come).
  running_.clear();
  deps_.installer->ForgetAll();
  // Its counters start from zero: no baseline of the old one's may be subtracted.
  firewall_baselines_.ForgetAll();
  if (commit_pending_) {
    Log(ike::LogGroup::kCfg,
        "the commit still waiting for the old dataplane's ack is abandoned: the running "
        "configuration is sent again; load the file again to retry the change");
  }
  commit_pending_ = false;
  // The new dataplane starts empty: nothing to flush (a flush refused here would stay pending
  // and later remove SAs installed meanwhile).
  flush_before_commit_ = false;
  ScopedModel m;
  m.m = model_;
  resync_needed_ = false;
  absl::Status st = Commit(m.m, running_tree_, "");
  if (!st.ok()) {
    Log(ike::LogGroup::kKnl, std::string(st.message()));
    // Not sent although the dataplane lives (the ring stayed full, e.g. while it applied
    // another client's large batch): nothing else would ever send it, so try again.
    if (absl::IsUnavailable(st) && deps_.link->ServerAlive()) {
      resync_needed_ = true;
      next_resync_ = deps_.clock() + resync_backoff_;
      Log(ike::LogGroup::kKnl,
          absl::StrCat("the dataplane did not take the configuration: trying again in ",
                       absl::FormatDuration(resync_backoff_)));
      resync_backoff_ = std::min(resync_backoff_ * 2, absl::Seconds(30));
      return;
    }
  }
  resync_backoff_ = absl::Seconds(1);
  restart_rekeys_.clear();
  restart_rekeys_vrrp_.clear();
  restart_rekeys_followed_.clear();
  next_restart_rekeys_ = absl::InfinitePast();
  restart_rekeys_until_ = deps_.clock() + kRestartRekeyFollow;
  // vrrp_ was cleared above: every notify-ipsec group is unknown until the new dataplane
  // reports it. Rekeys from a virtual address wait for that report: as BACKUP the address is
  // the other router's, and the CREATE_CHILD_SA's answer would go there.
  const auto vips = NotifyIpsecAddresses();
  for (const ike::IkeSa* sa : ike_->Sas()) {
    const bool on_vip = vips.count(sa->config().local) > 0;
    for (const auto& c : sa->children()) {
      ChildUp(*sa, *c);
      if (on_vip) {
        restart_rekeys_vrrp_.emplace_back(c->spi_in, sa->config().local);
      } else {
        restart_rekeys_.push_back(c->spi_in);
      }
    }
  }
  deps_.installer->RestoreTraps();
  // The SAs went with the old dataplane's counters. Installed again, an outbound SA numbers its
  // packets from 1, under the peer's replay window, which drops all of them; an inbound one
  // starts with an empty window, which would take replays of what the peer sent before. New
  // CHILD SAs (make-before-break rekeys, a few per Poll) start both ends afresh.
  if (!restart_rekeys_.empty()) {
    Log(ike::LogGroup::kKnl,
        absl::StrCat("rekeying up to ", restart_rekeys_.size(),
                     " CHILD_SA(s): the new dataplane's outbound sequence numbers start again "
                     "at 1, under the peers' replay windows"));
  }
  if (!restart_rekeys_vrrp_.empty()) {
    Log(ike::LogGroup::kKnl,
        absl::StrCat("notify ipsec: ", restart_rekeys_vrrp_.size(),
                     " CHILD_SA(s) from a virtual address rekeyed once its VRRP group reports "
                     "MASTER"));
  }
}

void Vpnd::RekeyAfterRestart() {
  // 32 every 10 ms (3,200 a second): 10,000 tunnels rekey in about 3 s, with DH key pairs and
  // the peers' answers spread over it, and punted IKE served between the rounds. Once the queue
  // is empty, the rekeys still followed are looked at once a second.
  constexpr int kRestartRekeysPerRound = 32;
  constexpr absl::Duration kRestartRekeyRound = absl::Milliseconds(10);
  constexpr absl::Duration kFollowRound = absl::Seconds(1);
  // A rekey that fails (TEMPORARY_FAILURE in a collision: the peer asks to retry later) is asked
  // for again a second after the round that sees it failed (one to two seconds after the
  // failure), three times in all; after that, or kRestartRekeyFollow after the restart, the IKE
  // SA's own retry timer is what is left. One that was in flight at the restart and fails is
  // asked for again at the next round.
  constexpr int kRestartRekeyAttempts = 3;
  constexpr absl::Duration kRetryAfter = absl::Seconds(1);
  if (restart_rekeys_.empty() && restart_rekeys_followed_.empty() && restart_rekeys_vrrp_.empty()) {
    return;
  }
  const absl::Time now = deps_.clock();
  if (now < next_restart_rekeys_) return;
  if (now > restart_rekeys_until_) {
    restart_rekeys_followed_.clear();
    if (!restart_rekeys_vrrp_.empty()) {
      Log(ike::LogGroup::kKnl,
          absl::StrCat("notify ipsec: no VRRP report since the dataplane restart: ",
                       restart_rekeys_vrrp_.size(), " CHILD_SA(s) held for it are not rekeyed"));
      restart_rekeys_vrrp_.clear();
    }
  }
  // This round: those followed, and the next few of the queue (attempt 0).
  absl::flat_hash_map<uint32_t, FollowedRekey> round;
  for (const FollowedRekey& f : restart_rekeys_followed_) round.emplace(f.spi_in, f);
  restart_rekeys_followed_.clear();
  for (int i = 0; i < kRestartRekeysPerRound && !restart_rekeys_.empty(); ++i) {
    const uint32_t spi = restart_rekeys_.front();
    round.emplace(spi, FollowedRekey{spi, 0, absl::InfinitePast()});
    restart_rekeys_.pop_front();
  }
  if (round.empty()) {  // only rekeys held for VRRP wait
    next_restart_rekeys_ = now + kFollowRound;
    return;
  }
  // One walk over the IKE SAs for the round, not one per CHILD SA. Not found: gone meanwhile.
  std::vector<uint32_t> rekey;
  for (const ike::IkeSa* sa : ike_->Sas()) {
    if (sa->state() != ike::IkeSa::State::kEstablished) continue;  // its children go with it
    for (const auto& c : sa->children()) {
      auto it = round.find(c->spi_in);
      if (it == round.end()) continue;
      FollowedRekey f = it->second;
      if (c->state == ike::ChildSa::State::kRekeying ||
          (c->state == ike::ChildSa::State::kInstalled && c->rekey_at == absl::InfiniteFuture())) {
        // A rekey in flight, or one queued behind other exchanges (ours or the IKE SA's own:
        // an installed SA's rekey_at is otherwise finite): see how it ends, without queuing a
        // second.
        restart_rekeys_followed_.push_back(f);
      } else if (c->state == ike::ChildSa::State::kInstalled &&
                 f.attempts < kRestartRekeyAttempts) {
        // Not rekeyed since the restart, or its rekey failed (back to kInstalled, a retry
        // scheduled): the SA carrying traffic is still the reinstalled one.
        if (f.attempts > 0 && f.not_before == absl::InfinitePast()) {
          f.not_before = now + kRetryAfter;
        } else if (now >= f.not_before) {
          rekey.push_back(c->spi_in);
          ++f.attempts;
          f.not_before = absl::InfinitePast();
        }
        restart_rekeys_followed_.push_back(f);
      }
      // kRekeyed / kDeleting: replaced by SAs the new dataplane got fresh.
    }
  }
  next_restart_rekeys_ = now + (restart_rekeys_.empty() ? kFollowRound : kRestartRekeyRound);
  for (uint32_t spi : rekey) ike_->RekeyChild(spi, ike::IkeManager::SpiSide::kInbound);
}

Vpnd::Backlog Vpnd::Poll() {
  Backlog backlog = Backlog::kNone;
  if (deps_.link != nullptr) {
    if (deps_.link->CheckRestart() ||
        (resync_needed_ && deps_.clock() >= next_resync_ && deps_.link->ServerAlive())) {
      Resync();
    }
    backlog = PollPunts();
    deps_.link->PollEvents(256, [this](const dp::api::Event& e) { HandleEvent(e); });
    RekeyAfterRestart();
  }
  ReportInstallFailures();
  deps_.installer->RetryRemovals();
  // Results a budgeted HandleCryptoResults left (their wake-up is consumed).
  if (ike_->crypto_pending()) ike_->DrainCrypto(false, CryptoResultBudget());
  ike_->Tick();
  sessions_->Tick();
  FlushRemovals();
  ReleaseSends();
  return backlog;
}

// Punted IKE, as much as its answers fit. Each datagram gets at most one answer (a response, a
// COOKIE, an error notify), and an answer that finds every inject buffer of vpnd's slot in use is
// lost. Taking one burst of 64 per main-loop round instead had two faults under a flood of
// IKE_SA_INITs: vpnd took at most 64 every 2 ms (32,000 a second; the rest waited in the
// dataplane's queue, where a new peer's IKE_SA_INIT was as likely to be dropped as a spoofed
// one), and the 64 answers used every inject buffer, so what vpnd sent on its own right after
// (DPD, rekeys, retransmissions, from Tick) was lost. So: bursts only while their answers fit,
// kInjectReserve buffers always left for vpnd's own requests, and as many bursts as that allows,
// up to kPuntBurstsPerPoll; what waits stays in the dataplane, whose queues put the messages of
// established IKE SAs first.
Vpnd::Backlog Vpnd::PollPunts() {
  constexpr size_t kInjectBuffers = dp::api::kInjectBuffersPerSlot;
  constexpr size_t kInjectReserve = kInjectBuffers / 4;
  constexpr size_t kPuntBurst = 64;
  constexpr int kPuntBurstsPerPoll = 16;  // about 2 ms of IKE_SA_INITs: vpnctl stays responsive
  size_t taken = 0;
  for (int burst = 0; burst < kPuntBurstsPerPoll; ++burst) {
    const size_t in_flight = deps_.link->InjectsInFlight();
    if (in_flight + kInjectReserve >= kInjectBuffers) {
      // Busy only while something moves: a dataplane that stopped taking injects must not keep
      // vpnd polling at short intervals.
      const bool moving = taken > 0 || in_flight < injects_seen_;
      injects_seen_ = in_flight;
      return moving ? Backlog::kInjectsBusy : Backlog::kNone;
    }
    const size_t want = std::min(kPuntBurst, kInjectBuffers - kInjectReserve - in_flight);
    std::vector<ike::Datagram> got = deps_.link->PollPunt(want);
    for (const ike::Datagram& d : got) ReceiveIke(d);
    // The answers go out (and count as in flight) before the next burst is taken.
    ReleaseSends();
    taken += got.size();
    if (got.size() < want) {
      injects_seen_ = deps_.link->InjectsInFlight();
      return Backlog::kNone;
    }
  }
  injects_seen_ = deps_.link->InjectsInFlight();
  return Backlog::kMore;
}

std::vector<const ike::IkeSaConfig*> Vpnd::Peers() const {
  std::vector<const ike::IkeSaConfig*> out;
  for (const auto& p : peers_) out.push_back(p.get());
  return out;
}

absl::StatusOr<std::string> Vpnd::Command(const std::vector<std::string>& words) {
  absl::StatusOr<std::string> out =
      ConfigSessions::IsSessionRequest(words) ? sessions_->Handle(words) : RunCommand(words);
  FlushRemovals();  // a reset may have destroyed SAs
  ReleaseSends();
  return out;
}

absl::StatusOr<std::string> Vpnd::RunCommand(const std::vector<std::string>& words) {
  absl::StatusOr<ops::OpRequest> request = ops::ParseOpCommand(words);
  if (!request.ok()) return request.status();
  OpContext ctx{*ike_,
                *deps_.installer,
                Peers(),
                *deps_.log,
                deps_.clock(),
                [this](const std::string& path, std::vector<std::string>* warnings) {
                  return LoadFile(path, "", warnings);
                },
                [this] { return archive_->List(); }};
  ctx.model = &model_;
  ctx.telemetry = deps_.telemetry;
  ctx.failures = failures_.get();
  ctx.samples = &diagnose_samples_;
  ctx.pid = getpid();
  if (deps_.link != nullptr) ctx.restart = &resume_stats_;
  ctx.firewall_ids = &firewall_ids_;
  ctx.firewall_baselines = &firewall_baselines_;
  return RunOpCommand(ctx, *request);
}

absl::StatusOr<std::string> Vpnd::RunOp(const std::vector<std::string>& words) {
  return RunCommand(words);
}

absl::StatusOr<std::string> Vpnd::CommitTree(std::shared_ptr<const config::ConfigTree> tree,
                                             const std::string& via) {
  ScopedModel model;
  model.m = config::BuildModel(*tree);
  // What IKE will do with the new peers, told from the same mapping the commit makes.
  absl::StatusOr<IkeSetup> setup = MapConfig(model.m, reqids_);
  std::string impact = setup.ok() ? DescribeCommitImpact(peers_, setup->peers) : "";
  absl::Status st = Commit(model.m, std::move(tree), via);
  if (!st.ok()) return st;
  return impact.empty() ? "No peer or tunnel is reset, created or removed\n" : impact;
}

}  // namespace portcullis::vpnd
