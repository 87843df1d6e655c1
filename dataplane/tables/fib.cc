#include "dataplane/tables/fib.h"

#include <rte_errno.h>
#include <rte_memory.h>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

absl::StatusOr<std::unique_ptr<Fib>> Fib::Create(const char* name, const TableSizes& sizes) {
  std::unique_ptr<Fib> f(new Fib);
  f->nh_.Init(sizes.NextHops());
  rte_fib_conf conf = {};
  conf.type = RTE_FIB_DIR24_8;
  conf.default_nh = 0;
  conf.max_routes = static_cast<int>(sizes.FibRoutes());
  conf.rib_ext_sz = 0;
  // An entry holds a next-hop id or a tbl8 group index, in all bits but one: 2 bytes hold
  // both below 32768 (tbl24 is then 32 MiB), 4 bytes anything (64 MiB).
  const uint32_t tbl8 = sizes.FibTbl8();
  conf.dir24_8.nh_sz =
      f->nh_.capacity() <= 32768 && tbl8 < 32768 ? RTE_FIB_DIR24_8_2B : RTE_FIB_DIR24_8_4B;
  conf.dir24_8.num_tbl8 = tbl8;
  f->fib_ = rte_fib_create(name, SOCKET_ID_ANY, &conf);
  if (f->fib_ == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat("rte_fib_create (", sizes.FibRoutes(),
                                                     " routes, ", tbl8,
                                                     " tbl8 groups): ", rte_strerror(rte_errno)));
  return f;
}

Fib::~Fib() {
  rte_fib_free(fib_);
}

void Fib::ReclaimNextHops() {
  nh_.Reclaim();
}

absl::Status Fib::Set(uint32_t prefix, uint8_t len, const NextHop& nh) {
  uint32_t host = __builtin_bswap32(prefix);
  auto key = std::make_pair(host, len);
  auto it = routes_.find(key);
  if (it != routes_.end() && nh_.at(it->second) == nh) return absl::OkStatus();
  uint32_t id = nh_.Acquire(nh);
  if (id == 0)
    return absl::ResourceExhaustedError(
        absl::StrCat("no free next-hop entries (--max-next-hops ", nh_.capacity(), ")"));
  if (int rc = rte_fib_add(fib_, host, len, id); rc != 0) {
    nh_.Release(id);
    // ENOSPC: no tbl8 group left for a prefix longer than /24 (or the RIB is full).
    return absl::ResourceExhaustedError(absl::StrCat("rte_fib_add /", len, ": ", rte_strerror(-rc),
                                                     " (--fib-tbl8-groups, --max-routes)"));
  }
  if (it != routes_.end()) {
    nh_.Release(it->second);
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
  nh_.Release(it->second);
  routes_.erase(it);
  return absl::OkStatus();
}

std::vector<std::pair<std::pair<uint32_t, uint8_t>, NextHop>> Fib::Dump() const {
  std::vector<std::pair<std::pair<uint32_t, uint8_t>, NextHop>> out;
  for (const auto& [k, id] : routes_)
    out.push_back({{__builtin_bswap32(k.first), k.second}, nh_.at(id)});
  return out;
}

}  // namespace portcullis::dp
