#include "control/vpnd/diagnose.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/config/firewall_eval.h"
#include "control/vpnd/json_writer.h"
#include "ike/sa/proposal_string.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

namespace {

using ike::ChildSa;
using ike::IkeSa;

bool Installed(const ChildSa& c) {
  return c.state == ChildSa::State::kInstalled || c.state == ChildSa::State::kRekeying;
}

std::string Seconds(absl::Duration d) {
  return absl::StrCat(std::max<int64_t>(0, absl::ToInt64Seconds(d)), " s");
}

// The DH groups a proposal list names ("MODP_2048", "ECP_384", "CURVE_25519").
std::set<std::string> DhTokens(absl::string_view list) {
  std::set<std::string> out;
  for (absl::string_view t : absl::StrSplit(list, absl::ByAnyChar("/ ,:"), absl::SkipEmpty())) {
    if (absl::StartsWith(t, "MODP_") || absl::StartsWith(t, "ECP_") ||
        absl::StartsWith(t, "CURVE_")) {
      out.emplace(t);
    }
  }
  return out;
}

std::string GroupsText(const std::set<std::string>& g) {
  return g.empty() ? "no DH group (no PFS)" : absl::StrJoin(g, ", ");
}

// What a failure's notify usually means, in the seeds' words.
std::string Meaning(const PeerFailure& f) {
  if (f.notify == "NO_PROPOSAL_CHOSEN") {
    return f.phase2 ? "the ESP proposals differ (encryption, hash or PFS group)"
                    : "the IKE proposals differ (encryption, hash or DH group)";
  }
  if (f.notify == "AUTHENTICATION_FAILED") {
    return "the pre-shared secret or the IDs differ: our authentication id must be the peer's "
           "remote-id and the other way round";
  }
  if (f.notify == "TS_UNACCEPTABLE") {
    return "the traffic selectors differ: each side's local prefix must be the other's remote "
           "prefix";
  }
  if (f.notify == "INVALID_MAJOR_VERSION") {
    return "the IKE versions differ: Portcullis speaks IKEv2 only; set the peer's ike-version "
           "(key-exchange) to 2 (ikev2)";
  }
  if (f.notify == "INVALID_KE_PAYLOAD") return "the DH groups (or PFS groups) differ";
  if (f.notify == "TIMEOUT") {
    return "the peer never answered: check reachability (step b) and the firewalls on the way";
  }
  if (f.notify == "INVALID_IKE_SPI") return "a stale SA: reset the peer";
  return "see `show log vpn ipsec peer` for the exchange";
}

void AddFailure(DiagnoseStep& s, const PeerFailure& f, absl::Time now) {
  s.details.push_back(
      absl::StrCat("last failure ", Seconds(now - f.time), " ago: ", f.notify, ": ", Meaning(f)));
  s.details.push_back(absl::StrCat("we offered: ", f.offered.empty() ? "-" : f.offered));
  s.details.push_back(
      absl::StrCat("peer sent:  ", f.received.empty() ? "(not in its answer)" : f.received));
}

// The PFS verdict a phase 2 failure gives, if it is about PFS: the DH groups of both lists
// differ, or the peer refused a CREATE_CHILD_SA offer that carried a group (IKE_AUTH's carries
// none, so the same proposals passed there).
std::optional<std::string> PfsMismatch(const PeerFailure& f) {
  if (!f.phase2) return std::nullopt;
  if (f.notify == "INVALID_KE_PAYLOAD") {
    return absl::StrCat("the peer wants DH group ", f.received, " for PFS, we use ", f.offered);
  }
  if (f.notify != "NO_PROPOSAL_CHOSEN") return std::nullopt;
  std::set<std::string> ours = DhTokens(f.offered), theirs = DhTokens(f.received);
  if (!f.received.empty() && ours != theirs) {
    return absl::StrCat("PFS differs: we offer ", GroupsText(ours), ", the peer ",
                        GroupsText(theirs));
  }
  if (f.received.empty() && !ours.empty()) {
    return absl::StrCat("the peer refused our CREATE_CHILD_SA (rekey) proposals with PFS ",
                        GroupsText(ours), ": its PFS setting (pfs / dh-group) must match ours");
  }
  return std::nullopt;
}

const config::Peer* ModelPeer(const DiagnoseInputs& in) {
  return in.model == nullptr ? nullptr : in.model->FindPeer(in.peer->peer_key);
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kHint:
      return "HINT";
    case Verdict::kNotApplicable:
      break;
  }
  return "N/A";
}

int DiagnoseReport::failed() const {
  int n = 0;
  for (const DiagnoseStep& s : steps) n += s.verdict == Verdict::kFail;
  return n;
}

const DiagnoseStep* DiagnoseReport::first_failure() const {
  for (const DiagnoseStep& s : steps) {
    if (s.verdict == Verdict::kFail) return &s;
  }
  return nullptr;
}

CounterSample SampleCounters(const ike::IkeManager& m, const ike::IkeSaConfig& peer,
                             absl::Time now) {
  CounterSample s;
  s.time = now;
  for (const IkeSa* sa : m.Sas()) {
    if (sa->config().name != peer.name) continue;
    for (const auto& ch : sa->children()) {
      ike::ChildCounters n = m.Counters(*ch);
      s.bytes[ch->unique_id] = {n.bytes_in, n.bytes_out};
    }
  }
  return s;
}

namespace {

uint32_t HostOrder(const config::IpAddress& a) {
  return (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) | (uint32_t{a.bytes[2]} << 8) |
         a.bytes[3];
}

// Step a: whether the configured rulesets let IKE and ESP from the peer in, on the interface
// that holds the tunnel's local address (else every interface with rulesets or a zone): its `in`
// rulesets, then `local`, then the policy of its zone to the local zone.
DiagnoseStep FirewallStep(const DiagnoseInputs& in, const config::Peer* mp,
                          const std::string& who) {
  DiagnoseStep s{'a', absl::StrCat("firewall: UDP 500, UDP 4500 and ESP from ", who)};
  const std::string theirs = "the peer's own firewall must allow them too (seed checklist)";
  if (!in.have_dataplane) {
    s.verdict = Verdict::kNotApplicable;
    s.details.push_back(
        "no dataplane (kernel sockets): Portcullis filters no packet, so nothing of ours blocks "
        "IKE or ESP from this peer");
    s.details.push_back(theirs);
    return s;
  }
  if (in.model == nullptr || mp == nullptr || !mp->address || !mp->address->is_v4()) {
    s.verdict = Verdict::kNotApplicable;
    s.details.push_back("only IPv4 peers with a configured address are checked");
    return s;
  }
  const config::Model& m = *in.model;
  std::optional<config::IpAddress> local = config::IpAddress::Parse(mp->local_address);
  auto zone_of = [&](const std::string& ifname) -> const config::Zone* {
    for (const config::Zone& z : m.zones) {
      for (const std::string& i : z.interfaces) {
        if (i == ifname) return &z;
      }
    }
    return nullptr;
  };
  const config::Zone* local_zone = nullptr;
  for (const config::Zone& z : m.zones) {
    if (z.local) local_zone = &z;
  }
  std::vector<const config::Interface*> ifs;
  for (const auto& [name, i] : m.interfaces) {
    for (const config::IpPrefix& p : i.addresses) {
      if (local && p.address == *local) ifs.push_back(&i);
    }
  }
  if (ifs.empty()) {
    for (const auto& [name, i] : m.interfaces) {
      if (!i.firewall_in.empty() || !i.firewall_local.empty() || zone_of(name) != nullptr)
        ifs.push_back(&i);
    }
  }
  struct Probe {
    const char* what;
    uint8_t proto;
    uint16_t port;
  };
  const Probe probes[] = {{"UDP 500", 17, 500}, {"UDP 4500", 17, 4500}, {"ESP", 50, 0}};
  bool failed = false;
  std::vector<std::string> passed;
  for (const config::Interface* i : ifs) {
    uint32_t dst = local && local->is_v4() ? HostOrder(*local) : 0;
    if (dst == 0 && !i->addresses.empty() && i->addresses[0].address.is_v4())
      dst = HostOrder(i->addresses[0].address);
    for (const Probe& p : probes) {
      config::FwProbe probe{HostOrder(*mp->address), dst, p.proto, p.port, p.port};
      std::vector<std::pair<std::string, std::vector<std::string>>> hooks = {
          {"in", i->firewall_in}, {"local", i->firewall_local}};
      const config::Zone* z = zone_of(i->name);
      if (z != nullptr && local_zone != nullptr) {
        auto pol = z->to.find(local_zone->name);
        if (pol == z->to.end()) {
          failed = true;
          s.details.push_back(absl::StrCat(i->name, " is in zone ", z->name,
                                           ", which has no policy to the local zone ",
                                           local_zone->name, ": ", p.what, " is dropped"));
          continue;
        }
        hooks.push_back({absl::StrCat("zone ", z->name, " to ", local_zone->name), pol->second});
      }
      std::string by;
      bool dropped = false;
      for (const auto& [hook, rulesets] : hooks) {
        std::optional<config::FwVerdict> v = config::EvaluateRulesets(m, rulesets, probe);
        if (!v) continue;
        std::string rule = v->rule == 0 ? "the default action" : absl::StrCat("rule ", v->rule);
        if (v->action != "accept") {
          failed = dropped = true;
          s.details.push_back(absl::StrCat(i->name, " ", hook, ": ruleset ", v->ruleset, " ", rule,
                                           " ", v->action, "s ", p.what, " from ", who));
          break;
        }
        absl::StrAppend(&by, by.empty() ? "" : ", then ", v->ruleset, " ", rule, " (", hook, ")");
      }
      // What we send back (and initiate: rekeys, DPD) leaves from the local zone: a policy from
      // it to the peer's zone filters our IKE too (without one it passes). Our ESP is not
      // zone-filtered (its inner packets are).
      if (!dropped && z != nullptr && local_zone != nullptr && p.proto == 17) {
        auto back = local_zone->to.find(z->name);
        if (back != local_zone->to.end()) {
          config::FwProbe out{dst, HostOrder(*mp->address), p.proto, p.port, p.port};
          std::optional<config::FwVerdict> v = config::EvaluateRulesets(m, back->second, out);
          if (v && v->action != "accept") {
            failed = dropped = true;
            std::string rule = v->rule == 0 ? "the default action" : absl::StrCat("rule ", v->rule);
            s.details.push_back(absl::StrCat("zone ", local_zone->name, " to ", z->name,
                                             ": ruleset ", v->ruleset, " ", rule, " ", v->action,
                                             "s our ", p.what, " to ", who));
          } else if (v) {
            absl::StrAppend(&by, by.empty() ? "" : ", then ", v->ruleset, " ",
                            v->rule == 0 ? "the default action" : absl::StrCat("rule ", v->rule),
                            " (zone ", local_zone->name, " to ", z->name, ", our answers)");
          }
        }
      }
      if (!dropped) {
        passed.push_back(
            absl::StrCat(p.what, " on ", i->name, ": ",
                         by.empty() ? "no ruleset filters it" : absl::StrCat("accepted by ", by)));
      }
    }
  }
  s.verdict = failed ? Verdict::kFail : Verdict::kPass;
  if (!failed) s.details = std::move(passed);
  if (ifs.empty()) s.details.push_back("no interface has rulesets or a zone: nothing filters");
  s.details.push_back(theirs);
  return s;
}

}  // namespace

DiagnoseReport Diagnose(const DiagnoseInputs& in) {
  const ike::IkeSaConfig& c = *in.peer;
  const config::Peer* mp = ModelPeer(in);
  DiagnoseReport r;
  r.peer = c.name;
  r.address = c.remote_any ? "" : c.remote.ToString();
  std::string who = r.address.empty() ? c.name : r.address;

  // The IKE SA that counts: an established one, else the newest attempt.
  const IkeSa* ike_sa = nullptr;
  for (const IkeSa* sa : in.ike->Sas()) {
    if (sa->config().name != c.name || sa->state() == IkeSa::State::kRekeyed) continue;
    if (ike_sa == nullptr || sa->state() == IkeSa::State::kEstablished) ike_sa = sa;
  }
  bool ike_up = ike_sa != nullptr && ike_sa->state() == IkeSa::State::kEstablished;
  // A phase 1 failure older than the IKE SA that is up now is history.
  std::optional<PeerFailure> failure = in.failure;
  if (failure && ike_up && !failure->phase2 && failure->time <= ike_sa->established_at()) {
    failure.reset();
  }

  // a: firewall.
  r.steps.push_back(FirewallStep(in, mp, who));

  // b: reachability.
  {
    DiagnoseStep s{'b', absl::StrCat("reachability: route and neighbour for ", who)};
    if (r.address.empty()) {
      s.verdict = Verdict::kNotApplicable;
      s.details.push_back("the peer has no address (it initiates to us)");
    } else if (!in.reach) {
      s.verdict = Verdict::kFail;
      s.details.push_back(absl::StrCat("cannot read the forwarding tables: ", in.reach_error));
    } else {
      const Reachability& re = *in.reach;
      s.details.push_back(absl::StrCat("route (", re.source, "): ", re.route_text));
      s.details.push_back(absl::StrCat("neighbour (", re.source, "): ", re.neighbour_text));
      // IKE answering proves the path whatever the tables say of an entry that expired since.
      s.verdict = re.route && (re.neighbour || re.neighbour_unknown || ike_up) ? Verdict::kPass
                                                                               : Verdict::kFail;
    }
    r.steps.push_back(std::move(s));
  }

  // c: phase 1.
  {
    DiagnoseStep s{'c', "phase 1: IKE SA"};
    if (ike_up) {
      s.details.push_back(absl::StrCat("up: ", ike::SuiteString(ike_sa->suite), ", established ",
                                       Seconds(in.now - ike_sa->established_at()), " ago, ",
                                       ike_sa->local().ToString(), "...",
                                       ike_sa->remote().ToString()));
    } else {
      s.verdict = Verdict::kFail;
      s.details.push_back(ike_sa != nullptr
                              ? absl::StrCat("down: IKE SA ", ike::IkeSaStateName(ike_sa->state()))
                              : std::string("down: no IKE SA"));
      if (failure && !failure->phase2) {
        AddFailure(s, *failure, in.now);
      } else if (c.initiate) {
        s.details.push_back("no failure logged yet: the exchange may still be running");
      } else {
        s.details.push_back("this side only responds: the peer has not initiated (yet)");
      }
    }
    r.steps.push_back(std::move(s));
  }

  // d: phase 2, per tunnel.
  std::vector<const ChildSa*> up_children;
  {
    DiagnoseStep s{'d', "phase 2: CHILD SA per tunnel, with selectors"};
    if (!ike_up) {
      s.verdict = Verdict::kNotApplicable;
      s.details.push_back("phase 1 is down (step c)");
    }
    bool all_up = true;
    for (const ike::ChildConfig& cc : c.children) {
      const ChildSa* child = nullptr;
      if (ike_up) {
        for (const auto& ch : ike_sa->children()) {
          if (ch->name == cc.name && Installed(*ch)) child = ch.get();
        }
      }
      std::string tunnel = cc.vti ? std::string("vti") : absl::StrCat(cc.tunnel_id);
      if (child != nullptr) {
        up_children.push_back(child);
        s.details.push_back(absl::StrCat(
            "tunnel ", tunnel, ": up, ", ike::TsListToString(child->local_ts),
            " === ", ike::TsListToString(child->remote_ts), ", ", ike::SuiteString(child->suite)));
      } else {
        all_up = false;
        s.details.push_back(absl::StrCat("tunnel ", tunnel, ": down, configured ",
                                         ike::TsListToString(cc.local_ts),
                                         " === ", ike::TsListToString(cc.remote_ts)));
      }
    }
    if (ike_up && !all_up) {
      s.verdict = Verdict::kFail;
      if (failure && failure->phase2) AddFailure(s, *failure, in.now);
    }
    r.steps.push_back(std::move(s));
  }

  // e: one-way counters.
  {
    DiagnoseStep s{'e', "traffic in both directions (asymmetric routing)"};
    if (!in.have_dataplane) {
      s.verdict = Verdict::kNotApplicable;
      s.details.push_back(
          "no dataplane: in kernel-socket mode ESP is not carried, so there are no counters");
    } else if (up_children.empty()) {
      s.verdict = Verdict::kNotApplicable;
      s.details.push_back("no tunnel is up");
    } else if (!in.earlier) {
      s.verdict = Verdict::kNotApplicable;
      s.details.push_back("one sample only: run diagnose again (vpnctl samples twice)");
    } else {
      absl::Duration span = in.now - in.earlier->time;
      bool idle = true;
      for (const ChildSa* ch : up_children) {
        ike::ChildCounters n = in.ike->Counters(*ch);
        auto it = in.earlier->bytes.find(ch->unique_id);
        if (it == in.earlier->bytes.end()) {
          s.details.push_back(absl::StrCat(ch->name, ": new since the first sample"));
          continue;
        }
        uint64_t din = n.bytes_in - it->second.first, dout = n.bytes_out - it->second.second;
        s.details.push_back(absl::StrCat(ch->name, ": +", din, " bytes in, +", dout,
                                         " bytes out in ", Seconds(span)));
        if (din != 0 || dout != 0) idle = false;
        if (dout != 0 && din == 0) {
          s.verdict = Verdict::kFail;
          s.details.push_back(
              "  sent into the tunnel, nothing back: the peer does not route its replies into "
              "the tunnel (asymmetric routing) or drops them");
        } else if (din != 0 && dout == 0) {
          s.verdict = Verdict::kFail;
          s.details.push_back(
              "  received from the tunnel, nothing sent: our replies leave another way "
              "(asymmetric routing): check the routes to the remote LAN");
        }
      }
      if (idle && s.verdict == Verdict::kPass) {
        s.verdict = Verdict::kNotApplicable;
        s.details.push_back("no traffic during the sample: nothing to compare");
      }
    }
    r.steps.push_back(std::move(s));
  }

  // f: lifetimes and PFS.
  {
    DiagnoseStep s{'f', "lifetimes and PFS against the peer's proposals"};
    if (failure) {
      if (std::optional<std::string> pfs = PfsMismatch(*failure)) {
        s.verdict = Verdict::kFail;
        s.details.push_back(*pfs);
        s.details.push_back(absl::StrCat("we offered: ", failure->offered));
        if (!failure->received.empty()) {
          s.details.push_back(absl::StrCat("peer sent:  ", failure->received));
        }
      }
    }
    for (const ChildSa* ch : up_children) {
      for (const ike::ChildConfig& cc : c.children) {
        if (cc.name == ch->name && ch->suite.pfs != ike::DhGroup::kNone &&
            ch->suite.pfs != cc.pfs) {
          s.verdict = Verdict::kFail;
          s.details.push_back(absl::StrCat(ch->name, ": rekeyed with PFS group ",
                                           static_cast<int>(ch->suite.pfs), ", ours is ",
                                           static_cast<int>(cc.pfs)));
        }
      }
    }
    std::string esp;
    for (const ike::ChildConfig& cc : c.children) {
      absl::StrAppend(&esp, esp.empty() ? "" : ", ", cc.lifetime, " s");
      if (cc.pfs == ike::DhGroup::kNone) absl::StrAppend(&esp, " (no PFS)");
    }
    s.details.push_back(
        absl::StrCat("IKEv2 does not negotiate lifetimes, each side rekeys on its own; ours: IKE ",
                     c.ike_lifetime, " s, ESP ", esp.empty() ? "-" : esp,
                     " (`vpnctl check --pair` compares both configurations)"));
    r.steps.push_back(std::move(s));
  }

  // g: CBC.
  {
    DiagnoseStep s{'g', "ESP encryption (throughput)"};
    std::vector<std::string> cbc;
    for (const ChildSa* ch : up_children) {
      if (ch->suite.encr == ike::EncrId::kAesCbc) cbc.push_back(ch->name);
    }
    if (up_children.empty() && mp != nullptr && in.model != nullptr) {
      std::set<std::string> groups;
      if (!mp->vti_esp_group.empty()) groups.insert(mp->vti_esp_group);
      for (const config::Tunnel& t : mp->tunnels) groups.insert(t.esp_group);
      for (const std::string& g : groups) {
        auto it = in.model->esp_groups.find(g);
        if (it == in.model->esp_groups.end()) continue;
        for (const config::EspProposal& p : it->second.proposals) {
          if (!absl::StrContains(p.encryption, "gcm"))
            cbc.push_back(absl::StrCat(g, " (configured)"));
        }
      }
    }
    if (cbc.empty()) {
      s.details.push_back("AES-GCM (or nothing to judge)");
    } else {
      s.verdict = Verdict::kHint;
      s.details.push_back(absl::StrCat("AES-CBC with HMAC in ", absl::StrJoin(cbc, ", "),
                                       ": aes128gcm128 or aes256gcm128 encrypts and authenticates "
                                       "in one pass and is much faster"));
    }
    r.steps.push_back(std::move(s));
  }

  // h: per-packet firewall logging.
  {
    DiagnoseStep s{'h', "per-packet firewall logging (throughput)", Verdict::kPass};
    if (!in.have_dataplane) {
      s.verdict = Verdict::kNotApplicable;
      s.details.push_back("no dataplane (kernel sockets): no packet is filtered or logged");
    } else if (in.model != nullptr) {
      for (const auto& [name, rs] : in.model->firewalls) {
        for (const config::FirewallRule& rule : rs.rules) {
          if (rule.log && !rule.disabled) {
            s.verdict = Verdict::kHint;
            s.details.push_back(absl::StrCat("ruleset ", name, " rule ", rule.number,
                                             " logs every packet it matches (up to 100 lines a "
                                             "second): it costs throughput"));
          }
        }
      }
    }
    r.steps.push_back(std::move(s));
  }
  return r;
}

std::string DiagnoseText(const DiagnoseReport& r) {
  std::string out = absl::StrCat(
      "Diagnosing ", r.peer, r.address.empty() ? "" : absl::StrCat(" (", r.address, ")"), "\n\n");
  for (const DiagnoseStep& s : r.steps) {
    absl::StrAppendFormat(&out, "%c. %-62s %s\n", s.id, s.title, VerdictName(s.verdict));
    for (const std::string& d : s.details) absl::StrAppend(&out, "     ", d, "\n");
  }
  out += "\n";
  if (const DiagnoseStep* f = r.first_failure()) {
    absl::StrAppend(&out, "Result: ", r.failed(), r.failed() == 1 ? " step fails" : " steps fail",
                    " (first: ", std::string(1, f->id), ", ", f->title, ")\n");
  } else {
    out += kDiagnosePassedLine;
  }
  return out;
}

std::string DiagnoseJson(const DiagnoseReport& r) {
  JsonWriter j;
  j.BeginObject().Field("peer", r.peer).Field("address", r.address);
  j.Key("steps").BeginArray();
  for (const DiagnoseStep& s : r.steps) {
    j.BeginObject()
        .Field("step", std::string(1, s.id))
        .Field("title", s.title)
        .Field("verdict", std::string(VerdictName(s.verdict)));
    j.Key("details").BeginArray();
    for (const std::string& d : s.details) j.String(d);
    j.EndArray().EndObject();
  }
  j.EndArray();
  const DiagnoseStep* f = r.first_failure();
  j.Field("failed", r.failed())
      .Field("first_failure", f ? std::string(1, f->id) : std::string())
      .Field("passed", f == nullptr)
      .EndObject();
  return j.str() + "\n";
}

}  // namespace portcullis::vpnd
