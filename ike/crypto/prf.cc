#include "ike/crypto/prf.h"

#include <openssl/crypto.h>

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
  // The key's HMAC states are made once for all the blocks (7 for an IKE SA's SK_*).
  absl::StatusOr<HmacKey> mac = HmacKey::Create(*h, key);
  if (!mac.ok()) return mac.status();
  SecretBytes out(length);
  // T(n-1) | seed | n as a list of spans: nothing secret is copied into a plain buffer. T(n-1)
  // is read from `out`, where it was written whole (only the last block may be cut).
  std::vector<absl::Span<const uint8_t>> parts(seed.size() + 2);
  std::copy(seed.begin(), seed.end(), parts.begin() + 1);
  uint8_t last[64];  // a cut last block, before it is cut
  size_t filled = 0;
  for (uint8_t counter = 1; filled < length; ++counter) {
    const uint8_t counter_byte[1] = {counter};
    parts.back() = absl::MakeConstSpan(counter_byte);
    size_t take = std::min(block, length - filled);
    absl::Span<uint8_t> t =
        take == block ? out.mutable_span().subspan(filled, block) : absl::MakeSpan(last, block);
    absl::Status s = mac->MacInto(parts, t);
    if (!s.ok()) {
      OPENSSL_cleanse(last, sizeof last);
      return s;
    }
    if (take < block) std::memcpy(out.data() + filled, last, take);
    parts.front() = t;
    filled += take;
  }
  OPENSSL_cleanse(last, sizeof last);
  return out;
}

}  // namespace portcullis::ike
