#include "control/vpnd/reachability.h"

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

Reachability CheckReachability(const std::string& source, uint32_t peer,
                               const std::vector<RouteEntry>& routes,
                               const std::vector<NeighbourEntry>& neighbours) {
  Reachability r;
  r.source = source;
  const RouteEntry* best = nullptr;
  for (const RouteEntry& e : routes) {
    if ((peer & Mask(e.length)) != (e.prefix & Mask(e.length))) continue;
    if (best == nullptr || e.length > best->length) best = &e;
  }
  if (best == nullptr) {
    r.route_text = absl::StrCat("no route to ", Ipv4Text(peer));
    r.neighbour_text = "no next hop";
    return r;
  }
  if (best->type == "blackhole" || best->type == "local") {
    r.route_text = absl::StrCat(Ipv4Text(best->prefix), "/", best->length, " is ", best->type);
    r.neighbour_text = "no next hop";
    return r;
  }
  r.route = true;
  uint32_t hop = best->gateway != 0 ? best->gateway : peer;
  r.route_text = absl::StrCat(
      Ipv4Text(best->prefix), "/", best->length,
      best->gateway != 0 ? absl::StrCat(" via ", Ipv4Text(best->gateway)) : std::string(), " dev ",
      best->interface);
  r.neighbour_text = absl::StrCat(Ipv4Text(hop), ": no neighbour entry");
  for (const NeighbourEntry& n : neighbours) {
    if (n.address != hop) continue;
    r.neighbour = n.resolved;
    r.neighbour_text = absl::StrCat(Ipv4Text(hop), " dev ", n.interface, " ", n.state);
    if (n.resolved) break;
  }
  return r;
}

}  // namespace portcullis::vpnd
