// IANA numbers and the names logs print, and which crypto suites the library accepts. The
// proposal strings built from these names are in ../sa/proposal_string_test.cc.
#include "ike/encoding/ike_types.h"

#include <catch2/catch.hpp>

#include "ike/crypto/crypto_suite.h"

using namespace portcullis::ike;

TEST_CASE("IANA numbers of the enumerations", "[types]") {
  CHECK(static_cast<int>(ExchangeType::kIkeSaInit) == 34);
  CHECK(static_cast<int>(ExchangeType::kInformational) == 37);
  CHECK(static_cast<int>(PayloadType::kSa) == 33);
  CHECK(static_cast<int>(PayloadType::kSk) == 46);
  CHECK(static_cast<int>(NotifyType::kNatDetectionSourceIp) == 16388);
  CHECK(static_cast<int>(NotifyType::kNatDetectionDestinationIp) == 16389);
  CHECK(static_cast<int>(NotifyType::kCookie) == 16390);
  CHECK(static_cast<int>(NotifyType::kUseTransportMode) == 16391);
  CHECK(static_cast<int>(NotifyType::kRekeySa) == 16393);
  CHECK(static_cast<int>(NotifyType::kEspTfcPaddingNotSupported) == 16394);
  CHECK(static_cast<int>(NotifyType::kInitialContact) == 16384);
  CHECK(static_cast<int>(NotifyType::kSignatureHashAlgorithms) == 16431);
  CHECK(static_cast<int>(EncrId::kAesCbc) == 12);
  CHECK(static_cast<int>(EncrId::kAesGcm16) == 20);
  CHECK(static_cast<int>(EncrId::kNull) == 11);
  CHECK(static_cast<int>(PrfId::kHmacSha1) == 2);
  CHECK(static_cast<int>(PrfId::kHmacSha2_256) == 5);
  CHECK(static_cast<int>(PrfId::kHmacSha2_384) == 6);
  CHECK(static_cast<int>(PrfId::kHmacSha2_512) == 7);
  CHECK(static_cast<int>(IntegId::kHmacSha1_96) == 2);
  CHECK(static_cast<int>(IntegId::kHmacSha2_256_128) == 12);
  CHECK(static_cast<int>(IntegId::kHmacSha2_384_192) == 13);
  CHECK(static_cast<int>(IntegId::kHmacSha2_512_256) == 14);
  CHECK(static_cast<int>(DhGroup::kModp1024) == 2);
  CHECK(static_cast<int>(DhGroup::kModp1536) == 5);
  CHECK(static_cast<int>(DhGroup::kModp2048) == 14);
  CHECK(static_cast<int>(DhGroup::kModp3072) == 15);
  CHECK(static_cast<int>(DhGroup::kModp4096) == 16);
  CHECK(static_cast<int>(DhGroup::kEcp256) == 19);
  CHECK(static_cast<int>(DhGroup::kEcp384) == 20);
  CHECK(static_cast<int>(DhGroup::kEcp521) == 21);
  CHECK(static_cast<int>(DhGroup::kCurve25519) == 31);
  CHECK(static_cast<int>(EsnId::kNoEsn) == 0);
  CHECK(static_cast<int>(EsnId::kEsn) == 1);
  CHECK(static_cast<int>(IdType::kKeyId) == 11);
  CHECK(static_cast<int>(TsType::kIpv6AddrRange) == 8);
}

TEST_CASE("notify names for logs, and numbers for the unknown", "[types]") {
  CHECK(NotifyName(NotifyType::kNoProposalChosen) == "NO_PROPOSAL_CHOSEN");
  CHECK(NotifyName(NotifyType::kUnsupportedCriticalPayload) == "UNSUPPORTED_CRITICAL_PAYLOAD");
  CHECK(NotifyName(NotifyType::kInvalidKePayload) == "INVALID_KE_PAYLOAD");
  CHECK(NotifyName(NotifyType::kAuthenticationFailed) == "AUTHENTICATION_FAILED");
  CHECK(NotifyName(NotifyType::kTsUnacceptable) == "TS_UNACCEPTABLE");
  CHECK(NotifyName(NotifyType::kTemporaryFailure) == "TEMPORARY_FAILURE");
  CHECK(NotifyName(NotifyType::kChildSaNotFound) == "CHILD_SA_NOT_FOUND");
  CHECK(NotifyName(NotifyType::kNatDetectionSourceIp) == "NAT_DETECTION_SOURCE_IP");
  CHECK(NotifyName(NotifyType::kCookie) == "COOKIE");
  CHECK(NotifyName(NotifyType::kSignatureHashAlgorithms) == "SIGNATURE_HASH_ALGORITHMS");
  CHECK(NotifyName(static_cast<NotifyType>(9999)) == "NOTIFY_9999");
  CHECK(IsErrorNotify(NotifyType::kInvalidSyntax));
  CHECK_FALSE(IsErrorNotify(NotifyType::kInitialContact));

  CHECK(ExchangeTypeName(ExchangeType::kCreateChildSa) == "CREATE_CHILD_SA");
  CHECK(ExchangeTypeName(static_cast<ExchangeType>(99)) == "EXCHANGE_99");
  CHECK(PayloadTypeName(PayloadType::kTsr) == "TSr");
  CHECK(PayloadTypeName(static_cast<PayloadType>(200)) == "PAYLOAD_200");
  CHECK(ProtocolIdName(ProtocolId::kEsp) == "ESP");
  CHECK(IdTypeName(IdType::kFqdn) == "ID_FQDN");
  CHECK(AuthMethodName(AuthMethod::kSharedKeyMic) == "SHARED_KEY_MIC");
  CHECK(TsTypeName(TsType::kIpv4AddrRange) == "TS_IPV4_ADDR_RANGE");
}

TEST_CASE("transform names follow strongSwan", "[types]") {
  CHECK(TransformName(TransformType::kEncr, 12, 256) == "AES_CBC_256");
  CHECK(TransformName(TransformType::kEncr, 20, 128) == "AES_GCM_16_128");
  CHECK(TransformName(TransformType::kEncr, 11) == "NULL");
  CHECK(TransformName(TransformType::kInteg, 12) == "HMAC_SHA2_256_128");
  CHECK(TransformName(TransformType::kInteg, 2) == "HMAC_SHA1_96");
  CHECK(TransformName(TransformType::kPrf, 7) == "PRF_HMAC_SHA2_512");
  CHECK(TransformName(TransformType::kDh, 14) == "MODP_2048");
  CHECK(TransformName(TransformType::kDh, 21) == "ECP_521");
  CHECK(TransformName(TransformType::kDh, 31) == "CURVE_25519");
  CHECK(TransformName(TransformType::kEsn, 1) == "EXT_SEQ");
  CHECK(TransformName(TransformType::kEncr, 999) == "ENCR_999");
  CHECK(TransformName(TransformType::kDh, 1000) == "DH_1000");
}

TEST_CASE("supported crypto suites and key sizes", "[types]") {
  CHECK(ValidateIkeSuite(
            {EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, PrfId::kHmacSha1, DhGroup::kModp1024})
            .ok());
  CHECK(ValidateIkeSuite(
            {EncrId::kAesGcm16, 256, IntegId::kNone, PrfId::kHmacSha2_512, DhGroup::kCurve25519})
            .ok());
  // AEAD with an integrity transform, CBC without one, ENCR_NULL for IKE, odd key sizes,
  // unsupported PRF and group.
  CHECK_FALSE(ValidateIkeSuite({EncrId::kAesGcm16, 128, IntegId::kHmacSha1_96, PrfId::kHmacSha1,
                                DhGroup::kModp2048})
                  .ok());
  CHECK_FALSE(
      ValidateIkeSuite({EncrId::kAesCbc, 128, IntegId::kNone, PrfId::kHmacSha1, DhGroup::kModp2048})
          .ok());
  CHECK_FALSE(ValidateIkeSuite(
                  {EncrId::kNull, 0, IntegId::kHmacSha1_96, PrfId::kHmacSha1, DhGroup::kModp2048})
                  .ok());
  CHECK_FALSE(ValidateIkeSuite({EncrId::kAesCbc, 100, IntegId::kHmacSha1_96, PrfId::kHmacSha1,
                                DhGroup::kModp2048})
                  .ok());
  CHECK_FALSE(ValidateIkeSuite({EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, PrfId::kAes128Xcbc,
                                DhGroup::kModp2048})
                  .ok());
  CHECK_FALSE(ValidateIkeSuite({EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, PrfId::kHmacSha1,
                                DhGroup::kModp768})
                  .ok());
  // ESP may use ENCR_NULL with integrity, not without.
  CHECK(ValidateChildSuite({EncrId::kNull, 0, IntegId::kHmacSha2_256_128}).ok());
  CHECK_FALSE(ValidateChildSuite({EncrId::kNull, 0, IntegId::kNone}).ok());

  CHECK(EncrKeyMaterialSize(EncrId::kAesCbc, 256) == 32);
  CHECK(EncrKeyMaterialSize(EncrId::kAesGcm16, 128) == 20);
  CHECK(EncrKeyMaterialSize(EncrId::kAesGcm16, 256) == 36);
  CHECK(EncrKeyMaterialSize(EncrId::kNull, 0) == 0);
  CHECK(IntegKeySize(IntegId::kHmacSha1_96) == 20);
  CHECK(IntegKeySize(IntegId::kHmacSha2_512_256) == 64);
  CHECK(IntegIcvSize(IntegId::kHmacSha2_384_192) == 24);
  CHECK(IntegIcvSize(IntegId::kHmacSha1_96) == 12);
}
