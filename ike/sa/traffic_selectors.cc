#include "ike/sa/traffic_selectors.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis::ike {

namespace {

int Compare(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end())   ? -1
         : std::lexicographical_compare(b.begin(), b.end(), a.begin(), a.end()) ? 1
                                                                                : 0;
}

}  // namespace

std::string ProtoName(uint8_t p) {
  switch (p) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 47:
      return "gre";
    case 58:
      return "ipv6-icmp";
    default:
      return absl::StrCat(p);
  }
}

TrafficSelector TsFromPrefix(const Address& network, int prefix_length, uint8_t protocol,
                             uint16_t start_port, uint16_t end_port) {
  TrafficSelector ts;
  ts.type = network.family == 4 ? TsType::kIpv4AddrRange : TsType::kIpv6AddrRange;
  ts.ip_protocol = protocol;
  ts.start_port = start_port;
  ts.end_port = end_port;
  auto s = network.span();
  ts.start_address.assign(s.begin(), s.end());
  ts.end_address = ts.start_address;
  for (size_t i = 0; i < ts.start_address.size(); ++i) {
    int bits_here = std::clamp(prefix_length - static_cast<int>(i) * 8, 0, 8);
    uint8_t mask = bits_here == 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - bits_here));
    ts.start_address[i] &= mask;
    ts.end_address[i] = ts.start_address[i] | static_cast<uint8_t>(~mask);
  }
  return ts;
}

TrafficSelector TsAny(uint8_t family) {
  Address a;
  a.family = family;
  return TsFromPrefix(a, 0);
}

std::optional<TrafficSelector> IntersectTs(const TrafficSelector& a, const TrafficSelector& b) {
  if (a.type != b.type || a.start_address.size() != b.start_address.size()) return std::nullopt;
  TrafficSelector r;
  r.type = a.type;
  if (a.ip_protocol != 0 && b.ip_protocol != 0 && a.ip_protocol != b.ip_protocol) {
    return std::nullopt;
  }
  r.ip_protocol = a.ip_protocol != 0 ? a.ip_protocol : b.ip_protocol;
  r.start_port = std::max(a.start_port, b.start_port);
  r.end_port = std::min(a.end_port, b.end_port);
  if (r.start_port > r.end_port) return std::nullopt;
  r.start_address =
      Compare(a.start_address, b.start_address) >= 0 ? a.start_address : b.start_address;
  r.end_address = Compare(a.end_address, b.end_address) <= 0 ? a.end_address : b.end_address;
  if (Compare(r.start_address, r.end_address) > 0) return std::nullopt;
  return r;
}

std::vector<TrafficSelector> NarrowTs(const std::vector<TrafficSelector>& proposed,
                                      const std::vector<TrafficSelector>& configured) {
  std::vector<TrafficSelector> out;
  for (const TrafficSelector& p : proposed) {
    for (const TrafficSelector& c : configured) {
      if (auto r = IntersectTs(p, c)) {
        if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
      }
    }
  }
  return out;
}

bool TsSubset(const std::vector<TrafficSelector>& inner,
              const std::vector<TrafficSelector>& outer) {
  for (const TrafficSelector& i : inner) {
    bool found = false;
    for (const TrafficSelector& o : outer) {
      auto r = IntersectTs(i, o);
      if (r && *r == i) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool TsAsPrefix(const TrafficSelector& ts, Address* network, int* length) {
  size_t n = ts.start_address.size();
  if (n != 4 && n != 16) return false;
  int len = 0;
  bool host_part = false;
  for (size_t i = 0; i < n; ++i) {
    for (int bit = 7; bit >= 0; --bit) {
      int s = (ts.start_address[i] >> bit) & 1, e = (ts.end_address[i] >> bit) & 1;
      if (!host_part) {
        if (s == e) {
          ++len;
          continue;
        }
        host_part = true;
      }
      if (s != 0 || e != 1) return false;
    }
  }
  *network = *Address::FromBytes(ts.start_address);
  *length = len;
  return true;
}

std::string TsToString(const TrafficSelector& ts) {
  std::string out;
  Address net;
  int len = 0;
  if (TsAsPrefix(ts, &net, &len)) {
    out = absl::StrCat(net.ToString(), "/", len);
  } else {
    auto a = Address::FromBytes(ts.start_address), b = Address::FromBytes(ts.end_address);
    out = absl::StrCat(a ? a->ToString() : "?", "..", b ? b->ToString() : "?");
  }
  bool any_port = ts.start_port == 0 && ts.end_port == 65535;
  if (ts.ip_protocol != 0 || !any_port) {
    absl::StrAppend(&out, "[", ts.ip_protocol != 0 ? ProtoName(ts.ip_protocol) : "");
    if (!any_port) {
      absl::StrAppend(&out, "/", ts.start_port);
      if (ts.end_port != ts.start_port) absl::StrAppend(&out, "-", ts.end_port);
    }
    absl::StrAppend(&out, "]");
  }
  return out;
}

std::string TsListToString(const std::vector<TrafficSelector>& list) {
  std::vector<std::string> parts;
  for (const auto& t : list) parts.push_back(TsToString(t));
  return absl::StrJoin(parts, " ");
}

}  // namespace portcullis::ike
