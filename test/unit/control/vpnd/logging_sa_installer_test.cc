// The kernel-socket transport's SA installer: CHILD SAs only logged, in the words vpnd has always
// used for them, nothing installed, removed or counted, and SPIs from the same random draw as the
// channel's.
#include <catch2/catch.hpp>

#include <set>

#include "absl/strings/match.h"
#include "control/vpnd/logging_sa_installer.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

namespace {

struct KernelMode {
  absl::Time now = absl::FromUnixSeconds(1767225600);
  Sink log;
  vpnd::LoggingSaInstaller installer{[this] { return now; }, &log};
};

}  // namespace

TEST_CASE("kernel transport: a CHILD SA is logged, not installed, in the words it always was",
          "[vpnd][kernel][sa]") {
  KernelMode k;
  auto c = MakeChild(0xc0000101, 0xc0000202);
  k.installer.AddSa(*c, 0);
  k.installer.AddPolicy(*c);
  // The line it always wrote, then the messages a dataplane would have got (#21: they show the
  // outer family and selectors an interop run negotiated), keys never.
  const std::string pre = "2026-01-01 00:00:00 01[KNL] <peer-192.0.2.2-tunnel-1{7}> ";
  REQUIRE(k.log.lines.size() == 5);
  CHECK(k.log.lines[0] == pre +
                              "kernel transport: CHILD_SA not "
                              "installed (SAs are only logged): ESP SPIs c0000101_i c0000202_o, "
                              "AES_GCM_16_128 10.1.0.0/24 === 10.2.0.0/24");
  CHECK(k.log.lines[1] == pre +
                              "kernel transport: would send sa in spi=c0000101 outer=ipv4 "
                              "local=192.0.2.1 remote=192.0.2.2");
  CHECK(k.log.lines[2] == pre +
                              "kernel transport: would send sa out spi=c0000202 outer=ipv4 "
                              "local=192.0.2.1 remote=192.0.2.2");
  CHECK(k.log.lines[3] == pre +
                              "kernel transport: would send policy out ipv4 10.1.0.0/24 -> "
                              "10.2.0.0/24 spi=c0000202");
  CHECK(k.log.lines[4] ==
        pre + "kernel transport: would send policy in ipv4 10.2.0.0/24 -> 10.1.0.0/24");
  for (const std::string& l : k.log.lines) {
    CHECK_FALSE(absl::StrContains(l, "1111"));  // the key bytes (0x11...)
  }
  // Behind a NAT, and route-based, over IPv6: the same line, naming the encapsulation.
  k.log.lines.clear();
  auto behind_nat = MakeChild(0xc0000303, 0xc0000404, "vti2");
  behind_nat->local = ike::Endpoint{*ike::Address::Parse("2001:db8::1"), 4500};
  behind_nat->remote = ike::Endpoint{*ike::Address::Parse("2001:db8::2"), 4501};
  behind_nat->encap = true;
  k.installer.AddSa(*behind_nat, 5);
  REQUIRE(k.log.lines.size() == 3);
  CHECK(k.log.lines[0] == pre +
                              "kernel transport: CHILD_SA not "
                              "installed (SAs are only logged): ESP SPIs c0000303_i c0000404_o, "
                              "AES_GCM_16_128 10.1.0.0/24 === 10.2.0.0/24, UDP-encapsulated to "
                              "2001:db8::2[4501]");
  CHECK(k.log.lines[2] == pre +
                              "kernel transport: would send sa out spi=c0000404 outer=ipv6 "
                              "local=2001:db8::1 remote=2001:db8::2 udp-encap=4500->4501 "
                              "vti-ifindex=5");
  // The peer's NAT mapping changes.
  k.now += absl::Seconds(1);
  k.installer.UpdateSa(*behind_nat);
  REQUIRE(k.log.lines.size() == 4);
  CHECK(k.log.lines[3] ==
        "2026-01-01 00:00:01 01[KNL] <peer-192.0.2.2-tunnel-1{7}> kernel transport: CHILD_SA with "
        "SPIs c0000303_i c0000404_o now between 2001:db8::1[4500] and 2001:db8::2[4501]");
  // Going down, nothing is said: nothing was installed.
  k.installer.DelSa(*c);
  k.installer.DelSa(*behind_nat);
  k.installer.FlushRemovals();
  k.installer.RetryRemovals();
  k.installer.ForgetAll();
  CHECK(k.log.lines.size() == 4);
}

TEST_CASE("kernel transport: nothing installed, nothing to fail, no counters to query",
          "[vpnd][kernel][sa][counters]") {
  KernelMode k;
  auto c = MakeChild(0xc0000101, 0xc0000202);
  k.installer.AddSa(*c, 0);
  CHECK(k.installer.TakeInstallFailures().empty());
  for (auto [spi, dir] : {std::pair{0xc0000101u, vpnd::SaDirection::kIn},
                          std::pair{0xc0000202u, vpnd::SaDirection::kOut}}) {
    absl::StatusOr<vpnd::SaCounters> counters = k.installer.QuerySa(spi, dir);
    CHECK(absl::IsNotFound(counters.status()));
    CHECK(absl::StrContains(counters.status().message(), "SAs are only logged"));
  }
}

TEST_CASE("kernel transport get-SPI: random with charon's prefix", "[vpnd][kernel][sa][spi]") {
  KernelMode k;
  std::set<uint32_t> seen;
  for (int i = 0; i < 32; ++i) {
    absl::StatusOr<uint32_t> spi = k.installer.GetSpi();
    REQUIRE(spi.ok());
    CHECK(*spi >= 256);
    CHECK(*spi >> 28 == 0xc);
    seen.insert(*spi);
  }
  CHECK(seen.size() == 32);
}
