// The command applier at scale, on a dataplane sized from its options as vpn-dataplane's
// command line sizes it: 10,000 VTIs (ifindexes far above 255), 20,000 SAs and 10,000 interface
// routes load in batches of at most 4,096 messages, every SA is found by its SPI and through
// its VTI, every route leads into its VTI; and 10,000 policies per direction go into the SPD's
// ACL. A table one past its size refuses the batch naming the option.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dataplane/dpctl/command_parser.h"
#include "dataplane/mgmt/command_applier.h"
#include "dataplane/runtime/dataplane.h"
#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp {
namespace {

constexpr uint32_t kTunnels = 10000;
constexpr size_t kMaxBatch = 4096;  // what the channel carries in one batch today

// A dataplane of its own (the pipeline rig's has the default sizes), no workers.
struct Scale {
  std::unique_ptr<Dataplane> dp;
  std::unique_ptr<CommandApplier> applier;
  dpctl::InterfaceDirectory dir;
  std::vector<api::Message> pending;
  size_t batches = 0;

  explicit Scale(const TableSizes& sizes, const char* name) {
    test::EnsureEal();
    DataplaneParams p;
    p.name = name;
    p.mbufs = 1023;
    p.sizes = sizes;
    auto d = CreateDataplane(p);
    INFO(d.status());
    REQUIRE(d.ok());
    dp = std::move(*d);
    applier = std::make_unique<CommandApplier>(*dp);
  }
  // Queues one dpctl line's messages; a batch goes when the next line would not fit.
  void Line(const std::string& line) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    std::vector<api::Message> msgs;
    absl::Status s = dpctl::ParseCommand(words, dir, msgs);
    INFO(line);
    REQUIRE(s.ok());
    if (pending.size() + msgs.size() > kMaxBatch) Flush();
    pending.insert(pending.end(), msgs.begin(), msgs.end());
  }
  api::ApplyResult Apply() {
    api::CommandBatch b;
    b.messages = pending;
    ++batches;
    api::ApplyResult r = applier->Apply(b);
    pending.clear();
    return r;
  }
  void Flush() {
    if (pending.empty()) return;
    REQUIRE(pending.size() <= kMaxBatch);
    api::ApplyResult r = Apply();
    INFO("batch " << batches << ": " << r.status << " at " << r.failed_index);
    REQUIRE(r.status.ok());
  }
};

uint32_t OutSpi(uint32_t i) {
  return 0x10000000u + i;
}
uint32_t InSpi(uint32_t i) {
  return 0x20000000u + i;
}
// 198.18.x.y: tunnel i's peer; 172.16.0.0/12: the networks behind it (a /28 each).
std::string Peer(uint32_t i) {
  return absl::StrFormat("198.18.%d.%d", i / 250, i % 250 + 1);
}
uint32_t Behind(uint32_t i) {
  return 0xac100000u + (i << 4);  // host order
}

TEST_CASE("10,000 VTIs, 20,000 SAs and 10,000 interface routes load; every SA is found",
          "[mgmt][applier][scale]") {
  TableSizes sizes;
  sizes.interfaces = 10240;
  sizes.sas = 20480;
  Scale s(sizes, "scl");
  const std::string key = " cipher aes-gcm-128 key 00112233445566778899aabbccddeeff salt 01020304";
  // No ports in this dataplane: a loopback carries the tunnels' local address.
  s.Line("interface add lo kind loopback");
  s.Line("address add lo 192.0.2.1/32");
  for (uint32_t i = 0; i < kTunnels; ++i) {
    const std::string vti = absl::StrFormat("vti%d", i);
    s.Line(absl::StrFormat("interface add %s kind vti mtu 1400", vti));
    s.Line(absl::StrFormat("sa add spi %#x dir out local 192.0.2.1 remote %s%s vti %s", OutSpi(i),
                           Peer(i), key, vti));
    s.Line(absl::StrFormat("sa add spi %#x dir in local 192.0.2.1 remote %s%s vti %s", InSpi(i),
                           Peer(i), key, vti));
    s.Line(absl::StrFormat("bind %s %#x", vti, OutSpi(i)));
    const uint32_t net = htonl(Behind(i));
    const uint8_t* b = reinterpret_cast<const uint8_t*>(&net);
    s.Line(absl::StrFormat("route add %d.%d.%d.%d/28 dev %s", b[0], b[1], b[2], b[3], vti));
  }
  s.Flush();
  CHECK(s.batches >= 13);  // 50,003 messages: at least 13 batches of 4,096

  const Tables& t = s.dp->CurrentTables();
  SaTable& sas = *s.dp->sas;
  CHECK(sas.count() == 2 * kTunnels);
  CHECK(s.applier->state().interfaces.size() == kTunnels + 1);
  uint32_t missing = 0, wrong_vti = 0, wrong_route = 0, max_ifindex = 0;
  for (uint32_t i = 0; i < kTunnels; ++i) {
    auto ifx = s.dir.Resolve(absl::StrFormat("vti%d", i));
    REQUIRE(ifx.ok());
    max_ifindex = std::max(max_ifindex, *ifx);
    const SaEntry* in = sas.LookupInbound(htonl(InSpi(i)));  // the packet path's lookup
    const SaEntry* in_by_spi = sas.Find(InSpi(i), true);
    const SaEntry* out = sas.Find(OutSpi(i), false);
    if (in == nullptr || in != in_by_spi || out == nullptr || sas.ById(out->id) != out) {
      ++missing;
      continue;
    }
    // Inbound: decrypted traffic arrives on the VTI; outbound: the VTI encrypts with it.
    if (in->ifindex != *ifx || t.ifs[*ifx].kind != IfKind::kVti || t.ifs[*ifx].out_sa != out)
      ++wrong_vti;
    const NextHop& nh = s.dp->fib->next_hop(s.dp->fib->Lookup(htonl(Behind(i) + 5)));
    if (nh.type != NhType::kInterface || nh.ifindex != *ifx) ++wrong_route;
  }
  CHECK(missing == 0);
  CHECK(wrong_vti == 0);
  CHECK(wrong_route == 0);
  CHECK(max_ifindex > 10000);  // far beyond the 255 of fixed tables

  // One more interface than --max-interfaces allows: refused, naming the option.
  s.Line("interface add over kind vti ifindex 10240");
  api::ApplyResult r = s.Apply();
  CHECK(r.status.code() == absl::StatusCode::kOutOfRange);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("--max-interfaces 10240"));

  // Removing a tenth of the tunnels (SAs, routes, interfaces) leaves the rest found.
  s.dir.Forget("over");
  for (uint32_t i = 0; i < kTunnels; i += 10) {
    const std::string vti = absl::StrFormat("vti%d", i);
    const uint32_t net = htonl(Behind(i));
    const uint8_t* b = reinterpret_cast<const uint8_t*>(&net);
    s.Line(absl::StrFormat("route del %d.%d.%d.%d/28 dev %s", b[0], b[1], b[2], b[3], vti));
    s.Line(absl::StrFormat("unbind %s", vti));
    s.Line(absl::StrFormat("sa del spi %#x dir out", OutSpi(i)));
    s.Line(absl::StrFormat("sa del spi %#x dir in", InSpi(i)));
    s.Line(absl::StrFormat("interface del %s", vti));
  }
  s.Flush();
  CHECK(sas.count() == 2 * (kTunnels - kTunnels / 10));
  CHECK(sas.LookupInbound(htonl(InSpi(10))) == nullptr);
  CHECK(sas.LookupInbound(htonl(InSpi(11))) != nullptr);
  CHECK(s.dp->fib->next_hop(s.dp->fib->Lookup(htonl(Behind(10) + 1))).type == NhType::kNone);
}

TEST_CASE("100,000 SAs load in batches and are all found by SPI", "[mgmt][applier][scale]") {
  TableSizes sizes;
  sizes.sas = 100000;
  Scale s(sizes, "scs");
  s.Line("interface add lo kind loopback");
  s.Line("address add lo 192.0.2.1/32");
  const std::string key = " cipher aes-gcm-128 key 00112233445566778899aabbccddeeff salt 01020304";
  // Half inbound (the packet path's SAD hash), half outbound.
  for (uint32_t i = 0; i < 50000; ++i) {
    s.Line(absl::StrFormat("sa add spi %#x dir in local 192.0.2.1 remote %s%s", InSpi(i), Peer(i),
                           key));
    s.Line(absl::StrFormat("sa add spi %#x dir out local 192.0.2.1 remote %s%s", OutSpi(i), Peer(i),
                           key));
  }
  s.Flush();
  SaTable& sas = *s.dp->sas;
  CHECK(sas.count() == 100000);
  uint32_t missing = 0;
  for (uint32_t i = 0; i < 50000; ++i) {
    const SaEntry* in = sas.LookupInbound(htonl(InSpi(i)));
    const SaEntry* out = sas.Find(OutSpi(i), false);
    if (in == nullptr || in->spi != InSpi(i) || sas.ById(in->id) != in || out == nullptr ||
        sas.ById(out->id) != out)
      ++missing;
  }
  CHECK(missing == 0);
  // The 100,001st is refused whole, naming the option.
  s.Line(
      absl::StrFormat("sa add spi 0x7fffffff dir in local 192.0.2.1 remote 198.51.100.1%s", key));
  api::ApplyResult r = s.Apply();
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("(--max-sas)"));
  CHECK(sas.count() == 100000);
}

TEST_CASE("10,000 policies per direction go into the SPD's ACL; one more is refused",
          "[mgmt][applier][scale]") {
  TableSizes sizes;
  sizes.policies = 10001;  // 10,000 and the one added below
  Scale s(sizes, "scp");
  s.Line("interface add lo kind loopback");
  s.Line("address add lo 192.0.2.1/32");
  s.Line(
      "sa add spi 0x5000 dir out local 192.0.2.1 remote 198.51.100.1 cipher aes-gcm-128 key "
      "00112233445566778899aabbccddeeff salt 01020304");
  // Policy i protects 10.1.0.0/16 -> 10.2.x.y/32 (out) and the reverse (in), priority i.
  auto host = [](uint32_t i) { return absl::StrFormat("10.2.%d.%d", i / 250, i % 250 + 1); };
  for (uint32_t i = 0; i < 10000; ++i) {
    s.Line(absl::StrFormat(
        "policy add out src 10.1.0.0/16 dst %s/32 protect reqid %d spi 0x5000 priority %d", host(i),
        i + 1, 1000 + i));
    s.Line(absl::StrFormat("policy add in src %s/32 dst 10.1.0.0/16 protect reqid %d priority %d",
                           host(i), i + 1, 1000 + i));
  }
  s.Flush();
  const Tables& t = s.dp->CurrentTables();
  REQUIRE(t.spd.out.n == 10000);
  REQUIRE(t.spd.in.n == 10000);
  uint32_t wrong = 0;
  for (uint32_t i = 0; i < 10000; i += 7) {
    uint32_t dst = 0, src = 0;
    inet_pton(AF_INET, host(i).c_str(), &dst);
    inet_pton(AF_INET, "10.1.3.4", &src);
    const PolicyEntry* p = t.spd.out.Find({src, dst, 17, 1000, 53});
    if (p == nullptr || p->reqid != i + 1 || p->sa == nullptr || p->sa->spi != 0x5000) ++wrong;
    p = t.spd.in.Find({dst, src, 6, 1000, 53});
    if (p == nullptr || p->reqid != i + 1) ++wrong;
  }
  CHECK(wrong == 0);
  // A rekey re-points policies at a new SA (an update: same selectors and priority): the
  // ACLs are not compiled again, the entries name the new SA.
  const SpdAcl* out_acl = t.spd.out.acl.get();
  const SpdAcl* in_acl = t.spd.in.acl.get();
  s.Line(
      "sa add spi 0x5001 dir out local 192.0.2.1 remote 198.51.100.1 cipher aes-gcm-128 key "
      "00112233445566778899aabbccddeeff salt 01020304");
  for (uint32_t i = 0; i < 100; ++i)
    s.Line(absl::StrFormat(
        "policy update out src 10.1.0.0/16 dst %s/32 protect reqid %d spi 0x5001 priority %d",
        host(i), i + 1, 1000 + i));
  s.Flush();
  const Tables& t2 = s.dp->CurrentTables();
  CHECK(t2.spd.out.acl.get() == out_acl);
  CHECK(t2.spd.in.acl.get() == in_acl);
  uint32_t repointed = 0;
  for (const PolicyEntry& e : t2.spd.out.entries) repointed += e.sa && e.sa->spi == 0x5001;
  CHECK(repointed == 100);
  // An inbound policy added: the outbound ACL stays.
  s.Line("policy add in src 10.3.0.0/16 dst 10.1.0.0/16 discard priority 5");
  s.Flush();
  CHECK(s.dp->CurrentTables().spd.out.acl.get() == out_acl);
  CHECK(s.dp->CurrentTables().spd.in.acl.get() != in_acl);
  // Two more outbound: one past the size, refused whole.
  s.Line("policy add out src 10.1.0.0/16 dst 10.9.0.1/32 discard");
  s.Line("policy add out src 10.1.0.0/16 dst 10.9.0.2/32 discard");
  api::ApplyResult r = s.Apply();
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(r.failed_index == 1);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("--max-policies 10001"));
}

TEST_CASE("10,000 IPv6 policies per direction go into the IPv6 SPD's ACL beside IPv4 ones",
          "[mgmt][applier][scale]") {
  // --max-policies counts both families of a direction; each family has its own ACL, and a
  // batch that changes one family's policies leaves the other's ACL as it was.
  TableSizes sizes;
  sizes.policies = 10001;
  Scale s(sizes, "sc6");
  s.Line("interface add lo kind loopback");
  s.Line("address add lo 2001:db8:ff::1/128");
  s.Line(
      "sa add spi 0x6000 dir out local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher aes-gcm-128 "
      "key 00112233445566778899aabbccddeeff salt 01020304");
  // Policy i protects 2001:db8:1::/48 -> 2001:db8:2:<i>::/64 (out) and the reverse (in).
  auto net = [](uint32_t i) { return absl::StrFormat("2001:db8:2:%x::", i); };
  for (uint32_t i = 0; i < 10000; ++i) {
    s.Line(absl::StrFormat(
        "policy add out src 2001:db8:1::/48 dst %s/64 protect reqid %d spi 0x6000 priority %d",
        net(i), i + 1, 1000 + i));
    s.Line(
        absl::StrFormat("policy add in src %s/64 dst 2001:db8:1::/48 protect reqid %d priority %d",
                        net(i), i + 1, 1000 + i));
  }
  s.Flush();
  const Tables& t = s.dp->CurrentTables();
  REQUIRE(t.spd.out6.n == 10000);
  REQUIRE(t.spd.in6.n == 10000);
  REQUIRE(t.spd.out6.acl != nullptr);
  uint32_t wrong = 0;
  for (uint32_t i = 0; i < 10000; i += 7) {
    PacketSelector6 p{};
    inet_pton(AF_INET6, "2001:db8:1:5::9", p.src);
    inet_pton(AF_INET6, (net(i) + "77").c_str(), p.dst);
    p.proto = 17;
    const PolicyEntry* e = t.spd.out6.Find6(p);
    if (e == nullptr || e->reqid != i + 1 || e->sa == nullptr || e->sa->spi != 0x6000) ++wrong;
    PacketSelector6 r = p;
    std::memcpy(r.src, p.dst, 16);
    std::memcpy(r.dst, p.src, 16);
    e = t.spd.in6.Find6(r);
    if (e == nullptr || e->reqid != i + 1) ++wrong;
  }
  CHECK(wrong == 0);
  PacketSelector6 none{};
  inet_pton(AF_INET6, "2001:db8:1::9", none.src);
  inet_pton(AF_INET6, "2001:db8:3::9", none.dst);
  CHECK(t.spd.out6.Find6(none) == nullptr);
  // An IPv4 policy: the IPv6 ACLs stay.
  const SpdAcl* out6 = t.spd.out6.acl.get();
  s.Line("policy add out src 10.1.0.0/16 dst 10.9.0.1/32 discard");
  s.Flush();
  CHECK(s.dp->CurrentTables().spd.out6.acl.get() == out6);
  CHECK(s.dp->CurrentTables().spd.out.n == 1);
  // That was the 10,001st outbound policy: one more of either family is refused.
  s.Line("policy add out src 2001:db8:1::/48 dst 2001:db8:9::/64 discard");
  api::ApplyResult r = s.Apply();
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("--max-policies 10001"));
}

// Staging counts static prefixes; the FIB's tbl8 groups (prefixes longer than /24, one per /24
// that holds them) and next hops can still run out when the batch goes live: the batch is then
// reported as failed, naming the option, never acked as applied with routes missing.
TEST_CASE("A FIB that runs out of tbl8 groups or next hops fails the batch naming the option",
          "[mgmt][applier][scale]") {
  TableSizes sizes;
  sizes.fib_tbl8 = 256;
  Scale s(sizes, "sct");
  s.Line("interface add lo kind loopback");
  s.Line("address add lo 192.0.2.1/24");
  for (uint32_t i = 0; i < 300; ++i)
    s.Line(absl::StrFormat("route add 10.%d.%d.0/26 dev lo", i / 250, i % 250));
  api::ApplyResult r = s.Apply();
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("--fib-tbl8-groups"));

  TableSizes few;
  few.interfaces = 16;
  few.next_hops = 64;
  Scale n(few, "scn");
  n.Line("interface add lo kind loopback");
  n.Line("address add lo 192.0.2.1/24");
  for (uint32_t i = 0; i < 70; ++i)
    n.Line(absl::StrFormat("route add 10.0.%d.0/24 via 192.0.2.%d", i, 10 + i));
  r = n.Apply();
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("--max-next-hops 64"));
}

// Routes through the applier at scale: 200,000 random prefixes (host bits set on some) in
// batches of 4,000 (route-only batches: the incremental path), then a tenth deleted and a tenth
// moved to another gateway in later batches, then an address change (a full re-decision): the
// FIB answers as a reference longest-prefix match over what is configured, at every stage.
TEST_CASE("200,000 routes over many batches resolve as a reference LPM", "[mgmt][applier][scale]") {
  TableSizes sizes;
  sizes.routes = 262144;
  sizes.fib_tbl8 = 16384;  // 2% of the prefixes are longer than /24, each in its own /24
  Scale s(sizes, "scr");
  s.Line("interface add lo kind loopback");
  s.Line("address add lo 192.0.2.1/24");
  s.Flush();
  std::mt19937 rnd(1812);
  auto mask = [](int len) { return len == 0 ? 0u : ~0u << (32 - len); };
  auto ip = [](uint32_t a) {
    return absl::StrFormat("%d.%d.%d.%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  };
  struct R {
    uint32_t prefix;  // host order, masked
    int len;
    uint32_t gw;  // host order
  };
  std::vector<R> routes;
  std::set<std::pair<uint32_t, int>> seen;
  while (routes.size() < 200000) {
    const uint32_t r = rnd() % 100;
    const int len = r < 2    ? 25 + static_cast<int>(rnd() % 8)
                    : r < 60 ? 24
                             : 12 + static_cast<int>(rnd() % 12);
    const uint32_t a = static_cast<uint32_t>(rnd());
    if ((a >> 24) == 192 || (a >> 24) == 0) continue;
    if (!seen.insert({a & mask(len), len}).second) continue;
    routes.push_back({a & mask(len), len, 0xc0000200u + 2 + static_cast<uint32_t>(rnd() % 50)});
  }
  // Some written with host bits set: the same prefix.
  auto add = [&](const R& r, size_t i) {
    const uint32_t written = i % 7 == 0 ? r.prefix | (~mask(r.len) & 0x5a5a5a5au) : r.prefix;
    s.Line(absl::StrFormat("route add %s/%d via %s", ip(written), r.len, ip(r.gw)));
  };
  for (size_t i = 0; i < routes.size(); ++i) add(routes[i], i);
  s.Flush();
  auto check = [&](const char* stage) {
    std::unordered_map<uint32_t, uint32_t> ref[33];
    for (const R& r : routes) ref[r.len][r.prefix] = r.gw;
    ref[24][0xc0000200u] = 0;  // the connected /24
    uint32_t wrong = 0;
    for (int i = 0; i < 100000; ++i) {
      const R& r = routes[rnd() % routes.size()];
      const uint32_t q = i % 2 ? r.prefix | (static_cast<uint32_t>(rnd()) & ~mask(r.len))
                               : static_cast<uint32_t>(rnd());
      uint32_t want = 0;
      bool routed = false;
      for (int len = 32; len >= 0 && !routed; --len) {
        auto it = ref[len].find(q & mask(len));
        if (it != ref[len].end()) {
          routed = true;
          want = it->second;
        }
      }
      const NextHop& nh = s.dp->fib->next_hop(s.dp->fib->Lookup(htonl(q)));
      const bool ok = !routed     ? nh.type == NhType::kNone
                      : want == 0 ? nh.type == NhType::kConnected
                                  : nh.type == NhType::kGateway && nh.gateway == htonl(want);
      wrong += !ok;
    }
    INFO(stage);
    CHECK(wrong == 0);
  };
  check("loaded");
  CHECK(s.dp->fib->route_count() == routes.size() + 2);  // and the connected and local routes
  // A tenth deleted, a tenth moved to another gateway (delete and add in one batch).
  for (size_t i = 0; i < routes.size(); i += 10) {
    const R& r = routes[i];
    s.Line(absl::StrFormat("route del %s/%d via %s", ip(r.prefix), r.len, ip(r.gw)));
  }
  for (size_t i = 5; i < routes.size(); i += 10) {
    R& r = routes[i];
    s.Line(absl::StrFormat("route del %s/%d via %s", ip(r.prefix), r.len, ip(r.gw)));
    r.gw = 0xc0000200u + 100 + (r.gw & 0x1f);
    s.Line(absl::StrFormat("route add %s/%d via %s", ip(r.prefix), r.len, ip(r.gw)));
  }
  s.Flush();
  std::vector<R> kept;
  for (size_t i = 0; i < routes.size(); ++i)
    if (i % 10 != 0) kept.push_back(routes[i]);
  routes = kept;
  check("after deletes and moves");
  s.Line("address add lo 198.51.100.1/24");  // every prefix decided again
  s.Flush();
  check("after a full re-decision");
}

}  // namespace
}  // namespace portcullis::dp
