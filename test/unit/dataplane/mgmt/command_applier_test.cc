// The command applier's all-or-nothing rule where the dataplane's tables run out: a batch the
// SA table cannot hold is refused before anything changes, and an update at a full table
// keeps its SA.
#include <arpa/inet.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "dataplane/esp/sa.h"
#include "dataplane/esp/sa_config.h"
#include "dataplane/tables/sa_table.h"
#include "test/unit/dataplane/pipeline/pipeline_rig.h"

namespace portcullis::dp::testing {
namespace {

const char* kBase = R"(
interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
)";

std::string Sa(const char* op, uint32_t spi, const char* key = "00112233445566778899aabbccddeeff") {
  return absl::StrFormat(
      "sa %s spi %#x dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key %s salt "
      "01020304\n",
      op, spi, key);
}

TEST_CASE("A batch the SA table cannot hold is refused whole; an update at full keeps its SA",
          "[mgmt][applier]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kBase).status.ok());
  SaTable& sas = *rig.dp().sas;

  // Fill it, checking that every acked SA is really there.
  uint32_t spi = 0x100000;
  while (sas.count() < sas.capacity()) {
    const uint32_t n = std::min<uint32_t>(1000, sas.capacity() - sas.count());
    std::string batch;
    for (uint32_t i = 0; i < n; ++i) batch += Sa("add", spi++);
    const uint32_t before = sas.count();
    auto r = rig.Apply(batch);
    INFO("at " << before << " SAs: " << r.status);
    REQUIRE(r.status.ok());
    REQUIRE(sas.count() == before + n);
  }
  CHECK(sas.Find(spi - 1, true) != nullptr);

  // One more, with a route in front of it: refused at the SA, and the route not installed.
  const uint64_t version = rig.dp().CurrentTables().version;
  auto r = rig.Apply("route add 10.9.0.0/16 via 192.0.2.2\n" + Sa("add", 0x900000));
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("SA table full"));
  CHECK(r.failed_index == 1);
  CHECK(sas.count() == sas.capacity());
  CHECK(sas.Find(0x900000, true) == nullptr);
  CHECK(rig.applier().state().routes.empty());
  CHECK(rig.dp().CurrentTables().version == version);

  // Two in, one out: still one too many; blamed on the add that went over.
  r = rig.Apply(Sa("del", 0x100000) + Sa("add", 0x900001) + Sa("add", 0x900002));
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(r.failed_index == 2);
  CHECK(sas.Find(0x100000, true) != nullptr);
  CHECK(sas.Find(0x900001, true) == nullptr);

  // An update (rekeyed SA under the same SPI) at a full table: the new SA replaces the old.
  const SaEntry* old = sas.Find(0x100001, true);
  REQUIRE(old != nullptr);
  r = rig.Apply(Sa("update", 0x100001, "ffeeddccbbaa99887766554433221100"));
  INFO(r.status);
  CHECK(r.status.ok());
  const SaEntry* fresh = sas.Find(0x100001, true);
  CHECK(fresh != nullptr);
  CHECK(fresh != old);
  CHECK(sas.count() == sas.capacity());

  // One out, one in: fits.
  r = rig.Apply(Sa("del", 0x100002) + Sa("add", 0x900003));
  CHECK(r.status.ok());
  CHECK(sas.Find(0x900003, true) != nullptr);
  CHECK(sas.count() == sas.capacity());

  // A flush and a full table's worth of new SAs in one batch (what vpnd's resync sends, in
  // batches of up to 4,096 messages).
  std::string resync = "flush sas\n";
  for (uint32_t i = 0; i < 4000; ++i) resync += Sa("add", 0x200000 + i);
  r = rig.Apply(resync);
  CHECK(r.status.ok());
  CHECK(sas.count() == 4000);
  rig.Reset();
  CHECK(sas.count() == 0);
}

// A replacement continues the old SA's counters with its sequence numbers 2^20 further on, so
// seq - packets changes: the sequence number event folded into next_packets_event
// (esp::FoldSeqEvent) must follow, or the packet path, which looks at the sequence number event
// only near next_packets_event, would send past it (and a non-ESN SA past 2^32 - 1).
TEST_CASE("An SA replace keeps the sequence number event within the packet limit",
          "[mgmt][applier]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kBase).status.ok());
  auto out = [](const char* op) {
    return absl::StrFormat(
        "sa %s spi 0x500 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key "
        "00112233445566778899aabbccddeeff salt 01020304\n",
        op);
  };
  REQUIRE(rig.Apply(out("add")).status.ok());
  SaTable& sas = *rig.dp().sas;
  esp::Sa& o = *sas.Find(0x500, false)->sa;
  // As if it had sent that many, 5 of them counted before (a replace earlier, or initial_seq).
  o.seq = esp::kSeqSoft32 - (uint64_t{1} << 20) - 10;
  o.packets = 5;
  esp::FoldSeqEvent(o);
  REQUIRE(rig.Apply(out("update")).status.ok());
  const esp::Sa& n = *sas.Find(0x500, false)->sa;
  CHECK(&n != &o);
  CHECK(n.seq == esp::kSeqSoft32 - 10);
  CHECK(n.packets == 5);
  CHECK(n.next_seq_event == esp::kSeqSoft32);
  // The 10th packet from here reaches the soft event: the limit must be looked at by then.
  CHECK(n.next_packets_event <= n.packets + 10);
  rig.Reset();
}

// vpnd's restart keeps the SAs and rebuilds the rest: policies go without their SAs (the restart
// adds those of the CHILD SAs it resumes again, in the same batch; test_hitless_restart runs
// that batch on a real dataplane).
TEST_CASE("A flush of policies alone keeps the SAs", "[mgmt][applier]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kBase).status.ok());
  REQUIRE(rig.Apply(Sa("add", 0x300000) +
                    "policy add out src 10.1.0.0/24 dst 10.2.0.0/24 bypass priority 1\n")
              .status.ok());
  REQUIRE(rig.dp().CurrentTables().spd.out.n == 1);
  auto r = rig.Apply("flush policies\n");
  INFO(r.status);
  REQUIRE(r.status.ok());
  CHECK(rig.dp().CurrentTables().spd.out.n == 0);
  CHECK(rig.applier().state().policies.empty());
  CHECK(rig.dp().sas->Find(0x300000, true) != nullptr);
  rig.Reset();
}

// Bonds are built at commit from ports of the port map (#17); what cannot be built is refused
// before anything changes. (Building one needs members that can change their MAC, which the
// rig's ring ports cannot: the integration tests build them over af_packet.)
TEST_CASE("A bond whose members or primary are wrong is refused whole", "[mgmt][applier][bond]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  // A member that is not a port of the port map.
  auto r = rig.Apply(
      "interface add bond0 kind bond mode lacp\n"
      "interface add eth9 kind port bond bond0\n");
  CHECK(r.status.code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("no port named 'eth9'"));
  CHECK(rig.applier().state().interfaces.empty());
  rig.Reset();  // the directory forgets the names the refused batch allocated
  // A primary that is not a member.
  r = rig.Apply(
      "interface add bond0 kind bond mode active-backup\n"
      "interface add lan kind port bond bond0\n"
      "interface add wan kind port\n"
      "interface update bond0 kind bond mode active-backup primary wan\n");
  CHECK(r.status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(r.status.message()),
             Catch::Contains("bond bond0: the primary is not one of its members"));
  rig.Reset();
  // A member with an address of its own, and a VIF on a member.
  r = rig.Apply(
      "interface add bond0 kind bond mode balanced\n"
      "interface add lan kind port bond bond0\n"
      "address add lan 10.1.0.1/24\n");
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("member lan has addresses"));
  rig.Reset();
  r = rig.Apply(
      "interface add bond0 kind bond mode balanced\n"
      "interface add lan kind port bond bond0\n"
      "interface add lan.5 kind vif parent lan vlan 5\n");
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("lan is a bond member"));
  rig.Reset();
  // A member whose "bond" is a port.
  r = rig.Apply(
      "interface add wan kind port\n"
      "interface add lan kind port bond wan\n");
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("is not a bond interface"));
  CHECK(rig.applier().state().interfaces.empty());
  rig.Reset();

  // A bond without members is accepted and has no port (nothing to build yet).
  r = rig.Apply("interface add bond0 kind bond mode lacp\ninterface add wan kind port\n");
  INFO(r.status);
  REQUIRE(r.status.ok());
  const Tables& t = rig.dp().CurrentTables();
  const auto ifx = rig.applier().state().interfaces.begin()->first;
  CHECK(t.ifs[ifx].kind == IfKind::kBond);
  CHECK(t.ifs[ifx].port == kNoPort);
  rig.Reset();
}

}  // namespace
}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {
namespace {

// A batch of routes alone re-decides only its prefixes; what it leaves must be what deciding
// every prefix gives: a deleted static route under a connected prefix leaves the connected
// route, host bits of a prefix are cleared (one FIB prefix, one entry), and a later full
// decision (an address change) changes nothing.
TEST_CASE("Route-only batches keep the FIB as a full rebuild would", "[mgmt][applier]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kBase).status.ok());
  const Fib& fib = *rig.dp().fib;
  auto ip = [](const char* a) {
    uint32_t v = 0;
    inet_pton(AF_INET, a, &v);
    return v;
  };
  auto at = [&](const char* a) { return fib.next_hop(fib.Lookup(ip(a))); };
  REQUIRE(rig.Apply("route add 10.1.0.0/24 via 192.0.2.2 distance 5\n"
                    "route add 10.9.1.7/16 via 192.0.2.2\n"
                    "route add 10.8.0.0/16 via 192.0.2.3\n")
              .status.ok());
  CHECK(at("10.1.0.9").type == NhType::kConnected);  // distance 0 wins
  CHECK(at("10.9.200.1").type == NhType::kGateway);
  // The same prefix written with host bits is the same route.
  CHECK(rig.Apply("route add 10.9.0.0/16 via 192.0.2.2\n").status.code() ==
        absl::StatusCode::kAlreadyExists);
  REQUIRE(rig.Apply("route del 10.1.0.0/24 via 192.0.2.2\nroute del 10.9.0.0/16 via 192.0.2.2\n")
              .status.ok());
  CHECK(at("10.1.0.9").type == NhType::kConnected);  // not removed with the static route
  CHECK(at("10.9.200.1").type == NhType::kNone);
  CHECK(at("10.8.0.1").gateway == ip("192.0.2.3"));
  // A tunnel removed and added again (without addresses: only its routes are decided again):
  // its route goes and comes back.
  REQUIRE(rig.Apply("interface add vti9 kind vti ifindex 40\nroute add 10.5.0.0/16 dev vti9\n")
              .status.ok());
  CHECK(at("10.5.0.1").type == NhType::kInterface);
  REQUIRE(rig.Apply("interface del vti9\n").status.ok());
  CHECK(at("10.5.0.1").type == NhType::kNone);
  REQUIRE(rig.Apply("interface add vti9 kind vti ifindex 40\n").status.ok());
  CHECK(at("10.5.0.1").type == NhType::kInterface);
  CHECK(at("10.5.0.1").ifindex == 40);
  const auto incremental = fib.Dump();
  REQUIRE(rig.Apply("address add lan 10.7.0.1/24\naddress del lan 10.7.0.1/24\n").status.ok());
  CHECK(fib.Dump() == incremental);
  rig.Reset();
}

// A gateway is reached through the longest connected prefix that holds it.
TEST_CASE("A gateway resolves through the longest connected prefix", "[mgmt][applier]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add lan kind port\ninterface add wan kind port\n"
                    "address add lan 10.1.0.1/16\naddress add wan 10.1.2.1/24\n"
                    "route add 10.50.0.0/16 via 10.1.2.9\nroute add 10.60.0.0/16 via 10.1.3.9\n"
                    "route add 10.70.0.0/16 via 10.9.0.1\n")
              .status.ok());
  const Fib& fib = *rig.dp().fib;
  auto at = [&](const char* a) {
    uint32_t v = 0;
    inet_pton(AF_INET, a, &v);
    return fib.next_hop(fib.Lookup(v));
  };
  const Tables& t = rig.dp().CurrentTables();
  auto name = [&](const NextHop& nh) { return std::string(t.ifs[nh.ifindex].name); };
  CHECK(at("10.50.0.1").type == NhType::kGateway);
  CHECK(name(at("10.50.0.1")) == "wan");         // /24 over /16
  CHECK(name(at("10.60.0.1")) == "lan");         // only the /16 holds it
  CHECK(at("10.70.0.1").type == NhType::kNone);  // no connected network: inactive
  rig.Reset();
}

// The SPD's order through the applier (priority, then the more specific selector), checked
// against a reference written apart from it: overlapping policies with shared priorities, added
// in shuffled order over several batches, some deleted; the policy the packet path finds must
// match the packet, and no matching policy may rank before it (equal ranks are RFC 4301's
// ambiguity: any of them).
TEST_CASE("The SPD ranks policies by priority, then specificity, over batches",
          "[mgmt][applier][spd]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kBase).status.ok());
  struct Pol {
    uint32_t src, dst;  // host order, masked
    int slen, dlen, proto, plo, phi, prio;
    bool discard;
  };
  std::mt19937 rnd(4301);
  auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rnd() % n); };
  auto mask = [](int len) { return len == 0 ? 0u : ~0u << (32 - len); };
  auto addr = [&] { return 0x0a000000u | pick(4) << 16 | pick(4) << 8 | pick(8); };
  auto ip = [](uint32_t a) {
    return absl::StrFormat("%d.%d.%d.%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  };
  std::vector<Pol> pols;
  std::set<std::tuple<uint32_t, uint32_t, int, int, int, int, int>> keys;
  while (pols.size() < 300) {
    Pol p{};
    p.slen = static_cast<int>(8 + pick(25));
    p.dlen = static_cast<int>(8 + pick(25));
    p.src = addr() & mask(p.slen);
    p.dst = addr() & mask(p.dlen);
    p.proto = pick(3) == 0 ? 17 : 0;
    p.plo = 0;
    p.phi = 65535;
    if (p.proto && pick(2)) {
      p.plo = static_cast<int>(pick(100));
      p.phi = p.plo + static_cast<int>(pick(100));
    }
    p.prio = static_cast<int>(pick(5));  // many share a priority
    p.discard = pick(2) != 0;
    if (!keys.insert({p.src, p.dst, p.slen, p.dlen, p.proto, p.plo, p.prio}).second) continue;
    pols.push_back(p);
  }
  auto line = [&](const char* op, const Pol& p) {
    std::string l = absl::StrFormat("policy %s out src %s/%d dst %s/%d", op, ip(p.src), p.slen,
                                    ip(p.dst), p.dlen);
    if (p.proto) l += absl::StrFormat(" proto %d", p.proto);
    if (p.phi != 65535 || p.plo != 0) l += absl::StrFormat(" dport %d-%d", p.plo, p.phi);
    return l + (p.discard ? " discard" : " bypass") + absl::StrFormat(" priority %d\n", p.prio);
  };
  std::shuffle(pols.begin(), pols.end(), rnd);
  for (size_t b = 0; b < 3; ++b) {
    std::string batch;
    for (size_t i = b * 100; i < (b + 1) * 100; ++i) batch += line("add", pols[i]);
    REQUIRE(rig.Apply(batch).status.ok());
  }
  std::string del;
  for (size_t i = 0; i < 50; ++i) del += line("del", pols[i]);
  REQUIRE(rig.Apply(del).status.ok());
  pols.erase(pols.begin(), pols.begin() + 50);
  const SpdDirection& out = rig.dp().CurrentTables().spd.out;
  REQUIRE(out.n == 250);
  auto matches = [](const Pol& p, uint32_t s, uint32_t d, int proto, int dport) {
    auto m = [](int len) { return len == 0 ? 0u : ~0u << (32 - len); };
    return (s & m(p.slen)) == p.src && (d & m(p.dlen)) == p.dst &&
           (p.proto == 0 || p.proto == proto) && dport >= p.plo && dport <= p.phi;
  };
  auto rank = [](const Pol& p) { return std::make_pair(p.prio, -(p.slen + p.dlen)); };
  int found = 0;
  for (int i = 0; i < 10000; ++i) {
    // A quarter of the sources outside every policy's pool: no policy.
    const uint32_t s = pick(4) != 0 ? addr() : 0xac100000u | pick(65536), d = addr();
    const int proto = pick(2) ? 17 : 6;
    const int dport = static_cast<int>(pick(220));
    const PolicyEntry* got = out.Find(
        {htonl(s), htonl(d), static_cast<uint8_t>(proto), 1000, static_cast<uint16_t>(dport)});
    const Pol* best = nullptr;
    for (const Pol& p : pols)
      if (matches(p, s, d, proto, dport) && (best == nullptr || rank(p) < rank(*best))) best = &p;
    INFO("packet " << ip(s) << " -> " << ip(d) << " proto " << proto << " dport " << dport);
    if (best == nullptr) {
      REQUIRE(got == nullptr);
      continue;
    }
    REQUIRE(got != nullptr);
    ++found;
    // The one found matches and ranks as the best.
    const Pol g{ntohl(got->src),
                ntohl(got->dst),
                __builtin_popcount(got->src_mask),
                __builtin_popcount(got->dst_mask),
                got->proto,
                got->has_ports ? got->dport_lo : 0,
                got->has_ports ? got->dport_hi : 65535,
                static_cast<int>(got->priority),
                got->action == PolicyAction::kDiscard};
    REQUIRE(matches(g, s, d, proto, dport));
    REQUIRE(rank(g) == rank(*best));
  }
  CHECK(found > 1000);
  CHECK(found < 10000);
  rig.Reset();
}

TEST_CASE("SA owners: vpnd's (in, out) pairs spread both directions; a rekey keeps the owner",
          "[applier]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kBase).status.ok());
  // As vpnd installs a CHILD SA: the inbound SA, then the outbound one, bound to the VTI.
  auto pair = [](int vti, uint32_t spi_in, uint32_t spi_out, const char* op = "add") {
    std::string out;
    for (auto [dir, spi] : {std::pair{"in", spi_in}, std::pair{"out", spi_out}})
      out += absl::StrFormat(
          "sa %s spi %#x dir %s local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key "
          "00112233445566778899aabbccddeeff salt 01020304 vti vti%d\n",
          op, spi, dir, vti);
    return out;
  };
  REQUIRE(rig.Apply("interface add vti1 kind vti\ninterface add vti2 kind vti\n" +
                    pair(1, 0x1001, 0x2001) + pair(2, 0x1002, 0x2002))
              .status.ok());
  const SaTable& sas = *rig.dp().sas;
  // Two tunnels: their outbound SAs on different workers, their inbound ones too.
  CHECK(sas.Find(0x2001, false)->owner != sas.Find(0x2002, false)->owner);
  CHECK(sas.Find(0x1001, true)->owner != sas.Find(0x1002, true)->owner);
  // A rekey of vti2 (new SPIs, the old pair still live, deleted later): each new SA on the
  // owner of the one it replaces, whatever the loads say.
  const uint16_t out2 = sas.Find(0x2002, false)->owner, in2 = sas.Find(0x1002, true)->owner;
  REQUIRE(rig.Apply(pair(2, 0x1003, 0x2003)).status.ok());
  CHECK(sas.Find(0x2003, false)->owner == out2);
  CHECK(sas.Find(0x1003, true)->owner == in2);
  REQUIRE(rig.Apply(pair(2, 0x1002, 0x2002, "del")).status.ok());
  REQUIRE(rig.Apply(pair(2, 0x1004, 0x2004)).status.ok());
  CHECK(sas.Find(0x2004, false)->owner == out2);
  CHECK(sas.Find(0x1004, true)->owner == in2);
}

// IPv6 configuration (docs/DESIGN.md, IPv6): addresses make connected and local routes in the
// FIB6, gateways resolve through the longest connected prefix (or the named interface for a
// link-local one), deletes and flushes take them out, duplicates are refused by name, static
// neighbours go into the ND table, and IPv6 policies are refused (the SPD is IPv4).
TEST_CASE("IPv6 addresses, routes and neighbours reach the FIB6 and the ND table",
          "[mgmt][applier][ipv6]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add lan kind port\ninterface add wan kind port\n"
                    "interface add vti0 kind vti\n"
                    "address add lan 2001:db8:1::1/64\naddress add wan 2001:db8:ff::1/64\n"
                    "address add wan fe80::1/64\n"
                    "route add 2001:db8:5::/48 via 2001:db8:ff::2\n"
                    "route add 2001:db8:6::/48 via fe80::9 dev wan\n"
                    "route add 2001:db8:7::/48 via 2001:db8:99::1\n"
                    "route add 2001:db8:8::/48 dev vti0\n"
                    "route add 2001:db8:9::/48 blackhole\n"
                    "neigh add lan 2001:db8:1::2 02:00:00:00:01:0a\n")
              .status.ok());
  const Fib6& fib = *rig.dp().fib6;
  auto at = [&](const char* a) {
    uint8_t v[16];
    inet_pton(AF_INET6, a, v);
    return fib.next_hop(fib.Lookup(v));
  };
  const Tables& t = rig.dp().CurrentTables();
  auto name = [&](const NextHop6& nh) { return std::string(t.ifs[nh.ifindex].name); };
  CHECK(at("2001:db8:1::1").type == NhType::kLocal);
  CHECK(at("2001:db8:1::7").type == NhType::kConnected);
  CHECK(name(at("2001:db8:1::7")) == "lan");
  CHECK(at("2001:db8:5::1").type == NhType::kGateway);
  CHECK(name(at("2001:db8:5::1")) == "wan");
  CHECK(name(at("2001:db8:6::1")) == "wan");
  CHECK(at("2001:db8:7::1").type == NhType::kNone);  // no connected network holds the gateway
  CHECK(at("2001:db8:8::1").type == NhType::kInterface);
  CHECK(at("2001:db8:9::1").type == NhType::kBlackhole);
  // Link-local prefixes are every link's: not in the FIB6 (the worker delivers and answers
  // them by interface), and the same link-local address may be on another interface.
  CHECK(at("fe80::1").type == NhType::kNone);
  CHECK(at("fe80::2").type == NhType::kNone);
  CHECK(t.ifs[1].naddr6 == 1);
  uint8_t host[16];
  inet_pton(AF_INET6, "2001:db8:1::2", host);
  rte_ether_addr mac;
  CHECK(rig.dp().neighbors6->Lookup6(1, host, &mac));
  // Refused by name, changing nothing.
  CHECK(rig.Apply("address add lan fe80::1/64").status.ok());
  auto dup = rig.Apply("address add wan 2001:db8:1::1/64");
  CHECK(dup.status.code() == absl::StatusCode::kAlreadyExists);
  CHECK(std::string(dup.status.message()).find("2001:db8:1::1") != std::string::npos);
  // An IPv6 policy goes into the IPv6 SPD (tables/spd.h), not the IPv4 one.
  auto pol = rig.Apply("policy add out src 2001:db8:1::/64 dst 2001:db8:2::/64 discard");
  INFO(pol.status.message());
  REQUIRE(pol.status.ok());
  CHECK(rig.dp().CurrentTables().spd.out6.n == 1);
  CHECK(rig.dp().CurrentTables().spd.out.n == 0);
  auto again = rig.Apply("policy add out src 2001:db8:1::/64 dst 2001:db8:2::/64 discard");
  CHECK(again.status.code() == absl::StatusCode::kAlreadyExists);
  CHECK(std::string(again.status.message()).find("2001:db8:1::/64") != std::string::npos);
  REQUIRE(rig.Apply("policy del out src 2001:db8:1::/64 dst 2001:db8:2::/64 discard").status.ok());
  CHECK(rig.dp().CurrentTables().spd.out6.n == 0);
  // An interface going down takes its IPv6 routes with it, and coming up brings them back.
  REQUIRE(rig.Apply("interface update lan kind port down").status.ok());
  CHECK(at("2001:db8:1::7").type == NhType::kNone);
  REQUIRE(rig.Apply("interface update lan kind port up").status.ok());
  CHECK(at("2001:db8:1::7").type == NhType::kConnected);
  // Deleted: the address's routes go, and with them the gateway route through it.
  REQUIRE(rig.Apply("address del wan 2001:db8:ff::1/64\nneigh del lan 2001:db8:1::2").status.ok());
  CHECK(at("2001:db8:5::1").type == NhType::kNone);
  CHECK(at("2001:db8:ff::1").type == NhType::kNone);
  CHECK(!rig.dp().neighbors6->Lookup6(1, host, &mac));
  REQUIRE(rig.Apply("flush all").status.ok());
  CHECK(fib.route_count() == 0);
  rig.Reset();
}

}  // namespace
}  // namespace portcullis::dp::testing
