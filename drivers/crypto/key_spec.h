// What a crypto backend needs to set up one SA's keys (Backend::InitKeys): the algorithms and
// their keys, nothing of the protocol around them. The GCM salt is not here: it is part of each
// packet's nonce, which the caller builds.
#pragma once

#include <string.h>

#include <cstdint>

#include "drivers/crypto/algorithms.h"

namespace portcullis::drivers::crypto {

struct KeySpec {
  Cipher cipher = Cipher::kNull;
  Auth auth = Auth::kNone;
  uint8_t enc_key[32] = {};
  uint8_t enc_key_len = 0;
  uint8_t auth_key[64] = {};  // HMAC keys up to the hash's block size (RFC 2104)
  uint8_t auth_key_len = 0;

  KeySpec() = default;
  KeySpec(const KeySpec&) = default;
  KeySpec& operator=(const KeySpec&) = default;
  ~KeySpec() { Wipe(); }
  // explicit_bzero survives dead-store elimination: keys must not linger in freed memory or on
  // the stack of whoever built the spec.
  void Wipe() {
    explicit_bzero(enc_key, sizeof enc_key);
    explicit_bzero(auth_key, sizeof auth_key);
  }
};

}  // namespace portcullis::drivers::crypto
