#include "dataplane/mgmt/packet_capture.h"

#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

namespace {

constexpr uint32_t kRingSize = 4096;
constexpr uint32_t kPoolSize = 4095;  // copies in flight between the workers and the file
// One copy is one mbuf, whose data room is 16 bits: jumbo frames at most. The default keeps
// every 1500-byte frame whole at about 10 MB for the pool.
constexpr uint32_t kDefaultSnaplen = 2048;
constexpr uint32_t kMaxSnaplen = 9216;
constexpr uint16_t kCopyChunk = 32;
constexpr uint32_t kEnhancedPacketBlock = 6;  // pcapng block type

// rte_pcapng_copy puts the Enhanced Packet Block's header in front of the copy: type, length,
// interface, timestamp high and low words (the pcapng format's layout, in host byte order as
// the whole file is). Debian's DPDK 22.11 fills the timestamp from a TSC calibration taken
// before the EAL knew the TSC rate (files dated centuries ahead), so it is written here.
void StampBlock(rte_mbuf* copy, uint64_t ns) {
  auto* w = rte_pktmbuf_mtod(copy, uint32_t*);
  if (w[0] != kEnhancedPacketBlock) return;
  w[3] = static_cast<uint32_t>(ns >> 32);
  w[4] = static_cast<uint32_t>(ns);
}

}  // namespace

PacketCapture::~PacketCapture() {
  if (s_) (void)Stop();
}

uint64_t PacketCapture::WallNs(const Session& s, uint64_t tsc) {
  // 128-bit product: (tsc - tsc0) * 1e9 overflows 64 bits after a few seconds.
  const unsigned __int128 delta = tsc - s.tsc0;
  return s.ns0 + static_cast<uint64_t>(delta * 1000000000u / s.hz);
}

template <rte_pcapng_direction D>
void PacketCapture::Copy(Session* s, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  if (s->limit != 0) {
    const uint64_t before = s->taken.fetch_add(n, std::memory_order_relaxed);
    if (before >= s->limit) return;
    n = static_cast<uint16_t>(std::min<uint64_t>(n, s->limit - before));
  } else {
    s->taken.fetch_add(n, std::memory_order_relaxed);
  }
  const uint64_t tsc = rte_get_tsc_cycles();
  const uint64_t ns = WallNs(*s, tsc);  // once per burst
  uint64_t lost = 0;
  for (uint16_t off = 0; off < n; off += kCopyChunk) {
    const uint16_t m = std::min<uint16_t>(kCopyChunk, n - off);
    rte_mbuf* copies[kCopyChunk];
    uint16_t k = 0;
    for (uint16_t i = 0; i < m; ++i) {
      rte_mbuf* c = rte_pcapng_copy(port, queue, pkts[off + i], s->pool, s->snaplen, tsc, D);
      if (c != nullptr) {
        StampBlock(c, ns);
        copies[k++] = c;
      } else {
        ++lost;
      }
    }
    const unsigned q =
        rte_ring_enqueue_burst(s->ring, reinterpret_cast<void**>(copies), k, nullptr);
    if (q < k) {
      rte_pktmbuf_free_bulk(copies + q, k - q);
      lost += k - q;
    }
  }
  if (lost) s->dropped.fetch_add(lost, std::memory_order_relaxed);
}

uint16_t PacketCapture::OnRx(uint16_t port, uint16_t queue, rte_mbuf* pkts[], uint16_t n, uint16_t,
                             void* arg) {
  if (n) Copy<RTE_PCAPNG_DIRECTION_IN>(static_cast<Session*>(arg), port, queue, pkts, n);
  return n;
}

uint16_t PacketCapture::OnTx(uint16_t port, uint16_t queue, rte_mbuf* pkts[], uint16_t n,
                             void* arg) {
  if (n) Copy<RTE_PCAPNG_DIRECTION_OUT>(static_cast<Session*>(arg), port, queue, pkts, n);
  return n;
}

absl::StatusOr<uint16_t> PacketCapture::ResolvePort(const std::string& target) const {
  for (uint16_t p = 0; p < kMaxPorts; ++p) {
    const PortInfo& pi = dp_.ports[p];
    if (pi.present && pi.name == target) {
      if (pi.bond_member) {
        return absl::FailedPreconditionError(
            absl::StrCat(target,
                         " is a bond member: capture its bond, whose queues the "
                         "workers poll"));
      }
      return p;
    }
  }
  const Tables& t = dp_.CurrentTables();
  for (uint32_t i = 1; i < t.nifs; ++i) {
    const Interface& f = t.ifs[i];
    if (f.kind == IfKind::kNone || target != f.name) continue;
    if (f.kind == IfKind::kPort || f.kind == IfKind::kBond || f.kind == IfKind::kVif) {
      if (f.port < kMaxPorts && dp_.ports[f.port].present) return f.port;
    }
    return absl::FailedPreconditionError(
        absl::StrCat(target,
                     " is not on a port (a VTI or loopback): capture the port its tunnel leaves by "
                     "and decrypt with vpnd --wireshark-keys"));
  }
  return absl::NotFoundError(absl::StrCat("no port or interface named ", target));
}

absl::StatusOr<std::string> PacketCapture::Start(const CaptureRequest& r) {
  if (s_) {
    return absl::FailedPreconditionError(
        absl::StrCat("a capture of ", s_->port_name, " into ", s_->file, " is running"));
  }
  last_ = CaptureStatus{};
  auto port = ResolvePort(r.target);
  if (!port.ok()) return port.status();
  auto s = std::make_unique<Session>();
  s->port = *port;
  s->port_name = dp_.ports[*port].name;
  s->file = r.file.empty() ? absl::StrCat("/var/tmp/portcullis-", s->port_name, ".pcapng") : r.file;
  if (s->file[0] != '/') return absl::InvalidArgumentError("the capture file must be absolute");
  s->snaplen = r.snaplen == 0 ? kDefaultSnaplen : std::min(r.snaplen, kMaxSnaplen);
  s->limit = r.count;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  s->tsc0 = rte_get_tsc_cycles();
  s->ns0 = static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
  s->hz = std::max<uint64_t>(rte_get_tsc_hz(), 1);
  s_ = std::move(s);
  Session& c = *s_;
  // Packets may carry what the tunnels protect (LAN side): owner-only, never through a symlink.
  c.fd = open(c.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (c.fd < 0) {
    std::string err = std::strerror(errno);
    Release();
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", r.file, ": ", err));
  }
  ++generation_;
  c.pool = rte_pktmbuf_pool_create(absl::StrCat("pc_cap_pool", generation_).c_str(), kPoolSize, 0,
                                   0, rte_pcapng_mbuf_size(c.snaplen), SOCKET_ID_ANY);
  c.ring = rte_ring_create(absl::StrCat("pc_cap_ring", generation_).c_str(), kRingSize,
                           SOCKET_ID_ANY, RING_F_SC_DEQ);
  const std::string comment = absl::StrCat("Portcullis vpn-dataplane: port ", c.port_name, " (",
                                           dp_.ports[c.port].device, ")");
  if (c.pool && c.ring) {
    c.pcapng = rte_pcapng_fdopen(c.fd, nullptr, nullptr, "vpn-dataplane", comment.c_str());
  }
  if (c.pcapng == nullptr) {
    std::string err = rte_strerror(rte_errno);
    Release();
    return absl::ResourceExhaustedError(absl::StrCat("capture setup failed: ", err));
  }
  const PortInfo& pi = dp_.ports[c.port];
  for (uint16_t q = 0; q < pi.nrxq; ++q) {
    if (auto* cb = rte_eth_add_rx_callback(c.port, q, OnRx, &c)) c.rx_cbs.emplace_back(q, cb);
  }
  for (uint16_t q = 0; q < pi.ntxq; ++q) {
    if (auto* cb = rte_eth_add_tx_callback(c.port, q, OnTx, &c)) c.tx_cbs.emplace_back(q, cb);
  }
  if (c.rx_cbs.size() != pi.nrxq || c.tx_cbs.size() != pi.ntxq) {
    (void)Stop();
    return absl::InternalError(
        "cannot install the capture callbacks (DPDK built without RTE_ETHDEV_RXTX_CALLBACKS?)");
  }
  return c.file;
}

size_t PacketCapture::Drain() {
  Session& c = *s_;
  size_t total = 0;
  rte_mbuf* pkts[64];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(c.ring, reinterpret_cast<void**>(pkts), 64, nullptr)) > 0) {
    if (c.pcapng != nullptr && rte_pcapng_write_packets(c.pcapng, pkts, n) >= 0) c.written += n;
    rte_pktmbuf_free_bulk(pkts, n);
    total += n;
  }
  return total;
}

size_t PacketCapture::Poll() {
  if (!s_) return 0;
  size_t n = Drain();
  if (s_->limit != 0 && s_->written + s_->dropped.load(std::memory_order_relaxed) >= s_->limit) {
    (void)Stop();
  }
  return n;
}

absl::StatusOr<CaptureStatus> PacketCapture::Stop() {
  if (!s_) return absl::FailedPreconditionError("no capture is running");
  Session& c = *s_;
  for (auto& [q, cb] : c.rx_cbs) rte_eth_remove_rx_callback(c.port, q, cb);
  for (auto& [q, cb] : c.tx_cbs) rte_eth_remove_tx_callback(c.port, q, cb);
  // Removed callbacks may still be running on a worker: once every worker has passed a
  // quiescent state none is, and their memory, the ring and the pool can go.
  if (!c.rx_cbs.empty() || !c.tx_cbs.empty()) {
    rte_rcu_qsbr_synchronize(dp_.rcu, RTE_QSBR_THRID_INVALID);
  }
  for (auto& [q, cb] : c.rx_cbs) rte_free(const_cast<rte_eth_rxtx_callback*>(cb));
  for (auto& [q, cb] : c.tx_cbs) rte_free(const_cast<rte_eth_rxtx_callback*>(cb));
  c.rx_cbs.clear();
  c.tx_cbs.clear();
  Drain();
  if (c.pcapng != nullptr) {
    // The interface statistics block: what was seen and what could not be kept.
    (void)rte_pcapng_write_stats(c.pcapng, c.port, nullptr, 0, 0,
                                 c.taken.load(std::memory_order_relaxed),
                                 c.dropped.load(std::memory_order_relaxed));
  }
  CaptureStatus st = status();
  st.active = false;
  st.callbacks = 0;
  Release();
  last_ = st;
  return st;
}

void PacketCapture::Release() {
  Session& c = *s_;
  if (c.pcapng != nullptr) {
    rte_pcapng_close(c.pcapng);  // closes the fd too
  } else if (c.fd >= 0) {
    close(c.fd);
  }
  if (c.ring != nullptr) rte_ring_free(c.ring);
  if (c.pool != nullptr) rte_mempool_free(c.pool);
  s_.reset();
}

CaptureStatus PacketCapture::status() const {
  if (!s_) return last_;
  CaptureStatus st;
  st.active = true;
  st.port = s_->port_name;
  st.file = s_->file;
  st.captured = s_->written;
  st.dropped = s_->dropped.load(std::memory_order_relaxed);
  st.callbacks = static_cast<uint32_t>(s_->rx_cbs.size() + s_->tx_cbs.size());
  return st;
}

}  // namespace portcullis::dp
