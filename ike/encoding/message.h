// An IKEv2 message on the wire (RFC 7296 section 3): the IKE header followed by a chain of
// payloads. Decoding is strict: every length, count and numbering is checked against the bytes
// actually there, and a message is refused rather than guessed at (errors in ike_errors.h).
// Encoding computes the header's Next Payload and Length, so DecodeMessage(EncodeMessage(m))
// gives m back.
//
// An Encrypted (SK) payload, if any, is the last payload of a message; the codec hands its body
// (IV | ciphertext | ICV) over as bytes, and sk_cipher.h opens and seals it. The payloads inside
// are another chain, decoded with DecodePayloadChain() once decrypted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ike/encoding/ike_types.h"
#include "ike/encoding/payloads.h"

namespace portcullis::ike {

inline constexpr size_t kIkeHeaderSize = 28;
inline constexpr size_t kGenericPayloadHeaderSize = 4;

// The header fields that are not derived from the payloads.
struct IkeHeader {
  IkeSpi spi_i{};
  IkeSpi spi_r{};
  ExchangeType exchange = ExchangeType::kIkeSaInit;
  bool initiator = false;  // I: sent by the original initiator of the IKE SA
  bool version = false;    // V: sender could speak a higher major version
  bool response = false;   // R
  uint32_t message_id = 0;
  bool operator==(const IkeHeader&) const = default;
};

// The header as read from the wire, before the payloads are decoded: enough to find the IKE SA
// and to answer with a notification. The minor version is ignored as 2.5 requires.
struct DecodedHeader {
  IkeHeader header;
  PayloadType first_payload = PayloadType::kNone;
  uint32_t length = 0;
};

// The body of an Encrypted and Authenticated payload, still protected.
struct SkPayload {
  PayloadType first_inner = PayloadType::kNone;  // the SK payload's Next Payload field
  Bytes body;                                    // IV | ciphertext | ICV
  bool operator==(const SkPayload&) const = default;
};

struct Message {
  IkeHeader header;
  std::vector<Payload> payloads;  // in the clear, in order
  std::optional<SkPayload> sk;    // last, if present

  // First payload of `type` among `payloads`, or nullptr.
  const Payload* Find(PayloadType type) const;
  // Every Notify payload of `type`.
  std::vector<const NotifyPayload*> Notifies(NotifyType type) const;
  bool operator==(const Message&) const = default;
};

// Reads and checks the 28-byte header: major version 2 (InvalidMajorVersionError otherwise),
// a non-zero initiator SPI, Length equal to the size of `wire` (a shorter or longer datagram is
// refused, so trailing garbage never passes).
absl::StatusOr<DecodedHeader> DecodeHeader(absl::Span<const uint8_t> wire);

absl::StatusOr<Message> DecodeMessage(absl::Span<const uint8_t> wire);

// Fails only when `m` cannot be represented (a payload body that does not belong to its type,
// a field out of range, a message over 4 GiB); what it produces always decodes.
absl::StatusOr<Bytes> EncodeMessage(const Message& m);

// A payload chain on its own, as inside an SK payload: `first` is the type of the first payload
// and the chain must end exactly at the end of `bytes`. An SK payload is not allowed in it.
absl::StatusOr<std::vector<Payload>> DecodePayloadChain(PayloadType first,
                                                        absl::Span<const uint8_t> bytes);
absl::StatusOr<Bytes> EncodePayloadChain(absl::Span<const Payload> payloads);

// The type of the first payload in `payloads` (kNone for none): the Next Payload value that
// points at the chain.
PayloadType FirstPayloadType(absl::Span<const Payload> payloads);

// For logs, strongSwan style: "IKE_SA_INIT request 0 [ SA KE No N(NAT_DETECTION_SOURCE_IP) ]".
// The first form lists the given payloads (e.g. the decrypted inner ones); the second lists a
// message's clear payloads and "SK" for its still encrypted part.
std::string MessageSummary(const IkeHeader& header, absl::Span<const Payload> payloads);
std::string MessageSummary(const Message& m);

}  // namespace portcullis::ike
