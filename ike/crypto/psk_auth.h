// Pre-shared key authentication (RFC 7296 2.15):
//   AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <SignedOctets>)
//   SignedOctets = RealMessage | NonceData | prf(SK_p, RestOfIDPayload)
// where the initiator signs its IKE_SA_INIT request, the responder's nonce and its IDi with
// SK_pi, and the responder signs its IKE_SA_INIT response, the initiator's nonce and its IDr
// with SK_pr. RestOfIDPayload is the ID payload body (type, three reserved octets, data).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/crypto/key_schedule.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/encoding/ike_types.h"
#include "ike/encoding/payloads.h"

namespace portcullis::ike {

// The AUTH value a `signer` produces: its own IKE_SA_INIT message as sent (`signer_init`), the
// other side's nonce, and its own ID.
absl::StatusOr<Bytes> ComputePskAuth(PrfId prf, const SecretBytes& psk, Role signer,
                                     const IkeSaKeys& keys, absl::Span<const uint8_t> signer_init,
                                     absl::Span<const uint8_t> other_nonce,
                                     const IdPayload& signer_id);

// Our AUTH payload data: `self` signs with our IKE_SA_INIT message, the peer's nonce, our ID.
absl::StatusOr<Bytes> OwnPskAuth(PrfId prf, const SecretBytes& psk, Role self,
                                 const IkeSaKeys& keys, absl::Span<const uint8_t> own_init,
                                 absl::Span<const uint8_t> peer_nonce, const IdPayload& own_id);

// The same with the padded key kept beside the PSK (SharedSecret::Derived): made once per PRF
// instead of two HMACs per AUTH, and each IKE SA makes and checks one.
absl::StatusOr<Bytes> OwnPskAuth(PrfId prf, const SharedSecret& psk, Role self,
                                 const IkeSaKeys& keys, absl::Span<const uint8_t> own_init,
                                 absl::Span<const uint8_t> peer_nonce, const IdPayload& own_id);
absl::Status VerifyPeerPskAuth(PrfId prf, const SharedSecret& psk, Role self, const IkeSaKeys& keys,
                               absl::Span<const uint8_t> peer_init,
                               absl::Span<const uint8_t> own_nonce, const IdPayload& peer_id,
                               absl::Span<const uint8_t> received_auth);

// Checks the peer's AUTH data in constant time: the peer signed its IKE_SA_INIT message, our
// nonce and its ID. A mismatch is kUnauthenticated (answer AUTHENTICATION_FAILED).
absl::Status VerifyPeerPskAuth(PrfId prf, const SecretBytes& psk, Role self, const IkeSaKeys& keys,
                               absl::Span<const uint8_t> peer_init,
                               absl::Span<const uint8_t> own_nonce, const IdPayload& peer_id,
                               absl::Span<const uint8_t> received_auth);

}  // namespace portcullis::ike
