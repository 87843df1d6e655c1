// The next-hop pool both forwarding tables use: shared ids, counting, reuse only after Reclaim
// (the RCU grace period), exhaustion.
#include "dataplane/tables/next_hop_pool.h"

#include <catch2/catch.hpp>

#include "dataplane/tables/fib.h"

namespace portcullis::dp {
namespace {

NextHop Via(uint16_t ifindex) {
  return NextHop{NhType::kGateway, ifindex, 0x01020304};
}

TEST_CASE("next-hop pool: routes with one next hop share its id; ids return after Reclaim",
          "[tables][fib]") {
  NextHopPool<NextHop> pool;
  pool.Init(3);  // ids 1 and 2
  CHECK(pool.capacity() == 3);
  const uint32_t a = pool.Acquire(Via(1));
  REQUIRE(a != 0);
  CHECK(pool.Acquire(Via(1)) == a);  // shared, counted twice
  const uint32_t b = pool.Acquire(Via(2));
  REQUIRE(b != 0);
  CHECK(b != a);
  CHECK(pool.Acquire(Via(3)) == 0);  // full
  CHECK(pool.at(a) == Via(1));
  CHECK(pool.at(99).type == NhType::kNone);  // out of range reads "no route"
  pool.Release(a);
  CHECK(pool.Acquire(Via(3)) == 0);  // still one route on it
  pool.Release(a);
  // Unreferenced, but a worker may still read it until the grace period ends.
  CHECK(pool.Acquire(Via(3)) == 0);
  CHECK(pool.at(a) == Via(1));
  pool.Reclaim();
  CHECK(pool.Acquire(Via(3)) == a);
  CHECK(pool.at(a) == Via(3));
  // Released and wanted again before the grace period: a fresh id, none free yet.
  pool.Release(b);
  CHECK(pool.Acquire(Via(2)) == 0);
  pool.Reclaim();
  CHECK(pool.Acquire(Via(2)) == b);
  pool.Release(0);   // "no route" is never counted
  pool.Release(77);  // nor anything out of range
}

}  // namespace
}  // namespace portcullis::dp
