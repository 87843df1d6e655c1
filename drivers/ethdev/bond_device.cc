#include "drivers/ethdev/bond_device.h"

#include <rte_errno.h>
#include <rte_eth_bond.h>
#include <rte_eth_bond_8023ad.h>
#include <rte_ethdev.h>

#include "absl/strings/str_cat.h"
#include "drivers/ethdev/port_setup.h"

namespace portcullis::drivers::ethdev {

namespace {

absl::Status Fail(uint16_t bond, absl::string_view what, int rc) {
  return absl::InternalError(absl::StrCat("bond port ", bond, ": ", what, ": ", rte_strerror(-rc)));
}

std::vector<uint16_t> Members(uint16_t bond) {
  uint16_t ids[RTE_MAX_ETHPORTS];
  int n = rte_eth_bond_slaves_get(bond, ids, RTE_MAX_ETHPORTS);
  return n > 0 ? std::vector<uint16_t>(ids, ids + n) : std::vector<uint16_t>{};
}

}  // namespace

absl::StatusOr<uint16_t> CreateBond(const std::string& device, uint8_t mode) {
  int port = rte_eth_bond_create(device.c_str(), mode, static_cast<uint8_t>(rte_socket_id()));
  if (port < 0)
    return absl::InternalError(
        absl::StrCat("cannot create bonding device ", device, ": ", rte_strerror(-port)));
  return static_cast<uint16_t>(port);
}

absl::StatusOr<rte_ether_addr> ConfigureBond(uint16_t bond, const BondSettings& s, uint16_t queues,
                                             rte_mempool* pool) {
  (void)rte_eth_dev_stop(bond);
  // Every member out, the mode set, the wanted ones back in: the PMD's per-mode state (LACP's
  // state machines, the active-backup order) starts clean instead of being patched.
  for (uint16_t m : Members(bond))
    if (int rc = rte_eth_bond_slave_remove(bond, m); rc != 0)
      return Fail(bond, "remove member", rc);
  if (int rc = rte_eth_bond_mode_set(bond, s.mode); rc != 0) return Fail(bond, "mode", rc);
  for (uint16_t m : s.members) {
    // A member is configured by the bond when the bond starts; it must not run on its own.
    (void)rte_eth_dev_stop(m);
    if (int rc = rte_eth_bond_slave_add(bond, m); rc != 0)
      return Fail(bond, absl::StrCat("add member port ", m), rc);
  }
  if (s.primary >= 0)
    if (int rc = rte_eth_bond_primary_set(bond, static_cast<uint16_t>(s.primary)); rc != 0)
      return Fail(bond, "primary", rc);
  if (s.xmit_policy >= 0)
    if (int rc = rte_eth_bond_xmit_policy_set(bond, static_cast<uint8_t>(s.xmit_policy)); rc != 0)
      return Fail(bond, "transmit hash", rc);
  if (s.mode == BONDING_MODE_8023AD) {
    // The aggregator with the most ports wins (Linux's ad_select=count), so a bond keeps the
    // links it can still use when a partner offers two.
    (void)rte_eth_bond_8023ad_agg_selection_set(bond, AGG_COUNT);
    // Back to the PMD's defaults (slow) first: a bond changed from fast to slow must not keep
    // the fast timers.
    (void)rte_eth_bond_8023ad_setup(bond, nullptr);
    rte_eth_bond_8023ad_conf c;
    if (s.lacp_fast && rte_eth_bond_8023ad_conf_get(bond, &c) == 0) {
      // The PMD wants slow > fast and long > short: "slow" becomes just above "fast".
      c.slow_periodic_ms = c.fast_periodic_ms + 100;
      c.long_timeout_ms = c.short_timeout_ms + 100;
      if (int rc = rte_eth_bond_8023ad_setup(bond, &c); rc != 0) return Fail(bond, "LACP rate", rc);
    }
  }
  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(bond, &info); rc != 0) return Fail(bond, "info", rc);
  if (info.max_rx_queues < queues || info.max_tx_queues < queues)
    return absl::FailedPreconditionError(
        absl::StrCat("bond port ", bond, ": its members allow ", info.max_rx_queues, " RX / ",
                     info.max_tx_queues, " TX queues; ", queues, " workers need one each"));
  rte_eth_conf conf = PortConf(info, queues);
  // Link-state interrupts: the bonding PMD copies this to its members, and only a member
  // configured for them tells it that its link went down (the rest are polled, and af_packet
  // always says up). Without it an active-backup bond never fails over on a NIC with them.
  if (info.dev_flags != nullptr && (*info.dev_flags & RTE_ETH_DEV_INTR_LSC)) conf.intr_conf.lsc = 1;
  if (int rc = rte_eth_dev_configure(bond, queues, queues, &conf); rc != 0)
    return Fail(bond, "configure", rc);
  uint16_t rxd = 1024, txd = 1024;
  rte_eth_dev_adjust_nb_rx_tx_desc(bond, &rxd, &txd);
  for (uint16_t q = 0; q < queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(bond, q, rxd, rte_eth_dev_socket_id(bond), nullptr, pool);
        rc != 0)
      return Fail(bond, "rx queue", rc);
    if (int rc = rte_eth_tx_queue_setup(bond, q, txd, rte_eth_dev_socket_id(bond), nullptr);
        rc != 0)
      return Fail(bond, "tx queue", rc);
  }
  if (int rc = rte_eth_dev_start(bond); rc != 0) return Fail(bond, "start", rc);
  if (s.mode == BONDING_MODE_8023AD) {
    // LACPDUs go to 01:80:c2:00:00:02. The bonding PMD asks its members for all-multicast,
    // which af_packet (and some NICs) cannot do; promiscuous mode lets them in there. Frames
    // for other hosts are still dropped (and counted) by the L2 stage.
    (void)rte_eth_promiscuous_enable(bond);
  }
  rte_ether_addr mac;
  rte_eth_macaddr_get(bond, &mac);
  return mac;
}

void ReleaseMembers(uint16_t bond) {
  (void)rte_eth_dev_stop(bond);
  for (uint16_t m : Members(bond)) (void)rte_eth_bond_slave_remove(bond, m);
}

void DestroyBond(uint16_t bond, const std::string& device) {
  ReleaseMembers(bond);
  (void)rte_eth_bond_free(device.c_str());
}

std::vector<uint16_t> ActiveMembers(uint16_t bond) {
  uint16_t ids[RTE_MAX_ETHPORTS];
  int n = rte_eth_bond_active_slaves_get(bond, ids, RTE_MAX_ETHPORTS);
  return n > 0 ? std::vector<uint16_t>(ids, ids + n) : std::vector<uint16_t>{};
}

int CurrentMember(uint16_t bond) {
  // With no member up the PMD still names its configured primary: only an up one counts.
  const int p = rte_eth_bond_primary_get(bond);
  if (p < 0) return -1;
  for (uint16_t m : ActiveMembers(bond))
    if (m == p) return p;
  return -1;
}

void SetCurrentMember(uint16_t bond, uint16_t member) {
  // primary_set alone moves the traffic but not the bond's MAC: the new member would still
  // filter on its own. Setting the bond's MAC again programs it on the current member (and
  // puts the others back to theirs), as the PMD's own link callback does.
  rte_ether_addr mac;
  const bool have_mac = rte_eth_macaddr_get(bond, &mac) == 0;
  (void)rte_eth_bond_primary_set(bond, member);
  if (have_mac) (void)rte_eth_bond_mac_address_set(bond, &mac);
}

int DistributingMembers(uint16_t bond) {
  int n = 0;
  for (uint16_t m : Members(bond)) {
    struct rte_eth_bond_8023ad_slave_info info;
    if (rte_eth_bond_8023ad_slave_info(bond, m, &info) == 0 &&
        (info.actor_state & STATE_DISTRIBUTING))
      ++n;
  }
  return n;
}

bool LinkUp(uint16_t port) {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

}  // namespace portcullis::drivers::ethdev
