// ike_flood: spoofed IKE_SA_INIT requests at a given rate, for the flood test
// (test/integration/test_ike_flood.py). Each datagram comes from another source address of a
// prefix, with its own initiator SPI, a proposal the responder accepts and a KE of all zeros: what
// anyone can send without ever seeing an answer. Raw IPv4 (IP_HDRINCL), sent in batches with
// sendmmsg so that one core reaches tens of thousands a second; prints what it sent as JSON.
//
//   ike_flood --dst 192.0.2.1 --src 198.18.0.0/15 --rate 50000 --seconds 10 [--group 19]
//             [--encr-bits 256] [--integ 12] [--prf 5]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "ike/crypto/dh_group.h"
#include "ike/encoding/message.h"

ABSL_FLAG(std::string, dst, "", "responder address (IPv4)");
ABSL_FLAG(std::string, src, "198.18.0.0/15", "source prefix to spoof from");
ABSL_FLAG(int, rate, 50000, "datagrams a second (0 = as fast as possible)");
ABSL_FLAG(double, seconds, 10, "how long");
ABSL_FLAG(int, group, 19, "DH group of the proposal and the (all-zero) KE");
ABSL_FLAG(int, encr_bits, 256, "AES-CBC key size of the proposal");
ABSL_FLAG(int, integ, 12, "integrity transform id (12 = HMAC_SHA2_256_128)");
ABSL_FLAG(int, prf, 5, "PRF transform id (5 = PRF_HMAC_SHA2_256)");

namespace {

using namespace portcullis::ike;

int Fail(const std::string& m) {
  std::fprintf(stderr, "ike_flood: %s\n", m.c_str());
  return 1;
}

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// The IKE_SA_INIT every datagram carries; the SPI is patched per datagram.
absl::StatusOr<Bytes> Template(DhGroup group) {
  Proposal p;
  p.number = 1;
  p.protocol = ProtocolId::kIke;
  p.transforms.push_back(
      Transform::Encr(EncrId::kAesCbc, static_cast<uint16_t>(absl::GetFlag(FLAGS_encr_bits))));
  p.transforms.push_back(Transform::Integ(static_cast<IntegId>(absl::GetFlag(FLAGS_integ))));
  p.transforms.push_back(Transform::Prf(static_cast<PrfId>(absl::GetFlag(FLAGS_prf))));
  p.transforms.push_back(Transform::Dh(group));
  Message m;
  m.header.spi_i = IkeSpi{1, 2, 3, 4, 5, 6, 7, 8};
  m.header.exchange = ExchangeType::kIkeSaInit;
  m.header.initiator = true;
  m.payloads.push_back(Payload{PayloadType::kSa, SaPayload{{p}}});
  m.payloads.push_back(
      Payload{PayloadType::kKe, KePayload{group, Bytes(DhPublicValueSize(group), 0)}});
  m.payloads.push_back(Payload{PayloadType::kNonce, NoncePayload{Bytes(32, 0x5a)}});
  return EncodeMessage(m);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  in_addr dst{}, net{};
  if (inet_pton(AF_INET, absl::GetFlag(FLAGS_dst).c_str(), &dst) != 1) {
    return Fail("--dst must be an IPv4 address");
  }
  std::vector<std::string> prefix = absl::StrSplit(absl::GetFlag(FLAGS_src), '/');
  int len = 0;
  if (prefix.size() != 2 || inet_pton(AF_INET, prefix[0].c_str(), &net) != 1 ||
      !absl::SimpleAtoi(prefix[1], &len) || len < 8 || len > 32) {
    return Fail("--src must be an IPv4 prefix /8../32");
  }
  DhGroup group = static_cast<DhGroup>(absl::GetFlag(FLAGS_group));
  if (!IsSupportedDhGroup(group)) return Fail("unsupported --group");
  absl::StatusOr<Bytes> ike = Template(group);
  if (!ike.ok()) return Fail(std::string(ike.status().message()));

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) return Fail(std::string("raw socket: ") + std::strerror(errno));
  int on = 1;
  setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof on);
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  const size_t size = sizeof(iphdr) + sizeof(udphdr) + ike->size();
  constexpr int kBatch = 64;
  std::vector<uint8_t> bufs(kBatch * size);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = dst;
  for (int i = 0; i < kBatch; ++i) {
    uint8_t* b = &bufs[i * size];
    auto* ip = reinterpret_cast<iphdr*>(b);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(static_cast<uint16_t>(size));
    ip->daddr = dst.s_addr;
    auto* udp = reinterpret_cast<udphdr*>(b + sizeof(iphdr));
    udp->source = htons(500);
    udp->dest = htons(500);
    udp->len = htons(static_cast<uint16_t>(size - sizeof(iphdr)));
    udp->check = 0;  // optional over IPv4
    std::memcpy(b + sizeof(iphdr) + sizeof(udphdr), ike->data(), ike->size());
    iov[i] = {b, size};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }
  const uint32_t base = ntohl(net.s_addr) & (len == 32 ? ~0u : ~((1u << (32 - len)) - 1));
  const uint32_t hosts = len == 32 ? 1 : (1u << (32 - len));
  const int rate = absl::GetFlag(FLAGS_rate);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  uint64_t sent = 0, failed = 0, n = 0;
  const double start = Now();
  for (;;) {
    double t = Now() - start;
    if (t >= seconds) break;
    if (rate > 0 && sent + failed >= static_cast<uint64_t>(t * rate)) {
      usleep(200);
      continue;
    }
    for (int i = 0; i < kBatch; ++i, ++n) {
      uint8_t* b = &bufs[i * size];
      auto* ip = reinterpret_cast<iphdr*>(b);
      // Skip the network and broadcast addresses of the prefix.
      uint32_t host = hosts > 2 ? 1 + static_cast<uint32_t>(n % (hosts - 2)) : 0;
      ip->saddr = htonl(base + host);
      ip->id = htons(static_cast<uint16_t>(n));
      uint64_t spi = 0x1000000000000000ull + n;
      uint8_t* s = b + sizeof(iphdr) + sizeof(udphdr);
      for (int k = 0; k < 8; ++k) s[k] = static_cast<uint8_t>(spi >> (56 - 8 * k));
    }
    int r = sendmmsg(fd, msgs.data(), kBatch, 0);
    if (r < 0) {
      failed += kBatch;
      continue;
    }
    sent += static_cast<uint64_t>(r);
    failed += kBatch - static_cast<uint64_t>(r);
  }
  double elapsed = Now() - start;
  close(fd);
  std::printf("{\"sent\": %llu, \"failed\": %llu, \"seconds\": %.3f}\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(failed),
              elapsed);
  return 0;
}
