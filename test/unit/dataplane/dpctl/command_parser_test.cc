// dpctl's command language: every command form, the fields of the messages it builds (which
// also keep the channel contract), and the errors on bad input, after which nothing was added to
// the batch and the interface directory is as it was.
#include "dataplane/dpctl/command_parser.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "dataplane/api/message_validation.h"

namespace portcullis::dp::dpctl {
namespace {

using api::Message;
using api::MessageKind;
using api::Op;

std::vector<std::string> Words(const std::string& line) {
  return absl::StrSplit(line, ' ', absl::SkipEmpty());
}

// The directory of a dataplane that runs lan, wan (ports) and vti0.
InterfaceDirectory Running() {
  InterfaceDirectory dir;
  dir.Known("lan", 1, "port");
  dir.Known("wan", 2, "port");
  dir.Known("vti0", 3, "vti");
  return dir;
}

// One command that must parse into exactly one message, which must keep the contract.
Message ParseOne(const std::string& line, InterfaceDirectory& dir) {
  std::vector<Message> out;
  absl::Status s = ParseCommand(Words(line), dir, out);
  INFO(line);
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(out.size() == 1);
  api::Rejection r = api::ValidateMessage(out[0]);
  INFO("rejected by the contract: " << r.detail);
  CHECK(r.ok());
  return out[0];
}
Message ParseOne(const std::string& line) {
  InterfaceDirectory dir = Running();
  return ParseOne(line, dir);
}

// A command that must fail with a message containing `why`, leaving the batch and the
// directory as they were.
void Fails(const std::string& line, const std::string& why) {
  InterfaceDirectory dir = Running();
  std::vector<Message> out(1, api::NewMessage(MessageKind::kFlush, Op::kDelete));
  absl::Status s = ParseCommand(Words(line), dir, out);
  INFO(line);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(std::string(s.message()), Catch::Contains(why));
  CHECK(out.size() == 1);  // what was there before, nothing more
  for (const char* name : {"lan", "wan", "vti0"}) CHECK(dir.Resolve(name).ok());
  CHECK(dir.Resolve("lan").value() == 1);
  CHECK(dir.Resolve("vti0").value() == 3);
  for (const char* name : {"new0", "eth1", "x"}) CHECK_FALSE(dir.Resolve(name).ok());
}

api::IpAddr Ip(const char* s) {
  api::IpAddr a{};
  REQUIRE(inet_pton(AF_INET, s, a.bytes) == 1);
  return a;
}

bool Same(const api::IpAddr& a, const char* s) {
  return std::memcmp(a.bytes, Ip(s).bytes, 16) == 0;
}

std::string Name(const api::InterfaceBody& b) {
  return std::string(b.name, strnlen(b.name, sizeof b.name));
}

std::vector<uint8_t> Bytes(const uint8_t* p, size_t n) {
  return std::vector<uint8_t>(p, p + n);
}

TEST_CASE("dpctl: interface add, with the defaults of each kind", "[dpctl]") {
  struct Kind {
    const char* word;
    api::InterfaceKind kind;
    uint32_t mtu;
  };
  const Kind kinds[] = {
      {"port", api::InterfaceKind::kPort, 1500},
      {"bond", api::InterfaceKind::kBond, 1500},
      {"vti", api::InterfaceKind::kVti, 1428},
      {"vfp", api::InterfaceKind::kVfp, 16384},
      {"loopback", api::InterfaceKind::kLoopback, 65535},
  };
  for (const Kind& k : kinds) {
    InterfaceDirectory dir = Running();
    // A bond says how to bond (#17); the defaults of the rest are the same.
    const std::string extra = k.kind == api::InterfaceKind::kBond ? " mode lacp" : "";
    Message m = ParseOne(std::string("interface add new0 kind ") + k.word + extra, dir);
    CHECK(m.header.kind == MessageKind::kInterface);
    CHECK(m.header.op == Op::kAdd);
    const api::InterfaceBody& b = m.body.interface;
    CHECK(Name(b) == "new0");
    CHECK(b.kind == k.kind);
    CHECK(b.mtu == k.mtu);
    CHECK(b.admin_up == 1);
    CHECK(b.ifindex == 4);  // the lowest ifindex nobody uses
    CHECK(dir.Resolve("new0").value() == 4);
    CHECK(dir.KindOf("new0") == k.word);
  }
}

TEST_CASE("dpctl: interface add with every option", "[dpctl]") {
  InterfaceDirectory dir = Running();
  Message m =
      ParseOne("interface add lan.100 kind vif parent lan vlan 100 mtu 1400 down ifindex 17", dir);
  const api::InterfaceBody& b = m.body.interface;
  CHECK(Name(b) == "lan.100");
  CHECK(b.kind == api::InterfaceKind::kVif);
  CHECK(b.parent_ifindex == 1);
  CHECK(b.vlan == 100);
  CHECK(b.mtu == 1400);
  CHECK(b.admin_up == 0);
  CHECK(b.ifindex == 17);
  CHECK(dir.Resolve("lan.100").value() == 17);
  // "up" after "down" wins; a name of 15 characters fits.
  m = ParseOne("interface add abcdefghijklmno kind port down up", dir);
  CHECK(m.body.interface.admin_up == 1);
  CHECK(Name(m.body.interface) == "abcdefghijklmno");
}

TEST_CASE("dpctl: bonds and their members", "[dpctl]") {
  InterfaceDirectory dir = Running();
  Message bond = ParseOne("interface add bond0 kind bond mode lacp lacp-rate fast", dir);
  const api::InterfaceBody& b = bond.body.interface;
  CHECK(b.bond_mode == api::BondMode::kLacp);
  CHECK(b.bond_hash == api::BondHash::kLayer2);  // unless told
  CHECK(b.lacp_fast == 1);
  CHECK(api::ValidateMessage(bond).reason == api::RejectReason::kNone);
  Message member = ParseOne("interface update wan kind port bond bond0", dir);
  CHECK(member.body.interface.bond_ifindex == b.ifindex);
  CHECK(api::ValidateMessage(member).reason == api::RejectReason::kNone);
  Message ab = ParseOne("interface add bond1 kind bond mode active-backup primary lan", dir);
  CHECK(ab.body.interface.bond_mode == api::BondMode::kActiveBackup);
  CHECK(ab.body.interface.primary_ifindex == 1);
  CHECK(static_cast<int>(ab.body.interface.bond_hash) == 0);
  CHECK(api::ValidateMessage(ab).reason == api::RejectReason::kNone);
  Message bal = ParseOne("interface add bond2 kind bond mode balanced hash layer3+4", dir);
  CHECK(bal.body.interface.bond_hash == api::BondHash::kLayer34);
  Message min = ParseOne("interface add bond5 kind bond mode lacp min-links 2", dir);
  CHECK(min.body.interface.min_links == 2);
  CHECK(api::ValidateMessage(min).reason == api::RejectReason::kNone);
  min.body.interface.bond_mode = api::BondMode::kActiveBackup;
  min.body.interface.bond_hash = api::BondHash{0};
  CHECK(api::ValidateMessage(min).reason == api::RejectReason::kBadValue);
  Fails("interface add bond3 kind bond", "a bond needs mode lacp|active-backup|balanced");
  Fails("interface add bond3 kind bond mode roundrobin", "mode 'roundrobin'");
  Fails("interface add bond3 kind bond mode lacp hash layer5", "hash 'layer5'");
  Fails("interface add bond3 kind bond mode lacp lacp-rate 1", "lacp-rate fast|slow");
  Fails("interface add new0 kind port bond nobond", "no interface 'nobond'");
  // The channel refuses what only a bond may carry on anything else, and the reverse.
  Message bad = ParseOne("interface add bond4 kind bond mode lacp lacp-rate fast", dir);
  bad.body.interface.bond_mode = api::BondMode::kBalanced;
  CHECK(api::ValidateMessage(bad).reason == api::RejectReason::kBadValue);
}

TEST_CASE("dpctl: new interfaces take the lowest free ifindex", "[dpctl]") {
  InterfaceDirectory dir;
  CHECK(ParseOne("interface add a kind port", dir).body.interface.ifindex == 1);
  CHECK(ParseOne("interface add b kind port", dir).body.interface.ifindex == 2);
  CHECK(ParseOne("interface add c kind vti", dir).body.interface.ifindex == 3);
  Message del = ParseOne("interface del a", dir);
  CHECK(del.header.op == Op::kDelete);
  CHECK(del.body.interface.ifindex == 1);
  CHECK_FALSE(dir.Resolve("a").ok());
  CHECK(ParseOne("interface add d kind vfp", dir).body.interface.ifindex == 1);
  CHECK(ParseOne("interface add e kind vfp", dir).body.interface.ifindex == 4);
}

TEST_CASE("dpctl: interface update keeps the kind it has; delete names it", "[dpctl]") {
  Message m = ParseOne("interface update vti0 mtu 1400");
  CHECK(m.header.op == Op::kUpdate);
  CHECK(m.body.interface.ifindex == 3);
  CHECK(m.body.interface.kind == api::InterfaceKind::kVti);
  CHECK(m.body.interface.mtu == 1400);
  CHECK(ParseOne("interface set lan down").header.op == Op::kUpdate);

  m = ParseOne("interface delete wan");
  CHECK(m.header.op == Op::kDelete);
  CHECK(m.body.interface.ifindex == 2);
  CHECK(Name(m.body.interface) == "wan");
}

TEST_CASE("dpctl: interface errors", "[dpctl]") {
  Fails("interface", "expected add|del|update");
  Fails("interface frob lan", "'frob': expected add, del or update");
  Fails("interface add", "expected an interface name");
  Fails("interface add new0", "kind port|bond|vif|vti|vfp|loopback is required");
  Fails("interface add new0 kind tunnel", "kind port|bond|vif|vti|vfp|loopback is required");
  Fails("interface add new0 kind", "expected port|bond|vif|vti|vfp|loopback");
  Fails("interface add new0 kind port speed 10", "interface: unknown option 'speed'");
  Fails("interface add new0 kind port mtu big", "mtu: 'big' is not a number");
  Fails("interface add new0 kind port mtu", "expected an MTU");
  Fails("interface add new0 kind vif parent eth1 vlan 5", "no interface 'eth1'");
  Fails("interface add new0 kind vif parent lan vlan -5", "vlan: '-5' is not a number");
  Fails("interface add abcdefghijklmnop kind port", "interface name longer than 15");
  Fails("interface add lan kind port", "interface lan exists");
  Fails("interface del eth1", "no interface 'eth1'");
}

TEST_CASE("dpctl: address add and del", "[dpctl]") {
  Message m = ParseOne("address add lan 10.1.0.1/24");
  CHECK(m.header.kind == MessageKind::kAddress);
  CHECK(m.header.op == Op::kAdd);
  CHECK(m.body.address.ifindex == 1);
  CHECK(m.body.address.family == api::Family::kIpv4);
  CHECK(Same(m.body.address.address, "10.1.0.1"));  // host bits kept
  CHECK(m.body.address.prefix_length == 24);
  m = ParseOne("address del wan 192.0.2.1/32");
  CHECK(m.header.op == Op::kDelete);
  CHECK(m.body.address.ifindex == 2);
  CHECK(m.body.address.prefix_length == 32);
}

TEST_CASE("dpctl: address errors", "[dpctl]") {
  Fails("address add", "expected an interface");
  Fails("address add eth1 10.1.0.1/24", "no interface 'eth1'");
  Fails("address add lan", "expected an address/len");
  Fails("address add lan 10.1.0.1", "expected A.B.C.D/LEN");
  Fails("address add lan 10.1.0.1/33", "bad prefix length");
  Fails("address add lan 10.1.0.1/x", "bad prefix length");
  Fails("address add lan 10.1.0/24", "'10.1.0' is not an IPv4 address");
  Fails("address add lan 2001:db8::1/64/1", "expected A.B.C.D/LEN");
}

TEST_CASE("dpctl: route forms", "[dpctl]") {
  Message m = ParseOne("route add 10.2.0.0/24 via 192.0.2.2");
  CHECK(m.header.kind == MessageKind::kRoute);
  const api::RouteBody* b = &m.body.route;
  CHECK(b->type == api::RouteType::kGateway);
  CHECK(Same(b->prefix, "10.2.0.0"));
  CHECK(b->prefix_length == 24);
  CHECK(Same(b->next_hop, "192.0.2.2"));
  CHECK(b->out_ifindex == 0);
  CHECK(b->distance == 1);
  CHECK(b->family == api::Family::kIpv4);

  m = ParseOne("route add 10.3.0.0/16 via 192.0.2.2 dev wan distance 20");
  CHECK(b->type == api::RouteType::kGateway);
  CHECK(b->out_ifindex == 2);
  CHECK(b->distance == 20);
  // The same with dev first: a gateway still makes it a gateway route.
  m = ParseOne("route add 10.3.0.0/16 dev wan via 192.0.2.2");
  CHECK(b->type == api::RouteType::kGateway);
  CHECK(b->out_ifindex == 2);

  m = ParseOne("route add 10.4.0.0/24 dev vti0");
  CHECK(b->type == api::RouteType::kInterface);
  CHECK(b->out_ifindex == 3);
  CHECK(Same(b->next_hop, "0.0.0.0"));

  m = ParseOne("route add 0.0.0.0/0 blackhole");
  CHECK(b->type == api::RouteType::kBlackhole);
  CHECK(b->prefix_length == 0);

  m = ParseOne("route del 10.2.0.0/24 via 192.0.2.2");
  CHECK(m.header.op == Op::kDelete);
  CHECK(b->type == api::RouteType::kGateway);
}

TEST_CASE("dpctl: route errors", "[dpctl]") {
  Fails("route add", "expected a prefix");
  Fails("route add 10.2.0.0/24", "via GW, dev NAME or blackhole is required");
  Fails("route add 10.2.0.0/24 distance 5", "via GW, dev NAME or blackhole is required");
  Fails("route add 10.2.0.0/24 via", "expected a gateway");
  Fails("route add 10.2.0.0/24 via gateway", "'gateway' is not an IPv4 address");
  Fails("route add 10.2.0.0/24 dev eth1", "no interface 'eth1'");
  Fails("route add 10.2.0.0/24 via 192.0.2.2 metric 5", "route: unknown option 'metric'");
  Fails("route add 10.2.0.0/24 via 192.0.2.2 distance far", "distance: 'far' is not a number");
  Fails("route add 10.2.0.0 via 192.0.2.2", "expected A.B.C.D/LEN");
}

TEST_CASE("dpctl: neighbour add and del", "[dpctl]") {
  Message m = ParseOne("neigh add lan 10.1.0.2 02:00:00:00:01:0a");
  CHECK(m.header.kind == MessageKind::kNeighbor);
  CHECK(m.header.op == Op::kAdd);
  CHECK(m.body.neighbor.ifindex == 1);
  CHECK(m.body.neighbor.family == api::Family::kIpv4);
  CHECK(Same(m.body.neighbor.address, "10.1.0.2"));
  CHECK(Bytes(m.body.neighbor.mac, 6) == std::vector<uint8_t>{0x02, 0, 0, 0, 0x01, 0x0a});

  m = ParseOne("neighbor del wan 192.0.2.2");
  CHECK(m.header.op == Op::kDelete);
  CHECK(m.body.neighbor.ifindex == 2);
  CHECK(Same(m.body.neighbor.address, "192.0.2.2"));
}

TEST_CASE("dpctl: neighbour errors", "[dpctl]") {
  Fails("neigh add eth1 10.1.0.2 02:00:00:00:01:0a", "no interface 'eth1'");
  Fails("neigh add lan", "expected an address");
  Fails("neigh add lan 10.1.0.256 02:00:00:00:01:0a", "'10.1.0.256' is not an IPv4 address");
  Fails("neigh add lan 10.1.0.2", "expected a MAC address");
  Fails("neigh add lan 10.1.0.2 02:00:00:00:01", "'02:00:00:00:01' is not a MAC address");
  Fails("neigh add lan 10.1.0.2 zz:00:00:00:01:0a", "is not a MAC address");
}

TEST_CASE("dpctl: sa add with AES-GCM and the defaults", "[dpctl]") {
  Message m = ParseOne(
      "sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 "
      "key 00112233445566778899aabbccddeeff salt 01020304");
  CHECK(m.header.kind == MessageKind::kSa);
  CHECK(m.header.op == Op::kAdd);
  const api::SaBody& b = m.body.sa;
  CHECK(b.spi == 0x1001);
  CHECK(b.direction == api::Direction::kOut);
  CHECK(Same(b.local, "192.0.2.1"));
  CHECK(Same(b.remote, "192.0.2.2"));
  CHECK(b.cipher == api::Cipher::kAesGcm128);
  CHECK(b.enc_key_length == 16);
  CHECK(Bytes(b.enc_key, 4) == std::vector<uint8_t>{0x00, 0x11, 0x22, 0x33});
  CHECK(b.enc_key[15] == 0xff);
  CHECK(Bytes(b.salt, 4) == std::vector<uint8_t>{1, 2, 3, 4});
  // Defaults.
  CHECK(b.auth == api::Auth::kNone);
  CHECK(b.auth_key_length == 0);
  CHECK(b.mode == api::SaMode::kTunnel);
  CHECK(b.outer_family == api::Family::kIpv4);
  CHECK(b.replay_window == 1024);
  CHECK(b.esn == 0);
  CHECK(b.udp_encap == 0);
  CHECK(b.df_mode == api::DfMode::kCopy);
  CHECK(b.dscp_mode == api::DscpMode::kCopy);
  CHECK(b.outer_ttl == 0);
  CHECK(b.vti_ifindex == 0);
  CHECK(b.reqid == 0);
  CHECK(b.soft_bytes == 0);
  CHECK(b.hard_packets == 0);
}

TEST_CASE("dpctl: sa add with every option", "[dpctl]") {
  const std::string key(64, 'a'), authkey = "0x" + std::string(64, '5');
  Message m = ParseOne(
      "sa update spi 4097 dir in local 192.0.2.1 remote 198.51.100.9 cipher "
      "aes-cbc-256 key " +
      key + " auth hmac-sha256-128 authkey " + authkey +
      " esn window 2048 encap 4500 4501 vti vti0 reqid 7 soft-bytes 1000 "
      "hard-bytes 2000 soft-packets 10 hard-packets 20 df set dscp 46 ttl 32");
  CHECK(m.header.op == Op::kUpdate);
  const api::SaBody& b = m.body.sa;
  CHECK(b.spi == 4097);
  CHECK(b.direction == api::Direction::kIn);
  CHECK(Same(b.remote, "198.51.100.9"));
  CHECK(b.cipher == api::Cipher::kAesCbc256);
  CHECK(b.enc_key_length == 32);
  CHECK(Bytes(b.enc_key, 32) == std::vector<uint8_t>(32, 0xaa));
  CHECK(b.auth == api::Auth::kHmacSha256_128);
  CHECK(b.auth_key_length == 32);
  CHECK(Bytes(b.auth_key, 32) == std::vector<uint8_t>(32, 0x55));
  CHECK(b.auth_key[32] == 0);
  CHECK(b.esn == 1);
  CHECK(b.replay_window == 2048);
  CHECK(b.udp_encap == 1);
  CHECK(b.encap_src_port == 4500);
  CHECK(b.encap_dst_port == 4501);
  CHECK(b.vti_ifindex == 3);
  CHECK(b.reqid == 7);
  CHECK(b.soft_bytes == 1000);
  CHECK(b.hard_bytes == 2000);
  CHECK(b.soft_packets == 10);
  CHECK(b.hard_packets == 20);
  CHECK(b.df_mode == api::DfMode::kSet);
  CHECK(b.dscp_mode == api::DscpMode::kSet);
  CHECK(b.dscp == 46);
  CHECK(b.outer_ttl == 32);
}

TEST_CASE("dpctl: every cipher, integrity algorithm and DF mode by name", "[dpctl]") {
  const std::string tail = "sa add spi 0x2000 dir out local 192.0.2.1 remote 192.0.2.2 ";
  struct C {
    std::string words;
    api::Cipher cipher;
    api::Auth auth;
  };
  const C cases[] = {
      {"cipher aes-gcm-256 key " + std::string(62, '0') + "ff", api::Cipher::kAesGcm256,
       api::Auth::kNone},
      {"cipher aes-cbc-128 key 000102030405060708090a0b0c0d0e0f auth hmac-sha1-96 authkey "
       "0102030405060708090a0b0c0d0e0f1011121314",
       api::Cipher::kAesCbc128, api::Auth::kHmacSha1_96},
      {"cipher null auth hmac-sha384-192 authkey " + std::string(96, '1'), api::Cipher::kNull,
       api::Auth::kHmacSha384_192},
      {"cipher null auth hmac-sha512-256 authkey " + std::string(128, '2'), api::Cipher::kNull,
       api::Auth::kHmacSha512_256},
  };
  for (const C& c : cases) {
    Message m = ParseOne(tail + c.words);
    CHECK(m.body.sa.cipher == c.cipher);
    CHECK(m.body.sa.auth == c.auth);
  }
  CHECK(ParseOne(tail + "cipher aes-gcm-128 key " + std::string(32, '0') + " df clear")
            .body.sa.df_mode == api::DfMode::kClear);
  Message copy = ParseOne(tail + "cipher aes-gcm-128 key " + std::string(32, '0') +
                          " df set df copy dscp copy");
  CHECK(copy.body.sa.df_mode == api::DfMode::kCopy);
  CHECK(copy.body.sa.dscp_mode == api::DscpMode::kCopy);
}

TEST_CASE("dpctl: sa del carries only the key, never key material", "[dpctl]") {
  Message m = ParseOne("sa del spi 0x1001 dir in cipher aes-gcm-128 key " + std::string(32, 'f') +
                       " salt 01020304 local 192.0.2.1");
  Message want = api::NewMessage(MessageKind::kSa, Op::kDelete);
  want.body.sa.spi = 0x1001;
  want.body.sa.direction = api::Direction::kIn;
  CHECK(std::memcmp(&m, &want, sizeof m) == 0);
}

TEST_CASE("dpctl: sa errors", "[dpctl]") {
  const std::string base = "sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 ";
  Fails("sa add dir out cipher aes-gcm-128", "sa: spi and dir are required");
  Fails("sa add spi 0x1001 cipher aes-gcm-128", "sa: spi and dir are required");
  Fails("sa del spi 0x1001", "sa: spi and dir are required");
  Fails(base, "sa: cipher is required");
  Fails(base + "cipher des", "unknown cipher 'des'");
  Fails(base + "cipher aes-gcm-128 auth md5", "unknown auth 'md5'");
  Fails(base + "dir sideways", "dir in|out");
  Fails("sa add spi one dir out", "spi: 'one' is not a number");
  Fails(base + "cipher aes-gcm-128 key abc", "too long or odd");
  Fails(base + "cipher aes-gcm-256 key " + std::string(66, 'a'), "too long or odd");
  Fails(base + "cipher aes-gcm-128 key 00112233445566778899aabbccddeegg", "key: not hex");
  Fails(base + "cipher aes-gcm-128 salt 0102030405", "too long or odd");
  Fails(base + "cipher null auth hmac-sha1-96 authkey " + std::string(130, '1'), "too long or odd");
  Fails(base + "local 192.0.2", "'192.0.2' is not an IPv4 address");
  Fails(base + "cipher aes-gcm-128 vti eth1", "no interface 'eth1'");
  Fails(base + "cipher aes-gcm-128 lifetime 5", "sa: unknown option 'lifetime'");
  Fails(base + "cipher aes-gcm-128 window", "expected a window size");
  Fails(base + "cipher aes-gcm-128 encap 4500", "expected a destination port");
  Fails(base + "cipher aes-gcm-128 soft-bytes many", "soft-bytes: 'many' is not a number");
  Fails(base + "cipher aes-gcm-128 dscp high", "dscp: 'high' is not a number");
}

TEST_CASE("dpctl: policy with every selector", "[dpctl]") {
  Message m = ParseOne(
      "policy add out src 10.1.0.0/16 dst 10.2.0.0/24 proto tcp sport 1000-2000 dport 443 "
      "protect reqid 7 spi 0x1001 priority 50");
  CHECK(m.header.kind == MessageKind::kPolicy);
  CHECK(m.header.op == Op::kAdd);
  const api::PolicyBody& b = m.body.policy;
  CHECK(b.direction == api::Direction::kOut);
  CHECK(b.family == api::Family::kIpv4);
  CHECK(Same(b.src, "10.1.0.0"));
  CHECK(b.src_prefix_length == 16);
  CHECK(Same(b.dst, "10.2.0.0"));
  CHECK(b.dst_prefix_length == 24);
  CHECK(b.protocol == 6);
  CHECK(b.src_port_low == 1000);
  CHECK(b.src_port_high == 2000);
  CHECK(b.dst_port_low == 443);
  CHECK(b.dst_port_high == 443);
  CHECK(b.action == api::PolicyAction::kProtect);
  CHECK(b.reqid == 7);
  CHECK(b.out_spi == 0x1001);
  CHECK(b.priority == 50);
}

TEST_CASE("dpctl: policy defaults, actions and protocols", "[dpctl]") {
  Message m = ParseOne("policy add in src 0.0.0.0/0 dst 10.2.0.0/16 bypass");
  const api::PolicyBody& b = m.body.policy;
  CHECK(b.direction == api::Direction::kIn);
  CHECK(b.action == api::PolicyAction::kBypass);
  CHECK(b.priority == 100);
  CHECK(b.protocol == 0);
  CHECK(b.src_port_low == 0);
  CHECK(b.src_port_high == 65535);
  CHECK(b.dst_port_low == 0);
  CHECK(b.dst_port_high == 65535);
  CHECK(b.reqid == 0);
  CHECK(b.out_spi == 0);

  m = ParseOne("policy del out src 10.1.0.0/16 dst 10.2.0.0/16 proto udp discard");
  CHECK(m.header.op == Op::kDelete);
  CHECK(b.action == api::PolicyAction::kDiscard);
  CHECK(b.protocol == 17);
  m = ParseOne("policy update out src 10.1.0.0/16 dst 10.2.0.0/16 proto icmp protect reqid 1");
  CHECK(m.header.op == Op::kUpdate);
  CHECK(b.protocol == 1);
  CHECK(ParseOne("policy add out src 10.1.0.0/16 dst 10.2.0.0/16 proto 50 discard")
            .body.policy.protocol == 50);
  CHECK(ParseOne("policy add out src 10.1.0.0/16 dst 10.2.0.0/16 proto 255 discard")
            .body.policy.protocol == 255);
}

TEST_CASE("dpctl: policy errors", "[dpctl]") {
  const std::string sel = "policy add out src 10.1.0.0/16 dst 10.2.0.0/16 ";
  Fails("policy add", "expected out|in");
  Fails("policy add both src 10.1.0.0/16 dst 10.2.0.0/16 discard", "policy: out or in");
  Fails("policy add out dst 10.2.0.0/16 discard", "policy: src and dst are required");
  Fails("policy add out src 10.1.0.0/16 discard", "policy: src and dst are required");
  Fails(sel, "policy: protect, bypass or discard is required");
  Fails(sel + "proto gre discard", "proto: 'gre' is not a number");
  Fails(sel + "proto 256 discard", "proto: 0..255");
  Fails(sel + "sport 2000-1000 discard", "bad port range '2000-1000'");
  Fails(sel + "dport 70000 discard", "bad port range '70000'");
  Fails(sel + "dport 80-x discard", "port: 'x' is not a number");
  Fails(sel + "protect reqid 4294967296", "reqid: too large");
  Fails(sel + "protect reqid 1 spi", "expected a number");
  Fails(sel + "protect reqid 1 tunnel vti0", "policy: unknown option 'tunnel'");
  Fails("policy add out src 10.1.0.0/16 dst 10.2.0.0 discard", "expected A.B.C.D/LEN");
}

TEST_CASE("dpctl: bind and unbind a VTI", "[dpctl]") {
  Message m = ParseOne("bind vti0 0x1001");
  CHECK(m.header.kind == MessageKind::kVtiBinding);
  CHECK(m.header.op == Op::kAdd);
  CHECK(m.body.vti_binding.vti_ifindex == 3);
  CHECK(m.body.vti_binding.out_spi == 0x1001);
  m = ParseOne("unbind vti0");
  CHECK(m.header.op == Op::kDelete);
  CHECK(m.body.vti_binding.vti_ifindex == 3);
  CHECK(m.body.vti_binding.out_spi == 0);

  Fails("bind", "expected a VTI");
  Fails("bind vti9 0x1001", "no interface 'vti9'");
  Fails("bind vti0", "expected an SPI");
  Fails("bind vti0 spi", "spi: 'spi' is not a number");
}

TEST_CASE("dpctl: per-worker SAs: an SA's worker and a binding's members", "[dpctl]") {
  const std::string sa =
      "sa add spi 0x1002 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 "
      "key 00112233445566778899aabbccddeeff salt 01020304";
  CHECK(ParseOne(sa).body.sa.worker == 0);  // any
  CHECK(ParseOne(sa + " worker any").body.sa.worker == 0);
  CHECK(ParseOne(sa + " worker 0").body.sa.worker == 1);
  CHECK(ParseOne(sa + " worker 15").body.sa.worker == 16);
  Fails(sa + " worker 16", "worker");
  Fails(sa + " worker", "expected a worker or any");

  Message m = ParseOne("bind vti0 0x1001 member 0 0x1001 member 1 0x1002");
  const api::VtiBindingBody& b = m.body.vti_binding;
  CHECK(b.out_spi == 0x1001);
  CHECK(b.member_spi[0] == 0x1001);
  CHECK(b.member_spi[1] == 0x1002);
  for (size_t w = 2; w < api::kMaxSaGroupMembers; ++w) CHECK(b.member_spi[w] == 0);
  CHECK(ParseOne("bind vti0 0x1001").body.vti_binding.member_spi[1] == 0);
  Fails("bind vti0 0x1001 member 1 0x1002 member 1 0x1003", "worker 1 named twice");
  Fails("bind vti0 0x1001 member 1", "expected an SPI");
  Fails("bind vti0 0x1001 member 16 0x1002", "worker");
  Fails("bind vti0 0x1001 spare 1 0x1002", "bind: unexpected 'spare'");
}

TEST_CASE("dpctl: flush scopes", "[dpctl]") {
  Message m = ParseOne("flush");
  CHECK(m.header.kind == MessageKind::kFlush);
  CHECK(m.header.op == Op::kDelete);
  CHECK(m.body.flush.scope == api::kFlushAll);
  CHECK(ParseOne("flush all").body.flush.scope == api::kFlushAll);
  CHECK(ParseOne("flush sas routes").body.flush.scope == (api::kFlushSas | api::kFlushRoutes));
  CHECK(ParseOne("flush neighbors addresses interfaces").body.flush.scope ==
        (api::kFlushNeighbors | api::kFlushAddresses | api::kFlushInterfaces));
  // Policies alone: what vpnd's hitless restart flushes besides everything but the SAs.
  CHECK(ParseOne("flush policies").body.flush.scope == api::kFlushPolicies);
  Fails("flush sas tunnels", "flush: unknown scope 'tunnels'");
}

TEST_CASE("dpctl: unknown and empty commands", "[dpctl]") {
  Fails("", "expected a command");
  Fails("reboot now", "unknown command 'reboot'");
  Fails("sa frob spi 0x1001 dir in", "'frob': expected add, del or update");
}

TEST_CASE("dpctl: a batch of commands appends in order", "[dpctl]") {
  InterfaceDirectory dir;
  std::vector<Message> out;
  for (const char* line : {"interface add wan kind port", "address add wan 192.0.2.1/24",
                           "route add 0.0.0.0/0 via 192.0.2.254"})
    REQUIRE(ParseCommand(Words(line), dir, out).ok());
  REQUIRE(out.size() == 3);
  CHECK(out[0].header.kind == MessageKind::kInterface);
  CHECK(out[1].header.kind == MessageKind::kAddress);
  CHECK(out[1].body.address.ifindex == out[0].body.interface.ifindex);
  CHECK(out[2].header.kind == MessageKind::kRoute);
  // A failing command leaves the batch as it was.
  CHECK_FALSE(ParseCommand(Words("route add 10.0.0.0/8 via nowhere"), dir, out).ok());
  CHECK(out.size() == 3);
}

TEST_CASE("dpctl: numbers a field cannot hold are refused, never cut to its width", "[dpctl]") {
  Fails(
      "sa add spi 0x100000100 dir out cipher aes-gcm-128 key 000102030405060708090a0b0c0d0e0f "
      "salt 01020304 local 192.0.2.1 remote 192.0.2.2",
      "spi: 0x100000100 is out of range (0..4294967295)");
  Fails("interface add lan2 kind vif parent lan vlan 4096", "vlan: 4096 is out of range");
  Fails("interface add lan2 kind port mtu 70000", "mtu: 70000 is out of range");
  Fails(
      "sa add spi 0x1000 dir in cipher aes-gcm-128 key 000102030405060708090a0b0c0d0e0f "
      "salt 01020304 local 192.0.2.1 remote 192.0.2.2 window 65536",
      "window: 65536 is out of range");
  Fails(
      "sa add spi 0x1000 dir out cipher aes-gcm-128 key 000102030405060708090a0b0c0d0e0f "
      "salt 01020304 local 192.0.2.1 remote 192.0.2.2 ttl 256",
      "ttl: 256 is out of range");
  Fails(
      "sa add spi 0x1000 dir out cipher aes-gcm-128 key 000102030405060708090a0b0c0d0e0f "
      "salt 01020304 local 192.0.2.1 remote 192.0.2.2 dscp 64",
      "dscp: 64 is out of range");
  Fails(
      "sa add spi 0x1000 dir out cipher aes-gcm-128 key 000102030405060708090a0b0c0d0e0f "
      "salt 01020304 local 192.0.2.1 remote 192.0.2.2 encap 4500 65536",
      "encap: 65536 is out of range");
  Fails("route add 10.0.0.0/8 via 192.0.2.9 distance 256", "distance: 256 is out of range");
  Fails("bind vti0 0x1ffffffff", "spi: 0x1ffffffff is out of range");
  // The largest values still fit.
  CHECK(ParseOne("bind vti0 0xffffffff").body.vti_binding.out_spi == 0xffffffffu);
  CHECK(ParseOne("route add 10.0.0.0/8 via 192.0.2.9 distance 255").body.route.distance == 255);
}

TEST_CASE("dpctl: a salt is four bytes", "[dpctl]") {
  Fails(
      "sa add spi 0x1000 dir out cipher aes-gcm-128 key 000102030405060708090a0b0c0d0e0f "
      "salt 0102 local 192.0.2.1 remote 192.0.2.2",
      "salt: 4 bytes");
}

TEST_CASE("dpctl: words after a complete command are refused", "[dpctl]") {
  Fails("interface del lan now", "interface del: unexpected 'now'");
  Fails("address add lan 10.1.0.1/24 10.1.0.2/24", "address: unexpected '10.1.0.2/24'");
  Fails("neigh add lan 10.1.0.9 02:00:00:00:00:09 permanent", "neigh: unexpected 'permanent'");
  Fails("neigh del lan 10.1.0.9 02:00:00:00:00:09", "neigh: unexpected '02:00:00:00:00:09'");
  Fails("bind vti0 0x1000 0x2000", "bind: unexpected '0x2000'");
  Fails("unbind vti0 0x1000", "unbind: unexpected '0x1000'");
}

TEST_CASE("dpctl: an update of an unknown interface says there is none", "[dpctl]") {
  Fails("interface update nosuch mtu 1400", "no interface 'nosuch'");
}

}  // namespace
}  // namespace portcullis::dp::dpctl

namespace portcullis::dp::dpctl {
namespace {

TEST_CASE("dpctl: firewall rulesets, rules and their ranges", "[dpctl][firewall]") {
  Message rs = ParseOne("fw ruleset add 4 PubIn default accept log");
  CHECK(rs.header.kind == MessageKind::kFwRuleset);
  CHECK(rs.body.fw_ruleset.ruleset_id == 4);
  CHECK(std::string(rs.body.fw_ruleset.name) == "PubIn");
  CHECK(rs.body.fw_ruleset.default_action == api::FwAction::kAccept);
  CHECK(rs.body.fw_ruleset.default_log == 1);
  CHECK(rs.body.fw_ruleset.default_implicit == 0);
  // Without `default`: Vyatta's implicit default (drop; a zone policy's to-zone default).
  CHECK(ParseOne("fw ruleset add 5 X").body.fw_ruleset.default_implicit == 1);
  CHECK(ParseOne("fw ruleset update 4 X").body.fw_ruleset.default_action == api::FwAction::kDrop);
  CHECK(ParseOne("fw ruleset del 4").header.op == Op::kDelete);

  Message r = ParseOne(
      "fw rule add 4 10 entry 2 action reject proto tcp src 10.0.0.0/8 dst 192.0.2.1-192.0.2.9 "
      "sport 1024-65535 dport 22 state new,established log");
  const api::FwRuleBody& b = r.body.fw_rule;
  CHECK(b.ruleset_id == 4);
  CHECK(b.rule_number == 10);
  CHECK(b.entry == 2);
  CHECK(b.action == api::FwAction::kReject);
  CHECK((b.proto_low == 6 && b.proto_high == 6));
  CHECK(std::memcmp(b.src_low.bytes, Ip("10.0.0.0").bytes, 16) == 0);
  CHECK(std::memcmp(b.src_high.bytes, Ip("10.255.255.255").bytes, 16) == 0);
  CHECK(std::memcmp(b.dst_low.bytes, Ip("192.0.2.1").bytes, 16) == 0);
  CHECK(std::memcmp(b.dst_high.bytes, Ip("192.0.2.9").bytes, 16) == 0);
  CHECK((b.src_port_low == 1024 && b.src_port_high == 65535));
  CHECK((b.dst_port_low == 22 && b.dst_port_high == 22));
  CHECK(b.state == (api::kFwStateNew | api::kFwStateEstablished));
  CHECK(b.log == 1);

  // Defaults: any protocol, address and port; ICMP alone: any type and code.
  Message any = ParseOne("fw rule add 1 1 accept");
  CHECK((any.body.fw_rule.proto_low == 0 && any.body.fw_rule.proto_high == 255));
  CHECK(any.body.fw_rule.dst_port_high == 65535);
  CHECK(std::memcmp(any.body.fw_rule.dst_high.bytes, Ip("255.255.255.255").bytes, 16) == 0);
  Message icmp = ParseOne("fw rule add 1 2 accept proto icmp");
  CHECK((icmp.body.fw_rule.icmp_type_high == 255 && icmp.body.fw_rule.icmp_code_high == 255));
  Message echo = ParseOne("fw rule add 1 3 accept proto icmp icmp-type 8");
  CHECK((echo.body.fw_rule.icmp_type_low == 8 && echo.body.fw_rule.icmp_type_high == 8));
  CHECK((echo.body.fw_rule.icmp_code_low == 0 && echo.body.fw_rule.icmp_code_high == 255));
  Message esp = ParseOne("fw rule add 1 4 drop proto 50 dst 192.0.2.1");
  CHECK((esp.body.fw_rule.proto_low == 50 && esp.body.fw_rule.proto_high == 50));
  CHECK(ParseOne("fw rule del 1 4").header.op == Op::kDelete);
}

TEST_CASE("dpctl: firewall bindings, zones and the global policy", "[dpctl][firewall]") {
  Message bind = ParseOne("fw bind vti0 out 7 position 2");
  CHECK(bind.body.fw_binding.ifindex == 3);
  CHECK(bind.body.fw_binding.hook == api::FwHook::kOut);
  CHECK(bind.body.fw_binding.ruleset_id == 7);
  CHECK(bind.body.fw_binding.position == 2);
  Message unbind = ParseOne("fw unbind lan local 7");
  CHECK(unbind.header.op == Op::kDelete);
  CHECK(unbind.body.fw_binding.hook == api::FwHook::kLocal);
  Message zone = ParseOne("fw zone add 2 LOCAL default reject local");
  CHECK(zone.body.fw_zone.zone_id == 2);
  CHECK(zone.body.fw_zone.local == 1);
  CHECK(zone.body.fw_zone.default_action == api::FwAction::kReject);
  Message zif = ParseOne("fw zone-if add wan 3");
  CHECK((zif.body.fw_zone_interface.ifindex == 2 && zif.body.fw_zone_interface.zone_id == 3));
  Message zp = ParseOne("fw zone-policy add 1 2 9 position 1");
  CHECK(zp.body.fw_zone_policy.from_zone == 1);
  CHECK(zp.body.fw_zone_policy.to_zone == 2);
  CHECK(zp.body.fw_zone_policy.ruleset_id == 9);
  CHECK(zp.body.fw_zone_policy.position == 1);
  Message g = ParseOne("fw global state tcp,icmp tcp-established 3600 udp 60");
  CHECK(g.header.op == Op::kUpdate);
  CHECK((g.body.fw_global.state_tcp == 1 && g.body.fw_global.state_udp == 0 &&
         g.body.fw_global.state_icmp == 1));
  CHECK(g.body.fw_global.tcp_established_timeout_s == 3600);
  CHECK(g.body.fw_global.udp_timeout_s == 60);
  CHECK(ParseOne("flush firewall").body.flush.scope == api::kFlushFirewall);
}

TEST_CASE("dpctl: firewall errors", "[dpctl][firewall]") {
  Fails("fw", "expected ruleset|rule|bind");
  Fails("fw frob", "fw: unknown object 'frob'");
  Fails("fw ruleset add 1", "expected a name");
  Fails("fw ruleset add 1 " + std::string(32, 'x'), "1..31 characters");
  Fails("fw ruleset add 1 A default maybe", "expected accept, drop or reject");
  Fails("fw ruleset add 1 A local", "unknown option 'local'");
  Fails("fw rule add 1 1 proto tcp", "action accept|drop|reject is required");
  Fails("fw rule add 1 1 accept dport 80-20", "low > high");
  Fails("fw rule add 1 1 accept dport 70000", "out of range");
  Fails("fw rule add 1 1 accept state sleepy", "state: unknown 'sleepy'");
  Fails("fw rule add 1 1 accept src 10.0.0.300", "is not an IPv4 address");
  Fails("fw bind eth1 in 1", "no interface 'eth1'");
  Fails("fw bind lan sideways 1", "expected in, out or local");
  Fails("fw bind lan in 1 slot 2", "expected 'position N'");
  Fails("fw global state sctp", "unknown 'sctp'");
  Fails("fw zone-policy add 1", "expected a to-zone id");
}

}  // namespace
}  // namespace portcullis::dp::dpctl

namespace portcullis::dp::dpctl {
namespace {

api::IpAddr V6(const char* s) {
  api::IpAddr a{};
  REQUIRE(inet_pton(AF_INET6, s, a.bytes) == 1);
  return a;
}

TEST_CASE("dpctl: IPv6 addresses, routes, neighbours and SA endpoints", "[dpctl][ipv6]") {
  Message a = ParseOne("address add lan 2001:db8:1::1/64");
  CHECK(a.body.address.family == api::Family::kIpv6);
  CHECK(a.body.address.prefix_length == 64);
  CHECK(std::memcmp(a.body.address.address.bytes, V6("2001:db8:1::1").bytes, 16) == 0);
  Message r = ParseOne("route add 2001:db8:5::/48 via fe80::1 dev wan");
  CHECK(r.body.route.family == api::Family::kIpv6);
  CHECK(r.body.route.type == api::RouteType::kGateway);
  CHECK(r.body.route.out_ifindex == 2);
  CHECK(std::memcmp(r.body.route.next_hop.bytes, V6("fe80::1").bytes, 16) == 0);
  Message d = ParseOne("route add ::/0 dev vti0");
  CHECK(d.body.route.family == api::Family::kIpv6);
  CHECK(d.body.route.prefix_length == 0);
  Message n = ParseOne("neigh add lan 2001:db8:1::2 02:00:00:00:01:0a");
  CHECK(n.body.neighbor.family == api::Family::kIpv6);
  Message s = ParseOne(
      "sa add spi 0x3001 dir out local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher aes-gcm-128 "
      "key 00112233445566778899aabbccddeeff salt 01020304 vti vti0");
  CHECK(s.body.sa.outer_family == api::Family::kIpv6);
  CHECK(std::memcmp(s.body.sa.remote.bytes, V6("2001:db8:ff::2").bytes, 16) == 0);
  Fails("address add lan 2001:db8::1/129", "bad prefix length");
  Fails("address add lan 2001:db8::g/64", "not an IPv6 address");
  Fails("route add 2001:db8:5::/48 via 192.0.2.1", "other address family");
  Fails("route add 10.0.0.0/8 via 2001:db8::1", "other address family");
  Fails(
      "sa add spi 0x3001 dir out local 2001:db8:ff::1 remote 192.0.2.2 cipher aes-gcm-128 "
      "key 00112233445566778899aabbccddeeff salt 01020304",
      "different address families");
}

}  // namespace
}  // namespace portcullis::dp::dpctl
