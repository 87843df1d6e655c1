// What a hitless restart did (docs/DESIGN.md "Hitless restart"): vpnd counts it when its first
// commit resumes IKE from the state file, and `show vpn ipsec status --json` reports it.
#pragma once

#include <cstdint>

namespace portcullis::vpnd {

struct ResumeStats {
  uint64_t ike_resumed = 0, ike_refused = 0;
  uint64_t children_adopted = 0;    // their SAs were still in the dataplane
  uint64_t children_missing = 0;    // not in the dataplane (it restarted too): rekeyed at once
  uint64_t children_refused = 0;    // their tunnel is no longer configured
  uint64_t orphan_sas_removed = 0;  // in the dataplane, known to no resumed CHILD SA
  uint64_t state_file_errors = 0;   // unreadable, malformed, or not written
  uint64_t state_writes = 0;
  uint64_t traps_kept = 0;          // traps from before the restart put back
  uint64_t traps_refused = 0;       // their peer or tunnel is no longer configured
  uint64_t trap_policies = 0;       // trap policies of policy-based tunnels in the restart's batch
  uint64_t state_file_refused = 0;  // another vpnd's (channel), or older than the maximum age
};

}  // namespace portcullis::vpnd
