// The algorithms the crypto backends implement, and the sizes that follow from them. They are
// the backends' own (their per-packet calls take a Cipher), so that nothing here depends on a
// caller; the ESP engine uses these enums as its own (dataplane/esp/esp_types.h).
#pragma once

#include <cstdint>

namespace portcullis::drivers::crypto {

enum class Cipher : uint8_t { kNull = 0, kAesGcm128, kAesGcm256, kAesCbc128, kAesCbc256 };
enum class Auth : uint8_t {
  kNone = 0,
  kHmacSha1_96,
  kHmacSha256_128,
  kHmacSha384_192,
  kHmacSha512_256
};

constexpr bool IsAead(Cipher c) {
  return c == Cipher::kAesGcm128 || c == Cipher::kAesGcm256;
}
constexpr bool IsCbc(Cipher c) {
  return c == Cipher::kAesCbc128 || c == Cipher::kAesCbc256;
}

constexpr int CipherKeyLen(Cipher c) {
  switch (c) {
    case Cipher::kAesGcm128:
    case Cipher::kAesCbc128:
      return 16;
    case Cipher::kAesGcm256:
    case Cipher::kAesCbc256:
      return 32;
    case Cipher::kNull:
      return 0;
  }
  return 0;
}

constexpr int AuthKeyLen(Auth a) {
  switch (a) {
    case Auth::kHmacSha1_96:
      return 20;
    case Auth::kHmacSha256_128:
      return 32;
    case Auth::kHmacSha384_192:
      return 48;
    case Auth::kHmacSha512_256:
      return 64;
    case Auth::kNone:
      return 0;
  }
  return 0;
}

// The truncated HMAC (RFC 2404, RFC 4868).
constexpr int AuthTagLen(Auth a) {
  switch (a) {
    case Auth::kHmacSha1_96:
      return 12;
    case Auth::kHmacSha256_128:
      return 16;
    case Auth::kHmacSha384_192:
      return 24;
    case Auth::kHmacSha512_256:
      return 32;
    case Auth::kNone:
      return 0;
  }
  return 0;
}

// The tag a cipher/auth pair produces: GCM's own 16 bytes, else the HMAC's.
constexpr int IcvLen(Cipher c, Auth a) {
  return IsAead(c) ? 16 : AuthTagLen(a);
}

}  // namespace portcullis::drivers::crypto
