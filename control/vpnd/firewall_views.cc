#include "control/vpnd/firewall_views.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/vpnd/fw_log_line.h"
#include "control/vpnd/json_writer.h"

namespace portcullis::vpnd {

namespace {

// Pages of one ruleset at most (100 rules each: 9999 rules and the default fit in 101).
constexpr int kMaxPages = 128;

std::vector<uint64_t> U64s(const JsonValue& v, absl::string_view key) {
  std::vector<uint64_t> out;
  if (const JsonValue* a = v.Get(key)) {
    for (const JsonValue& x : a->array) out.push_back(static_cast<uint64_t>(x.number));
  }
  return out;
}

void Sub(uint64_t& v, uint64_t base) {
  v = v >= base ? v - base : v;
}

FwRuleRow Row(const config::FirewallRule& r, const FwRulesetTelemetry* t) {
  FwRuleRow row;
  row.number = r.number;
  row.action = r.action;
  row.proto = r.protocol.empty() ? (r.icmp_type >= 0 ? "icmp" : "any") : r.protocol;
  row.condition = FwCondition(r);
  if (t != nullptr) {
    auto it = t->rules.find(r.number);
    if (it != t->rules.end()) row.counters = it->second;
  }
  return row;
}

std::vector<FwRuleRow> Rows(const config::FirewallRuleset& rs, const FwRulesetTelemetry* t) {
  std::vector<FwRuleRow> out;
  for (const config::FirewallRule& r : rs.rules) {
    if (r.disabled || r.action.empty()) continue;  // not in the dataplane
    out.push_back(Row(r, t));
  }
  FwRuleRow def;
  def.number = kFwDefaultRuleNumber;
  def.action = rs.default_action;
  def.proto = "any";
  if (t != nullptr) def.counters = t->default_counters;
  out.push_back(def);
  return out;
}

std::string Dashes(size_t n) {
  return std::string(n, '-');
}

// print_header of vyatta-dp-npf-show-rules.
void Header(std::string& out, const std::string& h) {
  absl::StrAppend(&out, Dashes(h.size()), "\n", h, "\n", Dashes(h.size()), "\n", Dashes(80), "\n");
}

void RuleLine(std::string& out, const std::string& a, const std::string& b, const std::string& c,
              const std::string& d, const std::string& e) {
  absl::StrAppendFormat(&out, "%-7s %-7s %-15s %-15s %-15s\n", a, b, c, d, e);
}

}  // namespace

absl::StatusOr<FwTelemetry> ReadFirewallTelemetry(DataplaneTelemetry& t,
                                                  std::optional<uint32_t> only) {
  absl::StatusOr<std::vector<JsonValue>> base = t.Query({"/portcullis/firewall"});
  if (!base.ok()) return base.status();
  if (base->empty()) return absl::UnavailableError("the dataplane sent no firewall telemetry");
  const JsonValue& g = (*base)[0];
  FwTelemetry out;
  out.sessions_active = g.U64("sessions_active");
  out.sessions_max = g.U64("sessions_max");
  out.sessions_created = g.U64("sessions_created");
  out.sessions_expired = g.U64("sessions_expired");
  out.sessions_table_full = g.U64("sessions_table_full");
  out.log_sent = g.U64("log_sent");
  out.log_suppressed = g.U64("log_suppressed");
  out.log_lost = g.U64("log_lost");
  for (uint64_t id64 : U64s(g, "rulesets")) {
    uint32_t id = static_cast<uint32_t>(id64);
    if (only && *only != id) continue;
    FwRulesetTelemetry rs;
    rs.id = id;
    uint64_t from = 0;
    for (int page = 0; page < kMaxPages; ++page) {
      std::string cmd = absl::StrCat("/portcullis/firewall_ruleset,", id);
      if (from != 0) absl::StrAppend(&cmd, "/", from);
      absl::StatusOr<std::vector<JsonValue>> r = t.Query({cmd});
      if (!r.ok()) return r.status();
      if (r->empty()) break;
      const JsonValue& v = (*r)[0];
      if (page == 0) {
        rs.name = v.Str("name");
        rs.default_action = v.Str("default_action");
        rs.default_counters.packets = v.U64("default_packets");
        rs.default_counters.bytes = v.U64("default_bytes");
      }
      std::vector<uint64_t> numbers = U64s(v, "numbers"), packets = U64s(v, "packets"),
                            bytes = U64s(v, "bytes"), suppressed = U64s(v, "suppressed");
      for (size_t i = 0; i < numbers.size(); ++i) {
        FwCounters& c = rs.rules[static_cast<uint32_t>(numbers[i])];
        c.packets = i < packets.size() ? packets[i] : 0;
        c.bytes = i < bytes.size() ? bytes[i] : 0;
        c.suppressed = i < suppressed.size() ? suppressed[i] : 0;
      }
      uint64_t next = v.U64("next");
      if (next == 0 || next <= from) break;  // done (or a dataplane going backwards)
      from = next;
    }
    out.rulesets[id] = std::move(rs);
  }
  return out;
}

void FwCounterBaselines::Clear(const FwRulesetTelemetry& now, uint32_t rule) {
  if (rule == 0 || rule == kFwDefaultRuleNumber) base_[{now.id, 0}] = now.default_counters;
  for (const auto& [n, c] : now.rules) {
    if (rule == 0 || rule == n) base_[{now.id, n}] = c;
  }
}

void FwCounterBaselines::ForgetRuleset(uint32_t ruleset_id) {
  base_.erase(base_.lower_bound({ruleset_id, 0}),
              base_.upper_bound({ruleset_id, std::numeric_limits<uint32_t>::max()}));
}

void FwCounterBaselines::ForgetRule(uint32_t ruleset_id, uint32_t rule) {
  base_.erase({ruleset_id, rule});
}

void FwCounterBaselines::Apply(FwTelemetry& t) {
  for (auto it = base_.begin(); it != base_.end();) {
    auto rs = t.rulesets.find(it->first.first);
    if (rs == t.rulesets.end()) {
      ++it;
      continue;
    }
    FwCounters* c = nullptr;
    if (it->first.second == 0) {
      c = &rs->second.default_counters;
    } else if (auto r = rs->second.rules.find(it->first.second); r != rs->second.rules.end()) {
      c = &r->second;
    }
    if (c == nullptr) {
      ++it;
      continue;
    }
    if (c->packets < it->second.packets || c->bytes < it->second.bytes) {
      it = base_.erase(it);  // counted from zero again since
      continue;
    }
    Sub(c->packets, it->second.packets);
    Sub(c->bytes, it->second.bytes);
    Sub(c->suppressed, it->second.suppressed);
    ++it;
  }
}

std::string FwCondition(const config::FirewallRule& r) {
  std::vector<std::string> parts;
  if (!r.protocol.empty()) parts.push_back(absl::StrCat("proto ", r.protocol));
  auto side = [&](const char* word, const std::string& addr, const std::string& port) {
    if (addr.empty() && port.empty()) return;
    std::string s = absl::StrCat(word, " ", addr.empty() ? "any" : addr);
    if (!port.empty()) absl::StrAppend(&s, " port ", port);
    parts.push_back(s);
  };
  side("from", r.source_address, r.source_port);
  side("to", r.destination_address, r.destination_port);
  if (r.icmp_type >= 0) {
    parts.push_back(r.icmp_code >= 0 ? absl::StrCat("icmp-type ", r.icmp_type, ":", r.icmp_code)
                                     : absl::StrCat("icmp-type ", r.icmp_type));
  }
  if (!r.match_state.empty())
    parts.push_back(absl::StrCat("state ", absl::StrJoin(r.match_state, ",")));
  if (r.action == "reject") parts.push_back("apply reject");
  if (r.log) parts.push_back("apply log");
  return absl::StrJoin(parts, " ");
}

FirewallView BuildFirewallView(const config::Model& model, const FirewallIds& ids,
                               const FwTelemetry& t, const std::string& name) {
  FirewallView v;
  v.telemetry = t;
  auto telemetry_of = [&](const std::string& rs) -> const FwRulesetTelemetry* {
    std::optional<uint32_t> id = ids.FindRuleset(rs);
    if (!id) return nullptr;
    auto it = t.rulesets.find(*id);
    return it == t.rulesets.end() ? nullptr : &it->second;
  };
  std::map<std::string, bool> applied;
  auto add = [&](const std::string& rs, FwGroupView g) {
    auto it = model.firewalls.find(rs);
    if (it == model.firewalls.end() || (!name.empty() && rs != name)) return;
    applied[rs] = true;
    g.name = rs;
    g.rules = Rows(it->second, telemetry_of(rs));
    v.groups.push_back(std::move(g));
  };
  const std::pair<const char*, std::vector<std::string> config::Interface::*> kinds[] = {
      {"fw-in", &config::Interface::firewall_in},
      {"fw-out", &config::Interface::firewall_out},
      {"local", &config::Interface::firewall_local}};
  for (const auto& [kind, member] : kinds) {
    for (const auto& [ifname, i] : model.interfaces) {
      for (const std::string& rs : i.*member) add(rs, {"", kind, ifname, "", "", {}});
    }
  }
  for (const config::Zone& z : model.zones) {
    for (const auto& [to, rulesets] : z.to) {
      for (const std::string& rs : rulesets) add(rs, {"", "zone", "", z.name, to, {}});
    }
  }
  if (!name.empty() && !applied.count(name)) {
    auto it = model.firewalls.find(name);
    if (it != model.firewalls.end()) {
      FwGroupView g{name, "unapplied", "", "", "", Rows(it->second, telemetry_of(name))};
      v.groups.push_back(std::move(g));
    }
  }
  return v;
}

std::string FirewallText(const FirewallView& v) {
  std::string out;
  bool fw_header = false;
  auto group_rules = [&](const FwGroupView& g) {
    RuleLine(out, "rule", "action", "proto", "packets", "bytes");
    RuleLine(out, "----", "------", "-----", "-------", "-----");
    for (const FwRuleRow& r : g.rules) {
      // Vyatta shows "allow" for what passes and "drop" for the rest (reject included; its
      // condition says reject).
      RuleLine(out, r.number == kFwDefaultRuleNumber ? "default" : absl::StrCat(r.number),
               r.action == "accept" ? "allow" : "drop", r.proto, absl::StrCat(r.counters.packets),
               absl::StrCat(r.counters.bytes));
      if (!v.statistics) absl::StrAppend(&out, "  condition - ", r.condition, "\n");
      out += "\n";
    }
  };
  for (const char* kind : {"fw-in", "fw-out", "local", "unapplied"}) {
    bool any = false;
    for (const FwGroupView& g : v.groups) {
      if (g.kind != kind) continue;
      if (!fw_header) {
        Header(out, "Rulesets Information: Firewall");
        fw_header = true;
      }
      absl::StrAppend(&out, "Firewall \"", g.name, "\":\n");
      if (g.kind == "unapplied") {
        out += "Not applied to any interface or zone\n";
      } else {
        absl::StrAppend(&out, "Active on (", g.interface, ", ",
                        g.kind == "fw-in"    ? "in"
                        : g.kind == "fw-out" ? "out"
                                             : "local",
                        ")\n");
      }
      group_rules(g);
      any = true;
    }
    if (any) out += "\n";
  }
  std::string last_pair;
  bool any_zone = false;
  for (const FwGroupView& g : v.groups) {
    if (g.kind != "zone") continue;
    std::string pair = g.from_zone + ">" + g.to_zone;
    if (pair != last_pair) {
      Header(out, absl::StrCat("Rulesets Information: From zone \"", g.from_zone, "\" to zone \"",
                               g.to_zone, "\""));
      last_pair = pair;
    }
    absl::StrAppend(&out, "Firewall \"", g.name, "\":\n");
    group_rules(g);
    any_zone = true;
  }
  if (any_zone) out += "\n";
  if (v.statistics) {
    const FwTelemetry& t = v.telemetry;
    absl::StrAppend(&out, "Sessions: ", t.sessions_active, " active of ", t.sessions_max, ", ",
                    t.sessions_created, " created, ", t.sessions_expired, " expired, ",
                    t.sessions_table_full, " refused (table full)\n");
    absl::StrAppend(&out, "Log lines: ", t.log_sent, " sent, ", t.log_suppressed,
                    " suppressed (rate limit), ", t.log_lost, " lost (event ring full)\n");
  }
  if (v.groups.empty() && !v.statistics) out = "No firewall ruleset is applied\n";
  return out;
}

std::string FirewallJson(const FirewallView& v) {
  JsonWriter j;
  j.BeginObject();
  j.Key("rulesets").BeginArray();
  for (const FwGroupView& g : v.groups) {
    j.BeginObject();
    j.Field("name", g.name);
    j.Field("applied", g.kind);
    if (!g.interface.empty()) j.Field("interface", g.interface);
    if (!g.from_zone.empty()) {
      j.Field("from_zone", g.from_zone);
      j.Field("to_zone", g.to_zone);
    }
    j.Key("rules").BeginArray();
    for (const FwRuleRow& r : g.rules) {
      j.BeginObject();
      if (r.number == kFwDefaultRuleNumber) {
        j.Field("rule", std::string("default"));
      } else {
        j.Field("rule", r.number);
      }
      j.Field("action", r.action);
      j.Field("proto", r.proto);
      j.Field("packets", r.counters.packets);
      j.Field("bytes", r.counters.bytes);
      j.Field("log_suppressed", r.counters.suppressed);
      j.Field("condition", r.condition);
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  const FwTelemetry& t = v.telemetry;
  j.Key("sessions").BeginObject();
  j.Field("active", t.sessions_active);
  j.Field("max", t.sessions_max);
  j.Field("created", t.sessions_created);
  j.Field("expired", t.sessions_expired);
  j.Field("table_full", t.sessions_table_full);
  j.EndObject();
  j.Key("log").BeginObject();
  j.Field("sent", t.log_sent);
  j.Field("suppressed", t.log_suppressed);
  j.Field("lost", t.log_lost);
  j.EndObject();
  j.EndObject();
  return j.str() + "\n";
}

}  // namespace portcullis::vpnd
