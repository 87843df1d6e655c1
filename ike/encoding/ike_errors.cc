#include "ike/encoding/ike_errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace portcullis::ike {

namespace {

constexpr char kCriticalPayloadUrl[] = "portcullis.ike/unsupported_critical_payload";
constexpr char kMajorVersionUrl[] = "portcullis.ike/invalid_major_version";
constexpr char kAuthenticatedUrl[] = "portcullis.ike/after_integrity_check";

std::optional<int> IntPayload(const absl::Status& s, absl::StatusCode code, const char* url) {
  if (s.code() != code) return std::nullopt;
  auto payload = s.GetPayload(url);
  if (!payload.has_value()) return std::nullopt;
  int value = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &value)) return std::nullopt;
  return value;
}

}  // namespace

absl::Status InvalidSyntaxError(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

bool IsInvalidSyntax(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument;
}

absl::Status UnsupportedCriticalPayloadError(uint8_t payload_type) {
  absl::Status s = absl::UnimplementedError(
      absl::StrCat("unsupported critical payload type ", static_cast<int>(payload_type)));
  s.SetPayload(kCriticalPayloadUrl, absl::Cord(absl::StrCat(static_cast<int>(payload_type))));
  return s;
}

std::optional<uint8_t> UnsupportedCriticalPayloadType(const absl::Status& s) {
  auto v = IntPayload(s, absl::StatusCode::kUnimplemented, kCriticalPayloadUrl);
  if (!v.has_value() || *v < 0 || *v > 255) return std::nullopt;
  return static_cast<uint8_t>(*v);
}

absl::Status InvalidMajorVersionError(int major_version) {
  absl::Status s =
      absl::FailedPreconditionError(absl::StrCat("IKE major version ", major_version, " is not 2"));
  s.SetPayload(kMajorVersionUrl, absl::Cord(absl::StrCat(major_version)));
  return s;
}

std::optional<int> InvalidMajorVersion(const absl::Status& s) {
  return IntPayload(s, absl::StatusCode::kFailedPrecondition, kMajorVersionUrl);
}

absl::Status IntegrityCheckError(absl::string_view what) {
  return absl::UnauthenticatedError(what);
}

bool IsIntegrityFailure(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnauthenticated;
}

absl::Status AfterIntegrityCheck(absl::Status s) {
  if (!s.ok()) s.SetPayload(kAuthenticatedUrl, absl::Cord("1"));
  return s;
}

bool PassedIntegrityCheck(const absl::Status& s) {
  return !s.ok() && s.GetPayload(kAuthenticatedUrl).has_value();
}

absl::Status WithContext(const absl::Status& s, absl::string_view context) {
  if (s.ok()) return s;
  absl::Status out(s.code(), absl::StrCat(context, ": ", s.message()));
  s.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace portcullis::ike
