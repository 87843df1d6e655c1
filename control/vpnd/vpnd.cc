#include "control/vpnd/vpnd.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/config/config_loader.h"
#include "control/vpnd/sa_messages.h"
#include "control/vpnd/show_render.h"
#include "dataplane/api/key_wipe.h"
#include "ike/sa/proposal_string.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

namespace {

dp::api::PacketMeta MetaFor(const ike::Datagram& d) {
  dp::api::PacketMeta meta;
  std::memset(&meta, 0, sizeof meta);
  meta.src = ToChannelAddr(d.src.address.bytes.data(), d.src.address.family);
  meta.dst = ToChannelAddr(d.dst.address.bytes.data(), d.dst.address.family);
  meta.src_port = d.src.port;
  meta.dst_port = d.dst.port;
  meta.family = d.dst.address.family == 4 ? dp::api::Family::kIpv4 : dp::api::Family::kIpv6;
  meta.flags = d.non_esp_marker ? dp::api::kNonEspMarker : 0;
  return meta;
}

ike::Datagram FromPunt(absl::Span<const uint8_t> data, const dp::api::PacketMeta& m) {
  ike::Datagram d;
  size_t n = m.family == dp::api::Family::kIpv4 ? 4 : 16;
  d.src.address = *ike::Address::FromBytes(absl::MakeConstSpan(m.src.bytes, n));
  d.dst.address = *ike::Address::FromBytes(absl::MakeConstSpan(m.dst.bytes, n));
  d.src.port = m.src_port;
  d.dst.port = m.dst_port;
  d.non_esp_marker = (m.flags & dp::api::kNonEspMarker) != 0;
  d.data.assign(data.begin(), data.end());
  return d;
}

}  // namespace

void WipeSecrets(config::Model& model) {
  for (config::Peer& p : model.peers) {
    if (!p.psk.empty()) OPENSSL_cleanse(p.psk.data(), p.psk.size());
    p.psk.clear();
  }
}

Vpnd::Vpnd(VpndDeps deps) : deps_(std::move(deps)) {
  ike::IkeManager::Sender send = deps_.send;
  if (deps_.dataplane != nullptr) {
    // Through deps_.dataplane as it is at each send: a re-attach replaces the channel, and the
    // old one leads nowhere.
    send = [this](const ike::Datagram& d) {
      absl::Status st = deps_.dataplane->Inject(d.data, MetaFor(d));
      if (!st.ok()) {
        Log(ike::LogGroup::kNet,
            absl::StrCat("inject to ", d.dst.ToString(), " failed: ", st.message()));
      }
    };
    generation_ = deps_.dataplane->generation();
  }
  ike_ = std::make_unique<ike::IkeManager>(deps_.clock, send, deps_.log, deps_.keylog, this);
}

Vpnd::~Vpnd() {
  WipeSecrets(model_);
}

void Vpnd::Log(ike::LogGroup g, const std::string& text, const std::string& conn, uint32_t id,
               bool child) {
  deps_.log->Write(ike::LogRecord{deps_.clock(), g, conn, id, child, text});
}

absl::Status Vpnd::LoadFile(const std::string& path) {
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
  ScopedModel model;
  model.m = config::BuildModel(loaded->tree);
  absl::Status st = Commit(model.m);
  if (st.ok()) {
    config_path_ = path;
    Log(ike::LogGroup::kCfg, absl::StrCat("loaded configuration ", path));
  }
  return st;
}

Vpnd::Outcome Vpnd::Submit(std::vector<dp::api::Message> batch, const std::string& what, bool wait,
                           AckHandler on_ack, absl::Status* status) {
  absl::Status st;
  Outcome out = Outcome::kApplied;
  if (!batch.empty() && deps_.dataplane != nullptr) {
    absl::StatusOr<uint64_t> seq = deps_.dataplane->SendBatch(absl::MakeSpan(batch));
    dp::api::SecureWipe(batch.data(), batch.size() * sizeof(dp::api::Message));
    if (!seq.ok()) {
      st = absl::Status(
          seq.status().code(),
          absl::StrCat(what, ": sending to the dataplane failed: ", seq.status().message()));
      out = Outcome::kNotSent;
    } else {
      // With an earlier batch still unacknowledged the dataplane is slow or hung: waiting again
      // would stall IKE by ack_timeout per message.
      bool waited = wait && pending_.empty();
      if (waited) st = deps_.dataplane->WaitAck(*seq, deps_.ack_timeout);
      if (!waited || absl::IsDeadlineExceeded(st)) {
        if (waited) {
          Log(ike::LogGroup::kKnl,
              absl::StrCat(what, ": no ack for batch ", *seq, " within ",
                           absl::FormatDuration(deps_.ack_timeout),
                           "; its outcome is unknown until the dataplane answers (not waiting "
                           "for acks meanwhile)"));
        }
        pending_[*seq] = Pending{what, deps_.clock(), std::move(on_ack)};
        if (status != nullptr) {
          *status = absl::DeadlineExceededError(
              absl::StrCat(what, ": the dataplane has not acknowledged batch ", *seq,
                           " yet: the outcome is unknown; it is settled when the ack comes"));
        }
        return Outcome::kUnknown;
      }
      if (absl::IsUnavailable(st)) {
        // The dataplane is gone: the resync after it comes back sends everything again.
        st = absl::Status(st.code(), absl::StrCat(what, ": ", st.message()));
        out = Outcome::kNotSent;
      } else if (!st.ok()) {
        st = absl::Status(st.code(),
                          absl::StrCat(what, ": the dataplane refused the batch: ", st.message()));
        out = Outcome::kRefused;
      }
    }
  }
  if (status != nullptr) *status = st;
  if (on_ack) on_ack(out, st);
  return out;
}

void Vpnd::SettleAck(const dp::api::AckEvent& ack) {
  auto it = pending_.find(ack.batch_seq);
  if (it == pending_.end()) return;  // from before a resync, or for a batch already settled
  Pending p = std::move(it->second);
  pending_.erase(it);
  absl::Status st = dp::api::AckStatus(ack);
  Outcome o = st.ok() ? Outcome::kApplied : Outcome::kRefused;
  if (!st.ok()) {
    st = absl::Status(st.code(),
                      absl::StrCat(p.what, ": the dataplane refused the batch: ", st.message()));
  }
  Log(ike::LogGroup::kKnl, absl::StrCat(p.what, ": batch ", ack.batch_seq, " acknowledged late (",
                                        absl::FormatDuration(deps_.clock() - p.sent),
                                        " after it was sent): ", st.ok() ? "applied" : "refused"));
  if (p.on_ack) p.on_ack(o, st);
}

absl::Status Vpnd::Commit(const config::Model& model) {
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
  DataplaneObjects desired = PlanDataplane(model, ifindexes_);
  std::vector<dp::api::Message> batch = DiffBatch(running_, desired);
  size_t n = batch.size();
  bool flush = flush_before_commit_ && deps_.dataplane != nullptr;
  if (flush) {
    dp::api::Message m = dp::api::NewMessage(dp::api::MessageKind::kFlush, dp::api::Op::kDelete);
    m.body.flush.scope = dp::api::kFlushAll;
    batch.insert(batch.begin(), m);
  }
  if (batch.empty() || deps_.dataplane == nullptr) {
    CompleteCommit(model, *setup, std::move(desired));
    return absl::OkStatus();
  }
  // What the commit completes with, whenever the ack comes; the PSKs in the copy are wiped.
  struct State {
    ScopedModel model;
    IkeSetup setup;
    DataplaneObjects desired;
    bool returned = false;
  };
  auto state = std::make_shared<State>();
  state->model.m = model;
  state->setup = *setup;
  state->desired = std::move(desired);
  commit_pending_ = true;
  absl::Status st;
  Outcome o = Submit(
      std::move(batch), "commit", /*wait=*/true,
      [this, state, n, flush](Outcome o, const absl::Status& s) {
        commit_pending_ = false;
        if (o != Outcome::kApplied) {
          if (state->returned)
            Log(ike::LogGroup::kCfg, absl::StrCat(s.message(), ": nothing changed"));
          return;
        }
        if (flush) flush_before_commit_ = false;
        Log(ike::LogGroup::kKnl,
            absl::StrCat("dataplane configuration committed (", flush ? "flushed, then " : "", n,
                         n == 1 ? " change)" : " changes)"));
        CompleteCommit(state->model.m, state->setup, std::move(state->desired));
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

void Vpnd::CompleteCommit(const config::Model& model, const IkeSetup& setup,
                          DataplaneObjects desired) {
  running_ = std::move(desired);
  WipeSecrets(model_);
  model_ = model;
  peers_ = setup.peers;
  ike::ManagerOptions opts = setup.options;
  opts.reinitiate_delay = ike_->options().reinitiate_delay;
  ike_->SetOptions(opts);
  ike_->SetPeers(setup.peers);
  Log(ike::LogGroup::kCfg, absl::StrCat("configuration committed: ", setup.peers.size(),
                                        setup.peers.size() == 1 ? " peer" : " peers"));
  FlushRemovals();
}

uint32_t Vpnd::VtiIfindex(const ike::ChildSa& c) {
  if (!c.vti) return 0;
  return ifindexes_.Find(c.vti_interface).value_or(0);
}

void Vpnd::ChildUp(const ike::IkeSa&, const ike::ChildSa& c) {
  std::string conn = c.name;
  if (deps_.dataplane == nullptr) {
    Log(ike::LogGroup::kKnl,
        absl::StrFormat("kernel transport: CHILD_SA not installed (SAs are only logged): ESP "
                        "SPIs %08x_i %08x_o, %s %s === %s%s",
                        c.spi_in, c.spi_out, ike::SuiteString(c.suite),
                        ike::TsListToString(c.local_ts), ike::TsListToString(c.remote_ts),
                        c.encap ? absl::StrCat(", UDP-encapsulated to ", c.remote.ToString()) : ""),
        conn, c.unique_id, true);
    return;
  }
  uint32_t vti = VtiIfindex(c);
  if (c.vti && vti == 0) {
    Log(ike::LogGroup::kKnl,
        absl::StrCat("VTI ", c.vti_interface,
                     " is not configured: CHILD_SA "
                     "not installed"),
        conn, c.unique_id, true);
    return;
  }
  absl::StatusOr<std::vector<dp::api::Message>> msgs = SaMessages(c, vti, dp::api::Op::kAdd);
  if (!msgs.ok()) {
    Log(ike::LogGroup::kKnl, absl::StrCat("CHILD_SA not installed: ", msgs.status().message()),
        conn, c.unique_id, true);
    return;
  }
  // Removals IKE decided before this install reach the dataplane first.
  FlushRemovals();
  if (c.vti) {
    auto it = vti_bindings_.find(vti);
    msgs->push_back(VtiBindingMessage(
        vti, c.spi_out, it == vti_bindings_.end() ? dp::api::Op::kAdd : dp::api::Op::kUpdate));
  }
  Installed entry;
  entry.spi_out = c.spi_out;
  entry.vti = vti;
  entry.conn = conn;
  entry.unique_id = c.unique_id;
  entry.order = ++install_order_;
  absl::StatusOr<std::vector<dp::api::Message>> policies;
  if (!c.vti) {
    policies = PolicyMessages(c, dp::api::Op::kAdd);
    if (auto del = PolicyMessages(c, dp::api::Op::kDelete); del.ok()) entry.policy_deletes = *del;
  }
  installed_[c.spi_in] = std::move(entry);
  uint32_t spi_in = c.spi_in, spi_out = c.spi_out, id = c.unique_id;
  bool is_vti = c.vti;
  // The binding is recorded as sent, not as acknowledged: a removal computed before the ack
  // comes goes after this batch in the ring and must re-point or unbind the VTI too. A refusal
  // puts the previous binding back (unless something re-pointed it meanwhile).
  std::optional<uint32_t> previous_binding;
  if (is_vti) {
    if (auto b = vti_bindings_.find(vti); b != vti_bindings_.end()) previous_binding = b->second;
    vti_bindings_[vti] = spi_out;
  }
  std::string vti_name = c.vti_interface;
  std::string selectors =
      absl::StrCat(ike::TsListToString(c.local_ts), " === ", ike::TsListToString(c.remote_ts));
  Submit(
      *std::move(msgs), "CHILD_SA install", /*wait=*/true,
      [=, this](Outcome o, const absl::Status& st) mutable {
        auto it = installed_.find(spi_in);
        if (o != Outcome::kApplied) {
          if (auto b = vti_bindings_.find(vti);
              is_vti && b != vti_bindings_.end() && b->second == spi_out) {
            if (previous_binding) {
              b->second = *previous_binding;
            } else {
              vti_bindings_.erase(b);
            }
          }
          bool removing = it != installed_.end() && it->second.removing;
          if (it != installed_.end()) installed_.erase(it);
          if (removing) return;
          if (o == Outcome::kNotSent && !deps_.dataplane->ServerAlive()) {
            // Installed again by the resync once the dataplane is back.
            Log(ike::LogGroup::kKnl, std::string(st.message()), conn, id, true);
            return;
          }
          // IKE must not report an SA up that carries nothing: it deletes the CHILD SA and
          // creates it again later (outside this callback: the exchange is still running).
          Log(ike::LogGroup::kKnl,
              absl::StrCat(st.message(), ": the CHILD_SA is deleted and created again later"), conn,
              id, true);
          failed_installs_.emplace_back(spi_in, std::string(st.message()));
          return;
        }
        Log(ike::LogGroup::kKnl,
            absl::StrFormat("installed ESP SAs %08x_i %08x_o in the dataplane%s", spi_in, spi_out,
                            is_vti ? absl::StrCat(", ", vti_name, " bound to ",
                                                  absl::StrFormat("%08x", spi_out))
                                   : ""),
            conn, id, true);
        if (is_vti || it == installed_.end() || it->second.removing) return;
        auto on_policies = [this, spi_in, selectors, conn, id](Outcome po, const absl::Status& ps) {
          if (po == Outcome::kApplied) return;
          // Recorded as sent (below); refused, they are not there to delete.
          if (auto e = installed_.find(spi_in); e != installed_.end()) e->second.policies = false;
          if (absl::IsUnimplemented(ps)) {
            Log(ike::LogGroup::kKnl,
                absl::StrCat("policies for ", selectors,
                             " not installed: the dataplane answered Unimplemented (no SPD for "
                             "policy-based tunnels in this dataplane yet); the SAs are installed "
                             "but no traffic is selected into them: ",
                             ps.message()),
                conn, id, true);
          } else {
            Log(ike::LogGroup::kKnl, std::string(ps.message()), conn, id, true);
          }
        };
        if (!policies.ok()) {
          on_policies(Outcome::kRefused, policies.status());
          return;
        }
        it->second.policies = true;
        Submit(*std::move(policies), "policy install", /*wait=*/true, on_policies);
      });
}

void Vpnd::ChildDown(const ike::IkeSa&, const ike::ChildSa& c) {
  if (deps_.dataplane == nullptr) return;
  auto it = installed_.find(c.spi_in);
  // Never installed (refused, or its VTI missing), or already on its way out.
  if (it == installed_.end() || it->second.removing) return;
  it->second.removing = true;
  removals_.push_back(c.spi_in);
}

void Vpnd::ChildUpdated(const ike::IkeSa&, const ike::ChildSa& c) {
  if (deps_.dataplane == nullptr) {
    Log(ike::LogGroup::kKnl,
        absl::StrFormat("kernel transport: CHILD_SA with SPIs %08x_i %08x_o now between %s and %s",
                        c.spi_in, c.spi_out, c.local.ToString(), c.remote.ToString()),
        c.name, c.unique_id, true);
    return;
  }
  auto it = installed_.find(c.spi_in);
  if (it == installed_.end() || it->second.removing) return;
  absl::StatusOr<std::vector<dp::api::Message>> msgs =
      SaMessages(c, it->second.vti, dp::api::Op::kUpdate);
  if (!msgs.ok()) {
    Log(ike::LogGroup::kKnl, absl::StrCat("outbound SA not updated: ", msgs.status().message()),
        c.name, c.unique_id, true);
    return;
  }
  // Only the outbound SA sends to the peer's address and port; the inbound one (its replay
  // window) is left alone.
  std::vector<dp::api::Message> out;
  for (dp::api::Message& m : *msgs) {
    if (m.body.sa.direction == dp::api::Direction::kOut) out.push_back(m);
  }
  dp::api::SecureWipe(msgs->data(), msgs->size() * sizeof(dp::api::Message));
  FlushRemovals();
  std::string conn = c.name, to = c.remote.ToString();
  uint32_t id = c.unique_id, spi_out = c.spi_out;
  Submit(std::move(out), "outbound SA update", /*wait=*/true,
         [this, conn, id, spi_out, to](Outcome o, const absl::Status& st) {
           Log(ike::LogGroup::kKnl,
               o == Outcome::kApplied
                   ? absl::StrFormat("outbound ESP SA %08x now sends to %s", spi_out, to)
                   : std::string(st.message()),
               conn, id, true);
         });
}

std::vector<dp::api::Message> Vpnd::RemovalMessages(const std::vector<uint32_t>& spis,
                                                    std::map<uint32_t, uint32_t>* bindings) {
  std::vector<dp::api::Message> out;
  // A VTI whose bound SA goes is bound to its newest remaining SA (a rekeyed successor), or
  // unbound; bindings first, so the dataplane never points at a deleted SA.
  std::set<uint32_t> vtis;
  for (uint32_t spi : spis) {
    if (auto it = installed_.find(spi); it != installed_.end() && it->second.vti != 0) {
      vtis.insert(it->second.vti);
    }
  }
  for (uint32_t vti : vtis) {
    auto bound = vti_bindings_.find(vti);
    if (bound == vti_bindings_.end()) continue;
    const Installed* next = nullptr;
    bool bound_stays = false;
    for (const auto& [spi_in, e] : installed_) {
      if (e.vti != vti || e.removing) continue;
      if (e.spi_out == bound->second) bound_stays = true;
      if (next == nullptr || e.order > next->order) next = &e;
    }
    if (bound_stays) continue;
    if (next != nullptr) {
      out.push_back(VtiBindingMessage(vti, next->spi_out, dp::api::Op::kUpdate));
      (*bindings)[vti] = next->spi_out;
    } else {
      out.push_back(VtiBindingMessage(vti, 0, dp::api::Op::kDelete));
      (*bindings)[vti] = 0;
    }
  }
  for (uint32_t spi : spis) {
    auto it = installed_.find(spi);
    if (it == installed_.end()) continue;
    if (it->second.policies) {
      out.insert(out.end(), it->second.policy_deletes.begin(), it->second.policy_deletes.end());
    }
    for (dp::api::Direction dir : {dp::api::Direction::kIn, dp::api::Direction::kOut}) {
      dp::api::Message m = dp::api::NewMessage(dp::api::MessageKind::kSa, dp::api::Op::kDelete);
      m.body.sa.spi = dir == dp::api::Direction::kIn ? spi : it->second.spi_out;
      m.body.sa.direction = dir;
      out.push_back(m);
    }
  }
  return out;
}

void Vpnd::RemovalDone(uint32_t spi_in, const std::string& how) {
  retry_.erase(spi_in);
  auto it = installed_.find(spi_in);
  if (it == installed_.end()) return;
  Log(ike::LogGroup::kKnl,
      absl::StrFormat("removed ESP SAs %08x_i %08x_o from the dataplane%s", spi_in,
                      it->second.spi_out, how),
      it->second.conn, it->second.unique_id, true);
  installed_.erase(it);
}

void Vpnd::FlushRemovals() {
  if (removals_.empty()) return;
  std::vector<uint32_t> spis = std::move(removals_);
  removals_.clear();
  SendRemovals(spis, "CHILD_SA removal");
}

void Vpnd::SendRemovals(const std::vector<uint32_t>& spis, const std::string& what) {
  std::map<uint32_t, uint32_t> bindings;
  std::vector<dp::api::Message> msgs = RemovalMessages(spis, &bindings);
  if (msgs.empty()) {
    for (uint32_t spi : spis) RemovalDone(spi, "");
    return;
  }
  Submit(std::move(msgs), what, /*wait=*/true,
         [this, spis, bindings](Outcome o, const absl::Status& st) {
           if (o == Outcome::kApplied) {
             for (const auto& [vti, spi] : bindings) {
               if (spi == 0) {
                 vti_bindings_.erase(vti);
               } else {
                 vti_bindings_[vti] = spi;
               }
             }
             for (uint32_t spi : spis) RemovalDone(spi, "");
             return;
           }
           if (o == Outcome::kNotSent && !deps_.dataplane->ServerAlive()) return;  // resync
           // The SAs and their keys are still in the dataplane: keep trying.
           absl::Time now = deps_.clock();
           for (uint32_t spi : spis) {
             Retry& r = retry_[spi];
             ++r.attempts;
             r.next = now + std::min(absl::Seconds(60),
                                     absl::Seconds(1) * (1 << std::min(r.attempts - 1, 6)));
           }
           Log(ike::LogGroup::kKnl,
               absl::StrCat(st.message(), ": retrying the removal of ", spis.size(),
                            spis.size() == 1 ? " CHILD_SA" : " CHILD_SAs"));
         });
}

void Vpnd::RemoveOneByOne(uint32_t spi_in) {
  std::map<uint32_t, uint32_t> bindings;
  std::vector<dp::api::Message> msgs = RemovalMessages({spi_in}, &bindings);
  bool done = true;
  absl::Status failed;
  for (const dp::api::Message& m : msgs) {
    absl::Status st;
    Outcome o =
        Submit({m}, "CHILD_SA removal (one message at a time)", /*wait=*/true, nullptr, &st);
    if (o == Outcome::kApplied || (o == Outcome::kRefused && absl::IsNotFound(st))) continue;
    done = false;
    failed = st;
    if (o != Outcome::kRefused) break;  // no answer: try again later
  }
  if (done) {
    for (const auto& [vti, spi] : bindings) {
      if (spi == 0) {
        vti_bindings_.erase(vti);
      } else {
        vti_bindings_[vti] = spi;
      }
    }
    RemovalDone(spi_in, " (retried)");
    return;
  }
  Retry& r = retry_[spi_in];
  ++r.attempts;
  r.next = deps_.clock() +
           std::min(absl::Seconds(60), absl::Seconds(1) * (1 << std::min(r.attempts - 1, 6)));
  auto it = installed_.find(spi_in);
  Log(ike::LogGroup::kKnl,
      absl::StrCat(failed.message(), ": removal attempt ", r.attempts, " failed, retrying in ",
                   absl::FormatDuration(r.next - deps_.clock())),
      it != installed_.end() ? it->second.conn : "",
      it != installed_.end() ? it->second.unique_id : 0, true);
}

void Vpnd::RetryRemovals() {
  if (retry_.empty() || !pending_.empty()) return;
  absl::Time now = deps_.clock();
  std::vector<std::pair<uint32_t, int>> due;
  for (const auto& [spi, r] : retry_) {
    if (now >= r.next) due.emplace_back(spi, r.attempts);
  }
  for (const auto& [spi, attempts] : due) {
    if (!installed_.count(spi)) {
      retry_.erase(spi);
      continue;
    }
    // First again as a whole (the dataplane may have been busy), then one message at a time.
    if (attempts < 2) {
      SendRemovals({spi}, "CHILD_SA removal (retry)");
    } else {
      RemoveOneByOne(spi);
    }
  }
}

void Vpnd::ReportInstallFailures() {
  std::vector<std::pair<uint32_t, std::string>> failed = std::move(failed_installs_);
  failed_installs_.clear();
  for (const auto& [spi, reason] : failed) ike_->ChildInstallFailed(spi, reason);
}

void Vpnd::HandleDatagram(const ike::Datagram& d) {
  ike_->HandleDatagram(d);
  FlushRemovals();
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
      if (!ike_->RekeyChild(x.spi)) {
        Log(ike::LogGroup::kKnl, absl::StrFormat("no CHILD_SA with SPI %08x", x.spi));
      }
      break;
    }
    case dp::api::EventKind::kSeqExhausted: {
      uint32_t spi = e.body.seq_exhausted.spi;
      Log(ike::LogGroup::kKnl,
          absl::StrFormat("dataplane: sequence numbers of SA %08x exhausted, rekeying", spi));
      ike_->RekeyChild(spi);
      break;
    }
    case dp::api::EventKind::kSaCounters: {
      const auto& c = e.body.sa_counters;
      ike_->UpdateCounters(c.spi, c.direction == dp::api::Direction::kIn, c.bytes, c.packets);
      break;
    }
    case dp::api::EventKind::kAcquire: {
      uint32_t reqid = e.body.acquire.reqid;
      for (const auto& p : peers_) {
        for (const auto& ch : p->children) {
          if (ch.reqid != reqid) continue;
          bool up = false;
          for (const ike::IkeSa* sa : ike_->Sas()) up |= sa->config().name == p->name;
          if (!up) {
            Log(ike::LogGroup::kKnl, absl::StrCat("acquire for ", ch.name, ", initiating"));
            (void)ike_->Initiate(p->name);
          }
        }
      }
      break;
    }
    case dp::api::EventKind::kAck:
      SettleAck(e.body.ack);
      break;
    default:
      break;
  }
}

void Vpnd::Resync() {
  Log(ike::LogGroup::kKnl, "the dataplane restarted: sending the configuration and SAs again");
  // The new dataplane holds nothing, and acks of the old one's batches will never come.
  running_.clear();
  vti_bindings_.clear();
  installed_.clear();
  removals_.clear();
  retry_.clear();
  failed_installs_.clear();
  pending_.clear();
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
  absl::Status st = Commit(m.m);
  if (!st.ok()) Log(ike::LogGroup::kKnl, std::string(st.message()));
  for (const ike::IkeSa* sa : ike_->Sas()) {
    for (const auto& c : sa->children()) ChildUp(*sa, *c);
  }
}

void Vpnd::CheckDataplane() {
  dp::api::ChannelClient* dp = deps_.dataplane;
  if (dp->ServerAlive()) {
    if (dp->generation() != generation_) {
      generation_ = dp->generation();
      Resync();
    }
    return;
  }
  if (!dataplane_gone_) {
    dataplane_gone_ = true;
    Log(ike::LogGroup::kKnl, "the dataplane is gone: IKE goes on, waiting for it to come back");
  }
  if (!deps_.reattach || deps_.clock() < next_reattach_) return;
  next_reattach_ = deps_.clock() + absl::Seconds(1);
  absl::StatusOr<dp::api::ChannelClient> c = deps_.reattach();
  if (!c.ok()) return;
  reattached_.emplace(*std::move(c));
  deps_.dataplane = &*reattached_;
  dataplane_gone_ = false;
  generation_ = deps_.dataplane->generation();
  Log(ike::LogGroup::kKnl, "re-attached to the dataplane");
  Resync();
}

void Vpnd::Poll() {
  if (deps_.dataplane != nullptr) {
    CheckDataplane();
    dp::api::ChannelClient* dp = deps_.dataplane;
    std::vector<ike::Datagram> punted;
    dp->PollPunt(64, [&](absl::Span<const uint8_t> data, const dp::api::PacketMeta& m) {
      punted.push_back(FromPunt(data, m));
    });
    for (const auto& d : punted) ike_->HandleDatagram(d);
    std::vector<dp::api::Event> events;
    dp->PollEvents(256, [&](const dp::api::Event& e) { events.push_back(e); });
    for (const auto& e : events) HandleEvent(e);
    ReportInstallFailures();
    RetryRemovals();
  }
  ike_->Tick();
  FlushRemovals();
}

std::vector<const ike::IkeSaConfig*> Vpnd::Peers() const {
  std::vector<const ike::IkeSaConfig*> out;
  for (const auto& p : peers_) out.push_back(p.get());
  return out;
}

absl::StatusOr<std::string> Vpnd::Command(const std::vector<std::string>& words) {
  absl::StatusOr<std::string> out = RunCommand(words);
  FlushRemovals();  // a reset may have destroyed SAs
  return out;
}

absl::StatusOr<std::string> Vpnd::RunCommand(const std::vector<std::string>& words_in) {
  std::vector<std::string> w;
  ShowFilter f;
  for (const std::string& x : words_in) {
    if (x == "--json" || x == "json") {
      f.json = true;
    } else {
      w.push_back(x);
    }
  }
  auto at = [&](size_t i) { return i < w.size() ? w[i] : std::string(); };
  // "... peer X [tunnel N|vti]" from position i.
  auto parse_peer = [&](size_t i) -> absl::Status {
    if (at(i) != "peer" && !at(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected '", at(i), "'"));
    }
    f.peer = at(i + 1);
    if (at(i + 2) == "tunnel") {
      if (at(i + 3) == "vti") {
        f.vti_only = true;
      } else {
        uint32_t n = 0;
        if (!absl::SimpleAtoi(at(i + 3), &n)) {
          return absl::InvalidArgumentError("tunnel needs a number or vti");
        }
        f.tunnel = n;
      }
    }
    if (!f.peer.empty() && ike_->FindPeer(f.peer) == nullptr) {
      return absl::NotFoundError(absl::StrCat("peer ", f.peer, " is not configured"));
    }
    return absl::OkStatus();
  };
  absl::Time now = deps_.clock();
  if (at(0) == "show" && at(1) == "vpn" && at(2) == "ike" && at(3) == "sa") {
    if (auto st = parse_peer(4); !st.ok()) return st;
    return ShowIkeSa(*ike_, Peers(), f, now);
  }
  if (at(0) == "show" && at(1) == "vpn" && at(2) == "ipsec" && at(3) == "sa") {
    if (at(4) == "detail") {
      if (auto st = parse_peer(5); !st.ok()) return st;
      return ShowIpsecSaDetail(*ike_, Peers(), f, now);
    }
    if (at(4) == "statistics") {
      if (auto st = parse_peer(5); !st.ok()) return st;
      return ShowIpsecSaStatistics(*ike_, Peers(), f);
    }
    if (auto st = parse_peer(4); !st.ok()) return st;
    return ShowIpsecSa(*ike_, Peers(), f, now);
  }
  if (at(0) == "show" && at(1) == "vpn" && at(2) == "debug") {
    if (auto st = parse_peer(3); !st.ok()) return st;
    return ShowDebugPeer(*ike_, Peers(), f, now);
  }
  if (at(0) == "show" && at(1) == "log" && at(2) == "vpn" && at(3) == "ipsec") {
    std::string filter;
    if (at(4) == "peer" && !at(5).empty()) {
      const ike::IkeSaConfig* c = ike_->FindPeer(at(5));
      filter = "<" + (c ? c->name : "peer-" + at(5));
    }
    return deps_.log->Recent(filter);
  }
  if (at(0) == "reset" && at(1) == "vpn" && at(2) == "ipsec-peer" && !at(3).empty()) {
    std::optional<uint32_t> tunnel;
    if (at(4) == "tunnel" || at(4) == "vti") {
      uint32_t n = 0;
      if (at(4) == "tunnel" && at(5) != "vti") {
        if (!absl::SimpleAtoi(at(5), &n)) {
          return absl::InvalidArgumentError("tunnel needs a number or vti");
        }
        tunnel = n;
      }
    }
    absl::Status st = ike_->Reset(at(3), tunnel);
    if (!st.ok()) return st;
    return absl::StrCat("Resetting ", tunnel ? absl::StrCat("tunnel ", *tunnel, " of ") : "",
                        "peer ", at(3), "\n");
  }
  if (at(0) == "load" && !at(1).empty()) {
    absl::Status st = LoadFile(at(1));
    if (!st.ok()) return st;
    return absl::StrCat("Loaded ", at(1), "\n");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command '", absl::StrJoin(words_in, " "), "'"));
}

}  // namespace portcullis::vpnd
