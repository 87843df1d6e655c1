// RFC 9611's notifies on the wire: the bytes written from the RFC's section 4 (Protocol ID 0,
// SPI Size 0, Notify Message Type 16444 = 0x403c for SA_RESOURCE_INFO with its optional
// resource identifier, 48 = 0x0030 for TS_MAX_QUEUE without data) and IANA's registry, not
// from our encoder; and what a receiver takes from a peer's.
#include "ike/encoding/resource_info.h"

#include <catch2/catch.hpp>

#include "ike/encoding/ike_types.h"
#include "ike/encoding/message.h"
#include "ike/encoding/payload_codec.h"
#include "test/unit/ike/ike_test_util.h"

using namespace portcullis::ike;
using portcullis::ike::testing::FromHex;
using portcullis::ike::testing::ToHex;

namespace {

// The payload as it appears in a message: generic header (next payload 0, C bit clear,
// reserved, length) and body.
std::string OnWire(const Payload& p) {
  Message m;
  m.header.spi_i = {1, 2, 3, 4, 5, 6, 7, 8};
  m.payloads = {p};
  absl::StatusOr<Bytes> wire = EncodeMessage(m);
  REQUIRE(wire.ok());
  REQUIRE(wire->size() > 28);
  return ToHex(Bytes(wire->begin() + 28, wire->end()));
}

std::vector<Payload> Decoded(const std::string& body_hex) {
  absl::StatusOr<PayloadBody> b = DecodePayloadBody(PayloadType::kNotify, FromHex(body_hex));
  REQUIRE(b.ok());
  return {Payload{PayloadType::kNotify, *b}};
}

}  // namespace

TEST_CASE("SA_RESOURCE_INFO and TS_MAX_QUEUE as RFC 9611 lays them out", "[rfc9611]") {
  CHECK(static_cast<uint16_t>(NotifyType::kSaResourceInfo) == 16444);
  CHECK(static_cast<uint16_t>(NotifyType::kTsMaxQueue) == 48);
  CHECK(NotifyName(NotifyType::kSaResourceInfo) == "SA_RESOURCE_INFO");
  CHECK(NotifyName(NotifyType::kTsMaxQueue) == "TS_MAX_QUEUE");
  CHECK_FALSE(IsErrorNotify(NotifyType::kSaResourceInfo));
  CHECK(IsErrorNotify(NotifyType::kTsMaxQueue));

  // Worker 1's identifier is the text "1" (0x31): length 4 + 4 + 1.
  CHECK(OnWire(SaResourceInfoNotify(WorkerResourceId(1))) ==
        ToHex(FromHex("00 00 0009 00 00 403c 31")));
  CHECK(OnWire(SaResourceInfoNotify(WorkerResourceId(12))) ==
        ToHex(FromHex("00 00 000a 00 00 403c 3132")));
  // The identifier is optional.
  CHECK(OnWire(SaResourceInfoNotify({})) == ToHex(FromHex("00 00 0008 00 00 403c")));
  CHECK(OnWire(TsMaxQueueNotify()) == ToHex(FromHex("00 00 0008 00 00 0030")));
}

TEST_CASE("SA_RESOURCE_INFO and TS_MAX_QUEUE received", "[rfc9611]") {
  std::optional<Bytes> id = FindSaResourceInfo(Decoded("00 00 403c 637075372d7178"));
  REQUIRE(id.has_value());
  CHECK(ResourceIdForLog(*id) == "cpu7-qx");
  id = FindSaResourceInfo(Decoded("00 00 403c"));
  REQUIRE(id.has_value());
  CHECK(id->empty());
  CHECK(ResourceIdForLog(*id) == "(none)");
  // A sender must set Protocol ID and SPI Size to 0; one that does not still names a group.
  id = FindSaResourceInfo(Decoded("03 04 403c c1c2c3c4 00ff"));
  REQUIRE(id.has_value());
  CHECK(ResourceIdForLog(*id) == "0x00ff");
  CHECK_FALSE(FindSaResourceInfo(Decoded("00 00 4004 " + std::string(40, '1'))).has_value());

  CHECK(HasTsMaxQueue(Decoded("00 00 0030")));
  CHECK_FALSE(HasTsMaxQueue(Decoded("00 00 0026")));  // TS_UNACCEPTABLE
  CHECK_FALSE(HasTsMaxQueue(Decoded("00 00 403c")));
  // Control bytes and backslashes are not written to a log as they are.
  CHECK(ResourceIdForLog(FromHex("410a42")) == "0x410a42");
  CHECK(ResourceIdForLog(FromHex("5c")) == "0x5c");
}
