// The algorithm name table: its names and order (which the schema, the commit rules and the VyOS
// dialect show), lookups both ways, and the refusal and warning texts built from it.
#include "control/config/algorithm_names.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/config/config_loader.h"

using namespace portcullis::config;

namespace {

using Names = std::vector<std::string>;

// Every error and warning of a configuration, one per line.
std::string Diags(const std::string& text) {
  LoadedConfig c = LoadConfigText(text, "t.conf");
  std::string out;
  for (const auto& d : c.diags.all()) absl::StrAppend(&out, d.ToString(), "\n");
  return out;
}

}  // namespace

TEST_CASE("the values, in the order the schema offers them", "[algorithms]") {
  CHECK(EncryptionValues() == Names{"aes128", "aes256", "3des", "aes128gcm128", "aes256gcm128"});
  CHECK(HashValues() ==
        Names{"md5", "sha1", "sha1_160", "sha2_256", "sha2_384", "sha2_512", "null"});
  CHECK(PrfValues() == Names{"prfsha1", "prfsha256", "prfsha384", "prfsha512"});
  CHECK(DhGroupValues() == Names{"2", "5", "14", "15", "16", "17", "18", "19", "20", "21", "31"});
  CHECK(PfsValues() == Names{"enable", "disable", "dh-group2", "dh-group5", "dh-group14",
                             "dh-group15", "dh-group16", "dh-group17", "dh-group18", "dh-group19",
                             "dh-group20", "dh-group21", "dh-group31"});
  CHECK(VyosHashNames() == Names{"sha256", "sha384", "sha512", "sha1", "md5", "null"});
}

TEST_CASE("names and ids are unique; lookups go both ways", "[algorithms]") {
  std::set<std::string> names;
  std::set<std::pair<int, int>> ids;
  for (const EncryptionName& e : Encryptions()) {
    INFO(e.vyatta);
    CHECK(names.insert(std::string(e.vyatta)).second);
    CHECK(ids.insert({e.transform_id, e.key_bits}).second);
    CHECK(FindEncryption(e.vyatta) == &e);
    CHECK(FindEncryption(e.transform_id, e.key_bits) == &e);
    CHECK(e.aead == absl::StrContains(e.vyatta, "gcm"));
  }
  std::set<std::string> vyos;
  for (const HashName& h : Hashes()) {
    INFO(h.vyatta);
    CHECK(names.insert(std::string(h.vyatta)).second);
    CHECK(FindHash(h.vyatta) == &h);
    if (!h.vyos.empty()) {
      CHECK(vyos.insert(std::string(h.vyos)).second);
      CHECK(FindVyosHash(h.vyos) == &h);
    }
    if (h.support == Support::kSupported && h.integ_id != 0) {
      CHECK(FindHashByInteg(h.integ_id) == &h);
      CHECK(FindHashByPrf(h.prf_id) == &h);
    }
  }
  for (const PrfName& p : Prfs()) {
    CHECK(FindPrf(p.vyatta) == &p);
    // prfshaN selects the PRF of hash shaN.
    CHECK(absl::StrContains(FindHashByPrf(p.prf_id)->vyatta, p.vyatta.substr(6)));
  }
  for (const DhGroupName& g : DhGroups()) CHECK(FindDhGroup(g.group) == &g);
  CHECK(FindHashByInteg(0)->vyatta == "null");
  CHECK(FindVyosHash("") == nullptr);
  CHECK(FindVyosHash("sha2_256") == nullptr);
  CHECK(FindEncryption("aes192") == nullptr);
  CHECK(FindDhGroup(1) == nullptr);
}

TEST_CASE("the refusals and warnings built from the table", "[algorithms]") {
  CHECK(Refusal(*FindEncryption("3des")) ==
        "3des is not supported (insecure): use aes128, aes256, aes128gcm128 or aes256gcm128");
  CHECK(Refusal(*FindHash("md5")) ==
        "md5 is not supported (insecure): use sha1, sha2_256, sha2_384 or sha2_512");
  CHECK(Refusal(*FindHash("sha1_160")) == "sha1_160 is no longer supported.");
  CHECK(Refusal(*FindEncryption("aes256")).empty());
  CHECK(Refusal(*FindHash("null")).empty());
  CHECK(PreferredDhGroups() == "14, 19, 20 or 31");
  CHECK(FindDhGroup(2)->weak);
  CHECK(FindDhGroup(5)->kind == "MODP-1536");
  CHECK_FALSE(FindDhGroup(14)->weak);
}

TEST_CASE("the configuration accepts, refuses and translates by the table", "[algorithms]") {
  const std::string group = "set security vpn ipsec ike-group G proposal 1 ";
  CHECK_THAT(Diags(group + "encryption aes999"),
             Catch::Contains(absl::StrCat("expected ", absl::StrJoin(EncryptionValues(), "|"))));
  CHECK_THAT(Diags(group + "hash sha3"),
             Catch::Contains(absl::StrCat("expected ", absl::StrJoin(HashValues(), "|"))));
  CHECK_THAT(Diags(group + "hash md5"), Catch::Contains(Refusal(*FindHash("md5"))));
  CHECK_THAT(Diags(group + "dh-group 5"),
             Catch::Contains("dh-group 5 (MODP-1536) is weak: prefer 14, 19, 20 or 31"));
  CHECK_THAT(Diags("set security vpn ipsec esp-group E pfs dh-group2\n"),
             Catch::Contains("dh-group2 is weak: prefer dh-group14, 19, 20 or 31"));
  CHECK_THAT(Diags("set vpn ipsec ike-group G proposal 1 hash sha3\n"),
             Catch::Contains("hash 'sha3' is not supported (supported: sha256, sha384, sha512, "
                             "sha1, md5, null)"));
  CHECK_THAT(Diags("set vpn ipsec ike-group G proposal 1 hash sha384\n"), !Catch::Contains("hash"));
}
