#include "ike/crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace portcullis::ike {

namespace {
thread_local const RandomSource* tls_source = nullptr;
}  // namespace

ScopedRandomSource::ScopedRandomSource(RandomSource source)
    : source_(std::move(source)), previous_(tls_source) {
  tls_source = &source_;
}

ScopedRandomSource::~ScopedRandomSource() {
  tls_source = previous_;
}

bool RandomSourceOverridden() {
  return tls_source != nullptr;
}

absl::Status FillRandom(absl::Span<uint8_t> out) {
  // RAND_bytes takes an int; IKE never needs anywhere near 2 GiB at once.
  if (out.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError("random request too large");
  }
  if (out.empty()) return absl::OkStatus();
  if (tls_source != nullptr) {
    (*tls_source)(out);
    return absl::OkStatus();
  }
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> RandomBytes(size_t n) {
  std::vector<uint8_t> out(n);
  absl::Status s = FillRandom(absl::MakeSpan(out));
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<IkeSpi> RandomIkeSpi() {
  IkeSpi spi{};
  do {
    absl::Status s = FillRandom(absl::MakeSpan(spi));
    if (!s.ok()) return s;
  } while (std::all_of(spi.begin(), spi.end(), [](uint8_t b) { return b == 0; }));
  return spi;
}

absl::StatusOr<uint32_t> RandomChildSpi() {
  uint8_t b[4];
  if (absl::Status s = FillRandom(absl::MakeSpan(b)); !s.ok()) return s;
  uint32_t spi = static_cast<uint32_t>(b[0]) << 24 | b[1] << 16 | b[2] << 8 | b[3];
  return 0xc0000000u | (spi & 0x0fffffffu);
}

}  // namespace portcullis::ike
