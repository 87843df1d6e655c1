// ParseJson: the DPDK telemetry replies dpctl and vpnd read, and what it refuses.
#include "dataplane/api/json_value.h"

#include <catch2/catch.hpp>
#include <string>

using namespace portcullis::dp::api;

TEST_CASE("json: a telemetry reply keeps member order, types and escapes", "[api][json]") {
  auto v =
      ParseJson(R"({"/portcullis/stats": {"rx": 18446744073709551615, "name": "dp0\"bond\u0041\n",)"
                R"( "up": true, "down": false, "none": null, "list": [1, 2.5, "x"]}})");
  REQUIRE(v.ok());
  REQUIRE(v->type == JsonValue::Type::kObject);
  REQUIRE(v->object.size() == 1);
  const JsonValue* s = v->Get("/portcullis/stats");
  REQUIRE(s != nullptr);
  REQUIRE(s->object.size() == 6);
  CHECK(s->object[0].first == "rx");
  CHECK(s->object[5].first == "list");
  CHECK(s->Str("name") == "dp0\"bondA\n");
  CHECK(s->Get("up")->boolean);
  CHECK(s->Get("down")->type == JsonValue::Type::kBool);
  CHECK(!s->Get("down")->boolean);
  CHECK(s->Get("none")->type == JsonValue::Type::kNull);
  REQUIRE(s->Get("list")->array.size() == 3);
  CHECK(s->Get("list")->array[1].number == 2.5);
  CHECK(s->Get("list")->array[2].string == "x");
  // Absent members read as 0 and "".
  CHECK(s->U64("missing") == 0);
  CHECK(s->Str("missing").empty());
  CHECK(s->Get("missing") == nullptr);
}

TEST_CASE("json: malformed input is an error, never a partial value", "[api][json]") {
  for (const char* bad :
       {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,", "\"open", "tru", "{} {}", "[1] x", "{\"a\":1,}"}) {
    INFO(bad);
    CHECK(!ParseJson(bad).ok());
  }
  // Nesting is bounded: a hostile or broken reply cannot exhaust the stack.
  std::string deep(1000, '[');
  deep += std::string(1000, ']');
  CHECK(!ParseJson(deep).ok());
  std::string ok_depth(20, '[');
  ok_depth += std::string(20, ']');
  CHECK(ParseJson(ok_depth).ok());
}
