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
      "  dp0p1s2=net_af_packet2,iface=eth2\n",
      "ports");
  REQUIRE(ports.ok());
  REQUIRE(ports->size() == 2);
  CHECK((*ports)[0].name == "dp0p1s0");
  CHECK((*ports)[0].devargs == "0000:03:00.0");
  CHECK_FALSE((*ports)[0].is_vdev());
  CHECK((*ports)[1].name == "dp0p1s2");
  CHECK((*ports)[1].device() == "net_af_packet2");
}

TEST_CASE("A bond in the ports file is refused with a pointer to the configuration") {
  // Bonds come from `interfaces bonding` at commit (#17): a second definition here was
  // silently what ran, whatever the configuration said.
  auto bond = ParsePortsText(
      "dp0p1s2=0000:03:00.2\n"
      "dp0bond1=net_bonding0,mode=4,slave=0000:03:00.2,slave=0000:03:00.3\n",
      "ports");
  REQUIRE_FALSE(bond.ok());
  const std::string msg(bond.status().message());
  CHECK(msg.find("ports: line 2: --port dp0bond1=net_bonding0") == 0);
  CHECK(msg.find("a bond is not a port") != std::string::npos);
  CHECK(msg.find("interfaces bonding dp0bond1 mode lacp|active-backup|balanced") !=
        std::string::npos);
  CHECK_FALSE(ParsePortSpec("wan=eth_bond0,mode=1").ok());
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
