// The ways an incoming IKE message can be refused, as absl::Status values that carry what the
// caller needs to answer (or to decide not to): RFC 7296 answers a malformed message with
// INVALID_SYNTAX, an unknown critical payload with UNSUPPORTED_CRITICAL_PAYLOAD (whose data is the
// payload type), a newer major version with INVALID_MAJOR_VERSION, and drops a message whose
// integrity check fails without a word.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace portcullis::ike {

// kInvalidArgument: the bytes break RFC 7296's syntax. `what` says where and how.
absl::Status InvalidSyntaxError(absl::string_view what);
bool IsInvalidSyntax(const absl::Status& s);

// kUnimplemented, carrying the payload type.
absl::Status UnsupportedCriticalPayloadError(uint8_t payload_type);
std::optional<uint8_t> UnsupportedCriticalPayloadType(const absl::Status& s);

// kFailedPrecondition, carrying the major version received.
absl::Status InvalidMajorVersionError(int major_version);
std::optional<int> InvalidMajorVersion(const absl::Status& s);

// kUnauthenticated: the ICV or AEAD tag did not verify. Never says anything about key bytes.
absl::Status IntegrityCheckError(absl::string_view what);
bool IsIntegrityFailure(const absl::Status& s);

// Marks an error found after the ICV or AEAD tag verified: the message is authentic, so its
// sender is the peer and a request deserves an error answer (RFC 7296 2.21.2). Anything not
// marked may come from anyone and is dropped without a word (2.21.1).
absl::Status AfterIntegrityCheck(absl::Status s);
bool PassedIntegrityCheck(const absl::Status& s);

// The same status with "context: " in front of its message; code and payloads are kept, so a
// nested decoder can say where it was without losing what kind of error it is.
absl::Status WithContext(const absl::Status& s, absl::string_view context);

}  // namespace portcullis::ike
