#include "control/vpnd/dataplane_plan.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "control/vpnd/firewall_plan.h"

namespace portcullis::vpnd {

namespace {

using dp::api::Message;
using dp::api::MessageKind;
using dp::api::Op;

std::string BodyKey(const Message& m, size_t size) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(m.body.raw), size));
}

dp::api::InterfaceKind KindOf(const config::Interface& i) {
  if (!i.parent.empty()) return dp::api::InterfaceKind::kVif;
  if (i.type == "bonding") return dp::api::InterfaceKind::kBond;
  if (i.type == "vti") return dp::api::InterfaceKind::kVti;
  if (i.type == "virtual-feature-point") return dp::api::InterfaceKind::kVfp;
  if (i.type == "loopback") return dp::api::InterfaceKind::kLoopback;
  return dp::api::InterfaceKind::kPort;
}

// Bonds (#17): a port names its bond (`bond-group`), a bond says how the dataplane builds it.
void SetBondFields(const config::Model& model, const config::Interface& i,
                   InterfaceIndexes& ifindexes, dp::api::InterfaceBody& b) {
  if (b.kind == dp::api::InterfaceKind::kPort && !i.bond_group.empty() &&
      model.interfaces.count(i.bond_group)) {
    b.bond_ifindex = ifindexes.Get(i.bond_group);
  }
  if (b.kind != dp::api::InterfaceKind::kBond) return;
  using dp::api::BondHash;
  using dp::api::BondMode;
  b.bond_mode = i.bond_mode == "active-backup" ? BondMode::kActiveBackup
                : i.bond_mode == "balanced"    ? BondMode::kBalanced
                                               : BondMode::kLacp;  // the schema's default
  if (b.bond_mode == BondMode::kActiveBackup) {
    if (!i.bond_primary.empty() && model.interfaces.count(i.bond_primary))
      b.primary_ifindex = ifindexes.Get(i.bond_primary);
  } else {
    // encap2+3/encap3+4 hash the outer headers as layer2+3/layer3+4 do (and warn at commit).
    const std::string& h = i.bond_hash_policy;
    b.bond_hash = h == "layer2+3" || h == "encap2+3"   ? BondHash::kLayer23
                  : h == "layer3+4" || h == "encap3+4" ? BondHash::kLayer34
                                                       : BondHash::kLayer2;
  }
  b.lacp_fast = b.bond_mode == BondMode::kLacp && i.lacp_fast ? 1 : 0;
  // Commit rules allow more than one only on lacp bonds.
  b.min_links = b.bond_mode == BondMode::kLacp && i.bond_min_links > 1
                    ? static_cast<uint8_t>(std::min<uint32_t>(i.bond_min_links, 255))
                    : 0;
}

dp::api::Family FamilyOf(const config::IpAddress& a) {
  return a.is_v4() ? dp::api::Family::kIpv4 : dp::api::Family::kIpv6;
}

// VRRP groups (#17) with an IPv4 virtual address, not disabled, on a port, bond or VIF (the
// commit rules warn about the others, which are kept and not run). Key "5 vrrp": after the
// interfaces they sit on, deleted before them.
void PlanVrrp(const config::Model& model, InterfaceIndexes& ifindexes, DataplaneObjects& out) {
  for (const auto& [name, i] : model.interfaces) {
    const dp::api::InterfaceKind kind = KindOf(i);
    if (kind != dp::api::InterfaceKind::kPort && kind != dp::api::InterfaceKind::kBond &&
        kind != dp::api::InterfaceKind::kVif)
      continue;
    for (const config::VrrpGroup& g : i.vrrp) {
      if (g.disabled || g.id == 0 || g.id > 255) continue;
      Message m = dp::api::NewMessage(MessageKind::kVrrpGroup, Op::kAdd);
      auto& b = m.body.vrrp_group;
      b.ifindex = ifindexes.Get(name);
      b.vrid = static_cast<uint8_t>(g.id);
      b.priority = static_cast<uint8_t>(std::clamp<uint32_t>(g.priority, 1, 254));
      b.version = g.version == 3 ? 3 : 2;
      b.preempt = g.preempt ? 1 : 0;
      // Version 2: whole seconds up to 255 (advertise-interval's range); version 3: up to
      // 40.95 s (fast-advertise-interval's range).
      uint32_t cs = b.version == 2
                        ? std::clamp<uint32_t>(g.advertise_interval_cs / 100 * 100, 100, 25500)
                        : std::clamp<uint32_t>(g.advertise_interval_cs, 1, 4095);
      b.advert_interval_cs = static_cast<uint16_t>(cs);
      b.preempt_delay_s = static_cast<uint16_t>(std::min<uint32_t>(g.preempt_delay, 1000));
      b.start_delay_s = static_cast<uint16_t>(std::min<uint32_t>(g.start_delay, 600));
      for (const std::string& text : g.virtual_addresses) {
        auto a = config::IpAddress::Parse(text.substr(0, text.find('/')));
        if (!a || !a->is_v4() || b.naddrs >= dp::api::kMaxVrrpAddresses) continue;
        std::memcpy(b.addrs[b.naddrs++], a->bytes.data(), 4);
      }
      if (b.naddrs == 0) continue;
      out[absl::StrCat("5 vrrp ", absl::Dec(b.ifindex, absl::kZeroPad8), " ",
                       absl::Dec(b.vrid, absl::kZeroPad3))] = m;
    }
  }
}

}  // namespace

uint32_t InterfaceIndexes::Get(const std::string& name) {
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  ids_[name] = next_;
  names_[next_] = name;
  return next_++;
}

std::optional<uint32_t> InterfaceIndexes::Find(const std::string& name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> InterfaceIndexes::Name(uint32_t ifindex) const {
  auto it = names_.find(ifindex);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

dp::api::IpAddr ToChannelAddr(const uint8_t* bytes, int family) {
  dp::api::IpAddr a;
  std::memset(&a, 0, sizeof a);
  std::memcpy(a.bytes, bytes, family == 4 || family == AF_INET ? 4 : 16);
  return a;
}

DataplaneObjects PlanDataplane(const config::Model& model, InterfaceIndexes& ifindexes,
                               FirewallIds& firewall_ids) {
  DataplaneObjects out;
  // Parents before vifs get their numbers in a stable order: the model's map is sorted by name.
  for (const auto& [name, i] : model.interfaces) {
    Message m = dp::api::NewMessage(MessageKind::kInterface, Op::kAdd);
    auto& b = m.body.interface;
    b.ifindex = ifindexes.Get(name);
    b.parent_ifindex = i.parent.empty() ? 0 : ifindexes.Get(i.parent);
    std::strncpy(b.name, name.c_str(), sizeof b.name - 1);
    b.kind = KindOf(i);
    b.admin_up = i.disabled ? 0 : 1;
    b.vlan = b.kind == dp::api::InterfaceKind::kVif ? static_cast<uint16_t>(i.vlan) : 0;
    b.mtu = i.mtu;
    SetBondFields(model, i, ifindexes, b);
    out[absl::StrCat("1 if ", absl::Dec(b.ifindex, absl::kZeroPad8))] = m;
    for (const config::IpPrefix& p : i.addresses) {
      Message a = dp::api::NewMessage(MessageKind::kAddress, Op::kAdd);
      auto& ab = a.body.address;
      ab.ifindex = b.ifindex;
      ab.family = FamilyOf(p.address);
      ab.prefix_length = static_cast<uint8_t>(p.length);
      ab.address = ToChannelAddr(p.address.bytes.data(), p.address.is_v4() ? 4 : 6);
      out["2 addr " + BodyKey(a, sizeof ab)] = a;
    }
  }
  for (const config::StaticRoute& r : model.routes) {
    Message m = dp::api::NewMessage(MessageKind::kRoute, Op::kAdd);
    auto& b = m.body.route;
    config::IpPrefix net = r.prefix.Network();
    b.prefix = ToChannelAddr(net.address.bytes.data(), net.address.is_v4() ? 4 : 6);
    b.family = FamilyOf(net.address);
    b.prefix_length = static_cast<uint8_t>(net.length);
    b.distance = static_cast<uint8_t>(r.distance == 0 ? 1 : r.distance > 255 ? 255 : r.distance);
    if (r.blackhole) {
      b.type = dp::api::RouteType::kBlackhole;
    } else if (r.next_hop) {
      b.type = dp::api::RouteType::kGateway;
      b.next_hop = ToChannelAddr(r.next_hop->bytes.data(), r.next_hop->is_v4() ? 4 : 6);
      if (!r.interface.empty()) b.out_ifindex = ifindexes.Get(r.interface);
    } else {
      b.type = dp::api::RouteType::kInterface;
      b.out_ifindex = ifindexes.Get(r.interface);
    }
    out["3 route " + BodyKey(m, sizeof b)] = m;
  }
  PlanFirewall(model, ifindexes, firewall_ids, out);
  PlanVrrp(model, ifindexes, out);
  return out;
}

std::vector<Message> DiffBatch(const DataplaneObjects& running, const DataplaneObjects& desired) {
  std::vector<Message> batch;
  auto changed = [](const Message& a, const Message& b) {
    return std::memcmp(&a.body, &b.body, sizeof a.body) != 0;
  };
  // Deletes, most dependent first (reverse key order).
  for (auto it = running.rbegin(); it != running.rend(); ++it) {
    auto d = desired.find(it->first);
    bool replaced = d != desired.end() && FirewallNeedsReplace(it->second.header.kind) &&
                    changed(it->second, d->second);
    if (d != desired.end() && !replaced) continue;
    Message m = it->second;
    if (m.header.kind == MessageKind::kFwGlobal) {
      // No delete: back to the dataplane's defaults.
      m = dp::api::NewMessage(MessageKind::kFwGlobal, Op::kUpdate);
    } else {
      m.header.op = Op::kDelete;
    }
    batch.push_back(m);
  }
  for (const auto& [key, m] : desired) {
    auto it = running.find(key);
    if (it == running.end() || (FirewallNeedsReplace(m.header.kind) && changed(it->second, m))) {
      batch.push_back(m);
    } else if (changed(it->second, m)) {
      Message u = m;
      u.header.op = Op::kUpdate;
      batch.push_back(u);
    }
  }
  return batch;
}

}  // namespace portcullis::vpnd
