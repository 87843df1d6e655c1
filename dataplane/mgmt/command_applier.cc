#include "dataplane/mgmt/command_applier.h"

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_rcu_qsbr.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/api/message_names.h"
#include "dataplane/core/ipv6_scope.h"
#include "dataplane/mgmt/firewall_builder.h"
#include "dataplane/mgmt/sa_from_message.h"
#include "drivers/crypto/ipsecmb_backend.h"

namespace portcullis::dp {

namespace {

uint32_t V4(const api::IpAddr& a) {
  uint32_t v;
  std::memcpy(&v, a.bytes, 4);
  return v;
}

std::string Ip(uint32_t v) {
  const uint8_t* b = reinterpret_cast<const uint8_t*>(&v);
  return absl::StrFormat("%d.%d.%d.%d", b[0], b[1], b[2], b[3]);
}

uint32_t Mask(uint8_t len) {
  return len == 0 ? 0 : rte_cpu_to_be_32(~uint32_t{0} << (32 - len));
}

// The tables keep their own enums: the channel's may change with its layout version, theirs are
// what the packet path compares against.
IfKind IfKindOf(api::InterfaceKind k) {
  switch (k) {
    case api::InterfaceKind::kPort:
      return IfKind::kPort;
    case api::InterfaceKind::kBond:
      return IfKind::kBond;
    case api::InterfaceKind::kVif:
      return IfKind::kVif;
    case api::InterfaceKind::kVti:
      return IfKind::kVti;
    case api::InterfaceKind::kVfp:
      return IfKind::kVfp;
    case api::InterfaceKind::kLoopback:
      return IfKind::kLoopback;
  }
  return IfKind::kNone;  // message validation lets no other value through
}

PolicyAction PolicyActionOf(api::PolicyAction a) {
  switch (a) {
    case api::PolicyAction::kProtect:
      return PolicyAction::kProtect;
    case api::PolicyAction::kBypass:
      return PolicyAction::kBypass;
    case api::PolicyAction::kDiscard:
      break;
  }
  return PolicyAction::kDiscard;  // and anything unknown, which validation refuses anyway
}

std::array<uint8_t, 16> V6(const api::IpAddr& a) {
  std::array<uint8_t, 16> v;
  std::memcpy(v.data(), a.bytes, 16);
  return v;
}

std::string Ip6Text(const std::array<uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

}  // namespace

bool CommandApplier::SaExists(const Candidate& c, uint32_t spi, bool inbound) const {
  bool exists = !c.sa_flush && dp_.sas->Find(spi, inbound) != nullptr;
  for (const SaChange& ch : c.sas) {
    if (ch.spi != spi || ch.inbound != inbound) continue;
    exists = ch.kind != SaChange::Kind::kRemove;
  }
  return exists;
}

int CommandApplier::CandidateWorker(const Candidate& c, uint32_t spi, bool inbound) const {
  const SaEntry* live = c.sa_flush ? nullptr : dp_.sas->Find(spi, inbound);
  // A live SA the dataplane placed by load runs on some worker, but was not named for it.
  int w = live == nullptr ? kNoSa : live->pinned ? live->owner : kAnyWorker;
  for (const SaChange& ch : c.sas) {
    if (ch.spi != spi || ch.inbound != inbound) continue;
    if (ch.kind == SaChange::Kind::kRemove) {
      w = kNoSa;
    } else if (ch.kind == SaChange::Kind::kAdd || w == kNoSa) {
      w = ch.worker;  // kAdd: what it named; an update keeps the worker it had
    }
  }
  return w;
}

uint16_t CommandApplier::PickOwner(bool inbound, uint16_t ifindex, uint32_t reqid) const {
  // A rekey keeps the tunnel on its worker: packets of a flow still in the old owner's ring
  // must not be overtaken by ones the new SA's owner encrypts.
  uint16_t owner;
  if (dp_.sas->TunnelOwner(inbound, ifindex, reqid, &owner) && owner < dp_.nworkers) return owner;
  // Else the worker with the fewest SAs of this direction (then of both): vpnd installs
  // (in, out) pairs, and balancing only the total would put every outbound SA on one worker
  // and every inbound one on the other.
  uint16_t best = 0;
  for (uint16_t w = 1; w < dp_.nworkers; ++w) {
    const uint32_t a = dp_.sas->load(w, inbound), b = dp_.sas->load(best, inbound);
    if (a < b || (a == b && dp_.sas->load(w) < dp_.sas->load(best))) best = w;
  }
  return best;
}

absl::Status CommandApplier::StageInterface(const api::Message& m, Candidate& c) {
  const api::InterfaceBody& b = m.body.interface;
  auto& ifs = c.cfg.interfaces;
  auto it = ifs.find(b.ifindex);
  if (b.ifindex == 0 || b.ifindex >= dp_.sizes.interfaces)
    return absl::OutOfRangeError(absl::StrCat("interface ", b.name, ": ifindex ", b.ifindex,
                                              " is not below the dataplane's --max-interfaces ",
                                              dp_.sizes.interfaces));
  if (m.header.op == api::Op::kDelete) {
    if (it == ifs.end()) return absl::NotFoundError(absl::StrCat("no interface ", b.ifindex));
    if (absl::Status s = CheckInterfaceUnused(c.cfg, b.ifindex); !s.ok()) return s;
    for (const auto& [ifx, other] : ifs)
      if (other.body.bond_ifindex == b.ifindex && ifx != b.ifindex)
        return absl::FailedPreconditionError(absl::StrCat("interface ", it->second.body.name,
                                                          " still has member ", other.body.name));
    for (const auto& [ifx, other] : ifs)
      if (other.body.kind == api::InterfaceKind::kVif && other.body.parent_ifindex == b.ifindex)
        return absl::FailedPreconditionError(
            absl::StrCat("interface ", it->second.body.name, " still has VIF ", other.body.name));
    if (auto g = c.cfg.vrrp.lower_bound({b.ifindex, 0});
        g != c.cfg.vrrp.end() && g->first.first == b.ifindex)
      return absl::FailedPreconditionError(absl::StrCat("interface ", it->second.body.name,
                                                        " still has VRRP group ", g->first.second));
    ifs.erase(it);
    c.cfg.vti_bindings.erase(b.ifindex);
    c.cfg.vti_members.erase(b.ifindex);
    return absl::OkStatus();
  }
  if (m.header.op == api::Op::kAdd && it != ifs.end())
    return absl::AlreadyExistsError(absl::StrCat("interface ", b.ifindex, " exists"));
  if (m.header.op == api::Op::kUpdate && it == ifs.end())
    return absl::NotFoundError(absl::StrCat("no interface ", b.ifindex));
  switch (b.kind) {
    case api::InterfaceKind::kPort: {
      // Ports are known by their name in the port map; vpnd does not know DPDK port ids.
      // (Bonds are built from their members at commit: bond_sync.h.)
      bool found = false;
      for (uint16_t p = 0; p < kMaxPorts; ++p)
        if (dp_.ports[p].present && !dp_.ports[p].bond && dp_.ports[p].name == b.name) found = true;
      if (!found)
        return absl::NotFoundError(
            absl::StrCat("no port named '", b.name, "' in the dataplane's port map (--port)"));
      break;
    }
    case api::InterfaceKind::kVif: {
      auto parent = ifs.find(b.parent_ifindex);
      if (parent == ifs.end() || (parent->second.body.kind != api::InterfaceKind::kPort &&
                                  parent->second.body.kind != api::InterfaceKind::kBond))
        return absl::FailedPreconditionError(
            absl::StrCat("VIF ", b.name, ": parent ", b.parent_ifindex, " is not a port or bond"));
      break;
    }
    default:
      break;
  }
  InterfaceConfig& cfg = ifs[b.ifindex];
  cfg.body = b;
  return absl::OkStatus();
}

absl::Status CommandApplier::StageSa(const api::Message& m, Candidate& c) {
  const api::SaBody& b = m.body.sa;
  const bool inbound = b.direction == api::Direction::kIn;
  const bool exists = SaExists(c, b.spi, inbound);
  const std::string name = absl::StrFormat("SA %08x %s", b.spi, inbound ? "in" : "out");
  if (m.header.op == api::Op::kDelete) {
    if (!exists) return absl::NotFoundError(absl::StrCat(name, " does not exist"));
    c.sas.push_back({SaChange::Kind::kRemove, b.spi, inbound, nullptr, 0, 0});
    --c.sa_live;
    return absl::OkStatus();
  }
  if (m.header.op == api::Op::kAdd && exists)
    return absl::AlreadyExistsError(absl::StrCat(name, " exists"));
  if (m.header.op == api::Op::kUpdate && !exists)
    return absl::NotFoundError(absl::StrCat(name, " does not exist"));
  const int worker = b.worker == 0 ? kAnyWorker : b.worker - 1;
  if (worker >= static_cast<int>(dp_.nworkers))
    return absl::OutOfRangeError(absl::StrCat(
        name, ": worker ", worker, " is not below the dataplane's --workers ", dp_.nworkers));
  if (m.header.op == api::Op::kUpdate && worker != kAnyWorker) {
    // The SA's sequence numbers and replay window are its owner's alone: an update cannot
    // move it to another worker while packets of it may wait in the old one's ring.
    if (const int now = CandidateWorker(c, b.spi, inbound); now >= 0 && now != worker)
      return absl::FailedPreconditionError(
          absl::StrCat(name, " runs on worker ", now, ": an update cannot move it to ", worker));
    else if (now == kAnyWorker)
      return absl::FailedPreconditionError(absl::StrCat(
          name, " was installed for any worker: an update cannot name one (", worker, ")"));
  }
  if (b.vti_ifindex != 0) {
    auto it = c.cfg.interfaces.find(b.vti_ifindex);
    if (it == c.cfg.interfaces.end() || (it->second.body.kind != api::InterfaceKind::kVti &&
                                         it->second.body.kind != api::InterfaceKind::kVfp))
      return absl::FailedPreconditionError(
          absl::StrCat(name, ": interface ", b.vti_ifindex, " is not a VTI or VFP"));
  }
  auto cfg = SaConfigFromMessage(b);
  if (!cfg.ok())
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", cfg.status().message()));
  auto sa = esp::CreateSa<drivers::crypto::IpsecMbBackend>(*cfg);
  if (!sa.ok()) return absl::InvalidArgumentError(absl::StrCat(name, ": ", sa.status().message()));
  const bool add = m.header.op == api::Op::kAdd;
  c.sas.push_back({add ? SaChange::Kind::kAdd : SaChange::Kind::kReplace, b.spi, inbound,
                   std::move(*sa), static_cast<uint16_t>(b.vti_ifindex), b.reqid,
                   static_cast<int16_t>(worker)});
  c.sa_live += add ? 1 : 0;
  ++c.sa_new_entries;
  c.sa_new_inbound += inbound ? 1 : 0;
  return absl::OkStatus();
}

absl::Status CommandApplier::Stage(const api::Message& m, Candidate& c) {
  using api::MessageKind;
  using api::Op;
  const Op op = m.header.op;
  switch (m.header.kind) {
    case MessageKind::kInterface: {
      // Up/down and kind decide the routes through the interface. With addresses it also has
      // connected and local routes (and gateways resolve through it): every prefix is decided
      // again; without (a new tunnel), only the routes naming it (SyncFib).
      const uint32_t ifx = m.body.interface.ifindex;
      auto before = c.cfg.interfaces.find(ifx);
      const bool had_addresses =
          before != c.cfg.interfaces.end() && !before->second.addresses.empty();
      // IPv6 prefixes are re-decided only when the interface has IPv6 addresses or IPv6 routes
      // exist (which may name it): an IPv4-only configuration of thousands of VIFs or tunnels
      // never re-decides the FIB6 for them.
      if ((before != c.cfg.interfaces.end() && !before->second.addresses6.empty()) ||
          !c.cfg.routes6.empty())
        c.fib6_dirty = true;
      absl::Status st = StageInterface(m, c);
      if (had_addresses || m.header.op != api::Op::kAdd) {
        c.fib_full = true;
      } else {
        c.fib_interfaces.insert(ifx);
      }
      return st;
    }
    case MessageKind::kAddress: {
      const api::AddressBody& b = m.body.address;
      if (b.family == api::Family::kIpv6) return StageAddress6(m, c);
      c.fib_full = true;  // connected and local routes
      auto it = c.cfg.interfaces.find(b.ifindex);
      if (it == c.cfg.interfaces.end())
        return absl::NotFoundError(absl::StrCat("address: no interface ", b.ifindex));
      auto key = std::make_pair(V4(b.address), b.prefix_length);
      auto& addrs = it->second.addresses;
      if (op == Op::kDelete) {
        if (!addrs.erase(key))
          return absl::NotFoundError(absl::StrCat("address ", Ip(key.first), "/", b.prefix_length,
                                                  " is not on ", it->second.body.name));
        return absl::OkStatus();
      }
      if (addrs.size() >= kMaxAddressesPerInterface)
        return absl::ResourceExhaustedError("too many addresses on one interface");
      for (const auto& [ifx, other] : c.cfg.interfaces)
        for (const auto& a : other.addresses)
          if (a.first == key.first)
            return absl::AlreadyExistsError(
                absl::StrCat("address ", Ip(key.first), " is already on ", other.body.name));
      addrs.insert(key);
      return absl::OkStatus();
    }
    case MessageKind::kRoute: {
      const api::RouteBody& b = m.body.route;
      if (b.family == api::Family::kIpv6) return StageRoute6(m, c);
      // Keyed by the prefix the FIB holds (host bits cleared): one entry per FIB prefix, so a
      // batch that changes only routes re-decides only theirs (SyncFib).
      auto key = std::make_pair(V4(b.prefix) & Mask(b.prefix_length), b.prefix_length);
      c.fib_touched.insert(key);
      RouteConfig r{b.type, V4(b.next_hop), b.out_ifindex, b.distance};
      auto& list = c.cfg.routes[key];
      auto same = std::find_if(list.begin(), list.end(),
                               [&](const RouteConfig& x) { return x.key() == r.key(); });
      std::string what = absl::StrCat("route ", Ip(key.first), "/", b.prefix_length);
      if (op == Op::kDelete) {
        if (same == list.end()) return absl::NotFoundError(absl::StrCat(what, " does not exist"));
        list.erase(same);
        if (list.empty()) c.cfg.routes.erase(key);
      } else if (op == Op::kAdd) {
        if (same != list.end()) return absl::AlreadyExistsError(absl::StrCat(what, " exists"));
        if (list.empty() && c.cfg.routes.size() > dp_.sizes.routes)  // this one is counted
          return absl::ResourceExhaustedError(absl::StrCat(
              what, ": more than the dataplane's --max-routes ", dp_.sizes.routes, " prefixes"));
        list.push_back(r);
      } else {
        if (same == list.end()) return absl::NotFoundError(absl::StrCat(what, " does not exist"));
        *same = r;
      }
      return absl::OkStatus();
    }
    case MessageKind::kSa:
      return StageSa(m, c);
    case MessageKind::kVtiBinding: {
      const api::VtiBindingBody& b = m.body.vti_binding;
      auto it = c.cfg.interfaces.find(b.vti_ifindex);
      if (it == c.cfg.interfaces.end() || (it->second.body.kind != api::InterfaceKind::kVti &&
                                           it->second.body.kind != api::InterfaceKind::kVfp))
        return absl::FailedPreconditionError(
            absl::StrCat("vti-binding: interface ", b.vti_ifindex, " is not a VTI or VFP"));
      if (op == Op::kDelete) {
        if (!c.cfg.vti_bindings.erase(b.vti_ifindex))
          return absl::NotFoundError(
              absl::StrCat("vti-binding ", b.vti_ifindex, " does not exist"));
        c.cfg.vti_members.erase(b.vti_ifindex);
        return absl::OkStatus();
      }
      // Members (RFC 9611 groups): each worker's own outbound SA, installed on that worker, so
      // that it encrypts the tunnel's packets it receives without a handoff. An SA the
      // dataplane placed by load could land anywhere: only one named for its worker is one.
      bool members = false;
      for (uint32_t w = 0; w < api::kMaxSaGroupMembers; ++w) {
        const uint32_t spi = b.member_spi[w];
        if (spi == 0) continue;
        members = true;
        // A VFP's traffic is encrypted by its protect policies, which do not point at groups
        // yet: members there would be accepted and never used.
        if (it->second.body.kind == api::InterfaceKind::kVfp)
          return absl::FailedPreconditionError(absl::StrCat(
              "vti-binding ", b.vti_ifindex, ": per-worker members on a VFP are not supported"));
        const std::string what =
            absl::StrFormat("vti-binding %u: worker %u's member SA %08x", b.vti_ifindex, w, spi);
        if (w >= dp_.nworkers)
          return absl::OutOfRangeError(
              absl::StrCat(what, ": not below the dataplane's --workers ", dp_.nworkers));
        const int on = CandidateWorker(c, spi, /*inbound=*/false);
        if (on == kNoSa) return absl::NotFoundError(absl::StrCat(what, " does not exist"));
        if (on == kAnyWorker)
          return absl::FailedPreconditionError(
              absl::StrCat(what, " was installed for any worker, not `worker ", w, "`"));
        if (static_cast<uint32_t>(on) != w)
          return absl::FailedPreconditionError(absl::StrCat(what, " runs on worker ", on));
      }
      c.cfg.vti_bindings[b.vti_ifindex] = b.out_spi;
      if (members) {
        auto& list = c.cfg.vti_members[b.vti_ifindex];
        std::copy(std::begin(b.member_spi), std::end(b.member_spi), list.begin());
      } else {
        c.cfg.vti_members.erase(b.vti_ifindex);
      }
      return absl::OkStatus();
    }
    case MessageKind::kNeighbor: {
      const api::NeighborBody& b = m.body.neighbor;
      if (b.family == api::Family::kIpv6) return StageNeighbor6(m, c);
      if (!c.cfg.interfaces.count(b.ifindex))
        return absl::NotFoundError(absl::StrCat("neighbor: no interface ", b.ifindex));
      auto key = std::make_pair(b.ifindex, V4(b.address));
      if (op == Op::kDelete) {
        if (!c.cfg.neighbors.erase(key))
          return absl::NotFoundError(absl::StrCat("neighbor ", Ip(key.second), " does not exist"));
      } else {
        // Configured neighbours are never evicted: they may take only part of the table.
        const uint32_t max_static = dp_.neighbors->static_capacity();
        if (!c.cfg.neighbors.count(key) && c.cfg.neighbors.size() >= max_static)
          return absl::ResourceExhaustedError(
              absl::StrCat("neighbor ", Ip(key.second), ": more than ", max_static,
                           " static neighbors (half of --max-neighbors)"));
        std::array<uint8_t, 6> mac;
        std::memcpy(mac.data(), b.mac, 6);
        c.cfg.neighbors[key] = mac;
      }
      return absl::OkStatus();
    }
    case MessageKind::kPolicy: {
      const api::PolicyBody& b = m.body.policy;
      const bool v6 = b.family == api::Family::kIpv6;
      const PolicyKey key = KeyOf(b);
      auto it = c.cfg.policies.find(key);
      auto text = [&](const api::IpAddr& a) { return v6 ? Ip6Text(V6(a)) : Ip(V4(a)); };
      const std::string what =
          absl::StrCat("policy ", b.direction == api::Direction::kOut ? "out " : "in ", text(b.src),
                       "/", b.src_prefix_length, " -> ", text(b.dst), "/", b.dst_prefix_length);
      const int dir = b.direction == api::Direction::kOut ? 0 : 1;
      // Both families count towards one direction's --max-policies.
      uint32_t& count = c.policies[dir];
      const int list = dir + (v6 ? 2 : 0);
      if (op == Op::kDelete) {
        if (it == c.cfg.policies.end()) return absl::NotFoundError(what + " does not exist");
        c.cfg.policies.erase(it);
        --count;
        c.spd_dirty[list] = true;
      } else if (op == Op::kAdd) {
        if (it != c.cfg.policies.end()) return absl::AlreadyExistsError(what + " exists");
        if (count >= dp_.sizes.policies)
          return absl::ResourceExhaustedError(
              absl::StrCat(what, ": more than the dataplane's --max-policies ", dp_.sizes.policies,
                           " policies in one direction"));
        c.cfg.policies[key] = b;
        ++count;
        c.spd_dirty[list] = true;
      } else {
        // An update (vpnd re-pointing a policy at a rekeyed SA) keeps the selectors and the
        // priority, which are the key: the ACL stays; BuildSpd takes the new SA and action.
        if (it == c.cfg.policies.end()) return absl::NotFoundError(what + " does not exist");
        it->second = b;
      }
      return absl::OkStatus();
    }
    case MessageKind::kVrrpGroup:
      return StageVrrp(m, c);
    case MessageKind::kFwRuleset:
    case MessageKind::kFwRule:
    case MessageKind::kFwBinding:
    case MessageKind::kFwZone:
    case MessageKind::kFwZoneInterface:
    case MessageKind::kFwZonePolicy:
    case MessageKind::kFwGlobal:
      c.fw_changed = true;
      return StageFirewall(m, c.cfg);
    case MessageKind::kFlush: {
      uint32_t scope = m.body.flush.scope;
      c.fib_full = true;
      if (scope & api::kFlushFirewall) {
        c.cfg.fw = FwConfig{};
        c.fw_changed = c.fw_flush = true;
      }
      if (scope & api::kFlushSas) {
        c.sas.clear();
        c.sa_flush = true;
        c.sa_live = 0;
        c.sa_new_entries = c.sa_new_inbound = 0;
        c.sa_over_at = -1;
        c.cfg.policies.clear();  // an SPD without SAs would drop all protected traffic
        c.policies[0] = c.policies[1] = 0;
        std::fill(std::begin(c.spd_dirty), std::end(c.spd_dirty), true);
      }
      c.fib6_dirty = true;
      if ((scope & api::kFlushPolicies) && !(scope & api::kFlushSas)) {
        // vpnd's restart keeps the SAs and adds the policies of those it resumes again.
        c.cfg.policies.clear();
        c.policies[0] = c.policies[1] = 0;
        std::fill(std::begin(c.spd_dirty), std::end(c.spd_dirty), true);
      }
      if (scope & api::kFlushRoutes) {
        c.cfg.routes.clear();
        c.cfg.routes6.clear();
      }
      if (scope & api::kFlushNeighbors) {
        c.cfg.neighbors.clear();
        c.cfg.neighbors6.clear();
      }
      if (scope & api::kFlushAddresses)
        for (auto& [ifx, f] : c.cfg.interfaces) {
          f.addresses.clear();
          f.addresses6.clear();
        }
      if (scope & api::kFlushInterfaces) {
        c.cfg.interfaces.clear();
        c.cfg.vrrp.clear();  // groups go with their interfaces
        c.vrrp_touched = true;
        c.cfg.vti_bindings.clear();
        c.cfg.vti_members.clear();
        // What names interfaces goes with them.
        c.cfg.fw.bindings.clear();
        c.cfg.fw.zone_interfaces.clear();
        c.fw_changed = true;
        c.cfg.neighbors.clear();
        c.cfg.neighbors6.clear();
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown message kind");
}

absl::Status CommandApplier::StageVrrp(const api::Message& m, Candidate& c) {
  const api::VrrpGroupBody& b = m.body.vrrp_group;
  const auto key = std::make_pair(b.ifindex, b.vrid);
  auto it = c.cfg.vrrp.find(key);
  const std::string name = absl::StrCat("VRRP group ", b.vrid, " on interface ", b.ifindex);
  c.vrrp_touched = true;
  c.fib_full = true;  // the local route of 224.0.0.18 comes and goes with the groups
  if (m.header.op == api::Op::kDelete) {
    if (it == c.cfg.vrrp.end()) return absl::NotFoundError(absl::StrCat(name, " does not exist"));
    c.cfg.vrrp.erase(it);
    return absl::OkStatus();
  }
  if (m.header.op == api::Op::kAdd && it != c.cfg.vrrp.end())
    return absl::AlreadyExistsError(absl::StrCat(name, " exists"));
  if (m.header.op == api::Op::kUpdate && it == c.cfg.vrrp.end())
    return absl::NotFoundError(absl::StrCat(name, " does not exist"));
  auto f = c.cfg.interfaces.find(b.ifindex);
  if (f == c.cfg.interfaces.end() || (f->second.body.kind != api::InterfaceKind::kPort &&
                                      f->second.body.kind != api::InterfaceKind::kBond &&
                                      f->second.body.kind != api::InterfaceKind::kVif))
    return absl::FailedPreconditionError(
        absl::StrCat(name, ": not a port, bond or VIF (VRRP runs on Ethernet)"));
  // What the interface table holds while every group on it is master: its virtual MACs and,
  // beside its own addresses, the virtual ones.
  c.cfg.vrrp[key] = b;
  size_t groups = 0, addrs = f->second.addresses.size();
  for (auto g = c.cfg.vrrp.lower_bound({b.ifindex, 0});
       g != c.cfg.vrrp.end() && g->first.first == b.ifindex; ++g) {
    ++groups;
    addrs += g->second.naddrs;
  }
  if (groups > sizeof(Interface::vmac_vrid))
    return absl::ResourceExhaustedError(absl::StrCat(
        name, ": more than ", sizeof(Interface::vmac_vrid), " VRRP groups on one interface"));
  if (addrs > kMaxAddressesPerInterface)
    return absl::ResourceExhaustedError(
        absl::StrCat(name, ": its virtual and the interface's own addresses are more than ",
                     kMaxAddressesPerInterface, " (an interface's addresses)"));
  return absl::OkStatus();
}

void CommandApplier::SetVrrpAddresses(uint32_t ifindex, uint8_t vrid, std::vector<uint32_t> addrs) {
  const auto key = std::make_pair(ifindex, vrid);
  // Only the /32s of the addresses that come or go are decided again (not the whole FIB: the
  // main lcore must stay quick to advertise).
  Candidate c;
  auto touch = [&](const std::vector<uint32_t>& list) {
    for (uint32_t a : list) c.fib_touched.insert({a, 32});
  };
  if (auto it = vrrp_active_.find(key); it != vrrp_active_.end()) touch(it->second);
  touch(addrs);
  if (addrs.empty()) {
    if (!vrrp_active_.erase(key)) return;
  } else {
    vrrp_active_[key] = std::move(addrs);
  }
  // Local routes for the addresses, then tables that hold them (ARP, the virtual MAC).
  if (absl::Status s = SyncFib(state_, c); !s.ok())
    std::fprintf(stderr, "vpn-dataplane: vrrp: local routes of group %u not all installed: %s\n",
                 vrid, std::string(s.message()).c_str());
  Tables* fresh = BuildTables(state_);
  fresh->fw = fw_.get();
  Tables* old = dp_.tables.exchange(fresh, std::memory_order_acq_rel);
  rte_rcu_qsbr_synchronize(dp_.rcu, RTE_QSBR_THRID_INVALID);
  delete old;
  dp_.fib->ReclaimNextHops();
}

uint8_t CommandApplier::VrrpOwner(uint32_t ifindex, uint32_t addr) const {
  for (auto it = vrrp_active_.lower_bound({ifindex, 0});
       it != vrrp_active_.end() && it->first.first == ifindex; ++it)
    for (uint32_t a : it->second)
      if (a == addr) return it->first.second;
  return 0;
}

api::ApplyResult CommandApplier::Apply(const api::CommandBatch& batch) {
  Candidate c;
  c.cfg = state_;
  c.sa_live = dp_.sas->count();
  for (const auto& [key, p] : c.cfg.policies)
    ++c.policies[p.direction == api::Direction::kOut ? 0 : 1];
  for (uint32_t i = 0; i < batch.messages.size(); ++i) {
    absl::Status s = Stage(batch.messages[i], c);
    if (!s.ok()) {
      ++failed_;
      return {s, i};
    }
    if (c.sa_over_at < 0 && c.sa_live > dp_.sas->capacity()) c.sa_over_at = i;
  }
  // The SA table must hold the result, and every SA the batch adds or replaces must find an
  // entry while the ones it removes wait for their grace period: refused here, the batch
  // changes nothing (an update's old SA stays).
  if (absl::Status s = dp_.sas->CheckRoom(static_cast<uint32_t>(std::max<int64_t>(c.sa_live, 0)),
                                          c.sa_new_entries, c.sa_new_inbound);
      !s.ok()) {
    ++failed_;
    return {s, c.sa_over_at >= 0 ? static_cast<uint32_t>(c.sa_over_at)
                                 : static_cast<uint32_t>(batch.messages.size())};
  }
  // The SPD's ACLs likewise, when the batch changed policies (else the snapshots keep
  // sharing the current ones).
  for (int list = 0; list < 4; ++list) {
    if (!c.spd_dirty[list]) continue;
    const bool v6 = list >= 2;
    std::vector<PolicyEntry> ordered =
        OrderedPolicies(c.cfg, list % 2 == 0 ? api::Direction::kOut : api::Direction::kIn,
                        v6 ? api::Family::kIpv6 : api::Family::kIpv4);
    if (ordered.empty()) continue;
    const std::string name =
        absl::StrFormat("%s_spd%s%d_%d", dp_.name, v6 ? "6_" : "", list % 2, ++spd_generation_);
    auto acl = v6 ? CompileSpd6(name, ordered) : CompileSpd(name, ordered);
    if (!acl.ok()) {
      ++failed_;
      return {acl.status(), static_cast<uint32_t>(batch.messages.size())};
    }
    c.spd_acl[list] = std::move(*acl);
  }
  // The firewall's ACLs are compiled before anything changes: one that cannot be built (no
  // memory) fails the batch.
  if (c.fw_changed) {
    auto fw = BuildFirewall(c.cfg, dp_.nworkers, dp_.sizes.interfaces, dp_.name, ++fw_generation_);
    if (!fw.ok()) {
      ++failed_;
      return {fw.status(), static_cast<uint32_t>(batch.messages.size())};
    }
    c.fw = std::move(*fw);
  }
  // Bonds: members must be ports of the port map, the primary one of them.
  auto bonds = bonds_.MakePlan(c.cfg);
  if (!bonds.ok()) {
    ++failed_;
    return {bonds.status(), static_cast<uint32_t>(batch.messages.size())};
  }
  if (absl::Status s = Commit(std::move(c), *bonds); !s.ok()) {
    ++failed_;
    return {s, static_cast<uint32_t>(batch.messages.size())};
  }
  ++applied_;
  return {absl::OkStatus(), 0};
}

Tables* CommandApplier::BuildTables(const ConfigState& cfg, const std::set<uint16_t>& busy) const {
  auto* t = new Tables(dp_.sizes.interfaces);
  const Tables& old = dp_.CurrentTables();
  t->version = old.version + 1;
  for (const auto& [ifx, f] : cfg.interfaces) {
    Interface& i = t->ifs[ifx];
    const api::InterfaceBody& b = f.body;
    i.kind = IfKindOf(b.kind);
    // A bond with fewer working links than its minimum-links is down until it has them.
    i.up = b.admin_up != 0 && !(b.kind == api::InterfaceKind::kBond && bonds_.BelowMinimum(b.name));
    i.mtu = b.mtu;
    std::memcpy(i.name, b.name, sizeof i.name);
    if (b.kind == api::InterfaceKind::kPort || b.kind == api::InterfaceKind::kBond) {
      // Staging refuses names the port map lacks; kNoPort still keeps an interface without a
      // port from ever claiming port 0 (sends on it are counted as interface_without_port).
      // A bond member has none of its own: the bond polls it.
      i.port = kNoPort;
      const bool bond = b.kind == api::InterfaceKind::kBond;
      for (uint16_t p = 0; p < kMaxPorts && b.bond_ifindex == 0; ++p) {
        const PortInfo& pi = dp_.ports[p];
        if (pi.present && pi.bond == bond && pi.name == b.name && !pi.bond_member &&
            !busy.count(p)) {
          i.port = p;
          i.mac = pi.mac;
        }
      }
    }
    if (b.kind == api::InterfaceKind::kVif) {
      i.parent = b.parent_ifindex;
      i.vlan = b.vlan;
    }
    for (const auto& [addr, len] : f.addresses) i.addr[i.naddr++] = {addr, len};
    // Advertisements are punted only from interfaces with groups.
    i.has_vrrp = cfg.vrrp.lower_bound({ifx, 0}) != cfg.vrrp.end() &&
                 cfg.vrrp.lower_bound({ifx, 0})->first.first == ifx;
    // A VRRP master's virtual addresses, after the configured ones (addr[0] stays the source
    // address), and its virtual MAC, which the interface then receives on.
    for (auto it = vrrp_active_.lower_bound({ifx, 0});
         it != vrrp_active_.end() && it->first.first == ifx; ++it) {
      if (!cfg.vrrp.count(it->first)) continue;
      if (i.nvmac < sizeof i.vmac_vrid) i.vmac_vrid[i.nvmac++] = it->first.second;
      for (uint32_t a : it->second) {
        bool have = false;
        for (uint8_t k = 0; k < i.naddr; ++k) have |= i.addr[k].addr == a;
        if (!have && i.naddr < kMaxAddressesPerInterface) i.addr[i.naddr++] = {a, 32};
      }
    }
    for (const auto& [addr, len] : f.addresses6) {
      IfAddress6& a = i.addr6[i.naddr6++];
      std::memcpy(a.addr, addr.data(), 16);
      a.len = len;
      a.duplicate = duplicates6_.count({ifx, addr}) != 0;
    }
    if (auto bind = cfg.vti_bindings.find(ifx); bind != cfg.vti_bindings.end())
      i.SetOutSa(dp_.sas->Find(bind->second, /*inbound=*/false));
  }
  // Groups: each member that is installed and runs on its worker (staging checked both; a
  // member SA removed since is simply absent, its worker back on the fallback).
  t->groups.reserve(cfg.vti_members.size());
  for (const auto& [ifx, members] : cfg.vti_members) {
    Interface& i = t->ifs[ifx];
    if (i.kind != IfKind::kVti && i.kind != IfKind::kVfp) continue;
    SaGroup g;
    bool any = false;
    for (uint32_t w = 0; w < dp_.nworkers && w < api::kMaxSaGroupMembers; ++w) {
      SaEntry* e = members[w] != 0 ? dp_.sas->Find(members[w], /*inbound=*/false) : nullptr;
      if (e == nullptr || e->owner != w) continue;
      g.m[w] = {e, e->sa.get()};
      any = true;
    }
    if (!any) continue;
    t->groups.push_back(g);
    i.out_group = &t->groups.back();
  }
  // VIFs take their parent's port and MAC, and are down while it is (disabled, or a bond
  // below its minimum-links).
  for (const auto& [ifx, f] : cfg.interfaces) {
    Interface& i = t->ifs[ifx];
    if (i.kind == IfKind::kVif) {
      i.port = t->ifs[i.parent].port;
      i.mac = t->ifs[i.parent].mac;
      i.up = i.up && t->ifs[i.parent].up;
    }
  }
  // A VTI's MTU is configured for IPv4 outer headers (vpnd and dpctl default 1428): with an
  // SA between IPv6 endpoints the ESP packet is 20 bytes longer and would not fit the link.
  // Its effective MTU is the lower of the two, so what it takes is sent, and what it does not
  // is answered (packet too big, fragmentation needed) or fragmented before encryption.
  for (const auto& [ifx, f] : cfg.interfaces) {
    Interface& i = t->ifs[ifx];
    if ((i.kind == IfKind::kVti || i.kind == IfKind::kVfp) && i.out_sa != nullptr &&
        i.out_sa->sa->family == AF_INET6)
      i.mtu = std::min(i.mtu, PolicyMtu(*t, *i.out_sa));
    // One MTU for the whole tunnel, whichever worker's member a packet meets.
    for (uint32_t w = 0; i.out_group != nullptr && w < kMaxWorkers; ++w)
      if (const SaEntry* e = i.out_group->m[w].sa; e != nullptr && e->sa->family == AF_INET6)
        i.mtu = std::min(i.mtu, PolicyMtu(*t, *e));
  }
  t->Reindex();
  BuildSpd(cfg, *t);
  return t;
}

std::vector<PolicyEntry> CommandApplier::OrderedPolicies(const ConfigState& cfg, api::Direction dir,
                                                         api::Family family) {
  std::vector<const api::PolicyBody*> list;
  for (const auto& [key, p] : cfg.policies)
    if (p.direction == dir && p.family == family) list.push_back(&p);
  // Priority first (lower wins), then the more specific selector, as strongSwan orders them.
  // The order is the ACL's (rule i has precedence i), so it must not depend on anything but
  // the policies: the same policies give the same order batch after batch.
  std::stable_sort(list.begin(), list.end(),
                   [](const api::PolicyBody* a, const api::PolicyBody* b) {
                     if (a->priority != b->priority) return a->priority < b->priority;
                     return a->src_prefix_length + a->dst_prefix_length >
                            b->src_prefix_length + b->dst_prefix_length;
                   });
  std::vector<PolicyEntry> out(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const api::PolicyBody* p = list[i];
    PolicyEntry& e = out[i];
    e = {};
    if (family == api::Family::kIpv6) {
      const auto src = MaskIp6(V6(p->src), p->src_prefix_length);
      const auto dst = MaskIp6(V6(p->dst), p->dst_prefix_length);
      std::memcpy(e.src6, src.data(), 16);
      std::memcpy(e.dst6, dst.data(), 16);
      e.src6_len = p->src_prefix_length;
      e.dst6_len = p->dst_prefix_length;
    } else {
      e.src_mask = Mask(p->src_prefix_length);
      e.dst_mask = Mask(p->dst_prefix_length);
      e.src = V4(p->src) & e.src_mask;
      e.dst = V4(p->dst) & e.dst_mask;
    }
    e.sport_lo = p->src_port_low;
    e.sport_hi = p->src_port_high;
    e.dport_lo = p->dst_port_low;
    e.dport_hi = p->dst_port_high;
    e.has_ports = e.sport_lo != 0 || e.sport_hi != 65535 || e.dport_lo != 0 || e.dport_hi != 65535;
    e.proto = p->protocol;
    e.action = PolicyActionOf(p->action);
    e.priority = p->priority;
    e.reqid = p->reqid;
    e.sa_spi = p->direction == api::Direction::kOut ? p->out_spi : 0;
  }
  return out;
}

void CommandApplier::BuildSpd(const ConfigState& cfg, Tables& t) const {
  SpdDirection* lists[4] = {&t.spd.out, &t.spd.in, &t.spd.out6, &t.spd.in6};
  for (int list = 0; list < 4; ++list) {
    SpdDirection& d = *lists[list];
    d.entries = OrderedPolicies(cfg, list % 2 == 0 ? api::Direction::kOut : api::Direction::kIn,
                                list >= 2 ? api::Family::kIpv6 : api::Family::kIpv4);
    d.n = static_cast<uint32_t>(d.entries.size());
    d.acl = d.n ? spd_acl_[list] : nullptr;
    d.ports = false;
    for (PolicyEntry& e : d.entries) {
      d.ports |= e.has_ports;
      // The SA may have been replaced by this batch: looked up again for every snapshot.
      if (e.sa_spi != 0) e.sa = dp_.sas->Find(e.sa_spi, /*inbound=*/false);
      e.mtu = e.sa ? PolicyMtu(t, *e.sa) : 0;
    }
  }
}

uint32_t CommandApplier::PolicyMtu(const Tables& t, const SaEntry& sa) const {
  // The interface towards the peer, less the tunnel's overhead (outer headers, IV, the longest
  // padding and the ICV), kept a multiple of 4 as a VTI's would be.
  uint16_t ifx;
  if (sa.sa->family == AF_INET6) {
    ifx = dp_.fib6->next_hop(dp_.fib6->Lookup(sa.sa->remote)).ifindex;
  } else {
    uint32_t remote;
    std::memcpy(&remote, sa.sa->remote, 4);
    ifx = dp_.fib->next_hop(dp_.fib->Lookup(remote)).ifindex;
  }
  uint32_t link = ifx && t.ifs[ifx].mtu ? t.ifs[ifx].mtu : 1500;
  uint32_t overhead = sa.sa->hdr_len + 2 + sa.sa->pad_mask() + sa.sa->icv_len;
  return link > overhead + 68 ? (link - overhead) & ~3u : 68;
}

absl::Status CommandApplier::SyncFib(const ConfigState& cfg, const Candidate& c) {
  std::map<std::pair<uint32_t, uint8_t>, std::pair<int, NextHop>> want;  // -> (distance, nh)
  // A batch that changed only routes re-decides only their prefixes (loading a million routes
  // in batches must not rebuild the whole table for every batch); anything that changes
  // connected routes or interfaces re-decides every prefix.
  const bool full = c.fib_full || !fib_synced_;
  // Incremental: the prefixes of the routes the batch changed and of those through the
  // interfaces it added (without addresses).
  std::set<std::pair<uint32_t, uint8_t>> touched;
  if (!full) {
    touched = c.fib_touched;
    if (!c.fib_interfaces.empty())
      for (const auto& [key, list] : cfg.routes)
        for (const RouteConfig& r : list)
          if (c.fib_interfaces.count(r.out_ifindex)) touched.insert(key);
  }
  auto offer = [&](uint32_t prefix, uint8_t len, int distance, const NextHop& nh) {
    auto key = std::make_pair(prefix & Mask(len), len);
    if (!full && !touched.count(key)) return;
    auto it = want.find(key);
    if (it == want.end() || distance < it->second.first) want[key] = {distance, nh};
  };
  auto is_tunnel = [&](uint32_t ifx) {
    auto it = cfg.interfaces.find(ifx);
    return it != cfg.interfaces.end() && (it->second.body.kind == api::InterfaceKind::kVti ||
                                          it->second.body.kind == api::InterfaceKind::kVfp);
  };
  auto is_up = [&](uint32_t ifx) {
    auto it = cfg.interfaces.find(ifx);
    return it != cfg.interfaces.end() && it->second.body.admin_up;
  };
  // Connected and local routes.
  std::vector<std::tuple<uint32_t, uint8_t, uint32_t>> connected;  // prefix, len, ifindex
  for (const auto& [ifx, f] : cfg.interfaces) {
    if (!f.body.admin_up) continue;
    for (const auto& [addr, len] : f.addresses) {
      NhType type = is_tunnel(ifx) ? NhType::kInterface : NhType::kConnected;
      if (len < 32) {
        offer(addr, len, 0, {type, static_cast<uint16_t>(ifx), 0});
        connected.emplace_back(addr & Mask(len), len, ifx);
      }
      offer(addr, 32, 0, {NhType::kLocal, static_cast<uint16_t>(ifx), 0});
    }
  }
  // VRRP: a master's virtual addresses are ours, and advertisements (to 224.0.0.18) are
  // delivered here (the main lcore's VRRP service takes them from local delivery).
  for (const auto& [key, addrs] : vrrp_active_) {
    if (!cfg.vrrp.count(key) || !is_up(key.first)) continue;
    for (uint32_t a : addrs) offer(a, 32, 0, {NhType::kLocal, static_cast<uint16_t>(key.first), 0});
  }
  if (!cfg.vrrp.empty())
    offer(RTE_BE32(RTE_IPV4(224, 0, 0, 18)), 32, 0,
          {NhType::kLocal, static_cast<uint16_t>(cfg.vrrp.begin()->first.first), 0});
  // Gateways are looked up by prefix length (a handful of probes), not by a walk of every
  // connected prefix per route: a full re-decision of a million gateway routes with 10,000
  // tunnel addresses stays linear.
  absl::flat_hash_map<uint32_t, uint32_t> connected_by_len[32];  // masked prefix -> ifindex
  uint32_t connected_lens = 0;                                   // bit len: some of that length
  for (const auto& [p, len, cifx] : connected) {
    connected_by_len[len].emplace(p, cifx);
    connected_lens |= 1u << len;
  }
  // Static routes: a gateway is reached through the connected network that holds it.
  auto offer_routes = [&](const std::pair<uint32_t, uint8_t>& key,
                          const std::vector<RouteConfig>& list) {
    for (const RouteConfig& r : list) {
      NextHop nh{};
      if (r.type == api::RouteType::kBlackhole) {
        nh.type = NhType::kBlackhole;
      } else if (r.type == api::RouteType::kInterface) {
        if (!is_up(r.out_ifindex)) continue;
        nh = {is_tunnel(r.out_ifindex) ? NhType::kInterface : NhType::kConnected,
              static_cast<uint16_t>(r.out_ifindex), 0};
      } else {
        uint32_t ifx = r.out_ifindex;
        if (ifx == 0) {
          // The longest connected prefix holding the gateway (the first of equal ones).
          for (uint32_t bits = connected_lens; bits != 0 && ifx == 0;) {
            const int len = 31 - __builtin_clz(bits);
            bits &= ~(1u << len);
            auto it = connected_by_len[len].find(r.next_hop & Mask(static_cast<uint8_t>(len)));
            if (it != connected_by_len[len].end()) ifx = it->second;
          }
        }
        if (ifx == 0 || !is_up(ifx)) continue;  // not reachable now: inactive
        nh = is_tunnel(ifx) ? NextHop{NhType::kInterface, static_cast<uint16_t>(ifx), 0}
                            : NextHop{NhType::kGateway, static_cast<uint16_t>(ifx), r.next_hop};
      }
      offer(key.first, key.second, r.distance, nh);
    }
  };
  absl::Status result = absl::OkStatus();
  if (!full) {
    for (const auto& key : touched) {
      if (auto it = cfg.routes.find(key); it != cfg.routes.end()) offer_routes(key, it->second);
      if (!want.count(key)) (void)dp_.fib->Remove(key.first, key.second);  // gone: no route
    }
  } else {
    for (const auto& [key, list] : cfg.routes) offer_routes(key, list);
    for (const auto& [k, nh] : dp_.fib->Dump())
      if (!want.count(k)) (void)dp_.fib->Remove(k.first, k.second);
  }
  for (const auto& [k, v] : want)
    if (absl::Status s = dp_.fib->Set(k.first, k.second, v.second); !s.ok() && result.ok())
      result = s;
  // A prefix that did not fit is decided again by the next full re-decision, which the next
  // batch then is.
  fib_synced_ = result.ok();
  return result;
}

void CommandApplier::SyncNeighbors(const ConfigState& cfg) {
  std::vector<NeighborEntry*> stale;
  dp_.neighbors->ForEach([&](NeighborEntry& e) {
    if (e.state == NeighborState::kStatic && !cfg.neighbors.count({e.ifindex, e.ip}))
      stale.push_back(&e);
    else if (!cfg.interfaces.count(e.ifindex))
      stale.push_back(&e);
  });
  for (NeighborEntry* e : stale) dp_.neighbors->Remove(e);
  for (const auto& [key, mac] : cfg.neighbors) {
    // Learned entries make way (staging kept static ones to a part of the table), so this
    // cannot fail.
    NeighborEntry* e = dp_.AdmitNeighbor(static_cast<uint16_t>(key.first), key.second);
    if (e == nullptr) continue;
    rte_ether_addr a;
    std::memcpy(a.addr_bytes, mac.data(), 6);
    dp_.neighbors->SetMac(e, a, NeighborState::kStatic, 0);
  }
}

absl::Status CommandApplier::StageAddress6(const api::Message& m, Candidate& c) {
  const api::AddressBody& b = m.body.address;
  c.fib6_dirty = true;
  auto it = c.cfg.interfaces.find(b.ifindex);
  if (it == c.cfg.interfaces.end())
    return absl::NotFoundError(absl::StrCat("address: no interface ", b.ifindex));
  auto key = std::make_pair(V6(b.address), b.prefix_length);
  const std::string what = absl::StrCat("address ", Ip6Text(key.first), "/", b.prefix_length);
  auto& addrs = it->second.addresses6;
  if (m.header.op == api::Op::kDelete) {
    if (!addrs.erase(key))
      return absl::NotFoundError(absl::StrCat(what, " is not on ", it->second.body.name));
    return absl::OkStatus();
  }
  if (key.first[0] == 0xff) return absl::InvalidArgumentError(what + ": a multicast address");
  if (addrs.size() >= kMaxAddressesPerInterface)
    return absl::ResourceExhaustedError("too many IPv6 addresses on one interface");
  // A link-local address is one link's: the same one on several (fe80::1 as every VLAN's
  // gateway, say) is usual; any other belongs to one interface.
  const bool link_local = LinkLocal6(key.first.data());
  for (const auto& [ifx, other] : c.cfg.interfaces)
    for (const auto& a : other.addresses6)
      if (a.first == key.first && (!link_local || ifx == b.ifindex))
        return absl::AlreadyExistsError(absl::StrCat(what, " is already on ", other.body.name));
  addrs.insert(key);
  return absl::OkStatus();
}

absl::Status CommandApplier::StageRoute6(const api::Message& m, Candidate& c) {
  const api::RouteBody& b = m.body.route;
  c.fib6_dirty = true;
  auto key = std::make_pair(MaskIp6(V6(b.prefix), b.prefix_length), b.prefix_length);
  RouteConfig6 r{b.type, V6(b.next_hop), b.out_ifindex, b.distance};
  auto& list = c.cfg.routes6[key];
  auto same = std::find_if(list.begin(), list.end(),
                           [&](const RouteConfig6& x) { return x.key() == r.key(); });
  const std::string what = absl::StrCat("route ", Ip6Text(key.first), "/", b.prefix_length);
  const api::Op op = m.header.op;
  if (op == api::Op::kDelete) {
    if (same == list.end()) {
      if (list.empty()) c.cfg.routes6.erase(key);
      return absl::NotFoundError(absl::StrCat(what, " does not exist"));
    }
    list.erase(same);
    if (list.empty()) c.cfg.routes6.erase(key);
  } else if (op == api::Op::kAdd) {
    if (same != list.end()) return absl::AlreadyExistsError(absl::StrCat(what, " exists"));
    if (list.empty() && c.cfg.routes6.size() > dp_.sizes.routes6)  // this one is counted
      return absl::ResourceExhaustedError(absl::StrCat(
          what, ": more than the dataplane's --max-routes6 ", dp_.sizes.routes6, " prefixes"));
    list.push_back(r);
  } else {
    if (same == list.end()) return absl::NotFoundError(absl::StrCat(what, " does not exist"));
    *same = r;
  }
  return absl::OkStatus();
}

absl::Status CommandApplier::StageNeighbor6(const api::Message& m, Candidate& c) {
  const api::NeighborBody& b = m.body.neighbor;
  if (!c.cfg.interfaces.count(b.ifindex))
    return absl::NotFoundError(absl::StrCat("neighbor: no interface ", b.ifindex));
  auto key = std::make_pair(b.ifindex, V6(b.address));
  const std::string what = absl::StrCat("neighbor ", Ip6Text(key.second));
  if (m.header.op == api::Op::kDelete) {
    if (!c.cfg.neighbors6.erase(key)) return absl::NotFoundError(what + " does not exist");
    return absl::OkStatus();
  }
  const uint32_t max_static = dp_.neighbors6->static_capacity();
  if (!c.cfg.neighbors6.count(key) && c.cfg.neighbors6.size() >= max_static)
    return absl::ResourceExhaustedError(absl::StrCat(
        what, ": more than ", max_static, " static IPv6 neighbors (half of --max-neighbors)"));
  std::array<uint8_t, 6> mac;
  std::memcpy(mac.data(), b.mac, 6);
  c.cfg.neighbors6[key] = mac;
  return absl::OkStatus();
}

absl::Status CommandApplier::SyncFib6(const ConfigState& cfg) {
  using Key = std::pair<Ip6, uint8_t>;
  std::map<Key, std::pair<int, NextHop6>> want;  // -> (distance, nh)
  auto offer = [&](const Ip6& prefix, uint8_t len, int distance, const NextHop6& nh) {
    Key key{MaskIp6(prefix, len), len};
    auto it = want.find(key);
    if (it == want.end() || distance < it->second.first) want[key] = {distance, nh};
  };
  auto kind_of = [&](uint32_t ifx) -> const api::InterfaceBody* {
    auto it = cfg.interfaces.find(ifx);
    return it == cfg.interfaces.end() ? nullptr : &it->second.body;
  };
  auto is_tunnel = [&](uint32_t ifx) {
    const api::InterfaceBody* b = kind_of(ifx);
    return b && (b->kind == api::InterfaceKind::kVti || b->kind == api::InterfaceKind::kVfp);
  };
  auto is_up = [&](uint32_t ifx) {
    const api::InterfaceBody* b = kind_of(ifx);
    return b && b->admin_up;
  };
  std::vector<std::tuple<Ip6, uint8_t, uint32_t>> connected;
  for (const auto& [ifx, f] : cfg.interfaces) {
    if (!f.body.admin_up) continue;
    for (const auto& [addr, len] : f.addresses6) {
      // Link-local prefixes are every link's: no route; the worker delivers and answers them
      // by interface (stage_ipv6.cc). A duplicate is not ours: no route either.
      if (LinkLocal6(addr.data()) || duplicates6_.count({ifx, addr})) continue;
      const NhType type = is_tunnel(ifx) ? NhType::kInterface : NhType::kConnected;
      if (len < 128) {
        offer(addr, len, 0, {type, static_cast<uint16_t>(ifx), {}});
        connected.emplace_back(MaskIp6(addr, len), len, ifx);
      }
      offer(addr, 128, 0, {NhType::kLocal, static_cast<uint16_t>(ifx), {}});
    }
  }
  for (const auto& [key, list] : cfg.routes6) {
    for (const RouteConfig6& r : list) {
      NextHop6 nh{};
      if (r.type == api::RouteType::kBlackhole) {
        nh.type = NhType::kBlackhole;
      } else if (r.type == api::RouteType::kInterface) {
        if (!is_up(r.out_ifindex)) continue;
        nh = {is_tunnel(r.out_ifindex) ? NhType::kInterface : NhType::kConnected,
              static_cast<uint16_t>(r.out_ifindex),
              {}};
      } else {
        uint32_t ifx = r.out_ifindex;
        // Link-local gateways need the interface named; others are found in the longest
        // connected prefix holding them.
        int best = -1;
        for (const auto& [p, len, cifx] : connected)
          if (ifx == 0 && len > best && MaskIp6(r.next_hop, len) == p) {
            best = len;
            ifx = cifx;
          }
        if (ifx == 0 || !is_up(ifx)) continue;
        nh = is_tunnel(ifx) ? NextHop6{NhType::kInterface, static_cast<uint16_t>(ifx), {}}
                            : NextHop6{NhType::kGateway, static_cast<uint16_t>(ifx), r.next_hop};
      }
      offer(key.first, key.second, r.distance, nh);
    }
  }
  absl::Status result = absl::OkStatus();
  for (const auto& [k, nh] : dp_.fib6->Dump())
    if (!want.count(k)) (void)dp_.fib6->Remove(k.first, k.second);
  for (const auto& [k, v] : want)
    if (absl::Status s = dp_.fib6->Set(k.first, k.second, v.second); !s.ok() && result.ok())
      result = s;
  fib6_synced_ = result.ok();
  return result;
}

void CommandApplier::SyncNeighbors6(const ConfigState& cfg) {
  std::vector<NeighborEntry*> stale;
  dp_.neighbors6->ForEach([&](NeighborEntry& e) {
    Ip6 a;
    std::memcpy(a.data(), e.ip6, 16);
    if (e.state == NeighborState::kStatic && !cfg.neighbors6.count({e.ifindex, a}))
      stale.push_back(&e);
    else if (!cfg.interfaces.count(e.ifindex))
      stale.push_back(&e);
  });
  for (NeighborEntry* e : stale) dp_.neighbors6->Remove(e);
  for (const auto& [key, mac] : cfg.neighbors6) {
    NeighborEntry* e = dp_.AdmitNeighbor6(static_cast<uint16_t>(key.first), key.second.data());
    if (e == nullptr) continue;
    rte_ether_addr a;
    std::memcpy(a.addr_bytes, mac.data(), 6);
    dp_.neighbors6->SetMac(e, a, NeighborState::kStatic, 0);
  }
}

void CommandApplier::MarkDuplicate6(uint16_t ifindex, const uint8_t* addr) {
  std::array<uint8_t, 16> a;
  std::memcpy(a.data(), addr, 16);
  if (!duplicates6_.insert({ifindex, a}).second) return;
  // Its routes first, then tables that no longer deliver to it or send from it.
  (void)SyncFib6(state_);
  Tables* fresh = BuildTables(state_);
  fresh->fw = fw_.get();
  Tables* old = dp_.tables.exchange(fresh, std::memory_order_acq_rel);
  rte_rcu_qsbr_synchronize(dp_.rcu, RTE_QSBR_THRID_INVALID);
  delete old;
}

void CommandApplier::WatchBondLinks() {
  if (!bonds_.WatchLinks()) return;
  Tables* fresh = BuildTables(state_);
  fresh->fw = fw_.get();
  Tables* old = dp_.tables.exchange(fresh, std::memory_order_acq_rel);
  rte_rcu_qsbr_synchronize(dp_.rcu, RTE_QSBR_THRID_INVALID);
  delete old;
}

absl::Status CommandApplier::RebuildBonds(const BondSync::Plan& bonds,
                                          const std::set<uint16_t>& busy) {
  // LACP keepalives (workers' empty transmit calls) off first, then tables without the busy
  // ports; after the grace period no worker polls, sends on or keeps alive any of them.
  for (uint16_t p : busy) dp_.ports[p].lacp.store(false, std::memory_order_relaxed);
  Tables* quiet = BuildTables(state_, busy);
  quiet->fw = fw_.get();
  Tables* old = dp_.tables.exchange(quiet, std::memory_order_acq_rel);
  rte_rcu_qsbr_synchronize(dp_.rcu, RTE_QSBR_THRID_INVALID);
  delete old;
  return bonds_.Apply(bonds);
}

absl::Status CommandApplier::Commit(Candidate c, const BondSync::Plan& bonds) {
  absl::Status result = absl::OkStatus();
  // Bonds first: the new tables map interfaces to the ports they build. A bond that fails to
  // build is reported (the batch is not acked as applied) and has no port until the next try.
  if (const std::set<uint16_t> busy = bonds_.Affected(bonds); !busy.empty())
    result = RebuildBonds(bonds, busy);
  bonds_.SetMinimums(bonds);
  // SAs first, so the new tables can point at them.
  if (c.sa_flush) {
    std::vector<SaEntry*> all;
    dp_.sas->ForEach([&](const SaEntry& e) { all.push_back(const_cast<SaEntry*>(&e)); });
    for (SaEntry* e : all) dp_.sas->Remove(e);
  }
  for (SaChange& ch : c.sas) {
    SaEntry* old = dp_.sas->Find(ch.spi, ch.inbound);
    if (ch.kind == SaChange::Kind::kRemove) {
      if (old) dp_.sas->Remove(old);
      continue;
    }
    uint16_t owner = old              ? old->owner
                     : ch.worker >= 0 ? static_cast<uint16_t>(ch.worker)
                                      : PickOwner(ch.inbound, ch.ifindex, ch.reqid);
    if (ch.kind == SaChange::Kind::kReplace && old) {
      // The replacement continues the old SA's counters and sequence numbers. Workers may still
      // send on the old one until the grace period ends, so the new one starts well past it: a
      // sequence number (a GCM nonce) must never repeat.
      esp::Sa& n = *ch.sa;
      esp::Sa& o = *old->sa;
      n.seq = o.seq + (uint64_t{1} << 20);
      n.packets = o.packets;
      n.bytes = o.bytes;
      n.replay = o.replay;
      esp::FoldSeqEvent(n);  // seq - packets changed: its limit too (esp/sa.h)
      dp_.sas->Remove(old);
    }
    // An SA named for its worker (a group's member) neither follows nor sets the tunnel's
    // owner: a tunnel's members run on every worker, its SAs for any worker on one.
    auto added = dp_.sas->Add(std::move(ch.sa), ch.inbound, ch.ifindex, ch.reqid, owner,
                              /*pinned=*/old ? old->pinned : ch.worker >= 0);
    // CheckRoom vouched for the room; should that ever be wrong, the batch is reported as
    // failed (not acked as applied) and the rest still goes live consistently.
    if (!added.ok() && result.ok())
      result = absl::InternalError(
          absl::StrCat("applying SA ", absl::Hex(ch.spi), ": ", added.status().message()));
  }
  // Routes and neighbours before the interface tables: a worker that meets a route to an
  // interface it cannot see yet drops the packet as local_unhandled/interface down for a moment,
  // while the other order would let a new interface's first packets miss their routes and
  // neighbours (ICMP unreachable, ARP requests for static neighbours).
  // Staging counts static prefixes only; next-hop ids and tbl8 groups can still run out
  // here. The rest goes live consistently, and the batch is reported as failed (not acked as
  // applied), naming the option to raise.
  if (absl::Status s = SyncFib(c.cfg, c); !s.ok() && result.ok())
    result = absl::ResourceExhaustedError(absl::StrCat("routes not all installed: ", s.message()));
  SyncNeighbors(c.cfg);
  // A duplicate whose address the batch removed is forgotten (configured again, it is
  // probed again: the slow path forgets it as well).
  const size_t duplicates = duplicates6_.size();
  std::erase_if(duplicates6_, [&](const auto& d) {
    auto it = c.cfg.interfaces.find(d.first);
    if (it == c.cfg.interfaces.end()) return true;
    for (const auto& a : it->second.addresses6)
      if (a.first == d.second) return false;
    return true;
  });
  if (c.fib6_dirty || !fib6_synced_ || duplicates6_.size() != duplicates) {
    if (absl::Status s = SyncFib6(c.cfg); !s.ok() && result.ok())
      result = absl::ResourceExhaustedError(
          absl::StrCat("IPv6 routes not all installed: ", s.message()));
  }
  SyncNeighbors6(c.cfg);
  // Compiled in Apply from these policies in OrderedPolicies' order; BuildSpd pairs them.
  for (int list = 0; list < 4; ++list)
    if (c.spd_dirty[list]) spd_acl_[list] = std::move(c.spd_acl[list]);
  Tables* fresh = BuildTables(c.cfg);
  fresh->fw = c.fw_changed ? c.fw.get() : fw_.get();
  if (c.fw_changed) {
    const api::FwGlobalBody& g = c.cfg.fw.global;
    const uint64_t hz = rte_get_tsc_hz();
    auto ticks = [&](uint32_t s, uint32_t dflt) { return uint64_t{s ? s : dflt} * hz; };
    const FwTimeouts timeouts{ticks(g.tcp_established_timeout_s, 7440),
                              ticks(g.tcp_transitory_timeout_s, 120),
                              ticks(g.udp_timeout_s, 30),
                              ticks(g.udp_timeout_s, 180),
                              ticks(g.icmp_timeout_s, 30),
                              ticks(g.other_timeout_s, 600)};
    dp_.sessions->SetTimeouts(timeouts);
    dp_.sessions6->SetTimeouts(timeouts);
  }
  Tables* old_tables = dp_.tables.exchange(fresh, std::memory_order_acq_rel);
  state_ = std::move(c.cfg);
  if (c.vrrp_touched) ++vrrp_generation_;
  // Once every worker has passed a quiescent point, nothing can still see what was replaced.
  rte_rcu_qsbr_synchronize(dp_.rcu, RTE_QSBR_THRID_INVALID);
  delete old_tables;
  if (c.fw_changed) {
    // Counters continue where the old snapshot's stopped (no worker writes them any more).
    // Across snapshots with none in between (everything unbound, then bound again) too: the
    // totals wait in fw_parked_ for rulesets that still exist; a flush forgets them.
    if (fw_) ParkFirewallCounters(*fw_, dp_.nworkers, fw_parked_);
    if (c.fw_flush) fw_parked_.clear();
    for (auto it = fw_parked_.begin(); it != fw_parked_.end();) {
      const uint64_t k = it->first;
      const bool gone = (k & kFwZoneDefaultKey) ? !state_.fw.zones.count(k & 0xffffffffu)
                                                : !state_.fw.rulesets.count(k >> 32);
      it = gone ? fw_parked_.erase(it) : std::next(it);
    }
    if (c.fw) CarryFirewallCounters(fw_parked_, *c.fw);
    fw_ = std::move(c.fw);
    if (c.fw_flush) {
      dp_.sessions->Clear();
      dp_.sessions6->Clear();
    }
  }
  dp_.sas->Reclaim();
  dp_.fib->ReclaimNextHops();
  dp_.neighbors->Reclaim();
  dp_.fib6->ReclaimNextHops();
  dp_.neighbors6->Reclaim();
  return result;
}

}  // namespace portcullis::dp
