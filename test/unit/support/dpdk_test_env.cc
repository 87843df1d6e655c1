#include "test/unit/support/dpdk_test_env.h"

#include "drivers/ethdev/eal_runtime.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace portcullis::test {

void EnsureEal() {
  static std::once_flag once;
  std::call_once(once, [] {
    // 1 GB: command_applier_scale_test builds dataplanes with 10,000-tunnel tables whose
    // firewall caches (16 MB a worker for IPv4 since session 9) no longer fit 512 MB besides them.
    std::string prefix = "--file-prefix=ut" + std::to_string(getpid());
    const char* argv[] = {"unit-test",   "--no-huge",           "-m",           "1024", "--no-pci",
                          "--no-shconf", "--log-level=*:error", prefix.c_str(), "-l",   "0"};
    int argc = sizeof argv / sizeof argv[0];
    if (rte_eal_init(argc, const_cast<char**>(argv)) < 0) {
      std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
      std::abort();
    }
    drivers::ethdev::CleanEalRuntimeDirAtExit();
  });
}

rte_mempool* TestPool() {
  EnsureEal();
  static rte_mempool* pool =
      rte_pktmbuf_pool_create("ut_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr) std::abort();
  return pool;
}

rte_mempool* SmallSegPool() {
  EnsureEal();
  static rte_mempool* pool =
      rte_pktmbuf_pool_create("ut_small", 8191, 256, 0, 256 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
  if (pool == nullptr) std::abort();
  return pool;
}

rte_mbuf* MakePacket(const std::vector<uint8_t>& bytes, uint16_t seg_len) {
  if (seg_len == 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(TestPool());
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
    std::memcpy(p, bytes.data(), bytes.size());
    return m;
  }
  rte_mbuf* head = nullptr;
  rte_mbuf* last = nullptr;
  size_t off = 0;
  do {
    rte_mbuf* s = rte_pktmbuf_alloc(SmallSegPool());
    uint16_t n = static_cast<uint16_t>(std::min<size_t>(seg_len, bytes.size() - off));
    char* p = rte_pktmbuf_append(s, n);
    std::memcpy(p, bytes.data() + off, n);
    off += n;
    if (head == nullptr) {
      head = s;
    } else {
      rte_pktmbuf_chain(head, s);
    }
    last = s;
  } while (off < bytes.size());
  (void)last;
  return head;
}

std::vector<uint8_t> PacketBytes(const rte_mbuf* m) {
  std::vector<uint8_t> out;
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    const uint8_t* p = rte_pktmbuf_mtod(s, const uint8_t*);
    out.insert(out.end(), p, p + s->data_len);
  }
  return out;
}

std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : hex) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

std::string ToHex(const std::vector<uint8_t>& bytes) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

std::vector<uint8_t> Ipv4Udp(uint32_t payload_len, uint8_t tos, bool df, uint32_t seed) {
  std::vector<uint8_t> p(20 + 8 + payload_len);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->type_of_service = tos;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->packet_id = rte_cpu_to_be_16(static_cast<uint16_t>(seed));
  ip->fragment_offset = df ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0;
  ip->time_to_live = 63;
  ip->next_proto_id = 17;
  ip->src_addr = rte_cpu_to_be_32(0x0a010002);
  ip->dst_addr = rte_cpu_to_be_32(0x0a020002);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(10000);
  udp->dst_port = rte_cpu_to_be_16(20000);
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + payload_len));
  uint32_t x = seed * 2654435761u + 1;
  for (uint32_t i = 0; i < payload_len; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[28 + i] = static_cast<uint8_t>(x);
  }
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  return p;
}

std::vector<uint8_t> Ipv6Udp(uint32_t payload_len, uint8_t tclass, uint32_t seed) {
  std::vector<uint8_t> p(40 + 8 + payload_len);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p.data());
  ip->vtc_flow = rte_cpu_to_be_32((6u << 28) | (uint32_t{tclass} << 20) | (seed & 0xfffff));
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + payload_len));
  ip->proto = 17;
  ip->hop_limits = 63;
  static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  std::memcpy(ip->src_addr, src, 16);
  std::memcpy(ip->dst_addr, dst, 16);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(10000);
  udp->dst_port = rte_cpu_to_be_16(20000);
  udp->dgram_len = ip->payload_len;
  uint32_t x = seed * 2654435761u + 7;
  for (uint32_t i = 0; i < payload_len; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[48 + i] = static_cast<uint8_t>(x);
  }
  udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
  return p;
}

}  // namespace portcullis::test
