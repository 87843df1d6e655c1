#include "drivers/ethdev/port_setup.h"

#include <rte_errno.h>
#include <rte_ethdev.h>

#include <cstring>

#include "absl/strings/str_cat.h"

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
  // The bonding PMD's own names: a bond on the command line would be a second source of truth
  // beside the configuration (and was, unnoticed, before #17).
  if (p.devargs.rfind("net_bonding", 0) == 0 || p.devargs.rfind("eth_bond", 0) == 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "--port ", p.name, "=", p.devargs,
        ": a bond is not a port; name only its physical members here and configure it: "
        "interfaces bonding ",
        p.name, " mode lacp|active-backup|balanced, and interfaces dataplane <member> bond-group ",
        p.name));
  return p;
}

std::vector<std::string> EalArgsForPorts(const std::vector<PortSpec>& ports, unsigned workers) {
  std::vector<std::string> out;
  for (const PortSpec& p : ports) {
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
  return StartPortId(port, spec.name, queues, pool);
}

absl::StatusOr<PortState> StartPortId(uint16_t port, const std::string& name, uint16_t queues,
                                      rte_mempool* pool) {
  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0)
    return absl::InternalError(absl::StrCat("port ", name, ": ", rte_strerror(-rc)));
  if (info.max_rx_queues < queues || info.max_tx_queues < queues)
    return absl::FailedPreconditionError(absl::StrCat(
        "port ", name, " (", rte_dev_name(info.device), ") has ", info.max_rx_queues, " RX / ",
        info.max_tx_queues, " TX queues; ", queues, " workers need one each"));
  rte_eth_conf conf = PortConf(info, queues);
  if (int rc = rte_eth_dev_configure(port, queues, queues, &conf); rc != 0)
    return absl::InternalError(absl::StrCat("port ", name, ": configure: ", rte_strerror(-rc)));
  uint16_t rxd = 1024, txd = 1024;
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  for (uint16_t q = 0; q < queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port, q, rxd, rte_eth_dev_socket_id(port), nullptr, pool);
        rc != 0)
      return absl::InternalError(absl::StrCat("port ", name, ": rx queue: ", rte_strerror(-rc)));
    if (int rc = rte_eth_tx_queue_setup(port, q, txd, rte_eth_dev_socket_id(port), nullptr);
        rc != 0)
      return absl::InternalError(absl::StrCat("port ", name, ": tx queue: ", rte_strerror(-rc)));
  }
  if (int rc = rte_eth_dev_start(port); rc != 0)
    return absl::InternalError(absl::StrCat("port ", name, ": start: ", rte_strerror(-rc)));
  // IPv6 neighbour discovery arrives on solicited-node groups (33:33:ff:xx:xx:xx) that a NIC
  // filtering multicast would drop: take every group. PMDs without the setting (af_packet,
  // pcap, ring, null) deliver every frame anyway.
  (void)rte_eth_allmulticast_enable(port);
  PortState s{port, queues, {}};
  rte_eth_macaddr_get(port, &s.mac);
  return s;
}

rte_eth_conf PortConf(const rte_eth_dev_info& info, uint16_t queues) {
  rte_eth_conf conf = {};
  if (queues > 1 && info.flow_type_rss_offloads) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  return conf;
}

void StopPort(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);  // net_pcap flushes its output file here
}

absl::Status ReceiveMac(uint16_t port_id, const uint8_t mac[6]) {
  rte_ether_addr a;
  std::memcpy(a.addr_bytes, mac, 6);
  // A port without a MAC of its own (ring vdevs) has its default slot empty, which DPDK would
  // fill with this one, making it the default: promiscuous instead.
  rte_ether_addr own{};
  const bool has_own = rte_eth_macaddr_get(port_id, &own) == 0 && !rte_is_zero_ether_addr(&own);
  const int rc = has_own ? rte_eth_dev_mac_addr_add(port_id, &a, 0) : -ENOTSUP;
  if (rc == 0 || rc == -EEXIST) return absl::OkStatus();
  if (rte_eth_promiscuous_get(port_id) == 1) return absl::OkStatus();
  if (const int p = rte_eth_promiscuous_enable(port_id); p != 0)
    return absl::UnavailableError(absl::StrCat("port ", port_id, ": no MAC filter entry (",
                                               rte_strerror(-rc), ") and no promiscuous mode (",
                                               rte_strerror(-p), ")"));
  return absl::OkStatus();
}

void ForgetMac(uint16_t port_id, const uint8_t mac[6]) {
  rte_ether_addr a;
  std::memcpy(a.addr_bytes, mac, 6);
  (void)rte_eth_dev_mac_addr_remove(port_id, &a);  // absent (promiscuous way): nothing to do
}

}  // namespace portcullis::drivers::ethdev
