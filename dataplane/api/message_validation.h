// Whether one command message keeps the contract: known kind and operation for that kind, enum
// fields in range, lengths consistent with what they describe, reserved bytes zero. Batch
// framing (slot, sequence, index, last flag) is checked by the batch assembler; whether the
// tables accept the change is the dataplane's business. Runs on the main lcore for every
// message, so it never allocates.
#pragma once

#include "dataplane/api/events.h"
#include "dataplane/api/messages.h"

namespace portcullis::dp::api {

struct Rejection {
  RejectReason reason = RejectReason::kNone;
  char detail[kAckTextSize] = {};  // NUL-terminated, for the ack

  bool ok() const { return reason == RejectReason::kNone; }
};

Rejection ValidateMessage(const Message& message);

// Key length in bytes each algorithm needs (0 for null / none).
int CipherKeyLength(Cipher cipher);
int AuthKeyLength(Auth auth);

}  // namespace portcullis::dp::api
