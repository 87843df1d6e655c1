// IPv4 fragmentation (RFC 791) into fresh, linear, writable mbufs.
//
// rte_ipv4_fragment_packet() makes fragments out of indirect mbufs that share the original's
// data buffer: fine to transmit, wrong to encrypt in place, because ESP grows each fragment's
// tail into bytes that belong to the next one. Tunnels fragment before encryption (RFC 4459
// §5.1), so they need copies. This is the exception path (packets above the tunnel MTU), where a
// copy per fragment is the price of not having the sender do PMTU discovery.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace portcullis::dp {

// Splits the IPv4 packet m (header at the data start, possibly chained) into fragments of at
// most mtu bytes, each a single segment from pool with at least tail_reserve bytes of tailroom
// left (ESP trailer) and the pool's headroom in front (outer headers). Options without the copy
// flag go in the first fragment only. Header checksums are set. Returns the number of
// fragments written to out, or a negative errno: -EINVAL for a malformed header, -EMSGSIZE when
// more than max_out fragments would be needed, -ENOBUFS when the pool runs dry. m is not freed.
int FragmentIpv4(rte_mbuf* m, uint16_t mtu, rte_mempool* pool, uint16_t tail_reserve,
                 rte_mbuf** out, int max_out);

}  // namespace portcullis::dp
