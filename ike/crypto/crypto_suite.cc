#include "ike/crypto/crypto_suite.h"

#include "absl/strings/str_cat.h"
#include "ike/crypto/dh_group.h"
#include "ike/crypto/prf.h"

namespace portcullis::ike {

namespace {

constexpr size_t kGcmSaltSize = 4;

bool IsAesKeySize(uint16_t bits) {
  return bits == 128 || bits == 192 || bits == 256;
}

std::string EncrText(EncrId encr, uint16_t key_bits) {
  return TransformName(TransformType::kEncr, static_cast<uint16_t>(encr), key_bits);
}

// What the ciphers and integrity transforms must satisfy in both kinds of SA.
absl::Status ValidateCipherPair(EncrId encr, uint16_t key_bits, IntegId integ, bool allow_null) {
  bool null_encr = allow_null && encr == EncrId::kNull && key_bits == 0;
  if (!IsSupportedEncr(encr, key_bits) && !null_encr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported encryption ", EncrText(encr, key_bits)));
  }
  std::string integ_name = TransformName(TransformType::kInteg, static_cast<uint16_t>(integ));
  if (IsAead(encr)) {
    if (integ != IntegId::kNone) {
      return absl::InvalidArgumentError(absl::StrCat(EncrText(encr, key_bits),
                                                     " is combined mode; no integrity ", integ_name,
                                                     " may go with it"));
    }
    return absl::OkStatus();
  }
  if (!IsSupportedInteg(integ)) {
    return absl::InvalidArgumentError(absl::StrCat(
        EncrText(encr, key_bits), " needs a supported integrity algorithm, not ", integ_name));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsAead(EncrId encr) {
  return encr == EncrId::kAesGcm16;
}

bool IsSupportedEncr(EncrId encr, uint16_t key_bits) {
  return (encr == EncrId::kAesCbc || encr == EncrId::kAesGcm16) && IsAesKeySize(key_bits);
}

size_t EncrSaltSize(EncrId encr) {
  return encr == EncrId::kAesGcm16 ? kGcmSaltSize : 0;
}

size_t EncrKeyMaterialSize(EncrId encr, uint16_t key_bits) {
  if (!IsSupportedEncr(encr, key_bits)) return 0;
  return key_bits / 8 + EncrSaltSize(encr);
}

bool IsSupportedInteg(IntegId integ) {
  return IntegKeySize(integ) != 0;
}

size_t IntegKeySize(IntegId integ) {
  switch (integ) {
    case IntegId::kHmacSha1_96:
      return 20;
    case IntegId::kHmacSha2_256_128:
      return 32;
    case IntegId::kHmacSha2_384_192:
      return 48;
    case IntegId::kHmacSha2_512_256:
      return 64;
    default:
      return 0;
  }
}

size_t IntegIcvSize(IntegId integ) {
  switch (integ) {
    case IntegId::kHmacSha1_96:
      return 12;
    case IntegId::kHmacSha2_256_128:
      return 16;
    case IntegId::kHmacSha2_384_192:
      return 24;
    case IntegId::kHmacSha2_512_256:
      return 32;
    default:
      return 0;
  }
}

absl::Status ValidateIkeSuite(const IkeSaCryptoSuite& s) {
  // ENCR_NULL is never allowed for the IKE SA: it would send AUTH and identities in the clear.
  absl::Status st = ValidateCipherPair(s.encr, s.encr_key_bits, s.integ, /*allow_null=*/false);
  if (!st.ok()) return st;
  if (!IsSupportedPrf(s.prf)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported PRF ", TransformName(TransformType::kPrf, static_cast<uint16_t>(s.prf))));
  }
  if (!IsSupportedDhGroup(s.dh)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported DH group ", TransformName(TransformType::kDh, static_cast<uint16_t>(s.dh))));
  }
  return absl::OkStatus();
}

absl::Status ValidateChildSuite(const ChildSaCryptoSuite& s) {
  absl::Status st = ValidateCipherPair(s.encr, s.encr_key_bits, s.integ, /*allow_null=*/true);
  if (!st.ok()) return st;
  if (s.esn != EsnId::kNoEsn && s.esn != EsnId::kEsn) {
    return absl::InvalidArgumentError(absl::StrCat("unknown ESN value ", static_cast<int>(s.esn)));
  }
  if (s.pfs != DhGroup::kNone && !IsSupportedDhGroup(s.pfs)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported PFS group ", TransformName(TransformType::kDh, static_cast<uint16_t>(s.pfs))));
  }
  return absl::OkStatus();
}

}  // namespace portcullis::ike
