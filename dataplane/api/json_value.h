// Just enough JSON to read DPDK telemetry replies (objects, arrays, strings, numbers, true,
// false, null). Object member order is kept as received.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portcullis::dp::api {

struct JsonMember;

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject } type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  // A member list, not std::pair<std::string, JsonValue>: a pair needs JsonValue complete here,
  // a vector of a declared struct does not (libc++ and libstdc++ under clang both insist).
  std::vector<JsonMember> object;

  const JsonValue* Get(absl::string_view key) const;
  uint64_t U64(absl::string_view key) const;     // 0 when absent
  std::string Str(absl::string_view key) const;  // "" when absent
};

struct JsonMember {
  std::string first;  // the name
  JsonValue second;   // the value
};

absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

}  // namespace portcullis::dp::api
