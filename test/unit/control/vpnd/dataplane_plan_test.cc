// Bonds in the dataplane plan (#17): a bond's mode, primary, hash and LACP rate and each
// member's bond travel in the interface messages; a change to any of them is an update the
// dataplane rebuilds the bond from.
#include "control/vpnd/dataplane_plan.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

#include "control/config/config_loader.h"
#include "control/vpnd/firewall_plan.h"
#include "dataplane/api/message_validation.h"

using namespace portcullis;
using namespace portcullis::vpnd;
using dp::api::BondHash;
using dp::api::BondMode;
using dp::api::InterfaceBody;
using dp::api::InterfaceKind;
using dp::api::MessageKind;
using dp::api::Op;

namespace {

config::Model ModelOf(const std::string& text) {
  config::LoadedConfig c = config::LoadConfigText(text, "t.conf");
  std::string errors;
  for (const auto& d : c.diags.Sorted())
    if (d.severity == config::Diagnostic::Severity::kError) errors += d.ToString() + "\n";
  INFO(errors);
  REQUIRE(errors.empty());
  return config::BuildModel(c.tree);
}

const InterfaceBody& Iface(const DataplaneObjects& o, InterfaceIndexes& ids,
                           const std::string& name) {
  auto ifx = ids.Find(name);
  REQUIRE(ifx.has_value());
  for (const auto& [key, m] : o)
    if (m.header.kind == MessageKind::kInterface && m.body.interface.ifindex == *ifx)
      return m.body.interface;
  FAIL("no interface message for " << name);
  throw;
}

const char kBonds[] = R"(set interfaces dataplane dp0p1s1 bond-group dp0bond0
set interfaces dataplane dp0p2s1 bond-group dp0bond0
set interfaces dataplane dp0p1s2 bond-group dp0bond1
set interfaces dataplane dp0p2s2 bond-group dp0bond1
set interfaces dataplane dp0p3s1 address 192.0.2.1/24
set interfaces bonding dp0bond0 mode active-backup
set interfaces bonding dp0bond0 primary dp0p2s1
set interfaces bonding dp0bond0 vif 1750 address 10.126.19.161/26
set interfaces bonding dp0bond1 mode lacp
set interfaces bonding dp0bond1 lacp-options periodic-rate fast
set interfaces bonding dp0bond1 hash-policy layer3+4
set interfaces bonding dp0bond1 minimum-links 2
set interfaces bonding dp0bond1 address 159.8.98.214/29
)";

}  // namespace

TEST_CASE("bonds and their members are planned from the configuration", "[dataplane_plan]") {
  InterfaceIndexes ids;
  FirewallIds fw;
  DataplaneObjects o = PlanDataplane(ModelOf(kBonds), ids, fw);
  const InterfaceBody& ab = Iface(o, ids, "dp0bond0");
  CHECK(ab.kind == InterfaceKind::kBond);
  CHECK(ab.bond_mode == BondMode::kActiveBackup);
  CHECK(ab.primary_ifindex == *ids.Find("dp0p2s1"));
  CHECK(static_cast<int>(ab.bond_hash) == 0);
  CHECK(ab.lacp_fast == 0);
  const InterfaceBody& lacp = Iface(o, ids, "dp0bond1");
  CHECK(lacp.bond_mode == BondMode::kLacp);
  CHECK(lacp.bond_hash == BondHash::kLayer34);
  CHECK(lacp.lacp_fast == 1);
  CHECK(lacp.primary_ifindex == 0);
  CHECK(lacp.min_links == 2);
  CHECK(ab.min_links == 0);
  for (const char* m : {"dp0p1s1", "dp0p2s1"}) CHECK(Iface(o, ids, m).bond_ifindex == ab.ifindex);
  for (const char* m : {"dp0p1s2", "dp0p2s2"}) CHECK(Iface(o, ids, m).bond_ifindex == lacp.ifindex);
  CHECK(Iface(o, ids, "dp0p3s1").bond_ifindex == 0);
  // The vif on a bond is a vif of the bond, not of a member.
  const InterfaceBody& vif = Iface(o, ids, "dp0bond0.1750");
  CHECK(vif.kind == InterfaceKind::kVif);
  CHECK(vif.parent_ifindex == ab.ifindex);
  CHECK(vif.vlan == 1750);
}

TEST_CASE("a balanced bond hashes layer2 unless told; VyOS 802.3ad is lacp", "[dataplane_plan]") {
  InterfaceIndexes ids;
  FirewallIds fw;
  DataplaneObjects o =
      PlanDataplane(ModelOf("set interfaces bonding dp0bond2 mode balanced\n"
                            "set interfaces dataplane dp0p1s1 bond-group dp0bond2\n"),
                    ids, fw);
  CHECK(Iface(o, ids, "dp0bond2").bond_mode == BondMode::kBalanced);
  CHECK(Iface(o, ids, "dp0bond2").bond_hash == BondHash::kLayer2);

  InterfaceIndexes vids;
  FirewallIds vfw;
  DataplaneObjects v = PlanDataplane(ModelOf("set interfaces bonding bond0 mode '802.3ad'\n"
                                             "set interfaces bonding bond0 member interface eth1\n"
                                             "set interfaces bonding bond0 member interface eth2\n"
                                             "set interfaces ethernet eth1\n"
                                             "set interfaces ethernet eth2\n"),
                                     vids, vfw);
  CHECK(Iface(v, vids, "bond0").bond_mode == BondMode::kLacp);
  CHECK(Iface(v, vids, "eth1").bond_ifindex == *vids.Find("bond0"));
  CHECK(Iface(v, vids, "eth2").bond_ifindex == *vids.Find("bond0"));
}

TEST_CASE("a changed bond mode or member is an interface update", "[dataplane_plan]") {
  InterfaceIndexes ids;
  FirewallIds fw;
  DataplaneObjects before = PlanDataplane(ModelOf(kBonds), ids, fw);
  std::string text = kBonds;
  text.replace(text.find("dp0bond0 mode active-backup"), 27, "dp0bond0 mode balanced");
  text.replace(text.find("set interfaces bonding dp0bond0 primary dp0p2s1\n"), 48, "");
  text.replace(text.find("set interfaces dataplane dp0p2s2 bond-group dp0bond1\n"), 53, "");
  // (One member left: minimum-links 2 would not commit.)
  text.replace(text.find("set interfaces bonding dp0bond1 minimum-links 2\n"), 48, "");
  DataplaneObjects after = PlanDataplane(ModelOf(text), ids, fw);
  std::vector<std::string> changed;
  for (const auto& m : DiffBatch(before, after)) {
    REQUIRE(m.header.kind == MessageKind::kInterface);
    changed.push_back(
        absl::StrCat(m.body.interface.name, m.header.op == Op::kUpdate ? " update" : " delete"));
  }
  // dp0p2s2 had nothing but its bond-group: it goes, and dp0bond1 (its minimum-links gone
  // too) is rebuilt without it.
  std::sort(changed.begin(), changed.end());
  CHECK(changed ==
        std::vector<std::string>{"dp0bond0 update", "dp0bond1 update", "dp0p2s2 delete"});
}

// #21: IPv6 addresses on every interface kind and IPv6 routes (route6 next-hop, blackhole,
// interface-route6) reach the dataplane as kIpv6 messages with 16-byte addresses.
TEST_CASE("IPv6 addresses and routes become kIpv6 messages", "[dataplane_plan][ipv6]") {
  const char kV6[] = R"(set interfaces dataplane dp0p1 address 2001:db8::1/64
set interfaces dataplane dp0p1 address 192.0.2.1/24
set interfaces dataplane dp0p1 vif 100 address 2001:db8:100::1/64
set interfaces bonding dp0bond0 address 2001:db8:200::1/64
set interfaces loopback lo address 2001:db8:ff::1/128
set interfaces vti vti1 address 2001:db8:300::1/127
set protocols static route6 2001:db8:b::/48 next-hop 2001:db8::2
set protocols static route6 2001:db8:d::/48 blackhole
set protocols static interface-route6 2001:db8:c::/48 next-hop-interface vti1
)";
  InterfaceIndexes ids;
  FirewallIds fw;
  DataplaneObjects o = PlanDataplane(ModelOf(kV6), ids, fw);
  auto v6 = [](const char* text) {
    dp::api::IpAddr a{};
    auto p = config::IpAddress::Parse(text);
    REQUIRE(p.has_value());
    std::copy(p->bytes.begin(), p->bytes.end(), a.bytes);
    return a;
  };
  auto same = [](const dp::api::IpAddr& a, const dp::api::IpAddr& b) {
    return std::equal(std::begin(a.bytes), std::end(a.bytes), std::begin(b.bytes));
  };
  struct Want {
    const char* ifname;
    const char* addr;
    int len;
  };
  int v4 = 0;
  for (const Want& w : {Want{"dp0p1", "2001:db8::1", 64}, Want{"dp0p1.100", "2001:db8:100::1", 64},
                        Want{"dp0bond0", "2001:db8:200::1", 64}, Want{"lo", "2001:db8:ff::1", 128},
                        Want{"vti1", "2001:db8:300::1", 127}}) {
    INFO(w.ifname);
    bool found = false;
    for (const auto& [key, m] : o) {
      if (m.header.kind != MessageKind::kAddress) continue;
      const auto& b = m.body.address;
      if (b.ifindex == *ids.Find(w.ifname) && same(b.address, v6(w.addr))) {
        CHECK(b.family == dp::api::Family::kIpv6);
        CHECK(b.prefix_length == w.len);
        found = true;
      }
    }
    CHECK(found);
  }
  for (const auto& [key, m] : o)
    if (m.header.kind == MessageKind::kAddress && m.body.address.family == dp::api::Family::kIpv4)
      ++v4;
  CHECK(v4 == 1);  // 192.0.2.1/24 alongside, untouched
  int routes = 0;
  for (const auto& [key, m] : o) {
    if (m.header.kind != MessageKind::kRoute) continue;
    const auto& r = m.body.route;
    ++routes;
    CHECK(r.family == dp::api::Family::kIpv6);
    if (same(r.prefix, v6("2001:db8:b::"))) {
      CHECK(r.prefix_length == 48);
      CHECK(r.type == dp::api::RouteType::kGateway);
      CHECK(same(r.next_hop, v6("2001:db8::2")));
    } else if (same(r.prefix, v6("2001:db8:d::"))) {
      CHECK(r.type == dp::api::RouteType::kBlackhole);
    } else {
      CHECK(same(r.prefix, v6("2001:db8:c::")));
      CHECK(r.type == dp::api::RouteType::kInterface);
      CHECK(r.out_ifindex == *ids.Find("vti1"));
    }
  }
  CHECK(routes == 3);
}

TEST_CASE("VRRP groups become kVrrpGroup messages with Vyatta's defaults",
          "[dataplane_plan][vrrp]") {
  const std::string base =
      "set interfaces dataplane dp0p1s1 address 192.0.2.2/24\n"
      "set interfaces dataplane dp0p1s1 vif 10 address 10.0.0.2/24\n";
  const std::string g = "set interfaces dataplane dp0p1s1 vrrp vrrp-group ";
  const std::string v = "set interfaces dataplane dp0p1s1 vif 10 vrrp vrrp-group ";
  config::Model m = ModelOf(
      base + g + "5 virtual-address 192.0.2.100\n" + g + "5 virtual-address 192.0.2.101/24\n" + g +
      "6 virtual-address 2001:db8::1\n" + g + "7 virtual-address 192.0.2.107\n" + g +
      "7 disable\n" + v + "9 virtual-address 10.0.0.1\n" + v + "9 version 3\n" + v +
      "9 fast-advertise-interval 250\n" + v + "9 priority 254\n" + v + "9 preempt false\n" + v +
      "9 preempt-delay 30\n" + "set interfaces dataplane dp0p1s1 vif 10 vrrp start-delay 12\n" + g +
      "5 advertise-interval 50\n");
  InterfaceIndexes ids;
  FirewallIds fw;
  DataplaneObjects o = PlanDataplane(m, ids, fw);
  std::vector<dp::api::VrrpGroupBody> groups;
  for (const auto& [key, msg] : o)
    if (msg.header.kind == MessageKind::kVrrpGroup) groups.push_back(msg.body.vrrp_group);
  // Group 6 (IPv6 only) and the disabled group 7 are not run (commit warns about 6).
  REQUIRE(groups.size() == 2);
  const auto& a = groups[0];
  CHECK(a.ifindex == *ids.Find("dp0p1s1"));
  CHECK(a.vrid == 5);
  CHECK(a.priority == 100);
  CHECK(a.version == 2);
  CHECK(a.preempt == 1);
  CHECK(a.advert_interval_cs == 5000);  // version 2: whole seconds, up to 255
  CHECK(a.naddrs == 2);
  CHECK(a.addrs[1][3] == 101);  // the prefix length is not the address's
  const auto& b = groups[1];
  CHECK(b.ifindex == *ids.Find("dp0p1s1.10"));
  CHECK(b.vrid == 9);
  CHECK(b.version == 3);
  CHECK(b.advert_interval_cs == 25);
  CHECK(b.priority == 254);
  CHECK(b.preempt == 0);
  CHECK(b.preempt_delay_s == 30);
  CHECK(b.start_delay_s == 12);
  CHECK(b.naddrs == 1);
  // Every message is one the dataplane's validator takes.
  for (const auto& [key, msg] : o) {
    if (msg.header.kind != MessageKind::kVrrpGroup) continue;
    dp::api::Rejection r = dp::api::ValidateMessage(msg);
    INFO(key << ": " << r.detail);
    CHECK(r.ok());
  }
}
