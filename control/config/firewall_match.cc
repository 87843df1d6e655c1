#include "control/config/firewall_match.h"

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/config/value_type.h"

namespace portcullis::config {

namespace {

template <class T>
std::vector<FwRange<T>> Normalize(std::vector<FwRange<T>> v) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.lo < b.lo; });
  std::vector<FwRange<T>> out;
  for (const auto& r : v) {
    // Adjacent ranges merge too: 1-5 and 6-9 are one range, one ACL entry fewer.
    if (!out.empty() && (r.lo <= out.back().hi ||
                         static_cast<uint64_t>(r.lo) == static_cast<uint64_t>(out.back().hi) + 1)) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// Of a normalized set, within [0, max].
template <class T>
std::vector<FwRange<T>> Complement(const std::vector<FwRange<T>>& v) {
  constexpr T kMax = std::numeric_limits<T>::max();
  std::vector<FwRange<T>> out;
  uint64_t next = 0;
  for (const auto& r : v) {
    if (r.lo > next) out.push_back({static_cast<T>(next), static_cast<T>(r.lo - 1)});
    next = static_cast<uint64_t>(r.hi) + 1;
  }
  if (next <= kMax) out.push_back({static_cast<T>(next), kMax});
  return out;
}

uint32_t V4(const IpAddress& a) {
  return (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) | (uint32_t{a.bytes[2]} << 8) |
         a.bytes[3];
}

absl::Status NotV4(absl::string_view item) {
  return absl::UnimplementedError(
      absl::StrCat("'", item, "' is IPv6: only IPv4 firewall rules are enforced for now (#21)"));
}

// An address, prefix or range (no group, no negation).
absl::StatusOr<FwAddrRange> AddressItem(absl::string_view item) {
  if (auto a = IpAddress::Parse(item)) {
    if (!a->is_v4()) return NotV4(item);
    return FwAddrRange{V4(*a), V4(*a)};
  }
  if (size_t dash = item.find('-'); dash != absl::string_view::npos) {
    auto lo = IpAddress::Parse(item.substr(0, dash));
    auto hi = IpAddress::Parse(item.substr(dash + 1));
    if (!lo || !hi)
      return absl::InvalidArgumentError(absl::StrCat("bad address range '", item, "'"));
    if (!lo->is_v4() || !hi->is_v4()) return NotV4(item);
    if (V4(*lo) > V4(*hi))
      return absl::InvalidArgumentError(
          absl::StrCat("address range '", item, "': the first address is above the last"));
    return FwAddrRange{V4(*lo), V4(*hi)};
  }
  if (auto p = IpPrefix::Parse(item)) {
    if (!p->address.is_v4()) return NotV4(item);
    uint32_t base = V4(p->Network().address);
    uint32_t span =
        p->length == 0 ? 0xffffffffu : (p->length >= 32 ? 0 : (1u << (32 - p->length)) - 1);
    return FwAddrRange{base, base + span};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", item, "' is not an address, prefix or range"));
}

absl::StatusOr<FwPortRange> PortItem(absl::string_view item) {
  if (int s = ServicePort(item); s >= 0)
    return FwPortRange{static_cast<uint16_t>(s), static_cast<uint16_t>(s)};
  std::vector<absl::string_view> parts = absl::StrSplit(item, '-');
  uint32_t a = 0, b = 0;
  if (parts.size() == 1 && absl::SimpleAtoi(parts[0], &a) && a <= 65535)
    return FwPortRange{static_cast<uint16_t>(a), static_cast<uint16_t>(a)};
  if (parts.size() == 2 && absl::SimpleAtoi(parts[0], &a) && absl::SimpleAtoi(parts[1], &b) &&
      a <= b && b <= 65535)
    return FwPortRange{static_cast<uint16_t>(a), static_cast<uint16_t>(b)};
  return absl::InvalidArgumentError(absl::StrCat("'", item, "' is not a port, range or service"));
}

using GroupMap = std::map<std::string, std::vector<std::string>>;

const std::vector<std::string>* FindGroup(const GroupMap* groups, absl::string_view name) {
  if (groups == nullptr) return nullptr;
  auto it = groups->find(std::string(name));
  return it == groups->end() ? nullptr : &it->second;
}

// Splits a leading '!' off.
absl::string_view Negation(absl::string_view value, bool* negated) {
  *negated = !value.empty() && value[0] == '!';
  return *negated ? value.substr(1) : value;
}

}  // namespace

bool FwProtocolHasPorts(int protocol) {
  return protocol == 6 || protocol == 17 || protocol == 132;
}

absl::StatusOr<std::vector<FwAddrRange>> ExpandAddress(absl::string_view value,
                                                       const FwGroups& groups) {
  if (value.empty()) return std::vector<FwAddrRange>{{0, 0xffffffffu}};
  bool negated = false;
  absl::string_view v = Negation(value, &negated);
  std::vector<FwAddrRange> set;
  if (IsFwGroupName(v)) {
    const std::vector<std::string>* group = FindGroup(groups.address, v);
    if (group == nullptr)
      return absl::NotFoundError(absl::StrCat("address-group '", v, "' does not exist"));
    for (const std::string& item : *group) {
      if (!item.empty() && item[0] == '!')
        return absl::InvalidArgumentError(
            absl::StrCat("address-group '", v, "': '", item, "': no negation inside a group"));
      absl::StatusOr<FwAddrRange> r = AddressItem(item);
      if (!r.ok()) return r.status();
      set.push_back(*r);
    }
  } else {
    absl::StatusOr<FwAddrRange> r = AddressItem(v);
    if (!r.ok()) return r.status();
    set.push_back(*r);
  }
  set = Normalize(std::move(set));
  return negated ? Complement(set) : set;
}

absl::StatusOr<std::vector<FwPortRange>> ExpandPorts(absl::string_view value,
                                                     const FwGroups& groups) {
  if (value.empty()) return std::vector<FwPortRange>{{0, 65535}};
  bool negated = false;
  absl::string_view v = Negation(value, &negated);
  std::vector<FwPortRange> set;
  std::vector<std::string> items;
  if (IsFwGroupName(v) && ServicePort(v) < 0) {
    const std::vector<std::string>* group = FindGroup(groups.port, v);
    if (group == nullptr)
      return absl::NotFoundError(absl::StrCat("port-group '", v, "' does not exist"));
    for (const std::string& entry : *group) {
      for (absl::string_view item : absl::StrSplit(entry, ',')) items.emplace_back(item);
    }
  } else {
    for (absl::string_view item : absl::StrSplit(v, ',')) items.emplace_back(item);
  }
  for (const std::string& item : items) {
    absl::StatusOr<FwPortRange> r = PortItem(item);
    if (!r.ok()) return r.status();
    set.push_back(*r);
  }
  set = Normalize(std::move(set));
  return negated ? Complement(set) : set;
}

absl::StatusOr<std::vector<FwProtoRange>> ExpandProtocol(absl::string_view value) {
  if (value.empty()) return std::vector<FwProtoRange>{{0, 255}};
  bool negated = false;
  absl::string_view v = Negation(value, &negated);
  std::vector<FwProtoRange> set;
  int n = ProtocolNumber(v);
  uint32_t num = 0;
  if (v == "all") {
    set.push_back({0, 255});
  } else if (v == "tcp_udp") {
    set = {{6, 6}, {17, 17}};
  } else if (n >= 0) {
    set.push_back({static_cast<uint8_t>(n), static_cast<uint8_t>(n)});
  } else if (absl::SimpleAtoi(v, &num) && num <= 255) {
    set.push_back({static_cast<uint8_t>(num), static_cast<uint8_t>(num)});
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown protocol '", v, "'"));
  }
  set = Normalize(std::move(set));
  return negated ? Complement(set) : set;
}

absl::StatusOr<std::vector<FwEntry>> ExpandRule(const FirewallRule& rule, const FwGroups& groups) {
  std::string proto_text = rule.protocol;
  bool icmp_match = rule.icmp_type >= 0 || rule.icmp_code >= 0;
  if (icmp_match && proto_text.empty()) proto_text = "icmp";
  absl::StatusOr<std::vector<FwProtoRange>> protos = ExpandProtocol(proto_text);
  if (!protos.ok()) return protos.status();
  if (icmp_match && !(protos->size() == 1 && (*protos)[0] == FwProtoRange{1, 1}))
    return absl::InvalidArgumentError("an icmp match needs protocol icmp");
  absl::StatusOr<std::vector<FwAddrRange>> src = ExpandAddress(rule.source_address, groups);
  if (!src.ok()) return src.status();
  absl::StatusOr<std::vector<FwAddrRange>> dst = ExpandAddress(rule.destination_address, groups);
  if (!dst.ok()) return dst.status();
  absl::StatusOr<std::vector<FwPortRange>> sport = ExpandPorts(rule.source_port, groups);
  if (!sport.ok()) return sport.status();
  absl::StatusOr<std::vector<FwPortRange>> dport = ExpandPorts(rule.destination_port, groups);
  if (!dport.ok()) return dport.status();
  bool ports = !rule.source_port.empty() || !rule.destination_port.empty();
  if (ports) {
    for (const FwProtoRange& p : *protos) {
      if (p.lo != p.hi || !FwProtocolHasPorts(p.lo))
        return absl::InvalidArgumentError(
            "a port match needs protocol tcp, udp, tcp_udp or sctp (the ports of other "
            "protocols are not matched)");
    }
  }
  uint64_t count = uint64_t{protos->size()} * src->size() * dst->size() *
                   (ports ? sport->size() * dport->size() : 1);
  if (count > kFwMaxEntriesPerRule)
    return absl::ResourceExhaustedError(absl::StrCat("the rule expands to ", count,
                                                     " entries (protocols x sources x "
                                                     "destinations x ports), more than ",
                                                     kFwMaxEntriesPerRule,
                                                     ": use prefixes, ranges or fewer list items"));
  std::vector<FwEntry> out;
  out.reserve(count);
  static const std::vector<FwPortRange> kAnyPort = {{0, 65535}};
  for (const FwProtoRange& p : *protos) {
    bool single = p.lo == p.hi;
    bool with_ports = single && FwProtocolHasPorts(p.lo);
    const auto& sp = with_ports ? *sport : kAnyPort;
    const auto& dp = with_ports ? *dport : kAnyPort;
    for (const FwAddrRange& s : *src) {
      for (const FwAddrRange& d : *dst) {
        for (const FwPortRange& a : sp) {
          for (const FwPortRange& b : dp) {
            FwEntry e;
            e.proto = p;
            e.src = s;
            e.dst = d;
            e.sport = a;
            e.dport = b;
            if (single && p.lo == 1) {
              e.icmp_type = rule.icmp_type >= 0 ? FwProtoRange{static_cast<uint8_t>(rule.icmp_type),
                                                               static_cast<uint8_t>(rule.icmp_type)}
                                                : FwProtoRange{0, 255};
              e.icmp_code = rule.icmp_code >= 0 ? FwProtoRange{static_cast<uint8_t>(rule.icmp_code),
                                                               static_cast<uint8_t>(rule.icmp_code)}
                                                : FwProtoRange{0, 255};
            }
            out.push_back(e);
          }
        }
      }
    }
  }
  return out;
}

uint8_t FwStateMask(const FirewallRule& rule) {
  uint8_t m = 0;
  for (const std::string& s : rule.match_state) {
    if (s == "new") m |= 1u << 0;
    if (s == "established") m |= 1u << 1;
    if (s == "related") m |= 1u << 2;
    if (s == "invalid") m |= 1u << 3;
  }
  return m;
}

}  // namespace portcullis::config
