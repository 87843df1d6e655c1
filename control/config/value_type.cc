#include "control/config/value_type.h"

#include <algorithm>
#include <charconv>
#include <regex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/config/ip_prefix.h"

namespace portcullis::config {

const char kDataplaneIfPattern[] =
    "dp[0-9]+o[0-9]+(d[0-9]+)?|dp[0-9]+s[0-9]+(f[0-9]+)?(d[0-9]+)?|"
    "dp[0-9]+(P[0-9]+)?p[0-9]{1,3}s[0-9]{1,3}(f[0-9]+)?(d[0-9]+)?|dp[0-9]+p[0-9]+p[0-9]+|"
    "dp[0-9]+p[0-9]+s[0-9]+(u[0-9]+){1,}(i[0-9]+)?|dp[0-9]+p[0-9]+|dp[0-9]+(ce|xe|ge|bmc)[0-9]+";
const char kBondingIfPattern[] = "dp[0-9]+bond([0-9]|[1-9][0-9]+)|bond[0-9]+";
const char kVtiIfPattern[] = "vti[0-9]+";
const char kVfpIfPattern[] = "vfp[0-9]+";
const char kLoopbackIfPattern[] = "lo[0-9]*";
const char kEthernetIfPattern[] = "eth[0-9]+";
const char kGroupNamePattern[] = "[-_a-zA-Z0-9.]+";
const char kRulesetNamePattern[] = "[0-9A-Za-z][-_0-9A-Za-z]*";
const char kPskPattern[] = "[-+&!@#$%^*(),.:_a-zA-Z0-9]+";
const char kPrintablePattern[] = "[ -~]+";

bool MatchesPattern(const std::string& pattern, absl::string_view v) {
  // Compiling a std::regex costs far more than matching; the schema has a few dozen patterns.
  thread_local absl::flat_hash_map<std::string, std::regex> compiled;
  auto it = compiled.find(pattern);
  if (it == compiled.end())
    it = compiled.emplace(pattern, std::regex(pattern, std::regex::ECMAScript)).first;
  return std::regex_match(v.begin(), v.end(), it->second);
}

namespace {

bool ValidName(absl::string_view v) {
  if (v.empty()) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

bool ValidFqdnish(absl::string_view v) {
  if (v.empty() || v.size() > 253) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '@' || c == '#' || c == ':' || c == '=' || c == ',' ||
           c == '+' || c == '/';
  });
}

struct Service {
  const char* name;
  int port;
};
constexpr Service kServices[] = {
    {"ftp-data", 20},  {"ftp", 21},      {"ssh", 22},           {"telnet", 23},     {"smtp", 25},
    {"domain", 53},    {"dns", 53},      {"bootps", 67},        {"bootpc", 68},     {"tftp", 69},
    {"http", 80},      {"ntp", 123},     {"snmp", 161},         {"snmp-trap", 162}, {"bgp", 179},
    {"ldap", 389},     {"https", 443},   {"isakmp", 500},       {"syslog", 514},    {"ldaps", 636},
    {"openvpn", 1194}, {"radius", 1812}, {"ipsec-nat-t", 4500}, {"bfd", 3784},
};

struct Protocol {
  const char* name;
  int number;
};
constexpr Protocol kProtocols[] = {
    {"all", -2},    {"tcp_udp", -2}, {"icmp", 1},  {"igmp", 2},   {"ipip", 4},   {"tcp", 6},
    {"udp", 17},    {"ipv6", 41},    {"gre", 47},  {"esp", 50},   {"ah", 51},    {"ipv6-icmp", 58},
    {"icmpv6", 58}, {"ospf", 89},    {"pim", 103}, {"vrrp", 112}, {"l2tp", 115}, {"sctp", 132},
};

bool ParseU64(absl::string_view v, uint64_t* out) {
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && p == v.data() + v.size();
}

bool ValidPortItem(absl::string_view item) {
  if (ServicePort(item) >= 0) return true;
  std::vector<absl::string_view> range = absl::StrSplit(item, '-');
  if (range.size() > 2) return false;
  uint64_t a = 0, b = 0;
  if (!ParseU64(range[0], &a) || a < 1 || a > 65535) return false;
  if (range.size() == 2) {
    if (!ParseU64(range[1], &b) || b < a || b > 65535) return false;
  }
  return true;
}

}  // namespace

int ServicePort(absl::string_view name) {
  for (const auto& s : kServices)
    if (name == s.name) return s.port;
  return -1;
}

bool IsFwGroupName(absl::string_view v) {
  return MatchesPattern("[A-Za-z][-_A-Za-z0-9.]{0,31}", v) && !IpAddress::Parse(v);
}

int ProtocolNumber(absl::string_view name) {
  for (const auto& p : kProtocols)
    if (name == p.name) return p.number;
  return -1;
}

std::string ValueSpec::Describe() const {
  switch (kind) {
    case ValueKind::kNone:
      return "";
    case ValueKind::kNumber:
      return absl::StrCat(lo, "..", hi);
    case ValueKind::kDecimal: {
      return absl::StrFormat("%.1f..%.1f", dlo, dhi);
    }
    case ValueKind::kEnum:
      return absl::StrJoin(choices, "|");
    case ValueKind::kIpAddr:
      return "an IPv4 or IPv6 address";
    case ValueKind::kIpv4Addr:
      return "an IPv4 address";
    case ValueKind::kIpAddrOrAny:
      return "an IP address or 'any'";
    case ValueKind::kIpPrefix:
      return "a network prefix such as 10.1.0.0/24";
    case ValueKind::kIpv4Prefix:
      return "an IPv4 network prefix such as 10.1.0.0/24";
    case ValueKind::kIfAddress:
      return "an address with prefix length (10.1.0.1/24), or dhcp";
    case ValueKind::kName:
      return "a name of letters, digits and -_.";
    case ValueKind::kText:
      return "text";
    case ValueKind::kIdentity:
      return "an address, FQDN, @FQDN, user@FQDN or @#hex key id";
    case ValueKind::kPeerKey:
      return "a peer address, 'any', @id or a peer name";
    case ValueKind::kPattern:
      return pattern_help;
    case ValueKind::kPort:
      return "a port (1..65535), a range a-b, a service name, or a list";
    case ValueKind::kProtocol:
      return "a protocol name (tcp, udp, icmp, esp, ...) or 0..255";
    case ValueKind::kMac:
      return "a MAC address aa:bb:cc:dd:ee:ff";
    case ValueKind::kFwAddress:
      return "an address, prefix, range a-b or address-group, optionally negated with '!'";
    case ValueKind::kFwPort:
      return "ports (1..65535), ranges a-b, service names or a port-group, comma separated, "
             "optionally negated with '!'";
    case ValueKind::kFwProtocol:
      return "a protocol name (tcp, udp, icmp, esp, ...) or 0..255, optionally negated with '!'";
    case ValueKind::kIpAddrOrPrefix:
      return "an address, optionally with a prefix length";
  }
  return "";
}

std::string CheckValue(const ValueSpec& spec, absl::string_view v) {
  auto bad = [&](absl::string_view why) { return absl::StrCat("invalid value '", v, "': ", why); };
  switch (spec.kind) {
    case ValueKind::kNone:
      return absl::StrCat("takes no value (got '", v, "')");
    case ValueKind::kNumber: {
      uint64_t n = 0;
      if (!ParseU64(v, &n)) return bad(absl::StrCat("expected a number in ", spec.Describe()));
      if (n < spec.lo || n > spec.hi)
        return absl::StrCat("value '", v, "' out of range ", spec.Describe());
      return "";
    }
    case ValueKind::kDecimal: {
      double d = 0;
      bool digits_only = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '.';
      });
      if (!digits_only || !absl::SimpleAtod(v, &d))
        return bad(absl::StrCat("expected a decimal number in ", spec.Describe()));
      if (d < spec.dlo || d > spec.dhi)
        return absl::StrCat("value '", v, "' out of range ", spec.Describe());
      return "";
    }
    case ValueKind::kEnum: {
      for (const auto& c : spec.choices)
        if (v == c) return "";
      std::string hint = Suggest(v, spec.choices);
      return absl::StrCat("invalid value '", v, "': expected ", spec.Describe(),
                          hint.empty() ? "" : absl::StrCat(" (did you mean '", hint, "'?)"));
    }
    case ValueKind::kIpAddr:
      return IpAddress::Parse(v) ? "" : bad(spec.Describe());
    case ValueKind::kIpv4Addr: {
      auto a = IpAddress::Parse(v);
      return a && a->is_v4() ? "" : bad(spec.Describe());
    }
    case ValueKind::kIpAddrOrAny:
      return v == "any" || IpAddress::Parse(v) ? "" : bad(spec.Describe());
    case ValueKind::kIpPrefix:
    case ValueKind::kIpv4Prefix: {
      auto p = IpPrefix::Parse(v);
      if (!p || (spec.kind == ValueKind::kIpv4Prefix && !p->address.is_v4()))
        return bad(spec.Describe());
      if (p->HasHostBits())
        return absl::StrCat("'", v, "' is not a network prefix (did you mean '",
                            p->Network().ToString(), "'?)");
      return "";
    }
    case ValueKind::kIfAddress: {
      if (v == "dhcp" || v == "dhcpv6") return "";
      auto p = IpPrefix::Parse(v);
      if (!p) return bad(spec.Describe());
      return "";
    }
    case ValueKind::kName:
      return ValidName(v) ? "" : bad(spec.Describe());
    case ValueKind::kText:
      return v.empty() ? bad("empty") : "";
    case ValueKind::kIdentity:
      return ValidFqdnish(v) ? "" : bad(spec.Describe());
    case ValueKind::kPeerKey:
      if (v == "any" || IpAddress::Parse(v)) return "";
      if (v.size() > 1 && v[0] == '@' && ValidFqdnish(v.substr(1))) return "";
      return ValidName(v) ? "" : bad(spec.Describe());
    case ValueKind::kPattern:
      if (MatchesPattern(spec.pattern, v)) return "";
      if (!spec.pattern_error.empty())
        return absl::StrCat("invalid value '", v, "': ", spec.pattern_error);
      return bad(absl::StrCat("expected ", spec.pattern_help));
    case ValueKind::kPort: {
      for (absl::string_view item : absl::StrSplit(v, ','))
        if (!ValidPortItem(item)) return bad(spec.Describe());
      return "";
    }
    case ValueKind::kProtocol: {
      if (ProtocolNumber(v) != -1) return "";
      uint64_t n = 0;
      if (ParseU64(v, &n) && n <= 255) return "";
      std::vector<std::string> names;
      for (const auto& p : kProtocols) names.push_back(p.name);
      std::string hint = Suggest(v, names);
      return bad(absl::StrCat(spec.Describe(),
                              hint.empty() ? "" : absl::StrCat(" (did you mean '", hint, "'?)")));
    }
    case ValueKind::kMac:
      return MatchesPattern("([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", v) ? "" : bad(spec.Describe());
    case ValueKind::kFwProtocol: {
      absl::string_view p = v.substr(!v.empty() && v[0] == '!' ? 1 : 0);
      if (ProtocolNumber(p) != -1) return "";
      uint64_t n = 0;
      if (ParseU64(p, &n) && n <= 255) return "";
      return bad(spec.Describe());
    }
    case ValueKind::kFwPort: {
      absl::string_view p = v.substr(!v.empty() && v[0] == '!' ? 1 : 0);
      if (IsFwGroupName(p) && ServicePort(p) < 0) return "";  // a port-group (commit checks)
      for (absl::string_view item : absl::StrSplit(p, ','))
        if (!ValidPortItem(item)) return bad(spec.Describe());
      return "";
    }
    case ValueKind::kFwAddress: {
      absl::string_view a = v.substr(!v.empty() && v[0] == '!' ? 1 : 0);
      if (IpAddress::Parse(a)) return "";
      if (IsFwGroupName(a)) return "";  // an address-group (the commit checks it exists)
      if (size_t dash = a.find('-'); dash != absl::string_view::npos) {
        auto lo = IpAddress::Parse(a.substr(0, dash));
        auto hi = IpAddress::Parse(a.substr(dash + 1));
        if (!lo || !hi || lo->family != hi->family) return bad(spec.Describe());
        if (lo->bytes > hi->bytes)
          return absl::StrCat("invalid value '", v,
                              "': the range's first address is above its last");
        return "";
      }
      auto p = IpPrefix::Parse(a);
      if (!p) return bad(spec.Describe());
      if (p->HasHostBits())
        return absl::StrCat("'", a, "' is not a network prefix (did you mean '",
                            p->Network().ToString(), "'?)");
      return "";
    }
    case ValueKind::kIpAddrOrPrefix:
      return IpAddress::Parse(v) || IpPrefix::Parse(v) ? "" : bad(spec.Describe());
  }
  return "";
}

ValueSpec Range(uint64_t lo, uint64_t hi) {
  ValueSpec s;
  s.kind = ValueKind::kNumber;
  s.lo = lo;
  s.hi = hi;
  return s;
}

ValueSpec Decimal(double lo, double hi) {
  ValueSpec s;
  s.kind = ValueKind::kDecimal;
  s.dlo = lo;
  s.dhi = hi;
  return s;
}

ValueSpec Enum(std::vector<std::string> choices) {
  ValueSpec s;
  s.kind = ValueKind::kEnum;
  s.choices = std::move(choices);
  return s;
}

ValueSpec Kind(ValueKind k) {
  ValueSpec s;
  s.kind = k;
  return s;
}

ValueSpec Pattern(std::string pattern, std::string help, std::string error) {
  ValueSpec s;
  s.kind = ValueKind::kPattern;
  s.pattern = std::move(pattern);
  s.pattern_help = std::move(help);
  s.pattern_error = std::move(error);
  return s;
}

static size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Suggest(absl::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 3;
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    // A short word is easily "close" to anything: demand a closer match.
    size_t limit = word.size() <= 3 ? 1 : 2;
    if (d <= limit && d < best_d) {
      best = c;
      best_d = d;
    }
  }
  if (best.empty() && word.size() >= 3) {
    for (const auto& c : candidates)
      if (absl::StartsWith(c, word)) return c;
  }
  return best;
}

}  // namespace portcullis::config
