// Constant-time tag comparison: an ICV check must not leak how many bytes matched.
#pragma once

#include <cstddef>
#include <cstdint>

namespace portcullis::crypto {

inline bool TagsEqual(const uint8_t* a, const uint8_t* b, size_t n) {
  uint8_t diff = 0;
  for (size_t i = 0; i < n; ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace portcullis::crypto
