// A pre-shared key never appears in a diagnostic, however the line that carries it is broken:
// lexer errors, extra words, VyOS lines that cannot be translated, unknown roots. And a short
// key is warned about by its line, never by its value.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "control/config/config_loader.h"

using namespace portcullis::config;

namespace {

constexpr char kSecret[] = "Zq7Wx9Kp2Lm5Nv8Rt3Yh";

// Every diagnostic of `text`, one a line.
std::string AllDiagnostics(const std::string& text) {
  LoadedConfig c = LoadConfigText(text, "s.conf");
  std::string out;
  for (const Diagnostic& d : c.diags.all()) out += d.ToString() + "\n";
  return out;
}

// Whether any 4 characters of the secret in a row appear in `out`.
bool ShowsPartOfSecret(const std::string& out) {
  const std::string secret = kSecret;
  for (size_t i = 0; i + 4 <= secret.size(); ++i) {
    if (absl::StrContains(out, secret.substr(i, 4))) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a pre-shared key in a broken line is never shown", "[secret]") {
  const std::string s = kSecret;
  const std::string first = s.substr(0, 9), rest = s.substr(9);
  const std::string vyatta =
      "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret ";
  const std::string vyos =
      "set vpn ipsec site-to-site peer SITE-B authentication pre-shared-secret ";
  for (const std::string& line : std::vector<std::string>{
           vyatta + "'" + s,                         // unterminated quote
           vyatta + "\"" + s,                        // unterminated double quote
           vyatta + "'" + first + "'" + rest,        // text glued to the quoted part
           vyatta + "'" + s + "'set",                // a lost line break
           vyatta + first + " " + rest,              // a space splits the key into two words
           vyatta + first + " " + rest + " more",    // ... or three
           vyatta + "'" + first + " " + rest + "'",  // a space inside the quotes: invalid key
           vyatta + s + "~",                         // a character the schema refuses
           vyos + "'" + s,                           // the same in the VyOS dialect
           vyos + first + " " + rest,
           "set vpn ipsc site-to-site peer SITE-B authentication pre-shared-secret " + s,
           "set vpn ipsec site-to-site peer SITE-B authentication pre-shared-secret " + s +
               " connection-type none",
           "set vpn ipsec site-to-site peer SITE-B connection-type none authentication "
           "pre-shared-secret " +
               s,
       }) {
    std::string out = AllDiagnostics(line + "\n");
    INFO(line << "\n" << out);
    CHECK(absl::StrContains(out, "s.conf: line 1: "));  // the line is reported ...
    CHECK_FALSE(ShowsPartOfSecret(out));                // ... without its key
  }
}

TEST_CASE("a pre-shared key shorter than 20 characters is warned about by its line", "[secret]") {
  const std::string base =
      "set interfaces dataplane dp0p1s1 address 192.0.2.1/24\n"
      "set interfaces vti vti0 address 172.16.0.1/30\n"
      "set security vpn ipsec ike-group IKE ike-version 2\n"
      "set security vpn ipsec ike-group IKE proposal 1 encryption aes256\n"
      "set security vpn ipsec ike-group IKE proposal 1 hash sha2_256\n"
      "set security vpn ipsec ike-group IKE proposal 1 dh-group 14\n"
      "set security vpn ipsec esp-group ESP proposal 1 encryption aes256\n"
      "set security vpn ipsec esp-group ESP proposal 1 hash sha2_256\n"
      "set security vpn ipsec site-to-site peer 192.0.2.2 ike-group IKE\n"
      "set security vpn ipsec site-to-site peer 192.0.2.2 local-address 192.0.2.1\n"
      "set security vpn ipsec site-to-site peer 192.0.2.2 vti bind vti0\n"
      "set security vpn ipsec site-to-site peer 192.0.2.2 vti esp-group ESP\n"
      "set security vpn ipsec site-to-site peer 192.0.2.2 authentication pre-shared-secret ";
  const std::string s = kSecret;
  std::string short_key = AllDiagnostics(base + s.substr(0, 19) + "\n");
  INFO(short_key);
  CHECK(short_key ==
        "s.conf: line 13: warning: security vpn ipsec site-to-site peer 192.0.2.2 authentication "
        "pre-shared-secret: the pre-shared secret is shorter than 20 characters: use 20 or more "
        "random characters\n");
  CHECK(AllDiagnostics(base + s + "\n").empty());
  // The redacted form of `show configuration` has its own warning, not this one too.
  CHECK_FALSE(absl::StrContains(AllDiagnostics(base + "'********'\n"), "shorter than"));
}
