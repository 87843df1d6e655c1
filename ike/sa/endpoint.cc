#include "ike/sa/endpoint.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace portcullis::ike {

std::optional<Address> Address::Parse(absl::string_view text) {
  std::string s(text);
  Address a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = 4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = 6;
    return a;
  }
  return std::nullopt;
}

std::optional<Address> Address::FromBytes(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != 4 && bytes.size() != 16) return std::nullopt;
  Address a;
  a.family = bytes.size() == 4 ? 4 : 6;
  std::memcpy(a.bytes.data(), bytes.data(), bytes.size());
  return a;
}

bool Address::is_unspecified() const {
  auto s = span();
  return std::all_of(s.begin(), s.end(), [](uint8_t b) { return b == 0; });
}

std::string Address::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string Endpoint::ToString() const {
  return absl::StrCat(address.ToString(), "[", port, "]");
}

}  // namespace portcullis::ike
