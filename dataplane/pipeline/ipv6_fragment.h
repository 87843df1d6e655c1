// IPv6 fragmentation of the appliance's own packets (RFC 8200 §4.5: a source may fragment, a
// router never does) into fresh, linear, writable mbufs: an echo reply to a request larger than
// the link (reassembled, ipv6_reassembly.cc), IKE from vpnd. Copies, as FragmentIpv4 makes
// them: a fragment routed into a tunnel is encrypted in place, which indirect mbufs sharing
// one buffer (rte_ipv6_fragment_packet's) would not survive.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace portcullis::dp {

// Splits the IPv6 packet m (a plain 40-byte header at the data start, no extension header;
// possibly chained) into fragments of at most mtu bytes (mtu >= 1280), each with a fragment
// header carrying `id`, a single segment from pool with at least tail_reserve bytes of
// tailroom left and the pool's headroom in front. Returns the number of fragments written to
// out, or a negative errno: -EINVAL for a packet that is not such a packet or an mtu too small,
// -EMSGSIZE when more than max_out fragments would be needed, -ENOBUFS when the pool runs dry.
// m is not freed.
int FragmentIpv6(const rte_mbuf* m, uint32_t mtu, uint32_t id, rte_mempool* pool,
                 uint16_t tail_reserve, rte_mbuf** out, int max_out);

}  // namespace portcullis::dp
