#include "dataplane/api/message_names.h"

namespace portcullis::dp::api {

absl::string_view KindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kInterface:
      return "interface";
    case MessageKind::kAddress:
      return "address";
    case MessageKind::kRoute:
      return "route";
    case MessageKind::kSa:
      return "sa";
    case MessageKind::kPolicy:
      return "policy";
    case MessageKind::kVtiBinding:
      return "vti-binding";
    case MessageKind::kFlush:
      return "flush";
    case MessageKind::kNeighbor:
      return "neighbor";
    case MessageKind::kFwRuleset:
      return "fw-ruleset";
    case MessageKind::kFwRule:
      return "fw-rule";
    case MessageKind::kFwBinding:
      return "fw-binding";
    case MessageKind::kFwZone:
      return "fw-zone";
    case MessageKind::kFwZoneInterface:
      return "fw-zone-interface";
    case MessageKind::kFwZonePolicy:
      return "fw-zone-policy";
    case MessageKind::kFwGlobal:
      return "fw-global";
    case MessageKind::kVrrpGroup:
      return "vrrp-group";
  }
  return "unknown";
}

absl::string_view OpName(Op op) {
  switch (op) {
    case Op::kAdd:
      return "add";
    case Op::kUpdate:
      return "update";
    case Op::kDelete:
      return "delete";
  }
  return "unknown";
}

absl::string_view CipherName(Cipher cipher) {
  switch (cipher) {
    case Cipher::kNull:
      return "null";
    case Cipher::kAesGcm128:
      return "aes-gcm-128";
    case Cipher::kAesGcm256:
      return "aes-gcm-256";
    case Cipher::kAesCbc128:
      return "aes-cbc-128";
    case Cipher::kAesCbc256:
      return "aes-cbc-256";
  }
  return "unknown";
}

absl::string_view AuthName(Auth auth) {
  switch (auth) {
    case Auth::kNone:
      return "none";
    case Auth::kHmacSha1_96:
      return "hmac-sha1-96";
    case Auth::kHmacSha256_128:
      return "hmac-sha256-128";
    case Auth::kHmacSha384_192:
      return "hmac-sha384-192";
    case Auth::kHmacSha512_256:
      return "hmac-sha512-256";
  }
  return "unknown";
}

absl::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kUnknownKind:
      return "unknown-kind";
    case RejectReason::kUnknownOp:
      return "unknown-op";
    case RejectReason::kBadLength:
      return "bad-length";
    case RejectReason::kBadPrefixLength:
      return "bad-prefix-length";
    case RejectReason::kBadKeyLength:
      return "bad-key-length";
    case RejectReason::kBadReplayWindow:
      return "bad-replay-window";
    case RejectReason::kNonZeroReserved:
      return "non-zero-reserved";
    case RejectReason::kBadFraming:
      return "bad-framing";
    case RejectReason::kBatchInterrupted:
      return "batch-interrupted";
    case RejectReason::kBadValue:
      return "bad-value";
    case RejectReason::kApplyFailed:
      return "apply-failed";
    case RejectReason::kStaleSender:
      return "stale-sender";
    case RejectReason::kAbandoned:
      return "abandoned";
    case RejectReason::kBatchTooLarge:
      return "batch-too-large";
    case RejectReason::kStagingBusy:
      return "staging-busy";
  }
  return "unknown";
}

absl::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kAck:
      return "ack";
    case EventKind::kSaExpired:
      return "sa-expired";
    case EventKind::kSeqExhausted:
      return "seq-exhausted";
    case EventKind::kAcquire:
      return "acquire";
    case EventKind::kSaCounters:
      return "sa-counters";
    case EventKind::kFwLog:
      return "fw-log";
    case EventKind::kVrrpState:
      return "vrrp-state";
  }
  return "unknown";
}

}  // namespace portcullis::dp::api
