// IPv4 forwarding table: rte_fib (DIR24_8) maps prefixes to next-hop ids; the next hops live in
// an array the packet path indexes. Only the main lcore writes. An id is reused only after an
// RCU grace period (ReclaimNextHops), so a worker that looked up an id just before its route
// went away still reads a valid next hop.
#pragma once

#include <rte_fib.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/core/table_sizes.h"
#include "dataplane/tables/next_hop_pool.h"

namespace portcullis::dp {

enum class NhType : uint8_t {
  kNone = 0,   // no route
  kLocal,      // one of our addresses
  kConnected,  // on-link: the destination itself is the neighbor
  kGateway,    // via `gateway` on `ifindex`
  kInterface,  // into a VTI/VFP (or a point-to-point interface)
  kBlackhole,
};

struct NextHop {
  NhType type;
  uint16_t ifindex;
  uint32_t gateway;  // network order
  bool operator==(const NextHop&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const NextHop& n) {
    return H::combine(std::move(h), static_cast<uint8_t>(n.type), n.ifindex, n.gateway);
  }
};

class Fib {
 public:
  // Holds sizes.FibRoutes() prefixes and sizes.NextHops() - 1 distinct next hops (id 0 is
  // "no route"); DIR24_8 with 2-byte entries (a 32 MiB tbl24) while ids and tbl8 groups fit
  // in 15 bits, else 4-byte ones.
  static absl::StatusOr<std::unique_ptr<Fib>> Create(const char* name, const TableSizes& sizes);
  ~Fib();

  // Packet path. ips in host order (the callers swap them as they gather them from the
  // headers, one instruction, instead of a pass here); writes next-hop ids (0 = no route).
  void LookupHost(const uint32_t* ips, uint64_t* nh_ids, uint32_t n) const {
    // rte_fib takes a non-const array it does not write.
    rte_fib_lookup_bulk(fib_, const_cast<uint32_t*>(ips), nh_ids, n);
  }
  uint64_t Lookup(uint32_t ip) const {
    uint32_t host = __builtin_bswap32(ip);
    uint64_t nh = 0;
    rte_fib_lookup_bulk(fib_, &host, &nh, 1);
    return nh;
  }
  const NextHop& next_hop(uint64_t id) const { return nh_.at(id); }

  // Main lcore only. Prefix in network order.
  absl::Status Set(uint32_t prefix, uint8_t len, const NextHop& nh);
  absl::Status Remove(uint32_t prefix, uint8_t len);
  // After a grace period: next-hop ids no route uses any more become reusable.
  void ReclaimNextHops();
  size_t route_count() const { return routes_.size(); }
  uint32_t next_hop_capacity() const { return nh_.capacity(); }
  // What is installed, for display: (prefix, len) -> next hop.
  std::vector<std::pair<std::pair<uint32_t, uint8_t>, NextHop>> Dump() const;

 private:
  Fib() = default;

  rte_fib* fib_ = nullptr;
  NextHopPool<NextHop> nh_;
  std::map<std::pair<uint32_t, uint8_t>, uint32_t> routes_;  // (host-order prefix, len) -> id
};

}  // namespace portcullis::dp
