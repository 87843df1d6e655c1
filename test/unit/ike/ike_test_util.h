// Helpers for the IKE unit tests: hex in and out, and bytes from text.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ike/encoding/payloads.h"  // Bytes

namespace portcullis::ike::testing {

// Hex with optional spaces/newlines, as test vectors are printed in the RFCs.
inline std::vector<uint8_t> FromHex(absl::string_view hex) {
  std::string clean;
  for (char c : hex) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean.push_back(c);
  }
  std::string raw = absl::HexStringToBytes(clean);
  return std::vector<uint8_t>(raw.begin(), raw.end());
}

inline std::string ToHex(absl::Span<const uint8_t> b) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

inline std::vector<uint8_t> Text(absl::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

inline std::vector<uint8_t> Repeat(uint8_t byte, size_t n) {
  return std::vector<uint8_t>(n, byte);
}

}  // namespace portcullis::ike::testing
