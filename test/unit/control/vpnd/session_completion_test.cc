// Completion of whole configuration-mode lines and its encoding on the socket.
#include "control/vpnd/session_completion.h"

#include <catch2/catch.hpp>

#include "control/config/config_loader.h"

using namespace portcullis;

namespace {
constexpr char kConfig[] =
    "set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE\n"
    "set security vpn ipsec ike-group IKE lifetime 3600\n";

std::vector<std::string> Texts(const vpnd::LineCompletion& c) {
  std::vector<std::string> out;
  for (const auto& i : c.items) out.push_back(i.text);
  return out;
}
using V = std::vector<std::string>;
}  // namespace

TEST_CASE("the first word: the mode's commands", "[session_completion]") {
  config::LoadedConfig c = config::LoadConfigText(kConfig);
  CHECK(Texts(vpnd::CompleteLine(c.tree, "co")) ==
        V{"commit", "commit-confirm", "compare", "confirm"});
  CHECK(vpnd::CompleteLine(c.tree, "").items.size() == 13);
  CHECK(vpnd::CompleteLine(c.tree, "xyz").error == "unknown command 'xyz'");
}

TEST_CASE("paths after set/delete/show, both dialects", "[session_completion]") {
  config::LoadedConfig c = config::LoadConfigText(kConfig);
  CHECK(Texts(vpnd::CompleteLine(c.tree, "set security vpn ipsec si")) == V{"site-to-site"});
  CHECK(Texts(vpnd::CompleteLine(c.tree, "set vpn ipsec si")) == V{"site-to-site"});
  CHECK(Texts(vpnd::CompleteLine(c.tree, "delete security vpn ipsec ")) ==
        V{"ike-group", "site-to-site"});
  vpnd::LineCompletion r = vpnd::CompleteLine(c.tree, "show security vpn ipsec ike-group IKE ");
  CHECK(Texts(r) == V{"lifetime"});
  CHECK(r.complete);
}

TEST_CASE("run: op commands, configured peers for <peer>", "[session_completion]") {
  config::LoadedConfig c = config::LoadConfigText(kConfig);
  CHECK(Texts(vpnd::CompleteLine(c.tree, "run sh")) == V{"show"});
  CHECK(Texts(vpnd::CompleteLine(c.tree, "run reset vpn ipsec-peer ")) == V{"<peer>", "192.0.2.2"});
  CHECK(vpnd::CompleteLine(c.tree, "run frob").error == "no operational command starts this way");
}

TEST_CASE("arguments of the other commands", "[session_completion]") {
  config::LoadedConfig c = config::LoadConfigText(kConfig);
  CHECK(Texts(vpnd::CompleteLine(c.tree, "exit ")) == V{"discard"});
  CHECK(vpnd::CompleteLine(c.tree, "commit ").complete);
  CHECK(Texts(vpnd::CompleteLine(c.tree, "rollback ")) == V{"<N>"});
  CHECK(vpnd::CompleteLine(c.tree, "commit now").error == "");
  CHECK(vpnd::CompleteLine(c.tree, "commit now ").error == "'commit' takes no more arguments");
}

TEST_CASE("the encoding: W and P lines, C, E", "[session_completion]") {
  vpnd::LineCompletion c;
  c.items = {{"<N>", "Minutes", true}, {"discard", "Drop", false}};
  c.complete = true;
  CHECK(vpnd::EncodeCompletion(c) == "P\t<N>\tMinutes\nW\tdiscard\tDrop\nC\n");
  vpnd::LineCompletion e;
  e.error = "bad";
  CHECK(vpnd::EncodeCompletion(e) == "E\tbad\n");
}
