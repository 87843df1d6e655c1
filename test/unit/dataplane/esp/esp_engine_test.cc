// Round trips through the ESP engine for every algorithm, ESN on/off, raw and UDP-encapsulated,
// IPv4/IPv6 inner and outer, both backends and across them; the outer header fields; lifetime
// and sequence-number events; chained mbufs and missing head/tail room.
#include <rte_udp.h>

#include <set>
#include <vector>

#include "absl/strings/str_format.h"

#include "test/unit/dataplane/esp/esp_test_util.h"

using namespace portcullis;
using namespace portcullis::dp::esp;
using namespace portcullis::dp::esp::testutil;

namespace {

std::vector<uint8_t> Inner(bool v6, uint32_t payload, uint32_t seed, uint8_t tos = 0,
                           bool df = false) {
  return v6 ? test::Ipv6Udp(payload, tos, seed) : test::Ipv4Udp(payload, tos, df, seed);
}

// Encrypts `count` packets of assorted sizes with `enc`, decrypts them with `dec`.
template <class EE, class DE>
void RoundTrip(EE& enc, Sa& out, DE& dec, Sa& in, bool inner_v6, int count = 40) {
  const uint32_t sizes[] = {0, 1, 2, 3, 13, 14, 15, 16, 17, 63, 64, 100, 512, 1000, 1400};
  std::vector<std::vector<uint8_t>> originals;
  rte_mbuf* pkts[kMaxBurst];
  int n = 0;
  for (int i = 0; i < count; ++i) {
    originals.push_back(Inner(inner_v6, sizes[i % 15], i + 1));
    pkts[n++] = test::MakePacket(originals.back());
  }
  DropList drops;
  uint16_t got = enc.Encrypt(out, pkts, static_cast<uint16_t>(n), drops);
  REQUIRE(drops.n == 0);
  REQUIRE(got == n);
  for (int i = 0; i < n; ++i) {
    // ESP never carries plaintext: the inner payload must not appear in the packet.
    auto wire = test::PacketBytes(pkts[i]);
    if (originals[i].size() > 40 && out.cipher != Cipher::kNull) {
      auto tail = std::vector<uint8_t>(originals[i].end() - 16, originals[i].end());
      CHECK(std::search(wire.begin(), wire.end(), tail.begin(), tail.end()) == wire.end());
    }
  }
  got = dec.Decrypt(in, pkts, static_cast<uint16_t>(n), drops);
  INFO("drops " << drops.n << (drops.n ? DropReasonName(drops.reasons[0]) : ""));
  REQUIRE(drops.n == 0);
  REQUIRE(got == n);
  for (int i = 0; i < n; ++i) {
    CHECK(test::PacketBytes(pkts[i]) == originals[i]);
    rte_pktmbuf_free(pkts[i]);
  }
  CHECK(out.packets == static_cast<uint64_t>(n));
  CHECK(in.packets == static_cast<uint64_t>(n));
  CHECK(out.bytes == in.bytes);
}

}  // namespace

TEST_CASE("round trip: every algorithm, ESN, UDP, families, both backends", "[esp]") {
  test::EnsureEal();
  for (const Algo& algo : AllAlgos()) {
    for (bool esn : {false, true}) {
      for (bool udp : {false, true}) {
        for (int family : {AF_INET, AF_INET6}) {
          for (bool inner_v6 : {false, true}) {
            INFO(algo.name << " esn " << esn << " udp " << udp << " outer v"
                           << (family == AF_INET ? 4 : 6) << " inner v" << (inner_v6 ? 6 : 4));
            SaConfig oc = Config(Direction::kOutbound, algo, esn, udp, family);
            SaConfig ic = Config(Direction::kInbound, algo, esn, udp, family);
            {
              SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
              SaPtr in = MakeSa<drivers::crypto::IpsecMbBackend>(ic);
              RoundTrip(Mb(), *out, Mb(), *in, inner_v6);
            }
            {
              SaPtr out = MakeSa<drivers::crypto::OpenSslBackend>(oc);
              SaPtr in = MakeSa<drivers::crypto::OpenSslBackend>(ic);
              RoundTrip(Os(), *out, Os(), *in, inner_v6);
            }
            {  // across implementations, both ways
              SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
              SaPtr in = MakeSa<drivers::crypto::OpenSslBackend>(ic);
              RoundTrip(Mb(), *out, Os(), *in, inner_v6);
              SaPtr out2 = MakeSa<drivers::crypto::OpenSslBackend>(oc);
              SaPtr in2 = MakeSa<drivers::crypto::IpsecMbBackend>(ic);
              RoundTrip(Os(), *out2, Mb(), *in2, inner_v6);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("GCM output is identical from both backends", "[esp]") {
  for (bool esn : {false, true}) {
    SaConfig oc = Config(Direction::kOutbound, AllAlgos()[0], esn);
    SaPtr a = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
    SaPtr b = MakeSa<drivers::crypto::OpenSslBackend>(oc);
    for (uint32_t len : {0u, 10u, 700u}) {
      rte_mbuf* ma = test::MakePacket(test::Ipv4Udp(len));
      rte_mbuf* mb = test::MakePacket(test::Ipv4Udp(len));
      REQUIRE(One(Mb(), *a, ma, true) == DropReason::kCount);
      REQUIRE(One(Os(), *b, mb, true) == DropReason::kCount);
      CHECK(test::PacketBytes(ma) == test::PacketBytes(mb));
      rte_pktmbuf_free(ma);
      rte_pktmbuf_free(mb);
    }
  }
}

TEST_CASE("outer header fields", "[esp]") {
  SaConfig oc = Config(Direction::kOutbound, AllAlgos()[0], false, true);
  oc.initial_seq = 41;
  SaPtr sa = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
  auto inner = test::Ipv4Udp(100, /*tos=*/0xb9, /*df=*/true);  // DSCP 46 (EF), ECN ECT(1)
  rte_mbuf* m = test::MakePacket(inner);
  REQUIRE(One(Mb(), *sa, m, true) == DropReason::kCount);
  auto w = test::PacketBytes(m);
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(w.data());
  CHECK(ip->version_ihl == 0x45);
  CHECK(ip->type_of_service == 0xb9);  // DSCP copied, ECN copied (RFC 6040 normal mode)
  CHECK(rte_be_to_cpu_16(ip->total_length) == w.size());
  CHECK((rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG) != 0);
  CHECK(ip->time_to_live == 64);
  CHECK(ip->next_proto_id == 17);
  rte_ipv4_hdr copy = *ip;
  copy.hdr_checksum = 0;
  CHECK(rte_ipv4_cksum(&copy) == ip->hdr_checksum);
  auto* udp = reinterpret_cast<const rte_udp_hdr*>(w.data() + 20);
  CHECK(rte_be_to_cpu_16(udp->src_port) == 4500);
  CHECK(rte_be_to_cpu_16(udp->dst_port) == 4500);
  CHECK(rte_be_to_cpu_16(udp->dgram_len) == w.size() - 20);
  CHECK(udp->dgram_cksum == 0);  // RFC 3948 §2.1 for IPv4
  const uint8_t* esp = w.data() + 28;
  CHECK(test::ToHex({esp, esp + 4}) == "00001234");
  CHECK(test::ToHex({esp + 4, esp + 8}) == "0000002a");           // 42
  CHECK(test::ToHex({esp + 8, esp + 16}) == "000000000000002a");  // IV = sequence number
  // Ciphertext: inner + padding to 4 bytes + 2; then 16 bytes of ICV.
  CHECK(w.size() == 20 + 8 + 8 + 8 + ((inner.size() + 2 + 3) & ~size_t{3}) + 16);
  rte_pktmbuf_free(m);
}

// The pipeline tells the engine it checked the inner headers, and the fast path then only
// reads them: the packets must be the same bytes either way, IPv4 and IPv6 inside.
TEST_CASE("encrypt: a caller that checked the inner headers gets the same packets", "[esp]") {
  for (const Algo& algo : {AllAlgos()[0], AllAlgos()[1]}) {
    INFO(algo.name);
    std::vector<std::vector<uint8_t>> inners;
    for (int i = 0; i < 8; ++i)
      inners.push_back(i % 4 == 3 ? test::Ipv6Udp(30 + 41 * i, static_cast<uint8_t>(i), i)
                                  : test::Ipv4Udp(40 + 97 * i, static_cast<uint8_t>(0x28 | (i & 3)),
                                                  /*df=*/i % 2 == 0, i + 7));
    std::vector<std::vector<uint8_t>> wire[2];
    for (int checked = 0; checked < 2; ++checked) {
      SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(Config(Direction::kOutbound, algo));
      rte_mbuf* pkts[8];
      for (int i = 0; i < 8; ++i) pkts[i] = test::MakePacket(inners[i]);
      DropList drops;
      REQUIRE(Mb().Encrypt(*out, pkts, 8, drops, checked == 1) == 8);
      for (int i = 0; i < 8; ++i) {
        wire[checked].push_back(test::PacketBytes(pkts[i]));
        rte_pktmbuf_free(pkts[i]);
      }
    }
    CHECK(wire[0] == wire[1]);
  }
}

// The pipeline hands Decrypt packets whose outer IPv4 header it has checked (CheckIpv4 sets
// l3_len, Local classified them): what comes out, and what is dropped for what, must not depend
// on it. The UDP length is the one outer check left to the engine in that mode.
TEST_CASE("decrypt: a caller that checked the outer headers gets the same packets", "[esp]") {
  // Both outer families: the pipeline checks IPv4 (CheckIpv4, Local) and IPv6 (Input6, Local6)
  // outer headers alike, and the engine reads each at its own offsets.
  for (int family : {AF_INET, AF_INET6}) {
    for (const Algo& algo : {AllAlgos()[0], AllAlgos()[1]}) {
      for (bool udp : {false, true}) {
        INFO(algo.name << " udp " << udp << " family " << family);
        const int hl = family == AF_INET6 ? 40 : 20;
        SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(
            Config(Direction::kOutbound, algo, false, udp, family));
        constexpr int kN = 8;
        std::vector<std::vector<uint8_t>> wire;
        {
          rte_mbuf* pkts[kN];
          for (int i = 0; i < kN; ++i)
            pkts[i] = test::MakePacket(
                i % 4 == 3 ? test::Ipv6Udp(30 + 41 * i, static_cast<uint8_t>(i), i)
                           : test::Ipv4Udp(40 + 97 * i, static_cast<uint8_t>(0x28 | (i & 3)),
                                           /*df=*/i % 2 == 0, i + 7));
          DropList drops;
          REQUIRE(Mb().Encrypt(*out, pkts, kN, drops) == kN);
          for (int i = 0; i < kN; ++i) {
            wire.push_back(test::PacketBytes(pkts[i]));
            rte_pktmbuf_free(pkts[i]);
          }
        }
        // Packet 2 again (replayed); with UDP, packet 5's UDP length one short.
        wire.push_back(wire[2]);
        if (udp) wire[5][hl + 5] = static_cast<uint8_t>(wire[5][hl + 5] - 1);
        // Packet 6's outer marked CE on the way (outside the ICV): its ECT(0) inner becomes CE
        // (RFC 6040), read from the traffic class in IPv6 (bits 4-5 of the second byte).
        wire[6][1] |= family == AF_INET6 ? 0x30 : 0x03;
        std::vector<std::vector<uint8_t>> inner[2];
        std::vector<DropReason> why[2];
        for (int checked = 0; checked < 2; ++checked) {
          SaPtr in = MakeSa<drivers::crypto::IpsecMbBackend>(
              Config(Direction::kInbound, algo, false, udp, family));
          rte_mbuf* pkts[kN + 1];
          for (size_t i = 0; i < wire.size(); ++i) {
            pkts[i] = test::MakePacket(wire[i]);
            pkts[i]->l3_len = hl;
          }
          DropList drops;
          const uint16_t ok =
              Mb().Decrypt(*in, pkts, static_cast<uint16_t>(wire.size()), drops, checked == 1);
          for (uint16_t i = 0; i < ok; ++i) {
            inner[checked].push_back(test::PacketBytes(pkts[i]));
            rte_pktmbuf_free(pkts[i]);
          }
          for (uint16_t i = 0; i < drops.n; ++i) {
            why[checked].push_back(drops.reasons[i]);
            rte_pktmbuf_free(drops.pkts[i]);
          }
        }
        CHECK(inner[0].size() == (udp ? kN - 1 : kN));
        CHECK(inner[0] == inner[1]);
        const auto& six = inner[1][udp ? 5 : 6];  // packet 6, after packet 5's drop with UDP
        CHECK((six[1] & 0x03) == 0x03);
        CHECK(why[0] == why[1]);
        std::vector<DropReason> expected = {DropReason::kReplayed};
        if (udp) expected.insert(expected.begin(), DropReason::kBadOuterHeader);
        CHECK(why[1] == expected);
      }
    }
  }
}

// Outer IPv4 without UDP and AES-GCM take the engine's burst fast path until a packet does not
// fit it (here a chained one); the headers must not depend on which path wrote them.
TEST_CASE("outer IPv4 header: fast path and general path agree within one burst", "[esp]") {
  for (const Algo& algo : {AllAlgos()[0], AllAlgos()[1]}) {
    INFO(algo.name);
    SaConfig oc = Config(Direction::kOutbound, algo);
    oc.initial_seq = 99;
    SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
    SaPtr in = MakeSa<drivers::crypto::IpsecMbBackend>(Config(Direction::kInbound, algo));
    std::vector<std::vector<uint8_t>> inners;
    rte_mbuf* pkts[6];
    for (int i = 0; i < 6; ++i) {
      inners.push_back(test::Ipv4Udp(40 + 97 * i, /*tos=*/static_cast<uint8_t>(0x28 | (i & 3)),
                                     /*df=*/i % 2 == 0, i + 7));
      pkts[i] = test::MakePacket(inners.back(), i == 3 ? 64 : 0);  // the fourth is chained
    }
    REQUIRE(pkts[3]->nb_segs > 1);
    DropList drops;
    REQUIRE(Mb().Encrypt(*out, pkts, 6, drops) == 6);
    for (int i = 0; i < 6; ++i) {
      INFO("packet " << i);
      auto w = test::PacketBytes(pkts[i]);
      auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(w.data());
      CHECK(ip->version_ihl == 0x45);
      CHECK(ip->type_of_service == (0x28 | (i & 3)));
      CHECK(rte_be_to_cpu_16(ip->total_length) == w.size());
      CHECK(rte_be_to_cpu_16(ip->packet_id) == i);
      CHECK(((rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG) != 0) == (i % 2 == 0));
      CHECK(ip->time_to_live == 64);
      CHECK(ip->next_proto_id == IPPROTO_ESP);
      rte_ipv4_hdr copy = *ip;
      copy.hdr_checksum = 0;
      CHECK(rte_ipv4_cksum(&copy) == ip->hdr_checksum);
      const std::string seq = absl::StrFormat("%08x", 100 + i);
      CHECK(test::ToHex({w.data() + 24, w.data() + 28}) == seq);
      CHECK(test::ToHex({w.data() + 28, w.data() + 36}) == "00000000" + seq);
      CHECK(w.size() == 36 + ((inners[i].size() + 2 + 3) & ~size_t{3}) + 16);
    }
    CHECK(out->packets == 6);
    REQUIRE(Mb().Decrypt(*in, pkts, 6, drops) == 6);
    for (int i = 0; i < 6; ++i) {
      CHECK(test::PacketBytes(pkts[i]) == inners[i]);
      rte_pktmbuf_free(pkts[i]);
    }
  }
}

// Both fast-path modes take TOS and DF from the inner header's own words; the checksum must
// cover what they set.
TEST_CASE("DF copy/set/clear and DSCP copy/set", "[esp]") {
  for (DfMode df : {DfMode::kCopy, DfMode::kSet, DfMode::kClear}) {
    for (bool copy_dscp : {false, true}) {
      for (bool inner_df : {false, true}) {
        for (bool checked : {false, true}) {
          INFO("df mode " << static_cast<int>(df) << " copy_dscp " << copy_dscp << " inner_df "
                          << inner_df << " inner_checked " << checked);
          SaConfig oc = Config(Direction::kOutbound, AllAlgos()[0]);
          oc.df = df;
          oc.copy_dscp = copy_dscp;
          oc.dscp = 10;
          SaPtr sa = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
          rte_mbuf* m = test::MakePacket(test::Ipv4Udp(10, 0xb8 | 0x02, inner_df));
          DropList drops;
          REQUIRE(Mb().Encrypt(*sa, &m, 1, drops, checked) == 1);
          auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
          bool out_df = rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG;
          bool want = df == DfMode::kSet || (df == DfMode::kCopy && inner_df);
          CHECK(out_df == want);
          CHECK(ip->type_of_service == (copy_dscp ? (0xb8 | 0x02) : ((10 << 2) | 0x02)));
          CHECK((rte_be_to_cpu_16(ip->fragment_offset) & ~RTE_IPV4_HDR_DF_FLAG) == 0);
          rte_ipv4_hdr copy = *ip;
          copy.hdr_checksum = 0;
          CHECK(rte_ipv4_cksum(&copy) == ip->hdr_checksum);
          rte_pktmbuf_free(m);
        }
      }
    }
  }
}

TEST_CASE("IPv6 outer with UDP carries a valid UDP checksum", "[esp]") {
  SaConfig oc = Config(Direction::kOutbound, AllAlgos()[0], false, true, AF_INET6);
  SaPtr sa = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
  rte_mbuf* m = test::MakePacket(test::Ipv4Udp(300));
  REQUIRE(One(Mb(), *sa, m, true) == DropReason::kCount);
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  CHECK(udp->dgram_cksum != 0);
  CHECK(rte_ipv6_udptcp_cksum_verify(ip, udp) == 0);
  CHECK(rte_be_to_cpu_16(ip->payload_len) == m->pkt_len - 40);
  rte_pktmbuf_free(m);
}

TEST_CASE("chained packets and missing head/tail room, both directions", "[esp]") {
  for (const Algo& algo : AllAlgos()) {
    for (bool esn : {false, true}) {
      INFO(algo.name << " esn " << esn);
      SaConfig oc = Config(Direction::kOutbound, algo, esn);
      SaConfig ic = Config(Direction::kInbound, algo, esn);
      SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
      SaPtr in = MakeSa<drivers::crypto::IpsecMbBackend>(ic);
      for (uint32_t len : {20u, 200u, 1400u, 8000u}) {
        auto inner = test::Ipv4Udp(len, 0, false, len);
        // Encrypt a chain of 100-byte segments; decrypt the result chained as it is.
        rte_mbuf* m = test::MakePacket(inner, 100);
        REQUIRE(m->nb_segs == (inner.size() + 99) / 100);
        REQUIRE(One(Mb(), *out, m, true) == DropReason::kCount);
        REQUIRE(One(Mb(), *in, m, false) == DropReason::kCount);
        CHECK(test::PacketBytes(m) == inner);
        CHECK(m->pkt_len == inner.size());
        rte_pktmbuf_free(m);
      }
      // No headroom: the data starts at the very beginning of the buffer.
      auto inner = test::Ipv4Udp(64);
      rte_mbuf* m = rte_pktmbuf_alloc(test::TestPool());
      m->data_off = 0;
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(inner.size())), inner.data(),
                  inner.size());
      REQUIRE(One(Mb(), *out, m, true) == DropReason::kCount);
      CHECK(m->nb_segs == 2);  // a head segment was added for the headers
      REQUIRE(One(Mb(), *in, m, false) == DropReason::kCount);
      CHECK(test::PacketBytes(m) == inner);
      rte_pktmbuf_free(m);
      // No tailroom: the packet fills its buffer to the end.
      m = rte_pktmbuf_alloc(test::TestPool());
      uint16_t room = rte_pktmbuf_tailroom(m);
      auto big = test::Ipv4Udp(room - 28);
      std::memcpy(rte_pktmbuf_append(m, room), big.data(), room);
      REQUIRE(One(Mb(), *out, m, true) == DropReason::kCount);
      REQUIRE(One(Mb(), *in, m, false) == DropReason::kCount);
      CHECK(test::PacketBytes(m) == big);
      rte_pktmbuf_free(m);
    }
  }
}

TEST_CASE("the chained paths leave nothing in the scratch buffer, whatever the outcome",
          "[esp][wipe]") {
  auto scratch_clean = [] {
    const uint8_t* s = Mb().scratch_for_testing();
    return std::all_of(s, s + MbEngine::kScratchBytes, [](uint8_t b) { return b == 0; });
  };
  for (const Algo& algo : AllAlgos()) {
    INFO(algo.name);
    SaConfig oc = Config(Direction::kOutbound, algo);
    SaConfig ic = Config(Direction::kInbound, algo);
    SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
    SaPtr in = MakeSa<drivers::crypto::IpsecMbBackend>(ic);
    auto inner = test::Ipv4Udp(1500, 0, false, 0x5a);
    auto encrypt = [&] {
      rte_mbuf* m = test::MakePacket(inner, 100);
      REQUIRE(One(Mb(), *out, m, true) == DropReason::kCount);
      CHECK(scratch_clean());
      return m;
    };
    // A forged ICV: the payload was decrypted (GCM decrypts before it checks the tag), then
    // refused.
    rte_mbuf* m = encrypt();
    rte_mbuf* last = rte_pktmbuf_lastseg(m);
    rte_pktmbuf_mtod(last, uint8_t*)[last->data_len - 1] ^= 1;
    CHECK(One(Mb(), *in, m, false) == DropReason::kAuthFailed);
    CHECK(scratch_clean());
    rte_pktmbuf_free(m);
    // A replay, refused before decryption.
    m = encrypt();
    rte_mbuf* copy = test::MakePacket(test::PacketBytes(m), 100);
    CHECK(One(Mb(), *in, m, false) == DropReason::kCount);
    CHECK(scratch_clean());
    CHECK(One(Mb(), *in, copy, false) == DropReason::kReplayed);
    CHECK(scratch_clean());
    rte_pktmbuf_free(m);
    rte_pktmbuf_free(copy);
    // An inner packet the outbound path refuses after copying it out.
    auto bad = inner;
    bad[0] = 0x15;  // neither IPv4 nor IPv6
    m = test::MakePacket(bad, 100);
    CHECK(One(Mb(), *out, m, true) == DropReason::kInnerMalformed);
    CHECK(scratch_clean());
    rte_pktmbuf_free(m);
  }
}

TEST_CASE("byte and packet lifetimes raise soft then hard events, then block", "[esp][events]") {
  SaConfig oc = Config(Direction::kOutbound, AllAlgos()[0]);
  oc.soft_packets = 3;
  oc.hard_packets = 5;
  SaPtr sa = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
  Mb().events().Clear();
  std::vector<DropReason> results;
  for (int i = 0; i < 7; ++i) {
    rte_mbuf* m = test::MakePacket(test::Ipv4Udp(10));
    results.push_back(One(Mb(), *sa, m, true));
    rte_pktmbuf_free(m);
  }
  CHECK(results == std::vector<DropReason>{DropReason::kCount, DropReason::kCount,
                                           DropReason::kCount, DropReason::kCount,
                                           DropReason::kCount, DropReason::kSaExpired,
                                           DropReason::kSaExpired});
  EventQueue& ev = Mb().events();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == EspEvent::Type::kSoftPackets);
  CHECK(ev[0].value == 3);
  CHECK(ev[0].spi == 0x1234);
  CHECK(ev[0].direction == Direction::kOutbound);
  CHECK(ev[1].type == EspEvent::Type::kHardPackets);
  CHECK(ev[1].value == 5);
  CHECK(sa->drop_count(DropReason::kSaExpired) == 2);
  ev.Clear();

  SaConfig ic = Config(Direction::kInbound, AllAlgos()[2]);
  ic.soft_bytes = 100;
  ic.hard_bytes = 1000;
  SaConfig oc2 = Config(Direction::kOutbound, AllAlgos()[2]);
  SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc2);
  SaPtr in = MakeSa<drivers::crypto::IpsecMbBackend>(ic);
  int delivered = 0;
  for (int i = 0; i < 10; ++i) {
    rte_mbuf* m = test::MakePacket(test::Ipv4Udp(272));  // 300 bytes each
    REQUIRE(One(Mb(), *out, m, true) == DropReason::kCount);
    delivered += One(Mb(), *in, m, false) == DropReason::kCount;
    rte_pktmbuf_free(m);
  }
  CHECK(delivered == 4);  // the 4th reaches 1200 >= 1000: hard, later ones refused
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == EspEvent::Type::kSoftBytes);
  CHECK(ev[0].value == 300);  // the first packet already crosses 100
  CHECK(ev[1].type == EspEvent::Type::kHardBytes);
  CHECK(ev[1].direction == Direction::kInbound);
  ev.Clear();
}

TEST_CASE("sequence numbers never repeat: soft event, last number, hard stop", "[esp][events]") {
  for (bool esn : {false, true}) {
    SaConfig oc = Config(Direction::kOutbound, AllAlgos()[0], esn);
    oc.initial_seq = esn ? kSeqHard64 - 3 : kSeqHard32 - 3;
    SaPtr sa = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
    Mb().events().Clear();
    std::vector<uint64_t> sent;
    int dropped = 0;
    for (int i = 0; i < 6; ++i) {
      rte_mbuf* m = test::MakePacket(test::Ipv4Udp(10));
      if (One(Mb(), *sa, m, true) == DropReason::kCount) {
        sent.push_back(sa->seq);
      } else {
        ++dropped;
      }
      rte_pktmbuf_free(m);
    }
    uint64_t hard = esn ? kSeqHard64 : kSeqHard32;
    CHECK(sent == std::vector<uint64_t>{hard - 2, hard - 1, hard});
    CHECK(dropped == 3);
    CHECK(sa->drop_count(DropReason::kSeqExhausted) == 3);
    EventQueue& ev = Mb().events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].type == EspEvent::Type::kSeqSoft);
    CHECK(ev[1].type == EspEvent::Type::kSeqHard);
    CHECK(ev[1].value == hard);
    ev.Clear();
  }
}

TEST_CASE("ESN: sequence numbers carry over the 2^32 boundary on the wire", "[esp][esn]") {
  SaConfig oc = Config(Direction::kOutbound, AllAlgos()[3], true);
  SaConfig ic = Config(Direction::kInbound, AllAlgos()[3], true);
  oc.initial_seq = (uint64_t{1} << 32) - 3;
  ic.initial_seq = (uint64_t{1} << 32) - 3;
  SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
  SaPtr in = MakeSa<drivers::crypto::IpsecMbBackend>(ic);
  for (int i = 0; i < 6; ++i) {
    auto inner = test::Ipv4Udp(50, 0, false, i);
    rte_mbuf* m = test::MakePacket(inner);
    REQUIRE(One(Mb(), *out, m, true) == DropReason::kCount);
    auto w = test::PacketBytes(m);
    uint32_t lo = static_cast<uint32_t>(w[24] << 24 | w[25] << 16 | w[26] << 8 | w[27]);
    CHECK(lo == static_cast<uint32_t>(out->seq));  // only the low 32 bits are sent
    REQUIRE(One(Mb(), *in, m, false) == DropReason::kCount);
    CHECK(test::PacketBytes(m) == inner);
    rte_pktmbuf_free(m);
  }
  CHECK(in->replay.top() == (uint64_t{1} << 32) + 3);
}

// The fast path derives each packet's sequence number and IP id from its place in the burst:
// one burst across the 2^32 boundary (ESN) and the 16-bit id wrap, opened by OpenSSL.
TEST_CASE("ESN: one AES-GCM burst across 2^32 and the IP id wrap", "[esp][esn]") {
  for (bool checked : {false, true}) {
    INFO("inner_checked " << checked);
    SaConfig oc = Config(Direction::kOutbound, AllAlgos()[0], true);
    SaConfig ic = Config(Direction::kInbound, AllAlgos()[0], true);
    const uint64_t first = (uint64_t{1} << 32) - 2;
    oc.initial_seq = ic.initial_seq = first - 1;
    SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
    SaPtr in = MakeSa<drivers::crypto::OpenSslBackend>(ic);
    out->ip_id = 0xfffe;
    constexpr int kN = 6;
    std::vector<std::vector<uint8_t>> inners;
    rte_mbuf* pkts[kN];
    for (int i = 0; i < kN; ++i) {
      inners.push_back(test::Ipv4Udp(50 + 3 * i, 0, false, i));
      pkts[i] = test::MakePacket(inners.back());
    }
    DropList drops;
    REQUIRE(Mb().Encrypt(*out, pkts, kN, drops, checked) == kN);
    for (int i = 0; i < kN; ++i) {
      INFO("packet " << i);
      auto w = test::PacketBytes(pkts[i]);
      const uint64_t seq = first + i;
      CHECK(test::ToHex({w.data() + 4, w.data() + 6}) ==
            absl::StrFormat("%04x", (0xfffe + i) & 0xffff));
      CHECK(test::ToHex({w.data() + 24, w.data() + 28}) ==
            absl::StrFormat("%08x", static_cast<uint32_t>(seq)));
      CHECK(test::ToHex({w.data() + 28, w.data() + 36}) == absl::StrFormat("%016x", seq));
    }
    CHECK(out->seq == first + kN - 1);
    CHECK(out->ip_id == ((0xfffe + kN) & 0xffff));
    CHECK(out->packets == kN);
    REQUIRE(Os().Decrypt(*in, pkts, kN, drops) == kN);
    for (int i = 0; i < kN; ++i) {
      CHECK(test::PacketBytes(pkts[i]) == inners[i]);
      rte_pktmbuf_free(pkts[i]);
    }
    CHECK(in->replay.top() == first + kN - 1);
  }
}

TEST_CASE("sealed SA configuration errors are explained", "[esp]") {
  auto bad = [](auto mutate, const char* why) {
    SaConfig c = Config(Direction::kOutbound, AllAlgos()[2]);
    mutate(c);
    auto sa = AllocateSa(c);
    REQUIRE_FALSE(sa.ok());
    CHECK_THAT(std::string(sa.status().message()), Catch::Contains(why));
  };
  bad([](SaConfig& c) { c.spi = 7; }, "reserved");
  bad([](SaConfig& c) { c.enc_key_len = 24; }, "needs a 16-byte key");
  bad(
      [](SaConfig& c) {
        c.auth = Auth::kNone;
        c.auth_key_len = 0;
      },
      "needs an integrity");
  bad([](SaConfig& c) { c.replay_window = 5000; }, "replay window");
  bad([](SaConfig& c) { c.family = 99; }, "outer family");
  bad([](SaConfig& c) { c.mode = Mode::kTransport; }, "transport mode");
  bad(
      [](SaConfig& c) {
        c.soft_bytes = 10;
        c.hard_bytes = 5;
      },
      "soft byte lifetime");
  bad([](SaConfig& c) { c.ttl = 0; }, "TTL");
  bad(
      [](SaConfig& c) {
        c.direction = Direction::kInbound;
        c.esn = true;
        c.replay_window = 0;
      },
      "ESN needs an anti-replay window");
  SaConfig gcm = Config(Direction::kOutbound, AllAlgos()[0]);
  gcm.auth = Auth::kHmacSha1_96;
  gcm.auth_key_len = 20;
  CHECK_FALSE(AllocateSa(gcm).ok());
}

// The packet path tests a limit with one compare (`packets + 1 >= limit`, `bytes + 0xffff >=
// limit`), which holds only while no limit is above kNoLimit: "none" is kNoLimit, a limit
// configured above it (unreachable: 2^63 bytes through one SA) is taken as kNoLimit, and an SA
// blocked at its hard limit has every event at kNoLimit too.
TEST_CASE("event limits stay at or below kNoLimit", "[esp][events]") {
  SaConfig c = Config(Direction::kInbound, AllAlgos()[0]);
  SaPtr none = MakeSa<drivers::crypto::IpsecMbBackend>(c);
  CHECK(none->next_packets_event == kNoLimit);
  CHECK(none->next_bytes_event == kNoLimit);
  c.hard_bytes = ~uint64_t{0};
  c.hard_packets = kNoLimit + 5;
  SaPtr huge = MakeSa<drivers::crypto::IpsecMbBackend>(c);
  CHECK(huge->next_packets_event == kNoLimit);
  CHECK(huge->next_bytes_event == kNoLimit);
  SaConfig oc = Config(Direction::kOutbound, AllAlgos()[0], /*esn=*/true);
  oc.hard_bytes = ~uint64_t{0};
  SaPtr out = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
  CHECK(out->next_packets_event == kNoLimit);  // the ESN sequence event is 2^64 - 2^32 away
  CHECK(out->next_bytes_event == kNoLimit);
  oc = Config(Direction::kOutbound, AllAlgos()[0]);
  oc.hard_packets = 2;
  SaPtr small = MakeSa<drivers::crypto::IpsecMbBackend>(oc);
  for (int i = 0; i < 3; ++i) {
    rte_mbuf* m = test::MakePacket(test::Ipv4Udp(10));
    const DropReason r = One(Mb(), *small, m, true);
    if (r != DropReason::kCount) CHECK(r == DropReason::kSaExpired);
    rte_pktmbuf_free(m);
  }
  CHECK(small->blocked());
  CHECK(small->next_packets_event == kNoLimit);
  CHECK(small->next_bytes_event == kNoLimit);
  Mb().events().Clear();
}

TEST_CASE("SaConfig::Wipe clears the keys", "[esp]") {
  SaConfig c = Config(Direction::kOutbound, AllAlgos()[0]);
  c.Wipe();
  for (uint8_t b : c.enc_key) CHECK(b == 0);
  for (uint8_t b : c.salt) CHECK(b == 0);
}

// EncryptEach (a burst spread over many tunnels) must make exactly what Encrypt makes, packet by
// packet in the same order: its own fast path for the usual packet (AES-GCM 128 and 256, ESN,
// DSCP set, inner IPv6), Encrypt's for the rest (CBC, a chained packet, an SA reaching its hard
// limit within the burst), an SA's packets interleaved with others', drops reported with their
// tags, counters and sequence numbers as Encrypt leaves them.
TEST_CASE("encrypt each: a burst over several SAs comes out as Encrypt makes it", "[esp]") {
  auto configs = [] {
    std::vector<SaConfig> c;
    c.push_back(Config(Direction::kOutbound, AllAlgos()[0], false, false, AF_INET, 0x100));
    c.push_back(Config(Direction::kOutbound, AllAlgos()[1], /*esn=*/true, false, AF_INET, 0x101));
    c.push_back(Config(Direction::kOutbound, AllAlgos()[2], false, false, AF_INET, 0x102));
    c.push_back(Config(Direction::kOutbound, AllAlgos()[0], false, false, AF_INET, 0x103));
    c.back().hard_packets = 2;
    c.back().copy_dscp = false;
    c.back().dscp = 12;
    c.back().df = DfMode::kClear;
    c.push_back(Config(Direction::kOutbound, AllAlgos()[0], false, /*udp=*/true, AF_INET, 0x104));
    c[0].initial_seq = 1000;
    c[0].df = DfMode::kSet;
    c[1].initial_seq = 0xfffffffe;  // ESN across 2^32 within the burst
    return c;
  };
  // Which SA each packet is for, and which packet is chained.
  const int which[] = {0, 1, 0, 2, 3, 0, 3, 3, 1, 4, 0, 1, 2, 0};
  constexpr int kN = sizeof which / sizeof which[0];
  auto inner = [](int i) {
    return i % 5 == 4 ? test::Ipv6Udp(20 + 37 * i, static_cast<uint8_t>(i), i)
                      : test::Ipv4Udp(10 + 61 * i, static_cast<uint8_t>(0x28 | (i & 3)), i % 2, i);
  };
  std::vector<std::vector<uint8_t>> want, got;
  std::vector<SaPtr> a, b;
  for (const SaConfig& c : configs()) {
    a.push_back(MakeSa<drivers::crypto::IpsecMbBackend>(c));
    b.push_back(MakeSa<drivers::crypto::IpsecMbBackend>(c));
  }
  int want_dropped = 0;
  for (int i = 0; i < kN; ++i) {
    rte_mbuf* m = test::MakePacket(inner(i), i == 5 ? 48 : 0);
    DropList drops;
    rte_mbuf* one[1] = {m};
    if (Mb().Encrypt(*a[which[i]], one, 1, drops, /*inner_checked=*/true) == 1) {
      want.push_back(test::PacketBytes(one[0]));
      rte_pktmbuf_free(one[0]);
    } else {
      ++want_dropped;
      drops.FreeAll();
    }
  }
  REQUIRE(want_dropped == 1);  // the SA with a hard limit of 2 packets: its third

  Sa* sas[kN];
  rte_mbuf* pkts[kN];
  uint16_t tags[kN], drop_tags[kN];
  for (int i = 0; i < kN; ++i) {
    sas[i] = b[which[i]].get();
    pkts[i] = test::MakePacket(inner(i), i == 5 ? 48 : 0);
    tags[i] = static_cast<uint16_t>(100 + i);
  }
  REQUIRE(pkts[5]->nb_segs > 1);
  DropList drops;
  const uint16_t n = Mb().EncryptEach(sas, pkts, tags, kN, drops, drop_tags);
  REQUIRE(n == kN - 1);
  REQUIRE(drops.n == 1);
  CHECK(drops.reasons[0] == DropReason::kSaExpired);
  CHECK(drop_tags[0] == 100 + 7);
  drops.FreeAll();
  for (uint16_t k = 0; k < n; ++k) {
    got.push_back(test::PacketBytes(pkts[k]));
    CHECK(tags[k] == 100 + k + (k >= 7 ? 1 : 0));
    rte_pktmbuf_free(pkts[k]);
  }
  REQUIRE(got.size() == want.size());
  // CBC's IVs come from a key of each SA's own (random): its packets are compared up to the
  // IV and decrypted instead.
  SaPtr cbc_in = MakeSa<drivers::crypto::IpsecMbBackend>(
      Config(Direction::kInbound, AllAlgos()[2], false, false, AF_INET, 0x102));
  for (size_t k = 0; k < got.size(); ++k) {
    INFO("packet " << k);
    const int i = static_cast<int>(k) + (k >= 7 ? 1 : 0);
    if (which[i] != 2) {
      CHECK(test::ToHex(got[k]) == test::ToHex(want[k]));
      continue;
    }
    REQUIRE(got[k].size() == want[k].size());
    CHECK(test::ToHex({got[k].begin(), got[k].begin() + 28}) ==
          test::ToHex({want[k].begin(), want[k].begin() + 28}));
    rte_mbuf* m = test::MakePacket(got[k]);
    REQUIRE(One(Mb(), *cbc_in, m, false) == DropReason::kCount);
    CHECK(test::PacketBytes(m) == inner(i));
    rte_pktmbuf_free(m);
  }
  for (size_t s = 0; s < a.size(); ++s) {
    INFO("sa " << s);
    CHECK(b[s]->seq == a[s]->seq);
    CHECK(b[s]->packets == a[s]->packets);
    CHECK(b[s]->bytes == a[s]->bytes);
    CHECK(b[s]->ip_id == a[s]->ip_id);
    CHECK(b[s]->blocked() == a[s]->blocked());
  }
  Mb().events().Clear();
}

// EncryptEach finds an SA's sequence number events within next_packets_event (FoldSeqEvent: the
// line it reads holds no next_seq_event): the soft event, the last number and the stop must
// come at the same packets as with Encrypt, one packet at a time.
TEST_CASE("encrypt each: sequence number events at the same packets as Encrypt's",
          "[esp][events]") {
  for (const bool esn : {false, true}) {
    for (const bool hard : {false, true}) {
      INFO("esn " << esn << " near the " << (hard ? "hard" : "soft") << " limit");
      SaConfig c = Config(Direction::kOutbound, AllAlgos()[0], esn);
      c.initial_seq =
          hard ? (esn ? kSeqHard64 : kSeqHard32) - 4 : (esn ? kSeqSoft64 : kSeqSoft32) - 3;
      SaConfig other = Config(Direction::kOutbound, AllAlgos()[0], false, false, AF_INET, 0x200);
      SaPtr a = MakeSa<drivers::crypto::IpsecMbBackend>(c);
      SaPtr b = MakeSa<drivers::crypto::IpsecMbBackend>(c);
      SaPtr o = MakeSa<drivers::crypto::IpsecMbBackend>(other);
      constexpr int kN = 8;  // of the SA's; the burst interleaves another SA's
      Mb().events().Clear();
      std::vector<std::vector<uint8_t>> want;
      for (int i = 0; i < kN; ++i) {
        rte_mbuf* m = test::MakePacket(test::Ipv4Udp(10 + i));
        if (One(Mb(), *a, m, true) == DropReason::kCount) want.push_back(test::PacketBytes(m));
        rte_pktmbuf_free(m);
      }
      std::vector<std::pair<EspEvent::Type, uint64_t>> want_events;
      for (size_t k = 0; k < Mb().events().size(); ++k)
        want_events.emplace_back(Mb().events()[k].type, Mb().events()[k].value);
      REQUIRE(want_events.size() >= 1);
      Mb().events().Clear();

      Sa* sas[2 * kN];
      rte_mbuf* pkts[2 * kN];
      uint16_t tags[2 * kN], drop_tags[2 * kN];
      for (int i = 0; i < 2 * kN; ++i) {
        sas[i] = i % 2 ? o.get() : b.get();
        pkts[i] = test::MakePacket(test::Ipv4Udp(10 + i / 2));
        tags[i] = static_cast<uint16_t>(i);
      }
      DropList drops;
      const uint16_t n = Mb().EncryptEach(sas, pkts, tags, 2 * kN, drops, drop_tags);
      std::vector<std::vector<uint8_t>> got;
      for (uint16_t k = 0; k < n; ++k) {
        if (tags[k] % 2 == 0) got.push_back(test::PacketBytes(pkts[k]));
        rte_pktmbuf_free(pkts[k]);
      }
      CHECK(drops.n == kN - want.size());
      drops.FreeAll();
      std::vector<std::pair<EspEvent::Type, uint64_t>> got_events;
      for (size_t k = 0; k < Mb().events().size(); ++k)
        got_events.emplace_back(Mb().events()[k].type, Mb().events()[k].value);
      Mb().events().Clear();
      CHECK(got == want);
      CHECK(got_events == want_events);
      CHECK(b->seq == a->seq);
      CHECK(b->packets == a->packets);
      CHECK(b->blocked() == a->blocked());
    }
  }
}

// EncryptEach asks for a packet's key lines at offsets its engine found once (not per packet
// through the backend): for either key size and any length they must be lines the packet's
// GCM call reads, all of them, and (short packets, the usual) none other, in the SA's own keys.
TEST_CASE("encrypt each: the key lines asked for are the packet's GCM call's", "[esp]") {
  using Be = drivers::crypto::IpsecMbBackend;
  drivers::crypto::IpsecMbBackend be;
  for (int algo : {0, 1}) {
    SaPtr sa =
        MakeSa<Be>(Config(Direction::kOutbound, AllAlgos()[algo], false, false, AF_INET, 0x200));
    const auto& keys = *reinterpret_cast<const Be::Keys*>(sa->crypto);
    auto needed = [&](uint32_t len) {
      const uint8_t* lines[Be::kMaxGcmKeyLines];
      const int n = be.GcmKeyLines(keys, algo == 1, len, lines);
      REQUIRE(n > 0);
      return std::set<const uint8_t*>(lines, lines + n);
    };
    for (uint32_t len = 1; len <= 9216; len += len < 200 ? 1 : 97) {
      INFO(AllAlgos()[algo].name << " ciphertext " << len);
      const auto asked_list = Mb().KeyLinesForTesting(*sa, algo == 1, len);
      const std::set<const uint8_t*> asked(asked_list.begin(), asked_list.end());
      for (const uint8_t* l : needed(len)) CHECK(asked.count(l) == 1);
      // A short packet: exactly the lines of the longest short one (none AES-128 does not
      // read); a long one: those of kLongCt (every length's).
      CHECK(asked == needed(len <= MbEngine::kShortCt ? MbEngine::kShortCt : MbEngine::kLongCt));
      for (const uint8_t* l : asked) {
        CHECK(reinterpret_cast<uintptr_t>(l) % 64 == 0);
        CHECK(l >= sa->crypto);
        CHECK(l < sa->crypto + sizeof(Be::Keys));
      }
    }
  }
}
