// Why the ESP engine dropped a packet: every drop is counted under one of these, per SA.
#pragma once

#include <cstdint>

namespace portcullis::dp::esp {

enum class DropReason : uint8_t {
  kTruncated = 0,   // shorter than ESP header + IV + minimal payload + ICV
  kBadLength,       // ciphertext not a multiple of the block size, or outer lengths inconsistent
  kBadOuterHeader,  // outer IP/UDP header unusable (IPv6 extension headers, bad UDP length)
  kReplayed,        // sequence number already seen inside the window
  kTooOld,          // sequence number left of the window (or 0)
  kAuthFailed,      // ICV mismatch
  kBadPadLength,    // pad length larger than the payload
  kBadPadding,      // pad bytes not 1, 2, 3, ... (RFC 4303 §2.4)
  kBadNextHeader,   // next header neither IPv4 nor IPv6 in tunnel mode
  kDummyPacket,     // next header 59: TFC dummy, discarded by design
  kInnerMalformed,  // inner packet not a valid IPv4/IPv6 packet of the decrypted length
  kEcnDrop,         // RFC 6040: outer CE over a Not-ECT inner packet
  kSaExpired,       // hard lifetime (bytes or packets) reached
  kSeqExhausted,    // outbound sequence number space used up
  kNoBufferSpace,   // no headroom/tailroom and no mbuf to extend with
  kCryptoError,     // the crypto library refused the operation
  kCount
};

constexpr int kDropReasonCount = static_cast<int>(DropReason::kCount);

// Stable snake_case names, used in counters output and telemetry.
const char* DropReasonName(DropReason r);

}  // namespace portcullis::dp::esp
