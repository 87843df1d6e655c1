// Wire form of one payload's body (what follows the 4-byte generic payload header), for the
// payload types in payloads.h. The message codec (message.cc) walks the chain and calls these.
#pragma once

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/encoding/payloads.h"

namespace portcullis::ike {

// `type` must satisfy IsKnownPayloadType(). Errors are InvalidSyntaxError()s naming the field.
absl::StatusOr<PayloadBody> DecodePayloadBody(PayloadType type, absl::Span<const uint8_t> body);

// Checks the payload against the rules the decoder applies (payload_rules.h), then writes its
// body. The PSK AUTH computation also uses this for the ID payload ("RestOfIDPayload",
// RFC 7296 2.15).
absl::StatusOr<Bytes> EncodePayloadBody(const Payload& payload);

}  // namespace portcullis::ike
