#include "ike/crypto/hmac.h"

#include <openssl/crypto.h>

#include <cstring>

namespace portcullis::ike {

namespace {

constexpr size_t kMaxBlock = 128;  // SHA-384/512's block; SHA-1/256's is 64
constexpr size_t kMaxHash = 64;

const char* DigestName(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::kSha1:
      return "SHA1";
    case HashAlgorithm::kSha256:
      return "SHA2-256";
    case HashAlgorithm::kSha384:
      return "SHA2-384";
    case HashAlgorithm::kSha512:
      return "SHA2-512";
  }
  return "";
}

// Fetching a digest searches the provider tables (and an EVP_sha256()-style legacy handle is
// fetched again on every init): do it once per algorithm. Fetched EVP_MDs are reference counted
// and safe to share between threads (the key pool's workers compute SKEYSEED and SK_* too).
const EVP_MD* Digest(HashAlgorithm h) {
  static_assert(static_cast<int>(HashAlgorithm::kSha512) == 3, "one digest per HashAlgorithm");
  static EVP_MD* const digests[4] = {
      EVP_MD_fetch(nullptr, DigestName(HashAlgorithm::kSha1), nullptr),
      EVP_MD_fetch(nullptr, DigestName(HashAlgorithm::kSha256), nullptr),
      EVP_MD_fetch(nullptr, DigestName(HashAlgorithm::kSha384), nullptr),
      EVP_MD_fetch(nullptr, DigestName(HashAlgorithm::kSha512), nullptr),
  };
  return digests[static_cast<int>(h)];
}

size_t BlockSize(HashAlgorithm h) {
  return h == HashAlgorithm::kSha384 || h == HashAlgorithm::kSha512 ? 128 : 64;
}

// Per-thread scratch contexts for HmacKey::MacInto's copies of a key's states: no EVP_MD_CTX
// is made per MAC (OpenSSL 3.0's copy still allocates the provider's state inside, and the
// reset frees it). MacInto resets them before it returns: no state of a key stays here.
struct Scratch {
  EVP_MD_CTX* inner = EVP_MD_CTX_new();
  EVP_MD_CTX* outer = EVP_MD_CTX_new();
  ~Scratch() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
  }
};

}  // namespace

size_t HashSize(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::kSha1:
      return 20;
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha384:
      return 48;
    case HashAlgorithm::kSha512:
      return 64;
  }
  return 0;
}

absl::StatusOr<HmacKey> HmacKey::Create(HashAlgorithm h, absl::Span<const uint8_t> key) {
  const EVP_MD* md = Digest(h);
  if (md == nullptr) return absl::InternalError("HMAC: digest not available in OpenSSL");
  MdCtxPtr inner(EVP_MD_CTX_new()), outer(EVP_MD_CTX_new());
  if (inner == nullptr || outer == nullptr) return absl::InternalError("HMAC: out of memory");
  size_t block = BlockSize(h);
  // RFC 2104: a key longer than the block is hashed first; shorter ones are zero-padded.
  uint8_t k[kMaxBlock] = {};
  bool ok = true;
  if (key.size() > block) {
    unsigned int len = 0;
    ok = EVP_DigestInit_ex2(inner.get(), md, nullptr) == 1 &&
         EVP_DigestUpdate(inner.get(), key.data(), key.size()) == 1 &&
         EVP_DigestFinal_ex(inner.get(), k, &len) == 1 && len == HashSize(h);
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  uint8_t pad[kMaxBlock];
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x36;
  ok = ok && EVP_DigestInit_ex2(inner.get(), md, nullptr) == 1 &&
       EVP_DigestUpdate(inner.get(), pad, block) == 1;
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x5c;
  ok = ok && EVP_DigestInit_ex2(outer.get(), md, nullptr) == 1 &&
       EVP_DigestUpdate(outer.get(), pad, block) == 1;
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  if (!ok) return absl::InternalError("HMAC key setup failed");
  return HmacKey(h, std::move(inner), std::move(outer));
}

absl::Status HmacKey::Finish(EVP_MD_CTX* inner, EVP_MD_CTX* outer,
                             absl::Span<const absl::Span<const uint8_t>> data,
                             absl::Span<uint8_t> out) {
  uint8_t inner_hash[kMaxHash];
  unsigned int inner_len = 0, outer_len = 0;
  bool ok = true;
  for (absl::Span<const uint8_t> part : data) {
    if (!part.empty()) ok = ok && EVP_DigestUpdate(inner, part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(inner, inner_hash, &inner_len) == 1 && inner_len == out.size() &&
       EVP_DigestUpdate(outer, inner_hash, inner_len) == 1 &&
       EVP_DigestFinal_ex(outer, out.data(), &outer_len) == 1 && outer_len == out.size();
  OPENSSL_cleanse(inner_hash, sizeof inner_hash);
  if (!ok) return absl::InternalError("HMAC failed");
  return absl::OkStatus();
}

absl::Status HmacKey::MacInto(absl::Span<const absl::Span<const uint8_t>> data,
                              absl::Span<uint8_t> out) const {
  if (out.size() != size()) return absl::InternalError("HMAC output of the wrong size");
  thread_local Scratch scratch;
  if (scratch.inner == nullptr || scratch.outer == nullptr) {
    return absl::InternalError("HMAC: out of memory");
  }
  absl::Status s = absl::InternalError("HMAC state copy failed");
  if (EVP_MD_CTX_copy_ex(scratch.inner, inner_.get()) == 1 &&
      EVP_MD_CTX_copy_ex(scratch.outer, outer_.get()) == 1) {
    s = Finish(scratch.inner, scratch.outer, data, out);
  }
  // The copies are keyed states: wiped and freed now (the provider clears its context).
  EVP_MD_CTX_reset(scratch.inner);
  EVP_MD_CTX_reset(scratch.outer);
  return s;
}

absl::StatusOr<SecretBytes> HmacKey::Mac(absl::Span<const absl::Span<const uint8_t>> data) const {
  SecretBytes out(size());
  absl::Status s = MacInto(data, out.mutable_span());
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<SecretBytes> Hmac(HashAlgorithm h, absl::Span<const uint8_t> key,
                                 absl::Span<const absl::Span<const uint8_t>> data) {
  absl::StatusOr<HmacKey> k = HmacKey::Create(h, key);
  if (!k.ok()) return k.status();
  SecretBytes out(HashSize(h));
  // Used once: finish on the key's own states, no copies.
  absl::Status s = HmacKey::Finish(k->inner_.get(), k->outer_.get(), data, out.mutable_span());
  if (!s.ok()) return s;
  return out;
}

}  // namespace portcullis::ike
