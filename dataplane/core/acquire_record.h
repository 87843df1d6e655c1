// What a worker hands the main lcore when a packet needs an SA the dataplane does not have (a
// protect policy without one, a VTI without a bound SA): the trap of strongSwan's `hold`/`trap`.
// The main lcore turns it into the channel's api::AcquireEvent for vpnd, which starts the
// tunnel; workers do not speak the channel's types.
#pragma once

#include <cstdint>

namespace portcullis::dp {

struct AcquireRecord {
  uint32_t reqid;            // the protect policy's; 0 for a VTI
  uint32_t vti_ifindex;      // the VTI without an SA; 0 for a policy
  uint8_t src[16], dst[16];  // the packet's addresses, network order (IPv4: the first 4)
  uint16_t sport, dport;     // host order; 0 when the packet has none (or is a later fragment)
  uint8_t proto;
  uint8_t family;  // 4 or 6; 0: the packet was neither (addresses zero)
  uint8_t reserved[2];
};
static_assert(sizeof(AcquireRecord) % 4 == 0, "an rte_ring element");

}  // namespace portcullis::dp
