#include "dataplane/tables/fib.h"

#include <rte_errno.h>
#include <rte_memory.h>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

absl::StatusOr<std::unique_ptr<Fib>> Fib::Create(const char* name, const TableSizes& sizes) {
  std::unique_ptr<Fib> f(new Fib);
  f->nh_count_ = sizes.NextHops();
  f->nh_.reset(new NextHop[f->nh_count_]());
  f->refs_.reset(new uint32_t[f->nh_count_]());
  rte_fib_conf conf = {};
  conf.type = RTE_FIB_DIR24_8;
  conf.default_nh = 0;
  conf.max_routes = static_cast<int>(sizes.FibRoutes());
  conf.rib_ext_sz = 0;
  // An entry holds a next-hop id or a tbl8 group index, in all bits but one: 2 bytes hold
  // both below 32768 (tbl24 is then 32 MiB), 4 bytes anything (64 MiB).
  const uint32_t tbl8 = sizes.FibTbl8();
  conf.dir24_8.nh_sz =
      f->nh_count_ <= 32768 && tbl8 < 32768 ? RTE_FIB_DIR24_8_2B : RTE_FIB_DIR24_8_4B;
  conf.dir24_8.num_tbl8 = tbl8;
  f->fib_ = rte_fib_create(name, SOCKET_ID_ANY, &conf);
  if (f->fib_ == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat("rte_fib_create (", sizes.FibRoutes(),
                                                     " routes, ", tbl8,
                                                     " tbl8 groups): ", rte_strerror(rte_errno)));
  // Id 0 is "no route"; hand out the others from the top down.
  f->free_ids_.reserve(f->nh_count_);
  for (uint32_t id = f->nh_count_ - 1; id >= 1; --id) f->free_ids_.push_back(id);
  f->nh_ids_.reserve(f->nh_count_);
  return f;
}

Fib::~Fib() {
  rte_fib_free(fib_);
}

uint32_t Fib::Acquire(const NextHop& nh) {
  // Routes sharing a next hop share its id (10,000 tunnels' routes are 10,000 next hops: found
  // by hash, not by a walk).
  if (auto it = nh_ids_.find(nh); it != nh_ids_.end()) {
    ++refs_[it->second];
    return it->second;
  }
  if (free_ids_.empty()) return 0;
  uint32_t id = free_ids_.back();
  free_ids_.pop_back();
  // A retired id keeps its old contents until reused: a worker that looked it up before the
  // grace period still reads the next hop it meant.
  nh_[id] = nh;  // written before any route points at it
  refs_[id] = 1;
  nh_ids_[nh] = id;
  return id;
}

void Fib::Release(uint32_t id) {
  if (id == 0 || refs_[id] == 0) return;
  if (--refs_[id] == 0) {
    nh_ids_.erase(nh_[id]);
    retired_ids_.push_back(id);
  }
}

void Fib::ReclaimNextHops() {
  for (uint32_t id : retired_ids_)
    if (refs_[id] == 0) free_ids_.push_back(id);
  retired_ids_.clear();
}

absl::Status Fib::Set(uint32_t prefix, uint8_t len, const NextHop& nh) {
  uint32_t host = __builtin_bswap32(prefix);
  auto key = std::make_pair(host, len);
  auto it = routes_.find(key);
  if (it != routes_.end() && nh_[it->second] == nh) return absl::OkStatus();
  uint32_t id = Acquire(nh);
  if (id == 0)
    return absl::ResourceExhaustedError(
        absl::StrCat("no free next-hop entries (--max-next-hops ", nh_count_, ")"));
  if (int rc = rte_fib_add(fib_, host, len, id); rc != 0) {
    Release(id);
    // ENOSPC: no tbl8 group left for a prefix longer than /24 (or the RIB is full).
    return absl::ResourceExhaustedError(absl::StrCat("rte_fib_add /", len, ": ", rte_strerror(-rc),
                                                     " (--fib-tbl8-groups, --max-routes)"));
  }
  if (it != routes_.end()) {
    Release(it->second);
    it->second = id;
  } else {
    routes_[key] = id;
  }
  return absl::OkStatus();
}

absl::Status Fib::Remove(uint32_t prefix, uint8_t len) {
  uint32_t host = __builtin_bswap32(prefix);
  auto it = routes_.find({host, len});
  if (it == routes_.end()) return absl::NotFoundError("no such route");
  if (int rc = rte_fib_delete(fib_, host, len); rc != 0)
    return absl::InternalError(absl::StrCat("rte_fib_delete: ", rte_strerror(-rc)));
  Release(it->second);
  routes_.erase(it);
  return absl::OkStatus();
}

std::vector<std::pair<std::pair<uint32_t, uint8_t>, NextHop>> Fib::Dump() const {
  std::vector<std::pair<std::pair<uint32_t, uint8_t>, NextHop>> out;
  for (const auto& [k, id] : routes_)
    out.push_back({{__builtin_bswap32(k.first), k.second}, nh_[id]});
  return out;
}

}  // namespace portcullis::dp
