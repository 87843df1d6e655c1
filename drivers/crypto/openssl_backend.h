// ESP crypto through OpenSSL EVP: the same interface as IpsecMbBackend, about five times slower.
// It is the independent reference the tests compare IPsec-MB against, and a fallback.
#pragma once

#include <openssl/evp.h>

#include <cstdint>

#include "absl/status/status.h"
#include "drivers/crypto/algorithms.h"
#include "drivers/crypto/hmac_job.h"
#include "drivers/crypto/key_spec.h"

namespace portcullis::drivers::crypto {

class OpenSslBackend {
 public:
  static constexpr uint8_t kId = 2;

  struct Keys {
    // Initialised with the cipher and key once per SA; CBC needs one key schedule per direction.
    EVP_CIPHER_CTX* ctx;
    EVP_CIPHER_CTX* dec_ctx;
    const EVP_MD* md;
    uint8_t auth_key[64];
    uint8_t auth_key_len;
    uint8_t tag_len;
    uint8_t iv_key[16];  // CBC IVs: AES-ECB(iv_key, seq || spi)
    EVP_CIPHER_CTX* iv_ctx;
  };

  static absl::Status InitKeys(void* storage, const KeySpec& spec);
  static void DestroyKeys(void* storage);

  void GcmEncrypt(const Keys& k, bool aes256, uint8_t* data, uint64_t len, const uint8_t* iv,
                  const uint8_t* aad, uint64_t aad_len, uint8_t* tag);
  bool GcmDecrypt(const Keys& k, bool aes256, uint8_t* data, uint64_t len, const uint8_t* iv,
                  const uint8_t* aad, uint64_t aad_len, const uint8_t* expected_tag);
  void HmacBurst(const Keys& k, Cipher cipher, bool encrypt, HmacJob* jobs, uint16_t n);
  void CbcIv(const Keys& k, uint32_t spi, uint64_t seq, uint8_t* iv);
};

}  // namespace portcullis::drivers::crypto
