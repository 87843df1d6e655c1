// DPDK bonding ports built from the configuration (#17): a net_bonding device made at commit
// from member ports the dataplane already owns, and remade in place (stop, reconfigure,
// start) when its mode, members or options change. Main lcore only, with no worker polling
// the bond or its members while it runs.
#pragma once

#include <rte_ether.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis::drivers::ethdev {

struct BondSettings {
  uint8_t mode = 0;               // DPDK bonding mode: 1 active-backup, 2 balance-xor, 4 802.3ad
  std::vector<uint16_t> members;  // DPDK port ids
  int primary = -1;               // active-backup: the member preferred while it is up
  int xmit_policy = -1;           // modes 2 and 4: BALANCE_XMIT_POLICY_*
  bool lacp_fast = false;         // mode 4: LACPDUs every second, partner timed out after 3 s
  bool operator==(const BondSettings&) const = default;
};

// A new bonding device called `device` (a net_bonding vdev name unique in the process), not
// started. Returns its port id.
absl::StatusOr<uint16_t> CreateBond(const std::string& device, uint8_t mode);

// Stops the bond, gives it exactly `s`'s members (removed ones are left stopped; the caller
// restarts those that are plain ports again), mode and options, then configures `queues` RX
// and TX queues from `pool` and starts it. Returns the bond's MAC (its primary's).
absl::StatusOr<rte_ether_addr> ConfigureBond(uint16_t bond, const BondSettings& s, uint16_t queues,
                                             rte_mempool* pool);

// Stops the bond and releases its members (left stopped): before another bond may take them.
void ReleaseMembers(uint16_t bond);

// Stops the bond, releases its members (left stopped) and frees the device.
void DestroyBond(uint16_t bond, const std::string& device);

// The members the bonding PMD currently sends on (LACP: in the aggregator; active-backup: the
// active one).
std::vector<uint16_t> ActiveMembers(uint16_t bond);

// Active-backup: the member carrying the traffic now (the primary while it is up); -1 if none.
int CurrentMember(uint16_t bond);

// Active-backup: makes `member` the one carrying the traffic (it must be up). The bonding PMD
// does this itself only for members that report link changes by interrupt; BondSync::WatchLinks
// does it for the rest.
void SetCurrentMember(uint16_t bond, uint16_t member);

// LACP: the members in the aggregator that distribute (send and receive) now.
int DistributingMembers(uint16_t bond);

// The port's link state as its PMD reports it now (no waiting).
bool LinkUp(uint16_t port);

}  // namespace portcullis::drivers::ethdev
