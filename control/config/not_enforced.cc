#include "control/config/not_enforced.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace portcullis::config {

namespace {

// What vpnd (config_mapping, dataplane_plan) and the dataplane never read. Keep README.md's
// paragraph on this in step (a unit test compares them).
constexpr NotEnforcedNode kNotEnforced[] = {
    // Firewall: the dataplane contract has no per-rule "keep state" (sessions are kept for
    // what global-state-policy names) and matches no MAC address.
    {"security firewall name rule state", "#16", "enable"},
    {"security firewall name rule source mac-address", "#16"},
    {"security firewall name rule destination mac-address", "#16"},
    // Bonds are built from mode, members, primary, hash-policy, minimum-links and lacp-options
    // periodic-rate; DPDK's bonding PMD has no passive LACP, no chosen key and no hash over
    // encapsulated headers. MAC addresses are the ports' own.
    {"interfaces bonding lacp-options activity", "#17", "passive",
     "DPDK's 802.3ad is always active"},
    {"interfaces bonding lacp-options key", "#17", "", "DPDK picks the key"},
    // fast is half done: DPDK's 802.3ad cannot ask the partner for fast LACPDUs (it never sets
    // the actor's short-timeout bit); ours sends every second and times out a silent partner
    // after 3 s, so a partner that sends slowly (every 30 s) flaps.
    {"interfaces bonding lacp-options periodic-rate", "#17", "fast",
     "the partner is not asked to send fast: configure it fast too"},
    {"interfaces bonding hash-policy", "#17", "encap2+3", "DPDK hashes outer headers only"},
    {"interfaces bonding hash-policy", "#17", "encap3+4", "DPDK hashes outer headers only"},
    {"interfaces * mac", "#17"},
    // VRRP runs priority, preempt (and its delay), the intervals, version, start-delay,
    // disable and `notify ipsec`; not the rest of Vyatta's group.
    {"interfaces * vrrp vrrp-group authentication", "#17", "", "advertisements carry none"},
    {"interfaces * vrrp vrrp-group sync-group", "#17", "", "each group changes state alone"},
    {"interfaces * vrrp vrrp-group hello-source-address", "#17", "",
     "the interface's first address is the source"},
    {"interfaces * vrrp vrrp-group notify", "", "bgp", "no BGP runs here"},
    // Accept mode is always on: a master's virtual addresses take IKE, ESP and pings.
    {"interfaces * vrrp vrrp-group accept", "#17", "false",
     "accept mode is always on: the master's virtual addresses take IKE, ESP and ping"},
    {"interfaces * vif vrrp vrrp-group authentication", "#17", "", "advertisements carry none"},
    {"interfaces * vif vrrp vrrp-group sync-group", "#17", "", "each group changes state alone"},
    {"interfaces * vif vrrp vrrp-group hello-source-address", "#17", "",
     "the interface's first address is the source"},
    {"interfaces * vif vrrp vrrp-group notify", "", "bgp", "no BGP runs here"},
    {"interfaces * vif vrrp vrrp-group accept", "#17", "false",
     "accept mode is always on: the master's virtual addresses take IKE, ESP and ping"},
    // The IPsec log has one level, and no strongSwan log modes.
    {"security vpn ipsec logging", "#22"},
    // None planned: charon's thread and table tuning (vpnd is one event loop), IKEv1 (refused),
    // non-strict proposals (IKE always accepts only what is configured), multicast through a
    // VTI (no routing protocols run here).
    {"security vpn ike ikesa-table-size", ""},
    {"security vpn ike ikesa-table-segments", ""},
    {"security vpn ike worker-threads", ""},
    {"security vpn ike v1", ""},
    {"security vpn ipsec ike-group disable-strict-mode", ""},
    {"security vpn ipsec esp-group disable-strict-mode", ""},
    {"interfaces vti multicast", "", "enable"},
};

using Keywords = std::vector<std::string>;

// The row for a node at `keywords` with `values`: a row of a path matches when it names no
// value or one of them (a path may have a row per value). Without values, the first row of
// the path: the caller looks at its value.
const NotEnforcedNode* Find(const Keywords& keywords,
                            const std::vector<std::string>* values = nullptr) {
  const NotEnforcedNode* first = nullptr;
  for (const NotEnforcedNode& n : kNotEnforced) {
    std::vector<absl::string_view> want = absl::StrSplit(n.path, ' ');
    if (want.size() != keywords.size()) continue;
    bool match = true;
    for (size_t i = 0; i < want.size() && match; ++i)
      match = want[i] == "*" || want[i] == keywords[i];
    if (!match) continue;
    if (values == nullptr || n.only_value.empty() ||
        std::find(values->begin(), values->end(), n.only_value) != values->end())
      return &n;
    if (first == nullptr) first = &n;
  }
  return first;
}

void Warn(const ConfigNode& node, const std::string& path, const NotEnforcedNode& row,
          Diagnostics& diags) {
  // The path is in the message, not the diagnostic's path field, so it is said once.
  diags.Warning(node.loc(), "",
                absl::StrCat("accepted, not enforced yet: ", path,
                             row.note.empty() ? "" : absl::StrCat(" (", row.note, ")")));
}

void Warn(const ConfigNode& node, const NotEnforcedNode& row, Diagnostics& diags) {
  Warn(node, node.Path(), row, diags);
}

// `keywords`: the schema path of `node`'s children's parent.
void Walk(const ConfigNode& node, Keywords& keywords, Diagnostics& diags) {
  for (const auto& [name, child] : node.children()) {
    if (child->is_tag_instance()) {  // the keyword was its tag's
      Walk(*child, keywords, diags);
      continue;
    }
    keywords.push_back(name);
    const std::vector<std::string>& values = child->values();
    const NotEnforcedNode* row = Find(keywords, &values);
    if (row == nullptr) {
      Walk(*child, keywords, diags);
    } else if (!row->only_value.empty() &&
               std::find(values.begin(), values.end(), row->only_value) == values.end()) {
      // this value takes effect
    } else if (child->schema() != nullptr && child->schema()->kind == NodeKind::kTag) {
      for (const auto& [key, instance] : child->children()) Warn(*instance, *row, diags);
    } else {
      Warn(*child, *row, diags);
    }
    keywords.pop_back();
  }
}

}  // namespace

absl::Span<const NotEnforcedNode> NotEnforcedNodes() {
  return kNotEnforced;
}

void WarnNotEnforced(const ConfigNode& root, Diagnostics& diags) {
  Keywords keywords;
  Walk(root, keywords, diags);
}

}  // namespace portcullis::config
