// The VyOS dialect (`set vpn ipsec ...`, `key-exchange ikev2`, `hash sha256`, `firewall ipv4
// ...`) mapped onto the one canonical (Vyatta 5600) model, in both directions. Lines are
// translated one at a time, so a file may mix the dialects; VyOS constructs spread over several
// lines (forward-filter jump rules, an ike-group's implicit IKE version) are resolved at the end.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "control/config/diagnostic.h"
#include "control/config/path_resolver.h"

namespace portcullis::config {

class VyosTranslator {
 public:
  enum class Result {
    kApply,     // cmd.words now hold the canonical path: apply it
    kConsumed,  // part of a multi-line construct, applied by Finish()
    kIgnored,   // accepted and deliberately ignored (warned once at Finish)
    kError,     // reported to diags
  };

  // Rewrites VyOS words into canonical ones in place. Canonical lines pass through unchanged.
  Result Translate(Command& cmd, Diagnostics& diags);
  // Commands produced by multi-line constructs, in canonical words.
  std::vector<Command> Finish(Diagnostics& diags);

 private:
  struct FilterRule {
    std::string family;  // ipv4 | ipv6
    std::string chain;   // forward | input
    std::string number;
    std::string inbound, outbound, action, target;
    SourceLoc loc;
  };
  Result TranslateVpn(Command& cmd, Diagnostics& diags);
  Result TranslateFirewall(Command& cmd, Diagnostics& diags);

  // ("ipv4 forward", number) -> rule: numeric order, as VyOS evaluates them.
  std::map<std::pair<std::string, uint64_t>, FilterRule> filter_rules_;
  // Ruleset name -> (family, first line): `firewall ipv4 name X` and `firewall ipv6 name X`
  // become one canonical ruleset X with `family`, so one name cannot be both.
  std::map<std::string, std::pair<std::string, SourceLoc>> ruleset_family_;
  // "X N source address" -> how it was given ("address" or "group") and where: Vyatta has one
  // node for both, so giving both would silently keep the last.
  std::map<std::string, std::pair<std::string, SourceLoc>> rule_matches_;
  std::map<std::string, SourceLoc> vyos_ike_groups_;  // ike-groups written in VyOS form
  std::set<std::string> ike_groups_with_version_;     // ... that set key-exchange/ike-version
  std::map<std::string, std::pair<SourceLoc, int>> ignored_;  // root word -> (first loc, count)
  // "peer P tunnel N local|remote" -> (line, prefix): VyOS takes several, Portcullis one.
  std::map<std::string, std::pair<SourceLoc, std::string>> tunnel_prefixes_;
};

// One word of a displayed command: keywords, tag keys and values are rendered differently
// (values quoted, secrets hidden, keys joined to their keyword in the brace form).
struct DisplayWord {
  enum class Kind { kKeyword, kKey, kValue };
  std::string text;
  Kind kind = Kind::kKeyword;
  bool secret = false;
};
using DisplayCommand = std::vector<DisplayWord>;

// Canonical display commands in VyOS form. Nodes with no VyOS equivalent stay in the canonical
// form (the loader accepts both, so the output loads back to the same model).
std::vector<DisplayCommand> ToVyos(const std::vector<DisplayCommand>& canonical);

}  // namespace portcullis::config
