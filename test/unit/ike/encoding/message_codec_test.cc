// The message codec: header fields, the payload chain, the SK payload as the chain's end, and
// every way a message can be cut, padded or mislabelled that RFC 7296 says must be refused.
#include "ike/encoding/message.h"

#include <catch2/catch.hpp>

#include "ike/encoding/ike_errors.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::Repeat;
using portcullis::ike::testing::ToHex;

namespace {

constexpr IkeSpi kSpiI = {0x65, 0x96, 0x7e, 0xb4, 0xbe, 0xab, 0x85, 0x49};
constexpr IkeSpi kSpiR = {0x1e, 0xac, 0xdf, 0xa5, 0xf9, 0x26, 0xb9, 0xa3};

SaPayload IkeProposal() {
  Proposal p;
  p.number = 1;
  p.protocol = ProtocolId::kIke;
  p.transforms = {Transform::Encr(EncrId::kAesCbc, 256),
                  Transform::Integ(IntegId::kHmacSha2_256_128),
                  Transform::Prf(PrfId::kHmacSha2_256), Transform::Dh(DhGroup::kModp2048)};
  return SaPayload{{p}};
}

// An IKE_SA_INIT request as strongSwan sends one (SA KE No N N V).
Message SaInitRequest() {
  Message m;
  m.header.spi_i = kSpiI;
  m.header.exchange = ExchangeType::kIkeSaInit;
  m.header.initiator = true;
  m.header.message_id = 0;
  m.payloads.push_back({PayloadType::kSa, IkeProposal()});
  m.payloads.push_back({PayloadType::kKe, KePayload{DhGroup::kModp2048, Repeat(0xab, 256)}});
  m.payloads.push_back({PayloadType::kNonce, NoncePayload{Repeat(0x11, 32)}});
  m.payloads.push_back(
      {PayloadType::kNotify,
       NotifyPayload{ProtocolId::kNone, {}, NotifyType::kNatDetectionSourceIp, Repeat(1, 20)}});
  m.payloads.push_back(
      {PayloadType::kNotify,
       NotifyPayload{
           ProtocolId::kNone, {}, NotifyType::kNatDetectionDestinationIp, Repeat(2, 20)}});
  m.payloads.push_back(
      {PayloadType::kVendorId, VendorIdPayload{FromHex("882fe56d6fd20dbc2251613b2ebe5beb")}});
  return m;
}

Bytes Encode(const Message& m) {
  absl::StatusOr<Bytes> wire = EncodeMessage(m);
  REQUIRE(wire.ok());
  return *wire;
}

void SetLength(Bytes& wire, uint32_t length) {
  for (int i = 0; i < 4; ++i) wire[24 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
}

// A message of the header and the given raw payload bytes, first payload `first`.
Bytes RawMessage(PayloadType first, const Bytes& payload_bytes) {
  Message m;
  m.header.spi_i = kSpiI;
  Bytes wire = Encode(m);
  wire[16] = static_cast<uint8_t>(first);
  wire.insert(wire.end(), payload_bytes.begin(), payload_bytes.end());
  SetLength(wire, static_cast<uint32_t>(wire.size()));
  return wire;
}

void RequireSyntaxError(absl::Span<const uint8_t> wire, const std::string& substring) {
  absl::StatusOr<Message> m = DecodeMessage(wire);
  REQUIRE_FALSE(m.ok());
  INFO(m.status().ToString());
  CHECK(IsInvalidSyntax(m.status()));
  CHECK_THAT(std::string(m.status().message()), Catch::Contains(substring));
}

}  // namespace

TEST_CASE("IKE header fields are encoded at their RFC 7296 offsets", "[codec]") {
  Message m;
  m.header.spi_i = kSpiI;
  m.header.spi_r = kSpiR;
  m.header.exchange = ExchangeType::kInformational;
  m.header.initiator = true;
  m.header.response = true;
  m.header.message_id = 0x01020304;
  Bytes wire = Encode(m);
  CHECK(ToHex(wire) ==
        "65967eb4beab8549"  // SPIi
        "1eacdfa5f926b9a3"  // SPIr
        "00"                // no next payload
        "20"                // version 2.0
        "25"                // INFORMATIONAL
        "28"                // I | R
        "01020304"          // message ID
        "0000001c");        // length 28
}

TEST_CASE("header flags and message ID round trip", "[codec]") {
  for (int flags = 0; flags < 8; ++flags) {
    Message m;
    m.header.spi_i = kSpiI;
    m.header.spi_r = kSpiR;
    m.header.exchange = ExchangeType::kCreateChildSa;
    m.header.initiator = flags & 1;
    m.header.version = flags & 2;
    m.header.response = flags & 4;
    m.header.message_id = 0xfffffff0u + flags;
    absl::StatusOr<Message> back = DecodeMessage(Encode(m));
    REQUIRE(back.ok());
    CHECK(*back == m);
  }
}

TEST_CASE("reserved flag bits and the minor version are ignored on receipt", "[codec]") {
  Bytes wire = Encode(SaInitRequest());
  wire[17] = 0x27;   // version 2.7
  wire[19] |= 0xc7;  // reserved flag bits
  absl::StatusOr<Message> m = DecodeMessage(wire);
  REQUIRE(m.ok());
  CHECK(m->header.initiator);
  CHECK_FALSE(m->header.response);
  CHECK_FALSE(m->header.version);
}

TEST_CASE("IKE_SA_INIT request round trips through the codec", "[codec]") {
  Message m = SaInitRequest();
  Bytes wire = Encode(m);
  absl::StatusOr<Message> back = DecodeMessage(wire);
  REQUIRE(back.ok());
  CHECK(*back == m);
  CHECK(Encode(*back) == wire);
  absl::StatusOr<DecodedHeader> h = DecodeHeader(wire);
  REQUIRE(h.ok());
  CHECK(h->first_payload == PayloadType::kSa);
  CHECK(h->length == wire.size());
  CHECK(back->Notifies(NotifyType::kNatDetectionDestinationIp).size() == 1);
  CHECK(back->Find(PayloadType::kKe) != nullptr);
  CHECK(back->Find(PayloadType::kAuth) == nullptr);
  CHECK(MessageSummary(*back) ==
        "IKE_SA_INIT request 0 [ SA KE No N(NAT_DETECTION_SOURCE_IP) "
        "N(NAT_DETECTION_DESTINATION_IP) V ]");
}

TEST_CASE("an SK payload ends the chain and carries the first inner type", "[codec]") {
  Message m;
  m.header.spi_i = kSpiI;
  m.header.spi_r = kSpiR;
  m.header.exchange = ExchangeType::kIkeAuth;
  m.header.initiator = true;
  m.header.message_id = 1;
  m.sk = SkPayload{PayloadType::kIdi, Repeat(0x5a, 80)};
  Bytes wire = Encode(m);
  CHECK(wire[16] == static_cast<uint8_t>(PayloadType::kSk));
  CHECK(wire[28] == static_cast<uint8_t>(PayloadType::kIdi));  // SK's Next Payload
  absl::StatusOr<Message> back = DecodeMessage(wire);
  REQUIRE(back.ok());
  CHECK(*back == m);
  CHECK(MessageSummary(*back) == "IKE_AUTH request 1 [ SK ]");

  SECTION("after clear payloads") {
    m.payloads.push_back(
        {PayloadType::kNotify,
         NotifyPayload{ProtocolId::kNone, {}, NotifyType::kCookie, Repeat(7, 16)}});
    back = DecodeMessage(Encode(m));
    REQUIRE(back.ok());
    CHECK(*back == m);
  }
  SECTION("an empty one (a liveness check) has no inner payload") {
    m.header.exchange = ExchangeType::kInformational;
    m.sk = SkPayload{PayloadType::kNone, Repeat(0, 32)};
    back = DecodeMessage(Encode(m));
    REQUIRE(back.ok());
    CHECK(back->sk->first_inner == PayloadType::kNone);
  }
  SECTION("its first inner payload may not be another SK") {
    Bytes nested = wire;
    nested[28] = static_cast<uint8_t>(PayloadType::kSk);
    RequireSyntaxError(nested, "SK inside SK");
  }
  SECTION("nothing may follow it") {
    Bytes longer = wire;
    longer.insert(longer.end(), {0, 0, 0, 4});
    SetLength(longer, static_cast<uint32_t>(longer.size()));
    RequireSyntaxError(longer, "bytes after the SK payload");
  }
}

TEST_CASE("a payload chain on its own round trips; SK may not nest", "[codec]") {
  std::vector<Payload> inner = {
      {PayloadType::kIdi, IdPayload{IdType::kIpv4Addr, {192, 0, 2, 1}}},
      {PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, Repeat(9, 32)}},
      {PayloadType::kSa, IkeProposal()},
  };
  absl::StatusOr<Bytes> chain = EncodePayloadChain(inner);
  REQUIRE(chain.ok());
  CHECK(FirstPayloadType(inner) == PayloadType::kIdi);
  absl::StatusOr<std::vector<Payload>> back = DecodePayloadChain(PayloadType::kIdi, *chain);
  REQUIRE(back.ok());
  CHECK(*back == inner);

  Bytes nested = {0, 0, 0, 8, 1, 2, 3, 4};
  absl::StatusOr<std::vector<Payload>> bad = DecodePayloadChain(PayloadType::kSk, nested);
  REQUIRE_FALSE(bad.ok());
  CHECK(IsInvalidSyntax(bad.status()));
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("SK inside SK"));

  absl::StatusOr<std::vector<Payload>> empty = DecodePayloadChain(PayloadType::kNone, {});
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("a hand-assembled message decodes to the expected payloads", "[codec]") {
  // INFORMATIONAL response: Delete(ESP, 2 SPIs) then N(INVALID_SPI, ESP, spi), built byte by
  // byte from RFC 7296 3.1, 3.2, 3.10 and 3.11, independently of the encoder.
  Bytes wire = FromHex(
      "65967eb4beab8549 1eacdfa5f926b9a3"
      "2a 20 25 20 00000007 00000038"            // next D, v2.0, INFORMATIONAL, R, mid 7, len 56
      "29 00 0010 03 04 0002 c1c2c3c4 d1d2d3d4"  // D: next N, len 16, ESP, SPI size 4, 2 SPIs
      "00 00 000c 03 04 000b e1e2e3e4");         // N: len 12, ESP, SPI size 4, INVALID_SPI, SPI
  absl::StatusOr<Message> m = DecodeMessage(wire);
  REQUIRE(m.ok());
  CHECK(m->header.response);
  CHECK_FALSE(m->header.initiator);
  CHECK(m->header.message_id == 7);
  REQUIRE(m->payloads.size() == 2);
  const DeletePayload* d = m->payloads[0].As<DeletePayload>();
  REQUIRE(d != nullptr);
  CHECK(d->protocol == ProtocolId::kEsp);
  CHECK(d->spis == std::vector<uint32_t>{0xc1c2c3c4, 0xd1d2d3d4});
  const NotifyPayload* n = m->payloads[1].As<NotifyPayload>();
  REQUIRE(n != nullptr);
  CHECK(n->type == NotifyType::kInvalidSpi);
  CHECK(n->spi == FromHex("e1e2e3e4"));
  CHECK(n->data.empty());
  CHECK(Encode(*m) == wire);
}

TEST_CASE("unknown payloads: skipped when not critical, refused when critical", "[codec]") {
  // N(INITIAL_CONTACT), then an unknown type 200, then V.
  Bytes notify = FromHex("c8 00 0008 00 00 4000");
  Bytes unknown = FromHex("2b 00 0009 0102030405");
  Bytes vendor = FromHex("00 00 0006 abcd");
  Bytes payloads = notify;
  payloads.insert(payloads.end(), unknown.begin(), unknown.end());
  payloads.insert(payloads.end(), vendor.begin(), vendor.end());

  SECTION("non-critical") {
    absl::StatusOr<Message> m = DecodeMessage(RawMessage(PayloadType::kNotify, payloads));
    REQUIRE(m.ok());
    REQUIRE(m->payloads.size() == 2);
    CHECK(m->payloads[0].type == PayloadType::kNotify);
    CHECK(m->payloads[1].type == PayloadType::kVendorId);
  }
  SECTION("critical") {
    payloads[notify.size() + 1] = 0x80;
    absl::StatusOr<Message> m = DecodeMessage(RawMessage(PayloadType::kNotify, payloads));
    REQUIRE_FALSE(m.ok());
    CHECK_FALSE(IsInvalidSyntax(m.status()));
    REQUIRE(UnsupportedCriticalPayloadType(m.status()).has_value());
    CHECK(*UnsupportedCriticalPayloadType(m.status()) == 200);
  }
  SECTION("a payload type we do not implement (CP) counts as unknown") {
    Bytes cp = FromHex("00 80 0008 01000000");
    absl::StatusOr<Message> m = DecodeMessage(RawMessage(PayloadType::kCp, cp));
    REQUIRE_FALSE(m.ok());
    CHECK(UnsupportedCriticalPayloadType(m.status()) == 47);
  }
  SECTION("the critical bit on a known payload is ignored") {
    Bytes critical_notify = FromHex("00 80 0008 00 00 4000");
    absl::StatusOr<Message> m = DecodeMessage(RawMessage(PayloadType::kNotify, critical_notify));
    REQUIRE(m.ok());
    CHECK(m->payloads.size() == 1);
  }
}

TEST_CASE("malformed headers are refused", "[codec][malformed]") {
  Bytes wire = Encode(SaInitRequest());

  SECTION("truncated header") {
    RequireSyntaxError(absl::MakeConstSpan(wire.data(), 27), "shorter than the IKE header");
    RequireSyntaxError(absl::Span<const uint8_t>(), "shorter than the IKE header");
  }
  SECTION("length larger than the data") {
    SetLength(wire, static_cast<uint32_t>(wire.size() + 1));
    RequireSyntaxError(wire, "exceeds");
  }
  SECTION("length smaller than the data: trailing garbage") {
    wire.push_back(0);
    RequireSyntaxError(wire, "1 bytes after the header length");
  }
  SECTION("IKEv1 (version 1.0)") {
    wire[17] = 0x10;
    absl::StatusOr<Message> m = DecodeMessage(wire);
    REQUIRE_FALSE(m.ok());
    CHECK(InvalidMajorVersion(m.status()) == 1);
  }
  SECTION("a newer major version") {
    wire[17] = 0x30;
    absl::StatusOr<Message> m = DecodeMessage(wire);
    REQUIRE_FALSE(m.ok());
    CHECK(InvalidMajorVersion(m.status()) == 3);
  }
  SECTION("zero initiator SPI") {
    std::fill(wire.begin(), wire.begin() + 8, 0);
    RequireSyntaxError(wire, "initiator SPI is zero");
  }
}

TEST_CASE("malformed payload chains are refused", "[codec][malformed]") {
  Bytes wire = Encode(SaInitRequest());
  // The first payload's generic header is at offset 28.

  SECTION("payload length 0 (would loop forever)") {
    wire[30] = 0;
    wire[31] = 0;
    RequireSyntaxError(wire, "length 0 < 4");
  }
  SECTION("payload length 3") {
    wire[30] = 0;
    wire[31] = 3;
    RequireSyntaxError(wire, "length 3 < 4");
  }
  SECTION("payload length beyond the message") {
    wire[30] = 0xff;
    wire[31] = 0xff;
    RequireSyntaxError(wire, "exceeds");
  }
  SECTION("a next payload announced after the last bytes") {
    Bytes chain = FromHex("2b 00 0006 abcd");  // V saying another V follows
    RequireSyntaxError(RawMessage(PayloadType::kVendorId, chain),
                       "announced, but the message ends");
  }
  SECTION("trailing garbage after the last payload") {
    Bytes chain = FromHex("00 00 0006 abcd 00 00");
    RequireSyntaxError(RawMessage(PayloadType::kVendorId, chain), "2 bytes after the last payload");
  }
  SECTION("every truncation of a valid message, with the header length fixed up") {
    for (size_t n = kIkeHeaderSize; n < wire.size(); ++n) {
      Bytes cut(wire.begin(), wire.begin() + n);
      SetLength(cut, static_cast<uint32_t>(n));
      absl::StatusOr<Message> m = DecodeMessage(cut);
      INFO("cut at " << n);
      REQUIRE_FALSE(m.ok());
      CHECK(IsInvalidSyntax(m.status()));
    }
  }
  SECTION("payload errors name the payload") {
    wire[28 + 4] = 7;  // the proposal's Last Substruc: only 0 and 2 exist
    RequireSyntaxError(wire, "payload 1 (SA): proposal 1: Last Substruc 7");
  }
}

TEST_CASE("the encoder refuses what it cannot represent", "[codec]") {
  Message m = SaInitRequest();
  SECTION("a body that does not belong to its type") {
    m.payloads[0].type = PayloadType::kKe;
    absl::StatusOr<Bytes> wire = EncodeMessage(m);
    REQUIRE_FALSE(wire.ok());
    CHECK_THAT(std::string(wire.status().message()), Catch::Contains("does not belong"));
  }
  SECTION("SK as a clear payload type") {
    m.payloads[0].type = PayloadType::kSk;
    CHECK_FALSE(EncodeMessage(m).ok());
  }
  SECTION("a payload over 65535 bytes") {
    m.payloads.push_back({PayloadType::kVendorId, VendorIdPayload{Repeat(0, 70000)}});
    CHECK_FALSE(EncodeMessage(m).ok());
  }
  SECTION("zero initiator SPI") {
    m.header.spi_i = {};
    CHECK_FALSE(EncodeMessage(m).ok());
  }
}
