// What each family of DH groups provides to dh_group.cc: key generation, a key pair from a
// private key, the peer's public value turned into a validated EVP_PKEY, and our public value
// in wire form. One file per family: dh_modp.cc, dh_ecp.cc, dh_x25519.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/crypto/openssl_ptr.h"
#include "ike/encoding/ike_types.h"

namespace portcullis::ike::dh_internal {

enum class Family { kModp, kEcp, kX25519 };

struct GroupInfo {
  DhGroup group;
  Family family;
  size_t public_size;  // KE data
  size_t secret_size;  // g^ir
  const char* curve;   // OpenSSL group name (ECP only)
};

const GroupInfo* FindGroup(DhGroup group);

// The peer's value as an EVP_PKEY with the same domain parameters as ours, after the checks
// that do not need our key. kInvalidArgument for a value the group does not accept.
absl::StatusOr<ossl::PkeyPtr> ModpGenerate(const GroupInfo& g);
absl::StatusOr<ossl::PkeyPtr> ModpFromPrivate(const GroupInfo& g, absl::Span<const uint8_t> x);
absl::StatusOr<ossl::PkeyPtr> ModpPeerKey(const GroupInfo& g, absl::Span<const uint8_t> y);
absl::StatusOr<std::vector<uint8_t>> ModpPublicValue(const GroupInfo& g, EVP_PKEY* key);
ossl::BnPtr ModpPrime(DhGroup group);

absl::StatusOr<ossl::PkeyPtr> EcpGenerate(const GroupInfo& g);
absl::StatusOr<ossl::PkeyPtr> EcpFromPrivate(const GroupInfo& g, absl::Span<const uint8_t> d);
absl::StatusOr<ossl::PkeyPtr> EcpPeerKey(const GroupInfo& g, absl::Span<const uint8_t> xy);
absl::StatusOr<std::vector<uint8_t>> EcpPublicValue(const GroupInfo& g, EVP_PKEY* key);

absl::StatusOr<ossl::PkeyPtr> X25519Generate();
absl::StatusOr<ossl::PkeyPtr> X25519FromPrivate(absl::Span<const uint8_t> scalar);
absl::StatusOr<ossl::PkeyPtr> X25519PeerKey(absl::Span<const uint8_t> u);
absl::StatusOr<std::vector<uint8_t>> X25519PublicValue(EVP_PKEY* key);

// OpenSSL's public key check on a peer ECP key: on the curve, not the point at infinity.
absl::Status CheckPublicKey(EVP_PKEY* peer);

}  // namespace portcullis::ike::dh_internal
