#include "control/config/value_type.h"

#include <catch2/catch.hpp>

#include "control/config/interface_names.h"
#include "control/config/ip_prefix.h"

using namespace portcullis::config;

TEST_CASE("number ranges", "[value]") {
  auto s = Range(30, 86400);
  CHECK(CheckValue(s, "30").empty());
  CHECK(CheckValue(s, "86400").empty());
  CHECK(CheckValue(s, "29") == "value '29' out of range 30..86400");
  CHECK(CheckValue(s, "86401") == "value '86401' out of range 30..86400");
  CHECK_THAT(CheckValue(s, "12x"), Catch::Contains("expected a number in 30..86400"));
  CHECK_THAT(CheckValue(s, "-1"), Catch::Contains("expected a number"));
  CHECK_THAT(CheckValue(s, ""), Catch::Contains("expected a number"));
}

TEST_CASE("decimal ranges", "[value]") {
  auto s = Decimal(1.0, 32.0);
  CHECK(CheckValue(s, "4.0").empty());
  CHECK(CheckValue(s, "4").empty());
  CHECK(CheckValue(s, "32.0").empty());
  CHECK(CheckValue(s, "0.5") == "value '0.5' out of range 1.0..32.0");
  CHECK_THAT(CheckValue(s, "1e1"), Catch::Contains("expected a decimal number"));
}

TEST_CASE("enums suggest the closest choice", "[value]") {
  auto s = Enum({"aes128", "aes256", "aes128gcm128"});
  CHECK(CheckValue(s, "aes256").empty());
  CHECK(CheckValue(s, "aes265") ==
        "invalid value 'aes265': expected aes128|aes256|aes128gcm128 (did you mean 'aes256'?)");
  CHECK(CheckValue(s, "chacha") == "invalid value 'chacha': expected aes128|aes256|aes128gcm128");
}

TEST_CASE("addresses and prefixes", "[value]") {
  CHECK(CheckValue(Kind(ValueKind::kIpAddr), "192.0.2.1").empty());
  CHECK(CheckValue(Kind(ValueKind::kIpAddr), "2001:db8::1").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kIpAddr), "192.0.2.256").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kIpv4Addr), "2001:db8::1").empty());
  CHECK(CheckValue(Kind(ValueKind::kIpAddrOrAny), "any").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kIpAddrOrAny), "anywhere").empty());
  CHECK(CheckValue(Kind(ValueKind::kIpPrefix), "10.1.0.0/24").empty());
  CHECK(CheckValue(Kind(ValueKind::kIpPrefix), "2001:db8::/32").empty());
  CHECK(CheckValue(Kind(ValueKind::kIpPrefix), "10.1.0.1/24") ==
        "'10.1.0.1/24' is not a network prefix (did you mean '10.1.0.0/24'?)");
  CHECK_FALSE(CheckValue(Kind(ValueKind::kIpPrefix), "10.1.0.0/33").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kIpPrefix), "10.1.0.0").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kIpv4Prefix), "2001:db8::/32").empty());
  CHECK(CheckValue(Kind(ValueKind::kIfAddress), "172.16.0.5/30").empty());
  CHECK(CheckValue(Kind(ValueKind::kIfAddress), "dhcp").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kIfAddress), "172.16.0.5").empty());
  CHECK(CheckValue(Kind(ValueKind::kFwAddress), "!10.0.0.0/8").empty());
  CHECK(CheckValue(Kind(ValueKind::kFwAddress), "10.0.0.1").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kFwAddress), "10.0.0.1/8").empty());
  CHECK(CheckValue(Kind(ValueKind::kIpAddrOrPrefix), "10.0.0.1/24").empty());
}

TEST_CASE("ip prefix arithmetic", "[value]") {
  auto p = IpPrefix::Parse("10.1.2.3/16").value();
  CHECK(p.HasHostBits());
  CHECK(p.Network().ToString() == "10.1.0.0/16");
  CHECK(p.Contains(IpAddress::Parse("10.1.255.1").value()));
  CHECK_FALSE(p.Contains(IpAddress::Parse("10.2.0.1").value()));
  CHECK(p.Overlaps(IpPrefix::Parse("10.0.0.0/8").value()));
  CHECK_FALSE(p.Overlaps(IpPrefix::Parse("2001:db8::/32").value()));
  auto v6 = IpPrefix::Parse("2001:db8:1::5/48").value();
  CHECK(v6.Network().ToString() == "2001:db8:1::/48");
}

TEST_CASE("names, identities, peers, ports, protocols, macs", "[value]") {
  CHECK(CheckValue(Kind(ValueKind::kName), "IKE-Fergie_1.x").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kName), "bad name").empty());
  CHECK(CheckValue(Kind(ValueKind::kText), "any text at all").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kText), "").empty());
  CHECK(CheckValue(Kind(ValueKind::kIdentity), "site-a@example.com").empty());
  CHECK(CheckValue(Kind(ValueKind::kIdentity), "@#0a0b").empty());
  for (const char* ok : {"159.8.98.213", "2001:db8::2", "any", "@gw.example.com", "SITE-B"})
    CHECK(CheckValue(Kind(ValueKind::kPeerKey), ok).empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kPeerKey), "site b").empty());
  for (const char* ok : {"500", "4500", "1000-2000", "https", "22,80,443", "isakmp"})
    CHECK(CheckValue(Kind(ValueKind::kPort), ok).empty());
  for (const char* bad : {"0", "65536", "2000-1000", "nosuchservice", "1-2-3"})
    CHECK_FALSE(CheckValue(Kind(ValueKind::kPort), bad).empty());
  for (const char* ok : {"tcp", "udp", "esp", "icmp", "50", "255", "all", "tcp_udp"})
    CHECK(CheckValue(Kind(ValueKind::kProtocol), ok).empty());
  CHECK_THAT(CheckValue(Kind(ValueKind::kProtocol), "epp"), Catch::Contains("did you mean 'esp'"));
  CHECK_FALSE(CheckValue(Kind(ValueKind::kProtocol), "256").empty());
  CHECK(CheckValue(Kind(ValueKind::kMac), "e4:c7:22:63:b5:41").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kMac), "e4:c7:22:63:b5").empty());
  CHECK_FALSE(CheckValue(Kind(ValueKind::kNone), "x").empty());
}

TEST_CASE("patterns carry Vyatta's error text", "[value]") {
  auto vti = Pattern(kVtiIfPattern, "<vtiN>", "vti must be (vti0-vti999..)");
  CHECK(CheckValue(vti, "vti2").empty());
  CHECK(CheckValue(vti, "tun0") == "invalid value 'tun0': vti must be (vti0-vti999..)");
  auto plain = Pattern(kVfpIfPattern, "<vfpN>");
  CHECK(CheckValue(plain, "vfp0").empty());
  CHECK(CheckValue(plain, "vfp") == "invalid value 'vfp': expected <vfpN>");
}

TEST_CASE("interface names are classified", "[value]") {
  CHECK(ClassifyInterface("dp0p1s1").type == "dataplane");
  CHECK(ClassifyInterface("dp0s3").type == "dataplane");
  CHECK(ClassifyInterface("dp0bond1").type == "bonding");
  auto vif = ClassifyInterface("dp0bond0.1750");
  CHECK(vif.type == "bonding");
  CHECK(vif.base == "dp0bond0");
  CHECK(vif.vif == "1750");
  CHECK(ClassifyInterface("eth0").type == "ethernet");
  CHECK(ClassifyInterface("bond0").type == "bonding");
  CHECK(ClassifyInterface("vti2").type == "vti");
  CHECK(ClassifyInterface("vfp0").type == "virtual-feature-point");
  CHECK(ClassifyInterface("lo").type == "loopback");
  CHECK(ClassifyInterface("wlan0").type.empty());
}

TEST_CASE("suggestions", "[value]") {
  CHECK(Suggest("et", {"set", "delete"}) == "set");
  CHECK(Suggest("lifetme", {"lifetime", "proposal"}) == "lifetime");
  CHECK(Suggest("xyzzy", {"lifetime", "proposal"}).empty());
  CHECK(Suggest("prop", {"lifetime", "proposal"}) == "proposal");
}
