// A dataplane in the test process: two ports (lan, wan) made of rte_rings with one queue per
// worker, two Worker objects that the test polls itself, and the command applier configured in
// dpctl's language. Frames go in through the RX rings and come out of the TX rings, so a test
// sees exactly what the pipeline would put on the wire, worker by worker.
#pragma once

#include <rte_ethdev.h>
#include <rte_ring.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/dpctl/command_parser.h"
#include "dataplane/mgmt/command_applier.h"
#include "dataplane/pipeline/worker.h"
#include "dataplane/runtime/dataplane.h"

namespace portcullis::dp::testing {

enum PortIndex { kLan = 0, kWan = 1 };

inline constexpr uint8_t kHostMac[6] = {0x02, 0, 0, 0, 0x01, 0x0a};
inline constexpr uint8_t kPeerMac[6] = {0x02, 0, 0, 0, 0x02, 0x02};

class Rig {
 public:
  static constexpr int kWorkers = 2;

  // One per test binary: DPDK names and ports cannot be created twice.
  static Rig& Get();

  // Applies dpctl command lines as one batch (all or nothing).
  dp::api::ApplyResult Apply(const std::string& text);
  // `flush all` and a fresh interface directory: every test starts from nothing.
  void Reset();

  // A frame to our MAC on `port`'s RX queue `queue`, carrying the IPv4 packet `ip`.
  void Receive(PortIndex port, int queue, const std::vector<uint8_t>& ip,
               uint16_t ethertype = 0x0800);
  void ReceiveFrame(PortIndex port, int queue, const std::vector<uint8_t>& frame);
  // An mbuf the test built itself (its data anywhere, an external buffer say), as it arrives.
  void ReceiveMbuf(PortIndex port, int queue, rte_mbuf* m);
  // Everything sent on `port`'s TX queue `queue` since the last call, as frames.
  std::vector<std::vector<uint8_t>> Sent(PortIndex port, int queue);

  Worker& worker(int w) { return *workers_[w]; }
  Dataplane& dp() { return *dp_; }
  CommandApplier& applier() { return *applier_; }
  const rte_ether_addr& mac(PortIndex p) const { return dp_->ports[port_ids_[p]].mac; }

  // Sum over workers of one drop reason.
  uint64_t Drops(int reason) const;

 private:
  Rig();
  std::unique_ptr<Dataplane> dp_;
  std::unique_ptr<CommandApplier> applier_;
  std::vector<std::unique_ptr<Worker>> workers_;
  dp::dpctl::InterfaceDirectory dir_;
  uint16_t port_ids_[2] = {};
  rte_ring* rx_[2][kWorkers] = {};
  rte_ring* tx_[2][kWorkers] = {};
};

// Builds Ethernet frames and strips them.
std::vector<uint8_t> Frame(const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype,
                           const std::vector<uint8_t>& payload);
std::vector<uint8_t> StripEthernet(const std::vector<uint8_t>& frame);

// An IPv4 packet as a router forwards it: TTL one less, checksum updated.
std::vector<uint8_t> Forwarded(std::vector<uint8_t> ip);

}  // namespace portcullis::dp::testing
