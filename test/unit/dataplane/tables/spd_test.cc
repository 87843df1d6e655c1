// The SPD as workers search it: selectors (prefixes, protocol, port ranges), the first match in
// list order, and the selector a packet presents (ports only where the packet has them).
#include "dataplane/tables/spd.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

uint32_t Ip(const char* s) {
  uint32_t a = 0;
  REQUIRE(inet_pton(AF_INET, s, &a) == 1);
  return a;
}

uint32_t Mask(uint8_t len) {
  return len == 0 ? 0 : htonl(~uint32_t{0} << (32 - len));
}

// A policy as the command applier builds one: addresses masked, ports 0-65535 unless narrowed.
PolicyEntry Policy(const char* src, uint8_t src_len, const char* dst, uint8_t dst_len,
                   PolicyAction action = PolicyAction::kProtect, uint8_t proto = 0,
                   uint16_t sport_lo = 0, uint16_t sport_hi = 65535, uint16_t dport_lo = 0,
                   uint16_t dport_hi = 65535) {
  PolicyEntry e{};
  e.src_mask = Mask(src_len);
  e.dst_mask = Mask(dst_len);
  e.src = Ip(src) & e.src_mask;
  e.dst = Ip(dst) & e.dst_mask;
  e.proto = proto;
  e.sport_lo = sport_lo;
  e.sport_hi = sport_hi;
  e.dport_lo = dport_lo;
  e.dport_hi = dport_hi;
  e.has_ports = sport_lo != 0 || sport_hi != 65535 || dport_lo != 0 || dport_hi != 65535;
  e.action = action;
  return e;
}

PacketSelector Packet(const char* src, const char* dst, uint8_t proto = IPPROTO_UDP,
                      uint16_t sport = 0, uint16_t dport = 0) {
  return {Ip(src), Ip(dst), proto, sport, dport};
}

bool Matches(const PolicyEntry& p, const PacketSelector& s) {
  return p.Matches(s.src, s.dst, s.proto, s.sport, s.dport);
}

// An IPv4 header (20 bytes + `options`) followed by `l4`.
std::vector<uint8_t> Ipv4(uint8_t proto, std::vector<uint8_t> l4, uint8_t options = 0,
                          uint16_t frag = 0) {
  std::vector<uint8_t> p(20 + options + l4.size());
  p[0] = static_cast<uint8_t>(0x40 | (20 + options) / 4);
  p[6] = static_cast<uint8_t>(frag >> 8);
  p[7] = static_cast<uint8_t>(frag);
  p[8] = 64;
  p[9] = proto;
  const uint8_t src[4] = {10, 1, 0, 5}, dst[4] = {10, 2, 0, 7};
  std::copy(src, src + 4, p.begin() + 12);
  std::copy(dst, dst + 4, p.begin() + 16);
  std::copy(l4.begin(), l4.end(), p.begin() + 20 + options);
  return p;
}

const std::vector<uint8_t> kPorts = {0x04, 0xd2, 0x01, 0xbb, 0, 0, 0, 0};  // 1234 -> 443

TEST_CASE("SPD: address prefixes select by source and destination", "[tables][spd]") {
  const PolicyEntry p = Policy("10.1.0.0", 16, "10.2.0.0", 16);
  CHECK(Matches(p, Packet("10.1.0.1", "10.2.0.1")));
  CHECK(Matches(p, Packet("10.1.255.255", "10.2.255.255")));
  CHECK_FALSE(Matches(p, Packet("10.3.0.1", "10.2.0.1")));  // source outside
  CHECK_FALSE(Matches(p, Packet("10.1.0.1", "10.3.0.1")));  // destination outside
  CHECK_FALSE(Matches(p, Packet("10.2.0.1", "10.1.0.1")));  // the reverse direction
  CHECK_FALSE(Matches(p, Packet("10.0.255.255", "10.2.0.1")));
}

TEST_CASE("SPD: /0 selects every address, /32 exactly one", "[tables][spd]") {
  const PolicyEntry any = Policy("0.0.0.0", 0, "0.0.0.0", 0);
  for (const char* a : {"0.0.0.0", "10.1.2.3", "255.255.255.255"})
    CHECK(Matches(any, Packet(a, "192.0.2.1")));
  const PolicyEntry host = Policy("192.0.2.10", 32, "0.0.0.0", 0);
  CHECK(Matches(host, Packet("192.0.2.10", "198.51.100.1")));
  CHECK_FALSE(Matches(host, Packet("192.0.2.11", "198.51.100.1")));
  CHECK_FALSE(Matches(host, Packet("192.0.2.9", "198.51.100.1")));
}

TEST_CASE("SPD: protocol 0 is any protocol, another must be equal", "[tables][spd]") {
  const PolicyEntry any = Policy("0.0.0.0", 0, "0.0.0.0", 0);
  const PolicyEntry tcp = Policy("0.0.0.0", 0, "0.0.0.0", 0, PolicyAction::kProtect, IPPROTO_TCP);
  for (uint8_t proto :
       {uint8_t{IPPROTO_ICMP}, uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}, uint8_t{IPPROTO_ESP}})
    CHECK(Matches(any, Packet("10.0.0.1", "10.0.0.2", proto)));
  CHECK(Matches(tcp, Packet("10.0.0.1", "10.0.0.2", IPPROTO_TCP)));
  CHECK_FALSE(Matches(tcp, Packet("10.0.0.1", "10.0.0.2", IPPROTO_UDP)));
  CHECK_FALSE(Matches(tcp, Packet("10.0.0.1", "10.0.0.2", IPPROTO_ICMP)));
}

TEST_CASE("SPD: port ranges are inclusive at both ends", "[tables][spd]") {
  const PolicyEntry p =
      Policy("0.0.0.0", 0, "0.0.0.0", 0, PolicyAction::kProtect, IPPROTO_TCP, 1000, 2000, 443, 443);
  REQUIRE(p.has_ports);
  auto tcp = [](uint16_t sport, uint16_t dport) {
    return Packet("10.0.0.1", "10.0.0.2", IPPROTO_TCP, sport, dport);
  };
  CHECK(Matches(p, tcp(1000, 443)));
  CHECK(Matches(p, tcp(1500, 443)));
  CHECK(Matches(p, tcp(2000, 443)));
  CHECK_FALSE(Matches(p, tcp(999, 443)));
  CHECK_FALSE(Matches(p, tcp(2001, 443)));
  CHECK_FALSE(Matches(p, tcp(1500, 442)));
  CHECK_FALSE(Matches(p, tcp(1500, 444)));
  // A packet without ports (ICMP, a later fragment) presents 0: outside a narrowed range.
  CHECK_FALSE(Matches(p, tcp(0, 0)));
}

TEST_CASE("SPD: a policy without port ranges ignores ports", "[tables][spd]") {
  const PolicyEntry p = Policy("0.0.0.0", 0, "0.0.0.0", 0, PolicyAction::kProtect, IPPROTO_UDP);
  REQUIRE_FALSE(p.has_ports);
  CHECK(Matches(p, Packet("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 0, 0)));
  CHECK(Matches(p, Packet("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 65535, 1)));
}

TEST_CASE("SPD: Find returns the first match in list order", "[tables][spd]") {
  // In priority order, as the applier stores them: a narrow exception before a broad rule.
  const PolicyEntry list[] = {
      Policy("10.1.0.0", 16, "10.2.0.5", 32, PolicyAction::kBypass),
      Policy("10.1.0.0", 16, "10.2.0.0", 16, PolicyAction::kDiscard, IPPROTO_TCP, 0, 65535, 23, 23),
      Policy("10.1.0.0", 16, "10.2.0.0", 16, PolicyAction::kProtect),
  };
  auto find = [&](const PacketSelector& s, uint32_t n = 3) { return Spd::Find(list, n, s); };
  CHECK(find(Packet("10.1.0.1", "10.2.0.5")) == &list[0]);
  CHECK(find(Packet("10.1.0.1", "10.2.0.6", IPPROTO_TCP, 5000, 23)) == &list[1]);
  CHECK(find(Packet("10.1.0.1", "10.2.0.6", IPPROTO_TCP, 5000, 22)) == &list[2]);
  CHECK(find(Packet("10.1.0.1", "10.2.0.5", IPPROTO_TCP, 5000, 23)) == &list[0]);
  CHECK(find(Packet("10.9.0.1", "10.2.0.6")) == nullptr);
  // Only the first n entries are searched.
  CHECK(find(Packet("10.1.0.1", "10.2.0.6"), 2) == nullptr);
  CHECK(find(Packet("10.1.0.1", "10.2.0.5"), 0) == nullptr);
}

// A direction as the command applier builds one: the entries in order and their ACL.
SpdDirection Direction(std::vector<PolicyEntry> entries) {
  test::EnsureEal();
  static int n = 0;
  SpdDirection d;
  d.entries = std::move(entries);
  d.n = static_cast<uint32_t>(d.entries.size());
  if (d.n) {
    auto acl = CompileSpd("ut_spd" + std::to_string(n++), d.entries);
    REQUIRE(acl.ok());
    d.acl = *acl;
  }
  return d;
}

TEST_CASE("SPD: an entry's action is what the ACL hands back", "[tables][spd]") {
  const SpdDirection out =
      Direction({Policy("10.1.0.0", 16, "10.2.0.0", 16, PolicyAction::kDiscard),
                 Policy("0.0.0.0", 0, "0.0.0.0", 0, PolicyAction::kBypass)});
  const PolicyEntry* p = out.Find(Packet("10.1.0.1", "10.2.0.1"));
  REQUIRE(p == &out.entries[0]);
  CHECK(p->action == PolicyAction::kDiscard);
  p = out.Find(Packet("10.1.0.1", "10.3.0.1"));
  REQUIRE(p == &out.entries[1]);
  CHECK(p->action == PolicyAction::kBypass);
  const SpdDirection in = Direction({});
  CHECK(in.Find(Packet("10.1.0.1", "10.2.0.1")) == nullptr);
}

TEST_CASE("SPD: the ACL takes the first match in list order, as the linear search",
          "[tables][spd]") {
  // In priority order, as the applier stores them: a narrow exception before a broad rule.
  const SpdDirection d = Direction({
      Policy("10.1.0.0", 16, "10.2.0.5", 32, PolicyAction::kBypass),
      Policy("10.1.0.0", 16, "10.2.0.0", 16, PolicyAction::kDiscard, IPPROTO_TCP, 0, 65535, 23, 23),
      Policy("10.1.0.0", 16, "10.2.0.0", 16, PolicyAction::kProtect),
  });
  CHECK(d.Find(Packet("10.1.0.1", "10.2.0.5")) == &d.entries[0]);
  CHECK(d.Find(Packet("10.1.0.1", "10.2.0.6", IPPROTO_TCP, 5000, 23)) == &d.entries[1]);
  CHECK(d.Find(Packet("10.1.0.1", "10.2.0.6", IPPROTO_TCP, 5000, 22)) == &d.entries[2]);
  CHECK(d.Find(Packet("10.1.0.1", "10.2.0.5", IPPROTO_TCP, 5000, 23)) == &d.entries[0]);
  CHECK(d.Find(Packet("10.9.0.1", "10.2.0.6")) == nullptr);
  // Ports narrowed: a packet without ports (0) is outside; protocol 0 matches any.
  const SpdDirection ports = Direction({Policy("0.0.0.0", 0, "0.0.0.0", 0, PolicyAction::kProtect,
                                               IPPROTO_TCP, 1000, 2000, 443, 443)});
  CHECK(ports.Find(Packet("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1000, 443)) != nullptr);
  CHECK(ports.Find(Packet("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 2000, 443)) != nullptr);
  CHECK(ports.Find(Packet("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 2001, 443)) == nullptr);
  CHECK(ports.Find(Packet("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 0, 0)) == nullptr);
  CHECK(ports.Find(Packet("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1000, 443)) == nullptr);
  const SpdDirection any = Direction({Policy("0.0.0.0", 0, "0.0.0.0", 0)});
  for (uint8_t proto : {uint8_t{0}, uint8_t{IPPROTO_ICMP}, uint8_t{IPPROTO_ESP}, uint8_t{255}})
    CHECK(any.Find(Packet("255.255.255.255", "0.0.0.0", proto, 65535, 65535)) != nullptr);
}

TEST_CASE("SPD: without its ACL a direction still finds its policies, never none",
          "[tables][spd]") {
  // The applier never publishes policies without their ACL; should it, the packet path
  // searches in order rather than letting a discard or protect policy pass unapplied.
  SpdDirection d;
  for (uint32_t i = 0; i < 20; ++i)
    d.entries.push_back(Policy("10.1.0.0", 16, ("10.2.0." + std::to_string(i)).c_str(), 32,
                               PolicyAction::kDiscard));
  d.n = static_cast<uint32_t>(d.entries.size());
  REQUIRE(d.n > SpdDirection::kLinearPolicies);
  REQUIRE(d.acl == nullptr);
  CHECK(d.Find(Packet("10.1.0.1", "10.2.0.17")) == &d.entries[17]);
  CHECK(d.Find(Packet("10.1.0.1", "10.2.0.20")) == nullptr);
}

TEST_CASE("SPD: thousands of random policies classify as the linear search does", "[tables][spd]") {
  // Prefixes from a few small pools so that policies overlap (the order then decides), some
  // with a protocol and port ranges; packets drawn from the same pools. The linear search
  // (PolicyEntry::Matches in list order) is the reference.
  std::mt19937 rnd(4301);
  auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rnd() % n); };
  auto addr = [&]() { return htonl(0x0a000000u | pick(4) << 16 | pick(8) << 8 | pick(4)); };
  const uint8_t kProtos[] = {0, 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
  std::vector<PolicyEntry> list;
  for (int i = 0; i < 3000; ++i) {
    const uint8_t slen = static_cast<uint8_t>(pick(50) == 0 ? 0 : 16 + pick(17));
    // Never both /0: a catch-all would leave nothing unmatched.
    const uint8_t dlen = static_cast<uint8_t>(slen != 0 && pick(50) == 0 ? 0 : 16 + pick(17));
    PolicyEntry e{};
    e.src_mask = Mask(slen);
    e.dst_mask = Mask(dlen);
    e.src = addr() & e.src_mask;
    e.dst = addr() & e.dst_mask;
    e.proto = kProtos[pick(5)];
    e.sport_hi = e.dport_hi = 65535;
    if (e.proto != 0 && e.proto != IPPROTO_ICMP && pick(2)) {
      e.sport_lo = static_cast<uint16_t>(pick(3) ? 0 : pick(2000));
      e.sport_hi = static_cast<uint16_t>(pick(3) ? 65535 : e.sport_lo + pick(100));
      e.dport_lo = static_cast<uint16_t>(pick(100));
      e.dport_hi = static_cast<uint16_t>(e.dport_lo + pick(50));
      e.has_ports = true;
    }
    e.action = static_cast<PolicyAction>(1 + pick(3));
    list.push_back(e);
  }
  const SpdDirection d = Direction(list);
  int matched = 0, checked = 0;
  for (int burst = 0; burst < 500; ++burst) {
    PacketSelector sel[64];
    const PolicyEntry* got[64];
    for (auto& s : sel) {
      const uint8_t proto = kProtos[1 + pick(4)];
      const bool ports = proto != IPPROTO_ICMP && pick(8) != 0;  // else a later fragment
      // A quarter of the addresses outside every pool but /0.
      auto paddr = [&] { return pick(4) == 0 ? htonl(0xac100000u | pick(65536)) : addr(); };
      s = {paddr(), paddr(), proto, static_cast<uint16_t>(ports ? pick(2100) : 0),
           static_cast<uint16_t>(ports ? pick(160) : 0)};
    }
    d.Classify(sel, got, 64);
    for (int i = 0; i < 64; ++i) {
      const PolicyEntry* want = Spd::Find(d.entries.data(), d.n, sel[i]);
      INFO("packet " << burst * 64 + i);
      REQUIRE(got[i] == want);
      matched += want != nullptr;
      ++checked;
    }
  }
  // Both outcomes are exercised.
  CHECK(matched > checked / 10);
  CHECK(matched < checked);
  // Just past the linear search's size the ACL answers, as the search would.
  const std::vector<PolicyEntry> few(list.begin(),
                                     list.begin() + SpdDirection::kLinearPolicies + 1);
  const SpdDirection small = Direction(few);
  for (int i = 0; i < 2000; ++i) {
    const PacketSelector p = {addr(), addr(), kProtos[1 + pick(4)],
                              static_cast<uint16_t>(pick(2100)), static_cast<uint16_t>(pick(160))};
    REQUIRE(small.Find(p) == Spd::Find(small.entries.data(), small.n, p));
  }
}

TEST_CASE("SPD: a packet's selector carries TCP, UDP and SCTP ports", "[tables][spd]") {
  for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}, uint8_t{IPPROTO_SCTP}}) {
    auto p = Ipv4(proto, kPorts);
    PacketSelector s = SelectorOf(p.data(), 20, static_cast<uint32_t>(p.size()));
    CHECK(s.src == Ip("10.1.0.5"));
    CHECK(s.dst == Ip("10.2.0.7"));
    CHECK(s.proto == proto);
    CHECK(s.sport == 1234);
    CHECK(s.dport == 443);
  }
}

TEST_CASE("SPD: ports sit after the IP options", "[tables][spd]") {
  auto p = Ipv4(IPPROTO_UDP, kPorts, /*options=*/4);
  std::fill(p.begin() + 20, p.begin() + 24, 0x01);  // NOPs
  REQUIRE(p[0] == 0x46);
  PacketSelector s = SelectorOf(p.data(), 24, static_cast<uint32_t>(p.size()));
  CHECK(s.sport == 1234);
  CHECK(s.dport == 443);
}

TEST_CASE("SPD: no ports for other protocols, later fragments or short packets", "[tables][spd]") {
  auto icmp = Ipv4(IPPROTO_ICMP, kPorts);
  PacketSelector s = SelectorOf(icmp.data(), 20, static_cast<uint32_t>(icmp.size()));
  CHECK(s.proto == IPPROTO_ICMP);
  CHECK(s.sport == 0);
  CHECK(s.dport == 0);

  // A later fragment's payload is not a UDP header; the first fragment's (MF set) is.
  auto later = Ipv4(IPPROTO_UDP, kPorts, 0, /*frag=*/185);
  s = SelectorOf(later.data(), 20, static_cast<uint32_t>(later.size()));
  CHECK(s.sport == 0);
  CHECK(s.dport == 0);
  auto first = Ipv4(IPPROTO_UDP, kPorts, 0, /*frag=*/0x2000);
  s = SelectorOf(first.data(), 20, static_cast<uint32_t>(first.size()));
  CHECK(s.sport == 1234);
  CHECK(s.dport == 443);

  // Fewer than four bytes after the header: nothing read past what is there.
  auto full = Ipv4(IPPROTO_TCP, kPorts);
  s = SelectorOf(full.data(), 20, 23);
  CHECK(s.sport == 0);
  CHECK(s.dport == 0);
  CHECK(s.proto == IPPROTO_TCP);
  s = SelectorOf(full.data(), 20, 24);
  CHECK(s.sport == 1234);
}

// ---- IPv6 ---------------------------------------------------------------------------------

std::array<uint8_t, 16> Ip6(const char* s) {
  std::array<uint8_t, 16> a{};
  REQUIRE(inet_pton(AF_INET6, s, a.data()) == 1);
  return a;
}

// An IPv6 policy as the command applier builds one: prefixes with their host bits zero.
PolicyEntry Policy6(const char* src, uint8_t src_len, const char* dst, uint8_t dst_len,
                    PolicyAction action = PolicyAction::kProtect, uint8_t proto = 0,
                    uint16_t sport_lo = 0, uint16_t sport_hi = 65535, uint16_t dport_lo = 0,
                    uint16_t dport_hi = 65535) {
  PolicyEntry e{};
  auto masked = [](std::array<uint8_t, 16> a, uint8_t len) {
    for (int i = 0; i < 16; ++i) {
      const int bits = std::clamp(static_cast<int>(len) - 8 * i, 0, 8);
      a[i] &= static_cast<uint8_t>(0xff00u >> bits);
    }
    return a;
  };
  const auto s = masked(Ip6(src), src_len), d = masked(Ip6(dst), dst_len);
  std::copy(s.begin(), s.end(), e.src6);
  std::copy(d.begin(), d.end(), e.dst6);
  e.src6_len = src_len;
  e.dst6_len = dst_len;
  e.proto = proto;
  e.sport_lo = sport_lo;
  e.sport_hi = sport_hi;
  e.dport_lo = dport_lo;
  e.dport_hi = dport_hi;
  e.has_ports = sport_lo != 0 || sport_hi != 65535 || dport_lo != 0 || dport_hi != 65535;
  e.action = action;
  return e;
}

PacketSelector6 Packet6(const char* src, const char* dst, uint8_t proto = IPPROTO_UDP,
                        uint16_t sport = 0, uint16_t dport = 0) {
  PacketSelector6 p{};
  const auto s = Ip6(src), d = Ip6(dst);
  std::copy(s.begin(), s.end(), p.src);
  std::copy(d.begin(), d.end(), p.dst);
  p.proto = proto;
  p.sport = sport;
  p.dport = dport;
  return p;
}

SpdDirection Direction6(std::vector<PolicyEntry> entries) {
  test::EnsureEal();
  static int n = 0;
  SpdDirection d;
  d.entries = std::move(entries);
  d.n = static_cast<uint32_t>(d.entries.size());
  if (d.n) {
    auto acl = CompileSpd6("ut_spd6_" + std::to_string(n++), d.entries);
    REQUIRE(acl.ok());
    d.acl = *acl;
  }
  return d;
}

// Padded past the linear search's size with policies nothing below matches, so the ACL answers.
std::vector<PolicyEntry> PastLinear(std::vector<PolicyEntry> list) {
  while (list.size() <= SpdDirection::kLinearPolicies)
    list.push_back(Policy6("3fff:ffff::", 32, "3fff:ffff::", 32, PolicyAction::kDiscard));
  return list;
}

TEST_CASE("SPD6: prefixes of any length select by source and destination", "[tables][spd]") {
  for (bool acl : {false, true}) {
    INFO("acl " << acl);
    auto dir = [&](std::vector<PolicyEntry> l) {
      return Direction6(acl ? PastLinear(std::move(l)) : std::move(l));
    };
    const SpdDirection d = dir({Policy6("2001:db8:1::", 48, "2001:db8:2::", 64)});
    CHECK(d.Find6(Packet6("2001:db8:1::1", "2001:db8:2::1")) == &d.entries[0]);
    CHECK(d.Find6(Packet6("2001:db8:1:ffff::1", "2001:db8:2::ffff:1")) == &d.entries[0]);
    CHECK(d.Find6(Packet6("2001:db8:3::1", "2001:db8:2::1")) == nullptr);
    CHECK(d.Find6(Packet6("2001:db8:1::1", "2001:db8:2:1::1")) == nullptr);  // past the /64
    CHECK(d.Find6(Packet6("2001:db8:2::1", "2001:db8:1::1")) == nullptr);    // reversed
    // Prefix lengths that end inside a byte and inside each 32-bit word.
    for (uint8_t len : {uint8_t{0}, uint8_t{1}, uint8_t{31}, uint8_t{33}, uint8_t{57}, uint8_t{64},
                        uint8_t{95}, uint8_t{97}, uint8_t{127}, uint8_t{128}}) {
      INFO("len " << int{len});
      const SpdDirection p = dir({Policy6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", len, "::", 0)});
      auto a = Ip6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
      PacketSelector6 in = Packet6("::", "2001:db8::9");
      std::copy(a.begin(), a.end(), in.src);
      CHECK(p.Find6(in) == &p.entries[0]);
      if (len == 0) continue;
      // Flip the prefix's last bit: outside; the first host bit: inside.
      PacketSelector6 out = in;
      out.src[(len - 1) / 8] ^= static_cast<uint8_t>(0x80u >> ((len - 1) % 8));
      CHECK(p.Find6(out) == nullptr);
      if (len < 128) {
        PacketSelector6 host = in;
        host.src[len / 8] ^= static_cast<uint8_t>(0x80u >> (len % 8));
        CHECK(p.Find6(host) == &p.entries[0]);
      }
    }
  }
}

TEST_CASE("SPD6: protocol, ports and the first match in list order", "[tables][spd]") {
  for (bool acl : {false, true}) {
    INFO("acl " << acl);
    std::vector<PolicyEntry> l = {
        Policy6("2001:db8:1::", 48, "2001:db8:2::5", 128, PolicyAction::kBypass),
        Policy6("2001:db8:1::", 48, "2001:db8:2::", 48, PolicyAction::kDiscard, IPPROTO_TCP, 0,
                65535, 23, 23),
        Policy6("2001:db8:1::", 48, "2001:db8:2::", 48, PolicyAction::kProtect),
    };
    const SpdDirection d = Direction6(acl ? PastLinear(l) : l);
    CHECK(d.Find6(Packet6("2001:db8:1::1", "2001:db8:2::5")) == &d.entries[0]);
    CHECK(d.Find6(Packet6("2001:db8:1::1", "2001:db8:2::6", IPPROTO_TCP, 5000, 23)) ==
          &d.entries[1]);
    CHECK(d.Find6(Packet6("2001:db8:1::1", "2001:db8:2::6", IPPROTO_TCP, 5000, 22)) ==
          &d.entries[2]);
    CHECK(d.Find6(Packet6("2001:db8:1::1", "2001:db8:2::6", IPPROTO_UDP, 5000, 23)) ==
          &d.entries[2]);
    CHECK(d.Find6(Packet6("2001:db8:1::1", "2001:db8:2::6", IPPROTO_ICMPV6)) == &d.entries[2]);
    CHECK(d.Find6(Packet6("2001:db8:9::1", "2001:db8:2::6")) == nullptr);
  }
}

TEST_CASE("SPD6: thousands of random policies classify as the linear search does",
          "[tables][spd]") {
  // As the IPv4 case: prefixes from small pools so that policies overlap, lengths in every
  // word of the address, some with a protocol and port ranges; Matches6 in list order is the
  // reference.
  std::mt19937 rnd(4302);
  auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rnd() % n); };
  // 2001:db8:<a>::<b>:<c> with a few values each, and a few bits set low in the address.
  auto addr = [&](PacketSelector6* s, bool src) {
    uint8_t* a = src ? s->src : s->dst;
    std::memset(a, 0, 16);
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[5] = static_cast<uint8_t>(pick(4));
    a[9] = static_cast<uint8_t>(pick(2) << 7);
    a[13] = static_cast<uint8_t>(pick(4));
    a[15] = static_cast<uint8_t>(pick(8));
  };
  const uint8_t kLens[] = {0, 32, 40, 44, 48, 64, 65, 72, 96, 100, 104, 110, 120, 126, 128};
  const uint8_t kProtos[] = {0, 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6};
  std::vector<PolicyEntry> list;
  for (int i = 0; i < 3000; ++i) {
    PacketSelector6 a{};
    addr(&a, true);
    addr(&a, false);
    PolicyEntry e{};
    e.src6_len = kLens[1 + pick(14)];
    e.dst6_len = kLens[pick(50) == 0 ? 0 : 1 + pick(14)];
    for (int b = 0; b < 16; ++b) {
      e.src6[b] = static_cast<uint8_t>(
          a.src[b] & (0xff00u >> std::clamp(static_cast<int>(e.src6_len) - 8 * b, 0, 8)));
      e.dst6[b] = static_cast<uint8_t>(
          a.dst[b] & (0xff00u >> std::clamp(static_cast<int>(e.dst6_len) - 8 * b, 0, 8)));
    }
    e.proto = kProtos[pick(5)];
    e.sport_hi = e.dport_hi = 65535;
    if (e.proto != 0 && e.proto != IPPROTO_ICMPV6 && pick(2)) {
      e.sport_lo = static_cast<uint16_t>(pick(3) ? 0 : pick(2000));
      e.sport_hi = static_cast<uint16_t>(pick(3) ? 65535 : e.sport_lo + pick(100));
      e.dport_lo = static_cast<uint16_t>(pick(100));
      e.dport_hi = static_cast<uint16_t>(e.dport_lo + pick(50));
      e.has_ports = true;
    }
    e.action = static_cast<PolicyAction>(1 + pick(3));
    list.push_back(e);
  }
  const SpdDirection d = Direction6(list);
  int matched = 0, checked = 0;
  for (int burst = 0; burst < 400; ++burst) {
    PacketSelector6 sel[64];
    const PolicyEntry* got[64];
    for (auto& s : sel) {
      addr(&s, true);
      addr(&s, false);
      if (pick(4) == 0) s.src[2] = 0x0e;  // 2001:eb8::, outside every source prefix
      s.proto = kProtos[1 + pick(4)];
      const bool ports = s.proto != IPPROTO_ICMPV6 && pick(8) != 0;
      s.sport = static_cast<uint16_t>(ports ? pick(2100) : 0);
      s.dport = static_cast<uint16_t>(ports ? pick(160) : 0);
    }
    d.Classify6(sel, got, 64);
    for (int i = 0; i < 64; ++i) {
      const PolicyEntry* want = Spd::Find6(d.entries.data(), d.n, sel[i]);
      INFO("packet " << burst * 64 + i);
      REQUIRE(got[i] == want);
      matched += want != nullptr;
      ++checked;
    }
  }
  CHECK(matched > checked / 10);
  CHECK(matched < checked);
}

// An IPv6 header followed by `ext` (extension headers, already chained) and `l4`.
std::vector<uint8_t> Ipv6(uint8_t first_nh, std::vector<uint8_t> ext, std::vector<uint8_t> l4) {
  std::vector<uint8_t> p(40);
  p[0] = 0x60;
  p[6] = first_nh;
  p[7] = 64;
  const auto s = Ip6("2001:db8:1::5"), d = Ip6("2001:db8:2::7");
  std::copy(s.begin(), s.end(), p.begin() + 8);
  std::copy(d.begin(), d.end(), p.begin() + 24);
  p.insert(p.end(), ext.begin(), ext.end());
  p.insert(p.end(), l4.begin(), l4.end());
  const size_t payload = p.size() - 40;
  p[4] = static_cast<uint8_t>(payload >> 8);
  p[5] = static_cast<uint8_t>(payload);
  return p;
}

TEST_CASE("SPD6: a packet's selector: addresses, protocol and ports past the header",
          "[tables][spd]") {
  auto p = Ipv6(IPPROTO_TCP, {}, kPorts);
  PacketSelector6 s =
      SelectorOf6(p.data(), 40, IPPROTO_TCP, false, static_cast<uint32_t>(p.size()));
  CHECK(std::equal(s.src, s.src + 16, Ip6("2001:db8:1::5").begin()));
  CHECK(std::equal(s.dst, s.dst + 16, Ip6("2001:db8:2::7").begin()));
  CHECK(s.proto == IPPROTO_TCP);
  CHECK(s.sport == 1234);
  CHECK(s.dport == 443);
  // After an 8-byte destination options header.
  auto q = Ipv6(60, {IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0}, kPorts);
  s = SelectorOf6(q.data(), 48, IPPROTO_UDP, false, static_cast<uint32_t>(q.size()));
  CHECK(s.sport == 1234);
  CHECK(s.dport == 443);
  // A later fragment, ICMPv6, or too short: no ports.
  s = SelectorOf6(p.data(), 40, IPPROTO_TCP, true, static_cast<uint32_t>(p.size()));
  CHECK(s.proto == IPPROTO_TCP);
  CHECK(s.sport == 0);
  s = SelectorOf6(p.data(), 40, IPPROTO_ICMPV6, false, static_cast<uint32_t>(p.size()));
  CHECK(s.sport == 0);
  s = SelectorOf6(p.data(), 40, IPPROTO_TCP, false, 43);
  CHECK(s.sport == 0);
  s = SelectorOf6(p.data(), 40, IPPROTO_TCP, false, 44);
  CHECK(s.sport == 1234);
}

TEST_CASE("SPD6: IPv6 policies are their own lists: IPv4 ones never see IPv6", "[tables][spd]") {
  // An IPv6 entry's IPv4 fields are zero: read as IPv4 it would be 0.0.0.0/0 and match all.
  const PolicyEntry v6 = Policy6("2001:db8::", 32, "2001:db8::", 32);
  CHECK(v6.src_mask == 0);
  const SpdDirection d = Direction6(PastLinear({v6}));
  CHECK(d.Find6(Packet6("2001:db8::1", "2001:db8::2")) == &d.entries[0]);
  CHECK(d.Find6(Packet6("2001:db9::1", "2001:db8::2")) == nullptr);
}

}  // namespace
}  // namespace portcullis::dp
