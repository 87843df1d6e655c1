// IKEv2 protocol numbers (IANA "Internet Key Exchange Version 2 (IKEv2) Parameters") and their
// names for logs. Every enum has a fixed underlying type so that a value received from a peer
// that we do not know is still representable and can be logged by number.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace portcullis::ike {

using IkeSpi = std::array<uint8_t, 8>;

enum class ExchangeType : uint8_t {
  kIkeSaInit = 34,
  kIkeAuth = 35,
  kCreateChildSa = 36,
  kInformational = 37,
  kIkeSessionResume = 38,
  kIkeIntermediate = 43,
  kIkeFollowupKe = 44,
};

enum class PayloadType : uint8_t {
  kNone = 0,  // "No Next Payload"
  kSa = 33,
  kKe = 34,
  kIdi = 35,
  kIdr = 36,
  kCert = 37,
  kCertReq = 38,
  kAuth = 39,
  kNonce = 40,
  kNotify = 41,
  kDelete = 42,
  kVendorId = 43,
  kTsi = 44,
  kTsr = 45,
  kSk = 46,
  kCp = 47,
  kEap = 48,
  kGspm = 49,
  kSkf = 53,
  kPs = 54,
};

// RFC 7296 3.10.1 and later RFCs. 1..16383 are errors, 16384.. are status types.
enum class NotifyType : uint16_t {
  // Errors.
  kUnsupportedCriticalPayload = 1,
  kInvalidIkeSpi = 4,
  kInvalidMajorVersion = 5,
  kInvalidSyntax = 7,
  kInvalidMessageId = 9,
  kInvalidSpi = 11,
  kNoProposalChosen = 14,
  kInvalidKePayload = 17,
  kAuthenticationFailed = 24,
  kSinglePairRequired = 34,
  kNoAdditionalSas = 35,
  kInternalAddressFailure = 36,
  kFailedCpRequired = 37,
  kTsUnacceptable = 38,
  kInvalidSelectors = 39,
  kUnacceptableAddresses = 40,
  kUnexpectedNatDetected = 41,
  kUseAssignedHoa = 42,
  kTemporaryFailure = 43,
  kChildSaNotFound = 44,
  kTsMaxQueue = 48,  // RFC 9611: no more CHILD SAs with these selectors
  // Status.
  kInitialContact = 16384,
  kSetWindowSize = 16385,
  kAdditionalTsPossible = 16386,
  kIpcompSupported = 16387,
  kNatDetectionSourceIp = 16388,
  kNatDetectionDestinationIp = 16389,
  kCookie = 16390,
  kUseTransportMode = 16391,
  kHttpCertLookupSupported = 16392,
  kRekeySa = 16393,
  kEspTfcPaddingNotSupported = 16394,
  kNonFirstFragmentsAlso = 16395,
  kMobikeSupported = 16396,
  kAdditionalIp4Address = 16397,
  kAdditionalIp6Address = 16398,
  kNoAdditionalAddresses = 16399,
  kUpdateSaAddresses = 16400,
  kCookie2 = 16401,
  kNoNatsAllowed = 16402,
  kAuthLifetime = 16403,
  kMultipleAuthSupported = 16404,
  kAnotherAuthFollows = 16405,
  kRedirectSupported = 16406,
  kRedirect = 16407,
  kRedirectedFrom = 16408,
  kTicketLtOpaque = 16409,
  kTicketRequest = 16410,
  kTicketAck = 16411,
  kTicketNack = 16412,
  kTicketOpaque = 16413,
  kLinkId = 16414,
  kUseWespMode = 16415,
  kRohcSupported = 16416,
  kEapOnlyAuthentication = 16417,
  kChildlessIkev2Supported = 16418,
  kQuickCrashDetection = 16419,
  kIkev2MessageIdSyncSupported = 16420,
  kIpsecReplayCounterSyncSupported = 16421,
  kIkev2MessageIdSync = 16422,
  kIpsecReplayCounterSync = 16423,
  kSecurePasswordMethods = 16424,
  kPskPersist = 16425,
  kPskConfirm = 16426,
  kErxSupported = 16427,
  kIfomCapability = 16428,
  kSenderRequestId = 16429,
  kIkev2FragmentationSupported = 16430,
  kSignatureHashAlgorithms = 16431,
  kCloneIkeSaSupported = 16432,
  kCloneIkeSa = 16433,
  kPuzzle = 16434,
  kUsePpk = 16435,
  kPpkIdentity = 16436,
  kNoPpkAuth = 16437,
  kIntermediateExchangeSupported = 16438,
  kIp4Allowed = 16439,
  kIp6Allowed = 16440,
  kAdditionalKeyExchange = 16441,
  kUseAggfrag = 16442,
  kSaResourceInfo = 16444,  // RFC 9611: a CHILD SA of a per-resource group
};

inline bool IsErrorNotify(NotifyType t) {
  return static_cast<uint16_t>(t) < 16384;
}

// Protocol ID in proposals, Notify and Delete payloads.
enum class ProtocolId : uint8_t {
  kNone = 0,  // only in a Notify without SPI
  kIke = 1,
  kAh = 2,
  kEsp = 3,
};

enum class TransformType : uint8_t {
  kEncr = 1,
  kPrf = 2,
  kInteg = 3,
  kDh = 4,  // "Key Exchange Method" since RFC 9370
  kEsn = 5,
};

enum class EncrId : uint16_t {
  kDes = 2,
  k3des = 3,
  kNull = 11,
  kAesCbc = 12,
  kAesCtr = 13,
  kAesCcm8 = 14,
  kAesCcm12 = 15,
  kAesCcm16 = 16,
  kAesGcm8 = 18,
  kAesGcm12 = 19,
  kAesGcm16 = 20,
  kNullAuthAesGmac = 21,
  kCamelliaCbc = 23,
  kChaCha20Poly1305 = 28,
};

enum class PrfId : uint16_t {
  kHmacMd5 = 1,
  kHmacSha1 = 2,
  kHmacTiger = 3,
  kAes128Xcbc = 4,
  kHmacSha2_256 = 5,
  kHmacSha2_384 = 6,
  kHmacSha2_512 = 7,
  kAes128Cmac = 8,
};

enum class IntegId : uint16_t {
  kNone = 0,
  kHmacMd5_96 = 1,
  kHmacSha1_96 = 2,
  kDesMac = 3,
  kKpdkMd5 = 4,
  kAesXcbc96 = 5,
  kHmacMd5_128 = 6,
  kHmacSha1_160 = 7,
  kAesCmac96 = 8,
  kAes128Gmac = 9,
  kAes192Gmac = 10,
  kAes256Gmac = 11,
  kHmacSha2_256_128 = 12,
  kHmacSha2_384_192 = 13,
  kHmacSha2_512_256 = 14,
};

enum class DhGroup : uint16_t {
  kNone = 0,
  kModp768 = 1,
  kModp1024 = 2,
  kModp1536 = 5,
  kModp2048 = 14,
  kModp3072 = 15,
  kModp4096 = 16,
  kModp6144 = 17,
  kModp8192 = 18,
  kEcp256 = 19,
  kEcp384 = 20,
  kEcp521 = 21,
  kModp1024s160 = 22,
  kModp2048s224 = 23,
  kModp2048s256 = 24,
  kEcp192 = 25,
  kEcp224 = 26,
  kEcp224Bp = 27,
  kEcp256Bp = 28,
  kEcp384Bp = 29,
  kEcp512Bp = 30,
  kCurve25519 = 31,
  kCurve448 = 32,
};

enum class EsnId : uint16_t {
  kNoEsn = 0,
  kEsn = 1,
};

// Transform attribute types (RFC 7296 3.3.5). Only Key Length is defined for IKEv2.
enum class TransformAttributeType : uint16_t {
  kKeyLength = 14,
};

enum class IdType : uint8_t {
  kIpv4Addr = 1,
  kFqdn = 2,
  kRfc822Addr = 3,
  kIpv6Addr = 5,
  kDerAsn1Dn = 9,
  kDerAsn1Gn = 10,
  kKeyId = 11,
};

enum class AuthMethod : uint8_t {
  kRsaSignature = 1,
  kSharedKeyMic = 2,
  kDssSignature = 3,
  kEcdsaSha256P256 = 9,
  kEcdsaSha384P384 = 10,
  kEcdsaSha512P521 = 11,
  kGenericSecurePassword = 12,
  kNullAuth = 13,
  kDigitalSignature = 14,
};

enum class TsType : uint8_t {
  kIpv4AddrRange = 7,
  kIpv6AddrRange = 8,
};

// Header flags (RFC 7296 3.1).
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;

// Names as the RFCs and IANA spell them ("IKE_SA_INIT", "NO_PROPOSAL_CHOSEN"); a value we do not
// know comes out as its number so a log line still says what the peer sent.
std::string ExchangeTypeName(ExchangeType t);
std::string PayloadTypeName(PayloadType t);  // short form used in message summaries: "SA", "N"
std::string NotifyName(NotifyType t);
std::string ProtocolIdName(ProtocolId p);
std::string TransformTypeName(TransformType t);
std::string IdTypeName(IdType t);
std::string AuthMethodName(AuthMethod m);
std::string TsTypeName(TsType t);

// strongSwan's names for transforms, which operators know from `show vpn ...` and
// `ipsec statusall`: "AES_CBC", "AES_GCM_16", "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256",
// "MODP_2048", "ECP_256", "CURVE_25519", "EXT_SEQ". With a key length the encryption name gets
// it appended ("AES_CBC_256"). Unknown ids come out as "ENCR_99", "PRF_99", ...
std::string TransformName(TransformType type, uint16_t id, int key_bits = 0);

}  // namespace portcullis::ike
