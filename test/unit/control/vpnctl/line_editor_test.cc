// What Tab inserts, decided without a terminal (the terminal itself is driven through tmux in
// test/integration/test_configure_tmux.py).
#include "control/vpnctl/line_editor.h"

#include <catch2/catch.hpp>

using namespace portcullis::vpnctl;

TEST_CASE("Tab completes the only word, or what the words share", "[line_editor]") {
  ConfigureShell::Completions one;
  one.items = {{"site-to-site", "Site to site", false}};
  CHECK(TabInsertion(one, "si") == "te-to-site ");
  ConfigureShell::Completions with_placeholder;
  with_placeholder.items = {{"<name>", "IKE group", true}, {"IKE-A", "IKE group", false}};
  CHECK(TabInsertion(with_placeholder, "") == "IKE-A");  // something else may be typed: no space
  ConfigureShell::Completions three;
  three.items = {{"commit", "", false}, {"commit-confirm", "", false}, {"compare", "", false}};
  CHECK(TabInsertion(three, "co") == "m");  // what all three share
  CHECK(TabInsertion(three, "com") == "");  // nothing more: the choices are listed
  three.items.pop_back();
  CHECK(TabInsertion(three, "co") == "mmit");
  ConfigureShell::Completions placeholder_only;
  placeholder_only.items = {{"<30-86400>", "Lifetime", true}};
  CHECK(TabInsertion(placeholder_only, "") == "");
}

TEST_CASE("the word under the cursor", "[line_editor]") {
  CHECK(PartialWord("set security vp") == "vp");
  CHECK(PartialWord("set ") == "");
  CHECK(PartialWord("") == "");
  CHECK(PartialWord("com") == "com");
}
