// Randomness for SPIs, nonces, IVs and padding, from OpenSSL's RAND_bytes (a DRBG seeded from
// the kernel). A failure is reported, never papered over with weaker bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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

// Tests only: this thread's random bytes (everything above, and DH private keys through
// GenerateDhKeyPair) come from `source` instead of OpenSSL's DRBG while the guard lives, so a
// harness run of two IKE managers repeats exactly from a seed: nonces and SPIs decide rekey and
// duplicate collisions, and a failing order could not be replayed while they were random.
// Nothing in production sets one. Guards nest (the innermost wins) and are per thread.
using RandomSource = std::function<void(absl::Span<uint8_t>)>;
class ScopedRandomSource {
 public:
  explicit ScopedRandomSource(RandomSource source);
  ~ScopedRandomSource();
  ScopedRandomSource(const ScopedRandomSource&) = delete;
  ScopedRandomSource& operator=(const ScopedRandomSource&) = delete;

 private:
  RandomSource source_;
  const RandomSource* previous_;
};
// Whether a ScopedRandomSource is in effect on this thread.
bool RandomSourceOverridden();

}  // namespace portcullis::ike
