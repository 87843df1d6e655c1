// NAT detection (RFC 7296 2.23): the NAT_DETECTION_SOURCE_IP / _DESTINATION_IP notification
// data is SHA-1(SPIi | SPIr | IP address | port). In the IKE_SA_INIT request SPIr is zero.
#pragma once

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/encoding/ike_types.h"

namespace portcullis::ike {

using NatDetectionHash = std::array<uint8_t, 20>;

// `address` is 4 (IPv4) or 16 (IPv6) bytes in network order; `port` in host order.
absl::StatusOr<NatDetectionHash> ComputeNatDetectionHash(const IkeSpi& spi_i, const IkeSpi& spi_r,
                                                         absl::Span<const uint8_t> address,
                                                         uint16_t port);

}  // namespace portcullis::ike
