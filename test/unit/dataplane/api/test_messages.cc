#include "test/unit/dataplane/api/test_messages.h"

#include <algorithm>
#include <cstring>

namespace portcullis::dp::api::testing {
namespace {

IpAddr V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddr ip{};
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

}  // namespace

Message RouteMessage(uint32_t n) {
  Message m = NewMessage(MessageKind::kRoute, Op::kAdd);
  RouteBody& r = m.body.route;
  r.family = Family::kIpv4;
  r.prefix =
      V4(10, static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n));
  r.prefix_length = 32;
  r.type = RouteType::kGateway;
  r.next_hop = V4(192, 0, 2, 1);
  r.distance = 1;
  return m;
}

uint32_t RouteNumber(const Message& m) {
  const uint8_t* b = m.body.route.prefix.bytes;
  return (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

Message GcmSaMessage(uint32_t spi) {
  Message m = NewMessage(MessageKind::kSa, Op::kAdd);
  SaBody& sa = m.body.sa;
  sa.spi = spi;
  sa.reqid = 1;
  sa.direction = Direction::kIn;
  sa.mode = SaMode::kTunnel;
  sa.outer_family = Family::kIpv4;
  sa.local = V4(192, 0, 2, 1);
  sa.remote = V4(192, 0, 2, 2);
  sa.cipher = Cipher::kAesGcm128;
  sa.auth = Auth::kNone;
  sa.enc_key_length = 16;
  memcpy(sa.enc_key, kKeyPattern, 16);
  memcpy(sa.salt, kKeyPattern + 16, 4);
  sa.esn = 1;
  sa.replay_window = 1024;
  sa.df_mode = DfMode::kCopy;
  sa.dscp_mode = DscpMode::kCopy;
  sa.soft_bytes = 900;
  sa.hard_bytes = 1000;
  return m;
}

Message CbcSaMessage(uint32_t spi) {
  Message m = GcmSaMessage(spi);
  SaBody& sa = m.body.sa;
  sa.direction = Direction::kOut;
  sa.cipher = Cipher::kAesCbc256;
  sa.auth = Auth::kHmacSha256_128;
  sa.enc_key_length = 32;
  memcpy(sa.enc_key, kKeyPattern, 32);
  memset(sa.salt, 0, sizeof sa.salt);
  sa.auth_key_length = 32;
  memcpy(sa.auth_key, kKeyPattern, 32);
  sa.udp_encap = 1;
  sa.encap_src_port = 4500;
  sa.encap_dst_port = 4500;
  sa.vti_ifindex = 7;
  return m;
}

Message InterfaceMessage(uint32_t ifindex) {
  Message m = NewMessage(MessageKind::kInterface, Op::kAdd);
  InterfaceBody& i = m.body.interface;
  i.ifindex = ifindex;
  strcpy(i.name, "dp0p1s1");
  i.kind = InterfaceKind::kPort;
  i.admin_up = 1;
  i.dpdk_port = 0;
  i.mtu = 1500;
  const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
  memcpy(i.mac, mac, 6);
  return m;
}

Message AddressMessage(uint32_t ifindex) {
  Message m = NewMessage(MessageKind::kAddress, Op::kAdd);
  AddressBody& a = m.body.address;
  a.ifindex = ifindex;
  a.family = Family::kIpv4;
  a.prefix_length = 24;
  a.address = V4(192, 0, 2, 1);
  return m;
}

Message PolicyMessage(uint32_t reqid) {
  Message m = NewMessage(MessageKind::kPolicy, Op::kAdd);
  PolicyBody& p = m.body.policy;
  p.reqid = reqid;
  p.priority = 100;
  p.out_spi = 0x1000;
  p.direction = Direction::kOut;
  p.family = Family::kIpv4;
  p.action = PolicyAction::kProtect;
  p.src = V4(10, 1, 0, 0);
  p.src_prefix_length = 24;
  p.dst = V4(10, 2, 0, 0);
  p.dst_prefix_length = 24;
  p.src_port_high = 65535;
  p.dst_port_high = 65535;
  return m;
}

bool ContainsKeyProbe(absl::Span<const uint8_t> memory) {
  return std::search(memory.begin(), memory.end(), kKeyPattern, kKeyPattern + kKeyProbeSize) !=
         memory.end();
}

PacketMeta IkeMeta(uint32_t n) {
  PacketMeta m{};
  m.family = Family::kIpv4;
  m.src = V4(198, 51, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n));
  m.dst = V4(192, 0, 2, 1);
  m.src_port = 500;
  m.dst_port = 500;
  m.ifindex = 3;
  return m;
}

}  // namespace portcullis::dp::api::testing
