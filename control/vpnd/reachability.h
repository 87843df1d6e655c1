// Can we reach the peer (troubleshooting step 2 of the seeds: network connectivity between the
// peers)? A route to its address and the next hop's neighbour entry, read from the tables that
// forward the IKE and ESP packets: the dataplane's FIB and neighbour table (its telemetry) when
// there is one, else the kernel's (/proc/net/route and /proc/net/arp, as vpnd's network
// namespace sees them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace portcullis::vpnd {

struct RouteEntry {
  uint32_t prefix = 0;  // host order
  int length = 0;
  std::string interface;
  uint32_t gateway = 0;  // 0 = on-link
  std::string type;      // the dataplane's next-hop type ("gateway", "connected", ...); "" kernel
};

struct NeighbourEntry {
  uint32_t address = 0;
  std::string interface;
  bool resolved = false;
  std::string state;  // as the table says it
};

struct Reachability {
  std::string source;  // "dataplane" | "kernel"
  bool route = false;
  std::string route_text;  // "192.0.2.0/24 dev w1" or why there is none
  bool neighbour = false;
  std::string neighbour_text;
};

std::optional<uint32_t> ParseIpv4(absl::string_view text);
std::string Ipv4Text(uint32_t host_order);

// /proc/net/route's and /proc/net/arp's text.
std::vector<RouteEntry> ParseKernelRoutes(absl::string_view proc_net_route);
std::vector<NeighbourEntry> ParseKernelNeighbours(absl::string_view proc_net_arp);
// The dataplane telemetry's lines: "10.0.0.0/8 gateway dp0bond1 via 192.0.2.254" and
// "dp0bond1 192.0.2.254 52:54:00:12:34:56 reachable".
std::vector<RouteEntry> ParseDataplaneRoutes(const std::vector<std::string>& lines);
std::vector<NeighbourEntry> ParseDataplaneNeighbours(const std::vector<std::string>& lines);

// The longest-prefix route to `peer` and its next hop's neighbour.
Reachability CheckReachability(const std::string& source, uint32_t peer,
                               const std::vector<RouteEntry>& routes,
                               const std::vector<NeighbourEntry>& neighbours);

}  // namespace portcullis::vpnd
