// The seed's six firewall log lines (vyatta-vra-ipsec.txt, "Interface-based firewalls with
// route-based IPsec"), each reproduced byte for byte from the event the dataplane sends for an
// equivalent packet: ESP in on the WAN bond, the decrypted echo request in on the VTI and out on
// the vif, the reply in on the vif and out on the VTI, its ESP out on the bond.
#include "control/vpnd/fw_log_line.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>

using namespace portcullis;
using namespace portcullis::vpnd;
using dp::api::FwAction;
using dp::api::FwHook;
using dp::api::FwLogEvent;

namespace {

struct Packet {
  const char* src;
  const char* dst;
  uint16_t len;
  uint8_t ttl;
  uint8_t proto;
  uint8_t tos = 0;
  uint8_t l4[20] = {};
  uint16_t l4n = 8;  // bytes of l4 the event holds
};

FwLogEvent Event(FwHook hook, const Packet& p, uint32_t rule, FwAction action = FwAction::kAccept) {
  FwLogEvent e;
  std::memset(&e, 0, sizeof e);
  e.ruleset_id = 1;
  e.rule_number = rule;
  e.ifindex = 1;
  e.hook = hook;
  e.action = action;
  e.family = dp::api::Family::kIpv4;
  e.l3_length = 20;
  e.l3[0] = 0x45;
  e.l3[1] = p.tos;
  e.l3[2] = static_cast<uint8_t>(p.len >> 8);
  e.l3[3] = static_cast<uint8_t>(p.len);
  e.l3[8] = p.ttl;
  e.l3[9] = p.proto;
  inet_pton(AF_INET, p.src, e.l3 + 12);
  inet_pton(AF_INET, p.dst, e.l3 + 16);
  e.l4_length = p.l4n;
  std::memcpy(e.l4, p.l4, sizeof p.l4);
  return e;
}

void Macs(FwLogEvent& e, std::initializer_list<uint8_t> src, std::initializer_list<uint8_t> dst) {
  e.has_macs = 1;
  std::copy(src.begin(), src.end(), e.src_mac);
  std::copy(dst.begin(), dst.end(), e.dst_mac);
}

Packet Esp(const char* s, const char* d, uint8_t ttl) {
  Packet p{s, d, 156, ttl, 50};
  const uint8_t spi_seq[8] = {0xc1, 0x2e, 0x10, 0x09, 0, 0, 0, 7};
  std::memcpy(p.l4, spi_seq, 8);
  return p;
}

Packet Echo(const char* s, const char* d, uint8_t ttl, uint8_t type) {
  Packet p{s, d, 84, ttl, 1};
  p.l4[0] = type;
  p.l4[4] = 0x12;  // identifier, sequence
  p.l4[7] = 1;
  return p;
}

}  // namespace

TEST_CASE("the seed's six lines", "[fwlog]") {
  FwLogEvent esp_in = Event(FwHook::kIn, Esp("198.11.194.155", "159.8.98.214", 241), 1);
  Macs(esp_in, {0xe4, 0xc7, 0x22, 0x63, 0xb5, 0x41}, {0x00, 0x00, 0x5e, 0x00, 0x01, 0x02});
  CHECK(FormatFwLogLine(esp_in, {"dp0bond1", "PubIn", true}) ==
        " In:dp0bond1 PASS fw rule PubIn:1 proto=(other/50) addr=198.11.194.155->159.8.98.214 "
        "macs=e4:c7:22:63:b5:41->0:0:5e:0:1:2 v4=(len:156,ttl:241,tos:00,ecn:Not,prot:50,hl:5)");

  FwLogEvent vti_in = Event(FwHook::kIn, Echo("10.90.72.203", "10.126.19.174", 63, 8), 10);
  CHECK(FormatFwLogLine(vti_in, {"vti0", "INipsecvti0", false}) ==
        " In:vti0 PASS fw rule INipsecvti0:10 proto=(icmp/1) addr=10.90.72.203->10.126.19.174 "
        "v4=(len:84,ttl:63,tos:00,ecn:Not,prot:1,hl:5) icmp=(EchoRq,type:8,code:0)");

  FwLogEvent vif_out = Event(FwHook::kOut, Echo("10.90.72.203", "10.126.19.174", 62, 8), 10);
  // Out: no MACs even when the dataplane copied them.
  Macs(vif_out, {2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2});
  CHECK(FormatFwLogLine(vif_out, {"dp0bond0.1750", "OUTipsec1750", false}) ==
        "Out:dp0bond0.1750 PASS fw rule OUTipsec1750:10 proto=(icmp/1) "
        "addr=10.90.72.203->10.126.19.174 v4=(len:84,ttl:62,tos:00,ecn:Not,prot:1,hl:5) "
        "icmp=(EchoRq,type:8,code:0)");

  FwLogEvent vif_in = Event(FwHook::kIn, Echo("10.126.19.174", "10.90.72.203", 64, 0), 10);
  // In on a vif: Vyatta prints no MACs (only Ethernet ports and bonds have them).
  Macs(vif_in, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1});
  CHECK(FormatFwLogLine(vif_in, {"dp0bond0.1750", "INipsec1750", false}) ==
        " In:dp0bond0.1750 PASS fw rule INipsec1750:10 proto=(icmp/1) "
        "addr=10.126.19.174->10.90.72.203 v4=(len:84,ttl:64,tos:00,ecn:Not,prot:1,hl:5) "
        "icmp=(EchoRp,type:0,code:0)");

  FwLogEvent vti_out = Event(FwHook::kOut, Echo("10.126.19.174", "10.90.72.203", 63, 0), 10);
  CHECK(FormatFwLogLine(vti_out, {"vti0", "OUTipsecvti0", false}) ==
        "Out:vti0 PASS fw rule OUTipsecvti0:10 proto=(icmp/1) addr=10.126.19.174->10.90.72.203 "
        "v4=(len:84,ttl:63,tos:00,ecn:Not,prot:1,hl:5) icmp=(EchoRp,type:0,code:0)");

  FwLogEvent esp_out = Event(FwHook::kOut, Esp("159.8.98.214", "198.11.194.155", 255), 1);
  CHECK(FormatFwLogLine(esp_out, {"dp0bond1", "PubOut", true}) ==
        "Out:dp0bond1 PASS fw rule PubOut:1 proto=(other/50) addr=159.8.98.214->198.11.194.155 "
        "v4=(len:156,ttl:255,tos:00,ecn:Not,prot:50,hl:5)");
}

TEST_CASE("drops, defaults, ports, ECN, ICMP errors, zones", "[fwlog]") {
  Packet udp{"192.0.2.2", "192.0.2.1", 328, 64, 17, 0x02};
  udp.l4[0] = 0x01;  // 500 -> 500, udp length 308
  udp.l4[1] = 0xf4;
  udp.l4[2] = 0x01;
  udp.l4[3] = 0xf4;
  udp.l4[4] = 0x01;
  udp.l4[5] = 0x34;
  FwLogEvent e = Event(FwHook::kLocal, udp, 0, FwAction::kDrop);
  CHECK(FormatFwLogLine(e, {"dp0p1s1", "WAN-LOCAL", true}) ==
        " In:dp0p1s1 DROP local rule WAN-LOCAL:10000 proto=(udp/17) addr=192.0.2.2->192.0.2.1 "
        "port=500->500 v4=(len:328,ttl:64,tos:02,ecn:ECT(0),prot:17,hl:5) udp=(len:308)");
  Packet unreach = Echo("192.0.2.254", "10.1.0.5", 20, 3);
  unreach.l4[1] = 3;
  e = Event(FwHook::kOut, unreach, 7, FwAction::kReject);
  e.zone_from = 1;
  e.zone_to = 2;
  CHECK(FormatFwLogLine(e, {"eth1", "LAN-IN", true}) ==
        "Out:eth1 DROP fw rule LAN-IN:7 proto=(icmp/1) addr=192.0.2.254->10.1.0.5 "
        "v4=(len:84,ttl:20,tos:00,ecn:Not,prot:1,hl:5) icmp=(Err,type:3,code:3)");
  Packet tcp{"10.1.0.5", "10.2.0.9", 60, 63, 6};
  tcp.l4[0] = 0xc3;  // 50000 -> 5201
  tcp.l4[1] = 0x50;
  tcp.l4[2] = 0x14;
  tcp.l4[3] = 0x51;
  e = Event(FwHook::kIn, tcp, 20);
  CHECK(FormatFwLogLine(e, {"vti0", "IPSEC-IN", false}) ==
        " In:vti0 PASS fw rule IPSEC-IN:20 proto=(tcp/6) addr=10.1.0.5->10.2.0.9 "
        "port=50000->5201 v4=(len:60,ttl:63,tos:00,ecn:Not,prot:6,hl:5)");
}

TEST_CASE("TCP lines carry Vyatta's tcp=(...) part when the event holds the 20-byte header",
          "[fwlog]") {
  static_assert(sizeof(FwLogEvent::l4) == 20);
  // npf_ext_log.c's own example: "... tcp=(ACK,res:0,doff:8,seq:0xf1ffdee5,ack:0x262b9403,
  // win:4,urgp:0)".
  Packet ack{"11.0.0.1", "12.0.0.1", 52, 64, 6};
  const uint8_t h[20] = {0xa9, 0xa6, 0x10, 0x00, 0xf1, 0xff, 0xde, 0xe5, 0x26, 0x2b,
                         0x94, 0x03, 0x80, 0x10, 0x00, 0x04, 0xab, 0xcd, 0x00, 0x00};
  std::memcpy(ack.l4, h, 20);
  ack.l4n = 20;
  FwLogEvent e = Event(FwHook::kIn, ack, 10);
  CHECK(FormatFwLogLine(e, {"dp0p1s1", "F", false}) ==
        " In:dp0p1s1 PASS fw rule F:10 proto=(tcp/6) addr=11.0.0.1->12.0.0.1 port=43430->4096 "
        "v4=(len:52,ttl:64,tos:00,ecn:Not,prot:6,hl:5) "
        "tcp=(ACK,res:0,doff:8,seq:0xf1ffdee5,ack:0x262b9403,win:4,urgp:0)");
  // Every flag in Vyatta's order, NS (bit 0 of the reserved nibble) last, the other reserved
  // bits as res, and a zero ack as printf's %#x prints it.
  Packet syn{"10.1.0.5", "10.2.0.9", 40, 63, 6};
  const uint8_t s[20] = {0xc3, 0x50, 0x14, 0x51, 0,    0,    0, 1, 0,    0,
                         0,    0,    0x5b, 0xff, 0xfa, 0xf0, 0, 0, 0x01, 0x02};
  std::memcpy(syn.l4, s, 20);
  syn.l4n = 20;
  e = Event(FwHook::kOut, syn, 3, FwAction::kDrop);
  CHECK(FormatFwLogLine(e, {"vti0", "G", false}) ==
        "Out:vti0 DROP fw rule G:3 proto=(tcp/6) addr=10.1.0.5->10.2.0.9 port=50000->5201 "
        "v4=(len:40,ttl:63,tos:00,ecn:Not,prot:6,hl:5) "
        "tcp=(FIN,SYN,RST,PSH,ACK,URG,ECE,CWR,NS,res:5,doff:5,seq:0x1,ack:0,win:64240,urgp:258)");
  // 19 bytes: no tcp part (the event holds less than the header).
  syn.l4n = 19;
  e = Event(FwHook::kOut, syn, 3, FwAction::kDrop);
  CHECK(FormatFwLogLine(e, {"vti0", "G", false}).find("tcp=(") == std::string::npos);
}

TEST_CASE("a non-first fragment's line has no ports or protocol part", "[fwlog]") {
  Packet udp{"192.0.2.2", "192.0.2.1", 1500, 64, 17};
  udp.l4[0] = 0x01;  // payload bytes that would read as ports 500 -> 500, length 308
  udp.l4[1] = 0xf4;
  udp.l4[2] = 0x01;
  udp.l4[3] = 0xf4;
  udp.l4[5] = 0x34;
  FwLogEvent e = Event(FwHook::kIn, udp, 1);
  e.l3[6] = 0x00;  // fragment offset 185 (1480 bytes)
  e.l3[7] = 0xb9;
  CHECK(FormatFwLogLine(e, {"vti0", "F", false}) ==
        " In:vti0 PASS fw rule F:1 proto=(udp/17) addr=192.0.2.2->192.0.2.1 "
        "v4=(len:1500,ttl:64,tos:00,ecn:Not,prot:17,hl:5)");
  // The first fragment (more-fragments set, offset 0) has its header.
  e.l3[6] = 0x20;
  e.l3[7] = 0x00;
  CHECK(FormatFwLogLine(e, {"vti0", "F", false}).find("port=500->500") != std::string::npos);
}

TEST_CASE("IPv6 lines: Vyatta's v6=(...), the protocol past the extension headers", "[fwlog]") {
  FwLogEvent e;
  std::memset(&e, 0, sizeof e);
  e.ruleset_id = 1;
  e.rule_number = 20;
  e.hook = FwHook::kIn;
  e.action = FwAction::kDrop;
  e.family = dp::api::Family::kIpv6;
  // A TCP SYN to port 22 behind a destination-options header (next header 60), flow 0x12345.
  const uint8_t hdr[8] = {0x60, 0x01, 0x23, 0x45, 0x00, 0x24, 60, 64};
  std::memcpy(e.l3, hdr, 8);
  inet_pton(AF_INET6, "2001:db8:2::10", e.l3 + 8);
  inet_pton(AF_INET6, "2001:db8:1::10", e.l3 + 24);
  e.l3[40] = 6;
  e.l3_length = 41;
  const uint8_t tcp[20] = {0x9c, 0x40, 0x00, 0x16, 0,    0,    0x03, 0xe8, 0, 0,
                           0,    0,    0x50, 0x02, 0xff, 0xff, 0,    0,    0, 0};
  std::memcpy(e.l4, tcp, 20);
  e.l4_length = 20;
  CHECK(FormatFwLogLine(e, {"dp0p1s2", "WAN-IN", false}) ==
        " In:dp0p1s2 DROP fw rule WAN-IN:20 proto=(tcp/6) addr=2001:db8:2::10->2001:db8:1::10 "
        "port=40000->22 v6=(len:76,hlim:64,tc:00,ecn:Not,nxt:60,flow:12345) "
        "tcp=(SYN,res:0,doff:5,seq:0x3e8,ack:0,win:65535,urgp:0)");
  // Without the dataplane's byte (40 bytes only): the header's next header names it.
  e.l3_length = 40;
  CHECK(FormatFwLogLine(e, {"dp0p1s2", "WAN-IN", false}).find("proto=(other/60)") !=
        std::string::npos);
}
