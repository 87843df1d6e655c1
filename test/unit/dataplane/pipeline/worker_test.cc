// The worker pipeline on ring ports: forwarding through a VTI with the SA owned by another
// worker (handoff both ways), what is punted to the main lcore, ICMP errors, counted drops, and
// batches that fail leaving the running configuration untouched. The ESP on the wire is opened
// and produced by the OpenSSL backend, not by the engine under test.
#include <rte_ip.h>
#include <rte_udp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "dataplane/core/drop_reason.h"
#include "test/unit/dataplane/esp/esp_test_util.h"
#include "test/unit/dataplane/pipeline/pipeline_rig.h"

namespace portcullis::dp::testing {
namespace {

using dp::esp::Direction;
using dp::esp::testutil::Os;

constexpr const char* kKeyOut = "00112233445566778899aabbccddeeff";
constexpr const char* kKeyIn = "ffeeddccbbaa99887766554433221100";

const std::string kConfig = std::string(R"(
interface add lan kind port
interface add wan kind port
interface add vti0 kind vti
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
address add vti0 172.16.0.1/30
route add 10.2.0.0/24 dev vti0
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )") +
                            kKeyOut + R"( salt 01020304 vti vti0
sa add spi 0x2001 dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )" +
                            kKeyIn + R"( salt 05060708 vti vti0
bind vti0 0x1001
)";

// The peer's view of an SA: same keys, the other direction.
dp::esp::SaConfig PeerSa(Direction dir, uint32_t spi, const char* key, const char* salt) {
  dp::esp::SaConfig c;
  c.spi = spi;
  c.direction = dir;
  c.family = AF_INET;
  const uint8_t west[4] = {192, 0, 2, 1}, east[4] = {192, 0, 2, 2};
  std::memcpy(c.local, east, 4);
  std::memcpy(c.remote, west, 4);
  c.cipher = dp::esp::Cipher::kAesGcm128;
  c.auth = dp::esp::Auth::kNone;
  auto k = test::Hex(key), s = test::Hex(salt);
  c.enc_key_len = 16;
  std::memcpy(c.enc_key, k.data(), 16);
  std::memcpy(c.salt, s.data(), 4);
  return c;
}

void PollAll(Rig& rig, int rounds = 3) {
  for (int r = 0; r < rounds; ++r)
    for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).PollOnce();
}

void Configure(Rig& rig) {
  rig.Reset();
  auto r = rig.Apply(kConfig);
  REQUIRE(r.status.ok());
}

std::vector<uint8_t> Ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint8_t ttl,
                          std::vector<uint8_t> l4) {
  std::vector<uint8_t> p(20 + l4.size());
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->time_to_live = ttl;
  ip->next_proto_id = proto;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  std::memcpy(p.data() + 20, l4.data(), l4.size());
  return p;
}

// 10.1.0.2 -> 10.2.0.2 becomes the reply direction (the checksum is order-independent).
void SwapAddresses(std::vector<uint8_t>& p) {
  uint8_t tmp[4];
  std::memcpy(tmp, p.data() + 12, 4);
  std::memcpy(p.data() + 12, p.data() + 16, 4);
  std::memcpy(p.data() + 16, tmp, 4);
}

TEST_CASE("LAN traffic is encrypted by the SA's owner, whichever worker received it") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const SaEntry* out = rig.dp().sas->Find(0x1001, false);
  REQUIRE(out != nullptr);
  const int owner = out->owner, other = 1 - owner;
  const uint64_t handed = rig.worker(other).stats().handed_off;
  const uint64_t received = rig.worker(owner).stats().handoff_received;

  std::vector<std::vector<uint8_t>> sent_inner;
  for (uint32_t i = 0; i < 40; ++i) {
    auto p = test::Ipv4Udp(i * 30, 0, false, i + 1);
    sent_inner.push_back(p);
    rig.Receive(kLan, i % 2 == 0 ? other : owner, p);
  }
  PollAll(rig);
  CHECK(rig.worker(other).stats().handed_off - handed == 20);
  CHECK(rig.worker(owner).stats().handoff_received - received == 20);
  // Only the owner transmits the SA's packets, in sequence order.
  CHECK(rig.Sent(kWan, other).empty());
  auto frames = rig.Sent(kWan, owner);
  REQUIRE(frames.size() == 40);

  dp::esp::SaConfig peer_in = PeerSa(Direction::kInbound, 0x1001, kKeyOut, "01020304");
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(peer_in);
  std::vector<std::vector<uint8_t>> got;
  uint32_t last_seq = 0;
  for (const auto& f : frames) {
    CHECK(std::memcmp(f.data(), kPeerMac, 6) == 0);
    CHECK(std::memcmp(f.data() + 6, rig.mac(kWan).addr_bytes, 6) == 0);
    auto ip = StripEthernet(f);
    uint32_t seq = (uint32_t{ip[24]} << 24) | (uint32_t{ip[25]} << 16) | (ip[26] << 8) | ip[27];
    CHECK(seq == last_seq + 1);
    last_seq = seq;
    rte_mbuf* m = test::MakePacket(ip);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
    got.push_back(test::PacketBytes(m));
    rte_pktmbuf_free(m);
  }
  // Received order differs from sequence order only in which worker saw each packet first;
  // every packet arrives exactly once, forwarded (TTL - 1).
  std::multiset<std::vector<uint8_t>> want, have(got.begin(), got.end());
  for (const auto& p : sent_inner) want.insert(Forwarded(p));
  CHECK(want == have);
}

// Tunnel i's key (vti<i>, SPI 0x1100 + i, 10.2.<i>.0/24 routed into it).
std::string TunnelKey(int i) {
  return std::string(kKeyOut).substr(0, 30) + "0" + std::to_string(i);
}

// Four tunnels to one peer; their SAs' owners alternate (tunnels 0 and 2 share one worker, 1
// and 3 the other); vti2's MTU is 400.
void ConfigureFourTunnels(Rig& rig) {
  rig.Reset();
  std::string cfg = R"(
interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
)";
  for (int i = 0; i < 4; ++i) {
    cfg += absl::StrFormat(
        "interface add vti%d kind vti%s\nroute add 10.2.%d.0/24 dev vti%d\n"
        "sa add spi %#x dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key %s "
        "salt 01020304 vti vti%d\nbind vti%d %#x\n",
        i, i == 2 ? " mtu 400" : "", i, i, 0x1100 + i, TunnelKey(i), i, i, 0x1100 + i);
  }
  REQUIRE(rig.Apply(cfg).status.ok());
}

// The SPI and sequence number of an ESP frame's outer IPv4 header (no options).
std::pair<uint32_t, uint32_t> EspSpiSeq(const std::vector<uint8_t>& ip) {
  auto be32 = [&](size_t o) {
    return (uint32_t{ip[o]} << 24) | (uint32_t{ip[o + 1]} << 16) | (ip[o + 2] << 8) | ip[o + 3];
  };
  return {be32(20), be32(24)};
}

// Opens one ESP packet with a fresh OpenSSL peer SA (so the order a caller checks is the
// sequence numbers'); the decrypted inner packet, to free.
rte_mbuf* OpenEsp(const std::vector<uint8_t>& ip, uint32_t spi, const char* key, const char* salt) {
  auto peer = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
      PeerSa(Direction::kInbound, spi, key, salt));
  rte_mbuf* m = test::MakePacket(ip);
  REQUIRE(dp::esp::testutil::One(Os(), *peer, m, false) == dp::esp::DropReason::kCount);
  return m;
}

// Opens the ESP frames the four tunnels sent (tunnels 0 and 2 only): checks that each SA's
// sequence numbers follow the frames' order and each inner packet went into its tunnel's
// prefix; returns the inner packets' IP ids by tunnel, in the order they left (and the inner
// packets themselves in `inner`, when given).
std::map<int, std::vector<uint16_t>> OpenTunnelFrames(
    const std::vector<std::vector<uint8_t>>& frames,
    std::vector<std::vector<uint8_t>>* inner = nullptr) {
  std::map<int, std::vector<uint16_t>> ids;
  std::map<uint32_t, uint32_t> last_seq;
  for (const auto& f : frames) {
    auto ip = StripEthernet(f);
    const auto [spi, seq] = EspSpiSeq(ip);
    const int i = static_cast<int>(spi - 0x1100);
    REQUIRE((i == 0 || i == 2));
    CHECK(seq == last_seq[spi] + 1);
    last_seq[spi] = seq;
    // A fresh peer SA per packet: the order is what the sequence check above saw.
    rte_mbuf* m = OpenEsp(ip, spi, TunnelKey(i).c_str(), "01020304");
    auto* in = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    CHECK(rte_be_to_cpu_32(in->dst_addr) == (0x0a020002u | i << 8));
    ids[i].push_back(rte_be_to_cpu_16(in->packet_id));
    if (inner != nullptr) inner->push_back(test::PacketBytes(m));
    rte_pktmbuf_free(m);
  }
  return ids;
}

// A burst spread over several tunnels of one owner is gathered and encrypted in one pass
// (Dispatch's batch, EncryptEach), each packet with its own tunnel's SA; another worker's
// tunnel in between is handed over without ending the batch; a run that cannot join the batch
// (a packet over the tunnel MTU, fragmented first) goes after what the batch holds, so each
// SA's sequence numbers follow its packets' order.
TEST_CASE("A burst over several tunnels: each packet with its tunnel's SA, in order") {
  Rig& rig = Rig::Get();
  ConfigureFourTunnels(rig);
  const SaEntry* sa0 = rig.dp().sas->Find(0x1100, false);
  const SaEntry* sa2 = rig.dp().sas->Find(0x1102, false);
  REQUIRE(sa0 != nullptr);
  REQUIRE(sa2 != nullptr);
  REQUIRE(sa0->owner == sa2->owner);  // owners alternate: tunnels 0 and 2 share one
  const int w = sa0->owner;
  // Tunnel of each packet (3: another worker's, handed over), its IP id, and its length; the
  // sixth is over vti2's MTU (no DF): fragmented in two, in its place.
  const int tunnel[] = {0, 3, 2, 2, 0, 2, 0, 2, 0};
  const uint32_t payload[] = {40, 20, 60, 80, 100, 600, 30, 50, 70};
  std::map<int, std::vector<uint16_t>> want_ids;
  for (int k = 0; k < 9; ++k) {
    auto p = test::Ipv4Udp(payload[k], 0, false, 100 + k);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
    ip->dst_addr = rte_cpu_to_be_32(0x0a020002 | tunnel[k] << 8);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    rig.Receive(kLan, w, p);
    want_ids[tunnel[k]].push_back(static_cast<uint16_t>(100 + k));
    if (k == 5) want_ids[tunnel[k]].push_back(static_cast<uint16_t>(100 + k));  // 2 fragments
  }
  const uint64_t before = rig.worker(w).stats().ifs[sa0->ifindex].tx_packets;
  const uint64_t batched = rig.worker(w).stats().tunnel_batched;
  rig.worker(w).PollOnce();
  CHECK(rig.worker(w).stats().ifs[sa0->ifindex].tx_packets - before == 4);
  // Through EncryptEach: the four before the fragmented one (tunnel 3's packet among them does
  // not end the batch: ended there, the first would have gone alone), the three after it; not
  // the fragments.
  CHECK(rig.worker(w).stats().tunnel_batched - batched == 7);
  auto frames = rig.Sent(kWan, w);
  std::string seen;
  for (const auto& f : frames) seen += absl::StrFormat(" %x/%d", f[14 + 23], f.size());
  INFO(seen);
  REQUIRE(frames.size() == 9);  // tunnel 3's packet went to the other worker
  auto got_ids = OpenTunnelFrames(frames);
  CHECK(got_ids[0] == want_ids[0]);
  CHECK(got_ids[2] == want_ids[2]);
}

// Dispatch's prefix (BatchTunnels) takes a spread burst's leading packets into the batch (and
// stages another worker's tunnel's for its owner, going on past them) until one needs anything
// else, and its run-by-run loop goes on from there under the same test (Batchable). Wherever
// the prefix stops (a packet whose time is up, one over the tunnel MTU, an `out` hook on the
// VTI) or stages a packet and goes on (another worker's tunnel), every packet leaves once with
// its TTL taken once, the expired one is answered and dropped, each tunnel counts what it sent
// once, and each SA's sequence numbers follow its packets' order.
TEST_CASE("A burst over several tunnels whose batched prefix stops or hands off mid-way") {
  struct Case {
    const char* why;
    int stop_tunnel;  // the third packet's tunnel (3: another worker's; -1: no route)
    uint8_t ttl;      // the third packet's (0: test::Ipv4Udp's 63)
    uint32_t payload;
    const char* config;  // added to ConfigureFourTunnels'
    uint64_t batched;    // through EncryptEach
    Drop drop;           // the third packet's, kCount: none
    uint8_t icmp_type;   // its ICMP error, 0: none
  };
  const Case cases[] = {
      {"time exceeded", 0, 1, 40, "", 5, Drop::kTtlExceeded, 11},
      {"no route", -1, 0, 40, "", 5, Drop::kNoRoute, 3},
      // vti2's MTU is 400: fragmented in two.
      {"over the MTU", 2, 0, 600, "", 5, Drop::kCount, 0},
      // Staged for its owner inside the prefix, which goes on.
      {"another worker's tunnel", 3, 0, 40, "", 5, Drop::kCount, 0},
      // Every vti2 packet then goes its own way (ToTunnel), flushing the batch before it: the
      // batch never holds more than one packet, which takes Encrypt's burst path.
      {"an out hook on the VTI", 2, 0, 40,
       "fw ruleset add 1 OUTvti default accept\nfw bind vti2 out 1\n", 0, Drop::kCount, 0},
  };
  for (const Case& c : cases) {
    INFO(c.why);
    Rig& rig = Rig::Get();
    ConfigureFourTunnels(rig);
    if (*c.config) REQUIRE(rig.Apply(c.config).status.ok());
    const SaEntry* sa0 = rig.dp().sas->Find(0x1100, false);
    const SaEntry* sa2 = rig.dp().sas->Find(0x1102, false);
    REQUIRE(sa0 != nullptr);
    REQUIRE(sa2 != nullptr);
    const int w = sa0->owner;
    const int tunnel[] = {0, 2, c.stop_tunnel, 0, 2, 0};
    std::vector<std::vector<uint8_t>> sent;
    for (int k = 0; k < 6; ++k) {
      auto p = test::Ipv4Udp(k == 2 ? c.payload : 40 + k, 0, false, 300 + k);
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
      ip->dst_addr = rte_cpu_to_be_32(tunnel[k] < 0 ? 0xc6336407 : 0x0a020002 | tunnel[k] << 8);
      if (k == 2 && c.ttl != 0) ip->time_to_live = c.ttl;
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
      rig.Receive(kLan, w, p);
      sent.push_back(p);
    }
    const WorkerStats& st = rig.worker(w).stats();
    const uint64_t tx0 = st.ifs[sa0->ifindex].tx_packets, tx2 = st.ifs[sa2->ifindex].tx_packets;
    const uint64_t batched = st.tunnel_batched, handed = st.handed_off;
    const uint64_t dropped = c.drop == Drop::kCount ? 0 : rig.Drops(DropIndex(c.drop));
    rig.worker(w).ResetIcmpBudgets();
    rig.worker(w).PollOnce();
    const bool third_sent = c.drop == Drop::kCount && c.stop_tunnel != 3;
    const int third_frames = c.payload > 400 - 28 ? 2 : 1;
    CHECK(st.ifs[sa0->ifindex].tx_packets - tx0 == (c.stop_tunnel == 0 && third_sent ? 4 : 3));
    if (c.payload <= 400 - 28)
      CHECK(st.ifs[sa2->ifindex].tx_packets - tx2 == (c.stop_tunnel == 2 ? 3 : 2));
    CHECK(st.tunnel_batched - batched == c.batched);
    CHECK(st.handed_off - handed == (c.stop_tunnel == 3 ? 1 : 0));
    if (c.drop != Drop::kCount) CHECK(rig.Drops(DropIndex(c.drop)) - dropped == 1);
    auto lan = rig.Sent(kLan, w);
    if (c.icmp_type != 0) {
      REQUIRE(lan.size() == 1);  // back to the sender
      auto icmp = StripEthernet(lan[0]);
      CHECK(icmp[9] == 1);
      CHECK(icmp[20] == c.icmp_type);
    } else {
      CHECK(lan.empty());
    }
    auto frames = rig.Sent(kWan, w);
    REQUIRE(frames.size() == 5u + (third_sent ? third_frames : 0));
    std::vector<std::vector<uint8_t>> inner;
    auto ids = OpenTunnelFrames(frames, &inner);
    std::map<int, std::vector<uint16_t>> want;
    for (int k = 0; k < 6; ++k) {
      if (k == 2 && !third_sent) continue;
      for (int f = 0; f < (k == 2 ? third_frames : 1); ++f)
        want[tunnel[k]].push_back(static_cast<uint16_t>(300 + k));
    }
    CHECK(ids[0] == want[0]);
    CHECK(ids[2] == want[2]);
    // Forwarded once: the TTL one less, whichever way each packet took.
    std::multiset<std::vector<uint8_t>> have(inner.begin(), inner.end()), whole;
    for (int k = 0; k < 6; ++k)
      if (k != 2 || (third_sent && third_frames == 1)) whole.insert(Forwarded(sent[k]));
    for (const auto& p : whole) CHECK(have.count(p) == 1);
    for (const auto& p : inner) CHECK(p[8] == 62);  // 63 in test::Ipv4Udp
    // Tunnel 3's packet, handed to its owner, leaves there (and out of the next case's way).
    PollAll(rig);
    CHECK(rig.Sent(kWan, 1 - w).size() == (c.stop_tunnel == 3 ? 1u : 0u));
  }
}

// What another worker hands over for several of the owner's tunnels is encrypted in one engine
// pass too (the owner's handoff drain gathers its runs as Dispatch does), each SA's packets in
// the order they were received.
TEST_CASE("Handed-over packets of several tunnels: one engine pass, each SA in order") {
  Rig& rig = Rig::Get();
  ConfigureFourTunnels(rig);
  const SaEntry* sa0 = rig.dp().sas->Find(0x1100, false);
  const SaEntry* sa1 = rig.dp().sas->Find(0x1101, false);
  REQUIRE(sa0 != nullptr);
  REQUIRE(sa1 != nullptr);
  const int owner = sa0->owner, other = sa1->owner;
  REQUIRE(owner != other);
  // Tunnels 0 and 2 are the owner's, received by the other worker.
  const int tunnel[] = {0, 2, 0, 2, 2, 0};
  for (int k = 0; k < 6; ++k) {
    auto p = test::Ipv4Udp(40 + 10 * k, 0, false, static_cast<uint16_t>(200 + k));
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
    ip->dst_addr = rte_cpu_to_be_32(0x0a020002 | tunnel[k] << 8);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    rig.Receive(kLan, other, p);
  }
  const uint64_t handed = rig.worker(other).stats().handed_off;
  const uint64_t received = rig.worker(owner).stats().handoff_received;
  const uint64_t batched = rig.worker(owner).stats().tunnel_batched;
  rig.worker(other).PollOnce();
  CHECK(rig.worker(other).stats().handed_off - handed == 6);
  CHECK(rig.Sent(kWan, other).empty());
  rig.worker(owner).PollOnce();
  CHECK(rig.worker(owner).stats().handoff_received - received == 6);
  CHECK(rig.worker(owner).stats().tunnel_batched - batched == 6);
  auto frames = rig.Sent(kWan, owner);
  REQUIRE(frames.size() == 6);
  auto got_ids = OpenTunnelFrames(frames);
  CHECK(got_ids[0] == std::vector<uint16_t>{200, 202, 205});
  CHECK(got_ids[2] == std::vector<uint16_t>{201, 203, 204});
}

TEST_CASE("A full handoff ring drops and counts what does not fit; the rest keeps its order") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const SaEntry* out = rig.dp().sas->Find(0x1001, false);
  REQUIRE(out != nullptr);
  const int owner = out->owner, other = 1 - owner;
  const WorkerStats& o = rig.worker(other).stats();
  const uint64_t handed = o.handed_off;
  const uint64_t full = o.drops[DropIndex(Drop::kHandoffQueueFull)];
  const uint64_t received = rig.worker(owner).stats().handoff_received;
  const unsigned cap = rte_ring_get_capacity(rig.dp().handoff[owner]);
  // Only the receiving worker polls, so the owner's ring fills; its receive ring holds 1,023.
  constexpr uint32_t kPackets = 3000;
  for (uint32_t i = 0; i < kPackets; ++i) {
    rig.Receive(kLan, other, test::Ipv4Udp(32, 0, false, i + 1));
    if (i % 1000 == 999)
      for (int k = 0; k < 20; ++k) rig.worker(other).PollOnce();
  }
  CHECK(o.handed_off - handed == cap);
  CHECK(o.drops[DropIndex(Drop::kHandoffQueueFull)] - full == kPackets - cap);
  CHECK(rig.Sent(kWan, other).empty());
  // Packets of the owner's own (ids from 5001): however deep its ring, a pass takes at most
  // four bursts from it and then polls the receive queue, so they do not wait for the ring.
  constexpr uint32_t kOwn = 10;
  for (uint32_t i = 0; i < kOwn; ++i)
    rig.Receive(kLan, owner, test::Ipv4Udp(32, 0, false, 5001 + i));
  const uint64_t bursts = rig.worker(owner).stats().rx_bursts;
  rig.worker(owner).PollOnce();
  CHECK(rig.worker(owner).stats().rx_bursts == bursts + 1);
  CHECK(rig.worker(owner).stats().handoff_received - received == 4 * kBurst);
  // The owner drains its ring: the first `cap` packets, in the order they were received.
  std::vector<std::vector<uint8_t>> frames;
  for (int k = 0; k < 100; ++k) {
    rig.worker(owner).PollOnce();
    for (auto& f : rig.Sent(kWan, owner)) frames.push_back(std::move(f));
  }
  CHECK(rig.worker(owner).stats().handoff_received - received == cap);
  REQUIRE(frames.size() == cap + kOwn);
  dp::esp::SaConfig peer_in = PeerSa(Direction::kInbound, 0x1001, kKeyOut, "01020304");
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(peer_in);
  // Sequence numbers in sending order: the replay check of the peer's SA passes them all.
  uint32_t want_id = 1, want_own = 5001;
  for (const auto& f : frames) {
    rte_mbuf* m = test::MakePacket(StripEthernet(f));
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
    const uint16_t id = rte_be_to_cpu_16(rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->packet_id);
    CHECK(id == (id >= 5001 ? want_own++ : want_id++));
    rte_pktmbuf_free(m);
  }
  CHECK(want_id == cap + 1);
  CHECK(want_own == 5001 + kOwn);
}

TEST_CASE("ESP from the peer is decrypted by the inbound SA's owner and reaches the LAN") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const SaEntry* in = rig.dp().sas->Find(0x2001, true);
  REQUIRE(in != nullptr);
  const int owner = in->owner, other = 1 - owner;
  dp::esp::SaConfig peer_out = PeerSa(Direction::kOutbound, 0x2001, kKeyIn, "05060708");
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(peer_out);
  std::vector<std::vector<uint8_t>> inner;
  for (uint32_t i = 0; i < 10; ++i) {
    auto p = test::Ipv4Udp(100 + i, 0, false, 50 + i);
    SwapAddresses(p);
    inner.push_back(p);
    rte_mbuf* m = test::MakePacket(p);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
    rig.Receive(kWan, other, test::PacketBytes(m));
    rte_pktmbuf_free(m);
  }
  PollAll(rig);
  auto frames = rig.Sent(kLan, owner);
  REQUIRE(frames.size() == 10);
  for (size_t i = 0; i < frames.size(); ++i) {
    CHECK(std::memcmp(frames[i].data(), kHostMac, 6) == 0);
    CHECK(StripEthernet(frames[i]) == Forwarded(inner[i]));
  }
  CHECK(rig.dp().sas->Find(0x2001, true)->sa->packets == 10);
  // The decrypted packets count as received on vti0.
  const uint16_t vti = rig.dp().CurrentTables().ifs[3].kind == IfKind::kVti ? 3 : 0;
  REQUIRE(vti == 3);
  uint64_t rx = 0;
  for (int w = 0; w < Rig::kWorkers; ++w) rx += rig.dp().stats[w]->ifs[vti].rx_packets;
  CHECK(rx >= 10);
}

TEST_CASE(
    "Decrypted packets with a bad IPv4 header are dropped on the VTI, the rest go on in order") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const int owner = rig.dp().sas->Find(0x2001, true)->owner;
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
      PeerSa(Direction::kOutbound, 0x2001, kKeyIn, "05060708"));
  const uint16_t vti = 3;
  REQUIRE(rig.dp().CurrentTables().ifs[vti].kind == IfKind::kVti);
  auto vti_drops = [&](Drop d) {
    uint64_t n = 0;
    for (int w = 0; w < Rig::kWorkers; ++w) n += rig.dp().stats[w]->ifs[vti].drops[DropIndex(d)];
    return n;
  };
  const uint64_t bad_sum = vti_drops(Drop::kBadIpChecksum), bad_hdr = vti_drops(Drop::kBadIpHeader);
  std::vector<std::vector<uint8_t>> good;
  for (uint32_t i = 0; i < 8; ++i) {
    auto p = test::Ipv4Udp(60 + i, 0, false, 70 + i);
    SwapAddresses(p);
    if (i == 2 || i == 5) {
      p[10] ^= 0x40;  // header checksum
    } else if (i == 6) {
      p[0] = 0x46;  // a 24-byte header in a packet whose total length says 22
      p.resize(22);
      p[2] = 0, p[3] = 22;
    } else {
      good.push_back(p);
    }
    rte_mbuf* m = test::MakePacket(p);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
    rig.Receive(kWan, owner, test::PacketBytes(m));
    rte_pktmbuf_free(m);
  }
  PollAll(rig, 1);
  auto frames = rig.Sent(kLan, owner);
  REQUIRE(frames.size() == good.size());
  for (size_t i = 0; i < frames.size(); ++i) CHECK(StripEthernet(frames[i]) == Forwarded(good[i]));
  CHECK(vti_drops(Drop::kBadIpChecksum) - bad_sum == 2);
  CHECK(vti_drops(Drop::kBadIpHeader) - bad_hdr == 1);
}

TEST_CASE("Unknown SPIs, forged ESP and replays are dropped under their own reasons") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const int owner = rig.dp().sas->Find(0x2001, true)->owner;
  dp::esp::SaConfig peer_out = PeerSa(Direction::kOutbound, 0x2001, kKeyIn, "05060708");
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(peer_out);
  auto p = test::Ipv4Udp(64, 0, false, 9);
  SwapAddresses(p);
  rte_mbuf* m = test::MakePacket(p);
  REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
  auto esp_pkt = test::PacketBytes(m);
  rte_pktmbuf_free(m);
  auto forged = esp_pkt;
  forged[forged.size() - 3] ^= 0x10;
  auto unknown = esp_pkt;
  unknown[20] ^= 0x40;  // SPI

  const uint64_t auth = rig.Drops(DropIndex(dp::esp::DropReason::kAuthFailed));
  const uint64_t replay = rig.Drops(DropIndex(dp::esp::DropReason::kReplayed));
  const uint64_t no_sa = rig.Drops(DropIndex(Drop::kNoSa));
  rig.Receive(kWan, owner, forged);
  rig.Receive(kWan, owner, esp_pkt);
  rig.Receive(kWan, owner, esp_pkt);
  rig.Receive(kWan, owner, unknown);
  PollAll(rig);
  CHECK(rig.Sent(kLan, owner).size() == 1);
  CHECK(rig.Drops(DropIndex(dp::esp::DropReason::kAuthFailed)) - auth == 1);
  CHECK(rig.Drops(DropIndex(dp::esp::DropReason::kReplayed)) - replay == 1);
  CHECK(rig.Drops(DropIndex(Drop::kNoSa)) - no_sa == 1);
}

TEST_CASE("IKE, ARP and NAT keepalives take their paths") {
  Rig& rig = Rig::Get();
  Configure(rig);
  // IKE on 500: punted with its IP header.
  std::vector<uint8_t> udp(8 + 28, 0);
  udp[0] = 500 >> 8, udp[1] = 500 & 0xff, udp[2] = 500 >> 8, udp[3] = 500 & 0xff;
  udp[5] = static_cast<uint8_t>(udp.size());
  rig.Receive(kWan, 0, Ipv4(0xc0000202, 0xc0000201, 17, 64, udp));
  // A NAT keepalive on 4500: absorbed and counted.
  std::vector<uint8_t> ka = {0x11, 0x94, 0x11, 0x94, 0, 9, 0, 0, 0xff};
  rig.Receive(kWan, 0, Ipv4(0xc0000202, 0xc0000201, 17, 64, ka));
  // ARP who-has 192.0.2.1: to the main lcore, Ethernet header on.
  std::vector<uint8_t> arp = {0,   1, 8, 0, 6, 4, 0, 1, 2, 0, 0,   0, 2, 2,
                              192, 0, 2, 2, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1};
  const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  rig.ReceiveFrame(kWan, 0, Frame(bcast, kPeerMac, 0x0806, arp));
  const uint64_t keepalives = rig.Drops(DropIndex(Drop::kNatKeepalive));
  PollAll(rig, 1);
  CHECK(rig.Drops(DropIndex(Drop::kNatKeepalive)) - keepalives == 1);
  // ARP to the main lcore's ARP queue, IKE (a new one: no responder SPI) to its own.
  auto take = [&](rte_ring* r) {
    std::vector<PktKind> kinds;
    rte_mbuf* m;
    while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
      kinds.push_back(Meta(m)->kind);
      rte_pktmbuf_free(m);
    }
    return kinds;
  };
  CHECK(take(rig.dp().slow_ring) == std::vector<PktKind>{PktKind::kArp});
  CHECK(take(rig.dp().ike_init_ring) == std::vector<PktKind>{PktKind::kPunt});
  CHECK(take(rig.dp().ike_ring).empty());
}

TEST_CASE("Expiring TTL and unroutable destinations answer with ICMP and count") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint64_t ttl = rig.Drops(DropIndex(Drop::kTtlExceeded));
  const uint64_t no_route = rig.Drops(DropIndex(Drop::kNoRoute));
  std::vector<uint8_t> udp = {0x12, 0x34, 0x56, 0x78, 0, 8, 0, 0};
  rig.Receive(kLan, 0, Ipv4(0x0a010002, 0x0a020002, 17, 1, udp));   // TTL 1 into the tunnel
  rig.Receive(kLan, 0, Ipv4(0x0a010002, 0xcb007105, 17, 64, udp));  // 203.0.113.5: no route
  auto bad = Ipv4(0x0a010002, 0x0a020002, 17, 64, udp);
  bad[10] ^= 0xff;  // header checksum
  rig.Receive(kLan, 0, bad);
  PollAll(rig, 1);
  CHECK(rig.Drops(DropIndex(Drop::kTtlExceeded)) - ttl == 1);
  CHECK(rig.Drops(DropIndex(Drop::kNoRoute)) - no_route == 1);
  auto icmp = rig.Sent(kLan, 0);
  REQUIRE(icmp.size() == 2);
  auto a = StripEthernet(icmp[0]), b = StripEthernet(icmp[1]);
  CHECK(a[9] == 1);
  CHECK(a[20] == 11);  // time exceeded
  CHECK(b[20] == 3);   // destination unreachable
  CHECK(b[21] == 0);   // network unreachable
  // From the LAN address, to the sender.
  CHECK(std::vector<uint8_t>(a.begin() + 12, a.begin() + 20) ==
        std::vector<uint8_t>{10, 1, 0, 1, 10, 1, 0, 2});
}

TEST_CASE("No ICMP error answers a link-layer broadcast or multicast frame (RFC 1812 4.3.2.7)") {
  // TTL 1 into the tunnel and an unroutable destination, in frames to ff:ff:ff:ff:ff:ff and
  // 01:00:5e:00:00:01: dropped and counted, never answered; through stage_l2's untagged loop
  // and, behind a runt that ends it, through the per-frame one. The same in a frame to our MAC
  // is answered.
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
  const uint8_t host[6] = {0x02, 0, 0, 0, 0x01, 0x0a};
  std::vector<uint8_t> udp = {0x12, 0x34, 0x56, 0x78, 0, 8, 0, 0};
  const auto expiring = Ipv4(0x0a010002, 0x0a020002, 17, 1, udp);
  const auto unroutable = Ipv4(0x0a010002, 0xcb007105, 17, 64, udp);
  const uint64_t ttl = rig.Drops(DropIndex(Drop::kTtlExceeded));
  const uint64_t no_route = rig.Drops(DropIndex(Drop::kNoRoute));
  const uint64_t sent = rig.worker(0).stats().icmp_sent;
  for (bool per_frame : {false, true}) {
    INFO((per_frame ? "per-frame loop" : "untagged loop"));
    if (per_frame) rig.ReceiveFrame(kLan, 0, std::vector<uint8_t>(10, 0));  // a runt
    rig.ReceiveFrame(kLan, 0, Frame(bcast, host, 0x0800, expiring));
    rig.ReceiveFrame(kLan, 0, Frame(mcast, host, 0x0800, unroutable));
    rig.ReceiveFrame(kLan, 0, Frame(bcast, host, 0x0800, unroutable));
    rig.ReceiveFrame(kLan, 0, Frame(mcast, host, 0x0800, expiring));
    PollAll(rig, 1);
    CHECK(rig.Sent(kLan, 0).empty());
  }
  CHECK(rig.Drops(DropIndex(Drop::kTtlExceeded)) - ttl == 4);
  CHECK(rig.Drops(DropIndex(Drop::kNoRoute)) - no_route == 4);
  CHECK(rig.worker(0).stats().icmp_sent == sent);
  rig.Receive(kLan, 0, expiring);
  PollAll(rig, 1);
  auto icmp = rig.Sent(kLan, 0);
  REQUIRE(icmp.size() == 1);
  CHECK(StripEthernet(icmp[0])[20] == 11);
}

TEST_CASE("One burst of mixed traffic: every run goes its own way and every drop is counted") {
  // Routing works on runs of one next hop; this burst breaks runs everywhere it can.
  Rig& rig = Rig::Get();
  Configure(rig);
  const int owner = rig.dp().sas->Find(0x1001, false)->owner;
  auto drops = [&](auto reason) { return rig.Drops(DropIndex(reason)); };
  const uint64_t ttl = drops(Drop::kTtlExceeded), no_route = drops(Drop::kNoRoute),
                 other_host = drops(Drop::kOtherHost), bad_hdr = drops(Drop::kBadIpHeader),
                 bad_sum = drops(Drop::kBadIpChecksum);
  std::vector<uint8_t> udp = {0x12, 0x34, 0x56, 0x78, 0, 8, 0, 0};
  std::vector<std::vector<uint8_t>> tunnel;  // what must come out of the tunnel, in order
  auto to_tunnel = [&](uint32_t seed) {
    auto p = test::Ipv4Udp(40 + seed, 0, false, seed);
    tunnel.push_back(p);
    rig.Receive(kLan, owner, p);
  };
  to_tunnel(1);
  to_tunnel(2);
  rig.Receive(kLan, owner, Ipv4(0x0a010002, 0x0a020002, 17, 1, udp));  // TTL 1 inside the run
  to_tunnel(3);
  std::vector<uint8_t> echo = {8, 0, 0xf7, 0xfe, 0, 1, 0, 0};           // echo request, id 1 seq 0
  rig.Receive(kLan, owner, Ipv4(0x0a010002, 0x0a010001, 1, 64, echo));  // to us
  // To our WAN address: not the receiving interface's, so found by its local route.
  rig.Receive(kLan, owner, Ipv4(0x0a010002, 0xc0000201, 1, 64, echo));
  rig.Receive(kLan, owner, Ipv4(0x0a010002, 0xcb007105, 17, 64, udp));  // no route
  to_tunnel(4);
  auto to_wan = Ipv4(0x0a010002, 0xc0000202, 17, 64, udp);  // on-link on the WAN
  rig.Receive(kLan, owner, to_wan);
  // A header with options (NOPs) is forwarded with them.
  std::vector<uint8_t> opts(24 + udp.size());
  {
    auto base = Ipv4(0x0a010002, 0xc0000202, 17, 64, udp);
    std::memcpy(opts.data(), base.data(), 20);
    std::memset(opts.data() + 20, 1, 4);
    std::memcpy(opts.data() + 24, udp.data(), udp.size());
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(opts.data());
    ip->version_ihl = 0x46;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(opts.size()));
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  rig.Receive(kLan, owner, opts);
  auto longer = to_wan;  // total length beyond the frame
  longer[3] += 4;
  longer[11] -= 4;
  rig.Receive(kLan, owner, longer);
  auto shorter = to_wan;  // total length below a header
  shorter[2] = 0, shorter[3] = 19;
  rig.Receive(kLan, owner, shorter);
  auto v6 = to_wan;  // version 6 behind the IPv4 ethertype
  v6[0] = 0x65;
  rig.Receive(kLan, owner, v6);
  auto bad = to_wan;
  bad[10] ^= 0x01;
  rig.Receive(kLan, owner, bad);
  const uint8_t stranger[6] = {0x02, 0, 0, 0, 0x09, 0x09};
  rig.ReceiveFrame(kLan, owner, Frame(stranger, kHostMac, 0x0800, to_wan));
  rig.Receive(kLan, owner, bad);  // after an unusual frame: checked one frame at a time
  to_tunnel(5);
  PollAll(rig, 1);

  CHECK(drops(Drop::kTtlExceeded) - ttl == 1);
  CHECK(drops(Drop::kNoRoute) - no_route == 1);
  CHECK(drops(Drop::kOtherHost) - other_host == 1);
  CHECK(drops(Drop::kBadIpHeader) - bad_hdr == 3);
  CHECK(drops(Drop::kBadIpChecksum) - bad_sum == 2);
  // Back to the sender: time exceeded, two echo replies, network unreachable.
  auto lan = rig.Sent(kLan, owner);
  REQUIRE(lan.size() == 4);
  std::vector<std::pair<uint8_t, uint8_t>> icmp;
  for (const auto& f : lan) {
    auto ip = StripEthernet(f);
    REQUIRE(ip[9] == 1);
    icmp.emplace_back(ip[20], ip[21]);
  }
  // Packets to the receiving interface's address are delivered before the rest of the burst
  // is routed: the order among these answers is not promised.
  std::sort(icmp.begin(), icmp.end());
  CHECK(icmp == std::vector<std::pair<uint8_t, uint8_t>>{{0, 0}, {0, 0}, {3, 0}, {11, 0}});
  // The WAN: the tunnel's ESP in order, the two forwarded packets between them.
  dp::esp::SaConfig peer_in = PeerSa(Direction::kInbound, 0x1001, kKeyOut, "01020304");
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(peer_in);
  std::vector<std::vector<uint8_t>> got, plain;
  for (const auto& f : rig.Sent(kWan, owner)) {
    CHECK(std::memcmp(f.data(), kPeerMac, 6) == 0);
    auto ip = StripEthernet(f);
    if (ip[9] != 50) {
      plain.push_back(ip);
      continue;
    }
    rte_mbuf* m = test::MakePacket(ip);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
    got.push_back(test::PacketBytes(m));
    rte_pktmbuf_free(m);
  }
  REQUIRE(got.size() == tunnel.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Forwarded(tunnel[i]));
  CHECK(plain == std::vector<std::vector<uint8_t>>{Forwarded(to_wan), Forwarded(opts)});
}

TEST_CASE("A runt frame is dropped as truncated and never read past its end") {
  // Runts end right where a page nobody may touch begins, so a read of the Ethernet header
  // they do not have faults. Each one follows a good frame in its burst: the burst's fast loop
  // (untagged IPv4 to us) meets it, as the first frame that is not one of its own.
  Rig& rig = Rig::Get();
  Configure(rig);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* area = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(area != MAP_FAILED);
  auto* guard = static_cast<uint8_t*>(area) + page;
  REQUIRE(mprotect(guard, page, PROT_NONE) == 0);
  static int freed;
  freed = 0;
  rte_mbuf_ext_shared_info shinfo{};
  shinfo.free_cb = [](void*, void*) { ++freed; };
  const uint64_t truncated = rig.Drops(DropIndex(Drop::kTruncated));
  std::vector<uint8_t> echo = {8, 0, 0xf7, 0xfe, 0, 1, 0, 0};
  // A destination MAC and the start of a source; all but the last byte of a header.
  const uint16_t lengths[] = {6, 13};
  for (uint16_t len : lengths) {
    rig.Receive(kLan, 0, Ipv4(0x0a010002, 0x0a010001, 1, 64, echo));
    uint8_t* bytes = guard - len;
    std::memcpy(bytes, rig.mac(kLan).addr_bytes, std::min<uint16_t>(len, 6));
    rte_mbuf* m = rte_pktmbuf_alloc(rig.dp().pool);
    REQUIRE(m != nullptr);
    rte_mbuf_ext_refcnt_set(&shinfo, 1);
    rte_pktmbuf_attach_extbuf(m, bytes, 0, len, &shinfo);
    m->data_off = 0;
    m->data_len = len;
    m->pkt_len = len;
    rig.ReceiveMbuf(kLan, 0, m);
    PollAll(rig, 1);
  }
  CHECK(rig.Drops(DropIndex(Drop::kTruncated)) - truncated == 2);
  CHECK(freed == 2);                     // and the runts went back to the pool
  CHECK(rig.Sent(kLan, 0).size() == 2);  // the good frames were answered
  munmap(area, 2 * page);
}

TEST_CASE("An on-link run to several neighbours: each packet to its own, in order") {
  // One next hop (the WAN subnet), several destinations: the run's TTL pass also finds out
  // whether it is one neighbour. An expiring first packet must not decide that for the rest.
  Rig& rig = Rig::Get();
  Configure(rig);
  REQUIRE(rig.Apply("neigh add wan 192.0.2.3 02:00:00:00:02:03\n").status.ok());
  const uint8_t mac3[6] = {0x02, 0, 0, 0, 0x02, 0x03};
  const uint64_t ttl = rig.Drops(DropIndex(Drop::kTtlExceeded));
  std::vector<uint8_t> udp = {0x12, 0x34, 0x56, 0x78, 0, 8, 0, 0};
  auto to = [&](uint32_t dst, uint8_t t, uint8_t tag) {
    auto l4 = udp;
    l4.push_back(tag);  // tells the packets apart
    l4[5] = 9;
    return Ipv4(0x0a010002, dst, 17, t, l4);
  };
  struct Case {
    std::vector<std::vector<uint8_t>> in;
    std::vector<std::pair<const uint8_t*, size_t>> out;  // neighbour MAC, index into `in`
  };
  const std::vector<Case> cases = {
      // Interleaved neighbours behind an expiring packet to one of them.
      {{to(0xc0000203, 1, 0), to(0xc0000203, 64, 1), to(0xc0000202, 64, 2), to(0xc0000202, 64, 3),
        to(0xc0000203, 64, 4)},
       {{mac3, 1}, {kPeerMac, 2}, {kPeerMac, 3}, {mac3, 4}}},
      // The expiring packet is the only one to its destination, which is the run's first: the
      // rest must still reach their own neighbour.
      {{to(0xc0000202, 1, 5), to(0xc0000203, 64, 6), to(0xc0000203, 64, 7)},
       {{mac3, 1}, {mac3, 2}}},
      // One neighbour (the run is sent as one) with an expiring packet among its packets.
      {{to(0xc0000203, 64, 8), to(0xc0000203, 1, 9), to(0xc0000203, 64, 10)},
       {{mac3, 0}, {mac3, 2}}},
  };
  uint64_t expired = 0;
  for (const Case& c : cases) {
    for (const auto& p : c.in) rig.Receive(kLan, 0, p);
    PollAll(rig, 1);
    ++expired;
    CHECK(rig.Drops(DropIndex(Drop::kTtlExceeded)) - ttl == expired);
    auto wan = rig.Sent(kWan, 0);
    REQUIRE(wan.size() == c.out.size());
    for (size_t i = 0; i < wan.size(); ++i) {
      CHECK(std::memcmp(wan[i].data(), c.out[i].first, 6) == 0);
      CHECK(StripEthernet(wan[i]) == Forwarded(c.in[c.out[i].second]));
    }
    auto lan = rig.Sent(kLan, 0);  // time exceeded, quoting the header as it came
    REQUIRE(lan.size() == 1);
    auto icmp = StripEthernet(lan[0]);
    CHECK(icmp[20] == 11);
    const auto& gone =
        *std::find_if(c.in.begin(), c.in.end(), [](const auto& p) { return p[8] == 1; });
    CHECK(std::vector<uint8_t>(icmp.begin() + 28, icmp.begin() + 48) ==
          std::vector<uint8_t>(gone.begin(), gone.begin() + 20));
  }
}

TEST_CASE("A tunnel whose peer is reached through another tunnel is encrypted twice") {
  Rig& rig = Rig::Get();
  Configure(rig);
  // vti1's peer, 198.51.100.2, lies behind vti0: its ESP must go into vti0, not onto a wire.
  auto r = rig.Apply(R"(
interface add vti1 kind vti
address add vti1 172.16.1.1/30
route add 198.51.100.0/24 dev vti0
route add 10.3.0.0/24 dev vti1
sa add spi 0x3001 dir out local 192.0.2.1 remote 198.51.100.2 cipher aes-gcm-128 key )" +
                     std::string(kKeyOut) + R"( salt 01020304 vti vti1
bind vti1 0x3001
)");
  REQUIRE(r.status.ok());
  std::vector<uint8_t> udp = {0x12, 0x34, 0x56, 0x78, 0, 8, 0, 0};
  for (int w = 0; w < Rig::kWorkers; ++w) rig.Sent(kWan, w);
  rig.Receive(kLan, 0, Ipv4(0x0a010002, 0x0a030005, 17, 64, udp));
  PollAll(rig);
  std::vector<std::vector<uint8_t>> frames;
  for (int w = 0; w < Rig::kWorkers; ++w)
    for (auto& f : rig.Sent(kWan, w)) frames.push_back(f);
  REQUIRE(frames.size() == 1);
  auto outer = StripEthernet(frames[0]);
  CHECK(outer[9] == IPPROTO_ESP);
  CHECK(test::ToHex({outer.data() + 20, outer.data() + 24}) == "00001001");  // vti0's SA
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
      PeerSa(Direction::kInbound, 0x1001, kKeyOut, "01020304"));
  rte_mbuf* m = test::MakePacket(outer);
  REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
  auto inner = test::PacketBytes(m);
  rte_pktmbuf_free(m);
  CHECK(inner[9] == IPPROTO_ESP);  // vti1's ESP, to 198.51.100.2
  CHECK(test::ToHex({inner.data() + 16, inner.data() + 20}) == "c6336402");
  CHECK(test::ToHex({inner.data() + 20, inner.data() + 24}) == "00003001");
}

TEST_CASE("A batch with one bad command changes nothing") {
  Rig& rig = Rig::Get();
  Configure(rig);
  const uint64_t version = rig.dp().CurrentTables().version;
  size_t sas = 0;
  rig.dp().sas->ForEach([&](const SaEntry&) { ++sas; });
  auto r = rig.Apply(R"(
route add 10.9.0.0/16 dev vti0
sa add spi 0x3001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key 00112233445566778899aabbccddeeff salt 01020304 vti vti0
address add lan 10.1.0.1/24
)");
  CHECK_FALSE(r.status.ok());  // the address exists already
  CHECK(r.failed_index == 2);
  CHECK(rig.dp().CurrentTables().version == version);
  size_t after = 0;
  rig.dp().sas->ForEach([&](const SaEntry&) { ++after; });
  CHECK(after == sas);
  CHECK(rig.dp().sas->Find(0x3001, false) == nullptr);
  // The route was not installed either: 10.9.0.1 is unroutable.
  const uint64_t no_route = rig.Drops(DropIndex(Drop::kNoRoute));
  rig.Receive(kLan, 0, test::Ipv4Udp(8));
  auto p = Ipv4(0x0a010002, 0x0a090001, 17, 64, {0, 1, 0, 2, 0, 8, 0, 0});
  rig.Receive(kLan, 0, p);
  PollAll(rig, 1);
  CHECK(rig.Drops(DropIndex(Drop::kNoRoute)) - no_route == 1);
  (void)rig.Sent(kLan, 0);
  (void)rig.Sent(kWan, 0);
  (void)rig.Sent(kWan, 1);
}

TEST_CASE("A packet handed off for an SA removed meanwhile is dropped, not sent with the next") {
  // The owner takes handed-off packets from its ring later; the SA they name may be removed in
  // between and its slot given to another tunnel's SA. The grace period does not cover rings.
  Rig& rig = Rig::Get();
  Configure(rig);
  const SaEntry* out = rig.dp().sas->Find(0x1001, false);
  REQUIRE(out != nullptr);
  const int owner = out->owner, other = 1 - owner;
  const uint32_t old_id = out->id;
  rig.Receive(kLan, other, test::Ipv4Udp(40));
  rig.worker(other).PollOnce();  // routed into vti0, handed to the owner, not yet taken
  REQUIRE(rig.Sent(kWan, other).empty());

  REQUIRE(rig.Apply("unbind vti0\nsa del spi 0x1001 dir out").status.ok());
  REQUIRE(rig.Apply(std::string(R"(
interface add vti1 kind vti
address add vti1 172.16.1.1/30
neigh add wan 192.0.2.3 02:00:00:00:02:03
sa add spi 0x3001 dir out local 192.0.2.1 remote 192.0.2.3 cipher aes-gcm-128 key )") +
                    kKeyOut + R"( salt 01020304 vti vti1
bind vti1 0x3001
)")
              .status.ok());
  const SaEntry* next = rig.dp().sas->Find(0x3001, false);
  REQUIRE(next != nullptr);
  // The premise: the new SA took the removed one's slot (the free list is last in, first out).
  const uint32_t mask = rig.dp().sas->slots() - 1;
  REQUIRE((next->id & mask) == (old_id & mask));

  const uint64_t no_sa = rig.Drops(DropIndex(Drop::kNoSa));
  PollAll(rig);
  for (int w = 0; w < Rig::kWorkers; ++w) {
    for (const auto& f : rig.Sent(kWan, w)) {
      auto ip = StripEthernet(f);
      INFO("sent " << test::ToHex(ip));
      CHECK(ip[9] != IPPROTO_ESP);  // nothing went out encrypted for the other peer
    }
  }
  CHECK(rig.Drops(DropIndex(Drop::kNoSa)) - no_sa == 1);
}

// ---- Per-worker SAs (RFC 9611 groups) -----------------------------------------------------
// A tunnel whose binding names a member per worker: each worker encrypts the packets it
// receives with its own member, none crosses cores; a worker without one hands its packets to
// the fallback's owner, as a tunnel without a group does.

constexpr const char* kKeyMember = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr const char* kSaltMember = "0a0b0c0d";

std::string GroupBase() {
  return R"(
interface add lan kind port
interface add wan kind port
interface add vti0 kind vti
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
address add vti0 172.16.0.1/30
route add 10.2.0.0/24 dev vti0
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
)";
}

std::string OutSa(uint32_t spi, const std::string& key, const char* salt, const char* vti,
                  const char* worker) {
  return absl::StrFormat(
      "sa add spi %#x dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key %s salt %s "
      "vti %s%s%s\n",
      spi, key, salt, vti, worker ? " worker " : "", worker ? worker : "");
}

// vti0's fallback 0x1001 on worker 0, worker 1's member 0x1002.
void ConfigureGroup(Rig& rig) {
  rig.Reset();
  REQUIRE(rig.Apply(GroupBase() + OutSa(0x1001, kKeyOut, "01020304", "vti0", "0") +
                    OutSa(0x1002, kKeyMember, kSaltMember, "vti0", "1") +
                    "bind vti0 0x1001 member 1 0x1002\n")
              .status.ok());
}

// The ESP frames of one SA, opened by OpenSSL with a fresh peer SA each (so the order checked
// is the sequence numbers'): every frame is spi's, numbered from first_seq on; returns the inner
// packets' IP ids in the order they left.
std::vector<uint16_t> OpenSaFrames(const std::vector<std::vector<uint8_t>>& frames, uint32_t spi,
                                   const std::string& key, const char* salt,
                                   uint32_t first_seq = 1) {
  std::vector<uint16_t> ids;
  uint32_t want_seq = first_seq;
  for (const auto& f : frames) {
    auto ip = StripEthernet(f);
    const auto [got_spi, seq] = EspSpiSeq(ip);
    CHECK(got_spi == spi);
    CHECK(seq == want_seq++);
    rte_mbuf* m = OpenEsp(ip, spi, key.c_str(), salt);
    ids.push_back(rte_be_to_cpu_16(rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->packet_id));
    rte_pktmbuf_free(m);
  }
  return ids;
}

TEST_CASE("A tunnel with a member per worker: each worker encrypts its packets, no handoff") {
  Rig& rig = Rig::Get();
  ConfigureGroup(rig);
  const SaEntry* fallback = rig.dp().sas->Find(0x1001, false);
  const SaEntry* member = rig.dp().sas->Find(0x1002, false);
  REQUIRE(fallback != nullptr);
  REQUIRE(member != nullptr);
  CHECK(fallback->owner == 0);
  CHECK(member->owner == 1);
  CHECK(member->pinned);
  const uint64_t handed0 = rig.worker(0).stats().handed_off;
  const uint64_t handed1 = rig.worker(1).stats().handed_off;
  // One flow per worker (RSS would keep a flow on one): odd ids reach worker 0, even worker 1.
  std::vector<uint16_t> want[2];
  for (uint32_t i = 0; i < 40; ++i) {
    const int w = static_cast<int>(i % 2);
    rig.Receive(kLan, w, test::Ipv4Udp(i * 30, 0, false, i + 1));
    want[w].push_back(static_cast<uint16_t>(i + 1));
  }
  PollAll(rig);
  CHECK(rig.worker(0).stats().handed_off == handed0);
  CHECK(rig.worker(1).stats().handed_off == handed1);
  // Each worker sends its own flow, with its own SA, in the order received.
  CHECK(OpenSaFrames(rig.Sent(kWan, 0), 0x1001, kKeyOut, "01020304") == want[0]);
  CHECK(OpenSaFrames(rig.Sent(kWan, 1), 0x1002, kKeyMember, kSaltMember) == want[1]);
  CHECK(fallback->sa->packets == 20);
  CHECK(member->sa->packets == 20);
}

TEST_CASE("A packet too long for the tunnel MTU is fragmented and sent with the worker's member") {
  Rig& rig = Rig::Get();
  ConfigureGroup(rig);
  const uint64_t handed = rig.worker(1).stats().handed_off;
  rig.Receive(kLan, 1, test::Ipv4Udp(1420, 0, false, 77));  // over vti0's 1428, no DF
  PollAll(rig);
  CHECK(rig.worker(1).stats().handed_off == handed);
  CHECK(rig.Sent(kWan, 0).empty());
  CHECK(OpenSaFrames(rig.Sent(kWan, 1), 0x1002, kKeyMember, kSaltMember) ==
        std::vector<uint16_t>{77, 77});
}

// Four tunnels: each has worker 0's SA 0x1100 + i (the fallback) and worker 1's 0x1200 + i,
// except tunnel 3, which has no member for worker 1 (its fallback 0x1103 is worker 0's).
void ConfigureFourGroups(Rig& rig) {
  rig.Reset();
  std::string cfg = R"(
interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
)";
  for (int i = 0; i < 4; ++i) {
    const std::string vti = absl::StrFormat("vti%d", i);
    cfg +=
        absl::StrFormat("interface add %s kind vti\nroute add 10.2.%d.0/24 dev %s\n", vti, i, vti);
    cfg += OutSa(0x1100 + i, TunnelKey(i), "01020304", vti.c_str(), "0");
    if (i == 3) {
      cfg += absl::StrFormat("bind %s %#x\n", vti, 0x1100 + i);
      continue;
    }
    cfg += OutSa(0x1200 + i, TunnelKey(i), kSaltMember, vti.c_str(), "1");
    cfg += absl::StrFormat("bind %s %#x member 0 %#x member 1 %#x\n", vti, 0x1100 + i, 0x1100 + i,
                           0x1200 + i);
  }
  REQUIRE(rig.Apply(cfg).status.ok());
}

std::vector<uint8_t> ToTunnelPacket(int tunnel, uint16_t id) {
  auto p = test::Ipv4Udp(40 + id % 7 * 10, 0, false, id);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->dst_addr = rte_cpu_to_be_32(0x0a020002 | tunnel << 8);
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  return p;
}

TEST_CASE("A burst over grouped tunnels: one engine pass with each worker's members") {
  Rig& rig = Rig::Get();
  ConfigureFourGroups(rig);
  // Worker 1 receives a burst over all four tunnels: 0-2 go into its batch with its members
  // (BatchTunnels and Dispatch's run loop alike), tunnel 3's packets to worker 0's fallback.
  const int tunnel[] = {0, 1, 2, 0, 3, 1, 2, 3, 0, 2};
  std::map<int, std::vector<uint16_t>> want;
  for (int k = 0; k < 10; ++k) {
    const auto id = static_cast<uint16_t>(300 + k);
    rig.Receive(kLan, 1, ToTunnelPacket(tunnel[k], id));
    want[tunnel[k]].push_back(id);
  }
  const uint64_t handed = rig.worker(1).stats().handed_off;
  const uint64_t batched = rig.worker(1).stats().tunnel_batched;
  const uint64_t received0 = rig.worker(0).stats().handoff_received;
  rig.worker(1).PollOnce();
  CHECK(rig.worker(1).stats().handed_off - handed == 2);  // tunnel 3's only
  CHECK(rig.worker(1).stats().tunnel_batched - batched == 8);
  std::map<uint32_t, std::vector<std::vector<uint8_t>>> by_spi;
  for (auto& f : rig.Sent(kWan, 1)) {
    auto ip = StripEthernet(f);
    by_spi[(uint32_t{ip[20]} << 24) | (uint32_t{ip[21]} << 16) | (ip[22] << 8) | ip[23]].push_back(
        std::move(f));
  }
  REQUIRE(by_spi.size() == 3);
  for (int i = 0; i < 3; ++i)
    CHECK(OpenSaFrames(by_spi[0x1200 + i], 0x1200 + i, TunnelKey(i), kSaltMember) == want[i]);
  rig.worker(0).PollOnce();
  CHECK(rig.worker(0).stats().handoff_received - received0 == 2);
  CHECK(OpenSaFrames(rig.Sent(kWan, 0), 0x1103, TunnelKey(3), "01020304") == want[3]);

  // Worker 0 owns every fallback and is member 0 of tunnels 0-2: nothing of it crosses.
  const uint64_t handed0 = rig.worker(0).stats().handed_off;
  for (int k = 0; k < 8; ++k) rig.Receive(kLan, 0, ToTunnelPacket(k % 4, 400 + k));
  rig.worker(0).PollOnce();
  CHECK(rig.worker(0).stats().handed_off == handed0);
  CHECK(rig.Sent(kWan, 0).size() == 8);
}

TEST_CASE("A member removed under traffic: its worker falls back to the owner, nothing lost") {
  Rig& rig = Rig::Get();
  ConfigureGroup(rig);
  const int vti = static_cast<int>(rig.dp().sas->Find(0x1002, false)->ifindex);
  REQUIRE(rig.dp().CurrentTables().ifs[vti].out_group != nullptr);
  for (uint16_t id = 1; id <= 5; ++id) rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, id));
  PollAll(rig);
  CHECK(OpenSaFrames(rig.Sent(kWan, 1), 0x1002, kKeyMember, kSaltMember) ==
        std::vector<uint16_t>{1, 2, 3, 4, 5});
  // More of the flow waits in worker 1's queue while the member goes (vpnd deleting it: the
  // binding still names it).
  for (uint16_t id = 6; id <= 10; ++id) rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, id));
  REQUIRE(rig.Apply("sa del spi 0x1002 dir out").status.ok());
  CHECK(rig.dp().CurrentTables().ifs[vti].out_group == nullptr);
  const uint64_t handed = rig.worker(1).stats().handed_off;
  PollAll(rig);
  CHECK(rig.worker(1).stats().handed_off - handed == 5);
  CHECK(rig.Sent(kWan, 1).empty());
  CHECK(OpenSaFrames(rig.Sent(kWan, 0), 0x1001, kKeyOut, "01020304") ==
        std::vector<uint16_t>{6, 7, 8, 9, 10});
  // A new member (as vpnd's rekey of it would install): worker 1 encrypts itself again.
  REQUIRE(rig.Apply(OutSa(0x1003, kKeyMember, kSaltMember, "vti0", "1") +
                    "bind vti0 0x1001 member 1 0x1003\n")
              .status.ok());
  for (uint16_t id = 11; id <= 13; ++id) rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, id));
  PollAll(rig);
  CHECK(rig.worker(1).stats().handed_off - handed == 5);
  CHECK(OpenSaFrames(rig.Sent(kWan, 1), 0x1003, kKeyMember, kSaltMember) ==
        std::vector<uint16_t>{11, 12, 13});
  // A binding without members ends the group.
  REQUIRE(rig.Apply("bind vti0 0x1001").status.ok());
  CHECK(rig.dp().CurrentTables().ifs[vti].out_group == nullptr);
}

// A member that arrives while its worker's packets of the tunnel still wait in the fallback
// owner's ring (vpnd's second CHILD SA of a group, whose first is member 0; a re-created
// member; under traffic): the worker goes on handing the tunnel's packets off until the owner
// has taken and sent those, so none encrypted with the new member leaves before them. With
// the member used at once (session 9), ids 6-8 left before 1-5.
TEST_CASE("A member arriving under traffic waits until the owner took the handed-off packets") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(GroupBase() + OutSa(0x1001, kKeyOut, "01020304", "vti0", "0") +
                    OutSa(0x1002, kKeyMember, kSaltMember, "vti0", "1") +
                    "bind vti0 0x1001 member 0 0x1001\n")
              .status.ok());
  // The order the flow's packets leave in, across both workers' queues: each worker's
  // frames as it sends them, opened with the SA it sent them with.
  std::vector<uint16_t> left;
  uint32_t fallback_seq = 1, member_seq = 1;
  auto collect = [&](int w) {
    auto frames = rig.Sent(kWan, w);
    if (frames.empty()) return;
    const bool member = w == 1;
    auto ids = member ? OpenSaFrames(frames, 0x1002, kKeyMember, kSaltMember, member_seq)
                      : OpenSaFrames(frames, 0x1001, kKeyOut, "01020304", fallback_seq);
    (member ? member_seq : fallback_seq) += static_cast<uint32_t>(frames.size());
    left.insert(left.end(), ids.begin(), ids.end());
  };
  const uint64_t handed = rig.worker(1).stats().handed_off;
  // Worker 1 has no member yet: 1-5 go onto worker 0's ring, which worker 0 has not polled.
  for (uint16_t id = 1; id <= 5; ++id) rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, id));
  rig.worker(1).PollOnce();
  collect(1);
  CHECK(rig.worker(1).stats().handed_off - handed == 5);
  // The member comes while they wait; 6-8 arrive at worker 1 after it.
  REQUIRE(rig.Apply("bind vti0 0x1001 member 0 0x1001 member 1 0x1002\n").status.ok());
  REQUIRE(rig.dp().CurrentTables().ifs[rig.dp().sas->Find(0x1002, false)->ifindex].out_group !=
          nullptr);
  for (uint16_t id = 6; id <= 8; ++id) rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, id));
  rig.worker(1).PollOnce();
  collect(1);
  // Still handed off: worker 0 has taken nothing yet.
  CHECK(rig.worker(1).stats().handed_off - handed == 8);
  rig.worker(0).PollOnce();
  collect(0);
  // Worker 0 has taken all of it: from here worker 1 encrypts the tunnel's packets itself.
  for (uint16_t id = 9; id <= 10; ++id) rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, id));
  PollAll(rig);
  collect(1);
  collect(0);
  CHECK(rig.worker(1).stats().handed_off - handed == 8);
  CHECK(left == std::vector<uint16_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(member_seq == 3);  // 9 and 10 with worker 1's member
}

// The wait's bound: an owner that never takes its ring (overload) keeps a member waiting for
// 4,096 passes (Worker::kMemberWaitLoops), then the member is used anyway and counted once. A
// wait is its member's: one removed while it waits leaves nothing behind, and a member bound
// later waits its own passes (with the first's wait kept, session 10, the second was used at
// its first packet, 7 left before 1-6, and counted as forced).
TEST_CASE("A member waits its own bounded passes; one replaced while waiting waits anew") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(GroupBase() + OutSa(0x1001, kKeyOut, "01020304", "vti0", "0") +
                    OutSa(0x1002, kKeyMember, kSaltMember, "vti0", "1") +
                    OutSa(0x1003, kKeyMember, kSaltMember, "vti0", "1") +
                    "bind vti0 0x1001 member 0 0x1001\n")
              .status.ok());
  constexpr int kBound = 4096;  // Worker::kMemberWaitLoops
  Worker& w1 = rig.worker(1);
  const uint64_t handed = w1.stats().handed_off, forced = w1.stats().member_forced;
  auto passes = [&](int n) {
    for (int k = 0; k < n; ++k) w1.PollOnce();
  };
  // 1-5 onto worker 0's ring, which worker 0 does not poll until the end.
  for (uint16_t id = 1; id <= 5; ++id) rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, id));
  passes(1);
  REQUIRE(rig.Apply("bind vti0 0x1001 member 0 0x1001 member 1 0x1002\n").status.ok());
  rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, 6));
  passes(1);
  CHECK(w1.stats().handed_off - handed == 6);  // 0x1002 waits from here
  // 0x1002 goes while it waits; 0x1003 comes more than the bound later.
  REQUIRE(rig.Apply("bind vti0 0x1001 member 0 0x1001\n").status.ok());
  passes(kBound + 10);
  REQUIRE(rig.Apply("bind vti0 0x1001 member 0 0x1001 member 1 0x1003\n").status.ok());
  rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, 7));
  passes(1);
  CHECK(w1.stats().handed_off - handed == 7);
  CHECK(w1.stats().member_forced == forced);
  CHECK(rig.Sent(kWan, 1).empty());
  // Its own bound: still waiting one pass short of it, used (and counted once) after it.
  passes(kBound - 2);
  rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, 8));
  passes(1);
  CHECK(w1.stats().handed_off - handed == 8);
  CHECK(w1.stats().member_forced == forced);
  passes(1);
  rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, 9));
  rig.Receive(kLan, 1, test::Ipv4Udp(60, 0, false, 10));
  passes(1);
  CHECK(w1.stats().handed_off - handed == 8);
  CHECK(w1.stats().member_forced == forced + 1);
  CHECK(OpenSaFrames(rig.Sent(kWan, 1), 0x1003, kKeyMember, kSaltMember) ==
        std::vector<uint16_t>{9, 10});
  // The owner sends what it was handed, in order, with the fallback.
  rig.worker(0).PollOnce();
  CHECK(OpenSaFrames(rig.Sent(kWan, 0), 0x1001, kKeyOut, "01020304") ==
        std::vector<uint16_t>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("Group members must run on their worker; a bad group changes nothing") {
  Rig& rig = Rig::Get();
  ConfigureGroup(rig);
  const uint64_t version = rig.dp().CurrentTables().version;
  auto fails = [&](const std::string& cmds, const char* why) {
    auto r = rig.Apply(cmds);
    INFO(cmds << " -> " << r.status.ToString());
    CHECK_FALSE(r.status.ok());
    CHECK(r.status.ToString().find(why) != std::string::npos);
  };
  // An SA the dataplane places by load is no member; nor one on another worker; nor one that
  // is not there.
  fails(OutSa(0x1004, kKeyMember, kSaltMember, "vti0", nullptr) +
            "bind vti0 0x1001 member 1 0x1004\n",
        "installed for any worker");
  fails(OutSa(0x1004, kKeyMember, kSaltMember, "vti0", "0") + "bind vti0 0x1001 member 1 0x1004\n",
        "runs on worker 0");
  fails("bind vti0 0x1001 member 1 0x7777\n", "does not exist");
  // Beyond the dataplane's workers (the rig runs two).
  fails(OutSa(0x1004, kKeyMember, kSaltMember, "vti0", "2"), "--workers 2");
  fails("bind vti0 0x1001 member 2 0x1001\n", "--workers 2");
  // An update keeps its SA where it runs.
  fails("sa update spi 0x1002 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key " +
            std::string(kKeyMember) + " salt " + kSaltMember + " vti vti0 worker 0\n",
        "cannot move it");
  // Nor pin one the dataplane placed, in the batch that adds it or later.
  fails(OutSa(0x1004, kKeyMember, kSaltMember, "vti0", nullptr) +
            "sa update spi 0x1004 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 "
            "key " +
            std::string(kKeyMember) + " salt " + kSaltMember + " vti vti0 worker 1\n",
        "installed for any worker");
  // A VFP's traffic goes by its policies, which do not use groups.
  fails("interface add vfp0 kind vfp\nbind vfp0 0x1001 member 1 0x1002\n", "on a VFP");
  CHECK(rig.dp().CurrentTables().version == version);
  CHECK(rig.dp().sas->Find(0x1004, false) == nullptr);
  // An update naming the worker it runs on, or none, is an update.
  REQUIRE(rig.Apply("sa update spi 0x1002 dir out local 192.0.2.1 remote 192.0.2.2 cipher "
                    "aes-gcm-128 key " +
                    std::string(kKeyMember) + " salt " + kSaltMember + " vti vti0 worker 1\n")
              .status.ok());
  CHECK(rig.dp().sas->Find(0x1002, false)->owner == 1);
  CHECK(rig.dp().sas->Find(0x1002, false)->pinned);
}

TEST_CASE("Members neither follow nor set the tunnel owner that rekeys keep") {
  Rig& rig = Rig::Get();
  rig.Reset();
  // The fallback and an inbound SA placed by the dataplane; a member pinned to the other
  // worker; a rekey's new SAs (for any worker) go where the tunnel's unpinned SAs are.
  REQUIRE(rig.Apply(GroupBase() + OutSa(0x1001, kKeyOut, "01020304", "vti0", nullptr)).status.ok());
  const int fallback_owner = rig.dp().sas->Find(0x1001, false)->owner;
  const std::string other = std::to_string(1 - fallback_owner);
  REQUIRE(rig.Apply(OutSa(0x1002, kKeyMember, kSaltMember, "vti0", other.c_str()) +
                    absl::StrFormat("bind vti0 0x1001 member %s 0x1002\n", other))
              .status.ok());
  CHECK(rig.dp().sas->Find(0x1002, false)->owner == 1 - fallback_owner);
  REQUIRE(rig.Apply(OutSa(0x1005, kKeyOut, "01020304", "vti0", nullptr)).status.ok());
  CHECK(rig.dp().sas->Find(0x1005, false)->owner == fallback_owner);
  // Inbound members run on their worker too.
  REQUIRE(rig.Apply("sa add spi 0x2002 dir in local 192.0.2.1 remote 192.0.2.2 cipher "
                    "aes-gcm-128 key " +
                    std::string(kKeyIn) + " salt 05060708 vti vti0 worker " + other + "\n")
              .status.ok());
  CHECK(rig.dp().sas->Find(0x2002, true)->owner == 1 - fallback_owner);
}

}  // namespace
}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {
namespace {

const std::string kPolicyConfig = std::string(R"(
interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )") +
                                  kKeyOut + R"( salt 01020304 reqid 7
sa add spi 0x2001 dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )" +
                                  kKeyIn + R"( salt 05060708 reqid 7
policy add out src 10.1.0.0/24 dst 10.2.0.0/24 protect reqid 7 spi 0x1001
policy add in src 10.2.0.0/24 dst 10.1.0.0/24 protect reqid 7
policy add out src 10.1.0.0/24 dst 10.9.0.0/16 discard
)";

std::vector<uint8_t> Udp(uint32_t src, uint32_t dst, uint8_t ttl = 64) {
  return Ipv4(src, dst, 17, ttl, {0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4});
}

TEST_CASE("Policy-based tunnels: protected traffic is encrypted without a route") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kPolicyConfig).status.ok());
  const int owner = rig.dp().sas->Find(0x1001, false)->owner;
  const uint64_t discard = rig.Drops(DropIndex(Drop::kPolicyDiscard));
  const uint64_t no_route = rig.Drops(DropIndex(Drop::kNoRoute));
  auto p = Udp(0x0a010002, 0x0a020005);
  rig.Receive(kLan, owner, p);                            // protected
  rig.Receive(kLan, owner, Udp(0x0a010002, 0x0a090001));  // discarded by policy
  rig.Receive(kLan, owner, Udp(0x0a010002, 0x0a030001));  // no policy, no route
  PollAll(rig);
  auto frames = rig.Sent(kWan, owner);
  REQUIRE(frames.size() == 1);
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
      PeerSa(Direction::kInbound, 0x1001, kKeyOut, "01020304"));
  rte_mbuf* m = test::MakePacket(StripEthernet(frames[0]));
  REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
  CHECK(test::PacketBytes(m) == Forwarded(p));
  rte_pktmbuf_free(m);
  CHECK(rig.Drops(DropIndex(Drop::kPolicyDiscard)) - discard == 1);
  CHECK(rig.Drops(DropIndex(Drop::kNoRoute)) - no_route == 1);
  (void)rig.Sent(kLan, owner);  // the ICMP unreachable for the unrouted one
}

TEST_CASE("Policy-based tunnels: inbound traffic must match the SA's policy and come in ESP") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kPolicyConfig).status.ok());
  const int owner = rig.dp().sas->Find(0x2001, true)->owner;
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
      PeerSa(Direction::kOutbound, 0x2001, kKeyIn, "05060708"));
  auto seal = [&](const std::vector<uint8_t>& inner) {
    rte_mbuf* m = test::MakePacket(inner);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
    auto b = test::PacketBytes(m);
    rte_pktmbuf_free(m);
    return b;
  };
  const uint64_t mismatch = rig.Drops(DropIndex(Drop::kPolicyMismatch));
  const uint64_t cleartext = rig.Drops(DropIndex(Drop::kPolicyCleartext));
  auto good = Udp(0x0a020005, 0x0a010002);
  rig.Receive(kWan, owner, seal(good));
  rig.Receive(kWan, owner, seal(Udp(0x0a030005, 0x0a010002)));  // outside the selectors
  rig.Receive(kWan, owner, good);                               // the same, in the clear
  PollAll(rig);
  auto frames = rig.Sent(kLan, owner);
  REQUIRE(frames.size() == 1);
  CHECK(StripEthernet(frames[0]) == Forwarded(good));
  CHECK(rig.Drops(DropIndex(Drop::kPolicyMismatch)) - mismatch == 1);
  CHECK(rig.Drops(DropIndex(Drop::kPolicyCleartext)) - cleartext == 1);
}

TEST_CASE("A protect policy whose SA is gone drops as policy_no_sa until vpnd installs one") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kPolicyConfig).status.ok());
  REQUIRE(rig.Apply("sa del spi 0x1001 dir out").status.ok());
  const uint64_t no_sa = rig.Drops(DropIndex(Drop::kPolicyNoSa));
  rig.Receive(kLan, 0, Udp(0x0a010002, 0x0a020005));
  PollAll(rig, 1);
  CHECK(rig.Drops(DropIndex(Drop::kPolicyNoSa)) - no_sa == 1);
  // A rekey: a new SA and the policy updated to it.
  auto r = rig.Apply(std::string("sa add spi 0x1002 dir out local 192.0.2.1 remote 192.0.2.2 "
                                 "cipher aes-gcm-128 key ") +
                     kKeyOut + " salt 01020304 reqid 7\n" +
                     "policy update out src 10.1.0.0/24 dst 10.2.0.0/24 protect reqid 7 spi "
                     "0x1002\n");
  REQUIRE(r.status.ok());
  const int owner = rig.dp().sas->Find(0x1002, false)->owner;
  rig.Receive(kLan, owner, Udp(0x0a010002, 0x0a020005));
  PollAll(rig);
  CHECK(rig.Sent(kWan, owner).size() == 1);
}

}  // namespace
}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {
namespace {

TEST_CASE("A port interface the port map does not name is refused with its name") {
  Rig& rig = Rig::Get();
  rig.Reset();
  auto r = rig.Apply("interface add lan kind port\ninterface add dp0p9s9 kind port\n");
  CHECK_FALSE(r.status.ok());
  CHECK(r.failed_index == 1);
  CHECK(std::string(r.status.message()).find("dp0p9s9") != std::string::npos);
  CHECK(rig.dp().CurrentTables().ifs[1].kind == IfKind::kNone);  // lan was not added either
}

}  // namespace
}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {
namespace {

// A policy-based tunnel that uses a VFP (Vyatta `tunnel 1 uses vfp1`): its SAs name vfp1, the
// firewall binds to it, and 10.5.0.0/24 is routed into it without any policy for it.
const std::string kVfpConfig = std::string(R"(
interface add lan kind port
interface add wan kind port
interface add vfp1 kind vfp
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
address add vfp1 10.255.0.1/32
route add 10.5.0.0/24 dev vfp1
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )") +
                               kKeyOut + R"( salt 01020304 reqid 7 vti vfp1
sa add spi 0x2001 dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key )" +
                               kKeyIn + R"( salt 05060708 reqid 7 vti vfp1
policy add out src 10.1.0.0/24 dst 10.2.0.0/24 protect reqid 7 spi 0x1001
policy add in src 10.2.0.0/24 dst 10.1.0.0/24 protect reqid 7
fw ruleset add 1 VFP-IN default accept
fw rule add 1 10 action drop proto udp dport 9
fw bind vfp1 in 1
fw ruleset add 2 VFP-OUT default accept
fw rule add 2 10 action drop proto udp dport 7
fw bind vfp1 out 2
)";

constexpr uint16_t kVfp = 3;

std::vector<uint8_t> UdpTo(uint32_t src, uint32_t dst, uint16_t dport) {
  return Ipv4(src, dst, 17, 64,
              {0x30, 0x39, static_cast<uint8_t>(dport >> 8), static_cast<uint8_t>(dport), 0, 12, 0,
               0, 1, 2, 3, 4});
}

uint64_t VfpCount(Rig& rig, bool rx) {
  uint64_t n = 0;
  for (int w = 0; w < Rig::kWorkers; ++w)
    n += rx ? rig.dp().stats[w]->ifs[kVfp].rx_packets : rig.dp().stats[w]->ifs[kVfp].tx_packets;
  return n;
}

TEST_CASE("A VFP: its tunnel's decrypted traffic arrives on it, policy-checked and filtered") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kVfpConfig).status.ok());
  REQUIRE(rig.dp().CurrentTables().ifs[kVfp].kind == IfKind::kVfp);
  const int owner = rig.dp().sas->Find(0x2001, true)->owner;
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
      PeerSa(Direction::kOutbound, 0x2001, kKeyIn, "05060708"));
  auto seal = [&](const std::vector<uint8_t>& inner) {
    rte_mbuf* m = test::MakePacket(inner);
    REQUIRE(dp::esp::testutil::One(Os(), *sa, m, true) == dp::esp::DropReason::kCount);
    auto b = test::PacketBytes(m);
    rte_pktmbuf_free(m);
    return b;
  };
  const uint64_t mismatch = rig.Drops(DropIndex(Drop::kPolicyMismatch));
  const uint64_t fw_drop = rig.Drops(DropIndex(Drop::kFirewallDrop));
  const uint64_t rx = VfpCount(rig, true);
  auto good = UdpTo(0x0a020005, 0x0a010002, 53);
  rig.Receive(kWan, owner, seal(good));
  rig.Receive(kWan, owner, seal(UdpTo(0x0a030005, 0x0a010002, 53)));  // outside the selectors
  rig.Receive(kWan, owner, seal(UdpTo(0x0a020005, 0x0a010002, 9)));   // vfp1's `in` drops it
  PollAll(rig);
  auto frames = rig.Sent(kLan, owner);
  REQUIRE(frames.size() == 1);
  CHECK(StripEthernet(frames[0]) == Forwarded(good));
  // A VFP's SA is still policy-based: what its policies do not let in is dropped.
  CHECK(rig.Drops(DropIndex(Drop::kPolicyMismatch)) - mismatch == 1);
  CHECK(rig.Drops(DropIndex(Drop::kFirewallDrop)) - fw_drop == 1);
  CHECK(VfpCount(rig, true) - rx == 2);  // what the policy check let in came in on vfp1
}

TEST_CASE("A VFP: protected traffic leaves through it, its `out` rules and counters see it") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kVfpConfig).status.ok());
  const int owner = rig.dp().sas->Find(0x1001, false)->owner;
  const uint64_t fw_drop = rig.Drops(DropIndex(Drop::kFirewallDrop));
  const uint64_t tx = VfpCount(rig, false);
  auto p = UdpTo(0x0a010002, 0x0a020005, 53);
  rig.Receive(kLan, owner, p);
  rig.Receive(kLan, owner, UdpTo(0x0a010002, 0x0a020005, 7));  // vfp1's `out` drops it
  PollAll(rig);
  auto frames = rig.Sent(kWan, owner);
  REQUIRE(frames.size() == 1);
  auto sa = dp::esp::testutil::MakeSa<drivers::crypto::OpenSslBackend>(
      PeerSa(Direction::kInbound, 0x1001, kKeyOut, "01020304"));
  rte_mbuf* m = test::MakePacket(StripEthernet(frames[0]));
  REQUIRE(dp::esp::testutil::One(Os(), *sa, m, false) == dp::esp::DropReason::kCount);
  CHECK(test::PacketBytes(m) == Forwarded(p));
  rte_pktmbuf_free(m);
  CHECK(rig.Drops(DropIndex(Drop::kFirewallDrop)) - fw_drop == 1);
  CHECK(VfpCount(rig, false) - tx == 1);
}

TEST_CASE("A VFP: traffic routed into it that no policy of its tunnels matches is dropped") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply(kVfpConfig).status.ok());
  const uint64_t no_policy = rig.Drops(DropIndex(Drop::kVfpNoPolicy));
  auto acquires = [&] {
    uint64_t n = 0;
    for (int w = 0; w < Rig::kWorkers; ++w) n += rig.dp().stats[w]->acquires_sent;
    return n;
  };
  const uint64_t acq_before = acquires();
  rig.Receive(kLan, 0, UdpTo(0x0a010002, 0x0a050001, 53));
  PollAll(rig);
  for (int w = 0; w < Rig::kWorkers; ++w) CHECK(rig.Sent(kWan, w).empty());
  CHECK(rig.Drops(DropIndex(Drop::kVfpNoPolicy)) - no_policy == 1);
  // Nothing to bring up: no acquire for a VFP.
  CHECK(acquires() == acq_before);
}

TEST_CASE("A VFP in a zone: the zone policy towards it decides before the TTL is taken") {
  // Review lead4 #8: a LAN -> VPN zone policy dropping UDP 7 must drop a TTL-1 packet as the
  // firewall's, not answer it with time exceeded, as a routed packet would meet them.
  Rig& rig = Rig::Get();
  rig.Reset();
  std::string cfg = kVfpConfig.substr(0, kVfpConfig.find("fw ruleset add 1"));
  cfg += R"(
fw zone add 1 LAN default drop
fw zone add 2 VPN default drop
fw zone-if add lan 1
fw zone-if add vfp1 2
fw ruleset add 1 LAN2VPN default accept
fw rule add 1 10 action drop proto udp dport 7
fw zone-policy add 1 2 1
)";
  auto r = rig.Apply(cfg);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  const int owner = rig.dp().sas->Find(0x1001, false)->owner;
  const uint64_t fw_drop = rig.Drops(DropIndex(Drop::kFirewallDrop));
  const uint64_t ttl = rig.Drops(DropIndex(Drop::kTtlExceeded));
  auto ttl1 = [](std::vector<uint8_t> p) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
    ip->time_to_live = 1;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return p;
  };
  rig.Receive(kLan, owner, ttl1(UdpTo(0x0a010002, 0x0a020005, 7)));   // the zone drops it
  rig.Receive(kLan, owner, ttl1(UdpTo(0x0a010002, 0x0a020005, 53)));  // time exceeded
  rig.Receive(kLan, owner, UdpTo(0x0a010002, 0x0a020005, 53));        // encrypted
  PollAll(rig);
  CHECK(rig.Drops(DropIndex(Drop::kFirewallDrop)) - fw_drop == 1);
  CHECK(rig.Drops(DropIndex(Drop::kTtlExceeded)) - ttl == 1);
  std::vector<std::vector<uint8_t>> lan;
  for (int w = 0; w < Rig::kWorkers; ++w)
    for (auto& f : rig.Sent(kLan, w)) lan.push_back(f);
  REQUIRE(lan.size() == 1);  // one time exceeded, for the packet the zone let through
  const auto icmp = StripEthernet(lan[0]);
  CHECK(icmp[9] == 1);
  CHECK(icmp[20] == 11);
  CHECK(rig.Sent(kWan, owner).size() == 1);
}

}  // namespace
}  // namespace portcullis::dp::testing
