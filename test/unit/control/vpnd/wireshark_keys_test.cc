// --wireshark-keys: the UAT lines Wireshark 4.0 reads, and files that are 0600, replaced whole,
// never written through a symlink. (The integration test decrypts a real capture with them.)
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "control/vpnd/wireshark_keys.h"
#include "test/unit/control/vpnd/vpnd_test_rig.h"

using namespace portcullis;
using namespace portcullis::vpnd::testing;

namespace {

std::string TempDir() {
  char dir[] = "/tmp/wskeys-test-XXXXXX";
  return mkdtemp(dir);
}

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("wireshark keys: an AES-GCM CHILD SA is two esp_sa lines, inbound first",
          "[vpnd][wireshark]") {
  auto c = MakeChild(0xc0000101, 0xc0000202);
  std::string lines = vpnd::WiresharkKeys::EspLines(*c);
  CHECK(lines ==
        "\"IPv4\",\"192.0.2.2\",\"192.0.2.1\",\"0xc0000101\",\"AES-GCM with 16 octet ICV "
        "[RFC4106]\",\"0x1111111111111111111111111111111111111111\",\"NULL\",\"\"\n"
        "\"IPv4\",\"192.0.2.1\",\"192.0.2.2\",\"0xc0000202\",\"AES-GCM with 16 octet ICV "
        "[RFC4106]\",\"0x2222222222222222222222222222222222222222\",\"NULL\",\"\"");
}

TEST_CASE("wireshark keys: AES-CBC with HMAC-SHA2-256 names both algorithms", "[vpnd][wireshark]") {
  auto c = MakeChild(0xc0000101, 0xc0000202);
  c->suite.encr = ike::EncrId::kAesCbc;
  c->suite.integ = ike::IntegId::kHmacSha2_256_128;
  std::vector<uint8_t> k(32, 0x33);
  c->integ_in = ike::SecretBytes(absl::MakeConstSpan(k));
  c->integ_out = ike::SecretBytes(absl::MakeConstSpan(k));
  std::string lines = vpnd::WiresharkKeys::EspLines(*c);
  CHECK(lines.find("\"AES-CBC [RFC3602]\"") != std::string::npos);
  CHECK(lines.find("\"HMAC-SHA-256-128 [RFC4868]\",\"0x3333") != std::string::npos);
}

TEST_CASE("wireshark keys: files are 0600, rewritten on every SA, kept after it goes",
          "[vpnd][wireshark]") {
  std::string dir = TempDir() + "/keys";
  auto w = vpnd::WiresharkKeys::Open(dir);
  REQUIRE(w.ok());
  struct stat st;
  REQUIRE(stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  auto c1 = MakeChild(0xc0000101, 0xc0000202);
  auto c2 = MakeChild(0xc0000303, 0xc0000404);  // its rekeyed successor
  std::string esp = dir + "/esp_sa";
  (*w)->AddEsp(*c1);
  REQUIRE(stat(esp.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(Read(esp).find("0xc0000101") != std::string::npos);
  (*w)->AddEsp(*c2);
  (*w)->AddEsp(*c1);  // announced again (a resync): not duplicated
  std::string text = Read(esp);
  CHECK(text.find("0xc0000101") != std::string::npos);
  CHECK(text.find("0xc0000404") != std::string::npos);
  CHECK(text.find("0xc0000101") == text.rfind("0xc0000101"));
  // Replaced, not rewritten in place: a symlink planted as the file is replaced, not followed.
  std::string victim = dir + "/../victim";
  std::ofstream(victim) << "untouched";
  REQUIRE(unlink(esp.c_str()) == 0);
  REQUIRE(symlink(victim.c_str(), esp.c_str()) == 0);
  (*w)->AddEsp(*c1);
  CHECK(Read(victim) == "untouched");
  REQUIRE(lstat(esp.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
}

TEST_CASE("wireshark keys: a symlink is refused as the directory", "[vpnd][wireshark]") {
  std::string base = TempDir();
  REQUIRE(symlink("/tmp", (base + "/link").c_str()) == 0);
  auto w = vpnd::WiresharkKeys::Open(base + "/link");
  CHECK_FALSE(w.ok());
  CHECK(std::string(w.status().message()).find("symlink") != std::string::npos);
}
