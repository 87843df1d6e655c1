// The key schedule against an independent construction: RFC 7296's SKEYSEED is
// HKDF-Extract(salt = Ni | Nr, IKM = g^ir) and its prf+ is HKDF-Expand (RFC 5869), so OpenSSL's
// HKDF gives the key material; the tests then check that each key is cut at the offset RFC 7296
// 2.14 / 2.17 puts it, for suites with and without integrity keys and salts.
#include "ike/crypto/key_schedule.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <catch2/catch.hpp>
#include <string>

#include "ike/crypto/dh_group.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::Repeat;
using portcullis::ike::testing::ToHex;

namespace {

const Bytes kNi = FromHex("a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0");
const Bytes kNr = FromHex("0f0e0d0c0b0a09080706050403020100f0f1f2f3");
constexpr IkeSpi kSpiI = {0x65, 0x96, 0x7e, 0xb4, 0xbe, 0xab, 0x85, 0x49};
constexpr IkeSpi kSpiR = {0x1e, 0xac, 0xdf, 0xa5, 0xf9, 0x26, 0xb9, 0xa3};

Bytes Hkdf(int mode, const char* digest, absl::Span<const uint8_t> key,
           absl::Span<const uint8_t> salt, absl::Span<const uint8_t> info, size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  REQUIRE(kdf != nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  OSSL_PARAM params[6];
  int n = 0;
  params[n++] =
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0);
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(key.data()), key.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<uint8_t*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<uint8_t*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  Bytes out(length);
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  REQUIRE(rc == 1);
  return out;
}

Bytes Cat(std::initializer_list<absl::Span<const uint8_t>> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string Slice(const Bytes& b, size_t offset, size_t size) {
  return ToHex(absl::MakeConstSpan(b).subspan(offset, size));
}

struct IkeCase {
  IkeSaCryptoSuite suite;
  const char* digest;
  size_t prf, integ, encr;  // key sizes as RFC 7296 / RFC 5282 give them
};

}  // namespace

TEST_CASE("IKE SA keys: SKEYSEED and prf+ split in RFC 7296 2.14 order", "[keys]") {
  const IkeCase cases[] = {
      {{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128, PrfId::kHmacSha2_256, DhGroup::kModp2048},
       "SHA2-256",
       32,
       32,
       32},
      {{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, PrfId::kHmacSha1, DhGroup::kModp1024},
       "SHA1",
       20,
       20,
       16},
      {{EncrId::kAesCbc, 192, IntegId::kHmacSha2_512_256, PrfId::kHmacSha2_512, DhGroup::kEcp521},
       "SHA2-512",
       64,
       64,
       24},
      {{EncrId::kAesCbc, 256, IntegId::kHmacSha2_384_192, PrfId::kHmacSha2_384, DhGroup::kEcp384},
       "SHA2-384",
       48,
       48,
       32},
      // AES-GCM: no SK_a, and SK_e is the key plus the 4-byte salt.
      {{EncrId::kAesGcm16, 256, IntegId::kNone, PrfId::kHmacSha2_384, DhGroup::kEcp384},
       "SHA2-384",
       48,
       0,
       36},
      {{EncrId::kAesGcm16, 128, IntegId::kNone, PrfId::kHmacSha2_256, DhGroup::kCurve25519},
       "SHA2-256",
       32,
       0,
       20},
  };
  SecretBytes g_ir(FromHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
  for (const IkeCase& c : cases) {
    INFO(c.digest << " encr " << c.encr << " integ " << c.integ);
    absl::StatusOr<SecretBytes> skeyseed = ComputeSkeyseed(c.suite.prf, kNi, kNr, g_ir);
    REQUIRE(skeyseed.ok());
    Bytes nonces = Cat({kNi, kNr});
    Bytes want_seed =
        Hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, c.digest, g_ir.span(), nonces, {}, c.prf);
    CHECK(ToHex(skeyseed->span()) == ToHex(want_seed));

    absl::StatusOr<IkeSaKeys> keys = DeriveIkeSaKeys(c.suite, *skeyseed, kNi, kNr, kSpiI, kSpiR);
    REQUIRE(keys.ok());
    size_t total = 3 * c.prf + 2 * c.integ + 2 * c.encr;
    Bytes keymat = Hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, c.digest, want_seed, {},
                        Cat({kNi, kNr, kSpiI, kSpiR}), total);
    size_t at = 0;
    CHECK(ToHex(keys->sk_d.span()) == Slice(keymat, at, c.prf));
    at += c.prf;
    CHECK(ToHex(keys->sk_ai.span()) == Slice(keymat, at, c.integ));
    at += c.integ;
    CHECK(ToHex(keys->sk_ar.span()) == Slice(keymat, at, c.integ));
    at += c.integ;
    CHECK(ToHex(keys->sk_ei.span()) == Slice(keymat, at, c.encr));
    at += c.encr;
    CHECK(ToHex(keys->sk_er.span()) == Slice(keymat, at, c.encr));
    at += c.encr;
    CHECK(ToHex(keys->sk_pi.span()) == Slice(keymat, at, c.prf));
    at += c.prf;
    CHECK(ToHex(keys->sk_pr.span()) == Slice(keymat, at, c.prf));
    CHECK(keys->sk_ai.size() == c.integ);
    CHECK(keys->sk_ei.size() == c.encr);
  }
}

TEST_CASE("both ends of a real key exchange derive the same IKE SA keys", "[keys]") {
  IkeSaCryptoSuite suite{EncrId::kAesGcm16, 256, IntegId::kNone, PrfId::kHmacSha2_256,
                         DhGroup::kEcp256};
  auto i = GenerateDhKeyPair(suite.dh);
  auto r = GenerateDhKeyPair(suite.dh);
  REQUIRE(i.ok());
  REQUIRE(r.ok());
  Bytes gi((*i)->public_value().begin(), (*i)->public_value().end());
  Bytes gr((*r)->public_value().begin(), (*r)->public_value().end());
  absl::StatusOr<SecretBytes> s_i = (*i)->ComputeSharedSecret(gr);
  absl::StatusOr<SecretBytes> s_r = (*r)->ComputeSharedSecret(gi);
  REQUIRE(s_i.ok());
  REQUIRE(s_r.ok());
  auto seed_i = ComputeSkeyseed(suite.prf, kNi, kNr, *s_i);
  auto seed_r = ComputeSkeyseed(suite.prf, kNi, kNr, *s_r);
  REQUIRE(seed_i.ok());
  REQUIRE(seed_r.ok());
  auto k_i = DeriveIkeSaKeys(suite, *seed_i, kNi, kNr, kSpiI, kSpiR);
  auto k_r = DeriveIkeSaKeys(suite, *seed_r, kNi, kNr, kSpiI, kSpiR);
  REQUIRE(k_i.ok());
  REQUIRE(k_r.ok());
  CHECK(k_i->sk_d == k_r->sk_d);
  CHECK(k_i->sk_ei == k_r->sk_ei);
  CHECK(k_i->sk_pr == k_r->sk_pr);
  CHECK_FALSE(k_i->sk_ei == k_i->sk_er);
}

TEST_CASE("IKE SA rekey: SKEYSEED = prf_old(SK_d old, g^ir new | Ni | Nr)", "[keys]") {
  SecretBytes old_sk_d(FromHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"));
  SecretBytes g_ir(Repeat(0x33, 256));
  Bytes ni = Repeat(0x01, 32), nr = Repeat(0x02, 32);
  // The old SA's PRF (SHA2-256 here) makes SKEYSEED, whatever the new SA negotiated.
  absl::StatusOr<SecretBytes> seed =
      ComputeRekeySkeyseed(PrfId::kHmacSha2_256, old_sk_d, g_ir, ni, nr);
  REQUIRE(seed.ok());
  Bytes want = Hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, "SHA2-256", Cat({g_ir.span(), ni, nr}),
                    old_sk_d.span(), {}, 32);
  CHECK(ToHex(seed->span()) == ToHex(want));

  // The new SA's keys use the new suite's PRF and the new SPIs.
  IkeSaCryptoSuite new_suite{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, PrfId::kHmacSha1,
                             DhGroup::kModp2048};
  IkeSpi new_i = {1, 1, 1, 1, 1, 1, 1, 1}, new_r = {2, 2, 2, 2, 2, 2, 2, 2};
  absl::StatusOr<IkeSaKeys> keys = DeriveIkeSaKeys(new_suite, *seed, ni, nr, new_i, new_r);
  REQUIRE(keys.ok());
  Bytes keymat = Hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, "SHA1", seed->span(), {},
                      Cat({ni, nr, new_i, new_r}), 20);
  CHECK(ToHex(keys->sk_d.span()) == ToHex(keymat));
}

TEST_CASE("CHILD SA keys: encr_i | integ_i | encr_r | integ_r (RFC 7296 2.17)", "[keys]") {
  SecretBytes sk_d(FromHex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"));
  struct ChildCase {
    ChildSaCryptoSuite suite;
    size_t encr, integ;
  };
  const ChildCase cases[] = {
      // AES-GCM ESP keys carry the 4-byte salt (RFC 4106 8.1); no integrity keys.
      {{EncrId::kAesGcm16, 128, IntegId::kNone}, 20, 0},
      {{EncrId::kAesGcm16, 256, IntegId::kNone}, 36, 0},
      {{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128}, 32, 32},
      {{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96}, 16, 20},
      {{EncrId::kNull, 0, IntegId::kHmacSha2_512_256}, 0, 64},
  };
  for (const ChildCase& c : cases) {
    for (bool pfs : {false, true}) {
      INFO("encr " << c.encr << " integ " << c.integ << " pfs " << pfs);
      ChildSaCryptoSuite suite = c.suite;
      SecretBytes g_ir(Repeat(0x44, 32));
      if (pfs) suite.pfs = DhGroup::kCurve25519;
      absl::StatusOr<ChildSaKeys> keys =
          DeriveChildSaKeys(PrfId::kHmacSha2_256, sk_d, suite, pfs ? &g_ir : nullptr, kNi, kNr);
      REQUIRE(keys.ok());
      Bytes seed = pfs ? Cat({g_ir.span(), kNi, kNr}) : Cat({kNi, kNr});
      Bytes keymat = Hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, "SHA2-256", sk_d.span(), {}, seed,
                          2 * (c.encr + c.integ));
      CHECK(ToHex(keys->encr_i.span()) == Slice(keymat, 0, c.encr));
      CHECK(ToHex(keys->integ_i.span()) == Slice(keymat, c.encr, c.integ));
      CHECK(ToHex(keys->encr_r.span()) == Slice(keymat, c.encr + c.integ, c.encr));
      CHECK(ToHex(keys->integ_r.span()) == Slice(keymat, 2 * c.encr + c.integ, c.integ));
    }
  }
}

TEST_CASE("key derivation refuses inconsistent inputs", "[keys]") {
  SecretBytes sk_d(Repeat(1, 32));
  SecretBytes g_ir(Repeat(2, 32));
  ChildSaCryptoSuite no_pfs{EncrId::kAesGcm16, 128, IntegId::kNone};
  ChildSaCryptoSuite with_pfs = no_pfs;
  with_pfs.pfs = DhGroup::kModp2048;
  CHECK_FALSE(DeriveChildSaKeys(PrfId::kHmacSha2_256, sk_d, no_pfs, &g_ir, kNi, kNr).ok());
  CHECK_FALSE(DeriveChildSaKeys(PrfId::kHmacSha2_256, sk_d, with_pfs, nullptr, kNi, kNr).ok());
  CHECK_FALSE(DeriveChildSaKeys(PrfId::kHmacSha2_256, sk_d, {EncrId::kAesCbc, 128, IntegId::kNone},
                                nullptr, kNi, kNr)
                  .ok());
  IkeSaCryptoSuite null_ike{EncrId::kNull, 0, IntegId::kHmacSha1_96, PrfId::kHmacSha1,
                            DhGroup::kModp2048};
  CHECK_FALSE(DeriveIkeSaKeys(null_ike, sk_d, kNi, kNr, kSpiI, kSpiR).ok());
  CHECK_FALSE(ComputeSkeyseed(PrfId::kAes128Xcbc, kNi, kNr, g_ir).ok());
}
