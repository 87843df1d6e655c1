#include "dataplane/pipeline/worker.h"

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_random.h>
#include <unistd.h>

#include <new>

namespace portcullis::dp {

Worker::Worker(Dataplane& dp, uint16_t id)
    : dp_(dp), id_(id), fw_verdicts_(kFwVerdictCache), fw_verdicts6_(kFwVerdictCache6) {
  stats_ = static_cast<WorkerStats*>(rte_zmalloc("worker_stats", sizeof(WorkerStats), 64));
  if (stats_ == nullptr) throw std::bad_alloc();
  const uint32_t nifs = dp_.sizes.interfaces;
  stats_->ifs = static_cast<InterfaceStats*>(
      rte_zmalloc("worker_if_stats", sizeof(InterfaceStats) * nifs, 64));
  if (stats_->ifs == nullptr) throw std::bad_alloc();
  stats_->nifs = nifs;
  dp_.stats[id] = stats_;
  crypto_ = new drivers::crypto::IpsecMbBackend;
  esp_ = new Engine(*crypto_);
  ike_limiter_ = new IkeLimiter(rte_get_tsc_hz());
  ike_key_seed_ = rte_rand();
  fw_frags_.reset(new FwFrag[kFwFrags]());
  acquires_.reset(new AcquireSent[1u << kAcquireSlotBits]());
  acquire_refill_tsc_ = rte_rdtsc();
  handed_vtis_.reset(new uint64_t[(nifs + 63) / 64]());
  handed_at_.reset(new HandedAt[nifs]());
  if (!CreateReassembly6()) throw std::bad_alloc();
}

Worker::~Worker() {
  DestroyReassembly6();
  delete ike_limiter_;
  delete esp_;
  delete crypto_;
  // stats_ stays: telemetry may still read it while the process winds down.
}

int Worker::Run() {
  rte_rcu_qsbr_thread_register(dp_.rcu, id_);
  rte_rcu_qsbr_thread_online(dp_.rcu, id_);
  uint64_t idle = 0;
  uint64_t last_round = rte_rdtsc();
  while (!dp_.stop.load(std::memory_order_relaxed)) {
    const uint64_t before = stats_->rx_bursts + stats_->handoff_received;
    PollOnce();
    rte_rcu_qsbr_quiescent(dp_.rcu, id_);
    // Shared machines (tests, small appliances): give the core back when nothing arrives
    // (neither on a port nor from another worker).
    if (stats_->rx_bursts + stats_->handoff_received == before) {
      if (++idle > 1000 && dp_.idle_sleep_us) {
        rte_rcu_qsbr_thread_offline(dp_.rcu, id_);
        usleep(dp_.idle_sleep_us);
        rte_rcu_qsbr_thread_online(dp_.rcu, id_);
      }
    } else {
      idle = 0;
    }
    // One clock read per round (not per packet): the longest gap between two polls, which
    // tells a ring overrun by a stalled worker from one by a burst.
    const uint64_t now = rte_rdtsc();
    if (unlikely(now - last_round > stats_->max_poll_gap_tsc)) {
      stats_->max_poll_gap_tsc = now - last_round;
      stats_->max_poll_gap_end_tsc = now;
    }
    last_round = now;
  }
  FlushHandoffs();
  FlushTx();
  rte_rcu_qsbr_thread_offline(dp_.rcu, id_);
  rte_rcu_qsbr_thread_unregister(dp_.rcu, id_);
  return 0;
}

void Worker::PollOnce() {
  ++stats_->loops;
  const Tables& t = dp_.CurrentTables();
  // What other workers handed over first, up to kHandoffDrainBursts bursts: they already
  // received and classified it, and a full ring would drop that work; so under overload the
  // owner takes more from its ring than a peer can put there in one of its passes. Its own
  // receive queues still get a burst every pass: one flooded SA must not stall the other
  // tunnels, IKE and ARP that this worker receives.
  DrainHandoff(t);
  // Only ports an interface is configured on are polled: until then their packets wait in
  // the NIC (a pcap replay waits for its configuration, a NIC counts its misses).
  for (uint16_t k = 0; k < t.npolled; ++k) {
    const uint16_t port = t.polled[k];
    if (!dp_.ports[port].present || id_ >= dp_.ports[port].nrxq) continue;
    rte_mbuf* pkts[kBurst];
    uint16_t n = rte_eth_rx_burst(port, id_, pkts, kBurst);
    if (n == 0) continue;
    ++stats_->rx_bursts;
    FromWire(pkts, n, port);
  }
  // Injecting may hand off more (a local packet routed into another worker's tunnel).
  if (id_ == 0) DrainInject(t);
  if (handoff_pending_) FlushHandoffs();
  // IPv6 datagrams being reassembled whose time is up: let go (their senders told), looked
  // at once a second (a clock read per pass only while any may be held).
  if (unlikely(frag6_sweep_tsc_ != 0)) {
    const uint64_t now = rte_rdtsc();
    if (now > frag6_sweep_tsc_) SweepFragments6(now, t);
  }
  FlushTx();
  if (took_handoffs_) {
    // What this pass took from the ring has been sent: the order OwnMember waits for. (The
    // single consumer's own tail, read by itself.)
    took_handoffs_ = false;
    dp_.handoff_sent[id_].pos.store(dp_.handoff[id_]->cons.tail, std::memory_order_release);
  }
  DrainEspEvents();
  if (dp_.any_lacp.load(std::memory_order_relaxed)) KeepLacpAlive();
}

void Worker::KeepLacpAlive() {
  // Mode-4 bonds send their LACPDUs from inside transmit calls; with no traffic there are
  // none, and the partner times the link out. An empty burst every 20 ms keeps them flowing.
  const uint64_t now = rte_rdtsc();
  if (now < next_lacp_tsc_) return;
  next_lacp_tsc_ = now + rte_get_tsc_hz() / 50;
  rte_mbuf* none[1];
  for (uint16_t port = 0; port < kMaxPorts; ++port)
    if (dp_.ports[port].lacp.load(std::memory_order_acquire) && id_ < dp_.ports[port].ntxq)
      (void)rte_eth_tx_burst(port, id_, none, 0);
}

void Worker::FlushTx() {
  for (uint32_t ports = tx_pending_; ports != 0; ports &= ports - 1)
    FlushQueue(static_cast<uint16_t>(__builtin_ctz(ports)), 0);
}

void Worker::FlushQueue(uint16_t port, uint16_t ifindex) {
  tx_pending_ &= ~(1u << port);
  TxQueue& q = tx_[port];
  uint16_t sent = rte_eth_tx_burst(port, id_, q.pkts, q.n);
  for (uint16_t i = sent; i < q.n; ++i) DropPkt(q.pkts[i], ifindex, Drop::kTxQueueFull);
  q.n = 0;
}

void Worker::TxFrame(rte_mbuf* m, uint16_t port, uint16_t ifindex) {
  if (unlikely(port >= kMaxPorts)) {
    DropPkt(m, ifindex, Drop::kNoPort);
    return;
  }
  InterfaceStats& s = stats_->ifs[ifindex];
  ++s.tx_packets;
  s.tx_bytes += m->pkt_len;
  Enqueue(m, port, ifindex);
}

void Worker::ToSlowPath(rte_mbuf* m, PktKind kind, uint16_t ifindex) {
  Meta(m)->kind = kind;
  if (rte_ring_mp_enqueue(dp_.slow_ring, m) != 0)
    DropPkt(m, ifindex, kind == PktKind::kPunt ? Drop::kPuntQueueFull : Drop::kSlowPathQueueFull);
  else if (kind == PktKind::kPunt)
    ++stats_->punted;
}

void Worker::Handoff(rte_mbuf* m, uint16_t owner, PktKind kind, uint32_t sa_id, uint16_t ifindex,
                     bool track) {
  PacketMeta* meta = Meta(m);
  meta->kind = kind;
  meta->sa_id = sa_id;
  if (unlikely(owner >= dp_.nworkers)) {
    DropPkt(m, ifindex, Drop::kHandoffQueueFull);
    return;
  }
  HandoffQueue& q = handoff_[owner];
  handoff_pending_ |= 1u << owner;
  if (track) {
    // OwnMember: no member of this tunnel is used here until these have been sent.
    handed_vtis_[ifindex >> 6] |= uint64_t{1} << (ifindex & 63);
    handed_at_[ifindex].staged = 1;
  }
  q.vtis[q.n] = track ? ifindex : 0;
  q.pkts[q.n++] = m;
  if (q.n == kBurst) FlushHandoff(owner);
}

void Worker::FlushHandoff(uint16_t owner) {
  handoff_pending_ &= ~(1u << owner);
  HandoffQueue& q = handoff_[owner];
  rte_ring* r = dp_.handoff[owner];
  // One multi-producer enqueue for the burst: the ring's atomics once, not per packet.
  const unsigned sent =
      rte_ring_mp_enqueue_burst(r, reinterpret_cast<void* const*>(q.pkts), q.n, nullptr);
  stats_->handed_off += sent;
  // OwnMember's order rule: a multi-producer enqueue returns once the producer tail has
  // passed its own slots, so every packet just sent is below this index. (The mbufs are the
  // owner's now: their VTIs come from q.vtis.) A tunnel whose packets were all dropped below
  // waits for the same index: later than it must, never too early.
  const uint32_t pos = __atomic_load_n(&r->prod.tail, __ATOMIC_RELAXED);
  for (unsigned i = 0; i < q.n; ++i)
    if (const uint16_t v = q.vtis[i]; v != 0) {
      HandedAt& h = handed_at_[v];
      h.ring_pos = pos;
      h.owner = owner;
      h.staged = 0;
    }
  // What did not fit is counted where the packet was (inbound: the port it came in on;
  // outbound: the tunnel it was going into).
  for (unsigned i = sent; i < q.n; ++i) {
    const PacketMeta* meta = Meta(q.pkts[i]);
    DropPkt(q.pkts[i], meta->kind == PktKind::kEspIn ? meta->in_ifindex : meta->out_ifindex,
            Drop::kHandoffQueueFull);
  }
  q.n = 0;
}

bool Worker::HandoffsTaken(uint16_t vti, uint32_t member) {
  HandedAt& h = handed_at_[vti];
  // Staged packets reach the ring only at the pass's end, after what this pass encrypts here;
  // the owner publishes how far it has taken its ring once its pass has sent what it took.
  const uint32_t sent = dp_.handoff_sent[h.owner].pos.load(std::memory_order_acquire);
  if (h.staged || static_cast<int32_t>(sent - h.ring_pos) < 0) {
    const auto loop = static_cast<uint32_t>(stats_->loops);
    // A member removed while it waited left its wait behind: the next one starts its own
    // (else it would be forced at its first look, packets still in the owner's ring).
    if (!h.waiting || h.member != member) {
      h.waiting = 1;
      h.since = loop;
      h.member = member;
      return false;
    }
    if (loop - h.since < kMemberWaitLoops) return false;
    ++stats_->member_forced;
    // What this pass staged for the owner goes onto its ring before the member's packets
    // leave. (Today the decision holds for a whole pass, so nothing is staged when it is
    // forced; this keeps it so if that changes.)
    if (h.staged) FlushHandoff(h.owner);
  }
  h.waiting = 0;
  handed_vtis_[vti >> 6] &= ~(uint64_t{1} << (vti & 63));
  return true;
}

void Worker::DrainHandoff(const Tables& t) {
  rte_ring* r = dp_.handoff[id_];
  // Most passes find the ring empty (always with one worker): two loads, not a dequeue.
  if (r == nullptr || rte_ring_empty(r)) return;
  for (unsigned burst = 0; burst < kHandoffDrainBursts; ++burst)
    if (DrainHandoffBurst(r, t) < kBurst) break;
}

unsigned Worker::DrainHandoffBurst(rte_ring* r, const Tables& t) {
  rte_mbuf* pkts[kBurst];
  unsigned n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  stats_->handoff_received += n;
  took_handoffs_ |= n != 0;
  // Another core wrote these mbufs last: ask for all their metadata lines at once instead of
  // meeting the misses one packet after another.
  const int off = g_meta_offset;
  for (unsigned k = 0; k < n; ++k) {
    rte_prefetch0(pkts[k]);
    rte_prefetch0(Meta(pkts[k], off));
  }
  // And the packet's own lines, which the engine reads and writes: the line in front of the
  // data (where the outer headers go), the first and the last (ESP's trailer and ICV follow
  // it). The other core wrote them too; met one packet after another inside the engine their
  // misses came one after another. Finding them waits for the first packet's line 0 only: the
  // others' arrive meanwhile.
  for (unsigned k = 0; k < n; ++k) {
    const auto* d = rte_pktmbuf_mtod(pkts[k], const char*);
    rte_prefetch0(d - 64);
    rte_prefetch0(d);
    rte_prefetch0(d + pkts[k]->data_len);
  }
  // Runs of the same SA and direction go through the engine together; outbound runs of
  // several SAs (traffic spread over many tunnels) in one engine pass, as Dispatch does.
  TunnelBatch batch;
  unsigned i = 0;
  while (i < n) {
    PacketMeta* m0 = Meta(pkts[i], off);
    unsigned j = i + 1;
    while (j < n && Meta(pkts[j], off)->sa_id == m0->sa_id && Meta(pkts[j], off)->kind == m0->kind)
      ++j;
    const auto rn = static_cast<uint16_t>(j - i);
    SaEntry* sa = dp_.sas->ById(m0->sa_id);
    if (sa == nullptr) {
      for (unsigned k = i; k < j; ++k)
        DropPkt(pkts[k], Meta(pkts[k], off)->in_ifindex, Drop::kNoSa);
    } else if (m0->kind == PktKind::kEspIn) {
      if (batch.n) EspOutEach(batch, t, 0);
      EspInSa(*sa, pkts + i, rn, t, 0);
    } else {
      uint64_t bytes = 0;
      for (unsigned k = i; k < j; ++k) bytes += pkts[k]->pkt_len;
      AddToBatch(batch, sa, sa->sa.get(), m0->out_ifindex, pkts + i, rn, bytes);
    }
    i = j;
  }
  if (batch.n) EspOutEach(batch, t, 0);
  return n;
}

void Worker::DrainInject(const Tables& t) {
  rte_mbuf* pkts[kBurst];
  unsigned n =
      rte_ring_sc_dequeue_burst(dp_.inject_ring, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  if (n == 0) return;
  rte_mbuf* local[kBurst];
  uint16_t nl = 0;
  for (unsigned i = 0; i < n; ++i) {
    PacketMeta* meta = Meta(pkts[i]);
    ++stats_->injected;
    if (meta->kind == PktKind::kFrameReady) {
      const Interface& f = t.ifs[meta->out_ifindex];
      if (f.kind == IfKind::kNone) {
        DropPkt(pkts[i], 0, Drop::kUnknownInterface);
        continue;
      }
      TxFrame(pkts[i], f.port, meta->out_ifindex);
    } else if ((*rte_pktmbuf_mtod(pkts[i], const uint8_t*) >> 4) == 6) {
      // IPv6 (vpnd's IKE, or what waited for neighbour discovery): routed again, as ours.
      Forward6(&pkts[i], 1, t, /*transit=*/false, 0);
    } else if (meta->flags & kMetaRouted) {
      // Routed before it waited for ARP: only the Ethernet header is missing.
      Send(&pkts[i], 1, t);
    } else {
      local[nl++] = pkts[i];
    }
  }
  if (nl) Forward(local, nl, t, /*transit=*/false, 0);
}

void Worker::DrainEspEvents() {
  esp::EventQueue& q = esp_->events();
  if (q.size() == 0) return;
  size_t done = 0;
  while (done < q.size() &&
         rte_ring_mp_enqueue_elem(dp_.event_ring, const_cast<esp::EspEvent*>(&q[done]),
                                  sizeof(esp::EspEvent)) == 0)
    ++done;
  q.Consume(done);  // what did not fit waits for the next pass: no event is lost
}

}  // namespace portcullis::dp
