// ECP groups 19, 20 and 21 (RFC 5903): NIST P-256, P-384 and P-521. The KE data is x | y
// without the SEC1 0x04 prefix; OpenSSL wants the prefix, so it is added and removed here.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "ike/crypto/dh_internal.h"

namespace portcullis::ike::dh_internal {

namespace {

constexpr uint8_t kUncompressedPoint = 0x04;

size_t FieldSize(const GroupInfo& g) {
  return g.public_size / 2;
}

std::string GroupText(const GroupInfo& g) {
  return TransformName(TransformType::kDh, static_cast<uint16_t>(g.group));
}

absl::StatusOr<ossl::PkeyPtr> FromData(const GroupInfo& g, const BIGNUM* priv,
                                       absl::Span<const uint8_t> encoded_point, int selection) {
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, g.curve, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, encoded_point.data(),
                                       encoded_point.size()) != 1 ||
      (priv != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1)) {
    return absl::InternalError("OSSL_PARAM_BLD failed");
  }
  ossl::ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  // Importing a public point runs OpenSSL's oct2point, which refuses coordinates not below the
  // field prime and points not on the curve.
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(GroupText(g), ": point is not on the curve"));
  }
  return ossl::PkeyPtr(raw);
}

}  // namespace

absl::StatusOr<ossl::PkeyPtr> EcpGenerate(const GroupInfo& g) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", g.curve);
  if (raw == nullptr) return absl::InternalError(absl::StrCat(GroupText(g), ": keygen failed"));
  return ossl::PkeyPtr(raw);
}

absl::StatusOr<ossl::PkeyPtr> EcpFromPrivate(const GroupInfo& g, absl::Span<const uint8_t> d) {
  if (d.size() != FieldSize(g)) {
    return absl::InvalidArgumentError(
        absl::StrCat(GroupText(g), ": private scalar must be ", FieldSize(g), " bytes"));
  }
  int nid = OBJ_sn2nid(g.curve);
  ossl::EcGroupPtr group(EC_GROUP_new_by_curve_name(nid));
  ossl::BnPtr priv(BN_secure_new());
  ossl::BnCtxPtr bn_ctx(BN_CTX_secure_new());
  if (group == nullptr || priv == nullptr || bn_ctx == nullptr ||
      BN_bin2bn(d.data(), static_cast<int>(d.size()), priv.get()) == nullptr) {
    return absl::InternalError("EC allocation failed");
  }
  if (BN_is_zero(priv.get()) || BN_cmp(priv.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return absl::InvalidArgumentError(absl::StrCat(GroupText(g), ": private scalar out of range"));
  }
  ossl::EcPointPtr point(EC_POINT_new(group.get()));
  if (point == nullptr ||
      EC_POINT_mul(group.get(), point.get(), priv.get(), nullptr, nullptr, bn_ctx.get()) != 1) {
    return absl::InternalError("EC_POINT_mul failed");
  }
  std::vector<uint8_t> encoded(1 + g.public_size);
  if (EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded.data(),
                         encoded.size(), bn_ctx.get()) != encoded.size()) {
    return absl::InternalError("EC_POINT_point2oct failed");
  }
  return FromData(g, priv.get(), encoded, EVP_PKEY_KEYPAIR);
}

absl::StatusOr<ossl::PkeyPtr> EcpPeerKey(const GroupInfo& g, absl::Span<const uint8_t> xy) {
  std::vector<uint8_t> encoded(1 + xy.size());
  encoded[0] = kUncompressedPoint;
  std::memcpy(encoded.data() + 1, xy.data(), xy.size());
  return FromData(g, nullptr, encoded, EVP_PKEY_PUBLIC_KEY);
}

absl::StatusOr<std::vector<uint8_t>> EcpPublicValue(const GroupInfo& g, EVP_PKEY* key) {
  std::vector<uint8_t> out(g.public_size);
  const char* names[2] = {OSSL_PKEY_PARAM_EC_PUB_X, OSSL_PKEY_PARAM_EC_PUB_Y};
  for (int i = 0; i < 2; ++i) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, names[i], &raw) != 1) {
      return absl::InternalError("EC public coordinate not available");
    }
    ossl::BnPtr coord(raw);
    if (BN_bn2binpad(coord.get(), out.data() + i * FieldSize(g), static_cast<int>(FieldSize(g))) <
        0) {
      return absl::InternalError("EC coordinate larger than the field");
    }
  }
  return out;
}

}  // namespace portcullis::ike::dh_internal
