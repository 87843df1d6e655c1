#include "dataplane/dpctl/command_parser.h"

#include <arpa/inet.h>

#include <cstring>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace portcullis::dp::dpctl {

using api::Message;
using api::MessageKind;
using api::Op;

void InterfaceDirectory::Known(const std::string& name, uint32_t ifindex, const std::string& kind) {
  Forget(name);
  by_name_[name] = {ifindex, kind};
  ++uses_[ifindex];
}

absl::StatusOr<uint32_t> InterfaceDirectory::Resolve(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return absl::NotFoundError(absl::StrCat("no interface '", name, "'"));
  return it->second.first;
}

std::string InterfaceDirectory::KindOf(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? "" : it->second.second;
}

uint32_t InterfaceDirectory::Allocate(const std::string& name, const std::string& kind) {
  // The lowest free ifindex, from the lowest one that may be free (below it all are used):
  // a batch of 10,000 tunnels allocates each in a step or two, not a walk of every id.
  uint32_t id = lowest_free_;
  for (auto it = uses_.lower_bound(id); it != uses_.end() && it->first == id; ++it) ++id;
  Known(name, id, kind);
  lowest_free_ = id + 1;
  return id;
}

void InterfaceDirectory::Forget(const std::string& name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  auto u = uses_.find(it->second.first);
  if (u != uses_.end() && --u->second == 0) {
    if (u->first != 0 && u->first < lowest_free_) lowest_free_ = u->first;
    uses_.erase(u);
  }
  by_name_.erase(it);
}

namespace {

class Words {
 public:
  explicit Words(const std::vector<std::string>& w) : w_(w) {}
  bool Done() const { return i_ >= w_.size(); }
  const std::string& Peek() const { return w_[i_]; }
  absl::StatusOr<std::string> Next(absl::string_view what) {
    if (Done()) return absl::InvalidArgumentError(absl::StrCat("expected ", what));
    return w_[i_++];
  }
  void Skip() { ++i_; }

 private:
  const std::vector<std::string>& w_;
  size_t i_ = 0;
};

// Words after a complete command are a mistake to point at, not something to drop silently.
absl::Status NoMoreWords(Words& w, absl::string_view command) {
  if (w.Done()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(command, ": unexpected '", w.Peek(), "' after the command"));
}

#define ASSIGN_OR_RETURN(lhs, expr)             \
  auto lhs##_or = (expr);                       \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = std::move(*lhs##_or)

// A number for a field of `max` at most: a value the field cannot hold is refused, never cut to
// the field's width (spi 0x100000100 must not become SPI 256).
absl::StatusOr<uint64_t> Number(const std::string& s, absl::string_view what,
                                uint64_t max = UINT64_MAX) {
  uint64_t v = 0;
  bool ok = s.rfind("0x", 0) == 0 ? absl::SimpleHexAtoi(s.substr(2), &v) : absl::SimpleAtoi(s, &v);
  if (!ok) return absl::InvalidArgumentError(absl::StrCat(what, ": '", s, "' is not a number"));
  if (v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", s, " is out of range (0..", max, ")"));
  }
  return v;
}

absl::StatusOr<api::IpAddr> Ip4(const std::string& s) {
  api::IpAddr a{};
  if (inet_pton(AF_INET, s.c_str(), a.bytes) != 1)
    return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not an IPv4 address"));
  return a;
}

// An IPv4 or IPv6 address (IPv6: it has a colon), and its family.
absl::StatusOr<api::IpAddr> IpAny(const std::string& s, api::Family* family) {
  api::IpAddr a{};
  if (s.find(':') == std::string::npos) {
    *family = api::Family::kIpv4;
    return Ip4(s);
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes) != 1)
    return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not an IPv6 address"));
  *family = api::Family::kIpv6;
  return a;
}

absl::Status Prefix(const std::string& s, api::IpAddr* a, uint8_t* len,
                    api::Family* family = nullptr) {
  std::vector<std::string> p = absl::StrSplit(s, '/');
  if (p.size() != 2)
    return absl::InvalidArgumentError(
        absl::StrCat("'", s, "': expected A.B.C.D/LEN", family ? " or X:X::X/LEN" : ""));
  api::Family f = api::Family::kIpv4;
  auto ip = family ? IpAny(p[0], &f) : Ip4(p[0]);
  if (!ip.ok()) return ip.status();
  uint32_t l = 0;
  if (!absl::SimpleAtoi(p[1], &l) || l > (f == api::Family::kIpv6 ? 128u : 32u))
    return absl::InvalidArgumentError(absl::StrCat("'", s, "': bad prefix length"));
  *a = *ip;
  *len = static_cast<uint8_t>(l);
  if (family) *family = f;
  return absl::OkStatus();
}

absl::Status Hex(const std::string& s, uint8_t* out, size_t max, uint8_t* len) {
  std::string h = s.rfind("0x", 0) == 0 ? s.substr(2) : s;
  if (h.size() % 2 || h.size() / 2 > max)
    return absl::InvalidArgumentError(
        absl::StrCat("key of ", h.size() / 2, " bytes: too long or odd"));
  for (size_t i = 0; i < h.size() / 2; ++i) {
    int v = 0;
    if (!absl::SimpleHexAtoi(h.substr(2 * i, 2), &v))
      return absl::InvalidArgumentError("key: not hex");
    out[i] = static_cast<uint8_t>(v);
  }
  if (len) *len = static_cast<uint8_t>(h.size() / 2);
  return absl::OkStatus();
}

absl::Status Mac(const std::string& s, uint8_t* mac) {
  unsigned b[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not a MAC address"));
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
  return absl::OkStatus();
}

absl::Status Interface(Words& w, Op op, InterfaceDirectory& dir, std::vector<Message>& out) {
  ASSIGN_OR_RETURN(name, w.Next("an interface name"));
  Message m = api::NewMessage(MessageKind::kInterface, op);
  auto& b = m.body.interface;
  if (name.size() > 15) return absl::InvalidArgumentError("interface name longer than 15");
  std::memcpy(b.name, name.data(), name.size());
  if (op == Op::kDelete) {
    if (auto s = NoMoreWords(w, "interface del"); !s.ok()) return s;
    ASSIGN_OR_RETURN(ifx, dir.Resolve(name));
    b.ifindex = ifx;
    dir.Forget(name);
    out.push_back(m);
    return absl::OkStatus();
  }
  // An update names an interface that exists; saying so beats "kind is required".
  if (op == Op::kUpdate) {
    if (auto s = dir.Resolve(name); !s.ok()) return s.status();
  }
  std::string kind;
  uint32_t ifindex = 0;
  b.admin_up = 1;
  b.mtu = 0;
  while (!w.Done()) {
    ASSIGN_OR_RETURN(key, w.Next("an option"));
    if (key == "kind") {
      ASSIGN_OR_RETURN(k, w.Next("port|bond|vif|vti|vfp|loopback"));
      kind = k;
    } else if (key == "parent") {
      ASSIGN_OR_RETURN(p, w.Next("a parent interface"));
      ASSIGN_OR_RETURN(pifx, dir.Resolve(p));
      b.parent_ifindex = pifx;
    } else if (key == "vlan") {
      ASSIGN_OR_RETURN(v, w.Next("a VLAN id"));
      ASSIGN_OR_RETURN(vn, Number(v, "vlan", 4095));
      b.vlan = static_cast<uint16_t>(vn);
    } else if (key == "mtu") {
      ASSIGN_OR_RETURN(v, w.Next("an MTU"));
      ASSIGN_OR_RETURN(vn, Number(v, "mtu", 65535));
      b.mtu = static_cast<uint32_t>(vn);
    } else if (key == "bond") {
      ASSIGN_OR_RETURN(p, w.Next("the bond this port is a member of"));
      ASSIGN_OR_RETURN(bifx, dir.Resolve(p));
      b.bond_ifindex = bifx;
    } else if (key == "mode") {
      ASSIGN_OR_RETURN(v, w.Next("lacp|active-backup|balanced"));
      if (v == "lacp") {
        b.bond_mode = api::BondMode::kLacp;
      } else if (v == "active-backup") {
        b.bond_mode = api::BondMode::kActiveBackup;
      } else if (v == "balanced") {
        b.bond_mode = api::BondMode::kBalanced;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("interface: mode '", v, "': lacp|active-backup|balanced"));
      }
    } else if (key == "primary") {
      ASSIGN_OR_RETURN(p, w.Next("the primary member"));
      ASSIGN_OR_RETURN(pifx, dir.Resolve(p));
      b.primary_ifindex = pifx;
    } else if (key == "lacp-rate") {
      ASSIGN_OR_RETURN(v, w.Next("fast|slow"));
      if (v != "fast" && v != "slow")
        return absl::InvalidArgumentError("interface: lacp-rate fast|slow");
      b.lacp_fast = v == "fast";
    } else if (key == "min-links") {
      ASSIGN_OR_RETURN(v, w.Next("a number of links"));
      ASSIGN_OR_RETURN(vn, Number(v, "min-links", 255));
      b.min_links = static_cast<uint8_t>(vn);
    } else if (key == "hash") {
      ASSIGN_OR_RETURN(v, w.Next("layer2|layer2+3|layer3+4"));
      if (v == "layer2") {
        b.bond_hash = api::BondHash::kLayer2;
      } else if (v == "layer2+3") {
        b.bond_hash = api::BondHash::kLayer23;
      } else if (v == "layer3+4") {
        b.bond_hash = api::BondHash::kLayer34;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("interface: hash '", v, "': layer2|layer2+3|layer3+4"));
      }
    } else if (key == "down") {
      b.admin_up = 0;
    } else if (key == "up") {
      b.admin_up = 1;
    } else if (key == "ifindex") {
      ASSIGN_OR_RETURN(v, w.Next("an ifindex"));
      ASSIGN_OR_RETURN(vn, Number(v, "ifindex", UINT32_MAX));
      ifindex = static_cast<uint32_t>(vn);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("interface: unknown option '", key, "'"));
    }
  }
  if (op == Op::kUpdate && kind.empty()) kind = dir.KindOf(name);
  struct KindInfo {
    const char* name;
    api::InterfaceKind kind;
    uint32_t mtu;
  };
  static const KindInfo kKinds[] = {
      {"port", api::InterfaceKind::kPort, 1500}, {"bond", api::InterfaceKind::kBond, 1500},
      {"vif", api::InterfaceKind::kVif, 1500},   {"vti", api::InterfaceKind::kVti, 1428},
      {"vfp", api::InterfaceKind::kVfp, 16384},  {"loopback", api::InterfaceKind::kLoopback, 65535},
  };
  const KindInfo* ki = nullptr;
  for (const auto& k : kKinds)
    if (kind == k.name) ki = &k;
  if (ki == nullptr)
    return absl::InvalidArgumentError("interface: kind port|bond|vif|vti|vfp|loopback is required");
  b.kind = ki->kind;
  if (b.mtu == 0) b.mtu = ki->mtu;
  if (b.kind == api::InterfaceKind::kBond) {
    if (static_cast<uint8_t>(b.bond_mode) == 0)
      return absl::InvalidArgumentError("interface: a bond needs mode lacp|active-backup|balanced");
    // The hash is what balances lacp and balanced bonds; layer2 unless told.
    if (b.bond_mode != api::BondMode::kActiveBackup && static_cast<uint8_t>(b.bond_hash) == 0)
      b.bond_hash = api::BondHash::kLayer2;
  }
  if (op == Op::kAdd) {
    if (dir.Resolve(name).ok())
      return absl::AlreadyExistsError(absl::StrCat("interface ", name, " exists"));
    b.ifindex = ifindex ? ifindex : dir.Allocate(name, kind);
    if (ifindex) dir.Known(name, ifindex, kind);
  } else {
    ASSIGN_OR_RETURN(ifx, dir.Resolve(name));
    b.ifindex = ifx;
  }
  out.push_back(m);
  return absl::OkStatus();
}

absl::Status Sa(Words& w, Op op, InterfaceDirectory& dir, std::vector<Message>& out) {
  Message m = api::NewMessage(MessageKind::kSa, op);
  auto& b = m.body.sa;
  b.mode = api::SaMode::kTunnel;
  b.outer_family = api::Family::kIpv4;
  b.auth = api::Auth::kNone;
  b.df_mode = api::DfMode::kCopy;
  b.dscp_mode = api::DscpMode::kCopy;
  b.replay_window = 1024;
  bool have_dir = false;
  bool have_family = false;
  while (!w.Done()) {
    ASSIGN_OR_RETURN(key, w.Next("an option"));
    auto value = [&](absl::string_view what) { return w.Next(what); };
    if (key == "spi") {
      ASSIGN_OR_RETURN(v, value("an SPI"));
      ASSIGN_OR_RETURN(n, Number(v, "spi", UINT32_MAX));
      b.spi = static_cast<uint32_t>(n);
    } else if (key == "dir") {
      ASSIGN_OR_RETURN(v, value("in|out"));
      if (v != "in" && v != "out") return absl::InvalidArgumentError("dir in|out");
      b.direction = v == "in" ? api::Direction::kIn : api::Direction::kOut;
      have_dir = true;
    } else if (key == "local" || key == "remote") {
      ASSIGN_OR_RETURN(v, value("an address"));
      api::Family f;
      ASSIGN_OR_RETURN(a, IpAny(v, &f));
      (key == "local" ? b.local : b.remote) = a;
      if (have_family && f != b.outer_family)
        return absl::InvalidArgumentError("sa: local and remote of different address families");
      b.outer_family = f;
      have_family = true;
    } else if (key == "cipher") {
      ASSIGN_OR_RETURN(v, value("a cipher"));
      static const std::pair<const char*, api::Cipher> kC[] = {
          {"null", api::Cipher::kNull},
          {"aes-gcm-128", api::Cipher::kAesGcm128},
          {"aes-gcm-256", api::Cipher::kAesGcm256},
          {"aes-cbc-128", api::Cipher::kAesCbc128},
          {"aes-cbc-256", api::Cipher::kAesCbc256}};
      bool found = false;
      for (auto& [n, c] : kC)
        if (v == n) b.cipher = c, found = true;
      if (!found) return absl::InvalidArgumentError(absl::StrCat("unknown cipher '", v, "'"));
    } else if (key == "auth") {
      ASSIGN_OR_RETURN(v, value("an integrity algorithm"));
      static const std::pair<const char*, api::Auth> kA[] = {
          {"none", api::Auth::kNone},
          {"hmac-sha1-96", api::Auth::kHmacSha1_96},
          {"hmac-sha256-128", api::Auth::kHmacSha256_128},
          {"hmac-sha384-192", api::Auth::kHmacSha384_192},
          {"hmac-sha512-256", api::Auth::kHmacSha512_256}};
      bool found = false;
      for (auto& [n, a] : kA)
        if (v == n) b.auth = a, found = true;
      if (!found) return absl::InvalidArgumentError(absl::StrCat("unknown auth '", v, "'"));
    } else if (key == "key") {
      ASSIGN_OR_RETURN(v, value("a key"));
      if (auto s = Hex(v, b.enc_key, sizeof b.enc_key, &b.enc_key_length); !s.ok()) return s;
    } else if (key == "salt") {
      ASSIGN_OR_RETURN(v, value("a salt"));
      uint8_t l = 0;
      if (auto s = Hex(v, b.salt, 4, &l); !s.ok()) return s;
      if (l != 4) return absl::InvalidArgumentError("salt: 4 bytes (8 hex digits) are required");
    } else if (key == "authkey") {
      ASSIGN_OR_RETURN(v, value("an integrity key"));
      if (auto s = Hex(v, b.auth_key, sizeof b.auth_key, &b.auth_key_length); !s.ok()) return s;
    } else if (key == "esn") {
      b.esn = 1;
    } else if (key == "window") {
      ASSIGN_OR_RETURN(v, value("a window size"));
      ASSIGN_OR_RETURN(n, Number(v, "window", UINT16_MAX));
      b.replay_window = static_cast<uint16_t>(n);
    } else if (key == "encap") {
      ASSIGN_OR_RETURN(s, value("a source port"));
      ASSIGN_OR_RETURN(d, value("a destination port"));
      ASSIGN_OR_RETURN(sn, Number(s, "encap", 65535));
      ASSIGN_OR_RETURN(dn, Number(d, "encap", 65535));
      b.udp_encap = 1;
      b.encap_src_port = static_cast<uint16_t>(sn);
      b.encap_dst_port = static_cast<uint16_t>(dn);
    } else if (key == "vti") {
      ASSIGN_OR_RETURN(v, value("a VTI"));
      ASSIGN_OR_RETURN(ifx, dir.Resolve(v));
      b.vti_ifindex = ifx;
    } else if (key == "reqid") {
      ASSIGN_OR_RETURN(v, value("a reqid"));
      ASSIGN_OR_RETURN(n, Number(v, "reqid", UINT32_MAX));
      b.reqid = static_cast<uint32_t>(n);
    } else if (key == "worker") {
      // RFC 9611 groups: the worker that runs the SA (a member of a tunnel's group).
      ASSIGN_OR_RETURN(v, value("a worker or any"));
      if (v != "any") {
        ASSIGN_OR_RETURN(n, Number(v, "worker", api::kMaxSaGroupMembers - 1));
        b.worker = static_cast<uint8_t>(n + 1);
      }
    } else if (key == "soft-bytes" || key == "hard-bytes" || key == "soft-packets" ||
               key == "hard-packets") {
      ASSIGN_OR_RETURN(v, value("a limit"));
      ASSIGN_OR_RETURN(n, Number(v, key));
      (key == "soft-bytes"     ? b.soft_bytes
       : key == "hard-bytes"   ? b.hard_bytes
       : key == "soft-packets" ? b.soft_packets
                               : b.hard_packets) = n;
    } else if (key == "df") {
      ASSIGN_OR_RETURN(v, value("copy|set|clear"));
      b.df_mode = v == "set"     ? api::DfMode::kSet
                  : v == "clear" ? api::DfMode::kClear
                                 : api::DfMode::kCopy;
    } else if (key == "dscp") {
      ASSIGN_OR_RETURN(v, value("copy or a DSCP value"));
      if (v != "copy") {
        ASSIGN_OR_RETURN(n, Number(v, "dscp", 63));
        b.dscp_mode = api::DscpMode::kSet;
        b.dscp = static_cast<uint8_t>(n);
      }
    } else if (key == "ttl") {
      ASSIGN_OR_RETURN(v, value("a TTL"));
      ASSIGN_OR_RETURN(n, Number(v, "ttl", 255));
      b.outer_ttl = static_cast<uint8_t>(n);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("sa: unknown option '", key, "'"));
    }
  }
  if (b.spi == 0 || !have_dir) return absl::InvalidArgumentError("sa: spi and dir are required");
  if (op == Op::kDelete) {
    // A delete carries only the key.
    Message d = api::NewMessage(MessageKind::kSa, Op::kDelete);
    d.body.sa.spi = b.spi;
    d.body.sa.direction = b.direction;
    out.push_back(d);
    return absl::OkStatus();
  }
  if (static_cast<int>(b.cipher) == 0) return absl::InvalidArgumentError("sa: cipher is required");
  out.push_back(m);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::pair<uint16_t, uint16_t>> PortRange(const std::string& s) {
  std::pair<std::string, std::string> r = absl::StrSplit(s, absl::MaxSplits('-', 1));
  ASSIGN_OR_RETURN(lo, Number(r.first, "port"));
  uint64_t hi = lo;
  if (!r.second.empty()) {
    ASSIGN_OR_RETURN(h, Number(r.second, "port"));
    hi = h;
  }
  if (lo > hi || hi > 65535) return absl::InvalidArgumentError("bad port range '" + s + "'");
  return std::make_pair(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
}

absl::Status Policy(Words& w, Op op, std::vector<Message>& out) {
  Message m = api::NewMessage(MessageKind::kPolicy, op);
  auto& b = m.body.policy;
  b.family = api::Family::kIpv4;
  b.priority = 100;
  b.src_port_high = b.dst_port_high = 65535;
  ASSIGN_OR_RETURN(d, w.Next("out|in"));
  if (d != "out" && d != "in") return absl::InvalidArgumentError("policy: out or in");
  b.direction = d == "out" ? api::Direction::kOut : api::Direction::kIn;
  bool have_src = false, have_dst = false;
  while (!w.Done()) {
    ASSIGN_OR_RETURN(key, w.Next("an option"));
    if (key == "src" || key == "dst") {
      ASSIGN_OR_RETURN(p, w.Next("a prefix"));
      api::Family f;
      if (auto s = Prefix(p, key == "src" ? &b.src : &b.dst,
                          key == "src" ? &b.src_prefix_length : &b.dst_prefix_length, &f);
          !s.ok())
        return s;
      if ((have_src || have_dst) && f != b.family)
        return absl::InvalidArgumentError("policy: src and dst of different address families");
      b.family = f;
      (key == "src" ? have_src : have_dst) = true;
    } else if (key == "proto") {
      ASSIGN_OR_RETURN(p, w.Next("a protocol"));
      if (p == "tcp") {
        b.protocol = 6;
      } else if (p == "udp") {
        b.protocol = 17;
      } else if (p == "icmp") {
        b.protocol = 1;
      } else {
        ASSIGN_OR_RETURN(n, Number(p, "proto"));
        if (n > 255) return absl::InvalidArgumentError("proto: 0..255");
        b.protocol = static_cast<uint8_t>(n);
      }
    } else if (key == "sport" || key == "dport") {
      ASSIGN_OR_RETURN(r, w.Next("a port range"));
      ASSIGN_OR_RETURN(range, PortRange(r));
      (key == "sport" ? b.src_port_low : b.dst_port_low) = range.first;
      (key == "sport" ? b.src_port_high : b.dst_port_high) = range.second;
    } else if (key == "protect") {
      b.action = api::PolicyAction::kProtect;
    } else if (key == "bypass") {
      b.action = api::PolicyAction::kBypass;
    } else if (key == "discard") {
      b.action = api::PolicyAction::kDiscard;
    } else if (key == "reqid" || key == "spi" || key == "priority") {
      ASSIGN_OR_RETURN(v, w.Next("a number"));
      ASSIGN_OR_RETURN(n, Number(v, key));
      if (n > 0xffffffffull) return absl::InvalidArgumentError(key + ": too large");
      (key == "reqid" ? b.reqid : key == "spi" ? b.out_spi : b.priority) = static_cast<uint32_t>(n);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("policy: unknown option '", key, "'"));
    }
  }
  if (!have_src || !have_dst) return absl::InvalidArgumentError("policy: src and dst are required");
  if (static_cast<int>(b.action) == 0)
    return absl::InvalidArgumentError("policy: protect, bypass or discard is required");
  out.push_back(m);
  return absl::OkStatus();
}

// "A" or "A-B" (inclusive), each at most max.
absl::Status Range(const std::string& s, uint64_t max, absl::string_view what, uint64_t* lo,
                   uint64_t* hi) {
  std::pair<std::string, std::string> r = absl::StrSplit(s, absl::MaxSplits('-', 1));
  ASSIGN_OR_RETURN(l, Number(r.first, what, max));
  uint64_t h = l;
  if (!r.second.empty()) {
    ASSIGN_OR_RETURN(hh, Number(r.second, what, max));
    h = hh;
  }
  if (l > h) return absl::InvalidArgumentError(absl::StrCat(what, ": '", s, "' low > high"));
  *lo = l;
  *hi = h;
  return absl::OkStatus();
}

// An address range: A.B.C.D, A.B.C.D/LEN or A.B.C.D-E.F.G.H.
// An IPv6 prefix or range (A-B) into lo/hi.
absl::Status AddressRange6(const std::string& s, api::IpAddr* lo, api::IpAddr* hi) {
  if (s.find('/') != std::string::npos) {
    uint8_t len = 0;
    api::Family f;
    if (auto st = Prefix(s, lo, &len, &f); !st.ok()) return st;
    if (f != api::Family::kIpv6)
      return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not an IPv6 prefix"));
    *hi = *lo;
    for (int bit = len; bit < 128; ++bit) {
      lo->bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      hi->bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
    }
    return absl::OkStatus();
  }
  std::pair<std::string, std::string> r = absl::StrSplit(s, absl::MaxSplits('-', 1));
  api::Family f;
  ASSIGN_OR_RETURN(a, IpAny(r.first, &f));
  *lo = a;
  *hi = a;
  if (!r.second.empty()) {
    ASSIGN_OR_RETURN(b, IpAny(r.second, &f));
    *hi = b;
  }
  if (f != api::Family::kIpv6)
    return absl::InvalidArgumentError(absl::StrCat("'", s, "' is not an IPv6 range"));
  return absl::OkStatus();
}

absl::Status AddressRange(const std::string& s, api::IpAddr* lo, api::IpAddr* hi) {
  if (s.find(':') != std::string::npos) return AddressRange6(s, lo, hi);
  if (s.find('/') != std::string::npos) {
    uint8_t len = 0;
    if (auto st = Prefix(s, lo, &len); !st.ok()) return st;
    uint32_t v = (uint32_t{lo->bytes[0]} << 24) | (uint32_t{lo->bytes[1]} << 16) |
                 (uint32_t{lo->bytes[2]} << 8) | lo->bytes[3];
    const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    const uint32_t l = v & mask, h = v | ~mask;
    for (int i = 0; i < 4; ++i) {
      lo->bytes[i] = static_cast<uint8_t>(l >> (24 - 8 * i));
      hi->bytes[i] = static_cast<uint8_t>(h >> (24 - 8 * i));
    }
    return absl::OkStatus();
  }
  std::pair<std::string, std::string> r = absl::StrSplit(s, absl::MaxSplits('-', 1));
  ASSIGN_OR_RETURN(a, Ip4(r.first));
  *lo = a;
  if (r.second.empty()) {
    *hi = a;
  } else {
    ASSIGN_OR_RETURN(b, Ip4(r.second));
    *hi = b;
  }
  return absl::OkStatus();
}

absl::StatusOr<api::FwAction> FwActionOf(const std::string& v) {
  if (v == "accept") return api::FwAction::kAccept;
  if (v == "drop") return api::FwAction::kDrop;
  if (v == "reject") return api::FwAction::kReject;
  return absl::InvalidArgumentError(absl::StrCat("'", v, "': expected accept, drop or reject"));
}

absl::StatusOr<api::FwHook> FwHookOf(const std::string& v) {
  if (v == "in") return api::FwHook::kIn;
  if (v == "out") return api::FwHook::kOut;
  if (v == "local") return api::FwHook::kLocal;
  return absl::InvalidArgumentError(absl::StrCat("'", v, "': expected in, out or local"));
}

absl::Status FwName(const std::string& name, char* out) {
  if (name.empty() || name.size() >= api::kFwNameSize)
    return absl::InvalidArgumentError(
        absl::StrCat("name '", name, "': 1..", api::kFwNameSize - 1, " characters"));
  std::memcpy(out, name.data(), name.size());
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Id(Words& w, absl::string_view what) {
  ASSIGN_OR_RETURN(v, w.Next(what));
  ASSIGN_OR_RETURN(n, Number(v, what, UINT32_MAX));
  return static_cast<uint32_t>(n);
}

absl::Status FwRule(Words& w, Op op, std::vector<Message>& out) {
  Message m = api::NewMessage(MessageKind::kFwRule, op);
  auto& b = m.body.fw_rule;
  ASSIGN_OR_RETURN(rs, Id(w, "a ruleset id"));
  ASSIGN_OR_RETURN(num, Id(w, "a rule number"));
  b.ruleset_id = rs;
  b.rule_number = num;
  b.family = api::Family::kIpv4;
  b.proto_high = 255;
  b.src_port_high = b.dst_port_high = 65535;
  std::memset(b.src_high.bytes, 0xff, 4);
  std::memset(b.dst_high.bytes, 0xff, 4);
  bool icmp = false;
  uint64_t lo, hi;
  // IPv6 entries: `family 6`, or an IPv6 address; the unset side then spans all of IPv6.
  auto to_v6 = [&] {
    if (b.family == api::Family::kIpv6) return;
    b.family = api::Family::kIpv6;
    for (api::IpAddr* h : {&b.src_high, &b.dst_high})
      if (h->bytes[0] == 0xff && h->bytes[3] == 0xff) std::memset(h->bytes, 0xff, 16);
  };
  while (!w.Done()) {
    ASSIGN_OR_RETURN(key, w.Next("an option"));
    if (key == "family") {
      ASSIGN_OR_RETURN(v, w.Next("4|6"));
      if (v == "6") {
        to_v6();
      } else if (v != "4") {
        return absl::InvalidArgumentError("fw rule: family 4|6");
      }
    } else if (key == "entry") {
      ASSIGN_OR_RETURN(e, Id(w, "an entry"));
      b.entry = e;
    } else if (key == "action") {
      ASSIGN_OR_RETURN(v, w.Next("accept|drop|reject"));
      ASSIGN_OR_RETURN(a, FwActionOf(v));
      b.action = a;
    } else if (key == "accept" || key == "drop" || key == "reject") {
      ASSIGN_OR_RETURN(a, FwActionOf(key));
      b.action = a;
    } else if (key == "proto") {
      ASSIGN_OR_RETURN(v, w.Next("a protocol"));
      const std::string p = v == "tcp"                          ? "6"
                            : v == "udp"                        ? "17"
                            : v == "icmp"                       ? "1"
                            : v == "icmpv6" || v == "ipv6-icmp" ? "58"
                                                                : v;
      if (auto s = Range(p, 255, "proto", &lo, &hi); !s.ok()) return s;
      if (p == "58") to_v6();  // ICMPv6 is IPv6's
      b.proto_low = static_cast<uint8_t>(lo);
      b.proto_high = static_cast<uint8_t>(hi);
    } else if (key == "src" || key == "dst") {
      ASSIGN_OR_RETURN(v, w.Next("an address, prefix or range"));
      if (v.find(':') != std::string::npos) to_v6();
      if (auto s = AddressRange(v, key == "src" ? &b.src_low : &b.dst_low,
                                key == "src" ? &b.src_high : &b.dst_high);
          !s.ok())
        return s;
    } else if (key == "sport" || key == "dport") {
      ASSIGN_OR_RETURN(v, w.Next("a port range"));
      if (auto s = Range(v, 65535, key, &lo, &hi); !s.ok()) return s;
      (key == "sport" ? b.src_port_low : b.dst_port_low) = static_cast<uint16_t>(lo);
      (key == "sport" ? b.src_port_high : b.dst_port_high) = static_cast<uint16_t>(hi);
    } else if (key == "icmp-type" || key == "icmp-code") {
      ASSIGN_OR_RETURN(v, w.Next("an ICMP type or code range"));
      if (auto s = Range(v, 255, key, &lo, &hi); !s.ok()) return s;
      if (!icmp) {
        b.icmp_type_high = b.icmp_code_high = 255;
        icmp = true;
      }
      (key == "icmp-type" ? b.icmp_type_low : b.icmp_code_low) = static_cast<uint8_t>(lo);
      (key == "icmp-type" ? b.icmp_type_high : b.icmp_code_high) = static_cast<uint8_t>(hi);
    } else if (key == "state") {
      ASSIGN_OR_RETURN(v, w.Next("new,established,related,invalid"));
      for (absl::string_view st : absl::StrSplit(v, ',')) {
        if (st == "new") {
          b.state |= api::kFwStateNew;
        } else if (st == "established") {
          b.state |= api::kFwStateEstablished;
        } else if (st == "related") {
          b.state |= api::kFwStateRelated;
        } else if (st == "invalid") {
          b.state |= api::kFwStateInvalid;
        } else {
          return absl::InvalidArgumentError(absl::StrCat("state: unknown '", st, "'"));
        }
      }
    } else if (key == "log") {
      b.log = 1;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("fw rule: unknown option '", key, "'"));
    }
  }
  // A single ICMP protocol with no type given matches any type and code.
  const uint8_t icmp_proto = b.family == api::Family::kIpv6 ? 58 : 1;
  if (!icmp && b.proto_low == icmp_proto && b.proto_high == icmp_proto)
    b.icmp_type_high = b.icmp_code_high = 255;
  if (op == Op::kAdd && static_cast<int>(b.action) == 0)
    return absl::InvalidArgumentError("fw rule: action accept|drop|reject is required");
  if (op == Op::kDelete && static_cast<int>(b.action) == 0) b.action = api::FwAction::kDrop;
  out.push_back(m);
  return absl::OkStatus();
}

absl::Status Firewall(Words& w, InterfaceDirectory& dir, std::vector<Message>& out,
                      const std::function<absl::StatusOr<Op>(const std::string&)>& op_of) {
  ASSIGN_OR_RETURN(what, w.Next("ruleset|rule|bind|unbind|zone|zone-if|zone-policy|global"));
  if (what == "ruleset" || what == "zone") {
    ASSIGN_OR_RETURN(o, w.Next("add|del|update"));
    ASSIGN_OR_RETURN(op, op_of(o));
    ASSIGN_OR_RETURN(id, Id(w, "an id"));
    const bool zone = what == "zone";
    Message m = api::NewMessage(zone ? MessageKind::kFwZone : MessageKind::kFwRuleset, op);
    if (zone) {
      m.body.fw_zone.zone_id = id;
    } else {
      m.body.fw_ruleset.ruleset_id = id;
    }
    if (op != Op::kDelete) {
      ASSIGN_OR_RETURN(name, w.Next("a name"));
      if (auto s = FwName(name, zone ? m.body.fw_zone.name : m.body.fw_ruleset.name); !s.ok())
        return s;
      api::FwAction action = api::FwAction::kDrop;
      bool explicit_default = false;  // a ruleset without one: Vyatta's implicit default
      while (!w.Done()) {
        ASSIGN_OR_RETURN(key, w.Next("an option"));
        if (key == "default") {
          ASSIGN_OR_RETURN(v, w.Next("accept|drop|reject"));
          ASSIGN_OR_RETURN(a, FwActionOf(v));
          action = a;
          explicit_default = true;
        } else if (key == "log" && !zone) {
          m.body.fw_ruleset.default_log = 1;
        } else if (key == "family" && !zone) {
          ASSIGN_OR_RETURN(v, w.Next("4|6"));
          if (v != "4" && v != "6")
            return absl::InvalidArgumentError("fw ruleset: family 4|6 (unset: both)");
          m.body.fw_ruleset.family = static_cast<uint8_t>(v == "6" ? 6 : 4);
        } else if (key == "local" && zone) {
          m.body.fw_zone.local = 1;
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("fw ", what, ": unknown option '", key, "'"));
        }
      }
      (zone ? m.body.fw_zone.default_action : m.body.fw_ruleset.default_action) = action;
      if (!zone && !explicit_default) m.body.fw_ruleset.default_implicit = 1;
    }
    if (auto s = NoMoreWords(w, "fw " + what); !s.ok()) return s;
    out.push_back(m);
    return absl::OkStatus();
  }
  if (what == "rule") {
    ASSIGN_OR_RETURN(o, w.Next("add|del"));
    ASSIGN_OR_RETURN(op, op_of(o));
    return FwRule(w, op, out);
  }
  if (what == "bind" || what == "unbind") {
    ASSIGN_OR_RETURN(name, w.Next("an interface"));
    ASSIGN_OR_RETURN(ifx, dir.Resolve(name));
    ASSIGN_OR_RETURN(h, w.Next("in|out|local"));
    ASSIGN_OR_RETURN(hook, FwHookOf(h));
    ASSIGN_OR_RETURN(rs, Id(w, "a ruleset id"));
    Message m = api::NewMessage(MessageKind::kFwBinding, what == "bind" ? Op::kAdd : Op::kDelete);
    m.body.fw_binding = {ifx, rs, hook, 0, {}};
    if (!w.Done()) {
      ASSIGN_OR_RETURN(k, w.Next("position"));
      if (k != "position") return absl::InvalidArgumentError("fw bind: expected 'position N'");
      ASSIGN_OR_RETURN(v, w.Next("a position"));
      ASSIGN_OR_RETURN(n, Number(v, "position", 255));
      m.body.fw_binding.position = static_cast<uint8_t>(n);
    }
    if (auto s = NoMoreWords(w, "fw " + what); !s.ok()) return s;
    out.push_back(m);
    return absl::OkStatus();
  }
  if (what == "zone-if") {
    ASSIGN_OR_RETURN(o, w.Next("add|del"));
    ASSIGN_OR_RETURN(op, op_of(o));
    ASSIGN_OR_RETURN(name, w.Next("an interface"));
    ASSIGN_OR_RETURN(ifx, dir.Resolve(name));
    ASSIGN_OR_RETURN(zone, Id(w, "a zone id"));
    Message m = api::NewMessage(MessageKind::kFwZoneInterface, op);
    m.body.fw_zone_interface = {ifx, zone};
    if (auto s = NoMoreWords(w, "fw zone-if"); !s.ok()) return s;
    out.push_back(m);
    return absl::OkStatus();
  }
  if (what == "zone-policy") {
    ASSIGN_OR_RETURN(o, w.Next("add|del"));
    ASSIGN_OR_RETURN(op, op_of(o));
    ASSIGN_OR_RETURN(from, Id(w, "a from-zone id"));
    ASSIGN_OR_RETURN(to, Id(w, "a to-zone id"));
    ASSIGN_OR_RETURN(rs, Id(w, "a ruleset id"));
    Message m = api::NewMessage(MessageKind::kFwZonePolicy, op);
    m.body.fw_zone_policy = {from, to, rs, 0, {}};
    if (!w.Done()) {
      ASSIGN_OR_RETURN(k, w.Next("position"));
      if (k != "position")
        return absl::InvalidArgumentError("fw zone-policy: expected 'position N'");
      ASSIGN_OR_RETURN(v, w.Next("a position"));
      ASSIGN_OR_RETURN(n, Number(v, "position", 255));
      m.body.fw_zone_policy.position = static_cast<uint8_t>(n);
    }
    if (auto s = NoMoreWords(w, "fw zone-policy"); !s.ok()) return s;
    out.push_back(m);
    return absl::OkStatus();
  }
  if (what == "global") {
    Message m = api::NewMessage(MessageKind::kFwGlobal, Op::kUpdate);
    auto& g = m.body.fw_global;
    while (!w.Done()) {
      ASSIGN_OR_RETURN(key, w.Next("an option"));
      if (key == "state") {
        ASSIGN_OR_RETURN(v, w.Next("tcp,udp,icmp"));
        for (absl::string_view p : absl::StrSplit(v, ',')) {
          if (p == "tcp") {
            g.state_tcp = 1;
          } else if (p == "udp") {
            g.state_udp = 1;
          } else if (p == "icmp") {
            g.state_icmp = 1;
          } else if (p != "none") {
            return absl::InvalidArgumentError(absl::StrCat("fw global state: unknown '", p, "'"));
          }
        }
      } else if (key == "tcp-established" || key == "tcp-transitory" || key == "udp" ||
                 key == "icmp" || key == "other") {
        ASSIGN_OR_RETURN(v, Id(w, "seconds"));
        (key == "tcp-established"  ? g.tcp_established_timeout_s
         : key == "tcp-transitory" ? g.tcp_transitory_timeout_s
         : key == "udp"            ? g.udp_timeout_s
         : key == "icmp"           ? g.icmp_timeout_s
                                   : g.other_timeout_s) = v;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("fw global: unknown option '", key, "'"));
      }
    }
    out.push_back(m);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("fw: unknown object '", what, "'"));
}

absl::Status ParseCommand(const std::vector<std::string>& words, InterfaceDirectory& dir,
                          std::vector<Message>& out) {
  Words w(words);
  ASSIGN_OR_RETURN(what, w.Next("a command"));
  auto op_of = [&](const std::string& v) -> absl::StatusOr<Op> {
    if (v == "add") return Op::kAdd;
    if (v == "del" || v == "delete") return Op::kDelete;
    if (v == "update" || v == "set") return Op::kUpdate;
    return absl::InvalidArgumentError(absl::StrCat("'", v, "': expected add, del or update"));
  };
  if (what == "fw" || what == "firewall") return Firewall(w, dir, out, op_of);
  if (what == "interface") {
    ASSIGN_OR_RETURN(o, w.Next("add|del|update"));
    ASSIGN_OR_RETURN(op, op_of(o));
    return Interface(w, op, dir, out);
  }
  if (what == "address") {
    ASSIGN_OR_RETURN(o, w.Next("add|del"));
    ASSIGN_OR_RETURN(op, op_of(o));
    ASSIGN_OR_RETURN(name, w.Next("an interface"));
    ASSIGN_OR_RETURN(ifx, dir.Resolve(name));
    ASSIGN_OR_RETURN(p, w.Next("an address/len"));
    Message m = api::NewMessage(MessageKind::kAddress, op);
    m.body.address.ifindex = ifx;
    if (auto s = Prefix(p, &m.body.address.address, &m.body.address.prefix_length,
                        &m.body.address.family);
        !s.ok())
      return s;
    if (auto s = NoMoreWords(w, "address"); !s.ok()) return s;
    out.push_back(m);
    return absl::OkStatus();
  }
  if (what == "route") {
    ASSIGN_OR_RETURN(o, w.Next("add|del"));
    ASSIGN_OR_RETURN(op, op_of(o));
    ASSIGN_OR_RETURN(p, w.Next("a prefix"));
    Message m = api::NewMessage(MessageKind::kRoute, op);
    auto& b = m.body.route;
    b.distance = 1;
    if (auto s = Prefix(p, &b.prefix, &b.prefix_length, &b.family); !s.ok()) return s;
    while (!w.Done()) {
      ASSIGN_OR_RETURN(key, w.Next("via|dev|blackhole|distance"));
      if (key == "via") {
        ASSIGN_OR_RETURN(g, w.Next("a gateway"));
        api::Family gf;
        ASSIGN_OR_RETURN(a, IpAny(g, &gf));
        if (gf != b.family)
          return absl::InvalidArgumentError(
              absl::StrCat("route ", p, ": gateway ", g, " is of the other address family"));
        b.next_hop = a;
        b.type = api::RouteType::kGateway;
      } else if (key == "dev") {
        ASSIGN_OR_RETURN(n, w.Next("an interface"));
        ASSIGN_OR_RETURN(ifx, dir.Resolve(n));
        b.out_ifindex = ifx;
        if (static_cast<int>(b.type) == 0) b.type = api::RouteType::kInterface;
      } else if (key == "blackhole") {
        b.type = api::RouteType::kBlackhole;
      } else if (key == "distance") {
        ASSIGN_OR_RETURN(d, w.Next("a distance"));
        ASSIGN_OR_RETURN(dn, Number(d, "distance", 255));
        b.distance = static_cast<uint8_t>(dn);
      } else {
        return absl::InvalidArgumentError(absl::StrCat("route: unknown option '", key, "'"));
      }
    }
    if (static_cast<int>(b.type) == 0)
      return absl::InvalidArgumentError("route: via GW, dev NAME or blackhole is required");
    out.push_back(m);
    return absl::OkStatus();
  }
  if (what == "neigh" || what == "neighbor") {
    ASSIGN_OR_RETURN(o, w.Next("add|del"));
    ASSIGN_OR_RETURN(op, op_of(o));
    ASSIGN_OR_RETURN(name, w.Next("an interface"));
    ASSIGN_OR_RETURN(ifx, dir.Resolve(name));
    ASSIGN_OR_RETURN(ip, w.Next("an address"));
    Message m = api::NewMessage(MessageKind::kNeighbor, op);
    m.body.neighbor.ifindex = ifx;
    ASSIGN_OR_RETURN(a, IpAny(ip, &m.body.neighbor.family));
    m.body.neighbor.address = a;
    if (op == Op::kAdd) {
      ASSIGN_OR_RETURN(mac, w.Next("a MAC address"));
      if (auto s = Mac(mac, m.body.neighbor.mac); !s.ok()) return s;
    } else {
      m.body.neighbor.mac[5] = 2;  // a delete needs a valid-looking MAC (unicast, non-zero)
    }
    if (auto s = NoMoreWords(w, "neigh"); !s.ok()) return s;
    out.push_back(m);
    return absl::OkStatus();
  }
  if (what == "sa") {
    ASSIGN_OR_RETURN(o, w.Next("add|del|update"));
    ASSIGN_OR_RETURN(op, op_of(o));
    return Sa(w, op, dir, out);
  }
  if (what == "policy") {
    ASSIGN_OR_RETURN(o, w.Next("add|del|update"));
    ASSIGN_OR_RETURN(op, op_of(o));
    return Policy(w, op, out);
  }
  if (what == "bind" || what == "unbind") {
    ASSIGN_OR_RETURN(name, w.Next("a VTI"));
    ASSIGN_OR_RETURN(ifx, dir.Resolve(name));
    Message m = api::NewMessage(MessageKind::kVtiBinding, what == "bind" ? Op::kAdd : Op::kDelete);
    m.body.vti_binding.vti_ifindex = ifx;
    if (what == "bind") {
      ASSIGN_OR_RETURN(spi, w.Next("an SPI"));
      ASSIGN_OR_RETURN(n, Number(spi, "spi", UINT32_MAX));
      m.body.vti_binding.out_spi = static_cast<uint32_t>(n);
      // `member W SPI`, once per worker: the tunnel's per-worker SAs (RFC 9611 groups).
      while (!w.Done()) {
        ASSIGN_OR_RETURN(key, w.Next("member"));
        if (key != "member")
          return absl::InvalidArgumentError(absl::StrCat("bind: unexpected '", key, "'"));
        ASSIGN_OR_RETURN(wv, w.Next("a worker"));
        ASSIGN_OR_RETURN(wn, Number(wv, "worker", api::kMaxSaGroupMembers - 1));
        ASSIGN_OR_RETURN(mv, w.Next("an SPI"));
        ASSIGN_OR_RETURN(mn, Number(mv, "spi", UINT32_MAX));
        uint32_t& slot = m.body.vti_binding.member_spi[wn];
        if (slot != 0)
          return absl::InvalidArgumentError(absl::StrCat("bind: worker ", wn, " named twice"));
        slot = static_cast<uint32_t>(mn);
      }
    }
    if (auto s = NoMoreWords(w, what); !s.ok()) return s;
    out.push_back(m);
    return absl::OkStatus();
  }
  if (what == "flush") {
    Message m = api::NewMessage(MessageKind::kFlush, Op::kDelete);
    while (!w.Done()) {
      ASSIGN_OR_RETURN(s, w.Next("a scope"));
      if (s == "sas")
        m.body.flush.scope |= api::kFlushSas;
      else if (s == "policies")
        m.body.flush.scope |= api::kFlushPolicies;
      else if (s == "routes")
        m.body.flush.scope |= api::kFlushRoutes;
      else if (s == "neighbors")
        m.body.flush.scope |= api::kFlushNeighbors;
      else if (s == "addresses")
        m.body.flush.scope |= api::kFlushAddresses;
      else if (s == "interfaces")
        m.body.flush.scope |= api::kFlushInterfaces;
      else if (s == "firewall")
        m.body.flush.scope |= api::kFlushFirewall;
      else if (s == "all")
        m.body.flush.scope |= api::kFlushAll;
      else
        return absl::InvalidArgumentError(absl::StrCat("flush: unknown scope '", s, "'"));
    }
    if (m.body.flush.scope == 0) m.body.flush.scope = api::kFlushAll;
    out.push_back(m);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command '", what, "'"));
}

}  // namespace portcullis::dp::dpctl
