#include "ike/encoding/ike_types.h"

#include "absl/strings/str_cat.h"

namespace portcullis::ike {

namespace {

template <typename T>
struct Entry {
  T value;
  const char* name;
};

// The name of `value` in `table`, or "<unknown_prefix><number>", so that every value a peer can
// send prints as something.
template <typename T, size_t N>
std::string Lookup(const Entry<T> (&table)[N], T value, const char* unknown_prefix) {
  for (const Entry<T>& e : table) {
    if (e.value == value) return e.name;
  }
  return absl::StrCat(unknown_prefix, static_cast<unsigned>(value));
}

constexpr Entry<ExchangeType> kExchangeNames[] = {
    {ExchangeType::kIkeSaInit, "IKE_SA_INIT"},
    {ExchangeType::kIkeAuth, "IKE_AUTH"},
    {ExchangeType::kCreateChildSa, "CREATE_CHILD_SA"},
    {ExchangeType::kInformational, "INFORMATIONAL"},
    {ExchangeType::kIkeSessionResume, "IKE_SESSION_RESUME"},
    {ExchangeType::kIkeIntermediate, "IKE_INTERMEDIATE"},
    {ExchangeType::kIkeFollowupKe, "IKE_FOLLOWUP_KE"},
};

constexpr Entry<PayloadType> kPayloadNames[] = {
    {PayloadType::kNone, "NONE"},       {PayloadType::kSa, "SA"},     {PayloadType::kKe, "KE"},
    {PayloadType::kIdi, "IDi"},         {PayloadType::kIdr, "IDr"},   {PayloadType::kCert, "CERT"},
    {PayloadType::kCertReq, "CERTREQ"}, {PayloadType::kAuth, "AUTH"}, {PayloadType::kNonce, "No"},
    {PayloadType::kNotify, "N"},        {PayloadType::kDelete, "D"},  {PayloadType::kVendorId, "V"},
    {PayloadType::kTsi, "TSi"},         {PayloadType::kTsr, "TSr"},   {PayloadType::kSk, "SK"},
    {PayloadType::kCp, "CP"},           {PayloadType::kEap, "EAP"},   {PayloadType::kGspm, "GSPM"},
    {PayloadType::kSkf, "SKF"},         {PayloadType::kPs, "PS"},
};

constexpr Entry<NotifyType> kNotifyNames[] = {
    {NotifyType::kUnsupportedCriticalPayload, "UNSUPPORTED_CRITICAL_PAYLOAD"},
    {NotifyType::kInvalidIkeSpi, "INVALID_IKE_SPI"},
    {NotifyType::kInvalidMajorVersion, "INVALID_MAJOR_VERSION"},
    {NotifyType::kInvalidSyntax, "INVALID_SYNTAX"},
    {NotifyType::kInvalidMessageId, "INVALID_MESSAGE_ID"},
    {NotifyType::kInvalidSpi, "INVALID_SPI"},
    {NotifyType::kNoProposalChosen, "NO_PROPOSAL_CHOSEN"},
    {NotifyType::kInvalidKePayload, "INVALID_KE_PAYLOAD"},
    {NotifyType::kAuthenticationFailed, "AUTHENTICATION_FAILED"},
    {NotifyType::kSinglePairRequired, "SINGLE_PAIR_REQUIRED"},
    {NotifyType::kNoAdditionalSas, "NO_ADDITIONAL_SAS"},
    {NotifyType::kInternalAddressFailure, "INTERNAL_ADDRESS_FAILURE"},
    {NotifyType::kFailedCpRequired, "FAILED_CP_REQUIRED"},
    {NotifyType::kTsUnacceptable, "TS_UNACCEPTABLE"},
    {NotifyType::kInvalidSelectors, "INVALID_SELECTORS"},
    {NotifyType::kUnacceptableAddresses, "UNACCEPTABLE_ADDRESSES"},
    {NotifyType::kUnexpectedNatDetected, "UNEXPECTED_NAT_DETECTED"},
    {NotifyType::kUseAssignedHoa, "USE_ASSIGNED_HoA"},
    {NotifyType::kTemporaryFailure, "TEMPORARY_FAILURE"},
    {NotifyType::kChildSaNotFound, "CHILD_SA_NOT_FOUND"},
    {NotifyType::kTsMaxQueue, "TS_MAX_QUEUE"},
    {NotifyType::kInitialContact, "INITIAL_CONTACT"},
    {NotifyType::kSetWindowSize, "SET_WINDOW_SIZE"},
    {NotifyType::kAdditionalTsPossible, "ADDITIONAL_TS_POSSIBLE"},
    {NotifyType::kIpcompSupported, "IPCOMP_SUPPORTED"},
    {NotifyType::kNatDetectionSourceIp, "NAT_DETECTION_SOURCE_IP"},
    {NotifyType::kNatDetectionDestinationIp, "NAT_DETECTION_DESTINATION_IP"},
    {NotifyType::kCookie, "COOKIE"},
    {NotifyType::kUseTransportMode, "USE_TRANSPORT_MODE"},
    {NotifyType::kHttpCertLookupSupported, "HTTP_CERT_LOOKUP_SUPPORTED"},
    {NotifyType::kRekeySa, "REKEY_SA"},
    {NotifyType::kEspTfcPaddingNotSupported, "ESP_TFC_PADDING_NOT_SUPPORTED"},
    {NotifyType::kNonFirstFragmentsAlso, "NON_FIRST_FRAGMENTS_ALSO"},
    {NotifyType::kMobikeSupported, "MOBIKE_SUPPORTED"},
    {NotifyType::kAdditionalIp4Address, "ADDITIONAL_IP4_ADDRESS"},
    {NotifyType::kAdditionalIp6Address, "ADDITIONAL_IP6_ADDRESS"},
    {NotifyType::kNoAdditionalAddresses, "NO_ADDITIONAL_ADDRESSES"},
    {NotifyType::kUpdateSaAddresses, "UPDATE_SA_ADDRESSES"},
    {NotifyType::kCookie2, "COOKIE2"},
    {NotifyType::kNoNatsAllowed, "NO_NATS_ALLOWED"},
    {NotifyType::kAuthLifetime, "AUTH_LIFETIME"},
    {NotifyType::kMultipleAuthSupported, "MULTIPLE_AUTH_SUPPORTED"},
    {NotifyType::kAnotherAuthFollows, "ANOTHER_AUTH_FOLLOWS"},
    {NotifyType::kRedirectSupported, "REDIRECT_SUPPORTED"},
    {NotifyType::kRedirect, "REDIRECT"},
    {NotifyType::kRedirectedFrom, "REDIRECTED_FROM"},
    {NotifyType::kTicketLtOpaque, "TICKET_LT_OPAQUE"},
    {NotifyType::kTicketRequest, "TICKET_REQUEST"},
    {NotifyType::kTicketAck, "TICKET_ACK"},
    {NotifyType::kTicketNack, "TICKET_NACK"},
    {NotifyType::kTicketOpaque, "TICKET_OPAQUE"},
    {NotifyType::kLinkId, "LINK_ID"},
    {NotifyType::kUseWespMode, "USE_WESP_MODE"},
    {NotifyType::kRohcSupported, "ROHC_SUPPORTED"},
    {NotifyType::kEapOnlyAuthentication, "EAP_ONLY_AUTHENTICATION"},
    {NotifyType::kChildlessIkev2Supported, "CHILDLESS_IKEV2_SUPPORTED"},
    {NotifyType::kQuickCrashDetection, "QUICK_CRASH_DETECTION"},
    {NotifyType::kIkev2MessageIdSyncSupported, "IKEV2_MESSAGE_ID_SYNC_SUPPORTED"},
    {NotifyType::kIpsecReplayCounterSyncSupported, "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED"},
    {NotifyType::kIkev2MessageIdSync, "IKEV2_MESSAGE_ID_SYNC"},
    {NotifyType::kIpsecReplayCounterSync, "IPSEC_REPLAY_COUNTER_SYNC"},
    {NotifyType::kSecurePasswordMethods, "SECURE_PASSWORD_METHODS"},
    {NotifyType::kPskPersist, "PSK_PERSIST"},
    {NotifyType::kPskConfirm, "PSK_CONFIRM"},
    {NotifyType::kErxSupported, "ERX_SUPPORTED"},
    {NotifyType::kIfomCapability, "IFOM_CAPABILITY"},
    {NotifyType::kSenderRequestId, "SENDER_REQUEST_ID"},
    {NotifyType::kIkev2FragmentationSupported, "IKEV2_FRAGMENTATION_SUPPORTED"},
    {NotifyType::kSignatureHashAlgorithms, "SIGNATURE_HASH_ALGORITHMS"},
    {NotifyType::kCloneIkeSaSupported, "CLONE_IKE_SA_SUPPORTED"},
    {NotifyType::kCloneIkeSa, "CLONE_IKE_SA"},
    {NotifyType::kPuzzle, "PUZZLE"},
    {NotifyType::kUsePpk, "USE_PPK"},
    {NotifyType::kPpkIdentity, "PPK_IDENTITY"},
    {NotifyType::kNoPpkAuth, "NO_PPK_AUTH"},
    {NotifyType::kIntermediateExchangeSupported, "INTERMEDIATE_EXCHANGE_SUPPORTED"},
    {NotifyType::kIp4Allowed, "IP4_ALLOWED"},
    {NotifyType::kIp6Allowed, "IP6_ALLOWED"},
    {NotifyType::kAdditionalKeyExchange, "ADDITIONAL_KEY_EXCHANGE"},
    {NotifyType::kUseAggfrag, "USE_AGGFRAG"},
    {NotifyType::kSaResourceInfo, "SA_RESOURCE_INFO"},
};

constexpr Entry<ProtocolId> kProtocolNames[] = {
    {ProtocolId::kNone, "NONE"},
    {ProtocolId::kIke, "IKE"},
    {ProtocolId::kAh, "AH"},
    {ProtocolId::kEsp, "ESP"},
};

constexpr Entry<TransformType> kTransformTypeNames[] = {
    {TransformType::kEncr, "ENCR"}, {TransformType::kPrf, "PRF"}, {TransformType::kInteg, "INTEG"},
    {TransformType::kDh, "DH"},     {TransformType::kEsn, "ESN"},
};

constexpr Entry<IdType> kIdTypeNames[] = {
    {IdType::kIpv4Addr, "ID_IPV4_ADDR"},     {IdType::kFqdn, "ID_FQDN"},
    {IdType::kRfc822Addr, "ID_RFC822_ADDR"}, {IdType::kIpv6Addr, "ID_IPV6_ADDR"},
    {IdType::kDerAsn1Dn, "ID_DER_ASN1_DN"},  {IdType::kDerAsn1Gn, "ID_DER_ASN1_GN"},
    {IdType::kKeyId, "ID_KEY_ID"},
};

constexpr Entry<AuthMethod> kAuthMethodNames[] = {
    {AuthMethod::kRsaSignature, "RSA_SIGNATURE"},
    {AuthMethod::kSharedKeyMic, "SHARED_KEY_MIC"},
    {AuthMethod::kDssSignature, "DSS_SIGNATURE"},
    {AuthMethod::kEcdsaSha256P256, "ECDSA_SHA256_P256"},
    {AuthMethod::kEcdsaSha384P384, "ECDSA_SHA384_P384"},
    {AuthMethod::kEcdsaSha512P521, "ECDSA_SHA512_P521"},
    {AuthMethod::kGenericSecurePassword, "GENERIC_SECURE_PASSWORD"},
    {AuthMethod::kNullAuth, "NULL_AUTH"},
    {AuthMethod::kDigitalSignature, "DIGITAL_SIGNATURE"},
};

constexpr Entry<TsType> kTsTypeNames[] = {
    {TsType::kIpv4AddrRange, "TS_IPV4_ADDR_RANGE"},
    {TsType::kIpv6AddrRange, "TS_IPV6_ADDR_RANGE"},
};

constexpr Entry<EncrId> kEncrNames[] = {
    {EncrId::kDes, "DES_CBC"},
    {EncrId::k3des, "3DES_CBC"},
    {EncrId::kNull, "NULL"},
    {EncrId::kAesCbc, "AES_CBC"},
    {EncrId::kAesCtr, "AES_CTR"},
    {EncrId::kAesCcm8, "AES_CCM_8"},
    {EncrId::kAesCcm12, "AES_CCM_12"},
    {EncrId::kAesCcm16, "AES_CCM_16"},
    {EncrId::kAesGcm8, "AES_GCM_8"},
    {EncrId::kAesGcm12, "AES_GCM_12"},
    {EncrId::kAesGcm16, "AES_GCM_16"},
    {EncrId::kNullAuthAesGmac, "NULL_AES_GMAC"},
    {EncrId::kCamelliaCbc, "CAMELLIA_CBC"},
    {EncrId::kChaCha20Poly1305, "CHACHA20_POLY1305"},
};

constexpr Entry<PrfId> kPrfNames[] = {
    {PrfId::kHmacMd5, "PRF_HMAC_MD5"},           {PrfId::kHmacSha1, "PRF_HMAC_SHA1"},
    {PrfId::kHmacTiger, "PRF_HMAC_TIGER"},       {PrfId::kAes128Xcbc, "PRF_AES128_XCBC"},
    {PrfId::kHmacSha2_256, "PRF_HMAC_SHA2_256"}, {PrfId::kHmacSha2_384, "PRF_HMAC_SHA2_384"},
    {PrfId::kHmacSha2_512, "PRF_HMAC_SHA2_512"}, {PrfId::kAes128Cmac, "PRF_AES128_CMAC"},
};

constexpr Entry<IntegId> kIntegNames[] = {
    {IntegId::kNone, "NONE"},
    {IntegId::kHmacMd5_96, "HMAC_MD5_96"},
    {IntegId::kHmacSha1_96, "HMAC_SHA1_96"},
    {IntegId::kDesMac, "DES_MAC"},
    {IntegId::kKpdkMd5, "KPDK_MD5"},
    {IntegId::kAesXcbc96, "AES_XCBC_96"},
    {IntegId::kHmacMd5_128, "HMAC_MD5_128"},
    {IntegId::kHmacSha1_160, "HMAC_SHA1_160"},
    {IntegId::kAesCmac96, "AES_CMAC_96"},
    {IntegId::kAes128Gmac, "AES_128_GMAC"},
    {IntegId::kAes192Gmac, "AES_192_GMAC"},
    {IntegId::kAes256Gmac, "AES_256_GMAC"},
    {IntegId::kHmacSha2_256_128, "HMAC_SHA2_256_128"},
    {IntegId::kHmacSha2_384_192, "HMAC_SHA2_384_192"},
    {IntegId::kHmacSha2_512_256, "HMAC_SHA2_512_256"},
};

constexpr Entry<DhGroup> kDhNames[] = {
    {DhGroup::kNone, "NONE"},
    {DhGroup::kModp768, "MODP_768"},
    {DhGroup::kModp1024, "MODP_1024"},
    {DhGroup::kModp1536, "MODP_1536"},
    {DhGroup::kModp2048, "MODP_2048"},
    {DhGroup::kModp3072, "MODP_3072"},
    {DhGroup::kModp4096, "MODP_4096"},
    {DhGroup::kModp6144, "MODP_6144"},
    {DhGroup::kModp8192, "MODP_8192"},
    {DhGroup::kEcp256, "ECP_256"},
    {DhGroup::kEcp384, "ECP_384"},
    {DhGroup::kEcp521, "ECP_521"},
    {DhGroup::kModp1024s160, "MODP_1024_160"},
    {DhGroup::kModp2048s224, "MODP_2048_224"},
    {DhGroup::kModp2048s256, "MODP_2048_256"},
    {DhGroup::kEcp192, "ECP_192"},
    {DhGroup::kEcp224, "ECP_224"},
    {DhGroup::kEcp224Bp, "ECP_224_BP"},
    {DhGroup::kEcp256Bp, "ECP_256_BP"},
    {DhGroup::kEcp384Bp, "ECP_384_BP"},
    {DhGroup::kEcp512Bp, "ECP_512_BP"},
    {DhGroup::kCurve25519, "CURVE_25519"},
    {DhGroup::kCurve448, "CURVE_448"},
};

constexpr Entry<EsnId> kEsnNames[] = {
    {EsnId::kNoEsn, "NO_EXT_SEQ"},
    {EsnId::kEsn, "EXT_SEQ"},
};

}  // namespace

std::string ExchangeTypeName(ExchangeType t) {
  return Lookup(kExchangeNames, t, "EXCHANGE_");
}
std::string PayloadTypeName(PayloadType t) {
  return Lookup(kPayloadNames, t, "PAYLOAD_");
}
std::string NotifyName(NotifyType t) {
  return Lookup(kNotifyNames, t, "NOTIFY_");
}
std::string ProtocolIdName(ProtocolId p) {
  return Lookup(kProtocolNames, p, "PROTOCOL_");
}
std::string TransformTypeName(TransformType t) {
  return Lookup(kTransformTypeNames, t, "TRANSFORM_TYPE_");
}
std::string IdTypeName(IdType t) {
  return Lookup(kIdTypeNames, t, "ID_TYPE_");
}
std::string AuthMethodName(AuthMethod m) {
  return Lookup(kAuthMethodNames, m, "AUTH_METHOD_");
}
std::string TsTypeName(TsType t) {
  return Lookup(kTsTypeNames, t, "TS_TYPE_");
}

std::string TransformName(TransformType type, uint16_t id, int key_bits) {
  switch (type) {
    case TransformType::kEncr: {
      std::string name = Lookup(kEncrNames, static_cast<EncrId>(id), "ENCR_");
      if (key_bits > 0) absl::StrAppend(&name, "_", key_bits);
      return name;
    }
    case TransformType::kPrf:
      return Lookup(kPrfNames, static_cast<PrfId>(id), "PRF_");
    case TransformType::kInteg:
      return Lookup(kIntegNames, static_cast<IntegId>(id), "INTEG_");
    case TransformType::kDh:
      return Lookup(kDhNames, static_cast<DhGroup>(id), "DH_");
    case TransformType::kEsn:
      return Lookup(kEsnNames, static_cast<EsnId>(id), "ESN_");
  }
  return absl::StrCat(TransformTypeName(type), "_", id);
}

}  // namespace portcullis::ike
