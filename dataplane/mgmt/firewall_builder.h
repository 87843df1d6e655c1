// The firewall's part of a batch on the main lcore: staging each firewall message against the
// candidate configuration (with the checks that make a batch fail as a whole: a ruleset deleted
// while bound, an interface both in a zone and with bindings, ...), and building the snapshot
// the workers use (dataplane/tables/firewall_tables.h) from the result.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/api/messages.h"
#include "dataplane/mgmt/config_state.h"
#include "dataplane/tables/firewall_tables.h"

namespace portcullis::dp {

// Applies one firewall message (kind kFwRuleset..kFwGlobal) to cfg, or says why not.
absl::Status StageFirewall(const api::Message& m, ConfigState& cfg);

// What an interface delete must check: no bindings, no zone.
absl::Status CheckInterfaceUnused(const ConfigState& cfg, uint32_t ifindex);

// The snapshot for cfg; nullptr when nothing is bound and no interface is in a zone (the
// packet path then spends one branch per burst on the firewall). generation names the ACL
// contexts (unique among the live ones).
absl::StatusOr<std::unique_ptr<FwTables>> BuildFirewall(const ConfigState& cfg, uint32_t nworkers,
                                                        uint64_t generation);

// Carries counters over from the snapshot being replaced (same ruleset and rule number), once
// no worker writes to `old` any more.
void CarryFirewallCounters(const FwTables& old, uint32_t nworkers, FwTables& fresh);

}  // namespace portcullis::dp
