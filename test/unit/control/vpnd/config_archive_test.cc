// The configuration archive: newest first, bounded, unchanged configurations not repeated,
// revisions readable again, the directory survives a restart, files private.
#include "control/vpnd/config_archive.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/config/config_loader.h"
#include "control/vpnd/config_file.h"

using namespace portcullis;

namespace {
config::LoadedConfig Lifetime(int seconds) {
  return config::LoadConfigText(absl::StrCat(
      "set security vpn ipsec esp-group ESP lifetime ", seconds,
      "\nset security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret "
      "'s3cret'\n"));
}
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
}  // namespace

TEST_CASE("in memory: newest first, bounded, no repeats", "[archive]") {
  vpnd::ConfigArchive a("", 3);
  REQUIRE(a.Open().ok());
  CHECK(a.List() == "No configuration revisions archived\n");
  for (int i = 0; i < 5; ++i) {
    REQUIRE(a.Record(Lifetime(1000 + i).tree, kT0 + absl::Seconds(i), absl::StrCat("r", i)).ok());
  }
  REQUIRE(a.Record(Lifetime(1004).tree, kT0 + absl::Seconds(9), "same again").ok());
  REQUIRE(a.revisions().size() == 3);
  CHECK(a.revisions()[0].via == "r4");
  CHECK(a.revisions()[2].via == "r2");
  CHECK(a.revisions()[0].seq == 5);
  absl::StatusOr<std::unique_ptr<config::ConfigTree>> t = a.Read(2);
  REQUIRE(t.ok());
  CHECK(vpnd::ConfigFileText(**t) == vpnd::ConfigFileText(Lifetime(1002).tree));
  absl::StatusOr<std::unique_ptr<config::ConfigTree>> none = a.Read(3);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message() ==
        "no revision 3 in the configuration archive (0..2; see 'show system commit')");
  std::string list = a.List();
  CHECK(absl::StartsWith(list, "0   "));
  CHECK(absl::StrContains(list, " by r4\n1   "));
}

TEST_CASE("on disk: private files that a new archive finds again", "[archive]") {
  std::string dir = absl::StrCat("/tmp/vpnd-archive-test-", getpid());
  std::filesystem::remove_all(dir);
  {
    vpnd::ConfigArchive a(dir, 2);
    REQUIRE(a.Open().ok());
    for (int i = 0; i < 3; ++i) {
      REQUIRE(a.Record(Lifetime(2000 + i).tree, kT0 + absl::Seconds(i), "root via test").ok());
    }
  }
  struct stat st;
  REQUIRE(stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 2);
  vpnd::ConfigArchive b(dir, 2);
  REQUIRE(b.Open().ok());
  REQUIRE(b.revisions().size() == 2);
  CHECK(b.revisions()[0].seq == 3);
  CHECK(b.revisions()[0].when == kT0 + absl::Seconds(2));
  CHECK(b.revisions()[1].via == "root via test");
  absl::StatusOr<std::unique_ptr<config::ConfigTree>> t = b.Read(1);
  REQUIRE(t.ok());
  const config::ConfigNode* psk = (*t)->root().Find(
      {"security", "vpn", "ipsec", "site-to-site", "peer", "192.0.2.2", "authentication"});
  REQUIRE(psk != nullptr);
  CHECK(psk->Get("pre-shared-secret") == "s3cret");
  // Unchanged since the last revision before the restart: not archived again.
  REQUIRE(b.Record(Lifetime(2002).tree, kT0 + absl::Seconds(5), "again").ok());
  CHECK(b.revisions().size() == 2);
  CHECK(b.revisions()[0].seq == 3);
  std::filesystem::remove_all(dir);
}
