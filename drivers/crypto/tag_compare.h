// Constant-time tag comparison: an ICV check must not leak how many bytes matched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace portcullis::drivers::crypto {

inline bool TagsEqual(const uint8_t* a, const uint8_t* b, size_t n) {
  if (n == 16) {
    // The GCM tag, on every packet: two words, no early exit either.
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&a1, a + 8, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&b1, b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  uint8_t diff = 0;
  for (size_t i = 0; i < n; ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace portcullis::drivers::crypto
