#include "dataplane/esp/drop_reason.h"

namespace portcullis::dp::esp {

const char* DropReasonName(DropReason r) {
  switch (r) {
    case DropReason::kTruncated:
      return "esp_truncated";
    case DropReason::kBadLength:
      return "esp_bad_length";
    case DropReason::kBadOuterHeader:
      return "esp_bad_outer_header";
    case DropReason::kReplayed:
      return "esp_replayed";
    case DropReason::kTooOld:
      return "esp_too_old";
    case DropReason::kAuthFailed:
      return "esp_auth_failed";
    case DropReason::kBadPadLength:
      return "esp_bad_pad_length";
    case DropReason::kBadPadding:
      return "esp_bad_padding";
    case DropReason::kBadNextHeader:
      return "esp_bad_next_header";
    case DropReason::kDummyPacket:
      return "esp_dummy_packet";
    case DropReason::kInnerMalformed:
      return "esp_inner_malformed";
    case DropReason::kEcnDrop:
      return "esp_ecn_drop";
    case DropReason::kSaExpired:
      return "esp_sa_expired";
    case DropReason::kSeqExhausted:
      return "esp_seq_exhausted";
    case DropReason::kNoBufferSpace:
      return "esp_no_buffer_space";
    case DropReason::kCryptoError:
      return "esp_crypto_error";
    case DropReason::kCount:
      break;
  }
  return "esp_unknown";
}

}  // namespace portcullis::dp::esp
