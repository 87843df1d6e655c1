#include "control/config/vyos_dialect.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/config/algorithm_names.h"
#include "control/config/interface_names.h"
#include "control/config/schema.h"

namespace portcullis::config {

namespace {

using Words = std::vector<std::string>;

struct ValueMap {
  const char* vyos;
  const char* canonical;
};

constexpr ValueMap kVersionMap[] = {{"ikev1", "1"}, {"ikev2", "2"}};
constexpr ValueMap kBondModeMap[] = {
    {"802.3ad", "lacp"}, {"active-backup", "active-backup"}, {"xor-hash", "balanced"}};

const char* ToCanonical(const ValueMap* begin, const ValueMap* end, const std::string& v) {
  for (auto* m = begin; m != end; ++m)
    if (v == m->vyos) return m->canonical;
  return nullptr;
}

const char* ToVyosValue(const ValueMap* begin, const ValueMap* end, const std::string& v) {
  for (auto* m = begin; m != end; ++m)
    if (v == m->canonical) return m->vyos;
  return nullptr;
}

bool At(const Words& w, size_t i, absl::string_view s) {
  return i < w.size() && w[i] == s;
}

// Whether a keyword is a secret leaf of the schema (pre-shared-secret, password).
bool IsSecretKeyword(const SchemaNode& node, absl::string_view word) {
  for (const SchemaNode& c : node.children) {
    if ((c.secret && c.name == word) || IsSecretKeyword(c, word)) return true;
  }
  return false;
}

// The words of a line for an error's path. Whatever follows a secret keyword is shown as
// '********': the line's value (and any words a space split it into) may be a pre-shared key.
std::string Join(const Words& w) {
  std::string out;
  for (const std::string& word : w) {
    if (!out.empty()) out += ' ';
    out += word;
    if (IsSecretKeyword(RootSchema(), word)) {
      if (&word != &w.back()) out += " '********'";
      break;
    }
  }
  return out;
}

// 0.0.0.0/0 or ::/0: VyOS writes both for a route-based peer's tunnel, which is the VTI's own
// CHILD SA (whose selectors vpnd derives itself), so the pair is not two prefixes to lose.
bool IsAnyPrefix(const std::string& p) {
  return p == "0.0.0.0/0" || p == "::/0";
}

// Path to an interface node, including its vif: {"interfaces", "ethernet", "eth0", "vif", "10"}.
bool InterfacePath(const std::string& name, Words* out) {
  InterfaceName n = ClassifyInterface(name);
  if (n.type.empty()) return false;
  *out = {"interfaces", n.type, n.base};
  if (!n.vif.empty()) {
    out->push_back("vif");
    out->push_back(n.vif);
  }
  return true;
}

}  // namespace

VyosTranslator::Result VyosTranslator::Translate(Command& cmd, Diagnostics& diags) {
  Words& w = cmd.words;
  if (w.empty()) return Result::kApply;
  const std::string& root = w[0];

  if (root == "vpn") return TranslateVpn(cmd, diags);
  if (root == "firewall") return TranslateFirewall(cmd, diags);

  if (root == "system" || root == "service") {
    auto& [loc, count] = ignored_[root];
    if (count++ == 0) loc = cmd.loc;
    return Result::kIgnored;
  }
  if (root == "high-availability") {
    diags.Error(cmd.loc, Join(w),
                "VyOS high-availability is not supported: configure VRRP on the interface "
                "('interfaces <type> <name> vrrp vrrp-group N ...')");
    return Result::kError;
  }

  // Canonical ike-version lines count as a version for the VyOS default below.
  if (root == "security" && w.size() >= 6 && w[1] == "vpn" && w[2] == "ipsec" &&
      w[3] == "ike-group" && At(w, 5, "ike-version")) {
    ike_groups_with_version_.insert(w[4]);
  }

  // protocols static route P interface IF [...] -> interface-route P next-hop-interface IF
  if (root == "protocols" && At(w, 1, "static") && (At(w, 2, "route") || At(w, 2, "route6")) &&
      At(w, 4, "interface")) {
    Words out = {"protocols", "static", w[2] == "route" ? "interface-route" : "interface-route6",
                 w[3], "next-hop-interface"};
    out.insert(out.end(), w.begin() + 5, w.end());
    w = out;
    return Result::kApply;
  }

  if (root == "interfaces" && At(w, 1, "bonding") && w.size() >= 4) {
    // interfaces bonding B member interface X -> interfaces <type> X bond-group B
    if (At(w, 3, "member") && At(w, 4, "interface")) {
      if (w.size() != 6) {
        diags.Error(cmd.loc, Join(w), "expected 'member interface <name>'");
        return Result::kError;
      }
      Words path;
      if (!InterfacePath(w[5], &path) || path.size() != 3) {
        diags.Error(cmd.loc, Join(w), absl::StrCat("'", w[5], "' is not a bondable port name"));
        return Result::kError;
      }
      path.push_back("bond-group");
      path.push_back(w[2]);
      w = path;
      return Result::kApply;
    }
    if (At(w, 3, "mode") && w.size() == 5) {
      if (const char* c = ToCanonical(std::begin(kBondModeMap), std::end(kBondModeMap), w[4])) {
        w[4] = c;
      } else if (w[4] != "lacp" && w[4] != "balanced") {
        diags.Error(cmd.loc, Join(w),
                    absl::StrCat("bonding mode '", w[4],
                                 "' is not supported (use 802.3ad, active-backup or xor-hash)"));
        return Result::kError;
      }
    }
  }
  return Result::kApply;
}

VyosTranslator::Result VyosTranslator::TranslateVpn(Command& cmd, Diagnostics& diags) {
  Words& w = cmd.words;
  if (!At(w, 1, "ipsec")) {
    diags.Error(cmd.loc, Join(w), "only 'vpn ipsec' is supported");
    return Result::kError;
  }
  // vpn ipsec interface X -> security vpn ike interface X
  if (At(w, 2, "interface")) {
    Words out = {"security", "vpn", "ike"};
    out.insert(out.end(), w.begin() + 2, w.end());
    w = out;
    return Result::kApply;
  }
  // vpn ipsec log level N -> security vpn ipsec logging log-level N
  if (At(w, 2, "log")) {
    if (At(w, 3, "level")) {
      Words out = {"security", "vpn", "ipsec", "logging", "log-level"};
      out.insert(out.end(), w.begin() + 4, w.end());
      w = out;
      return Result::kApply;
    }
    diags.Error(cmd.loc, Join(w), "only 'vpn ipsec log level' is supported");
    return Result::kError;
  }
  if ((At(w, 2, "ike-group") || At(w, 2, "esp-group")) && w.size() >= 5) {
    const bool ike = w[2] == "ike-group";
    const std::string& group = w[3];
    if (ike && !vyos_ike_groups_.count(group)) vyos_ike_groups_[group] = cmd.loc;
    const std::string& leaf = w[4];
    if (ike && leaf == "key-exchange") {
      if (w.size() == 6) {
        const char* v = ToCanonical(std::begin(kVersionMap), std::end(kVersionMap), w[5]);
        if (v == nullptr) {
          diags.Error(cmd.loc, Join(w),
                      absl::StrCat("invalid value '", w[5], "': expected ikev1|ikev2"));
          return Result::kError;
        }
        w[4] = "ike-version";
        w[5] = v;
        ike_groups_with_version_.insert(group);
      }
    } else if (ike && leaf == "dead-peer-detection" && At(w, 5, "action") && At(w, 6, "trap")) {
      w[6] = "hold";  // VyOS "trap" is Vyatta "hold": keep the policy, renegotiate on traffic
    } else if (ike && (leaf == "ikev2-reauth" || leaf == "mobike")) {
      if (leaf == "ikev2-reauth" && At(w, 5, "no")) return Result::kIgnored;
      diags.Error(cmd.loc, Join(w),
                  leaf == "mobike" ? "MOBIKE is not supported"
                                   : "IKEv2 reauthentication is not supported: the IKE SA is "
                                     "rekeyed with CREATE_CHILD_SA");
      return Result::kError;
    } else if (ike && leaf == "disable-mobike") {
      return Result::kIgnored;  // Portcullis never does MOBIKE
    } else if (leaf == "proposal" && w.size() == 8 && w[6] == "hash") {
      const HashName* h = FindVyosHash(w[7]);
      if (h == nullptr) {
        diags.Error(cmd.loc, Join(w),
                    absl::StrCat("hash '", w[7], "' is not supported (supported: ",
                                 absl::StrJoin(VyosHashNames(), ", "), ")"));
        return Result::kError;
      }
      w[7] = std::string(h->vyatta);
    }
  }
  if (At(w, 2, "site-to-site") && At(w, 3, "peer") && w.size() >= 6) {
    if (At(w, 5, "authentication") && At(w, 6, "local-id")) w[6] = "id";
    // VyOS `tunnel N local|remote prefix` is multi-valued (a dual-stack tunnel often lists an
    // IPv4 and an IPv6 prefix); the canonical leaf holds one, and a second line would replace
    // the first without a word.
    if (At(w, 5, "tunnel") && w.size() >= 9 && (At(w, 7, "local") || At(w, 7, "remote")) &&
        At(w, 8, "prefix")) {
      std::string key = absl::StrCat(w[4], " tunnel ", w[6], " ", w[7]);
      if (cmd.op == Command::Op::kDelete) tunnel_prefixes_.erase(key);
    }
    if (cmd.op == Command::Op::kSet && At(w, 5, "tunnel") && w.size() == 10 &&
        (At(w, 7, "local") || At(w, 7, "remote")) && At(w, 8, "prefix")) {
      auto [it, fresh] = tunnel_prefixes_.try_emplace(
          absl::StrCat(w[4], " tunnel ", w[6], " ", w[7]), cmd.loc, w[9]);
      if (!fresh && it->second.second != w[9] &&
          !(IsAnyPrefix(it->second.second) && IsAnyPrefix(w[9]))) {
        diags.Error(cmd.loc, Join(w),
                    absl::StrCat("tunnel ", w[6], " already has ", w[7], " prefix ",
                                 it->second.second, " (line ", it->second.first.line,
                                 "): Portcullis takes one prefix per tunnel side; put ", w[9],
                                 " in a tunnel of its own (one tunnel per address family)"));
        return Result::kError;
      }
    }
    if (At(w, 5, "connection-type") && At(w, 6, "none")) {
      diags.Error(cmd.loc, Join(w),
                  "connection-type none (on demand) is not supported: use respond or initiate");
      return Result::kError;
    }
  }
  w.insert(w.begin(), "security");
  return Result::kApply;
}

VyosTranslator::Result VyosTranslator::TranslateFirewall(Command& cmd, Diagnostics& diags) {
  Words& w = cmd.words;
  // IPv6 groups have no canonical form yet (Vyatta's address-group takes either family, but
  // VyOS's ipv6-address-group and ipv6-network-group are separate names).
  if (At(w, 1, "group") && w.size() > 2 && absl::StartsWith(w[2], "ipv6")) {
    diags.Error(cmd.loc, Join(w),
                "IPv6 firewall groups are not supported: put the IPv6 addresses in the rules");
    return Result::kError;
  }
  size_t i = 1;
  // `firewall ipv4 ...` (and VyOS 1.3's `firewall name`) filters IPv4 only, `firewall ipv6`
  // IPv6 only: the canonical ruleset carries `family`.
  const std::string family = At(w, 1, "ipv6") ? "ipv6" : "ipv4";
  if (At(w, 1, "ipv4") || At(w, 1, "ipv6")) i = 2;

  // firewall group address-group|port-group G ... -> resources group ...
  if (At(w, i, "group") && (At(w, i + 1, "address-group") || At(w, i + 1, "port-group"))) {
    Words out = {"resources", "group"};
    out.insert(out.end(), w.begin() + i + 1, w.end());
    w = out;
    return Result::kApply;
  }

  if (At(w, i, "name") && w.size() > i + 1) {
    if (cmd.op == Command::Op::kSet) {
      auto [it, fresh] = ruleset_family_.emplace(w[i + 1], std::make_pair(family, cmd.loc));
      if (!fresh && it->second.first != family) {
        diags.Error(cmd.loc, Join(w),
                    absl::StrCat("ruleset name '", w[i + 1], "' is also an ", it->second.first,
                                 " ruleset (line ", it->second.second.line,
                                 "): Portcullis names rulesets across families; rename one"));
        return Result::kError;
      }
    }
    Words out = {"security", "firewall"};
    out.insert(out.end(), w.begin() + i, w.end());
    // out: security firewall name X rule N <leaf> ...
    if (out.size() >= 7 && out[4] == "rule") {
      const std::string& leaf = out[6];
      if ((leaf == "source" || leaf == "destination") && cmd.op != Command::Op::kSet) {
        // A delete of the side (or of one match) lets the other form be set again.
        for (const char* kind : {"address", "port"})
          rule_matches_.erase(absl::StrCat(out[3], " ", out[5], " ", leaf, " ", kind));
      } else if ((leaf == "source" || leaf == "destination") && out.size() >= 9) {
        bool group = out[7] == "group";
        std::string kind = group ? (out[8] == "address-group" ? "address"
                                    : out[8] == "port-group"  ? "port"
                                                              : "")
                                 : out[7];
        if (kind == "address" || kind == "port") {
          std::string key = absl::StrCat(out[3], " ", out[5], " ", leaf, " ", kind);
          std::string how = group ? "group" : "value";
          auto [it, fresh] = rule_matches_.emplace(key, std::make_pair(how, cmd.loc));
          if (!fresh && it->second.first != how) {
            diags.Error(
                cmd.loc, Join(w),
                absl::StrCat("rule ", out[5], " of ", out[3], " has a ", leaf, " ", kind, " and a ",
                             leaf, " group ", kind, "-group (line ", it->second.second.line,
                             "): only one of them can be mapped; put the ", kind,
                             " into the group"));
            return Result::kError;
          }
        }
      }
      if (leaf == "state") {
        out[6] = "match-state";
      } else if ((leaf == "icmp" || leaf == "icmpv6") && out.size() >= 8 && out[7] == "type-name") {
        out[7] = "name";
      } else if ((leaf == "source" || leaf == "destination") && out.size() == 10 &&
                 out[7] == "group" && (out[8] == "address-group" || out[8] == "port-group")) {
        // source group address-group G -> source address G (Vyatta names a group there)
        std::string value = out[9];
        std::string kind = out[8] == "address-group" ? "address" : "port";
        out.resize(7);
        out.push_back(kind);
        out.push_back(value);
      } else if (leaf == "action" && out.size() == 8 && out[7] != "accept" && out[7] != "drop" &&
                 out[7] != "reject") {
        diags.Error(cmd.loc, Join(w),
                    absl::StrCat("rule action '", out[7],
                                 "' is not supported inside a named ruleset (accept, drop or "
                                 "reject)"));
        return Result::kError;
      } else if (leaf == "jump-target" || leaf == "inbound-interface" ||
                 leaf == "outbound-interface") {
        diags.Error(cmd.loc, Join(w),
                    absl::StrCat("'", leaf,
                                 "' inside a named ruleset is not supported: attach the ruleset to "
                                 "the interface with a forward/input filter jump rule"));
        return Result::kError;
      }
    }
    if (out.size() >= 5 && out[4] == "default-action" && out.size() == 6 && out[5] != "accept" &&
        out[5] != "drop" && out[5] != "reject") {
      diags.Error(
          cmd.loc, Join(w),
          absl::StrCat("default-action '", out[5], "' is not supported (accept, drop or reject)"));
      return Result::kError;
    }
    w = out;
    return Result::kApply;
  }

  if ((At(w, i, "forward") || At(w, i, "input")) && At(w, i + 1, "filter")) {
    if (cmd.op != Command::Op::kSet) {
      diags.Error(cmd.loc, Join(w), "delete of filter jump rules is not supported");
      return Result::kError;
    }
    const std::string chain = w[i];
    if (At(w, i + 2, "default-action")) {
      if (At(w, i + 3, "accept")) return Result::kConsumed;  // the Portcullis behaviour already
      diags.Error(cmd.loc, Join(w),
                  "a filter default-action other than accept is not supported: use a ruleset "
                  "with default-action drop on the interface");
      return Result::kError;
    }
    if (!At(w, i + 2, "rule") || w.size() < i + 5) {
      diags.Error(cmd.loc, Join(w), "expected 'filter rule <N> ...'");
      return Result::kError;
    }
    uint64_t number = 0;
    if (!absl::SimpleAtoi(w[i + 3], &number)) {
      diags.Error(cmd.loc, Join(w), absl::StrCat("rule number '", w[i + 3], "' is not a number"));
      return Result::kError;
    }
    FilterRule& r = filter_rules_[{family + " " + chain, number}];
    r.family = family;
    r.chain = chain;
    r.number = w[i + 3];
    r.loc = cmd.loc;
    const std::string& leaf = w[i + 4];
    auto value = [&](size_t at) { return at < w.size() ? w[at] : std::string(); };
    if (leaf == "inbound-interface" && At(w, i + 5, "name")) {
      r.inbound = value(i + 6);
    } else if (leaf == "outbound-interface" && At(w, i + 5, "name")) {
      r.outbound = value(i + 6);
    } else if (leaf == "action") {
      r.action = value(i + 5);
    } else if (leaf == "jump-target") {
      r.target = value(i + 5);
    } else if (leaf == "description") {
      // nothing to keep
    } else {
      diags.Error(cmd.loc, Join(w),
                  absl::StrCat("'", leaf,
                               "' is not supported in a filter rule: only jump rules with an "
                               "inbound-interface or outbound-interface name are mapped"));
      return Result::kError;
    }
    return Result::kConsumed;
  }

  diags.Error(cmd.loc, Join(w),
              "only 'firewall ipv4|ipv6 name', 'forward filter' and 'input filter' jump rules "
              "are supported");
  return Result::kError;
}

std::vector<Command> VyosTranslator::Finish(Diagnostics& diags) {
  std::vector<Command> out;
  // (if, dir, family) -> first
  std::map<std::tuple<std::string, std::string, std::string>, const FilterRule*> jumps;
  for (const auto& [key, r] : filter_rules_) {
    std::string path = absl::StrCat("firewall ", r.family, " ", r.chain, " filter rule ", r.number);
    const std::string& ifname = r.inbound.empty() ? r.outbound : r.inbound;
    if (r.action != "jump" || r.target.empty() || ifname.empty() ||
        (!r.inbound.empty() && !r.outbound.empty())) {
      diags.Error(r.loc, path,
                  "only rules with 'action jump', a 'jump-target' and one of 'inbound-interface "
                  "name' or 'outbound-interface name' can be mapped onto interface firewalls");
      continue;
    }
    if (r.chain == "input" && r.inbound.empty()) {
      diags.Error(r.loc, path, "an input filter jump rule needs 'inbound-interface name'");
      continue;
    }
    Words words;
    if (!InterfacePath(ifname, &words)) {
      diags.Error(r.loc, path, absl::StrCat("unknown interface name '", ifname, "'"));
      continue;
    }
    std::string dir = r.chain == "input" ? "local" : (r.inbound.empty() ? "out" : "in");
    // VyOS stops at the first jump that matches: its target's default action is final. The
    // contract's rulesets in one direction are all evaluated, the last one's default deciding,
    // so a second jump would filter differently; the same target again changes nothing.
    // An ipv4 and an ipv6 jump on one interface and direction are two bindings there, each
    // filtering its family only (the targets' `family`); a jump to a ruleset of the other
    // family would filter nothing.
    if (auto f = ruleset_family_.find(r.target);
        f != ruleset_family_.end() && f->second.first != r.family) {
      diags.Error(r.loc, path,
                  absl::StrCat("jump-target ", r.target, " is an ", f->second.first,
                               " ruleset (line ", f->second.second.line, "), this is the ",
                               r.family, " ", r.chain, " filter"));
      continue;
    }
    auto [first, fresh] = jumps.emplace(std::make_tuple(ifname, dir, r.family), &r);
    if (!fresh) {
      const FilterRule& f = *first->second;
      if (f.target == r.target && f.chain == r.chain) continue;
      diags.Error(r.loc, path,
                  absl::StrCat("a second jump for ", ifname, " ", r.chain, " (", dir, "): rule ",
                               r.number, " jumps to ", r.target, ", rule ", f.number, " at line ",
                               f.loc.line, " already to ", f.target,
                               "; one jump per interface and direction can be mapped"));
      continue;
    }
    if (r.chain == "forward") {
      diags.Warning(
          r.loc, path,
          absl::StrCat("forward filter jump mapped onto ", ifname, "'s firewall ", dir,
                       ", which filters more than VyOS forward: traffic to this router's "
                       "addresses on ",
                       ifname,
                       r.inbound.empty() ? " and this router's own traffic out of it (IKE, ESP)"
                                         : " (IKE and ESP from peers too)",
                       " is filtered too; accept it in ", r.target,
                       " or use an input filter jump (see docs/DESIGN.md)"));
    }
    words.insert(words.end(), {"firewall", dir, r.target});
    out.push_back({Command::Op::kSet, words, r.loc});
  }
  for (const auto& [name, fam] : ruleset_family_) {
    out.push_back({Command::Op::kSet,
                   {"security", "firewall", "name", name, "family", fam.first},
                   fam.second});
  }
  for (const auto& [group, loc] : vyos_ike_groups_) {
    // VyOS initiates IKEv2 when key-exchange is unset; Vyatta's unset default is IKEv1.
    if (!ike_groups_with_version_.count(group)) {
      out.push_back({Command::Op::kSet,
                     {"security", "vpn", "ipsec", "ike-group", group, "ike-version", "2"},
                     loc});
    }
  }
  for (const auto& [root, seen] : ignored_) {
    diags.Warning(seen.first, root,
                  absl::StrCat("ignored: '", root, "' is not managed by Portcullis (", seen.second,
                               seen.second == 1 ? " line)" : " lines)"));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Canonical -> VyOS, for display.

namespace {

DisplayWord K(std::string s) {
  return {std::move(s), DisplayWord::Kind::kKeyword, false};
}
DisplayWord Key(std::string s) {
  return {std::move(s), DisplayWord::Kind::kKey, false};
}
DisplayWord V(std::string s) {
  return {std::move(s), DisplayWord::Kind::kValue, false};
}

bool Is(const DisplayCommand& c, size_t i, absl::string_view s) {
  return i < c.size() && c[i].text == s;
}

}  // namespace

std::vector<DisplayCommand> ToVyos(const std::vector<DisplayCommand>& canonical) {
  std::vector<DisplayCommand> out;
  std::map<std::string, int> next_rule;  // per filter chain
  // Rulesets with `family ipv6` show as `firewall ipv6 name`, their jumps as ipv6 filters.
  std::set<std::string> ipv6_rulesets;
  // A Vyatta ruleset without `family` filters both families; VyOS has a ruleset per family.
  // It shows as `firewall ipv4 name X` with its rules that apply to IPv4 and `firewall ipv6
  // name X-v6` with those that apply to IPv6 (a rule applies to the families its matches
  // leave), each bound where X is: loaded back, both families are filtered as before.
  std::set<std::string> names, with_family;
  std::map<std::pair<std::string, std::string>, int> rule_family;  // bit 1: IPv4, 2: IPv6
  // An address-group's families: those of its items (a rule naming it takes them).
  std::map<std::string, int> group_family;
  for (const DisplayCommand& c : canonical)
    if (Is(c, 0, "resources") && Is(c, 1, "group") && Is(c, 2, "address-group") &&
        Is(c, 4, "address") && c.size() == 6)
      group_family[c[3].text] |= c[5].text.find(':') != std::string::npos ? 2 : 1;
  auto address_family = [&](std::string v) {
    if (!v.empty() && v[0] == '!') v.erase(0, 1);
    if (auto g = group_family.find(v); g != group_family.end()) return g->second;
    return v.find(':') != std::string::npos ? 2 : 1;
  };
  for (const DisplayCommand& c : canonical) {
    if (!(Is(c, 0, "security") && Is(c, 1, "firewall") && Is(c, 2, "name") && c.size() > 3))
      continue;
    names.insert(c[3].text);
    if (Is(c, 4, "family")) {
      with_family.insert(c[3].text);
      if (c.size() == 6 && c[5].text == "ipv6") ipv6_rulesets.insert(c[3].text);
    }
    if (Is(c, 4, "rule") && c.size() > 7) {
      // Each match leaves the rule the families it can match, as the model's expansion has
      // them (firewall_match.cc: both sides' and the protocol's families together).
      auto [it, fresh] = rule_family.emplace(std::make_pair(c[3].text, c[5].text), 3);
      int& f = it->second;
      const std::string& v = c.back().text;
      if ((Is(c, 6, "source") || Is(c, 6, "destination")) && Is(c, 7, "address") && c.size() == 9)
        f &= address_family(v);
      if (Is(c, 6, "protocol") && c.size() == 8) {
        if (v == "icmp" || v == "1") f &= 1;
        if (v == "ipv6-icmp" || v == "icmpv6" || v == "58") f &= 2;
      }
      if (Is(c, 6, "icmp")) f &= 1;
      if (Is(c, 6, "icmpv6")) f &= 2;
    }
  }
  std::map<std::string, std::string> both;  // a both-family ruleset -> its IPv6 half's name
  for (const std::string& n : names) {
    if (with_family.count(n)) continue;
    std::string v6 = n + "-v6";
    while (names.count(v6)) v6 += "6";
    both[n] = v6;
  }
  for (DisplayCommand c : canonical) {
    if (Is(c, 0, "security") && Is(c, 1, "vpn") && Is(c, 2, "ike") && Is(c, 3, "interface")) {
      c.erase(c.begin(), c.begin() + 3);
      c.insert(c.begin(), {K("vpn"), K("ipsec")});
      out.push_back(c);
      continue;
    }
    if (Is(c, 0, "security") && Is(c, 1, "vpn") && Is(c, 2, "ipsec")) {
      DisplayCommand v(c.begin() + 1, c.end());  // vpn ipsec ...
      bool keep_canonical = false;
      if ((Is(v, 2, "ike-group") || Is(v, 2, "esp-group")) && v.size() >= 5) {
        if (Is(v, 4, "ike-version")) {
          if (v.size() == 6 && (v[5].text == "1" || v[5].text == "2")) {
            v[4].text = "key-exchange";
            v[5].text = v[5].text == "1" ? "ikev1" : "ikev2";
          } else {
            keep_canonical = true;  // 2+1 has no VyOS form
          }
        } else if (Is(v, 4, "proposal") && Is(v, 6, "hash") && v.size() == 8) {
          if (const HashName* h = FindHash(v[7].text); h != nullptr && !h->vyos.empty())
            v[7].text = std::string(h->vyos);
        }
      } else if (Is(v, 2, "site-to-site") && Is(v, 5, "authentication") && Is(v, 6, "id")) {
        v[6].text = "local-id";
      } else if (Is(v, 2, "logging")) {
        if (Is(v, 3, "log-level")) {
          v.erase(v.begin() + 2, v.begin() + 4);
          v.insert(v.begin() + 2, {K("log"), K("level")});
        } else {
          keep_canonical = true;
        }
      } else if (Is(v, 2, "nat-traversal") || Is(v, 2, "nat-networks") || Is(v, 2, "auto-update") ||
                 Is(v, 2, "disable-uniqreqids")) {
        keep_canonical = true;
      }
      out.push_back(keep_canonical ? c : v);
      continue;
    }
    if (Is(c, 0, "security") && Is(c, 1, "firewall") && Is(c, 2, "name")) {
      if (Is(c, 4, "family")) continue;  // said by `firewall ipv4|ipv6`
      auto show = [&](bool v6, const std::string& name) {
        DisplayCommand v = {K("firewall"), K(v6 ? "ipv6" : "ipv4")};
        v.insert(v.end(), c.begin() + 2, c.end());
        v[3].text = name;
        if (Is(v, 4, "rule") && Is(v, 6, "match-state")) v[6].text = "state";
        if (Is(v, 4, "rule") && (Is(v, 6, "icmp") || Is(v, 6, "icmpv6")) && Is(v, 7, "name"))
          v[7].text = "type-name";
        out.push_back(v);
      };
      const std::string& name = c.size() > 3 ? c[3].text : std::string();
      if (auto b = both.find(name); b != both.end()) {
        // A rule goes to the halves of the families it applies to; the rest to both.
        auto f = Is(c, 4, "rule") && c.size() > 5 ? rule_family.find({name, c[5].text})
                                                  : rule_family.end();
        // (No family left: a mixed rule the commit refuses; shown in both.)
        const int fam = f == rule_family.end() || f->second == 0 ? 3 : f->second;
        if (fam & 1) show(false, name);
        if (fam & 2) show(true, b->second);
        continue;
      }
      show(ipv6_rulesets.count(name) > 0, name);
      continue;
    }
    if (Is(c, 0, "resources") && Is(c, 1, "group")) {
      DisplayCommand v = {K("firewall")};
      v.insert(v.end(), c.begin() + 1, c.end());
      out.push_back(v);
      continue;
    }
    if (Is(c, 0, "protocols") && Is(c, 1, "static") &&
        (Is(c, 2, "interface-route") || Is(c, 2, "interface-route6")) &&
        Is(c, 4, "next-hop-interface")) {
      DisplayCommand v = {K("protocols"), K("static"),
                          K(c[2].text == "interface-route" ? "route" : "route6"), c[3],
                          K("interface")};
      v.insert(v.end(), c.begin() + 5, c.end());
      out.push_back(v);
      continue;
    }
    if (Is(c, 0, "interfaces") && c.size() >= 4) {
      // interfaces T N [vif V] firewall in|out|local R -> filter jump rule
      size_t f = Is(c, 3, "vif") ? 5 : 3;
      if (Is(c, f, "firewall") && c.size() == f + 3) {
        std::string ifname = c[2].text + (f == 5 ? "." + c[4].text : "");
        const std::string& dir = c[f + 1].text;
        std::string chain = dir == "local" ? "input" : "forward";
        auto jump = [&](const char* fam, const std::string& target) {
          int& n = next_rule[std::string(fam) + chain];
          n += 10;
          std::string num = std::to_string(n);
          DisplayCommand base = {K("firewall"), K(fam), K(chain), K("filter"), K("rule"), Key(num)};
          auto with = [&](std::vector<DisplayWord> tail) {
            DisplayCommand x = base;
            x.insert(x.end(), tail.begin(), tail.end());
            return x;
          };
          out.push_back(with({K(dir == "out" ? "outbound-interface" : "inbound-interface"),
                              K("name"), V(ifname)}));
          out.push_back(with({K("action"), V("jump")}));
          out.push_back(with({K("jump-target"), V(target)}));
        };
        const std::string& target = c[f + 2].text;
        if (auto b = both.find(target); b != both.end()) {
          jump("ipv4", target);
          jump("ipv6", b->second);
        } else {
          jump(ipv6_rulesets.count(target) ? "ipv6" : "ipv4", target);
        }
        continue;
      }
      if ((Is(c, 1, "ethernet") || Is(c, 1, "dataplane")) && Is(c, 3, "bond-group") &&
          c.size() == 5) {
        out.push_back({K("interfaces"), K("bonding"), Key(c[4].text), K("member"), K("interface"),
                       V(c[2].text)});
        continue;
      }
      if (Is(c, 1, "bonding") && Is(c, 3, "mode") && c.size() == 5) {
        if (const char* m =
                ToVyosValue(std::begin(kBondModeMap), std::end(kBondModeMap), c[4].text))
          c[4].text = m;
      }
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace portcullis::config
