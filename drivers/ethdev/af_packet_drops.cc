#include "drivers/ethdev/af_packet_drops.h"

#include <dirent.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cstdlib>
#include <mutex>

#include "absl/container/flat_hash_map.h"

namespace portcullis::drivers::ethdev {

uint64_t AfPacketDrops(int ifindex) {
  static std::mutex mu;
  // Per interface: the drops read so far (reading resets the kernel's counter).
  static absl::flat_hash_map<int, uint64_t>* totals = new absl::flat_hash_map<int, uint64_t>();
  std::lock_guard<std::mutex> lock(mu);
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return (*totals)[ifindex];
  while (dirent* e = readdir(dir)) {
    char* end;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || end == e->d_name || fd == dirfd(dir)) continue;
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
        domain != AF_PACKET)
      continue;
    sockaddr_ll sll{};
    len = sizeof sll;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&sll), &len) != 0 ||
        sll.sll_ifindex <= 0)
      continue;
    // TPACKET_V1/V2 sockets (DPDK's) fill tp_packets and tp_drops, V3's first fields too.
    tpacket_stats_v3 st{};
    len = sizeof st;
    if (getsockopt(static_cast<int>(fd), SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) continue;
    (*totals)[sll.sll_ifindex] += st.tp_drops;
  }
  closedir(dir);
  return (*totals)[ifindex];
}

}  // namespace portcullis::drivers::ethdev
