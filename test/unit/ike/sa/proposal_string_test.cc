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
