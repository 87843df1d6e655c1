// compare: the set and delete commands from one tree to another, and that applying them gives
// the other tree; which changes overlap.
#include "control/config/config_compare.h"

#include <catch2/catch.hpp>

#include "control/config/config_clone.h"
#include "control/config/config_display.h"
#include "control/config/config_loader.h"

using namespace portcullis::config;

namespace {

constexpr char kRunning[] =
    "set security vpn ipsec ike-group IKE lifetime 28800\n"
    "set security vpn ipsec ike-group IKE proposal 1 encryption aes256\n"
    "set security vpn ipsec esp-group ESP lifetime 3600\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret 'old'\n"
    "set security vpn ipsec site-to-site peer 192.0.2.9 ike-group IKE\n"
    "set interfaces vti vti0 address 10.0.0.1/30\n"
    "set interfaces vti vti0 address 10.0.1.1/30\n";

constexpr char kCandidate[] =
    "set security vpn ipsec ike-group IKE lifetime 3600\n"
    "set security vpn ipsec ike-group IKE proposal 1 encryption aes256\n"
    "set security vpn ipsec esp-group ESP lifetime 3600\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret 'new'\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 description 'east'\n"
    "set interfaces vti vti0 address 10.0.0.1/30\n"
    "set protocols static interface-route 10.9.0.0/16 next-hop-interface vti0\n";

std::string Commands(const ConfigTree& t) {
  DisplayOptions o;
  o.commands = true;
  o.show_secrets = true;
  return ShowConfiguration(t, o);
}

}  // namespace

TEST_CASE("compare: deletes at the top of what goes, then sets; secrets hidden", "[compare]") {
  LoadedConfig a = LoadConfigText(kRunning), b = LoadConfigText(kCandidate);
  std::vector<ConfigChange> changes = CompareTrees(a.tree, b.tree);
  CHECK(RenderChanges(changes) ==
        "delete interfaces vti vti0 address '10.0.1.1/30'\n"
        "delete security vpn ipsec site-to-site peer 192.0.2.9\n"
        "set protocols static interface-route 10.9.0.0/16 next-hop-interface vti0\n"
        "set security vpn ipsec ike-group IKE lifetime '3600'\n"
        "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret "
        "'********'\n"
        "set security vpn ipsec site-to-site peer 192.0.2.2 description 'east'\n");
  CHECK(RenderChanges(changes, true).find("'new'") != std::string::npos);
}

TEST_CASE("applying compare's commands to one tree gives the other", "[compare]") {
  LoadedConfig a = LoadConfigText(kRunning), b = LoadConfigText(kCandidate);
  for (auto [from, to] : {std::pair{&a.tree, &b.tree}, std::pair{&b.tree, &a.tree}}) {
    std::unique_ptr<ConfigTree> t = CloneTree(*from);
    Diagnostics d;
    for (const ConfigChange& c : CompareTrees(*from, *to)) {
      INFO(RenderChanges({c}));
      CHECK(ApplyCommand(*t, ToCommand(c), d));
    }
    CHECK(Commands(*t) == Commands(*to));
  }
}

TEST_CASE("identical trees compare empty; an emptied tree deletes its roots", "[compare]") {
  LoadedConfig a = LoadConfigText(kRunning);
  CHECK(CompareTrees(a.tree, a.tree).empty());
  ConfigTree empty;
  CHECK(RenderChanges(CompareTrees(a.tree, empty)) == "delete interfaces\ndelete security\n");
}

TEST_CASE("changes overlap on the same node or one inside the other", "[compare]") {
  auto change = [](Command::Op op, std::vector<std::string> words, bool value) {
    ConfigChange c;
    c.op = op;
    for (size_t i = 0; i < words.size(); ++i) {
      bool is_value = value && i + 1 == words.size();
      c.words.push_back(
          {words[i], is_value ? DisplayWord::Kind::kValue : DisplayWord::Kind::kKeyword});
    }
    return c;
  };
  auto peer = change(Command::Op::kDelete, {"security", "vpn", "ipsec", "peer", "A"}, false);
  auto desc = change(Command::Op::kSet, {"security", "vpn", "ipsec", "peer", "A", "d", "x"}, true);
  auto desc2 = change(Command::Op::kSet, {"security", "vpn", "ipsec", "peer", "A", "d", "y"}, true);
  auto other = change(Command::Op::kSet, {"security", "vpn", "ipsec", "peer", "B", "d", "x"}, true);
  CHECK(Overlaps(peer, desc));
  CHECK(Overlaps(desc, peer));
  CHECK(Overlaps(desc, desc2));  // the same leaf, whatever the values
  CHECK_FALSE(Overlaps(desc, other));
  CHECK(desc.NodePath().size() == 6);
}
