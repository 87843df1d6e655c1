// Protection of the Encrypted and Authenticated (SK) payload, RFC 7296 3.14 and RFC 5282:
//
//   AES-CBC + HMAC:  SK body = IV (16, random) | E(inner | padding | pad length) | ICV
//                    ICV = truncated HMAC(SK_a, message from the IKE header to the ICV)
//   AES-GCM-16:      SK body = IV (8) | E(inner | padding | pad length) | tag (16)
//                    nonce = salt (last 4 bytes of SK_e) | IV;
//                    AAD = the message from the IKE header through the SK generic header
//
// One SkCipher holds the keys of one direction. An endpoint seals what it sends with its own
// keys (initiator: SK_ei/SK_ai) and opens what it receives with the peer's; MakeSkCiphers()
// picks them by role. Opening checks integrity before anything that depends on the plaintext;
// an ICV or tag mismatch is IntegrityCheckError() (drop silently), a body that cannot be a
// valid SK body, or a bad padding behind a good ICV, is InvalidSyntaxError(). Only errors found
// after the ICV/tag verified carry PassedIntegrityCheck() (ike_errors.h): the others may come from
// anyone and must never be answered or change any state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/crypto/crypto_suite.h"
#include "ike/crypto/hmac.h"
#include "ike/crypto/key_schedule.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/encoding/message.h"

namespace portcullis::ike {

struct SkPlaintext {
  Message outer;  // header and payloads in the clear; outer.sk holds the protected body
  PayloadType first_inner = PayloadType::kNone;
  Bytes inner;  // the decrypted payload chain, padding removed
};

class SkCipher {
 public:
  // `sk_e` includes the salt for AES-GCM; `sk_a` is empty for AES-GCM.
  static absl::StatusOr<SkCipher> Create(const IkeSaCryptoSuite& suite,
                                         absl::Span<const uint8_t> sk_e,
                                         absl::Span<const uint8_t> sk_a);

  SkCipher(SkCipher&&) = default;
  SkCipher& operator=(SkCipher&&) = default;
  // Not copyable: two copies would restart the AES-GCM IV counter with the same key.
  SkCipher(const SkCipher&) = delete;
  SkCipher& operator=(const SkCipher&) = delete;

  // The wire message: `outer` (whose `sk` must be unset; its payloads go in the clear, usually
  // none) followed by an SK payload protecting `inner`, a payload chain starting with
  // `first_inner` (EncodePayloadChain() output). Not const: AES-GCM takes the next IV.
  absl::StatusOr<Bytes> Seal(const Message& outer, PayloadType first_inner,
                             absl::Span<const uint8_t> inner);

  absl::StatusOr<SkPlaintext> Open(absl::Span<const uint8_t> wire) const;

  // Bytes the SK payload adds around an inner chain of `inner_size` bytes (generic header, IV,
  // padding, pad length, ICV), for fragmentation and MTU decisions.
  size_t Overhead(size_t inner_size) const;

  // AES-GCM's IV position, for a restarted process that resumes this key (ike_sa_state): it
  // carries on after the counter it saved instead of starting a second sequence under the key.
  uint32_t iv_prefix() const { return iv_prefix_; }
  uint32_t iv_counter() const { return iv_counter_; }
  void ResumeIvs(uint32_t prefix, uint32_t counter) {
    iv_prefix_ = prefix;
    iv_counter_ = counter;
  }

 private:
  SkCipher() = default;
  size_t IvSize() const;
  size_t IcvSize() const;
  size_t PaddedSize(size_t inner_size) const;

  EncrId encr_ = EncrId::kAesCbc;
  IntegId integ_ = IntegId::kNone;
  SecretBytes key_;
  SecretBytes salt_;  // AES-GCM only
  // The integrity key's HMAC states, made once: every message's ICV starts from them.
  std::optional<HmacKey> integ_mac_;
  // AES-GCM IVs: a random prefix chosen when the cipher is made, then a counter, so no IV
  // repeats within one SkCipher and two SkCiphers made for the same key collide only if their
  // random 32-bit prefixes do.
  uint32_t iv_prefix_ = 0;
  uint32_t iv_counter_ = 0;
};

struct SkCipherPair {
  SkCipher outbound;  // seals what we send
  SkCipher inbound;   // opens what the peer sends
};

absl::StatusOr<SkCipherPair> MakeSkCiphers(const IkeSaCryptoSuite& suite, const IkeSaKeys& keys,
                                           Role self);

// Seal/Open plus the inner payload codec: what the exchanges use.
absl::StatusOr<Bytes> SealMessage(SkCipher& cipher, const IkeHeader& header,
                                  absl::Span<const Payload> inner);

struct OpenedMessage {
  Message outer;               // header, clear payloads, and the still protected SK body
  std::vector<Payload> inner;  // the payloads that were inside SK
};
absl::StatusOr<OpenedMessage> OpenMessage(const SkCipher& cipher, absl::Span<const uint8_t> wire);

}  // namespace portcullis::ike
