// A clone has every node, value and line of the original and is independent of it.
#include "control/config/config_clone.h"

#include <catch2/catch.hpp>

#include "control/config/config_display.h"
#include "control/config/config_loader.h"

using namespace portcullis::config;

namespace {
constexpr char kConfig[] =
    "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret 'k1'\n"
    "set interfaces vti vti0 address 10.0.0.1/30\n"
    "set interfaces vti vti0 address 10.0.1.1/30\n"
    "set security vpn ipsec ike-group IKE\n"
    "set security vpn ike make-before-break\n";

std::string Commands(const ConfigTree& t) {
  DisplayOptions o;
  o.commands = true;
  o.show_secrets = true;
  return ShowConfiguration(t, o);
}
}  // namespace

TEST_CASE("a clone shows the same commands, secrets, leaf-list order and lines", "[clone]") {
  LoadedConfig c = LoadConfigText(kConfig, "f.conf");
  std::unique_ptr<ConfigTree> copy = CloneTree(c.tree);
  CHECK(Commands(*copy) == Commands(c.tree));
  const ConfigNode* addr = copy->root().Find({"interfaces", "vti", "vti0", "address"});
  REQUIRE(addr != nullptr);
  CHECK(addr->values() == std::vector<std::string>{"10.0.0.1/30", "10.0.1.1/30"});
  CHECK(addr->value_locs()[1].line == 3);
  CHECK(addr->value_locs()[1].file == "f.conf");
  CHECK(copy->root().Find({"security", "vpn", "ipsec", "ike-group", "IKE"}) != nullptr);
}

TEST_CASE("changing a clone leaves the original alone", "[clone]") {
  LoadedConfig c = LoadConfigText(kConfig);
  std::unique_ptr<ConfigTree> copy = CloneTree(c.tree);
  Diagnostics d;
  REQUIRE(ApplyCommand(*copy, {Command::Op::kDelete, {"interfaces"}, {}}, d));
  CHECK(copy->root().Child("interfaces") == nullptr);
  CHECK(c.tree.root().Child("interfaces") != nullptr);
}
