#include "ike/crypto/sk_cipher.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ike/crypto/hmac.h"
#include "ike/crypto/openssl_ptr.h"
#include "ike/crypto/random.h"
#include "ike/encoding/ike_errors.h"

namespace portcullis::ike {

namespace {

constexpr size_t kAesBlock = 16;
constexpr size_t kGcmIvSize = 8;
constexpr size_t kGcmTagSize = 16;

// EVP_aes_128_cbc() and the like are legacy handles that EVP_CipherInit_ex2 fetches from the
// provider again, by name, on every init; fetched once here instead (reference counted, shared
// between threads).
EVP_CIPHER* FetchCipher(const char* name) {
  return EVP_CIPHER_fetch(nullptr, name, nullptr);
}

const EVP_CIPHER* BySize(size_t key_size, EVP_CIPHER* const (&by_size)[3]) {
  switch (key_size) {
    case 16:
      return by_size[0];
    case 24:
      return by_size[1];
    case 32:
      return by_size[2];
    default:
      return nullptr;
  }
}

const EVP_CIPHER* CbcCipher(size_t key_size) {
  static EVP_CIPHER* const kCbc[3] = {FetchCipher("AES-128-CBC"), FetchCipher("AES-192-CBC"),
                                      FetchCipher("AES-256-CBC")};
  return BySize(key_size, kCbc);
}

const EVP_CIPHER* GcmCipher(size_t key_size) {
  static EVP_CIPHER* const kGcm[3] = {FetchCipher("AES-128-GCM"), FetchCipher("AES-192-GCM"),
                                      FetchCipher("AES-256-GCM")};
  return BySize(key_size, kGcm);
}

std::optional<HashAlgorithm> IntegHash(IntegId integ) {
  switch (integ) {
    case IntegId::kHmacSha1_96:
      return HashAlgorithm::kSha1;
    case IntegId::kHmacSha2_256_128:
      return HashAlgorithm::kSha256;
    case IntegId::kHmacSha2_384_192:
      return HashAlgorithm::kSha384;
    case IntegId::kHmacSha2_512_256:
      return HashAlgorithm::kSha512;
    default:
      return std::nullopt;
  }
}

// Runs one CBC pass (no padding: IKE pads itself) over `in` into `out`, same length.
absl::Status CbcCrypt(bool encrypt, const SecretBytes& key, const uint8_t* iv,
                      absl::Span<const uint8_t> in, uint8_t* out) {
  ossl::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len1 = 0, len2 = 0;
  if (ctx == nullptr ||
      EVP_CipherInit_ex2(ctx.get(), CbcCipher(key.size()), key.data(), iv, encrypt ? 1 : 0,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out, &len1, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out + len1, &len2) != 1 ||
      static_cast<size_t>(len1 + len2) != in.size()) {
    return absl::InternalError("AES-CBC failed");
  }
  return absl::OkStatus();
}

// AES-GCM over `in` into `out` with `aad`. Encrypting writes the tag to `tag`; decrypting
// checks `tag` and reports a mismatch as an integrity failure.
absl::Status GcmCrypt(bool encrypt, const SecretBytes& key, const SecretBytes& salt,
                      const uint8_t* iv, absl::Span<const uint8_t> aad,
                      absl::Span<const uint8_t> in, uint8_t* out, uint8_t* tag) {
  uint8_t nonce[12];
  std::memcpy(nonce, salt.data(), salt.size());
  std::memcpy(nonce + salt.size(), iv, kGcmIvSize);
  ossl::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr || EVP_CipherInit_ex2(ctx.get(), GcmCipher(key.size()), key.data(), nonce,
                                           encrypt ? 1 : 0, nullptr) != 1) {
    return absl::InternalError("AES-GCM init failed");
  }
  if (EVP_CipherUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_CipherUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) != 1) {
    return absl::InternalError("AES-GCM update failed");
  }
  if (!encrypt) {
    OSSL_PARAM set[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kGcmTagSize),
        OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_set_params(ctx.get(), set) != 1) {
      return absl::InternalError("AES-GCM tag setup failed");
    }
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out + len, &final_len) != 1) {
    if (!encrypt) return IntegrityCheckError("SK payload: AES-GCM tag mismatch");
    return absl::InternalError("AES-GCM final failed");
  }
  if (encrypt) {
    OSSL_PARAM get[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kGcmTagSize),
        OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_get_params(ctx.get(), get) != 1) {
      return absl::InternalError("AES-GCM tag retrieval failed");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SkCipher> SkCipher::Create(const IkeSaCryptoSuite& suite,
                                          absl::Span<const uint8_t> sk_e,
                                          absl::Span<const uint8_t> sk_a) {
  absl::Status valid = ValidateIkeSuite(suite);
  if (!valid.ok()) return valid;
  size_t encr_size = EncrKeyMaterialSize(suite.encr, suite.encr_key_bits);
  if (sk_e.size() != encr_size || sk_a.size() != IntegKeySize(suite.integ)) {
    return absl::InvalidArgumentError(absl::StrCat("SK keys of ", sk_e.size(), " and ", sk_a.size(),
                                                   " bytes, expected ", encr_size, " and ",
                                                   IntegKeySize(suite.integ)));
  }
  SkCipher c;
  c.encr_ = suite.encr;
  c.integ_ = suite.integ;
  size_t key_size = suite.encr_key_bits / 8;
  c.key_ = SecretBytes(sk_e.subspan(0, key_size));
  c.salt_ = SecretBytes(sk_e.subspan(key_size));
  if (IsAead(suite.encr)) {
    absl::Status s =
        FillRandom(absl::MakeSpan(reinterpret_cast<uint8_t*>(&c.iv_prefix_), sizeof c.iv_prefix_));
    if (!s.ok()) return s;
  } else {
    absl::StatusOr<HmacKey> mac = HmacKey::Create(*IntegHash(suite.integ), sk_a);
    if (!mac.ok()) return mac.status();
    c.integ_mac_ = std::move(*mac);
  }
  return c;
}

size_t SkCipher::IvSize() const {
  return IsAead(encr_) ? kGcmIvSize : kAesBlock;
}

size_t SkCipher::IcvSize() const {
  return IsAead(encr_) ? kGcmTagSize : IntegIcvSize(integ_);
}

size_t SkCipher::PaddedSize(size_t inner_size) const {
  // inner | padding | pad length: CBC needs whole blocks; GCM needs no padding at all.
  if (IsAead(encr_)) return inner_size + 1;
  return (inner_size + 1 + kAesBlock - 1) / kAesBlock * kAesBlock;
}

size_t SkCipher::Overhead(size_t inner_size) const {
  return kGenericPayloadHeaderSize + IvSize() + PaddedSize(inner_size) - inner_size + IcvSize();
}

absl::StatusOr<Bytes> SkCipher::Seal(const Message& outer, PayloadType first_inner,
                                     absl::Span<const uint8_t> inner) {
  if (outer.sk.has_value()) return absl::InvalidArgumentError("message already has an SK body");
  size_t padded = PaddedSize(inner.size());
  Bytes plaintext(padded, 0);
  // An empty chain (a liveness check) may come with a null data pointer: no memcpy then.
  if (!inner.empty()) std::memcpy(plaintext.data(), inner.data(), inner.size());
  plaintext.back() = static_cast<uint8_t>(padded - inner.size() - 1);

  // Encode with a body of the right size first: the header's Length and the SK payload's
  // length are part of what the ICV / AAD protect.
  Message m = outer;
  m.sk = SkPayload{first_inner, Bytes(IvSize() + padded + IcvSize(), 0)};
  absl::StatusOr<Bytes> wire = EncodeMessage(m);
  if (!wire.ok()) return wire.status();
  uint8_t* body = wire->data() + wire->size() - m.sk->body.size();
  uint8_t* iv = body;
  uint8_t* ciphertext = body + IvSize();
  uint8_t* icv = ciphertext + padded;

  absl::Status s;
  if (IsAead(encr_)) {
    if (iv_counter_ == std::numeric_limits<uint32_t>::max()) {
      return absl::ResourceExhaustedError("AES-GCM IVs exhausted for this key; rekey");
    }
    uint32_t counter = iv_counter_++;
    for (int i = 0; i < 4; ++i) {
      iv[i] = static_cast<uint8_t>(iv_prefix_ >> (24 - 8 * i));
      iv[4 + i] = static_cast<uint8_t>(counter >> (24 - 8 * i));
    }
    size_t aad_size = static_cast<size_t>(body - wire->data());
    s = GcmCrypt(true, key_, salt_, iv, absl::MakeConstSpan(wire->data(), aad_size), plaintext,
                 ciphertext, icv);
  } else {
    // CBC needs an unpredictable IV, not just a unique one.
    s = FillRandom(absl::MakeSpan(iv, kAesBlock));
    if (s.ok()) s = CbcCrypt(true, key_, iv, plaintext, ciphertext);
    if (s.ok()) {
      uint8_t mac[64];
      s = integ_mac_->MacInto({absl::MakeConstSpan(wire->data(), wire->size() - IcvSize())},
                              absl::MakeSpan(mac, integ_mac_->size()));
      if (s.ok()) std::memcpy(icv, mac, IcvSize());
    }
  }
  OPENSSL_cleanse(plaintext.data(), plaintext.size());
  if (!s.ok()) return s;
  return wire;
}

absl::StatusOr<SkPlaintext> SkCipher::Open(absl::Span<const uint8_t> wire) const {
  absl::StatusOr<Message> outer = DecodeMessage(wire);
  if (!outer.ok()) return outer.status();
  if (!outer->sk.has_value()) return InvalidSyntaxError("no SK payload");
  const Bytes& body = outer->sk->body;
  size_t iv_size = IvSize(), icv_size = IcvSize();
  size_t min_cipher = IsAead(encr_) ? 1 : kAesBlock;
  if (body.size() < iv_size + min_cipher + icv_size) {
    return InvalidSyntaxError(
        absl::StrCat("SK payload body of ", body.size(), " bytes is too short"));
  }
  size_t cipher_size = body.size() - iv_size - icv_size;
  if (!IsAead(encr_) && cipher_size % kAesBlock != 0) {
    return InvalidSyntaxError(
        absl::StrCat("SK ciphertext of ", cipher_size, " bytes is not whole AES blocks"));
  }
  size_t body_offset = wire.size() - body.size();
  const uint8_t* iv = body.data();
  absl::Span<const uint8_t> ciphertext(body.data() + iv_size, cipher_size);
  const uint8_t* icv = body.data() + iv_size + cipher_size;

  Bytes plaintext(cipher_size);
  if (IsAead(encr_)) {
    Bytes tag(icv, icv + icv_size);
    absl::Status s = GcmCrypt(false, key_, salt_, iv, wire.subspan(0, body_offset), ciphertext,
                              plaintext.data(), tag.data());
    if (!s.ok()) return s;
  } else {
    // Integrity first: nothing is decrypted, let alone parsed, before the ICV verifies.
    uint8_t mac[64];
    absl::Status s = integ_mac_->MacInto({wire.subspan(0, wire.size() - icv_size)},
                                         absl::MakeSpan(mac, integ_mac_->size()));
    if (!s.ok()) return s;
    if (CRYPTO_memcmp(mac, icv, icv_size) != 0) {
      return IntegrityCheckError("SK payload: ICV mismatch");
    }
    s = CbcCrypt(false, key_, iv, ciphertext, plaintext.data());
    if (!s.ok()) return s;
  }
  size_t pad_length = plaintext.back();
  if (pad_length + 1 > plaintext.size()) {
    return AfterIntegrityCheck(InvalidSyntaxError(absl::StrCat(
        "SK pad length ", pad_length, " exceeds the ", plaintext.size(), " decrypted bytes")));
  }
  plaintext.resize(plaintext.size() - pad_length - 1);
  PayloadType first_inner = outer->sk->first_inner;
  return SkPlaintext{std::move(*outer), first_inner, std::move(plaintext)};
}

absl::StatusOr<SkCipherPair> MakeSkCiphers(const IkeSaCryptoSuite& suite, const IkeSaKeys& keys,
                                           Role self) {
  bool initiator = self == Role::kInitiator;
  absl::StatusOr<SkCipher> out =
      SkCipher::Create(suite, initiator ? keys.sk_ei.span() : keys.sk_er.span(),
                       initiator ? keys.sk_ai.span() : keys.sk_ar.span());
  if (!out.ok()) return out.status();
  absl::StatusOr<SkCipher> in =
      SkCipher::Create(suite, initiator ? keys.sk_er.span() : keys.sk_ei.span(),
                       initiator ? keys.sk_ar.span() : keys.sk_ai.span());
  if (!in.ok()) return in.status();
  return SkCipherPair{std::move(*out), std::move(*in)};
}

absl::StatusOr<Bytes> SealMessage(SkCipher& cipher, const IkeHeader& header,
                                  absl::Span<const Payload> inner) {
  absl::StatusOr<Bytes> chain = EncodePayloadChain(inner);
  if (!chain.ok()) return chain.status();
  Message outer;
  outer.header = header;
  return cipher.Seal(outer, FirstPayloadType(inner), *chain);
}

absl::StatusOr<OpenedMessage> OpenMessage(const SkCipher& cipher, absl::Span<const uint8_t> wire) {
  absl::StatusOr<SkPlaintext> plain = cipher.Open(wire);
  if (!plain.ok()) return plain.status();
  absl::StatusOr<std::vector<Payload>> inner = DecodePayloadChain(plain->first_inner, plain->inner);
  // Open() verified the ICV/tag: whatever is wrong inside was sent by the peer.
  if (!inner.ok()) return AfterIntegrityCheck(WithContext(inner.status(), "inside SK"));
  return OpenedMessage{std::move(plain->outer), std::move(*inner)};
}

}  // namespace portcullis::ike
