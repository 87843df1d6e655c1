// The rules a payload must satisfy beyond its wire layout, shared by the decoder (which refuses
// a message that breaks them) and the encoder (which refuses to produce one): counts and
// proposal numbering, SPI sizes per protocol, ID and selector address lengths, nonce size, and
// the data lengths RFC 7296 fixes for particular notifications.
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "ike/encoding/payloads.h"

namespace portcullis::ike {

// InvalidSyntaxError() naming the rule, or OK.
absl::Status ValidatePayload(const Payload& payload);

// Address size of a traffic selector type: 4, 16, or 0 for a type we do not support.
size_t TsAddressSize(TsType t);
// IKE, AH or ESP: the protocols an SA (and so a proposal, a Delete, an SPI) can belong to.
bool IsSaProtocol(ProtocolId p);

}  // namespace portcullis::ike
