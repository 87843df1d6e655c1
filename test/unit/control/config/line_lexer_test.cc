#include "control/config/line_lexer.h"

#include <catch2/catch.hpp>

using namespace portcullis::config;
using Words = std::vector<std::string>;

TEST_CASE("words, quotes and comments", "[lexer]") {
  CHECK(LexLine("set a b c").words == Words{"set", "a", "b", "c"});
  CHECK(LexLine("  set\ta   b ").words == Words{"set", "a", "b"});
  CHECK(LexLine("set x 'two words'").words == Words{"set", "x", "two words"});
  CHECK(LexLine("set x \"a \\\"q\\\" b\"").words == Words{"set", "x", "a \"q\" b"});
  CHECK(LexLine("set x 'it#is'").words == Words{"set", "x", "it#is"});
  CHECK(LexLine("set x '' y").words == Words{"set", "x", "", "y"});
  CHECK(LexLine("# a comment").words.empty());
  CHECK(LexLine("set x y # trailing").words == Words{"set", "x", "y"});
  CHECK(LexLine("").words.empty());
  CHECK(LexLine("set a b\r").words == Words{"set", "a", "b"});
}

TEST_CASE("broken lines are explained", "[lexer]") {
  auto unterminated = LexLine("set x 'oops");
  CHECK_THAT(unterminated.error, Catch::Contains("unterminated quote '"));
  // The VyOS seed as rendered on the web lost its newlines.
  auto mashed = LexLine("set vpn ipsec ike-group X close-action 'none'set vpn ipsec ike-group X");
  CHECK(mashed.error ==
        "missing space after quoted value 'none' (before 'set'): a line break seems to be "
        "missing before 'set'");
}

TEST_CASE("values are quoted for display", "[lexer]") {
  CHECK(QuoteValue("3600") == "'3600'");
  CHECK(QuoteValue("it's") == "\"it's\"");
  CHECK(LexLine("set x " + QuoteValue("a'b\"c")).words.back() == "a'b\"c");
}
