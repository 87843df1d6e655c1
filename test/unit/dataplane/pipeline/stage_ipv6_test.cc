// IPv6 through the worker pipeline on ring ports (stage_ipv6.cc, icmp6.cc): forwarding with
// the hop limit taken, ICMPv6 errors (time exceeded, no route, packet too big) with valid
// checksums, echo replies, extension headers walked with bounds checks, and the four family
// combinations of inner and outer through VTIs, the ESP opened and made by the OpenSSL
// backend (not the engine under test).
#include <arpa/inet.h>
#include <rte_ip.h>
#include <rte_ring_elem.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <set>

#include "dataplane/core/acquire_record.h"
#include "dataplane/core/drop_reason.h"
#include "test/unit/dataplane/esp/esp_test_util.h"
#include "test/unit/dataplane/pipeline/pipeline_rig.h"

namespace portcullis::dp::testing {
namespace {

using dp::esp::Direction;
using dp::esp::testutil::Os;

constexpr const char* kKey4 = "00112233445566778899aabbccddeeff";
constexpr const char* kKey4In = "ffeeddccbbaa99887766554433221100";
constexpr const char* kKey6 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr const char* kKey6In = "f0e1d2c3b4a5968778695a4b3c2d1e0f";

// vti4: an IPv4-outer tunnel; vti6: an IPv6-outer one. Each carries both inner families.
const std::string kConfig = std::string(R"(
interface add lan kind port
interface add wan kind port
interface add vti4 kind vti mtu 1400
interface add vti6 kind vti mtu 1380
address add lan 10.1.0.1/24
address add lan 2001:db8:1::1/64
address add wan 192.0.2.1/24
address add wan 2001:db8:ff::1/64
route add 10.2.0.0/24 dev vti4
route add 2001:db8:2::/64 dev vti4
route add 10.3.0.0/24 dev vti6
route add 2001:db8:3::/64 dev vti6
route add 2001:db8:5::/64 via 2001:db8:ff::2
neigh add lan 2001:db8:1::2 02:00:00:00:01:0a
neigh add wan 2001:db8:ff::2 02:00:00:00:02:02
neigh add wan 192.0.2.2 02:00:00:00:02:02
sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )") +
                            kKey4 + R"( salt 01020304 vti vti4
sa add spi 0x2001 dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )" +
                            kKey4In + R"( salt 05060708 vti vti4
sa add spi 0x3001 dir out local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher aes-gcm-128 key )" +
                            kKey6 + R"( salt 0a0b0c0d vti vti6
sa add spi 0x4001 dir in local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher aes-gcm-128 key )" +
                            kKey6In + R"( salt 0e0f1011 vti vti6
bind vti4 0x1001
bind vti6 0x3001
)";

void Addr6(const char* s, uint8_t* out) {
  REQUIRE(inet_pton(AF_INET6, s, out) == 1);
}

std::vector<uint8_t> Ipv6(const char* src, const char* dst, uint8_t nh, uint8_t hlim,
                          const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> p(40 + payload.size());
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p.data());
  ip->vtc_flow = RTE_BE32(0x60000000);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(payload.size()));
  ip->proto = nh;
  ip->hop_limits = hlim;
  Addr6(src, ip->src_addr);
  Addr6(dst, ip->dst_addr);
  std::memcpy(p.data() + 40, payload.data(), payload.size());
  return p;
}

// A UDP datagram of n payload bytes, its checksum over the pseudo-header.
std::vector<uint8_t> Udp6(const char* src, const char* dst, uint8_t hlim, size_t n) {
  std::vector<uint8_t> udp(8 + n);
  udp[0] = 0x30, udp[1] = 0x39, udp[2] = 0, udp[3] = 53;
  udp[4] = static_cast<uint8_t>(udp.size() >> 8), udp[5] = static_cast<uint8_t>(udp.size());
  for (size_t i = 0; i < n; ++i) udp[8 + i] = static_cast<uint8_t>(i * 7);
  auto p = Ipv6(src, dst, IPPROTO_UDP, hlim, udp);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p.data());
  const uint16_t c = rte_ipv6_udptcp_cksum(ip, p.data() + 40);
  std::memcpy(p.data() + 46, &c, 2);
  return p;
}

std::vector<uint8_t> Udp4(uint32_t src, uint32_t dst, size_t n) {
  std::vector<uint8_t> p(28 + n);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->time_to_live = 64;
  ip->next_proto_id = 17;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  p[20] = 0x12, p[22] = 0, p[23] = 53;
  p[24] = static_cast<uint8_t>((8 + n) >> 8), p[25] = static_cast<uint8_t>(8 + n);
  return p;
}

bool Icmp6ChecksumOk(const std::vector<uint8_t>& ip) {
  return rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(ip.data()),
                                      ip.data() + 40) == 0;
}

std::vector<uint8_t> HopLess(std::vector<uint8_t> p) {
  --p[7];
  return p;
}

void PollAll(Rig& rig, int rounds = 3) {
  for (int r = 0; r < rounds; ++r)
    for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).PollOnce();
}

std::vector<std::vector<uint8_t>> SentAll(Rig& rig, PortIndex port) {
  std::vector<std::vector<uint8_t>> out;
  for (int w = 0; w < Rig::kWorkers; ++w)
    for (auto& f : rig.Sent(port, w)) out.push_back(std::move(f));
  return out;
}

void Configure(Rig& rig) {
  rig.Reset();
  auto r = rig.Apply(kConfig);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
}

uint16_t EtherType(const std::vector<uint8_t>& f) {
  return static_cast<uint16_t>(f[12] << 8 | f[13]);
}

dp::esp::SaConfig Peer(bool v6, Direction dir, uint32_t spi, const char* key, const char* salt) {
  dp::esp::SaConfig c;
  c.spi = spi;
  c.direction = dir;
  c.family = v6 ? AF_INET6 : AF_INET;
  if (v6) {
    Addr6("2001:db8:ff::2", c.local);
    Addr6("2001:db8:ff::1", c.remote);
  } else {
    const uint8_t west[4] = {192, 0, 2, 1}, east[4] = {192, 0, 2, 2};
    std::memcpy(c.local, east, 4);
    std::memcpy(c.remote, west, 4);
  }
  c.cipher = dp::esp::Cipher::kAesGcm128;
  c.auth = dp::esp::Auth::kNone;
  auto k = test::Hex(key), s = test::Hex(salt);
  c.enc_key_len = 16;
  std::memcpy(c.enc_key, k.data(), 16);
  std::memcpy(c.salt, s.data(), 4);
  return c;
}

TEST_CASE("IPv6 is forwarded through the FIB6: hop limit taken, the neighbour's MAC, 86dd") {
  Rig& rig = Rig::Get();
  Configure(rig);
  auto p = Udp6("2001:db8:1::2", "2001:db8:5::9", 64, 100);  // via 2001:db8:ff::2
  rig.Receive(kLan, 0, p, 0x86dd);
  auto back = Udp6("2001:db8:5::9", "2001:db8:1::2", 9, 20);  // on-link on the LAN
  rig.Receive(kWan, 1, back, 0x86dd);
  PollAll(rig);
  auto wan = SentAll(rig, kWan);
  REQUIRE(wan.size() == 1);
  CHECK(std::memcmp(wan[0].data(), kPeerMac, 6) == 0);
  CHECK(EtherType(wan[0]) == 0x86dd);
  CHECK(StripEthernet(wan[0]) == HopLess(p));
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 1);
  CHECK(std::memcmp(lan[0].data(), kHostMac, 6) == 0);
  CHECK(StripEthernet(lan[0]) == HopLess(back));
}

TEST_CASE("IPv6 errors: time exceeded, no route, packet too big, with valid checksums") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint64_t hl = rig.Drops(DropIndex(Drop::kTtlExceeded));
  const uint64_t nr = rig.Drops(DropIndex(Drop::kNoRoute));
  const uint64_t big = rig.Drops(DropIndex(Drop::kFragmentationNeeded));
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:5::9", 1, 10), 0x86dd);
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:77::1", 64, 10), 0x86dd);
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:5::9", 64, 1500 - 48 + 1), 0x86dd);
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:3::9", 64, 1380 - 48 + 1), 0x86dd);
  PollAll(rig, 1);
  CHECK(rig.Drops(DropIndex(Drop::kTtlExceeded)) - hl == 1);
  CHECK(rig.Drops(DropIndex(Drop::kNoRoute)) - nr == 1);
  CHECK(rig.Drops(DropIndex(Drop::kFragmentationNeeded)) - big == 2);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 4);
  uint8_t me[16], host[16];
  Addr6("2001:db8:1::1", me);
  Addr6("2001:db8:1::2", host);
  const uint8_t types[4] = {3, 1, 2, 2};
  const uint32_t mtus[4] = {0, 0, 1500, 1380};
  for (int k = 0; k < 4; ++k) {
    auto ip = StripEthernet(lan[k]);
    INFO("error " << k);
    CHECK(EtherType(lan[k]) == 0x86dd);
    CHECK(ip[6] == IPPROTO_ICMPV6);
    CHECK(std::memcmp(ip.data() + 8, me, 16) == 0);
    CHECK(std::memcmp(ip.data() + 24, host, 16) == 0);
    CHECK(ip[40] == types[k]);
    CHECK(ip[41] == 0);
    CHECK((uint32_t{ip[44]} << 24 | ip[45] << 16 | ip[46] << 8 | ip[47]) == mtus[k]);
    CHECK(Icmp6ChecksumOk(ip));
    CHECK(ip.size() <= 1280);  // RFC 4443 §2.4(c)
  }
}

TEST_CASE("ICMPv6 echo to our address is answered; malformed extension headers are counted") {
  Rig& rig = Rig::Get();
  Configure(rig);
  std::vector<uint8_t> echo = {128, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
  auto req = Ipv6("2001:db8:1::2", "2001:db8:1::1", IPPROTO_ICMPV6, 64, echo);
  const uint16_t c =
      rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(req.data()), req.data() + 40);
  std::memcpy(req.data() + 42, &c, 2);
  rig.Receive(kLan, 0, req, 0x86dd);
  // Hop-by-hop claiming 8 * (1 + 200) bytes in a short packet; a hop-by-hop after a
  // destination options header; a fragment header cut short. None may be read past its end.
  const uint64_t bad = rig.Drops(DropIndex(Drop::kIpv6Malformed));
  std::vector<uint8_t> hbh = {17, 200, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  rig.Receive(kLan, 0, Ipv6("2001:db8:1::2", "2001:db8:5::9", 0, 64, hbh), 0x86dd);
  std::vector<uint8_t> late = {0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0};
  rig.Receive(kLan, 0, Ipv6("2001:db8:1::2", "2001:db8:5::9", 60, 64, late), 0x86dd);
  std::vector<uint8_t> frag = {17, 0, 0};
  rig.Receive(kLan, 0, Ipv6("2001:db8:1::2", "2001:db8:5::9", 44, 64, frag), 0x86dd);
  // A well-formed chain (hop-by-hop, destination options, UDP) is forwarded.
  std::vector<uint8_t> good = {60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4,
                               0,  0, 0, 0, 0, 1, 0, 2, 0,  8, 0, 0};
  auto fwd = Ipv6("2001:db8:1::2", "2001:db8:5::9", 0, 64, good);
  rig.Receive(kLan, 0, fwd, 0x86dd);
  PollAll(rig, 1);
  CHECK(rig.Drops(DropIndex(Drop::kIpv6Malformed)) - bad == 3);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 1);
  auto reply = StripEthernet(lan[0]);
  CHECK(reply[40] == 129);
  CHECK(Icmp6ChecksumOk(reply));
  CHECK(std::equal(reply.begin() + 44, reply.end(), req.begin() + 44));
  CHECK(std::equal(reply.begin() + 8, reply.begin() + 24, req.begin() + 24));
  auto wan = SentAll(rig, kWan);
  REQUIRE(wan.size() == 1);
  CHECK(StripEthernet(wan[0]) == HopLess(fwd));
}

// Encrypts inner packets routed into `vti`, opens them as the peer would and checks the outer
// family and the inner packet as forwarded.
void EncryptAndOpen(Rig& rig, bool outer6, bool inner6) {
  Configure(rig);
  std::vector<std::vector<uint8_t>> sent;
  for (uint32_t i = 0; i < 6; ++i) {
    std::vector<uint8_t> p;
    const char* dst6 = outer6 ? "2001:db8:3::7" : "2001:db8:2::7";
    const uint32_t dst4 = outer6 ? 0x0a030007 : 0x0a020007;
    p = inner6 ? Udp6("2001:db8:1::2", dst6, 64, 40 + 200 * i)
               : Udp4(0x0a010002, dst4, 40 + 200 * i);
    sent.push_back(p);
    rig.Receive(kLan, i % 2, p, inner6 ? 0x86dd : 0x0800);
  }
  PollAll(rig);
  auto wan = SentAll(rig, kWan);
  REQUIRE(wan.size() == sent.size());
  auto cfg = outer6 ? Peer(true, Direction::kInbound, 0x3001, kKey6, "0a0b0c0d")
                    : Peer(false, Direction::kInbound, 0x1001, kKey4, "01020304");
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(cfg);
  std::multiset<std::vector<uint8_t>> want, have;
  for (const auto& p : sent) {
    if (inner6) {
      want.insert(HopLess(p));
    } else {
      want.insert(Forwarded(p));
    }
  }
  for (const auto& f : wan) {
    CHECK(EtherType(f) == (outer6 ? 0x86dd : 0x0800));
    auto ip = StripEthernet(f);
    CHECK((ip[0] >> 4) == (outer6 ? 6 : 4));
    rte_mbuf* m = test::MakePacket(ip);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
    have.insert(test::PacketBytes(m));
    rte_pktmbuf_free(m);
  }
  CHECK(want == have);
}

// ESP the peer made for inner packets; the cleartext must leave on the LAN as sent, forwarded.
void SealAndDecrypt(Rig& rig, bool outer6, bool inner6) {
  Configure(rig);
  auto cfg = outer6 ? Peer(true, Direction::kOutbound, 0x4001, kKey6In, "0e0f1011")
                    : Peer(false, Direction::kOutbound, 0x2001, kKey4In, "05060708");
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(cfg);
  std::vector<std::vector<uint8_t>> inner;
  for (uint32_t i = 0; i < 5; ++i) {
    auto p =
        inner6 ? Udp6(outer6 ? "2001:db8:3::7" : "2001:db8:2::7", "2001:db8:1::2", 64, 30 + 100 * i)
               : Udp4(outer6 ? 0x0a030007 : 0x0a020007, 0x0a010002, 30 + 100 * i);
    inner.push_back(p);
    rte_mbuf* m = test::MakePacket(p);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
    auto esp = test::PacketBytes(m);
    rte_pktmbuf_free(m);
    CHECK((esp[0] >> 4) == (outer6 ? 6 : 4));
    rig.Receive(kWan, i % 2, esp, outer6 ? 0x86dd : 0x0800);
  }
  // IPv4 inner goes to 10.1.0.2, which needs ARP: a static neighbour for it.
  REQUIRE(rig.Apply("neigh add lan 10.1.0.2 02:00:00:00:01:0a").status.ok());
  PollAll(rig);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == inner.size());
  std::multiset<std::vector<uint8_t>> want, have;
  for (const auto& p : inner) want.insert(inner6 ? HopLess(p) : Forwarded(p));
  for (const auto& f : lan) {
    CHECK(EtherType(f) == (inner6 ? 0x86dd : 0x0800));
    have.insert(StripEthernet(f));
  }
  CHECK(want == have);
}

TEST_CASE("An SA's ESP re-wrapped in the other family is dropped, never decrypted") {
  // One SPI space serves both families, and the engine reads a checked outer header at its
  // family's offsets: an IPv4 SA's ESP inside IPv6 (flow label 0x30000, whose bits would read
  // as CE) and an IPv6 SA's inside IPv4 (TOS 0xB8) are bad outer headers.
  Rig& rig = Rig::Get();
  for (bool sa6 : {false, true}) {
    INFO("SA " << (sa6 ? "IPv6" : "IPv4"));
    Configure(rig);
    REQUIRE(rig.Apply("neigh add lan 10.1.0.2 02:00:00:00:01:0a").status.ok());
    auto cfg = sa6 ? Peer(true, Direction::kOutbound, 0x4001, kKey6In, "0e0f1011")
                   : Peer(false, Direction::kOutbound, 0x2001, kKey4In, "05060708");
    auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(cfg);
    rte_mbuf* m = test::MakePacket(Udp4(sa6 ? 0x0a030007 : 0x0a020007, 0x0a010002, 30));
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
    auto wire = test::PacketBytes(m);
    rte_pktmbuf_free(m);
    std::vector<uint8_t> esp(wire.begin() + (sa6 ? 40 : 20), wire.end());
    std::vector<uint8_t> other;
    if (sa6) {
      other.assign(20, 0);
      other.insert(other.end(), esp.begin(), esp.end());
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(other.data());
      ip->version_ihl = 0x45;
      ip->type_of_service = 0xb8;
      ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(other.size()));
      ip->time_to_live = 64;
      ip->next_proto_id = 50;
      ip->src_addr = RTE_BE32(0xc0000202);
      ip->dst_addr = RTE_BE32(0xc0000201);
      ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
      other = Ipv6("2001:db8:ff::2", "2001:db8:ff::1", 50, 64, esp);
      other[1] = 0x03;
    }
    const uint64_t bad = rig.Drops(DropIndex(dp::esp::DropReason::kBadOuterHeader));
    rig.Receive(kWan, 0, other, sa6 ? 0x0800 : 0x86dd);
    rig.Receive(kWan, 1, wire, sa6 ? 0x86dd : 0x0800);  // the same, in its own family: fine
    PollAll(rig);
    CHECK(SentAll(rig, kLan).size() == 1);
    CHECK(rig.Drops(DropIndex(dp::esp::DropReason::kBadOuterHeader)) - bad == 1);
  }
}

TEST_CASE("Four family combinations through VTIs, encrypted and decrypted") {
  Rig& rig = Rig::Get();
  for (bool outer6 : {false, true})
    for (bool inner6 : {false, true}) {
      INFO("outer " << (outer6 ? "IPv6" : "IPv4") << ", inner " << (inner6 ? "IPv6" : "IPv4"));
      EncryptAndOpen(rig, outer6, inner6);
      SealAndDecrypt(rig, outer6, inner6);
    }
}

TEST_CASE("IPv6 meets a bound firewall: its rules decide (no longer dropped unfiltered)") {
  Rig& rig = Rig::Get();
  Configure(rig);
  REQUIRE(rig.Apply("fw ruleset add 1 LANIN default accept\nfw bind lan in 1").status.ok());
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:5::9", 64, 10), 0x86dd);
  rig.Receive(kWan, 0, Udp6("2001:db8:5::9", "2001:db8:1::2", 64, 10), 0x86dd);
  PollAll(rig);
  CHECK(SentAll(rig, kWan).size() == 1);
  CHECK(SentAll(rig, kLan).size() == 1);
  REQUIRE(rig.Apply("fw ruleset update 1 LANIN default drop").status.ok());
  const uint64_t fw = rig.Drops(DropIndex(Drop::kFirewallDrop));
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:5::9", 64, 10), 0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kFirewallDrop)) - fw == 1);
  CHECK(SentAll(rig, kWan).empty());
}

TEST_CASE("Our own IPv6 into a VTI with an `out` hook meets its IPv6 rules") {
  Rig& rig = Rig::Get();
  Configure(rig);
  REQUIRE(rig.Apply("fw ruleset add 1 VTIOUT default accept\nfw bind vti4 out 1").status.ok());
  // An echo request from the far side of the tunnel: the reply is ours, routed into vti4.
  std::vector<uint8_t> echo = {128, 0, 0, 0, 0, 9, 0, 1};
  auto req = Ipv6("2001:db8:2::7", "2001:db8:1::1", IPPROTO_ICMPV6, 64, echo);
  const uint16_t c =
      rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(req.data()), req.data() + 40);
  std::memcpy(req.data() + 42, &c, 2);
  rig.Receive(kLan, 0, req, 0x86dd);
  PollAll(rig);
  CHECK(SentAll(rig, kWan).size() == 1);  // encrypted into vti4
  REQUIRE(rig.Apply("fw ruleset update 1 VTIOUT default drop").status.ok());
  const uint64_t fw = rig.Drops(DropIndex(Drop::kFirewallDrop));
  rig.Receive(kLan, 0, req, 0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kFirewallDrop)) - fw == 1);
  CHECK(SentAll(rig, kWan).empty());
}

TEST_CASE("An IPv6-outer VTI's MTU fits the link: too big is answered, never lost unseen") {
  Rig& rig = Rig::Get();
  Configure(rig);
  // The usual VTI MTU, 1428, is made for IPv4 outer headers; with IPv6 endpoints and AES-GCM
  // the link (1500) takes 1420 of inner packet.
  REQUIRE(rig.Apply("interface update vti6 kind vti mtu 1428").status.ok());
  uint16_t vti6 = 0;
  const Tables& t = rig.dp().CurrentTables();
  for (uint16_t i = 1; i < t.nifs; ++i)
    if (std::strcmp(t.ifs[i].name, "vti6") == 0) vti6 = i;
  REQUIRE(vti6 != 0);
  CHECK(t.ifs[vti6].mtu == 1420);
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:3::9", 64, 1428 - 48), 0x86dd);
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:3::9", 64, 1420 - 48), 0x86dd);
  PollAll(rig);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 1);
  auto ptb = StripEthernet(lan[0]);
  CHECK(ptb[40] == 2);
  CHECK((uint32_t{ptb[44]} << 24 | ptb[45] << 16 | ptb[46] << 8 | ptb[47]) == 1420);
  auto wan = SentAll(rig, kWan);
  REQUIRE(wan.size() == 1);
  CHECK(wan[0].size() - 14 <= 1500);
}

TEST_CASE("Link-local and impossible addresses are not forwarded; later fragments are data") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint64_t scope = rig.Drops(DropIndex(Drop::kIpv6Scope));
  const uint64_t bad = rig.Drops(DropIndex(Drop::kIpv6Malformed));
  rig.Receive(kLan, 0, Udp6("fe80::10", "2001:db8:5::9", 64, 10), 0x86dd);
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "fe80::99", 64, 10), 0x86dd);
  rig.Receive(kLan, 0, Udp6("::", "2001:db8:5::9", 64, 10), 0x86dd);
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "::1", 64, 10), 0x86dd);
  // A later fragment (offset 185) whose first data bytes would read as a header running past
  // the packet: forwarded as it is.
  std::vector<uint8_t> frag = {60, 0, 0x05, 0xc8, 0, 0, 0, 1, 0x11, 0xff, 1, 2, 3, 4, 5, 6};
  auto later = Ipv6("2001:db8:1::2", "2001:db8:5::9", 44, 64, frag);
  rig.Receive(kLan, 0, later, 0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kIpv6Scope)) - scope == 4);
  CHECK(rig.Drops(DropIndex(Drop::kIpv6Malformed)) == bad);
  auto wan = SentAll(rig, kWan);
  REQUIRE(wan.size() == 1);
  CHECK(StripEthernet(wan[0]) == HopLess(later));
}

TEST_CASE("An echo request with a bad checksum is not answered") {
  Rig& rig = Rig::Get();
  Configure(rig);
  std::vector<uint8_t> echo = {128, 0, 0x12, 0x34, 0, 1, 0, 1};  // checksum 0x1234: wrong
  rig.Receive(kLan, 0, Ipv6("2001:db8:1::2", "2001:db8:1::1", IPPROTO_ICMPV6, 64, echo), 0x86dd);
  const uint64_t unhandled = rig.Drops(DropIndex(Drop::kLocalUnhandled));
  PollAll(rig);
  CHECK(SentAll(rig, kLan).empty());
  CHECK(rig.Drops(DropIndex(Drop::kLocalUnhandled)) - unhandled == 1);
}

// An echo request to `dst` from `src`, its checksum right.
std::vector<uint8_t> Echo6(const char* src, const char* dst, uint16_t id) {
  std::vector<uint8_t> echo = {
      128, 0, 0, 0, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0, 1, 'l', 'l'};
  auto req = Ipv6(src, dst, IPPROTO_ICMPV6, 255, echo);
  const uint16_t c =
      rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(req.data()), req.data() + 40);
  std::memcpy(req.data() + 42, &c, 2);
  return req;
}

TEST_CASE("To our address in one burst: stage_l2's quick sort takes only plain packets") {
  // stage_l2 hands a plain packet to the receiving interface's first address straight to
  // local delivery; every other packet to it must still meet Input6's checks: a bad source,
  // a header whose length disagrees with the frame, link-layer padding, an extension header.
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint64_t scope = rig.Drops(DropIndex(Drop::kIpv6Scope));
  const uint64_t header = rig.Drops(DropIndex(Drop::kBadIpHeader));
  rig.Receive(kLan, 0, Echo6("2001:db8:1::2", "2001:db8:1::1", 1), 0x86dd);  // answered
  rig.Receive(kLan, 0, Echo6("::", "2001:db8:1::1", 2), 0x86dd);
  rig.Receive(kLan, 0, Echo6("ff02::1", "2001:db8:1::1", 3), 0x86dd);
  rig.Receive(kLan, 0, Echo6("::1", "2001:db8:1::1", 4), 0x86dd);
  auto longer = Echo6("2001:db8:1::2", "2001:db8:1::1", 5);
  longer[5] += 4;  // four bytes more than the frame has
  rig.Receive(kLan, 0, longer, 0x86dd);
  auto v4 = Echo6("2001:db8:1::2", "2001:db8:1::1", 6);
  v4[0] = 0x40;  // version 4 in an IPv6 frame
  rig.Receive(kLan, 0, v4, 0x86dd);
  auto padded = Echo6("2001:db8:1::2", "2001:db8:1::1", 7);
  const auto unpadded = padded;
  padded.insert(padded.end(), {0, 0, 0, 0, 0, 0});  // link-layer padding: trimmed, answered
  rig.Receive(kLan, 0, padded, 0x86dd);
  // Behind a hop-by-hop header (PadN): walked, and not answered (options are not echoed).
  const uint64_t unhandled = rig.Drops(DropIndex(Drop::kLocalUnhandled));
  auto plain = Echo6("2001:db8:1::2", "2001:db8:1::1", 8);
  std::vector<uint8_t> chained(plain.begin(), plain.begin() + 40);
  chained.insert(chained.end(), {IPPROTO_ICMPV6, 0, 1, 4, 0, 0, 0, 0});
  chained.insert(chained.end(), plain.begin() + 40, plain.end());
  chained[6] = 0;
  chained[5] = static_cast<uint8_t>(chained[5] + 8);
  rig.Receive(kLan, 0, chained, 0x86dd);
  PollAll(rig, 1);
  CHECK(rig.Drops(DropIndex(Drop::kIpv6Scope)) - scope == 3);
  CHECK(rig.Drops(DropIndex(Drop::kBadIpHeader)) - header == 2);
  CHECK(rig.Drops(DropIndex(Drop::kLocalUnhandled)) - unhandled == 1);
  auto lan = SentAll(rig, kLan);
  std::set<uint8_t> answered;
  for (const auto& f : lan) {
    auto reply = StripEthernet(f);
    REQUIRE(reply.size() >= 48);
    CHECK(reply[40] == 129);
    CHECK(Icmp6ChecksumOk(reply));
    if (reply[45] == 7) CHECK(reply.size() == unpadded.size());
    answered.insert(reply[45]);
  }
  CHECK(answered == std::set<uint8_t>{1, 7});
}

TEST_CASE("An unknown next header to us is answered with a parameter problem (RFC 8200 §4)") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const std::vector<uint8_t> body = {1, 2, 3, 4, 5, 6, 7, 8};
  // Protocol 253 (experimental) right after the header, and behind destination options
  // (PadN): the pointer names the field that carries 253, offset 6 and 40.
  auto plain = Ipv6("2001:db8:1::2", "2001:db8:1::1", 253, 64, body);
  std::vector<uint8_t> opts = {253, 0, 1, 4, 0, 0, 0, 0};
  opts.insert(opts.end(), body.begin(), body.end());
  auto chained = Ipv6("2001:db8:1::2", "2001:db8:1::1", 60, 64, opts);
  // No next header (59) is ignored; TCP (no service here) is dropped quietly, as IPv4's.
  auto none = Ipv6("2001:db8:1::2", "2001:db8:1::1", 59, 64, body);
  auto tcp = Ipv6("2001:db8:1::2", "2001:db8:1::1", IPPROTO_TCP, 64, body);
  const uint64_t unhandled = rig.Drops(DropIndex(Drop::kLocalUnhandled));
  for (const auto* p : {&plain, &chained, &none, &tcp}) rig.Receive(kLan, 0, *p, 0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kLocalUnhandled)) - unhandled == 4);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 2);
  std::map<uint32_t, std::vector<uint8_t>> by_pointer;
  for (const auto& f : lan) {
    auto err = StripEthernet(f);
    REQUIRE(err.size() >= 48);
    CHECK(err[6] == IPPROTO_ICMPV6);
    CHECK(err[40] == 4);  // parameter problem
    CHECK(err[41] == 1);  // unrecognized next header type
    CHECK(Icmp6ChecksumOk(err));
    uint8_t dst[16];
    Addr6("2001:db8:1::2", dst);
    CHECK(std::equal(dst, dst + 16, err.begin() + 24));
    const uint32_t pointer =
        static_cast<uint32_t>(err[44] << 24 | err[45] << 16 | err[46] << 8 | err[47]);
    by_pointer[pointer] = std::vector<uint8_t>(err.begin() + 48, err.end());
  }
  REQUIRE(by_pointer.size() == 2);
  CHECK(by_pointer[6] == plain);
  CHECK(by_pointer[40] == chained);
}

TEST_CASE("A routing header with segments left to us: parameter problem code 0 (RFC 8200 §4.4)") {
  Rig& rig = Rig::Get();
  Configure(rig);
  // UDP to port 500 behind a type 0 routing header naming one more hop (segments left 1): not
  // delivered (not punted as IKE), answered with code 0 pointing at the routing type (42).
  auto udp = Udp6("2001:db8:1::2", "2001:db8:1::1", 64, 8);
  udp[42] = 0x01, udp[43] = 0xf4;  // destination port 500
  std::vector<uint8_t> rh = {IPPROTO_UDP, 2, 0, 1, 0, 0, 0, 0};
  uint8_t hop[16];
  Addr6("2001:db8:9::1", hop);
  rh.insert(rh.end(), hop, hop + 16);
  rh.insert(rh.end(), udp.begin() + 40, udp.end());
  auto left = Ipv6("2001:db8:1::2", "2001:db8:1::1", 43, 64, rh);
  // The same with segments left 0: the header is ignored and the datagram goes on (to vpnd).
  auto done = left;
  done[43] = 0;
  const unsigned punted = rte_ring_count(rig.dp().ike_init_ring);
  rig.Receive(kLan, 0, left, 0x86dd);
  PollAll(rig);
  CHECK(rte_ring_count(rig.dp().ike_init_ring) == punted);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 1);
  auto err = StripEthernet(lan[0]);
  REQUIRE(err.size() >= 48);
  CHECK(err[40] == 4);
  CHECK(err[41] == 0);
  CHECK(err[47] == 42);
  CHECK(Icmp6ChecksumOk(err));
  rig.Receive(kLan, 0, done, 0x86dd);
  PollAll(rig);
  CHECK(rte_ring_count(rig.dp().ike_init_ring) == punted + 1);
  CHECK(SentAll(rig, kLan).empty());
}

// An echo request of n data bytes, its checksum right.
std::vector<uint8_t> BigEcho6(const char* src, const char* dst, uint16_t id, size_t n) {
  std::vector<uint8_t> echo(8 + n);
  echo[0] = 128;
  echo[4] = static_cast<uint8_t>(id >> 8), echo[5] = static_cast<uint8_t>(id), echo[7] = 1;
  for (size_t i = 0; i < n; ++i) echo[8 + i] = static_cast<uint8_t>(i * 13 + id);
  auto req = Ipv6(src, dst, IPPROTO_ICMPV6, 64, echo);
  const uint16_t c =
      rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(req.data()), req.data() + 40);
  std::memcpy(req.data() + 42, &c, 2);
  return req;
}

// A fragment of the plain packet p: len bytes of its payload from offset, M as given.
std::vector<uint8_t> Piece6(const std::vector<uint8_t>& p, uint32_t offset, uint32_t len, bool more,
                            uint32_t id) {
  std::vector<uint8_t> f(p.begin(), p.begin() + 40);
  f[6] = 44;
  f[4] = static_cast<uint8_t>((8 + len) >> 8), f[5] = static_cast<uint8_t>(8 + len);
  const uint16_t field = static_cast<uint16_t>(offset | (more ? 1 : 0));
  f.insert(f.end(), {p[6], 0, static_cast<uint8_t>(field >> 8), static_cast<uint8_t>(field),
                     static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
                     static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)});
  f.insert(f.end(), p.begin() + 40 + offset, p.begin() + 40 + offset + len);
  return f;
}

// The IPv6 packets in frames, fragments put back together (by their offsets, which must leave
// no gap), each checked to fit `mtu`.
std::vector<std::vector<uint8_t>> Whole6(const std::vector<std::vector<uint8_t>>& frames,
                                         size_t mtu) {
  std::vector<std::vector<uint8_t>> out;
  std::map<uint32_t, std::map<uint32_t, std::vector<uint8_t>>> pieces;  // id -> offset -> data
  std::map<uint32_t, std::vector<uint8_t>> headers;
  for (const auto& f : frames) {
    auto ip = StripEthernet(f);
    CHECK(ip.size() <= mtu);
    if (ip[6] != 44) {
      out.push_back(ip);
      continue;
    }
    const uint32_t id = static_cast<uint32_t>(ip[44] << 24 | ip[45] << 16 | ip[46] << 8 | ip[47]);
    const uint32_t offset = static_cast<uint32_t>(ip[42] << 8 | ip[43]) & 0xfff8u;
    pieces[id][offset] = std::vector<uint8_t>(ip.begin() + 48, ip.end());
    if (offset == 0) {
      headers[id] = std::vector<uint8_t>(ip.begin(), ip.begin() + 40);
      headers[id][6] = ip[40];
    }
  }
  for (auto& [id, by_offset] : pieces) {
    REQUIRE(headers.count(id) == 1);
    std::vector<uint8_t> p = headers[id];
    for (const auto& [offset, data] : by_offset) {
      REQUIRE(offset == p.size() - 40);
      p.insert(p.end(), data.begin(), data.end());
    }
    p[4] = static_cast<uint8_t>((p.size() - 40) >> 8), p[5] = static_cast<uint8_t>(p.size() - 40);
    out.push_back(p);
  }
  return out;
}

TEST_CASE("Fragments to us are reassembled: a ping longer than the link is answered") {
  // RFC 8200 §4.5. A 2,500-byte echo request in two fragments in order, another in three out
  // of order: both answered, the replies (longer than the LAN's 1,500) in fragments of ours
  // that make the request's data back. An IKE datagram in two fragments is punted whole.
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint64_t done = rig.worker(0).stats().reassembled6;
  auto a = BigEcho6("2001:db8:1::2", "2001:db8:1::1", 21, 2500);
  auto b = BigEcho6("2001:db8:1::2", "2001:db8:1::1", 22, 2500);
  const uint32_t len = static_cast<uint32_t>(a.size() - 40);  // 2,508
  rig.Receive(kLan, 0, Piece6(a, 0, 1448, true, 7), 0x86dd);
  rig.Receive(kLan, 0, Piece6(a, 1448, len - 1448, false, 7), 0x86dd);
  rig.Receive(kLan, 0, Piece6(b, 1600, len - 1600, false, 8), 0x86dd);
  rig.Receive(kLan, 0, Piece6(b, 0, 800, true, 8), 0x86dd);
  rig.Receive(kLan, 0, Piece6(b, 800, 800, true, 8), 0x86dd);
  auto ike = Udp6("2001:db8:1::2", "2001:db8:1::1", 64, 600);
  ike[42] = 0x01, ike[43] = 0xf4;  // destination port 500
  // Its bytes read as an established IKE SA's message: the punt's queue for those.
  const unsigned punted = rte_ring_count(rig.dp().ike_ring);
  rig.Receive(kLan, 0, Piece6(ike, 304, 304, false, 9), 0x86dd);
  rig.Receive(kLan, 0, Piece6(ike, 0, 304, true, 9), 0x86dd);
  PollAll(rig);
  CHECK(rig.worker(0).stats().reassembled6 - done == 3);
  CHECK(rte_ring_count(rig.dp().ike_ring) == punted + 1);
  auto replies = Whole6(SentAll(rig, kLan), 1500);
  REQUIRE(replies.size() == 2);
  std::set<uint16_t> ids;
  for (const auto& r : replies) {
    REQUIRE(r.size() == a.size());
    CHECK(r[6] == IPPROTO_ICMPV6);
    CHECK(r[40] == 129);
    CHECK(Icmp6ChecksumOk(r));
    const auto& req = r[45] == 21 ? a : b;
    CHECK(std::equal(r.begin() + 44, r.end(), req.begin() + 44));
    CHECK(std::equal(r.begin() + 8, r.begin() + 24, req.begin() + 24));
    ids.insert(static_cast<uint16_t>(r[44] << 8 | r[45]));
  }
  CHECK(ids == std::set<uint16_t>{21, 22});
}

TEST_CASE("Overlapping or bad fragments to us abandon their datagram, counted (RFC 5722)") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint64_t failed = rig.Drops(DropIndex(Drop::kReassemblyFailed));
  const uint64_t to_us = rig.Drops(DropIndex(Drop::kFragmentToUs));
  auto p = BigEcho6("2001:db8:1::2", "2001:db8:1::1", 31, 1400);
  const uint32_t len = static_cast<uint32_t>(p.size() - 40);  // 1,408
  // Overlapping: [0, 808) and [800, 1408) (8 bytes twice). A first fragment twice.
  rig.Receive(kLan, 0, Piece6(p, 0, 808, true, 1), 0x86dd);
  rig.Receive(kLan, 0, Piece6(p, 800, len - 800, false, 1), 0x86dd);
  rig.Receive(kLan, 0, Piece6(p, 0, 704, true, 2), 0x86dd);
  rig.Receive(kLan, 0, Piece6(p, 0, 704, true, 2), 0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kReassemblyFailed)) - failed == 4);
  CHECK(SentAll(rig, kLan).empty());
  // M set on 700 bytes (not a multiple of 8): parameter problem, code 0, at the payload length
  // (RFC 8200 §4.5).
  rig.Receive(kLan, 0, Piece6(p, 0, 700, true, 3), 0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kReassemblyFailed)) - failed == 5);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 1);
  auto err = StripEthernet(lan[0]);
  CHECK(err[40] == 4);
  CHECK(err[41] == 0);
  CHECK(err[47] == 4);
  CHECK(Icmp6ChecksumOk(err));
  // A fragment header behind destination options: not taken (fragment_to_us).
  auto frag = Piece6(p, 0, 704, true, 4);
  std::vector<uint8_t> opts(frag.begin(), frag.begin() + 40);
  opts[6] = 60;
  opts.insert(opts.end(), {44, 0, 1, 4, 0, 0, 0, 0});
  opts.insert(opts.end(), frag.begin() + 40, frag.end());
  opts[5] = static_cast<uint8_t>(opts.size() - 40),
  opts[4] = static_cast<uint8_t>((opts.size() - 40) >> 8);
  rig.Receive(kLan, 0, opts, 0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kFragmentToUs)) - to_us == 1);
  // Whole again: the same request in two good fragments is answered.
  rig.Receive(kLan, 0, Piece6(p, 0, 704, true, 5), 0x86dd);
  rig.Receive(kLan, 0, Piece6(p, 704, len - 704, false, 5), 0x86dd);
  PollAll(rig);
  auto replies = Whole6(SentAll(rig, kLan), 1500);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0][40] == 129);
}

TEST_CASE("An incomplete datagram to us times out: time exceeded when its first part came") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint64_t timeout = rig.Drops(DropIndex(Drop::kReassemblyTimeout));
  auto p = BigEcho6("2001:db8:1::2", "2001:db8:1::1", 41, 1400);
  const uint32_t len = static_cast<uint32_t>(p.size() - 40);
  const auto first = Piece6(p, 0, 704, true, 11);
  rig.Receive(kLan, 0, first, 0x86dd);
  rig.Receive(kLan, 0, Piece6(p, 704, len - 704, false, 12), 0x86dd);  // another datagram's end
  PollAll(rig);
  CHECK(SentAll(rig, kLan).empty());
  CHECK(rig.Drops(DropIndex(Drop::kReassemblyTimeout)) == timeout);
  // Sixty seconds on (RFC 8200 §4.5): both let go; the sender of the first fragment told.
  rig.worker(0).ExpireFragments6(rte_rdtsc() + 61 * rte_get_tsc_hz());
  rig.worker(0).FlushTx();
  CHECK(rig.Drops(DropIndex(Drop::kReassemblyTimeout)) - timeout == 2);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 1);
  auto err = StripEthernet(lan[0]);
  CHECK(err[40] == 3);  // time exceeded
  CHECK(err[41] == 1);  // fragment reassembly time exceeded
  CHECK(Icmp6ChecksumOk(err));
  CHECK(std::equal(first.begin(), first.end(), err.begin() + 48));
}

TEST_CASE("An atomic fragment to us is taken alone (RFC 6946)") {
  Rig& rig = Rig::Get();
  Configure(rig);
  auto p = Echo6("2001:db8:1::2", "2001:db8:1::1", 51);
  const uint32_t len = static_cast<uint32_t>(p.size() - 40);
  rig.Receive(kLan, 0, Piece6(p, 0, len, false, 13), 0x86dd);
  PollAll(rig);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 1);
  auto reply = StripEthernet(lan[0]);
  REQUIRE(reply.size() == p.size());
  CHECK(reply[6] == IPPROTO_ICMPV6);
  CHECK(reply[40] == 129);
  CHECK(Icmp6ChecksumOk(reply));
}

TEST_CASE("No parameter problem answers a link-layer broadcast or multicast frame") {
  // RFC 4443 §2.4 (e.2, e.3): the same unknown next header as above, to our address, but in a
  // frame to ff:ff:ff:ff:ff:ff or 33:33:00:00:00:01: counted, not answered.
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const uint8_t mcast[6] = {0x33, 0x33, 0, 0, 0, 1};
  const uint8_t host[6] = {0x02, 0, 0, 0, 0x01, 0x0a};
  const std::vector<uint8_t> body = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto p = Ipv6("2001:db8:1::2", "2001:db8:1::1", 253, 64, body);
  const uint64_t unhandled = rig.Drops(DropIndex(Drop::kLocalUnhandled));
  rig.ReceiveFrame(kLan, 0, Frame(bcast, host, 0x86dd, p));
  rig.ReceiveFrame(kLan, 0, Frame(mcast, host, 0x86dd, p));
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kLocalUnhandled)) - unhandled == 2);
  CHECK(SentAll(rig, kLan).empty());
}

TEST_CASE("A group frame's ESP: its decrypted packet is answered with errors as any other") {
  // The mark that a frame went to a link-layer group (no ICMPv6 error answers it) is the outer
  // packet's: the peer's ESP in a frame to ff:ff:ff:ff:ff:ff or 33:33:00:00:00:01 (the
  // per-frame path of stage_l2, which marks it) still carries a unicast packet, whose hop limit
  // running out is answered, through the tunnel, as in a unicast frame.
  Rig& rig = Rig::Get();
  const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const uint8_t mcast[6] = {0x33, 0x33, 0, 0, 0, 1};
  for (bool outer6 : {false, true}) {
    INFO("outer " << (outer6 ? "IPv6" : "IPv4"));
    Configure(rig);
    auto cfg = outer6 ? Peer(true, Direction::kOutbound, 0x4001, kKey6In, "0e0f1011")
                      : Peer(false, Direction::kOutbound, 0x2001, kKey4In, "05060708");
    auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(cfg);
    const uint64_t expired = rig.Drops(DropIndex(Drop::kTtlExceeded));
    for (const uint8_t* mac : {bcast, mcast}) {
      // Hop limit 1 to the LAN host: time exceeded back to the tunnel's far side.
      rte_mbuf* m = test::MakePacket(
          Udp6(outer6 ? "2001:db8:3::7" : "2001:db8:2::7", "2001:db8:1::2", 1, 30));
      REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
      auto esp = test::PacketBytes(m);
      rte_pktmbuf_free(m);
      rig.ReceiveFrame(kWan, 0, Frame(mac, kPeerMac, outer6 ? 0x86dd : 0x0800, esp));
    }
    PollAll(rig);
    CHECK(rig.Drops(DropIndex(Drop::kTtlExceeded)) - expired == 2);
    auto wan = SentAll(rig, kWan);
    REQUIRE(wan.size() == 2);
    auto back = outer6 ? Peer(true, Direction::kInbound, 0x3001, kKey6, "0a0b0c0d")
                       : Peer(false, Direction::kInbound, 0x1001, kKey4, "01020304");
    auto open = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(back);
    for (const auto& f : wan) {
      rte_mbuf* m = test::MakePacket(StripEthernet(f));
      REQUIRE(dp::esp::testutil::One(Os(), *open, m, false) == dp::esp::DropReason::kCount);
      auto err = test::PacketBytes(m);
      rte_pktmbuf_free(m);
      REQUIRE(err.size() >= 48);
      CHECK(err[6] == IPPROTO_ICMPV6);
      CHECK(err[40] == 3);  // time exceeded
      CHECK(err[41] == 0);  // hop limit exceeded in transit
      CHECK(Icmp6ChecksumOk(err));
    }
  }
}

TEST_CASE("Path MTU discovery's errors have a budget of their own (RFC 4443 2.4(f))") {
  // Each worker answers at most 50 errors in a burst (then 100 a second). Worker 0: 200 packets
  // whose hop limit runs out spend the errors' budget; a packet too big for the WAN and an IPv4 one
  // with DF set too big for the tunnel are still answered (packet too big, fragmentation needed).
  // Worker 1: 200 packets too big spend that budget; a hop limit running out is still answered.
  Rig& rig = Rig::Get();
  Configure(rig);
  REQUIRE(rig.Apply("neigh add lan 10.1.0.2 02:00:00:00:01:0a").status.ok());
  for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).ResetIcmpBudgets();
  auto types = [&](int queue) {
    std::multiset<std::pair<uint8_t, uint8_t>> out;  // (type, code); IPv4's type + 100
    for (const auto& f : rig.Sent(kLan, queue)) {
      auto ip = StripEthernet(f);
      if (EtherType(f) == 0x86dd && ip.size() >= 48 && ip[6] == IPPROTO_ICMPV6)
        out.insert({ip[40], ip[41]});
      if (EtherType(f) == 0x0800 && ip.size() >= 28 && ip[9] == IPPROTO_ICMP)
        out.insert({static_cast<uint8_t>(100 + ip[20]), ip[21]});
    }
    return out;
  };
  const auto expiring = Udp6("2001:db8:1::2", "2001:db8:5::9", 1, 10);
  const auto too_big = Udp6("2001:db8:1::2", "2001:db8:5::9", 64, 1500 - 48 + 1);
  auto too_big4 = Udp4(0x0a010002, 0x0a020007, 1400 - 28 + 1);
  too_big4[6] = 0x40;  // DF
  auto* ip4 = reinterpret_cast<rte_ipv4_hdr*>(too_big4.data());
  ip4->hdr_checksum = 0;
  ip4->hdr_checksum = rte_ipv4_cksum(ip4);

  WorkerStats& s0 = rig.worker(0).stats();
  const uint64_t limited0 = s0.icmp_rate_limited, pmtu0 = s0.icmp_pmtu_rate_limited;
  for (int i = 0; i < 200; ++i) rig.Receive(kLan, 0, expiring, 0x86dd);
  PollAll(rig, 5);
  CHECK(s0.icmp_rate_limited - limited0 > 0);
  CHECK(s0.icmp_pmtu_rate_limited == pmtu0);
  CHECK(types(0).count({3, 0}) > 0);
  rig.Receive(kLan, 0, too_big, 0x86dd);
  rig.Receive(kLan, 0, too_big4);
  PollAll(rig);
  CHECK(types(0) == std::multiset<std::pair<uint8_t, uint8_t>>{{2, 0}, {103, 4}});
  CHECK(s0.icmp_pmtu_rate_limited == pmtu0);

  WorkerStats& s1 = rig.worker(1).stats();
  const uint64_t limited1 = s1.icmp_rate_limited, pmtu1 = s1.icmp_pmtu_rate_limited;
  for (int i = 0; i < 200; ++i) rig.Receive(kLan, 1, too_big, 0x86dd);
  PollAll(rig, 5);
  CHECK(s1.icmp_pmtu_rate_limited - pmtu1 > 0);
  CHECK(s1.icmp_rate_limited - limited1 == s1.icmp_pmtu_rate_limited - pmtu1);
  CHECK(types(1).count({2, 0}) > 0);
  rig.Receive(kLan, 1, expiring, 0x86dd);
  PollAll(rig);
  CHECK(types(1) == std::multiset<std::pair<uint8_t, uint8_t>>{{3, 0}});
  for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).ResetIcmpBudgets();
}

TEST_CASE("An interface without IPv6 takes no packet to ffff:..:ffff for its own") {
  // stage_l2's sort compares with the receiving interface's first IPv6 address; without one
  // it compares with all ones, a multicast address no packet is ours for.
  Rig& rig = Rig::Get();
  Configure(rig);
  REQUIRE(rig.Apply("address delete wan 2001:db8:ff::1/64").status.ok());
  const uint64_t multicast = rig.Drops(DropIndex(Drop::kIpv6Multicast));
  rig.Receive(kWan, 0, Echo6("2001:db8:ff::2", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 9),
              0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kIpv6Multicast)) - multicast == 1);
  CHECK(SentAll(rig, kWan).empty());
}

TEST_CASE("The same link-local address on two links: each answers on its own link") {
  // fe80::1 as every link's gateway (RFC 4291 §2.5.6: link-local addresses name no link by
  // themselves), beside the global addresses; and wan's own fe80::2.
  Rig& rig = Rig::Get();
  Configure(rig);
  auto r = rig.Apply(R"(
address add lan fe80::1/64
address add wan fe80::1/64
address add wan fe80::2/64
neigh add lan fe80::10 02:00:00:00:01:0a
neigh add wan fe80::99 02:00:00:00:02:02
route add ::/0 blackhole
)");
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  const uint64_t scope = rig.Drops(DropIndex(Drop::kIpv6Scope));
  rig.Receive(kLan, 0, Echo6("fe80::10", "fe80::1", 1), 0x86dd);
  rig.Receive(kWan, 0, Echo6("fe80::99", "fe80::1", 2), 0x86dd);
  rig.Receive(kWan, 0, Echo6("fe80::99", "fe80::2", 3), 0x86dd);
  // wan's fe80::2 is not lan's: asked on lan it is another link's address, never routed there
  // (nor into the default route, here a blackhole that would count it as its own).
  rig.Receive(kLan, 0, Echo6("fe80::10", "fe80::2", 4), 0x86dd);
  PollAll(rig);
  auto replies = [](const std::vector<std::vector<uint8_t>>& frames) {
    std::vector<std::pair<std::string, uint16_t>> out;  // (source, echo id)
    for (const auto& f : frames) {
      auto ip = StripEthernet(f);
      if (ip.size() < 48 || ip[40] != 129) continue;
      char text[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, ip.data() + 8, text, sizeof text);
      out.emplace_back(text, static_cast<uint16_t>(ip[44] << 8 | ip[45]));
      CHECK(Icmp6ChecksumOk(ip));
    }
    return out;
  };
  auto lan = SentAll(rig, kLan);
  auto wan = SentAll(rig, kWan);
  CHECK(replies(lan) == std::vector<std::pair<std::string, uint16_t>>{{"fe80::1", 1}});
  CHECK(replies(wan) ==
        std::vector<std::pair<std::string, uint16_t>>{{"fe80::1", 2}, {"fe80::2", 3}});
  for (const auto& f : lan) CHECK(std::memcmp(f.data(), kHostMac, 6) == 0);
  for (const auto& f : wan) CHECK(std::memcmp(f.data(), kPeerMac, 6) == 0);
  CHECK(rig.Drops(DropIndex(Drop::kIpv6Scope)) - scope == 1);
  // The same address twice on one link stays an error.
  CHECK(!rig.Apply("address add lan fe80::1/64\n").status.ok());
}

TEST_CASE("One burst mixing IPv4 and IPv6 forwards every frame of both, each in its order") {
  // FromWire takes untagged IPv4 in one loop and untagged IPv6 in the next; a burst that
  // switches back and forth leaves both for the per-frame way, which must lose nothing either.
  Rig& rig = Rig::Get();
  Configure(rig);
  std::vector<std::vector<uint8_t>> sent4, sent6;
  const int pattern[] = {4, 6, 6, 4, 4, 6, 4, 6, 6};  // IPv4 first: the usual loop hands over
  auto lan_rx = [&] {
    uint64_t v = 0;
    for (int w = 0; w < Rig::kWorkers; ++w) v += rig.dp().stats[w]->ifs[1].rx_packets;
    return v;
  };
  const uint64_t rx = lan_rx();
  for (int k = 0; k < 9; ++k) {
    if (pattern[k] == 4) {
      sent4.push_back(Udp4(0x0a010002, 0xc0000202, 10 + k));  // on-link on the WAN
      rig.Receive(kLan, 0, sent4.back());
    } else {
      sent6.push_back(Udp6("2001:db8:1::2", "2001:db8:5::9", 64, 10 + k));
      rig.Receive(kLan, 0, sent6.back(), 0x86dd);
    }
  }
  PollAll(rig);
  std::vector<std::vector<uint8_t>> got4, got6;
  for (auto& f : SentAll(rig, kWan)) (EtherType(f) == 0x86dd ? got6 : got4).push_back(f);
  REQUIRE(got4.size() == sent4.size());
  REQUIRE(got6.size() == sent6.size());
  CHECK(lan_rx() - rx == 9);  // every frame counted once on the receiving interface
  for (size_t k = 0; k < got6.size(); ++k) CHECK(StripEthernet(got6[k]) == HopLess(sent6[k]));
  for (size_t k = 0; k < got4.size(); ++k) {
    const auto ip = StripEthernet(got4[k]);
    CHECK(ip.size() == sent4[k].size());
    CHECK(ip[8] == 63);  // TTL taken
    CHECK(std::equal(ip.begin() + 20, ip.end(), sent4[k].begin() + 20));
  }
}

// Policy-based tunnels with IPv6 selectors (the IPv6 SPD): an IPv4-outer SA pair (reqid 61)
// for 2001:db8:1::/64 <-> 2001:db8:12::/64 and an IPv6-outer one (reqid 62) for
// 2001:db8:1::/64 <-> 2001:db8:13::/64; no route to either; a discard and a bypass policy; and
// (with `many`) twelve more discard policies, so that the ACL classifies rather than the
// search of a few.
std::string PolicyConfig6(bool many) {
  std::string c = std::string(R"(
interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add lan 2001:db8:1::1/64
address add wan 192.0.2.1/24
address add wan 2001:db8:ff::1/64
route add 2001:db8:5::/64 via 2001:db8:ff::2
neigh add lan 2001:db8:1::2 02:00:00:00:01:0a
neigh add wan 2001:db8:ff::2 02:00:00:00:02:02
neigh add wan 192.0.2.2 02:00:00:00:02:02
sa add spi 0x1101 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )") +
                  kKey4 + R"( salt 01020304 reqid 61
sa add spi 0x2101 dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )" +
                  kKey4In +
                  R"( salt 05060708 reqid 61
sa add spi 0x3101 dir out local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher aes-gcm-128 key )" +
                  kKey6 + R"( salt 0a0b0c0d reqid 62
sa add spi 0x4101 dir in local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher aes-gcm-128 key )" +
                  kKey6In + R"( salt 0e0f1011 reqid 62
policy add out src 2001:db8:1::/64 dst 2001:db8:12::/64 protect reqid 61 spi 0x1101
policy add in src 2001:db8:12::/64 dst 2001:db8:1::/64 protect reqid 61
policy add out src 2001:db8:1::/64 dst 2001:db8:13::/64 protect reqid 62 spi 0x3101
policy add in src 2001:db8:13::/64 dst 2001:db8:1::/64 protect reqid 62
policy add out src 2001:db8:1::/64 dst 2001:db8:14::/64 discard
policy add out src 2001:db8:1::/64 dst 2001:db8:5::/48 bypass
policy add out src 10.1.0.0/24 dst 10.12.0.0/24 protect reqid 61 spi 0x1101
policy add in src 10.12.0.0/24 dst 10.1.0.0/24 protect reqid 61
)";
  if (many)
    for (int i = 0; i < 12; ++i)
      c += "policy add out src 2001:db8:1::/64 dst 2001:db8:" + std::to_string(100 + i) +
           "::/64 discard\npolicy add in src 2001:db8:" + std::to_string(100 + i) +
           "::/64 dst 2001:db8:1::/64 discard\n";
  return c;
}

void ConfigurePolicies6(Rig& rig, bool many) {
  rig.Reset();
  auto r = rig.Apply(PolicyConfig6(many));
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  const Tables& t = rig.dp().CurrentTables();
  REQUIRE(t.spd.out6.n == (many ? 16u : 4u));
  REQUIRE(t.spd.in6.n == (many ? 14u : 2u));
  REQUIRE(t.spd.out.n == 1);
  REQUIRE((t.spd.out6.acl != nullptr) == true);
}

TEST_CASE("IPv6 policies: protected traffic is encrypted by the policy's SA, either outer") {
  Rig& rig = Rig::Get();
  for (bool many : {false, true}) {
    INFO("many " << many);
    ConfigurePolicies6(rig, many);
    const uint64_t discard = rig.Drops(DropIndex(Drop::kPolicyDiscard));
    const uint64_t no_route = rig.Drops(DropIndex(Drop::kNoRoute));
    auto to12 = Udp6("2001:db8:1::2", "2001:db8:12::7", 64, 100);  // IPv4-outer SA
    auto to13 = Udp6("2001:db8:1::2", "2001:db8:13::7", 64, 120);  // IPv6-outer SA
    auto to14 = Udp6("2001:db8:1::2", "2001:db8:14::7", 64, 10);   // discard
    auto to5 = Udp6("2001:db8:1::2", "2001:db8:5::9", 64, 10);     // bypass: routed
    auto to15 = Udp6("2001:db8:1::2", "2001:db8:15::9", 64, 10);   // no policy, no route
    auto to9 = Udp6("2001:db8:1::2", "2001:db8:9::9", 64, 10);     // ditto
    for (const auto* p : {&to12, &to13, &to14, &to5, &to15, &to9}) rig.Receive(kLan, 0, *p, 0x86dd);
    PollAll(rig);
    auto wan = SentAll(rig, kWan);
    REQUIRE(wan.size() == 3);
    int v4_outer = 0, v6_outer = 0, routed = 0;
    for (const auto& f : wan) {
      auto ip = StripEthernet(f);
      if (EtherType(f) == 0x0800) {
        ++v4_outer;
        auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
            Peer(false, Direction::kInbound, 0x1101, kKey4, "01020304"));
        rte_mbuf* m = test::MakePacket(ip);
        REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
        CHECK(test::PacketBytes(m) == HopLess(to12));
        rte_pktmbuf_free(m);
      } else if (ip[6] == IPPROTO_ESP) {
        ++v6_outer;
        auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
            Peer(true, Direction::kInbound, 0x3101, kKey6, "0a0b0c0d"));
        rte_mbuf* m = test::MakePacket(ip);
        REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
        CHECK(test::PacketBytes(m) == HopLess(to13));
        rte_pktmbuf_free(m);
      } else {
        ++routed;
        CHECK(ip == HopLess(to5));
      }
    }
    CHECK(v4_outer == 1);
    CHECK(v6_outer == 1);
    CHECK(routed == 1);
    CHECK(rig.Drops(DropIndex(Drop::kPolicyDiscard)) - discard == 1);
    CHECK(rig.Drops(DropIndex(Drop::kNoRoute)) - no_route == 2);
    (void)SentAll(rig, kLan);  // the two no-route errors
  }
}

TEST_CASE("IPv6 policies: decrypted traffic must match the SA's policy; none in the clear") {
  Rig& rig = Rig::Get();
  for (bool many : {false, true}) {
    INFO("many " << many);
    ConfigurePolicies6(rig, many);
    auto sa4 = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
        Peer(false, Direction::kOutbound, 0x2101, kKey4In, "05060708"));
    auto sa6 = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
        Peer(true, Direction::kOutbound, 0x4101, kKey6In, "0e0f1011"));
    auto seal = [&](auto& sa, const std::vector<uint8_t>& inner) {
      rte_mbuf* m = test::MakePacket(inner);
      REQUIRE(dp::esp::testutil::One(Os(), sa, m, true) == dp::esp::DropReason::kCount);
      auto b = test::PacketBytes(m);
      rte_pktmbuf_free(m);
      return b;
    };
    const uint64_t mismatch = rig.Drops(DropIndex(Drop::kPolicyMismatch));
    const uint64_t cleartext = rig.Drops(DropIndex(Drop::kPolicyCleartext));
    auto good12 = Udp6("2001:db8:12::7", "2001:db8:1::2", 64, 50);
    auto good13 = Udp6("2001:db8:13::7", "2001:db8:1::2", 64, 60);
    auto good4 = Udp4(0x0a0c0007, 0x0a010002, 30);
    rig.Receive(kWan, 0, seal(*sa4, good12));
    rig.Receive(kWan, 0, seal(*sa6, good13), 0x86dd);
    rig.Receive(kWan, 0, seal(*sa4, good4));  // IPv4 inner by the IPv4 policy of reqid 61
    // Another tunnel's selectors through this SA, one outside every policy, and an IPv4
    // packet the IPv4 policies do not let in.
    rig.Receive(kWan, 0, seal(*sa4, Udp6("2001:db8:13::7", "2001:db8:1::2", 64, 10)));
    rig.Receive(kWan, 0, seal(*sa6, Udp6("2001:db8:66::7", "2001:db8:1::2", 64, 10)), 0x86dd);
    rig.Receive(kWan, 0, seal(*sa6, Udp4(0x0a0d0007, 0x0a010002, 30)), 0x86dd);
    // What should have come in ESP, in the clear.
    rig.Receive(kWan, 0, good12, 0x86dd);
    REQUIRE(rig.Apply("neigh add lan 10.1.0.2 02:00:00:00:01:0a").status.ok());
    PollAll(rig);
    auto lan = SentAll(rig, kLan);
    std::multiset<std::vector<uint8_t>> want = {HopLess(good12), HopLess(good13), Forwarded(good4)},
                                        have;
    for (const auto& f : lan) have.insert(StripEthernet(f));
    CHECK(want == have);
    CHECK(rig.Drops(DropIndex(Drop::kPolicyMismatch)) - mismatch == 3);
    CHECK(rig.Drops(DropIndex(Drop::kPolicyCleartext)) - cleartext == 1);
  }
}

TEST_CASE("IPv6 policies: without an SA the packet is dropped and vpnd asked (an acquire)") {
  Rig& rig = Rig::Get();
  ConfigurePolicies6(rig, true);
  REQUIRE(rig.Apply("sa del spi 0x3101 dir out").status.ok());
  AcquireRecord r;
  while (rte_ring_sc_dequeue_elem(rig.dp().acquire_ring, &r, sizeof r) == 0) {
  }
  const uint64_t no_sa = rig.Drops(DropIndex(Drop::kPolicyNoSa));
  rig.Receive(kLan, 0, Udp6("2001:db8:1::2", "2001:db8:13::7", 64, 10), 0x86dd);
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kPolicyNoSa)) - no_sa == 1);
  CHECK(SentAll(rig, kWan).empty());
  REQUIRE(rte_ring_sc_dequeue_elem(rig.dp().acquire_ring, &r, sizeof r) == 0);
  CHECK(r.reqid == 62);
  CHECK(r.family == 6);
  uint8_t src[16], dst[16];
  Addr6("2001:db8:1::2", src);
  Addr6("2001:db8:13::7", dst);
  CHECK(std::memcmp(r.src, src, 16) == 0);
  CHECK(std::memcmp(r.dst, dst, 16) == 0);
  CHECK(r.proto == IPPROTO_UDP);
  CHECK(r.sport == 0x3039);
  CHECK(r.dport == 53);
}

TEST_CASE("IPv6 policies: the dataplane takes them, deletes them and counts them per direction") {
  Rig& rig = Rig::Get();
  ConfigurePolicies6(rig, false);
  CHECK_FALSE(
      rig.Apply("policy add out src 2001:db8:1::/64 dst 2001:db8:14::/64 discard").status.ok());
  REQUIRE(rig.Apply("policy del out src 2001:db8:1::/64 dst 2001:db8:14::/64 discard").status.ok());
  CHECK(rig.dp().CurrentTables().spd.out6.n == 3);
  // The same prefixes' first 4 bytes as another IPv6 policy: a different key.
  REQUIRE(
      rig.Apply("policy add out src 2001:db8:1:1::/64 dst 2001:db8:12::/64 discard").status.ok());
  CHECK(rig.dp().CurrentTables().spd.out6.n == 4);
}

TEST_CASE("IPv6 policies through a VFP: counted on it both ways; its firewall decides") {
  // A policy-based tunnel that uses a VFP (its SAs name vfp1): IPv6 it protects leaves through
  // vfp1 and what it decrypts arrives on vfp1, as IPv4 does; a ruleset bound to vfp1 has IPv4
  // rules only, so IPv6 meeting it is dropped (firewall_ipv6), never passed unfiltered.
  Rig& rig = Rig::Get();
  rig.Reset();
  auto r = rig.Apply(std::string(R"(
interface add lan kind port
interface add wan kind port
interface add vfp1 kind vfp
address add lan 2001:db8:1::1/64
address add wan 2001:db8:ff::1/64
address add vfp1 10.255.0.1/32
neigh add lan 2001:db8:1::2 02:00:00:00:01:0a
neigh add wan 2001:db8:ff::2 02:00:00:00:02:02
sa add spi 0x3201 dir out local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher aes-gcm-128 key )") +
                     kKey6 + R"( salt 0a0b0c0d reqid 63 vti vfp1
sa add spi 0x4201 dir in local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher aes-gcm-128 key )" +
                     kKey6In + R"( salt 0e0f1011 reqid 63 vti vfp1
policy add out src 2001:db8:1::/64 dst 2001:db8:13::/64 protect reqid 63 spi 0x3201
policy add in src 2001:db8:13::/64 dst 2001:db8:1::/64 protect reqid 63
)");
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  constexpr uint16_t kVfp = 3;
  REQUIRE(rig.dp().CurrentTables().ifs[kVfp].kind == IfKind::kVfp);
  auto count = [&](bool rx) {
    uint64_t n = 0;
    for (int w = 0; w < Rig::kWorkers; ++w)
      n += rx ? rig.dp().stats[w]->ifs[kVfp].rx_packets : rig.dp().stats[w]->ifs[kVfp].tx_packets;
    return n;
  };
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
      Peer(true, Direction::kOutbound, 0x4201, kKey6In, "0e0f1011"));
  auto seal = [&](const std::vector<uint8_t>& inner) {
    rte_mbuf* m = test::MakePacket(inner);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
    auto b = test::PacketBytes(m);
    rte_pktmbuf_free(m);
    return b;
  };
  const uint64_t rx0 = count(true), tx0 = count(false);
  auto out = Udp6("2001:db8:1::2", "2001:db8:13::7", 64, 30);
  auto in = Udp6("2001:db8:13::7", "2001:db8:1::2", 64, 40);
  rig.Receive(kLan, 0, out, 0x86dd);
  rig.Receive(kWan, 0, seal(in), 0x86dd);
  PollAll(rig);
  CHECK(SentAll(rig, kWan).size() == 1);
  auto lan = SentAll(rig, kLan);
  REQUIRE(lan.size() == 1);
  CHECK(StripEthernet(lan[0]) == HopLess(in));
  CHECK(count(false) - tx0 == 1);
  CHECK(count(true) - rx0 == 1);
  // Rulesets on vfp1: IPv6 meets them both ways (`out` before encryption, `in` after
  // decryption, FwThroughVfp6 and Input6). Accepting, both pass ...
  REQUIRE(rig.Apply("fw ruleset add 1 VFPOUT default accept\nfw bind vfp1 out 1\n"
                    "fw ruleset add 2 VFPIN default accept\nfw bind vfp1 in 2")
              .status.ok());
  rig.Receive(kLan, 0, out, 0x86dd);
  rig.Receive(kWan, 0, seal(in), 0x86dd);
  PollAll(rig);
  CHECK(SentAll(rig, kWan).size() == 1);
  CHECK(SentAll(rig, kLan).size() == 1);
  // ... dropping, both are dropped and counted as the rules' drops.
  REQUIRE(rig.Apply("fw ruleset update 1 VFPOUT default drop\n"
                    "fw ruleset update 2 VFPIN default drop")
              .status.ok());
  const uint64_t fw = rig.Drops(DropIndex(Drop::kFirewallDrop));
  rig.Receive(kLan, 0, out, 0x86dd);
  rig.Receive(kWan, 0, seal(in), 0x86dd);
  PollAll(rig);
  CHECK(SentAll(rig, kWan).empty());
  CHECK(SentAll(rig, kLan).empty());
  CHECK(rig.Drops(DropIndex(Drop::kFirewallDrop)) - fw == 2);
}

}  // namespace
}  // namespace portcullis::dp::testing
