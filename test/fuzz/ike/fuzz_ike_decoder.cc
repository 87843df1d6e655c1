// libFuzzer target: any bytes as an IKE message off the wire. Besides "never crash, leak or trip
// UBSan" it checks properties:
//   - a message that decodes re-encodes, and the re-encoding decodes to the same message;
//   - a refusal is one of the kinds ike_errors.h defines (what the exchanges answer with);
//   - opening the message with fixed SK keys (AES-CBC + HMAC-SHA2-256-128 and AES-GCM-16-256)
//     never succeeds on a forged ICV/tag;
//   - the SK body, taken as plaintext and protected here with the same fixed keys by plain EVP
//     calls (so the integrity check passes and arbitrary padding and inner chains reach the
//     decoder behind it), is never refused for integrity;
//   - sealing the SK body with SkCipher and opening it gives the same bytes back.
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ike/crypto/sk_cipher.h"
#include "ike/encoding/ike_errors.h"
#include "ike/encoding/message.h"
#include "ike/sa/proposal_string.h"

using namespace portcullis::ike;

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

const IkeSaCryptoSuite kCbc{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128, PrfId::kHmacSha2_256,
                            DhGroup::kModp2048};
const IkeSaCryptoSuite kGcm{EncrId::kAesGcm16, 256, IntegId::kNone, PrfId::kHmacSha2_256,
                            DhGroup::kEcp256};
const uint8_t kCbcKey[32] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                             0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
                             0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20};
const uint8_t kHmacKey[32] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
                              0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
                              0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};
// AES-256 key followed by the 4-byte salt.
const uint8_t kGcmKey[36] = {0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
                             0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42,
                             0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b,
                             0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0xca, 0xfe, 0xba, 0xbe};

SkCipher& Cipher(bool gcm) {
  static SkCipher* cbc = [] {
    auto c = SkCipher::Create(kCbc, kCbcKey, kHmacKey);
    Require(c.ok());
    return new SkCipher(std::move(*c));
  }();
  static SkCipher* aead = [] {
    auto c = SkCipher::Create(kGcm, kGcmKey, {});
    Require(c.ok());
    return new SkCipher(std::move(*c));
  }();
  return gcm ? *aead : *cbc;
}

bool KnownRefusal(const absl::Status& s) {
  return IsInvalidSyntax(s) || UnsupportedCriticalPayloadType(s).has_value() ||
         InvalidMajorVersion(s).has_value();
}

void CheckRoundTrip(const Message& m) {
  absl::StatusOr<Bytes> wire = EncodeMessage(m);
  Require(wire.ok());
  absl::StatusOr<Message> again = DecodeMessage(*wire);
  Require(again.ok() && *again == m);
  (void)MessageSummary(m);
  for (const Payload& p : m.payloads) {
    if (auto* sa = p.As<SaPayload>()) {
      for (const Proposal& prop : sa->proposals) (void)ProposalString(prop);
    }
  }
}

// Encrypts `plain` into an SK body with fixed IVs and the fixed keys, laid out as RFC 7296 /
// RFC 5282 say, so that the integrity check of SkCipher::Open passes.
bool ProtectWithFixedKeys(bool gcm, const Message& outer_with_sk, const Bytes& plain,
                          Bytes* wire_out) {
  const size_t iv_size = gcm ? 8 : 16, icv_size = 16;
  Message m = outer_with_sk;
  m.sk->body.assign(iv_size + plain.size() + icv_size, 0);
  absl::StatusOr<Bytes> wire = EncodeMessage(m);
  if (!wire.ok()) return false;
  uint8_t* body = wire->data() + wire->size() - m.sk->body.size();
  std::memset(body, 0x5c, iv_size);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0, len2 = 0;
  bool ok;
  if (gcm) {
    uint8_t nonce[12];
    std::memcpy(nonce, kGcmKey + 32, 4);
    std::memcpy(nonce + 4, body, 8);
    ok = EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), kGcmKey, nonce, nullptr) == 1 &&
         EVP_EncryptUpdate(ctx, nullptr, &len, wire->data(),
                           static_cast<int>(body - wire->data())) == 1 &&
         EVP_EncryptUpdate(ctx, body + iv_size, &len, plain.data(),
                           static_cast<int>(plain.size())) == 1 &&
         EVP_EncryptFinal_ex(ctx, body + iv_size + len, &len2) == 1;
    OSSL_PARAM get[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                          body + iv_size + plain.size(), icv_size),
                        OSSL_PARAM_construct_end()};
    ok = ok && EVP_CIPHER_CTX_get_params(ctx, get) == 1;
  } else {
    ok = EVP_EncryptInit_ex2(ctx, EVP_aes_256_cbc(), kCbcKey, body, nullptr) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
         EVP_EncryptUpdate(ctx, body + iv_size, &len, plain.data(),
                           static_cast<int>(plain.size())) == 1 &&
         EVP_EncryptFinal_ex(ctx, body + iv_size + len, &len2) == 1;
    uint8_t mac[32];
    size_t mac_len = 0;
    ok = ok &&
         EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA2-256", nullptr, kHmacKey, sizeof kHmacKey,
                   wire->data(), wire->size() - icv_size, mac, sizeof mac, &mac_len) != nullptr;
    if (ok) std::memcpy(wire->data() + wire->size() - icv_size, mac, icv_size);
  }
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return false;
  *wire_out = std::move(*wire);
  return true;
}

void ExerciseSk(const Message& m) {
  for (bool gcm : {false, true}) {
    // The fuzzer's SK body as plaintext, cut to whole blocks for CBC.
    Bytes plain = m.sk->body;
    if (!gcm) plain.resize(plain.size() / 16 * 16);
    if (plain.empty()) plain.assign(16, 0);
    Bytes wire;
    if (ProtectWithFixedKeys(gcm, m, plain, &wire)) {
      absl::StatusOr<OpenedMessage> opened = OpenMessage(Cipher(gcm), wire);
      Require(opened.ok() || !IsIntegrityFailure(opened.status()));
      Require(opened.ok() || KnownRefusal(opened.status()));
      if (opened.ok()) CheckRoundTrip(opened->outer);
    }

    // Seal the body as an inner chain and open it again: same bytes back.
    Message outer = m;
    outer.sk.reset();
    absl::StatusOr<Bytes> sealed = Cipher(gcm).Seal(outer, m.sk->first_inner, m.sk->body);
    if (sealed.ok()) {
      absl::StatusOr<SkPlaintext> back = Cipher(gcm).Open(*sealed);
      Require(back.ok() && back->inner == m.sk->body && back->first_inner == m.sk->first_inner);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Span<const uint8_t> wire(data, size);
  (void)DecodeHeader(wire);

  absl::StatusOr<Message> m = DecodeMessage(wire);
  if (!m.ok()) {
    Require(KnownRefusal(m.status()));
  } else {
    CheckRoundTrip(*m);
    if (m->sk.has_value()) ExerciseSk(*m);
  }

  // The input as forged ciphertext: it must never pass the integrity check.
  for (bool gcm : {false, true}) {
    absl::StatusOr<OpenedMessage> opened = OpenMessage(Cipher(gcm), wire);
    Require(!opened.ok());
  }

  // The input as a bare payload chain, its first byte naming the first payload.
  if (size > 0) {
    absl::StatusOr<std::vector<Payload>> chain =
        DecodePayloadChain(static_cast<PayloadType>(data[0]), wire.subspan(1));
    if (chain.ok()) {
      absl::StatusOr<Bytes> again = EncodePayloadChain(*chain);
      Require(again.ok());
      absl::StatusOr<std::vector<Payload>> back =
          DecodePayloadChain(FirstPayloadType(*chain), *again);
      Require(back.ok() && *back == *chain);
    } else {
      Require(KnownRefusal(chain.status()));
    }
  }
  return 0;
}
