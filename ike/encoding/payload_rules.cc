#include "ike/encoding/payload_rules.h"

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "ike/encoding/ike_errors.h"

namespace portcullis::ike {

namespace {

constexpr size_t kMinNonce = 16;  // 2.10: at least 128 bits
constexpr size_t kMaxNonce = 256;
constexpr size_t kNatDetectionHashSize = 20;  // SHA-1
constexpr size_t kMaxCookie = 64;             // 2.6

absl::Status ValidateTransform(const Transform& t) {
  bool key_length_seen = false;
  for (const TransformAttribute& a : t.attributes) {
    if (a.type > 0x7fff) return InvalidSyntaxError("attribute type above 0x7fff");
    if (a.type != static_cast<uint16_t>(TransformAttributeType::kKeyLength)) continue;
    if (!a.tv) return InvalidSyntaxError("Key Length attribute must use the TV format");
    if (key_length_seen) return InvalidSyntaxError("Key Length attribute repeated");
    key_length_seen = true;
  }
  return absl::OkStatus();
}

absl::Status ValidateSa(const SaPayload& sa) {
  if (sa.proposals.empty()) return InvalidSyntaxError("no proposal");
  if (sa.proposals.size() > 1 && sa.proposals[0].number != 1) {
    return InvalidSyntaxError(
        absl::StrCat("first proposal is numbered ", sa.proposals[0].number, ", not 1"));
  }
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    const Proposal& p = sa.proposals[i];
    std::string where = absl::StrCat("proposal ", static_cast<int>(p.number));
    if (p.number == 0) return InvalidSyntaxError("proposal numbered 0");
    if (i > 0 && p.number != sa.proposals[i - 1].number + 1) {
      return InvalidSyntaxError(
          absl::StrCat(where, " follows proposal ", static_cast<int>(sa.proposals[i - 1].number)));
    }
    if (!IsSaProtocol(p.protocol)) {
      return InvalidSyntaxError(
          absl::StrCat(where, ": protocol id ", static_cast<int>(p.protocol)));
    }
    size_t spi = p.spi.size();
    bool spi_ok = p.protocol == ProtocolId::kIke ? (spi == 0 || spi == 8) : spi == 4;
    if (!spi_ok) {
      return InvalidSyntaxError(
          absl::StrCat(where, ": SPI size ", spi, " for protocol ", ProtocolIdName(p.protocol)));
    }
    if (p.transforms.empty()) return InvalidSyntaxError(absl::StrCat(where, ": no transform"));
    if (p.transforms.size() > 255) {
      return InvalidSyntaxError(absl::StrCat(where, ": more than 255 transforms"));
    }
    for (size_t j = 0; j < p.transforms.size(); ++j) {
      absl::Status s = ValidateTransform(p.transforms[j]);
      if (!s.ok()) return WithContext(s, absl::StrCat(where, ": transform ", j + 1));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateId(const IdPayload& id) {
  size_t want = 0;
  switch (id.type) {
    case IdType::kIpv4Addr:
      want = 4;
      break;
    case IdType::kIpv6Addr:
      want = 16;
      break;
    default:
      break;
  }
  if (static_cast<uint8_t>(id.type) == 0) return InvalidSyntaxError("ID type 0");
  if (want != 0 && id.data.size() != want) {
    return InvalidSyntaxError(
        absl::StrCat(IdTypeName(id.type), " of ", id.data.size(), " bytes, not ", want));
  }
  if (id.data.empty()) return InvalidSyntaxError("empty identification data");
  return absl::OkStatus();
}

absl::Status ValidateNotify(const NotifyPayload& n) {
  size_t spi = n.spi.size();
  if (spi != 0 && spi != 4 && spi != 8) {
    return InvalidSyntaxError(absl::StrCat("SPI size ", spi));
  }
  if (spi != 0 && !IsSaProtocol(n.protocol)) {
    return InvalidSyntaxError(
        absl::StrCat("protocol id ", static_cast<int>(n.protocol), " with an SPI"));
  }
  if (static_cast<uint16_t>(n.type) == 0) return InvalidSyntaxError("notify type 0");
  std::string what = NotifyName(n.type);
  switch (n.type) {
    case NotifyType::kNatDetectionSourceIp:
    case NotifyType::kNatDetectionDestinationIp:
      if (n.data.size() != kNatDetectionHashSize) {
        return InvalidSyntaxError(absl::StrCat(what, " data of ", n.data.size(), " bytes"));
      }
      break;
    case NotifyType::kCookie:
      if (n.data.empty() || n.data.size() > kMaxCookie) {
        return InvalidSyntaxError(absl::StrCat(what, " of ", n.data.size(), " bytes"));
      }
      break;
    case NotifyType::kInvalidKePayload:
      if (n.data.size() != 2) {
        return InvalidSyntaxError(absl::StrCat(what, " data of ", n.data.size(), " bytes"));
      }
      break;
    case NotifyType::kSignatureHashAlgorithms:
      if (n.data.size() % 2 != 0) {
        return InvalidSyntaxError(absl::StrCat(what, " data of odd length ", n.data.size()));
      }
      break;
    case NotifyType::kRekeySa:
      if (spi != 4) return InvalidSyntaxError(absl::StrCat(what, " with SPI size ", spi));
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

absl::Status ValidateDelete(const DeletePayload& d) {
  if (!IsSaProtocol(d.protocol)) {
    return InvalidSyntaxError(absl::StrCat("protocol id ", static_cast<int>(d.protocol)));
  }
  if (d.protocol == ProtocolId::kIke && !d.spis.empty()) {
    return InvalidSyntaxError("IKE SA delete carries SPIs");
  }
  if (d.spis.size() > std::numeric_limits<uint16_t>::max()) {
    return InvalidSyntaxError("more than 65535 SPIs");
  }
  return absl::OkStatus();
}

absl::Status ValidateTs(const TsPayload& ts) {
  if (ts.selectors.empty()) return InvalidSyntaxError("no traffic selector");
  if (ts.selectors.size() > 255) return InvalidSyntaxError("more than 255 traffic selectors");
  for (size_t i = 0; i < ts.selectors.size(); ++i) {
    const TrafficSelector& t = ts.selectors[i];
    size_t want = TsAddressSize(t.type);
    if (want == 0) {
      return InvalidSyntaxError(
          absl::StrCat("selector ", i + 1, ": unsupported type ", static_cast<int>(t.type)));
    }
    if (t.start_address.size() != want || t.end_address.size() != want) {
      return InvalidSyntaxError(absl::StrCat("selector ", i + 1, ": ", TsTypeName(t.type),
                                             " with addresses of ", t.start_address.size(), " and ",
                                             t.end_address.size(), " bytes"));
    }
  }
  return absl::OkStatus();
}

// The variant alternative each payload type carries.
bool BodyMatchesType(const Payload& p) {
  switch (p.type) {
    case PayloadType::kSa:
      return p.As<SaPayload>() != nullptr;
    case PayloadType::kKe:
      return p.As<KePayload>() != nullptr;
    case PayloadType::kIdi:
    case PayloadType::kIdr:
      return p.As<IdPayload>() != nullptr;
    case PayloadType::kCert:
    case PayloadType::kCertReq:
      return p.As<CertPayload>() != nullptr;
    case PayloadType::kAuth:
      return p.As<AuthPayload>() != nullptr;
    case PayloadType::kNonce:
      return p.As<NoncePayload>() != nullptr;
    case PayloadType::kNotify:
      return p.As<NotifyPayload>() != nullptr;
    case PayloadType::kDelete:
      return p.As<DeletePayload>() != nullptr;
    case PayloadType::kVendorId:
      return p.As<VendorIdPayload>() != nullptr;
    case PayloadType::kTsi:
    case PayloadType::kTsr:
      return p.As<TsPayload>() != nullptr;
    default:
      return false;
  }
}

}  // namespace

size_t TsAddressSize(TsType t) {
  switch (t) {
    case TsType::kIpv4AddrRange:
      return 4;
    case TsType::kIpv6AddrRange:
      return 16;
  }
  return 0;
}

bool IsSaProtocol(ProtocolId p) {
  return p == ProtocolId::kIke || p == ProtocolId::kAh || p == ProtocolId::kEsp;
}

absl::Status ValidatePayload(const Payload& payload) {
  if (!BodyMatchesType(payload)) {
    return InvalidSyntaxError(
        absl::StrCat("body does not belong to payload type ", PayloadTypeName(payload.type)));
  }
  if (auto* sa = payload.As<SaPayload>()) return ValidateSa(*sa);
  if (auto* id = payload.As<IdPayload>()) return ValidateId(*id);
  if (auto* n = payload.As<NotifyPayload>()) return ValidateNotify(*n);
  if (auto* d = payload.As<DeletePayload>()) return ValidateDelete(*d);
  if (auto* ts = payload.As<TsPayload>()) return ValidateTs(*ts);
  if (auto* ke = payload.As<KePayload>()) {
    if (ke->data.empty()) return InvalidSyntaxError("empty key exchange data");
  }
  if (auto* a = payload.As<AuthPayload>()) {
    if (a->data.empty()) return InvalidSyntaxError("empty authentication data");
  }
  if (auto* n = payload.As<NoncePayload>()) {
    if (n->data.size() < kMinNonce || n->data.size() > kMaxNonce) {
      return InvalidSyntaxError(absl::StrCat("nonce of ", n->data.size(), " bytes, not 16 to 256"));
    }
  }
  return absl::OkStatus();
}

}  // namespace portcullis::ike
