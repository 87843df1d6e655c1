// The file a hitless restart resumes IKE from (ike/sa/ike_sa_state.h): written whole under a
// temporary name and renamed over the old one, so a vpnd killed at any moment leaves either
// the previous state or the new one, never half of it. It holds IKE keys: mode 0600.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace portcullis::vpnd {

absl::Status WriteFileAtomically(const std::string& path, const std::string& data);
// NotFound when there is no file; PermissionDenied unless it is a regular file owned by us
// that no one else may read or write (its keys would not be ours alone).
absl::StatusOr<std::string> ReadStateFile(const std::string& path);

}  // namespace portcullis::vpnd
