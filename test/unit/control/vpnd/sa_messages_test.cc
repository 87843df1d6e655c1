// A CHILD SA as dataplane messages, IPv6 and mixed families (#21): the outer family and
// addresses of the SAs come from the IKE SA's addresses, the policies' from the selectors, and
// a CHILD SA with selectors of both families gets one pair of policies per same-family pair.
#include "control/vpnd/sa_messages.h"

#include <catch2/catch.hpp>

#include <cstring>

#include "control/vpnd/sa_message_text.h"
#include "ike/sa/traffic_selectors.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;
using dp::api::Family;
using dp::api::Message;

namespace {

ike::TrafficSelector Ts(const char* addr, int len) {
  return ike::TsFromPrefix(*ike::Address::Parse(addr), len);
}

void SetOuter(ike::ChildSa& c, const char* local, const char* remote) {
  c.local = ike::Endpoint{*ike::Address::Parse(local), 500};
  c.remote = ike::Endpoint{*ike::Address::Parse(remote), 500};
}

bool BytesAre(const dp::api::IpAddr& a, const char* text) {
  ike::Address want = *ike::Address::Parse(text);
  dp::api::IpAddr w{};
  std::memcpy(w.bytes, want.bytes.data(), want.family == 4 ? 4 : 16);
  return std::memcmp(a.bytes, w.bytes, sizeof w.bytes) == 0;
}

}  // namespace

TEST_CASE("SA messages over IPv6: outer family, both 16-byte addresses, encapsulation",
          "[vpnd][sa][ipv6]") {
  auto c = MakeChild(0xc0000101, 0xc0000202);
  SetOuter(*c, "2001:db8::1", "2001:db8::2");
  c->local_ts = {Ts("2001:db8:1::", 64)};
  c->remote_ts = {Ts("2001:db8:2::", 64)};
  c->encap = true;  // RFC 3948 over IPv6 (RFC 7296 2.23 allows NAT-T for either family)
  c->local.port = 4500;
  c->remote.port = 4501;
  auto msgs = vpnd::SaMessages(*c, 0, dp::api::Op::kAdd);
  REQUIRE(msgs.ok());
  REQUIRE(msgs->size() == 2);
  for (const Message& m : *msgs) {
    CHECK(m.body.sa.outer_family == Family::kIpv6);
    CHECK(BytesAre(m.body.sa.local, "2001:db8::1"));
    CHECK(BytesAre(m.body.sa.remote, "2001:db8::2"));
    CHECK(m.body.sa.udp_encap == 1);
    CHECK(m.body.sa.encap_src_port == 4500);
    CHECK(m.body.sa.encap_dst_port == 4501);
  }
  CHECK(vpnd::SaMessageText((*msgs)[0]) ==
        "sa in spi=c0000101 outer=ipv6 local=2001:db8::1 remote=2001:db8::2 "
        "udp-encap=4500->4501");
  CHECK(vpnd::SaMessageText((*msgs)[1]) ==
        "sa out spi=c0000202 outer=ipv6 local=2001:db8::1 remote=2001:db8::2 "
        "udp-encap=4500->4501");
}

TEST_CASE("IPv6 selectors become IPv6 policies; IPv4 inner over IPv6 outer and back",
          "[vpnd][sa][ipv6]") {
  SECTION("IPv6 inner") {
    auto c = MakeChild(0xc0000101, 0xc0000202);
    c->local_ts = {Ts("2001:db8:1::", 64)};
    c->remote_ts = {ike::TsFromPrefix(*ike::Address::Parse("2001:db8:2::"), 48, 6, 443, 443)};
    auto p = vpnd::PolicyMessages(*c, dp::api::Op::kAdd);
    REQUIRE(p.ok());
    REQUIRE(p->size() == 2);
    CHECK((*p)[0].body.policy.family == Family::kIpv6);
    CHECK(BytesAre((*p)[0].body.policy.src, "2001:db8:1::"));
    CHECK(BytesAre((*p)[0].body.policy.dst, "2001:db8:2::"));
    CHECK(vpnd::SaMessageText((*p)[0]) ==
          "policy out ipv6 2001:db8:1::/64 -> 2001:db8:2::/48:443 proto=6 spi=c0000202");
    CHECK(vpnd::SaMessageText((*p)[1]) ==
          "policy in ipv6 2001:db8:2::/48:443 -> 2001:db8:1::/64 "
          "proto=6");
    // ... over IPv4 outer addresses.
    auto sa = vpnd::SaMessages(*c, 0, dp::api::Op::kAdd);
    REQUIRE(sa.ok());
    CHECK((*sa)[0].body.sa.outer_family == Family::kIpv4);
  }
  SECTION("IPv4 inner over IPv6 outer") {
    auto c = MakeChild(0xc0000101, 0xc0000202);
    SetOuter(*c, "2001:db8::1", "2001:db8::2");
    auto sa = vpnd::SaMessages(*c, 0, dp::api::Op::kAdd);
    REQUIRE(sa.ok());
    CHECK((*sa)[1].body.sa.outer_family == Family::kIpv6);
    auto p = vpnd::PolicyMessages(*c, dp::api::Op::kAdd);
    REQUIRE(p.ok());
    REQUIRE(p->size() == 2);
    CHECK(vpnd::SaMessageText((*p)[0]) ==
          "policy out ipv4 10.1.0.0/24 -> 10.2.0.0/24 spi=c0000202");
  }
}

TEST_CASE("a CHILD SA with selectors of both families: policies for same-family pairs only",
          "[vpnd][sa][ipv6]") {
  auto c = MakeChild(0xc0000101, 0xc0000202);
  c->local_ts = {Ts("10.1.0.0", 24), Ts("2001:db8:1::", 64)};
  c->remote_ts = {Ts("10.2.0.0", 24), Ts("2001:db8:2::", 64)};
  auto p = vpnd::PolicyMessages(*c, dp::api::Op::kAdd);
  REQUIRE(p.ok());
  REQUIRE(p->size() == 4);
  CHECK(vpnd::SaMessageText((*p)[0]) == "policy out ipv4 10.1.0.0/24 -> 10.2.0.0/24 spi=c0000202");
  CHECK(vpnd::SaMessageText((*p)[2]) ==
        "policy out ipv6 2001:db8:1::/64 -> 2001:db8:2::/64 spi=c0000202");
  // Nothing of one family on both sides: nothing could be selected, said so.
  c->local_ts = {Ts("10.1.0.0", 24)};
  c->remote_ts = {Ts("2001:db8:2::", 64)};
  auto none = vpnd::PolicyMessages(*c, dp::api::Op::kAdd);
  REQUIRE_FALSE(none.ok());
  CHECK(std::string(none.status().message()) ==
        "selectors 10.1.0.0/24 === 2001:db8:2::/64 have no pair of one address family");
}
