// Every way an inbound (or outbound) packet can be wrong is dropped and counted under its own
// reason; nothing malformed gets through, nothing crashes.
#include "test/unit/dataplane/esp/esp_test_util.h"

using namespace portcullis;
using namespace portcullis::dp::esp;
using namespace portcullis::dp::esp::testutil;

namespace {

struct Pair {
  SaPtr out, in;
};

Pair MakePair(const Algo& algo, bool esn = false) {
  return {MakeSa<drivers::crypto::IpsecMbBackend>(Config(Direction::kOutbound, algo, esn)),
          MakeSa<drivers::crypto::IpsecMbBackend>(Config(Direction::kInbound, algo, esn))};
}

std::vector<uint8_t> Encrypted(Pair& p, uint32_t len = 100) {
  rte_mbuf* m = test::MakePacket(test::Ipv4Udp(len));
  REQUIRE(One(Mb(), *p.out, m, true) == DropReason::kCount);
  auto w = test::PacketBytes(m);
  rte_pktmbuf_free(m);
  return w;
}

DropReason Feed(Pair& p, const std::vector<uint8_t>& bytes) {
  rte_mbuf* m = test::MakePacket(bytes);
  DropReason r = One(Mb(), *p.in, m, false);
  rte_pktmbuf_free(m);
  return r;
}

void SetTotalLength(std::vector<uint8_t>& w) {
  w[2] = static_cast<uint8_t>(w.size() >> 8);
  w[3] = static_cast<uint8_t>(w.size());
}

}  // namespace

TEST_CASE("truncated and inconsistent lengths", "[esp][malformed]") {
  for (const Algo& algo : AllAlgos()) {
    INFO(algo.name);
    Pair p = MakePair(algo);
    auto w = Encrypted(p);
    // Cut to just the headers and ICV.
    std::vector<uint8_t> t(
        w.begin(), w.begin() + 20 + 8 + IvLen(algo.cipher) + IcvLen(algo.cipher, algo.auth) + 1);
    SetTotalLength(t);
    CHECK(Feed(p, t) == DropReason::kTruncated);
    CHECK(Feed(p, std::vector<uint8_t>(w.begin(), w.begin() + 10)) == DropReason::kTruncated);
    // IP total length larger than the packet.
    auto longer = w;
    longer[2] = 0x7f;
    CHECK(Feed(p, longer) == DropReason::kBadLength);
    if (IsCbc(algo.cipher)) {
      // One byte less: the ciphertext is no longer whole AES blocks.
      auto odd = w;
      odd.erase(odd.begin() + 60);
      SetTotalLength(odd);
      CHECK(Feed(p, odd) == DropReason::kBadLength);
    }
    CHECK(p.in->drop_count(DropReason::kTruncated) == 2);
  }
}

TEST_CASE("link-layer padding beyond the IP length is ignored", "[esp][malformed]") {
  Pair p = MakePair(AllAlgos()[0]);
  auto w = Encrypted(p, 4);
  w.insert(w.end(), 12, 0);  // Ethernet minimum-frame padding
  CHECK(Feed(p, w) == DropReason::kCount);
}

TEST_CASE("outer headers that are not ESP-over-IP", "[esp][malformed]") {
  Pair p = MakePair(AllAlgos()[0]);
  auto w = Encrypted(p);
  auto tcp = w;
  tcp[9] = 6;
  CHECK(Feed(p, tcp) == DropReason::kBadOuterHeader);
  auto frag = w;
  frag[6] = 0x20;  // more fragments
  CHECK(Feed(p, frag) == DropReason::kBadOuterHeader);
  auto v5 = w;
  v5[0] = 0x55;
  CHECK(Feed(p, v5) == DropReason::kBadOuterHeader);
  auto ihl = w;
  ihl[0] = 0x44;
  CHECK(Feed(p, ihl) == DropReason::kBadOuterHeader);
}

TEST_CASE("replayed and too old", "[esp][malformed]") {
  for (bool esn : {false, true}) {
    Pair p = MakePair(AllAlgos()[0], esn);
    auto first = Encrypted(p);
    CHECK(Feed(p, first) == DropReason::kCount);
    CHECK(Feed(p, first) == DropReason::kReplayed);
    for (int i = 0; i < 1100; ++i) Encrypted(p);  // the window (1024) moves past seq 1
    auto last = Encrypted(p);
    CHECK(Feed(p, last) == DropReason::kCount);
    if (!esn) CHECK(Feed(p, first) == DropReason::kTooOld);
    CHECK(p.in->drop_count(DropReason::kReplayed) == 1);
  }
}

TEST_CASE("ICV failures: tampered ciphertext, ICV, header, or the wrong key", "[esp][malformed]") {
  for (const Algo& algo : AllAlgos()) {
    INFO(algo.name);
    Pair p = MakePair(algo);
    for (size_t where : {size_t{24}, size_t{40}, size_t{0}}) {  // seq, payload, last ICV byte
      auto w = Encrypted(p);
      size_t at = where ? where : w.size() - 1;
      w[at] ^= 0x01;
      CHECK(Feed(p, w) == DropReason::kAuthFailed);
    }
    // The window must not have moved for packets that failed the ICV.
    CHECK(p.in->replay.top() == 0);
    SaConfig other = Config(Direction::kInbound, algo);
    other.enc_key[0] ^= 1;
    other.auth_key[0] ^= 1;
    Pair wrong{nullptr, MakeSa<drivers::crypto::IpsecMbBackend>(other)};
    CHECK(Feed(wrong, Encrypted(p)) == DropReason::kAuthFailed);
    CHECK(p.in->drop_count(DropReason::kAuthFailed) == 3);
    CHECK(wrong.in->drop_count(DropReason::kAuthFailed) == 1);
  }
}

TEST_CASE("trailer checks after a valid ICV", "[esp][malformed]") {
  for (const Algo& algo : AllAlgos()) {
    INFO(algo.name);
    SaConfig ic = Config(Direction::kInbound, algo);
    Pair p{nullptr, MakeSa<drivers::crypto::IpsecMbBackend>(ic)};
    int align = PadAlign(algo.cipher);
    uint64_t seq = 1;
    auto inner = test::Ipv4Udp(30);
    CHECK(Feed(p, CraftEsp(ic, seq++, Trailer(inner, 4, align))) == DropReason::kCount);
    // Pad length pointing before the start of the payload.
    auto pt = Trailer(inner, 4, align);
    pt[pt.size() - 2] = 250;
    CHECK(Feed(p, CraftEsp(ic, seq++, pt)) == DropReason::kBadPadLength);
    // Pad bytes not 1, 2, 3...
    pt = Trailer(inner, 4, align, align);
    pt[inner.size()] = 9;
    CHECK(Feed(p, CraftEsp(ic, seq++, pt)) == DropReason::kBadPadding);
    // Next header neither IPv4 nor IPv6, and the TFC dummy.
    CHECK(Feed(p, CraftEsp(ic, seq++, Trailer(inner, 17, align))) == DropReason::kBadNextHeader);
    CHECK(Feed(p, CraftEsp(ic, seq++, Trailer(inner, 59, align))) == DropReason::kDummyPacket);
    // Next header says IPv6 but the packet is IPv4; and an inner length beyond the payload.
    CHECK(Feed(p, CraftEsp(ic, seq++, Trailer(inner, 41, align))) == DropReason::kInnerMalformed);
    auto lying = inner;
    lying[2] = 0x7f;
    CHECK(Feed(p, CraftEsp(ic, seq++, Trailer(lying, 4, align))) == DropReason::kInnerMalformed);
    // TFC padding after the inner packet is removed.
    auto padded = inner;
    padded.insert(padded.end(), 37, 0xee);
    rte_mbuf* m = test::MakePacket(CraftEsp(ic, seq++, Trailer(padded, 4, align)));
    CHECK(One(Mb(), *p.in, m, false) == DropReason::kCount);
    CHECK(test::PacketBytes(m) == inner);
    rte_pktmbuf_free(m);
    for (DropReason r : {DropReason::kBadPadLength, DropReason::kBadPadding,
                         DropReason::kBadNextHeader, DropReason::kDummyPacket})
      CHECK(p.in->drop_count(r) == 1);
    CHECK(p.in->drop_count(DropReason::kInnerMalformed) == 2);
  }
}

TEST_CASE("RFC 6040 decapsulation of congestion marks", "[esp][ecn]") {
  SaConfig ic = Config(Direction::kInbound, AllAlgos()[0]);
  Pair p{nullptr, MakeSa<drivers::crypto::IpsecMbBackend>(ic)};
  // Outer CE over inner ECT(0): the inner packet leaves marked CE, with a valid checksum.
  auto ect = test::Ipv4Udp(20, /*tos=*/0x02);
  rte_mbuf* m = test::MakePacket(CraftEsp(ic, 1, Trailer(ect, 4), /*outer_tos=*/0x03));
  REQUIRE(One(Mb(), *p.in, m, false) == DropReason::kCount);
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  CHECK((ip->type_of_service & 0x03) == 0x03);
  rte_ipv4_hdr copy = *ip;
  copy.hdr_checksum = 0;
  CHECK(rte_ipv4_cksum(&copy) == ip->hdr_checksum);
  rte_pktmbuf_free(m);
  // Outer CE over a Not-ECT inner packet: dropped (the marking cannot be propagated).
  CHECK(Feed(p, CraftEsp(ic, 2, Trailer(test::Ipv4Udp(20, 0x00), 4), 0x03)) ==
        DropReason::kEcnDrop);
  // IPv6 inner.
  m = test::MakePacket(CraftEsp(ic, 3, Trailer(test::Ipv6Udp(20, 0x01), 41), 0x03));
  REQUIRE(One(Mb(), *p.in, m, false) == DropReason::kCount);
  auto b = test::PacketBytes(m);
  CHECK(((b[1] >> 4) & 0x03) == 0x03);
  rte_pktmbuf_free(m);
}

TEST_CASE("outbound refuses what is not an IP packet", "[esp][malformed]") {
  Pair p = MakePair(AllAlgos()[0]);
  std::vector<uint8_t> junk(64, 0x11);
  rte_mbuf* m = test::MakePacket(junk);
  CHECK(One(Mb(), *p.out, m, true) == DropReason::kInnerMalformed);
  rte_pktmbuf_free(m);
  auto wrong_len = test::Ipv4Udp(40);
  wrong_len[3] ^= 4;
  m = test::MakePacket(wrong_len);
  CHECK(One(Mb(), *p.out, m, true) == DropReason::kInnerMalformed);
  rte_pktmbuf_free(m);
  CHECK(p.out->drop_count(DropReason::kInnerMalformed) == 2);
  CHECK(p.out->seq == 0);  // no sequence number was spent on them
}

TEST_CASE("no mbuf to grow into", "[esp][malformed]") {
  // A pool of exactly one mbuf: a packet that fills it has no tailroom for the trailer.
  rte_mempool* one =
      rte_pktmbuf_pool_create("ut_one", 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  REQUIRE(one != nullptr);
  Pair p = MakePair(AllAlgos()[0]);
  rte_mbuf* m = rte_pktmbuf_alloc(one);
  uint16_t room = rte_pktmbuf_tailroom(m);
  auto big = test::Ipv4Udp(room - 28);
  std::memcpy(rte_pktmbuf_append(m, room), big.data(), room);
  CHECK(One(Mb(), *p.out, m, true) == DropReason::kNoBufferSpace);
  rte_pktmbuf_free(m);
  rte_mempool_free(one);
}

TEST_CASE("a burst with good and bad packets keeps order and reports each drop", "[esp]") {
  Pair p = MakePair(AllAlgos()[2]);
  std::vector<std::vector<uint8_t>> wires;
  for (int i = 0; i < 10; ++i) wires.push_back(Encrypted(p, 10 + i));
  wires[3][50] ^= 1;    // ICV failure
  wires[7] = wires[6];  // replay of the previous one
  rte_mbuf* pkts[10];
  for (int i = 0; i < 10; ++i) pkts[i] = test::MakePacket(wires[i]);
  DropList drops;
  uint16_t n = Mb().Decrypt(*p.in, pkts, 10, drops);
  CHECK(n == 8);
  REQUIRE(drops.n == 2);
  CHECK(drops.reasons[0] == DropReason::kAuthFailed);
  CHECK(drops.reasons[1] == DropReason::kReplayed);
  for (int i = 0; i < n; ++i) {
    auto* ip = rte_pktmbuf_mtod(pkts[i], rte_ipv4_hdr*);
    int k = i < 3 ? i : i < 6 ? i + 1 : i + 2;
    CHECK(rte_be_to_cpu_16(ip->total_length) == 28 + 10 + k);
  }
  rte_pktmbuf_free_bulk(pkts, n);
  drops.FreeAll();
}
