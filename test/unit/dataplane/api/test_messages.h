// Valid command messages for the channel tests and the peer program, each recognisable by a
// number, plus the key pattern the wipe tests look for.
#pragma once

#include <cstdint>

#include "absl/types/span.h"
#include "dataplane/api/messages.h"
#include "dataplane/api/packet_descriptor.h"

namespace portcullis::dp::api::testing {

// A route add for 10.a.b.c/32 where a.b.c encode n (< 2^24).
Message RouteMessage(uint32_t n);
// The n RouteMessage encoded; only meaningful for RouteMessage output.
uint32_t RouteNumber(const Message& m);

// Key bytes no valid message would otherwise contain; the first kKeyProbeSize bytes are what
// the wipe tests search ring and staging memory for.
inline constexpr uint8_t kKeyPattern[32] = {
    0xc0, 0xff, 0xee, 0x5a, 0x17, 0xde, 0xad, 0x42, 0xc0, 0xff, 0xee, 0x5a, 0x17, 0xde, 0xad, 0x43,
    0xc0, 0xff, 0xee, 0x5a, 0x17, 0xde, 0xad, 0x44, 0xc0, 0xff, 0xee, 0x5a, 0x17, 0xde, 0xad, 0x45};
inline constexpr size_t kKeyProbeSize = 8;

// Inbound AES-GCM-128 tunnel SA with the key pattern as key.
Message GcmSaMessage(uint32_t spi);
// Outbound AES-CBC-256 + HMAC-SHA-256 SA, key pattern in both keys.
Message CbcSaMessage(uint32_t spi);
Message InterfaceMessage(uint32_t ifindex);
Message AddressMessage(uint32_t ifindex);
Message PolicyMessage(uint32_t reqid);

// Whether `memory` contains the key probe anywhere.
bool ContainsKeyProbe(absl::Span<const uint8_t> memory);

// An IPv4 UDP 500 <-> 500 pair, numbered by n in the source address.
PacketMeta IkeMeta(uint32_t n);

}  // namespace portcullis::dp::api::testing
