// The firewall's session table (connection tracking): one table shared by all workers, an
// rte_hash with lock-free readers (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF) so that return
// traffic finds its session whichever worker RSS gives it to. Lookups (every packet at a hook
// with a firewall) never lock; inserting (once per new session) takes rte_hash's writer lock
// for the bucket update, a short spin, never a syscall or allocation. The main lcore expires
// sessions; deleted key slots come back through the RCU defer queue (rte_hash_rcu_qsbr_add), so
// a worker still holding a position never sees it reused under it. Per-session state (TCP
// state, last packet time) is updated with relaxed atomics by whichever worker sees a packet:
// two workers racing on one flow can only lose a timestamp refresh, never corrupt the table.
#pragma once

#include <nmmintrin.h>
#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "dataplane/core/limits.h"
#include "dataplane/tables/fw_adaptive_probe.h"

namespace portcullis::dp {

// Canonical: the endpoint (a) is the smaller of (address, port) pairs, so both directions of a
// flow have one key. Addresses network order, ports host order. ICMP echo: both ports are the
// identifier. Other protocols: ports 0.
struct FwSessionKey {
  uint32_t a_addr, b_addr;
  uint16_t a_port, b_port;
  uint8_t proto;
  uint8_t pad[3];
};
static_assert(sizeof(FwSessionKey) == 16);

// The CRC32-C of whole 8-byte words, init 0: FwKeyHash's value for a key built from them,
// computed from the words in registers as the key is built (FwKeyHash reads a key back from
// memory). Unrolled: as a loop, IPv6's five words went to the stack and were read back.
template <size_t kWords>
inline uint32_t FwWordsHash(const uint64_t (&w)[kWords]) {
  uint64_t h = 0;
#pragma GCC unroll 8
  for (size_t i = 0; i < kWords; ++i) h = _mm_crc32_u64(h, w[i]);
  return static_cast<uint32_t>(h);
}

// Builds the canonical key; *from_a: whether the packet's source is endpoint a.
// Built as two words in registers: field by field in memory and then copied, the copy's
// 16-byte load waited for the field stores to reach the cache (two thirds of the firewall's
// Parse by perf).
// *hash (when given): the key's FwKeyHash, from the registers.
inline FwSessionKey MakeSessionKey(uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
                                   uint16_t dport, bool* from_a, uint32_t* hash = nullptr) {
  static_assert(std::endian::native == std::endian::little);
  const uint64_t s = (uint64_t{src} << 16) | sport, d = (uint64_t{dst} << 16) | dport;
  *from_a = s <= d;
  const uint64_t a = *from_a ? s : d, b = *from_a ? d : s;  // address << 16 | port
  // a_addr, b_addr; a_port, b_port, proto, pad (zero).
  const uint64_t w[2] = {(a >> 16) | ((b >> 16) << 32),
                         (a & 0xffff) | ((b & 0xffff) << 16) | (uint64_t{proto} << 32)};
  if (hash) *hash = FwWordsHash(w);
  FwSessionKey k;
  std::memcpy(&k, w, sizeof k);
  return k;
}

// MakeSessionKey(proto, src, sport, dst, dport) from the words a packet's header gives:
// addrs = source | destination << 32 (the header's two addresses as one load), ports = source
// port | destination port << 16 (the L4 header's first four bytes). Endpoint a first is the
// words as they are, b first the halves swapped: no field is taken apart (a test checks it
// against MakeSessionKey).
inline FwSessionKey SessionKeyOfWords(uint8_t proto, uint64_t addrs, uint32_t ports, bool* from_a,
                                      uint32_t* hash) {
  static_assert(std::endian::native == std::endian::little);
  const uint64_t s = ((addrs & 0xffffffff) << 16) | (ports & 0xffff);
  const uint64_t d = ((addrs >> 32) << 16) | (ports >> 16);
  *from_a = s <= d;
  const uint64_t w[2] = {*from_a ? addrs : std::rotl(addrs, 32),
                         (*from_a ? ports : std::rotl(ports, 16)) | (uint64_t{proto} << 32)};
  *hash = FwWordsHash(w);
  FwSessionKey k;
  std::memcpy(&k, w, sizeof k);
  return k;
}

// The IPv6 key, canonical as the IPv4 one: (address, port) pairs compare address first.
// IPv6 sessions live in a table of their own (FwSessionTable made with this key's size), so
// IPv4 lookups keep hashing 16 bytes.
struct FwSessionKey6 {
  uint8_t a_addr[16], b_addr[16];
  uint16_t a_port, b_port;
  uint8_t proto;
  uint8_t pad[3];
};
static_assert(sizeof(FwSessionKey6) == 40);

// Built as five words in registers, as the IPv4 key (field by field in memory, the words
// the hash then read waited for the field stores). Addresses compare as memcmp would: as
// big-endian numbers, the first eight bytes first.
inline FwSessionKey6 MakeSessionKey6(uint8_t proto, const uint8_t* src, uint16_t sport,
                                     const uint8_t* dst, uint16_t dport, bool* from_a,
                                     uint32_t* hash = nullptr) {
  static_assert(std::endian::native == std::endian::little);
  // Each word loaded on its own: an array of two loaded at once went through a vector
  // register and the stack.
  uint64_t s0, s1, d0, d1;
  std::memcpy(&s0, src, 8);
  std::memcpy(&s1, src + 8, 8);
  std::memcpy(&d0, dst, 8);
  std::memcpy(&d1, dst + 8, 8);
  const uint64_t sh = __builtin_bswap64(s0), dh = __builtin_bswap64(d0);
  const uint64_t sl = __builtin_bswap64(s1), dl = __builtin_bswap64(d1);
  const bool a = sh != dh ? sh < dh : sl != dl ? sl < dl : sport <= dport;
  *from_a = a;
  // a_addr, b_addr; a_port, b_port, proto, pad (zero).
  const uint64_t w0 = a ? s0 : d0, w1 = a ? s1 : d1, w2 = a ? d0 : s0, w3 = a ? d1 : s1;
  const uint64_t w4 =
      (a ? sport | uint64_t{dport} << 16 : dport | uint64_t{sport} << 16) | uint64_t{proto} << 32;
  const uint64_t w[5] = {w0, w1, w2, w3, w4};
  if (hash) *hash = FwWordsHash(w);
  FwSessionKey6 k;
  std::memcpy(&k, w, sizeof k);
  return k;
}

enum class TcpState : uint8_t {
  kNone = 0,     // not TCP
  kSynSent,      // the initiator's SYN
  kSynReceived,  // the responder's SYN+ACK
  kEstablished,  // the initiator's ACK of it
  kFinWait,      // one side sent FIN
  kClosing,      // both sides sent FIN
  kClosed,       // RST: kept briefly so late packets are not "new"
};

// Which chain made a session, and where its packets pass without that chain's rules
// (docs/DESIGN.md, Firewall: sessions belong to a chain, as npf's belong to an interface).
// id: the interface's index for its hooks, kFwZoneOwner | (zone, zone) for a zone pair.
// A packet of the flow passes where it is seen at `fwd` (from the initiator) or `rev` (from
// the responder): for interface hooks, in -> out and out -> in, local -> out (hook + 1); for
// zone pairs, the zone the packet comes from. id 0: nobody's (the table's own tests).
struct FwOwner {
  uint16_t id = 0;
  uint8_t fwd = 0, rev = 0;
};
inline constexpr uint16_t kFwZoneOwner = 0x8000;

// One cache line each (56 bytes of fields): a session read for a packet is one miss, never
// two (at 56 bytes apart, three of four straddled two lines).
struct alignas(64) FwSession {
  std::atomic<uint64_t> last_tsc;
  std::atomic<uint8_t> live;  // 1: live; 0: free; 2: being deleted; 3: being made
  std::atomic<uint8_t> tcp_state;
  std::atomic<uint8_t> replied;  // a packet from the responder was seen
  uint8_t proto;
  uint8_t initiator_is_a;
  std::atomic<uint8_t> fin_from;  // bit 0: a sent FIN, bit 1: b
  uint8_t pass_fwd, pass_rev;     // FwOwner's
  uint16_t owner;                 // FwOwner's id
  uint8_t reserved[2];
  // Bumped each time the position holds a new session (Insert), so that a worker's cached
  // position (FwSessionTable::Lookup's cache) of a deleted one never passes for its successor.
  std::atomic<uint32_t> incarnation;
  // TCP, per direction (0: from endpoint a, 1: from b), as npf tracks them: the highest
  // sequence number sent plus one (end; 0: nothing seen yet), the highest the other side's
  // acknowledgements and windows allow (maxend), the largest window advertised (maxwin) and the
  // window scale from the SYN (kNoWscale: none).
  struct TcpDir {
    std::atomic<uint32_t> end, maxend, maxwin;
    std::atomic<uint8_t> wscale;
  } dir[2];
};
inline constexpr uint8_t kNoWscale = 0xff;

// The CRC32-C of a key of whole 8-byte words, the value rte_hash_crc (init 0, the session
// table's hash function, SSE4.2 on every CPU this builds for) gives, so one computation serves a
// cache index and the rte_hash lookup (the ACL keys use it too: FwVerdictCache).
template <class Key>
inline uint32_t FwKeyHash(const Key& k, uint32_t init = 0) {
  static_assert(sizeof(Key) % 8 == 0);
  const auto* p = reinterpret_cast<const uint8_t*>(&k);
  uint32_t h = init;
  for (size_t i = 0; i < sizeof(Key); i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    // rte_hash_crc_8byte without its per-call test of the CPU (the build requires SSE4.2).
    h = static_cast<uint32_t>(_mm_crc32_u64(h, w));
  }
  return h;
}

struct FwTimeouts {
  uint64_t tcp_established, tcp_transitory, udp, udp_replied, icmp, other;  // TSC ticks
};

class FwSessionTable {
  // A worker's cache entry: 32 bytes (IPv4) or 64 (IPv6): a bucket of two is one line or two,
  // never straddling.
  template <class Key>
  struct alignas(sizeof(Key) + 8 <= 32 ? 32 : 64) CacheEntry {
    Key key;
    int32_t pos;
    uint32_t incarnation;
  };

 public:
  // capacity sessions at most; rcu: the workers' QSBR variable; key_len: the size of the
  // keys (FwSessionKey, or FwSessionKey6 for the IPv6 table).
  // workers: how many workers look up (ids below it; each has a cache of cache_entries
  // positions, a power of two).
  static absl::StatusOr<std::unique_ptr<FwSessionTable>> Create(
      const std::string& name, uint32_t capacity, rte_rcu_qsbr* rcu,
      uint32_t key_len = sizeof(FwSessionKey), uint32_t workers = kMaxWorkers,
      uint32_t cache_entries = kDefaultCacheEntries);
  static constexpr uint32_t kDefaultCacheEntries = 2048;
  ~FwSessionTable();

  // Positions of up to RTE_HASH_LOOKUP_BULK_MAX keys; -1 where there is no live session.
  // Keys of the table's kind (FwSessionKey or FwSessionKey6).
  template <class Key>
  void Lookup(const Key* const* keys, uint32_t n, int32_t* pos) const {
    if (empty()) {
      for (uint32_t i = 0; i < n; ++i) pos[i] = -1;
      return;
    }
    rte_hash_lookup_bulk(hash_, reinterpret_cast<const void**>(const_cast<const Key**>(keys)), n,
                         pos);
    for (uint32_t i = 0; i < n; ++i)
      if (pos[i] < 0 || sessions_[pos[i]].live.load(std::memory_order_acquire) != 1) pos[i] = -1;
  }
  // The same for a worker, through its cache of the positions it found last: a two-way bucket
  // per key hash, each entry holding the key, its position and the session's incarnation, good
  // while that session is live and still that incarnation (the RCU grace period then keeps the
  // position from being reused until the worker's next quiescent state, as for a lookup).
  // The misses are looked up in one bulk call with the hashes already computed.
  // hashes: the keys' FwKeyHash when the caller has them (MakeSessionKey's), else nullptr.
  // prefetched: the caller asked for the buckets (Prefetch) while Probing said so.
  template <class Key>
  void Lookup(uint16_t worker, const Key* const* keys, uint32_t n, int32_t* pos,
              const uint32_t* hashes = nullptr, bool prefetched = false) {
    if (empty()) {
      for (uint32_t i = 0; i < n; ++i) pos[i] = -1;
      return;
    }
    CacheEntry<Key>* cache = Cache<Key>(worker);
    const void* miss_keys[RTE_HASH_LOOKUP_BULK_MAX];
    hash_sig_t sigs[RTE_HASH_LOOKUP_BULK_MAX];
    uint16_t miss[RTE_HASH_LOOKUP_BULK_MAX];
    uint32_t nm = 0;
    // Adaptive as the verdict cache (FwAdaptiveProbe): under a quarter of the last keys found,
    // the next calls look up without probing or remembering (the hash still computed once).
    FwAdaptiveProbe& probe = workers_[worker].probe;
    const bool use = probe.Use();
    const bool learn = use || probe.Sample();  // remember what rte_hash finds
    // The hashes first (the caller's when it has them), asking for the cache's buckets, so
    // that their misses overlap.
    hash_sig_t own[RTE_HASH_LOOKUP_BULK_MAX];
    const hash_sig_t* hs = hashes;
    if (hs == nullptr) {
      for (uint32_t i = 0; i < n; ++i) own[i] = FwKeyHash(*keys[i]);
      hs = own;
    }
    if (use && !prefetched)
      for (uint32_t i = 0; i < n; ++i) Prefetch<Key>(worker, hs[i]);
    if (use) {
      // The entries found, their sessions asked for together before any is read (with many
      // flows each is a miss of its own).
      int32_t cand[RTE_HASH_LOOKUP_BULK_MAX];
      uint32_t inc[RTE_HASH_LOOKUP_BULK_MAX];
      for (uint32_t i = 0; i < n; ++i) {
        const CacheEntry<Key>* e = &cache[(hs[i] & cache_mask_) * 2];
        // The first way, else the bucket's other (a hit in the first compared once, not twice).
        bool hit = std::memcmp(&e->key, keys[i], sizeof(Key)) == 0;
        if (!hit) hit = std::memcmp(&(++e)->key, keys[i], sizeof(Key)) == 0;
        cand[i] = -1;
        if (hit) {
          cand[i] = e->pos;
          inc[i] = e->incarnation;
          __builtin_prefetch(&sessions_[e->pos]);
        }
      }
      for (uint32_t i = 0; i < n; ++i) {
        if (cand[i] >= 0) {
          const FwSession& s = sessions_[cand[i]];
          if (s.live.load(std::memory_order_acquire) == 1 &&
              s.incarnation.load(std::memory_order_relaxed) == inc[i]) {
            pos[i] = cand[i];
            continue;
          }
        }
        miss_keys[nm] = keys[i];
        sigs[nm] = hs[i];
        miss[nm++] = static_cast<uint16_t>(i);
      }
      probe.Count(n, nm);
    } else {
      for (uint32_t i = 0; i < n; ++i) {
        miss_keys[nm] = keys[i];
        sigs[nm] = hs[i];
        miss[nm++] = static_cast<uint16_t>(i);
      }
    }
    if (nm == 0) return;
    int32_t got[RTE_HASH_LOOKUP_BULK_MAX];
    rte_hash_lookup_with_hash_bulk(hash_, miss_keys, sigs, nm, got);
    // The sessions found, asked for together (a big table's are cache misses each).
    for (uint32_t k = 0; k < nm; ++k)
      if (got[k] >= 0) __builtin_prefetch(&sessions_[got[k]]);
    for (uint32_t k = 0; k < nm; ++k) {
      const uint32_t i = miss[k];
      const int32_t p = got[k];
      if (p < 0 || sessions_[p].live.load(std::memory_order_acquire) != 1) {
        pos[i] = -1;
        continue;
      }
      pos[i] = p;
      if (learn) Remember(cache, *keys[i], sigs[k], p);
    }
  }
  // Whether worker's next Lookup probes its cache: a caller that computes the keys' hashes as
  // it builds them may ask for their buckets then (Prefetch), a whole pass before the probes
  // read them, and tell Lookup so.
  bool Probing(uint16_t worker) const { return workers_[worker].probe.Probing(); }
  // The worker's buckets, for Prefetch: where they start and the hash's mask (the caller keeps
  // them in registers across its loop; stores into its packets' keys would have them reloaded).
  template <class Key>
  class CacheView {
   public:
    void Prefetch(uint32_t hash) const {
      const auto* b = &base_[(hash & mask_) * 2];
      __builtin_prefetch(b);
      if constexpr (sizeof(CacheEntry<Key>) > 32) __builtin_prefetch(b + 1);  // IPv6: 2 lines
    }

   private:
    friend class FwSessionTable;
    CacheView(const CacheEntry<Key>* base, uint32_t mask) : base_(base), mask_(mask) {}
    const CacheEntry<Key>* base_;
    uint32_t mask_;
  };
  template <class Key>
  CacheView<Key> View(uint16_t worker) {
    return CacheView<Key>(Cache<Key>(worker), cache_mask_);
  }
  template <class Key>
  void Prefetch(uint16_t worker, uint32_t hash) {
    View<Key>(worker).Prefetch(hash);
  }
  FwSession& At(int32_t pos) { return sessions_[pos]; }
  // Whether worker's cache holds key, a key other than all zeros (an empty entry's) (tests:
  // what a lookup or a sampled run remembered; reads the cache only, counts no window).
  template <class Key>
  bool Cached(uint16_t worker, const Key& key) {
    const CacheEntry<Key>* b = &Cache<Key>(worker)[(FwKeyHash(key) & cache_mask_) * 2];
    return std::memcmp(&b[0].key, &key, sizeof(Key)) == 0 ||
           std::memcmp(&b[1].key, &key, sizeof(Key)) == 0;
  }

  // A worker: a new session for a packet from endpoint a (from_a) or b; -1 when the table is
  // full (counted), -2 when the main lcore is deleting that very key, or the position of the
  // existing one when another worker won the race.
  // The new session goes into the worker's lookup cache.
  int32_t Insert(uint16_t worker, const FwSessionKey& key, bool from_a, TcpState tcp, uint64_t now,
                 FwOwner owner = {}) {
    return InsertCached(worker, key, from_a, tcp, now, owner);
  }
  int32_t Insert(uint16_t worker, const FwSessionKey6& key, bool from_a, TcpState tcp, uint64_t now,
                 FwOwner owner = {}) {
    return InsertCached(worker, key, from_a, tcp, now, owner);
  }

  // A worker: the live TCP session at pos starts again for a new SYN from endpoint a (from_a)
  // or b, made by owner (a SYN accepted on the ports of a closed or closing connection).
  void Restart(int32_t pos, bool from_a, uint64_t now, FwOwner owner);

  // Main lcore: deletes up to `budget` expired sessions, walking the table round robin from
  // where the last call stopped. Returns how many it deleted.
  uint32_t Expire(uint64_t now, uint32_t budget);
  // The workers' caches back to probing with a fresh window (tests: the cache path whatever
  // ran before; see Lookup).
  void ResetCacheAdaptive() {
    for (auto& w : workers_) w.probe.Reset();
  }

  // Main lcore: every session gone (flush firewall).
  void Clear();

  uint64_t Timeout(const FwSession& s) const;
  void SetTimeouts(const FwTimeouts& t) { timeouts_ = t; }
  const FwTimeouts& timeouts() const { return timeouts_; }

  // No session at all (a relaxed load: rte_hash_count walks every lcore's slot cache).
  bool empty() const { return live_.load(std::memory_order_relaxed) == 0; }
  uint32_t capacity() const { return capacity_; }
  // Positions Expire walks: more than the capacity (rte_hash keeps per-lcore slot caches).
  uint32_t slots() const { return nslots_; }
  // Sessions made and not yet deleted (rte_hash_count also counts slots waiting for their
  // grace period).
  uint64_t active() const { return created() - expired_; }
  uint64_t created() const;
  uint64_t table_full() const;
  uint64_t expired() const { return expired_; }
  // For checks (tests, fuzzers; walks the whole table): keys in the hash, and sessions
  // marked live. Both equal active() when no worker is inserting.
  uint32_t HashKeys() const;
  uint32_t LiveFlags() const;

 private:
  FwSessionTable() = default;
  int32_t InsertKey(uint16_t worker, const void* key, uint8_t proto, bool from_a, TcpState tcp,
                    uint64_t now, FwOwner owner);
  template <class Key>
  int32_t InsertCached(uint16_t worker, const Key& key, bool from_a, TcpState tcp, uint64_t now,
                       FwOwner owner) {
    const int32_t pos = InsertKey(worker, &key, key.proto, from_a, tcp, now, owner);
    if (pos >= 0) Remember(Cache<Key>(worker), key, FwKeyHash(key), pos);
    return pos;
  }
  // Per worker, entries of the table's key kind, in buckets of two.
  template <class Key>
  CacheEntry<Key>* Cache(uint16_t worker) {
    return reinterpret_cast<CacheEntry<Key>*>(cache_) + size_t{worker} * (cache_mask_ + 1) * 2;
  }
  // Two ways per bucket: the newest first, the one it displaces second (two flows whose
  // hashes meet keep their places; a third displaces the older).
  template <class Key>
  void Remember(CacheEntry<Key>* cache, const Key& key, uint32_t hash, int32_t pos) {
    CacheEntry<Key>* b = &cache[(hash & cache_mask_) * 2];
    CacheEntry<Key>* e = b;
    if (std::memcmp(&b[1].key, &key, sizeof(Key)) == 0) {
      e = &b[1];  // the key's entry already: refreshed in its place
    } else if (std::memcmp(&b[0].key, &key, sizeof(Key)) != 0) {
      b[1] = b[0];
    }
    e->key = key;
    e->pos = pos;
    e->incarnation = sessions_[pos].incarnation.load(std::memory_order_relaxed);
  }
  uint8_t* cache_ = nullptr;  // workers x cache_entries() CacheEntry<key kind> (rte_zmalloc)
  uint32_t cache_mask_ = 0;   // buckets per worker - 1
  size_t cache_bytes_ = 0;
  bool Delete(uint32_t pos);
  uint32_t key_len_ = sizeof(FwSessionKey);
  rte_hash* hash_ = nullptr;
  FwSession* sessions_ = nullptr;
  uint32_t nslots_ = 0, capacity_ = 0, cursor_ = 0;
  FwTimeouts timeouts_{};
  struct alignas(64) PerWorker {
    uint64_t created = 0, table_full = 0;
    FwAdaptiveProbe probe;  // whether Lookup probes the cache
  } workers_[kMaxWorkers];
  uint64_t expired_ = 0;
  std::atomic<int64_t> live_{0};  // sessions in the hash (made, not yet deleted)
};

}  // namespace portcullis::dp
