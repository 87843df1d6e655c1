// Walking words through the schema: what each word is and what may come next.
#include "control/config/schema_walk.h"

#include <catch2/catch.hpp>

using namespace portcullis::config;
using Next = SchemaWalk::Next;
using Role = SchemaWalk::Role;

TEST_CASE("containers, tags, keys, leaves and values", "[schema_walk]") {
  SchemaWalk w = WalkSchema({});
  CHECK(w.ok());
  CHECK(w.next == Next::kChild);
  CHECK(w.at == &RootSchema());

  w = WalkSchema({"security", "vpn", "ipsec", "ike-group"});
  CHECK(w.next == Next::kKey);
  CHECK(w.at->name == "ike-group");

  w = WalkSchema({"security", "vpn", "ipsec", "ike-group", "IKE-1", "lifetime"});
  CHECK(w.next == Next::kValue);
  REQUIRE(w.steps.size() == 6);
  CHECK(w.steps[4].role == Role::kKey);

  w = WalkSchema({"security", "vpn", "ipsec", "ike-group", "IKE-1", "lifetime", "3600"});
  CHECK(w.ok());
  CHECK(w.next == Next::kNothing);
  CHECK(w.steps.back().role == Role::kValue);

  w = WalkSchema({"security", "vpn", "ike", "make-before-break"});
  CHECK(w.next == Next::kNothing);
}

TEST_CASE("a word that does not fit names itself and suggests", "[schema_walk]") {
  SchemaWalk w = WalkSchema({"security", "vpx"});
  CHECK_FALSE(w.ok());
  CHECK(w.error_word == 1);
  CHECK(w.error == "unknown configuration node 'vpx' (did you mean 'vpn'?)");

  w = WalkSchema({"security", "vpn", "ipsec", "ike-group", "X", "lifetime", "10"});
  CHECK(w.error == "value '10' out of range 30..86400");
  CHECK(WalkSchema({"security", "vpn", "ipsec", "ike-group", "X", "lifetime", "10"}, false).ok());

  w = WalkSchema({"security", "vpn", "ike", "make-before-break", "yes"});
  CHECK(w.error == "unexpected 'yes' after the end of the path");
}

TEST_CASE("a bad secret is never echoed", "[schema_walk]") {
  SchemaWalk w = WalkSchema({"security", "vpn", "ipsec", "site-to-site", "peer", "192.0.2.2",
                             "authentication", "pre-shared-secret", "bad secret{}"});
  CHECK(w.error == "invalid secret");
}
