// Sizes the dataplane is built for. Tables are arrays of these sizes so the packet path indexes
// instead of searching.
#pragma once

#include <cstdint>

namespace portcullis::dp {

constexpr uint32_t kMaxInterfaces = 256;  // ifindex 1..255; 0 means "none"
constexpr uint32_t kMaxPorts = 32;        // DPDK port ids
constexpr uint16_t kNoPort = 0xffff;      // an interface without a DPDK port
constexpr uint32_t kMaxWorkers = 16;
constexpr uint32_t kMaxAddressesPerInterface = 8;
constexpr uint32_t kMaxNextHops = 4096;
constexpr uint32_t kMaxRoutes = 65536;
constexpr uint32_t kMaxSas = 8192;
constexpr uint32_t kMaxNeighbors = 4096;
// Static neighbours at most (configured ones are never evicted; the rest of the table stays
// for learned ones).
constexpr uint32_t kMaxStaticNeighbors = kMaxNeighbors / 2;
// Packets waiting for ARP, over all neighbours: a small share of the mbuf pool (16,383 by
// default), so a flood of unresolvable destinations cannot drain it.
constexpr uint32_t kMaxHeldPackets = 1024;
// Packets per receive burst (and per transmit queue flush). 64 rather than the usual 32: the
// per-burst work (table and SA lookups, run splitting, the engine's setup) is spread over twice
// the packets; measured 64 B encrypt about 1 ns per packet faster, decrypt and 1420 B the same.
// Never more than the ESP engine's kMaxBurst.
constexpr uint16_t kBurst = 64;
constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;

}  // namespace portcullis::dp
