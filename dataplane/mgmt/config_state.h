// What the clients have configured, as the main lcore keeps it: the source from which the
// published tables and the FIB are rebuilt after every batch.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/api/messages.h"
#include "dataplane/tables/interface_table.h"

namespace portcullis::dp {

struct InterfaceConfig {
  api::InterfaceBody body;
  std::set<std::pair<uint32_t, uint8_t>> addresses;  // IPv4 (network order), prefix length
  std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> addresses6;  // IPv6, prefix length
};

struct RouteConfig {
  api::RouteType type;
  uint32_t next_hop;  // network order
  uint32_t out_ifindex;
  uint8_t distance;
  auto key() const { return std::make_tuple(static_cast<int>(type), next_hop, out_ifindex); }
};

struct RouteConfig6 {
  api::RouteType type;
  std::array<uint8_t, 16> next_hop;
  uint32_t out_ifindex;
  uint8_t distance;
  auto key() const { return std::make_tuple(static_cast<int>(type), next_hop, out_ifindex); }
};

// A policy's identity: everything but its action and SA (RFC 4301 SPD entries are keyed by
// their selectors; the priority orders them). IPv6 addresses are the last two members (zero
// for IPv4), so IPv4 policies keep their order among themselves.
using PolicyKey =
    std::tuple<int, int, uint32_t, uint8_t, uint32_t, uint8_t, uint8_t, uint16_t, uint16_t,
               uint16_t, uint16_t, uint32_t, std::array<uint8_t, 16>, std::array<uint8_t, 16>>;

inline PolicyKey KeyOf(const api::PolicyBody& b) {
  uint32_t src, dst;
  std::memcpy(&src, b.src.bytes, 4);
  std::memcpy(&dst, b.dst.bytes, 4);
  std::array<uint8_t, 16> src6{}, dst6{};
  if (b.family == api::Family::kIpv6) {
    std::memcpy(src6.data(), b.src.bytes, 16);
    std::memcpy(dst6.data(), b.dst.bytes, 16);
  }
  return {static_cast<int>(b.direction),
          static_cast<int>(b.family),
          src,
          b.src_prefix_length,
          dst,
          b.dst_prefix_length,
          b.protocol,
          b.src_port_low,
          b.src_port_high,
          b.dst_port_low,
          b.dst_port_high,
          b.priority,
          src6,
          dst6};
}

// A ruleset and its rules' entries, by (rule number, entry).
struct FwRulesetConfig {
  api::FwRulesetBody body;
  std::map<std::pair<uint32_t, uint32_t>, api::FwRuleBody> entries;
};

struct FwConfig {
  std::map<uint32_t, FwRulesetConfig> rulesets;                               // by id
  std::map<std::tuple<uint32_t, uint8_t, uint8_t>, uint32_t> bindings;        // (ifx, hook, pos)
  std::map<uint32_t, api::FwZoneBody> zones;                                  // by id
  std::map<uint32_t, uint32_t> zone_interfaces;                               // ifindex -> zone
  std::map<std::tuple<uint32_t, uint32_t, uint8_t>, uint32_t> zone_policies;  // (from, to, pos)
  api::FwGlobalBody global{};
};

struct ConfigState {
  std::map<uint32_t, InterfaceConfig> interfaces;                             // by ifindex
  std::map<std::pair<uint32_t, uint8_t>, std::vector<RouteConfig>> routes;    // prefix -> routes
  std::map<std::pair<uint32_t, uint32_t>, std::array<uint8_t, 6>> neighbors;  // (ifx, ip)
  std::map<uint32_t, uint32_t> vti_bindings;  // vti ifindex -> out spi
  // A binding's per-worker members (RFC 9611 groups), by worker (0: none); only for bindings
  // that have any.
  std::map<uint32_t, std::array<uint32_t, api::kMaxSaGroupMembers>> vti_members;
  // IPv6: prefix (host bits cleared) -> routes; (ifx, address) -> MAC.
  std::map<std::pair<std::array<uint8_t, 16>, uint8_t>, std::vector<RouteConfig6>> routes6;
  std::map<std::pair<uint32_t, std::array<uint8_t, 16>>, std::array<uint8_t, 6>> neighbors6;
  std::map<PolicyKey, api::PolicyBody> policies;
  FwConfig fw;
  // VRRP groups by (ifindex, VRID); the main lcore's VrrpService runs them.
  std::map<std::pair<uint32_t, uint8_t>, api::VrrpGroupBody> vrrp;
};

}  // namespace portcullis::dp
