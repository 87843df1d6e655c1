#include "dataplane/esp/sa.h"

#include <netinet/in.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "dataplane/esp/esp_wire.h"
#include "dataplane/esp/sa_memory.h"

namespace portcullis::dp::esp {

uint64_t Sa::total_drops() const {
  uint64_t t = 0;
  for (uint64_t d : drops) t += d;
  return t;
}

void SaDeleter::operator()(Sa* sa) const {
  if (sa == nullptr) return;
  if (sa->destroy_keys) sa->destroy_keys(sa->crypto);
  FreeSaSlot(sa, sizeof *sa);  // wiped
}

namespace {

// Outer IP [+ UDP] + ESP SPI, with every field that does not change per packet filled in.
void BuildOuterTemplate(Sa& sa, const SaConfig& c) {
  uint8_t* p = sa.outer_template;
  std::memset(p, 0, sizeof sa.outer_template);
  uint8_t proto = c.udp_encap ? kProtoUdp : kProtoEsp;
  if (c.family == AF_INET) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
    ip->version_ihl = 0x45;
    ip->time_to_live = c.ttl;
    ip->next_proto_id = proto;
    std::memcpy(&ip->src_addr, c.local, 4);
    std::memcpy(&ip->dst_addr, c.remote, 4);
    std::memcpy(sa.src4, c.local, 4);  // line 0's copy, for the usual packet (EncryptEach)
    std::memcpy(sa.dst4, c.remote, 4);
    // The words that never change (TOS, length, id and flags are 0 in the template): each
    // packet adds its own and folds (RFC 1071), instead of summing the whole header. Summed in
    // memory order, as wire::OuterIpv4Words sums the rest.
    uint32_t sum = 0;
    for (int i = 0; i < 10; ++i) sum += static_cast<uint32_t>(p[2 * i] | p[2 * i + 1] << 8);
    sa.ip_csum_base = sum;
  } else {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->proto = proto;
    ip->hop_limits = c.ttl;
    std::memcpy(ip->src_addr, c.local, 16);
    std::memcpy(ip->dst_addr, c.remote, 16);
  }
  size_t off = c.family == AF_INET ? sizeof(rte_ipv4_hdr) : sizeof(rte_ipv6_hdr);
  if (c.udp_encap) {
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + off);
    udp->src_port = rte_cpu_to_be_16(c.udp_sport);
    udp->dst_port = rte_cpu_to_be_16(c.udp_dport);
    off += sizeof(rte_udp_hdr);
  }
  uint32_t spi_be = rte_cpu_to_be_32(c.spi);
  std::memcpy(p + off, &spi_be, 4);
  sa.hdr_len = static_cast<uint8_t>(off + 8 + IvLen(c.cipher));
}

}  // namespace

absl::StatusOr<SaPtr> AllocateSa(const SaConfig& c) {
  if (absl::Status s = ValidateSaConfig(c); !s.ok()) return s;
  // Zeroed, locked (best effort: without CAP_IPC_LOCK or with a low RLIMIT_MEMLOCK the SA
  // still works) and on huge pages where the kernel has them.
  void* mem = AllocateSaSlot(sizeof(Sa));
  if (mem == nullptr) return absl::ResourceExhaustedError("no memory for SA");
  Sa* sa = new (mem) Sa;
  SaPtr ptr(sa);

  sa->spi = c.spi;
  sa->spi_be = rte_cpu_to_be_32(c.spi);
  sa->cipher = c.cipher;
  sa->auth = c.auth;
  sa->iv_len = static_cast<uint8_t>(IvLen(c.cipher));
  sa->icv_len = static_cast<uint8_t>(IcvLen(c.cipher, c.auth));
  sa->flags = (c.esn ? kSaEsn : 0) | (c.udp_encap ? kSaUdpEncap : 0) |
              (c.family == AF_INET6 ? kSaOuterV6 : 0) | (c.copy_dscp ? kSaCopyDscp : 0);
  sa->direction = c.direction;
  sa->mode = c.mode;
  sa->family = c.family;
  sa->udp_sport = c.udp_sport;
  sa->udp_dport = c.udp_dport;
  std::memcpy(sa->local, c.local, 16);
  std::memcpy(sa->remote, c.remote, 16);
  sa->ttl = c.ttl;
  sa->dscp_df = static_cast<uint8_t>(c.dscp | static_cast<uint8_t>(c.df) << 6);
  std::memcpy(sa->salt, c.salt, 4);
  sa->soft_bytes = c.soft_bytes;
  sa->hard_bytes = c.hard_bytes;
  sa->soft_packets = c.soft_packets;
  sa->hard_packets = c.hard_packets;
  auto first = [](uint64_t soft, uint64_t hard) {
    return std::min(soft ? soft : hard ? hard : kNoLimit, kNoLimit);
  };
  sa->next_bytes_event = first(c.soft_bytes, c.hard_bytes);
  sa->next_packets_event = first(c.soft_packets, c.hard_packets);
  sa->seq_soft = c.esn ? kSeqSoft64 : kSeqSoft32;
  sa->seq_hard = c.esn ? kSeqHard64 : kSeqHard32;
  sa->seq = c.initial_seq;
  sa->next_seq_event = sa->seq_soft;  // an SA created past it reports on its first packet
  FoldSeqEvent(*sa);
  // Inbound, initial_seq is the highest number already seen (SA migration, tests).
  if (c.direction == Direction::kInbound) sa->replay.Init(c.replay_window, c.initial_seq);
  BuildOuterTemplate(*sa, c);
  if (IsAead(sa->cipher) && sa->hdr_len == wire::kFastHdr && sa->icv_len == wire::kFastIcv &&
      sa->pad_mask() == wire::kFastPadMask && !(sa->flags & (kSaOuterV6 | kSaUdpEncap)))
    sa->flags |= kSaFastOut;
  return ptr;
}

}  // namespace portcullis::dp::esp
