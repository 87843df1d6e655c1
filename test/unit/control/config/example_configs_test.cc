// Every file in configs/ loads cleanly; the seeds' own configurations load as published, and the
// seed's typo is reported on its line. Run from the source root (meson test workdir).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/config/config_display.h"
#include "control/config/config_loader.h"

using namespace portcullis::config;
namespace fs = std::filesystem;

namespace {

std::string Errors(const LoadedConfig& c) {
  std::string out;
  for (const auto& d : c.diags.all())
    if (d.severity == Diagnostic::Severity::kError) out += d.ToString() + "\n";
  return out;
}

std::string ShowCommands(const LoadedConfig& c, Dialect d) {
  DisplayOptions o;
  o.commands = true;
  o.dialect = d;
  o.show_secrets = true;
  return ShowConfiguration(c.tree, o);
}

}  // namespace

TEST_CASE("every file in configs/ loads without errors", "[configs]") {
  int n = 0;
  for (const auto& e : fs::directory_iterator("configs")) {
    if (e.path().extension() != ".conf") continue;
    ++n;
    auto c = LoadConfigFile(e.path().string());
    REQUIRE(c.ok());
    INFO(e.path().string() << "\n" << Errors(*c));
    CHECK(c->ok());
  }
  CHECK(n >= 4);
}

TEST_CASE("every file in configs/ survives a round trip through both dialects", "[configs]") {
  for (const auto& e : fs::directory_iterator("configs")) {
    if (e.path().extension() != ".conf") continue;
    auto c = LoadConfigFile(e.path().string());
    REQUIRE(c.ok());
    std::string vyatta = ShowCommands(*c, Dialect::kVyatta);
    std::string vyos = ShowCommands(*c, Dialect::kVyos);
    auto from_vyos = LoadConfigText(vyos, "vyos-form");
    auto from_vyatta = LoadConfigText(vyatta, "vyatta-form");
    INFO(e.path().string() << "\n" << Errors(from_vyos) << Errors(from_vyatta));
    CHECK(from_vyos.ok());
    CHECK(from_vyatta.ok());
    CHECK(ShowCommands(from_vyos, Dialect::kVyatta) == vyatta);
    CHECK(ShowCommands(from_vyatta, Dialect::kVyatta) == vyatta);
  }
}

TEST_CASE("the seed's east config as published fails on the 'et' line", "[configs]") {
  auto c = LoadConfigFile("test/data/seed-vyatta-east.conf");
  REQUIRE(c.ok());
  CHECK(Errors(*c) ==
        "test/data/seed-vyatta-east.conf: line 15: unknown command 'et' (did you mean 'set'?)\n");
}

TEST_CASE("the seed's west config as published loads (with warnings)", "[configs]") {
  auto c = LoadConfigFile("test/data/seed-vyatta-west.conf");
  REQUIRE(c.ok());
  INFO(Errors(*c));
  CHECK(c->ok());
}

TEST_CASE("the VyOS seed's configurations load as published", "[configs]") {
  // The seed's lines, one per line (the web rendering ran them together).
  for (const char* f : {"test/data/seed-vyos-site-a.conf", "test/data/seed-vyos-site-b.conf"}) {
    auto c = LoadConfigFile(f);
    REQUIRE(c.ok());
    INFO(f << "\n" << Errors(*c));
    CHECK(c->ok());
  }
}

TEST_CASE("the VyOS seed as rendered on the web explains the lost line breaks", "[configs]") {
  auto c = LoadConfigText(
      "set vpn ipsec ike-group IKE-SITE-B close-action 'none'set vpn ipsec ike-group IKE-SITE-B "
      "dead-peer-detection action 'restart'\n",
      "pasted.conf");
  CHECK_THAT(Errors(c), Catch::Contains("pasted.conf: line 1: missing space after the quoted value "
                                        "at column 49 (before 'set'): a line break seems to be "
                                        "missing before 'set'"));
}
