// IPv6 neighbour discovery on the main lcore (neighbor_discovery.cc): solicitations for our
// addresses answered (DAD probes to all nodes), the solicitor learned, advertisements updating
// only neighbours we asked for, router advertisements and malformed messages (hop limit,
// checksum, option lengths) counted and ignored, and next hops the workers could not send to
// solicited on the solicited-node group, their packets sent once the answer comes.
#include <arpa/inet.h>
#include <rte_ip.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "dataplane/core/packet_meta.h"
#include "dataplane/mgmt/slow_path.h"
#include "test/unit/dataplane/pipeline/pipeline_rig.h"
#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp::testing {
namespace {

void Addr6(const char* s, uint8_t* out) {
  REQUIRE(inet_pton(AF_INET6, s, out) == 1);
}

uint16_t IfIndex(Rig& rig, const char* name) {
  const Tables& t = rig.dp().CurrentTables();
  for (uint16_t i = 1; i < t.nifs; ++i)
    if (t.ifs[i].kind != IfKind::kNone && std::strcmp(t.ifs[i].name, name) == 0) return i;
  FAIL("no interface " << name);
  return 0;
}

constexpr uint8_t kHost[6] = {0x02, 0, 0, 0, 0, 0x60};

// An ND message as a frame on the wire: ICMPv6 type, target, one link-layer option (type 0:
// none), checksum over the pseudo-header unless `break_checksum`.
std::vector<uint8_t> NdFrame(const uint8_t dst_mac[6], const char* src, const char* dst,
                             uint8_t type, const char* target, uint8_t opt, uint8_t hlim = 255,
                             bool break_checksum = false, uint8_t opt_len = 1,
                             uint8_t na_flags = 0x60, const uint8_t* opt_mac = kHost) {
  std::vector<uint8_t> icmp(24 + (opt ? 8 : 0), 0);
  icmp[0] = type;
  if (type == 136) icmp[4] = na_flags;  // default: solicited, override
  if (target) Addr6(target, icmp.data() + 8);
  if (opt) {
    icmp[24] = opt;
    icmp[25] = opt_len;
    std::memcpy(icmp.data() + 26, opt_mac, 6);
  }
  std::vector<uint8_t> ip(40 + icmp.size());
  auto* h = reinterpret_cast<rte_ipv6_hdr*>(ip.data());
  h->vtc_flow = RTE_BE32(0x60000000);
  h->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(icmp.size()));
  h->proto = IPPROTO_ICMPV6;
  h->hop_limits = hlim;
  Addr6(src, h->src_addr);
  Addr6(dst, h->dst_addr);
  std::memcpy(ip.data() + 40, icmp.data(), icmp.size());
  uint16_t c = rte_ipv6_udptcp_cksum(h, ip.data() + 40);
  if (break_checksum) c ^= 0x0101;
  std::memcpy(ip.data() + 42, &c, 2);
  return Frame(dst_mac, kHost, 0x86dd, ip);
}

// Received on lan by a worker and passed on to the main lcore.
void Deliver(Rig& rig, const std::vector<uint8_t>& frame) {
  rig.ReceiveFrame(kLan, 0, frame);
  rig.worker(0).PollOnce();
}

std::vector<rte_mbuf*> TakeInjected(Rig& rig) {
  std::vector<rte_mbuf*> out;
  rte_mbuf* m;
  while (rte_ring_dequeue(rig.dp().inject_ring, reinterpret_cast<void**>(&m)) == 0)
    out.push_back(m);
  return out;
}

void Drain(SlowPath& slow, uint64_t now) {
  while (slow.Poll(now) != 0) {
  }
}

const uint8_t kSolicitedMac[6] = {0x33, 0x33, 0xff,
                                  0,    0,    0x01};  // for 2001:db8:1::1 (any group MAC passes)

TEST_CASE("Neighbour solicitations for our address are answered and teach the solicitor",
          "[mgmt][nd]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add lan kind port\naddress add lan 2001:db8:1::1/64").status.ok());
  const uint16_t lan = IfIndex(rig, "lan");
  SlowPath slow(rig.dp(), nullptr);
  // To the solicited-node group's MAC (accepted as a group address) with our address as target.
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1:ff00:1", 135, "2001:db8:1::1", 1));
  Drain(slow, 1);
  CHECK(slow.stats().nd_solicits_answered == 1);
  auto out = TakeInjected(rig);
  REQUIRE(out.size() == 1);
  CHECK(Meta(out[0])->kind == PktKind::kFrameReady);
  CHECK(Meta(out[0])->out_ifindex == lan);
  auto f = test::PacketBytes(out[0]);
  rte_pktmbuf_free(out[0]);
  REQUIRE(f.size() == 14 + 40 + 32);
  CHECK(std::memcmp(f.data(), kHost, 6) == 0);
  CHECK(std::memcmp(f.data() + 6, rig.mac(kLan).addr_bytes, 6) == 0);
  auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(f.data() + 14);
  const uint8_t* na = f.data() + 54;
  CHECK(ip->hop_limits == 255);
  CHECK(na[0] == 136);
  CHECK(na[4] == 0xe0);  // router, solicited, override
  uint8_t me[16];
  Addr6("2001:db8:1::1", me);
  CHECK(std::memcmp(ip->src_addr, me, 16) == 0);
  CHECK(std::memcmp(na + 8, me, 16) == 0);
  CHECK(na[24] == 2);
  CHECK(std::memcmp(na + 26, rig.mac(kLan).addr_bytes, 6) == 0);
  CHECK(rte_ipv6_udptcp_cksum_verify(ip, na) == 0);
  uint8_t host[16];
  Addr6("2001:db8:1::60", host);
  rte_ether_addr mac;
  REQUIRE(rig.dp().neighbors6->Lookup6(lan, host, &mac));
  CHECK(std::memcmp(mac.addr_bytes, kHost, 6) == 0);

  // A duplicate address detection probe: answered to all nodes, not solicited, nobody learned.
  Deliver(rig, NdFrame(kSolicitedMac, "::", "ff02::1:ff00:1", 135, "2001:db8:1::1", 0));
  Drain(slow, 2);
  out = TakeInjected(rig);
  REQUIRE(out.size() == 1);
  f = test::PacketBytes(out[0]);
  rte_pktmbuf_free(out[0]);
  const uint8_t all_nodes[6] = {0x33, 0x33, 0, 0, 0, 1};
  CHECK(std::memcmp(f.data(), all_nodes, 6) == 0);
  CHECK(f[54 + 4] == 0xa0);  // router, override
}

TEST_CASE("Malformed, foreign and router ND messages are counted and ignored", "[mgmt][nd]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add lan kind port\naddress add lan 2001:db8:1::1/64").status.ok());
  const uint16_t lan = IfIndex(rig, "lan");
  SlowPath slow(rig.dp(), nullptr);
  // Forwarded (hop limit 64), a bad checksum, a zero-length option, someone else's target,
  // an advertisement nobody asked for.
  Deliver(rig,
          NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1:ff00:1", 135, "2001:db8:1::1", 1, 64));
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1:ff00:1", 135, "2001:db8:1::1", 1,
                       255, true));
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1:ff00:1", 135, "2001:db8:1::1", 1,
                       255, false, 0));
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1:ff00:9", 135, "2001:db8:1::9", 1));
  Deliver(rig, NdFrame(rig.mac(kLan).addr_bytes, "2001:db8:1::61", "2001:db8:1::1", 136,
                       "2001:db8:1::61", 2));
  // A router advertisement: counted apart.
  Deliver(rig, NdFrame(kSolicitedMac, "fe80::1", "ff02::1", 134, nullptr, 0));
  Drain(slow, 1);
  CHECK(slow.stats().nd_ignored == 5);
  CHECK(slow.stats().nd_router_adverts_ignored == 1);
  CHECK(slow.stats().drops[DropIndex(Drop::kNdIgnored)] == 6);
  CHECK(slow.stats().nd_solicits_answered == 0);
  CHECK(TakeInjected(rig).empty());
  CHECK(rig.dp().neighbors6->size() == 0);
  (void)lan;
}

TEST_CASE("A next hop without a MAC is solicited; its packets leave once it advertises",
          "[mgmt][nd]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add lan kind port\ninterface add wan kind port\n"
                    "address add lan 2001:db8:1::1/64\naddress add wan 2001:db8:ff::1/64\n"
                    "neigh add wan 2001:db8:ff::2 02:00:00:00:02:02")
              .status.ok());
  const uint16_t lan = IfIndex(rig, "lan");
  SlowPath slow(rig.dp(), nullptr);
  // 2001:db8:ff::2 -> 2001:db8:1::60, on-link on lan, not known yet.
  std::vector<uint8_t> udp(8 + 20, 0);
  udp[1] = 7, udp[3] = 9, udp[5] = static_cast<uint8_t>(udp.size());
  std::vector<uint8_t> ip(40 + udp.size());
  auto* h = reinterpret_cast<rte_ipv6_hdr*>(ip.data());
  h->vtc_flow = RTE_BE32(0x60000000);
  h->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(udp.size()));
  h->proto = IPPROTO_UDP;
  h->hop_limits = 64;
  Addr6("2001:db8:ff::2", h->src_addr);
  Addr6("2001:db8:1::60", h->dst_addr);
  std::memcpy(ip.data() + 40, udp.data(), udp.size());
  rig.Receive(kWan, 0, ip, 0x86dd);
  rig.worker(0).PollOnce();
  Drain(slow, 10);
  CHECK(slow.stats().nd_solicits_sent == 1);
  auto out = TakeInjected(rig);
  REQUIRE(out.size() == 1);
  auto ns = test::PacketBytes(out[0]);
  rte_pktmbuf_free(out[0]);
  const uint8_t group_mac[6] = {0x33, 0x33, 0xff, 0, 0, 0x60};
  CHECK(std::memcmp(ns.data(), group_mac, 6) == 0);
  uint8_t group[16], target[16], me[16];
  Addr6("ff02::1:ff00:60", group);
  Addr6("2001:db8:1::60", target);
  Addr6("2001:db8:1::1", me);
  auto* nh = reinterpret_cast<const rte_ipv6_hdr*>(ns.data() + 14);
  CHECK(std::memcmp(nh->dst_addr, group, 16) == 0);
  CHECK(std::memcmp(nh->src_addr, me, 16) == 0);
  CHECK(ns[54] == 135);
  CHECK(std::memcmp(ns.data() + 54 + 8, target, 16) == 0);
  CHECK(rte_ipv6_udptcp_cksum_verify(nh, ns.data() + 54) == 0);
  CHECK(rig.dp().neighbors6->held() == 1);

  // The answer: the held packet goes back to worker 0, which sends it with the host's MAC.
  Deliver(rig, NdFrame(rig.mac(kLan).addr_bytes, "2001:db8:1::60", "2001:db8:1::1", 136,
                       "2001:db8:1::60", 2));
  Drain(slow, 11);
  CHECK(slow.stats().nd_adverts_learned == 1);
  CHECK(rig.dp().neighbors6->held() == 0);
  rig.worker(0).PollOnce();
  auto sent = rig.Sent(kLan, 0);
  REQUIRE(sent.size() == 1);
  CHECK(std::memcmp(sent[0].data(), kHost, 6) == 0);
  auto fwd = StripEthernet(sent[0]);
  ip[7] = 63;  // forwarded once, not twice
  CHECK(fwd == ip);
  (void)lan;
}

TEST_CASE("Our addresses are probed; one another node claims is a duplicate, not used",
          "[mgmt][nd][dad]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add lan kind port\naddress add lan 2001:db8:1::1/64\n"
                    "address add lan 2001:db8:1::2/64\naddress add lan 2001:db8:1::3/64")
              .status.ok());
  SlowPath slow(rig.dp(), nullptr);
  // As the main lcore wires them: a duplicate stops being ours in the tables.
  slow.OnDuplicate(
      [&](uint16_t ifx, const uint8_t* addr) { rig.applier().MarkDuplicate6(ifx, addr); });
  slow.Age(1'000'000'000);
  CHECK(slow.stats().nd_dad_probes_sent == 3);
  auto out = TakeInjected(rig);
  REQUIRE(out.size() == 3);
  // A probe: from ::, to the target's solicited-node group and MAC, no option.
  auto f = test::PacketBytes(out[0]);
  for (rte_mbuf* m : out) rte_pktmbuf_free(m);
  REQUIRE(f.size() == 14 + 40 + 24);
  CHECK(std::memcmp(f.data(), kSolicitedMac, 6) == 0);
  auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(f.data() + 14);
  uint8_t zero[16] = {}, target[16];
  Addr6("2001:db8:1::1", target);
  CHECK(std::memcmp(ip->src_addr, zero, 16) == 0);
  CHECK(f[54] == 135);
  CHECK(std::memcmp(f.data() + 62, target, 16) == 0);
  CHECK(rte_ipv6_udptcp_cksum_verify(ip, f.data() + 54) == 0);
  slow.Age(1'100'000'000);  // probed once per address
  CHECK(slow.stats().nd_dad_probes_sent == 3);

  // ::1 advertised by another node; ::2 probed by another while ours is pending.
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::1", "ff02::1", 136, "2001:db8:1::1", 2, 255,
                       false, 1, 0x20));  // unsolicited, override
  Deliver(rig, NdFrame(kSolicitedMac, "::", "ff02::1:ff00:2", 135, "2001:db8:1::2", 0));
  Drain(slow, 1'200'000'000);
  CHECK(slow.stats().nd_duplicates == 2);
  // Neither is answered for any more; ::3 still is, its probe long done, and defended.
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1:ff00:1", 135, "2001:db8:1::1", 1));
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1:ff00:2", 135, "2001:db8:1::2", 1));
  Deliver(rig, NdFrame(kSolicitedMac, "::", "ff02::1:ff00:3", 135, "2001:db8:1::3", 0));
  Drain(slow, 3'000'000'000);
  CHECK(slow.stats().nd_solicits_answered == 1);
  CHECK(slow.stats().nd_duplicates == 2);
  for (rte_mbuf* m : TakeInjected(rig)) rte_pktmbuf_free(m);
  // Not assigned any more (RFC 4862 §5.4.5): no local route, not delivered to: an echo to ::1
  // goes unanswered while ::3 answers.
  const Fib6& fib = *rig.dp().fib6;
  auto at = [&](const char* a) {
    uint8_t v[16];
    Addr6(a, v);
    return fib.next_hop(fib.Lookup(v)).type;
  };
  CHECK(at("2001:db8:1::1") != NhType::kLocal);
  CHECK(at("2001:db8:1::2") != NhType::kLocal);
  CHECK(at("2001:db8:1::3") == NhType::kLocal);
  const Interface& lan = rig.dp().CurrentTables().ifs[IfIndex(rig, "lan")];
  REQUIRE(lan.naddr6 == 3);
  CHECK(lan.addr6[0].duplicate);
  CHECK(lan.addr6[1].duplicate);
  CHECK(!lan.addr6[2].duplicate);
  REQUIRE(rig.Apply("neigh add lan 2001:db8:1::60 02:00:00:00:00:60").status.ok());
  auto echo = [&](const char* dst) {
    std::vector<uint8_t> ip(48, 0);
    auto* h = reinterpret_cast<rte_ipv6_hdr*>(ip.data());
    h->vtc_flow = RTE_BE32(0x60000000);
    h->payload_len = RTE_BE16(8);
    h->proto = IPPROTO_ICMPV6;
    h->hop_limits = 64;
    Addr6("2001:db8:1::60", h->src_addr);
    Addr6(dst, h->dst_addr);
    ip[40] = 128;
    ip[47] = 1;
    const uint16_t c = rte_ipv6_udptcp_cksum(h, ip.data() + 40);
    std::memcpy(ip.data() + 42, &c, 2);
    rig.ReceiveFrame(kLan, 0, Frame(rig.mac(kLan).addr_bytes, kHost, 0x86dd, ip));
    rig.worker(0).PollOnce();
    int replies = 0;
    for (int w = 0; w < Rig::kWorkers; ++w)
      for (const auto& fr : rig.Sent(kLan, w)) replies += fr.size() > 54 && fr[54] == 129;
    return replies;
  };
  CHECK(echo("2001:db8:1::1") == 0);
  CHECK(echo("2001:db8:1::3") == 1);
  // Removed and configured again: ours until probed again.
  REQUIRE(rig.Apply("address del lan 2001:db8:1::1/64").status.ok());
  REQUIRE(rig.Apply("address add lan 2001:db8:1::1/64").status.ok());
  CHECK(at("2001:db8:1::1") == NhType::kLocal);
}

TEST_CASE(
    "Advertisements follow their flags: no override keeps the MAC; solicited to a group "
    "is refused",
    "[mgmt][nd]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add lan kind port\naddress add lan 2001:db8:1::1/64").status.ok());
  const uint16_t lan = IfIndex(rig, "lan");
  SlowPath slow(rig.dp(), nullptr);
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1:ff00:1", 135, "2001:db8:1::1", 1));
  Drain(slow, 1);
  for (rte_mbuf* m : TakeInjected(rig)) rte_pktmbuf_free(m);
  uint8_t host[16];
  Addr6("2001:db8:1::60", host);
  rte_ether_addr mac;
  REQUIRE(rig.dp().neighbors6->Lookup6(lan, host, &mac));
  REQUIRE(std::memcmp(mac.addr_bytes, kHost, 6) == 0);
  const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x77};
  // Unsolicited, no override, another MAC: the entry keeps its MAC (RFC 4861 §7.2.5).
  Deliver(rig, NdFrame(rig.mac(kLan).addr_bytes, "2001:db8:1::60", "2001:db8:1::1", 136,
                       "2001:db8:1::60", 2, 255, false, 1, 0x00, other));
  // Solicited, to all nodes: invalid (§7.1.2), ignored.
  Deliver(rig, NdFrame(kSolicitedMac, "2001:db8:1::60", "ff02::1", 136, "2001:db8:1::60", 2, 255,
                       false, 1, 0x60, other));
  const uint64_t ignored = slow.stats().nd_ignored;
  Drain(slow, 2);
  CHECK(slow.stats().nd_ignored - ignored == 1);
  REQUIRE(rig.dp().neighbors6->Lookup6(lan, host, &mac));
  CHECK(std::memcmp(mac.addr_bytes, kHost, 6) == 0);
  // With override it moves.
  Deliver(rig, NdFrame(rig.mac(kLan).addr_bytes, "2001:db8:1::60", "2001:db8:1::1", 136,
                       "2001:db8:1::60", 2, 255, false, 1, 0x20, other));
  Drain(slow, 3);
  REQUIRE(rig.dp().neighbors6->Lookup6(lan, host, &mac));
  CHECK(std::memcmp(mac.addr_bytes, other, 6) == 0);
}

}  // namespace
}  // namespace portcullis::dp::testing
