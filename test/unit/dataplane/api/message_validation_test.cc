// ValidateMessage: every rule of the contract rejects with its own reason, and valid messages
// of every kind pass.
#include "dataplane/api/message_validation.h"

#include <catch2/catch.hpp>
#include <cstring>

#include "dataplane/api/message_names.h"
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
  // Bonds (#17): only a bond says how it bonds, only a port names its bond.
  auto bond = [](Message& m) {
    m.body.interface.kind = InterfaceKind::kBond;
    m.body.interface.bond_mode = BondMode::kLacp;
    m.body.interface.bond_hash = BondHash::kLayer2;
  };
  CHECK(with(InterfaceMessage(2), bond) == RejectReason::kNone);
  CHECK(with(InterfaceMessage(2), [](Message& m) { m.body.interface.bond_ifindex = 7; }) ==
        RejectReason::kNone);
  CHECK(with(InterfaceMessage(2), [](Message& m) { m.body.interface.bond_ifindex = 2; }) ==
        RejectReason::kBadValue);  // itself
  CHECK(with(InterfaceMessage(2), [](Message& m) { m.body.interface.lacp_fast = 1; }) ==
        RejectReason::kBadValue);
  CHECK(with(InterfaceMessage(2), [](Message& m) {
          m.body.interface.kind = InterfaceKind::kBond;
        }) == RejectReason::kBadValue);  // no mode
  CHECK(with(InterfaceMessage(2), [&](Message& m) {
          bond(m);
          m.body.interface.bond_mode = BondMode{4};
        }) == RejectReason::kBadValue);
  CHECK(with(InterfaceMessage(2), [&](Message& m) {
          bond(m);
          m.body.interface.bond_hash = BondHash{0};
        }) == RejectReason::kBadValue);  // lacp needs its hash
  CHECK(with(InterfaceMessage(2), [&](Message& m) {
          bond(m);
          m.body.interface.bond_mode = BondMode::kActiveBackup;
        }) == RejectReason::kBadValue);  // active-backup has none
  CHECK(with(InterfaceMessage(2), [&](Message& m) {
          bond(m);
          m.body.interface.primary_ifindex = 3;
        }) == RejectReason::kBadValue);  // a primary is active-backup's
  CHECK(with(InterfaceMessage(2), [&](Message& m) {
          bond(m);
          m.body.interface.bond_mode = BondMode::kBalanced;
          m.body.interface.lacp_fast = 1;
        }) == RejectReason::kBadValue);
  CHECK(with(InterfaceMessage(2), [&](Message& m) {
          bond(m);
          m.body.interface.bond_ifindex = 3;
        }) == RejectReason::kBadValue);  // no bond in a bond
  CHECK(with(InterfaceMessage(2), [&](Message& m) {
          bond(m);
          m.body.interface.reserved[4] = 1;
        }) == RejectReason::kNonZeroReserved);
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
  // Per-worker members (RFC 9611 groups): each 0 (none) or a real SPI; an SA's worker 0 (any)
  // or 1..16.
  binding.body.vti_binding = {7, 0x1001, {0x1001, 0x1002}};
  CHECK(Reason(binding) == RejectReason::kNone);
  binding.body.vti_binding.member_spi[5] = 255;
  CHECK(Reason(binding) == RejectReason::kBadValue);
  CHECK(with(GcmSaMessage(0x1234), [](Message& m) { m.body.sa.worker = 16; }) ==
        RejectReason::kNone);
  CHECK(with(GcmSaMessage(0x1234), [](Message& m) { m.body.sa.worker = 17; }) ==
        RejectReason::kBadValue);
}

TEST_CASE("rejections say what is wrong", "[channel][validation]") {
  Message m = GcmSaMessage(0x1234);
  m.body.sa.enc_key_length = 20;
  Rejection r = ValidateMessage(m);
  CHECK(std::string(r.detail) == "sa 0x00001234: aes-gcm-128 needs a 16-byte key, got 20");
}

namespace {

Message FwRuleset(uint32_t id, const char* name) {
  Message m = NewMessage(MessageKind::kFwRuleset, Op::kAdd);
  m.body.fw_ruleset.ruleset_id = id;
  strncpy(m.body.fw_ruleset.name, name, kFwNameSize - 1);
  m.body.fw_ruleset.default_action = FwAction::kDrop;
  return m;
}

// Rule 10 of ruleset 1: accept anything.
Message FwRule() {
  Message m = NewMessage(MessageKind::kFwRule, Op::kAdd);
  FwRuleBody& r = m.body.fw_rule;
  r.ruleset_id = 1;
  r.rule_number = 10;
  r.action = FwAction::kAccept;
  r.family = Family::kIpv4;
  r.proto_low = 0;
  r.proto_high = 255;
  r.src_port_high = r.dst_port_high = 65535;
  memset(r.src_high.bytes, 0xff, 4);
  memset(r.dst_high.bytes, 0xff, 4);
  return m;
}

}  // namespace

TEST_CASE("valid firewall messages pass", "[channel][validation][firewall]") {
  std::vector<Message> ok = {FwRuleset(1, "PubIn"), FwRule()};
  Message rs_update = FwRuleset(1, std::string(31, 'x').c_str());
  rs_update.header.op = Op::kUpdate;
  rs_update.body.fw_ruleset.default_log = 1;
  rs_update.body.fw_ruleset.default_action = FwAction::kReject;
  ok.push_back(rs_update);
  Message rs_delete = NewMessage(MessageKind::kFwRuleset, Op::kDelete);
  rs_delete.body.fw_ruleset.ruleset_id = 1;  // a delete needs only the id
  ok.push_back(rs_delete);
  Message tcp = FwRule();
  tcp.body.fw_rule.proto_low = tcp.body.fw_rule.proto_high = 6;
  tcp.body.fw_rule.dst_port_low = tcp.body.fw_rule.dst_port_high = 22;
  tcp.body.fw_rule.state = kFwStateNew | kFwStateEstablished;
  tcp.body.fw_rule.log = 1;
  ok.push_back(tcp);
  Message sctp = tcp;
  sctp.body.fw_rule.proto_low = sctp.body.fw_rule.proto_high = 132;
  ok.push_back(sctp);
  Message echo_reply = FwRule();  // protocol 1, type 0 code 0
  echo_reply.body.fw_rule.proto_low = echo_reply.body.fw_rule.proto_high = 1;
  ok.push_back(echo_reply);
  Message echo = echo_reply;
  echo.body.fw_rule.icmp_type_low = echo.body.fw_rule.icmp_type_high = 8;
  echo.body.fw_rule.icmp_code_high = 255;
  ok.push_back(echo);
  Message bind = NewMessage(MessageKind::kFwBinding, Op::kAdd);
  bind.body.fw_binding = {3, 1, FwHook::kLocal, 7, {}};
  ok.push_back(bind);
  Message zone = NewMessage(MessageKind::kFwZone, Op::kAdd);
  zone.body.fw_zone.zone_id = 2;
  strcpy(zone.body.fw_zone.name, "PRIVATE");
  zone.body.fw_zone.default_action = FwAction::kDrop;
  zone.body.fw_zone.local = 1;
  ok.push_back(zone);
  Message zif = NewMessage(MessageKind::kFwZoneInterface, Op::kAdd);
  zif.body.fw_zone_interface = {3, 2};
  ok.push_back(zif);
  Message zp = NewMessage(MessageKind::kFwZonePolicy, Op::kAdd);
  zp.body.fw_zone_policy = {2, 3, 1, 0, {}};
  ok.push_back(zp);
  Message global = NewMessage(MessageKind::kFwGlobal, Op::kUpdate);
  global.body.fw_global.state_tcp = 1;
  global.body.fw_global.udp_timeout_s = 60;
  ok.push_back(global);
  Message flush = NewMessage(MessageKind::kFlush, Op::kDelete);
  flush.body.flush.scope = kFlushFirewall;
  ok.push_back(flush);
  for (const Message& m : ok) {
    Rejection r = ValidateMessage(m);
    INFO(KindName(m.header.kind) << ": " << r.detail);
    CHECK(r.ok());
  }
}

TEST_CASE("firewall messages break the contract one way at a time",
          "[channel][validation][firewall]") {
  auto with = [](Message m, auto&& change) {
    change(m);
    return Reason(m);
  };
  // Operations: rules, bindings, zone interfaces and policies have no update; global only one.
  CHECK(with(FwRule(), [](Message& m) { m.header.op = Op::kUpdate; }) == RejectReason::kUnknownOp);
  Message global = NewMessage(MessageKind::kFwGlobal, Op::kAdd);
  CHECK(Reason(global) == RejectReason::kUnknownOp);
  global.header.op = Op::kDelete;
  CHECK(Reason(global) == RejectReason::kUnknownOp);
  global.header.op = Op::kUpdate;
  global.body.fw_global.state_udp = 2;
  CHECK(Reason(global) == RejectReason::kBadValue);
  global.body.fw_global.state_udp = 0;
  global.body.fw_global.reserved = 1;
  CHECK(Reason(global) == RejectReason::kNonZeroReserved);

  // Names: NUL-terminated, not empty, NUL-padded.
  CHECK(with(FwRuleset(1, "x"), [](Message& m) { memset(m.body.fw_ruleset.name, 'a', 32); }) ==
        RejectReason::kBadLength);
  CHECK(with(FwRuleset(1, ""), [](Message&) {}) == RejectReason::kBadLength);
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) { m.body.fw_ruleset.name[5] = 'z'; }) ==
        RejectReason::kNonZeroReserved);
  CHECK(with(FwRuleset(0, "ab"), [](Message&) {}) == RejectReason::kBadValue);
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) {
          m.body.fw_ruleset.default_action = FwAction{0};
        }) == RejectReason::kBadValue);
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) {
          m.body.fw_ruleset.default_action = FwAction{4};
        }) == RejectReason::kBadValue);
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) { m.body.fw_ruleset.default_log = 2; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) { m.body.fw_ruleset.default_implicit = 2; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) { m.body.fw_ruleset.default_implicit = 1; }) ==
        RejectReason::kNone);
  // The ruleset's family: 0 (both), 4 or 6.
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) { m.body.fw_ruleset.family = 6; }) ==
        RejectReason::kNone);
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) { m.body.fw_ruleset.family = 4; }) ==
        RejectReason::kNone);
  CHECK(with(FwRuleset(1, "ab"), [](Message& m) { m.body.fw_ruleset.family = 5; }) ==
        RejectReason::kBadValue);

  // Rules.
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.rule_number = 0; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.rule_number = 10000; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.rule_number = 9999; }) ==
        RejectReason::kNone);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.ruleset_id = 0; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.action = FwAction{7}; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.log = 3; }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.state = 0x10; }) == RejectReason::kBadValue);
  // IPv6 entries: 16-byte ranges, ICMPv6 (58) takes the type/code ranges, ICMP (1) does not.
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.family = Family::kIpv6;
          memset(m.body.fw_rule.src_high.bytes, 0xff, 16);
          memset(m.body.fw_rule.dst_high.bytes, 0xff, 16);
        }) == RejectReason::kNone);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.family = Family::kIpv6;
          m.body.fw_rule.src_low.bytes[15] = 2;  // low > high in the last byte
          m.body.fw_rule.src_high = m.body.fw_rule.src_low;
          m.body.fw_rule.src_high.bytes[15] = 1;
        }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.family = Family::kIpv6;
          m.body.fw_rule.proto_low = m.body.fw_rule.proto_high = 58;
          m.body.fw_rule.icmp_type_low = m.body.fw_rule.icmp_type_high = 128;
        }) == RejectReason::kNone);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.family = Family::kIpv6;
          m.body.fw_rule.proto_low = m.body.fw_rule.proto_high = 1;
          m.body.fw_rule.icmp_type_low = m.body.fw_rule.icmp_type_high = 8;
        }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.family = Family{0}; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.reserved[0] = 1; }) ==
        RejectReason::kNonZeroReserved);
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.src_high.bytes[4] = 1; }) ==
        RejectReason::kNonZeroReserved);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.src_low.bytes[0] = 10;
          m.body.fw_rule.src_high.bytes[0] = 9;
        }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.dst_low.bytes[3] = 2;
          memset(m.body.fw_rule.dst_high.bytes, 0, 4);
          m.body.fw_rule.dst_high.bytes[3] = 1;
        }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.proto_low = 17;
          m.body.fw_rule.proto_high = 6;
        }) == RejectReason::kBadValue);
  // Ports only with exactly one of TCP, UDP, SCTP.
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.dst_port_high = 80; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.proto_low = 6;
          m.body.fw_rule.proto_high = 17;
          m.body.fw_rule.dst_port_high = 80;
        }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.proto_low = m.body.fw_rule.proto_high = 50;
          m.body.fw_rule.src_port_low = 1;
        }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.proto_low = m.body.fw_rule.proto_high = 17;
          m.body.fw_rule.src_port_low = 600;
          m.body.fw_rule.src_port_high = 500;
        }) == RejectReason::kBadValue);
  // ICMP type and code only with protocol 1 alone, and as ranges.
  CHECK(with(FwRule(), [](Message& m) { m.body.fw_rule.icmp_type_high = 8; }) ==
        RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.proto_low = m.body.fw_rule.proto_high = 6;
          m.body.fw_rule.icmp_code_high = 1;
        }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.proto_low = m.body.fw_rule.proto_high = 1;
          m.body.fw_rule.icmp_type_low = 9;
          m.body.fw_rule.icmp_type_high = 8;
        }) == RejectReason::kBadValue);
  CHECK(with(FwRule(), [](Message& m) {
          m.body.fw_rule.proto_low = m.body.fw_rule.proto_high = 1;
          m.body.fw_rule.dst_port_high = 8;
        }) == RejectReason::kBadValue);

  // Bindings.
  Message bind = NewMessage(MessageKind::kFwBinding, Op::kAdd);
  bind.body.fw_binding = {3, 1, FwHook::kIn, 0, {}};
  CHECK(Reason(bind) == RejectReason::kNone);
  CHECK(with(bind, [](Message& m) { m.body.fw_binding.position = 8; }) == RejectReason::kBadValue);
  CHECK(with(bind, [](Message& m) { m.body.fw_binding.hook = FwHook{4}; }) ==
        RejectReason::kBadValue);
  CHECK(with(bind, [](Message& m) { m.body.fw_binding.hook = FwHook{0}; }) ==
        RejectReason::kBadValue);
  CHECK(with(bind, [](Message& m) { m.body.fw_binding.ifindex = 0; }) == RejectReason::kBadValue);
  CHECK(with(bind, [](Message& m) { m.body.fw_binding.reserved[0] = 1; }) ==
        RejectReason::kNonZeroReserved);
  CHECK(with(bind, [](Message& m) { m.header.op = Op::kUpdate; }) == RejectReason::kUnknownOp);

  // Zones.
  Message zone = NewMessage(MessageKind::kFwZone, Op::kAdd);
  zone.body.fw_zone.zone_id = 2;
  strcpy(zone.body.fw_zone.name, "WAN");
  zone.body.fw_zone.default_action = FwAction::kDrop;
  CHECK(Reason(zone) == RejectReason::kNone);
  CHECK(with(zone, [](Message& m) { m.body.fw_zone.local = 2; }) == RejectReason::kBadValue);
  CHECK(with(zone, [](Message& m) { m.body.fw_zone.zone_id = 0; }) == RejectReason::kBadValue);
  CHECK(with(zone, [](Message& m) { m.body.fw_zone.name[0] = 0; }) == RejectReason::kBadLength);
  CHECK(with(zone, [](Message& m) { m.body.fw_zone.default_action = FwAction{0}; }) ==
        RejectReason::kBadValue);
  CHECK(with(zone, [](Message& m) { m.body.fw_zone.reserved[1] = 9; }) ==
        RejectReason::kNonZeroReserved);
  Message zif = NewMessage(MessageKind::kFwZoneInterface, Op::kAdd);
  zif.body.fw_zone_interface = {0, 2};
  CHECK(Reason(zif) == RejectReason::kBadValue);
  zif.body.fw_zone_interface = {3, 0};
  CHECK(Reason(zif) == RejectReason::kBadValue);
  Message zp = NewMessage(MessageKind::kFwZonePolicy, Op::kAdd);
  zp.body.fw_zone_policy = {2, 3, 1, 0, {}};
  CHECK(Reason(zp) == RejectReason::kNone);
  CHECK(with(zp, [](Message& m) { m.body.fw_zone_policy.to_zone = 2; }) == RejectReason::kBadValue);
  CHECK(with(zp, [](Message& m) { m.body.fw_zone_policy.position = 8; }) ==
        RejectReason::kBadValue);
  CHECK(with(zp, [](Message& m) { m.body.fw_zone_policy.ruleset_id = 0; }) ==
        RejectReason::kBadValue);
  CHECK(with(zp, [](Message& m) { m.body.fw_zone_policy.reserved[2] = 1; }) ==
        RejectReason::kNonZeroReserved);
  // The body ends where the kind's body does.
  CHECK(with(zif, [](Message& m) {
          m.body.fw_zone_interface = {3, 2};
          m.body.raw[sizeof(FwZoneInterfaceBody)] = 1;
        }) == RejectReason::kNonZeroReserved);
}

TEST_CASE("VRRP group messages: each field's rule", "[validation][vrrp]") {
  auto good = [] {
    Message m = NewMessage(MessageKind::kVrrpGroup, Op::kAdd);
    VrrpGroupBody& b = m.body.vrrp_group;
    b.ifindex = 3;
    b.vrid = 10;
    b.priority = 100;
    b.version = 2;
    b.preempt = 1;
    b.advert_interval_cs = 100;
    b.naddrs = 1;
    b.addrs[0][0] = 192;
    b.addrs[0][3] = 10;
    return m;
  };
  CHECK(Reason(good()) == RejectReason::kNone);
  Message m = good();
  m.body.vrrp_group.vrid = 0;
  CHECK(Reason(m) == RejectReason::kBadValue);
  m = good();
  m.body.vrrp_group.version = 4;
  CHECK(Reason(m) == RejectReason::kBadValue);
  m = good();
  m.body.vrrp_group.advert_interval_cs = 150;  // version 2 has whole seconds
  CHECK(Reason(m) == RejectReason::kBadValue);
  m.body.vrrp_group.version = 3;
  CHECK(Reason(m) == RejectReason::kNone);
  m = good();
  m.body.vrrp_group.advert_interval_cs = 25500;  // version 2: 255 s
  CHECK(Reason(m) == RejectReason::kNone);
  m.body.vrrp_group.version = 3;  // version 3: 12 bits of centiseconds
  CHECK(Reason(m) == RejectReason::kBadValue);
  m = good();
  m.body.vrrp_group.naddrs = 0;
  CHECK(Reason(m) == RejectReason::kBadLength);
  m = good();
  m.body.vrrp_group.naddrs = 2;  // the second is 0.0.0.0
  CHECK(Reason(m) == RejectReason::kBadValue);
  m = good();
  m.body.vrrp_group.addrs[5][1] = 1;  // past naddrs
  CHECK(Reason(m) == RejectReason::kNonZeroReserved);
  m = good();
  m.body.vrrp_group.reserved = 1;
  CHECK(Reason(m) == RejectReason::kNonZeroReserved);
  // A delete needs only the key.
  Message d = NewMessage(MessageKind::kVrrpGroup, Op::kDelete);
  d.body.vrrp_group.ifindex = 3;
  d.body.vrrp_group.vrid = 10;
  CHECK(Reason(d) == RejectReason::kNone);
}
