#include "ike/encoding/message.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ike/encoding/ike_errors.h"
#include "ike/encoding/payload_codec.h"
#include "ike/encoding/wire.h"

namespace portcullis::ike {

namespace {

using wire::Reader;
using wire::Writer;

constexpr uint8_t kCriticalBit = 0x80;
constexpr uint8_t kIkeVersion2 = 0x20;  // major 2, minor 0

bool IsZero(const IkeSpi& spi) {
  return std::all_of(spi.begin(), spi.end(), [](uint8_t b) { return b == 0; });
}

// Walks a payload chain starting with `first`. When `sk` is non-null an SK payload may end the
// chain; its body is handed over undecoded. The chain must end exactly at the end of `r`.
absl::Status DecodeChain(PayloadType first, Reader& r, std::vector<Payload>* out,
                         std::optional<SkPayload>* sk) {
  PayloadType next = first;
  for (int index = 1; next != PayloadType::kNone; ++index) {
    std::string where = absl::StrCat("payload ", index, " (", PayloadTypeName(next), ")");
    uint8_t next_next = 0, flags = 0;
    uint16_t length = 0;
    if (!r.U8(&next_next) || !r.U8(&flags) || !r.U16(&length)) {
      return InvalidSyntaxError(absl::StrCat(where, ": announced, but the message ends"));
    }
    if (length < kGenericPayloadHeaderSize) {
      return InvalidSyntaxError(absl::StrCat(where, ": length ", length, " < 4"));
    }
    absl::Span<const uint8_t> body;
    if (!r.Take(length - kGenericPayloadHeaderSize, &body)) {
      return InvalidSyntaxError(absl::StrCat(where, ": length ", length, " exceeds the ",
                                             r.remaining() + kGenericPayloadHeaderSize,
                                             " bytes left"));
    }
    if (next == PayloadType::kSk) {
      if (sk == nullptr) return InvalidSyntaxError(absl::StrCat(where, ": SK inside SK"));
      if (!r.empty()) {
        return InvalidSyntaxError(
            absl::StrCat(where, ": ", r.remaining(), " bytes after the SK payload"));
      }
      if (static_cast<PayloadType>(next_next) == PayloadType::kSk) {
        return InvalidSyntaxError(absl::StrCat(where, ": SK inside SK"));
      }
      *sk = SkPayload{static_cast<PayloadType>(next_next), Bytes(body.begin(), body.end())};
      return absl::OkStatus();
    }
    if (IsKnownPayloadType(next)) {
      absl::StatusOr<PayloadBody> decoded = DecodePayloadBody(next, body);
      if (!decoded.ok()) return WithContext(decoded.status(), where);
      out->push_back(Payload{next, std::move(*decoded)});
    } else if ((flags & kCriticalBit) != 0) {
      return UnsupportedCriticalPayloadError(static_cast<uint8_t>(next));
    }
    // An unknown payload without the critical bit is skipped (2.5).
    next = static_cast<PayloadType>(next_next);
  }
  if (!r.empty()) {
    return InvalidSyntaxError(absl::StrCat(r.remaining(), " bytes after the last payload"));
  }
  return absl::OkStatus();
}

absl::Status WriteGenericHeader(Writer& w, PayloadType next, size_t body_size) {
  if (body_size > std::numeric_limits<uint16_t>::max() - kGenericPayloadHeaderSize) {
    return InvalidSyntaxError(absl::StrCat("payload body of ", body_size, " bytes"));
  }
  w.U8(static_cast<uint8_t>(next));
  w.U8(0);
  w.U16(static_cast<uint16_t>(body_size + kGenericPayloadHeaderSize));
  return absl::OkStatus();
}

// Writes `payloads`; the last one's Next Payload is `tail` (SK, or none).
absl::Status EncodeChain(absl::Span<const Payload> payloads, PayloadType tail, Writer& w) {
  for (size_t i = 0; i < payloads.size(); ++i) {
    absl::StatusOr<Bytes> body = EncodePayloadBody(payloads[i]);
    if (!body.ok()) {
      return WithContext(body.status(), absl::StrCat("payload ", i + 1, " (",
                                                     PayloadTypeName(payloads[i].type), ")"));
    }
    PayloadType next = i + 1 < payloads.size() ? payloads[i + 1].type : tail;
    absl::Status s = WriteGenericHeader(w, next, body->size());
    if (!s.ok()) return s;
    w.Bytes(*body);
  }
  return absl::OkStatus();
}

std::string PayloadLabel(const Payload& p) {
  if (auto* n = p.As<NotifyPayload>()) return absl::StrCat("N(", NotifyName(n->type), ")");
  return PayloadTypeName(p.type);
}

}  // namespace

const Payload* Message::Find(PayloadType type) const {
  for (const Payload& p : payloads) {
    if (p.type == type) return &p;
  }
  return nullptr;
}

std::vector<const NotifyPayload*> Message::Notifies(NotifyType type) const {
  std::vector<const NotifyPayload*> out;
  for (const Payload& p : payloads) {
    if (auto* n = p.As<NotifyPayload>(); n != nullptr && n->type == type) out.push_back(n);
  }
  return out;
}

absl::StatusOr<DecodedHeader> DecodeHeader(absl::Span<const uint8_t> wire) {
  if (wire.size() < kIkeHeaderSize) {
    return InvalidSyntaxError(
        absl::StrCat("message of ", wire.size(), " bytes is shorter than the IKE header"));
  }
  Reader r(wire);
  DecodedHeader d;
  absl::Span<const uint8_t> spi;
  uint8_t next = 0, version = 0, exchange = 0, flags = 0;
  r.Take(8, &spi);
  std::copy(spi.begin(), spi.end(), d.header.spi_i.begin());
  r.Take(8, &spi);
  std::copy(spi.begin(), spi.end(), d.header.spi_r.begin());
  r.U8(&next);
  r.U8(&version);
  r.U8(&exchange);
  r.U8(&flags);
  r.U32(&d.header.message_id);
  r.U32(&d.length);
  int major = version >> 4;
  if (major != 2) return InvalidMajorVersionError(major);
  d.first_payload = static_cast<PayloadType>(next);
  d.header.exchange = static_cast<ExchangeType>(exchange);
  d.header.initiator = (flags & kFlagInitiator) != 0;
  d.header.version = (flags & kFlagVersion) != 0;
  d.header.response = (flags & kFlagResponse) != 0;
  if (d.length > wire.size()) {
    return InvalidSyntaxError(
        absl::StrCat("header length ", d.length, " exceeds the ", wire.size(), " bytes received"));
  }
  if (d.length < wire.size()) {
    return InvalidSyntaxError(
        absl::StrCat(wire.size() - d.length, " bytes after the header length of ", d.length));
  }
  if (IsZero(d.header.spi_i)) return InvalidSyntaxError("initiator SPI is zero");
  return d;
}

absl::StatusOr<Message> DecodeMessage(absl::Span<const uint8_t> wire) {
  absl::StatusOr<DecodedHeader> h = DecodeHeader(wire);
  if (!h.ok()) return h.status();
  Message m;
  m.header = h->header;
  Reader r(wire.subspan(kIkeHeaderSize));
  absl::Status s = DecodeChain(h->first_payload, r, &m.payloads, &m.sk);
  if (!s.ok()) return s;
  return m;
}

absl::StatusOr<Bytes> EncodeMessage(const Message& m) {
  Bytes out;
  Writer w(&out);
  PayloadType tail = m.sk.has_value() ? PayloadType::kSk : PayloadType::kNone;
  PayloadType first = m.payloads.empty() ? tail : m.payloads.front().type;
  w.Bytes(m.header.spi_i);
  w.Bytes(m.header.spi_r);
  w.U8(static_cast<uint8_t>(first));
  w.U8(kIkeVersion2);
  w.U8(static_cast<uint8_t>(m.header.exchange));
  w.U8((m.header.initiator ? kFlagInitiator : 0) | (m.header.version ? kFlagVersion : 0) |
       (m.header.response ? kFlagResponse : 0));
  w.U32(m.header.message_id);
  w.U32(0);  // length, patched below
  absl::Status s = EncodeChain(m.payloads, tail, w);
  if (!s.ok()) return s;
  if (m.sk.has_value()) {
    if (m.sk->first_inner == PayloadType::kSk) return InvalidSyntaxError("SK inside SK");
    s = WriteGenericHeader(w, m.sk->first_inner, m.sk->body.size());
    if (!s.ok()) return WithContext(s, "SK payload");
    w.Bytes(m.sk->body);
  }
  if (out.size() > std::numeric_limits<uint32_t>::max()) {
    return InvalidSyntaxError("message over 4 GiB");
  }
  if (IsZero(m.header.spi_i)) return InvalidSyntaxError("initiator SPI is zero");
  w.PatchU32(24, static_cast<uint32_t>(out.size()));
  return out;
}

absl::StatusOr<std::vector<Payload>> DecodePayloadChain(PayloadType first,
                                                        absl::Span<const uint8_t> bytes) {
  std::vector<Payload> out;
  Reader r(bytes);
  absl::Status s = DecodeChain(first, r, &out, nullptr);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<Bytes> EncodePayloadChain(absl::Span<const Payload> payloads) {
  Bytes out;
  Writer w(&out);
  absl::Status s = EncodeChain(payloads, PayloadType::kNone, w);
  if (!s.ok()) return s;
  return out;
}

PayloadType FirstPayloadType(absl::Span<const Payload> payloads) {
  return payloads.empty() ? PayloadType::kNone : payloads.front().type;
}

std::string MessageSummary(const IkeHeader& header, absl::Span<const Payload> payloads) {
  std::string out =
      absl::StrCat(ExchangeTypeName(header.exchange), header.response ? " response " : " request ",
                   header.message_id, " [");
  for (const Payload& p : payloads) absl::StrAppend(&out, " ", PayloadLabel(p));
  absl::StrAppend(&out, " ]");
  return out;
}

std::string MessageSummary(const Message& m) {
  std::string out = MessageSummary(m.header, m.payloads);
  if (m.sk.has_value()) out.insert(out.size() - 1, "SK ");
  return out;
}

}  // namespace portcullis::ike
