#include "ike/crypto/nat_detection.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "ike/crypto/openssl_ptr.h"

namespace portcullis::ike {

namespace {
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, ossl::Deleter<EVP_MD_CTX_free>>;
}

absl::StatusOr<NatDetectionHash> ComputeNatDetectionHash(const IkeSpi& spi_i, const IkeSpi& spi_r,
                                                         absl::Span<const uint8_t> address,
                                                         uint16_t port) {
  if (address.size() != 4 && address.size() != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("NAT detection needs a 4 or 16 byte address, not ", address.size()));
  }
  const uint8_t port_bytes[2] = {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  MdCtxPtr ctx(EVP_MD_CTX_new());
  NatDetectionHash out{};
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), spi_i.data(), spi_i.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), spi_r.data(), spi_r.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), address.data(), address.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), port_bytes, sizeof port_bytes) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    return absl::InternalError("SHA-1 failed");
  }
  return out;
}

}  // namespace portcullis::ike
