#include "dataplane/runtime/dataplane.h"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/core/acquire_record.h"
#include "dataplane/core/fw_log_record.h"
#include "dataplane/core/packet_meta.h"
#include "dataplane/esp/esp_event.h"

namespace portcullis::dp {

NeighborEntry* Dataplane::AdmitNeighbor(uint16_t ifindex, uint32_t ip) {
  NeighborEntry* e = neighbors->GetOrCreate(ifindex, ip);
  if (e == nullptr && neighbors->NeedsReclaim()) {
    rte_rcu_qsbr_synchronize(rcu, RTE_QSBR_THRID_INVALID);
    neighbors->Reclaim();
    e = neighbors->GetOrCreate(ifindex, ip);
  }
  return e;
}

NeighborEntry* Dataplane::AdmitNeighbor6(uint16_t ifindex, const uint8_t* ip6) {
  NeighborEntry* e = neighbors6->GetOrCreate6(ifindex, ip6);
  if (e == nullptr && neighbors6->NeedsReclaim()) {
    rte_rcu_qsbr_synchronize(rcu, RTE_QSBR_THRID_INVALID);
    neighbors6->Reclaim();
    e = neighbors6->GetOrCreate6(ifindex, ip6);
  }
  return e;
}

absl::StatusOr<std::unique_ptr<Dataplane>> CreateDataplane(const DataplaneParams& p) {
  if (p.workers == 0 || p.workers > kMaxWorkers)
    return absl::InvalidArgumentError(absl::StrCat("workers must be 1..", kMaxWorkers));
  if (absl::Status s = CheckTableSizes(p.sizes); !s.ok()) return s;
  if (!RegisterPacketMeta()) return absl::InternalError("cannot register the mbuf metadata field");
  auto dp = std::make_unique<Dataplane>();
  dp->sizes = p.sizes;
  dp->nworkers = p.workers;
  dp->idle_sleep_us = p.idle_sleep_us;
  const std::string& n = p.name;
  dp->name = n;
  auto fail = [&](absl::string_view what) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": ", rte_strerror(rte_errno), " (", n, ")"));
  };
  dp->pool = rte_pktmbuf_pool_create((n + "_mbufs").c_str(), p.mbufs, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (dp->pool == nullptr) return fail("mbuf pool");

  const size_t rcu_size = rte_rcu_qsbr_get_memsize(p.workers);
  dp->rcu =
      static_cast<rte_rcu_qsbr*>(rte_zmalloc((n + "_rcu").c_str(), rcu_size, RTE_CACHE_LINE_SIZE));
  if (dp->rcu == nullptr || rte_rcu_qsbr_init(dp->rcu, p.workers) != 0) return fail("RCU");

  dp->tables.store(new Tables(p.sizes.interfaces));
  auto fib = Fib::Create((n + "_fib").c_str(), p.sizes);
  if (!fib.ok()) return fib.status();
  dp->fib = std::move(*fib);
  auto neigh = NeighborTable::Create((n + "_neigh").c_str(), p.sizes.neighbors);
  if (!neigh.ok()) return neigh.status();
  dp->neighbors = std::move(*neigh);
  auto fib6 = Fib6::Create((n + "_fib6").c_str(), p.sizes);
  if (!fib6.ok()) return fib6.status();
  dp->fib6 = std::move(*fib6);
  auto neigh6 = NeighborTable::Create((n + "_neigh6").c_str(), p.sizes.neighbors, /*v6=*/true);
  if (!neigh6.ok()) return neigh6.status();
  dp->neighbors6 = std::move(*neigh6);
  auto sas = SaTable::Create((n + "_sad").c_str(), p.sizes.sas);
  if (!sas.ok()) return sas.status();
  dp->sas = std::move(*sas);
  auto sessions = FwSessionTable::Create(n + "_fwsess", p.fw_sessions, dp->rcu,
                                         sizeof(FwSessionKey), p.workers, kFwSessionCache);
  if (!sessions.ok()) return sessions.status();
  dp->sessions = std::move(*sessions);
  const uint32_t cap6 = p.fw_sessions6 ? p.fw_sessions6 : std::max<uint32_t>(64, p.fw_sessions / 4);
  auto sessions6 = FwSessionTable::Create(n + "_fwsess6", cap6, dp->rcu, sizeof(FwSessionKey6),
                                          p.workers, kFwSessionCache6);
  if (!sessions6.ok()) return sessions6.status();
  dp->sessions6 = std::move(*sessions6);

  dp->slow_ring = rte_ring_create((n + "_slow").c_str(), 4096, SOCKET_ID_ANY, RING_F_SC_DEQ);
  dp->ike_ring = rte_ring_create((n + "_ike").c_str(), 512, SOCKET_ID_ANY, RING_F_SC_DEQ);
  dp->ike_init_ring = rte_ring_create((n + "_ike_init").c_str(), 512, SOCKET_ID_ANY, RING_F_SC_DEQ);
  dp->ike_cookie_ring =
      rte_ring_create((n + "_ike_cookie").c_str(), 512, SOCKET_ID_ANY, RING_F_SC_DEQ);
  dp->inject_ring = rte_ring_create((n + "_inject").c_str(), 4096, SOCKET_ID_ANY, RING_F_SC_DEQ);
  dp->event_ring = rte_ring_create_elem((n + "_events").c_str(), sizeof(esp::EspEvent), 4096,
                                        SOCKET_ID_ANY, RING_F_SC_DEQ);
  dp->fw_log_ring = rte_ring_create_elem((n + "_fwlog").c_str(), sizeof(FwLogRecord), 4096,
                                         SOCKET_ID_ANY, RING_F_SC_DEQ);
  dp->acquire_ring = rte_ring_create_elem((n + "_acquire").c_str(), sizeof(AcquireRecord), 1024,
                                          SOCKET_ID_ANY, RING_F_SC_DEQ);
  if (!dp->slow_ring || !dp->ike_ring || !dp->ike_init_ring || !dp->ike_cookie_ring ||
      !dp->inject_ring || !dp->event_ring || !dp->fw_log_ring || !dp->acquire_ring)
    return fail("rings");
  for (uint32_t w = 0; w < p.workers; ++w) {
    dp->handoff[w] =
        rte_ring_create(absl::StrCat(n, "_handoff", w).c_str(), 2048, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (!dp->handoff[w]) return fail("rings");
  }
  return dp;
}

}  // namespace portcullis::dp
