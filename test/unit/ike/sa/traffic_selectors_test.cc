// Traffic selector arithmetic (ike/sa/traffic_selectors.cc): prefixes as ranges, the
// intersection a responder narrows to, the subset check an initiator applies to the answer, and
// strongSwan's text form in logs and `show` output.
#include "ike/sa/traffic_selectors.h"

#include <catch2/catch.hpp>

using namespace portcullis::ike;

namespace {

TrafficSelector Ts(const std::string& prefix, uint8_t protocol = 0, uint16_t from = 0,
                   uint16_t to = 65535) {
  auto slash = prefix.find('/');
  return TsFromPrefix(*Address::Parse(prefix.substr(0, slash)), std::stoi(prefix.substr(slash + 1)),
                      protocol, from, to);
}

std::string Str(const std::optional<TrafficSelector>& ts) {
  return ts ? TsToString(*ts) : "(none)";
}

std::string Str(const std::vector<TrafficSelector>& list) {
  return TsListToString(list);
}

}  // namespace

TEST_CASE("a prefix is the range of its addresses, host bits cleared", "[traffic_selectors]") {
  TrafficSelector ts = Ts("10.1.2.3/23");
  CHECK(ts.type == TsType::kIpv4AddrRange);
  CHECK(ts.start_address == Bytes{10, 1, 2, 0});
  CHECK(ts.end_address == Bytes{10, 1, 3, 255});
  CHECK(ts.ip_protocol == 0);
  CHECK(ts.start_port == 0);
  CHECK(ts.end_port == 65535);
  CHECK(Ts("192.0.2.7/32").start_address == Ts("192.0.2.7/32").end_address);
  CHECK(TsAny() == Ts("0.0.0.0/0"));
  CHECK(TsAny(6).type == TsType::kIpv6AddrRange);
  CHECK(TsAny(6).end_address == Bytes(16, 0xFF));
}

TEST_CASE("intersection: addresses, protocol and ports must all overlap", "[traffic_selectors]") {
  CHECK(Str(IntersectTs(Ts("10.1.0.0/16"), Ts("10.1.7.0/24"))) == "10.1.7.0/24");
  CHECK(Str(IntersectTs(Ts("10.1.7.0/24"), Ts("10.1.0.0/16"))) == "10.1.7.0/24");
  CHECK(Str(IntersectTs(Ts("10.1.0.0/24"), Ts("10.2.0.0/24"))) == "(none)");
  CHECK(Str(IntersectTs(Ts("10.1.0.0/24"), TsAny(6))) == "(none)");
  // Any protocol narrows to the specific one; two different ones do not meet.
  CHECK(Str(IntersectTs(Ts("10.1.0.0/24"), Ts("10.0.0.0/8", 6))) == "10.1.0.0/24[tcp]");
  CHECK(Str(IntersectTs(Ts("10.1.0.0/24", 17), Ts("10.1.0.0/24", 6))) == "(none)");
  CHECK(Str(IntersectTs(Ts("10.1.0.0/24", 17, 500, 4500), Ts("10.1.0.0/24", 17, 4500, 65535))) ==
        "10.1.0.0/24[udp/4500]");
  CHECK(Str(IntersectTs(Ts("10.1.0.0/24", 6, 1, 79), Ts("10.1.0.0/24", 6, 80, 80))) == "(none)");
  // Ranges that are no prefix.
  CHECK(Str(IntersectTs(Ts("10.1.0.0/25"), Ts("10.1.0.64/26"))) == "10.1.0.64/26");
  TrafficSelector odd = Ts("10.1.0.0/24");
  odd.start_address = {10, 1, 0, 5};
  odd.end_address = {10, 1, 0, 200};
  CHECK(Str(IntersectTs(odd, Ts("10.1.0.128/25"))) == "10.1.0.128..10.1.0.200");
}

TEST_CASE("narrowing keeps every overlap in the proposed order, once", "[traffic_selectors]") {
  CHECK(Str(NarrowTs({Ts("10.1.0.0/16"), Ts("10.9.0.0/16")},
                     {Ts("10.9.1.0/24"), Ts("10.1.5.0/24"), Ts("10.1.6.0/24")})) ==
        "10.1.5.0/24 10.1.6.0/24 10.9.1.0/24");
  // Both proposed selectors cover the configured one: it is there once.
  CHECK(Str(NarrowTs({TsAny(), Ts("10.0.0.0/8")}, {Ts("10.1.0.0/24")})) == "10.1.0.0/24");
  // The route-based 0/0 against a specific peer, and the other way round.
  CHECK(Str(NarrowTs({TsAny()}, {Ts("10.2.0.0/24")})) == "10.2.0.0/24");
  CHECK(Str(NarrowTs({Ts("10.2.0.0/24")}, {TsAny()})) == "10.2.0.0/24");
  CHECK(NarrowTs({Ts("10.1.0.0/24")}, {Ts("172.16.0.0/24")}).empty());
  CHECK(NarrowTs({}, {TsAny()}).empty());
}

TEST_CASE("an answer is acceptable only within what was proposed", "[traffic_selectors]") {
  CHECK(TsSubset({Ts("10.1.7.0/24")}, {Ts("10.1.0.0/16")}));
  CHECK(TsSubset({Ts("10.1.7.0/24"), Ts("10.9.0.0/24")}, {Ts("10.1.0.0/16"), Ts("10.9.0.0/16")}));
  CHECK_FALSE(TsSubset({Ts("10.1.0.0/15")}, {Ts("10.1.0.0/16")}));
  CHECK_FALSE(TsSubset({Ts("10.1.7.0/24"), Ts("10.8.0.0/24")}, {Ts("10.1.0.0/16")}));
  CHECK(TsSubset({Ts("10.1.0.0/24", 6, 80, 80)}, {Ts("10.1.0.0/24")}));
  // Wider in protocol or ports than proposed: not a subset.
  CHECK_FALSE(TsSubset({Ts("10.1.0.0/24")}, {Ts("10.1.0.0/24", 6)}));
  CHECK_FALSE(TsSubset({Ts("10.1.0.0/24", 6, 80, 443)}, {Ts("10.1.0.0/24", 6, 80, 80)}));
}

TEST_CASE("selectors print as strongSwan prints them", "[traffic_selectors]") {
  CHECK(TsToString(Ts("10.1.0.0/24")) == "10.1.0.0/24");
  CHECK(TsToString(TsAny()) == "0.0.0.0/0");
  CHECK(TsToString(TsAny(6)) == "::/0");
  CHECK(TsToString(Ts("192.0.2.9/32")) == "192.0.2.9/32");
  CHECK(TsToString(Ts("2001:db8:1::/48")) == "2001:db8:1::/48");
  CHECK(TsToString(Ts("10.1.0.0/24", 6, 80, 80)) == "10.1.0.0/24[tcp/80]");
  CHECK(TsToString(Ts("10.1.0.0/24", 17, 500, 4500)) == "10.1.0.0/24[udp/500-4500]");
  CHECK(TsToString(Ts("10.1.0.0/24", 47)) == "10.1.0.0/24[gre]");
  TrafficSelector range = Ts("10.1.0.0/24");
  range.start_address = {10, 1, 0, 1};
  range.end_address = {10, 1, 0, 9};
  CHECK(TsToString(range) == "10.1.0.1..10.1.0.9");
  CHECK(TsListToString({Ts("10.1.0.0/24"), Ts("10.3.0.0/24")}) == "10.1.0.0/24 10.3.0.0/24");
  CHECK(TsListToString({}) == "");
  CHECK(ProtoName(1) == "icmp");
  CHECK(ProtoName(58) == "ipv6-icmp");
  CHECK(ProtoName(132) == "132");
}

TEST_CASE("a selector is a prefix only when its range is one", "[traffic_selectors]") {
  Address net;
  int len = -1;
  REQUIRE(TsAsPrefix(Ts("10.1.2.0/23"), &net, &len));
  CHECK(net.ToString() == "10.1.2.0");
  CHECK(len == 23);
  REQUIRE(TsAsPrefix(TsAny(), &net, &len));
  CHECK(len == 0);
  REQUIRE(TsAsPrefix(Ts("192.0.2.9/32"), &net, &len));
  CHECK(len == 32);
  TrafficSelector range = Ts("10.1.0.0/24");
  range.end_address = {10, 1, 0, 9};
  CHECK_FALSE(TsAsPrefix(range, &net, &len));
  range = Ts("10.1.0.0/24");
  range.start_address = {10, 1, 0, 1};  // right end, wrong start
  CHECK_FALSE(TsAsPrefix(range, &net, &len));
}
