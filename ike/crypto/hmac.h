// HMAC (RFC 2104) with SHA-1 and SHA-2 on OpenSSL's digests: the one primitive under the IKE
// PRFs, prf+, and the integrity transforms of the SK payload.
//
// Built on EVP_MD_CTX rather than OpenSSL 3's EVP_MAC: the MAC provider looks its digest up by
// name and builds three contexts on every init, about 26,000 instructions for an HMAC of IKE's
// short inputs, most of a Curve25519 setup's HMAC work (docs/DESIGN.md, IKE performance).
// Here the digests are fetched once, and a key's inner and outer states (K ^ ipad and K ^ opad
// hashed, RFC 2104's precomputation) are made once per HmacKey and copied per message, so
// prf+ and the SK payload's integrity pay for the key only once.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/crypto/secret_bytes.h"

namespace portcullis::ike {

enum class HashAlgorithm { kSha1, kSha256, kSha384, kSha512 };

size_t HashSize(HashAlgorithm h);

// One key's HMAC, ready for any number of messages. The states it holds are as secret as the
// key; OpenSSL's digest contexts wipe themselves when freed. Movable, not copyable.
class HmacKey {
 public:
  static absl::StatusOr<HmacKey> Create(HashAlgorithm h, absl::Span<const uint8_t> key);

  HashAlgorithm hash() const { return hash_; }
  size_t size() const { return HashSize(hash_); }

  // HMAC(key, data[0] | data[1] | ...) into `out`, size() bytes.
  absl::Status MacInto(absl::Span<const absl::Span<const uint8_t>> data,
                       absl::Span<uint8_t> out) const;
  absl::StatusOr<SecretBytes> Mac(absl::Span<const absl::Span<const uint8_t>> data) const;

 private:
  struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
  friend absl::StatusOr<SecretBytes> Hmac(HashAlgorithm, absl::Span<const uint8_t>,
                                          absl::Span<const absl::Span<const uint8_t>>);

  HmacKey(HashAlgorithm h, MdCtxPtr inner, MdCtxPtr outer)
      : hash_(h), inner_(std::move(inner)), outer_(std::move(outer)) {}
  // Finishes the MAC on `inner` and `outer` (keyed states), which it leaves spent.
  static absl::Status Finish(EVP_MD_CTX* inner, EVP_MD_CTX* outer,
                             absl::Span<const absl::Span<const uint8_t>> data,
                             absl::Span<uint8_t> out);

  HashAlgorithm hash_;
  MdCtxPtr inner_, outer_;
};

// HMAC(key, data[0] | data[1] | ...) without building the concatenation, so secret inputs are
// never copied into a buffer that is not wiped. For a key used once (no state copies).
absl::StatusOr<SecretBytes> Hmac(HashAlgorithm h, absl::Span<const uint8_t> key,
                                 absl::Span<const absl::Span<const uint8_t>> data);

}  // namespace portcullis::ike
