#include "dataplane/mgmt/bond_sync.h"

#include <rte_eth_bond.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "drivers/ethdev/port_setup.h"

namespace portcullis::dp {

namespace {

uint8_t DpdkMode(api::BondMode m) {
  switch (m) {
    case api::BondMode::kLacp:
      return BONDING_MODE_8023AD;
    case api::BondMode::kActiveBackup:
      return BONDING_MODE_ACTIVE_BACKUP;
    case api::BondMode::kBalanced:
      break;
  }
  return BONDING_MODE_BALANCE;
}

int DpdkHash(api::BondHash h) {
  switch (h) {
    case api::BondHash::kLayer2:
      return BALANCE_XMIT_POLICY_LAYER2;
    case api::BondHash::kLayer23:
      return BALANCE_XMIT_POLICY_LAYER23;
    case api::BondHash::kLayer34:
      return BALANCE_XMIT_POLICY_LAYER34;
  }
  return -1;  // active-backup: none (validation allows nothing else)
}

}  // namespace

int BondSync::PhysicalPort(const std::string& name) const {
  for (uint16_t p = 0; p < kMaxPorts; ++p)
    if (dp_.ports[p].present && !dp_.ports[p].bond && dp_.ports[p].name == name) return p;
  return -1;
}

absl::StatusOr<BondSync::Plan> BondSync::MakePlan(const ConfigState& cfg) const {
  Plan plan;
  std::map<uint32_t, std::string> bond_names;
  for (const auto& [ifx, f] : cfg.interfaces) {
    if (f.body.kind != api::InterfaceKind::kBond) continue;
    const api::InterfaceBody& b = f.body;
    Want& w = plan[b.name];
    w.name = b.name;
    w.settings.mode = DpdkMode(b.bond_mode);
    w.settings.xmit_policy =
        b.bond_mode == api::BondMode::kActiveBackup ? -1 : DpdkHash(b.bond_hash);
    w.settings.lacp_fast = b.lacp_fast != 0;
    w.min_links = b.min_links;
    bond_names[ifx] = b.name;
  }
  for (const auto& [ifx, f] : cfg.interfaces) {
    const api::InterfaceBody& b = f.body;
    if (b.bond_ifindex == 0) continue;
    auto bond = bond_names.find(b.bond_ifindex);
    if (bond == bond_names.end())
      return absl::FailedPreconditionError(
          absl::StrCat("port ", b.name, ": ",
                       cfg.interfaces.count(b.bond_ifindex)
                           ? std::string(cfg.interfaces.at(b.bond_ifindex).body.name)
                           : absl::StrCat("interface ", b.bond_ifindex),
                       " is not a bond interface"));
    const int port = PhysicalPort(b.name);
    if (port < 0)
      return absl::NotFoundError(absl::StrCat("bond ", bond->second, ": member '", b.name,
                                              "' is not in the dataplane's port map (--port)"));
    if (!f.addresses.empty())
      return absl::FailedPreconditionError(absl::StrCat(
          "bond ", bond->second, ": member ", b.name, " has addresses (they belong on the bond)"));
    plan[bond->second].settings.members.push_back(static_cast<uint16_t>(port));
  }
  for (const auto& [ifx, f] : cfg.interfaces) {
    const api::InterfaceBody& b = f.body;
    if (b.kind == api::InterfaceKind::kVif) {
      auto parent = cfg.interfaces.find(b.parent_ifindex);
      if (parent != cfg.interfaces.end() && parent->second.body.bond_ifindex != 0)
        return absl::FailedPreconditionError(
            absl::StrCat("VIF ", b.name, ": ", parent->second.body.name,
                         " is a bond member (put the VIF on the bond)"));
    }
    if (b.kind != api::InterfaceKind::kBond || b.primary_ifindex == 0) continue;
    auto primary = cfg.interfaces.find(b.primary_ifindex);
    if (primary == cfg.interfaces.end() || primary->second.body.bond_ifindex != ifx)
      return absl::FailedPreconditionError(
          absl::StrCat("bond ", b.name, ": the primary is not one of its members"));
    plan[b.name].settings.primary = PhysicalPort(primary->second.body.name);
  }
  // Bonds without members are not built; ports in a stable order (the PMD's first member
  // gives an LACP or balanced bond its MAC).
  for (auto it = plan.begin(); it != plan.end();) {
    std::sort(it->second.settings.members.begin(), it->second.settings.members.end());
    it = it->second.settings.members.empty() ? plan.erase(it) : std::next(it);
  }
  return plan;
}

std::set<uint16_t> BondSync::Affected(const Plan& plan) const {
  std::set<uint16_t> out;
  auto add = [&](const drivers::ethdev::BondSettings& s) {
    out.insert(s.members.begin(), s.members.end());
  };
  for (const auto& [name, b] : built_) {
    auto w = plan.find(name);
    if (w != plan.end() && w->second.settings == b.settings && !b.failed) continue;
    out.insert(b.port);
    add(b.settings);
    if (w != plan.end()) add(w->second.settings);
  }
  for (const auto& [name, w] : plan)
    if (!built_.count(name)) add(w.settings);
  return out;
}

void BondSync::Forget(const std::string& name) {
  auto it = built_.find(name);
  if (it == built_.end()) return;
  drivers::ethdev::DestroyBond(it->second.port, it->second.device);
  PortInfo& pi = dp_.ports[it->second.port];
  pi.present = pi.bond = false;
  pi.lacp.store(false, std::memory_order_relaxed);
  pi.nrxq = pi.ntxq = 0;
  built_.erase(it);
}

absl::Status BondSync::Apply(const Plan& plan) {
  absl::Status result = absl::OkStatus();
  auto keep = [&](const absl::Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "vpn-dataplane: %s\n", std::string(s.message()).c_str());
      if (result.ok()) result = s;
    }
  };
  std::set<uint16_t> was_member;
  for (const auto& [name, b] : built_)
    was_member.insert(b.settings.members.begin(), b.settings.members.end());
  for (auto it = built_.begin(); it != built_.end();) {
    const std::string name = (it++)->first;
    if (!plan.count(name)) Forget(name);
  }
  // Every bond that changes lets go of its members first: a port may move between bonds.
  for (const auto& [name, w] : plan) {
    auto it = built_.find(name);
    if (it != built_.end() && (it->second.failed || !(it->second.settings == w.settings)))
      drivers::ethdev::ReleaseMembers(it->second.port);
  }
  std::set<uint16_t> now_member;
  const uint16_t queues = static_cast<uint16_t>(dp_.nworkers);
  for (const auto& [name, w] : plan) {
    now_member.insert(w.settings.members.begin(), w.settings.members.end());
    auto it = built_.find(name);
    if (it != built_.end() && it->second.settings == w.settings && !it->second.failed) continue;
    if (it == built_.end()) {
      const std::string device = absl::StrCat("net_bonding_", dp_.name, "_", name);
      auto port = drivers::ethdev::CreateBond(device, w.settings.mode);
      if (!port.ok()) {
        keep(port.status());
        continue;
      }
      if (*port >= kMaxPorts) {
        drivers::ethdev::DestroyBond(*port, device);
        keep(absl::ResourceExhaustedError(
            absl::StrCat("bond ", name, ": DPDK port ", *port, " beyond ", kMaxPorts)));
        continue;
      }
      it = built_.emplace(name, Built{*port, device, {}}).first;
    }
    for (uint16_t m : w.settings.members) dp_.ports[m].bond_member = true;
    auto mac = drivers::ethdev::ConfigureBond(it->second.port, w.settings, queues, dp_.pool);
    PortInfo& pi = dp_.ports[it->second.port];
    pi.name = name;
    pi.device = it->second.device;
    pi.bond = true;
    it->second.settings = w.settings;
    it->second.failed = !mac.ok();
    if (!mac.ok()) {
      // Kept with the members it was given (some may be attached) but not polled: the next
      // commit tries again, or releases them.
      pi.present = false;
      keep(mac.status());
      continue;
    }
    pi.present = true;
    pi.nrxq = pi.ntxq = queues;
    pi.mac = *mac;
    pi.lacp.store(w.settings.mode == BONDING_MODE_8023AD, std::memory_order_release);
  }
  // Ports no bond has any more run on their own again.
  for (uint16_t p : was_member) {
    if (now_member.count(p)) continue;
    PortInfo& pi = dp_.ports[p];
    pi.bond_member = false;
    auto st = drivers::ethdev::StartPortId(p, pi.name, queues, dp_.pool);
    if (!st.ok()) {
      // Not polled while stopped; a later commit that changes a bond tries again.
      pi.present = false;
      pi.nrxq = pi.ntxq = 0;
      keep(st.status());
      continue;
    }
    pi.mac = st->mac;
  }
  bool any = false;
  for (uint16_t p = 0; p < kMaxPorts; ++p)
    any |= dp_.ports[p].present && dp_.ports[p].lacp.load(std::memory_order_relaxed);
  dp_.any_lacp.store(any, std::memory_order_release);
  return result;
}

void BondSync::SetMinimums(const Plan& plan) {
  min_links_.clear();
  for (const auto& [name, w] : plan)
    if (w.min_links > 1) min_links_[name] = w.min_links;
  for (auto it = below_min_.begin(); it != below_min_.end();)
    it = min_links_.count(*it) ? std::next(it) : below_min_.erase(it);
}

bool BondSync::WatchLinks() {
  bool changed = false;
  for (const auto& [name, min] : min_links_) {
    auto b = built_.find(name);
    const bool below = b == built_.end() || !dp_.ports[b->second.port].present ||
                       drivers::ethdev::DistributingMembers(b->second.port) < static_cast<int>(min);
    if (below != BelowMinimum(name)) {
      changed = true;
      if (below) {
        below_min_.insert(name);
      } else {
        below_min_.erase(name);
      }
    }
  }
  for (const auto& [name, b] : built_) {
    const drivers::ethdev::BondSettings& s = b.settings;
    if (s.mode != BONDING_MODE_ACTIVE_BACKUP || s.members.empty() || !dp_.ports[b.port].present)
      continue;
    int want = -1;
    const int current = rte_eth_bond_primary_get(b.port);
    if (s.primary >= 0 && drivers::ethdev::LinkUp(static_cast<uint16_t>(s.primary))) {
      want = s.primary;
    } else if (s.primary < 0 && current >= 0 &&
               drivers::ethdev::LinkUp(static_cast<uint16_t>(current))) {
      want = current;  // no primary: stay on the member in use while it is up (Linux's way)
    } else {
      for (uint16_t m : s.members)
        if (drivers::ethdev::LinkUp(m)) {
          want = m;
          break;
        }
    }
    if (want < 0 || current == want) continue;
    drivers::ethdev::SetCurrentMember(b.port, static_cast<uint16_t>(want));
  }
  return changed;
}

void BondSync::StopAll() {
  while (!built_.empty()) Forget(built_.begin()->first);
}

}  // namespace portcullis::dp
