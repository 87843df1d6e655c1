#include "control/vpnd/sa_installer.h"

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "ike/crypto/random.h"

namespace portcullis::vpnd {

absl::StatusOr<uint32_t> DrawChildSpi(const std::function<bool(uint32_t)>& in_use) {
  // 2^28 values: a few draws find a free one unless the draw itself is broken.
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint8_t b[4];
    if (absl::Status st = ike::FillRandom(absl::MakeSpan(b)); !st.ok()) return st;
    uint32_t spi = static_cast<uint32_t>(b[0]) << 24 | b[1] << 16 | b[2] << 8 | b[3];
    // charon's SPIs start with 0xc; any value >= 256 is valid.
    spi = 0xc0000000u | (spi & 0x0fffffffu);
    if (!in_use || !in_use(spi)) return spi;
  }
  return absl::ResourceExhaustedError("no free SPI in 16 random draws");
}

}  // namespace portcullis::vpnd
