// Acquires: traffic into a VTI without an SA, or matching a protect policy without one, asks
// vpnd for the tunnel (an AcquireRecord on the main lcore's ring, turned into the channel's
// event there), once a second per worker and tunnel; the packets themselves are dropped.
#include <rte_ip.h>
#include <rte_ring_elem.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <vector>

#include "dataplane/core/acquire_record.h"
#include "dataplane/core/drop_reason.h"
#include "test/unit/dataplane/pipeline/pipeline_rig.h"

namespace portcullis::dp::testing {
namespace {

std::vector<uint8_t> Udp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> p(28, 0);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(28);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  p[20] = sport >> 8, p[21] = sport & 0xff, p[22] = dport >> 8, p[23] = dport & 0xff;
  p[25] = 8;
  return p;
}

std::vector<AcquireRecord> Drain(Rig& rig) {
  std::vector<AcquireRecord> out(64);
  const unsigned n = rte_ring_sc_dequeue_burst_elem(rig.dp().acquire_ring, out.data(),
                                                    sizeof(AcquireRecord), 64, nullptr);
  out.resize(n);
  return out;
}

void Poll(Rig& rig) {
  for (int r = 0; r < 3; ++r)
    for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).PollOnce();
}

uint64_t Sum(Rig& rig, uint64_t WorkerStats::*c) {
  uint64_t s = 0;
  for (int w = 0; w < Rig::kWorkers; ++w) s += rig.dp().stats[w]->*c;
  return s;
}

TEST_CASE("a VTI without an SA raises an acquire naming it, once a second") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(R"(
interface add lan kind port
interface add wan kind port
interface add vti3 kind vti
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
address add vti3 172.16.0.1/30
route add 10.2.0.0/24 dev vti3
)")
              .status.ok());
  (void)Drain(rig);
  const uint16_t vti = rig.dp().CurrentTables().ifs[3].kind == IfKind::kVti ? 3 : 0;
  REQUIRE(vti != 0);
  const uint64_t dropped = rig.Drops(DropIndex(Drop::kVtiWithoutSa));
  const uint64_t suppressed = Sum(rig, &WorkerStats::acquires_suppressed);
  rig.Receive(kLan, 0, Udp(0x0a010002, 0x0a020005, 4000, 53));
  rig.Receive(kLan, 0, Udp(0x0a010002, 0x0a020006, 4001, 53));  // same tunnel, same second
  Poll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kVtiWithoutSa)) - dropped == 2);
  std::vector<AcquireRecord> got = Drain(rig);
  REQUIRE(got.size() == 1);
  CHECK(got[0].vti_ifindex == vti);
  CHECK(got[0].reqid == 0);
  CHECK(got[0].family == 4);
  CHECK(std::vector<uint8_t>(got[0].src, got[0].src + 4) == std::vector<uint8_t>{10, 1, 0, 2});
  CHECK(std::vector<uint8_t>(got[0].dst, got[0].dst + 4) == std::vector<uint8_t>{10, 2, 0, 5});
  CHECK(got[0].proto == IPPROTO_UDP);
  CHECK(got[0].sport == 4000);
  CHECK(got[0].dport == 53);
  CHECK(Sum(rig, &WorkerStats::acquires_suppressed) - suppressed == 1);
  // A second later the tunnel's next packet asks again (the limit is a rate, not a latch).
  usleep(1'100'000);
  rig.Receive(kLan, 0, Udp(0x0a010002, 0x0a020005, 4000, 53));
  Poll(rig);
  CHECK(Drain(rig).size() == 1);
}

TEST_CASE("a protect policy without an SA raises an acquire with its reqid") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(R"(
interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
policy add out src 10.1.0.0/24 dst 10.2.0.0/24 protect reqid 7
policy add out src 10.1.0.0/24 dst 10.3.0.0/24 protect reqid 8
)")
              .status.ok());
  (void)Drain(rig);
  const uint64_t sent = Sum(rig, &WorkerStats::acquires_sent);
  rig.Receive(kLan, 0, Udp(0x0a010002, 0x0a020005, 1, 2));
  rig.Receive(kLan, 0, Udp(0x0a010002, 0x0a030005, 3, 4));
  Poll(rig);
  std::vector<AcquireRecord> got = Drain(rig);
  REQUIRE(got.size() == 2);
  CHECK(got[0].reqid == 7);
  CHECK(got[1].reqid == 8);
  CHECK(got[0].vti_ifindex == 0);
  CHECK(Sum(rig, &WorkerStats::acquires_sent) - sent == 2);
  // Nothing leaves in the clear.
  CHECK(rig.Sent(kWan, 0).empty());
}

TEST_CASE("many tunnels down at once: acquires within the worker's budget") {
  Rig& rig = Rig::Get();
  rig.Reset();
  std::string cfg = R"(
interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
)";
  // 250 protect policies without SAs: one acquire each, but no more than the budget a second.
  for (int i = 0; i < 250; ++i)
    cfg += "policy add out src 10.1.0.0/24 dst 10." + std::to_string(2 + i / 250) + "." +
           std::to_string(i % 250) + ".0/24 protect reqid " + std::to_string(100 + i) + "\n";
  REQUIRE(rig.Apply(cfg).status.ok());
  (void)Drain(rig);
  const uint64_t sent = Sum(rig, &WorkerStats::acquires_sent);
  const uint64_t suppressed = Sum(rig, &WorkerStats::acquires_suppressed);
  size_t got = 0;
  for (int i = 0; i < 250; ++i) {
    const uint32_t dst = (10u << 24) | ((2u + i / 250) << 16) | ((i % 250) << 8) | 5;
    rig.Receive(kLan, 0, Udp(0x0a010002, dst, 1, 2));
    if (i % 32 == 31) {
      Poll(rig);
      got += Drain(rig).size();
    }
  }
  Poll(rig);
  got += Drain(rig).size();
  CHECK(Sum(rig, &WorkerStats::acquires_sent) - sent == got);
  // The budget (200 a second; earlier tests may have spent some of it), not one each.
  CHECK(got <= 200 + 10);
  CHECK(got < 250);
  CHECK(Sum(rig, &WorkerStats::acquires_suppressed) - suppressed == 250 - got);
}

}  // namespace
}  // namespace portcullis::dp::testing
