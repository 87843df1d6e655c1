#include "drivers/crypto/openssl_backend.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <new>

namespace portcullis::drivers::crypto {

namespace {

const EVP_CIPHER* CipherFor(Cipher c) {
  switch (c) {
    case Cipher::kAesGcm128:
      return EVP_aes_128_gcm();
    case Cipher::kAesGcm256:
      return EVP_aes_256_gcm();
    case Cipher::kAesCbc128:
      return EVP_aes_128_cbc();
    case Cipher::kAesCbc256:
      return EVP_aes_256_cbc();
    case Cipher::kNull:
      break;
  }
  return nullptr;
}

const EVP_MD* MdFor(Auth a) {
  switch (a) {
    case Auth::kHmacSha1_96:
      return EVP_sha1();
    case Auth::kHmacSha256_128:
      return EVP_sha256();
    case Auth::kHmacSha384_192:
      return EVP_sha384();
    case Auth::kHmacSha512_256:
      return EVP_sha512();
    case Auth::kNone:
      break;
  }
  return nullptr;
}

}  // namespace

absl::Status OpenSslBackend::InitKeys(void* storage, const KeySpec& spec) {
  Keys* k = new (storage) Keys;
  std::memset(k, 0, sizeof *k);
  if (const EVP_CIPHER* cipher = CipherFor(spec.cipher)) {
    k->ctx = EVP_CIPHER_CTX_new();
    k->dec_ctx = EVP_CIPHER_CTX_new();
    if (k->ctx == nullptr || k->dec_ctx == nullptr ||
        EVP_CipherInit_ex(k->ctx, cipher, nullptr, spec.enc_key, nullptr, 1) != 1 ||
        EVP_CipherInit_ex(k->dec_ctx, cipher, nullptr, spec.enc_key, nullptr, 0) != 1)
      return absl::InternalError("OpenSSL: cipher init failed");
    EVP_CIPHER_CTX_set_padding(k->ctx, 0);
    EVP_CIPHER_CTX_set_padding(k->dec_ctx, 0);
  }
  if (IsCbc(spec.cipher)) {
    if (RAND_bytes(k->iv_key, sizeof k->iv_key) != 1) return absl::InternalError("no randomness");
    k->iv_ctx = EVP_CIPHER_CTX_new();
    if (k->iv_ctx == nullptr ||
        EVP_EncryptInit_ex(k->iv_ctx, EVP_aes_128_ecb(), nullptr, k->iv_key, nullptr) != 1)
      return absl::InternalError("OpenSSL: IV cipher init failed");
    EVP_CIPHER_CTX_set_padding(k->iv_ctx, 0);
  }
  k->md = MdFor(spec.auth);
  std::memcpy(k->auth_key, spec.auth_key, spec.auth_key_len);
  k->auth_key_len = spec.auth_key_len;
  k->tag_len = static_cast<uint8_t>(IcvLen(spec.cipher, spec.auth));
  return absl::OkStatus();
}

void OpenSslBackend::DestroyKeys(void* storage) {
  Keys* k = static_cast<Keys*>(storage);
  EVP_CIPHER_CTX_free(k->ctx);  // wipes the expanded key
  EVP_CIPHER_CTX_free(k->dec_ctx);
  EVP_CIPHER_CTX_free(k->iv_ctx);
  explicit_bzero(k, sizeof *k);
}

void OpenSslBackend::GcmEncrypt(const Keys& k, bool, uint8_t* data, uint64_t len, const uint8_t* iv,
                                const uint8_t* aad, uint64_t aad_len, uint8_t* tag) {
  int out = 0;
  EVP_EncryptInit_ex(k.ctx, nullptr, nullptr, nullptr, iv);
  EVP_EncryptUpdate(k.ctx, nullptr, &out, aad, static_cast<int>(aad_len));
  EVP_EncryptUpdate(k.ctx, data, &out, data, static_cast<int>(len));
  EVP_EncryptFinal_ex(k.ctx, data + out, &out);
  EVP_CIPHER_CTX_ctrl(k.ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
}

bool OpenSslBackend::GcmDecrypt(const Keys& k, bool, uint8_t* data, uint64_t len, const uint8_t* iv,
                                const uint8_t* aad, uint64_t aad_len, const uint8_t* expected_tag) {
  int out = 0;
  EVP_DecryptInit_ex(k.dec_ctx, nullptr, nullptr, nullptr, iv);
  EVP_DecryptUpdate(k.dec_ctx, nullptr, &out, aad, static_cast<int>(aad_len));
  EVP_DecryptUpdate(k.dec_ctx, data, &out, data, static_cast<int>(len));
  EVP_CIPHER_CTX_ctrl(k.dec_ctx, EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(expected_tag));
  return EVP_DecryptFinal_ex(k.dec_ctx, data + out, &out) == 1;
}

void OpenSslBackend::HmacBurst(const Keys& k, Cipher cipher, bool encrypt, HmacJob* jobs,
                               uint16_t n) {
  const bool cbc = IsCbc(cipher);
  for (uint16_t i = 0; i < n; ++i) {
    HmacJob& j = jobs[i];
    j.ok = true;
    auto do_cipher = [&] {
      if (!cbc) return;
      int out = 0;
      EVP_CIPHER_CTX* ctx = encrypt ? k.ctx : k.dec_ctx;
      EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, j.iv, -1);
      if (EVP_CipherUpdate(ctx, j.cipher_start, &out, j.cipher_start,
                           static_cast<int>(j.cipher_len)) != 1)
        j.ok = false;
    };
    auto do_hmac = [&] {
      uint8_t md[EVP_MAX_MD_SIZE];
      unsigned int md_len = 0;
      if (HMAC(k.md, k.auth_key, k.auth_key_len, j.hash_start, j.hash_len, md, &md_len) == nullptr)
        j.ok = false;
      std::memcpy(j.tag_out, md, k.tag_len);
    };
    if (encrypt) {
      do_cipher();
      do_hmac();
    } else {
      do_hmac();
      do_cipher();
    }
  }
}

void OpenSslBackend::CbcIv(const Keys& k, uint32_t spi, uint64_t seq, uint8_t* iv) {
  uint8_t in[16] = {};
  std::memcpy(in, &seq, 8);
  std::memcpy(in + 8, &spi, 4);
  int out = 0;
  EVP_EncryptUpdate(k.iv_ctx, iv, &out, in, 16);
}

}  // namespace portcullis::drivers::crypto
