// Packet capture inside vpn-dataplane (`dpctl capture start <port|interface> ...`), because
// dpdk-dumpcap needs a multi-process primary with shared hugepages and the appliance often runs
// without them (--no-huge, --in-memory). While a capture runs, DPDK rx and tx callbacks on the
// captured port copy each packet with rte_pcapng_copy into a private mempool and hand the copies
// to the main lcore through a ring; the main lcore writes them to a pcapng file. The callbacks
// exist only while capturing: with no capture the packet path is exactly what it was (ethdev
// checks an empty callback list, which it always does).
//
// Start, Stop and Poll run under the main lcore's lock (the telemetry command and the main loop
// both take it).
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/runtime/dataplane.h"

namespace portcullis::dp {

struct CaptureRequest {
  std::string target;    // a port of the port map or an interface on one ("dp0bond1", "wan")
  uint64_t count = 0;    // stop after this many packets (0 = until stopped)
  std::string file;      // absolute path; "" = /var/tmp/portcullis-<port>.pcapng
  uint32_t snaplen = 0;  // bytes kept per packet (0 = 2048; at most 9216)
};

struct CaptureStatus {
  bool active = false;
  std::string port, file;
  uint64_t captured = 0;   // written to the file
  uint64_t dropped = 0;    // copies that found no mbuf or no ring room
  uint32_t callbacks = 0;  // rx + tx callbacks installed right now (0 when not capturing)
};

class PacketCapture {
 public:
  explicit PacketCapture(Dataplane& dp) : dp_(dp) {}
  ~PacketCapture();
  PacketCapture(const PacketCapture&) = delete;
  PacketCapture& operator=(const PacketCapture&) = delete;

  // One capture at a time. Returns the file it writes.
  absl::StatusOr<std::string> Start(const CaptureRequest& r);
  // Removes the callbacks, waits until no worker can be inside one, writes what is left and
  // closes the file. The status of the capture just stopped.
  absl::StatusOr<CaptureStatus> Stop();
  // Main lcore: moves copies from the ring to the file; stops the capture at its count.
  size_t Poll();
  // The running capture's, or the last one's once it stopped (by count or by Stop).
  CaptureStatus status() const;

 private:
  struct Session {
    uint16_t port = 0;
    std::string port_name, file;
    uint32_t snaplen = 0;
    uint64_t limit = 0;
    // Wall clock at a TSC reading, taken at Start: timestamps are ns0 + (tsc - tsc0) / hz.
    uint64_t tsc0 = 0, ns0 = 0, hz = 1;
    int fd = -1;
    rte_pcapng_t* pcapng = nullptr;
    rte_mempool* pool = nullptr;
    rte_ring* ring = nullptr;
    std::atomic<uint64_t> taken{0};
    std::atomic<uint64_t> dropped{0};
    uint64_t written = 0;
    std::vector<std::pair<uint16_t, const rte_eth_rxtx_callback*>> rx_cbs, tx_cbs;
  };
  template <rte_pcapng_direction D>
  static void Copy(Session* s, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);
  static uint64_t WallNs(const Session& s, uint64_t tsc);
  static uint16_t OnRx(uint16_t port, uint16_t queue, rte_mbuf* pkts[], uint16_t n, uint16_t max,
                       void* arg);
  static uint16_t OnTx(uint16_t port, uint16_t queue, rte_mbuf* pkts[], uint16_t n, void* arg);
  absl::StatusOr<uint16_t> ResolvePort(const std::string& target) const;
  size_t Drain();
  void Release();

  Dataplane& dp_;
  std::unique_ptr<Session> s_;
  CaptureStatus last_;
  uint32_t generation_ = 0;  // unique names for each capture's ring and pool
};

}  // namespace portcullis::dp
