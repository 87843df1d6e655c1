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
// packet path then spends one branch per burst on the firewall). prefix (the dataplane's
// name) and generation name the ACL contexts (unique among the live ones in the process).
// max_interfaces: the dataplane's interface slots (TableSizes::interfaces).
absl::StatusOr<std::unique_ptr<FwTables>> BuildFirewall(const ConfigState& cfg, uint32_t nworkers,
                                                        uint32_t max_interfaces,
                                                        const std::string& prefix,
                                                        uint64_t generation);

// Counter totals by FwTables::slot_keys, kept while a ruleset is not in any snapshot (unbound)
// so that binding it again continues them.
struct FwSlotTotals {
  uint64_t packets = 0, bytes = 0, suppressed = 0;
};
using FwParkedCounters = std::map<uint64_t, FwSlotTotals>;

// The totals of a snapshot being replaced, once no worker writes to it any more.
void ParkFirewallCounters(const FwTables& old, uint32_t nworkers, FwParkedCounters& parked);
// Counters continue from the parked totals (same ruleset and rule number, or zone default).
void CarryFirewallCounters(const FwParkedCounters& parked, FwTables& fresh);

}  // namespace portcullis::dp
