// Randomness for SPIs, nonces, IVs and padding, from OpenSSL's RAND_bytes (a DRBG seeded from
// the kernel). A failure is reported, never papered over with weaker bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/encoding/ike_types.h"

namespace portcullis::ike {

absl::Status FillRandom(absl::Span<uint8_t> out);
absl::StatusOr<std::vector<uint8_t>> RandomBytes(size_t n);
// A random IKE SPI; never zero, since a zero SPIi is invalid and a zero SPIr means "unknown".
absl::StatusOr<IkeSpi> RandomIkeSpi();
// A random ESP SPI with charon's 0xc prefix (so never one of the reserved values below 256,
// RFC 4303 2.1), as operators used to strongSwan expect to see them.
absl::StatusOr<uint32_t> RandomChildSpi();

}  // namespace portcullis::ike
