// IKE over plain kernel UDP sockets, for running without a dataplane (development and interop
// with strongSwan): UDP 500, and UDP 4500 where IKE follows the 4-byte non-ESP marker (RFC 3948).
// ESP-in-UDP arriving on 4500 is dropped (and counted): in this mode CHILD SAs are only logged.
// Every received datagram says which interface it came in on (IP_PKTINFO), which is how vpnd
// keeps `security vpn ike interface` in this mode.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ike/sa/endpoint.h"

namespace portcullis::vpnd {

class KernelTransport {
 public:
  // Binds 0.0.0.0 and [::] on both ports (IPv6 only where available).
  static absl::StatusOr<std::unique_ptr<KernelTransport>> Open(uint16_t ike_port = 500,
                                                               uint16_t natt_port = 4500);
  ~KernelTransport();
  KernelTransport(const KernelTransport&) = delete;
  KernelTransport& operator=(const KernelTransport&) = delete;

  std::vector<int> fds() const;
  // Sends from the socket of d.src.port (and d.src.address when set).
  absl::Status Send(const ike::Datagram& d);
  // Reads what is waiting on `fd`; IKE datagrams go to `fn`.
  void Receive(int fd, const std::function<void(const ike::Datagram&)>& fn);
  uint64_t esp_dropped() const { return esp_dropped_; }
  // The receive buffer the kernel gave the IKE socket, bytes (less than asked for without
  // CAP_NET_ADMIN beyond net.core.rmem_max: bursts of IKE_SA_INITs may then be dropped).
  int receive_buffer() const { return receive_buffer_; }
  // The kernel's name of interface `ifindex` (a received Datagram's), "" when there is none.
  static std::string InterfaceName(uint32_t ifindex);

 private:
  KernelTransport() = default;
  struct Sock {
    int fd = -1;
    uint8_t family = 4;
    uint16_t port = 0;
  };
  std::vector<Sock> socks_;
  uint16_t natt_port_ = 4500;
  uint64_t esp_dropped_ = 0;
  int receive_buffer_ = 0;
};

}  // namespace portcullis::vpnd
