// What an af_packet port's kernel receive ring dropped. DPDK 22.11's net_af_packet never reads
// the sockets' PACKET_STATISTICS, so a ring the worker did not empty in time overflows without
// a count anywhere (imissed stays 0): test_ipv6_wan's TCP retransmits were these drops. The
// sockets are this process's own; the kernel resets its count on each read, so the totals are
// kept here. Should a later PMD read them too (in its stats_get), each read would take its
// share and the port's imissed (the PMD's plus this) would still count every drop once; any
// other reader in the process would take drops away from both.
#pragma once

#include <cstdint>

namespace portcullis::drivers::ethdev {

// Frames the kernel dropped at this process's AF_PACKET sockets bound to interface `ifindex`
// (all of a port's queues), since the process started. Thread-safe; a few syscalls per socket
// (statistics, not the packet path).
uint64_t AfPacketDrops(int ifindex);

}  // namespace portcullis::drivers::ethdev
