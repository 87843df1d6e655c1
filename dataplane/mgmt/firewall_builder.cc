#include "dataplane/mgmt/firewall_builder.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/tables/firewall_acl.h"

namespace portcullis::dp {

namespace {

constexpr size_t kMaxFwEntries = 200000;  // entries over all rulesets

const char* HookName(api::FwHook h) {
  switch (h) {
    case api::FwHook::kIn:
      return "in";
    case api::FwHook::kOut:
      return "out";
    case api::FwHook::kLocal:
      return "local";
  }
  return "?";
}

std::string IfName(const ConfigState& cfg, uint32_t ifx) {
  auto it = cfg.interfaces.find(ifx);
  return it == cfg.interfaces.end() ? absl::StrCat("ifindex ", ifx)
                                    : std::string(it->second.body.name);
}

std::string RsName(const ConfigState& cfg, uint32_t id) {
  auto it = cfg.fw.rulesets.find(id);
  return it == cfg.fw.rulesets.end() ? absl::StrCat("ruleset ", id)
                                     : absl::StrCat("ruleset ", it->second.body.name);
}

std::string ZoneName(const ConfigState& cfg, uint32_t id) {
  auto it = cfg.fw.zones.find(id);
  return it == cfg.fw.zones.end() ? absl::StrCat("zone ", id)
                                  : absl::StrCat("zone ", it->second.name);
}

FwVerdict VerdictOf(api::FwAction a) {
  switch (a) {
    case api::FwAction::kAccept:
      return FwVerdict::kAccept;
    case api::FwAction::kReject:
      return FwVerdict::kReject;
    case api::FwAction::kDrop:
      break;
  }
  return FwVerdict::kDrop;
}

size_t EntryCount(const FwConfig& fw) {
  size_t n = 0;
  for (const auto& [id, rs] : fw.rulesets) n += rs.entries.size();
  return n;
}

}  // namespace

absl::Status CheckInterfaceUnused(const ConfigState& cfg, uint32_t ifindex) {
  for (const auto& [key, rs] : cfg.fw.bindings)
    if (std::get<0>(key) == ifindex)
      return absl::FailedPreconditionError(
          absl::StrCat("interface ", IfName(cfg, ifindex), " still has firewall ",
                       HookName(static_cast<api::FwHook>(std::get<1>(key))), " ", RsName(cfg, rs)));
  if (auto z = cfg.fw.zone_interfaces.find(ifindex); z != cfg.fw.zone_interfaces.end())
    return absl::FailedPreconditionError(absl::StrCat("interface ", IfName(cfg, ifindex),
                                                      " is still in ", ZoneName(cfg, z->second)));
  return absl::OkStatus();
}

absl::Status StageFirewall(const api::Message& m, ConfigState& cfg) {
  using api::MessageKind;
  using api::Op;
  FwConfig& fw = cfg.fw;
  const Op op = m.header.op;
  switch (m.header.kind) {
    case MessageKind::kFwRuleset: {
      const api::FwRulesetBody& b = m.body.fw_ruleset;
      auto it = fw.rulesets.find(b.ruleset_id);
      if (op == Op::kAdd) {
        if (it != fw.rulesets.end())
          return absl::AlreadyExistsError(absl::StrCat(RsName(cfg, b.ruleset_id), " exists"));
        for (const auto& [id, rs] : fw.rulesets)
          if (std::strncmp(rs.body.name, b.name, api::kFwNameSize) == 0)
            return absl::AlreadyExistsError(
                absl::StrCat("ruleset name ", b.name, " is already ruleset ", id));
        fw.rulesets[b.ruleset_id].body = b;
        return absl::OkStatus();
      }
      if (it == fw.rulesets.end())
        return absl::NotFoundError(absl::StrCat("no firewall ruleset ", b.ruleset_id));
      if (op == Op::kUpdate) {
        it->second.body = b;
        return absl::OkStatus();
      }
      for (const auto& [key, rs] : fw.bindings)
        if (rs == b.ruleset_id)
          return absl::FailedPreconditionError(
              absl::StrCat(RsName(cfg, rs), " is still bound to ", IfName(cfg, std::get<0>(key)),
                           " ", HookName(static_cast<api::FwHook>(std::get<1>(key)))));
      for (const auto& [key, rs] : fw.zone_policies)
        if (rs == b.ruleset_id)
          return absl::FailedPreconditionError(absl::StrCat(
              RsName(cfg, rs), " is still the policy of ", ZoneName(cfg, std::get<0>(key)), " to ",
              ZoneName(cfg, std::get<1>(key))));
      fw.rulesets.erase(it);
      return absl::OkStatus();
    }
    case MessageKind::kFwRule: {
      const api::FwRuleBody& b = m.body.fw_rule;
      auto rs = fw.rulesets.find(b.ruleset_id);
      const std::string what =
          absl::StrCat(RsName(cfg, b.ruleset_id), " rule ", b.rule_number, " entry ", b.entry);
      if (rs == fw.rulesets.end())
        return absl::NotFoundError(absl::StrCat(what, ": no such ruleset"));
      auto key = std::make_pair(b.rule_number, b.entry);
      auto& entries = rs->second.entries;
      if (op == Op::kDelete) {
        if (!entries.erase(key)) return absl::NotFoundError(what + " does not exist");
        return absl::OkStatus();
      }
      if (entries.count(key)) return absl::AlreadyExistsError(what + " exists");
      if (rs->second.body.family != 0 && rs->second.body.family != static_cast<uint8_t>(b.family))
        return absl::InvalidArgumentError(absl::StrCat(what, ": an IPv", static_cast<int>(b.family),
                                                       " entry in an IPv", rs->second.body.family,
                                                       "-only ruleset"));
      // Every entry of a rule acts alike: the rule has one counter, one log flag, one action.
      auto sibling = entries.lower_bound({b.rule_number, 0});
      if (sibling != entries.end() && sibling->first.first == b.rule_number) {
        const api::FwRuleBody& o = sibling->second;
        if (o.action != b.action || o.log != b.log || o.state != b.state)
          return absl::InvalidArgumentError(
              what + ": action, log and state differ from the rule's other entries");
      }
      if (EntryCount(fw) >= kMaxFwEntries)
        return absl::ResourceExhaustedError(
            absl::StrCat(what, ": more than ", kMaxFwEntries, " firewall rule entries"));
      entries[key] = b;
      return absl::OkStatus();
    }
    case MessageKind::kFwBinding: {
      const api::FwBindingBody& b = m.body.fw_binding;
      auto key = std::make_tuple(b.ifindex, static_cast<uint8_t>(b.hook), b.position);
      const std::string what = absl::StrCat("firewall ", HookName(b.hook), " on ",
                                            IfName(cfg, b.ifindex), " position ", b.position);
      if (op == Op::kDelete) {
        if (!fw.bindings.erase(key)) return absl::NotFoundError(what + " is not bound");
        return absl::OkStatus();
      }
      if (!cfg.interfaces.count(b.ifindex))  // staged interfaces are below --max-interfaces
        return absl::NotFoundError(absl::StrCat(what, ": no interface ", b.ifindex));
      if (!fw.rulesets.count(b.ruleset_id))
        return absl::NotFoundError(absl::StrCat(what, ": no ruleset ", b.ruleset_id));
      if (fw.bindings.count(key)) return absl::AlreadyExistsError(what + " is already bound");
      if (auto z = fw.zone_interfaces.find(b.ifindex); z != fw.zone_interfaces.end())
        return absl::FailedPreconditionError(
            absl::StrCat(what, ": the interface is in ", ZoneName(cfg, z->second),
                         " (an interface has zone policies or its own rulesets, not both)"));
      fw.bindings[key] = b.ruleset_id;
      return absl::OkStatus();
    }
    case MessageKind::kFwZone: {
      const api::FwZoneBody& b = m.body.fw_zone;
      auto it = fw.zones.find(b.zone_id);
      if (op == Op::kAdd && it != fw.zones.end())
        return absl::AlreadyExistsError(absl::StrCat(ZoneName(cfg, b.zone_id), " exists"));
      if (op != Op::kAdd && it == fw.zones.end())
        return absl::NotFoundError(absl::StrCat("no zone ", b.zone_id));
      if (op == Op::kDelete) {
        for (const auto& [ifx, z] : fw.zone_interfaces)
          if (z == b.zone_id)
            return absl::FailedPreconditionError(
                absl::StrCat(ZoneName(cfg, z), " still has interface ", IfName(cfg, ifx)));
        for (const auto& [key, rs] : fw.zone_policies)
          if (std::get<0>(key) == b.zone_id || std::get<1>(key) == b.zone_id)
            return absl::FailedPreconditionError(absl::StrCat(
                ZoneName(cfg, b.zone_id), " still has a policy from ",
                ZoneName(cfg, std::get<0>(key)), " to ", ZoneName(cfg, std::get<1>(key))));
        fw.zones.erase(it);
        return absl::OkStatus();
      }
      if (op == Op::kAdd && fw.zones.size() + 1 >= kMaxFwZones)
        return absl::ResourceExhaustedError(
            absl::StrCat("more than ", kMaxFwZones - 1, " firewall zones"));
      for (const auto& [id, z] : fw.zones) {
        if (id == b.zone_id) continue;
        if (b.local && z.local)
          return absl::AlreadyExistsError(
              absl::StrCat("zone ", b.name, ": zone ", z.name, " is already the local zone"));
        if (std::strncmp(z.name, b.name, api::kFwNameSize) == 0)
          return absl::AlreadyExistsError(absl::StrCat("zone name ", b.name, " exists"));
      }
      if (b.local)
        for (const auto& [ifx, z] : fw.zone_interfaces)
          if (z == b.zone_id)
            return absl::FailedPreconditionError(
                absl::StrCat("zone ", b.name, ": the local zone cannot have interfaces"));
      fw.zones[b.zone_id] = b;
      return absl::OkStatus();
    }
    case MessageKind::kFwZoneInterface: {
      const api::FwZoneInterfaceBody& b = m.body.fw_zone_interface;
      const std::string what =
          absl::StrCat("interface ", IfName(cfg, b.ifindex), " in ", ZoneName(cfg, b.zone_id));
      auto it = fw.zone_interfaces.find(b.ifindex);
      if (op == Op::kDelete) {
        if (it == fw.zone_interfaces.end() || it->second != b.zone_id)
          return absl::NotFoundError(what + ": not so");
        fw.zone_interfaces.erase(it);
        return absl::OkStatus();
      }
      if (!cfg.interfaces.count(b.ifindex))
        return absl::NotFoundError(what + ": no such interface");
      auto z = fw.zones.find(b.zone_id);
      if (z == fw.zones.end()) return absl::NotFoundError(what + ": no such zone");
      if (z->second.local)
        return absl::FailedPreconditionError(what + ": the local zone cannot have interfaces");
      if (it != fw.zone_interfaces.end())
        return absl::AlreadyExistsError(
            absl::StrCat(what, ": already in ", ZoneName(cfg, it->second)));
      for (const auto& [key, rs] : fw.bindings)
        if (std::get<0>(key) == b.ifindex)
          return absl::FailedPreconditionError(absl::StrCat(
              what, ": the interface has firewall ",
              HookName(static_cast<api::FwHook>(std::get<1>(key))), " ", RsName(cfg, rs),
              " (an interface has zone policies or its own rulesets, not both)"));
      fw.zone_interfaces[b.ifindex] = b.zone_id;
      return absl::OkStatus();
    }
    case MessageKind::kFwZonePolicy: {
      const api::FwZonePolicyBody& b = m.body.fw_zone_policy;
      auto key = std::make_tuple(b.from_zone, b.to_zone, b.position);
      const std::string what = absl::StrCat("policy ", ZoneName(cfg, b.from_zone), " to ",
                                            ZoneName(cfg, b.to_zone), " position ", b.position);
      if (op == Op::kDelete) {
        if (!fw.zone_policies.erase(key)) return absl::NotFoundError(what + " does not exist");
        return absl::OkStatus();
      }
      if (!fw.zones.count(b.from_zone) || !fw.zones.count(b.to_zone))
        return absl::NotFoundError(what + ": no such zone");
      if (!fw.rulesets.count(b.ruleset_id))
        return absl::NotFoundError(absl::StrCat(what, ": no ruleset ", b.ruleset_id));
      if (fw.zone_policies.count(key)) return absl::AlreadyExistsError(what + " exists");
      fw.zone_policies[key] = b.ruleset_id;
      return absl::OkStatus();
    }
    case MessageKind::kFwGlobal:
      fw.global = m.body.fw_global;
      return absl::OkStatus();
    default:
      break;
  }
  return absl::InvalidArgumentError("not a firewall message");
}

absl::StatusOr<std::unique_ptr<FwTables>> BuildFirewall(const ConfigState& cfg, uint32_t nworkers,
                                                        uint32_t max_interfaces,
                                                        const std::string& prefix,
                                                        uint64_t generation) {
  const FwConfig& fw = cfg.fw;
  if (fw.bindings.empty() && fw.zone_interfaces.empty()) return std::unique_ptr<FwTables>();
  auto t = std::make_unique<FwTables>(max_interfaces);
  t->generation = generation;
  // Counter slots: each ruleset's default action, then its rules in number order.
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> slot_of;  // (ruleset, rule number)
  for (const auto& [id, rs] : fw.rulesets) {
    bool stateful = false;
    for (const auto& [key, e] : rs.entries) stateful |= e.state != 0;
    slot_of[{id, 0}] = static_cast<uint32_t>(t->slots.size());
    t->slots.push_back({id, 0, VerdictOf(rs.body.default_action), rs.body.default_log,
                        static_cast<uint8_t>(stateful), 0});
    for (const auto& [key, e] : rs.entries) {
      if (slot_of.count({id, key.first})) continue;
      slot_of[{id, key.first}] = static_cast<uint32_t>(t->slots.size());
      t->slots.push_back(
          {id, key.first, VerdictOf(e.action), e.log, static_cast<uint8_t>(stateful), 0});
    }
  }
  // Zones: index 1.. in id order.
  std::map<uint32_t, uint8_t> zone_index;
  for (const auto& [id, z] : fw.zones) {
    const uint8_t idx = static_cast<uint8_t>(zone_index.size() + 1);
    zone_index[id] = idx;
    t->zone_ids[idx] = id;
    if (z.local) t->local_zone = idx;
  }
  for (const auto& [ifx, z] : fw.zone_interfaces) t->zone_of[ifx] = zone_index[z];
  t->any_zone = !fw.zone_interfaces.empty();

  // The rulesets of a list that filter a family (in order).
  auto of_family = [&](const std::vector<uint32_t>& rulesets, bool v6) {
    std::vector<uint32_t> out;
    for (uint32_t id : rulesets) {
      const uint8_t f = fw.rulesets.at(id).body.family;
      if (f == 0 || f == (v6 ? 6 : 4)) out.push_back(id);
    }
    return out;
  };
  // An IPv6 chain: the IPv6 entries, their address ranges cut into prefixes.
  auto chain6 = [&](const std::vector<uint32_t>& rulesets,
                    int64_t default_slot) -> absl::StatusOr<const FwChain*> {
    std::vector<FwAclRule6> rules;
    bool uses_state = false, has_log = false;
    std::vector<FwPrefix6> srcs, dsts;
    for (size_t pos = 0; pos < rulesets.size(); ++pos) {
      const FwRulesetConfig& rs = fw.rulesets.at(rulesets[pos]);
      for (const auto& [key, e] : rs.entries) {
        // The state mask makes the ruleset stateful for both families (as IPv4's entries do).
        uses_state |= e.state != 0;
        has_log |= e.log != 0;
        if (e.family != api::Family::kIpv6) continue;
        FwAclRule6 r{};
        r.userdata = slot_of.at({rulesets[pos], key.first}) + 1;
        r.precedence = static_cast<uint32_t>(pos * 10000 + key.first);
        r.categories = e.state != 0 ? e.state : 0x0f;
        r.proto_low = e.proto_low;
        r.proto_high = e.proto_high;
        if (e.proto_low == 58 && e.proto_high == 58) {
          r.sport_low = e.icmp_type_low;
          r.sport_high = e.icmp_type_high;
          r.dport_low = e.icmp_code_low;
          r.dport_high = e.icmp_code_high;
        } else {
          r.sport_low = e.src_port_low;
          r.sport_high = e.src_port_high;
          r.dport_low = e.dst_port_low;
          r.dport_high = e.dst_port_high;
        }
        srcs.clear();
        dsts.clear();
        FwPrefixes6(e.src_low.bytes, e.src_high.bytes, &srcs);
        FwPrefixes6(e.dst_low.bytes, e.dst_high.bytes, &dsts);
        if (rules.size() + srcs.size() * dsts.size() > kMaxFwEntries)
          return absl::ResourceExhaustedError(absl::StrCat(
              RsName(cfg, rulesets[pos]), " rule ", key.first, ": its IPv6 address ranges make ",
              "more than ", kMaxFwEntries, " ACL entries"));
        for (const FwPrefix6& sp : srcs) {
          for (const FwPrefix6& dp : dsts) {
            std::memcpy(r.src, sp.addr, 16);
            r.src_len = sp.len;
            std::memcpy(r.dst, dp.addr, 16);
            r.dst_len = dp.len;
            rules.push_back(r);
          }
        }
      }
    }
    auto c = std::make_unique<FwChain>();
    c->ipv6 = true;
    c->uses_state = uses_state;
    c->default_slot =
        default_slot >= 0 ? static_cast<uint32_t>(default_slot) : slot_of.at({rulesets.back(), 0});
    c->has_log = has_log || t->slots[c->default_slot].log;
    if (!rules.empty()) {
      auto acl = CompileFwAcl6(
          absl::StrFormat("%s_fw%d_%d_6", prefix, generation, t->chains.size()), rules);
      if (!acl.ok()) return acl.status();
      c->acl = *acl;
    }
    t->chains.push_back(std::move(c));
    return t->chains.back().get();
  };
  auto chain = [&](const std::vector<uint32_t>& rulesets,
                   int64_t default_slot) -> absl::StatusOr<const FwChain*> {
    std::vector<FwAclRule> rules;
    bool uses_state = false, has_log = false;
    for (size_t pos = 0; pos < rulesets.size(); ++pos) {
      const FwRulesetConfig& rs = fw.rulesets.at(rulesets[pos]);
      for (const auto& [key, e] : rs.entries) {
        if (e.family != api::Family::kIpv4) {
          uses_state |= e.state != 0;
          has_log |= e.log != 0;
          continue;
        }
        FwAclRule r{};
        r.userdata = slot_of.at({rulesets[pos], key.first}) + 1;
        r.precedence = static_cast<uint32_t>(pos * 10000 + key.first);
        // The state bits are the categories' (new, established, related, invalid).
        r.categories = e.state != 0 ? e.state : 0x0f;
        uses_state |= e.state != 0;
        has_log |= e.log != 0;
        r.proto_low = e.proto_low;
        r.proto_high = e.proto_high;
        auto v4 = [](const api::IpAddr& a) {
          return (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) |
                 (uint32_t{a.bytes[2]} << 8) | a.bytes[3];
        };
        r.src_low = v4(e.src_low);
        r.src_high = v4(e.src_high);
        r.dst_low = v4(e.dst_low);
        r.dst_high = v4(e.dst_high);
        if (e.proto_low == 1 && e.proto_high == 1) {
          r.sport_low = e.icmp_type_low;
          r.sport_high = e.icmp_type_high;
          r.dport_low = e.icmp_code_low;
          r.dport_high = e.icmp_code_high;
        } else {
          r.sport_low = e.src_port_low;
          r.sport_high = e.src_port_high;
          r.dport_low = e.dst_port_low;
          r.dport_high = e.dst_port_high;
        }
        rules.push_back(r);
      }
    }
    auto c = std::make_unique<FwChain>();
    c->uses_state = uses_state;
    c->default_slot =
        default_slot >= 0 ? static_cast<uint32_t>(default_slot) : slot_of.at({rulesets.back(), 0});
    c->has_log = has_log || t->slots[c->default_slot].log;
    if (!rules.empty()) {
      // DPDK names are process-wide (rte_acl_create hands back a live context of the same
      // name): the dataplane's own prefix keeps two in one process (tests, fuzzers) apart.
      auto acl =
          CompileFwAcl(absl::StrFormat("%s_fw%d_%d", prefix, generation, t->chains.size()), rules);
      if (!acl.ok()) return acl.status();
      c->acl = *acl;
    }
    t->chains.push_back(std::move(c));
    return t->chains.back().get();
  };

  // Bindings, per (interface, hook) in position order.
  std::map<std::pair<uint32_t, uint8_t>, std::vector<uint32_t>> bound;
  for (const auto& [key, rs] : fw.bindings)
    bound[{std::get<0>(key), std::get<1>(key)}].push_back(rs);
  for (const auto& [key, list] : bound) {
    // FwHook 1..3 -> kFwIn..kFwLocal; a family no ruleset here filters has no chain.
    if (auto l4 = of_family(list, false); !l4.empty()) {
      auto c = chain(l4, -1);
      if (!c.ok()) return c.status();
      t->hooks[key.first][key.second - 1] = *c;
    }
    if (auto l6 = of_family(list, true); !l6.empty()) {
      auto c = chain6(l6, -1);
      if (!c.ok()) return c.status();
      t->hooks6[key.first][key.second - 1] = *c;
    }
  }
  // Zone pairs: the policy's rulesets, then the last ruleset's configured default-action, or
  // (without one) the to-zone's default action (its own slot).
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> pairs;
  for (const auto& [key, rs] : fw.zone_policies)
    pairs[{std::get<0>(key), std::get<1>(key)}].push_back(rs);
  std::map<uint32_t, uint32_t> zone_default_slot;
  for (const auto& [id, z] : fw.zones) {
    zone_default_slot[id] = static_cast<uint32_t>(t->slots.size());
    t->slots.push_back({0, 0, VerdictOf(z.default_action), 0, 0, 0});
  }
  for (const auto& [key, all] : pairs) {
    for (bool v6 : {false, true}) {
      // A family none of the policy's rulesets filters meets the to-zone's default.
      const std::vector<uint32_t> list = of_family(all, v6);
      const bool implicit = list.empty() || fw.rulesets.at(list.back()).body.default_implicit != 0;
      const int64_t def = implicit ? int64_t{zone_default_slot[key.second]} : int64_t{-1};
      auto c = v6 ? chain6(list, def) : chain(list, def);
      if (!c.ok()) return c.status();
      FwChain* mc = t->chains.back().get();
      mc->zone_from = key.first;
      mc->zone_to = key.second;
      (v6 ? t->zone_pairs6 : t->zone_pairs)[zone_index[key.first]][zone_index[key.second]] = *c;
    }
  }
  t->state_tcp = fw.global.state_tcp;
  t->state_udp = fw.global.state_udp;
  t->state_icmp = fw.global.state_icmp;
  t->any_global_state = t->state_tcp || t->state_udp || t->state_icmp;
  t->slot_keys.resize(t->slots.size());
  for (uint32_t i = 0; i < t->slots.size(); ++i)
    t->slot_keys[i] = uint64_t{t->slots[i].ruleset_id} << 32 | t->slots[i].rule_number;
  for (const auto& [id, slot] : zone_default_slot) t->slot_keys[slot] = kFwZoneDefaultKey | id;
  t->AllocateCounters(nworkers);
  return t;
}

void ParkFirewallCounters(const FwTables& old, uint32_t nworkers, FwParkedCounters& parked) {
  for (uint32_t i = 0; i < old.slots.size(); ++i)
    parked[old.slot_keys[i]] = {old.SlotPackets(i, nworkers), old.SlotBytes(i, nworkers),
                                old.SlotSuppressed(i, nworkers)};
}

void CarryFirewallCounters(const FwParkedCounters& parked, FwTables& fresh) {
  for (uint32_t i = 0; i < fresh.slots.size(); ++i) {
    auto it = parked.find(fresh.slot_keys[i]);
    if (it == parked.end()) continue;
    fresh.base_packets[i] += it->second.packets;
    fresh.base_bytes[i] += it->second.bytes;
    fresh.base_suppressed[i] += it->second.suppressed;
  }
}

}  // namespace portcullis::dp
