// Sizes the dataplane is built for. Tables are arrays of these sizes so the packet path indexes
// instead of searching. The large tables (interfaces, SAs, routes, next hops, neighbours,
// policies) are sized at start instead: core/table_sizes.h.
#pragma once

#include <cstdint>

namespace portcullis::dp {

constexpr uint32_t kMaxPorts = 32;    // DPDK port ids
constexpr uint16_t kNoPort = 0xffff;  // an interface without a DPDK port
constexpr uint32_t kMaxWorkers = 16;
constexpr uint32_t kMaxAddressesPerInterface = 8;
// Packets waiting for ARP, over all neighbours: a small share of the mbuf pool (16,383 by
// default), so a flood of unresolvable destinations cannot drain it.
constexpr uint32_t kMaxHeldPackets = 1024;
// Packets per receive burst (and per transmit queue flush). 64 rather than the usual 32: the
// per-burst work (table and SA lookups, run splitting, the engine's setup) is spread over twice
// the packets; measured 64 B encrypt about 1 ns per packet faster, decrypt and 1420 B the same.
// Never more than the ESP engine's kMaxBurst.
constexpr uint16_t kBurst = 64;
// The firewall's per-worker caches (docs/DESIGN.md, Firewall, Cost), entries per worker: of
// session positions (32 bytes each, IPv6's 64; never more than four times the table's
// capacity) and of ACL verdicts (an entry holds a key's answers at two chains: 32 bytes, IPv6's
// 64). Buckets have two ways: F flows that a round-robin stream visits over B buckets keep
// their entries where a bucket drew at most two of them, P(Poisson(F/B) <= 1): 91% of 65,536
// flows in 262,144 entries (74% in 131,072, 41% of 262,144 flows) when the flows fall at random
// (the bench's, sequential ports under CRC32-C, all stay). 8 MB a cache, 16 MB per worker for
// IPv4, 1 MB for IPv6.
constexpr uint32_t kFwSessionCache = 262144;
constexpr uint32_t kFwSessionCache6 = 8192;
constexpr uint32_t kFwVerdictCache = 262144;
constexpr uint32_t kFwVerdictCache6 = 8192;
constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;

}  // namespace portcullis::dp
