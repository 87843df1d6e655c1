#include "ike/crypto/prf.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ike/crypto/hmac.h"

namespace portcullis::ike {

namespace {

std::optional<HashAlgorithm> PrfHash(PrfId prf) {
  switch (prf) {
    case PrfId::kHmacSha1:
      return HashAlgorithm::kSha1;
    case PrfId::kHmacSha2_256:
      return HashAlgorithm::kSha256;
    case PrfId::kHmacSha2_384:
      return HashAlgorithm::kSha384;
    case PrfId::kHmacSha2_512:
      return HashAlgorithm::kSha512;
    default:
      return std::nullopt;
  }
}

absl::Status Unsupported(PrfId prf) {
  return absl::InvalidArgumentError(absl::StrCat(
      "unsupported PRF ", TransformName(TransformType::kPrf, static_cast<uint16_t>(prf))));
}

}  // namespace

bool IsSupportedPrf(PrfId prf) {
  return PrfHash(prf).has_value();
}

size_t PrfOutputSize(PrfId prf) {
  auto h = PrfHash(prf);
  return h.has_value() ? HashSize(*h) : 0;
}

absl::StatusOr<SecretBytes> Prf(PrfId prf, absl::Span<const uint8_t> key,
                                absl::Span<const absl::Span<const uint8_t>> data) {
  auto h = PrfHash(prf);
  if (!h.has_value()) return Unsupported(prf);
  return Hmac(*h, key, data);
}

absl::StatusOr<SecretBytes> PrfPlus(PrfId prf, absl::Span<const uint8_t> key,
                                    absl::Span<const absl::Span<const uint8_t>> seed,
                                    size_t length) {
  auto h = PrfHash(prf);
  if (!h.has_value()) return Unsupported(prf);
  size_t block = HashSize(*h);
  if (length > 255 * block) {
    return absl::InvalidArgumentError(
        absl::StrCat("prf+ cannot make ", length, " bytes with a ", block, "-byte PRF"));
  }
  SecretBytes out(length);
  SecretBytes previous;  // T(n-1); empty for T1
  size_t filled = 0;
  for (uint8_t counter = 1; filled < length; ++counter) {
    // T(n-1) | seed | n as a list of spans: nothing secret is copied into a plain buffer.
    std::vector<absl::Span<const uint8_t>> parts;
    parts.push_back(previous.span());
    parts.insert(parts.end(), seed.begin(), seed.end());
    const uint8_t counter_byte[1] = {counter};
    parts.push_back(absl::MakeConstSpan(counter_byte));
    absl::StatusOr<SecretBytes> next = Hmac(*h, key, parts);
    if (!next.ok()) return next.status();
    size_t take = std::min(block, length - filled);
    std::memcpy(out.data() + filled, next->data(), take);
    filled += take;
    previous = std::move(*next);
  }
  return out;
}

}  // namespace portcullis::ike
