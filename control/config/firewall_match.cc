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
  constexpr T kMax = std::numeric_limits<T>::max();
  for (const auto& r : v) {
    // Adjacent ranges merge too: 1-5 and 6-9 are one range, one ACL entry fewer.
    if (!out.empty() &&
        (r.lo <= out.back().hi || (out.back().hi != kMax && r.lo == out.back().hi + 1))) {
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
  T next = 0;
  bool done = false;  // the last range reached kMax
  for (const auto& r : v) {
    if (r.lo > next) out.push_back({next, static_cast<T>(r.lo - 1)});
    if (r.hi == kMax) {
      done = true;
      break;
    }
    next = static_cast<T>(r.hi + 1);
  }
  if (!done) out.push_back({next, kMax});
  return out;
}

// The fewest prefix-aligned ranges covering r exactly (the dataplane's ACL matches IPv6
// addresses as prefixes).
void PrefixCut(const FwAddr6Range& r, std::vector<FwAddr6Range>* out) {
  absl::uint128 lo = r.lo;
  for (;;) {
    int k = 0;  // the block at lo is 2^k addresses
    while (k < 128) {
      if (k == 127) {
        if (lo == 0 && r.hi == absl::Uint128Max()) k = 128;
        break;
      }
      const absl::uint128 size = absl::uint128(1) << (k + 1);
      if ((lo & (size - 1)) != 0) break;
      const absl::uint128 last = lo + (size - 1);
      if (last > r.hi) break;
      ++k;
    }
    if (k == 128) {
      out->push_back({0, absl::Uint128Max()});
      return;
    }
    const absl::uint128 last = lo + ((absl::uint128(1) << k) - 1);
    out->push_back({lo, last});
    if (last >= r.hi) return;
    lo = last + 1;
  }
}

absl::uint128 V6(const IpAddress& a) {
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = hi << 8 | a.bytes[i];
  for (int i = 8; i < 16; ++i) lo = lo << 8 | a.bytes[i];
  return absl::MakeUint128(hi, lo);
}

uint32_t V4(const IpAddress& a) {
  return (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) | (uint32_t{a.bytes[2]} << 8) |
         a.bytes[3];
}

// One address item: its family and range (v4 or v6 filled in).
struct AddrItem {
  int family = 4;
  FwAddrRange v4{};
  FwAddr6Range v6{};
};

// An address, prefix or range (no group, no negation).
absl::StatusOr<AddrItem> AddressItem(absl::string_view item) {
  AddrItem out;
  auto set = [&](const IpAddress& lo, const IpAddress& hi) {
    out.family = lo.is_v4() ? 4 : 6;
    if (out.family == 4) {
      out.v4 = {V4(lo), V4(hi)};
    } else {
      out.v6 = {V6(lo), V6(hi)};
    }
  };
  if (auto a = IpAddress::Parse(item)) {
    set(*a, *a);
    return out;
  }
  if (size_t dash = item.find('-'); dash != absl::string_view::npos) {
    auto lo = IpAddress::Parse(item.substr(0, dash));
    auto hi = IpAddress::Parse(item.substr(dash + 1));
    if (!lo || !hi)
      return absl::InvalidArgumentError(absl::StrCat("bad address range '", item, "'"));
    if (lo->is_v4() != hi->is_v4())
      return absl::InvalidArgumentError(
          absl::StrCat("address range '", item, "' mixes IPv4 and IPv6"));
    set(*lo, *hi);
    if (out.family == 4 ? out.v4.lo > out.v4.hi : out.v6.lo > out.v6.hi)
      return absl::InvalidArgumentError(
          absl::StrCat("address range '", item, "': the first address is above the last"));
    return out;
  }
  if (auto p = IpPrefix::Parse(item)) {
    IpAddress net = p->Network().address;
    if (p->address.is_v4()) {
      uint32_t base = V4(net);
      uint32_t span =
          p->length == 0 ? 0xffffffffu : (p->length >= 32 ? 0 : (1u << (32 - p->length)) - 1);
      out.family = 4;
      out.v4 = {base, base + span};
    } else {
      absl::uint128 base = V6(net);
      absl::uint128 span = p->length == 0     ? absl::Uint128Max()
                           : p->length >= 128 ? absl::uint128(0)
                                              : (absl::uint128(1) << (128 - p->length)) - 1;
      out.family = 6;
      out.v6 = {base, base + span};
    }
    return out;
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

absl::StatusOr<FwAddrSets> ExpandAddressSets(absl::string_view value, const FwGroups& groups) {
  FwAddrSets out;
  if (value.empty()) {
    out.has4 = out.has6 = true;
    out.v4 = {{0, 0xffffffffu}};
    out.v6 = {{0, absl::Uint128Max()}};
    return out;
  }
  bool negated = false;
  absl::string_view v = Negation(value, &negated);
  std::vector<AddrItem> items;
  if (IsFwGroupName(v)) {
    const std::vector<std::string>* group = FindGroup(groups.address, v);
    if (group == nullptr)
      return absl::NotFoundError(absl::StrCat("address-group '", v, "' does not exist"));
    for (const std::string& item : *group) {
      if (!item.empty() && item[0] == '!')
        return absl::InvalidArgumentError(
            absl::StrCat("address-group '", v, "': '", item, "': no negation inside a group"));
      absl::StatusOr<AddrItem> r = AddressItem(item);
      if (!r.ok()) return r.status();
      items.push_back(*r);
    }
  } else {
    absl::StatusOr<AddrItem> r = AddressItem(v);
    if (!r.ok()) return r.status();
    items.push_back(*r);
  }
  for (const AddrItem& i : items) {
    if (i.family == 4) {
      out.has4 = true;
      out.v4.push_back(i.v4);
    } else {
      out.has6 = true;
      out.v6.push_back(i.v6);
    }
  }
  // An empty group names no family: as before, it matches nothing (of either).
  if (items.empty()) out.has4 = true;
  out.v4 = Normalize(std::move(out.v4));
  out.v6 = Normalize(std::move(out.v6));
  // `!` complements within the family the value names (npf: an IPv4 negation matches IPv4
  // packets outside it, never IPv6 ones).
  if (negated) {
    if (out.has4) out.v4 = Complement(out.v4);
    if (out.has6) out.v6 = Complement(out.v6);
  }
  std::vector<FwAddr6Range> cut;
  for (const FwAddr6Range& r : out.v6) PrefixCut(r, &cut);
  out.v6 = std::move(cut);
  return out;
}

absl::StatusOr<std::vector<FwAddrRange>> ExpandAddress(absl::string_view value,
                                                       const FwGroups& groups) {
  absl::StatusOr<FwAddrSets> sets = ExpandAddressSets(value, groups);
  if (!sets.ok()) return sets.status();
  if (sets->has6 && !sets->has4)
    return absl::InvalidArgumentError(absl::StrCat("'", value, "' is IPv6"));
  return sets->v4;
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
  const bool icmp_match = rule.icmp_type >= 0 || rule.icmp_code >= 0;
  const bool icmp6_match = rule.icmpv6_type >= 0 || rule.icmpv6_code >= 0;
  if (icmp_match && icmp6_match)
    return absl::InvalidArgumentError("'icmp' and 'icmpv6' are mutually exclusive");
  if (icmp_match && proto_text.empty()) proto_text = "icmp";
  if (icmp6_match && proto_text.empty()) proto_text = "ipv6-icmp";
  absl::StatusOr<std::vector<FwProtoRange>> protos = ExpandProtocol(proto_text);
  if (!protos.ok()) return protos.status();
  const bool only_icmp = protos->size() == 1 && (*protos)[0] == FwProtoRange{1, 1};
  const bool only_icmp6 = protos->size() == 1 && (*protos)[0] == FwProtoRange{58, 58};
  if (icmp_match && !only_icmp)
    return absl::InvalidArgumentError("an icmp match needs protocol icmp");
  if (icmp6_match && !only_icmp6)
    return absl::InvalidArgumentError("an icmpv6 match needs protocol ipv6-icmp");
  absl::StatusOr<FwAddrSets> src = ExpandAddressSets(rule.source_address, groups);
  if (!src.ok()) return src.status();
  absl::StatusOr<FwAddrSets> dst = ExpandAddressSets(rule.destination_address, groups);
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
  // The families the rule applies to: its ruleset's, its addresses', its protocol's.
  const bool fam4 = rule.family != 6 && src->has4 && dst->has4 && !only_icmp6;
  const bool fam6 = rule.family != 4 && src->has6 && dst->has6 && !only_icmp;
  const uint64_t per_proto_ports = ports ? sport->size() * dport->size() : 1;
  uint64_t count = 0;
  if (fam4) count += uint64_t{protos->size()} * src->v4.size() * dst->v4.size() * per_proto_ports;
  if (fam6) count += uint64_t{protos->size()} * src->v6.size() * dst->v6.size() * per_proto_ports;
  if (count > kFwMaxEntriesPerRule)
    return absl::ResourceExhaustedError(absl::StrCat("the rule expands to ", count,
                                                     " entries (protocols x sources x "
                                                     "destinations x ports), more than ",
                                                     kFwMaxEntriesPerRule,
                                                     ": use prefixes, ranges or fewer list items"));
  std::vector<FwEntry> out;
  out.reserve(count);
  static const std::vector<FwPortRange> kAnyPort = {{0, 65535}};
  auto emit = [&](uint8_t family, auto set_addrs, size_t nsrc, size_t ndst) {
    const uint8_t icmp_proto = family == 4 ? 1 : 58;
    const int itype = family == 4 ? rule.icmp_type : rule.icmpv6_type;
    const int icode = family == 4 ? rule.icmp_code : rule.icmpv6_code;
    for (const FwProtoRange& p : *protos) {
      bool single = p.lo == p.hi;
      bool with_ports = single && FwProtocolHasPorts(p.lo);
      const auto& sp = with_ports ? *sport : kAnyPort;
      const auto& dp = with_ports ? *dport : kAnyPort;
      for (size_t si = 0; si < nsrc; ++si) {
        for (size_t di = 0; di < ndst; ++di) {
          for (const FwPortRange& a : sp) {
            for (const FwPortRange& b : dp) {
              FwEntry e;
              e.family = family;
              e.proto = p;
              set_addrs(e, si, di);
              e.sport = a;
              e.dport = b;
              if (single && p.lo == icmp_proto) {
                e.icmp_type = itype >= 0 ? FwProtoRange{static_cast<uint8_t>(itype),
                                                        static_cast<uint8_t>(itype)}
                                         : FwProtoRange{0, 255};
                e.icmp_code = icode >= 0 ? FwProtoRange{static_cast<uint8_t>(icode),
                                                        static_cast<uint8_t>(icode)}
                                         : FwProtoRange{0, 255};
              }
              out.push_back(e);
            }
          }
        }
      }
    }
  };
  if (fam4)
    emit(
        4,
        [&](FwEntry& e, size_t si, size_t di) {
          e.src = src->v4[si];
          e.dst = dst->v4[di];
        },
        src->v4.size(), dst->v4.size());
  if (fam6)
    emit(
        6,
        [&](FwEntry& e, size_t si, size_t di) {
          e.src6 = src->v6[si];
          e.dst6 = dst->v6[di];
        },
        src->v6.size(), dst->v6.size());
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
