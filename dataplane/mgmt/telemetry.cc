// /portcullis/... commands on DPDK's telemetry socket: what dpctl and operators read. They run
// on DPDK's telemetry thread and take the main lcore's lock, so the tables they walk cannot be
// replaced under them; worker counters are read without locking (per-worker blocks, summed).
#include "dataplane/mgmt/telemetry.h"

#include <arpa/inet.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "dataplane/api/message_names.h"
#include "dataplane/api/shared_atomic.h"
#include "dataplane/core/drop_reason.h"
#include "dataplane/tables/firewall_tables.h"
#include "drivers/ethdev/af_packet_drops.h"
#include "drivers/ethdev/bond_device.h"

namespace portcullis::dp {

namespace {

Dataplane* g_dp = nullptr;
MainLcore* g_main = nullptr;

std::string Ip(uint32_t v) {
  const uint8_t* b = reinterpret_cast<const uint8_t*>(&v);
  return absl::StrFormat("%d.%d.%d.%d", b[0], b[1], b[2], b[3]);
}

std::string Mac(const rte_ether_addr& a) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof buf, &a);
  return buf;
}

const char* KindName(IfKind k) {
  switch (k) {
    case IfKind::kPort:
      return "port";
    case IfKind::kBond:
      return "bond";
    case IfKind::kVif:
      return "vif";
    case IfKind::kVti:
      return "vti";
    case IfKind::kVfp:
      return "vfp";
    case IfKind::kLoopback:
      return "loopback";
    case IfKind::kNone:
      break;
  }
  return "none";
}

const char* NhName(NhType t) {
  switch (t) {
    case NhType::kLocal:
      return "local";
    case NhType::kConnected:
      return "connected";
    case NhType::kGateway:
      return "gateway";
    case NhType::kInterface:
      return "interface";
    case NhType::kBlackhole:
      return "blackhole";
    case NhType::kNone:
      break;
  }
  return "none";
}

// Non-zero drop counters as a dict, summed over workers by `get`.
template <class Get>
rte_tel_data* DropDict(Get get) {
  rte_tel_data* d = rte_tel_data_alloc();
  rte_tel_data_start_dict(d);
  for (int r = 0; r < kAllDropCount; ++r) {
    uint64_t v = get(r);
    if (v) rte_tel_data_add_dict_u64(d, DropName(r), v);
  }
  return d;
}

int Stats(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  rte_tel_data_start_dict(d);
  uint64_t loops = 0, punted = 0, injected = 0, handed = 0, icmp = 0, icmp_limited = 0;
  uint64_t icmp_pmtu_limited = 0, reassembled6 = 0;
  uint64_t acq_sent = 0, acq_suppressed = 0, acq_lost = 0;
  uint64_t rx = 0, tx = 0;
  for (uint32_t w = 0; w < g_dp->nworkers; ++w) {
    const WorkerStats* s = g_dp->stats[w];
    if (!s) continue;
    loops += ReadCounter(s->loops);
    punted += ReadCounter(s->punted);
    injected += ReadCounter(s->injected);
    handed += ReadCounter(s->handed_off);
    icmp += ReadCounter(s->icmp_sent);
    icmp_limited += ReadCounter(s->icmp_rate_limited);
    icmp_pmtu_limited += ReadCounter(s->icmp_pmtu_rate_limited);
    reassembled6 += ReadCounter(s->reassembled6);
    acq_sent += ReadCounter(s->acquires_sent);
    acq_suppressed += ReadCounter(s->acquires_suppressed);
    acq_lost += ReadCounter(s->acquires_lost);
    for (uint32_t i = 0; i < s->nifs; ++i) {
      rx += ReadCounter(s->ifs[i].rx_packets);
      tx += ReadCounter(s->ifs[i].tx_packets);
    }
  }
  rte_tel_data_add_dict_u64(d, "workers", g_dp->nworkers);
  rte_tel_data_add_dict_u64(d, "worker_loops", loops);
  rte_tel_data_add_dict_u64(d, "rx_packets", rx);
  rte_tel_data_add_dict_u64(d, "tx_packets", tx);
  rte_tel_data_add_dict_u64(d, "ike_punted", punted);
  rte_tel_data_add_dict_u64(d, "injected", injected);
  rte_tel_data_add_dict_u64(d, "handed_off", handed);
  uint64_t received = 0;
  for (uint32_t w = 0; w < g_dp->nworkers; ++w)
    if (g_dp->stats[w]) received += ReadCounter(g_dp->stats[w]->handoff_received);
  rte_tel_data_add_dict_u64(d, "handoff_received", received);
  rte_tel_data_add_dict_u64(d, "icmp_sent", icmp);
  rte_tel_data_add_dict_u64(d, "icmp_rate_limited", icmp_limited);
  rte_tel_data_add_dict_u64(d, "icmp_pmtu_rate_limited", icmp_pmtu_limited);
  rte_tel_data_add_dict_u64(d, "reassembled6", reassembled6);
  rte_tel_data_add_dict_u64(d, "acquires_sent", acq_sent);
  rte_tel_data_add_dict_u64(d, "acquires_suppressed", acq_suppressed);
  rte_tel_data_add_dict_u64(d, "acquires_lost", acq_lost + g_dp->acquires_undeliverable.load());
  const SlowPathStats& sp = g_main->slow_path().stats();
  rte_tel_data_add_dict_u64(d, "arp_requests_answered", sp.arp_requests_answered);
  rte_tel_data_add_dict_u64(d, "arp_requests_sent", sp.arp_requests_sent);
  rte_tel_data_add_dict_u64(d, "neighbors_resolved", sp.resolved);
  rte_tel_data_add_dict_u64(d, "neighbors_unresolved", sp.unresolved);
  rte_tel_data_add_dict_u64(d, "arp_ignored", sp.arp_ignored);
  rte_tel_data_add_dict_u64(d, "nd_solicits_answered", sp.nd_solicits_answered);
  rte_tel_data_add_dict_u64(d, "nd_solicits_sent", sp.nd_solicits_sent);
  rte_tel_data_add_dict_u64(d, "nd_adverts_learned", sp.nd_adverts_learned);
  rte_tel_data_add_dict_u64(d, "nd_router_adverts_ignored", sp.nd_router_adverts_ignored);
  rte_tel_data_add_dict_u64(d, "nd_ignored", sp.nd_ignored);
  rte_tel_data_add_dict_u64(d, "nd_dad_probes_sent", sp.nd_dad_probes_sent);
  rte_tel_data_add_dict_u64(d, "nd_duplicates", sp.nd_duplicates);
  rte_tel_data_add_dict_u64(d, "neighbors6", g_dp->neighbors6->size());
  rte_tel_data_add_dict_u64(d, "routes6", g_dp->fib6->route_count());
  rte_tel_data_add_dict_u64(d, "neighbors", g_dp->neighbors->size());
  rte_tel_data_add_dict_u64(d, "neighbors_evicted", g_dp->neighbors->evictions());
  rte_tel_data_add_dict_u64(d, "neighbor_packets_held", g_dp->neighbors->held());
  rte_tel_data_add_dict_u64(d, "punt_to_vpnd", sp.punted);
  rte_tel_data_add_dict_u64(d, "punt_dropped", sp.punt_dropped);
  rte_tel_data_add_dict_u64(d, "inject_from_vpnd", sp.injected);
  rte_tel_data_add_dict_u64(d, "inject_dropped", sp.inject_dropped);
  rte_tel_data_add_dict_u64(d, "batches_applied", g_main->applier().batches_applied());
  rte_tel_data_add_dict_u64(d, "batches_failed", g_main->applier().batches_failed());
  // `show routes` lists only the first RTE_TEL_MAX_ARRAY_ENTRIES; the count says how many.
  rte_tel_data_add_dict_u64(d, "routes", g_dp->fib->route_count());
  rte_tel_data_add_dict_u64(d, "esp_events_forwarded", g_main->events().forwarded());
  rte_tel_data_add_dict_u64(d, "sa_counter_snapshots", g_main->events().snapshots());
  // The workers' drops and the main lcore's (ARP, neighbour resolution, punt) under one name
  // each, and the IKE limiter's and queues' (their own range).
  rte_tel_data* drops = DropDict([&](int r) {
    uint64_t v = sp.drops[r];
    for (uint32_t w = 0; w < g_dp->nworkers; ++w)
      if (g_dp->stats[w]) v += ReadCounter(g_dp->stats[w]->drops[r]);
    return v;
  });
  for (int r = 0; r < kIkeDropCount; ++r) {
    uint64_t v = 0;
    for (uint32_t w = 0; w < g_dp->nworkers; ++w)
      if (g_dp->stats[w]) v += ReadCounter(g_dp->stats[w]->ike_drops[r]);
    if (v) rte_tel_data_add_dict_u64(drops, IkeDropName(static_cast<IkeDrop>(r)), v);
  }
  rte_tel_data_add_dict_container(d, "drops", drops, 0);
  return 0;
}

// Per worker, as arrays indexed by worker id (a telemetry dict holds containers of values,
// not of dicts): what each worker received, sent, handed to an SA's owner and took from its
// own handoff ring, what it dropped, and how many SAs it owns.
int Workers(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "workers", g_dp->nworkers);
  struct Column {
    const char* name;
    uint64_t (*get)(const WorkerStats&, uint16_t w);
  };
  static constexpr Column kColumns[] = {
      {"sas_owned", [](const WorkerStats&, uint16_t w) -> uint64_t { return g_dp->sas->load(w); }},
      {"rx_packets",
       [](const WorkerStats& s, uint16_t) {
         uint64_t v = 0;
         for (uint32_t i = 0; i < s.nifs; ++i) v += ReadCounter(s.ifs[i].rx_packets);
         return v;
       }},
      {"tx_packets",
       [](const WorkerStats& s, uint16_t) {
         uint64_t v = 0;
         for (uint32_t i = 0; i < s.nifs; ++i) v += ReadCounter(s.ifs[i].tx_packets);
         return v;
       }},
      {"rx_bursts", [](const WorkerStats& s, uint16_t) { return ReadCounter(s.rx_bursts); }},
      {"handed_off", [](const WorkerStats& s, uint16_t) { return ReadCounter(s.handed_off); }},
      {"handoff_received",
       [](const WorkerStats& s, uint16_t) { return ReadCounter(s.handoff_received); }},
      {"member_forced",
       [](const WorkerStats& s, uint16_t) { return ReadCounter(s.member_forced); }},
      {"handoff_queue_full",
       [](const WorkerStats& s, uint16_t) {
         return ReadCounter(s.drops[DropIndex(Drop::kHandoffQueueFull)]);
       }},
      {"drops",
       [](const WorkerStats& s, uint16_t) {
         uint64_t v = 0;
         for (int r = 0; r < kAllDropCount; ++r) v += ReadCounter(s.drops[r]);
         return v;
       }},
      {"loops", [](const WorkerStats& s, uint16_t) { return ReadCounter(s.loops); }},
      // The longest gap between two polls, and how long ago it ended (worker.cc, Run).
      {"max_poll_gap_us",
       [](const WorkerStats& s, uint16_t) {
         return ReadCounter(s.max_poll_gap_tsc) * 1000000 / rte_get_tsc_hz();
       }},
      {"max_poll_gap_ago_ms",
       [](const WorkerStats& s, uint16_t) -> uint64_t {
         const uint64_t end = ReadCounter(s.max_poll_gap_end_tsc);
         return end == 0 ? 0 : (rte_rdtsc() - end) * 1000 / rte_get_tsc_hz();
       }},
  };
  for (const Column& c : kColumns) {
    rte_tel_data* a = rte_tel_data_alloc();
    rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
    for (uint16_t w = 0; w < g_dp->nworkers; ++w)
      rte_tel_data_add_array_u64(a, g_dp->stats[w] ? c.get(*g_dp->stats[w], w) : 0);
    rte_tel_data_add_dict_container(d, c.name, a, 0);
  }
  return 0;
}

int Interfaces(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  const Tables& t = g_dp->CurrentTables();
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  for (uint32_t i = 1; i < t.nifs; ++i)
    if (t.ifs[i].kind != IfKind::kNone) rte_tel_data_add_array_string(d, t.ifs[i].name);
  return 0;
}

// "ifindex kind name" of up to kIndexPage interfaces from ifindex `params` (default 1) on, in
// ifindex order: what dpctl resolves names with. Paged because a telemetry reply holds 512
// array entries and 16 KB at most, and 10,000 VTIs are many more (a short page is the last).
constexpr uint32_t kIndexPage = 256;

int InterfaceIndexes(const char*, const char* params, rte_tel_data* d) {
  uint32_t start = 1;
  if (params != nullptr && *params != 0 && !absl::SimpleAtoi(params, &start)) return -EINVAL;
  std::lock_guard<std::mutex> lock(g_main->mu());
  const Tables& t = g_dp->CurrentTables();
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  uint32_t n = 0;
  for (uint32_t i = std::max(start, 1u); i < t.nifs && n < kIndexPage; ++i) {
    if (t.ifs[i].kind == IfKind::kNone) continue;
    char name[sizeof t.ifs[i].name + 1] = {};
    std::memcpy(name, t.ifs[i].name, sizeof t.ifs[i].name);
    rte_tel_data_add_array_string(
        d, absl::StrFormat("%d %s %s", i, KindName(t.ifs[i].kind), name).c_str());
    ++n;
  }
  return 0;
}

// A bond's mode and members (those the PMD sends on are "active"); a member's bond (#17).
void AddBondInfo(uint32_t ifx, const Interface& f, rte_tel_data* d) {
  const auto& ifs = g_main->applier().state().interfaces;
  auto it = ifs.find(ifx);
  if (it == ifs.end()) return;
  const api::InterfaceBody& b = it->second.body;
  if (b.bond_ifindex != 0) {
    auto bond = ifs.find(b.bond_ifindex);
    if (bond != ifs.end()) rte_tel_data_add_dict_string(d, "bond", bond->second.body.name);
  }
  if (f.kind != IfKind::kBond) return;
  static const char* kModes[] = {"none", "lacp", "active-backup", "balanced"};
  const auto mode = static_cast<uint8_t>(b.bond_mode);
  rte_tel_data_add_dict_string(d, "bond_mode", mode < 4 ? kModes[mode] : "none");
  std::string members, active;
  std::vector<uint16_t> up;
  if (f.port < kMaxPorts) up = drivers::ethdev::ActiveMembers(f.port);
  for (const auto& [mifx, m] : ifs) {
    if (m.body.bond_ifindex != ifx) continue;
    absl::StrAppend(&members, members.empty() ? "" : " ", m.body.name);
    for (uint16_t p : up)
      if (g_dp->ports[p].name == m.body.name)
        absl::StrAppend(&active, active.empty() ? "" : " ", m.body.name);
  }
  rte_tel_data_add_dict_string(d, "members", members.c_str());
  rte_tel_data_add_dict_string(d, "active_members", active.c_str());
  if (b.bond_mode == api::BondMode::kActiveBackup) {
    const int cur = f.port < kMaxPorts ? drivers::ethdev::CurrentMember(f.port) : -1;
    rte_tel_data_add_dict_string(
        d, "current_member",
        cur >= 0 && static_cast<uint32_t>(cur) < kMaxPorts ? g_dp->ports[cur].name.c_str() : "");
  }
}

int InterfaceByName(const char*, const char* params, rte_tel_data* d) {
  if (params == nullptr) return -EINVAL;
  std::lock_guard<std::mutex> lock(g_main->mu());
  const Tables& t = g_dp->CurrentTables();
  uint32_t ifx = 0;
  for (uint32_t i = 1; i < t.nifs; ++i)
    if (t.ifs[i].kind != IfKind::kNone && std::strcmp(t.ifs[i].name, params) == 0) ifx = i;
  if (ifx == 0) return -EINVAL;
  const Interface& f = t.ifs[ifx];
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "name", f.name);
  rte_tel_data_add_dict_u64(d, "ifindex", ifx);
  rte_tel_data_add_dict_string(d, "kind", KindName(f.kind));
  rte_tel_data_add_dict_string(d, "state", f.up ? "up" : "down");
  rte_tel_data_add_dict_u64(d, "mtu", f.mtu);
  if (f.kind == IfKind::kPort || f.kind == IfKind::kBond || f.kind == IfKind::kVif) {
    rte_tel_data_add_dict_string(d, "mac", Mac(f.mac).c_str());
    rte_tel_data_add_dict_string(d, "device",
                                 f.port < kMaxPorts ? g_dp->ports[f.port].device.c_str() : "none");
  }
  if (f.kind == IfKind::kVif) rte_tel_data_add_dict_u64(d, "vlan", f.vlan);
  AddBondInfo(ifx, f, d);
  std::string addrs;
  for (uint8_t a = 0; a < f.naddr; ++a)
    addrs += absl::StrFormat("%s%s/%d", a ? " " : "", Ip(f.addr[a].addr), f.addr[a].len);
  rte_tel_data_add_dict_string(d, "addresses", addrs.c_str());
  if (f.kind == IfKind::kVti)
    rte_tel_data_add_dict_string(
        d, "out_sa", f.out_sa ? absl::StrFormat("%08x", f.out_sa->spi).c_str() : "none");
  if (f.out_group != nullptr) {
    // The tunnel's per-worker members (RFC 9611), "worker:spi" each; their counters are the
    // SAs' own (/portcullis/sa).
    std::string members;
    for (uint32_t w = 0; w < g_dp->nworkers; ++w)
      if (const SaEntry* e = f.out_group->m[w].sa)
        members += absl::StrFormat("%s%u:%08x", members.empty() ? "" : " ", w, e->spi);
    rte_tel_data_add_dict_string(d, "out_members", members.c_str());
  }
  uint64_t rxp = 0, rxb = 0, txp = 0, txb = 0;
  for (uint32_t w = 0; w < g_dp->nworkers; ++w) {
    const InterfaceStats& s = g_dp->stats[w]->ifs[ifx];
    rxp += ReadCounter(s.rx_packets);
    rxb += ReadCounter(s.rx_bytes);
    txp += ReadCounter(s.tx_packets);
    txb += ReadCounter(s.tx_bytes);
  }
  rte_tel_data_add_dict_u64(d, "rx_packets", rxp);
  rte_tel_data_add_dict_u64(d, "rx_bytes", rxb);
  rte_tel_data_add_dict_u64(d, "tx_packets", txp);
  rte_tel_data_add_dict_u64(d, "tx_bytes", txb);
  rte_tel_data_add_dict_container(d, "drops", DropDict([&](int r) {
                                    uint64_t v = 0;
                                    for (uint32_t w = 0; w < g_dp->nworkers; ++w)
                                      v += ReadCounter(g_dp->stats[w]->ifs[ifx].drops[r]);
                                    return v;
                                  }),
                                  0);
  return 0;
}

int Sas(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  g_dp->sas->ForEach([&](const SaEntry& e) {
    rte_tel_data_add_array_string(
        d, absl::StrFormat("%08x/%s", e.spi, e.inbound ? "in" : "out").c_str());
  });
  return 0;
}

int SaBySpi(const char*, const char* params, rte_tel_data* d) {
  if (params == nullptr) return -EINVAL;
  unsigned spi = 0;
  char dir[8] = {};
  if (std::sscanf(params, "%x/%7s", &spi, dir) != 2) return -EINVAL;
  std::lock_guard<std::mutex> lock(g_main->mu());
  const SaEntry* e = g_dp->sas->Find(spi, std::strcmp(dir, "in") == 0);
  if (e == nullptr) return -EINVAL;
  const esp::Sa& sa = *e->sa;
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "spi", absl::StrFormat("%08x", e->spi).c_str());
  rte_tel_data_add_dict_string(d, "direction", e->inbound ? "in" : "out");
  rte_tel_data_add_dict_string(d, "cipher", esp::CipherName(sa.cipher));
  rte_tel_data_add_dict_string(d, "auth", esp::AuthName(sa.auth));
  rte_tel_data_add_dict_u64(d, "esn", sa.esn());
  rte_tel_data_add_dict_u64(d, "replay_window", e->inbound ? sa.replay.size() : 0);
  rte_tel_data_add_dict_u64(d, "udp_encap", (sa.flags & esp::kSaUdpEncap) != 0);
  rte_tel_data_add_dict_u64(d, "owner_worker", e->owner);
  // 1: installed for that worker (an RFC 9611 group's member), 0: placed by the dataplane.
  rte_tel_data_add_dict_u64(d, "worker_named", e->pinned);
  rte_tel_data_add_dict_u64(d, "ifindex", e->ifindex);
  rte_tel_data_add_dict_u64(d, "packets", ReadCounter(sa.packets));
  rte_tel_data_add_dict_u64(d, "bytes", ReadCounter(sa.bytes));
  rte_tel_data_add_dict_u64(d, "seq", e->inbound ? sa.replay.top() : ReadCounter(sa.seq));
  rte_tel_data_add_dict_u64(d, "blocked", sa.blocked());
  rte_tel_data_add_dict_container(d, "drops", DropDict([&](int r) {
                                    if (r < kDpDropCount) return uint64_t{0};
                                    return ReadCounter(sa.drops[r - kDpDropCount]);
                                  }),
                                  0);
  return 0;
}

// The command channel's counters: batches applied, refused by the applier, rejected by the
// contract (by reason: a batch over --max-batch-messages is "batch_too_large"), and the largest
// batch taken.
int Channel(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  const api::ChannelServer* server = g_main->server();
  if (server == nullptr) return -1;
  const api::ChannelCounters& c = server->counters();
  auto u64 = [](const uint64_t& v) { return api::LoadShared(v); };
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "max_batch_messages",
                            api::LoadShared(server->view().header->max_batch_messages));
  rte_tel_data_add_dict_u64(d, "messages_consumed", u64(c.messages_consumed));
  rte_tel_data_add_dict_u64(d, "batches_applied", u64(c.batches_applied));
  rte_tel_data_add_dict_u64(d, "batches_failed", u64(c.batches_failed));
  rte_tel_data_add_dict_u64(d, "batches_rejected", u64(c.batches_rejected));
  rte_tel_data_add_dict_u64(d, "acks_dropped", u64(c.acks_dropped));
  rte_tel_data_add_dict_u64(d, "slots_reclaimed", u64(c.slots_reclaimed));
  rte_tel_data_add_dict_u64(d, "producer_recoveries", u64(c.producer_recoveries));
  rte_tel_data* rejects = rte_tel_data_alloc();
  rte_tel_data_start_dict(rejects);
  for (size_t r = 1; r < api::kRejectReasonCount; ++r) {
    const uint64_t v = u64(c.rejects[r]);
    if (v == 0) continue;
    std::string name(api::RejectReasonName(static_cast<api::RejectReason>(r)));
    for (char& ch : name) ch = ch == '-' ? '_' : ch;  // telemetry names take no dashes
    rte_tel_data_add_dict_u64(rejects, name.c_str(), v);
  }
  rte_tel_data_add_dict_container(d, "rejects", rejects, 0);
  return 0;
}

int Routes(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  const Tables& t = g_dp->CurrentTables();
  // An array of lines: telemetry dict keys may not hold dots or slashes.
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  int n = 0;
  for (const auto& [k, nh] : g_dp->fib->Dump()) {
    if (++n > RTE_TEL_MAX_ARRAY_ENTRIES) break;
    std::string v = absl::StrFormat("%s/%d %s %s", Ip(k.first), k.second, NhName(nh.type),
                                    t.ifs[nh.ifindex].name);
    if (nh.type == NhType::kGateway) v += " via " + Ip(nh.gateway);
    rte_tel_data_add_array_string(d, v.c_str());
  }
  return 0;
}

// The IPv6 forwarding table, as Routes: "2001:db8:1::/64 connected lan", "... via fe80::1".
int Routes6(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  const Tables& t = g_dp->CurrentTables();
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  int n = 0;
  auto text = [](const uint8_t* a) {
    char s[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, a, s, sizeof s);
    return std::string(s);
  };
  for (const auto& [k, nh] : g_dp->fib6->Dump()) {
    if (++n > RTE_TEL_MAX_ARRAY_ENTRIES) break;
    std::string v = absl::StrFormat("%s/%d %s %s", text(k.first.data()), k.second, NhName(nh.type),
                                    t.ifs[nh.ifindex].name);
    if (nh.type == NhType::kGateway) v += " via " + text(nh.gateway.data());
    rte_tel_data_add_array_string(d, v.c_str());
  }
  return 0;
}

int Policies(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  const Tables& t = g_dp->CurrentTables();
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  auto add = [&](const char* dir, const PolicyEntry& p, bool v6) {
    static const char* kAction[] = {"?", "protect", "bypass", "discard"};
    auto prefix = [](uint32_t a, uint32_t mask) {
      return absl::StrFormat("%s/%d", Ip(a), __builtin_popcount(mask));
    };
    auto prefix6 = [](const uint8_t* a, uint8_t len) {
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, a, buf, sizeof buf);
      return absl::StrFormat("%s/%d", buf, len);
    };
    std::string v = v6 ? absl::StrFormat("%s %s -> %s", dir, prefix6(p.src6, p.src6_len),
                                         prefix6(p.dst6, p.dst6_len))
                       : absl::StrFormat("%s %s -> %s", dir, prefix(p.src, p.src_mask),
                                         prefix(p.dst, p.dst_mask));
    if (p.proto) v += absl::StrFormat(" proto %d", p.proto);
    if (p.has_ports)
      v += absl::StrFormat(" sport %d-%d dport %d-%d", p.sport_lo, p.sport_hi, p.dport_lo,
                           p.dport_hi);
    v += absl::StrFormat(" %s priority %d", kAction[static_cast<int>(p.action) & 3], p.priority);
    if (p.action == PolicyAction::kProtect) {
      v += absl::StrFormat(" reqid %d", p.reqid);
      if (dir[0] == 'o')
        v += p.sa ? absl::StrFormat(" spi %08x mtu %d", p.sa->spi, p.mtu) : " no-sa";
    }
    rte_tel_data_add_array_string(d, v.c_str());
  };
  // IPv4 then IPv6, each out then in, as far as one telemetry array goes.
  uint32_t shown = 0;
  const std::pair<const char*, const SpdDirection*> lists[] = {
      {"out", &t.spd.out}, {"in", &t.spd.in}, {"out", &t.spd.out6}, {"in", &t.spd.in6}};
  for (int l = 0; l < 4; ++l)
    for (uint32_t i = 0; i < lists[l].second->n && shown < RTE_TEL_MAX_ARRAY_ENTRIES; ++i, ++shown)
      add(lists[l].first, lists[l].second->entries[i], l >= 2);
  return 0;
}

int Neighbors(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  const Tables& t = g_dp->CurrentTables();
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  g_dp->neighbors->ForEach([&](NeighborEntry& e) {
    uint64_t w = e.mac_word.load();
    rte_ether_addr mac;
    for (int i = 0; i < 6; ++i) mac.addr_bytes[i] = static_cast<uint8_t>(w >> (8 * i));
    static const char* kState[] = {"incomplete", "reachable", "stale", "static"};
    rte_tel_data_add_array_string(
        d, absl::StrFormat("%s %s %s %s", t.ifs[e.ifindex].name, Ip(e.ip),
                           (w >> 63) ? Mac(mac) : "-", kState[static_cast<int>(e.state)])
               .c_str());
  });
  // IPv6 neighbours (neighbour discovery) after them, the same form.
  g_dp->neighbors6->ForEach([&](NeighborEntry& e) {
    uint64_t w = e.mac_word.load();
    rte_ether_addr mac;
    for (int i = 0; i < 6; ++i) mac.addr_bytes[i] = static_cast<uint8_t>(w >> (8 * i));
    static const char* kState[] = {"incomplete", "reachable", "stale", "static"};
    char ip6[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, e.ip6, ip6, sizeof ip6);
    rte_tel_data_add_array_string(
        d, absl::StrFormat("%s %s %s %s", t.ifs[e.ifindex].name, ip6, (w >> 63) ? Mac(mac) : "-",
                           kState[static_cast<int>(e.state)])
               .c_str());
  });
  return 0;
}

// VRRP groups ("dp0bond1/2": state, priority, counters) and the advertisements discarded.
int Vrrp(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  const Tables& t = g_dp->CurrentTables();
  const VrrpService& v = g_main->vrrp();
  rte_tel_data_start_dict(d);
  static const char* kState[] = {"?", "INIT", "BACKUP", "MASTER"};
  for (const auto& [key, g] : v.groups()) {
    rte_tel_data* c = rte_tel_data_alloc();
    rte_tel_data_start_dict(c);
    const VrrpMachine& m = g.machine;
    rte_tel_data_add_dict_string(c, "state", kState[static_cast<int>(m.state()) & 3]);
    rte_tel_data_add_dict_u64(c, "vrid", key.second);
    rte_tel_data_add_dict_u64(c, "version", g.cfg.version);
    rte_tel_data_add_dict_u64(c, "priority", m.params().priority);
    rte_tel_data_add_dict_u64(c, "preempt", m.params().preempt);
    rte_tel_data_add_dict_u64(c, "advert_interval_cs", g.cfg.advert_interval_cs);
    rte_tel_data_add_dict_u64(c, "master_interval_cs", m.master_interval_cs());
    rte_tel_data_add_dict_u64(c, "master_down_ms", m.master_down_ns() / 1'000'000);
    rte_tel_data_add_dict_u64(c, "skew_ms", m.skew_ns() / 1'000'000);
    rte_tel_data_add_dict_string(c, "master", Ip(rte_cpu_to_be_32(m.master_addr())).c_str());
    rte_tel_data_add_dict_u64(c, "master_priority", m.master_priority());
    rte_tel_data_add_dict_u64(c, "transitions", m.transitions());
    rte_tel_data_add_dict_u64(c, "since_change_s",
                              g.changed_ns ? (NowNs() - g.changed_ns) / 1'000'000'000 : 0);
    rte_tel_data_add_dict_u64(c, "adverts_in", g.adverts_in);
    rte_tel_data_add_dict_u64(c, "adverts_out", g.adverts_out);
    rte_tel_data_add_dict_u64(c, "garps_out", g.garps_out);
    rte_tel_data_add_dict_u64(c, "address_mismatches", g.address_mismatches);
    std::string addrs;
    for (uint8_t i = 0; i < g.cfg.naddrs; ++i) {
      uint32_t a;
      std::memcpy(&a, g.cfg.addrs[i], 4);
      absl::StrAppend(&addrs, i ? " " : "", Ip(a));
    }
    rte_tel_data_add_dict_string(c, "addresses", addrs.c_str());
    rte_tel_data_add_dict_container(
        d, absl::StrFormat("%s/%d", t.ifs[key.first].name, key.second).c_str(), c, 0);
  }
  const VrrpDiscards& x = v.discards();
  rte_tel_data* b = rte_tel_data_alloc();
  rte_tel_data_start_dict(b);
  rte_tel_data_add_dict_u64(b, "ttl", x.ttl);
  rte_tel_data_add_dict_u64(b, "version", x.version);
  rte_tel_data_add_dict_u64(b, "checksum", x.checksum);
  rte_tel_data_add_dict_u64(b, "length", x.length);
  rte_tel_data_add_dict_u64(b, "destination", x.destination);
  rte_tel_data_add_dict_u64(b, "unknown_vrid", x.unknown_vrid);
  rte_tel_data_add_dict_u64(b, "interval", x.interval);
  rte_tel_data_add_dict_u64(b, "auth", x.auth);
  rte_tel_data_add_dict_u64(b, "own", x.own);
  rte_tel_data_add_dict_u64(b, "owner", x.owner);
  rte_tel_data_add_dict_u64(b, "send_failures", v.send_failures());
  rte_tel_data_add_dict_u64(b, "mac_filter_failures", v.mac_filter_failures());
  rte_tel_data_add_dict_container(d, "discarded", b, 0);
  return 0;
}

int Ports(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (uint16_t p = 0; p < kMaxPorts; ++p) {
    const PortInfo& pi = g_dp->ports[p];
    if (!pi.present) continue;
    rte_eth_stats s{};
    rte_eth_stats_get(p, &s);
    rte_tel_data* c = rte_tel_data_alloc();
    rte_tel_data_start_dict(c);
    rte_tel_data_add_dict_u64(c, "port_id", p);
    rte_tel_data_add_dict_string(c, "device", pi.device.c_str());
    // The port's MAC now: a bond programs its own on the member in use.
    rte_ether_addr mac = pi.mac;
    (void)rte_eth_macaddr_get(p, &mac);
    rte_tel_data_add_dict_string(c, "mac", Mac(mac).c_str());
    rte_eth_link link{};
    (void)rte_eth_link_get_nowait(p, &link);
    rte_tel_data_add_dict_string(c, "link", link.link_status ? "up" : "down");
    rte_tel_data_add_dict_u64(c, "ipackets", s.ipackets);
    rte_tel_data_add_dict_u64(c, "opackets", s.opackets);
    rte_tel_data_add_dict_u64(c, "ibytes", s.ibytes);
    rte_tel_data_add_dict_u64(c, "obytes", s.obytes);
    // af_packet's kernel ring drops are missed frames too; its PMD does not count them.
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(p, &info) == 0 && info.driver_name != nullptr &&
        std::strcmp(info.driver_name, "net_af_packet") == 0 && info.if_index != 0)
      s.imissed += drivers::ethdev::AfPacketDrops(static_cast<int>(info.if_index));
    rte_tel_data_add_dict_u64(c, "imissed", s.imissed);
    rte_tel_data_add_dict_u64(c, "ierrors", s.ierrors);
    rte_tel_data_add_dict_u64(c, "oerrors", s.oerrors);
    rte_tel_data_add_dict_u64(c, "rx_nombuf", s.rx_nombuf);
    rte_tel_data_add_dict_container(d, pi.name.c_str(), c, 0);
  }
  return 0;
}

// Totals of the session table and the log, and the configured rulesets' ids.
int Firewall(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_main->mu());
  const FwSessionTable& s = *g_dp->sessions;
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "sessions_active", s.active());
  rte_tel_data_add_dict_u64(d, "sessions_max", s.capacity());
  rte_tel_data_add_dict_u64(d, "sessions_created", s.created());
  rte_tel_data_add_dict_u64(d, "sessions_expired", s.expired());
  rte_tel_data_add_dict_u64(d, "sessions_table_full", s.table_full());
  // IPv6's table (its own keys and capacity).
  const FwSessionTable& s6 = *g_dp->sessions6;
  rte_tel_data_add_dict_u64(d, "sessions6_active", s6.active());
  rte_tel_data_add_dict_u64(d, "sessions6_max", s6.capacity());
  rte_tel_data_add_dict_u64(d, "sessions6_created", s6.created());
  rte_tel_data_add_dict_u64(d, "sessions6_expired", s6.expired());
  rte_tel_data_add_dict_u64(d, "sessions6_table_full", s6.table_full());
  uint64_t sent = 0, suppressed = 0, lost = 0;
  for (uint32_t w = 0; w < g_dp->nworkers; ++w) {
    if (g_dp->stats[w] == nullptr) continue;
    sent += ReadCounter(g_dp->stats[w]->fw_log_sent);
    lost += ReadCounter(g_dp->stats[w]->fw_log_lost);
    suppressed += ReadCounter(g_dp->stats[w]->fw_log_suppressed);
  }
  rte_tel_data_add_dict_u64(d, "log_sent", sent);
  rte_tel_data_add_dict_u64(d, "log_suppressed", suppressed);
  rte_tel_data_add_dict_u64(d, "log_lost", lost + g_dp->fw_log_undeliverable.load());
  rte_tel_data* ids = rte_tel_data_alloc();
  rte_tel_data_start_array(ids, RTE_TEL_U64_VAL);
  for (const auto& [id, rs] : g_main->applier().state().fw.rulesets)
    rte_tel_data_add_array_u64(ids, id);
  rte_tel_data_add_dict_container(d, "rulesets", ids, 0);
  return 0;
}

// One ruleset's counters: `<id>` or `<id>/<from_rule_number>`, at most 100 rules per answer
// (the telemetry output's size); `next` is where to go on, 0 when done.
int FirewallRuleset(const char*, const char* params, rte_tel_data* d) {
  if (params == nullptr) return -EINVAL;
  char* end = nullptr;
  const unsigned long id = std::strtoul(params, &end, 10);
  unsigned long from = 0;
  if (end == params) return -EINVAL;
  if (*end == '/') {
    const char* f = end + 1;
    from = std::strtoul(f, &end, 10);
    if (end == f) return -EINVAL;
  }
  if (*end != '\0') return -EINVAL;
  std::lock_guard<std::mutex> lock(g_main->mu());
  const auto& rulesets = g_main->applier().state().fw.rulesets;
  auto it = rulesets.find(static_cast<uint32_t>(id));
  if (it == rulesets.end()) return -ENOENT;
  const FwTables* fw = g_main->applier().firewall();
  const uint32_t nw = g_dp->nworkers;
  // The snapshot's slots of this ruleset, by rule number (none while nothing is bound).
  std::map<uint32_t, uint32_t> slots;
  if (fw != nullptr)
    for (uint32_t i = 0; i < fw->slots.size(); ++i)
      if (fw->slots[i].ruleset_id == id) slots[fw->slots[i].rule_number] = i;
  auto count = [&](uint32_t rule, int what) -> uint64_t {
    auto s = slots.find(rule);
    if (s == slots.end()) return 0;
    return what == 0   ? fw->SlotPackets(s->second, nw)
           : what == 1 ? fw->SlotBytes(s->second, nw)
                       : fw->SlotSuppressed(s->second, nw);
  };
  const api::FwRulesetBody& b = it->second.body;
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "id", id);
  rte_tel_data_add_dict_string(d, "name",
                               std::string(b.name, strnlen(b.name, sizeof b.name)).c_str());
  rte_tel_data_add_dict_string(d, "default_action",
                               b.default_action == api::FwAction::kAccept   ? "accept"
                               : b.default_action == api::FwAction::kReject ? "reject"
                                                                            : "drop");
  rte_tel_data_add_dict_u64(d, "default_packets", count(0, 0));
  rte_tel_data_add_dict_u64(d, "default_bytes", count(0, 1));
  rte_tel_data* numbers = rte_tel_data_alloc();
  rte_tel_data* packets = rte_tel_data_alloc();
  rte_tel_data* bytes = rte_tel_data_alloc();
  rte_tel_data* suppressed = rte_tel_data_alloc();
  for (rte_tel_data* a : {numbers, packets, bytes, suppressed})
    rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
  constexpr int kPerAnswer = 100;
  int n = 0;
  uint64_t next = 0;
  uint32_t last = 0;
  for (const auto& [key, e] : it->second.entries) {
    if (key.first < from || key.first == last) continue;
    if (n == kPerAnswer) {
      next = key.first;
      break;
    }
    last = key.first;
    ++n;
    rte_tel_data_add_array_u64(numbers, key.first);
    rte_tel_data_add_array_u64(packets, count(key.first, 0));
    rte_tel_data_add_array_u64(bytes, count(key.first, 1));
    rte_tel_data_add_array_u64(suppressed, count(key.first, 2));
  }
  rte_tel_data_add_dict_u64(d, "next", next);
  rte_tel_data_add_dict_container(d, "numbers", numbers, 0);
  rte_tel_data_add_dict_container(d, "packets", packets, 0);
  rte_tel_data_add_dict_container(d, "bytes", bytes, 0);
  rte_tel_data_add_dict_container(d, "suppressed", suppressed, 0);
  return 0;
}

}  // namespace

void RegisterTelemetry(Dataplane& dp, MainLcore& main) {
  g_dp = &dp;
  g_main = &main;
  rte_telemetry_register_cmd("/portcullis/stats", Stats, "Dataplane totals and drop reasons");
  rte_telemetry_register_cmd("/portcullis/interfaces", Interfaces, "Interface names");
  rte_telemetry_register_cmd("/portcullis/workers", Workers,
                             "Per-worker counters (arrays indexed by worker)");
  rte_telemetry_register_cmd("/portcullis/interface_indexes", InterfaceIndexes,
                             "256 interfaces as 'ifindex kind name'. Param: first ifindex");
  rte_telemetry_register_cmd("/portcullis/interface", InterfaceByName,
                             "One interface: counters, drops. Param: name");
  rte_telemetry_register_cmd("/portcullis/sas", Sas, "SAs as spi/direction");
  rte_telemetry_register_cmd("/portcullis/sa", SaBySpi, "One SA. Param: spi/in or spi/out (hex)");
  rte_telemetry_register_cmd("/portcullis/routes", Routes, "IPv4 forwarding table");
  rte_telemetry_register_cmd("/portcullis/routes6", Routes6, "IPv6 forwarding table");
  rte_telemetry_register_cmd("/portcullis/channel", Channel,
                             "Command channel: batches applied, failed, rejected by reason");
  rte_telemetry_register_cmd("/portcullis/policies", Policies, "security policies (SPD)");
  rte_telemetry_register_cmd("/portcullis/neighbors", Neighbors, "ARP neighbors");
  rte_telemetry_register_cmd("/portcullis/ports", Ports, "DPDK ports and their counters");
  rte_telemetry_register_cmd("/portcullis/vrrp", Vrrp, "VRRP groups and discarded adverts");
  rte_telemetry_register_cmd("/portcullis/firewall", Firewall,
                             "Firewall sessions, log counters and ruleset ids");
  rte_telemetry_register_cmd("/portcullis/firewall_ruleset", FirewallRuleset,
                             "One ruleset's counters. Param: id or id/from_rule_number");
}

}  // namespace portcullis::dp
