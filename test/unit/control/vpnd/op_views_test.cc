// The views added for the rest of the seeds' commands, from rows built by hand: each text layout
// against the seed's (or VyOS's / Vyatta's) columns and labels, and its JSON from the same rows.
// Also the parts behind them: the log filter, the failure classifier, the reachability tables.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "control/vpnd/dataplane_views.h"
#include "control/vpnd/diagnose.h"
#include "control/vpnd/log_filter.h"
#include "control/vpnd/peer_failures.h"
#include "control/vpnd/reachability.h"
#include "control/vpnd/status_views.h"
#include "control/vpnd/text_table.h"

using namespace portcullis::vpnd;

TEST_CASE("show vpn ipsec status: Vyatta's lines, JSON with the same values", "[show][ops]") {
  IpsecStatus s{4505, 1, {{"dp0bond1", "159.8.98.213"}}};
  CHECK(IpsecStatusText(s) ==
        "IPsec Process Running PID: 4505\n\n1 Active IPsec Tunnels\n\nIPsec Interfaces :\n"
        "\tdp0bond1\t(159.8.98.213)\n");
  CHECK(IpsecStatusJson(s) ==
        "{\"pid\":4505,\"active_tunnels\":1,\"interfaces\":[{\"interface\":\"dp0bond1\","
        "\"address\":\"159.8.98.213\"}]}\n");
}

TEST_CASE("show vpn ipsec status --json: what the restart resumed", "[show][ops]") {
  IpsecStatus s{4505, 1, {}};
  ResumeStats r;
  r.ike_resumed = 1;
  r.children_adopted = 2;
  r.orphan_sas_removed = 3;
  r.state_writes = 7;
  r.state_file_refused = 1;
  s.restart = r;
  CHECK(IpsecStatusJson(s) ==
        "{\"pid\":4505,\"active_tunnels\":1,\"interfaces\":[],\"restart\":{\"ike_resumed\":1,"
        "\"ike_refused\":0,\"children_adopted\":2,\"children_missing\":0,"
        "\"children_refused\":0,\"orphan_sas_removed\":3,\"state_file_errors\":0,"
        "\"state_writes\":7,\"traps_kept\":0,\"traps_refused\":0,\"trap_policies\":0,"
        "\"state_file_refused\":1}}\n");
  // The text stays Vyatta's.
  CHECK(IpsecStatusText(s).find("restart") == std::string::npos);
}

TEST_CASE("show vpn ipsec connections: VyOS's columns, JSON with the same rows", "[show][ops]") {
  std::vector<ConnectionRow> rows = {
      {"peer-SITE-B", "up", "IKEv2", "198.51.100.1", "-", "-", "site-a@example.com",
       "site-b@example.com", "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"},
      {"peer-SITE-B-tunnel-1", "up", "IPsec", "198.51.100.1", "10.1.0.0/24", "10.2.0.0/24",
       "site-a@example.com", "site-b@example.com", "AES_CBC_256/HMAC_SHA2_256_128"},
  };
  std::string text = ConnectionsText(rows);
  CHECK_THAT(text, Catch::StartsWith(
                       "Connection            State  Type   Remote address  Local TS     Remote TS"
                       "    Local id            Remote id           Proposal\n"
                       "--------------------  -----  -----  --------------  -----------  --------"
                       "---  ------------------  ------------------  " +
                       std::string(57, '-') +
                       "\n"
                       "peer-SITE-B           up     IKEv2  198.51.100.1    -            -     "));
  CHECK(absl::StrContains(text,
                          "peer-SITE-B-tunnel-1  up     IPsec  198.51.100.1    10.1.0.0/24"
                          "  10.2.0.0/24  site-a@example.com"));
  std::string json = ConnectionsJson(rows);
  CHECK_THAT(json, Catch::StartsWith("[{\"connection\":\"peer-SITE-B\",\"state\":\"up\","
                                     "\"type\":\"IKEv2\",\"remote_address\":\"198.51.100.1\""));
  CHECK(absl::StrContains(json, "\"local_ts\":\"10.1.0.0/24\",\"remote_ts\":\"10.2.0.0/24\""));
}

TEST_CASE("show vpn ipsec policy: ip xfrm policy's layout, both directions", "[show][ops]") {
  std::vector<PolicyRow> rows = {
      {"peer-SITE-B-tunnel-1", "10.1.0.0/24", "10.2.0.0/24", "out", "203.0.113.1", "198.51.100.1",
       0xc1234567, 1, false},
      {"peer-SITE-B-tunnel-1", "10.2.0.0/24", "10.1.0.0/24", "in", "198.51.100.1", "203.0.113.1",
       0xc7654321, 1, true},
  };
  CHECK(PoliciesText(rows) ==
        "src 10.1.0.0/24 dst 10.2.0.0/24\n\tdir out\n\ttmpl src 203.0.113.1 dst 198.51.100.1\n"
        "\t\tproto esp spi 0xc1234567 reqid 1 mode tunnel\n"
        "src 10.2.0.0/24 dst 10.1.0.0/24\n\tdir in\n\ttmpl src 198.51.100.1 dst 203.0.113.1\n"
        "\t\tproto esp spi 0xc7654321 reqid 1 mode tunnel encap espinudp\n");
  CHECK(absl::StrContains(PoliciesJson(rows),
                          "\"dir\":\"in\",\"tmpl_src\":\"198.51.100.1\",\"tmpl_dst\":"
                          "\"203.0.113.1\",\"spi\":\"c7654321\",\"reqid\":1,\"udp_encap\":true"));
}

TEST_CASE("show interfaces: Vyatta's columns; show dataplane drops", "[show][ops]") {
  std::vector<InterfaceRow> rows = {
      {"dp0bond1", "bond", {"169.50.194.197/29"}, true, "public", 10, 20},
      {"vti2", "vti", {"172.16.0.5/30", "172.16.1.5/30"}, false, "", 0, 0},
  };
  CHECK(InterfacesText(rows) ==
        "Codes: S - State, L - Link, u - Up, D - Down, A - Admin Down\n"
        "Interface        IP Address                        S/L  Description\n"
        "---------        ----------                        ---  -----------\n"
        "dp0bond1         169.50.194.197/29                 u/u  public\n"
        "vti2             172.16.0.5/30                     u/D\n"
        "                 172.16.1.5/30\n");
  CHECK_THAT(InterfacesJson(rows),
             Catch::StartsWith("[{\"interface\":\"dp0bond1\",\"kind\":\"bond\",\"addresses\":["
                               "\"169.50.194.197/29\"],\"state\":\"up\",\"description\":"
                               "\"public\",\"rx_packets\":10,\"tx_packets\":20}"));
  std::vector<DropRow> drops = {{"", "no_route", 3}, {"dp0bond1", "no_route", 3}};
  CHECK(DropsText(drops) ==
        "Interface        Reason                            Packets\n"
        "---------        ------                            -------\n"
        "total            no_route                          3\n"
        "dp0bond1         no_route                          3\n");
  CHECK(DropsJson(drops) ==
        "[{\"interface\":\"total\",\"reason\":\"no_route\",\"packets\":3},{\"interface\":"
        "\"dp0bond1\",\"reason\":\"no_route\",\"packets\":3}]\n");
}

TEST_CASE("diagnose: one line per step with its verdict, JSON from the same report", "[ops]") {
  DiagnoseReport r;
  r.peer = "peer-192.0.2.2";
  r.address = "192.0.2.2";
  r.steps = {{'a', "firewall", Verdict::kNotApplicable, {"not enforced yet"}},
             {'c', "phase 1: IKE SA", Verdict::kFail, {"down", "we offered: IKE:X"}},
             {'g', "ESP encryption (throughput)", Verdict::kHint, {"CBC"}}};
  std::string text = DiagnoseText(r);
  CHECK_THAT(text, Catch::StartsWith("Diagnosing peer-192.0.2.2 (192.0.2.2)\n\na. firewall" +
                                     std::string(54, ' ') + " N/A\n     not enforced yet\n"));
  CHECK(absl::StrContains(text, "c. phase 1: IKE SA  "));
  CHECK(absl::StrContains(text, "  FAIL\n     down\n     we offered: IKE:X\n"));
  CHECK(absl::EndsWith(text, "Result: 1 step fails (first: c, phase 1: IKE SA)\n"));
  std::string json = DiagnoseJson(r);
  CHECK(absl::StrContains(json,
                          "{\"step\":\"c\",\"title\":\"phase 1: IKE SA\",\"verdict\":"
                          "\"FAIL\",\"details\":[\"down\",\"we offered: IKE:X\"]}"));
  CHECK(absl::EndsWith(json, "\"failed\":1,\"first_failure\":\"c\",\"passed\":false}\n"));
  r.steps[1].verdict = Verdict::kPass;
  CHECK(absl::EndsWith(DiagnoseText(r), kDiagnosePassedLine));
  CHECK(absl::StrContains(DiagnoseJson(r), kDiagnosePassedJson));
}

TEST_CASE("the log filter reads the subsystem tag and the connection", "[ops][log]") {
  const std::string log =
      "2026-03-01 10:00:00 01[IKE] <peer-192.0.2.2|1> initiating IKE_SA\n"
      "2026-03-01 10:00:00 01[CHD] <peer-192.0.2.2-tunnel-1{3}> CHILD_SA up\n"
      "2026-03-01 10:00:00 01[IKE] <peer-192.0.2.20|2> initiating IKE_SA\n"
      "2026-03-01 10:00:01 01[NET] received invalid IKE datagram from 192.0.2.2[500]: x\n"
      "2026-03-01 10:00:01 01[NET] received invalid IKE datagram from 192.0.2.20[500]: x\n"
      "2026-03-01 10:00:02 01[CFG] configuration committed: 2 peers\n";
  auto lines = [&](const LogFilter& f) {
    std::string out = FilterLog(log, f);
    return std::count(out.begin(), out.end(), '\n');
  };
  CHECK(lines({}) == 6);
  CHECK(lines({"peer-192.0.2.2", {"192.0.2.2"}, ""}) == 3);  // not 192.0.2.20's
  CHECK(lines({"peer-192.0.2.2", {"192.0.2.2"}, "IKE"}) == 1);
  CHECK(lines({"", {}, "CFG"}) == 1);
  CHECK(SubsystemTag("ike-sa") == "IKE");
  CHECK(SubsystemTag("child-sa") == "CHD");
  CHECK_FALSE(SubsystemTag("bogus"));
}

TEST_CASE("the failure classifier reads IKE's failure lines", "[ops][diagnose]") {
  using portcullis::ike::LogGroup;
  using portcullis::ike::LogRecord;
  auto f = PeerFailures::Classify(LogRecord{
      absl::UnixEpoch(), LogGroup::kIke, "peer-192.0.2.2", 1, false,
      "NO_PROPOSAL_CHOSEN: no acceptable IKE proposal; received proposals: IKE:AES_CBC_128/"
      "HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048; configured proposals: IKE:AES_CBC_256/"
      "HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_384"});
  REQUIRE(f);
  CHECK(f->notify == "NO_PROPOSAL_CHOSEN");
  CHECK_FALSE(f->phase2);
  CHECK(f->received == "IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048");
  CHECK(f->offered == "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_384");
  auto v1 = PeerFailures::Classify(
      LogRecord{absl::UnixEpoch(), LogGroup::kNet, "", 0, false,
                "received invalid IKE datagram from 192.0.2.2[500]: IKE major version 1 is "
                "not 2, dropped"});
  REQUIRE(v1);
  CHECK(v1->notify == "INVALID_MAJOR_VERSION");
  CHECK(v1->received == "IKEv1");
  CHECK_FALSE(PeerFailures::Classify(
      LogRecord{absl::UnixEpoch(), LogGroup::kIke, "peer-x", 1, false, "IKE_SA established"}));

  // Kept per peer (tunnels included) and by address for lines without a connection.
  struct Null : portcullis::ike::LogSink {
    void Write(const LogRecord&) override {}
  } null;
  PeerFailures pf(&null);
  pf.Write(LogRecord{absl::FromUnixSeconds(10), LogGroup::kChd, "peer-192.0.2.2-tunnel-1", 3, true,
                     "received TS_UNACCEPTABLE notify error: ..."});
  pf.Write(LogRecord{absl::FromUnixSeconds(5), LogGroup::kNet, "", 0, false, v1->text});
  CHECK(pf.Last("peer-192.0.2.2", "192.0.2.2")->notify == "TS_UNACCEPTABLE");
  CHECK(pf.Last("peer-192.0.2.2", "192.0.2.2")->phase2);
  CHECK(pf.Last("peer-192.0.2.9", "192.0.2.2")->notify == "INVALID_MAJOR_VERSION");
  CHECK_FALSE(pf.Last("peer-192.0.2.9", "192.0.2.9"));
}

TEST_CASE("reachability from the kernel's and the dataplane's tables", "[ops][diagnose]") {
  const char* route =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
      "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
  const char* arp =
      "IP address       HW type     Flags       HW address            Mask     Device\n"
      "192.0.2.2        0x1         0x2         02:00:00:00:00:02     *        eth0\n"
      "192.0.2.1        0x1         0x0         00:00:00:00:00:00     *        eth0\n";
  auto routes = ParseKernelRoutes(route);
  auto neigh = ParseKernelNeighbours(arp);
  REQUIRE(routes.size() == 2);
  Reachability direct = CheckReachability("kernel", *ParseIpv4("192.0.2.2"), routes, neigh);
  CHECK(direct.route);
  CHECK(direct.route_text == "192.0.2.0/24 dev eth0");
  CHECK(direct.neighbour);
  Reachability via = CheckReachability("kernel", *ParseIpv4("198.51.100.1"), routes, neigh);
  CHECK(via.route_text == "0.0.0.0/0 via 192.0.2.1 dev eth0");
  CHECK_FALSE(via.neighbour);  // incomplete
  Reachability none = CheckReachability("kernel", *ParseIpv4("10.0.0.1"), {routes[1]}, neigh);
  CHECK_FALSE(none.route);
  auto dp_routes = ParseDataplaneRoutes(
      {"0.0.0.0/0 gateway dp0bond1 via 169.50.194.193", "169.50.194.192/29 connected dp0bond1"});
  auto dp_neigh = ParseDataplaneNeighbours({"dp0bond1 169.50.194.193 52:54:00:12:34:56 reachable"});
  Reachability dp = CheckReachability("dataplane", *ParseIpv4("159.8.98.213"), dp_routes, dp_neigh);
  CHECK(dp.route);
  CHECK(dp.neighbour);
  CHECK(dp.route_text == "0.0.0.0/0 via 169.50.194.193 dev dp0bond1");
}

TEST_CASE("IPv6 reachability from the kernel's and the dataplane's tables", "[ops][diagnose]") {
  // /proc/net/ipv6_route: the default via fe80::1 on eth0, 2001:db8:ff::/64 on eth0, a local
  // entry on lo (ours, skipped), a route that is not up (skipped).
  const char* route =
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
      "fe800000000000000000000000000001 00000400 00000001 00000000 00450003 eth0\n"
      "20010db800ff00000000000000000000 40 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n"
      "20010db800ff00000000000000000001 80 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000000 00000002 00000000 80200001 lo\n"
      "20010db8007700000000000000000000 40 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000100 00000001 00000000 00000000 eth1\n";
  auto routes = ParseKernelRoutes6(route);
  REQUIRE(routes.size() == 2);
  Reachability on_link =
      CheckReachability6("kernel", *ParseIpv6("2001:db8:ff::2"), routes, std::nullopt);
  CHECK(on_link.route);
  CHECK(on_link.route_text == "2001:db8:ff::/64 dev eth0");
  CHECK(on_link.neighbour_unknown);
  Reachability via =
      CheckReachability6("kernel", *ParseIpv6("2001:db8:5::1"), routes, std::nullopt);
  CHECK(via.route_text == "::/0 via fe80::1 dev eth0");
  CHECK(CheckReachability6("kernel", *ParseIpv6("2001:db8:5::1"), {routes[1]}, std::nullopt)
            .route_text == "no route to 2001:db8:5::1");
  // The dataplane's lines: routes6, and the neighbours telemetry whose IPv4 lines are skipped.
  auto dp_routes =
      ParseDataplaneRoutes6({"::/0 gateway wan via 2001:db8:ff::fe",
                             "2001:db8:ff::/64 connected wan", "2001:db8:ff::1/128 local wan"});
  auto dp_neigh = ParseDataplaneNeighbours6({"wan 192.0.2.2 02:00:00:00:00:02 reachable",
                                             "wan 2001:db8:ff::fe 52:54:00:12:34:56 reachable",
                                             "wan 2001:db8:ff::9 - incomplete"});
  REQUIRE(dp_neigh.size() == 2);
  Reachability dp =
      CheckReachability6("dataplane", *ParseIpv6("2001:db8:77::1"), dp_routes, dp_neigh);
  CHECK(dp.route);
  CHECK(dp.neighbour);
  CHECK(dp.route_text == "::/0 via 2001:db8:ff::fe dev wan");
  Reachability near =
      CheckReachability6("dataplane", *ParseIpv6("2001:db8:ff::9"), dp_routes, dp_neigh);
  CHECK(near.route);
  CHECK_FALSE(near.neighbour);
  CHECK(near.neighbour_text == "2001:db8:ff::9 dev wan incomplete");
  Reachability ours =
      CheckReachability6("dataplane", *ParseIpv6("2001:db8:ff::1"), dp_routes, dp_neigh);
  CHECK_FALSE(ours.route);  // our own address: local, no way out
}

TEST_CASE("SimpleTable: tabulate's simple format", "[show]") {
  CHECK(SimpleTable({"A", "Long header"}, {{"value", "x"}}) ==
        "A      Long header\n-----  -----------\nvalue  x\n");
}
