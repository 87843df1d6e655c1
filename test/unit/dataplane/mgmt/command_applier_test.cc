// The command applier's all-or-nothing rule where the dataplane's tables run out: a batch the
// SA table cannot hold is refused before anything changes, and an update at a full table
// keeps its SA.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_format.h"
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

}  // namespace
}  // namespace portcullis::dp::testing
