// The main lcore's share of the packet work, all of it rare: ARP (answers for our addresses,
// learning, resolving next hops for packets the workers could not send, ageing), IKE datagrams
// to vpnd (punt) and from it (inject). Packets it emits go to worker 0 through the inject ring:
// only workers transmit.
//
// ARP learning follows RFC 826 with the usual hardening: any ARP from a known neighbour updates
// it, but a new entry is made only for a request addressed to one of our addresses (we answer
// it and will talk back) or by our own resolution; replies nobody asked for, and gratuitous ARP
// from unknown hosts, are ignored and counted.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>

#include "dataplane/api/channel_server.h"
#include "dataplane/core/drop_reason.h"
#include "dataplane/runtime/dataplane.h"

namespace portcullis::dp {

class VrrpService;

struct SlowPathStats {
  uint64_t arp_requests_answered = 0, arp_requests_sent = 0, arp_replies_learned = 0;
  uint64_t resolved = 0, unresolved = 0, queue_full = 0;
  uint64_t punted = 0, punt_dropped = 0, injected = 0, inject_dropped = 0;
  uint64_t arp_ignored = 0;  // not for us, malformed, or an answer nobody asked for
  // IPv6 neighbour discovery (neighbor_discovery.cc).
  uint64_t nd_solicits_answered = 0, nd_solicits_sent = 0, nd_adverts_learned = 0;
  uint64_t nd_router_adverts_ignored = 0;  // we route; RAs configure nothing (counted)
  uint64_t nd_ignored = 0;                 // not for us, malformed (hop limit, checksum, length)
  uint64_t nd_dad_probes_sent = 0;         // duplicate address detection for our addresses
  uint64_t nd_duplicates = 0;              // our addresses another node has (not used)
  // Packets the main lcore dropped, by reason (the workers count theirs in WorkerStats).
  uint64_t drops[kAllDropCount] = {};
};

class SlowPath {
 public:
  SlowPath(Dataplane& dp, api::ChannelServer* server) : dp_(dp), server_(server) {}
  // Told when duplicate address detection finds one of our IPv6 addresses on another node
  // (the main lcore passes it to the applier, which stops using the address).
  void OnDuplicate(std::function<void(uint16_t ifindex, const uint8_t* addr)> fn) {
    on_duplicate_ = std::move(fn);
  }

  // Handles what the workers queued (ARP and resolution first, then IKE for vpnd); returns how
  // many packets.
  unsigned Poll(uint64_t now_ns);
  // Retries, gives up on and refreshes neighbor entries.
  void Age(uint64_t now_ns);
  // vpnd's IKE datagrams out to the network.
  unsigned PollInject();

  const SlowPathStats& stats() const { return stats_; }
  // VRRP advertisements go to `vrrp`, which also says which virtual addresses ARP answers for
  // with a virtual MAC (null: advertisements are dropped).
  void set_vrrp(VrrpService* vrrp) { vrrp_ = vrrp; }

 private:
  void Arp(rte_mbuf* m, uint64_t now_ns);
  void Resolve(rte_mbuf* m, uint64_t now_ns);
  // ARP's and ND's resolution alike: `m` waits in the entry `e` the caller admitted to `table`
  // (nullptr: none free) until the neighbour answers; `ask` (ARP request, neighbour
  // solicitation) goes out at most every kRetryNs. `evicted`: the table's evicted-packet count
  // before the admission (packets of an entry evicted for this one are counted lost).
  void HoldForNeighbor(rte_mbuf* m, NeighborTable& table, NeighborEntry* e, uint64_t evicted,
                       uint64_t now_ns, void (SlowPath::*ask)(NeighborEntry&, uint64_t));
  // IKE from the workers to vpnd: established IKE SAs' messages first; new ones only while
  // vpnd's punt buffers have room beyond a reserve kept for established ones (the rest wait in
  // their queue, which the workers stop filling when full).
  unsigned PollIke();
  void Punt(rte_mbuf* m);
  void SendArpRequest(NeighborEntry& e, uint64_t now_ns);
  // neighbor_discovery.cc: RFC 4861 for our addresses (solicitations answered, advertisements
  // learned, router advertisements ignored) and next hops the workers could not send to.
  void Nd(rte_mbuf* m, uint64_t now_ns);
  void Resolve6(rte_mbuf* m, uint64_t now_ns);
  void SendNeighborSolicit(NeighborEntry& e, uint64_t now_ns);
  // Duplicate address detection (RFC 4862 §5.4) of our IPv6 addresses on ports, bonds and
  // VIFs: a probe for each new one; an advertisement of it by another node, or another node's
  // probe while ours is pending, makes it a duplicate: logged, counted, never answered for or
  // used as a source by neighbour discovery.
  void CheckDad(uint64_t now_ns);
  void MarkDuplicate(uint16_t ifx, const uint8_t* addr, const char* why);
  bool Duplicate(uint16_t ifx, const uint8_t* addr) const;
  // One table's retries, give-ups and refreshes (Age runs it over both).
  template <class Ask>
  void AgeTable(NeighborTable& table, uint64_t now_ns, Ask&& ask);
  void Release(NeighborEntry& e);
  void Release6(NeighborEntry& e);
  // IKE over IPv6: the punted datagram to vpnd; vpnd's datagram as a packet to route.
  void Punt6(rte_mbuf* m);
  void Inject6(const api::InjectedPacket& p);
  // An mbuf holding `len` bytes in one segment for vpnd's datagram (either family), or null
  // (counted as inject_dropped).
  rte_mbuf* InjectBuffer(uint32_t len);
  bool ToWorker(rte_mbuf* m);
  void Drop(rte_mbuf* m, dp::Drop why);

  Dataplane& dp_;
  api::ChannelServer* server_;
  bool cookie_first_ = false;  // PollIke: which queue of new IKE goes first this time
  VrrpService* vrrp_ = nullptr;
  SlowPathStats stats_;
  struct DadState {
    uint64_t probed_ns;  // when our probe went out
    bool duplicate;
  };
  std::map<std::pair<uint16_t, std::array<uint8_t, 16>>, DadState> dad_;
  std::function<void(uint16_t, const uint8_t*)> on_duplicate_;
};

}  // namespace portcullis::dp
