#include "control/vpnd/channel_sa_installer.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/vpnd/sa_messages.h"
#include "dataplane/api/key_wipe.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

ChannelSaInstaller::ChannelSaInstaller(DataplaneLink& link, DataplaneLink::Clock clock,
                                       ike::LogSink* log)
    : link_(link), clock_(std::move(clock)), log_(log) {
  observer_ = link_.ObserveEvents([this](const dp::api::Event& e) {
    if (e.header.kind == dp::api::EventKind::kSaCounters) CountersHeard(e.body.sa_counters);
  });
}

ChannelSaInstaller::~ChannelSaInstaller() {
  // Batches still in flight carry handlers that point here.
  link_.StopObserving(observer_);
  link_.DropAckHandlers();
}

absl::Duration ChannelSaInstaller::RetryDelay(int attempts) {
  return std::min(absl::Seconds(60), absl::Seconds(1) * (1 << std::min(attempts - 1, 6)));
}

void ChannelSaInstaller::ApplyBindings(const std::map<uint32_t, uint32_t>& bindings) {
  for (const auto& [vti, spi] : bindings) {
    if (spi == 0) {
      vti_bindings_.erase(vti);
    } else {
      vti_bindings_[vti] = spi;
    }
  }
}

uint32_t ChannelSaInstaller::FallbackFor(uint32_t vti, const Installed& e) const {
  // A group's fallback stays on its worker while that worker's SA sends: the workers without a
  // member hand their packets to its owner, and moving it to another worker at every member's
  // install or rekey would let packets still in the old owner's ring be overtaken (the
  // dataplane keeps a rekey on the tunnel's owner for the same reason). Its own successor (same
  // worker) takes it over.
  if (e.worker == 0) return e.spi_out;
  auto b = vti_bindings_.find(vti);
  if (b == vti_bindings_.end()) return e.spi_out;
  auto in = in_by_spi_out_.find(b->second);
  if (in == in_by_spi_out_.end()) return e.spi_out;
  auto cur = installed_.find(in->second);
  if (cur == installed_.end() || &cur->second == &e || cur->second.removing ||
      !cur->second.sending || cur->second.worker == 0 || cur->second.worker == e.worker) {
    return e.spi_out;
  }
  return b->second;
}

VtiMembers ChannelSaInstaller::MembersOf(uint32_t vti) const {
  VtiMembers m{};
  std::array<uint64_t, dp::api::kMaxSaGroupMembers> order{};
  for (const auto& [spi_in, e] : installed_) {
    if (e.vti != vti || e.removing || !e.sending || e.worker == 0 || e.worker > m.size()) continue;
    const size_t w = e.worker - 1u;
    if (e.order > order[w]) {
      order[w] = e.order;
      m[w] = e.spi_out;
    }
  }
  return m;
}

void ChannelSaInstaller::Log(const std::string& text, const std::string& conn, uint32_t id,
                             bool child) {
  log_->Write(ike::LogRecord{clock_(), ike::LogGroup::kKnl, conn, id, child, text});
}

absl::StatusOr<uint32_t> ChannelSaInstaller::GetSpi() {
  // An SA still in the dataplane (a removal being retried, say) keeps its SPI although IKE
  // released it: a second SA with that SPI would be refused, or take the first one's traffic.
  return DrawChildSpi([this](uint32_t spi) { return SpiInUse(spi); });
}

void ChannelSaInstaller::AddSa(const ike::ChildSa& c, uint32_t vti) {
  std::string conn = c.name;
  if (c.vti && vti == 0) {
    Log(absl::StrCat("VTI ", c.vti_interface,
                     " is not configured: CHILD_SA "
                     "not installed"),
        conn, c.unique_id, true);
    return;
  }
  absl::StatusOr<std::vector<dp::api::Message>> msgs = SaMessages(c, vti, dp::api::Op::kAdd);
  if (!msgs.ok()) {
    Log(absl::StrCat("CHILD_SA not installed: ", msgs.status().message()), conn, c.unique_id, true);
    return;
  }
  // Removals IKE decided before this install reach the dataplane first.
  SendQueuedRemovals();
  // The responder of a rekey holds its outbound SA back until InstallOutbound (unless nothing
  // else sends for the VTI).
  const bool sending = c.outbound_active || (c.vti && !vti_bindings_.contains(vti));
  const bool had_binding = vti_bindings_.contains(vti);
  Installed entry;
  entry.spi_out = c.spi_out;
  entry.vti = c.vti ? vti : 0;
  entry.sa_ifindex = vti;
  entry.conn = conn;
  entry.unique_id = c.unique_id;
  entry.order = ++install_order_;
  entry.sending = sending;
  entry.worker = c.vti ? c.worker : 0;
  in_by_spi_out_[c.spi_out] = c.spi_in;
  installed_[c.spi_in] = std::move(entry);
  // The binding names the newest sending SA as the fallback and, in a group (RFC 9611), each
  // worker's newest sending SA as its member: a member's install (or rekey) keeps the others.
  std::optional<VtiMembers> previous_members;
  uint32_t fallback = c.spi_out;
  if (c.vti && sending) {
    fallback = FallbackFor(vti, installed_[c.spi_in]);
    // Only a group has members to look for (a walk over the installed SAs).
    VtiMembers members =
        c.worker != 0 || vti_members_.contains(vti) ? MembersOf(vti) : VtiMembers{};
    if (auto pm = vti_members_.find(vti); pm != vti_members_.end()) previous_members = pm->second;
    msgs->push_back(VtiBindingMessage(
        vti, fallback, had_binding ? dp::api::Op::kUpdate : dp::api::Op::kAdd, members));
    if (members == VtiMembers{}) {
      vti_members_.erase(vti);
    } else {
      vti_members_[vti] = members;
    }
  }
  uint32_t spi_in = c.spi_in, spi_out = c.spi_out, id = c.unique_id;
  bool is_vti = c.vti && sending;
  bool is_vfp = !c.vti && vti != 0;
  // The binding is recorded as sent, not as acknowledged: a removal computed before the ack
  // comes goes after this batch in the ring and must re-point or unbind the VTI too. A refusal
  // puts the previous binding back (unless something re-pointed it meanwhile).
  std::optional<uint32_t> previous_binding;
  if (is_vti) {
    if (auto b = vti_bindings_.find(vti); b != vti_bindings_.end()) previous_binding = b->second;
    vti_bindings_[vti] = fallback;
  }
  std::string vti_name = c.vti_interface;
  link_.Submit(
      *std::move(msgs), "CHILD_SA install", /*wait=*/true,
      [=, this](Outcome o, const absl::Status& st) {
        auto it = installed_.find(spi_in);
        if (o != Outcome::kApplied) {
          if (auto b = vti_bindings_.find(vti);
              is_vti && b != vti_bindings_.end() && b->second == fallback) {
            if (previous_binding) {
              b->second = *previous_binding;
            } else {
              vti_bindings_.erase(b);
            }
            if (previous_members) {
              vti_members_[vti] = *previous_members;
            } else {
              vti_members_.erase(vti);
            }
          }
          bool removing = it != installed_.end() && it->second.removing;
          if (it != installed_.end()) {
            in_by_spi_out_.erase(it->second.spi_out);
            installed_.erase(it);
          }
          if (removing) return;
          if (o == Outcome::kNotSent && !link_.ServerAlive()) {
            // Installed again by the resync once the dataplane is back.
            Log(std::string(st.message()), conn, id, true);
            return;
          }
          // IKE must not report an SA up that carries nothing: it deletes the CHILD SA and
          // creates it again later (outside this callback: the exchange is still running).
          Log(absl::StrCat(st.message(), ": the CHILD_SA is deleted and created again later"), conn,
              id, true);
          failed_installs_.push_back(InstallFailure{spi_in, std::string(st.message())});
          return;
        }
        Log(absl::StrFormat("installed ESP SAs %08x_i %08x_o in the dataplane%s", spi_in, spi_out,
                            is_vti   ? absl::StrCat(", ", vti_name, " bound to ",
                                                    absl::StrFormat("%08x", fallback))
                            : is_vfp ? absl::StrCat(", through ", vti_name)
                                     : ""),
            conn, id, true);
        if (it == installed_.end() || it->second.removing) return;
        it->second.applied = true;
        // Policies asked for before this ack came go now (a route-based SA has none).
        if (!is_vti && it->second.policies_to_add) SendPolicies(spi_in);
      });
}

void ChannelSaInstaller::AddPolicy(const ike::ChildSa& c) {
  auto it = installed_.find(c.spi_in);
  // Not installed (refused, its keys or VTI unusable), route-based, or already on its way out.
  if (it == installed_.end() || it->second.vti != 0 || it->second.removing) return;
  if (auto del = PolicyMessages(c, dp::api::Op::kDelete); del.ok()) {
    it->second.policy_deletes = *del;
    it->second.policy_keys.clear();
    for (const dp::api::Message& m : *del)
      it->second.policy_keys.push_back(PolicyKey(m.body.policy));
  }
  it->second.policies_to_add = PolicyAdd{
      PolicyMessages(c, dp::api::Op::kAdd),
      absl::StrCat(ike::TsListToString(c.local_ts), " === ", ike::TsListToString(c.remote_ts))};
  // Into a dataplane that holds the SAs only: else the install's ack sends them.
  if (it->second.applied) SendPolicies(c.spi_in);
}

void ChannelSaInstaller::SendPolicies(uint32_t spi_in) {
  auto it = installed_.find(spi_in);
  if (it == installed_.end() || !it->second.policies_to_add) return;
  PolicyAdd add = std::move(*it->second.policies_to_add);
  it->second.policies_to_add.reset();
  std::string conn = it->second.conn, selectors = add.selectors;
  uint32_t id = it->second.unique_id;
  auto on_policies = [this, spi_in, selectors, conn, id](Outcome po, const absl::Status& ps) {
    if (po == Outcome::kApplied) return;
    // Recorded as sent (below); refused, they are not there to delete.
    if (auto e = installed_.find(spi_in); e != installed_.end()) e->second.policies = false;
    if (absl::IsUnimplemented(ps)) {
      Log(absl::StrCat("policies for ", selectors,
                       " not installed: the dataplane answered Unimplemented (no SPD for "
                       "policy-based tunnels in this dataplane yet); the SAs are installed "
                       "but no traffic is selected into them: ",
                       ps.message()),
          conn, id, true);
    } else {
      Log(std::string(ps.message()), conn, id, true);
    }
  };
  if (!add.messages.ok()) {
    on_policies(Outcome::kRefused, add.messages.status());
    return;
  }
  // The selectors of a rekeyed SA's successor are its predecessor's, and the dataplane keys
  // policies by selectors: the successor's outbound policies re-point the existing ones to its
  // SA (its SAs are in, this comes after their ack), its inbound ones are already there.
  std::vector<dp::api::Message> msgs;
  std::map<std::string, std::optional<uint32_t>> previous;
  for (dp::api::Message& m : *add.messages) {
    const dp::api::PolicyBody& b = m.body.policy;
    std::string key = PolicyKey(b);
    auto held = spd_.find(key);
    if (held != spd_.end()) {
      if (b.direction != dp::api::Direction::kOut || held->second == b.out_spi ||
          !it->second.sending) {
        continue;
      }
      m.header.op = dp::api::Op::kUpdate;
    }
    previous.emplace(key, held == spd_.end() ? std::nullopt : std::optional(held->second));
    spd_[key] = b.out_spi;
    msgs.push_back(m);
  }
  it->second.policies = true;
  // The tunnel's trap, if any, ends here: its policies this SA has are taken over above (the
  // outbound ones re-pointed from no SA to it); any other (the peer narrowed differently) goes.
  std::map<std::string, dp::api::Message> taken;  // the trap's record, back if refused
  if (auto trap = traps_.find(it->second.conn); trap != traps_.end()) {
    taken = trap->second;
    for (auto& [key, del] : trap->second) {
      if (std::find(it->second.policy_keys.begin(), it->second.policy_keys.end(), key) !=
          it->second.policy_keys.end())
        continue;
      auto held = spd_.find(key);
      if (held == spd_.end()) continue;
      previous.emplace(key, held->second);
      spd_.erase(held);
      msgs.push_back(del);
    }
    traps_.erase(trap);
  }
  if (msgs.empty()) return;
  auto undo = [this, previous, on_policies, taken, conn](Outcome po, const absl::Status& ps) {
    if (po != Outcome::kApplied) {
      // The policies stay as they were: still the trap's (pointing at no SA).
      if (!taken.empty()) traps_[conn].insert(taken.begin(), taken.end());
      // Nothing of the batch went in: the SPD is as it was (unless changed since).
      for (const auto& [key, was] : previous) {
        if (was) {
          spd_[key] = *was;
        } else {
          spd_.erase(key);
        }
      }
    }
    on_policies(po, ps);
  };
  link_.Submit(std::move(msgs), "policy install", /*wait=*/true, undo);
}

const ChannelSaInstaller::Installed* ChannelSaInstaller::NextSender(
    const Installed* gone, const std::function<bool(const Installed&)>& holds) const {
  const Installed* best = nullptr;
  for (const auto& [spi_in, e] : installed_) {
    if (e.removing || &e == gone || !holds(e)) continue;
    if (best == nullptr || (e.sending && !best->sending) ||
        (e.sending == best->sending && e.order > best->order)) {
      best = &e;
    }
  }
  return best;
}

void ChannelSaInstaller::InstallOutbound(const ike::ChildSa& c) {
  auto it = installed_.find(c.spi_in);
  if (it == installed_.end() || it->second.removing) return;
  Installed& e = it->second;
  e.sending = true;
  e.order = ++install_order_;
  // The tunnel's other SAs stop sending. The loser of a CHILD rekey collision installs its
  // redundant SA as sending (the collision is settled after the install) and then sends with
  // the old one again: the redundant SA's install ack, still to come, must not move the
  // outbound policy to it, since the peer drops its inbound half on our Delete.
  for (auto& [other_spi_in, other] : installed_) {
    if (&other == &e || other.removing) continue;
    bool same_tunnel =
        e.vti != 0 ? other.vti == e.vti
                   : std::any_of(other.policy_keys.begin(), other.policy_keys.end(),
                                 [&e](const std::string& k) {
                                   return std::find(e.policy_keys.begin(), e.policy_keys.end(),
                                                    k) != e.policy_keys.end();
                                 });
    // In a group (RFC 9611) only the SA it replaces on its own worker: the other workers'
    // members go on.
    if (same_tunnel && (e.worker == 0 || other.worker == e.worker)) other.sending = false;
  }
  std::vector<dp::api::Message> msgs;
  std::map<std::string, std::optional<uint32_t>> previous;
  std::optional<uint32_t> previous_binding;
  if (e.vti != 0) {
    auto b = vti_bindings_.find(e.vti);
    auto pm = vti_members_.find(e.vti);
    const VtiMembers members =
        e.worker != 0 || pm != vti_members_.end() ? MembersOf(e.vti) : VtiMembers{};
    const VtiMembers sent = pm == vti_members_.end() ? VtiMembers{} : pm->second;
    const uint32_t fallback = FallbackFor(e.vti, e);
    if (b != vti_bindings_.end() && b->second == fallback && members == sent) return;
    if (b != vti_bindings_.end()) previous_binding = b->second;
    msgs.push_back(VtiBindingMessage(
        e.vti, fallback, b == vti_bindings_.end() ? dp::api::Op::kAdd : dp::api::Op::kUpdate,
        members));
    vti_bindings_[e.vti] = fallback;
    if (members == VtiMembers{}) {
      vti_members_.erase(e.vti);
    } else {
      vti_members_[e.vti] = members;
    }
  } else if (e.policies) {
    // Policies not sent yet go out with this SA as their target once its install is
    // acknowledged (SendPolicies).
    for (size_t i = 0; i < e.policy_deletes.size() && i < e.policy_keys.size(); ++i) {
      dp::api::Message m = e.policy_deletes[i];
      if (m.body.policy.direction != dp::api::Direction::kOut) continue;
      auto held = spd_.find(e.policy_keys[i]);
      if (held != spd_.end() && held->second == e.spi_out) continue;
      m.header.op = held == spd_.end() ? dp::api::Op::kAdd : dp::api::Op::kUpdate;
      m.body.policy.out_spi = e.spi_out;
      previous.emplace(e.policy_keys[i],
                       held == spd_.end() ? std::nullopt : std::optional(held->second));
      spd_[e.policy_keys[i]] = e.spi_out;
      msgs.push_back(m);
    }
  }
  if (msgs.empty()) return;
  std::string conn = e.conn;
  uint32_t id = e.unique_id, spi_out = e.spi_out, vti = e.vti;
  link_.Submit(
      std::move(msgs), "outbound SA switch", /*wait=*/true,
      [=, this](Outcome o, const absl::Status& st) {
        if (o == Outcome::kApplied) {
          Log(absl::StrFormat("outbound ESP SA %08x_o sends from now on", spi_out), conn, id, true);
          return;
        }
        // Nothing changed in the dataplane: the previous SA sends on.
        if (vti != 0) {
          if (auto b = vti_bindings_.find(vti); b != vti_bindings_.end() && b->second == spi_out) {
            if (previous_binding) {
              b->second = *previous_binding;
            } else {
              vti_bindings_.erase(b);
            }
          }
        }
        for (const auto& [key, was] : previous) {
          if (auto h = spd_.find(key); h != spd_.end() && h->second == spi_out) {
            if (was) {
              h->second = *was;
            } else {
              spd_.erase(h);
            }
          }
        }
        Log(absl::StrCat("outbound SA switch refused: ", st.message()), conn, id, true);
      });
}

std::string ChannelSaInstaller::PolicyKey(const dp::api::PolicyBody& b) {
  return absl::StrCat(static_cast<int>(b.direction), "|", static_cast<int>(b.family), "|",
                      absl::string_view(reinterpret_cast<const char*>(b.src.bytes), 16), "/",
                      b.src_prefix_length, "|",
                      absl::string_view(reinterpret_cast<const char*>(b.dst.bytes), 16), "/",
                      b.dst_prefix_length, "|", b.protocol, "|", b.src_port_low, "-",
                      b.src_port_high, "|", b.dst_port_low, "-", b.dst_port_high);
}

ChannelSaInstaller::SpdChanges ChannelSaInstaller::SpdNow(const SpdChanges& keys) const {
  SpdChanges now;
  for (const auto& [key, change] : keys) {
    auto held = spd_.find(key);
    now[key] = held == spd_.end() ? std::nullopt : std::optional(held->second);
  }
  return now;
}

void ChannelSaInstaller::ApplySpd(const SpdChanges& spd, const SpdChanges* before) {
  for (const auto& [key, out] : spd) {
    if (before != nullptr) {
      // Changed since the batch was built (a batch sent after it, applied first): newer.
      auto was = before->find(key);
      auto held = spd_.find(key);
      std::optional<uint32_t> now = held == spd_.end() ? std::nullopt : std::optional(held->second);
      if (was != before->end() && was->second != now) continue;
    }
    if (out) {
      spd_[key] = *out;
    } else {
      spd_.erase(key);
    }
  }
}

void ChannelSaInstaller::DelSa(const ike::ChildSa& c) {
  auto it = installed_.find(c.spi_in);
  // Never installed (refused, or its VTI missing), or already on its way out.
  if (it == installed_.end() || it->second.removing) return;
  it->second.removing = true;
  removals_.push_back(c.spi_in);
}

void ChannelSaInstaller::UpdateSa(const ike::ChildSa& c) {
  auto it = installed_.find(c.spi_in);
  if (it == installed_.end() || it->second.removing) return;
  absl::StatusOr<std::vector<dp::api::Message>> msgs =
      SaMessages(c, it->second.sa_ifindex, dp::api::Op::kUpdate);
  if (!msgs.ok()) {
    Log(absl::StrCat("outbound SA not updated: ", msgs.status().message()), c.name, c.unique_id,
        true);
    return;
  }
  // Only the outbound SA sends to the peer's address and port; the inbound one (its replay
  // window) is left alone.
  std::vector<dp::api::Message> out;
  for (dp::api::Message& m : *msgs) {
    if (m.body.sa.direction == dp::api::Direction::kOut) out.push_back(m);
  }
  dp::api::SecureWipe(msgs->data(), msgs->size() * sizeof(dp::api::Message));
  SendQueuedRemovals();
  std::string conn = c.name, to = c.remote.ToString();
  uint32_t id = c.unique_id, spi_out = c.spi_out;
  link_.Submit(std::move(out), "outbound SA update", /*wait=*/true,
               [this, conn, id, spi_out, to](Outcome o, const absl::Status& st) {
                 Log(o == Outcome::kApplied
                         ? absl::StrFormat("outbound ESP SA %08x now sends to %s", spi_out, to)
                         : std::string(st.message()),
                     conn, id, true);
               });
}

std::vector<dp::api::Message> ChannelSaInstaller::RemovalMessages(
    const std::vector<uint32_t>& spis, std::map<uint32_t, uint32_t>* bindings, SpdChanges* spd) {
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
    bool bound_stays = false;
    for (const auto& [spi_in, e] : installed_) {
      if (e.vti == vti && !e.removing && e.spi_out == bound->second) bound_stays = true;
    }
    const Installed* next = NextSender(nullptr, [vti](const Installed& e) { return e.vti == vti; });
    // A member going (RFC 9611) leaves the binding: its worker is back on the fallback (or on
    // its successor, a rekey's new SA for the same worker).
    const VtiMembers members = MembersOf(vti);
    auto pm = vti_members_.find(vti);
    const bool members_change = members != (pm == vti_members_.end() ? VtiMembers{} : pm->second);
    if (members == VtiMembers{}) {
      vti_members_.erase(vti);
    } else {
      vti_members_[vti] = members;
    }
    if (bound_stays && !members_change) continue;
    if (bound_stays) {
      out.push_back(VtiBindingMessage(vti, bound->second, dp::api::Op::kUpdate, members));
    } else if (next != nullptr) {
      out.push_back(VtiBindingMessage(vti, next->spi_out, dp::api::Op::kUpdate, members));
      (*bindings)[vti] = next->spi_out;
    } else {
      out.push_back(VtiBindingMessage(vti, 0, dp::api::Op::kDelete));
      (*bindings)[vti] = 0;
    }
  }
  // A policy another SA of the tunnel holds too (a rekeyed SA and its successor) stays; if it
  // points at an SA going, it is re-pointed to the newest one staying, before any SA goes.
  for (uint32_t spi : spis) {
    auto it = installed_.find(spi);
    if (it == installed_.end() || !it->second.policies) continue;
    const Installed& gone = it->second;
    for (size_t i = 0; i < gone.policy_deletes.size() && i < gone.policy_keys.size(); ++i) {
      const std::string& key = gone.policy_keys[i];
      if (spd->count(key) && !(*spd)[key]) continue;  // deleted by this batch already
      auto held = spd_.find(key);
      if (held == spd_.end()) continue;
      // Policies sent, or to be sent once its SAs' install is acknowledged (that batch is
      // ahead of this one in the ring).
      const Installed* next = NextSender(&gone, [&key](const Installed& e) {
        return (e.policies || e.policies_to_add) &&
               std::find(e.policy_keys.begin(), e.policy_keys.end(), key) != e.policy_keys.end();
      });
      uint32_t now_out = spd->count(key) ? *spd->find(key)->second : held->second;
      const dp::api::Message& del = gone.policy_deletes[i];
      if (next == nullptr && trapped_ && trapped_(gone.conn)) {
        // A trap: the policy stays, the outbound one pointing at no SA, so the tunnel's
        // traffic raises acquires (and is dropped) instead of being routed in the clear.
        if (del.body.policy.direction == dp::api::Direction::kOut && now_out != 0) {
          dp::api::Message m = del;
          m.header.op = dp::api::Op::kUpdate;
          m.body.policy.out_spi = 0;
          out.push_back(m);
          (*spd)[key] = 0;
        }
        dp::api::Message kept = del;
        kept.body.policy.out_spi = 0;
        traps_[gone.conn][key] = kept;
      } else if (next == nullptr) {
        out.push_back(del);
        (*spd)[key] = std::nullopt;
      } else if (gone.policy_deletes[i].body.policy.direction == dp::api::Direction::kOut &&
                 now_out == gone.spi_out) {
        dp::api::Message m = gone.policy_deletes[i];
        m.header.op = dp::api::Op::kUpdate;
        m.body.policy.out_spi = next->spi_out;
        out.push_back(m);
        (*spd)[key] = next->spi_out;
      }
    }
  }
  for (uint32_t spi : spis) {
    auto it = installed_.find(spi);
    if (it == installed_.end()) continue;
    for (dp::api::Direction dir : {dp::api::Direction::kIn, dp::api::Direction::kOut}) {
      dp::api::Message m = dp::api::NewMessage(dp::api::MessageKind::kSa, dp::api::Op::kDelete);
      m.body.sa.spi = dir == dp::api::Direction::kIn ? spi : it->second.spi_out;
      m.body.sa.direction = dir;
      out.push_back(m);
    }
  }
  return out;
}

void ChannelSaInstaller::RemovalDone(uint32_t spi_in, const std::string& how) {
  retry_.erase(spi_in);
  auto it = installed_.find(spi_in);
  if (it == installed_.end()) return;
  Log(absl::StrFormat("removed ESP SAs %08x_i %08x_o from the dataplane%s", spi_in,
                      it->second.spi_out, how),
      it->second.conn, it->second.unique_id, true);
  in_by_spi_out_.erase(it->second.spi_out);
  installed_.erase(it);
}

void ChannelSaInstaller::ReleaseTraps() {
  if (traps_.empty()) return;
  std::vector<dp::api::Message> msgs;
  SpdChanges spd;
  std::map<std::string, std::map<std::string, dp::api::Message>> released;
  // Tunnels with an SA installed or on its way: its policies take the trap over.
  std::set<std::string> live;
  for (const auto& [spi_in, e] : installed_)
    if (!e.removing) live.insert(e.conn);
  for (auto trap = traps_.begin(); trap != traps_.end();) {
    const std::string& conn = trap->first;
    if ((trapped_ && trapped_(conn)) || live.contains(conn)) {
      ++trap;
      continue;
    }
    for (const auto& [key, del] : trap->second) {
      if (!spd_.contains(key) || spd.contains(key)) continue;
      msgs.push_back(del);
      spd[key] = std::nullopt;
    }
    Log(absl::StrCat("trap of ", conn, " removed: its policies go"), conn);
    released.insert(*trap);
    trap = traps_.erase(trap);
  }
  if (msgs.empty()) return;
  // Recorded as sent; refused, the policies (pointing at no SA: they drop, never leak) are
  // still there: the trap comes back and the next flush tries again. NotFound: gone already.
  ApplySpd(spd);
  link_.Submit(std::move(msgs), "trap removal", /*wait=*/true,
               [this, spd, released](Outcome o, const absl::Status& st) {
                 if (o == Outcome::kApplied || !link_.ServerAlive()) return;
                 Log(absl::StrCat("trap policies not removed: ", st.message()));
                 if (absl::IsNotFound(st)) return;
                 for (const auto& [key, gone] : spd) {
                   if (!spd_.contains(key)) spd_[key] = 0;
                 }
                 for (const auto& [conn, policies] : released) traps_.insert({conn, policies});
               });
}

void ChannelSaInstaller::RestoreTraps() {
  std::vector<dp::api::Message> msgs;
  SpdChanges added;
  for (const auto& [conn, policies] : traps_) {
    for (const auto& [key, del] : policies) {
      if (spd_.contains(key)) continue;
      dp::api::Message m = del;
      m.header.op = dp::api::Op::kAdd;
      spd_[key] = 0;
      added[key] = 0;
      msgs.push_back(m);
    }
  }
  if (msgs.empty()) return;
  // Not applied: the SPD does not hold them (a later SA of the tunnel must Add, not Update),
  // and the next flush sends them again.
  link_.Submit(
      std::move(msgs), "trap policies", /*wait=*/true,
      [this, added](Outcome o, const absl::Status& st) {
        if (o == Outcome::kApplied || !link_.ServerAlive()) return;
        Log(absl::StrCat("trap policies not installed: ", st.message(), ": sending them again"));
        for (const auto& [key, out] : added) {
          if (auto h = spd_.find(key); h != spd_.end() && h->second == 0) spd_.erase(h);
        }
        restore_traps_ = true;
      });
}

void ChannelSaInstaller::SetPolicyTunnels(const std::vector<ike::ChildConfig>& tunnels) {
  policy_tunnels_.clear();
  for (const ike::ChildConfig& c : tunnels) {
    if (c.vti) continue;
    ike::ChildSa& t = policy_tunnels_[c.name];
    t.name = c.name;
    t.reqid = c.reqid;
    t.local_ts = c.local_ts;
    t.remote_ts = c.remote_ts;
  }
  traps_changed_ = true;
}

std::vector<dp::api::Message> ChannelSaInstaller::TrapsFromConfig(
    const std::function<bool(const std::string&)>& trapped, SpdChanges* added) {
  std::vector<dp::api::Message> out;
  if (!trapped || policy_tunnels_.empty()) return out;
  std::set<std::string> live;
  for (const auto& [spi_in, e] : installed_)
    if (!e.removing) live.insert(e.conn);
  for (const auto& [conn, t] : policy_tunnels_) {
    if (traps_.contains(conn) || live.contains(conn) || !trapped(conn)) continue;
    absl::StatusOr<std::vector<dp::api::Message>> del = PolicyMessages(t, dp::api::Op::kDelete);
    if (!del.ok() || del->empty()) {
      if (!del.ok()) {
        Log(absl::StrCat("no trap policies for ", conn, ": ", del.status().message()), conn);
      }
      continue;
    }
    auto& trap = traps_[conn];
    for (dp::api::Message m : *del) {
      const std::string key = PolicyKey(m.body.policy);
      trap[key] = m;  // out_spi 0: pointing at no SA
      if (spd_.contains(key) || added->contains(key)) continue;
      m.header.op = dp::api::Op::kAdd;
      spd_[key] = 0;
      (*added)[key] = 0;
      out.push_back(m);
    }
    Log(absl::StrCat("trap of ", conn,
                     ": its policies from the configured selectors (no SA of it holds them)"),
        conn);
  }
  return out;
}

std::vector<dp::api::Message> ChannelSaInstaller::ConfiguredTraps(
    const std::function<bool(const std::string& child)>& trapped) {
  SpdChanges added;
  return TrapsFromConfig(trapped, &added);
}

size_t ChannelSaInstaller::trap_policies() const {
  size_t n = 0;
  for (const auto& [conn, policies] : traps_) n += policies.size();
  return n;
}

void ChannelSaInstaller::FlushRemovals() {
  SendQueuedRemovals();
  if (restore_traps_) {
    restore_traps_ = false;
    RestoreTraps();
  }
  if (traps_changed_ && clock_() >= trap_retry_at_) {
    // A trap begun for a tunnel whose last SA held no policies (or that had none): from the
    // configuration. Not applied: not recorded, tried again (1 s, doubling, at most 60 s).
    traps_changed_ = false;
    SpdChanges added;
    std::vector<dp::api::Message> msgs = TrapsFromConfig(trapped_, &added);
    if (!msgs.empty()) {
      link_.Submit(
          std::move(msgs), "trap policies", /*wait=*/true,
          [this, added](Outcome o, const absl::Status& st) {
            if (o == Outcome::kApplied) {
              trap_retries_ = 0;
              return;
            }
            if (!link_.ServerAlive()) return;  // resync sends everything again
            traps_changed_ = true;
            trap_retry_at_ = clock_() + RetryDelay(++trap_retries_);
            Log(absl::StrCat("trap policies not installed: ", st.message(), ": trying again"));
            for (const auto& [key, out] : added) {
              if (auto h = spd_.find(key); h != spd_.end() && h->second == 0) {
                spd_.erase(h);
              }
            }
            for (auto& [conn, policies] : traps_) {
              std::erase_if(policies, [&](const auto& kv) { return added.contains(kv.first); });
            }
            std::erase_if(traps_, [](const auto& kv) { return kv.second.empty(); });
          });
    }
  }
  // After the event's installs: a tunnel whose SA is on its way keeps its trap's policies for
  // that SA to take over.
  ReleaseTraps();
}

void ChannelSaInstaller::SendQueuedRemovals() {
  if (removals_.empty()) return;
  std::vector<uint32_t> spis = std::move(removals_);
  removals_.clear();
  SendRemovals(spis, "CHILD_SA removal");
}

void ChannelSaInstaller::SendRemovals(const std::vector<uint32_t>& spis, const std::string& what) {
  std::map<uint32_t, uint32_t> bindings;
  SpdChanges spd;
  std::vector<dp::api::Message> msgs = RemovalMessages(spis, &bindings, &spd);
  if (msgs.empty()) {
    for (uint32_t spi : spis) RemovalDone(spi, "");
    return;
  }
  SpdChanges before = SpdNow(spd);
  link_.Submit(std::move(msgs), what, /*wait=*/true,
               [this, spis, bindings, spd, before](Outcome o, const absl::Status& st) {
                 if (o == Outcome::kApplied) {
                   ApplyBindings(bindings);
                   ApplySpd(spd, &before);
                   for (uint32_t spi : spis) RemovalDone(spi, "");
                   return;
                 }
                 if (o == Outcome::kNotSent && !link_.ServerAlive()) return;  // resync
                 // The SAs and their keys are still in the dataplane: keep trying.
                 absl::Time now = clock_();
                 for (uint32_t spi : spis) {
                   Retry& r = retry_[spi];
                   ++r.attempts;
                   r.next = now + RetryDelay(r.attempts);
                 }
                 Log(absl::StrCat(st.message(), ": retrying the removal of ", spis.size(),
                                  spis.size() == 1 ? " CHILD_SA" : " CHILD_SAs"));
               });
}

void ChannelSaInstaller::RemoveOneByOne(uint32_t spi_in) {
  std::map<uint32_t, uint32_t> bindings;
  SpdChanges spd;
  std::vector<dp::api::Message> msgs = RemovalMessages({spi_in}, &bindings, &spd);
  bool done = true;
  absl::Status failed;
  for (const dp::api::Message& m : msgs) {
    absl::Status st;
    Outcome o =
        link_.Submit({m}, "CHILD_SA removal (one message at a time)", /*wait=*/true, nullptr, &st);
    if (o == Outcome::kApplied || (o == Outcome::kRefused && absl::IsNotFound(st))) continue;
    done = false;
    failed = st;
    if (o != Outcome::kRefused) break;  // no answer: try again later
  }
  if (done) {
    ApplyBindings(bindings);
    ApplySpd(spd);
    RemovalDone(spi_in, " (retried)");
    return;
  }
  Retry& r = retry_[spi_in];
  ++r.attempts;
  r.next = clock_() + RetryDelay(r.attempts);
  auto it = installed_.find(spi_in);
  Log(absl::StrCat(failed.message(), ": removal attempt ", r.attempts, " failed, retrying in ",
                   absl::FormatDuration(r.next - clock_())),
      it != installed_.end() ? it->second.conn : "",
      it != installed_.end() ? it->second.unique_id : 0, true);
}

void ChannelSaInstaller::RetryRemovals() {
  if (retry_.empty() || link_.unacknowledged() > 0) return;
  absl::Time now = clock_();
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

std::vector<InstallFailure> ChannelSaInstaller::TakeInstallFailures() {
  std::vector<InstallFailure> failed = std::move(failed_installs_);
  failed_installs_.clear();
  return failed;
}

void ChannelSaInstaller::ForgetAll() {
  vti_bindings_.clear();
  vti_members_.clear();
  spd_.clear();
  installed_.clear();
  in_by_spi_out_.clear();
  removals_.clear();
  retry_.clear();
  failed_installs_.clear();
}

std::vector<dp::api::Message> ChannelSaInstaller::Adopt(
    const std::vector<const ike::ChildSa*>& children,
    const std::function<uint32_t(const ike::ChildSa&)>& vti_of) {
  // Oldest first: the newest sending SA of a VTI or selector ends up holding it, as installs
  // in this order would have left it.
  std::vector<const ike::ChildSa*> order = children;
  std::stable_sort(order.begin(), order.end(), [](const ike::ChildSa* a, const ike::ChildSa* b) {
    return a->installed < b->installed;
  });
  std::map<uint32_t, uint32_t> bindings;             // vti -> outbound SPI
  std::map<std::string, dp::api::Message> policies;  // key -> add
  for (const ike::ChildSa* c : order) {
    const uint32_t vti = c->vti ? vti_of(*c) : 0;
    if (c->vti && vti == 0) {
      Log(absl::StrCat("VTI ", c->vti_interface,
                       " is not configured: SAs of the resumed CHILD_SA "
                       "not adopted"),
          c->name, c->unique_id, true);
      continue;
    }
    Installed e;
    e.spi_out = c->spi_out;
    e.vti = vti;
    // A policy-based tunnel's VFP, which its SAs name (an update must keep naming it).
    e.sa_ifindex = c->vti ? vti : vti_of(*c);
    e.applied = true;
    e.conn = c->name;
    e.unique_id = c->unique_id;
    e.order = ++install_order_;
    e.sending = c->outbound_active;
    e.worker = c->vti ? c->worker : 0;
    if (vti != 0) {
      if (e.sending || !bindings.contains(vti)) bindings[vti] = c->spi_out;
    } else {
      absl::StatusOr<std::vector<dp::api::Message>> add = PolicyMessages(*c, dp::api::Op::kAdd);
      absl::StatusOr<std::vector<dp::api::Message>> del = PolicyMessages(*c, dp::api::Op::kDelete);
      if (add.ok() && del.ok()) {
        e.policies = true;
        e.policy_deletes = *del;
        for (const dp::api::Message& m : *del) e.policy_keys.push_back(PolicyKey(m.body.policy));
        for (const dp::api::Message& m : *add) {
          const std::string key = PolicyKey(m.body.policy);
          if (e.sending || !policies.contains(key)) policies[key] = m;
        }
      } else {
        Log(absl::StrCat("policies of the resumed CHILD_SA not adopted: ",
                         (add.ok() ? del.status() : add.status()).message()),
            c->name, c->unique_id, true);
      }
    }
    in_by_spi_out_[c->spi_out] = c->spi_in;
    installed_[c->spi_in] = std::move(e);
  }
  std::vector<dp::api::Message> out;
  for (const auto& [vti, spi] : bindings) {
    vti_bindings_[vti] = spi;
    const VtiMembers members = MembersOf(vti);
    if (members != VtiMembers{}) vti_members_[vti] = members;
    out.push_back(VtiBindingMessage(vti, spi, dp::api::Op::kAdd, members));
  }
  for (const auto& [key, m] : policies) {
    spd_[key] = m.body.policy.out_spi;
    out.push_back(m);
  }
  return out;
}

void ChannelSaInstaller::CountersHeard(const dp::api::SaCountersEvent& c) {
  SaCounters counters{c.bytes, c.packets};
  if (c.direction == dp::api::Direction::kIn) {
    if (auto it = installed_.find(c.spi); it != installed_.end()) it->second.counters_in = counters;
    return;
  }
  if (auto by_out = in_by_spi_out_.find(c.spi); by_out != in_by_spi_out_.end()) {
    if (auto it = installed_.find(by_out->second); it != installed_.end()) {
      it->second.counters_out = counters;
    }
  }
}

SaPlacement ChannelSaInstaller::Placement(uint32_t spi_in) const {
  auto it = installed_.find(spi_in);
  if (it == installed_.end()) return SaPlacement::kNotInstalled;
  return it->second.applied ? SaPlacement::kInstalled : SaPlacement::kInstalling;
}

absl::StatusOr<SaCounters> ChannelSaInstaller::QuerySa(uint32_t spi, SaDirection dir) const {
  const std::optional<SaCounters>* heard = nullptr;
  if (dir == SaDirection::kIn) {
    if (auto it = installed_.find(spi); it != installed_.end()) heard = &it->second.counters_in;
  } else {
    if (auto by_out = in_by_spi_out_.find(spi); by_out != in_by_spi_out_.end()) {
      if (auto it = installed_.find(by_out->second); it != installed_.end()) {
        heard = &it->second.counters_out;
      }
    }
  }
  const char* name = dir == SaDirection::kIn ? "inbound" : "outbound";
  if (heard == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("no %s SA %08x in the dataplane as far as vpnd knows", name, spi));
  }
  if (!heard->has_value()) {
    return absl::NotFoundError(
        absl::StrFormat("the dataplane has reported no counters for %s SA %08x yet", name, spi));
  }
  return **heard;
}

}  // namespace portcullis::vpnd
