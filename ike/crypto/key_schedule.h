// IKEv2 key derivation (RFC 7296 2.14, 2.17, 2.18):
//   SKEYSEED = prf(Ni | Nr, g^ir)
//   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
//   rekeyed IKE SA: SKEYSEED = prf_old(SK_d old, g^ir new | Ni | Nr)
//   CHILD SA:  KEYMAT = prf+(SK_d, [g^ir new |] Ni | Nr), taken as encr_i | integ_i | encr_r |
//              integ_r (initiator-to-responder SA first, encryption before integrity)
// Key sizes come from the negotiated transforms (crypto_suite.h): with AES-GCM there are no
// integrity keys and the encryption keys carry the 4-byte salt at their end (RFC 5282 for IKE,
// RFC 4106 8.1 for ESP).
#pragma once

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/crypto/crypto_suite.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/encoding/ike_types.h"

namespace portcullis::ike {

enum class Role { kInitiator, kResponder };

struct IkeSaKeys {
  SecretBytes sk_d;
  SecretBytes sk_ai, sk_ar;  // empty with AES-GCM
  SecretBytes sk_ei, sk_er;
  SecretBytes sk_pi, sk_pr;
};

struct ChildSaKeys {
  SecretBytes encr_i, integ_i;  // the SA carrying initiator-to-responder traffic
  SecretBytes encr_r, integ_r;  // the SA carrying responder-to-initiator traffic
};

// Nonces are the Nonce payload data; g_ir is the DH shared secret as dh_group.h gives it.
absl::StatusOr<SecretBytes> ComputeSkeyseed(PrfId prf, absl::Span<const uint8_t> ni,
                                            absl::Span<const uint8_t> nr, const SecretBytes& g_ir);

// For an IKE SA rekeyed by CREATE_CHILD_SA: `old_prf` and `old_sk_d` are the existing IKE
// SA's (2.18: the rekey exchange belongs to the old SA, so its PRF makes SKEYSEED); the new
// SA's keys then come from DeriveIkeSaKeys with the new suite, the exchange's nonces and the
// new SPIs.
absl::StatusOr<SecretBytes> ComputeRekeySkeyseed(PrfId old_prf, const SecretBytes& old_sk_d,
                                                 const SecretBytes& g_ir_new,
                                                 absl::Span<const uint8_t> ni,
                                                 absl::Span<const uint8_t> nr);

absl::StatusOr<IkeSaKeys> DeriveIkeSaKeys(const IkeSaCryptoSuite& suite,
                                          const SecretBytes& skeyseed, absl::Span<const uint8_t> ni,
                                          absl::Span<const uint8_t> nr, const IkeSpi& spi_i,
                                          const IkeSpi& spi_r);

// `prf` and `sk_d` are the IKE SA's. `g_ir_new` is the CREATE_CHILD_SA exchange's DH secret
// when PFS is used, nullptr otherwise (and for the first CHILD SA, created by IKE_AUTH).
absl::StatusOr<ChildSaKeys> DeriveChildSaKeys(PrfId prf, const SecretBytes& sk_d,
                                              const ChildSaCryptoSuite& suite,
                                              const SecretBytes* g_ir_new,
                                              absl::Span<const uint8_t> ni,
                                              absl::Span<const uint8_t> nr);

}  // namespace portcullis::ike
