// Proposals and negotiated suites as strongSwan prints them (ike/sa/proposal_string.cc): every
// log line that shows what was offered or chosen, and `show vpn debug peer`, depend on these
// exact strings.
#include "ike/sa/proposal_string.h"

#include <catch2/catch.hpp>

#include "ike/crypto/crypto_suite.h"

using namespace portcullis::ike;

TEST_CASE("suite strings match the seeds' show vpn debug peer output", "[types]") {
  IkeSaCryptoSuite ike{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128, PrfId::kHmacSha2_256,
                       DhGroup::kModp2048};
  CHECK(SuiteString(ike) == "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
  IkeSaCryptoSuite gcm{EncrId::kAesGcm16, 256, IntegId::kNone, PrfId::kHmacSha2_384,
                       DhGroup::kEcp384};
  CHECK(SuiteString(gcm) == "AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384");

  ChildSaCryptoSuite esp{EncrId::kAesGcm16, 128, IntegId::kNone, EsnId::kNoEsn, DhGroup::kNone};
  CHECK(SuiteString(esp) == "AES_GCM_16_128");
  ChildSaCryptoSuite esp_pfs{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, EsnId::kEsn,
                             DhGroup::kModp2048};
  CHECK(SuiteString(esp_pfs) == "AES_CBC_128/HMAC_SHA1_96/MODP_2048/ESN");
}

TEST_CASE("proposal strings list every offered transform", "[types]") {
  Proposal ike;
  ike.transforms = {Transform::Dh(DhGroup::kModp2048),
                    Transform::Encr(EncrId::kAesCbc, 128),
                    Transform::Prf(PrfId::kHmacSha2_256),
                    Transform::Encr(EncrId::kAesCbc, 256),
                    Transform::Integ(IntegId::kHmacSha2_256_128),
                    Transform::Dh(DhGroup::kEcp256)};
  CHECK(ProposalString(ike) ==
        "AES_CBC_128/AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048/ECP_256");

  Proposal esp;
  esp.protocol = ProtocolId::kEsp;
  esp.transforms = {Transform::Encr(EncrId::kAesGcm16, 128), Transform::Esn(EsnId::kNoEsn)};
  CHECK(ProposalString(esp) == "AES_GCM_16_128");
  esp.transforms.push_back(Transform::Esn(EsnId::kEsn));
  CHECK(ProposalString(esp) == "AES_GCM_16_128/ESN/NO_ESN");
  esp.transforms = {Transform::Encr(EncrId::kAesGcm16, 128), Transform::Integ(IntegId::kNone),
                    Transform::Esn(EsnId::kEsn)};
  CHECK(ProposalString(esp) == "AES_GCM_16_128/ESN");
  esp.transforms.push_back({static_cast<TransformType>(6), 36, {}});
  CHECK(ProposalString(esp) == "AES_GCM_16_128/ESN/TRANSFORM_TYPE_6_36");
}

TEST_CASE("suite strings leave out what was not negotiated", "[proposal_string]") {
  // No integrity with an AEAD cipher, no DH without PFS, no ESN unless on.
  ChildSaCryptoSuite gcm_pfs{EncrId::kAesGcm16, 256, IntegId::kNone, EsnId::kNoEsn,
                             DhGroup::kCurve25519};
  CHECK(SuiteString(gcm_pfs) == "AES_GCM_16_256/CURVE_25519");
  ChildSaCryptoSuite cbc{EncrId::kAesCbc, 256, IntegId::kHmacSha2_512_256, EsnId::kNoEsn,
                         DhGroup::kNone};
  CHECK(SuiteString(cbc) == "AES_CBC_256/HMAC_SHA2_512_256");
  ChildSaCryptoSuite esn{EncrId::kAesGcm16, 128, IntegId::kNone, EsnId::kEsn, DhGroup::kNone};
  CHECK(SuiteString(esn) == "AES_GCM_16_128/ESN");
  IkeSaCryptoSuite ike{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, PrfId::kHmacSha1,
                       DhGroup::kModp1024};
  CHECK(SuiteString(ike) == "AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024");
}

TEST_CASE("proposal strings: ESP with PFS, NO_ESN alone, and nothing left out",
          "[proposal_string]") {
  Proposal esp;
  esp.protocol = ProtocolId::kEsp;
  // In the order strongSwan's ESP proposals come: ESN last, DH before it.
  esp.transforms = {Transform::Encr(EncrId::kAesCbc, 256),
                    Transform::Integ(IntegId::kHmacSha2_256_128), Transform::Dh(DhGroup::kEcp256),
                    Transform::Esn(EsnId::kNoEsn)};
  CHECK(ProposalString(esp) == "AES_CBC_256/HMAC_SHA2_256_128/ECP_256");
  // Two ciphers, two groups: every one is shown, grouped by type.
  esp.transforms = {Transform::Encr(EncrId::kAesGcm16, 128), Transform::Dh(DhGroup::kModp2048),
                    Transform::Encr(EncrId::kAesGcm16, 256), Transform::Dh(DhGroup::kCurve25519)};
  CHECK(ProposalString(esp) == "AES_GCM_16_128/AES_GCM_16_256/MODP_2048/CURVE_25519");
  // Unknown IDs by number rather than dropped.
  esp.transforms = {Transform::Encr(static_cast<EncrId>(999), 128),
                    Transform::Integ(static_cast<IntegId>(77))};
  CHECK(ProposalString(esp) == "ENCR_999_128/INTEG_77");
  Proposal empty;
  CHECK(ProposalString(empty) == "");
}
