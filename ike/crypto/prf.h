// The IKEv2 pseudo-random functions (transform type 2) and prf+ (RFC 7296 2.13), over HMAC with
// SHA-1 and SHA-2 (RFC 2104, RFC 4868).
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/encoding/ike_types.h"

namespace portcullis::ike {

bool IsSupportedPrf(PrfId prf);
// Output size, which is also the size of SK_d, SK_pi and SK_pr; 0 when unsupported.
size_t PrfOutputSize(PrfId prf);

// prf(key, data[0] | data[1] | ...).
absl::StatusOr<SecretBytes> Prf(PrfId prf, absl::Span<const uint8_t> key,
                                absl::Span<const absl::Span<const uint8_t>> data);

// prf+(key, seed) = T1 | T2 | ..., Tn = prf(key, Tn-1 | seed | n), cut to `length` bytes. The
// seed is the concatenation of `seed`. At most 255 blocks can be made (the counter is one
// octet); asking for more is an error.
absl::StatusOr<SecretBytes> PrfPlus(PrfId prf, absl::Span<const uint8_t> key,
                                    absl::Span<const absl::Span<const uint8_t>> seed,
                                    size_t length);

}  // namespace portcullis::ike
