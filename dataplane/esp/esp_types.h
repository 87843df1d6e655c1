// Algorithms and modes of an ESP SA, and the per-algorithm sizes the packet path needs.
#pragma once

#include <cstdint>

namespace portcullis::dp::esp {

enum class Cipher : uint8_t { kNull = 0, kAesGcm128, kAesGcm256, kAesCbc128, kAesCbc256 };
enum class Auth : uint8_t {
  kNone = 0,
  kHmacSha1_96,
  kHmacSha256_128,
  kHmacSha384_192,
  kHmacSha512_256
};
enum class Direction : uint8_t { kInbound = 0, kOutbound = 1 };
enum class Mode : uint8_t { kTunnel = 0, kTransport = 1 };
enum class DfMode : uint8_t { kCopy = 0, kSet = 1, kClear = 2 };

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

// Explicit IV carried in each packet (RFC 4106 §3.1: 8 bytes; RFC 3602: one AES block).
constexpr int IvLen(Cipher c) {
  return IsAead(c) ? 8 : IsCbc(c) ? 16 : 0;
}

// Padding aligns the ciphertext to this (RFC 4303 §2.4: at least 4 bytes).
constexpr int PadAlign(Cipher c) {
  return IsCbc(c) ? 16 : 4;
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

constexpr int IcvLen(Cipher c, Auth a) {
  return IsAead(c) ? 16 : AuthTagLen(a);
}

constexpr uint32_t kMaxReplayWindow = 4096;
constexpr uint16_t kMaxBurst = 64;

constexpr uint8_t kProtoEsp = 50;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kNextHeaderIpv4 = 4;
constexpr uint8_t kNextHeaderIpv6 = 41;
constexpr uint8_t kNextHeaderDummy = 59;  // RFC 4303 §2.6: a TFC dummy packet

const char* CipherName(Cipher c);
const char* AuthName(Auth a);

}  // namespace portcullis::dp::esp
