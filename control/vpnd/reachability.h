// Can we reach the peer (troubleshooting step 2 of the seeds: network connectivity between the
// peers)? A route to its address and the next hop's neighbour entry, read from the tables that
// forward the IKE and ESP packets: the dataplane's FIB and neighbour table (its telemetry) when
// there is one, else the kernel's (/proc/net/route and /proc/net/arp, as vpnd's network
// namespace sees them).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace portcullis::vpnd {

using Ip6Bytes = std::array<uint8_t, 16>;

// A = uint32_t (IPv4, host order) or Ip6Bytes.
template <class A>
struct RouteEntryOf {
  A prefix{};
  int length = 0;
  std::string interface;
  A gateway{};       // all zero = on-link
  std::string type;  // the dataplane's next-hop type ("gateway", "connected", ...); "" kernel
};

template <class A>
struct NeighbourEntryOf {
  A address{};
  std::string interface;
  bool resolved = false;
  std::string state;  // as the table says it
};

using RouteEntry = RouteEntryOf<uint32_t>;
using NeighbourEntry = NeighbourEntryOf<uint32_t>;
using Route6Entry = RouteEntryOf<Ip6Bytes>;
using Neighbour6Entry = NeighbourEntryOf<Ip6Bytes>;

struct Reachability {
  std::string source;  // "dataplane" | "kernel"
  bool route = false;
  std::string route_text;  // "192.0.2.0/24 dev w1" or why there is none
  bool neighbour = false;
  bool neighbour_unknown = false;  // the table is not readable here (the kernel's IPv6 one)
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

// IPv6: /proc/net/ipv6_route's text; the dataplane's routes6 lines ("2001:db8::/64 connected
// lan", "::/0 gateway wan via fe80::1") and the IPv6 lines of its neighbours. The kernel's
// IPv6 neighbours are only in netlink: without `neighbours` (nullopt) the next hop is not
// checked (neighbour_unknown).
std::optional<Ip6Bytes> ParseIpv6(absl::string_view text);
std::string Ipv6Text(const Ip6Bytes& a);
std::vector<Route6Entry> ParseKernelRoutes6(absl::string_view proc_net_ipv6_route);
std::vector<Route6Entry> ParseDataplaneRoutes6(const std::vector<std::string>& lines);
std::vector<Neighbour6Entry> ParseDataplaneNeighbours6(const std::vector<std::string>& lines);
Reachability CheckReachability6(const std::string& source, const Ip6Bytes& peer,
                                const std::vector<Route6Entry>& routes,
                                const std::optional<std::vector<Neighbour6Entry>>& neighbours);

}  // namespace portcullis::vpnd
