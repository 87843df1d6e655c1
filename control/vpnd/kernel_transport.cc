#include "control/vpnd/kernel_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portcullis::vpnd {

namespace {

constexpr int kReceiveBuffer = 8 << 20;

int OpenSocket(uint8_t family, uint16_t port, std::string* err) {
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = absl::StrCat("socket: ", std::strerror(errno));
    return -1;
  }
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  // A burst of IKE_SA_INITs (thousands of peers starting at once, a reboot of the far end)
  // must wait in the socket, not be dropped by it: a dropped request costs its initiator a
  // retransmission timeout (4 s by default). The default buffer (about 200 KB, some 200
  // datagrams at their truesize) held a tenth of 1,000 peers' requests. Beyond rmem_max only
  // with CAP_NET_ADMIN (SO_RCVBUFFORCE); otherwise as much as rmem_max allows.
  int rcvbuf = kReceiveBuffer;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int rc;
  if (family == 4) {
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  if (rc != 0) {
    *err = absl::StrCat("bind UDP ", port, family == 4 ? " (IPv4)" : " (IPv6)", ": ",
                        std::strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KernelTransport>> KernelTransport::Open(uint16_t ike_port,
                                                                       uint16_t natt_port) {
  std::unique_ptr<KernelTransport> t(new KernelTransport());
  t->natt_port_ = natt_port;
  for (uint16_t port : {ike_port, natt_port}) {
    std::string err;
    int fd = OpenSocket(4, port, &err);
    if (fd < 0) return absl::UnavailableError(err);
    t->socks_.push_back({fd, 4, port});
    if (port == ike_port) {
      int got = 0;
      socklen_t len = sizeof got;
      if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0) t->receive_buffer_ = got;
    }
    int fd6 = OpenSocket(6, port, &err);
    if (fd6 >= 0) t->socks_.push_back({fd6, 6, port});  // no IPv6 here is fine
  }
  return t;
}

std::string KernelTransport::InterfaceName(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex == 0 || if_indextoname(ifindex, name) == nullptr) return "";
  return name;
}

KernelTransport::~KernelTransport() {
  for (const Sock& s : socks_) close(s.fd);
}

std::vector<int> KernelTransport::fds() const {
  std::vector<int> out;
  for (const Sock& s : socks_) out.push_back(s.fd);
  return out;
}

absl::Status KernelTransport::Send(const ike::Datagram& d) {
  uint16_t port = d.src.port == natt_port_ || d.non_esp_marker ? natt_port_ : socks_[0].port;
  const Sock* sock = nullptr;
  for (const Sock& s : socks_) {
    if (s.family == d.dst.address.family && s.port == port) sock = &s;
  }
  if (sock == nullptr) return absl::UnavailableError("no socket for that family/port");
  std::vector<uint8_t> buf;
  if (d.non_esp_marker) buf.assign(4, 0);
  buf.insert(buf.end(), d.data.begin(), d.data.end());
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[64] = {};
  sockaddr_in sin{};
  sockaddr_in6 sin6{};
  bool with_src = !d.src.address.is_unspecified();
  if (d.dst.address.family == 4) {
    sin.sin_family = AF_INET;
    sin.sin_port = htons(d.dst.port);
    std::memcpy(&sin.sin_addr, d.dst.address.bytes.data(), 4);
    msg.msg_name = &sin;
    msg.msg_namelen = sizeof sin;
    if (with_src) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo pi{};
      std::memcpy(&pi.ipi_spec_dst, d.src.address.bytes.data(), 4);
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
  } else {
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(d.dst.port);
    std::memcpy(&sin6.sin6_addr, d.dst.address.bytes.data(), 16);
    msg.msg_name = &sin6;
    msg.msg_namelen = sizeof sin6;
    if (with_src) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo pi{};
      std::memcpy(&pi.ipi6_addr, d.src.address.bytes.data(), 16);
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
  }
  if (sendmsg(sock->fd, &msg, 0) < 0) {
    return absl::UnavailableError(
        absl::StrCat("sendmsg to ", d.dst.ToString(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void KernelTransport::Receive(int fd, const std::function<void(const ike::Datagram&)>& fn) {
  const Sock* sock = nullptr;
  for (const Sock& s : socks_) {
    if (s.fd == fd) sock = &s;
  }
  if (sock == nullptr) return;
  for (int i = 0; i < 64; ++i) {
    uint8_t buf[9000];
    sockaddr_storage from{};
    alignas(cmsghdr) char control[256];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) return;
    ike::Datagram d;
    d.dst.port = sock->port;
    if (sock->family == 4) {
      auto* s = reinterpret_cast<sockaddr_in*>(&from);
      d.src.address = *ike::Address::FromBytes(
          absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&s->sin_addr), 4));
      d.src.port = ntohs(s->sin_port);
    } else {
      auto* s = reinterpret_cast<sockaddr_in6*>(&from);
      d.src.address = *ike::Address::FromBytes(
          absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&s->sin6_addr), 16));
      d.src.port = ntohs(s->sin6_port);
    }
    d.dst.address.family = sock->family;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        std::memcpy(d.dst.address.bytes.data(), &pi.ipi_addr, 4);
        d.ifindex = static_cast<uint32_t>(pi.ipi_ifindex);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        std::memcpy(d.dst.address.bytes.data(), &pi.ipi6_addr, 16);
        d.ifindex = pi.ipi6_ifindex;
      }
    }
    const uint8_t* p = buf;
    size_t len = static_cast<size_t>(n);
    if (sock->port == natt_port_) {
      if (len == 1 && buf[0] == 0xFF) continue;  // NAT keepalive
      if (len < 4 || std::memcmp(buf, "\0\0\0\0", 4) != 0) {
        ++esp_dropped_;  // ESP in UDP: no ESP here
        continue;
      }
      p += 4;
      len -= 4;
      d.non_esp_marker = true;
    }
    d.data.assign(p, p + len);
    fn(d);
  }
}

}  // namespace portcullis::vpnd
