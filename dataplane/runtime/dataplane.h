// Everything the workers and the main lcore share: the published tables, the rings between
// them, the counters. Workers only read tables; the main lcore alone writes them.
#pragma once

#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

#include "dataplane/core/limits.h"
#include "dataplane/core/stats.h"
#include "dataplane/core/table_sizes.h"
#include "dataplane/tables/fib.h"
#include "dataplane/tables/fib6.h"
#include "dataplane/tables/firewall_sessions.h"
#include "dataplane/tables/interface_table.h"
#include "dataplane/tables/neighbor_table.h"
#include "dataplane/tables/sa_table.h"

namespace portcullis::dp {

struct PortInfo {
  bool present = false;
  std::string name;             // interface name from the port map ("dp0p1s1")
  std::string device;           // DPDK device name ("net_af_packet0", "0000:03:00.0")
  uint16_t nrxq = 0, ntxq = 0;  // 0 for a bond member: the bond polls it
  rte_ether_addr mac{};
  bool bond_member = false;
  bool bond = false;  // a bonding port the dataplane built from the configuration
  // A mode-4 bond: needs a transmit call every 100 ms for its LACPDUs. Workers read it without
  // the tables: cleared, and a grace period waited for, before the bond is stopped; set (with
  // release) only once the bond runs with its queues.
  std::atomic<bool> lacp{false};
};

struct Dataplane {
  std::string name;  // DataplaneParams::name: the prefix of its DPDK object names
  uint32_t nworkers = 1;
  TableSizes sizes;  // fixed at start
  rte_mempool* pool = nullptr;

  std::atomic<Tables*> tables{nullptr};
  std::unique_ptr<Fib> fib;
  std::unique_ptr<NeighborTable> neighbors;
  std::unique_ptr<Fib6> fib6;                 // IPv6 (docs/DESIGN.md, IPv6)
  std::unique_ptr<NeighborTable> neighbors6;  // learned by neighbour discovery
  std::unique_ptr<SaTable> sas;
  std::unique_ptr<FwSessionTable> sessions;   // the firewall's connection tracking
  std::unique_ptr<FwSessionTable> sessions6;  // IPv6's (FwSessionKey6)
  rte_rcu_qsbr* rcu = nullptr;

  rte_ring* slow_ring = nullptr;        // workers -> main: mbufs (ARP, resolve, punt)
  rte_ring* inject_ring = nullptr;      // main -> worker 0: mbufs (frames, local packets)
  rte_ring* event_ring = nullptr;       // workers -> main: esp::EspEvent elements
  rte_ring* handoff[kMaxWorkers] = {};  // any worker -> the SA's owner: mbufs
  // handoff[w]'s consumer index as of worker w's last transmit flush: what it has taken from
  // its ring and sent (RFC 9611 groups' member activation, Worker::OwnMember). A line each:
  // written once per pass that took anything, read by the others only while a member waits.
  struct alignas(64) HandoffSent {
    std::atomic<uint32_t> pos{0};
  } handoff_sent[kMaxWorkers];
  rte_ring* fw_log_ring = nullptr;   // workers -> main: FwLogRecord elements
  rte_ring* acquire_ring = nullptr;  // workers -> main: AcquireRecord elements
  // Acquires the main lcore could not pass on (no vpnd, or its ring full).
  std::atomic<uint64_t> acquires_undeliverable{0};
  // Firewall log records the main lcore could not pass on (vpnd's ring full or no vpnd).
  std::atomic<uint64_t> fw_log_undeliverable{0};

  PortInfo ports[kMaxPorts];
  WorkerStats* stats[kMaxWorkers] = {};

  uint32_t idle_sleep_us = 0;  // workers sleep this long after many idle loops (0 = pure poll)
  std::atomic<bool> any_lacp{false};  // some port's lacp (workers read it every loop)
  std::atomic<bool> stop{false};

  // IKE for vpnd, workers -> main, in two queues apart from ARP's (slow_ring): messages of
  // established IKE SAs (DPD, rekeys, deletes), which the main lcore takes first, and new ones
  // (IKE_SA_INIT), which a flood may fill without delaying the others.
  rte_ring* ike_ring = nullptr;
  rte_ring* ike_init_ring = nullptr;
  rte_ring* ike_cookie_ring = nullptr;  // IKE_SA_INITs that return a COOKIE (ike_punt.cc)

  const Tables& CurrentTables() const { return *tables.load(std::memory_order_acquire); }

  // Main lcore: the neighbour entry, made if needed (NeighborTable::GetOrCreate); when the
  // storage of evicted entries still waits for its grace period, waits for it (workers pass a
  // quiescent point every burst) and tries again. nullptr only if every entry is static.
  NeighborEntry* AdmitNeighbor(uint16_t ifindex, uint32_t ip);
  NeighborEntry* AdmitNeighbor6(uint16_t ifindex, const uint8_t* ip6);
};

struct DataplaneParams {
  std::string name = "pc";  // prefix of the DPDK object names (unique within the process)
  uint32_t workers = 1;
  uint32_t mbufs = 16383;
  uint32_t idle_sleep_us = 0;
  uint32_t fw_sessions = 65536;  // the firewall session table's capacity
  uint32_t fw_sessions6 = 0;     // the IPv6 session table's; 0: a quarter of fw_sessions (>= 64)
  TableSizes sizes;              // checked with CheckTableSizes
};

// The shared state with empty tables, the mbuf pool and the rings; after rte_eal_init. Ports,
// workers and the channel are the caller's (vpn-dataplane's main, or a test).
absl::StatusOr<std::unique_ptr<Dataplane>> CreateDataplane(const DataplaneParams& params);

}  // namespace portcullis::dp
