// One packet's work for a cipher+HMAC backend burst (AES-CBC or NULL encryption with HMAC).
#pragma once

#include <cstdint>

namespace portcullis::drivers::crypto {

struct HmacJob {
  uint8_t* cipher_start;  // ciphered in place
  uint32_t cipher_len;    // multiple of the cipher block (0 for NULL encryption)
  const uint8_t* iv;      // 16 bytes for CBC
  const uint8_t* hash_start;
  uint32_t hash_len;  // the ICV covers [hash_start, hash_start + hash_len)
  uint8_t* tag_out;   // the truncated HMAC is written here
  bool ok;            // set by the backend
};

}  // namespace portcullis::drivers::crypto
