// Files named to vpnctl reach vpnd as absolute paths.
#include "control/vpnctl/absolute_paths.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <climits>

using namespace portcullis;

TEST_CASE("relative names are made absolute, existing or not", "[absolute_paths]") {
  char cwd[PATH_MAX];
  REQUIRE(getcwd(cwd, sizeof cwd) != nullptr);
  CHECK(vpnctl::AbsolutePath("no-such-file.conf") == std::string(cwd) + "/no-such-file.conf");
  CHECK(vpnctl::AbsolutePath("/tmp/../tmp") == "/tmp");  // resolved
  CHECK(vpnctl::AbsolutePath("/not/there.conf") == "/not/there.conf");
  CHECK(vpnctl::AbsolutePath("") == "");
}

TEST_CASE("an op command's file slot is sent absolute, other words as typed", "[absolute_paths]") {
  absl::StatusOr<ops::OpRequest> r = ops::ParseOpCommand({"load", "x.conf"});
  REQUIRE(r.ok());
  std::vector<std::string> w = vpnctl::OpRequestWords(*r);
  REQUIRE(w.size() == 2);
  CHECK(w[0] == "load");
  CHECK(w[1] == vpnctl::AbsolutePath("x.conf"));
  r = ops::ParseOpCommand({"show", "vpn", "ike", "sa", "peer", "192.0.2.2"});
  REQUIRE(r.ok());
  CHECK(vpnctl::OpRequestWords(*r) ==
        std::vector<std::string>{"show", "vpn", "ike", "sa", "peer", "192.0.2.2"});
}
