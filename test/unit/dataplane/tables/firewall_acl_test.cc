// The firewall's ACL compiler: keys as on the wire against rules in host order (byte order is
// the classic way to get this wrong), inclusive range edges, the first rule by precedence
// winning over a later broader one, categories as session states, ICMP type and code in the
// ports' place, and a context of thousands of rules.
#include "dataplane/tables/firewall_acl.h"

#include <arpa/inet.h>
#include <rte_byteorder.h>

#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

FwAclRule Any(uint32_t userdata, uint32_t precedence) {
  FwAclRule r{};
  r.userdata = userdata;
  r.precedence = precedence;
  r.categories = 0x0f;
  r.proto_high = 255;
  r.src_high = r.dst_high = 0xffffffff;
  r.sport_high = r.dport_high = 65535;
  return r;
}

FwKey Key(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  return FwKey{proto,
               {},
               rte_cpu_to_be_32(src),
               rte_cpu_to_be_32(dst),
               rte_cpu_to_be_16(sport),
               rte_cpu_to_be_16(dport)};
}

// The result for each category.
std::array<uint32_t, kFwCategories> Classify(rte_acl_ctx* ctx, const FwKey& k) {
  const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&k)};
  std::array<uint32_t, kFwCategories> r{};
  REQUIRE(rte_acl_classify(ctx, data, r.data(), 1, kFwCategories) == 0);
  return r;
}

rte_acl_ctx* Compile(const std::vector<FwAclRule>& rules) {
  test::EnsureEal();
  static int n = 0;
  auto ctx = CompileFwAcl("ut_fwacl" + std::to_string(n++), rules);
  REQUIRE(ctx.ok());
  return *ctx;
}

}  // namespace

TEST_CASE("ACL: ranges in host order match keys in network order, edges included", "[firewall]") {
  FwAclRule r = Any(1, 10);
  r.proto_low = r.proto_high = 17;
  r.src_low = 0x0a010000;  // 10.1.0.0-10.1.0.127
  r.src_high = 0x0a01007f;
  r.dport_low = 1000;
  r.dport_high = 2000;
  rte_acl_ctx* ctx = Compile({r});
  CHECK(Classify(ctx, Key(17, 0x0a010000, 1, 5, 1000))[0] == 1);
  CHECK(Classify(ctx, Key(17, 0x0a01007f, 1, 5, 2000))[0] == 1);
  CHECK(Classify(ctx, Key(17, 0x0a010080, 1, 5, 1500))[0] == 0);
  CHECK(Classify(ctx, Key(17, 0x0a010001, 1, 5, 2001))[0] == 0);
  CHECK(Classify(ctx, Key(17, 0x0a010001, 1, 5, 999))[0] == 0);
  CHECK(Classify(ctx, Key(6, 0x0a010001, 1, 5, 1500))[0] == 0);
  // 1000 = 0x03e8: byte-swapped it would be 0xe803 = 59395.
  CHECK(Classify(ctx, Key(17, 0x0a010001, 1, 5, 59395))[0] == 0);
  rte_acl_free(ctx);
}

TEST_CASE("ACL: the lowest precedence wins whatever the order; categories are states",
          "[firewall]") {
  FwAclRule broad = Any(7, 30);
  FwAclRule narrow = Any(5, 20);
  narrow.proto_low = narrow.proto_high = 6;
  FwAclRule invalid_only = Any(3, 10);
  invalid_only.categories = 1u << kFwCatInvalid;
  rte_acl_ctx* ctx = Compile({broad, invalid_only, narrow});
  auto tcp = Classify(ctx, Key(6, 1, 2, 3, 4));
  CHECK(tcp[kFwCatNew] == 5);
  CHECK(tcp[kFwCatEstablished] == 5);
  CHECK(tcp[kFwCatRelated] == 5);
  CHECK(tcp[kFwCatInvalid] == 3);
  auto udp = Classify(ctx, Key(17, 1, 2, 3, 4));
  CHECK(udp[kFwCatNew] == 7);
  CHECK(udp[kFwCatInvalid] == 3);
  rte_acl_free(ctx);
}

TEST_CASE("ACL: ICMP type and code take the ports' place", "[firewall]") {
  FwAclRule echo = Any(2, 1);
  echo.proto_low = echo.proto_high = 1;
  echo.sport_low = echo.sport_high = 8;  // type 8
  echo.dport_low = 0;
  echo.dport_high = 255;
  FwAclRule unreach = Any(4, 2);
  unreach.proto_low = unreach.proto_high = 1;
  unreach.sport_low = unreach.sport_high = 3;
  unreach.dport_low = 0;
  unreach.dport_high = 4;
  rte_acl_ctx* ctx = Compile({echo, unreach});
  CHECK(Classify(ctx, Key(1, 1, 2, 8, 0))[0] == 2);
  CHECK(Classify(ctx, Key(1, 1, 2, 0, 0))[0] == 0);
  CHECK(Classify(ctx, Key(1, 1, 2, 3, 4))[0] == 4);
  CHECK(Classify(ctx, Key(1, 1, 2, 3, 5))[0] == 0);
  rte_acl_free(ctx);
}

TEST_CASE("ACL: 10,000 rules compile and the right one answers", "[firewall]") {
  std::vector<FwAclRule> rules;
  for (uint32_t i = 0; i < 10000; ++i) {
    FwAclRule r = Any(i + 1, i + 1);
    r.proto_low = r.proto_high = i % 2 ? 6 : 17;
    r.dst_low = 0x64400000 + (i << 8);  // 100.64.0.0/24, /24 after /24
    r.dst_high = r.dst_low + 255;
    r.dport_low = r.dport_high = static_cast<uint16_t>(1 + i % 60000);
    rules.push_back(r);
  }
  rte_acl_ctx* ctx = Compile(rules);
  for (uint32_t i : {0u, 1u, 4242u, 9999u}) {
    const uint32_t dst = 0x64400000 + (i << 8) + 77;
    CHECK(Classify(ctx, Key(i % 2 ? 6 : 17, 9, dst, 1, 1 + i % 60000))[0] == i + 1);
    CHECK(Classify(ctx, Key(i % 2 ? 17 : 6, 9, dst, 1, 1 + i % 60000))[0] == 0);
  }
  rte_acl_free(ctx);
}

}  // namespace portcullis::dp

namespace portcullis::dp {
namespace {

FwAclRule6 Any6(uint32_t userdata, uint32_t precedence) {
  FwAclRule6 r{};
  r.userdata = userdata;
  r.precedence = precedence;
  r.categories = 0x0f;
  r.proto_high = 255;
  r.sport_high = r.dport_high = 65535;
  return r;
}

void A6(const char* s, uint8_t* out) {
  REQUIRE(inet_pton(AF_INET6, s, out) == 1);
}

FwKey6 Key6(uint8_t proto, const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  FwKey6 k{};
  k.proto = proto;
  A6(src, k.src);
  A6(dst, k.dst);
  k.sport = rte_cpu_to_be_16(sport);
  k.dport = rte_cpu_to_be_16(dport);
  return k;
}

uint32_t Classify6(rte_acl_ctx* ctx, const FwKey6& k, uint32_t category = 0) {
  const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&k)};
  std::array<uint32_t, kFwCategories> r{};
  REQUIRE(rte_acl_classify(ctx, data, r.data(), 1, kFwCategories) == 0);
  return r[category];
}

rte_acl_ctx* Compile6(const std::vector<FwAclRule6>& rules) {
  test::EnsureEal();
  static int n = 0;
  auto ctx = CompileFwAcl6("ut_fwacl6_" + std::to_string(n++), rules);
  REQUIRE(ctx.ok());
  return *ctx;
}

// Prefixes as text, for comparing.
std::vector<std::string> Cut(const char* lo, const char* hi) {
  uint8_t l[16], h[16];
  A6(lo, l);
  A6(hi, h);
  std::vector<FwPrefix6> out;
  FwPrefixes6(l, h, &out);
  std::vector<std::string> s;
  for (const FwPrefix6& p : out) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, p.addr, buf, sizeof buf);
    s.push_back(std::string(buf) + "/" + std::to_string(p.len));
  }
  return s;
}

}  // namespace

TEST_CASE("ACL6: ranges cut into the fewest prefixes, exactly", "[firewall][ipv6]") {
  CHECK(Cut("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == std::vector<std::string>{"::/0"});
  CHECK(Cut("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff") ==
        std::vector<std::string>{"2001:db8::/64"});
  CHECK(Cut("2001:db8::1", "2001:db8::1") == std::vector<std::string>{"2001:db8::1/128"});
  CHECK(Cut("2001:db8::1", "2001:db8::6") ==
        (std::vector<std::string>{"2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/127",
                                  "2001:db8::6/128"}));
  // Across a 64-bit boundary (the halves of absl::uint128).
  CHECK(Cut("2001:db8:0:0:ffff:ffff:ffff:ffff", "2001:db8:0:1::") ==
        (std::vector<std::string>{"2001:db8::ffff:ffff:ffff:ffff/128", "2001:db8:0:1::/128"}));
  // The upper half of the space: one prefix.
  CHECK(Cut("8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") ==
        std::vector<std::string>{"8000::/1"});
}

TEST_CASE("ACL6: prefixes over the four words, ports, precedence and categories",
          "[firewall][ipv6]") {
  std::vector<FwAclRule6> rules;
  FwAclRule6 r = Any6(1, 10);  // udp from 2001:db8:1::/48 (the third word partly) to port 53
  r.proto_low = r.proto_high = 17;
  A6("2001:db8:1::", r.src);
  r.src_len = 48;
  r.dport_low = r.dport_high = 53;
  rules.push_back(r);
  FwAclRule6 h = Any6(2, 5);  // one host, its last word, before rule 1
  A6("2001:db8:1::dead:beef", h.dst);
  h.dst_len = 128;
  h.categories = 1u << kFwCatNew;
  rules.push_back(h);
  FwAclRule6 icmp = Any6(3, 20);  // ICMPv6 echo request: type in the source port's place
  icmp.proto_low = icmp.proto_high = 58;
  icmp.sport_low = icmp.sport_high = 128;
  icmp.dport_low = 0, icmp.dport_high = 255;
  rules.push_back(icmp);
  rte_acl_ctx* ctx = Compile6(rules);
  CHECK(Classify6(ctx, Key6(17, "2001:db8:1:ffff::1", "2001:db8:9::1", 1, 53)) == 1);
  CHECK(Classify6(ctx, Key6(17, "2001:db8:2::1", "2001:db8:9::1", 1, 53)) == 0);
  CHECK(Classify6(ctx, Key6(17, "2001:db8:1::1", "2001:db8:9::1", 1, 54)) == 0);
  CHECK(Classify6(ctx, Key6(17, "2001:db8:1::1", "2001:db8:1::dead:beef", 1, 53)) == 2);
  CHECK(Classify6(ctx, Key6(17, "2001:db8:1::1", "2001:db8:1::dead:beee", 1, 53)) == 1);
  // Rule 2 only in `new`: established falls to rule 1.
  CHECK(Classify6(ctx, Key6(17, "2001:db8:1::1", "2001:db8:1::dead:beef", 1, 53),
                  kFwCatEstablished) == 1);
  FwKey6 echo = Key6(58, "2001:db8:7::1", "2001:db8:9::1", 0, 0);
  echo.sport = rte_cpu_to_be_16(128);
  CHECK(Classify6(ctx, echo) == 3);
  echo.sport = rte_cpu_to_be_16(129);
  CHECK(Classify6(ctx, echo) == 0);
  rte_acl_free(ctx);
}

}  // namespace portcullis::dp
