// vpnctl's output pipes: the pipe as its own word or inside one, chaining, bad filters, and the
// escaping of control characters before they reach a terminal.
#include "control/vpnctl/output_filter.h"

#include <catch2/catch.hpp>

using namespace portcullis::vpnctl;

TEST_CASE("the pipe as a word of its own or inside a quoted word", "[vpnctl][filter]") {
  auto a = ParsePipeline({"show", "vpn", "ike", "sa", "|", "match", "up"});
  auto b = ParsePipeline({"show", "vpn", "ike", "sa", "| match up"});
  auto c = ParsePipeline({"show", "vpn", "ike", "sa", "|match", "up"});
  for (auto* p : {&a, &b, &c}) {
    REQUIRE(p->ok());
    CHECK((*p)->command == std::vector<std::string>{"show", "vpn", "ike", "sa"});
    REQUIRE((*p)->filters.size() == 1);
    CHECK((*p)->filters[0].kind == OutputFilter::Kind::kMatch);
    CHECK((*p)->filters[0].pattern == "up");
  }
  auto none = ParsePipeline({"load", "my file.conf"});
  REQUIRE(none.ok());
  CHECK(none->command == std::vector<std::string>{"load", "my file.conf"});
}

TEST_CASE("filters chain left to right", "[vpnctl][filter]") {
  auto p =
      ParsePipeline({"show", "log", "|", "no-match", "CFG", "|", "match", "IKE|CHD", "|", "count"});
  // "IKE|CHD" holds a pipe: it is split like any word, so alternation needs no '|'.
  REQUIRE_FALSE(p.ok());
  p = ParsePipeline({"show", "log", "|", "no-match", "CFG", "|", "match", "(IKE)", "|", "count"});
  REQUIRE(p.ok());
  const char* text = "01[IKE] a\n01[CFG] b\n01[IKE] c\n01[CHD] d\n";
  CHECK(ApplyFilters(p->filters, text) == "Count: 2 lines\n");
  CHECK(ApplyFilters({{OutputFilter::Kind::kNoMatch, "IKE"}}, text) == "01[CFG] b\n01[CHD] d\n");
  auto j = ParsePipeline({"show", "vpn", "ike", "sa", "|", "json"});
  REQUIRE(j.ok());
  CHECK(j->json());
}

TEST_CASE("bad filters say what is wrong", "[vpnctl][filter]") {
  CHECK(ParsePipeline({"show", "|"}).status().message() == "'|' needs a filter after it");
  CHECK(ParsePipeline({"show", "|", "match"}).status().message() ==
        "'| match' needs an expression");
  CHECK(ParsePipeline({"show", "|", "grep", "x"}).status().message() ==
        "unknown filter 'grep' after '|' (match RE, no-match RE, count or json)");
  CHECK(ParsePipeline({"show", "|", "match", "("}).status().message() ==
        "'| match (': not a regular expression");
  CHECK(ParsePipeline({"show", "|", "count", "x"}).status().message() ==
        "'| count' takes no argument");
}

TEST_CASE("control characters from a peer are escaped", "[vpnctl][filter]") {
  CHECK(EscapeForTerminal("id \x1b[2Jevil\r\n\ttab") == "id \\x1b[2Jevil\\x0d\n\ttab");
  CHECK(EscapeForTerminal("\xc2\x9b"
                          "31m \xc3\xa9") == "\\xc2\\x9b31m \xc3\xa9");
}
