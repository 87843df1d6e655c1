// ValidateMessage: every rule of the contract rejects with its own reason, and valid messages
// of every kind pass.
#include "dataplane/api/message_validation.h"

#include <catch2/catch.hpp>
#include <cstring>

#include "test/unit/dataplane/api/test_messages.h"

using namespace portcullis::dp::api;
using namespace portcullis::dp::api::testing;

namespace {

RejectReason Reason(const Message& m) {
  Rejection r = ValidateMessage(m);
  INFO(r.detail);
  return r.reason;
}

Message V6Route(int length) {
  Message m = RouteMessage(0);
  RouteBody& r = m.body.route;
  r.family = Family::kIpv6;
  memset(r.prefix.bytes, 0, 16);
  r.prefix.bytes[0] = 0x20;
  r.prefix.bytes[1] = 0x01;
  r.prefix.bytes[2] = 0x0d;
  r.prefix.bytes[3] = 0xb8;
  r.prefix_length = static_cast<uint8_t>(length);
  memset(r.next_hop.bytes, 0, 16);
  r.next_hop.bytes[0] = 0xfe;
  r.next_hop.bytes[1] = 0x80;
  r.next_hop.bytes[15] = 1;
  return m;
}

}  // namespace

TEST_CASE("valid messages of every kind and operation pass", "[channel][validation]") {
  std::vector<Message> ok = {RouteMessage(1),     GcmSaMessage(0x1000), CbcSaMessage(0x1001),
                             InterfaceMessage(2), AddressMessage(2),    PolicyMessage(5),
                             V6Route(48),         V6Route(128)};
  Message vif = InterfaceMessage(3);
  vif.body.interface.kind = InterfaceKind::kVif;
  vif.body.interface.parent_ifindex = 2;
  vif.body.interface.vlan = 100;
  ok.push_back(vif);
  Message binding = NewMessage(MessageKind::kVtiBinding, Op::kAdd);
  binding.body.vti_binding = {7, 0x1001};
  ok.push_back(binding);
  Message flush = NewMessage(MessageKind::kFlush, Op::kDelete);
  flush.body.flush.scope = kFlushSas | kFlushPolicies;
  ok.push_back(flush);
  // A delete needs only its key: no keys or addresses for an SA.
  Message sa_delete = NewMessage(MessageKind::kSa, Op::kDelete);
  sa_delete.body.sa.spi = 0x1000;
  sa_delete.body.sa.direction = Direction::kOut;
  ok.push_back(sa_delete);
  Message null_cipher = CbcSaMessage(0x1002);
  null_cipher.body.sa.cipher = Cipher::kNull;
  null_cipher.body.sa.enc_key_length = 0;
  memset(null_cipher.body.sa.enc_key, 0, kMaxEncKeyLength);
  ok.push_back(null_cipher);
  Message sha512 = CbcSaMessage(0x1003);
  sha512.body.sa.auth = Auth::kHmacSha512_256;
  sha512.body.sa.auth_key_length = 64;
  memset(sha512.body.sa.auth_key, 0x11, 64);
  ok.push_back(sha512);

  for (const Message& m : ok) {
    Rejection r = ValidateMessage(m);
    INFO(r.detail);
    CHECK(r.ok());
  }
}

TEST_CASE("unknown kinds and operations a kind does not take are rejected",
          "[channel][validation]") {
  Message m = RouteMessage(1);
  m.header.kind = static_cast<MessageKind>(0);
  CHECK(Reason(m) == RejectReason::kUnknownKind);
  m.header.kind = static_cast<MessageKind>(99);
  CHECK(Reason(m) == RejectReason::kUnknownKind);

  m = RouteMessage(1);
  m.header.op = static_cast<Op>(0);
  CHECK(Reason(m) == RejectReason::kUnknownOp);
  m.header.op = static_cast<Op>(4);
  CHECK(Reason(m) == RejectReason::kUnknownOp);

  Message address = AddressMessage(2);
  address.header.op = Op::kUpdate;  // addresses are replaced by delete + add
  CHECK(Reason(address) == RejectReason::kUnknownOp);
  Message flush = NewMessage(MessageKind::kFlush, Op::kAdd);
  flush.body.flush.scope = kFlushAll;
  CHECK(Reason(flush) == RejectReason::kUnknownOp);
}

TEST_CASE("prefix lengths past the family and host bits are rejected", "[channel][validation]") {
  Message m = RouteMessage(1);
  m.body.route.prefix_length = 33;
  CHECK(Reason(m) == RejectReason::kBadPrefixLength);
  CHECK(Reason(V6Route(129)) == RejectReason::kBadPrefixLength);

  Message a = AddressMessage(2);
  a.body.address.prefix_length = 0;
  CHECK(Reason(a) == RejectReason::kBadPrefixLength);
  a.body.address.prefix_length = 40;
  CHECK(Reason(a) == RejectReason::kBadPrefixLength);

  Message p = PolicyMessage(1);
  p.body.policy.dst_prefix_length = 33;
  CHECK(Reason(p) == RejectReason::kBadPrefixLength);

  Message host_bits = RouteMessage(1);  // 10.0.0.1/24
  host_bits.body.route.prefix_length = 24;
  CHECK(Reason(host_bits) == RejectReason::kBadValue);
  // An interface address may have host bits.
  CHECK(ValidateMessage(AddressMessage(2)).ok());
}

TEST_CASE("key lengths must match the algorithm", "[channel][validation]") {
  Message gcm = GcmSaMessage(0x1000);
  gcm.body.sa.enc_key_length = 32;
  CHECK(Reason(gcm) == RejectReason::kBadKeyLength);
  gcm.body.sa.cipher = Cipher::kAesGcm256;
  gcm.body.sa.enc_key_length = 16;
  CHECK(Reason(gcm) == RejectReason::kBadKeyLength);

  Message cbc = CbcSaMessage(0x1000);
  cbc.body.sa.auth = Auth::kHmacSha1_96;  // needs 20, has 32
  CHECK(Reason(cbc) == RejectReason::kBadKeyLength);
  cbc = CbcSaMessage(0x1000);
  cbc.body.sa.enc_key_length = 33;
  CHECK(Reason(cbc) == RejectReason::kBadKeyLength);

  // Bytes past the key length and a salt on a non-GCM SA are reserved.
  Message tail = GcmSaMessage(0x1000);
  tail.body.sa.enc_key[20] = 1;
  CHECK(Reason(tail) == RejectReason::kNonZeroReserved);
  Message salt = CbcSaMessage(0x1000);
  salt.body.sa.salt[0] = 1;
  CHECK(Reason(salt) == RejectReason::kNonZeroReserved);

  // GCM authenticates itself; null needs integrity.
  Message gcm_hmac = GcmSaMessage(0x1000);
  gcm_hmac.body.sa.auth = Auth::kHmacSha256_128;
  gcm_hmac.body.sa.auth_key_length = 32;
  CHECK(Reason(gcm_hmac) == RejectReason::kBadValue);
  Message null_none = GcmSaMessage(0x1000);
  null_none.body.sa.cipher = Cipher::kNull;
  null_none.body.sa.enc_key_length = 0;
  memset(null_none.body.sa.enc_key, 0, kMaxEncKeyLength);
  CHECK(Reason(null_none) == RejectReason::kBadValue);
}

TEST_CASE("replay windows above 4096 are rejected", "[channel][validation]") {
  Message m = GcmSaMessage(0x1000);
  m.body.sa.replay_window = 4096;
  CHECK(ValidateMessage(m).ok());
  m.body.sa.replay_window = 4097;
  CHECK(Reason(m) == RejectReason::kBadReplayWindow);
  m.body.sa.replay_window = 0;  // off
  CHECK(ValidateMessage(m).ok());
}

TEST_CASE("reserved bytes and unknown flag bits must be zero", "[channel][validation]") {
  Message m = RouteMessage(1);
  m.header.reserved[3] = 1;
  CHECK(Reason(m) == RejectReason::kNonZeroReserved);
  m = RouteMessage(1);
  m.header.flags = 0x80;
  CHECK(Reason(m) == RejectReason::kNonZeroReserved);
  m = RouteMessage(1);
  m.body.raw[sizeof(RouteBody)] = 1;
  CHECK(Reason(m) == RejectReason::kNonZeroReserved);
  m = RouteMessage(1);
  m.body.route.prefix.bytes[4] = 1;  // past an IPv4 address
  CHECK(Reason(m) == RejectReason::kNonZeroReserved);

  Message sa = GcmSaMessage(0x1000);
  sa.body.sa.reserved1[2] = 1;
  CHECK(Reason(sa) == RejectReason::kNonZeroReserved);
  Message a = AddressMessage(2);
  a.body.address.reserved[0] = 1;
  CHECK(Reason(a) == RejectReason::kNonZeroReserved);
  Message i = InterfaceMessage(2);
  i.body.interface.name[10] = 'x';  // after the NUL
  CHECK(Reason(i) == RejectReason::kNonZeroReserved);
  Message p = PolicyMessage(1);
  p.body.policy.reserved[1] = 1;
  CHECK(Reason(p) == RejectReason::kNonZeroReserved);
}

TEST_CASE("bad names and lengths are rejected", "[channel][validation]") {
  Message i = InterfaceMessage(2);
  memset(i.body.interface.name, 'a', sizeof i.body.interface.name);
  CHECK(Reason(i) == RejectReason::kBadLength);
  memset(i.body.interface.name, 0, sizeof i.body.interface.name);
  CHECK(Reason(i) == RejectReason::kBadLength);
}

TEST_CASE("undefined enum values and impossible combinations are rejected",
          "[channel][validation]") {
  auto with = [](Message m, auto&& change) {
    change(m);
    return Reason(m);
  };
  CHECK(with(RouteMessage(1), [](Message& m) { m.body.route.family = Family{5}; }) ==
        RejectReason::kBadValue);
  CHECK(with(RouteMessage(1), [](Message& m) { m.body.route.distance = 0; }) ==
        RejectReason::kBadValue);
  CHECK(with(RouteMessage(1), [](Message& m) { m.body.route.type = RouteType::kBlackhole; }) ==
        RejectReason::kBadValue);
  CHECK(with(GcmSaMessage(0x1000), [](Message& m) { m.body.sa.direction = Direction{3}; }) ==
        RejectReason::kBadValue);
  CHECK(with(GcmSaMessage(255), [](Message&) {}) == RejectReason::kBadValue);
  CHECK(with(GcmSaMessage(0x1000), [](Message& m) { m.body.sa.encap_dst_port = 4500; }) ==
        RejectReason::kBadValue);
  CHECK(with(CbcSaMessage(0x1000), [](Message& m) { m.body.sa.encap_dst_port = 0; }) ==
        RejectReason::kBadValue);
  CHECK(with(GcmSaMessage(0x1000), [](Message& m) { m.body.sa.soft_bytes = 2000; }) ==
        RejectReason::kBadValue);
  CHECK(with(GcmSaMessage(0x1000), [](Message& m) {
          m.body.sa.dscp_mode = DscpMode::kSet;
          m.body.sa.dscp = 64;
        }) == RejectReason::kBadValue);
  CHECK(with(GcmSaMessage(0x1000), [](Message& m) { m.body.sa.cipher = Cipher{9}; }) ==
        RejectReason::kBadValue);
  CHECK(with(GcmSaMessage(0x1000), [](Message& m) { m.body.sa.esn = 2; }) ==
        RejectReason::kBadValue);
  CHECK(with(InterfaceMessage(2), [](Message& m) { m.body.interface.vlan = 10; }) ==
        RejectReason::kBadValue);
  CHECK(with(InterfaceMessage(2), [](Message& m) { m.body.interface.mtu = 67; }) ==
        RejectReason::kBadValue);
  CHECK(with(InterfaceMessage(2), [](Message& m) {
          m.body.interface.kind = InterfaceKind::kVif;
          m.body.interface.parent_ifindex = 1;
          m.body.interface.vlan = 4095;
        }) == RejectReason::kBadValue);
  CHECK(with(PolicyMessage(1), [](Message& m) {
          m.body.policy.src_port_low = 100;
          m.body.policy.src_port_high = 99;
        }) == RejectReason::kBadValue);
  CHECK(with(PolicyMessage(1), [](Message& m) { m.body.policy.action = PolicyAction::kBypass; }) ==
        RejectReason::kBadValue);  // out_spi on a bypass policy
  CHECK(with(PolicyMessage(0), [](Message&) {}) == RejectReason::kBadValue);
  Message flush = NewMessage(MessageKind::kFlush, Op::kDelete);
  CHECK(Reason(flush) == RejectReason::kBadValue);
  flush.body.flush.scope = 1u << 7;
  CHECK(Reason(flush) == RejectReason::kBadValue);
  Message binding = NewMessage(MessageKind::kVtiBinding, Op::kAdd);
  binding.body.vti_binding = {7, 100};
  CHECK(Reason(binding) == RejectReason::kBadValue);
}

TEST_CASE("rejections say what is wrong", "[channel][validation]") {
  Message m = GcmSaMessage(0x1234);
  m.body.sa.enc_key_length = 20;
  Rejection r = ValidateMessage(m);
  CHECK(std::string(r.detail) == "sa 0x00001234: aes-gcm-128 needs a 16-byte key, got 20");
}
