// The main lcore's ARP and neighbour resolution: which ARP may create or update a neighbour
// (RFC 826, hardened), and what a flood of unresolvable destinations can cost (bounded table,
// bounded waiting packets, unresolved entries evicted first). IKE for vpnd through the workers
// and the main lcore to a real channel: a flood of new IKE delays neither ARP nor established
// IKE SAs, and one source gets its share only.
#include "dataplane/mgmt/slow_path.h"

#include <arpa/inet.h>
#include <rte_arp.h>
#include <rte_ip.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/channel_server.h"
#include "dataplane/core/packet_meta.h"
#include "dataplane/pipeline/ike_limiter.h"
#include "test/unit/dataplane/pipeline/pipeline_rig.h"
#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp::testing {
namespace {

uint32_t Ip(const char* s) {
  uint32_t a = 0;
  REQUIRE(inet_pton(AF_INET, s, &a) == 1);
  return a;
}

uint16_t IfIndex(Rig& rig, const char* name) {
  const Tables& t = rig.dp().CurrentTables();
  for (uint16_t i = 1; i < t.nifs; ++i)
    if (t.ifs[i].kind != IfKind::kNone && std::strcmp(t.ifs[i].name, name) == 0) return i;
  FAIL("no interface " << name);
  return 0;
}

constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// An ARP frame as a worker hands it to the main lcore: Ethernet header on, l2_len set.
void QueueArp(Rig& rig, uint16_t ifx, uint16_t op, const uint8_t sha[6], const char* sip,
              const char* tip) {
  std::vector<uint8_t> arp(sizeof(rte_arp_hdr));
  auto* a = reinterpret_cast<rte_arp_hdr*>(arp.data());
  a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
  a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  a->arp_hlen = 6;
  a->arp_plen = 4;
  a->arp_opcode = rte_cpu_to_be_16(op);
  std::memcpy(a->arp_data.arp_sha.addr_bytes, sha, 6);
  a->arp_data.arp_sip = Ip(sip);
  a->arp_data.arp_tip = Ip(tip);
  auto frame = Frame(op == RTE_ARP_OP_REQUEST ? kBroadcast : rig.mac(kLan).addr_bytes, sha,
                     RTE_ETHER_TYPE_ARP, arp);
  rte_mbuf* m = test::MakePacket(frame);
  m->l2_len = sizeof(rte_ether_hdr);
  *Meta(m) = PacketMeta{ifx, 0, 0, PktKind::kArp, 0, 0, 0};
  REQUIRE(rte_ring_enqueue(rig.dp().slow_ring, m) == 0);
}

// A routed packet waiting for next_hop's MAC, as a worker hands it over.
bool QueueResolve(Rig& rig, uint16_t ifx, uint32_t next_hop) {
  rte_mbuf* m = rte_pktmbuf_alloc(rig.dp().pool);
  if (m == nullptr) return false;
  std::memset(rte_pktmbuf_append(m, 60), 0, 60);
  *Meta(m) = PacketMeta{ifx, ifx, next_hop, PktKind::kResolve, 0, 0, 0};
  REQUIRE(rte_ring_enqueue(rig.dp().slow_ring, m) == 0);
  return true;
}

// What the slow path sent towards the workers (ARP requests and replies, released packets).
std::vector<rte_mbuf*> TakeInjected(Rig& rig) {
  std::vector<rte_mbuf*> out;
  rte_mbuf* m;
  while (rte_ring_dequeue(rig.dp().inject_ring, reinterpret_cast<void**>(&m)) == 0)
    out.push_back(m);
  return out;
}

void FreeAll(const std::vector<rte_mbuf*>& v) {
  for (rte_mbuf* m : v) rte_pktmbuf_free(m);
}

void Drain(SlowPath& slow, uint64_t now) {
  while (slow.Poll(now) != 0) {
  }
}

TEST_CASE("ARP creates a neighbour only for a request to us; replies only update", "[mgmt][arp]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add lan kind port\naddress add lan 10.1.0.1/24").status.ok());
  const uint16_t lan = IfIndex(rig, "lan");
  SlowPath slow(rig.dp(), nullptr);
  NeighborTable& nt = *rig.dp().neighbors;
  const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x50};
  const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x51};
  const uint8_t group[6] = {0x03, 0, 0, 0, 0, 0x52};

  // An answer nobody asked for, to us: poisoning, not learning.
  QueueArp(rig, lan, RTE_ARP_OP_REPLY, mac_a, "10.1.0.50", "10.1.0.1");
  // A request for someone else, and a gratuitous announcement of an unknown host.
  QueueArp(rig, lan, RTE_ARP_OP_REQUEST, mac_a, "10.1.0.51", "10.1.0.99");
  QueueArp(rig, lan, RTE_ARP_OP_REQUEST, mac_a, "10.1.0.52", "10.1.0.52");
  // A request to us from a group MAC, and one claiming our own address.
  QueueArp(rig, lan, RTE_ARP_OP_REQUEST, group, "10.1.0.54", "10.1.0.1");
  QueueArp(rig, lan, RTE_ARP_OP_REQUEST, mac_a, "10.1.0.1", "10.1.0.1");
  Drain(slow, 1);
  for (const char* ip : {"10.1.0.50", "10.1.0.51", "10.1.0.52", "10.1.0.54", "10.1.0.1"}) {
    INFO(ip);
    CHECK(nt.Find(lan, Ip(ip)) == nullptr);
  }
  CHECK(slow.stats().arp_ignored == 5);
  CHECK(slow.stats().drops[DropIndex(Drop::kArpIgnored)] == 5);
  CHECK(slow.stats().arp_requests_answered == 0);

  // A request to us: answered, and the asker learned (we are about to talk to it).
  QueueArp(rig, lan, RTE_ARP_OP_REQUEST, mac_a, "10.1.0.53", "10.1.0.1");
  Drain(slow, 2);
  CHECK(slow.stats().arp_requests_answered == 1);
  rte_ether_addr mac;
  REQUIRE(nt.Lookup(lan, Ip("10.1.0.53"), &mac));
  CHECK(std::memcmp(mac.addr_bytes, mac_a, 6) == 0);
  // Any ARP from a known neighbour updates it (RFC 826).
  QueueArp(rig, lan, RTE_ARP_OP_REPLY, mac_b, "10.1.0.53", "10.1.0.1");
  Drain(slow, 3);
  REQUIRE(nt.Lookup(lan, Ip("10.1.0.53"), &mac));
  CHECK(std::memcmp(mac.addr_bytes, mac_b, 6) == 0);

  // Our own resolution: the reply to our request resolves the entry and frees what waited.
  REQUIRE(QueueResolve(rig, lan, Ip("10.1.0.60")));
  Drain(slow, 4);
  CHECK(nt.Find(lan, Ip("10.1.0.60")) != nullptr);
  CHECK_FALSE(nt.Lookup(lan, Ip("10.1.0.60"), &mac));
  FreeAll(TakeInjected(rig));  // the reply to .53 and our request for .60
  QueueArp(rig, lan, RTE_ARP_OP_REPLY, mac_a, "10.1.0.60", "10.1.0.1");
  Drain(slow, 5);
  CHECK(nt.Lookup(lan, Ip("10.1.0.60"), &mac));
  auto released = TakeInjected(rig);
  CHECK(released.size() == 1);
  CHECK(slow.stats().resolved == 1);
  FreeAll(released);
  CHECK(nt.held() == 0);
  rig.Reset();
}

TEST_CASE("A flood of unresolvable destinations holds few mbufs and cannot fill the table",
          "[mgmt][arp]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(R"(
interface add lan kind port
address add lan 10.1.0.1/16
neigh add lan 10.1.0.2 02:00:00:00:01:0a
)")
              .status.ok());
  const uint16_t lan = IfIndex(rig, "lan");
  SlowPath slow(rig.dp(), nullptr);
  NeighborTable& nt = *rig.dp().neighbors;
  rte_mempool* pool = rig.dp().pool;
  const unsigned in_use = rte_mempool_in_use_count(pool);

  // A neighbour that answers, learned before the flood.
  const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x03};
  QueueArp(rig, lan, RTE_ARP_OP_REQUEST, mac_a, "10.1.0.3", "10.1.0.1");
  Drain(slow, 1);
  FreeAll(TakeInjected(rig));
  rte_ether_addr mac;
  REQUIRE(nt.Lookup(lan, Ip("10.1.0.3"), &mac));

  // Three packets each to 6,000 destinations that never answer, in waves the rings hold.
  const uint32_t kDestinations = 6000;
  bool pool_ok = true;
  for (uint32_t first = 0; first < kDestinations && pool_ok; first += 500) {
    for (uint32_t d = first; d < first + 500 && pool_ok; ++d)
      for (int k = 0; k < 3 && pool_ok; ++k)
        pool_ok = QueueResolve(rig, lan, htonl(0x0a010100u + d));
    Drain(slow, 10 + first);
    FreeAll(TakeInjected(rig));  // our ARP requests
  }
  REQUIRE(pool_ok);  // the flood never emptied the mbuf pool
  CHECK(nt.held() <= kMaxHeldPackets);
  CHECK(rte_mempool_in_use_count(pool) - in_use <= kMaxHeldPackets);
  CHECK(nt.size() <= nt.capacity());
  CHECK(nt.evictions() >= kDestinations - nt.capacity());
  // Every drop has its reason: held-queue caps, and packets of evicted unresolved entries.
  CHECK(slow.stats().drops[DropIndex(Drop::kNeighborQueueFull)] > 0);
  CHECK(slow.stats().drops[DropIndex(Drop::kNeighborUnresolved)] > 0);
  const uint64_t accounted = nt.held() + slow.stats().drops[DropIndex(Drop::kNeighborQueueFull)] +
                             slow.stats().drops[DropIndex(Drop::kNeighborUnresolved)];
  CHECK(accounted == 3 * kDestinations);
  // Who still resolves: the configured neighbour, the one that answered, and the newest
  // destination (the table never refuses a new one).
  CHECK(nt.Lookup(lan, Ip("10.1.0.2"), &mac));
  CHECK(nt.Lookup(lan, Ip("10.1.0.3"), &mac));
  CHECK(nt.Find(lan, htonl(0x0a010100u + kDestinations - 1)) != nullptr);

  rig.Reset();  // flush: the entries go, with their packets
  rte_rcu_qsbr_synchronize(rig.dp().rcu, RTE_QSBR_THRID_INVALID);
  FreeAll(TakeInjected(rig));
}

TEST_CASE("Static neighbours are limited to part of the table", "[mgmt][applier]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  std::string batch = "interface add lan kind port\naddress add lan 10.0.0.1/8\n";
  const uint32_t max_static = rig.dp().neighbors->static_capacity();
  for (uint32_t i = 0; i <= max_static; ++i) {
    batch += "neigh add lan 10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
             " 02:00:00:00:00:01\n";
  }
  auto r = rig.Apply(batch);
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(r.failed_index == 2 + max_static);
  CHECK(rig.applier().state().interfaces.empty());
  rig.Reset();
}

// An IKE datagram to 192.0.2.1:500 from src: IKE_SA_INIT (no responder SPI) or, with
// spi_r != 0, an INFORMATIONAL of an established IKE SA.
std::vector<uint8_t> Ike(uint32_t src_host_order, uint64_t spi_r, uint8_t tag) {
  std::vector<uint8_t> p(20 + 8 + 28 + 4, 0);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(src_host_order);
  ip->dst_addr = rte_cpu_to_be_32(0xc0000201);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  uint8_t* udp = p.data() + 20;
  udp[0] = 500 >> 8, udp[1] = 500 & 0xff, udp[2] = 500 >> 8, udp[3] = 500 & 0xff;
  udp[5] = static_cast<uint8_t>(p.size() - 20);
  uint8_t* ike = udp + 8;
  ike[0] = 0x11;  // SPIi
  for (int i = 0; i < 8; ++i) ike[8 + i] = static_cast<uint8_t>(spi_r >> (8 * (7 - i)));
  ike[17] = 0x20;                  // version 2.0
  ike[18] = spi_r != 0 ? 37 : 34;  // INFORMATIONAL or IKE_SA_INIT
  ike[27] = 28 + 4;
  ike[28] = tag;
  return p;
}

// An IKE_SA_INIT that returns a COOKIE (RFC 7296 §2.6: the notify first, 8 bytes of cookie).
std::vector<uint8_t> IkeCookieInit(uint32_t src_host_order) {
  std::vector<uint8_t> p = Ike(src_host_order, 0, 33);
  const uint8_t notify[16] = {33, 0, 0, 16, 0, 0, 0x40, 0x06, 1, 2, 3, 4, 5, 6, 7, 8};
  p.resize(20 + 8 + 28);
  p.insert(p.end(), notify, notify + sizeof(notify));
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  p[20 + 5] = static_cast<uint8_t>(p.size() - 20);  // UDP length
  p[20 + 8 + 16] = 41;                              // first payload: Notify
  p[20 + 8 + 27] = static_cast<uint8_t>(p.size() - 28);
  return p;
}

struct PuntChannel {
  PuntChannel() {
    auto s = api::ChannelServer::Create(name);
    REQUIRE(s.ok());
    server = *std::move(s);
    auto c = api::ChannelClient::Attach(name, /*primary=*/true, absl::Seconds(1));
    REQUIRE(c.ok());
    client.emplace(*std::move(c));
  }
  ~PuntChannel() { shm_unlink(("/portcullis-" + name).c_str()); }
  // What vpnd received: (source address, first payload byte after the IKE header).
  std::vector<std::pair<uint32_t, uint8_t>> Take(size_t max = 1000) {
    std::vector<std::pair<uint32_t, uint8_t>> got;
    client->PollPunt(max, [&](absl::Span<const uint8_t> d, const api::PacketMeta& m) {
      uint32_t src;
      std::memcpy(&src, m.src.bytes, 4);
      got.emplace_back(ntohl(src), d.size() > 28 ? d[28] : 0);
    });
    return got;
  }
  std::string name = "mgmttest-" + std::to_string(getpid());
  std::unique_ptr<api::ChannelServer> server;
  std::optional<api::ChannelClient> client;
};

void ConfigureWan(Rig& rig) {
  rig.Reset();
  REQUIRE(rig.Apply("interface add wan kind port\naddress add wan 192.0.2.1/24").status.ok());
}

// Worker 0 takes everything waiting on the WAN port's first queue.
void RunWorker(Rig& rig) {
  for (int i = 0; i < 40; ++i) rig.worker(0).PollOnce();
}

void ArpRequest(Rig& rig, uint8_t host) {
  std::vector<uint8_t> arp = {0,   1, 8, 0,    6, 4, 0, 1, 2, 0, 0,   0, 9, host,
                              192, 0, 2, host, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1};
  const uint8_t src[6] = {2, 0, 0, 0, 9, host};
  rig.ReceiveFrame(kWan, 0, Frame(kBroadcast, src, 0x0806, arp));
}

TEST_CASE("A flood of new IKE delays neither ARP nor the established IKE SAs' messages",
          "[mgmt][ike]") {
  Rig& rig = Rig::Get();
  ConfigureWan(rig);
  PuntChannel ch;
  SlowPath slow(rig.dp(), ch.server.get());
  auto& ike_drops = rig.worker(0).stats().ike_drops;
  const uint64_t init_full = ike_drops[static_cast<int>(IkeDrop::kInitQueueFull)];

  // 4,500 IKE_SA_INITs from as many sources arrive while the main lcore is busy elsewhere.
  for (uint32_t wave = 0; wave < 5; ++wave) {
    for (uint32_t i = 0; i < 900; ++i) rig.Receive(kWan, 0, Ike(0xc6120000 + wave * 900 + i, 0, 1));
    RunWorker(rig);
  }
  // Then a few neighbours ask for us, and an established peer runs DPD.
  for (uint8_t h = 10; h < 15; ++h) ArpRequest(rig, h);
  for (uint8_t k = 0; k < 10; ++k) rig.Receive(kWan, 0, Ike(0xc0000202, 0x2222, 100 + k));
  RunWorker(rig);

  std::vector<std::pair<uint32_t, uint8_t>> punted;
  for (int round = 0; round < 200; ++round) {
    slow.Poll(1);
    for (auto& p : ch.Take()) punted.push_back(p);
  }
  CHECK(slow.stats().arp_requests_answered == 5);
  int established = 0;
  for (auto [src, tag] : punted) established += src == 0xc0000202 && tag >= 100;
  CHECK(established == 10);
  // The flood's excess was dropped at the workers, counted under its own name.
  CHECK(ike_drops[static_cast<int>(IkeDrop::kInitQueueFull)] - init_full > 0);
  FreeAll(TakeInjected(rig));  // the ARP replies
}

TEST_CASE("Under a flood of new IKE an initiator returning our cookie reaches vpnd",
          "[mgmt][ike]") {
  Rig& rig = Rig::Get();
  ConfigureWan(rig);
  PuntChannel ch;
  SlowPath slow(rig.dp(), ch.server.get());
  auto& ike_drops = rig.worker(0).stats().ike_drops;
  const uint64_t init_full = ike_drops[static_cast<int>(IkeDrop::kInitQueueFull)];
  const uint64_t cookie_full = ike_drops[static_cast<int>(IkeDrop::kCookieQueueFull)];
  // Spoofed IKE_SA_INITs fill the queue of new IKE; then a real initiator answers the COOKIE
  // demand vpnd sent it, behind them.
  for (uint32_t wave = 0; wave < 2; ++wave) {
    for (uint32_t i = 0; i < 900; ++i) rig.Receive(kWan, 0, Ike(0xc6120000 + wave * 900 + i, 0, 1));
    RunWorker(rig);
  }
  REQUIRE(ike_drops[static_cast<int>(IkeDrop::kInitQueueFull)] - init_full > 0);
  rig.Receive(kWan, 0, IkeCookieInit(0xc0000203));
  RunWorker(rig);
  // It reaches vpnd within two polls (the queues take turns going first: at most two bursts of
  // the flood's with it), not after the 511 waiting.
  std::vector<std::pair<uint32_t, uint8_t>> got;
  for (int round = 0; round < 2; ++round) {
    slow.Poll(1);
    for (auto& p : ch.Take()) got.push_back(p);
  }
  CHECK(std::count(got.begin(), got.end(), std::make_pair(0xc0000203u, uint8_t{33})) == 1);
  CHECK(got.size() <= 2 * kBurst + 1);
  CHECK(ike_drops[static_cast<int>(IkeDrop::kCookieQueueFull)] == cookie_full);
  for (int round = 0; round < 100; ++round) {
    slow.Poll(1);
    (void)ch.Take();
  }
}

TEST_CASE("A flood of forged cookies leaves first IKE_SA_INITs their turn", "[mgmt][ike]") {
  Rig& rig = Rig::Get();
  ConfigureWan(rig);
  PuntChannel ch;
  SlowPath slow(rig.dp(), ch.server.get());
  auto& ike_drops = rig.worker(0).stats().ike_drops;
  const uint64_t cookie_full = ike_drops[static_cast<int>(IkeDrop::kCookieQueueFull)];
  // 900 IKE_SA_INITs with made-up cookies and 900 without, from as many sources: more than
  // either queue holds.
  for (uint32_t i = 0; i < 900; ++i) {
    rig.Receive(kWan, 0, IkeCookieInit(0xc6140000 + i));
    rig.Receive(kWan, 0, Ike(0xc6120000 + i, 0, 1));
    if (i % 100 == 99) RunWorker(rig);
  }
  RunWorker(rig);
  // The forged ones beyond their queue are counted under their own name.
  CHECK(ike_drops[static_cast<int>(IkeDrop::kCookieQueueFull)] - cookie_full ==
        900 - rte_ring_get_capacity(rig.dp().ike_cookie_ring));
  // vpnd, slower than the flood (40 a round), gets both kinds in about equal shares while both
  // wait: its punt buffers, not the queues, decide how much is taken.
  size_t cookies = 0, first_tries = 0;
  for (int round = 0; round < 12; ++round) {
    slow.Poll(1);
    for (auto [src, tag] : ch.Take(40)) (tag == 33 ? cookies : first_tries) += 1;
  }
  INFO(cookies << " cookies, " << first_tries << " first tries");
  CHECK(cookies + first_tries == 12 * 40);
  CHECK(first_tries * 3 >= cookies * 2);
  CHECK(cookies * 3 >= first_tries * 2);
  for (int round = 0; round < 100; ++round) {
    slow.Poll(1);
    (void)ch.Take();
  }
}

TEST_CASE("One source's IKE flood reaches vpnd at its share only", "[mgmt][ike]") {
  Rig& rig = Rig::Get();
  ConfigureWan(rig);
  PuntChannel ch;
  SlowPath slow(rig.dp(), ch.server.get());
  auto& ike_drops = rig.worker(0).stats().ike_drops;
  const uint64_t limited = ike_drops[static_cast<int>(IkeDrop::kRateLimited)];
  uint32_t from_flooder = 0, from_other = 0;
  auto drain = [&] {
    slow.Poll(1);
    for (auto [src, tag] : ch.Take()) (src == 0xcb007105 ? from_flooder : from_other) += 1;
  };
  for (int i = 0; i < 300; ++i) {
    rig.Receive(kWan, 0, Ike(0xcb007105, 0, 1));
    if (i % 50 == 0) rig.Receive(kWan, 0, Ike(0xcb007106, 0, 2));  // a well-behaved neighbour
    if (i % 20 == 19) {
      RunWorker(rig);
      drain();
    }
  }
  RunWorker(rig);
  for (int i = 0; i < 10; ++i) drain();
  CHECK(from_flooder <= IkeLimiter::kNew.burst + 1);
  CHECK(from_other == 6);
  CHECK(ike_drops[static_cast<int>(IkeDrop::kRateLimited)] - limited == 300 - from_flooder);
}

TEST_CASE("Without a channel IKE is dropped and counted, new IKE included, none kept",
          "[mgmt][ike]") {
  Rig& rig = Rig::Get();
  ConfigureWan(rig);
  SlowPath slow(rig.dp(), nullptr);
  for (uint32_t i = 0; i < 3; ++i) rig.Receive(kWan, 0, Ike(0xc6120001 + i, 0, 1));
  rig.Receive(kWan, 0, Ike(0xc0000202, 0x2222, 2));
  RunWorker(rig);
  REQUIRE(rte_ring_count(rig.dp().ike_init_ring) == 3);
  REQUIRE(rte_ring_count(rig.dp().ike_ring) == 1);
  for (int round = 0; round < 4; ++round) slow.Poll(1);
  CHECK(rte_ring_count(rig.dp().ike_init_ring) == 0);
  CHECK(rte_ring_count(rig.dp().ike_ring) == 0);
  CHECK(slow.stats().punt_dropped == 4);
  CHECK(slow.stats().drops[DropIndex(Drop::kPuntQueueFull)] == 4);
}

// IKE over an IPv6 WAN: UDP 500 and UDP 4500 behind the non-ESP marker reach vpnd with their
// IPv6 addresses and ports, the marker flagged and stripped; what vpnd injects leaves as IPv6
// UDP with a valid checksum (mandatory over IPv6) and the marker put back.
TEST_CASE("IKE over IPv6 is punted to vpnd and injected back", "[mgmt][ike][ipv6]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add wan kind port\naddress add wan 2001:db8:ff::1/64\n"
                    "neigh add wan 2001:db8:ff::2 02:00:00:00:02:02")
              .status.ok());
  PuntChannel ch;
  SlowPath slow(rig.dp(), ch.server.get());
  uint8_t us[16], peer[16];
  REQUIRE(inet_pton(AF_INET6, "2001:db8:ff::1", us) == 1);
  REQUIRE(inet_pton(AF_INET6, "2001:db8:ff::2", peer) == 1);
  auto udp6 = [&](uint16_t port, bool marker, uint8_t tag) {
    std::vector<uint8_t> ike(28 + 4, 0);
    std::memset(ike.data(), 0x11, 8);
    ike[18] = 34;  // IKE_SA_INIT
    ike[28] = tag;
    std::vector<uint8_t> body = marker ? std::vector<uint8_t>(4, 0) : std::vector<uint8_t>{};
    body.insert(body.end(), ike.begin(), ike.end());
    std::vector<uint8_t> p(40 + 8 + body.size());
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p.data());
    ip->vtc_flow = RTE_BE32(0x60000000);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + body.size()));
    ip->proto = IPPROTO_UDP;
    ip->hop_limits = 64;
    std::memcpy(ip->src_addr, peer, 16);
    std::memcpy(ip->dst_addr, us, 16);
    p[40] = static_cast<uint8_t>(port >> 8), p[41] = static_cast<uint8_t>(port);
    p[42] = static_cast<uint8_t>(port >> 8), p[43] = static_cast<uint8_t>(port);
    p[45] = static_cast<uint8_t>(8 + body.size());
    std::memcpy(p.data() + 48, body.data(), body.size());
    return p;
  };
  rig.Receive(kWan, 0, udp6(500, false, 0x51), 0x86dd);
  rig.Receive(kWan, 0, udp6(4500, true, 0x52), 0x86dd);
  RunWorker(rig);
  struct Got {
    api::PacketMeta meta;
    std::vector<uint8_t> data;
  };
  std::vector<Got> got;
  for (int round = 0; round < 20; ++round) {
    slow.Poll(1);
    ch.client->PollPunt(100, [&](absl::Span<const uint8_t> d, const api::PacketMeta& m) {
      got.push_back({m, std::vector<uint8_t>(d.begin(), d.end())});
    });
  }
  REQUIRE(got.size() == 2);
  for (const Got& g : got) {
    CHECK(g.meta.family == api::Family::kIpv6);
    CHECK(std::memcmp(g.meta.src.bytes, peer, 16) == 0);
    CHECK(std::memcmp(g.meta.dst.bytes, us, 16) == 0);
    REQUIRE(g.data.size() == 32);  // the IKE message alone, marker stripped
  }
  CHECK(got[0].meta.dst_port == 500);
  CHECK(got[0].data[28] == 0x51);
  CHECK(got[1].meta.dst_port == 4500);
  CHECK((got[1].meta.flags & api::kNonEspMarker) != 0);
  CHECK(got[1].data[28] == 0x52);

  // vpnd answers over 4500: the worker sends IPv6 UDP with the marker and a valid checksum.
  api::PacketMeta out{};
  out.family = api::Family::kIpv6;
  std::memcpy(out.src.bytes, us, 16);
  std::memcpy(out.dst.bytes, peer, 16);
  out.src_port = out.dst_port = 4500;
  out.flags = api::kNonEspMarker;
  const std::vector<uint8_t> answer(40, 0x77);
  REQUIRE(ch.client->Inject(answer, out).ok());
  CHECK(slow.PollInject() == 1);
  CHECK(slow.stats().injected == 1);
  RunWorker(rig);
  auto sent = rig.Sent(kWan, 0);
  REQUIRE(sent.size() == 1);
  CHECK(std::memcmp(sent[0].data(), kPeerMac, 6) == 0);
  auto ip = StripEthernet(sent[0]);
  REQUIRE(ip.size() == 40 + 8 + 4 + 40);
  CHECK(ip[6] == IPPROTO_UDP);
  CHECK(std::memcmp(ip.data() + 8, us, 16) == 0);
  CHECK(std::memcmp(ip.data() + 24, peer, 16) == 0);
  CHECK(rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(ip.data()),
                                     ip.data() + 40) == 0);
  CHECK(std::vector<uint8_t>(ip.begin() + 48, ip.begin() + 52) == std::vector<uint8_t>(4, 0));
  CHECK(std::vector<uint8_t>(ip.begin() + 52, ip.end()) == answer);
}

}  // namespace
}  // namespace portcullis::dp::testing
