// The schema and the path resolver: every node kind, set and delete, and the schema's own
// consistency (every default is a legal value of its leaf).
#include "control/config/schema.h"

#include <catch2/catch.hpp>
#include <functional>

#include "absl/strings/str_split.h"
#include "control/config/config_loader.h"
#include "control/config/path_resolver.h"

using namespace portcullis::config;

namespace {

bool Apply(ConfigTree& t, Diagnostics& d, const std::string& line,
           Command::Op op = Command::Op::kSet) {
  Command c;
  c.op = op;
  c.words = absl::StrSplit(line, ' ');
  c.loc = {"t.conf", 7};
  return ApplyCommand(t, c, d);
}

std::string LastError(const Diagnostics& d) {
  return d.all().empty() ? "" : d.all().back().ToString();
}

}  // namespace

TEST_CASE("every default is a legal value of its own leaf", "[schema]") {
  int leaves = 0;
  std::function<void(const SchemaNode&, std::string)> walk = [&](const SchemaNode& n,
                                                                 std::string path) {
    for (const auto& c : n.children) {
      std::string p = path.empty() ? c.name : path + " " + c.name;
      if (c.kind == NodeKind::kLeaf || c.kind == NodeKind::kLeafList) {
        ++leaves;
        INFO(p);
        CHECK(c.value.kind != ValueKind::kNone);
        if (!c.default_value.empty()) CHECK(CheckValue(c.value, c.default_value).empty());
      }
      if (c.kind == NodeKind::kTag) {
        INFO(p);
        CHECK(c.value.kind != ValueKind::kNone);
      }
      if (c.kind == NodeKind::kEmpty || c.kind == NodeKind::kContainer) {
        CHECK(c.default_value.empty());
      }
      walk(c, p);
    }
  };
  walk(RootSchema(), "");
  CHECK(leaves > 150);
}

TEST_CASE("the Vyatta ranges and defaults are in the table", "[schema]") {
  ConfigTree t;
  Diagnostics d;
  REQUIRE(Apply(t, d, "security vpn ipsec ike-group G proposal 1"));
  REQUIRE(Apply(t, d, "security vpn ipsec esp-group E proposal 1"));
  REQUIRE(Apply(t, d, "security vpn ike retransmit"));
  const ConfigNode* g = t.root().Find({"security", "vpn", "ipsec", "ike-group", "G"});
  REQUIRE(g != nullptr);
  CHECK(g->Get("ike-version") == "1");
  CHECK(g->Get("lifetime") == "28800");
  CHECK(g->Find({"proposal", "1"})->Get("encryption") == "aes128");
  CHECK(g->Find({"proposal", "1"})->Get("hash") == "sha1");
  const ConfigNode* e = t.root().Find({"security", "vpn", "ipsec", "esp-group", "E"});
  CHECK(e->Get("lifetime") == "3600");
  CHECK(e->Get("pfs") == "enable");
  CHECK(e->Get("mode") == "tunnel");
  const ConfigNode* rt = t.root().Find({"security", "vpn", "ike", "retransmit"});
  CHECK(rt->Get("tries") == "5");
  CHECK(rt->Get("timeout") == "4.0");
  CHECK(rt->Get("base") == "1.8");
  CHECK(rt->parent()->Get("half-open-timeout") == "30");
  CHECK(rt->parent()->Get("cookie-threshold") == "10");
  CHECK(rt->parent()->Get("block-threshold") == "5");
  CHECK_FALSE(Apply(t, d, "security vpn ike half-open-timeout 61"));
  CHECK_FALSE(Apply(t, d, "security vpn ike retransmit tries 33"));
  CHECK_FALSE(Apply(t, d, "security vpn ike retransmit base 4.1"));
  CHECK_FALSE(Apply(t, d, "security vpn ipsec ike-group G lifetime 29"));
  CHECK_FALSE(Apply(t, d, "security vpn ipsec ike-group G dead-peer-detection timeout 29"));
  CHECK_FALSE(Apply(t, d, "security vpn ipsec ike-group G proposal 65536"));
  CHECK_FALSE(Apply(t, d, "security vpn ipsec ike-group G proposal 1 dh-group 1"));
  CHECK_FALSE(Apply(t, d, "interfaces vti vti0 mtu 67"));
  CHECK_FALSE(Apply(t, d, "security firewall name F rule 10000 action accept"));
}

TEST_CASE("container and tag nodes", "[schema]") {
  ConfigTree t;
  Diagnostics d;
  REQUIRE(Apply(t, d, "security vpn ipsec site-to-site peer 192.0.2.1 description x"));
  const ConfigNode* holder = t.root().Find({"security", "vpn", "ipsec", "site-to-site", "peer"});
  REQUIRE(holder != nullptr);
  CHECK_FALSE(holder->is_tag_instance());
  const ConfigNode* peer = holder->Child("192.0.2.1");
  REQUIRE(peer != nullptr);
  CHECK(peer->is_tag_instance());
  CHECK(peer->Path() == "security vpn ipsec site-to-site peer 192.0.2.1");
  // A tag needs its key, and the key is checked.
  CHECK_FALSE(Apply(t, d, "security vpn ipsec site-to-site peer"));
  CHECK_THAT(LastError(d), Catch::Contains("security vpn ipsec site-to-site peer: needs a value"));
  CHECK_FALSE(Apply(t, d, "security vpn ipsec ike-group bad!name"));
  CHECK_THAT(LastError(d), Catch::Contains("invalid IKE group name"));
  // Numeric keys are canonical.
  REQUIRE(Apply(t, d, "security vpn ipsec esp-group E proposal 01 hash null"));
  CHECK(t.root().Find({"security", "vpn", "ipsec", "esp-group", "E", "proposal", "1"}) != nullptr);
}

TEST_CASE("leaf, leaf-list and empty leaf", "[schema]") {
  ConfigTree t;
  Diagnostics d;
  REQUIRE(Apply(t, d, "security vpn ipsec esp-group E lifetime 1800"));
  REQUIRE(Apply(t, d, "security vpn ipsec esp-group E lifetime 900"));  // a leaf is replaced
  CHECK(t.root().Find({"security", "vpn", "ipsec", "esp-group", "E"})->Get("lifetime") == "900");
  REQUIRE(Apply(t, d, "interfaces vti vti0 address 10.0.0.1/30"));
  REQUIRE(Apply(t, d, "interfaces vti vti0 address 2001:db8::1/64"));
  REQUIRE(Apply(t, d, "interfaces vti vti0 address 10.0.0.1/30"));  // no duplicate
  CHECK(t.root().Find({"interfaces", "vti", "vti0"})->LeafList("address").size() == 2);
  REQUIRE(Apply(t, d, "security vpn ike make-before-break"));
  CHECK(t.root().Find({"security", "vpn", "ike"})->Has("make-before-break"));
  CHECK_FALSE(Apply(t, d, "security vpn ike make-before-break yes"));
  CHECK_THAT(LastError(d), Catch::Contains("takes no value (got 'yes')"));
  CHECK_FALSE(Apply(t, d, "security vpn ipsec esp-group E lifetime"));
  CHECK_THAT(LastError(d), Catch::Contains("lifetime: needs a value: 30..86400"));
  CHECK_FALSE(Apply(t, d, "security vpn ipsec esp-group E lifetime 30 60"));
  CHECK_THAT(LastError(d), Catch::Contains("unexpected '60' after the value '30'"));
}

TEST_CASE("unknown nodes are named, with a suggestion", "[schema]") {
  ConfigTree t;
  Diagnostics d;
  CHECK_FALSE(Apply(t, d, "security vpn ipsec esp-group E lifetme 3600"));
  CHECK(LastError(d) ==
        "t.conf: line 7: security vpn ipsec esp-group E: unknown configuration node 'lifetme' "
        "(did you mean 'lifetime'?)");
  CHECK_FALSE(Apply(t, d, "securty vpn"));
  CHECK_THAT(LastError(d), Catch::Contains("unknown configuration node 'securty' (did you mean "
                                           "'security'?)"));
  CHECK_FALSE(Apply(t, d, "security bogus"));
  CHECK_THAT(LastError(d), Catch::Contains("expected one of: vpn, firewall, zone-policy"));
  // A failed command leaves nothing behind.
  CHECK(t.root().children().empty());
}

TEST_CASE("Vyatta nodes Portcullis does not do are refused by name", "[schema]") {
  ConfigTree t;
  Diagnostics d;
  CHECK_FALSE(
      Apply(t, d, "security vpn ipsec site-to-site peer 1.2.3.4 authentication x509 cert-file /c"));
  CHECK_THAT(LastError(d), Catch::Contains("x509 authentication is not supported yet"));
  CHECK_FALSE(Apply(t, d, "security vpn rsa-keys local-key file /x"));
  CHECK_THAT(LastError(d), Catch::Contains("RSA keys are not supported yet"));
  CHECK_FALSE(Apply(t, d, "security vpn ipsec site-to-site peer 1.2.3.4 dhcp-interface dp0p1s1"));
  CHECK_THAT(LastError(d), Catch::Contains("dhcp-interface is not supported yet"));
}

TEST_CASE("a malformed secret is never echoed", "[schema]") {
  ConfigTree t;
  Diagnostics d;
  CHECK_FALSE(Apply(t, d,
                    "security vpn ipsec site-to-site peer 1.2.3.4 authentication pre-shared-secret "
                    "my~secret"));
  CHECK_THAT(LastError(d), Catch::Contains("invalid secret: Only these characters"));
  CHECK_THAT(LastError(d), !Catch::Contains("my~secret"));
  CHECK_FALSE(Apply(t, d,
                    "security vpn ipsec site-to-site peer 1.2.3.4 authentication pre-shared-secret "
                    "s3cret extra"));
  CHECK_THAT(LastError(d), !Catch::Contains("s3cret"));
}

TEST_CASE("delete removes nodes, values and emptied containers", "[schema]") {
  ConfigTree t;
  Diagnostics d;
  REQUIRE(Apply(t, d, "interfaces vti vti0 address 10.0.0.1/30"));
  REQUIRE(Apply(t, d, "interfaces vti vti0 address 10.0.1.1/30"));
  REQUIRE(Apply(t, d, "interfaces vti vti0 address 10.0.0.1/30", Command::Op::kDelete));
  CHECK(t.root().Find({"interfaces", "vti", "vti0"})->LeafList("address") ==
        std::vector<std::string>{"10.0.1.1/30"});
  REQUIRE(Apply(t, d, "interfaces vti vti0", Command::Op::kDelete));
  CHECK(t.root().Child("interfaces") == nullptr);
  CHECK_FALSE(Apply(t, d, "interfaces vti vti0", Command::Op::kDelete));
  CHECK_THAT(LastError(d), Catch::Contains("nothing to delete"));
  REQUIRE(Apply(t, d, "security vpn ipsec ike-group G lifetime 3600"));
  REQUIRE(Apply(t, d, "security vpn ipsec ike-group G lifetime", Command::Op::kDelete));
  // The empty group stays: it is configured.
  CHECK(t.root().Find({"security", "vpn", "ipsec", "ike-group", "G"}) != nullptr);
}

TEST_CASE("files: session words, comments, unknown commands", "[schema]") {
  auto c = LoadConfigText(
      "configure\n"
      "# comment\n"
      "\n"
      "set interfaces vti vti0 address 10.0.0.1/30\n"
      "commit\nsave\nexit\n"
      "et interfaces vti vti0 description x\n"
      "delete interfaces vti vti0 address 10.0.0.1/30\n",
      "f.conf");
  REQUIRE(c.diags.error_count() == 1);
  CHECK(c.diags.all()[0].ToString() ==
        "f.conf: line 8: unknown command 'et' (did you mean 'set'?)");
  CHECK(c.tree.root().Find({"interfaces", "vti", "vti0"})->LeafList("address").empty());
}
