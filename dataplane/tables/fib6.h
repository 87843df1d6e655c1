// IPv6 forwarding table: rte_fib6 (TRIE) maps prefixes to next-hop ids, the next hops live in an
// array the packet path indexes, as in the IPv4 Fib (fib.h). Only the main lcore writes; an id
// is reused only after an RCU grace period (ReclaimNextHops).
#pragma once

#include <rte_fib6.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/core/table_sizes.h"
#include "dataplane/tables/fib.h"
#include "dataplane/tables/next_hop_pool.h"

namespace portcullis::dp {

using Ip6 = std::array<uint8_t, 16>;

struct NextHop6 {
  NhType type;
  uint16_t ifindex;
  Ip6 gateway;  // kGateway
  bool operator==(const NextHop6&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const NextHop6& n) {
    return H::combine(std::move(h), static_cast<uint8_t>(n.type), n.ifindex, n.gateway);
  }
};

// The prefix with the bits past len cleared.
Ip6 MaskIp6(const Ip6& a, uint8_t len);

class Fib6 {
 public:
  // Holds sizes.Fib6Routes() prefixes and sizes.NextHops() - 1 distinct next hops (id 0 is "no
  // route"), in a TRIE with 4-byte entries and sizes.Fib6Tbl8() tbl8 groups.
  static absl::StatusOr<std::unique_ptr<Fib6>> Create(const char* name, const TableSizes& sizes);
  ~Fib6();

  // Packet path: writes next-hop ids (0 = no route).
  void Lookup(const uint8_t (*ips)[16], uint64_t* nh_ids, uint32_t n) const {
    // rte_fib6 takes a non-const array it does not write.
    rte_fib6_lookup_bulk(fib_, const_cast<uint8_t(*)[16]>(ips), nh_ids, static_cast<int>(n));
  }
  uint64_t Lookup(const uint8_t* ip) const {
    uint8_t a[1][16];
    std::memcpy(a[0], ip, 16);
    uint64_t nh = 0;
    rte_fib6_lookup_bulk(fib_, a, &nh, 1);
    return nh;
  }
  const NextHop6& next_hop(uint64_t id) const { return nh_.at(id); }

  // Main lcore only.
  absl::Status Set(const Ip6& prefix, uint8_t len, const NextHop6& nh);
  absl::Status Remove(const Ip6& prefix, uint8_t len);
  void ReclaimNextHops();
  size_t route_count() const { return routes_.size(); }
  std::vector<std::pair<std::pair<Ip6, uint8_t>, NextHop6>> Dump() const;

 private:
  Fib6() = default;

  rte_fib6* fib_ = nullptr;
  NextHopPool<NextHop6> nh_;
  std::map<std::pair<Ip6, uint8_t>, uint32_t> routes_;  // (masked prefix, len) -> id
};

}  // namespace portcullis::dp
