// The negotiated algorithms of an IKE SA and of an ESP CHILD SA, and the sizes derived from
// them that the key schedule and the SK payload need. Only what Portcullis implements is
// "supported": AES-CBC and AES-GCM-16 with 128/192/256-bit keys, HMAC-SHA1/SHA2 integrity and
// PRFs, and for ESP also ENCR_NULL with an integrity transform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "ike/encoding/ike_types.h"

namespace portcullis::ike {

struct IkeSaCryptoSuite {
  EncrId encr = EncrId::kAesCbc;
  uint16_t encr_key_bits = 256;
  IntegId integ = IntegId::kHmacSha2_256_128;  // kNone with AES-GCM
  PrfId prf = PrfId::kHmacSha2_256;
  DhGroup dh = DhGroup::kModp2048;
  bool operator==(const IkeSaCryptoSuite&) const = default;
};

struct ChildSaCryptoSuite {
  EncrId encr = EncrId::kAesGcm16;
  uint16_t encr_key_bits = 128;
  IntegId integ = IntegId::kNone;
  EsnId esn = EsnId::kNoEsn;
  DhGroup pfs = DhGroup::kNone;  // DH group of the CREATE_CHILD_SA exchange, if any
  bool operator==(const ChildSaCryptoSuite&) const = default;
};

// AEAD ciphers protect integrity themselves and take no integrity transform.
bool IsAead(EncrId encr);
bool IsSupportedEncr(EncrId encr, uint16_t key_bits);
// Bytes of keying material for the cipher: the key, plus the 4-byte salt for AES-GCM
// (RFC 5282 for IKE, RFC 4106 8.1 for ESP). 0 for ENCR_NULL or unsupported.
size_t EncrKeyMaterialSize(EncrId encr, uint16_t key_bits);
size_t EncrSaltSize(EncrId encr);
bool IsSupportedInteg(IntegId integ);
size_t IntegKeySize(IntegId integ);  // 0 for kNone
size_t IntegIcvSize(IntegId integ);  // truncated output: 12, 16, 24 or 32

// Whether the suite can be used, and if not, why (names the algorithm).
absl::Status ValidateIkeSuite(const IkeSaCryptoSuite& suite);
absl::Status ValidateChildSuite(const ChildSaCryptoSuite& suite);

}  // namespace portcullis::ike
