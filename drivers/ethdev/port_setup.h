// DPDK ports for the dataplane: the port map ("dp0p1s1=net_af_packet0,iface=veth1" or
// "dp0p1s1=0000:03:00.0") turned into EAL arguments, and each port configured with one RX and
// one TX queue per worker.
#pragma once

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mempool.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis::drivers::ethdev {

struct PortSpec {
  std::string name;     // interface name
  std::string devargs;  // "net_af_packet0,iface=veth1" or a PCI address
  bool is_vdev() const { return devargs.rfind("net_", 0) == 0; }
  std::string device() const { return devargs.substr(0, devargs.find(',')); }
};

// "name=devargs". Only physical ports: a bond ("net_bonding...") is refused with a pointer to
// `interfaces bonding` (bonds come from the configuration, built at commit: bond_device.h).
absl::StatusOr<PortSpec> ParsePortSpec(const std::string& text);

// EAL arguments that bring these ports up: --vdev for virtual devices (with qpairs for
// af_packet when several workers share a port), -a for PCI devices.
std::vector<std::string> EalArgsForPorts(const std::vector<PortSpec>& ports, unsigned workers);

struct PortState {
  uint16_t port_id;
  uint16_t queues;
  rte_ether_addr mac;
};

// Configures and starts a port with `queues` RX and TX queues.
absl::StatusOr<PortState> StartPort(const PortSpec& spec, uint16_t queues, rte_mempool* pool);
// The same for a port known by its id (`name` for errors): a bond member that is a plain port
// again.
absl::StatusOr<PortState> StartPortId(uint16_t port, const std::string& name, uint16_t queues,
                                      rte_mempool* pool);

void StopPort(uint16_t port_id);

// Another unicast MAC the port receives (a VRRP master's virtual MAC): added to the port's MAC
// filter, or, where the PMD keeps none, by turning promiscuous mode on (which stays on). On a
// bond it reaches the members. Ok = frames to `mac` now arrive.
absl::Status ReceiveMac(uint16_t port_id, const uint8_t mac[6]);
// Takes it out of the filter again (promiscuous mode, if it was the way, stays).
void ForgetMac(uint16_t port_id, const uint8_t mac[6]);

// The configuration every port (and bond) of ours gets: RSS over IP/UDP where there are several
// queues and the device hashes, and multi-segment transmit where it has it.
rte_eth_conf PortConf(const rte_eth_dev_info& info, uint16_t queues);

}  // namespace portcullis::drivers::ethdev
