#include "dataplane/api/message_validation.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "dataplane/api/message_names.h"

namespace portcullis::dp::api {
namespace {

bool AllZero(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

int AddressWidth(Family f) {
  if (f == Family::kIpv4) return 4;
  if (f == Family::kIpv6) return 16;
  return 0;
}

bool HasHostBits(const IpAddr& a, int width, int prefix_length) {
  for (int i = 0; i < width; ++i) {
    int bit = i * 8;
    uint8_t host_mask = bit >= prefix_length ? 0xff
                        : bit + 8 <= prefix_length
                            ? 0x00
                            : static_cast<uint8_t>(0xff >> (prefix_length - bit));
    if (a.bytes[i] & host_mask) return true;
  }
  return false;
}

// Accumulates the first failure; every check returns false once one failed so validators can
// be written as a chain of early returns.
class Check {
 public:
  explicit Check(Rejection& r) : r_(r) {}

  template <typename... Args>
  bool Fail(RejectReason reason, const absl::FormatSpec<Args...>& format, const Args&... args) {
    r_.reason = reason;
    absl::SNPrintF(r_.detail, sizeof r_.detail, format, args...);
    return false;
  }

  // A family value, and an address that is canonical for it (unused bytes zero).
  bool Address(Family family, const IpAddr& a, absl::string_view what) {
    int width = AddressWidth(family);
    if (width == 0) {
      return Fail(RejectReason::kBadValue, "%s: family %d is neither 4 nor 6", what,
                  static_cast<int>(family));
    }
    if (!AllZero(a.bytes + width, sizeof a.bytes - width)) {
      return Fail(RejectReason::kNonZeroReserved, "%s: bytes past the IPv4 address are not zero",
                  what);
    }
    return true;
  }

  bool NonZeroAddress(Family family, const IpAddr& a, absl::string_view what) {
    if (!Address(family, a, what)) return false;
    if (AllZero(a.bytes, sizeof a.bytes)) {
      return Fail(RejectReason::kBadValue, "%s: address is unspecified (all zero)", what);
    }
    return true;
  }

  // A prefix: length within the family, and (for routes and selectors) no host bits.
  bool Prefix(Family family, const IpAddr& a, int length, bool allow_host_bits, int min_length,
              absl::string_view what) {
    if (!Address(family, a, what)) return false;
    int max = AddressWidth(family) * 8;
    if (length > max || length < min_length) {
      return Fail(RejectReason::kBadPrefixLength, "%s: prefix length %d outside %d..%d", what,
                  length, min_length, max);
    }
    if (!allow_host_bits && HasHostBits(a, AddressWidth(family), length)) {
      return Fail(RejectReason::kBadValue, "%s: host bits set past /%d", what, length);
    }
    return true;
  }

  bool Flag(uint8_t v, absl::string_view what) {
    if (v > 1) return Fail(RejectReason::kBadValue, "%s must be 0 or 1, not %d", what, v);
    return true;
  }

  template <typename E>
  bool InRange(E v, E lo, E hi, absl::string_view what) {
    if (v < lo || v > hi) {
      return Fail(RejectReason::kBadValue, "%s value %d is not defined", what, static_cast<int>(v));
    }
    return true;
  }

 private:
  Rejection& r_;
};

// The bond fields: a port may name its bond, a bond must say how it bonds, nothing else sets
// them.
bool ValidateBondFields(const InterfaceBody& b, Check& c) {
  if (!AllZero(b.reserved, sizeof b.reserved))
    return c.Fail(RejectReason::kNonZeroReserved, "interface %d: reserved bytes", b.ifindex);
  const bool is_bond = b.kind == InterfaceKind::kBond;
  if (b.bond_ifindex != 0 && (b.kind != InterfaceKind::kPort || b.bond_ifindex == b.ifindex))
    return c.Fail(RejectReason::kBadValue, "interface %d: only a port can be a bond member",
                  b.ifindex);
  if (!is_bond) {
    if (b.primary_ifindex != 0 || static_cast<uint8_t>(b.bond_mode) != 0 ||
        static_cast<uint8_t>(b.bond_hash) != 0 || b.lacp_fast != 0 || b.min_links != 0)
      return c.Fail(RejectReason::kBadValue, "interface %d: bond options on a non-bond", b.ifindex);
    return true;
  }
  if (!c.InRange(b.bond_mode, BondMode::kLacp, BondMode::kBalanced, "bond mode") ||
      !c.Flag(b.lacp_fast, "bond lacp_fast"))
    return false;
  const bool hashed = b.bond_mode != BondMode::kActiveBackup;
  if (hashed) {
    if (!c.InRange(b.bond_hash, BondHash::kLayer2, BondHash::kLayer34, "bond hash")) return false;
  } else if (static_cast<uint8_t>(b.bond_hash) != 0) {
    return c.Fail(RejectReason::kBadValue, "interface %d: active-backup has no transmit hash",
                  b.ifindex);
  }
  if (b.primary_ifindex != 0 && b.bond_mode != BondMode::kActiveBackup)
    return c.Fail(RejectReason::kBadValue, "interface %d: a primary is for active-backup",
                  b.ifindex);
  if (b.min_links > 1 && b.bond_mode != BondMode::kLacp)
    return c.Fail(RejectReason::kBadValue, "interface %d: minimum links on a non-LACP bond",
                  b.ifindex);
  if (b.lacp_fast && b.bond_mode != BondMode::kLacp)
    return c.Fail(RejectReason::kBadValue, "interface %d: lacp rate on a non-LACP bond", b.ifindex);
  return true;
}

bool ValidateInterface(const InterfaceBody& b, Op op, Check& c) {
  if (b.ifindex == 0) return c.Fail(RejectReason::kBadValue, "interface: ifindex 0");
  if (op == Op::kDelete) return true;
  const void* nul = memchr(b.name, '\0', sizeof b.name);
  if (nul == nullptr) {
    return c.Fail(RejectReason::kBadLength, "interface %d: name is not NUL-terminated", b.ifindex);
  }
  size_t len = static_cast<const char*>(nul) - b.name;
  if (len == 0) return c.Fail(RejectReason::kBadLength, "interface %d: empty name", b.ifindex);
  if (!AllZero(b.name + len, sizeof b.name - len)) {
    return c.Fail(RejectReason::kNonZeroReserved, "interface %d: bytes after the name's NUL",
                  b.ifindex);
  }
  if (!c.InRange(b.kind, InterfaceKind::kPort, InterfaceKind::kLoopback, "interface kind") ||
      !c.Flag(b.admin_up, "interface admin_up")) {
    return false;
  }
  if (b.mtu < 68 || b.mtu > 65535) {
    return c.Fail(RejectReason::kBadValue, "interface %d: mtu %d outside 68..65535", b.ifindex,
                  b.mtu);
  }
  const bool has_port = b.kind == InterfaceKind::kPort || b.kind == InterfaceKind::kBond;
  const bool is_vif = b.kind == InterfaceKind::kVif;
  if (!has_port && b.dpdk_port != 0) {
    return c.Fail(RejectReason::kBadValue, "interface %d: dpdk_port set on a non-port", b.ifindex);
  }
  if (is_vif != (b.parent_ifindex != 0)) {
    return c.Fail(RejectReason::kBadValue, "interface %d: a vif needs a parent, others none",
                  b.ifindex);
  }
  if (is_vif ? (b.vlan < 1 || b.vlan > 4094) : b.vlan != 0) {
    return c.Fail(RejectReason::kBadValue, "interface %d: vlan %d (vif: 1..4094, others: 0)",
                  b.ifindex, b.vlan);
  }
  return ValidateBondFields(b, c);
}

bool ValidateAddress(const AddressBody& b, Check& c) {
  if (b.ifindex == 0) return c.Fail(RejectReason::kBadValue, "address: ifindex 0");
  if (!AllZero(b.reserved, sizeof b.reserved)) {
    return c.Fail(RejectReason::kNonZeroReserved, "address: reserved bytes");
  }
  return c.Prefix(b.family, b.address, b.prefix_length, /*allow_host_bits=*/true, 1, "address") &&
         c.NonZeroAddress(b.family, b.address, "address");
}

bool ValidateRoute(const RouteBody& b, Check& c) {
  if (!c.Prefix(b.family, b.prefix, b.prefix_length, /*allow_host_bits=*/false, 0, "route") ||
      !c.Address(b.family, b.next_hop, "route next hop") ||
      !c.InRange(b.type, RouteType::kGateway, RouteType::kBlackhole, "route type")) {
    return false;
  }
  if (b.distance == 0) return c.Fail(RejectReason::kBadValue, "route: distance 0 (1..255)");
  const bool has_gateway = !AllZero(b.next_hop.bytes, sizeof b.next_hop.bytes);
  switch (b.type) {
    case RouteType::kGateway:
      if (!has_gateway) return c.Fail(RejectReason::kBadValue, "route: gateway route, no next hop");
      break;
    case RouteType::kInterface:
      if (b.out_ifindex == 0 || has_gateway) {
        return c.Fail(RejectReason::kBadValue, "route: interface route needs only out_ifindex");
      }
      break;
    case RouteType::kBlackhole:
      if (b.out_ifindex != 0 || has_gateway) {
        return c.Fail(RejectReason::kBadValue, "route: blackhole with a next hop or interface");
      }
      break;
  }
  return true;
}

bool ValidateSa(const SaBody& b, Op op, Check& c) {
  if (b.spi < 256) {
    return c.Fail(RejectReason::kBadValue, "sa: spi %d is reserved (must be >= 256)", b.spi);
  }
  if (!c.InRange(b.direction, Direction::kIn, Direction::kOut, "sa direction")) return false;
  if (op == Op::kDelete) return true;

  if (!c.InRange(b.mode, SaMode::kTunnel, SaMode::kTransport, "sa mode") ||
      !c.NonZeroAddress(b.outer_family, b.local, "sa local") ||
      !c.NonZeroAddress(b.outer_family, b.remote, "sa remote") ||
      !c.Flag(b.udp_encap, "sa udp_encap") || !c.Flag(b.esn, "sa esn") ||
      !c.InRange(b.cipher, Cipher::kNull, Cipher::kAesCbc256, "sa cipher") ||
      !c.InRange(b.auth, Auth::kNone, Auth::kHmacSha512_256, "sa auth") ||
      !c.InRange(b.df_mode, DfMode::kCopy, DfMode::kClear, "sa df mode") ||
      !c.InRange(b.dscp_mode, DscpMode::kCopy, DscpMode::kSet, "sa dscp mode")) {
    return false;
  }
  if (!AllZero(b.reserved1, sizeof b.reserved1)) {
    return c.Fail(RejectReason::kNonZeroReserved, "sa 0x%08x: reserved bytes", b.spi);
  }
  if (b.worker > kMaxSaGroupMembers) {
    return c.Fail(RejectReason::kBadValue, "sa 0x%08x: worker %d (0 = any, 1..%d)", b.spi, b.worker,
                  static_cast<int>(kMaxSaGroupMembers));
  }
  if (b.udp_encap ? (b.encap_src_port == 0 || b.encap_dst_port == 0)
                  : (b.encap_src_port != 0 || b.encap_dst_port != 0)) {
    return c.Fail(RejectReason::kBadValue, "sa 0x%08x: UDP ports must be set iff udp_encap", b.spi);
  }

  const bool gcm = b.cipher == Cipher::kAesGcm128 || b.cipher == Cipher::kAesGcm256;
  // RFC 4303 forbids neither confidentiality nor integrity, RFC 8221 forbids CBC without
  // integrity, and GCM carries its own.
  if (gcm != (b.auth == Auth::kNone)) {
    return c.Fail(RejectReason::kBadValue, "sa 0x%08x: %s cannot be combined with auth %s", b.spi,
                  CipherName(b.cipher), AuthName(b.auth));
  }
  if (b.enc_key_length != CipherKeyLength(b.cipher)) {
    return c.Fail(RejectReason::kBadKeyLength, "sa 0x%08x: %s needs a %d-byte key, got %d", b.spi,
                  CipherName(b.cipher), CipherKeyLength(b.cipher), b.enc_key_length);
  }
  if (b.auth_key_length != AuthKeyLength(b.auth)) {
    return c.Fail(RejectReason::kBadKeyLength, "sa 0x%08x: %s needs a %d-byte key, got %d", b.spi,
                  AuthName(b.auth), AuthKeyLength(b.auth), b.auth_key_length);
  }
  if (!AllZero(b.enc_key + b.enc_key_length, sizeof b.enc_key - b.enc_key_length) ||
      !AllZero(b.auth_key + b.auth_key_length, sizeof b.auth_key - b.auth_key_length) ||
      (!gcm && !AllZero(b.salt, sizeof b.salt))) {
    return c.Fail(RejectReason::kNonZeroReserved,
                  "sa 0x%08x: key or salt bytes past the algorithm's length", b.spi);
  }
  if (b.replay_window > kMaxReplayWindow) {
    return c.Fail(RejectReason::kBadReplayWindow, "sa 0x%08x: replay window %d > %d", b.spi,
                  b.replay_window, kMaxReplayWindow);
  }
  if ((b.soft_bytes && b.hard_bytes && b.soft_bytes > b.hard_bytes) ||
      (b.soft_packets && b.hard_packets && b.soft_packets > b.hard_packets)) {
    return c.Fail(RejectReason::kBadValue, "sa 0x%08x: soft lifetime beyond the hard one", b.spi);
  }
  if (b.dscp_mode == DscpMode::kSet ? b.dscp > 63 : b.dscp != 0) {
    return c.Fail(RejectReason::kBadValue, "sa 0x%08x: dscp %d (set: 0..63, copy: 0)", b.spi,
                  b.dscp);
  }
  return true;
}

bool ValidatePolicy(const PolicyBody& b, Check& c) {
  if (!c.InRange(b.direction, Direction::kIn, Direction::kOut, "policy direction") ||
      !c.InRange(b.action, PolicyAction::kProtect, PolicyAction::kDiscard, "policy action") ||
      !c.Prefix(b.family, b.src, b.src_prefix_length, false, 0, "policy source") ||
      !c.Prefix(b.family, b.dst, b.dst_prefix_length, false, 0, "policy destination")) {
    return false;
  }
  if (!AllZero(b.reserved, sizeof b.reserved)) {
    return c.Fail(RejectReason::kNonZeroReserved, "policy: reserved bytes");
  }
  if (b.src_port_low > b.src_port_high || b.dst_port_low > b.dst_port_high) {
    return c.Fail(RejectReason::kBadValue, "policy: port range low > high");
  }
  const bool protect = b.action == PolicyAction::kProtect;
  if (protect && b.reqid == 0) {
    return c.Fail(RejectReason::kBadValue, "policy: protect without a reqid");
  }
  if (b.out_spi != 0 && (!protect || b.direction != Direction::kOut || b.out_spi < 256)) {
    return c.Fail(RejectReason::kBadValue,
                  "policy: out_spi %d only on an outbound protect policy, >= 256", b.out_spi);
  }
  return true;
}

bool ValidateVtiBinding(const VtiBindingBody& b, Op op, Check& c) {
  if (b.vti_ifindex == 0) return c.Fail(RejectReason::kBadValue, "vti-binding: ifindex 0");
  if (op != Op::kDelete && b.out_spi < 256) {
    return c.Fail(RejectReason::kBadValue, "vti-binding %d: out_spi %d < 256", b.vti_ifindex,
                  b.out_spi);
  }
  for (size_t w = 0; w < kMaxSaGroupMembers && op != Op::kDelete; ++w) {
    if (b.member_spi[w] != 0 && b.member_spi[w] < 256) {
      return c.Fail(RejectReason::kBadValue, "vti-binding %d: worker %d's member SPI %d < 256",
                    b.vti_ifindex, static_cast<int>(w), b.member_spi[w]);
    }
  }
  return true;
}

bool ValidateNeighbor(const NeighborBody& b, Check& c) {
  if (b.ifindex == 0) return c.Fail(RejectReason::kBadValue, "neighbor: ifindex 0");
  if (!AllZero(b.reserved0, sizeof b.reserved0) || !AllZero(b.reserved1, sizeof b.reserved1)) {
    return c.Fail(RejectReason::kNonZeroReserved, "neighbor: reserved bytes");
  }
  if (b.family != Family::kIpv4 && b.family != Family::kIpv6) {
    return c.Fail(RejectReason::kBadValue, "neighbor: family %d", static_cast<int>(b.family));
  }
  if (AllZero(b.mac, sizeof b.mac) || (b.mac[0] & 1)) {
    return c.Fail(RejectReason::kBadValue, "neighbor: zero or multicast MAC");
  }
  return c.NonZeroAddress(b.family, b.address, "neighbor");
}

bool ValidateVrrpGroup(const VrrpGroupBody& b, Op op, Check& c) {
  if (b.ifindex == 0) return c.Fail(RejectReason::kBadValue, "vrrp-group: ifindex 0");
  if (b.vrid == 0) return c.Fail(RejectReason::kBadValue, "vrrp-group: VRID 0");
  if (b.reserved != 0) return c.Fail(RejectReason::kNonZeroReserved, "vrrp-group: reserved byte");
  if (op == Op::kDelete) return true;
  if (b.priority == 0) return c.Fail(RejectReason::kBadValue, "vrrp-group %d: priority 0", b.vrid);
  if (b.version != 2 && b.version != 3)
    return c.Fail(RejectReason::kBadValue, "vrrp-group %d: version %d", b.vrid, b.version);
  if (b.preempt > 1) return c.Fail(RejectReason::kBadValue, "vrrp-group %d: preempt", b.vrid);
  // Version 3 carries 12 bits of centiseconds, version 2 eight bits of seconds.
  if (b.advert_interval_cs == 0 || (b.version == 3 && b.advert_interval_cs > 4095) ||
      (b.version == 2 && (b.advert_interval_cs % 100 != 0 || b.advert_interval_cs > 25500)))
    return c.Fail(RejectReason::kBadValue, "vrrp-group %d: advertisement interval %d cs", b.vrid,
                  b.advert_interval_cs);
  if (b.preempt_delay_s > 1000 || b.start_delay_s > 600)
    return c.Fail(RejectReason::kBadValue, "vrrp-group %d: preempt or start delay", b.vrid);
  if (b.naddrs == 0 || b.naddrs > kMaxVrrpAddresses)
    return c.Fail(RejectReason::kBadLength, "vrrp-group %d: %d addresses", b.vrid, b.naddrs);
  for (size_t i = 0; i < kMaxVrrpAddresses; ++i) {
    const bool zero = AllZero(b.addrs[i], 4);
    if (i < b.naddrs && zero)
      return c.Fail(RejectReason::kBadValue, "vrrp-group %d: address 0.0.0.0", b.vrid);
    if (i >= b.naddrs && !zero)
      return c.Fail(RejectReason::kNonZeroReserved, "vrrp-group %d: bytes past the addresses",
                    b.vrid);
  }
  return true;
}

bool ValidateFlush(const FlushBody& b, Check& c) {
  if (b.scope == 0 || (b.scope & ~kFlushAll) != 0) {
    return c.Fail(RejectReason::kBadValue, "flush: scope 0x%x (known bits 0x%x, at least one)",
                  b.scope, kFlushAll);
  }
  return true;
}

// A NUL-terminated, NUL-padded name of at least one character.
bool Name(const char* name, size_t size, absl::string_view what, uint32_t id, Check& c) {
  const void* nul = memchr(name, '\0', size);
  if (nul == nullptr)
    return c.Fail(RejectReason::kBadLength, "%s %d: name is not NUL-terminated", what, id);
  size_t len = static_cast<const char*>(nul) - name;
  if (len == 0) return c.Fail(RejectReason::kBadLength, "%s %d: empty name", what, id);
  if (!AllZero(name + len, size - len))
    return c.Fail(RejectReason::kNonZeroReserved, "%s %d: bytes after the name's NUL", what, id);
  return true;
}

bool FwActionOk(FwAction a, absl::string_view what, Check& c) {
  return c.InRange(a, FwAction::kAccept, FwAction::kReject, what);
}

bool ValidateFwRuleset(const FwRulesetBody& b, Op op, Check& c) {
  if (b.ruleset_id == 0) return c.Fail(RejectReason::kBadValue, "fw-ruleset: id 0");
  if (op == Op::kDelete) return true;
  if (b.family != 0 && b.family != 4 && b.family != 6)
    return c.Fail(RejectReason::kBadValue, "fw-ruleset %d: family %d is not 0, 4 or 6",
                  b.ruleset_id, b.family);
  return Name(b.name, sizeof b.name, "fw-ruleset", b.ruleset_id, c) &&
         FwActionOk(b.default_action, "fw-ruleset default action", c) &&
         c.Flag(b.default_log, "fw-ruleset default_log") &&
         c.Flag(b.default_implicit, "fw-ruleset default_implicit");
}

bool ValidateFwRule(const FwRuleBody& b, Check& c) {
  if (b.ruleset_id == 0) return c.Fail(RejectReason::kBadValue, "fw-rule: ruleset id 0");
  if (b.rule_number < 1 || b.rule_number > kFwMaxRuleNumber)
    return c.Fail(RejectReason::kBadValue, "fw-rule: rule number %d outside 1..%d", b.rule_number,
                  kFwMaxRuleNumber);
  if (!AllZero(b.reserved, sizeof b.reserved))
    return c.Fail(RejectReason::kNonZeroReserved, "fw-rule %d: reserved bytes", b.rule_number);
  if (!FwActionOk(b.action, "fw-rule action", c) || !c.Flag(b.log, "fw-rule log")) return false;
  constexpr uint8_t kAllStates =
      kFwStateNew | kFwStateEstablished | kFwStateRelated | kFwStateInvalid;
  if (b.state & ~kAllStates)
    return c.Fail(RejectReason::kBadValue, "fw-rule %d: state bits 0x%x (known 0x%x)",
                  b.rule_number, b.state, kAllStates);
  if (!c.Address(b.family, b.src_low, "fw-rule source") ||
      !c.Address(b.family, b.src_high, "fw-rule source") ||
      !c.Address(b.family, b.dst_low, "fw-rule destination") ||
      !c.Address(b.family, b.dst_high, "fw-rule destination"))
    return false;
  // Addresses compare as big-endian numbers.
  const size_t width = b.family == Family::kIpv4 ? 4 : 16;
  if (memcmp(b.src_low.bytes, b.src_high.bytes, width) > 0 ||
      memcmp(b.dst_low.bytes, b.dst_high.bytes, width) > 0)
    return c.Fail(RejectReason::kBadValue, "fw-rule %d: address range low > high", b.rule_number);
  if (b.proto_low > b.proto_high)
    return c.Fail(RejectReason::kBadValue, "fw-rule %d: protocol range %d-%d", b.rule_number,
                  b.proto_low, b.proto_high);
  if (b.src_port_low > b.src_port_high || b.dst_port_low > b.dst_port_high)
    return c.Fail(RejectReason::kBadValue, "fw-rule %d: port range low > high", b.rule_number);
  if (b.icmp_type_low > b.icmp_type_high || b.icmp_code_low > b.icmp_code_high)
    return c.Fail(RejectReason::kBadValue, "fw-rule %d: icmp range low > high", b.rule_number);
  const bool single = b.proto_low == b.proto_high;
  const bool icmp = single && b.proto_low == (b.family == Family::kIpv4 ? 1 : 58);
  const bool ports = single && (b.proto_low == 6 || b.proto_low == 17 || b.proto_low == 132);
  // With protocol 1 alone, 0-0/0-0 is a real match (echo reply); other protocols carry zeros.
  const bool zero_icmp = b.icmp_type_low == 0 && b.icmp_type_high == 0 && b.icmp_code_low == 0 &&
                         b.icmp_code_high == 0;
  if (!icmp && !zero_icmp)
    return c.Fail(RejectReason::kBadValue,
                  "fw-rule %d: ICMP type/code need protocol 1 (IPv6: 58) alone (zero otherwise)",
                  b.rule_number);
  const bool any_ports = b.src_port_low == 0 && b.src_port_high == 65535 && b.dst_port_low == 0 &&
                         b.dst_port_high == 65535;
  if (!ports && !any_ports)
    return c.Fail(RejectReason::kBadValue,
                  "fw-rule %d: ports need a single protocol with ports (tcp, udp, sctp)",
                  b.rule_number);
  return true;
}

bool FwHookOk(FwHook h, Check& c) {
  return c.InRange(h, FwHook::kIn, FwHook::kLocal, "fw hook");
}

bool ValidateFwBinding(const FwBindingBody& b, Check& c) {
  if (b.ifindex == 0 || b.ruleset_id == 0)
    return c.Fail(RejectReason::kBadValue, "fw-binding: ifindex or ruleset id 0");
  if (!FwHookOk(b.hook, c)) return false;
  if (b.position > 7)
    return c.Fail(RejectReason::kBadValue, "fw-binding: position %d outside 0..7", b.position);
  if (!AllZero(b.reserved, sizeof b.reserved))
    return c.Fail(RejectReason::kNonZeroReserved, "fw-binding: reserved bytes");
  return true;
}

bool ValidateFwZone(const FwZoneBody& b, Op op, Check& c) {
  if (b.zone_id == 0) return c.Fail(RejectReason::kBadValue, "fw-zone: id 0");
  if (op == Op::kDelete) return true;
  if (!AllZero(b.reserved, sizeof b.reserved))
    return c.Fail(RejectReason::kNonZeroReserved, "fw-zone %d: reserved bytes", b.zone_id);
  return Name(b.name, sizeof b.name, "fw-zone", b.zone_id, c) &&
         FwActionOk(b.default_action, "fw-zone default action", c) &&
         c.Flag(b.local, "fw-zone local");
}

bool ValidateFwZoneInterface(const FwZoneInterfaceBody& b, Check& c) {
  if (b.ifindex == 0 || b.zone_id == 0)
    return c.Fail(RejectReason::kBadValue, "fw-zone-interface: ifindex or zone id 0");
  return true;
}

bool ValidateFwZonePolicy(const FwZonePolicyBody& b, Check& c) {
  if (b.from_zone == 0 || b.to_zone == 0 || b.ruleset_id == 0)
    return c.Fail(RejectReason::kBadValue, "fw-zone-policy: zone or ruleset id 0");
  if (b.from_zone == b.to_zone)
    return c.Fail(RejectReason::kBadValue, "fw-zone-policy: zone %d to itself", b.from_zone);
  if (b.position > 7)
    return c.Fail(RejectReason::kBadValue, "fw-zone-policy: position %d outside 0..7", b.position);
  if (!AllZero(b.reserved, sizeof b.reserved))
    return c.Fail(RejectReason::kNonZeroReserved, "fw-zone-policy: reserved bytes");
  return true;
}

bool ValidateFwGlobal(const FwGlobalBody& b, Check& c) {
  if (b.reserved != 0) return c.Fail(RejectReason::kNonZeroReserved, "fw-global: reserved byte");
  return c.Flag(b.state_tcp, "fw-global state_tcp") && c.Flag(b.state_udp, "fw-global state_udp") &&
         c.Flag(b.state_icmp, "fw-global state_icmp");
}

// Which operations each kind accepts, and how much of the body it uses.
bool KindAndOp(const MessageHeader& h, size_t* body_size, Check& c) {
  auto ops = [&](bool add, bool update, bool del) {
    bool ok = (h.op == Op::kAdd && add) || (h.op == Op::kUpdate && update) ||
              (h.op == Op::kDelete && del);
    if (ok) return true;
    return c.Fail(RejectReason::kUnknownOp, "%s: operation %d is not accepted", KindName(h.kind),
                  static_cast<int>(h.op));
  };
  switch (h.kind) {
    case MessageKind::kInterface:
      *body_size = sizeof(InterfaceBody);
      return ops(true, true, true);
    case MessageKind::kAddress:
      *body_size = sizeof(AddressBody);
      return ops(true, false, true);
    case MessageKind::kRoute:
      *body_size = sizeof(RouteBody);
      return ops(true, true, true);
    case MessageKind::kSa:
      *body_size = sizeof(SaBody);
      return ops(true, true, true);
    case MessageKind::kPolicy:
      *body_size = sizeof(PolicyBody);
      return ops(true, true, true);
    case MessageKind::kVtiBinding:
      *body_size = sizeof(VtiBindingBody);
      return ops(true, true, true);
    case MessageKind::kFlush:
      *body_size = sizeof(FlushBody);
      return ops(false, false, true);
    case MessageKind::kNeighbor:
      *body_size = sizeof(NeighborBody);
      return ops(true, false, true);
    case MessageKind::kFwRuleset:
      *body_size = sizeof(FwRulesetBody);
      return ops(true, true, true);
    case MessageKind::kFwRule:
      *body_size = sizeof(FwRuleBody);
      return ops(true, false, true);
    case MessageKind::kFwBinding:
      *body_size = sizeof(FwBindingBody);
      return ops(true, false, true);
    case MessageKind::kFwZone:
      *body_size = sizeof(FwZoneBody);
      return ops(true, true, true);
    case MessageKind::kFwZoneInterface:
      *body_size = sizeof(FwZoneInterfaceBody);
      return ops(true, false, true);
    case MessageKind::kFwZonePolicy:
      *body_size = sizeof(FwZonePolicyBody);
      return ops(true, false, true);
    case MessageKind::kFwGlobal:
      *body_size = sizeof(FwGlobalBody);
      return ops(false, true, false);
    case MessageKind::kVrrpGroup:
      *body_size = sizeof(VrrpGroupBody);
      return ops(true, true, true);
  }
  return c.Fail(RejectReason::kUnknownKind, "message kind %d is not defined",
                static_cast<int>(h.kind));
}

}  // namespace

int CipherKeyLength(Cipher cipher) {
  switch (cipher) {
    case Cipher::kNull:
      return 0;
    case Cipher::kAesGcm128:
    case Cipher::kAesCbc128:
      return 16;
    case Cipher::kAesGcm256:
    case Cipher::kAesCbc256:
      return 32;
  }
  return -1;
}

int AuthKeyLength(Auth auth) {
  switch (auth) {
    case Auth::kNone:
      return 0;
    case Auth::kHmacSha1_96:
      return 20;
    case Auth::kHmacSha256_128:
      return 32;
    case Auth::kHmacSha384_192:
      return 48;
    case Auth::kHmacSha512_256:
      return 64;
  }
  return -1;
}

Rejection ValidateMessage(const Message& m) {
  Rejection r;
  Check c(r);
  const MessageHeader& h = m.header;
  size_t body_size = 0;
  if (!KindAndOp(h, &body_size, c)) return r;
  if ((h.flags & ~kLastInBatch) != 0 || !AllZero(h.reserved, sizeof h.reserved)) {
    c.Fail(RejectReason::kNonZeroReserved, "%s: reserved header flags or bytes", KindName(h.kind));
    return r;
  }
  if (!AllZero(m.body.raw + body_size, kMessageBodySize - body_size)) {
    c.Fail(RejectReason::kNonZeroReserved, "%s: bytes past the %d-byte body are not zero",
           KindName(h.kind), body_size);
    return r;
  }
  switch (h.kind) {
    case MessageKind::kInterface:
      ValidateInterface(m.body.interface, h.op, c);
      break;
    case MessageKind::kAddress:
      ValidateAddress(m.body.address, c);
      break;
    case MessageKind::kRoute:
      ValidateRoute(m.body.route, c);
      break;
    case MessageKind::kSa:
      ValidateSa(m.body.sa, h.op, c);
      break;
    case MessageKind::kPolicy:
      ValidatePolicy(m.body.policy, c);
      break;
    case MessageKind::kVtiBinding:
      ValidateVtiBinding(m.body.vti_binding, h.op, c);
      break;
    case MessageKind::kFlush:
      ValidateFlush(m.body.flush, c);
      break;
    case MessageKind::kNeighbor:
      ValidateNeighbor(m.body.neighbor, c);
      break;
    case MessageKind::kFwRuleset:
      ValidateFwRuleset(m.body.fw_ruleset, h.op, c);
      break;
    case MessageKind::kFwRule:
      ValidateFwRule(m.body.fw_rule, c);
      break;
    case MessageKind::kFwBinding:
      ValidateFwBinding(m.body.fw_binding, c);
      break;
    case MessageKind::kFwZone:
      ValidateFwZone(m.body.fw_zone, h.op, c);
      break;
    case MessageKind::kFwZoneInterface:
      ValidateFwZoneInterface(m.body.fw_zone_interface, c);
      break;
    case MessageKind::kFwZonePolicy:
      ValidateFwZonePolicy(m.body.fw_zone_policy, c);
      break;
    case MessageKind::kFwGlobal:
      ValidateFwGlobal(m.body.fw_global, c);
      break;
    case MessageKind::kVrrpGroup:
      ValidateVrrpGroup(m.body.vrrp_group, h.op, c);
      break;
  }
  return r;
}

}  // namespace portcullis::dp::api
