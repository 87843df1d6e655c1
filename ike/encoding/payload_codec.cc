#include "ike/encoding/payload_codec.h"

#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ike/encoding/ike_errors.h"
#include "ike/encoding/payload_rules.h"
#include "ike/encoding/wire.h"

namespace portcullis::ike {

namespace {

using wire::Reader;
using wire::Writer;

constexpr uint16_t kAttributeFormatTv = 0x8000;
constexpr uint8_t kMoreProposals = 2;
constexpr uint8_t kMoreTransforms = 3;
constexpr size_t kProposalHeaderSize = 8;
constexpr size_t kTransformHeaderSize = 8;
constexpr size_t kSelectorHeaderSize = 8;

absl::Status Short(absl::string_view what) {
  return InvalidSyntaxError(absl::StrCat(what, " truncated"));
}

// --- decoding ---

absl::Status DecodeAttributes(Reader& r, std::vector<TransformAttribute>* out) {
  while (!r.empty()) {
    uint16_t af_type = 0;
    if (!r.U16(&af_type)) return Short("attribute");
    TransformAttribute a;
    a.type = af_type & ~kAttributeFormatTv;
    a.tv = (af_type & kAttributeFormatTv) != 0;
    if (a.tv) {
      if (!r.U16(&a.tv_value)) return Short("attribute value");
    } else {
      uint16_t len = 0;
      if (!r.U16(&len)) return Short("attribute length");
      if (!r.Copy(len, &a.tlv_value)) {
        return InvalidSyntaxError(absl::StrCat(
            "attribute length ", len, " exceeds the transform by ", len - r.remaining(), " bytes"));
      }
    }
    out->push_back(std::move(a));
  }
  return absl::OkStatus();
}

absl::Status DecodeTransforms(Reader& r, int count, std::vector<Transform>* out) {
  for (int i = 0; i < count; ++i) {
    std::string where = absl::StrCat("transform ", i + 1, " of ", count);
    uint8_t last = 0, reserved = 0, type = 0, reserved2 = 0;
    uint16_t length = 0, id = 0;
    if (!r.U8(&last) || !r.U8(&reserved) || !r.U16(&length)) return Short(where);
    if (last != 0 && last != kMoreTransforms) {
      return InvalidSyntaxError(absl::StrCat(where, ": Last Substruc ", static_cast<int>(last)));
    }
    bool is_last = i + 1 == count;
    if (is_last && last != 0) {
      return InvalidSyntaxError(
          absl::StrCat(where, ": more transforms announced than the count of ", count));
    }
    if (!is_last && last == 0) {
      return InvalidSyntaxError(
          absl::StrCat(where, ": marked last, but the proposal counts ", count));
    }
    if (length < kTransformHeaderSize) {
      return InvalidSyntaxError(absl::StrCat(where, ": length ", length, " < 8"));
    }
    absl::Span<const uint8_t> rest;
    if (!r.Take(length - 4, &rest)) {
      return InvalidSyntaxError(absl::StrCat(where, ": length ", length, " exceeds the proposal"));
    }
    Reader t(rest);
    Transform tr;
    if (!t.U8(&type) || !t.U8(&reserved2) || !t.U16(&id)) return Short(where);
    tr.type = static_cast<TransformType>(type);
    tr.id = id;
    absl::Status s = DecodeAttributes(t, &tr.attributes);
    if (!s.ok()) return WithContext(s, where);
    out->push_back(std::move(tr));
  }
  return absl::OkStatus();
}

absl::StatusOr<SaPayload> DecodeSa(Reader& r) {
  SaPayload sa;
  bool more = true;
  while (more) {
    std::string where = absl::StrCat("proposal ", sa.proposals.size() + 1);
    uint8_t last = 0, reserved = 0;
    uint16_t length = 0;
    if (!r.U8(&last) || !r.U8(&reserved) || !r.U16(&length)) {
      return sa.proposals.empty() ? Short("SA payload")
                                  : InvalidSyntaxError(absl::StrCat(
                                        where, " announced by the one before is missing"));
    }
    if (last != 0 && last != kMoreProposals) {
      return InvalidSyntaxError(absl::StrCat(where, ": Last Substruc ", static_cast<int>(last)));
    }
    more = last == kMoreProposals;
    if (length < kProposalHeaderSize) {
      return InvalidSyntaxError(absl::StrCat(where, ": length ", length, " < 8"));
    }
    absl::Span<const uint8_t> rest;
    if (!r.Take(length - 4, &rest)) {
      return InvalidSyntaxError(absl::StrCat(where, ": length ", length, " exceeds the payload"));
    }
    Reader p(rest);
    Proposal prop;
    uint8_t protocol = 0, spi_size = 0, num_transforms = 0;
    if (!p.U8(&prop.number) || !p.U8(&protocol) || !p.U8(&spi_size) || !p.U8(&num_transforms)) {
      return Short(where);
    }
    prop.protocol = static_cast<ProtocolId>(protocol);
    if (!p.Copy(spi_size, &prop.spi)) {
      return InvalidSyntaxError(
          absl::StrCat(where, ": SPI size ", static_cast<int>(spi_size), " exceeds the proposal"));
    }
    if (num_transforms == 0) return InvalidSyntaxError(absl::StrCat(where, ": no transform"));
    absl::Status s = DecodeTransforms(p, num_transforms, &prop.transforms);
    if (!s.ok()) return WithContext(s, where);
    if (!p.empty()) {
      return InvalidSyntaxError(
          absl::StrCat(where, ": ", p.remaining(), " bytes after the last transform"));
    }
    sa.proposals.push_back(std::move(prop));
  }
  if (!r.empty()) {
    return InvalidSyntaxError(absl::StrCat(r.remaining(), " bytes after the proposal marked last"));
  }
  return sa;
}

absl::StatusOr<KePayload> DecodeKe(Reader& r) {
  KePayload ke;
  uint16_t group = 0, reserved = 0;
  if (!r.U16(&group) || !r.U16(&reserved)) return Short("KE payload");
  ke.group = static_cast<DhGroup>(group);
  r.Copy(r.remaining(), &ke.data);
  return ke;
}

absl::StatusOr<IdPayload> DecodeId(Reader& r) {
  IdPayload id;
  uint8_t type = 0;
  if (!r.U8(&type) || !r.Skip(3)) return Short("ID payload");
  id.type = static_cast<IdType>(type);
  r.Copy(r.remaining(), &id.data);
  return id;
}

absl::StatusOr<CertPayload> DecodeCert(Reader& r) {
  CertPayload c;
  if (!r.U8(&c.encoding)) return Short("certificate encoding");
  r.Copy(r.remaining(), &c.data);
  return c;
}

absl::StatusOr<AuthPayload> DecodeAuth(Reader& r) {
  AuthPayload a;
  uint8_t method = 0;
  if (!r.U8(&method) || !r.Skip(3)) return Short("AUTH payload");
  a.method = static_cast<AuthMethod>(method);
  r.Copy(r.remaining(), &a.data);
  return a;
}

absl::StatusOr<NoncePayload> DecodeNonce(Reader& r) {
  NoncePayload n;
  r.Copy(r.remaining(), &n.data);
  return n;
}

absl::StatusOr<NotifyPayload> DecodeNotify(Reader& r) {
  NotifyPayload n;
  uint8_t protocol = 0, spi_size = 0;
  uint16_t type = 0;
  if (!r.U8(&protocol) || !r.U8(&spi_size) || !r.U16(&type)) return Short("Notify payload");
  n.protocol = static_cast<ProtocolId>(protocol);
  n.type = static_cast<NotifyType>(type);
  if (!r.Copy(spi_size, &n.spi)) {
    return InvalidSyntaxError(
        absl::StrCat("SPI size ", static_cast<int>(spi_size), " exceeds the payload"));
  }
  r.Copy(r.remaining(), &n.data);
  return n;
}

absl::StatusOr<DeletePayload> DecodeDelete(Reader& r) {
  DeletePayload d;
  uint8_t protocol = 0, spi_size = 0;
  uint16_t count = 0;
  if (!r.U8(&protocol) || !r.U8(&spi_size) || !r.U16(&count)) return Short("Delete payload");
  d.protocol = static_cast<ProtocolId>(protocol);
  size_t want_size = d.protocol == ProtocolId::kIke ? 0 : 4;
  if (IsSaProtocol(d.protocol) && spi_size != want_size) {
    return InvalidSyntaxError(
        absl::StrCat("SPI size ", static_cast<int>(spi_size), " for ", ProtocolIdName(d.protocol)));
  }
  if (r.remaining() != static_cast<size_t>(count) * spi_size) {
    return InvalidSyntaxError(absl::StrCat(count, " SPIs of ", static_cast<int>(spi_size),
                                           " bytes in ", r.remaining(), " bytes"));
  }
  if (spi_size == 4) {
    for (int i = 0; i < count; ++i) {
      uint32_t spi = 0;
      r.U32(&spi);
      d.spis.push_back(spi);
    }
  } else if (spi_size == 0 && count != 0) {
    return InvalidSyntaxError(absl::StrCat(count, " SPIs of size 0"));
  }
  return d;
}

absl::StatusOr<VendorIdPayload> DecodeVendorId(Reader& r) {
  VendorIdPayload v;
  r.Copy(r.remaining(), &v.data);
  return v;
}

absl::StatusOr<TsPayload> DecodeTs(Reader& r) {
  TsPayload ts;
  uint8_t count = 0;
  if (!r.U8(&count) || !r.Skip(3)) return Short("TS payload");
  if (count == 0) return InvalidSyntaxError("no traffic selector");
  for (int i = 0; i < count; ++i) {
    std::string where = absl::StrCat("selector ", i + 1, " of ", static_cast<int>(count));
    TrafficSelector t;
    uint8_t type = 0;
    uint16_t length = 0;
    if (!r.U8(&type) || !r.U8(&t.ip_protocol) || !r.U16(&length)) return Short(where);
    t.type = static_cast<TsType>(type);
    size_t addr = TsAddressSize(t.type);
    if (addr == 0) {
      return InvalidSyntaxError(absl::StrCat(where, ": unsupported type ", static_cast<int>(type)));
    }
    if (length != kSelectorHeaderSize + 2 * addr) {
      return InvalidSyntaxError(
          absl::StrCat(where, ": length ", length, " for ", TsTypeName(t.type)));
    }
    if (!r.U16(&t.start_port) || !r.U16(&t.end_port) || !r.Copy(addr, &t.start_address) ||
        !r.Copy(addr, &t.end_address)) {
      return Short(where);
    }
    ts.selectors.push_back(std::move(t));
  }
  if (!r.empty()) {
    return InvalidSyntaxError(absl::StrCat(r.remaining(), " bytes after the last selector"));
  }
  return ts;
}

template <typename T>
absl::StatusOr<PayloadBody> Wrap(absl::StatusOr<T> v) {
  if (!v.ok()) return v.status();
  return PayloadBody(std::move(*v));
}

absl::StatusOr<PayloadBody> DecodeBody(PayloadType type, Reader& r) {
  switch (type) {
    case PayloadType::kSa:
      return Wrap(DecodeSa(r));
    case PayloadType::kKe:
      return Wrap(DecodeKe(r));
    case PayloadType::kIdi:
    case PayloadType::kIdr:
      return Wrap(DecodeId(r));
    case PayloadType::kCert:
    case PayloadType::kCertReq:
      return Wrap(DecodeCert(r));
    case PayloadType::kAuth:
      return Wrap(DecodeAuth(r));
    case PayloadType::kNonce:
      return Wrap(DecodeNonce(r));
    case PayloadType::kNotify:
      return Wrap(DecodeNotify(r));
    case PayloadType::kDelete:
      return Wrap(DecodeDelete(r));
    case PayloadType::kVendorId:
      return Wrap(DecodeVendorId(r));
    case PayloadType::kTsi:
    case PayloadType::kTsr:
      return Wrap(DecodeTs(r));
    default:
      break;
  }
  return InvalidSyntaxError(
      absl::StrCat("payload type ", static_cast<int>(type), " has no decoder"));
}

// --- encoding ---

absl::Status EncodeSa(const SaPayload& sa, Writer& w) {
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    const Proposal& p = sa.proposals[i];
    size_t start = w.size();
    w.U8(i + 1 == sa.proposals.size() ? 0 : kMoreProposals);
    w.U8(0);
    w.U16(0);  // length, patched below
    w.U8(p.number);
    w.U8(static_cast<uint8_t>(p.protocol));
    w.U8(static_cast<uint8_t>(p.spi.size()));
    w.U8(static_cast<uint8_t>(p.transforms.size()));
    w.Bytes(p.spi);
    for (size_t j = 0; j < p.transforms.size(); ++j) {
      const Transform& t = p.transforms[j];
      size_t tstart = w.size();
      w.U8(j + 1 == p.transforms.size() ? 0 : kMoreTransforms);
      w.U8(0);
      w.U16(0);
      w.U8(static_cast<uint8_t>(t.type));
      w.U8(0);
      w.U16(t.id);
      for (const TransformAttribute& a : t.attributes) {
        if (a.tv) {
          w.U16(a.type | kAttributeFormatTv);
          w.U16(a.tv_value);
        } else {
          if (a.tlv_value.size() > std::numeric_limits<uint16_t>::max()) {
            return InvalidSyntaxError("attribute value over 65535 bytes");
          }
          w.U16(a.type);
          w.U16(static_cast<uint16_t>(a.tlv_value.size()));
          w.Bytes(a.tlv_value);
        }
      }
      size_t tlen = w.size() - tstart;
      if (tlen > std::numeric_limits<uint16_t>::max()) {
        return InvalidSyntaxError("transform over 65535 bytes");
      }
      w.PatchU16(tstart + 2, static_cast<uint16_t>(tlen));
    }
    size_t plen = w.size() - start;
    if (plen > std::numeric_limits<uint16_t>::max()) {
      return InvalidSyntaxError("proposal over 65535 bytes");
    }
    w.PatchU16(start + 2, static_cast<uint16_t>(plen));
  }
  return absl::OkStatus();
}

void EncodeTs(const TsPayload& ts, Writer& w) {
  w.U8(static_cast<uint8_t>(ts.selectors.size()));
  w.Zeros(3);
  for (const TrafficSelector& t : ts.selectors) {
    w.U8(static_cast<uint8_t>(t.type));
    w.U8(t.ip_protocol);
    w.U16(static_cast<uint16_t>(kSelectorHeaderSize + t.start_address.size() * 2));
    w.U16(t.start_port);
    w.U16(t.end_port);
    w.Bytes(t.start_address);
    w.Bytes(t.end_address);
  }
}

}  // namespace

bool IsKnownPayloadType(PayloadType t) {
  switch (t) {
    case PayloadType::kSa:
    case PayloadType::kKe:
    case PayloadType::kIdi:
    case PayloadType::kIdr:
    case PayloadType::kCert:
    case PayloadType::kCertReq:
    case PayloadType::kAuth:
    case PayloadType::kNonce:
    case PayloadType::kNotify:
    case PayloadType::kDelete:
    case PayloadType::kVendorId:
    case PayloadType::kTsi:
    case PayloadType::kTsr:
      return true;
    default:
      return false;
  }
}

std::optional<uint16_t> Transform::KeyLength() const {
  for (const TransformAttribute& a : attributes) {
    if (a.type == static_cast<uint16_t>(TransformAttributeType::kKeyLength) && a.tv) {
      return a.tv_value;
    }
  }
  return std::nullopt;
}

Transform Transform::Encr(EncrId id, uint16_t key_bits) {
  Transform t{TransformType::kEncr, static_cast<uint16_t>(id), {}};
  if (key_bits != 0) {
    t.attributes.push_back(
        {static_cast<uint16_t>(TransformAttributeType::kKeyLength), true, key_bits, {}});
  }
  return t;
}
Transform Transform::Prf(PrfId id) {
  return {TransformType::kPrf, static_cast<uint16_t>(id), {}};
}
Transform Transform::Integ(IntegId id) {
  return {TransformType::kInteg, static_cast<uint16_t>(id), {}};
}
Transform Transform::Dh(DhGroup group) {
  return {TransformType::kDh, static_cast<uint16_t>(group), {}};
}
Transform Transform::Esn(EsnId id) {
  return {TransformType::kEsn, static_cast<uint16_t>(id), {}};
}

absl::StatusOr<PayloadBody> DecodePayloadBody(PayloadType type, absl::Span<const uint8_t> body) {
  Reader r(body);
  absl::StatusOr<PayloadBody> decoded = DecodeBody(type, r);
  if (!decoded.ok()) return decoded.status();
  Payload p{type, std::move(*decoded)};
  absl::Status s = ValidatePayload(p);
  if (!s.ok()) return s;
  return std::move(p.body);
}

absl::StatusOr<Bytes> EncodePayloadBody(const Payload& payload) {
  absl::Status s = ValidatePayload(payload);
  if (!s.ok()) return s;
  Bytes out;
  Writer w(&out);
  if (auto* sa = payload.As<SaPayload>()) {
    s = EncodeSa(*sa, w);
    if (!s.ok()) return s;
  } else if (auto* ke = payload.As<KePayload>()) {
    w.U16(static_cast<uint16_t>(ke->group));
    w.U16(0);
    w.Bytes(ke->data);
  } else if (auto* id = payload.As<IdPayload>()) {
    w.U8(static_cast<uint8_t>(id->type));
    w.Zeros(3);
    w.Bytes(id->data);
  } else if (auto* c = payload.As<CertPayload>()) {
    w.U8(c->encoding);
    w.Bytes(c->data);
  } else if (auto* a = payload.As<AuthPayload>()) {
    w.U8(static_cast<uint8_t>(a->method));
    w.Zeros(3);
    w.Bytes(a->data);
  } else if (auto* n = payload.As<NoncePayload>()) {
    w.Bytes(n->data);
  } else if (auto* n = payload.As<NotifyPayload>()) {
    w.U8(static_cast<uint8_t>(n->protocol));
    w.U8(static_cast<uint8_t>(n->spi.size()));
    w.U16(static_cast<uint16_t>(n->type));
    w.Bytes(n->spi);
    w.Bytes(n->data);
  } else if (auto* d = payload.As<DeletePayload>()) {
    w.U8(static_cast<uint8_t>(d->protocol));
    w.U8(d->protocol == ProtocolId::kIke ? 0 : 4);
    w.U16(static_cast<uint16_t>(d->spis.size()));
    for (uint32_t spi : d->spis) w.U32(spi);
  } else if (auto* v = payload.As<VendorIdPayload>()) {
    w.Bytes(v->data);
  } else if (auto* ts = payload.As<TsPayload>()) {
    EncodeTs(*ts, w);
  }
  return out;
}

}  // namespace portcullis::ike
