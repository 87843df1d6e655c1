// The IKEv2 payloads Portcullis understands (RFC 7296 section 3), as plain values. The wire
// form is in payload_codec.cc; a payload type not listed here is skipped when its critical bit
// is clear and refuses the message when it is set (see message.h).
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "ike/encoding/ike_types.h"

namespace portcullis::ike {

using Bytes = std::vector<uint8_t>;

// A transform attribute (3.3.5). TV format (AF=1) carries a 2-byte value; TLV (AF=0) carries
// bytes. Key Length (14) is the only attribute IKEv2 defines and must be TV.
struct TransformAttribute {
  uint16_t type = 0;  // without the AF bit
  bool tv = true;
  uint16_t tv_value = 0;
  Bytes tlv_value;
  bool operator==(const TransformAttribute&) const = default;
};

struct Transform {
  TransformType type = TransformType::kEncr;
  uint16_t id = 0;
  std::vector<TransformAttribute> attributes;

  // The Key Length attribute in bits, if present.
  std::optional<uint16_t> KeyLength() const;

  static Transform Encr(EncrId id, uint16_t key_bits = 0);  // 0: no Key Length attribute
  static Transform Prf(PrfId id);
  static Transform Integ(IntegId id);
  static Transform Dh(DhGroup group);
  static Transform Esn(EsnId id);
  bool operator==(const Transform&) const = default;
};

struct Proposal {
  uint8_t number = 1;  // first is 1, each next one more; a reply echoes the chosen number
  ProtocolId protocol = ProtocolId::kIke;
  Bytes spi;  // IKE: empty, or 8 bytes when rekeying; ESP/AH: 4 bytes
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
};

struct SaPayload {
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const = default;
};

struct KePayload {
  DhGroup group = DhGroup::kNone;
  Bytes data;
  bool operator==(const KePayload&) const = default;
};

// IDi / IDr. `data` is the identification data as sent: 4 or 16 address bytes, or the FQDN,
// RFC 822 address or key id bytes.
struct IdPayload {
  IdType type = IdType::kIpv4Addr;
  Bytes data;
  bool operator==(const IdPayload&) const = default;
};

// CERT and CERTREQ share a layout: an encoding octet and opaque data. Portcullis authenticates
// with PSK only for now; a CERTREQ is decoded so that it can be ignored politely.
struct CertPayload {
  uint8_t encoding = 0;
  Bytes data;
  bool operator==(const CertPayload&) const = default;
};

struct AuthPayload {
  AuthMethod method = AuthMethod::kSharedKeyMic;
  Bytes data;
  bool operator==(const AuthPayload&) const = default;
};

struct NoncePayload {
  Bytes data;  // 16..256 bytes (2.10)
  bool operator==(const NoncePayload&) const = default;
};

struct NotifyPayload {
  ProtocolId protocol = ProtocolId::kNone;  // must be ignored when there is no SPI
  Bytes spi;                                // empty, 4 or 8 bytes
  NotifyType type = NotifyType::kInvalidSyntax;
  Bytes data;
  bool operator==(const NotifyPayload&) const = default;
};

// Deleting the IKE SA carries no SPI; deleting ESP/AH SAs carries their 4-byte inbound SPIs.
struct DeletePayload {
  ProtocolId protocol = ProtocolId::kIke;
  std::vector<uint32_t> spis;
  bool operator==(const DeletePayload&) const = default;
};

struct VendorIdPayload {
  Bytes data;
  bool operator==(const VendorIdPayload&) const = default;
};

// One traffic selector (3.13.1). Addresses are 4 bytes for IPv4 ranges, 16 for IPv6 ranges.
struct TrafficSelector {
  TsType type = TsType::kIpv4AddrRange;
  uint8_t ip_protocol = 0;  // 0: any
  uint16_t start_port = 0;
  uint16_t end_port = 65535;
  Bytes start_address;
  Bytes end_address;
  bool operator==(const TrafficSelector&) const = default;
};

struct TsPayload {  // TSi / TSr
  std::vector<TrafficSelector> selectors;
  bool operator==(const TsPayload&) const = default;
};

using PayloadBody =
    std::variant<SaPayload, KePayload, IdPayload, CertPayload, AuthPayload, NoncePayload,
                 NotifyPayload, DeletePayload, VendorIdPayload, TsPayload>;

// A payload and its type. Types that share a layout (IDi/IDr, TSi/TSr, CERT/CERTREQ) are told
// apart by `type`; the encoder refuses a body that does not belong to its type.
struct Payload {
  PayloadType type = PayloadType::kNone;
  PayloadBody body;

  template <typename T>
  const T* As() const {
    return std::get_if<T>(&body);
  }
  bool operator==(const Payload&) const = default;
};

// The payload types decoded into a PayloadBody (SK is handled by the message codec).
bool IsKnownPayloadType(PayloadType t);

}  // namespace portcullis::ike
