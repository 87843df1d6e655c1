// HMAC (RFC 2104) with SHA-1 and SHA-2 through OpenSSL's EVP_MAC: the one primitive under the
// IKE PRFs, prf+, and the integrity transforms of the SK payload.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/crypto/secret_bytes.h"

namespace portcullis::ike {

enum class HashAlgorithm { kSha1, kSha256, kSha384, kSha512 };

size_t HashSize(HashAlgorithm h);

// HMAC(key, data[0] | data[1] | ...) without building the concatenation, so secret inputs are
// never copied into a buffer that is not wiped.
absl::StatusOr<SecretBytes> Hmac(HashAlgorithm h, absl::Span<const uint8_t> key,
                                 absl::Span<const absl::Span<const uint8_t>> data);

}  // namespace portcullis::ike
