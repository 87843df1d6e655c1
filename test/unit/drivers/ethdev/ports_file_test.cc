#include "drivers/ethdev/ports_file.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace portcullis::drivers::ethdev {
namespace {

TEST_CASE("The ports file lists NAME=DEVICE lines with comments and blank lines") {
  auto ports = ParsePortsText(
      "# the appliance's ports\n"
      "\n"
      "dp0p1s0=0000:03:00.0   # LAN\n"
      "  dp0bond1=net_bonding0,mode=4,slave=0000:03:00.2,slave=0000:03:00.3,lacp_rate=fast\n",
      "ports");
  REQUIRE(ports.ok());
  REQUIRE(ports->size() == 2);
  CHECK((*ports)[0].name == "dp0p1s0");
  CHECK((*ports)[0].devargs == "0000:03:00.0");
  CHECK_FALSE((*ports)[0].is_vdev());
  CHECK((*ports)[1].name == "dp0bond1");
  CHECK((*ports)[1].members() == std::vector<std::string>{"0000:03:00.2", "0000:03:00.3"});
  CHECK((*ports)[1].lacp_fast);
}

TEST_CASE("A bad ports file line is named with its line number") {
  auto bad = ParsePortsText("lan=0000:03:00.0\nwan 0000:03:00.1\n", "/etc/portcullis/ports");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("/etc/portcullis/ports: line 2:") == 0);

  auto noeq = ParsePortsText("\n\nlan\n", "p");
  REQUIRE_FALSE(noeq.ok());
  CHECK(std::string(noeq.status().message()).find("p: line 3: --port 'lan'") == 0);

  auto twice = ParsePortsText("lan=0000:03:00.0\nlan=0000:03:00.1\n", "p");
  REQUIRE_FALSE(twice.ok());
  CHECK(std::string(twice.status().message()) == "p: line 2: port lan given twice");
}

TEST_CASE("An empty ports file is an empty list; a missing one an error") {
  auto empty = ParsePortsText("# nothing yet\n", "p");
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  char tmpl[] = "/tmp/ports_file_testXXXXXX";
  const int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  close(fd);
  const std::string path = tmpl;
  std::ofstream(path) << "wan=net_null0\n";
  auto read = ReadPortsFile(path);
  std::remove(path.c_str());
  REQUIRE(read.ok());
  REQUIRE(read->size() == 1);
  CHECK((*read)[0].device() == "net_null0");

  auto missing = ReadPortsFile("/nonexistent/ports");
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()).find("cannot read ports file /nonexistent/ports") ==
        0);
}

}  // namespace
}  // namespace portcullis::drivers::ethdev
