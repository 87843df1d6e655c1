// Names of the contract's enumerations, for error texts, logs and dpctl. Values outside the
// enumeration (they arrive from another process) get "unknown".
#pragma once

#include "absl/strings/string_view.h"
#include "dataplane/api/events.h"
#include "dataplane/api/messages.h"

namespace portcullis::dp::api {

absl::string_view KindName(MessageKind kind);
absl::string_view OpName(Op op);
absl::string_view CipherName(Cipher cipher);
absl::string_view AuthName(Auth auth);
absl::string_view RejectReasonName(RejectReason reason);
absl::string_view EventKindName(EventKind kind);

}  // namespace portcullis::dp::api
