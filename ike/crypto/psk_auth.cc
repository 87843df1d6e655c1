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

}  // namespace

absl::StatusOr<Bytes> ComputePskAuth(PrfId prf, const SecretBytes& psk, Role signer,
                                     const IkeSaKeys& keys, absl::Span<const uint8_t> signer_init,
                                     absl::Span<const uint8_t> other_nonce,
                                     const IdPayload& signer_id) {
  PayloadType id_type = signer == Role::kInitiator ? PayloadType::kIdi : PayloadType::kIdr;
  absl::StatusOr<Bytes> id_body = EncodePayloadBody(Payload{id_type, signer_id});
  if (!id_body.ok()) return id_body.status();
  const SecretBytes& sk_p = signer == Role::kInitiator ? keys.sk_pi : keys.sk_pr;
  absl::StatusOr<SecretBytes> maced_id = Prf(prf, sk_p.span(), {*id_body});
  if (!maced_id.ok()) return maced_id.status();
  absl::StatusOr<SecretBytes> padded_key =
      Prf(prf, psk.span(),
          {absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(kKeyPad), std::strlen(kKeyPad))});
  if (!padded_key.ok()) return padded_key.status();
  absl::StatusOr<SecretBytes> auth =
      Prf(prf, padded_key->span(), {signer_init, other_nonce, maced_id->span()});
  if (!auth.ok()) return auth.status();
  return Bytes(auth->span().begin(), auth->span().end());
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
  absl::StatusOr<Bytes> expected =
      ComputePskAuth(prf, psk, Other(self), keys, peer_init, own_nonce, peer_id);
  if (!expected.ok()) return expected.status();
  if (expected->size() != received_auth.size() ||
      CRYPTO_memcmp(expected->data(), received_auth.data(), expected->size()) != 0) {
    return absl::UnauthenticatedError("PSK AUTH value does not verify");
  }
  return absl::OkStatus();
}

}  // namespace portcullis::ike
