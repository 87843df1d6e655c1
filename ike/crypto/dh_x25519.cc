// Curve25519, IKE group 31 (RFC 8031): KE data and shared secret are X25519 u-coordinates.
#include <openssl/evp.h>

#include "ike/crypto/dh_internal.h"

namespace portcullis::ike::dh_internal {

namespace {
constexpr size_t kX25519Size = 32;
}

absl::StatusOr<ossl::PkeyPtr> X25519Generate() {
  // One key generation context per thread, set up once and used for every key:
  // EVP_PKEY_Q_keygen fetched the X25519 key manager by name, parsed its parameters and built
  // and freed a context for each key. A context serves one thread at a time (the DH key pool's
  // workers and the event loop each have theirs).
  // Made when missing, so a failure to make it (no memory) is retried by the next key.
  thread_local ossl::PkeyCtxPtr ctx;
  if (ctx == nullptr) {
    ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr));
    if (ctx != nullptr && EVP_PKEY_keygen_init(ctx.get()) != 1) ctx.reset();
  }
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_generate(ctx.get(), &raw) != 1 || raw == nullptr) {
    return absl::InternalError("CURVE_25519: keygen failed");
  }
  return ossl::PkeyPtr(raw);
}

absl::StatusOr<ossl::PkeyPtr> X25519FromPrivate(absl::Span<const uint8_t> scalar) {
  if (scalar.size() != kX25519Size) {
    return absl::InvalidArgumentError("CURVE_25519: private key must be 32 bytes");
  }
  EVP_PKEY* raw =
      EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, scalar.data(), scalar.size());
  if (raw == nullptr) return absl::InternalError("CURVE_25519: private key import failed");
  return ossl::PkeyPtr(raw);
}

absl::StatusOr<ossl::PkeyPtr> X25519PeerKey(absl::Span<const uint8_t> u) {
  // Any 32 bytes are a u-coordinate (the top bit is masked, RFC 7748 5); low-order points are
  // caught by the all-zero check on the result.
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, u.data(), u.size());
  if (raw == nullptr) return absl::InvalidArgumentError("CURVE_25519: public value rejected");
  return ossl::PkeyPtr(raw);
}

absl::StatusOr<std::vector<uint8_t>> X25519PublicValue(EVP_PKEY* key) {
  std::vector<uint8_t> out(kX25519Size);
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != kX25519Size) {
    return absl::InternalError("CURVE_25519: public value not available");
  }
  return out;
}

}  // namespace portcullis::ike::dh_internal
