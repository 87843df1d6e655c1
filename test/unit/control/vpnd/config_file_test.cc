// Files vpnd writes (save, the archive): loadable again, keys in clear, mode 0600, replaced
// atomically.
#include "control/vpnd/config_file.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "control/config/config_loader.h"

using namespace portcullis;

namespace {
std::string TempDir() {
  std::string d = absl::StrCat("/tmp/vpnd-config-file-test-", getpid());
  std::filesystem::create_directories(d);
  return d;
}
std::string Read(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("a written file loads back to the same configuration, keys included", "[config_file]") {
  std::string dir = TempDir();
  config::LoadedConfig c = config::LoadConfigText(
      "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret "
      "'k3y-one'\nset interfaces vti vti0 description 'a b'\n");
  std::string path = dir + "/saved.conf";
  REQUIRE(vpnd::WriteConfigFile(path, c.tree, "# header\n").ok());
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string text = Read(path);
  CHECK(text.rfind("# header\n", 0) == 0);
  CHECK(text.find("'k3y-one'") != std::string::npos);
  absl::StatusOr<config::LoadedConfig> back = config::LoadConfigFile(path);
  REQUIRE(back.ok());
  CHECK(vpnd::ConfigFileText(back->tree) == vpnd::ConfigFileText(c.tree));
  // Rewriting replaces the file whole and leaves no temporary file behind.
  REQUIRE(vpnd::WriteConfigFile(path, config::ConfigTree(), "").ok());
  CHECK(Read(path).empty());
  CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 1);
  CHECK_FALSE(vpnd::WriteConfigFile(dir + "/no/such/dir/x.conf", c.tree, "").ok());
  std::filesystem::remove_all(dir);
}
