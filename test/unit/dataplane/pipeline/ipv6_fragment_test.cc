// FragmentIpv6 (our own packets longer than their link): fragments within the MTU, each a
// linear mbuf with room for an ESP trailer, data in multiples of 8 bytes but the last's, one
// identification, the M flag on all but the last, and together the original payload.
#include "dataplane/pipeline/ipv6_fragment.h"

#include <rte_ip.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <map>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

struct Frag6 {
  std::vector<uint8_t> bytes;
  uint32_t offset, id;
  bool more;
};

Frag6 Parse(rte_mbuf* m) {
  REQUIRE(m->nb_segs == 1);
  auto b = test::PacketBytes(m);
  REQUIRE(b.size() >= 48);
  CHECK(b[6] == 44);
  CHECK(size_t{40} + (b[4] << 8 | b[5]) == b.size());
  const uint16_t field = static_cast<uint16_t>(b[42] << 8 | b[43]);
  uint32_t id;
  std::memcpy(&id, b.data() + 44, 4);
  CHECK(b[41] == 0);
  CHECK((field & 6) == 0);  // reserved bits
  return Frag6{b, field & 0xfff8u, rte_be_to_cpu_32(id), (field & 1) != 0};
}

TEST_CASE("IPv6 fragments of our own: within the MTU, and together the original") {
  for (uint16_t seg : {0, 200}) {
    for (uint32_t size : {1300u, 1453u, 1900u, 3000u, 8000u}) {
      if (seg == 0 && size > 1900) continue;  // one test-pool segment holds 2048 bytes
      INFO("payload " << size << ", segments of " << seg);
      auto p = test::Ipv6Udp(size, 0, size);
      rte_mbuf* m = test::MakePacket(p, seg);
      rte_mbuf* out[16];
      const int n = FragmentIpv6(m, 1280, 0xa1b2c3d4, test::TestPool(), 64, out, 16);
      const uint32_t payload = static_cast<uint32_t>(p.size() - 40);
      const uint32_t per = (1280 - 48) & ~7u;  // 1232
      REQUIRE(n == static_cast<int>((payload + per - 1) / per));
      std::map<uint32_t, Frag6> by_offset;
      for (int i = 0; i < n; ++i) {
        Frag6 f = Parse(out[i]);
        CHECK(f.bytes.size() <= 1280);
        CHECK(f.id == 0xa1b2c3d4);
        CHECK(f.more == (i != n - 1));
        if (f.more) CHECK((f.bytes.size() - 48) % 8 == 0);
        CHECK(f.bytes[48 - 8] == p[6]);  // the next header the original named
        CHECK(std::equal(f.bytes.begin(), f.bytes.begin() + 4, p.begin()));  // version, class
        CHECK(std::equal(f.bytes.begin() + 8, f.bytes.begin() + 40, p.begin() + 8));
        CHECK(rte_pktmbuf_tailroom(out[i]) >= 64);
        CHECK(rte_pktmbuf_headroom(out[i]) >= RTE_PKTMBUF_HEADROOM);
        by_offset[f.offset] = f;
        rte_pktmbuf_free(out[i]);
      }
      std::vector<uint8_t> whole;
      for (const auto& [offset, f] : by_offset) {
        REQUIRE(offset == whole.size());
        whole.insert(whole.end(), f.bytes.begin() + 48, f.bytes.end());
      }
      CHECK(whole == std::vector<uint8_t>(p.begin() + 40, p.end()));
      rte_pktmbuf_free(m);
    }
  }
}

TEST_CASE("IPv6 fragmentation refuses what it cannot fragment, freeing what it made") {
  auto p = test::Ipv6Udp(3000);
  rte_mbuf* m = test::MakePacket(p, 200);
  rte_mbuf* out[16];
  const unsigned free_before = rte_mempool_avail_count(test::TestPool());
  CHECK(FragmentIpv6(m, 1000, 1, test::TestPool(), 64, out, 16) == -EINVAL);  // below 1,280
  CHECK(FragmentIpv6(m, 1280, 1, test::TestPool(), 64, out, 2) == -EMSGSIZE);
  CHECK(rte_mempool_avail_count(test::TestPool()) == free_before);
  auto opts = p;
  opts[6] = 60;  // an extension header first: not ours to fragment
  rte_mbuf* o = test::MakePacket(opts, 200);
  CHECK(FragmentIpv6(o, 1280, 1, test::TestPool(), 64, out, 16) == -EINVAL);
  auto longer = p;
  longer[4] = 0xff;  // a payload length past the packet
  rte_mbuf* l = test::MakePacket(longer, 200);
  CHECK(FragmentIpv6(l, 1280, 1, test::TestPool(), 64, out, 16) == -EINVAL);
  rte_pktmbuf_free(m);
  rte_pktmbuf_free(o);
  rte_pktmbuf_free(l);
}

}  // namespace
}  // namespace portcullis::dp
