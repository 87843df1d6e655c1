#include "dataplane/tables/fib6.h"

#include <rte_errno.h>
#include <rte_memory.h>

#include "absl/strings/str_cat.h"

namespace portcullis::dp {

Ip6 MaskIp6(const Ip6& a, uint8_t len) {
  Ip6 out{};
  for (int i = 0; i < 16; ++i) {
    const int bits = std::min(8, std::max(0, len - 8 * i));
    out[i] = bits == 0 ? 0 : static_cast<uint8_t>(a[i] & (0xff00 >> bits));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Fib6>> Fib6::Create(const char* name, const TableSizes& sizes) {
  std::unique_ptr<Fib6> f(new Fib6);
  f->nh_.Init(sizes.NextHops());
  rte_fib6_conf conf = {};
  conf.type = RTE_FIB6_TRIE;
  conf.default_nh = 0;
  conf.max_routes = static_cast<int>(sizes.Fib6Routes());
  conf.rib_ext_sz = 0;
  // An entry holds a next-hop id or a tbl8 group index: 2 bytes (a 32 MiB tbl24) while both
  // stay below 32768, else 4.
  conf.trie.nh_sz =
      f->nh_.capacity() <= 32768 && sizes.Fib6Tbl8() < 32768 ? RTE_FIB6_TRIE_2B : RTE_FIB6_TRIE_4B;
  conf.trie.num_tbl8 = sizes.Fib6Tbl8();
  f->fib_ = rte_fib6_create(name, SOCKET_ID_ANY, &conf);
  if (f->fib_ == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat("rte_fib6_create (", sizes.Fib6Routes(),
                                                     " routes, ", sizes.Fib6Tbl8(),
                                                     " tbl8 groups): ", rte_strerror(rte_errno)));
  return f;
}

Fib6::~Fib6() {
  rte_fib6_free(fib_);
}

void Fib6::ReclaimNextHops() {
  nh_.Reclaim();
}

absl::Status Fib6::Set(const Ip6& prefix, uint8_t len, const NextHop6& nh) {
  if (len > 128) return absl::InvalidArgumentError("prefix length above 128");
  const auto key = std::make_pair(MaskIp6(prefix, len), len);
  auto it = routes_.find(key);
  if (it != routes_.end() && nh_.at(it->second) == nh) return absl::OkStatus();
  uint32_t id = nh_.Acquire(nh);
  if (id == 0)
    return absl::ResourceExhaustedError(
        absl::StrCat("no free IPv6 next-hop entries (--max-next-hops ", nh_.capacity(), ")"));
  if (int rc = rte_fib6_add(fib_, key.first.data(), len, id); rc != 0) {
    nh_.Release(id);
    return absl::ResourceExhaustedError(absl::StrCat("rte_fib6_add /", len, ": ", rte_strerror(-rc),
                                                     " (--max-routes6 sizes the IPv6 FIB)"));
  }
  if (it != routes_.end()) {
    nh_.Release(it->second);
    it->second = id;
  } else {
    routes_[key] = id;
  }
  return absl::OkStatus();
}

absl::Status Fib6::Remove(const Ip6& prefix, uint8_t len) {
  auto it = routes_.find({MaskIp6(prefix, len), len});
  if (it == routes_.end()) return absl::NotFoundError("no such route");
  if (int rc = rte_fib6_delete(fib_, it->first.first.data(), len); rc != 0)
    return absl::InternalError(absl::StrCat("rte_fib6_delete: ", rte_strerror(-rc)));
  nh_.Release(it->second);
  routes_.erase(it);
  return absl::OkStatus();
}

std::vector<std::pair<std::pair<Ip6, uint8_t>, NextHop6>> Fib6::Dump() const {
  std::vector<std::pair<std::pair<Ip6, uint8_t>, NextHop6>> out;
  for (const auto& [k, id] : routes_) out.push_back({k, nh_.at(id)});
  return out;
}

}  // namespace portcullis::dp
