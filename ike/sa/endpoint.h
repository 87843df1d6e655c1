// Addresses, endpoints and datagrams as the IKE engine sees them, independent of how they reach
// the wire (kernel UDP sockets or the dataplane channel). An endpoint on port 4500 exchanges IKE
// behind the 4-byte non-ESP marker (RFC 3948); the transport adds and strips the marker, and a
// Datagram says whether it was or must be there.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace portcullis::ike {

inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kNatTPort = 4500;

struct Address {
  uint8_t family = 4;  // 4 or 6
  std::array<uint8_t, 16> bytes{};

  static std::optional<Address> Parse(absl::string_view text);
  // 4 or 16 bytes; anything else gives nullopt.
  static std::optional<Address> FromBytes(absl::Span<const uint8_t> bytes);
  absl::Span<const uint8_t> span() const { return {bytes.data(), family == 4 ? 4u : 16u}; }
  bool is_unspecified() const;
  std::string ToString() const;
  bool operator==(const Address&) const = default;
  auto operator<=>(const Address&) const = default;  // for maps keyed by address
};

struct Endpoint {
  Address address;
  uint16_t port = kIkePort;
  // strongSwan style: "192.0.2.1[500]".
  std::string ToString() const;
  bool operator==(const Endpoint&) const = default;
};

struct Datagram {
  Endpoint src;
  Endpoint dst;
  // The IKE message travels (or travelled) on UDP 4500 behind the non-ESP marker. A NAT
  // keepalive (one 0xFF byte) is sent from 4500 without it.
  bool non_esp_marker = false;
  // Received: the interface it arrived on, in the transport's numbering (the dataplane's
  // ifindex, or the kernel's); 0 = not known. Ignored when sending.
  uint32_t ifindex = 0;
  std::vector<uint8_t> data;
};

}  // namespace portcullis::ike
