#include "control/vpnd/op_handlers.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/config/peer_config_writer.h"
#include "control/vpnd/dataplane_views.h"
#include "control/vpnd/fw_log_line.h"
#include "control/vpnd/log_filter.h"
#include "control/vpnd/reachability.h"
#include "control/vpnd/show_gather.h"
#include "control/vpnd/show_json.h"
#include "control/vpnd/show_text.h"
#include "control/vpnd/status_views.h"

namespace portcullis::vpnd {

namespace {

using ops::OpArgs;
using ops::OpId;

// A `show vpn` view: its rows gathered once, then rendered as text or JSON. A peer named in
// the command must be configured.
template <class Rows>
absl::StatusOr<std::string> View(OpContext& ctx, const OpArgs& a,
                                 Rows (*gather)(const ike::IkeManager&, const SaInstaller&,
                                                const ShowPeers&, const ShowFilter&, absl::Time),
                                 std::string (*text)(const Rows&),
                                 std::string (*json)(const Rows&)) {
  if (!a.peer.empty() && ctx.ike.FindPeer(a.peer) == nullptr) {
    return absl::NotFoundError(absl::StrCat("peer ", a.peer, " is not configured"));
  }
  ShowFilter f{a.peer, a.tunnel, a.vti};
  Rows rows = gather(ctx.ike, ctx.installer, ctx.peers, f, ctx.now);
  return a.json ? json(rows) : text(rows);
}

// Vyatta's `nat-traversal` views are the plain ones, narrowed to what goes through a NAT.
std::vector<IkeSaPeer> GatherNatIkeSas(const ike::IkeManager& m, const SaInstaller& installer,
                                       const ShowPeers& peers, const ShowFilter& f,
                                       absl::Time now) {
  std::vector<IkeSaPeer> out;
  for (IkeSaPeer& p : GatherIkeSas(m, installer, peers, f, now)) {
    std::erase_if(
        p.sas, [](const IkeSaRow& r) { return !r.sa || !(r.sa->nat_local || r.sa->nat_remote); });
    if (!p.sas.empty()) out.push_back(std::move(p));
  }
  return out;
}

std::vector<TunnelPeer> GatherNatTunnels(const ike::IkeManager& m, const SaInstaller& installer,
                                         const ShowPeers& peers, const ShowFilter& f,
                                         absl::Time now) {
  std::vector<TunnelPeer> out;
  for (TunnelPeer& p : GatherTunnels(m, installer, peers, f, now)) {
    std::erase_if(p.tunnels, [](const TunnelRow& t) { return !t.child || !t.child->udp_encap; });
    if (!p.tunnels.empty()) out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::string> ShowIkeSa(OpContext& ctx, const OpArgs& a) {
  if (a.Has("nat-traversal")) return View(ctx, a, GatherNatIkeSas, IkeSaText, IkeSaJson);
  return View(ctx, a, GatherIkeSas, IkeSaText, IkeSaJson);
}

// `show vpn ipsec sa [peer X [tunnel N]] [detail | statistics | nat-traversal]`: the Vyatta
// order, the view's word last; `show vpn ipsec sa detail [peer X]` has entries of its own.
absl::StatusOr<std::string> ShowIpsecSa(OpContext& ctx, const OpArgs& a) {
  if (a.Has("detail")) {
    return View(ctx, a, GatherIpsecSaDetail, IpsecSaDetailText, IpsecSaDetailJson);
  }
  if (a.Has("statistics")) {
    return View(ctx, a, GatherTunnels, IpsecSaStatisticsText, IpsecSaStatisticsJson);
  }
  if (a.Has("nat-traversal")) return View(ctx, a, GatherNatTunnels, IpsecSaText, IpsecSaJson);
  return View(ctx, a, GatherTunnels, IpsecSaText, IpsecSaJson);
}

absl::StatusOr<std::string> ShowIpsecSaDetail(OpContext& ctx, const OpArgs& a) {
  return View(ctx, a, GatherIpsecSaDetail, IpsecSaDetailText, IpsecSaDetailJson);
}

absl::StatusOr<std::string> ShowIpsecSaStatistics(OpContext& ctx, const OpArgs& a) {
  return View(ctx, a, GatherTunnels, IpsecSaStatisticsText, IpsecSaStatisticsJson);
}

absl::StatusOr<std::string> ShowDebug(OpContext& ctx, const OpArgs& a) {
  return View(ctx, a, GatherDebug, DebugText, DebugJson);
}

// The log lines of one peer (its connection's and its tunnels' lines, and the manager's lines
// that name its address), even one no longer configured, and/or of one subsystem.
absl::StatusOr<std::string> ShowLogIpsec(OpContext& ctx, const OpArgs& a) {
  LogFilter f;
  if (a.Has("subsystem")) {
    for (const std::string& k : a.keywords) {
      if (std::optional<std::string> tag = SubsystemTag(k)) f.group = *tag;
    }
    if (f.group.empty()) {
      return absl::InvalidArgumentError(
          "subsystem needs one of ike-sa, child-sa, config, network, kernel, encoding, manager");
    }
  }
  if (!a.peer.empty()) {
    const ike::IkeSaConfig* c = ctx.ike.FindPeer(a.peer);
    f.conn = c ? c->name : "peer-" + a.peer;
    f.addresses.push_back(c && !c->remote_any ? c->remote.ToString() : a.peer);
  }
  return FilterLog(ctx.log.Recent(), f);
}

absl::StatusOr<std::string> ResetIpsecPeer(OpContext& ctx, const OpArgs& a) {
  // A VTI has no tunnel number: `tunnel vti` resets the peer, as no tunnel does.
  absl::Status st = ctx.ike.Reset(a.peer, a.tunnel);
  if (!st.ok()) return st;
  return absl::StrCat("Resetting ", a.tunnel ? absl::StrCat("tunnel ", *a.tunnel, " of ") : "",
                      "peer ", a.peer, "\n");
}

// VyOS's spelling of the same reset.
absl::StatusOr<std::string> ResetSiteToSitePeer(OpContext& ctx, const OpArgs& a) {
  return ResetIpsecPeer(ctx, a);
}

// Vyatta's `restart vpn` restarts the IKE daemon: every IKE SA goes (the peers are told) and
// each peer this side initiates to comes up again; responders wait for their peers.
absl::StatusOr<std::string> RestartVpn(OpContext& ctx, const OpArgs&) {
  size_t initiating = 0;
  for (const ike::IkeSaConfig* c : ctx.peers) {
    absl::Status st = ctx.ike.Reset(c->name, std::nullopt);
    if (!st.ok()) return st;
    initiating += c->initiate;
  }
  return absl::StrCat("Restarting IPsec VPN: ", ctx.peers.size(),
                      ctx.peers.size() == 1 ? " peer" : " peers", " reset, ", initiating,
                      " initiating again\n");
}

absl::StatusOr<std::string> ShowIpsecStatus(OpContext& ctx, const OpArgs& a) {
  IpsecStatus s = GatherIpsecStatus(ctx.ike, ctx.installer, ctx.peers, ctx.model, ctx.pid);
  if (ctx.restart != nullptr) s.restart = *ctx.restart;
  return a.json ? IpsecStatusJson(s) : IpsecStatusText(s);
}

absl::StatusOr<std::string> ShowIpsecConnections(OpContext& ctx, const OpArgs& a) {
  std::vector<ConnectionRow> rows = GatherConnections(ctx.ike, ctx.installer, ctx.peers);
  return a.json ? ConnectionsJson(rows) : ConnectionsText(rows);
}

absl::StatusOr<std::string> ShowIpsecPolicy(OpContext& ctx, const OpArgs& a) {
  std::vector<PolicyRow> rows = GatherPolicies(ctx.ike, ctx.installer, ctx.peers);
  return a.json ? PoliciesJson(rows) : PoliciesText(rows);
}

absl::Status NoDataplane() {
  return absl::FailedPreconditionError(
      "there is no dataplane: vpnd runs on kernel sockets (--transport kernel), so no "
      "interface, route or drop counter is programmed");
}

absl::StatusOr<std::string> ShowInterfaces(OpContext& ctx, const OpArgs& a) {
  if (ctx.telemetry == nullptr) return NoDataplane();
  std::string kind;
  for (const char* k : {"dataplane", "bonding", "vti", "vfp"}) {
    if (a.Has(k)) kind = k;
  }
  auto rows = GatherInterfaces(*ctx.telemetry, ctx.model, kind);
  if (!rows.ok()) return rows.status();
  return a.json ? InterfacesJson(*rows) : InterfacesText(*rows);
}

absl::StatusOr<std::string> ShowDataplaneDrops(OpContext& ctx, const OpArgs& a) {
  if (ctx.telemetry == nullptr) return NoDataplane();
  auto rows = GatherDrops(*ctx.telemetry);
  if (!rows.ok()) return rows.status();
  return a.json ? DropsJson(*rows) : DropsText(*rows);
}

// The configured ruleset the command names, if it names one.
absl::Status CheckRulesetName(const OpContext& ctx, const OpArgs& a) {
  if (a.name.empty()) return absl::OkStatus();
  if (ctx.model == nullptr || !ctx.model->firewalls.count(a.name))
    return absl::NotFoundError(absl::StrCat("firewall ruleset ", a.name, " is not configured"));
  return absl::OkStatus();
}

absl::StatusOr<FwTelemetry> ReadFirewall(OpContext& ctx, const OpArgs& a) {
  std::optional<uint32_t> only;
  if (!a.name.empty()) {
    only = ctx.firewall_ids ? ctx.firewall_ids->FindRuleset(a.name) : std::nullopt;
    if (!only) return FwTelemetry{};  // configured, never sent: nothing counted yet
  }
  absl::StatusOr<FwTelemetry> t = ReadFirewallTelemetry(*ctx.telemetry, only);
  if (!t.ok()) return t.status();
  if (ctx.firewall_baselines != nullptr) ctx.firewall_baselines->Apply(*t);
  return t;
}

absl::StatusOr<std::string> ShowFirewall(OpContext& ctx, const OpArgs& a) {
  if (absl::Status st = CheckRulesetName(ctx, a); !st.ok()) return st;
  if (ctx.telemetry == nullptr) return NoDataplane();
  if (ctx.model == nullptr) return absl::UnavailableError("no running configuration");
  absl::StatusOr<FwTelemetry> t = ReadFirewall(ctx, a);
  if (!t.ok()) return t.status();
  static const FirewallIds kNoIds;
  FirewallView v =
      BuildFirewallView(*ctx.model, ctx.firewall_ids ? *ctx.firewall_ids : kNoIds, *t, a.name);
  v.statistics = a.Has("statistics");
  return a.json ? FirewallJson(v) : FirewallText(v);
}

// The firewall's lines vpnd's log keeps (a ring of their own), of one ruleset when named.
absl::StatusOr<std::string> ShowLogFirewall(OpContext& ctx, const OpArgs& a) {
  if (absl::Status st = CheckRulesetName(ctx, a); !st.ok()) return st;
  std::string out;
  std::string all = ctx.log.RecentFirewall(" rule ");
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    absl::string_view line(all.data() + pos, end - pos);
    pos = end + 1;
    bool fw = absl::StrContains(line, " fw rule ") || absl::StrContains(line, " local rule ");
    if (!fw || !absl::StrContains(line, "]: ")) continue;
    if (!a.name.empty() && !absl::StrContains(line, absl::StrCat(" rule ", a.name, ":"))) continue;
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

absl::StatusOr<std::string> ClearFirewall(OpContext& ctx, const OpArgs& a) {
  if (absl::Status st = CheckRulesetName(ctx, a); !st.ok()) return st;
  // A rule that is not configured has nothing to clear: say so rather than "Cleared".
  if (a.rule && *a.rule != kFwDefaultRuleNumber && !a.name.empty()) {
    bool found = false;
    for (const config::FirewallRule& r : ctx.model->firewalls.at(a.name).rules)
      found |= r.number == *a.rule;
    if (!found)
      return absl::NotFoundError(
          absl::StrCat("firewall ruleset ", a.name, " has no rule ", *a.rule));
  }
  if (ctx.telemetry == nullptr) return NoDataplane();
  if (ctx.firewall_baselines == nullptr)
    return absl::UnavailableError("this vpnd keeps no firewall counter baselines");
  std::optional<uint32_t> only;
  if (!a.name.empty()) {
    only = ctx.firewall_ids ? ctx.firewall_ids->FindRuleset(a.name) : std::nullopt;
    if (!only) return absl::StrCat("Nothing counted yet for firewall ruleset ", a.name, "\n");
  }
  absl::StatusOr<FwTelemetry> t = ReadFirewallTelemetry(*ctx.telemetry, only);
  if (!t.ok()) return t.status();
  for (const auto& [id, rs] : t->rulesets) ctx.firewall_baselines->Clear(rs, a.rule.value_or(0));
  if (a.name.empty()) return std::string("Cleared the counters of every firewall ruleset\n");
  return absl::StrCat("Cleared the counters of firewall ruleset ", a.name,
                      a.rule ? absl::StrCat(" rule ", *a.rule) : "", "\n");
}

std::string ReadFile(const char* path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Step b's tables: the dataplane's when there is one, else the kernel's.
void ReadReachability(OpContext& ctx, const ike::IkeSaConfig& c, DiagnoseInputs& in) {
  if (c.remote_any) return;
  auto lines = [](const JsonValue& v) {
    std::vector<std::string> out;
    for (const JsonValue& e : v.array) out.push_back(e.string);
    return out;
  };
  std::optional<uint32_t> peer = ParseIpv4(c.remote.ToString());
  if (!peer) {
    std::optional<Ip6Bytes> peer6 = ParseIpv6(c.remote.ToString());
    if (!peer6) {
      in.reach_error = absl::StrCat("cannot read the peer's address ", c.remote.ToString());
      return;
    }
    if (ctx.telemetry == nullptr) {
      in.reach = CheckReachability6(
          "kernel", *peer6, ParseKernelRoutes6(ReadFile("/proc/net/ipv6_route")), std::nullopt);
      return;
    }
    auto t = ctx.telemetry->Query({"/portcullis/routes6", "/portcullis/neighbors"});
    if (!t.ok()) {
      in.reach_error = std::string(t.status().message());
      return;
    }
    in.reach = CheckReachability6("dataplane", *peer6, ParseDataplaneRoutes6(lines((*t)[0])),
                                  ParseDataplaneNeighbours6(lines((*t)[1])));
    return;
  }
  if (ctx.telemetry == nullptr) {
    in.reach = CheckReachability("kernel", *peer, ParseKernelRoutes(ReadFile("/proc/net/route")),
                                 ParseKernelNeighbours(ReadFile("/proc/net/arp")));
    return;
  }
  auto t = ctx.telemetry->Query({"/portcullis/routes", "/portcullis/neighbors"});
  if (!t.ok()) {
    in.reach_error = std::string(t.status().message());
    return;
  }
  in.reach = CheckReachability("dataplane", *peer, ParseDataplaneRoutes(lines((*t)[0])),
                               ParseDataplaneNeighbours(lines((*t)[1])));
}

absl::StatusOr<std::string> DiagnosePeer(OpContext& ctx, const OpArgs& a) {
  const ike::IkeSaConfig* c = ctx.ike.FindPeer(a.peer);
  if (c == nullptr) return absl::NotFoundError(absl::StrCat("peer ", a.peer, " is not configured"));
  DiagnoseInputs in;
  in.ike = &ctx.ike;
  in.peer = c;
  in.model = ctx.model;
  in.now = ctx.now;
  in.have_dataplane = ctx.telemetry != nullptr;
  if (ctx.failures != nullptr) {
    in.failure = ctx.failures->Last(c->name, c->remote_any ? "" : c->remote.ToString());
  }
  ReadReachability(ctx, *c, in);
  // Step e compares with the previous call's sample when it is recent (vpnctl calls twice, a
  // few seconds apart); an old one would average the traffic away.
  if (ctx.samples != nullptr) {
    auto it = ctx.samples->find(c->name);
    if (it != ctx.samples->end() && ctx.now - it->second.time <= absl::Minutes(1)) {
      in.earlier = it->second;
    }
    (*ctx.samples)[c->name] = SampleCounters(ctx.ike, *c, ctx.now);
  }
  DiagnoseReport r = Diagnose(in);
  return a.json ? DiagnoseJson(r) : DiagnoseText(r);
}

absl::StatusOr<std::string> GeneratePeerConfig(OpContext& ctx, const OpArgs& a) {
  if (ctx.model == nullptr) return absl::UnavailableError("no running configuration");
  config::PeerConfigFormat format = config::PeerConfigFormat::kVyatta;
  if (a.Has("vyos")) format = config::PeerConfigFormat::kVyos;
  if (a.Has("swanctl")) format = config::PeerConfigFormat::kSwanctl;
  if (a.Has("format") && !a.Has("vyatta") && !a.Has("vyos") && !a.Has("swanctl")) {
    return absl::InvalidArgumentError("format needs one of vyatta, vyos, swanctl");
  }
  return config::GeneratePeerConfig(*ctx.model, a.peer, format);
}

// The file's warnings follow, one a line, as `vpnctl check` prints them.
absl::StatusOr<std::string> Load(OpContext& ctx, const OpArgs& a) {
  std::vector<std::string> warnings;
  absl::Status st = ctx.load(a.file, &warnings);
  if (!st.ok()) return st;
  std::string out = absl::StrCat("Loaded ", a.file, "\n");
  for (const std::string& w : warnings) absl::StrAppend(&out, w, "\n");
  return out;
}

absl::StatusOr<std::string> ShowSystemCommit(OpContext& ctx, const OpArgs&) {
  if (!ctx.commits) return absl::UnavailableError("this vpnd keeps no configuration archive");
  return ctx.commits();
}

// `show vrrp`, Vyatta's layout: one line per group the dataplane runs, from its telemetry.
std::string Duration(uint64_t s) {
  if (s >= 86400) return absl::StrCat(s / 86400, "d", (s % 86400) / 3600, "h");
  if (s >= 3600) return absl::StrCat(s / 3600, "h", (s % 3600) / 60, "m");
  if (s >= 60) return absl::StrCat(s / 60, "m", s % 60, "s");
  return absl::StrCat(s, "s");
}

absl::StatusOr<std::string> ShowVrrp(OpContext& ctx, const OpArgs& a) {
  if (ctx.telemetry == nullptr) return NoDataplane();
  auto reply = ctx.telemetry->Query({"/portcullis/vrrp"});
  if (!reply.ok()) return reply.status();
  const JsonValue& groups = (*reply)[0];
  std::string text;
  std::string json = "[";
  bool first = true;
  for (const auto& [key, g] : groups.object) {
    if (key == "discarded") continue;
    const std::string ifname = key.substr(0, key.rfind('/'));
    const std::string state = g.Str("state");
    const bool owner = g.U64("priority") == 255;
    const uint64_t since = g.U64("since_change_s");
    absl::StrAppend(
        &text, absl::StrFormat("%-17s %-6d %-7s %-9s %-6s %-11s %s\n", ifname, g.U64("vrid"), state,
                               "yes", owner ? "yes" : "no", Duration(since), "<none>"));
    absl::StrAppend(
        &json, first ? "" : ",",
        absl::StrFormat("{\"interface\":\"%s\",\"group\":%d,\"state\":\"%s\","
                        "\"priority\":%d,\"owner\":%s,\"master\":\"%s\","
                        "\"last_transition_s\":%d,\"version\":%d}",
                        ifname, g.U64("vrid"), state, g.U64("priority"), owner ? "true" : "false",
                        g.Str("master"), since, g.U64("version")));
    first = false;
  }
  if (a.json) return json + "]\n";
  if (text.empty()) return std::string("No VRRP groups configured\n");
  return std::string(
             "                                 RFC       Addr   Last        Sync\n"
             "Interface         Group  State   Compliant Owner  Transition  Group\n"
             "---------         -----  -----   --------- -----  ----------  -----\n") +
         text;
}

struct Binding {
  OpId id;
  absl::StatusOr<std::string> (*handler)(OpContext&, const OpArgs&);
};

constexpr Binding kHandlers[] = {
    {OpId::kShowIkeSa, ShowIkeSa},
    {OpId::kShowIpsecSa, ShowIpsecSa},
    {OpId::kShowIpsecSaDetail, ShowIpsecSaDetail},
    {OpId::kShowIpsecSaStatistics, ShowIpsecSaStatistics},
    {OpId::kShowDebug, ShowDebug},
    {OpId::kShowLogIpsec, ShowLogIpsec},
    {OpId::kResetIpsecPeer, ResetIpsecPeer},
    {OpId::kLoad, Load},
    {OpId::kShowSystemCommit, ShowSystemCommit},
    {OpId::kShowIpsecStatus, ShowIpsecStatus},
    {OpId::kShowIpsecConnections, ShowIpsecConnections},
    {OpId::kShowIpsecPolicy, ShowIpsecPolicy},
    {OpId::kResetSiteToSitePeer, ResetSiteToSitePeer},
    {OpId::kRestartVpn, RestartVpn},
    {OpId::kShowInterfaces, ShowInterfaces},
    {OpId::kShowDataplaneDrops, ShowDataplaneDrops},
    {OpId::kDiagnosePeer, DiagnosePeer},
    {OpId::kGeneratePeerConfig, GeneratePeerConfig},
    {OpId::kShowFirewall, ShowFirewall},
    {OpId::kShowLogFirewall, ShowLogFirewall},
    {OpId::kClearFirewall, ClearFirewall},
    {OpId::kShowVrrp, ShowVrrp},
};
static_assert(ops::CoversEveryOpOnce(kHandlers),
              "every operational command (control/ops/op_commands.h) needs one handler here");

}  // namespace

absl::StatusOr<std::string> RunOpCommand(OpContext& ctx, const ops::OpRequest& request) {
  for (const Binding& b : kHandlers) {
    if (b.id == request.id) return b.handler(ctx, request.args);
  }
  return absl::InternalError("no handler");  // unreachable: the static_assert above
}

}  // namespace portcullis::vpnd
