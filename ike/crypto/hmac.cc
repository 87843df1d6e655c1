#include "ike/crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <memory>

namespace portcullis::ike {

namespace {

const char* DigestName(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::kSha1:
      return "SHA1";
    case HashAlgorithm::kSha256:
      return "SHA2-256";
    case HashAlgorithm::kSha384:
      return "SHA2-384";
    case HashAlgorithm::kSha512:
      return "SHA2-512";
  }
  return "";
}

// Fetching an algorithm searches the provider tables; do it once. EVP_MAC objects are
// reference counted and safe to share between threads.
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

}  // namespace

size_t HashSize(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::kSha1:
      return 20;
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha384:
      return 48;
    case HashAlgorithm::kSha512:
      return 64;
  }
  return 0;
}

absl::StatusOr<SecretBytes> Hmac(HashAlgorithm h, absl::Span<const uint8_t> key,
                                 absl::Span<const absl::Span<const uint8_t>> data) {
  EVP_MAC* mac = HmacAlgorithm();
  if (mac == nullptr) return absl::InternalError("HMAC is not available in OpenSSL");
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac));
  if (ctx == nullptr) return absl::InternalError("EVP_MAC_CTX_new failed");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(DigestName(h)), 0),
      OSSL_PARAM_construct_end(),
  };
  // OpenSSL rejects a NULL key pointer even with length 0; an empty key is legal for HMAC.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  if (EVP_MAC_init(ctx.get(), key_ptr, key.size(), params) != 1) {
    return absl::InternalError("HMAC init failed");
  }
  for (absl::Span<const uint8_t> part : data) {
    if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) {
      return absl::InternalError("HMAC update failed");
    }
  }
  SecretBytes out(HashSize(h));
  size_t written = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &written, out.size()) != 1 || written != out.size()) {
    return absl::InternalError("HMAC final failed");
  }
  return out;
}

}  // namespace portcullis::ike
