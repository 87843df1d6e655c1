#include "ike/crypto/psk_auth.h"

#include <openssl/crypto.h>

#include <cstring>

#include "ike/crypto/prf.h"
#include "ike/encoding/payload_codec.h"

namespace portcullis::ike {

namespace {

constexpr char kKeyPad[] = "Key Pad for IKEv2";  // 17 octets, no terminator (2.15)

Role Other(Role r) {
  return r == Role::kInitiator ? Role::kResponder : Role::kInitiator;
}

absl::StatusOr<SecretBytes> PaddedKey(PrfId prf, const SecretBytes& psk) {
  return Prf(
      prf, psk.span(),
      {absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(kKeyPad), std::strlen(kKeyPad))});
}

absl::StatusOr<SecretBytes> PaddedKey(PrfId prf, const SharedSecret& psk) {
  // The PRF's transform ID picks the slot (2, 5, 6, 7 for the HMACs; others are not kept).
  return psk.Derived(static_cast<size_t>(prf), [&] { return PaddedKey(prf, psk.bytes()); });
}

absl::StatusOr<Bytes> AuthWithPaddedKey(PrfId prf, absl::StatusOr<SecretBytes> padded_key,
                                        Role signer, const IkeSaKeys& keys,
                                        absl::Span<const uint8_t> signer_init,
                                        absl::Span<const uint8_t> other_nonce,
                                        const IdPayload& signer_id) {
  if (!padded_key.ok()) return padded_key.status();
  PayloadType id_type = signer == Role::kInitiator ? PayloadType::kIdi : PayloadType::kIdr;
  absl::StatusOr<Bytes> id_body = EncodePayloadBody(Payload{id_type, signer_id});
  if (!id_body.ok()) return id_body.status();
  const SecretBytes& sk_p = signer == Role::kInitiator ? keys.sk_pi : keys.sk_pr;
  absl::StatusOr<SecretBytes> maced_id = Prf(prf, sk_p.span(), {*id_body});
  if (!maced_id.ok()) return maced_id.status();
  absl::StatusOr<SecretBytes> auth =
      Prf(prf, padded_key->span(), {signer_init, other_nonce, maced_id->span()});
  if (!auth.ok()) return auth.status();
  return Bytes(auth->span().begin(), auth->span().end());
}

absl::Status Verify(absl::StatusOr<Bytes> expected, absl::Span<const uint8_t> received_auth) {
  if (!expected.ok()) return expected.status();
  if (expected->size() != received_auth.size() ||
      CRYPTO_memcmp(expected->data(), received_auth.data(), expected->size()) != 0) {
    return absl::UnauthenticatedError("PSK AUTH value does not verify");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Bytes> ComputePskAuth(PrfId prf, const SecretBytes& psk, Role signer,
                                     const IkeSaKeys& keys, absl::Span<const uint8_t> signer_init,
                                     absl::Span<const uint8_t> other_nonce,
                                     const IdPayload& signer_id) {
  return AuthWithPaddedKey(prf, PaddedKey(prf, psk), signer, keys, signer_init, other_nonce,
                           signer_id);
}

absl::StatusOr<Bytes> OwnPskAuth(PrfId prf, const SecretBytes& psk, Role self,
                                 const IkeSaKeys& keys, absl::Span<const uint8_t> own_init,
                                 absl::Span<const uint8_t> peer_nonce, const IdPayload& own_id) {
  return ComputePskAuth(prf, psk, self, keys, own_init, peer_nonce, own_id);
}

absl::Status VerifyPeerPskAuth(PrfId prf, const SecretBytes& psk, Role self, const IkeSaKeys& keys,
                               absl::Span<const uint8_t> peer_init,
                               absl::Span<const uint8_t> own_nonce, const IdPayload& peer_id,
                               absl::Span<const uint8_t> received_auth) {
  return Verify(ComputePskAuth(prf, psk, Other(self), keys, peer_init, own_nonce, peer_id),
                received_auth);
}

absl::StatusOr<Bytes> OwnPskAuth(PrfId prf, const SharedSecret& psk, Role self,
                                 const IkeSaKeys& keys, absl::Span<const uint8_t> own_init,
                                 absl::Span<const uint8_t> peer_nonce, const IdPayload& own_id) {
  return AuthWithPaddedKey(prf, PaddedKey(prf, psk), self, keys, own_init, peer_nonce, own_id);
}

absl::Status VerifyPeerPskAuth(PrfId prf, const SharedSecret& psk, Role self, const IkeSaKeys& keys,
                               absl::Span<const uint8_t> peer_init,
                               absl::Span<const uint8_t> own_nonce, const IdPayload& peer_id,
                               absl::Span<const uint8_t> received_auth) {
  return Verify(
      AuthWithPaddedKey(prf, PaddedKey(prf, psk), Other(self), keys, peer_init, own_nonce, peer_id),
      received_auth);
}

}  // namespace portcullis::ike
