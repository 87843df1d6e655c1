// IPv6 fragments addressed to us (docs/DESIGN.md, IPv6), reassembled on the local path only
// (RFC 8200 §4.5) with DPDK's rte_ip_frag: a table per worker (no lock; a datagram's
// fragments share their addresses and flow label, so RSS and PACKET_FANOUT bring them to one
// worker), bounded (kFrag6Entries datagrams of at most RTE_LIBRTE_IP_FRAG_MAX_FRAG fragments),
// each datagram given 60 seconds from its first fragment. Overlapping fragments (RFC 5722),
// a duplicate first or last one or a ninth abandon the datagram; every fragment let go of is
// counted: reassembly_failed, reassembly_timeout, or fragment_to_us for one this does not take
// (an extension header before its fragment header).
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>

#include <cstring>

#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {

constexpr uint8_t kFragmentHeader = 44;
constexpr uint32_t kFixed = sizeof(rte_ipv6_hdr) + 8;  // IPv6 and fragment header
// Where a parameter problem about a fragment points (RFC 8200 §4.5): its payload length, its
// fragment offset.
constexpr uint32_t kPayloadLengthField = 4;
constexpr uint32_t kFragmentOffsetField = sizeof(rte_ipv6_hdr) + 2;

// The fragment header's offset (in bytes, the low 3 bits reserved and M) of a fragment whose
// fragment header follows the IPv6 header.
uint16_t OffsetField(const rte_mbuf* m) {
  const uint8_t* fh = rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ipv6_hdr));
  return static_cast<uint16_t>(fh[2] << 8 | fh[3]);
}

}  // namespace

bool Worker::CreateReassembly6() {
  frag6_ = rte_ip_frag_table_create(kFrag6Buckets, kFrag6BucketEntries, kFrag6Entries,
                                    kFrag6Seconds * rte_get_tsc_hz(), SOCKET_ID_ANY);
  frag6_dead_.reset(new rte_ip_frag_death_row());
  return frag6_ != nullptr;
}

void Worker::DestroyReassembly6() {
  if (frag6_ != nullptr) rte_ip_frag_table_destroy(frag6_);  // frees what it holds
  frag6_ = nullptr;
}

void Worker::BuryFragments6(Drop why, const Tables& t, int depth) {
  rte_ip_frag_death_row& dr = *frag6_dead_;
  for (uint32_t k = 0; k < dr.cnt; ++k) {
    rte_mbuf* f = dr.row[k];
    // Time is up: the sender of a first fragment learns it (time exceeded, code 1); without
    // the first fragment nothing is sent (RFC 8200 §4.5).
    if (why == Drop::kReassemblyTimeout && (OffsetField(f) & 0xfff8) == 0)
      Icmp6Error(f, 3, 1, 0, t, depth);
    // A reassembly that failed part-way (a hole behind an overlap) hands back the fragments
    // it had chained as one mbuf: each of them counted (they came one segment each).
    const uint16_t in = Meta(f)->in_ifindex;
    const uint32_t more = f->nb_segs - 1u;
    stats_->drops[DropIndex(why)] += more;
    if (in < stats_->nifs) stats_->ifs[in].drops[DropIndex(why)] += more;
    DropPkt(f, in, why);
  }
  dr.cnt = 0;
}

void Worker::Expire6(uint64_t now, const Tables& t, int depth) {
  // rte_ip_frag stops at a death row too full for the next datagram: emptied, and again.
  for (;;) {
    rte_ip_frag_table_del_expired_entries(frag6_, frag6_dead_.get(), now);
    const bool full =
        frag6_dead_->cnt + RTE_LIBRTE_IP_FRAG_MAX_FRAG > RTE_IP_FRAG_DEATH_ROW_MBUF_LEN;
    BuryFragments6(Drop::kReassemblyTimeout, t, depth);
    if (!full) return;
  }
}

void Worker::ExpireFragments6(uint64_t now) {
  if (frag6_ != nullptr) Expire6(now, dp_.CurrentTables(), 0);
}

void Worker::SweepFragments6(uint64_t now, const Tables& t) {
  const uint64_t hz = rte_get_tsc_hz();
  Expire6(now, t, 0);
  // Again in a second while the last fragment stored may still be held.
  frag6_sweep_tsc_ = now < frag6_last_tsc_ + kFrag6Seconds * hz + hz ? now + hz : 0;
}

rte_mbuf* Worker::Reassemble6(rte_mbuf* m, const Tables& t, int depth) {
  const uint16_t in = Meta(m)->in_ifindex;
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
  // rte_ip_frag takes a fragment header right after the IPv6 header only (the usual place:
  // hop-by-hop, routing or destination options before it are rare and unfragmentable).
  if (ip->proto != kFragmentHeader || m->data_len < kFixed || frag6_ == nullptr) {
    DropPkt(m, in, Drop::kFragmentToUs);
    return nullptr;
  }
  const uint16_t field = OffsetField(m);
  const uint32_t offset = field & 0xfff8u;
  const bool more = field & 1;
  const uint32_t len = rte_be_to_cpu_16(ip->payload_len) - 8u;  // Input6: payload_len >= 8
  if (offset == 0 && !more) {
    // An atomic fragment (RFC 6946): the whole datagram, taken alone; its fragment header
    // goes (the header moves up over it), nothing waits in the table.
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    const uint8_t next = p[sizeof(rte_ipv6_hdr)];
    ip->proto = next;
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(len));
    std::memmove(p + 8, p, sizeof(rte_ipv6_hdr));
    rte_pktmbuf_adj(m, 8);
    return m;
  }
  // RFC 8200 §4.5: every fragment but the last carries a multiple of 8 bytes; none may reach
  // past 65,535 bytes of payload. Parameter problems, code 0, at the field that is wrong.
  if (len == 0 || (more && len % 8 != 0)) {
    if (len != 0) Icmp6Error(m, 4, 0, kPayloadLengthField, t, depth);
    DropPkt(m, in, Drop::kReassemblyFailed);
    return nullptr;
  }
  if (offset + len > 65535) {
    Icmp6Error(m, 4, 0, kFragmentOffsetField, t, depth);
    DropPkt(m, in, Drop::kReassemblyFailed);
    return nullptr;
  }
  const uint64_t now = rte_rdtsc();
  // Datagrams whose time is up go first, counted as such (rte_ip_frag would otherwise reuse
  // their entries silently); the death row is empty after each call.
  Expire6(now, t, depth);
  m->l2_len = 0;
  m->l3_len = kFixed;
  auto* fh = reinterpret_cast<rte_ipv6_fragment_ext*>(ip + 1);
  rte_mbuf* whole = rte_ipv6_frag_reassemble_packet(frag6_, frag6_dead_.get(), m, now, ip, fh);
  // What it let go of: overlapping, duplicate or too many fragments, no room in the table.
  BuryFragments6(Drop::kReassemblyFailed, t, depth);
  // PollOnce looks once a second while a datagram may be held (each let go within a second
  // of its 60 s from its first fragment).
  frag6_last_tsc_ = now;
  if (frag6_sweep_tsc_ == 0) frag6_sweep_tsc_ = now + rte_get_tsc_hz();
  if (whole == nullptr) return nullptr;
  ++stats_->reassembled6;
  // One segment when it fits the first fragment's buffer: everything past here reads headers
  // in place, and IKE and ESP are taken only so (a longer datagram stays chained).
  if (whole->nb_segs > 1 && rte_pktmbuf_tailroom(whole) >= whole->pkt_len - whole->data_len)
    (void)rte_pktmbuf_linearize(whole);
  return whole;
}

}  // namespace portcullis::dp
