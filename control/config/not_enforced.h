// The configuration nodes Portcullis accepts but does not act on yet, as one table, and the
// commit rule that warns about each one configured: "accepted, not enforced yet: <path>" (and
// the row's note), with its file and line. A line Portcullis accepts takes effect, or commit says
// it does not; the issue that implements a node deletes its row.
//
// Not in the table: nodes refused outright (SchemaNode::unsupported, commit rules), deprecated
// ones with their own warning (SchemaNode::deprecated), and VRRP groups that cannot run (no
// IPv4 virtual address), whose rule in commit_rules_interfaces.cc says more.
#pragma once

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "control/config/config_tree.h"
#include "control/config/diagnostic.h"

namespace portcullis::config {

struct NotEnforcedNode {
  // The schema path: keywords only (tag keys left out), "*" for any one keyword. A tag warns
  // once per instance ("security firewall name WAN-LOCAL"), any other node once.
  absl::string_view path;
  // The open issue that implements it ("#16"), or "" when none is planned.
  absl::string_view issue;
  // Warn only when the node has this value; "" = whatever it is. When it is the leaf's schema
  // default, a configured parent without the leaf warns too, at the parent's line.
  absl::string_view only_value = "";
  // What Portcullis does instead, appended to the warning in parentheses; "" = nothing.
  absl::string_view note = "";
};

absl::Span<const NotEnforcedNode> NotEnforcedNodes();

// One warning per configured node of the table, at the line that created it.
void WarnNotEnforced(const ConfigNode& root, Diagnostics& diags);

}  // namespace portcullis::config
