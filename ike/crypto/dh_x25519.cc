// Curve25519, IKE group 31 (RFC 8031): KE data and shared secret are X25519 u-coordinates
// (RFC 7748). A key pair is the 32-byte scalar and its public value, not an EVP_PKEY.
//
// Key generation is Nettle's curve25519_mul_g (a fixed-base multiplication with precomputed
// tables): OpenSSL 3.0's X25519 keygen, through EVP_PKEY_Q_keygen, cost about 770,000
// instructions (its name lookups, contexts and a slower base multiplication) where Nettle's
// costs 410,000. The shared secret is OpenSSL's X25519 (its ladder is faster than Nettle's:
// 500,000 instructions against 890,000, 48 against 77 us natively), on a key object built
// from the scalar and the public value together, so OpenSSL does not compute the public value
// again (EVP_PKEY_new_raw_private_key would: another base multiplication). Callgrind, one
// operation each, OpenSSL 3.0.19 and Nettle 3.8.1; docs/DESIGN.md, IKE performance. Both decode
// as RFC 7748 5 says (the scalar's bits 0-2 and 255 cleared and bit 254 set, the
// u-coordinate's bit 255 masked, non-canonical values reduced); dh_group_test checks them
// against RFC 7748's vectors and against each other. Both are constant time.
#include <nettle/curve25519.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "ike/crypto/dh_internal.h"

namespace portcullis::ike::dh_internal {

static_assert(CURVE25519_SIZE == kX25519Size);

absl::StatusOr<SecretBytes> X25519Generate() {
  SecretBytes scalar(kX25519Size);
  if (RAND_priv_bytes(scalar.data(), static_cast<int>(scalar.size())) != 1) {
    return absl::InternalError("CURVE_25519: no random bytes for a private key");
  }
  return scalar;
}

absl::Status X25519PublicValue(absl::Span<const uint8_t> scalar, absl::Span<uint8_t> u) {
  if (scalar.size() != kX25519Size || u.size() != kX25519Size) {
    return absl::InvalidArgumentError("CURVE_25519: private key must be 32 bytes");
  }
  curve25519_mul_g(u.data(), scalar.data());
  return absl::OkStatus();
}

absl::Status X25519Shared(absl::Span<const uint8_t> scalar, absl::Span<const uint8_t> own_u,
                          absl::Span<const uint8_t> peer_u, absl::Span<uint8_t> out) {
  if (scalar.size() != kX25519Size || own_u.size() != kX25519Size || peer_u.size() != kX25519Size ||
      out.size() != kX25519Size) {
    return absl::InvalidArgumentError("CURVE_25519: values must be 32 bytes");
  }
  // The OSSL_PARAMs point at the caller's bytes (nothing copied here); OpenSSL copies the
  // private key into its secure key object and wipes it when the object is freed.
  OSSL_PARAM params[3] = {
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
                                        const_cast<uint8_t*>(scalar.data()), scalar.size()),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(own_u.data()),
                                        own_u.size()),
      OSSL_PARAM_construct_end()};
  ossl::PkeyCtxPtr make(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr));
  EVP_PKEY* raw = nullptr;
  if (make == nullptr || EVP_PKEY_fromdata_init(make.get()) != 1 ||
      EVP_PKEY_fromdata(make.get(), &raw, EVP_PKEY_KEYPAIR, params) != 1) {
    return absl::InternalError("CURVE_25519: private key import failed");
  }
  ossl::PkeyPtr mine(raw);
  // Any 32 bytes are a u-coordinate (the top bit is masked, RFC 7748 5); low-order points give
  // an all-zero result, refused below.
  ossl::PkeyPtr peer(
      EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer_u.data(), peer_u.size()));
  if (peer == nullptr) return absl::InvalidArgumentError("CURVE_25519: public value rejected");
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), /*validate_peer=*/0) != 1) {
    return absl::InternalError("CURVE_25519: EVP_PKEY_derive_init failed");
  }
  size_t len = out.size();
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != kX25519Size) {
    // OpenSSL's X25519 refuses an all-zero result itself (RFC 7748 6.1), which is the only way
    // a well-formed 32-byte value fails here.
    return absl::InvalidArgumentError(
        "CURVE_25519: shared secret is all zero (peer sent a low-order point)");
  }
  return absl::OkStatus();
}

}  // namespace portcullis::ike::dh_internal
