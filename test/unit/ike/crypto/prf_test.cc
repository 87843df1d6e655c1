// The IKE PRFs against the published HMAC vectors (RFC 2202, RFC 4231, RFC 4868), and prf+
// against an independent implementation of the same construction: HKDF-Expand (RFC 5869) is
// T(n) = HMAC(PRK, T(n-1) | info | n), exactly prf+ with PRK = key and info = seed, so OpenSSL's
// HKDF in EXPAND_ONLY mode must produce the same bytes.
#include "ike/crypto/prf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ike/crypto/hmac.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::ToHex;

namespace {

struct HmacVector {
  const char* key;
  const char* data;
  const char* mac;
};

struct Rfc4231Vector {
  const char* key;
  const char* data;
  const char* sha256;
  const char* sha384;
  const char* sha512;
};

struct Rfc4868AuthVector {
  PrfId prf;
  const char* key;
  const char* data;
  const char* prf_output;
  size_t truncated;  // the HMAC-SHA-2-n/2 authenticator length
};

// RFC 2202 section 3 (HMAC-SHA-1), all seven cases.
const HmacVector kRfc2202[] = {
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "b617318655057264e28bc0b6fb378c8ef146be00"},
    {"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddddddddddddddddddd",
     "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
    {"0102030405060708090a0b0c0d0e0f10111213141516171819",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
     "4c9007f4026250c6bc8414f9bf50c86c2d7235da"},
    {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
     "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
     "65204b6579202d2048617368204b6579204669727374",
     "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
     "65204b657920616e64204c6172676572205468616e204f6e6520426c6f636b2d"
     "53697a652044617461",
     "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"},
};

// RFC 4231 section 4 (HMAC-SHA-256/384/512), test cases 1 to 7; case 5 is truncated to
// 128 bits. RFC 4868 2.7.1 reuses these as the PRF-HMAC-SHA2 test cases.
const Rfc4231Vector kRfc4231[] = {
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
     "faea9ea9076ede7f4af152e8b2fa9cb6",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    {"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
     "8e2240ca5e69e2c78b3239ecfab21649",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddddddddddddddddddd",
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
     "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
     "2a5ab39dc13814b94e3ab6e101a34f27",
     "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
     "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
    {"0102030405060708090a0b0c0d0e0f10111213141516171819",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
     "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
     "6801dd23c4a7d679ccf8a386c674cffb",
     "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
     "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
    {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
     "a3b6167473100ee06e0c796c2955552b", "3abf34c3503b2a23a46efc619baef897",
     "415fad6271580a531d4179bc891d87a6"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaa",
     "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
     "65204b6579202d2048617368204b6579204669727374",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
     "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
     "0c2ef6ab4030fe8296248df163f44952",
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaa",
     "5468697320697320612074657374207573696e672061206c6172676572207468"
     "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
     "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
     "647320746f20626520686173686564206265666f7265206265696e6720757365"
     "642062792074686520484d414320616c676f726974686d2e",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
     "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
     "a678cc31e799176d3860e6110c46523e",
     "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
     "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
};

// RFC 4868 2.7.2: keys as long as the PRF output, as the integrity transforms use them.
const Rfc4868AuthVector kRfc4868Auth[] = {
    {PrfId::kHmacSha2_256, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "4869205468657265", "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7", 16},
    {PrfId::kHmacSha2_256, "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6", 16},
    {PrfId::kHmacSha2_256, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddddddddddddddddddd",
     "cdcb1220d1ecccea91e53aba3092f962e549fe6ce9ed7fdc43191fbde45c30b0", 16},
    {PrfId::kHmacSha2_256, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
     "372efcf9b40b35c2115b1346903d2ef42fced46f0846e7257bb156d3d7b30d3f", 16},
    {PrfId::kHmacSha2_384,
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "4869205468657265",
     "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc"
     "4c5df61d5b3297b4fb68dab9f1b582c2",
     24},
    {PrfId::kHmacSha2_384,
     "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
     "4a6566654a6566654a6566654a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184da86a368e9b8e16f5"
     "349524ca4e82400cbde0686d403371c9",
     24},
    {PrfId::kHmacSha2_512,
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "4869205468657265",
     "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
     "ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b",
     32},
    {PrfId::kHmacSha2_512,
     "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
     "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"
     "6aa334ae9fb9afc2184932d8695e397bfa0ffb93466cfcceaae38c833b7dba38",
     32},
};

std::string PrfHex(PrfId prf, const std::string& key_hex, const std::string& data_hex) {
  absl::StatusOr<SecretBytes> out = Prf(prf, FromHex(key_hex), {FromHex(data_hex)});
  REQUIRE(out.ok());
  return ToHex(out->span());
}

// HKDF-Expand from OpenSSL's KDF provider: the independent prf+.
Bytes HkdfExpand(const char* digest, absl::Span<const uint8_t> prk, absl::Span<const uint8_t> info,
                 size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  REQUIRE(kdf != nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  REQUIRE(ctx != nullptr);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(prk.data()),
                                        prk.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  Bytes out(length);
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  REQUIRE(rc == 1);
  return out;
}

}  // namespace

TEST_CASE("PRF_HMAC_SHA1 matches RFC 2202", "[prf]") {
  for (const HmacVector& v : kRfc2202) {
    INFO("key " << v.key);
    CHECK(PrfHex(PrfId::kHmacSha1, v.key, v.data) == v.mac);
  }
}

TEST_CASE("PRF_HMAC_SHA2_256/384/512 match RFC 4231 (RFC 4868 PRF-1 to PRF-6)", "[prf]") {
  int n = 0;
  for (const Rfc4231Vector& v : kRfc4231) {
    INFO("RFC 4231 test case " << ++n);
    // Case 5 publishes only the first 128 bits of each output.
    for (auto [prf, want] :
         {std::pair{PrfId::kHmacSha2_256, v.sha256}, std::pair{PrfId::kHmacSha2_384, v.sha384},
          std::pair{PrfId::kHmacSha2_512, v.sha512}}) {
      std::string got = PrfHex(prf, v.key, v.data);
      CHECK(got.size() == 2 * PrfOutputSize(prf));
      CHECK(got.substr(0, std::string(want).size()) == want);
    }
  }
}

TEST_CASE("RFC 4868 authenticator vectors: full PRF output and its truncation", "[prf]") {
  for (const Rfc4868AuthVector& v : kRfc4868Auth) {
    INFO("key " << v.key);
    std::string got = PrfHex(v.prf, v.key, v.data);
    CHECK(got == v.prf_output);
    CHECK(got.substr(0, 2 * v.truncated) == std::string(v.prf_output).substr(0, 2 * v.truncated));
    CHECK(v.truncated * 2 == PrfOutputSize(v.prf));
  }
}

TEST_CASE("PRF inputs given in pieces equal the concatenation", "[prf]") {
  Bytes key = FromHex("000102030405060708090a0b0c0d0e0f");
  Bytes a = FromHex("aabbcc"), b = FromHex(""), c = FromHex("ddeeff00112233");
  absl::StatusOr<SecretBytes> split = Prf(PrfId::kHmacSha2_256, key, {a, b, c});
  absl::StatusOr<SecretBytes> whole =
      Prf(PrfId::kHmacSha2_256, key, {FromHex("aabbccddeeff00112233")});
  REQUIRE(split.ok());
  REQUIRE(whole.ok());
  CHECK(*split == *whole);
  // An empty key is legal for HMAC (RFC 2104 pads it) and must not crash.
  CHECK(Prf(PrfId::kHmacSha1, {}, {a}).ok());
}

TEST_CASE("prf+ equals HKDF-Expand for every PRF and many lengths", "[prf]") {
  struct Alg {
    PrfId prf;
    const char* digest;
  };
  const Alg algs[] = {{PrfId::kHmacSha1, "SHA1"},
                      {PrfId::kHmacSha2_256, "SHA2-256"},
                      {PrfId::kHmacSha2_384, "SHA2-384"},
                      {PrfId::kHmacSha2_512, "SHA2-512"}};
  // A seed like Ni | Nr | SPIi | SPIr, given to prf+ in its four parts.
  Bytes ni = FromHex("c5a1f9e2d3b4a5968778695a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1f0");
  Bytes nr = FromHex("0123456789abcdeffedcba9876543210");
  Bytes spi_i = FromHex("65967eb4beab8549"), spi_r = FromHex("1eacdfa5f926b9a3");
  Bytes seed = ni;
  for (const Bytes* part : {&nr, &spi_i, &spi_r})
    seed.insert(seed.end(), part->begin(), part->end());
  Bytes key = FromHex("9f3a1c5e7b2d4f6081a3c5e7092b4d6f");

  for (const Alg& alg : algs) {
    size_t block = PrfOutputSize(alg.prf);
    for (size_t length : {size_t{1}, block - 1, block, block + 1, 2 * block, 3 * block + 7,
                          size_t{160}, size_t{452}, 255 * block}) {
      INFO(alg.digest << " length " << length);
      absl::StatusOr<SecretBytes> ours = PrfPlus(alg.prf, key, {ni, nr, spi_i, spi_r}, length);
      REQUIRE(ours.ok());
      CHECK(ToHex(ours->span()) == ToHex(HkdfExpand(alg.digest, key, seed, length)));
    }
    CHECK_FALSE(PrfPlus(alg.prf, key, {seed}, 255 * block + 1).ok());
  }
}

TEST_CASE("prf+ output is a prefix-consistent stream", "[prf]") {
  Bytes key = FromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  Bytes seed = FromHex("48692054686572650102");
  absl::StatusOr<SecretBytes> long_out = PrfPlus(PrfId::kHmacSha1, key, {seed}, 100);
  absl::StatusOr<SecretBytes> short_out = PrfPlus(PrfId::kHmacSha1, key, {seed}, 33);
  REQUIRE(long_out.ok());
  REQUIRE(short_out.ok());
  CHECK(ToHex(long_out->span().subspan(0, 33)) == ToHex(short_out->span()));
  // T1 = prf(K, S | 0x01), by the definition.
  Bytes t1_input = seed;
  t1_input.push_back(1);
  absl::StatusOr<SecretBytes> t1 = Prf(PrfId::kHmacSha1, key, {t1_input});
  REQUIRE(t1.ok());
  CHECK(ToHex(long_out->span().subspan(0, 20)) == ToHex(t1->span()));
}

TEST_CASE("unsupported PRFs are refused", "[prf]") {
  CHECK_FALSE(IsSupportedPrf(PrfId::kAes128Xcbc));
  CHECK(PrfOutputSize(PrfId::kHmacMd5) == 0);
  CHECK_FALSE(Prf(PrfId::kHmacMd5, FromHex("00"), {}).ok());
  CHECK_FALSE(PrfPlus(PrfId::kAes128Cmac, FromHex("00"), {}, 16).ok());
}

TEST_CASE("an HmacKey made once gives RFC 4231's HMAC for every message, in any order", "[prf]") {
  int n = 0;
  for (const Rfc4231Vector& v : kRfc4231) {
    INFO("RFC 4231 test case " << ++n);
    for (auto [h, want] :
         {std::pair{HashAlgorithm::kSha256, v.sha256}, std::pair{HashAlgorithm::kSha384, v.sha384},
          std::pair{HashAlgorithm::kSha512, v.sha512}}) {
      absl::StatusOr<HmacKey> key = HmacKey::Create(h, FromHex(v.key));
      REQUIRE(key.ok());
      CHECK(key->size() == HashSize(h));
      Bytes other = FromHex("00ff");
      // Each MAC starts from the key's states, not from where the previous message left them.
      for (int rep = 0; rep < 3; ++rep) {
        absl::StatusOr<SecretBytes> mac = key->Mac({FromHex(v.data)});
        REQUIRE(mac.ok());
        CHECK(ToHex(mac->span()).substr(0, std::string(want).size()) == want);
        absl::StatusOr<SecretBytes> mac2 = key->Mac({other});
        absl::StatusOr<SecretBytes> once = Hmac(h, FromHex(v.key), {other});
        REQUIRE(mac2.ok());
        REQUIRE(once.ok());
        CHECK(*mac2 == *once);
      }
      // The output buffer must be the hash's size.
      uint8_t small[8];
      CHECK_FALSE(key->MacInto({other}, absl::MakeSpan(small)).ok());
    }
  }
}

TEST_CASE("HMAC with empty, block-sized and longer keys or empty data equals EVP_Q_mac", "[prf]") {
  for (auto [h, name] :
       {std::pair{HashAlgorithm::kSha1, "SHA1"}, std::pair{HashAlgorithm::kSha256, "SHA2-256"},
        std::pair{HashAlgorithm::kSha384, "SHA2-384"},
        std::pair{HashAlgorithm::kSha512, "SHA2-512"}}) {
    INFO(name);
    static const uint8_t kNone = 0;
    Bytes data = FromHex("0102030405");
    std::vector<std::pair<Bytes, Bytes>> cases = {{Bytes{}, data}, {data, Bytes{}}};
    // Keys at the block size (64 for SHA-1/256, 128 for SHA-384/512) are padded; one byte more
    // and they are hashed first (RFC 2104).
    for (size_t n : {63, 64, 65, 127, 128, 129}) {
      Bytes key(n);
      for (size_t i = 0; i < n; ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
      cases.push_back({key, data});
    }
    for (const auto& [key, msg] : cases) {
      INFO("key of " << key.size() << " bytes");
      uint8_t want[64];
      size_t want_len = 0;
      OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(name), 0),
          OSSL_PARAM_construct_end()};
      REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, nullptr, params,
                        key.empty() ? &kNone : key.data(), key.size(),
                        msg.empty() ? &kNone : msg.data(), msg.size(), want, sizeof want,
                        &want_len) != nullptr);
      absl::StatusOr<SecretBytes> got = Hmac(h, key, {msg});
      REQUIRE(got.ok());
      CHECK(ToHex(got->span()) == ToHex(absl::MakeConstSpan(want, want_len)));
    }
  }
}
