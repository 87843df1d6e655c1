// Vyatta's match values as range sets, and rules as the entries the dataplane gets.
#include "control/config/firewall_match.h"

#include <catch2/catch.hpp>

#include "control/config/icmp_names.h"

using namespace portcullis::config;

namespace {

constexpr uint32_t Ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

using Addrs = std::vector<FwAddrRange>;
using Ports = std::vector<FwPortRange>;
using Protos = std::vector<FwProtoRange>;

}  // namespace

TEST_CASE("addresses: prefix, range, address, negation, group", "[firewall]") {
  FwGroups none;
  CHECK(*ExpandAddress("", none) == Addrs{{0, 0xffffffffu}});
  CHECK(*ExpandAddress("10.1.0.0/24", none) == Addrs{{Ip(10, 1, 0, 0), Ip(10, 1, 0, 255)}});
  CHECK(*ExpandAddress("0.0.0.0/0", none) == Addrs{{0, 0xffffffffu}});
  CHECK(*ExpandAddress("192.0.2.7", none) == Addrs{{Ip(192, 0, 2, 7), Ip(192, 0, 2, 7)}});
  CHECK(*ExpandAddress("10.0.0.5-10.0.0.9", none) == Addrs{{Ip(10, 0, 0, 5), Ip(10, 0, 0, 9)}});
  // `!` is the complement: two ranges around the prefix, none around everything.
  CHECK(*ExpandAddress("!10.0.0.0/8", none) ==
        Addrs{{0, Ip(9, 255, 255, 255)}, {Ip(11, 0, 0, 0), 0xffffffffu}});
  CHECK(*ExpandAddress("!0.0.0.0/0", none) == Addrs{});
  CHECK(*ExpandAddress("!0.0.0.0", none) == Addrs{{1, 0xffffffffu}});
  std::map<std::string, std::vector<std::string>> groups = {
      {"PEERS", {"10.0.0.0/25", "10.0.0.128/25", "192.0.2.1", "172.16.0.1-172.16.0.3"}}};
  FwGroups g{&groups, nullptr};
  // Adjacent halves merge into one range.
  CHECK(*ExpandAddress("PEERS", g) == Addrs{{Ip(10, 0, 0, 0), Ip(10, 0, 0, 255)},
                                            {Ip(172, 16, 0, 1), Ip(172, 16, 0, 3)},
                                            {Ip(192, 0, 2, 1), Ip(192, 0, 2, 1)}});
  CHECK(ExpandAddress("!PEERS", g)->size() == 4);
  CHECK(ExpandAddress("NOPE", g).status().message() == "address-group 'NOPE' does not exist");
  CHECK(absl::IsInvalidArgument(ExpandAddress("2001:db8::/32", none).status()));
}

namespace {
absl::uint128 V6(uint64_t hi, uint64_t lo) {
  return absl::MakeUint128(hi, lo);
}
}  // namespace

TEST_CASE("IPv6 addresses: prefixes, ranges cut into prefixes, negation in its family",
          "[firewall][ipv6]") {
  FwGroups none;
  auto p = ExpandAddressSets("2001:db8::/32", none);
  REQUIRE(p.ok());
  CHECK(!p->has4);
  CHECK(p->has6);
  REQUIRE(p->v6.size() == 1);
  CHECK(p->v6[0] == FwAddr6Range{V6(0x20010db800000000, 0), V6(0x20010db8ffffffff, ~0ull)});
  // 2001:db8::1-2001:db8::6: /128, /127, /127, /128.
  auto r = ExpandAddressSets("2001:db8::1-2001:db8::6", none);
  REQUIRE(r.ok());
  REQUIRE(r->v6.size() == 4);
  CHECK(r->v6[1] == FwAddr6Range{V6(0x20010db800000000, 2), V6(0x20010db800000000, 3)});
  // `!` complements within IPv6 only: IPv4 packets are not matched by it.
  auto n = ExpandAddressSets("!::/1", none);
  REQUIRE(n.ok());
  CHECK(!n->has4);
  REQUIRE(n->v6.size() == 1);
  CHECK(n->v6[0] == FwAddr6Range{V6(0x8000000000000000, 0), absl::Uint128Max()});
  // A group of both families, and "" (any) of both.
  std::map<std::string, std::vector<std::string>> groups = {
      {"MIXED", {"10.0.0.0/8", "2001:db8::1"}}};
  FwGroups g{&groups, nullptr};
  auto m = ExpandAddressSets("MIXED", g);
  REQUIRE(m.ok());
  CHECK((m->has4 && m->has6));
  CHECK(m->v4.size() == 1);
  CHECK(m->v6.size() == 1);
  auto any = ExpandAddressSets("", none);
  CHECK((any->has4 && any->has6));
  CHECK(!ExpandAddressSets("10.0.0.1-2001:db8::1", none).ok());
}

TEST_CASE("IPv6 rules: families from addresses, protocol, icmpv6 and the ruleset",
          "[firewall][ipv6]") {
  FirewallRule r;
  r.action = "accept";
  r.protocol = "udp";
  r.destination_port = "53";
  // No address: both families, IPv4's entries first.
  auto both = ExpandRule(r, {});
  REQUIRE(both.ok());
  REQUIRE(both->size() == 2);
  CHECK((*both)[0].family == 4);
  CHECK((*both)[1].family == 6);
  CHECK((*both)[1].src6 == FwAddr6Range{0, absl::Uint128Max()});
  CHECK((*both)[1].dport == FwPortRange{53, 53});
  // The ruleset's family (VyOS `firewall ipv4|ipv6 name`).
  r.family = 4;
  CHECK(ExpandRule(r, {})->size() == 1);
  r.family = 6;
  REQUIRE(ExpandRule(r, {})->size() == 1);
  CHECK((*ExpandRule(r, {}))[0].family == 6);
  r.family = 0;
  // An IPv6 address: IPv6 only.
  r.source_address = "2001:db8:1::/64";
  auto v6 = ExpandRule(r, {});
  REQUIRE(v6->size() == 1);
  CHECK((*v6)[0].family == 6);
  // icmpv6 name: protocol 58 implied, type and code in place; IPv6 only.
  FirewallRule e;
  e.action = "accept";
  REQUIRE(FindIcmp6Name("echo-request"));
  CHECK(FindIcmp6Name("echo-request")->type == 128);
  CHECK(FindIcmp6Name("nd-neighbor-solicit")->type == 135);  // VyOS's names too
  CHECK(FindIcmp6Name("port-unreachable")->code == 4);
  e.icmpv6_type = 128;
  auto echo = ExpandRule(e, {});
  REQUIRE(echo.ok());
  REQUIRE(echo->size() == 1);
  CHECK((*echo)[0].family == 6);
  CHECK((*echo)[0].proto == FwProtoRange{58, 58});
  CHECK((*echo)[0].icmp_type == FwProtoRange{128, 128});
  CHECK((*echo)[0].icmp_code == FwProtoRange{0, 255});
  // protocol icmp: IPv4 only; with an IPv6 address: nothing to match.
  FirewallRule i4;
  i4.action = "accept";
  i4.protocol = "icmp";
  CHECK(ExpandRule(i4, {})->size() == 1);
  i4.destination_address = "2001:db8::1";
  CHECK(ExpandRule(i4, {})->empty());
  // icmp and icmpv6 at once cannot be expanded.
  e.icmp_type = 8;
  CHECK(!ExpandRule(e, {}).ok());
}

TEST_CASE("ports: lists, ranges, names, negation, group", "[firewall]") {
  FwGroups none;
  CHECK(*ExpandPorts("", none) == Ports{{0, 65535}});
  CHECK(*ExpandPorts("22,80,443", none) == Ports{{22, 22}, {80, 80}, {443, 443}});
  CHECK(*ExpandPorts("https,http,1000-2000,1500-2500", none) ==
        Ports{{80, 80}, {443, 443}, {1000, 2500}});
  CHECK(*ExpandPorts("isakmp,ipsec-nat-t", none) == Ports{{500, 500}, {4500, 4500}});
  CHECK(*ExpandPorts("!22", none) == Ports{{0, 21}, {23, 65535}});
  CHECK(*ExpandPorts("!1-1023", none) == Ports{{0, 0}, {1024, 65535}});
  CHECK(*ExpandPorts("22,23,24", none) == Ports{{22, 24}});
  std::map<std::string, std::vector<std::string>> groups = {{"WEB", {"http", "8000-8080"}}};
  FwGroups g{nullptr, &groups};
  CHECK(*ExpandPorts("WEB", g) == Ports{{80, 80}, {8000, 8080}});
  CHECK(*ExpandPorts("!WEB", g) == Ports{{0, 79}, {81, 7999}, {8081, 65535}});
}

TEST_CASE("protocols: names, numbers, tcp_udp, all, negation", "[firewall]") {
  CHECK(*ExpandProtocol("") == Protos{{0, 255}});
  CHECK(*ExpandProtocol("all") == Protos{{0, 255}});
  CHECK(*ExpandProtocol("esp") == Protos{{50, 50}});
  CHECK(*ExpandProtocol("50") == Protos{{50, 50}});
  CHECK(*ExpandProtocol("tcp_udp") == Protos{{6, 6}, {17, 17}});
  CHECK(*ExpandProtocol("!tcp") == Protos{{0, 5}, {7, 255}});
  CHECK(*ExpandProtocol("!tcp_udp") == Protos{{0, 5}, {7, 16}, {18, 255}});
  CHECK(*ExpandProtocol("!all") == Protos{});
}

TEST_CASE("a rule is the cross product of its sets", "[firewall]") {
  FirewallRule r;
  r.number = 10;
  r.action = "accept";
  r.protocol = "tcp_udp";
  r.source_address = "!10.0.0.0/8";
  r.destination_port = "500,4500";
  auto e = ExpandRule(r, {});
  REQUIRE(e.ok());
  // 2 protocols x 2 source ranges x 2 ports.
  REQUIRE(e->size() == 8);
  CHECK((*e)[0].proto == FwProtoRange{6, 6});
  CHECK((*e)[0].src == FwAddrRange{0, Ip(9, 255, 255, 255)});
  CHECK((*e)[0].dport == FwPortRange{500, 500});
  CHECK((*e)[1].dport == FwPortRange{4500, 4500});
  CHECK((*e)[2].src == FwAddrRange{Ip(11, 0, 0, 0), 0xffffffffu});
  CHECK((*e)[4].proto == FwProtoRange{17, 17});
  CHECK((*e)[7].dport == FwPortRange{4500, 4500});
  for (const FwEntry& x : *e) {
    CHECK(x.sport == FwPortRange{0, 65535});
    CHECK(x.dst == FwAddrRange{0, 0xffffffffu});
    CHECK(x.icmp_type == FwProtoRange{0, 0});  // zero for non-ICMP entries
  }
}

TEST_CASE("icmp names become type and code; other protocols carry no ports", "[firewall]") {
  REQUIRE(FindIcmpName("echo-request"));
  CHECK(FindIcmpName("echo-request")->type == 8);
  CHECK(FindIcmpName("echo-request")->code == -1);
  CHECK(FindIcmpName("port-unreachable")->type == 3);
  CHECK(FindIcmpName("port-unreachable")->code == 3);
  CHECK_FALSE(FindIcmpName("echo"));
  FirewallRule r;
  r.action = "accept";
  r.icmp_type = 8;  // from `icmp name echo-request`: the protocol is implied
  auto e = ExpandRule(r, {});
  REQUIRE(e.ok());
  REQUIRE(e->size() == 1);
  CHECK((*e)[0].proto == FwProtoRange{1, 1});
  CHECK((*e)[0].icmp_type == FwProtoRange{8, 8});
  CHECK((*e)[0].icmp_code == FwProtoRange{0, 255});
  // Plain icmp: any type and code.
  r.icmp_type = -1;
  r.protocol = "icmp";
  CHECK((*ExpandRule(r, {}))[0].icmp_type == FwProtoRange{0, 255});
  // ESP: no ports, no ICMP fields.
  r.protocol = "esp";
  auto esp = ExpandRule(r, {});
  CHECK((*esp)[0].proto == FwProtoRange{50, 50});
  CHECK((*esp)[0].dport == FwPortRange{0, 65535});
  CHECK((*esp)[0].icmp_code == FwProtoRange{0, 0});
  // An ICMP match with another protocol, or ports with a portless one, cannot be expanded.
  r.icmp_type = 8;
  CHECK_FALSE(ExpandRule(r, {}).ok());
  r.icmp_type = -1;
  r.destination_port = "80";
  CHECK_FALSE(ExpandRule(r, {}).ok());
}

TEST_CASE("too big an expansion is refused; a rule matching nothing has no entry", "[firewall]") {
  FirewallRule r;
  r.action = "drop";
  r.protocol = "tcp";
  std::string ports;
  for (int p = 1; p < 2 * 1025; p += 2) ports += (ports.empty() ? "" : ",") + std::to_string(p);
  r.destination_port = ports;  // 1025 single ports, none adjacent
  auto e = ExpandRule(r, {});
  CHECK(absl::IsResourceExhausted(e.status()));
  r.destination_port = "";
  r.source_address = "!0.0.0.0/0";
  CHECK(ExpandRule(r, {})->empty());
}

TEST_CASE("state matches become the contract's bits", "[firewall]") {
  FirewallRule r;
  CHECK(FwStateMask(r) == 0);
  r.match_state = {"established", "related"};
  CHECK(FwStateMask(r) == 0x6);
  r.match_state = {"new", "invalid"};
  CHECK(FwStateMask(r) == 0x9);
}
