// A worker lcore: polls its receive queues and runs the pipeline (docs/DESIGN.md) over bursts, with
// no locks, allocations or syscalls per packet. Each stage is a method named after its job and
// lives in its own file (stage_*.cc); this class holds what they share.
#pragma once

#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <type_traits>

#include "dataplane/core/drop_reason.h"
#include "dataplane/core/packet_meta.h"
#include "dataplane/esp/esp_engine.h"
#include "dataplane/pipeline/fw_verdict_cache.h"
#include "dataplane/pipeline/ike_limiter.h"
#include "dataplane/runtime/dataplane.h"
#include "dataplane/tables/firewall_acl.h"
#include "dataplane/tables/firewall_tables.h"
#include "drivers/crypto/ipsecmb_backend.h"

namespace portcullis::dp {

class Worker {
 public:
  Worker(Dataplane& dp, uint16_t id);
  ~Worker();

  // The lcore's main loop; returns when dp.stop is set.
  int Run();

  // One pass over every queue (also what tests drive directly).
  void PollOnce();

  // Entry points of the pipeline, public for tests that feed packets without a port.
  void FromWire(rte_mbuf** pkts, uint16_t n, uint16_t port);
  void FlushTx();

  uint16_t id() const { return id_; }
  WorkerStats& stats() { return *stats_; }

 private:
  using Engine = esp::EspEngine<drivers::crypto::IpsecMbBackend>;

  // stage_l2.cc: the wire <-> IP packets.
  void Send(rte_mbuf** pkts, uint16_t n, const Tables& t);
  // Runs of packets to one neighbor on one interface.
  void SendRun(rte_mbuf** pkts, uint16_t n, uint16_t ifx, uint32_t hop, const Tables& t);
  // Why a run cannot leave by interface `ifx` (IPv4 and IPv6 alike), kCount when it can. The
  // caller counts kUnknownInterface on interface 0. Takes the entry by reference so that
  // SendRun keeps it in a register (a pointer to `ifx` made the compiler spill it).
  static Drop CannotSend(const Interface& f, uint16_t ifx) {
    if (f.kind == IfKind::kNone || ifx == 0) return Drop::kUnknownInterface;
    if (!f.up) return Drop::kInterfaceDown;
    if (f.port >= kMaxPorts) return Drop::kNoPort;
    return Drop::kCount;
  }
  // A complete frame, counted on ifindex, onto the port's transmit queue.
  void TxFrame(rte_mbuf* m, uint16_t port, uint16_t ifindex);
  // The same without the checks and counters: port < kMaxPorts; the caller counts.
  void Enqueue(rte_mbuf* m, uint16_t port, uint16_t ifindex) {
    TxQueue& q = tx_[port];
    tx_pending_ |= 1u << port;
    q.pkts[q.n++] = m;
    if (q.n == kBurst) FlushQueue(port, ifindex);
  }
  void FlushQueue(uint16_t port, uint16_t ifindex);
  void FlushRx(uint16_t ifindex, uint64_t packets, uint64_t bytes) {
    InterfaceStats& s = stats_->ifs[ifindex];
    s.rx_packets += packets;
    s.rx_bytes += bytes;
  }

  // stage_ipv4.cc: validation, then one route lookup that delivers locally or forwards.
  // What an SA decrypted enters IPv4 as received on its VTI (vti 0: a policy-based SA, the
  // packets keep the interface the ESP came in on).
  void Decrypted(rte_mbuf** pkts, uint16_t n, uint16_t vti, const Tables& t, int depth);
  // False: counted and freed. Inlined into both loops that call it: a call per packet costs
  // more than the checks.
  // `exact`: the packet is known to end where its IPv4 total length says (the ESP engine
  // checked the decrypted header's version, length and trimmed to it), so the usual header
  // needs only its checksum verified.
  template <bool exact = false>
  __attribute__((always_inline)) bool CheckIpv4(rte_mbuf* m, uint16_t ifindex);
  // dsts: each packet's destination in host order, gathered by the caller while the header
  // was at hand.
  void Route(rte_mbuf** pkts, const uint32_t* dsts, uint16_t n, const Tables& t, int depth);
  // What we originate or encapsulated: routed, never delivered to ourselves. own: the
  // appliance's own packets (IKE, ICMP it answers with, resets), which the policy from the local
  // zone filters; a tunnel's ESP is not (its inner packet met the zones already).
  void Forward(rte_mbuf** pkts, uint16_t n, const Tables& t, bool transit, int depth,
               bool own = true);
  void Dispatch(rte_mbuf** pkts, const uint64_t* nh_ids, uint16_t n, const Tables& t, bool transit,
                bool deliver_local, int depth, bool own = false);
  // Dispatch over a burst of several runs: each run's interface line and counters, over the
  // whole burst before any is read (the SA's lines follow as the batch takes each packet).
  void PrefetchRuns(const uint64_t* nh_ids, uint16_t n, const Tables& t);
  // Takes out (dropped, or encrypted by policy) what the SPD decides; returns how many packets
  // are left, compacted in pkts and nh_ids, to be routed.
  uint16_t ApplyPolicies(rte_mbuf** pkts, uint64_t* nh_ids, uint16_t n, const Tables& t,
                         bool transit, int depth);
  // A chain of interfaces that routes a packet back into a tunnel ends here (IPv4 and IPv6).
  static constexpr int kMaxDepth = 3;
  // ApplyPolicies' and ApplyPolicies6's common part (stage_ipv4.cc): the SPD of the family
  // sorts the packets not addressed to us; drops (cleartext an inbound protect policy covers,
  // discards, an acquire for a protect policy without SA) are counted, routed packets stay in
  // pkts and nh_ids (their count returned), protected ones go to protect and policies (*np).
  template <bool kV6>
  uint16_t SortByPolicy(rte_mbuf** pkts, uint64_t* nh_ids, uint16_t n, const Tables& t, int depth,
                        rte_mbuf** protect, const PolicyEntry** policies, uint16_t* np);
  // The firewall of the VFP (if any) that protected packets leave through: its zone policy
  // (`zones`, before the TTL is taken) or its `out` rules (after); returns how many are left,
  // compacted in pkts and policies.
  uint16_t FwThroughVfp(rte_mbuf** pkts, const PolicyEntry** policies, uint16_t n, const Tables& t,
                        int depth, bool zones);
  // What the next stage of a run (one next hop) needs, gathered in the pass that decrements
  // its TTLs: the tunnel's MTU check and byte count, and whether an on-link run is one neighbor.
  struct RunScan {
    uint64_t bytes;
    uint32_t longest;
    uint32_t dst;  // the first packet's destination, network order
    bool one_dst;  // every packet that is left has `dst`
  };
  // transit: counts and drops (with ICMP time exceeded) what may not be forwarded, and takes
  // one off the TTL of the rest. The survivors are compacted at the front; returns how many.
  // n >= 1.
  uint16_t ScanRun(rte_mbuf** pkts, uint16_t n, bool transit, const Tables& t, int depth,
                   RunScan* scan);

  // stage_ipv6.cc (docs/DESIGN.md, IPv6): IPv6 packets, Ethernet header off, meta set.
  // Validation (header, extension header chain), then local delivery or forwarding through
  // the FIB6. transit: received (hop limit taken, errors answered); else our own.
  void Input6(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth);
  void Forward6(rte_mbuf** pkts, uint16_t n, const Tables& t, bool transit, int depth);
  // Whether a next-header value is an extension header the chain walk skips (hop-by-hop,
  // routing, fragment, destination options); a packet whose header names none has its
  // upper-layer header right after the 40 bytes.
  static constexpr bool Extension6(uint8_t nh) {
    return nh == 0 || nh == 43 || nh == 44 || nh == 60;
  }
  // The offset of the upper-layer header past the extension headers, its protocol in *proto;
  // 0 when the chain is malformed (runs past the packet, hop-by-hop not first).
  static uint32_t SkipExtensions6(const rte_mbuf* m, uint8_t* proto, bool* fragment);
  // SkipExtensions6, the packet dropped (ipv6_malformed) when the chain is (0 returned).
  // ipv6_check.h, as MayForward6.
  uint32_t WalkExtensions6(rte_mbuf* m, uint16_t in, uint8_t* proto, bool* fragment);
  // A router's refusals of a routed packet before its hop limit is taken: link-local or ::1
  // addresses (ipv6_scope), hop limit 1 (time exceeded answered, ttl_exceeded). False: m is
  // dropped and counted on `in`.
  bool MayForward6(rte_mbuf* m, uint16_t in, const Tables& t, int depth);
  // The SPD selector of an IPv6 packet (Ethernet header off); false when its extension header
  // chain is malformed (it then matches no policy).
  static bool Selector6(const rte_mbuf* m, PacketSelector6* sel);
  // ApplyPolicies for forwarded IPv6 packets: the IPv6 SPD's lists, one classify per direction.
  uint16_t ApplyPolicies6(rte_mbuf** pkts, uint64_t* nh_ids, uint16_t n, const Tables& t,
                          int depth);
  // FwThroughVfp for IPv6 protected packets (zones and the VFP's IPv6 `out`); returns how
  // many are left, compacted in pkts and policies.
  uint16_t FwThroughVfp6(rte_mbuf** pkts, const PolicyEntry** policies, uint16_t n, const Tables& t,
                         int depth);
  void Local6(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth);
  // Our own packet longer than its link's mtu (an echo reply to a reassembled request, IKE):
  // sent in fragments (ipv6_fragment.h), counted fragment_failed when it cannot be.
  void FragmentOwn6(rte_mbuf* m, uint32_t mtu, const Tables& t, int depth);
  // ipv6_reassembly.cc: fragments addressed to us. m: a fragment (one segment, its chain
  // walked); returns the datagram once m completes it (its fragment header gone; chained when
  // longer than one buffer), else nullptr (m held, or dropped and counted).
  rte_mbuf* Reassemble6(rte_mbuf* m, const Tables& t, int depth);
  bool CreateReassembly6();
  void DestroyReassembly6();
  // The fragments rte_ip_frag let go of (its death row), counted as `why`; a first fragment
  // whose time is up answered with time exceeded (code 1).
  void BuryFragments6(Drop why, const Tables& t, int depth);
  void Expire6(uint64_t now, const Tables& t, int depth);
  // PollOnce's: Expire6, and the next look in a second while a datagram may still be held.
  void SweepFragments6(uint64_t now, const Tables& t);
  void SendRun6(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const uint8_t* hop, const Tables& t);
  // icmp6.cc
  void Icmp6EchoReply(rte_mbuf* m, uint32_t l4, const Tables& t, int depth);
  void Icmp6Error(rte_mbuf* m, uint8_t type, uint8_t code, uint32_t param, const Tables& t,
                  int depth);

  // stage_local.cc: what is addressed to us (ESP, IKE, NAT keepalives, ICMP echo).
  void Local(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth);
  // ike_punt.cc: an IKE datagram for vpnd (its IKE header ike_off bytes into the packet, after
  // the UDP header and any non-ESP marker), classified, rate limited per source, queued.
  void PuntIke(rte_mbuf* m, uint32_t ike_off);

  // stage_esp.cc: inbound and outbound ESP, grouped per SA, handed to the SA's owner.
  // spis: each packet's SPI as on the wire, 0 when the packet is too short to carry one (0 is
  // never an SA's, RFC 4303 §2.1). Looked up once per run of one SPI.
  // Inbound ESP of one outer family (`v6`: from Local6, else Local) to the SAs its SPIs name.
  void EspIn(rte_mbuf** pkts, const uint32_t* spis, uint16_t n, const Tables& t, int depth,
             bool v6);
  void EspInSa(SaEntry& sa, rte_mbuf** pkts, uint16_t n, const Tables& t, int depth);
  // Into a VTI (the SA bound to meta out_ifindex), or, with `policies`, by outbound policy.
  void EspOut(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth,
              const PolicyEntry* const* policies = nullptr);
  // A run routed into one VTI: straight to its SA when every packet fits the tunnel MTU (the
  // run's longest packet and byte count come from ScanRun).
  void ToTunnel(rte_mbuf** pkts, uint16_t n, uint16_t vti, const Tables& t, int depth,
                const RunScan& scan);
  void EspOutSa(SaEntry& sa, uint16_t vti, rte_mbuf** pkts, uint16_t n, const Tables& t, int depth);
  // The same when the caller has the run's inner bytes already.
  void EspOutSa(SaEntry& sa, uint16_t vti, rte_mbuf** pkts, uint16_t n, const Tables& t, int depth,
                uint64_t bytes);
  void SendOuter(rte_mbuf** pkts, uint16_t n, uint16_t vti, const Tables& t, int depth);
  // Runs of a burst that go straight to their tunnel's SA (owned here, within the MTU, no `out`
  // hook on the VTI), gathered by Dispatch and encrypted together by EspOutEach: with traffic
  // spread over many tunnels a burst is as many runs of one packet, and one engine pass and
  // one send for all of them cost far less than an Encrypt and a SendRun per run.
  struct TunnelBatch {
    uint16_t n = 0;
    // 0: empty; 1: every packet is first_sa's (EspOutEach takes Encrypt's burst path, as for
    // one run); more: several SAs (AddToBatch counts its runs, BatchTunnels stops at 2).
    uint16_t runs = 0;
    SaEntry* first_sa = nullptr;  // the first run's
    uint16_t first_vti = 0;
    rte_mbuf* pkts[kBurst];
    esp::Sa* sas[kBurst];
    uint16_t vtis[kBurst];
  };
  // A run of n packets for SA sa (esa: its esp::Sa) leaving through vti, counted on the VTI;
  // esa's lines asked for, for EspOutEach.
  void AddToBatch(TunnelBatch& b, SaEntry* sa, esp::Sa* esa, uint16_t vti, rte_mbuf** pkts,
                  uint16_t n, uint64_t bytes);
  // A run routed into another worker's tunnel (within its MTU, no `out` hook): staged for the
  // owner as EspOut would, without ending the batch Dispatch is gathering (that holds only this
  // worker's SAs, so never this run's).
  void HandoffRun(const Interface& f, uint16_t vti, rte_mbuf** pkts, uint16_t n);
  // Dispatch over a burst of several runs (stage_ipv4.cc): its leading packets that go
  // straight into the batch, or are staged for another worker's tunnel's owner, one at a time
  // without the per-run work; returns how many it took.
  uint16_t BatchTunnels(rte_mbuf** pkts, const uint64_t* nh_ids, uint16_t n, const Tables& t,
                        bool transit, TunnelBatch& b);
  void EspOutEach(TunnelBatch& b, const Tables& t, int depth);
  // What EspOutEach encrypted (each packet's VTI in vtis): runs to one outer destination sent
  // together.
  void SendOuterEach(rte_mbuf** pkts, const uint16_t* vtis, uint16_t n, const Tables& t, int depth);
  // Encrypted packets (t.fw set) about to leave through ifx (0: anywhere, through Forward):
  // kMetaFwSession off where a firewall hook will read it.
  void FwSessionFlagOff(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const Tables& t);
  // EspOutSa without counting the run on the VTI (the caller did).
  void EncryptRun(SaEntry& sa, uint16_t vti, rte_mbuf** pkts, uint16_t n, const Tables& t,
                  int depth);

  // stage_firewall.cc: the firewall's hooks (docs/DESIGN.md, Firewall). Each drops what the
  // rules drop and compacts the rest at the front of pkts (and aux alongside, when given);
  // returns how many are left. Callers test t.fw once per burst: no firewall, no call.
  // Each takes one family's packets (kV6: IPv6, with that family's chains and session table).
  // `in` on each packet's receiving interface (meta in_ifindex).
  template <bool kV6 = false>
  uint16_t FwIn(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth, uint32_t* aux);
  // `local` (and the zone policy to the local zone) for packets addressed to us.
  template <bool kV6 = false>
  uint16_t FwLocal(rte_mbuf** pkts, uint16_t n, const Tables& t, int depth);
  // `out` on the sending interface ifx.
  template <bool kV6 = false>
  uint16_t FwOut(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const Tables& t, int depth);
  // Zone policy for forwarded packets leaving through ifx.
  template <bool kV6 = false>
  uint16_t FwZones(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const Tables& t, int depth);
  // The local zone's policy for the appliance's own packets leaving through ifx, whose zone it
  // has one to (without one they pass, as in Vyatta).
  template <bool kV6 = false>
  uint16_t FwFromLocal(rte_mbuf** pkts, uint16_t n, uint16_t ifx, const Tables& t, int depth);
  // One chain over a run of packets; dropped ones become nullptr, and how many is returned
  // (none: the caller has nothing to compact).
  // owner: the chain's identity and place for sessions (FwOwner; `fwd` is where we are);
  // owner_stateful: a chain of that owner makes sessions.
  template <bool kV6>
  uint16_t FwEvaluate(rte_mbuf** pkts, uint16_t n, const FwChain& chain, const FwTables& fw,
                      uint16_t ifx, FwHookIndex hook, FwOwner owner, bool owner_stateful,
                      const Tables& t, int depth);
  // rte_acl's answers for n keys at chain (each for the state in cats, or any state when
  // ncat is 1), through the worker's verdict cache; the misses in one classify call. Each
  // key's pad[0] holds its state when ncat is above 1, 0 otherwise (the cache's key).
  // hashes: the keys' FwKeyHash when the caller has them (computed as it built the keys, from
  // registers; it then also asked for their buckets if the cache was Probing()), nullptr to
  // have them computed here.
  template <class Key>
  void FwClassify(const FwChain& chain, Key* const* keys, const uint8_t* cats, uint16_t n,
                  uint32_t ncat, uint32_t* out, const uint32_t* hashes = nullptr);
  // No zone policy from the packets' zone: a session of the zone pair's passes a packet,
  // the rest are dropped.
  template <bool kV6>
  void FwNoZonePolicy(rte_mbuf** pkts, uint16_t n, FwOwner owner, uint16_t count_ifx);
  // A log record for a packet that met a rule with `log`, rate-limited per rule and worker.
  void FwLog(rte_mbuf* m, uint32_t slot, const FwTables& fw, const FwChain& chain, uint16_t ifx,
             FwHookIndex hook, uint64_t now, const Tables& t);
  // reject: a TCP RST or ICMP port unreachable back to the sender (rate-limited with the
  // ICMP errors); FwReject6 the same over IPv6 (ICMPv6 port unreachable).
  void FwReject(rte_mbuf* m, const Tables& t, int depth);
  void FwReject6(rte_mbuf* m, const Tables& t, int depth);

  // acquire.cc: m needs an SA there is none of (reqid: a protect policy's; else vti): an
  // acquire for vpnd, at most one a second per worker and tunnel. m stays the caller's.
  void Acquire(const rte_mbuf* m, uint32_t reqid, uint16_t vti);

  // icmp.cc
  // Takes a token of the per-worker ICMP error budget (pmtu: packet too big and fragmentation
  // needed, which have their own); false (counted) when there is none.
  bool IcmpToken(bool pmtu = false);
  void IcmpEchoReply(rte_mbuf* m, const Tables& t, int depth);
  void IcmpError(rte_mbuf* m, uint8_t type, uint8_t code, uint16_t mtu, const Tables& t, int depth);

  // worker.cc
  void DrainHandoff(const Tables& t);
  // One burst from ring r through the owner's engine; returns how many it took.
  unsigned DrainHandoffBurst(rte_ring* r, const Tables& t);
  void DrainInject(const Tables& t);
  void DrainEspEvents();
  void KeepLacpAlive();
  void ToSlowPath(rte_mbuf* m, PktKind kind, uint16_t ifindex);
  // Stages m for the SA's owner; FlushHandoffs puts what is staged on the owners' rings, one
  // burst per owner (a flow's packets leave in the order they were staged: each flow is
  // received by one worker, so its owner sees it in order). ifindex: where a drop is counted.
  // track: an outbound packet of a tunnel with a group (its VTI is ifindex), which OwnMember
  // must know was handed over.
  void Handoff(rte_mbuf* m, uint16_t owner, PktKind kind, uint32_t sa_id, uint16_t ifindex,
               bool track = false);
  void FlushHandoff(uint16_t owner);
  // RFC 9611 groups (docs/DESIGN.md, Per-worker CHILD SAs): this worker's member of f's group
  // (f is VTI vti's interface) when it has one and may use it now, else null (the packets go
  // to the fallback's owner). Not while any of vti's packets this worker handed to another
  // worker (before the member came) may still wait in that worker's ring or in handoff_: a
  // packet encrypted here would leave before them (a reorder within the flow, at each member's
  // arrival under traffic). A tunnel this worker never handed off pays one bit test.
  const SaGroup::Member* OwnMember(const Interface& f, uint16_t vti) {
    if (f.out_group == nullptr) return nullptr;
    const SaGroup::Member& m = f.out_group->m[id_];
    if (m.esa == nullptr) return nullptr;
    if (unlikely(handed_vtis_[vti >> 6] & (uint64_t{1} << (vti & 63))) &&
        !HandoffsTaken(vti, m.sa->id))
      return nullptr;
    return &m;
  }
  // Whether the worker vti's last handed-off packets went to has taken them from its ring and
  // sent them (none staged here), or has kept `member` waiting kMemberWaitLoops passes
  // (counted: member_forced; what is staged goes onto the ring first); clears vti's bit when
  // so. A wait is its member's (by SA id: ids carry their slot's use count, where addresses
  // are reused at once): another member (the first removed while it waited) waits anew.
  bool HandoffsTaken(uint16_t vti, uint32_t member);
  // Under overload the owner's ring never empties below this worker's latest handoff: a
  // member is used after this many passes anyway rather than never.
  static constexpr uint32_t kMemberWaitLoops = 4096;
  void FlushHandoffs() {
    for (uint32_t owners = handoff_pending_; owners != 0; owners &= owners - 1)
      FlushHandoff(static_cast<uint16_t>(__builtin_ctz(owners)));
  }

 public:
  // Counts and frees. ifindex 0 counts only the total.
  void DropPkt(rte_mbuf* m, uint16_t ifindex, int reason) {
    ++stats_->drops[reason];
    if (ifindex < stats_->nifs) ++stats_->ifs[ifindex].drops[reason];
    rte_pktmbuf_free(m);
  }
  void DropPkt(rte_mbuf* m, uint16_t ifindex, Drop d) { DropPkt(m, ifindex, DropIndex(d)); }
  void DropIke(rte_mbuf* m, IkeDrop d) {
    ++stats_->ike_drops[static_cast<int>(d)];
    rte_pktmbuf_free(m);
  }

 private:
  Dataplane& dp_;
  const uint16_t id_;
  WorkerStats* stats_;
  drivers::crypto::IpsecMbBackend* crypto_;
  Engine* esp_;
  struct IcmpBudget {
    uint64_t tokens = 0;
    uint64_t refill_tsc = 0;
  };
  IcmpBudget icmp_budget_;
  IcmpBudget icmp_pmtu_budget_;  // packet too big, fragmentation needed
  uint64_t next_lacp_tsc_ = 0;
  struct TxQueue {
    uint16_t n = 0;
    rte_mbuf* pkts[kBurst];
  } tx_[kMaxPorts];
  uint32_t tx_pending_ = 0;  // bit p: tx_[p] holds packets
  // Packets for other workers' SAs, per owner, until the end of the poll (or kBurst of them).
  struct HandoffQueue {
    uint16_t n = 0;
    rte_mbuf* pkts[kBurst];
    uint16_t vtis[kBurst];  // an outbound packet's VTI (0: inbound): the mbufs are the owner's
                            // once enqueued
  } handoff_[kMaxWorkers];
  uint32_t handoff_pending_ = 0;  // bit w: handoff_[w] holds packets
  // OwnMember's memory of outbound handoffs, per VTI: bit v set once some of v's packets are
  // staged for another worker, until OwnMember sees that worker has taken them all from its
  // ring and sent them; handed_at_[v]: which worker, that ring's producer index just after the
  // enqueue that carried v's last (the packets are below it), and whether some are staged
  // still (they reach the ring at the pass's end). Ring indexes wrap at 2^32: compared as a
  // signed difference, a ring never holds 2^31. Only tunnels with a group are tracked (vpnd
  // binds a group's first SA as member 0, so a tunnel has its group before member 1 comes); a
  // plain binding that gains members under traffic is not waited for.
  struct HandedAt {
    uint32_t ring_pos;
    uint16_t owner;
    uint8_t staged;
    uint8_t waiting;  // the SA with id `member` waits for these (since loop `since`)
    uint32_t since;
    uint32_t member;
  };
  // The ring's consumer index taken in this pass, published after FlushTx (handoff_sent).
  bool took_handoffs_ = false;
  std::unique_ptr<uint64_t[]> handed_vtis_;
  std::unique_ptr<HandedAt[]> handed_at_;
  // Bursts a pass takes from this worker's handoff ring at most (PollOnce): more than a peer
  // can hand over in one of its passes (a burst per port), fewer than would stall the
  // worker's own receive queues for long.
  static constexpr unsigned kHandoffDrainBursts = 4;
  IkeLimiter* ike_limiter_;
  uint64_t ike_key_seed_;  // IkeSourceKey6's, drawn at start
  // The firewall's verdicts for fragmented datagrams (docs/DESIGN.md, Firewall): what the
  // first fragment met, per chain, so later fragments (no ports) get the same. Direct-mapped
  // by (source, destination, protocol, IP id); an entry is good for kFwFragTtlSeconds.
  struct FwFrag {
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
    uint8_t used;
    uint32_t slot;  // kFwFragPass: passed as a session's packet
    const FwChain* chain;
    uint64_t tsc;
  };
  static constexpr uint32_t kFwFrags = 1024;
  static constexpr uint32_t kFwFragPass = ~0u;
  static constexpr uint32_t kFwFragNone = ~0u - 1;
  std::unique_ptr<FwFrag[]> fw_frags_;
  // What each chain's ACL answered for the flows this worker saw last (fw_verdict_cache.h).
 public:
  // Lets go of the datagrams being reassembled whose time is up at `now` (a TSC value):
  // PollOnce once they may be, tests with a `now` in the future.
  void ExpireFragments6(uint64_t now);
  // Tests: full ICMP error budgets again (a test that spends them leaves the next test its
  // own errors).
  void ResetIcmpBudgets() {
    icmp_budget_ = {};
    icmp_pmtu_budget_ = {};
  }
  // Tests: the verdict caches probe again with a fresh window (their adaptive state depends
  // on what ran before).
  void ResetFwCacheAdaptive() {
    fw_verdicts_.ResetAdaptive();
    fw_verdicts6_.ResetAdaptive();
  }
  // Tests: whether the verdict cache of key's family has an entry for it.
  bool FwVerdictCached(const FwKey& key) const { return fw_verdicts_.Holds(key); }
  bool FwVerdictCached(const FwKey6& key) const { return fw_verdicts6_.Holds(key); }

 private:
  FwVerdictCache<FwKey> fw_verdicts_;
  FwVerdictCache<FwKey6> fw_verdicts6_;
  template <class Key>
  FwVerdictCache<Key>& FwVerdicts() {
    if constexpr (std::is_same_v<Key, FwKey6>) {
      return fw_verdicts6_;
    } else {
      return fw_verdicts_;
    }
  }
  // The last acquire per (hashed) policy or VTI: direct-mapped, a collision only sends sooner;
  // and a budget for all of them (kAcquiresPerSecond, in bursts of as many), so that many
  // tunnels down at once cannot flood the main lcore and vpnd whatever they collide on.
  struct AcquireSent {
    uint32_t key = 0;
    uint64_t tsc = 0;
  };
  static constexpr uint32_t kAcquireSlotBits = 10;
  static constexpr uint64_t kAcquiresPerSecond = 200;
  std::unique_ptr<AcquireSent[]> acquires_;
  uint64_t acquire_tokens_ = kAcquiresPerSecond;
  uint64_t acquire_refill_tsc_ = 0;
  // IPv6 reassembly (ipv6_reassembly.cc): at most kFrag6Entries datagrams at once, each for
  // kFrag6Seconds from its first fragment (RFC 8200 §4.5), in 64 buckets of 4 (rte_ip_frag
  // looks in two); its death row, and when PollOnce looks for expired ones next (0: none held).
  static constexpr uint32_t kFrag6Buckets = 64, kFrag6BucketEntries = 4, kFrag6Entries = 64;
  static constexpr uint64_t kFrag6Seconds = 60;
  rte_ip_frag_tbl* frag6_ = nullptr;
  std::unique_ptr<rte_ip_frag_death_row> frag6_dead_;
  uint64_t frag6_sweep_tsc_ = 0;
  uint64_t frag6_last_tsc_ = 0;  // when the last fragment was stored
  // A first fragment's verdict (slot) at chain; a later fragment's, or kFwFragNone.
  void FwFragRecord(const rte_ipv4_hdr* ip, const FwChain& chain, uint32_t slot);
  uint32_t FwFragFind(const rte_ipv4_hdr* ip, const FwChain& chain);
  uint32_t FwFragment(const rte_ipv4_hdr* ip, const FwChain& chain, uint32_t slot);
  static_assert(kMaxPorts <= 32);
  static_assert(kMaxWorkers <= 32);
  static_assert(kBurst <= esp::kMaxBurst, "a burst goes to the ESP engine whole");
};

}  // namespace portcullis::dp
