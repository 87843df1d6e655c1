// IPv4/IPv6 addresses and prefixes as the configuration language writes them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace portcullis::config {

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};

  static std::optional<IpAddress> Parse(absl::string_view text);
  std::string ToString() const;
  bool is_v4() const;
  // 0.0.0.0 or :: (Vyatta's `peer 0.0.0.0` / `peer 0:0:0:0:0:0:0:0` mean any peer).
  bool is_unspecified() const;
  bool is_v6() const;
  bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
  IpAddress address;
  int length = 0;

  // "10.1.0.0/24". With allow_host_bits=false the bits past `length` must be zero (a route or
  // selector); interface addresses ("172.16.0.5/30") allow them.
  static std::optional<IpPrefix> Parse(absl::string_view text);
  bool HasHostBits() const;
  IpPrefix Network() const;  // host bits cleared
  bool Contains(const IpAddress& a) const;
  bool Overlaps(const IpPrefix& other) const;
  std::string ToString() const;
  bool operator==(const IpPrefix&) const = default;
};

}  // namespace portcullis::config
