#include "control/vpnd/fw_log_line.h"

#include <arpa/inet.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace portcullis::vpnd {

namespace {

using dp::api::FwAction;
using dp::api::FwHook;
using dp::api::FwLogEvent;

constexpr const char* kEcn[] = {"Not", "ECT(1)", "ECT(0)", "CE"};

uint16_t Be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// ether_ntoa's form: no leading zeros ("0:0:5e:0:1:2").
std::string Mac(const uint8_t* m) {
  return absl::StrFormat("%x:%x:%x:%x:%x:%x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

std::string Address(int family, const uint8_t* bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes, buf, sizeof buf);
  return buf;
}

const char* ProtoName(uint8_t p) {
  switch (p) {
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 132:
      return "sctp";
    case 33:
      return "dccp";
    case 136:
      return "udplite";
    case 1:
      return "icmp";
    case 58:
      return "icmpv6";
    default:
      return "other";
  }
}

bool HasPorts(uint8_t p) {
  return p == 6 || p == 17 || p == 132 || p == 33 || p == 136;
}

// Vyatta's npf_log_tcp_header: the flags set, each followed by a comma, then the reserved
// bits (without NS), data offset, sequence and ack numbers, window and urgent pointer.
std::string TcpPart(const uint8_t* th) {
  uint8_t x2 = th[12] & 0x0f, doff = th[12] >> 4, f = th[13];
  std::string flags;
  static constexpr std::pair<uint8_t, const char*> kFlags[] = {
      {0x01, "FIN,"}, {0x02, "SYN,"}, {0x04, "RST,"}, {0x08, "PSH,"},
      {0x10, "ACK,"}, {0x20, "URG,"}, {0x40, "ECE,"}, {0x80, "CWR,"}};
  for (const auto& [bit, name] : kFlags)
    if (f & bit) flags += name;
  if (x2 & 1) flags += "NS,";  // RFC 3540's experimental bit 0 of the reserved field
  return absl::StrFormat("tcp=(%sres:%u,doff:%u,seq:%#x,ack:%#x,win:%u,urgp:%u)", flags, x2 >> 1,
                         doff, Be32(th + 4), Be32(th + 8), Be16(th + 14), Be16(th + 18));
}

// The protocol part after the IP header's, from the first bytes of l4 ("" when Vyatta prints
// none, or the event holds too little of the header: TCP's part needs its 20 bytes, and DCCP's
// fields are not printed).
std::string L4Part(uint8_t proto, const uint8_t* l4, size_t n) {
  switch (proto) {
    case 6:
      return n >= 20 ? TcpPart(l4) : "";
    case 17:
      return n >= 6 ? absl::StrFormat("udp=(len:%u)", Be16(l4 + 4)) : "";
    case 136:
      return n >= 6 ? absl::StrFormat("udplite=(cov:%u)", Be16(l4 + 4)) : "";
    case 132:
      return n >= 8 ? absl::StrFormat("sctp=(verif:%#x)", Be32(l4 + 4)) : "";
    case 1: {
      if (n < 2) return "";
      uint8_t type = l4[0];
      bool err = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
      const char* cls = err ? "Err" : type == 8 ? "EchoRq" : type == 0 ? "EchoRp" : "Info";
      return absl::StrFormat("icmp=(%s,type:%u,code:%u)", cls, type, l4[1]);
    }
    case 58: {
      if (n < 2) return "";
      uint8_t type = l4[0];
      const char* cls = !(type & 0x80) ? "Err"
                        : type == 128  ? "EchoRq"
                        : type == 129  ? "EchoRp"
                                       : "Info";
      return absl::StrFormat("icmpv6=(%s,type:%u,code:%u)", cls, type, l4[1]);
    }
    default:
      return "";
  }
}

}  // namespace

std::string FormatFwLogLine(const FwLogEvent& e, const FwLogNames& names) {
  bool in = e.hook != FwHook::kOut;  // local is on the way in
  const char* dirn = in ? " In" : "Out";
  const char* fate = e.action == FwAction::kAccept ? "PASS" : "DROP";
  // Vyatta's npf_ruleset_features log names: local rulesets "local", interface and zone
  // rulesets "fw".
  bool zone = e.zone_from != 0 || e.zone_to != 0;
  const char* type = !zone && e.hook == FwHook::kLocal ? "local" : "fw";
  uint32_t rule = e.rule_number == 0 ? kFwDefaultRuleNumber : e.rule_number;
  std::string out = absl::StrCat(dirn, ":", names.interface, " ", fate, " ", type, " rule ",
                                 names.ruleset, ":", rule);
  const uint8_t* ip = e.l3;
  size_t l3 = std::min<size_t>(e.l3_length, sizeof e.l3);
  size_t l4n = std::min<size_t>(e.l4_length, sizeof e.l4);
  uint8_t proto = 0;
  std::string addr, ip_part;
  if (e.family == dp::api::Family::kIpv4 && l3 >= 20) {
    proto = ip[9];
    // A non-first fragment carries no L4 header: its first bytes are payload, not ports.
    if (Be16(ip + 6) & 0x1fff) l4n = 0;
    uint8_t tos = ip[1];
    addr = absl::StrCat(Address(AF_INET, ip + 12), "->", Address(AF_INET, ip + 16));
    ip_part = absl::StrFormat("v4=(len:%u,ttl:%u,tos:%02X,ecn:%s,prot:%u,hl:%u)", Be16(ip + 2),
                              ip[8], tos, kEcn[tos & 3], proto, ip[0] & 0x0f);
  } else if (e.family == dp::api::Family::kIpv6 && l3 >= 40) {
    // The dataplane puts the upper layer's protocol (past the extension headers) after the
    // header; `proto=`, the ports and the protocol part are its, `nxt:` the header's.
    proto = l3 > 40 ? ip[40] : ip[6];
    uint32_t flow = Be32(ip);
    uint8_t tc = static_cast<uint8_t>((flow >> 20) & 0xff);
    addr = absl::StrCat(Address(AF_INET6, ip + 8), "->", Address(AF_INET6, ip + 24));
    ip_part = absl::StrFormat("v6=(len:%u,hlim:%u,tc:%02X,ecn:%s,nxt:%u,flow:%05x)",
                              Be16(ip + 4) + 40u, ip[7], tc, kEcn[tc & 3], ip[6], flow & 0xfffff);
  } else {
    return out;  // not IP: Vyatta prints the MACs and ethertype, which the event lacks
  }
  std::string ports;
  if (HasPorts(proto) && l4n >= 4)
    ports = absl::StrFormat(" port=%u->%u", Be16(e.l4), Be16(e.l4 + 2));
  std::string macs;
  if (in && names.ethernet && e.has_macs)
    macs = absl::StrCat("macs=", Mac(e.src_mac), "->", Mac(e.dst_mac), " ");
  std::string l4_part = L4Part(proto, e.l4, l4n);
  absl::StrAppend(&out, " proto=(", ProtoName(proto), "/", proto, ") addr=", addr, ports, " ", macs,
                  ip_part);
  // Vyatta puts a space before an empty protocol part too; the seed's lines (as syslog shows
  // them) end without it.
  if (!l4_part.empty()) absl::StrAppend(&out, " ", l4_part);
  return out;
}

}  // namespace portcullis::vpnd
