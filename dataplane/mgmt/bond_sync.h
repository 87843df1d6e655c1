// Bonds from the configuration (#17): each kBond interface becomes a DPDK net_bonding port
// built at commit from the kPorts that name it (InterfaceBody::bond_ifindex), and is rebuilt in
// place when its mode, members, primary, hash or LACP rate change. A port that leaves a bond is
// restarted as a plain port. No restart of the dataplane: the command applier first publishes
// tables in which no worker polls or sends on the ports involved, waits a grace period, then
// calls Apply, then publishes the new tables.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "dataplane/mgmt/config_state.h"
#include "dataplane/runtime/dataplane.h"
#include "drivers/ethdev/bond_device.h"

namespace portcullis::dp {

class BondSync {
 public:
  struct Want {
    std::string name;  // the bond interface's name ("dp0bond1")
    drivers::ethdev::BondSettings settings;
    uint8_t min_links = 0;  // LACP: the bond is down with fewer distributing members
  };
  using Plan = std::map<std::string, Want>;  // by bond name

  explicit BondSync(Dataplane& dp) : dp_(dp) {}

  // The bonds `cfg` describes, members as DPDK ports. Fails (the batch is refused) when a
  // member is not in the port map, is claimed by a bond that is not a bond, or the primary is
  // not a member. A bond without members is not built (its interface has no port).
  absl::StatusOr<Plan> MakePlan(const ConfigState& cfg) const;
  // The DPDK ports Apply(plan) stops or reconfigures: every port of a bond that changes or
  // goes, and their old and new members. Empty: nothing to do.
  std::set<uint16_t> Affected(const Plan& plan) const;
  // Makes the DPDK ports match `plan`. The caller has made sure no worker uses Affected(plan).
  // On an error the rest is still applied; the first error is returned.
  absl::Status Apply(const Plan& plan);
  // Stops and frees every bond (shutdown), leaving the members stopped.
  void StopAll();
  // Main lcore, every 100 ms: an active-backup bond sends on its primary while the primary's
  // link is up, else on the first member whose link is. (The bonding PMD follows links by
  // itself only for members that report changes by interrupt.)
  // Also: an LACP bond with fewer distributing members than its minimum-links is down (its
  // interface too). Returns true when that changed for a bond: the tables need rebuilding.
  bool WatchLinks();
  // Whether the bond called `name` is down for want of links (minimum-links).
  bool BelowMinimum(const std::string& name) const { return below_min_.count(name) != 0; }
  // Every commit: the minimum-links of each bond of `plan` (no rebuild needed for it).
  void SetMinimums(const Plan& plan);

 private:
  struct Built {
    uint16_t port;
    std::string device;
    // What it was last built with; when that failed, what was attempted (its members may be
    // attached): the next commit rebuilds it or lets them go.
    drivers::ethdev::BondSettings settings;
    bool failed = false;
  };
  // The DPDK port of a physical port of the port map called `name`, -1 if none.
  int PhysicalPort(const std::string& name) const;
  void Forget(const std::string& name);

  Dataplane& dp_;
  std::map<std::string, Built> built_;  // by bond name
  std::map<std::string, uint8_t> min_links_;
  std::set<std::string> below_min_;
};

}  // namespace portcullis::dp
