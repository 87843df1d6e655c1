// The algorithm names as IKE transforms: every name Portcullis supports maps to a transform the
// IKE library implements, and `show` prints the name it came from.
#include "control/vpnd/ike_algorithm_names.h"

#include <catch2/catch.hpp>

#include "control/config/algorithm_names.h"
#include "ike/crypto/crypto_suite.h"
#include "ike/crypto/dh_group.h"
#include "ike/crypto/prf.h"

using namespace portcullis;
using namespace portcullis::vpnd;
using config::Support;

TEST_CASE("supported names map to transforms IKE implements, and back", "[algorithms]") {
  for (const config::EncryptionName& e : config::Encryptions()) {
    INFO(e.vyatta);
    std::optional<IkeCipher> c = CipherOf(e.vyatta);
    REQUIRE(c.has_value() == (e.support == Support::kSupported));
    if (!c) continue;
    CHECK(ike::IsSupportedEncr(c->id, c->key_bits));
    CHECK(c->aead == e.aead);
    CHECK(VyattaEncryption(c->id, c->key_bits) == e.vyatta);
  }
  for (const config::HashName& h : config::Hashes()) {
    INFO(h.vyatta);
    std::optional<ike::IntegId> integ = IntegOf(h.vyatta);
    std::optional<ike::PrfId> prf = PrfOf(h.vyatta);
    bool usable = h.support == Support::kSupported && h.integ_id != 0;
    REQUIRE(integ.has_value() == usable);
    REQUIRE(prf.has_value() == usable);
    if (!usable) continue;
    CHECK(ike::IsSupportedInteg(*integ));
    CHECK(ike::IsSupportedPrf(*prf));
    CHECK(VyattaHash(*integ) == h.vyatta);
    CHECK(VyattaPrf(*prf) == h.vyatta);
  }
  for (const config::PrfName& p : config::Prfs()) {
    INFO(p.vyatta);
    REQUIRE(PrfOf(p.vyatta).has_value());
    CHECK(ike::IsSupportedPrf(*PrfOf(p.vyatta)));
  }
  for (const config::DhGroupName& g : config::DhGroups()) {
    INFO(g.group);
    CHECK(ike::IsSupportedDhGroup(static_cast<ike::DhGroup>(g.group)));
  }
}

TEST_CASE("examples, and what show prints for transforms outside the table", "[algorithms]") {
  CHECK(CipherOf("aes128gcm128")->id == ike::EncrId::kAesGcm16);
  CHECK(CipherOf("aes256")->key_bits == 256);
  CHECK_FALSE(CipherOf("3des"));
  CHECK(*IntegOf("sha2_384") == ike::IntegId::kHmacSha2_384_192);
  CHECK_FALSE(IntegOf("null"));
  CHECK_FALSE(IntegOf("md5"));
  CHECK(*PrfOf("prfsha512") == ike::PrfId::kHmacSha2_512);
  CHECK_FALSE(PrfOf("md5"));
  CHECK(VyattaHash(ike::IntegId::kNone) == "null");
  CHECK(VyattaEncryption(ike::EncrId::kNull, 0) == "null");
  CHECK(VyattaHash(ike::IntegId::kAesXcbc96) == "5");
  CHECK(VyattaPrf(ike::PrfId::kAes128Xcbc) == "prf4");
  CHECK(VyattaPrf(ike::PrfId::kHmacSha2_256) == "sha2_256");
}
