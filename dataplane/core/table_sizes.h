// How large the dataplane's tables are: chosen at start from vpn-dataplane's command line
// (--max-interfaces, --max-sas, ...) and fixed for the life of the process, so that every
// table is allocated once and the packet path still indexes arrays instead of searching.
// The defaults fit a 2-core, 1 GB test box; docs/DESIGN.md ("Tables and updates") lists the
// accepted ranges next to the sizes that were loaded in tests.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace portcullis::dp {

struct TableSizes {
  // Interfaces: ifindex 1..interfaces-1 (0 means "none"). Each costs every worker one counter
  // block (rx/tx and the drop reasons, about 430 bytes) and each snapshot one Interface.
  uint32_t interfaces = 1024;
  uint32_t sas = 8192;        // live SAs, both directions
  uint32_t routes = 65536;    // static route prefixes (connected and local ones come on top)
  uint32_t next_hops = 0;     // distinct next hops; 0: 2 per interface + 4096
  uint32_t neighbors = 4096;  // ARP entries, learned and static (static ones at most half)
  uint32_t policies = 1024;   // SPD entries per direction
  uint32_t fib_tbl8 = 0;      // DIR24_8 groups for prefixes longer than /24; 0: routes / 64
  uint32_t routes6 = 8192;    // static IPv6 route prefixes (connected and local ones on top)

  uint32_t NextHops() const { return next_hops ? next_hops : 2 * interfaces + 4096; }
  uint32_t FibTbl8() const {
    return fib_tbl8 ? fib_tbl8 : (routes / 64 > 4096 ? routes / 64 : 4096);
  }
  // Routes the FIB holds: the static ones plus a connected and a local route per address.
  uint32_t FibRoutes() const;
  // The IPv6 FIB likewise. Its TRIE needs a tbl8 group per byte of a prefix past /24, most of
  // them shared (a /64 takes 5, a local /128 under it 8 more): 2 per static route and 1 per
  // interface (tunnels mostly have no IPv6 address), at least 8192. Its tbl24 is 32 MiB while
  // ids and groups fit 15 bits (fib6.cc), 64 MiB past that.
  uint32_t Fib6Routes() const;
  uint32_t Fib6Tbl8() const {
    const uint32_t n = 2 * routes6 + interfaces;
    return n > 8192 ? n : 8192;
  }
};

// One size option as given on the command line ("--max-sas", "100000"); unknown names are not
// size options (IsTableSizeOption).
bool IsTableSizeOption(absl::string_view name);
absl::Status SetTableSize(TableSizes& sizes, absl::string_view name, absl::string_view value);
// Every size within its documented range, the combination allocatable.
absl::Status CheckTableSizes(const TableSizes& sizes);
// The --help lines for the size options.
std::string TableSizesHelp();

}  // namespace portcullis::dp
