#include "dataplane/tables/firewall_sessions.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <vector>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

absl::StatusOr<std::unique_ptr<FwSessionTable>> FwSessionTable::Create(
    const std::string& name, uint32_t capacity, rte_rcu_qsbr* rcu, uint32_t key_len,
    uint32_t workers, uint32_t cache_entries) {
  std::unique_ptr<FwSessionTable> t(new FwSessionTable);
  t->key_len_ = key_len;
  rte_hash_parameters p{};
  p.name = name.c_str();
  p.entries = capacity;
  p.key_len = key_len;
  p.hash_func = rte_hash_crc;  // SSE4.2 CRC32: a quarter of jhash's cost on 16 bytes
  p.socket_id = SOCKET_ID_ANY;
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD |
                 RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  t->hash_ = rte_hash_create(&p);
  if (t->hash_ == nullptr)
    return absl::ResourceExhaustedError(
        absl::StrCat("session table ", name, ": ", rte_strerror(rte_errno)));
  // The workers' caches compute the table's hash themselves (FwKeyHash) and look misses up
  // with it: a table hashing otherwise would find nothing.
  {
    alignas(8) uint8_t probe[sizeof(FwSessionKey6)];
    for (size_t i = 0; i < sizeof probe; ++i) probe[i] = static_cast<uint8_t>(i * 37 + 1);
    const uint32_t ours = key_len == sizeof(FwSessionKey6)
                              ? FwKeyHash(*reinterpret_cast<const FwSessionKey6*>(probe))
                              : FwKeyHash(*reinterpret_cast<const FwSessionKey*>(probe));
    if (rte_hash_hash(t->hash_, probe) != ours)
      return absl::InternalError(
          absl::StrCat("session table ", name, ": its hash is not the workers' cache hash"));
  }
  if (rcu != nullptr) {
    rte_hash_rcu_config rc{};
    rc.v = rcu;
    rc.mode = RTE_HASH_QSBR_MODE_DQ;
    if (rte_hash_rcu_qsbr_add(t->hash_, &rc) != 0)
      return absl::InternalError(
          absl::StrCat("session table ", name, ": RCU: ", rte_strerror(rte_errno)));
  }
  t->capacity_ = capacity;
  t->nslots_ = rte_hash_max_key_id(t->hash_) + 1;
  t->sessions_ = static_cast<FwSession*>(
      rte_zmalloc("fw_sessions", sizeof(FwSession) * t->nslots_, RTE_CACHE_LINE_SIZE));
  if (t->sessions_ == nullptr) return absl::ResourceExhaustedError("session table: no memory");
  // The workers' caches (on hugepages where the dataplane has them, as the sessions).
  const size_t entry = key_len == sizeof(FwSessionKey6) ? sizeof(CacheEntry<FwSessionKey6>)
                                                        : sizeof(CacheEntry<FwSessionKey>);
  // No more entries than four times the sessions the table can hold (rounded up): two-way
  // buckets keep 91% of a full table's flows with four entries a session (74% with two), and
  // more could never hold a live session's position.
  cache_entries = std::min<uint64_t>(cache_entries, std::bit_ceil(uint64_t{capacity} * 4));
  t->cache_mask_ = std::bit_floor(std::max<uint32_t>(cache_entries, 2)) / 2 - 1;
  t->cache_bytes_ =
      entry * (t->cache_mask_ + 1) * 2 * std::clamp<uint32_t>(workers, 1, kMaxWorkers);
  t->cache_ = static_cast<uint8_t*>(rte_zmalloc("fw_session_cache", t->cache_bytes_, 64));
  if (t->cache_ == nullptr) return absl::ResourceExhaustedError("session table: no memory");
  const uint64_t hz = rte_get_tsc_hz();
  t->timeouts_ = {7440 * hz, 120 * hz, 30 * hz, 180 * hz, 30 * hz, 600 * hz};
  return t;
}

FwSessionTable::~FwSessionTable() {
  rte_hash_free(hash_);
  rte_free(sessions_);
  rte_free(cache_);
}

namespace {

// A flow's start: who opened it, which chain owns it, no TCP bounds seen yet. Shared by a new
// session and one a SYN restarts after a close.
void StartFlow(FwSession& s, bool from_a, TcpState tcp, uint64_t now, FwOwner owner) {
  s.initiator_is_a = from_a ? 1 : 0;
  s.owner = owner.id;
  s.pass_fwd = owner.fwd;
  s.pass_rev = owner.rev;
  s.fin_from.store(0, std::memory_order_relaxed);
  s.replied.store(0, std::memory_order_relaxed);
  for (auto& d : s.dir) {
    d.end.store(0, std::memory_order_relaxed);
    d.maxend.store(0, std::memory_order_relaxed);
    d.maxwin.store(0, std::memory_order_relaxed);
    d.wscale.store(kNoWscale, std::memory_order_relaxed);
  }
  s.tcp_state.store(static_cast<uint8_t>(tcp), std::memory_order_relaxed);
  s.last_tsc.store(now, std::memory_order_relaxed);
}

}  // namespace

int32_t FwSessionTable::InsertKey(uint16_t worker, const void* key, uint8_t proto, bool from_a,
                                  TcpState tcp, uint64_t now, FwOwner owner) {
  int32_t pos = rte_hash_add_key(hash_, key);
  if (pos < 0) {
    ++workers_[worker].table_full;
    return -1;
  }
  FwSession& s = sessions_[pos];
  // Two workers adding one key get one position: the one that takes it from free (0) to being
  // made (3) fills it in; the other gets the position (lookups see no session until live is 1).
  uint8_t live = 0;
  if (!s.live.compare_exchange_strong(live, 3, std::memory_order_acq_rel)) {
    if (live == 2) return -2;  // the main lcore is deleting this very key: no session this time
    return pos;                // another worker's, just made (or being made)
  }
  s.proto = proto;
  s.incarnation.store(s.incarnation.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  StartFlow(s, from_a, tcp, now, owner);
  s.live.store(1, std::memory_order_release);
  ++workers_[worker].created;
  live_.fetch_add(1, std::memory_order_relaxed);
  return pos;
}

void FwSessionTable::Restart(int32_t pos, bool from_a, uint64_t now, FwOwner owner) {
  // Fields another worker may read meanwhile are atomics; the rest are set once per restart
  // and read only to decide a packet's state (a race costs that packet its state, nothing more).
  StartFlow(sessions_[pos], from_a, TcpState::kSynSent, now, owner);
}

uint64_t FwSessionTable::Timeout(const FwSession& s) const {
  switch (s.proto) {
    case 6:
      return static_cast<TcpState>(s.tcp_state.load(std::memory_order_relaxed)) ==
                     TcpState::kEstablished
                 ? timeouts_.tcp_established
                 : timeouts_.tcp_transitory;
    case 17:
      return s.replied.load(std::memory_order_relaxed) ? timeouts_.udp_replied : timeouts_.udp;
    case 1:
    case 58:  // ICMPv6
      return timeouts_.icmp;
    default:
      return timeouts_.other;
  }
}

bool FwSessionTable::Delete(uint32_t pos) {
  // Marked dying first (lookups see no session, an insert of the same key makes none), then
  // out of the hash (its slot waits in the RCU defer queue), then free: a slot the defer
  // queue hands out again is never still marked live.
  FwSession& s = sessions_[pos];
  void* key = nullptr;
  if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &key) != 0) return false;
  alignas(8) uint8_t copy[sizeof(FwSessionKey6)];
  std::memcpy(copy, key, key_len_);
  // Only a live one: a session a worker is still making (3) waits for the next walk.
  uint8_t expect = 1;
  if (!s.live.compare_exchange_strong(expect, 2, std::memory_order_acq_rel)) return false;
  const bool ok = rte_hash_del_key(hash_, copy) >= 0;
  s.live.store(0, std::memory_order_release);
  if (ok) live_.fetch_sub(1, std::memory_order_relaxed);
  return ok;
}

uint32_t FwSessionTable::Expire(uint64_t now, uint32_t budget) {
  // Nothing made: no walk (the IPv6 table is empty wherever no IPv6 flows through a firewall).
  if (empty()) return 0;
  uint32_t deleted = 0;
  for (uint32_t k = 0; k < budget && nslots_ > 0; ++k) {
    const uint32_t pos = cursor_;
    cursor_ = cursor_ + 1 == nslots_ ? 0 : cursor_ + 1;
    FwSession& s = sessions_[pos];
    if (s.live.load(std::memory_order_acquire) != 1) continue;
    const uint64_t last = s.last_tsc.load(std::memory_order_relaxed);
    if (now < last || now - last < Timeout(s)) continue;
    if (Delete(pos)) {
      ++deleted;
      ++expired_;
    }
  }
  return deleted;
}

void FwSessionTable::Clear() {
  for (uint32_t pos = 0; pos < nslots_; ++pos) {
    FwSession& s = sessions_[pos];
    if (s.live.load(std::memory_order_acquire) != 1) continue;
    if (Delete(pos)) ++expired_;
  }
}

uint32_t FwSessionTable::HashKeys() const {
  uint32_t n = 0, next = 0;
  const void* key;
  void* data;
  while (rte_hash_iterate(hash_, &key, &data, &next) >= 0) ++n;
  return n;
}

uint32_t FwSessionTable::LiveFlags() const {
  uint32_t n = 0;
  for (uint32_t pos = 0; pos < nslots_; ++pos)
    n += sessions_[pos].live.load(std::memory_order_relaxed) == 1;
  return n;
}

uint64_t FwSessionTable::created() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += __atomic_load_n(&w.created, __ATOMIC_RELAXED);
  return n;
}

uint64_t FwSessionTable::table_full() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += __atomic_load_n(&w.table_full, __ATOMIC_RELAXED);
  return n;
}

}  // namespace portcullis::dp
