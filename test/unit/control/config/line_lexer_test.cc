#include "control/config/line_lexer.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"

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
  CHECK(unterminated.error ==
        "unterminated quote ' at column 7: close it (the quoted text is not "
        "shown)");
  // The VyOS seed as rendered on the web lost its newlines.
  auto mashed = LexLine("set vpn ipsec ike-group X close-action 'none'set vpn ipsec ike-group X");
  CHECK(mashed.error ==
        "missing space after the quoted value at column 40 (before 'set'): a line break seems to "
        "be missing before 'set'");
}

TEST_CASE("lexer errors never show quoted text, nor what is glued to it", "[lexer][secret]") {
  const std::string secret = "Zq7Wx9Kp2Lm5Nv8Rt3Yh";
  const std::string head =
      "set security vpn ipsec site-to-site peer 192.0.2.2 authentication "
      "pre-shared-secret ";
  for (const std::string& line : {
           head + "'" + secret,                                        // unterminated '
           head + "\"" + secret,                                       // unterminated "
           head + "'" + secret.substr(0, 9) + "'" + secret.substr(9),  // glued to the value
           head + "\"" + secret + "\"x",  // glued after a double-quoted value
           head + "'" + secret + "'set",  // a lost line break
       }) {
    INFO(line);
    LexedLine l = LexLine(line);
    REQUIRE_FALSE(l.error.empty());
    bool shown = false;  // any 4 characters of the secret in a row
    for (size_t i = 0; i + 4 <= secret.size(); ++i)
      shown |= absl::StrContains(l.error, secret.substr(i, 4));
    INFO(l.error);
    CHECK_FALSE(shown);
  }
}

TEST_CASE("values are quoted for display", "[lexer]") {
  CHECK(QuoteValue("3600") == "'3600'");
  CHECK(QuoteValue("it's") == "\"it's\"");
  CHECK(LexLine("set x " + QuoteValue("a'b\"c")).words.back() == "a'b\"c");
}
