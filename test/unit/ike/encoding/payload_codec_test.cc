// Every payload type: its exact wire layout (hex written from RFC 7296 section 3, not from the
// encoder), a round trip, and the malformed forms its decoder must refuse.
#include "ike/encoding/payload_codec.h"

#include <catch2/catch.hpp>

#include "ike/encoding/ike_errors.h"
#include "ike/encoding/message.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::Repeat;
using portcullis::ike::testing::Text;
using portcullis::ike::testing::ToHex;

namespace {

// Encodes, checks the body against `hex`, decodes it back and checks equality; also sends the
// payload through a whole message.
void CheckWire(const Payload& p, const std::string& hex) {
  absl::StatusOr<Bytes> body = EncodePayloadBody(p);
  REQUIRE(body.ok());
  CHECK(ToHex(*body) == ToHex(FromHex(hex)));
  absl::StatusOr<PayloadBody> back = DecodePayloadBody(p.type, *body);
  REQUIRE(back.ok());
  CHECK(Payload{p.type, *back} == p);

  Message m;
  m.header.spi_i = {1, 2, 3, 4, 5, 6, 7, 8};
  m.payloads = {p, p};
  absl::StatusOr<Bytes> wire = EncodeMessage(m);
  REQUIRE(wire.ok());
  absl::StatusOr<Message> decoded = DecodeMessage(*wire);
  REQUIRE(decoded.ok());
  CHECK(*decoded == m);
}

void RequireBodyError(PayloadType type, const std::string& hex, const std::string& substring) {
  absl::StatusOr<PayloadBody> r = DecodePayloadBody(type, FromHex(hex));
  INFO(PayloadTypeName(type) << " " << hex);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().ToString());
  CHECK(IsInvalidSyntax(r.status()));
  CHECK_THAT(std::string(r.status().message()), Catch::Contains(substring));
}

Proposal IkeAesCbc() {
  Proposal p;
  p.number = 1;
  p.protocol = ProtocolId::kIke;
  p.transforms = {Transform::Encr(EncrId::kAesCbc, 256),
                  Transform::Integ(IntegId::kHmacSha2_256_128),
                  Transform::Prf(PrfId::kHmacSha2_256), Transform::Dh(DhGroup::kModp2048)};
  return p;
}

// The SA body of IkeAesCbc(), from RFC 7296 3.3.1, 3.3.2 and 3.3.5.
constexpr char kIkeAesCbcHex[] =
    "00 00 002c 01 01 00 04"           // last proposal, length 44, #1, IKE, no SPI, 4 transforms
    "03 00 000c 01 00 000c 800e 0100"  // ENCR AES_CBC, Key Length (TV) 256
    "03 00 0008 03 00 000c"            // INTEG HMAC_SHA2_256_128
    "03 00 0008 02 00 0005"            // PRF HMAC_SHA2_256
    "00 00 0008 04 00 000e";           // DH 14, last transform

}  // namespace

TEST_CASE("SA payload wire layout and round trip", "[payload]") {
  CheckWire({PayloadType::kSa, SaPayload{{IkeAesCbc()}}}, kIkeAesCbcHex);
  CHECK(IkeAesCbc().transforms[0].KeyLength() == 256);
  CHECK_FALSE(IkeAesCbc().transforms[1].KeyLength().has_value());
}

TEST_CASE("SA payload with several proposals, SPIs and attributes round trips", "[payload]") {
  Proposal esp1;
  esp1.number = 1;
  esp1.protocol = ProtocolId::kEsp;
  esp1.spi = FromHex("c1c2c3c4");
  esp1.transforms = {Transform::Encr(EncrId::kAesGcm16, 128),
                     Transform::Encr(EncrId::kAesGcm16, 256), Transform::Esn(EsnId::kNoEsn)};
  Proposal esp2 = esp1;
  esp2.number = 2;
  esp2.transforms = {Transform::Encr(EncrId::kAesCbc, 128), Transform::Integ(IntegId::kHmacSha1_96),
                     Transform::Dh(DhGroup::kCurve25519), Transform::Esn(EsnId::kEsn)};
  // An unknown TLV attribute is carried (the proposal matcher rejects the transform, not the
  // codec).
  esp2.transforms[1].attributes.push_back({0x1234, false, 0, FromHex("beef")});
  Proposal rekey_ike = IkeAesCbc();
  rekey_ike.number = 3;
  rekey_ike.spi = Repeat(0x77, 8);
  SaPayload sa{{esp1, esp2, rekey_ike}};
  absl::StatusOr<Bytes> body = EncodePayloadBody({PayloadType::kSa, sa});
  REQUIRE(body.ok());
  absl::StatusOr<PayloadBody> back = DecodePayloadBody(PayloadType::kSa, *body);
  REQUIRE(back.ok());
  CHECK(std::get<SaPayload>(*back) == sa);
}

TEST_CASE("a response's single proposal keeps the number that was chosen", "[payload]") {
  Proposal p = IkeAesCbc();
  p.number = 5;
  CheckWire({PayloadType::kSa, SaPayload{{p}}},
            "00 00 002c 05 01 00 04 03 00 000c 01 00 000c 800e 0100 03 00 0008 03 00 000c"
            "03 00 0008 02 00 0005 00 00 0008 04 00 000e");
}

TEST_CASE("malformed SA payloads are refused", "[payload][malformed]") {
  const std::string t1 = "03 00 0008 01 00 000c";  // a transform, more follow
  const std::string tl = "00 00 0008 04 00 000e";  // a last transform
  SECTION("bad proposal numbering") {
    RequireBodyError(PayloadType::kSa,
                     "02 00 0018 01 01 00 02 " + t1 + tl + "00 00 0018 03 01 00 02 " + t1 + tl,
                     "proposal 3 follows proposal 1");
    RequireBodyError(PayloadType::kSa,
                     "02 00 0018 02 01 00 02 " + t1 + tl + "00 00 0018 03 01 00 02 " + t1 + tl,
                     "first proposal is numbered 2");
    RequireBodyError(PayloadType::kSa, "00 00 0018 00 01 00 02 " + t1 + tl, "numbered 0");
  }
  SECTION("transform length larger than what is there") {
    RequireBodyError(PayloadType::kSa, "00 00 0010 01 01 00 02 03 00 000c 01 00 000c" + tl,
                     "exceeds the proposal");
  }
  SECTION("transform length below 8") {
    RequireBodyError(PayloadType::kSa, "00 00 000c 01 01 00 01 00 00 0004 04 00 000e",
                     "length 4 < 8");
  }
  SECTION("transform length smaller than its attributes: the rest is not a transform") {
    RequireBodyError(PayloadType::kSa,
                     "00 00 001c 01 01 00 02 03 00 0008 01 00 000c 800e 0100" + tl,
                     "transform 2 of 2");
  }
  SECTION("transform count larger than the transforms present") {
    RequireBodyError(PayloadType::kSa, "00 00 0018 01 01 00 03 " + t1 + tl, "marked last");
  }
  SECTION("transform count smaller than the transforms present") {
    RequireBodyError(PayloadType::kSa, "00 00 0020 01 01 00 02 " + t1 + t1 + tl,
                     "more transforms announced");
  }
  SECTION("bytes after the last transform") {
    RequireBodyError(PayloadType::kSa, "00 00 001a 01 01 00 02 " + t1 + tl + "0000",
                     "2 bytes after the last transform");
  }
  SECTION("Last Substruc values") {
    RequireBodyError(PayloadType::kSa, "00 00 0018 01 01 00 02 05 00 0008 01 00 000c" + tl,
                     "Last Substruc 5");
    RequireBodyError(PayloadType::kSa, "02 00 0018 01 01 00 02 " + t1 + tl, "is missing");
    RequireBodyError(PayloadType::kSa, "00 00 0018 01 01 00 02 " + t1 + tl + "00 00 0010",
                     "after the proposal marked last");
  }
  SECTION("proposal length") {
    RequireBodyError(PayloadType::kSa, "00 00 0007 01 01 00 02", "length 7 < 8");
    RequireBodyError(PayloadType::kSa, "00 00 0040 01 01 00 02 " + t1 + tl, "exceeds the payload");
  }
  SECTION("no proposal, no transform") {
    RequireBodyError(PayloadType::kSa, "", "SA payload truncated");
    RequireBodyError(PayloadType::kSa, "00 00 0008 01 01 00 00", "no transform");
  }
  SECTION("SPI sizes") {
    RequireBodyError(PayloadType::kSa, "00 00 001c 01 01 04 02 01020304 " + t1 + tl,
                     "SPI size 4 for protocol IKE");
    RequireBodyError(PayloadType::kSa, "00 00 0018 01 03 00 02 " + t1 + tl,
                     "SPI size 0 for protocol ESP");
    RequireBodyError(PayloadType::kSa, "00 00 0018 01 03 20 02 " + t1 + tl,
                     "SPI size 32 exceeds the proposal");
    RequireBodyError(PayloadType::kSa, "00 00 0018 01 07 00 02 " + t1 + tl, "protocol id 7");
  }
  SECTION("attribute formats") {
    // Key Length as TLV.
    RequireBodyError(PayloadType::kSa,
                     "00 00 0016 01 01 00 01 00 00 000e 01 00 000c 000e 0002 0100",
                     "Key Length attribute must use the TV format");
    // TLV length beyond the transform.
    RequireBodyError(PayloadType::kSa, "00 00 0014 01 01 00 01 00 00 000c 01 00 000c 0001 0009",
                     "attribute length 9");
    // Key Length twice.
    RequireBodyError(PayloadType::kSa,
                     "00 00 0018 01 01 00 01 00 00 0010 01 00 000c 800e 0080 800e 0100",
                     "Key Length attribute repeated");
    // Half an attribute.
    RequireBodyError(PayloadType::kSa, "00 00 0012 01 01 00 01 00 00 000a 01 00 000c 800e",
                     "attribute value truncated");
  }
}

TEST_CASE("KE payload", "[payload]") {
  CheckWire({PayloadType::kKe, KePayload{DhGroup::kEcp256, Repeat(0x42, 64)}},
            "0013 0000" + ToHex(Repeat(0x42, 64)));
  RequireBodyError(PayloadType::kKe, "000e 0000", "empty key exchange data");
  RequireBodyError(PayloadType::kKe, "000e 00", "KE payload truncated");
}

TEST_CASE("ID payloads of every type Portcullis uses", "[payload]") {
  CheckWire({PayloadType::kIdi, IdPayload{IdType::kIpv4Addr, {159, 8, 98, 213}}},
            "01 000000 9f0862d5");
  CheckWire({PayloadType::kIdr,
             IdPayload{IdType::kIpv6Addr, FromHex("20010db8000000000000000000000001")}},
            "05 000000 20010db8000000000000000000000001");
  CheckWire({PayloadType::kIdi, IdPayload{IdType::kFqdn, Text("vpn.example.com")}},
            "02 000000" + ToHex(Text("vpn.example.com")));
  CheckWire({PayloadType::kIdr, IdPayload{IdType::kRfc822Addr, Text("ops@example.com")}},
            "03 000000" + ToHex(Text("ops@example.com")));
  CheckWire({PayloadType::kIdi, IdPayload{IdType::kKeyId, FromHex("00ff10")}}, "0b 000000 00ff10");
  RequireBodyError(PayloadType::kIdi, "01 000000 0a000001ff", "ID_IPV4_ADDR of 5 bytes, not 4");
  RequireBodyError(PayloadType::kIdr, "05 000000 0a000001", "ID_IPV6_ADDR of 4 bytes, not 16");
  RequireBodyError(PayloadType::kIdi, "02 000000", "empty identification data");
  RequireBodyError(PayloadType::kIdi, "00 000000 01", "ID type 0");
  RequireBodyError(PayloadType::kIdi, "01 00", "ID payload truncated");
}

TEST_CASE("CERT and CERTREQ payloads are decoded (and can be ignored)", "[payload]") {
  CheckWire({PayloadType::kCertReq, CertPayload{4, Repeat(0xaa, 40)}},
            "04" + ToHex(Repeat(0xaa, 40)));
  CheckWire({PayloadType::kCertReq, CertPayload{4, {}}}, "04");
  CheckWire({PayloadType::kCert, CertPayload{4, FromHex("3082")}}, "04 3082");
  RequireBodyError(PayloadType::kCertReq, "", "certificate encoding truncated");
}

TEST_CASE("AUTH payload", "[payload]") {
  CheckWire({PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, Repeat(0x5c, 32)}},
            "02 000000" + ToHex(Repeat(0x5c, 32)));
  RequireBodyError(PayloadType::kAuth, "02 000000", "empty authentication data");
}

TEST_CASE("Nonce payload is 16 to 256 bytes", "[payload]") {
  CheckWire({PayloadType::kNonce, NoncePayload{Repeat(1, 16)}}, ToHex(Repeat(1, 16)));
  CheckWire({PayloadType::kNonce, NoncePayload{Repeat(2, 256)}}, ToHex(Repeat(2, 256)));
  RequireBodyError(PayloadType::kNonce, ToHex(Repeat(1, 15)), "nonce of 15 bytes");
  RequireBodyError(PayloadType::kNonce, ToHex(Repeat(1, 257)), "nonce of 257 bytes");
}

TEST_CASE("Notify payloads", "[payload]") {
  CheckWire(
      {PayloadType::kNotify,
       NotifyPayload{ProtocolId::kNone, {}, NotifyType::kNatDetectionSourceIp, Repeat(3, 20)}},
      "00 00 4004" + ToHex(Repeat(3, 20)));
  CheckWire({PayloadType::kNotify,
             NotifyPayload{ProtocolId::kEsp, FromHex("c1c2c3c4"), NotifyType::kRekeySa, {}}},
            "03 04 4009 c1c2c3c4");
  CheckWire({PayloadType::kNotify,
             NotifyPayload{ProtocolId::kNone, {}, NotifyType::kInvalidKePayload, FromHex("0013")}},
            "00 00 0011 0013");
  CheckWire({PayloadType::kNotify,
             NotifyPayload{ProtocolId::kNone, {}, NotifyType::kCookie, Repeat(9, 64)}},
            "00 00 4006" + ToHex(Repeat(9, 64)));
  CheckWire({PayloadType::kNotify,
             NotifyPayload{
                 ProtocolId::kNone, {}, NotifyType::kSignatureHashAlgorithms, FromHex("00020003")}},
            "00 00 402f 00020003");
  // A notify type we do not know is still decoded; the exchange decides what to do with it.
  CheckWire({PayloadType::kNotify,
             NotifyPayload{ProtocolId::kNone, {}, static_cast<NotifyType>(50000), {1}}},
            "00 00 c350 01");

  RequireBodyError(PayloadType::kNotify, "00 03 4000 010203", "SPI size 3");
  RequireBodyError(PayloadType::kNotify, "00 08 4000 0102", "exceeds the payload");
  RequireBodyError(PayloadType::kNotify, "00 00 4004" + ToHex(Repeat(1, 19)),
                   "NAT_DETECTION_SOURCE_IP data of 19 bytes");
  RequireBodyError(PayloadType::kNotify, "00 00 4006" + ToHex(Repeat(1, 65)), "COOKIE of 65 bytes");
  RequireBodyError(PayloadType::kNotify, "00 00 4006", "COOKIE of 0 bytes");
  RequireBodyError(PayloadType::kNotify, "00 00 0011 13", "INVALID_KE_PAYLOAD data of 1 bytes");
  RequireBodyError(PayloadType::kNotify, "00 00 4009", "REKEY_SA with SPI size 0");
  RequireBodyError(PayloadType::kNotify, "09 04 000b 01020304", "protocol id 9 with an SPI");
  RequireBodyError(PayloadType::kNotify, "00 00 0000", "notify type 0");
  RequireBodyError(PayloadType::kNotify, "00 00 40", "Notify payload truncated");
}

TEST_CASE("Delete payloads", "[payload]") {
  CheckWire({PayloadType::kDelete, DeletePayload{ProtocolId::kIke, {}}}, "01 00 0000");
  CheckWire({PayloadType::kDelete, DeletePayload{ProtocolId::kEsp, {0x9796e1b4, 0xdb89cc43}}},
            "03 04 0002 9796e1b4 db89cc43");
  RequireBodyError(PayloadType::kDelete, "03 08 0001 0102030405060708", "SPI size 8 for ESP");
  RequireBodyError(PayloadType::kDelete, "03 04 0002 01020304", "2 SPIs of 4 bytes in 4 bytes");
  RequireBodyError(PayloadType::kDelete, "03 04 0001 0102030405", "1 SPIs of 4 bytes in 5 bytes");
  RequireBodyError(PayloadType::kDelete, "01 00 0001", "1 SPIs of size 0");
  RequireBodyError(PayloadType::kDelete, "01 04 0001 01020304", "SPI size 4 for IKE");
  RequireBodyError(PayloadType::kDelete, "07 00 0000", "protocol id 7");
}

TEST_CASE("Vendor ID payload", "[payload]") {
  CheckWire({PayloadType::kVendorId, VendorIdPayload{FromHex("882fe56d6fd20dbc2251613b2ebe5beb")}},
            "882fe56d6fd20dbc2251613b2ebe5beb");
}

TEST_CASE("TS payloads with IPv4 and IPv6 ranges, protocols and ports", "[payload]") {
  TrafficSelector v4{TsType::kIpv4AddrRange, 0, 0, 65535, {10, 1, 0, 0}, {10, 1, 0, 255}};
  TrafficSelector v4_tcp{TsType::kIpv4AddrRange, 6, 443, 443, {0, 0, 0, 0}, {255, 255, 255, 255}};
  TrafficSelector v6{TsType::kIpv6AddrRange,
                     17,
                     500,
                     4500,
                     FromHex("20010db8000000000000000000000000"),
                     FromHex("20010db800000000ffffffffffffffff")};
  CheckWire({PayloadType::kTsi, TsPayload{{v4}}},
            "01 000000 07 00 0010 0000 ffff 0a010000 0a0100ff");
  CheckWire(
      {PayloadType::kTsr, TsPayload{{v4_tcp, v6}}},
      "02 000000 07 06 0010 01bb 01bb 00000000 ffffffff"
      "08 11 0028 01f4 1194 20010db8000000000000000000000000 20010db800000000ffffffffffffffff");

  RequireBodyError(PayloadType::kTsi, "00 000000", "no traffic selector");
  RequireBodyError(PayloadType::kTsi, "02 000000 07 00 0010 0000 ffff 0a010000 0a0100ff",
                   "selector 2 of 2 truncated");
  RequireBodyError(PayloadType::kTsi, "01 000000 07 00 0014 0000 ffff 0a010000 0a0100ff 00000000",
                   "length 20 for TS_IPV4_ADDR_RANGE");
  RequireBodyError(PayloadType::kTsi, "01 000000 09 00 0010 0000 ffff 0a010000 0a0100ff",
                   "unsupported type 9");
  RequireBodyError(PayloadType::kTsi, "01 000000 07 00 0010 0000 ffff 0a010000 0a0100ff 00",
                   "1 bytes after the last selector");
  RequireBodyError(PayloadType::kTsi, "01 000000 07 00 0010 0000 ffff 0a010000 0a01",
                   "selector 1 of 1 truncated");
}

TEST_CASE("the encoder applies the decoder's rules", "[payload]") {
  CHECK_FALSE(EncodePayloadBody({PayloadType::kNonce, NoncePayload{Repeat(1, 8)}}).ok());
  CHECK_FALSE(EncodePayloadBody({PayloadType::kSa, KePayload{DhGroup::kModp2048, {1}}}).ok());
  CHECK_FALSE(EncodePayloadBody({PayloadType::kSa, SaPayload{}}).ok());
  Proposal bad = IkeAesCbc();
  bad.spi = Repeat(1, 4);
  CHECK_FALSE(EncodePayloadBody({PayloadType::kSa, SaPayload{{bad}}}).ok());
  CHECK_FALSE(EncodePayloadBody(
                  {PayloadType::kTsi, TsPayload{{{TsType::kIpv4AddrRange, 0, 0, 1, {1}, {2}}}}})
                  .ok());
  CHECK_FALSE(EncodePayloadBody({PayloadType::kIdi, IdPayload{IdType::kIpv4Addr, {1, 2, 3}}}).ok());
  CHECK_FALSE(EncodePayloadBody({PayloadType::kDelete, DeletePayload{ProtocolId::kIke, {1}}}).ok());
  CHECK_FALSE(EncodePayloadBody({PayloadType::kNotify,
                                 NotifyPayload{ProtocolId::kNone, {}, NotifyType::kCookie, {}}})
                  .ok());
}
