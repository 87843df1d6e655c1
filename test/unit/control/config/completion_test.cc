// Completion and `?` help from the schema: children with their help texts, tag instances,
// enum values, placeholders for ranges and patterns, names a leaf refers to, and only what is
// configured for delete and show.
#include "control/config/completion.h"

#include <catch2/catch.hpp>

#include "control/config/config_loader.h"

using namespace portcullis::config;

namespace {

constexpr char kConfig[] =
    "set security vpn ipsec ike-group IKE-A lifetime 3600\n"
    "set security vpn ipsec ike-group IKE-B proposal 1 encryption aes256\n"
    "set security vpn ipsec esp-group ESP-A lifetime 3600\n"
    "set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE-A\n"
    "set interfaces vti vti2 address 10.0.0.1/30\n"
    "set interfaces dataplane dp0p1s1 vif 10 address 10.1.0.1/24\n";

std::vector<std::string> Texts(const CompletionResult& r) {
  std::vector<std::string> out;
  for (const Completion& c : r.items) out.push_back(c.text);
  return out;
}

std::string HelpOf(const CompletionResult& r, const std::string& text) {
  for (const Completion& c : r.items)
    if (c.text == text) return c.help;
  return "<none>";
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("set: child keywords by prefix, with the schema's help", "[completion]") {
  LoadedConfig c = LoadConfigText(kConfig);
  CompletionResult r = CompletePath(c.tree, CompleteFor::kSet, {"security", "vpn", "ipsec"}, "si");
  CHECK(Texts(r) == V{"site-to-site"});
  r = CompletePath(c.tree, CompleteFor::kSet, {"security", "vpn", "ipsec", "ike-group", "IKE-A"},
                   "");
  CHECK(Texts(r) == V{"close-action", "dead-peer-detection", "disable-strict-mode", "ike-version",
                      "lifetime", "proposal"});
  CHECK(HelpOf(r, "lifetime") == "IKE SA lifetime in seconds");
  CHECK(HelpOf(r, "disable-strict-mode") == "Disable strict mode");  // no help: the name
  CHECK(r.complete);
  // Deprecated and unsupported nodes are not offered.
  r = CompletePath(c.tree, CompleteFor::kSet, {"security", "vpn", "ipsec"}, "");
  CHECK(Texts(r) == V{"esp-group", "ike-group", "logging", "site-to-site"});
  r = CompletePath(c.tree, CompleteFor::kSet, {}, "");
  CHECK(Texts(r) == V{"interfaces", "protocols", "resources", "security"});
  CHECK_FALSE(r.complete);
}

TEST_CASE("set: tag keys are placeholders plus the configured instances", "[completion]") {
  LoadedConfig c = LoadConfigText(kConfig);
  CompletionResult r =
      CompletePath(c.tree, CompleteFor::kSet, {"security", "vpn", "ipsec", "ike-group"}, "");
  CHECK(Texts(r) == V{"<name>", "IKE-A", "IKE-B"});
  CHECK(r.items[0].placeholder);
  r = CompletePath(c.tree, CompleteFor::kSet, {"interfaces", "vti"}, "");
  CHECK(Texts(r) == V{"<vtiN>", "vti2"});
  CHECK(HelpOf(r, "<vtiN>") == "Virtual tunnel interface (route-based IPsec)");
}

TEST_CASE("set: values are enums, ranges, or the names the leaf refers to", "[completion]") {
  LoadedConfig c = LoadConfigText(kConfig);
  V ike = {"security", "vpn", "ipsec", "ike-group", "IKE-A"};
  auto with = [](V w, std::initializer_list<std::string> more) {
    w.insert(w.end(), more);
    return w;
  };
  CompletionResult r = CompletePath(c.tree, CompleteFor::kSet, with(ike, {"ike-version"}), "");
  CHECK(Texts(r) == V{"1", "2", "2+1"});
  r = CompletePath(c.tree, CompleteFor::kSet, with(ike, {"lifetime"}), "");
  CHECK(Texts(r) == V{"<30-86400>"});
  CHECK(HelpOf(r, "<30-86400>") == "IKE SA lifetime in seconds");
  r = CompletePath(c.tree, CompleteFor::kSet, with(ike, {"proposal", "1", "encryption"}), "aes1");
  CHECK(Texts(r) == V{"aes128", "aes128gcm128"});
  V peer = {"security", "vpn", "ipsec", "site-to-site", "peer", "192.0.2.2"};
  r = CompletePath(c.tree, CompleteFor::kSet, with(peer, {"ike-group"}), "");
  CHECK(Texts(r) == V{"<name>", "IKE-A", "IKE-B"});
  r = CompletePath(c.tree, CompleteFor::kSet, with(peer, {"default-esp-group"}), "");
  CHECK(Texts(r) == V{"<name>", "ESP-A"});
  r = CompletePath(c.tree, CompleteFor::kSet, with(peer, {"vti", "bind"}), "");
  CHECK(Texts(r) == V{"<vtiN>", "vti2"});
  r = CompletePath(c.tree, CompleteFor::kSet, {"security", "vpn", "ike", "interface"}, "");
  CHECK(Texts(r) == V{"<interface>", "dp0p1s1", "dp0p1s1.10", "vti2"});
  r = CompletePath(c.tree, CompleteFor::kSet, with(peer, {"local-address"}), "");
  CHECK(Texts(r) == V{"<x.x.x.x>|<h:h:h:h:h:h:h:h>", "any"});
  r = CompletePath(c.tree, CompleteFor::kSet, with(peer, {"authentication", "pre-shared-secret"}),
                   "");
  CHECK(Texts(r) == V{"<secret>"});
  r = CompletePath(c.tree, CompleteFor::kSet, with(ike, {"lifetime", "3600"}), "");
  CHECK(r.items.empty());
  CHECK(r.complete);
}

TEST_CASE("delete and show offer only what is configured", "[completion]") {
  LoadedConfig c = LoadConfigText(kConfig);
  CompletionResult r = CompletePath(c.tree, CompleteFor::kDelete, {"security", "vpn", "ipsec"}, "");
  CHECK(Texts(r) == V{"esp-group", "ike-group", "site-to-site"});
  r = CompletePath(c.tree, CompleteFor::kDelete, {"security", "vpn", "ipsec", "ike-group"}, "");
  CHECK(Texts(r) == V{"IKE-A", "IKE-B"});
  r = CompletePath(c.tree, CompleteFor::kShow,
                   {"security", "vpn", "ipsec", "ike-group", "IKE-A", "lifetime"}, "");
  CHECK(Texts(r) == V{"3600"});
  r = CompletePath(c.tree, CompleteFor::kDelete, {"protocols"}, "");
  CHECK(r.error == "nothing configured at this path");
  CHECK(CompletePath(c.tree, CompleteFor::kShow, {}, "").complete);
}

TEST_CASE("a path that does not fit the schema is an error", "[completion]") {
  LoadedConfig c = LoadConfigText(kConfig);
  CompletionResult r = CompletePath(c.tree, CompleteFor::kSet, {"security", "vpx"}, "");
  CHECK(r.items.empty());
  CHECK(r.error == "unknown configuration node 'vpx' (did you mean 'vpn'?)");
}
