// DPDK for unit tests: EAL once per process with --no-huge (CI reserves no hugepages), an mbuf
// pool, and packets built from bytes.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace portcullis::test {

// Initialises the EAL on first use; aborts the test binary if it cannot.
void EnsureEal();

// A process-wide pool of 8192 mbufs of 2048 data bytes, 128 headroom.
rte_mempool* TestPool();
// A pool of tiny segments (256 data bytes) for chained-packet tests.
rte_mempool* SmallSegPool();

// A packet holding `bytes`, in one segment, or in segments of `seg_len` bytes (0 = one) taken
// from SmallSegPool.
rte_mbuf* MakePacket(const std::vector<uint8_t>& bytes, uint16_t seg_len = 0);
std::vector<uint8_t> PacketBytes(const rte_mbuf* m);

std::vector<uint8_t> Hex(const std::string& hex);  // whitespace ignored
std::string ToHex(const std::vector<uint8_t>& bytes);

// Well-formed inner packets with valid checksums.
std::vector<uint8_t> Ipv4Udp(uint32_t payload_len, uint8_t tos = 0, bool df = false,
                             uint32_t seed = 1);
std::vector<uint8_t> Ipv6Udp(uint32_t payload_len, uint8_t tclass = 0, uint32_t seed = 1);

}  // namespace portcullis::test
