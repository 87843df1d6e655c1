#include "control/vpnd/sa_message_text.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace portcullis::vpnd {

namespace {

using dp::api::Family;

const char* FamilyName(Family f) {
  return f == Family::kIpv4 ? "ipv4" : f == Family::kIpv6 ? "ipv6" : "family?";
}

std::string Addr(Family f, const dp::api::IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (f != Family::kIpv4 && f != Family::kIpv6) return "?";
  inet_ntop(f == Family::kIpv4 ? AF_INET : AF_INET6, a.bytes, buf, sizeof buf);
  return buf;
}

const char* Dir(dp::api::Direction d) {
  return d == dp::api::Direction::kIn ? "in" : "out";
}

std::string Ports(uint16_t lo, uint16_t hi) {
  if (lo == 0 && hi == 65535) return "";
  return lo == hi ? absl::StrCat(":", lo) : absl::StrCat(":", lo, "-", hi);
}

}  // namespace

std::string SaMessageText(const dp::api::Message& m) {
  if (m.header.kind == dp::api::MessageKind::kSa) {
    const dp::api::SaBody& b = m.body.sa;
    std::string s = absl::StrFormat("sa %s spi=%08x outer=%s local=%s remote=%s", Dir(b.direction),
                                    b.spi, FamilyName(b.outer_family),
                                    Addr(b.outer_family, b.local), Addr(b.outer_family, b.remote));
    if (b.udp_encap) absl::StrAppend(&s, " udp-encap=", b.encap_src_port, "->", b.encap_dst_port);
    if (b.vti_ifindex) absl::StrAppend(&s, " vti-ifindex=", b.vti_ifindex);
    return s;
  }
  if (m.header.kind == dp::api::MessageKind::kPolicy) {
    const dp::api::PolicyBody& b = m.body.policy;
    std::string s = absl::StrFormat(
        "policy %s %s %s/%u%s -> %s/%u%s", Dir(b.direction), FamilyName(b.family),
        Addr(b.family, b.src), b.src_prefix_length, Ports(b.src_port_low, b.src_port_high),
        Addr(b.family, b.dst), b.dst_prefix_length, Ports(b.dst_port_low, b.dst_port_high));
    if (b.protocol) absl::StrAppend(&s, " proto=", b.protocol);
    if (b.direction == dp::api::Direction::kOut) absl::StrAppendFormat(&s, " spi=%08x", b.out_spi);
    return s;
  }
  return "";
}

}  // namespace portcullis::vpnd
