// DPDK ports for the dataplane: the port map ("dp0p1s1=net_af_packet0,iface=veth1" or
// "dp0p1s1=0000:03:00.0") turned into EAL arguments, and each port configured with one RX and
// one TX queue per worker.
#pragma once

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
  bool is_bond() const { return devargs.rfind("net_bonding", 0) == 0; }
  std::string device() const { return devargs.substr(0, devargs.find(',')); }
  // A bond's member devices ("slave=" arguments of net_bonding in DPDK 22.11).
  std::vector<std::string> members() const;
  // The bonding mode (0..6) of a bond, -1 for anything else.
  int bond_mode() const;
  // lacp_rate=fast on a mode-4 bond (ours, taken out of the devargs before the EAL sees them):
  // LACPDUs every second and a 3 s timeout, like Vyatta's `lacp-options rate fast`. The
  // default (slow) is 30 s and 90 s, which is also all a member without link-state reporting
  // (af_packet) has to notice that a link died.
  bool lacp_fast = false;
};

// "name=devargs[,lacp_rate=fast|slow]"
absl::StatusOr<PortSpec> ParsePortSpec(const std::string& text);

// Every bond's members are ports of the map, and no device is in two bonds.
absl::Status CheckBonds(const std::vector<PortSpec>& ports);

// EAL arguments that bring these ports up: --vdev for virtual devices (with qpairs for
// af_packet when several workers share a port), -a for PCI devices. Bonds come last: the
// bonding PMD takes its members by name when it is probed.
//
// A bond is a port like any other, e.g. for Vyatta's dp0bond1 over dp0p1s2 and dp0p2s2:
//   --port dp0p1s2=net_af_packet2,iface=eth2 --port dp0p2s2=net_af_packet3,iface=eth3
//   --port dp0bond1=net_bonding1,mode=4,slave=net_af_packet2,slave=net_af_packet3
// Its members keep their names (the configuration has them) but are driven by the bond.
std::vector<std::string> EalArgsForPorts(const std::vector<PortSpec>& ports, unsigned workers);

struct PortState {
  uint16_t port_id;
  uint16_t queues;
  rte_ether_addr mac;
};

// Configures and starts a port with `queues` RX and TX queues.
absl::StatusOr<PortState> StartPort(const PortSpec& spec, uint16_t queues, rte_mempool* pool);

void StopPort(uint16_t port_id);

}  // namespace portcullis::drivers::ethdev
