#include "control/vpnd/firewall_plan.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/config/firewall_match.h"
#include "dataplane/api/channel_layout.h"

namespace portcullis::vpnd {

namespace {

using dp::api::FwAction;
using dp::api::FwHook;
using dp::api::Message;
using dp::api::MessageKind;
using dp::api::Op;

static_assert(dp::api::kFwStateNew == 1 && dp::api::kFwStateEstablished == 2 &&
                  dp::api::kFwStateRelated == 4 && dp::api::kFwStateInvalid == 8,
              "config::FwStateMask uses the contract's bits");

FwAction ActionOf(const std::string& a) {
  if (a == "accept") return FwAction::kAccept;
  if (a == "reject") return FwAction::kReject;
  return FwAction::kDrop;
}

void CopyName(char* dst, size_t size, const std::string& name) {
  std::memset(dst, 0, size);
  std::strncpy(dst, name.c_str(), size - 1);
}

dp::api::IpAddr V4(uint32_t host_order) {
  dp::api::IpAddr a;
  std::memset(&a, 0, sizeof a);
  a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<uint8_t>(host_order);
  return a;
}

dp::api::IpAddr V6(absl::uint128 v) {
  dp::api::IpAddr a;
  std::memset(&a, 0, sizeof a);
  uint64_t hi = absl::Uint128High64(v), lo = absl::Uint128Low64(v);
  for (int i = 7; i >= 0; --i, hi >>= 8) a.bytes[i] = static_cast<uint8_t>(hi);
  for (int i = 15; i >= 8; --i, lo >>= 8) a.bytes[i] = static_cast<uint8_t>(lo);
  return a;
}

std::string Id(uint32_t v) {
  return absl::StrCat(absl::Dec(v, absl::kZeroPad8));
}

void PlanRuleset(const config::FirewallRuleset& rs, const config::FwGroups& groups, uint32_t id,
                 DataplaneObjects& out) {
  Message m = dp::api::NewMessage(MessageKind::kFwRuleset, Op::kAdd);
  auto& b = m.body.fw_ruleset;
  b.ruleset_id = id;
  CopyName(b.name, sizeof b.name, rs.name);
  b.default_action = ActionOf(rs.default_action);
  b.default_log = rs.default_log ? 1 : 0;
  b.default_implicit = rs.default_action_set ? 0 : 1;
  b.family = static_cast<uint8_t>(rs.family);
  out[absl::StrCat("4 fw1 ruleset ", Id(id))] = m;
  for (const config::FirewallRule& r : rs.rules) {
    if (r.disabled || r.action.empty()) continue;
    absl::StatusOr<std::vector<config::FwEntry>> entries = config::ExpandRule(r, groups);
    if (!entries.ok()) continue;  // the commit checks refuse it first
    uint8_t state = config::FwStateMask(r);
    // IPv6 entries are numbered from kFwMaxEntriesPerRule on: a change to a rule's IPv4 entries
    // leaves its IPv6 ones as they are (no delete and add of what did not change).
    uint32_t next4 = 0, next6 = static_cast<uint32_t>(config::kFwMaxEntriesPerRule);
    for (size_t i = 0; i < entries->size(); ++i) {
      const config::FwEntry& e = (*entries)[i];
      Message rm = dp::api::NewMessage(MessageKind::kFwRule, Op::kAdd);
      auto& rb = rm.body.fw_rule;
      rb.ruleset_id = id;
      rb.rule_number = r.number;
      const uint32_t entry = e.family == 6 ? next6++ : next4++;
      rb.entry = entry;
      rb.action = ActionOf(r.action);
      rb.log = r.log ? 1 : 0;
      rb.state = state;
      rb.family = e.family == 6 ? dp::api::Family::kIpv6 : dp::api::Family::kIpv4;
      rb.proto_low = e.proto.lo;
      rb.proto_high = e.proto.hi;
      rb.icmp_type_low = e.icmp_type.lo;
      rb.icmp_type_high = e.icmp_type.hi;
      rb.icmp_code_low = e.icmp_code.lo;
      rb.icmp_code_high = e.icmp_code.hi;
      rb.src_port_low = e.sport.lo;
      rb.src_port_high = e.sport.hi;
      rb.dst_port_low = e.dport.lo;
      rb.dst_port_high = e.dport.hi;
      if (e.family == 6) {
        rb.src_low = V6(e.src6.lo);
        rb.src_high = V6(e.src6.hi);
        rb.dst_low = V6(e.dst6.lo);
        rb.dst_high = V6(e.dst6.hi);
      } else {
        rb.src_low = V4(e.src.lo);
        rb.src_high = V4(e.src.hi);
        rb.dst_low = V4(e.dst.lo);
        rb.dst_high = V4(e.dst.hi);
      }
      out[absl::StrCat("4 fw2 rule ", Id(id), " ", absl::Dec(r.number, absl::kZeroPad4), " ",
                       absl::Dec(entry, absl::kZeroPad6))] = rm;
    }
  }
}

}  // namespace

uint32_t FirewallIds::Get(Space& s, const std::string& name) {
  auto it = s.ids.find(name);
  if (it != s.ids.end()) return it->second;
  s.ids[name] = s.next;
  s.names[s.next] = name;
  return s.next++;
}

std::optional<std::string> FirewallIds::Name(const Space& s, uint32_t id) {
  auto it = s.names.find(id);
  if (it == s.names.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> FirewallIds::FindRuleset(const std::string& name) const {
  auto it = rulesets_.ids.find(name);
  if (it == rulesets_.ids.end()) return std::nullopt;
  return it->second;
}

FirewallShare FirewallShareOf(const std::vector<Message>& batch, const FirewallIds& ids) {
  FirewallShare share;
  std::map<uint32_t, size_t> per_ruleset;
  for (const Message& m : batch) {
    switch (m.header.kind) {
      case MessageKind::kFwRuleset:
        ++per_ruleset[m.body.fw_ruleset.ruleset_id];
        break;
      case MessageKind::kFwRule:
        ++per_ruleset[m.body.fw_rule.ruleset_id];
        break;
      case MessageKind::kFwBinding:
      case MessageKind::kFwZone:
      case MessageKind::kFwZoneInterface:
      case MessageKind::kFwZonePolicy:
      case MessageKind::kFwGlobal:
        break;
      default:
        continue;
    }
    ++share.messages;
  }
  std::vector<std::pair<size_t, uint32_t>> order;
  for (const auto& [id, n] : per_ruleset) order.emplace_back(n, id);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < order.size() && i < 3; ++i) {
    absl::StrAppend(&share.largest, i ? ", " : "",
                    ids.RulesetName(order[i].second).value_or(absl::StrCat(order[i].second)), " (",
                    order[i].first, ")");
  }
  return share;
}

bool FirewallNeedsReplace(MessageKind kind) {
  return kind == MessageKind::kFwRule || kind == MessageKind::kFwBinding ||
         kind == MessageKind::kFwZoneInterface || kind == MessageKind::kFwZonePolicy;
}

void PlanFirewall(const config::Model& model, InterfaceIndexes& ifindexes, FirewallIds& ids,
                  DataplaneObjects& out) {
  config::FwGroups groups{&model.address_groups, &model.port_groups};
  for (const auto& [name, rs] : model.firewalls) PlanRuleset(rs, groups, ids.Ruleset(name), out);

  // Bindings: only rulesets that exist (the commit checks refuse the rest), in configured order.
  for (const auto& [ifname, i] : model.interfaces) {
    const std::pair<FwHook, const std::vector<std::string>*> hooks[] = {
        {FwHook::kIn, &i.firewall_in},
        {FwHook::kOut, &i.firewall_out},
        {FwHook::kLocal, &i.firewall_local}};
    for (const auto& [hook, names] : hooks) {
      uint8_t position = 0;
      for (const std::string& rs : *names) {
        if (!model.firewalls.count(rs) || position > 7) continue;
        Message m = dp::api::NewMessage(MessageKind::kFwBinding, Op::kAdd);
        auto& b = m.body.fw_binding;
        b.ifindex = ifindexes.Get(ifname);
        b.ruleset_id = ids.Ruleset(rs);
        b.hook = hook;
        b.position = position;
        out[absl::StrCat("4 fw5 binding ", Id(b.ifindex), " ", static_cast<int>(hook), " ",
                         static_cast<int>(position))] = m;
        ++position;
      }
    }
  }

  for (const config::Zone& z : model.zones) {
    uint32_t zid = ids.Zone(z.name);
    Message m = dp::api::NewMessage(MessageKind::kFwZone, Op::kAdd);
    auto& b = m.body.fw_zone;
    b.zone_id = zid;
    CopyName(b.name, sizeof b.name, z.name);
    b.default_action = ActionOf(z.default_action.empty() ? "drop" : z.default_action);
    b.local = z.local ? 1 : 0;
    out[absl::StrCat("4 fw3 zone ", Id(zid))] = m;
    for (const std::string& ifname : z.interfaces) {
      // A port without configuration is not an interface vpnd programs (the commit refuses).
      if (!model.interfaces.count(ifname)) continue;
      Message zi = dp::api::NewMessage(MessageKind::kFwZoneInterface, Op::kAdd);
      zi.body.fw_zone_interface.ifindex = ifindexes.Get(ifname);
      zi.body.fw_zone_interface.zone_id = zid;
      out[absl::StrCat("4 fw4 zone-interface ", Id(zi.body.fw_zone_interface.ifindex))] = zi;
    }
  }
  for (const config::Zone& z : model.zones) {
    for (const auto& [to, rulesets] : z.to) {
      bool known = false;
      for (const config::Zone& other : model.zones) known |= other.name == to;
      if (!known || to == z.name) continue;
      uint8_t position = 0;
      for (const std::string& rs : rulesets) {
        if (!model.firewalls.count(rs) || position > 7) continue;
        Message m = dp::api::NewMessage(MessageKind::kFwZonePolicy, Op::kAdd);
        auto& b = m.body.fw_zone_policy;
        b.from_zone = ids.Zone(z.name);
        b.to_zone = ids.Zone(to);
        b.ruleset_id = ids.Ruleset(rs);
        b.position = position;
        out[absl::StrCat("4 fw6 zone-policy ", Id(b.from_zone), " ", Id(b.to_zone), " ",
                         static_cast<int>(position))] = m;
        ++position;
      }
    }
  }

  bool any = !model.firewalls.empty() || !model.zones.empty() || model.global_state_tcp ||
             model.global_state_udp || model.global_state_icmp;
  if (any) {
    Message m = dp::api::NewMessage(MessageKind::kFwGlobal, Op::kUpdate);
    m.body.fw_global.state_tcp = model.global_state_tcp ? 1 : 0;
    m.body.fw_global.state_udp = model.global_state_udp ? 1 : 0;
    m.body.fw_global.state_icmp = model.global_state_icmp ? 1 : 0;
    out["4 fw7 global"] = m;
  }
}

}  // namespace portcullis::vpnd
