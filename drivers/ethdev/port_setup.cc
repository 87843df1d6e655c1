#include "drivers/ethdev/port_setup.h"

#include <rte_errno.h>
#include <rte_eth_bond_8023ad.h>
#include <rte_ethdev.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace portcullis::drivers::ethdev {

absl::StatusOr<PortSpec> ParsePortSpec(const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return absl::InvalidArgumentError(
        absl::StrCat("--port '", text,
                     "': expected NAME=DEVICE, e.g. dp0p1s1=0000:03:00.0 or "
                     "dp0p1s1=net_af_packet0,iface=veth1"));
  PortSpec p{text.substr(0, eq), text.substr(eq + 1)};
  if (p.name.size() > 15) return absl::InvalidArgumentError("interface name longer than 15");
  std::vector<std::string> args = absl::StrSplit(p.devargs, ',');
  std::vector<std::string> kept;
  for (const std::string& a : args) {
    if (a.rfind("lacp_rate=", 0) != 0) {
      kept.push_back(a);
      continue;
    }
    const std::string rate = a.substr(10);
    if (rate != "fast" && rate != "slow")
      return absl::InvalidArgumentError(absl::StrCat("--port ", p.name, ": lacp_rate fast|slow"));
    if (!p.is_bond() || p.bond_mode() != 4)
      return absl::InvalidArgumentError(
          absl::StrCat("--port ", p.name, ": lacp_rate is for mode=4 (LACP) bonds"));
    p.lacp_fast = rate == "fast";
  }
  p.devargs = absl::StrJoin(kept, ",");
  return p;
}

std::vector<std::string> PortSpec::members() const {
  std::vector<std::string> out;
  if (!is_bond()) return out;
  for (absl::string_view arg : absl::StrSplit(devargs, ',')) {
    if (absl::ConsumePrefix(&arg, "slave=")) out.emplace_back(arg);
  }
  return out;
}

int PortSpec::bond_mode() const {
  if (!is_bond()) return -1;
  for (absl::string_view arg : absl::StrSplit(devargs, ',')) {
    int mode;
    if (absl::ConsumePrefix(&arg, "mode=") && absl::SimpleAtoi(arg, &mode)) return mode;
  }
  return 0;  // the bonding PMD's default: round-robin
}

absl::Status CheckBonds(const std::vector<PortSpec>& ports) {
  absl::flat_hash_map<std::string, std::string> owner;  // member device -> bond
  for (const PortSpec& b : ports) {
    if (!b.is_bond()) continue;
    if (b.members().empty())
      return absl::InvalidArgumentError(
          absl::StrCat("bond ", b.name, " (", b.device(), ") has no slave= members"));
    for (const std::string& m : b.members()) {
      bool known = false;
      for (const PortSpec& p : ports) known |= p.device() == m && !p.is_bond();
      if (!known)
        return absl::InvalidArgumentError(
            absl::StrCat("bond ", b.name, ": member ", m,
                         " is not in the port map (add --port NAME=", m, ",...)"));
      if (auto [it, fresh] = owner.emplace(m, b.name); !fresh)
        return absl::InvalidArgumentError(
            absl::StrCat(m, " is a member of both ", it->second, " and ", b.name));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> EalArgsForPorts(const std::vector<PortSpec>& ports, unsigned workers) {
  std::vector<std::string> out;
  std::vector<const PortSpec*> ordered;
  for (const PortSpec& p : ports)
    if (!p.is_bond()) ordered.push_back(&p);
  for (const PortSpec& p : ports)
    if (p.is_bond()) ordered.push_back(&p);
  for (const PortSpec* pp : ordered) {
    const PortSpec& p = *pp;
    if (p.is_vdev()) {
      std::string dev = p.devargs;
      // af_packet spreads receive over its queue pairs with PACKET_FANOUT: one per worker.
      if (dev.rfind("net_af_packet", 0) == 0 && dev.find("qpairs=") == std::string::npos &&
          workers > 1)
        dev += absl::StrCat(",qpairs=", workers);
      out.push_back("--vdev=" + dev);
    } else {
      out.push_back("-a");
      out.push_back(p.devargs);
    }
  }
  return out;
}

absl::StatusOr<PortState> StartPort(const PortSpec& spec, uint16_t queues, rte_mempool* pool) {
  uint16_t port = 0;
  if (rte_eth_dev_get_port_by_name(spec.device().c_str(), &port) != 0)
    return absl::NotFoundError(
        absl::StrCat("port ", spec.name, ": no DPDK device '", spec.device(), "'"));
  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0)
    return absl::InternalError(absl::StrCat("port ", spec.name, ": ", rte_strerror(-rc)));
  if (info.max_rx_queues < queues || info.max_tx_queues < queues)
    return absl::FailedPreconditionError(absl::StrCat(
        "port ", spec.name, " (", spec.device(), ") has ", info.max_rx_queues, " RX / ",
        info.max_tx_queues, " TX queues; ", queues, " workers need one each"));
  rte_eth_conf conf = {};
  if (queues > 1 && info.flow_type_rss_offloads) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  if (int rc = rte_eth_dev_configure(port, queues, queues, &conf); rc != 0)
    return absl::InternalError(
        absl::StrCat("port ", spec.name, ": configure: ", rte_strerror(-rc)));
  uint16_t rxd = 1024, txd = 1024;
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  for (uint16_t q = 0; q < queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port, q, rxd, rte_eth_dev_socket_id(port), nullptr, pool);
        rc != 0)
      return absl::InternalError(
          absl::StrCat("port ", spec.name, ": rx queue: ", rte_strerror(-rc)));
    if (int rc = rte_eth_tx_queue_setup(port, q, txd, rte_eth_dev_socket_id(port), nullptr);
        rc != 0)
      return absl::InternalError(
          absl::StrCat("port ", spec.name, ": tx queue: ", rte_strerror(-rc)));
  }
  if (spec.lacp_fast) {
    rte_eth_bond_8023ad_conf c;
    if (rte_eth_bond_8023ad_conf_get(port, &c) == 0) {
      // The PMD wants slow > fast and long > short: "slow" becomes just above "fast".
      c.slow_periodic_ms = c.fast_periodic_ms + 100;
      c.long_timeout_ms = c.short_timeout_ms + 100;
      if (int rc = rte_eth_bond_8023ad_setup(port, &c); rc != 0)
        return absl::InternalError(
            absl::StrCat("port ", spec.name, ": LACP rate: ", rte_strerror(-rc)));
    }
  }
  if (int rc = rte_eth_dev_start(port); rc != 0)
    return absl::InternalError(absl::StrCat("port ", spec.name, ": start: ", rte_strerror(-rc)));
  if (spec.bond_mode() == 4) {
    // LACPDUs go to 01:80:c2:00:00:02. The bonding PMD asks its members for all-multicast,
    // which af_packet (and some NICs) cannot do; promiscuous mode lets them in there. Frames
    // for other hosts are still dropped (and counted) by the L2 stage.
    (void)rte_eth_promiscuous_enable(port);
  }
  PortState s{port, queues, {}};
  rte_eth_macaddr_get(port, &s.mac);
  return s;
}

void StopPort(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);  // net_pcap flushes its output file here
}

}  // namespace portcullis::drivers::ethdev
