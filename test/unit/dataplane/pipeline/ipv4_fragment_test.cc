#include "dataplane/pipeline/ipv4_fragment.h"

#include <rte_ip.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

struct Frag {
  std::vector<uint8_t> bytes;
  uint32_t hlen, offset;
  bool mf, df;
};

Frag Parse(rte_mbuf* m) {
  REQUIRE(m->nb_segs == 1);
  auto b = test::PacketBytes(m);
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(b.data());
  const uint16_t f = rte_be_to_cpu_16(ip->fragment_offset);
  Frag fr{b, (b[0] & 0x0fu) * 4, (f & RTE_IPV4_HDR_OFFSET_MASK) * 8u,
          (f & RTE_IPV4_HDR_MF_FLAG) != 0, (f & RTE_IPV4_HDR_DF_FLAG) != 0};
  CHECK(rte_be_to_cpu_16(ip->total_length) == b.size());
  CHECK(rte_raw_cksum(ip, fr.hlen) == 0xffff);
  return fr;
}

// Reassembles by offset; checks coverage without gaps or overlaps.
std::vector<uint8_t> Reassemble(const std::vector<Frag>& frags) {
  std::map<uint32_t, const Frag*> by_off;
  for (const auto& f : frags) by_off[f.offset] = &f;
  std::vector<uint8_t> payload;
  for (const auto& [off, f] : by_off) {
    REQUIRE(off == payload.size());
    payload.insert(payload.end(), f->bytes.begin() + f->hlen, f->bytes.end());
  }
  CHECK_FALSE(by_off.rbegin()->second->mf);
  return payload;
}

TEST_CASE("Fragments are linear, within the MTU, and reassemble to the original") {
  for (uint16_t seg : {0, 200}) {
    for (uint32_t size : {1000u, 1473u, 1900u, 3000u, 8000u}) {
      if (seg == 0 && size > 2000) continue;  // one test-pool segment holds 2048 bytes
      auto p = test::Ipv4Udp(size, 0, false, size);
      rte_mbuf* m = test::MakePacket(p, seg);
      rte_mbuf* out[16];
      int n = FragmentIpv4(m, 1428, test::TestPool(), 64, out, 16);
      REQUIRE(n == static_cast<int>((p.size() - 20 + 1407) / 1408));
      std::vector<Frag> frags;
      for (int i = 0; i < n; ++i) {
        frags.push_back(Parse(out[i]));
        CHECK(frags.back().bytes.size() <= 1428);
        CHECK(rte_pktmbuf_tailroom(out[i]) >= 64);
        CHECK(rte_pktmbuf_headroom(out[i]) >= RTE_PKTMBUF_HEADROOM);
        CHECK((frags.back().mf || i == n - 1));
        CHECK(std::memcmp(frags.back().bytes.data() + 12, p.data() + 12, 8) == 0);
        rte_pktmbuf_free(out[i]);
      }
      CHECK(Reassemble(frags) == std::vector<uint8_t>(p.begin() + 20, p.end()));
      rte_pktmbuf_free(m);
    }
  }
}

TEST_CASE("Only copied options go into later fragments") {
  auto base = test::Ipv4Udp(2000, 0, false, 3);
  // Two options: record route (7, not copied) and a copied one (0x94, router alert, 4 bytes).
  const uint8_t opts[12] = {7, 7, 4, 0, 0, 0, 0, 1, 0x94, 4, 0, 0};
  std::vector<uint8_t> p(base.begin(), base.begin() + 20);
  p.insert(p.end(), opts, opts + 12);
  p.insert(p.end(), base.begin() + 20, base.end());
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x48;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  rte_mbuf* m = test::MakePacket(p);
  rte_mbuf* out[4];
  int n = FragmentIpv4(m, 1000, test::TestPool(), 64, out, 4);
  REQUIRE(n == 3);
  std::vector<Frag> frags;
  for (int i = 0; i < n; ++i) {
    frags.push_back(Parse(out[i]));
    rte_pktmbuf_free(out[i]);
  }
  CHECK(frags[0].hlen == 32);
  CHECK(frags[1].hlen == 24);
  CHECK(frags[1].bytes[20] == 0x94);
  CHECK(frags[1].bytes[23] == 0);
  CHECK(Reassemble(frags) == std::vector<uint8_t>(p.begin() + 32, p.end()));
  rte_pktmbuf_free(m);
}

TEST_CASE("A fragment of a fragment keeps its offset and more-fragments flag") {
  auto p = test::Ipv4Udp(1900, 0, false, 4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | 100);  // offset 800, MF
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  rte_mbuf* m = test::MakePacket(p);
  rte_mbuf* out[4];
  int n = FragmentIpv4(m, 700, test::TestPool(), 64, out, 4);
  REQUIRE(n == 3);
  for (int i = 0; i < n; ++i) {
    Frag f = Parse(out[i]);
    CHECK(f.offset == 800 + 680u * i);
    CHECK(f.mf);  // the original had more after it
    rte_pktmbuf_free(out[i]);
  }
  rte_pktmbuf_free(m);
}

TEST_CASE("Fragmentation refuses what it cannot do, and frees what it made") {
  const unsigned before = rte_mempool_avail_count(test::TestPool());
  auto p = test::Ipv4Udp(8000, 0, false, 5);
  rte_mbuf* m = test::MakePacket(p, 200);
  rte_mbuf* out[16];
  CHECK(FragmentIpv4(m, 1428, test::TestPool(), 64, out, 3) == -EMSGSIZE);
  CHECK(FragmentIpv4(m, 27, test::TestPool(), 64, out, 16) == -EINVAL);  // no room for 8 bytes
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  ip->total_length = rte_cpu_to_be_16(9000);  // longer than the packet
  CHECK(FragmentIpv4(m, 1428, test::TestPool(), 64, out, 16) == -EINVAL);
  rte_pktmbuf_free(m);
  CHECK(rte_mempool_avail_count(test::TestPool()) == before);
}

}  // namespace
}  // namespace portcullis::dp
