#include "control/vpnd/reachability.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace portcullis::vpnd {

namespace {

std::vector<absl::string_view> Fields(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

// /proc/net/route prints addresses as the hex of their network-order bytes read as a
// little-endian word.
std::optional<uint32_t> ProcHex(absl::string_view h) {
  uint32_t v = 0;
  if (!absl::SimpleHexAtoi(h, &v)) return std::nullopt;
  return (v & 0xff) << 24 | (v >> 8 & 0xff) << 16 | (v >> 16 & 0xff) << 8 | v >> 24;
}

uint32_t Mask(int length) {
  return length == 0 ? 0 : ~uint32_t{0} << (32 - length);
}

}  // namespace

std::optional<uint32_t> ParseIpv4(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4) return std::nullopt;
  uint32_t v = 0;
  for (absl::string_view p : parts) {
    uint32_t b = 0;
    if (p.empty() || p.size() > 3 || !absl::SimpleAtoi(p, &b) || b > 255) return std::nullopt;
    v = v << 8 | b;
  }
  return v;
}

std::string Ipv4Text(uint32_t a) {
  return absl::StrFormat("%d.%d.%d.%d", a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
}

std::vector<RouteEntry> ParseKernelRoutes(absl::string_view text) {
  std::vector<RouteEntry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = Fields(line);
    if (f.size() < 8 || f[0] == "Iface") continue;
    std::optional<uint32_t> dst = ProcHex(f[1]), gw = ProcHex(f[2]), mask = ProcHex(f[7]);
    uint32_t flags = 0;
    if (!dst || !gw || !mask || !absl::SimpleHexAtoi(f[3], &flags) || !(flags & 1)) continue;
    out.push_back({*dst, __builtin_popcount(*mask), std::string(f[0]), *gw, ""});
  }
  return out;
}

std::vector<NeighbourEntry> ParseKernelNeighbours(absl::string_view text) {
  std::vector<NeighbourEntry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = Fields(line);
    std::optional<uint32_t> ip = f.size() >= 6 ? ParseIpv4(f[0]) : std::nullopt;
    uint32_t flags = 0;
    if (!ip || !absl::SimpleHexAtoi(f[2], &flags)) continue;
    bool complete = (flags & 0x2) != 0;
    out.push_back({*ip, std::string(f[5]), complete,
                   complete ? absl::StrCat("lladdr ", f[3]) : std::string("incomplete")});
  }
  return out;
}

std::vector<RouteEntry> ParseDataplaneRoutes(const std::vector<std::string>& lines) {
  std::vector<RouteEntry> out;
  for (const std::string& line : lines) {
    std::vector<absl::string_view> f = Fields(line);
    if (f.size() < 3) continue;
    std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(f[0], '/');
    std::optional<uint32_t> dst = ParseIpv4(p.first);
    int len = 0;
    if (!dst || !absl::SimpleAtoi(p.second, &len) || len < 0 || len > 32) continue;
    RouteEntry r{*dst, len, std::string(f[2]), 0, std::string(f[1])};
    if (f.size() >= 5 && f[3] == "via") r.gateway = ParseIpv4(f[4]).value_or(0);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<NeighbourEntry> ParseDataplaneNeighbours(const std::vector<std::string>& lines) {
  std::vector<NeighbourEntry> out;
  for (const std::string& line : lines) {
    std::vector<absl::string_view> f = Fields(line);
    std::optional<uint32_t> ip = f.size() >= 4 ? ParseIpv4(f[1]) : std::nullopt;
    if (!ip) continue;
    bool resolved = f[2] != "-" && f[3] != "incomplete";
    out.push_back({*ip, std::string(f[0]), resolved,
                   resolved ? absl::StrCat("lladdr ", f[2], " ", f[3]) : std::string(f[3])});
  }
  return out;
}

namespace {

bool Contains(uint32_t prefix, int length, uint32_t a) {
  return (a & Mask(length)) == (prefix & Mask(length));
}
bool Contains(const Ip6Bytes& prefix, int length, const Ip6Bytes& a) {
  for (int bit = 0; bit < length; bit += 8) {
    const int keep = std::min(8, length - bit);
    const uint8_t m = static_cast<uint8_t>(0xff << (8 - keep));
    if ((prefix[bit / 8] & m) != (a[bit / 8] & m)) return false;
  }
  return true;
}
bool IsZero(uint32_t a) {
  return a == 0;
}
bool IsZero(const Ip6Bytes& a) {
  for (uint8_t b : a)
    if (b) return false;
  return true;
}
std::string Text(uint32_t a) {
  return Ipv4Text(a);
}
std::string Text(const Ip6Bytes& a) {
  return Ipv6Text(a);
}

// One longest-prefix walk for both families (a diagnosis, not a packet path: linear is fine).
template <class A>
Reachability Check(const std::string& source, const A& peer,
                   const std::vector<RouteEntryOf<A>>& routes,
                   const std::vector<NeighbourEntryOf<A>>* neighbours) {
  Reachability r;
  r.source = source;
  const RouteEntryOf<A>* best = nullptr;
  for (const RouteEntryOf<A>& e : routes) {
    if (!Contains(e.prefix, e.length, peer)) continue;
    if (best == nullptr || e.length > best->length) best = &e;
  }
  if (best == nullptr) {
    r.route_text = absl::StrCat("no route to ", Text(peer));
    r.neighbour_text = "no next hop";
    return r;
  }
  if (best->type == "blackhole" || best->type == "local") {
    r.route_text = absl::StrCat(Text(best->prefix), "/", best->length, " is ", best->type);
    r.neighbour_text = "no next hop";
    return r;
  }
  r.route = true;
  const bool via = !IsZero(best->gateway);
  const A hop = via ? best->gateway : peer;
  r.route_text = absl::StrCat(Text(best->prefix), "/", best->length,
                              via ? absl::StrCat(" via ", Text(best->gateway)) : std::string(),
                              " dev ", best->interface);
  if (neighbours == nullptr) {
    r.neighbour_unknown = true;
    r.neighbour_text = absl::StrCat(Text(hop),
                                    ": not read (the kernel keeps IPv6 neighbours "
                                    "in netlink only; `ip -6 neigh` shows them)");
    return r;
  }
  r.neighbour_text = absl::StrCat(Text(hop), ": no neighbour entry");
  for (const NeighbourEntryOf<A>& n : *neighbours) {
    if (n.address != hop) continue;
    r.neighbour = n.resolved;
    r.neighbour_text = absl::StrCat(Text(hop), " dev ", n.interface, " ", n.state);
    if (n.resolved) break;
  }
  return r;
}

}  // namespace

Reachability CheckReachability(const std::string& source, uint32_t peer,
                               const std::vector<RouteEntry>& routes,
                               const std::vector<NeighbourEntry>& neighbours) {
  return Check(source, peer, routes, &neighbours);
}

std::optional<Ip6Bytes> ParseIpv6(absl::string_view text) {
  Ip6Bytes a;
  std::string s(text);
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) return std::nullopt;
  return a;
}

std::string Ipv6Text(const Ip6Bytes& a) {
  char s[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), s, sizeof s);
  return s;
}

std::vector<Route6Entry> ParseKernelRoutes6(absl::string_view text) {
  // dest plen src plen next-hop metric refcnt use flags iface: addresses as 32 hex digits.
  auto hex128 = [](absl::string_view h) -> std::optional<Ip6Bytes> {
    if (h.size() != 32) return std::nullopt;
    Ip6Bytes a;
    for (int i = 0; i < 16; ++i) {
      uint32_t b = 0;
      if (!absl::SimpleHexAtoi(h.substr(2 * i, 2), &b)) return std::nullopt;
      a[i] = static_cast<uint8_t>(b);
    }
    return a;
  };
  std::vector<Route6Entry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = Fields(line);
    if (f.size() < 10) continue;
    std::optional<Ip6Bytes> dst = hex128(f[0]), gw = hex128(f[4]);
    uint32_t len = 0, flags = 0;
    if (!dst || !gw || !absl::SimpleHexAtoi(f[1], &len) || len > 128 ||
        !absl::SimpleHexAtoi(f[8], &flags) || !(flags & 1))  // RTF_UP
      continue;
    // The local table's entries (our own addresses, multicast) are on lo: not a way out.
    if (f[9] == "lo") continue;
    out.push_back({*dst, static_cast<int>(len), std::string(f[9]), *gw,
                   (flags & 0x200) ? "blackhole" : ""});  // RTF_REJECT
  }
  return out;
}

std::vector<Route6Entry> ParseDataplaneRoutes6(const std::vector<std::string>& lines) {
  std::vector<Route6Entry> out;
  for (const std::string& line : lines) {
    std::vector<absl::string_view> f = Fields(line);
    if (f.size() < 3) continue;
    std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(f[0], '/');
    std::optional<Ip6Bytes> dst = ParseIpv6(p.first);
    int len = 0;
    if (!dst || !absl::SimpleAtoi(p.second, &len) || len < 0 || len > 128) continue;
    Route6Entry r{*dst, len, std::string(f[2]), {}, std::string(f[1])};
    if (f.size() >= 5 && f[3] == "via") r.gateway = ParseIpv6(f[4]).value_or(Ip6Bytes{});
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Neighbour6Entry> ParseDataplaneNeighbours6(const std::vector<std::string>& lines) {
  std::vector<Neighbour6Entry> out;
  for (const std::string& line : lines) {
    std::vector<absl::string_view> f = Fields(line);
    std::optional<Ip6Bytes> ip = f.size() >= 4 ? ParseIpv6(f[1]) : std::nullopt;
    if (!ip) continue;
    bool resolved = f[2] != "-" && f[3] != "incomplete";
    out.push_back({*ip, std::string(f[0]), resolved,
                   resolved ? absl::StrCat("lladdr ", f[2], " ", f[3]) : std::string(f[3])});
  }
  return out;
}

Reachability CheckReachability6(const std::string& source, const Ip6Bytes& peer,
                                const std::vector<Route6Entry>& routes,
                                const std::optional<std::vector<Neighbour6Entry>>& neighbours) {
  return Check(source, peer, routes, neighbours ? &*neighbours : nullptr);
}

}  // namespace portcullis::vpnd
