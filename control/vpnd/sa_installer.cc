#include "control/vpnd/sa_installer.h"

#include "absl/status/status.h"
#include "ike/crypto/random.h"

namespace portcullis::vpnd {

absl::StatusOr<uint32_t> DrawChildSpi(const std::function<bool(uint32_t)>& in_use) {
  // 2^28 values: a few draws find a free one unless the draw itself is broken.
  for (int attempt = 0; attempt < 16; ++attempt) {
    absl::StatusOr<uint32_t> spi = ike::RandomChildSpi();
    if (!spi.ok() || !in_use || !in_use(*spi)) return spi;
  }
  return absl::ResourceExhaustedError("no free SPI in 16 random draws");
}

}  // namespace portcullis::vpnd
