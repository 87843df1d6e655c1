// Diffie-Hellman for the IKE_SA_INIT and CREATE_CHILD_SA key exchanges (transform type 4):
// MODP groups 2 and 5 (RFC 2409, RFC 3526) and 14 to 18 (RFC 3526), ECP groups 19, 20 and 21
// (RFC 5903) and Curve25519, group 31 (RFC 8031), all through OpenSSL 3 EVP_PKEY.
//
// Wire forms (KE payload data and the shared secret g^ir):
//   MODP: public value and shared secret big-endian, zero-padded to the prime's length (2.14).
//   ECP:  public value x | y, each the field size; the shared secret is x alone (RFC 5903 7).
//   X25519: 32-byte little-endian u-coordinates (RFC 7748).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/crypto/openssl_ptr.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/encoding/ike_types.h"

namespace portcullis::ike {

bool IsSupportedDhGroup(DhGroup group);
size_t DhPublicValueSize(DhGroup group);   // 0 when unsupported
size_t DhSharedSecretSize(DhGroup group);  // 0 when unsupported

// The prime of a MODP group, big-endian (empty for other groups). For tests and diagnostics.
std::vector<uint8_t> DhModpPrime(DhGroup group);

// The checks ComputeSharedSecret makes on a peer's public value that need no key of ours, for
// a responder to run before it spends a key generation on the message: the length is the
// group's; MODP 1 < y < p-1; ECP a point on the curve; X25519 not one of the seven encodings of
// a point of small order (libsodium's list), which would make the shared secret zero.
// kInvalidArgument naming the group and the fault.
absl::Status CheckPeerPublicValue(DhGroup group, absl::Span<const uint8_t> peer_public);

// One side's ephemeral key pair.
class DhKeyPair {
 public:
  DhKeyPair(DhGroup group, ossl::PkeyPtr key, std::vector<uint8_t> public_value);
  DhKeyPair(const DhKeyPair&) = delete;
  DhKeyPair& operator=(const DhKeyPair&) = delete;

  DhGroup group() const { return group_; }
  // Exactly DhPublicValueSize(group()) bytes, ready for the KE payload.
  absl::Span<const uint8_t> public_value() const { return public_value_; }

  // g^ir from the peer's KE data. The peer value is checked first: its length must be the
  // group's; a MODP value must satisfy 1 < y < p-1 (enough for safe primes, RFC 6989 2.1); an
  // ECP value must be a point on the curve; an X25519 result of all zeros is refused (a
  // low-order point). Errors are kInvalidArgument and never contain key bytes.
  absl::StatusOr<SecretBytes> ComputeSharedSecret(absl::Span<const uint8_t> peer_public) const;

  // The private key in the form DhKeyPairFromPrivateKey takes back: the hitless restart saves
  // the key of an exchange in flight, so the new process can finish it (ike_sa_state.h).
  absl::StatusOr<SecretBytes> PrivateKey() const;

 private:
  DhGroup group_;
  ossl::PkeyPtr key_;
  std::vector<uint8_t> public_value_;
};

// A fresh key pair: a ready one from DhKeyPool when it runs (dh_key_pool.h), else made here.
absl::StatusOr<std::unique_ptr<DhKeyPair>> GenerateDhKeyPair(DhGroup group);

// A key pair from a given private key, for known-answer tests: MODP and ECP take the big-endian
// private exponent / scalar (ECP: exactly the field size), X25519 the 32-byte scalar.
absl::StatusOr<std::unique_ptr<DhKeyPair>> DhKeyPairFromPrivateKey(
    DhGroup group, absl::Span<const uint8_t> private_key);

}  // namespace portcullis::ike
