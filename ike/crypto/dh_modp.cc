// MODP groups: the Oakley 1024-bit group (RFC 2409 6.2, IKE group 2) and the RFC 3526 groups
// 5 and 14 to 18, all with generator 2. The primes come from OpenSSL's copies of those RFCs'
// constants; the unit tests rebuild each one from its defining formula with pi.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "absl/strings/str_cat.h"
#include "ike/crypto/dh_internal.h"

namespace portcullis::ike::dh_internal {

namespace {

constexpr unsigned kGenerator = 2;

struct Domain {
  ossl::BnPtr p;
  ossl::BnPtr g;
};

absl::StatusOr<Domain> MakeDomain(DhGroup group) {
  Domain d{ModpPrime(group), ossl::BnPtr(BN_new())};
  if (d.p == nullptr || d.g == nullptr || BN_set_word(d.g.get(), kGenerator) != 1) {
    return absl::InternalError("cannot build MODP domain parameters");
  }
  return d;
}

// An EVP_PKEY from the domain plus optional private and public values.
absl::StatusOr<ossl::PkeyPtr> FromData(const Domain& d, const BIGNUM* priv, const BIGNUM* pub,
                                       int selection) {
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, d.p.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, d.g.get()) != 1 ||
      (priv != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1) ||
      (pub != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub) != 1)) {
    return absl::InternalError("OSSL_PARAM_BLD failed");
  }
  ossl::ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) {
    return absl::InvalidArgumentError("MODP key import failed");
  }
  return ossl::PkeyPtr(raw);
}

// 1 < v < p - 1: excludes 0, 1 and p-1, which would force the shared secret to a value the
// attacker knows. Every group here has a safe prime, whose only small subgroups are {1} and
// {1, p-1}, so this range check is the whole validation RFC 6989 2.1 asks for; a subgroup test
// (y^q = 1) would cost a full-size exponentiation per exchange and protect nothing more for
// ephemeral keys.
bool InOpenRange(const BIGNUM* v, const BIGNUM* p) {
  ossl::BnPtr p_minus_1(BN_dup(p));
  if (p_minus_1 == nullptr || BN_sub_word(p_minus_1.get(), 1) != 1) return false;
  return BN_cmp(v, BN_value_one()) > 0 && BN_cmp(v, p_minus_1.get()) < 0;
}

}  // namespace

ossl::BnPtr ModpPrime(DhGroup group) {
  switch (group) {
    case DhGroup::kModp1024:
      return ossl::BnPtr(BN_get_rfc2409_prime_1024(nullptr));
    case DhGroup::kModp1536:
      return ossl::BnPtr(BN_get_rfc3526_prime_1536(nullptr));
    case DhGroup::kModp2048:
      return ossl::BnPtr(BN_get_rfc3526_prime_2048(nullptr));
    case DhGroup::kModp3072:
      return ossl::BnPtr(BN_get_rfc3526_prime_3072(nullptr));
    case DhGroup::kModp4096:
      return ossl::BnPtr(BN_get_rfc3526_prime_4096(nullptr));
    case DhGroup::kModp6144:
      return ossl::BnPtr(BN_get_rfc3526_prime_6144(nullptr));
    case DhGroup::kModp8192:
      return ossl::BnPtr(BN_get_rfc3526_prime_8192(nullptr));
    default:
      return nullptr;
  }
}

absl::StatusOr<ossl::PkeyPtr> ModpGenerate(const GroupInfo& g) {
  absl::StatusOr<Domain> d = MakeDomain(g.group);
  if (!d.ok()) return d.status();
  absl::StatusOr<ossl::PkeyPtr> domain = FromData(*d, nullptr, nullptr, EVP_PKEY_KEY_PARAMETERS);
  if (!domain.ok()) return domain.status();
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, domain->get(), nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return absl::InternalError("MODP key generation failed");
  }
  return ossl::PkeyPtr(raw);
}

absl::StatusOr<ossl::PkeyPtr> ModpFromPrivate(const GroupInfo& g, absl::Span<const uint8_t> x) {
  absl::StatusOr<Domain> d = MakeDomain(g.group);
  if (!d.ok()) return d.status();
  if (x.empty() || x.size() > g.public_size) {
    return absl::InvalidArgumentError("MODP private exponent of the wrong size");
  }
  ossl::BnPtr priv(BN_secure_new());
  ossl::BnPtr pub(BN_new());
  ossl::BnCtxPtr bn_ctx(BN_CTX_secure_new());
  if (priv == nullptr || pub == nullptr || bn_ctx == nullptr ||
      BN_bin2bn(x.data(), static_cast<int>(x.size()), priv.get()) == nullptr) {
    return absl::InternalError("BIGNUM allocation failed");
  }
  if (!InOpenRange(priv.get(), d->p.get())) {
    return absl::InvalidArgumentError("MODP private exponent out of range");
  }
  BN_set_flags(priv.get(), BN_FLG_CONSTTIME);
  if (BN_mod_exp(pub.get(), d->g.get(), priv.get(), d->p.get(), bn_ctx.get()) != 1) {
    return absl::InternalError("BN_mod_exp failed");
  }
  return FromData(*d, priv.get(), pub.get(), EVP_PKEY_KEYPAIR);
}

absl::StatusOr<ossl::PkeyPtr> ModpPeerKey(const GroupInfo& g, absl::Span<const uint8_t> y) {
  absl::StatusOr<Domain> d = MakeDomain(g.group);
  if (!d.ok()) return d.status();
  ossl::BnPtr pub(BN_bin2bn(y.data(), static_cast<int>(y.size()), nullptr));
  if (pub == nullptr) return absl::InternalError("BIGNUM allocation failed");
  if (!InOpenRange(pub.get(), d->p.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat(TransformName(TransformType::kDh, static_cast<uint16_t>(g.group)),
                     ": peer public value not in 1 < y < p-1"));
  }
  return FromData(*d, nullptr, pub.get(), EVP_PKEY_PUBLIC_KEY);
}

absl::StatusOr<std::vector<uint8_t>> ModpPublicValue(const GroupInfo& g, EVP_PKEY* key) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &raw) != 1) {
    return absl::InternalError("MODP public value not available");
  }
  ossl::BnPtr pub(raw);
  std::vector<uint8_t> out(g.public_size);
  if (BN_bn2binpad(pub.get(), out.data(), static_cast<int>(out.size())) < 0) {
    return absl::InternalError("MODP public value larger than the prime");
  }
  return out;
}

}  // namespace portcullis::ike::dh_internal
