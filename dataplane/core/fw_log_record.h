// What a worker hands the main lcore when a packet meets a firewall rule with `log`: the
// dataplane's own record (the main lcore turns it into the channel's api::FwLogEvent for vpnd;
// workers do not speak the channel's types).
#pragma once

#include <cstdint>

namespace portcullis::dp {

struct FwLogRecord {
  uint32_t ruleset_id;
  uint32_t rule_number;  // 0: the default action
  uint32_t ifindex;      // the hook's interface
  uint32_t zone_from;    // zone ids of a zone policy, 0 otherwise
  uint32_t zone_to;
  uint8_t hook;     // FwHookIndex: 0 in, 1 out, 2 local
  uint8_t verdict;  // FwVerdict: 1 accept, 2 drop, 3 reject
  uint8_t has_macs;
  uint8_t reserved;
  uint8_t src_mac[6];
  uint8_t dst_mac[6];
  uint16_t l3_length;  // the IPv4 header with options (up to 60 bytes); IPv6: 40 + 1 (below)
  uint16_t l4_length;  // up to 20 bytes after it: ports, ICMP type/code, the TCP header
  uint8_t l3[60];      // IPv6: the header, then (l3[40]) the upper layer's protocol
  uint8_t l4[20];
};
static_assert(sizeof(FwLogRecord) % 4 == 0, "an rte_ring element");

}  // namespace portcullis::dp
