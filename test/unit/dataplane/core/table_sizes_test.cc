// The table sizes from vpn-dataplane's command line: defaults that fit a small box, every
// option within its documented range, anything else refused with a message naming the option
// and its range; the derived next-hop and FIB sizes.
#include "dataplane/core/table_sizes.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>

namespace portcullis::dp {
namespace {

TEST_CASE("table sizes: the defaults are valid and small", "[core][sizes]") {
  const TableSizes d;
  CHECK(CheckTableSizes(d).ok());
  CHECK(d.interfaces == 1024);
  CHECK(d.sas == 8192);
  CHECK(d.routes == 65536);
  CHECK(d.policies == 1024);
  CHECK(d.NextHops() == 2 * 1024 + 4096);
  CHECK(d.FibTbl8() == 4096);
  CHECK(d.FibRoutes() == 65536 + 16 * 1024);
}

TEST_CASE("table sizes: the range ends are accepted", "[core][sizes]") {
  TableSizes top;
  for (const auto& [option, value] : {std::pair{"--max-interfaces", "65535"},
                                      {"--max-sas", "1048576"},
                                      {"--max-routes", "2097152"},
                                      {"--max-policies", "65536"},
                                      {"--max-neighbors", "4194304"},
                                      {"--max-next-hops", "1048576"},
                                      {"--fib-tbl8-groups", "262144"}}) {
    INFO(option);
    CHECK(SetTableSize(top, option, value).ok());
  }
  CHECK(CheckTableSizes(top).ok());
  TableSizes low;
  CHECK(SetTableSize(low, "--max-interfaces", "16").ok());
  CHECK(SetTableSize(low, "--max-sas", "64").ok());
  CHECK(CheckTableSizes(low).ok());
}

TEST_CASE("table sizes: the sizes the scale tests load are accepted", "[core][sizes]") {
  TableSizes s;
  REQUIRE(SetTableSize(s, "--max-sas", "100000").ok());
  REQUIRE(SetTableSize(s, "--max-interfaces", "20000").ok());
  REQUIRE(SetTableSize(s, "--max-routes", "1048576").ok());
  REQUIRE(SetTableSize(s, "--max-policies", "10000").ok());
  REQUIRE(SetTableSize(s, "--max-neighbors", "1048576").ok());
  CHECK(CheckTableSizes(s).ok());
  CHECK(s.sas == 100000);
  CHECK(s.interfaces == 20000);
  CHECK(s.routes == 1048576);
  CHECK(s.policies == 10000);
  CHECK(s.neighbors == 1048576);
  CHECK(s.FibTbl8() == 16384);       // routes / 64
  CHECK(s.NextHops() >= 2 * 20000);  // every interface's local and connected next hops
}

TEST_CASE("table sizes: bad values name the option and its range", "[core][sizes]") {
  TableSizes s;
  for (const char* bad : {"", "abc", "-1", "0", "12x", "4294967297", "65536"}) {
    absl::Status st = SetTableSize(s, "--max-interfaces", bad);
    INFO(bad << ": " << st);
    CHECK(absl::IsInvalidArgument(st));
    CHECK_THAT(std::string(st.message()), Catch::Contains("--max-interfaces must be a number "
                                                          "from 16 to 65535"));
  }
  CHECK(s.interfaces == 1024);  // unchanged
  CHECK(absl::IsInvalidArgument(SetTableSize(s, "--max-sas", "10")));
  CHECK(absl::IsInvalidArgument(SetTableSize(s, "--max-sas", "2000000")));
  CHECK(absl::IsInvalidArgument(SetTableSize(s, "--max-widgets", "10")));
  CHECK_FALSE(IsTableSizeOption("--max-widgets"));
  CHECK(IsTableSizeOption("--max-routes"));
}

TEST_CASE("table sizes: combinations that cannot work are refused", "[core][sizes]") {
  TableSizes s;
  s.interfaces = 30000;
  s.next_hops = 4096;  // fewer than the interfaces' own next hops
  absl::Status st = CheckTableSizes(s);
  CHECK(absl::IsInvalidArgument(st));
  CHECK_THAT(std::string(st.message()), Catch::Contains("--max-next-hops"));
  s = TableSizes{};
  s.sas = 3;  // set directly, past SetTableSize's check
  CHECK(absl::IsInvalidArgument(CheckTableSizes(s)));
}

TEST_CASE("table sizes: --help lists every option with its range", "[core][sizes]") {
  const std::string help = TableSizesHelp();
  for (const char* o : {"--max-interfaces", "--max-sas", "--max-routes", "--max-next-hops",
                        "--max-neighbors", "--max-policies", "--fib-tbl8-groups"})
    CHECK_THAT(help, Catch::Contains(o));
  CHECK_THAT(help, Catch::Contains("16..65535, default 1024"));
}

}  // namespace
}  // namespace portcullis::dp
