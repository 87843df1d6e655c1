#include "dataplane/mgmt/vrrp.h"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/str_format.h"
#include "dataplane/core/packet_meta.h"
#include "dataplane/mgmt/main_lcore.h"
#include "drivers/ethdev/port_setup.h"

namespace portcullis::dp {

namespace {

constexpr uint32_t kVrrpGroupAddr = RTE_BE32(RTE_IPV4(224, 0, 0, 18));
constexpr uint8_t kVrrpMac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12};
constexpr uint8_t kBroadcastMac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint8_t kProtoVrrp = 112;
constexpr uint16_t kV2AuthBytes = 8;  // version 2's authentication data (zero: type 0)

const char* StateName(api::VrrpState s) {
  switch (s) {
    case api::VrrpState::kInitialize:
      return "INIT";
    case api::VrrpState::kBackup:
      return "BACKUP";
    case api::VrrpState::kMaster:
      return "MASTER";
  }
  return "?";
}

const char* ReasonText(api::VrrpReason r) {
  switch (r) {
    case api::VrrpReason::kStarted:
      return "started";
    case api::VrrpReason::kMasterDown:
      return "master down";
    case api::VrrpReason::kHigherPriority:
      return "higher priority master";
    case api::VrrpReason::kPreempted:
      return "preempted a lower priority master";
    case api::VrrpReason::kInterfaceDown:
      return "interface down";
    case api::VrrpReason::kRemoved:
      return "removed";
    case api::VrrpReason::kReport:
      return "report";
    case api::VrrpReason::kOwner:
      return "address owner";
  }
  return "?";
}

uint32_t Sum16(const uint8_t* p, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
  if (len & 1) sum += uint32_t{p[len - 1]} << 8;
  return sum;
}

VrrpParams ParamsOf(const api::VrrpGroupBody& b, bool owner) {
  VrrpParams p;
  p.priority = owner ? 255 : b.priority;
  p.version = b.version;
  p.preempt = b.preempt != 0;
  p.interval_cs = b.advert_interval_cs;
  p.preempt_delay_ns = uint64_t{b.preempt_delay_s} * 1'000'000'000;
  p.start_delay_ns = uint64_t{b.start_delay_s} * 1'000'000'000;
  return p;
}

}  // namespace

uint16_t VrrpChecksum(const uint8_t* msg, uint16_t len, int version, uint32_t src, uint32_t dst) {
  uint32_t sum = 0;
  if (version == 3) {
    uint8_t pseudo[12];
    std::memcpy(pseudo, &src, 4);
    std::memcpy(pseudo + 4, &dst, 4);
    pseudo[8] = 0;
    pseudo[9] = kProtoVrrp;
    pseudo[10] = static_cast<uint8_t>(len >> 8);
    pseudo[11] = static_cast<uint8_t>(len);
    sum = Sum16(pseudo, sizeof pseudo, sum);
  }
  sum = Sum16(msg, len, sum);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void VrrpService::Sync(uint64_t now_ns) {
  if (applier_.vrrp_generation() == generation_) return;
  generation_ = applier_.vrrp_generation();
  const ConfigState& cfg = applier_.state();
  // Removed groups resign first (a master's priority-0 advertisement, its addresses gone).
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (cfg.vrrp.count(it->first)) {
      ++it;
      continue;
    }
    Apply(it->second, it->second.machine.Stop(now_ns, api::VrrpReason::kRemoved));
    it = groups_.erase(it);
  }
  for (const auto& [key, body] : cfg.vrrp) {
    // The owner (RFC 5798 section 3): the virtual addresses are the interface's own.
    bool owner = false;
    if (auto f = cfg.interfaces.find(key.first); f != cfg.interfaces.end())
      for (uint8_t i = 0; i < body.naddrs; ++i) {
        uint32_t a;
        std::memcpy(&a, body.addrs[i], 4);
        for (const auto& [addr, len] : f->second.addresses) owner |= addr == a;
      }
    auto [it, added] = groups_.try_emplace(key);
    Group& g = it->second;
    const bool addrs_changed =
        !added && std::memcmp(g.cfg.addrs, body.addrs, sizeof body.addrs) != 0;
    g.cfg = body;
    g.machine.Configure(ParamsOf(body, owner));
    if (addrs_changed && g.machine.state() == api::VrrpState::kMaster) {
      std::vector<uint32_t> addrs(body.naddrs);
      std::memcpy(addrs.data(), body.addrs, 4u * body.naddrs);
      applier_.SetVrrpAddresses(key.first, key.second, std::move(addrs));
    }
  }
  // vpnd hears every group's state after a batch that configured VRRP (a restarted vpnd
  // learns which groups are master here).
  for (auto& [key, g] : groups_) Report(g, g.machine.state(), api::VrrpReason::kReport);
  Tick(now_ns);
}

void VrrpService::Tick(uint64_t now_ns) {
  if (groups_.empty()) return;
  for (auto& [key, g] : groups_) {
    // The tables of now: a group's change of state publishes new ones (and frees these).
    const Interface& f = dp_.CurrentTables().ifs[key.first];
    const bool up = f.kind != IfKind::kNone && f.up && f.port != kNoPort;
    if (up && !g.machine.running()) {
      Apply(g, g.machine.Start(now_ns));
    } else if (!up && g.machine.running()) {
      Apply(g, g.machine.Stop(now_ns, api::VrrpReason::kInterfaceDown));
    }
    Apply(g, g.machine.Tick(now_ns));
  }
}

void VrrpService::Apply(Group& g, const VrrpActions& a) {
  const uint32_t ifx = g.cfg.ifindex;
  if (a.changed) g.changed_ns = NowNs();
  const uint8_t vrid = g.cfg.vrid;
  // A new master advertises first (its backups must not time out while tables are rebuilt),
  // then takes the virtual MAC into the port's filter and the addresses into the tables, then
  // announces them; one that is no longer master gives them up before it says so.
  const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, vrid};
  const bool to_master = a.changed && g.machine.state() == api::VrrpState::kMaster;
  if (a.send_advert) SendAdvert(g, a.advert_priority);
  if (to_master) {
    const uint16_t port = dp_.CurrentTables().ifs[ifx].port;
    if (port != kNoPort) {
      if (absl::Status s = drivers::ethdev::ReceiveMac(port, vmac); !s.ok()) {
        ++mac_filter_failures_;
        std::fprintf(stderr, "vpn-dataplane: vrrp group %u: virtual MAC not received: %s\n", vrid,
                     std::string(s.message()).c_str());
      }
      g.mac_port = port;
    }
    std::vector<uint32_t> addrs(g.cfg.naddrs);
    std::memcpy(addrs.data(), g.cfg.addrs, 4u * g.cfg.naddrs);
    applier_.SetVrrpAddresses(ifx, vrid, std::move(addrs));
  } else if (a.changed && a.old == api::VrrpState::kMaster) {
    applier_.SetVrrpAddresses(ifx, vrid, {});
    // Another master group of the same VRID on the port (two VIFs) still needs the MAC.
    bool shared = false;
    for (const auto& [k, other] : groups_)
      shared |= &other != &g && k.second == vrid && other.mac_port == g.mac_port &&
                other.machine.state() == api::VrrpState::kMaster;
    if (g.mac_port != kNoPort && !shared) drivers::ethdev::ForgetMac(g.mac_port, vmac);
    g.mac_port = kNoPort;
  }
  if (a.send_garp) SendGarp(g);
  if (a.changed) {
    const Tables& t = dp_.CurrentTables();
    std::fprintf(stderr, "vpn-dataplane: vrrp: %s group %u: %s -> %s (%s)\n", t.ifs[ifx].name, vrid,
                 StateName(a.old), StateName(g.machine.state()), ReasonText(a.reason));
    Report(g, a.old, a.reason);
  }
}

void VrrpService::Report(const Group& g, api::VrrpState old, api::VrrpReason why) {
  if (server_ == nullptr) return;
  api::Event ev = api::NewEvent(api::EventKind::kVrrpState);
  api::VrrpStateEvent& e = ev.body.vrrp_state;
  e.ifindex = g.cfg.ifindex;
  e.vrid = g.cfg.vrid;
  e.state = g.machine.state();
  e.old_state = old;
  e.reason = why;
  const uint32_t master = g.machine.state() == api::VrrpState::kMaster
                              ? dp_.CurrentTables().PrimaryAddress(g.cfg.ifindex)
                              : rte_cpu_to_be_32(g.machine.master_addr());
  std::memcpy(e.master_addr, &master, 4);
  e.master_priority = g.machine.master_priority();
  server_->PostCritical(ev);  // vpnd acts on it: never dropped, kept until it has room
}

rte_mbuf* VrrpService::Frame(const Group& g, const uint8_t* dst_mac, uint16_t ethertype,
                             uint16_t payload, uint8_t** body) {
  const Tables& t = dp_.CurrentTables();
  const Interface& f = t.ifs[g.cfg.ifindex];
  rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool);
  if (m == nullptr) return nullptr;
  const bool tagged = f.kind == IfKind::kVif;
  const uint16_t l2 = tagged ? 18 : 14;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, l2 + payload));
  if (eth == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(&eth->dst_addr, dst_mac, 6);
  // The virtual MAC (RFC 5798 section 7.3): switches learn where the master is from it.
  const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, g.cfg.vrid};
  std::memcpy(&eth->src_addr, vmac, 6);
  if (tagged) {
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
    auto* vh = reinterpret_cast<rte_vlan_hdr*>(eth + 1);
    vh->vlan_tci = rte_cpu_to_be_16(f.vlan);
    vh->eth_proto = rte_cpu_to_be_16(ethertype);
  } else {
    eth->ether_type = rte_cpu_to_be_16(ethertype);
  }
  *body = reinterpret_cast<uint8_t*>(eth) + l2;
  std::memset(*body, 0, payload);
  return m;
}

bool VrrpService::Send(const Group& g, rte_mbuf* m) {
  Meta(m)->kind = PktKind::kFrameReady;
  Meta(m)->out_ifindex = static_cast<uint16_t>(g.cfg.ifindex);
  Meta(m)->flags = 0;
  if (rte_ring_mp_enqueue(dp_.inject_ring, m) != 0) {
    rte_pktmbuf_free(m);
    ++send_failures_;
    return false;
  }
  return true;
}

void VrrpService::SendAdvert(Group& g, uint8_t priority) {
  const api::VrrpGroupBody& c = g.cfg;
  const uint16_t vrrp_len =
      static_cast<uint16_t>(8 + 4 * c.naddrs + (c.version == 2 ? kV2AuthBytes : 0));
  uint8_t* ip = nullptr;
  rte_mbuf* m = Frame(g, kVrrpMac, RTE_ETHER_TYPE_IPV4, static_cast<uint16_t>(20 + vrrp_len), &ip);
  if (m == nullptr) {
    ++send_failures_;
    return;
  }
  // The sender is the interface's primary address (RFC 5798 section 5.1.1.1).
  const uint32_t src = dp_.CurrentTables().PrimaryAddress(c.ifindex);
  auto* h = reinterpret_cast<rte_ipv4_hdr*>(ip);
  h->version_ihl = 0x45;
  h->type_of_service = 0xc0;  // internetwork control, as routing protocols send
  h->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(20 + vrrp_len));
  h->time_to_live = 255;  // RFC 5798 section 5.1.1.3: receivers discard anything else
  h->next_proto_id = kProtoVrrp;
  h->src_addr = src;
  h->dst_addr = kVrrpGroupAddr;
  h->hdr_checksum = rte_ipv4_cksum(h);
  uint8_t* v = ip + 20;
  v[1] = c.vrid;
  v[2] = priority;
  v[3] = c.naddrs;
  if (c.version == 3) {
    v[0] = 0x31;  // version 3, type 1 (advertisement)
    v[4] = static_cast<uint8_t>((c.advert_interval_cs >> 8) &
                                0x0f);  // 4 reserved bits, 12 of interval
    v[5] = static_cast<uint8_t>(c.advert_interval_cs);
  } else {
    v[0] = 0x21;
    v[4] = 0;                                                 // authentication type 0
    v[5] = static_cast<uint8_t>(c.advert_interval_cs / 100);  // seconds
  }
  std::memcpy(v + 8, c.addrs, 4u * c.naddrs);
  const uint16_t sum = VrrpChecksum(v, vrrp_len, c.version, src, kVrrpGroupAddr);
  v[6] = static_cast<uint8_t>(sum >> 8);
  v[7] = static_cast<uint8_t>(sum);
  if (Send(g, m)) ++g.adverts_out;
}

void VrrpService::SendGarp(Group& g) {
  const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, g.cfg.vrid};
  for (uint8_t i = 0; i < g.cfg.naddrs; ++i) {
    uint8_t* body = nullptr;
    rte_mbuf* m = Frame(g, kBroadcastMac, RTE_ETHER_TYPE_ARP, sizeof(rte_arp_hdr), &body);
    if (m == nullptr) {
      ++send_failures_;
      return;
    }
    // A gratuitous ARP request (RFC 5227 section 3's announcement): sender and target the
    // virtual address, from the virtual MAC.
    auto* arp = reinterpret_cast<rte_arp_hdr*>(body);
    arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
    std::memcpy(&arp->arp_data.arp_sha, vmac, 6);
    std::memcpy(&arp->arp_data.arp_sip, g.cfg.addrs[i], 4);
    std::memcpy(&arp->arp_data.arp_tip, g.cfg.addrs[i], 4);
    if (Send(g, m)) ++g.garps_out;
  }
}

void VrrpService::Receive(rte_mbuf* m, uint64_t now_ns) {
  const uint16_t ifx = Meta(m)->in_ifindex;
  auto discard = [&](uint64_t& counter) {
    ++counter;
    rte_pktmbuf_free(m);
  };
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  const uint32_t hlen = m->l3_len;
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if (ip->dst_addr != kVrrpGroupAddr) return discard(discards_.destination);
  if (ip->time_to_live != 255) return discard(discards_.ttl);
  if (m->data_len < total || total < hlen + 8) return discard(discards_.length);
  const uint8_t* v = reinterpret_cast<const uint8_t*>(ip) + hlen;
  const uint16_t len = static_cast<uint16_t>(total - hlen);
  const int version = v[0] >> 4;
  if ((version != 2 && version != 3) || (v[0] & 0x0f) != 1) return discard(discards_.version);
  auto it = groups_.find({ifx, v[1]});
  if (it == groups_.end()) return discard(discards_.unknown_vrid);
  Group& g = it->second;
  if (version != g.cfg.version) return discard(discards_.version);
  const uint8_t naddrs = v[3];
  if (len < 8u + 4u * naddrs + (version == 2 ? kV2AuthBytes : 0)) return discard(discards_.length);
  if (VrrpChecksum(v, len, version, ip->src_addr, ip->dst_addr) != 0)
    return discard(discards_.checksum);
  // A looped copy comes from an address configured here; a virtual address we hold as master
  // is not one (the returning owner advertises from it, RFC 5798 section 3).
  if (const auto f = applier_.state().interfaces.find(ifx); f != applier_.state().interfaces.end())
    for (const auto& [addr, len] : f->second.addresses)
      if (addr == ip->src_addr) return discard(discards_.own);
  // The owner discards advertisements (RFC 5798 section 6.4.3 keeps it master).
  if (g.machine.params().priority == 255) return discard(discards_.owner);
  uint16_t interval_cs;
  if (version == 2) {
    if (v[4] != 0) return discard(discards_.auth);
    // RFC 3768 section 7.1: an advertisement interval other than ours is discarded.
    interval_cs = static_cast<uint16_t>(v[5] * 100);
    if (interval_cs != g.cfg.advert_interval_cs) return discard(discards_.interval);
  } else {
    interval_cs = static_cast<uint16_t>(((v[4] & 0x0f) << 8) | v[5]);
  }
  // RFC 5798 section 7.1 lets a router accept an advertisement whose addresses differ (and log
  // it): counted, and the state machine still hears it.
  if (naddrs != g.cfg.naddrs || std::memcmp(v + 8, g.cfg.addrs, 4u * naddrs) != 0)
    ++g.address_mismatches;
  ++g.adverts_in;
  const uint8_t priority = v[2];
  const uint32_t src = rte_be_to_cpu_32(ip->src_addr);
  const uint32_t own = rte_be_to_cpu_32(dp_.CurrentTables().PrimaryAddress(ifx));
  rte_pktmbuf_free(m);
  Apply(g, g.machine.Advert(now_ns, priority, interval_cs, src, own));
}

}  // namespace portcullis::dp
