// Counters. Each worker writes only its own block (no atomics on the packet path); readers
// (telemetry, dpctl, the event to vpnd) sum the blocks. x86 never tears aligned 64-bit loads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/core/drop_reason.h"
#include "dataplane/core/limits.h"

namespace portcullis::dp {

// 32-byte aligned (the blocks lie in a 64-byte aligned array): rx_packets/rx_bytes and
// tx_packets/tx_bytes each lie within one cache line, so that the one prefetch of a tunnel's
// counters a burst spread over many tunnels issues (Worker::PrefetchRuns) covers both.
struct alignas(32) InterfaceStats {
  uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
  uint64_t drops[kAllDropCount];
};
static_assert(offsetof(InterfaceStats, tx_packets) % 16 == 0 &&
              offsetof(InterfaceStats, tx_bytes) == offsetof(InterfaceStats, tx_packets) + 8);

struct alignas(64) WorkerStats {
  uint64_t loops, rx_bursts, idle_loops;
  uint64_t punted, injected, handed_off, icmp_sent, icmp_rate_limited;
  uint64_t icmp_pmtu_rate_limited;  // of icmp_rate_limited: packet too big, fragmentation needed
  uint64_t reassembled6;            // IPv6 datagrams to us made whole from their fragments
  uint64_t drops[kAllDropCount];    // totals (the interface blocks break them down)
  // One block per ifindex (--max-interfaces of them, allocated with the worker): about 430
  // bytes each, 4.4 MB per worker at 10,240 interfaces.
  InterfaceStats* ifs;
  uint32_t nifs;
  uint64_t ike_drops[kIkeDropCount];  // totals only
  // Firewall log records: sent to the main lcore, suppressed by a rule's rate limit, lost to a
  // full ring.
  uint64_t fw_log_sent, fw_log_suppressed, fw_log_lost;
  // Acquires (a packet needs an SA we lack): sent to the main lcore, suppressed by the
  // per-tunnel rate limit, lost to a full ring.
  uint64_t acquires_sent, acquires_suppressed, acquires_lost;
  // SA owner handoff (docs/DESIGN.md, SA ownership): handed_off counts what this worker put on
  // another's ring, handoff_received what it took from its own; a full ring is the drop
  // reason handoff_queue_full, counted by the worker that could not enqueue.
  uint64_t handoff_received;
  // RFC 9611 groups: members this worker started using before the owner had sent the
  // tunnel's packets it handed over (the owner stayed behind for kMemberWaitLoops passes:
  // overload; a packet may be reordered then, at most once per member's arrival).
  uint64_t member_forced;
  // Packets encrypted together with other tunnels' in one engine pass (docs/DESIGN.md, ESP:
  // many tunnels in one burst).
  uint64_t tunnel_batched;
  // The longest time between two of the worker's loop rounds (each polls every receive queue
  // once), in TSC cycles, and the TSC when it ended: a round that took longer than a port's
  // receive ring holds (512 frames of af_packet at 300 packets/s: 1.7 s) overruns the ring.
  // Sleeping while idle (--idle-sleep-us) counts, as does anything that stalls the thread.
  uint64_t max_poll_gap_tsc, max_poll_gap_end_tsc;
};

inline uint64_t ReadCounter(const uint64_t& c) {
  return __atomic_load_n(&c, __ATOMIC_RELAXED);
}

}  // namespace portcullis::dp
