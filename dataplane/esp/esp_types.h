// Algorithms and modes of an ESP SA, and the per-algorithm sizes the packet path needs.
#pragma once

#include <cstdint>

#include "drivers/crypto/algorithms.h"

namespace portcullis::dp::esp {

// The algorithms are the crypto backends' (their per-packet calls take a Cipher); ESP uses them
// as they are, so an SA's cipher goes to the backend without a conversion.
using drivers::crypto::Auth;
using drivers::crypto::AuthKeyLen;
using drivers::crypto::AuthTagLen;
using drivers::crypto::Cipher;
using drivers::crypto::CipherKeyLen;
using drivers::crypto::IcvLen;
using drivers::crypto::IsAead;
using drivers::crypto::IsCbc;

enum class Direction : uint8_t { kInbound = 0, kOutbound = 1 };
enum class Mode : uint8_t { kTunnel = 0, kTransport = 1 };
enum class DfMode : uint8_t { kCopy = 0, kSet = 1, kClear = 2 };

// Explicit IV carried in each packet (RFC 4106 §3.1: 8 bytes; RFC 3602: one AES block).
constexpr int IvLen(Cipher c) {
  return IsAead(c) ? 8 : IsCbc(c) ? 16 : 0;
}

// Padding aligns the ciphertext to this (RFC 4303 §2.4: at least 4 bytes).
constexpr int PadAlign(Cipher c) {
  return IsCbc(c) ? 16 : 4;
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
