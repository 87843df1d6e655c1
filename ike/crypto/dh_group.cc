#include "ike/crypto/dh_group.h"

#include "ike/crypto/dh_key_pool.h"

#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ike/crypto/dh_internal.h"
#include "ike/crypto/random.h"

namespace portcullis::ike {

namespace dh_internal {

const GroupInfo* FindGroup(DhGroup group) {
  static constexpr GroupInfo kGroups[] = {
      {DhGroup::kModp1024, Family::kModp, 128, 128, nullptr},
      {DhGroup::kModp1536, Family::kModp, 192, 192, nullptr},
      {DhGroup::kModp2048, Family::kModp, 256, 256, nullptr},
      {DhGroup::kModp3072, Family::kModp, 384, 384, nullptr},
      {DhGroup::kModp4096, Family::kModp, 512, 512, nullptr},
      {DhGroup::kModp6144, Family::kModp, 768, 768, nullptr},
      {DhGroup::kModp8192, Family::kModp, 1024, 1024, nullptr},
      {DhGroup::kEcp256, Family::kEcp, 64, 32, "prime256v1"},
      {DhGroup::kEcp384, Family::kEcp, 96, 48, "secp384r1"},
      {DhGroup::kEcp521, Family::kEcp, 132, 66, "secp521r1"},
      {DhGroup::kCurve25519, Family::kX25519, 32, 32, nullptr},
  };
  for (const GroupInfo& g : kGroups) {
    if (g.group == group) return &g;
  }
  return nullptr;
}

absl::Status CheckPublicKey(EVP_PKEY* peer) {
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, peer, nullptr));
  if (ctx == nullptr) return absl::InternalError("EVP_PKEY_CTX_new_from_pkey failed");
  if (EVP_PKEY_public_check(ctx.get()) != 1) {
    return absl::InvalidArgumentError("peer public value fails the group's public key check");
  }
  return absl::OkStatus();
}

}  // namespace dh_internal

namespace {

using dh_internal::Family;
using dh_internal::GroupInfo;

std::string GroupText(DhGroup group) {
  return TransformName(TransformType::kDh, static_cast<uint16_t>(group));
}

absl::StatusOr<const GroupInfo*> Lookup(DhGroup group) {
  const GroupInfo* g = dh_internal::FindGroup(group);
  if (g == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported DH group ", GroupText(group)));
  }
  return g;
}

absl::StatusOr<std::vector<uint8_t>> PublicValue(const GroupInfo& g, EVP_PKEY* key) {
  switch (g.family) {
    case Family::kModp:
      return dh_internal::ModpPublicValue(g, key);
    case Family::kEcp:
      return dh_internal::EcpPublicValue(g, key);
    case Family::kX25519:
      return dh_internal::X25519PublicValue(key);
  }
  return absl::InternalError("unknown DH family");
}

absl::StatusOr<std::unique_ptr<DhKeyPair>> MakePair(const GroupInfo& g,
                                                    absl::StatusOr<ossl::PkeyPtr> key) {
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<uint8_t>> pub = PublicValue(g, key->get());
  if (!pub.ok()) return pub.status();
  if (pub->size() != g.public_size) {
    return absl::InternalError(
        absl::StrCat(GroupText(g.group), " public value of ", pub->size(), " bytes"));
  }
  return std::make_unique<DhKeyPair>(g.group, std::move(*key), std::move(*pub));
}

}  // namespace

bool IsSupportedDhGroup(DhGroup group) {
  return dh_internal::FindGroup(group) != nullptr;
}

size_t DhPublicValueSize(DhGroup group) {
  const GroupInfo* g = dh_internal::FindGroup(group);
  return g == nullptr ? 0 : g->public_size;
}

size_t DhSharedSecretSize(DhGroup group) {
  const GroupInfo* g = dh_internal::FindGroup(group);
  return g == nullptr ? 0 : g->secret_size;
}

std::vector<uint8_t> DhModpPrime(DhGroup group) {
  const GroupInfo* g = dh_internal::FindGroup(group);
  if (g == nullptr || g->family != Family::kModp) return {};
  ossl::BnPtr p = dh_internal::ModpPrime(group);
  if (p == nullptr) return {};
  std::vector<uint8_t> out(g->public_size);
  BN_bn2binpad(p.get(), out.data(), static_cast<int>(out.size()));
  return out;
}

namespace {

// u-coordinates of the Curve25519 points of order 1, 2, 4 and 8 and their non-canonical
// encodings below 2^255 (RFC 7748 7; the list libsodium refuses). The top bit is masked, as
// X25519 masks it.
constexpr uint8_t kX25519SmallOrder[7][32] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

bool X25519SmallOrder(absl::Span<const uint8_t> u) {
  for (const auto& bad : kX25519SmallOrder) {
    uint8_t diff = 0;
    for (size_t i = 0; i < 31; ++i) diff |= u[i] ^ bad[i];
    diff |= (u[31] & 0x7f) ^ bad[31];
    if (diff == 0) return true;
  }
  return false;
}

}  // namespace

absl::Status CheckPeerPublicValue(DhGroup group, absl::Span<const uint8_t> peer_public) {
  const GroupInfo* g = dh_internal::FindGroup(group);
  if (g == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(GroupText(group), " is not supported"));
  }
  if (peer_public.size() != g->public_size) {
    return absl::InvalidArgumentError(absl::StrCat(GroupText(group), " public value of ",
                                                   peer_public.size(), " bytes, expected ",
                                                   g->public_size));
  }
  switch (g->family) {
    case Family::kModp: {
      absl::StatusOr<ossl::PkeyPtr> peer = dh_internal::ModpPeerKey(*g, peer_public);
      return peer.ok() ? absl::OkStatus() : peer.status();
    }
    case Family::kEcp: {
      absl::StatusOr<ossl::PkeyPtr> peer = dh_internal::EcpPeerKey(*g, peer_public);
      if (!peer.ok()) return peer.status();
      absl::Status s = dh_internal::CheckPublicKey(peer->get());
      if (!s.ok())
        return absl::InvalidArgumentError(absl::StrCat(GroupText(group), ": ", s.message()));
      return absl::OkStatus();
    }
    case Family::kX25519:
      if (X25519SmallOrder(peer_public)) {
        return absl::InvalidArgumentError(
            "CURVE_25519: peer public value is a point of small order");
      }
      return absl::OkStatus();
  }
  return absl::InternalError("unknown DH family");
}

DhKeyPair::DhKeyPair(DhGroup group, ossl::PkeyPtr key, std::vector<uint8_t> public_value)
    : group_(group), key_(std::move(key)), public_value_(std::move(public_value)) {}

absl::StatusOr<std::unique_ptr<DhKeyPair>> GenerateDhKeyPair(DhGroup group) {
  // A test's seeded source (ScopedRandomSource): the private key from its bytes, so a replayed
  // run makes the same keys; not from the pool, whose keys come from OpenSSL on its thread.
  if (RandomSourceOverridden()) {
    const dh_internal::GroupInfo* g = dh_internal::FindGroup(group);
    if (g == nullptr) return absl::InvalidArgumentError("unsupported DH group");
    // X25519: any 32 bytes (clamped by the function). ECP: the field size with the first byte
    // zero, below every curve's order. MODP: a 256-bit exponent, never 0 or 1.
    const size_t n = g->family == dh_internal::Family::kX25519 ? 32
                     : g->family == dh_internal::Family::kEcp  ? g->secret_size
                                                               : 32;
    std::vector<uint8_t> priv(n);
    if (absl::Status s = FillRandom(absl::MakeSpan(priv)); !s.ok()) return s;
    if (g->family == dh_internal::Family::kEcp) priv[0] = 0;
    if (g->family == dh_internal::Family::kModp) priv[0] |= 0x80;
    return DhKeyPairFromPrivateKey(group, priv);
  }
  if (std::unique_ptr<DhKeyPair> ready = DhKeyPool::Take(group)) return ready;
  return GenerateDhKeyPairNow(group);
}

absl::StatusOr<std::unique_ptr<DhKeyPair>> GenerateDhKeyPairNow(DhGroup group) {
  absl::StatusOr<const GroupInfo*> g = Lookup(group);
  if (!g.ok()) return g.status();
  switch ((*g)->family) {
    case Family::kModp:
      return MakePair(**g, dh_internal::ModpGenerate(**g));
    case Family::kEcp:
      return MakePair(**g, dh_internal::EcpGenerate(**g));
    case Family::kX25519:
      return MakePair(**g, dh_internal::X25519Generate());
  }
  return absl::InternalError("unknown DH family");
}

absl::StatusOr<std::unique_ptr<DhKeyPair>> DhKeyPairFromPrivateKey(
    DhGroup group, absl::Span<const uint8_t> private_key) {
  absl::StatusOr<const GroupInfo*> g = Lookup(group);
  if (!g.ok()) return g.status();
  switch ((*g)->family) {
    case Family::kModp:
      return MakePair(**g, dh_internal::ModpFromPrivate(**g, private_key));
    case Family::kEcp:
      return MakePair(**g, dh_internal::EcpFromPrivate(**g, private_key));
    case Family::kX25519:
      return MakePair(**g, dh_internal::X25519FromPrivate(private_key));
  }
  return absl::InternalError("unknown DH family");
}

absl::StatusOr<SecretBytes> DhKeyPair::PrivateKey() const {
  const GroupInfo* g = dh_internal::FindGroup(group_);
  if (g == nullptr) return absl::InternalError("key pair of an unsupported group");
  if (g->family == Family::kX25519) {
    SecretBytes out(32);
    size_t len = out.size();
    if (EVP_PKEY_get_raw_private_key(key_.get(), out.data(), &len) != 1 || len != 32) {
      return absl::InternalError("EVP_PKEY_get_raw_private_key failed");
    }
    return out;
  }
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1 || raw == nullptr) {
    return absl::InternalError("the private key cannot be read");
  }
  ossl::BnPtr priv(raw);
  // MODP: the exponent as it is; ECP: the scalar at the field's size (x | y halves the value).
  const size_t size = g->family == Family::kEcp ? g->public_size / 2
                                                : static_cast<size_t>(BN_num_bytes(priv.get()));
  SecretBytes out(size);
  if (size == 0 || BN_bn2binpad(priv.get(), out.data(), static_cast<int>(size)) < 0) {
    return absl::InternalError("the private key does not fit");
  }
  return out;
}

absl::StatusOr<SecretBytes> DhKeyPair::ComputeSharedSecret(
    absl::Span<const uint8_t> peer_public) const {
  const GroupInfo* g = dh_internal::FindGroup(group_);
  if (g == nullptr) return absl::InternalError("key pair of an unsupported group");
  std::string group_text = GroupText(group_);
  if (peer_public.size() != g->public_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        group_text, " public value of ", peer_public.size(), " bytes, expected ", g->public_size));
  }
  absl::StatusOr<ossl::PkeyPtr> peer;
  switch (g->family) {
    case Family::kModp:
      peer = dh_internal::ModpPeerKey(*g, peer_public);
      break;
    case Family::kEcp:
      peer = dh_internal::EcpPeerKey(*g, peer_public);
      break;
    case Family::kX25519:
      peer = dh_internal::X25519PeerKey(peer_public);
      break;
  }
  if (!peer.ok()) return peer.status();
  // ECP: OpenSSL's check that the point is on the curve and not at infinity (the import has
  // already refused coordinates outside the field). MODP values were range checked above, which
  // is all a safe-prime group needs; X25519 needs no check on the input.
  if (g->family == Family::kEcp) {
    absl::Status s = dh_internal::CheckPublicKey(peer->get());
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(group_text, ": ", s.message()));
  }

  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return absl::InternalError("EVP_PKEY_derive_init failed");
  }
  // g^ir is zero-padded to the length of the prime (2.14); OpenSSL strips leading zeros unless
  // told not to, which would break one key exchange in 256.
  if (g->family == Family::kModp && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1) {
    return absl::InternalError("EVP_PKEY_CTX_set_dh_pad failed");
  }
  // The peer was validated above, family by family; OpenSSL's own validation would repeat the
  // ECP check and, for the MODP groups it recognises, add a full-size exponentiation.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer->get(), /*validate_peer=*/0) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(group_text, ": peer public value rejected"));
  }
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len != g->secret_size) {
    return absl::InternalError(absl::StrCat(group_text, ": unexpected shared secret size"));
  }
  SecretBytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1) {
    // OpenSSL's X25519 refuses an all-zero result itself (RFC 7748 6.1), which is the only way
    // a well-formed 32-byte value fails here.
    if (g->family == Family::kX25519) {
      return absl::InvalidArgumentError(
          "CURVE_25519: shared secret is all zero (peer sent a low-order point)");
    }
    return absl::InvalidArgumentError(absl::StrCat(group_text, ": key derivation failed"));
  }
  if (len != g->secret_size) {
    return absl::InternalError(absl::StrCat(group_text, ": unexpected shared secret size"));
  }
  if (std::all_of(secret.data(), secret.data() + len, [](uint8_t b) { return b == 0; })) {
    return absl::InvalidArgumentError(absl::StrCat(group_text, ": shared secret is all zero"));
  }
  return secret;
}

}  // namespace portcullis::ike
