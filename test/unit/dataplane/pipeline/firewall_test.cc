// The firewall in the pipeline, on ring ports with frames crafted here: verdicts per hook and
// where each hook sits (the VTI's sees the inner packet, the WAN's the ESP), the first decisive
// match across bound rulesets, defaults, state (a TCP handshake makes a session whose return
// traffic passes without a rule, a reply without one is dropped, an ICMP error is related),
// timeouts, a full table, reject answers, zones, and a commit that keeps sessions.
#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "dataplane/core/drop_reason.h"
#include "dataplane/core/fw_log_record.h"
#include "dataplane/core/packet_meta.h"
#include "dataplane/tables/firewall_tables.h"
#include "test/unit/dataplane/pipeline/pipeline_rig.h"

namespace portcullis::dp::testing {
namespace {

const std::string kBase = R"(
interface add lan kind port
interface add wan kind port
interface add vti0 kind vti
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
address add vti0 172.16.0.1/30
route add 10.2.0.0/24 dev vti0
route add 198.51.100.0/24 via 192.0.2.2
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key 00112233445566778899aabbccddeeff salt 01020304 vti vti0
bind vti0 0x1001
)";

constexpr uint32_t kLanHost = 0x0a010002, kLanAddr = 0x0a010001, kWanAddr = 0xc0000201;
constexpr uint32_t kRemote = 0xc6336405;  // 198.51.100.5, behind the WAN gateway
constexpr uint32_t kTunnelHost = 0x0a020002;

void Poll(Rig& rig) {
  for (int r = 0; r < 3; ++r)
    for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).PollOnce();
}

// One packet per poll, `times` times from the LAN: each later packet meets what the earlier
// ones left (a session, a cached verdict).
void PollEach(Rig& rig, const std::vector<uint8_t>& ip, int times) {
  for (int k = 0; k < times; ++k) {
    rig.Receive(kLan, 0, ip);
    Poll(rig);
  }
}

void Configure(Rig& rig, const std::string& fw) {
  rig.Reset();
  auto r = rig.Apply(kBase + fw);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  // The caches' back-off depends on what earlier cases sent: each case starts probing.
  for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).ResetFwCacheAdaptive();
  rig.dp().sessions->ResetCacheAdaptive();
  rig.dp().sessions6->ResetCacheAdaptive();
}

std::vector<uint8_t> Ip(uint32_t src, uint32_t dst, uint8_t proto, std::vector<uint8_t> l4) {
  std::vector<uint8_t> p(20 + l4.size());
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->time_to_live = 64;
  ip->next_proto_id = proto;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  std::memcpy(p.data() + 20, l4.data(), l4.size());
  return p;
}

std::vector<uint8_t> Udp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> u = {static_cast<uint8_t>(sport >> 8),
                            static_cast<uint8_t>(sport),
                            static_cast<uint8_t>(dport >> 8),
                            static_cast<uint8_t>(dport),
                            0,
                            12,
                            0,
                            0,
                            1,
                            2,
                            3,
                            4};
  return Ip(src, dst, 17, u);
}

constexpr uint8_t kFin = 1, kSyn = 2, kRst = 4, kAck = 0x10;

std::vector<uint8_t> Tcp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags,
                         uint32_t seq = 1000, uint32_t ack = 0) {
  std::vector<uint8_t> t(20, 0);
  t[0] = sport >> 8, t[1] = sport & 0xff, t[2] = dport >> 8, t[3] = dport & 0xff;
  for (int i = 0; i < 4; ++i) {
    t[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
    t[8 + i] = static_cast<uint8_t>(ack >> (24 - 8 * i));
  }
  t[12] = 5 << 4;
  t[13] = flags;
  return Ip(src, dst, 6, t);
}

std::vector<uint8_t> Echo(uint32_t src, uint32_t dst, uint8_t type = 8, uint16_t id = 7) {
  std::vector<uint8_t> e = {type, 0, 0, 0, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id),
                            0,    1};
  uint32_t sum = 0;
  for (size_t i = 0; i < e.size(); i += 2) sum += (e[i] << 8) | e[i + 1];
  sum = (sum & 0xffff) + (sum >> 16);
  const uint16_t c = static_cast<uint16_t>(~sum);
  e[2] = c >> 8, e[3] = c & 0xff;
  return Ip(src, dst, 1, e);
}

// An ICMP error from `from` quoting `orig` (its header and 8 bytes).
std::vector<uint8_t> IcmpError(uint32_t from, uint32_t to, const std::vector<uint8_t>& orig,
                               uint8_t type = 3, uint8_t code = 3) {
  std::vector<uint8_t> e = {type, code, 0, 0, 0, 0, 0, 0};
  e.insert(e.end(), orig.begin(), orig.begin() + 28);
  return Ip(from, to, 1, e);
}

uint64_t Packets(Rig& rig, uint32_t ruleset, uint32_t rule) {
  const FwTables* fw = rig.applier().firewall();
  REQUIRE(fw != nullptr);
  for (uint32_t s = 0; s < fw->slots.size(); ++s)
    if (fw->slots[s].ruleset_id == ruleset && fw->slots[s].rule_number == rule)
      return fw->SlotPackets(s, Rig::kWorkers);
  FAIL("no such rule");
  return 0;
}

size_t SentCount(Rig& rig, PortIndex p) {
  size_t n = 0;
  for (int w = 0; w < Rig::kWorkers; ++w) n += rig.Sent(p, w).size();
  return n;
}

std::vector<std::vector<uint8_t>> SentAll(Rig& rig, PortIndex p) {
  std::vector<std::vector<uint8_t>> all;
  for (int w = 0; w < Rig::kWorkers; ++w)
    for (auto& f : rig.Sent(p, w)) all.push_back(StripEthernet(f));
  return all;
}

uint64_t Dropped(Rig& rig, Drop d) {
  return rig.Drops(DropIndex(d));
}

}  // namespace

TEST_CASE("in: rules decide in number order, then the default action", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 20 action accept proto udp dport 53
fw rule add 1 10 action drop proto udp dport 50-60
fw rule add 1 30 action accept proto udp src 10.1.0.0/24 dport 1000-2000
fw bind lan in 1
)");
  const uint64_t drops = Dropped(rig, Drop::kFirewallDrop);
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 999, 53));    // rule 10 (before 20): drop
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 999, 1500));  // rule 30: accept
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 999, 2500));  // default: drop
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 999, 1000));  // rule 30's edge: accept
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 2);
  CHECK(Dropped(rig, Drop::kFirewallDrop) - drops == 2);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 1, 20) == 0);
  CHECK(Packets(rig, 1, 30) == 2);
  CHECK(Packets(rig, 1, 0) == 1);  // the default action
  // Without the binding the same packets all pass, and the counters stay where they were.
  REQUIRE(rig.Apply("fw unbind lan in 1").status.ok());
  CHECK(rig.applier().firewall() == nullptr);
  CHECK(rig.dp().CurrentTables().fw == nullptr);
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 999, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  // Bound again: the counters continue where they stopped.
  REQUIRE(rig.Apply("fw bind lan in 1").status.ok());
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 1, 30) == 2);
  CHECK(Packets(rig, 1, 0) == 1);
}

TEST_CASE("several rulesets on one hook: the first decisive match, then the last default",
          "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 FIRST default accept
fw rule add 1 100 action drop proto udp dport 7
fw ruleset add 2 SECOND default drop
fw rule add 2 1 action accept proto udp dport 7-8
fw rule add 2 2 action accept proto udp dport 9
fw bind lan in 2 position 1
fw bind lan in 1 position 0
)");
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 7));   // FIRST:100 drops despite SECOND:1
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 8));   // SECOND:1
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 9));   // SECOND:2
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 10));  // SECOND's default (not FIRST's)
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 2);
  CHECK(Packets(rig, 1, 100) == 1);
  CHECK(Packets(rig, 2, 1) == 1);
  CHECK(Packets(rig, 2, 2) == 1);
  CHECK(Packets(rig, 2, 0) == 1);
  CHECK(Packets(rig, 1, 0) == 0);
}

TEST_CASE("placement: the VTI's out sees the inner packet, the WAN's out sees ESP", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 OUTvti default accept
fw rule add 1 10 action drop proto udp dst 10.2.0.2 dport 9
fw ruleset add 2 PubOut default drop
fw rule add 2 1 action accept proto 50
fw rule add 2 2 action drop proto udp
fw bind vti0 out 1
fw bind wan out 2
)");
  rig.Receive(kLan, 0, Udp(kLanHost, kTunnelHost, 1, 9));  // dropped on vti0 before ESP
  rig.Receive(kLan, 0, Udp(kLanHost, kTunnelHost, 1, 8));  // encrypted, ESP passes PubOut:1
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 8));      // plain UDP on the WAN: PubOut:2
  Poll(rig);
  auto sent = SentAll(rig, kWan);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0][9] == 50);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 1, 0) == 1);
  CHECK(Packets(rig, 2, 1) == 1);
  CHECK(Packets(rig, 2, 2) == 1);
  CHECK(rig.Drops(DropIndex(Drop::kFirewallDrop)) >= 2);
}

TEST_CASE("ESP of a packet that made its flow's session is new at the WAN's `out`", "[firewall]") {
  // The flag that keeps a session's first packet new at later hooks is the inner packet's:
  // encrypted, it is another packet. With an `out` chain on the WAN it must be off there (it
  // is cleared only where a hook will read it).
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept state new
fw ruleset add 2 PUBOUT default drop
fw rule add 2 1 action accept proto 50 state new
fw bind lan in 1
fw bind wan out 2
)");
  // The first ESP packet is new at wan `out`: rule 1 accepts it and makes the ESP flow's
  // session; the second passes as that session's packet without meeting rule 1 again.
  PollEach(rig, Udp(kLanHost, kTunnelHost, 1000, 8), 2);
  CHECK(SentCount(rig, kWan) == 2);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 2, 1) == 1);
  CHECK(Packets(rig, 2, 0) == 0);
}

TEST_CASE("local: IKE and ICMP to our address stop at the local rules and count there",
          "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 WANLOCAL default drop
fw rule add 1 10 action drop proto udp dport 500
fw rule add 1 80 action accept proto icmp icmp-type 8
fw bind wan local 1
)");
  std::vector<uint8_t> ike(8 + 28, 0);
  ike[0] = 500 >> 8, ike[1] = 500 & 0xff, ike[2] = 500 >> 8, ike[3] = 500 & 0xff;
  ike[5] = static_cast<uint8_t>(ike.size());
  rig.Receive(kWan, 0, Ip(0xc0000202, kWanAddr, 17, ike));
  rig.Receive(kWan, 0, Echo(0xc0000202, kWanAddr));
  rig.Receive(kWan, 0, Tcp(0xc0000202, kWanAddr, 1234, 22, kSyn));  // default drop
  // Forwarded traffic does not meet `local`.
  rig.Receive(kWan, 0, Udp(0xc0000202, kLanHost, 1, 500));
  Poll(rig);
  rte_mbuf* m;
  CHECK(rte_ring_dequeue(rig.dp().ike_init_ring, reinterpret_cast<void**>(&m)) != 0);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 1, 80) == 1);
  CHECK(Packets(rig, 1, 0) == 1);
  auto replies = SentAll(rig, kWan);
  REQUIRE(replies.size() == 1);  // the echo reply
  CHECK(replies[0][20] == 0);
  CHECK(SentCount(rig, kLan) == 1);
}

TEST_CASE("state: a TCP handshake makes a session, its replies pass without a rule", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto tcp dport 80 state new
fw ruleset add 2 WANIN default drop
fw bind lan in 1
fw bind lan out 2
)");
  const uint64_t created = rig.dp().sessions->created();
  // A reply with no session: dropped by WANIN's default.
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kSyn | kAck, 5000, 1001));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Packets(rig, 2, 0) == 1);
  // The handshake.
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40000, 80, kSyn, 1000));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(rig.dp().sessions->created() - created == 1);
  rig.Receive(kWan, 1, Tcp(kRemote, kLanHost, 80, 40000, kSyn | kAck, 5000, 1001));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);  // no rule of ruleset 2 (lan out) allows it: the session does
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40000, 80, kAck, 1001, 5001));
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kAck, 5001, 1001));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Packets(rig, 1, 10) == 1);  // only the SYN met a rule
  CHECK(Packets(rig, 2, 0) == 1);
  // A SYN inside the established session is invalid: evaluated, and no rule takes it.
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kSyn, 9));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Packets(rig, 2, 0) == 2);
  // Data from the LAN without a session (no SYN): invalid, not new, so rule 10 (state new)
  // does not take it.
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40001, 80, kAck, 1));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 0);
  CHECK(Packets(rig, 1, 0) == 1);
}

// The workers' verdict caches (fw_verdict_cache.h): one flow in separate polls, so that the
// later packets find what the first one's classify left there.
TEST_CASE("verdict cache: a commit that changes a flow's rule changes its verdict", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default accept
fw rule add 1 10 action accept proto udp dport 5001
fw rule add 1 20 action drop proto udp
fw bind lan in 1
)");
  PollEach(rig, Udp(kLanHost, kRemote, 5000, 5001), 2);
  CHECK(Packets(rig, 1, 10) == 2);
  // Rule 10 no longer matches the flow (the rules keep their counter slots): rule 20 drops it.
  REQUIRE(rig.Apply("fw rule del 1 10\nfw rule add 1 10 action accept proto udp dport 9\n")
              .status.ok());
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 5000, 5001));
  Poll(rig);
  CHECK(Packets(rig, 1, 20) == 1);
  CHECK(SentCount(rig, kWan) == 2);
}

TEST_CASE("verdict cache: a backed-off cache still learns on one skipped run in eight",
          "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto udp dport 5001
fw bind lan in 1
)");
  // A destination no other case sends to: the cache keeps other cases' entries (Holds ignores
  // the chain). The ACL key of a flow to it, as the stage builds it (network order).
  constexpr uint32_t kDst = 0xc633644d;  // 198.51.100.77
  auto key = [](uint16_t sport) {
    FwKey k{};
    k.proto = 17;
    k.src = rte_cpu_to_be_32(kLanHost);
    k.dst = rte_cpu_to_be_32(kDst);
    k.sport = rte_cpu_to_be_16(sport);
    k.dport = rte_cpu_to_be_16(5001);
    return k;
  };
  // One packet a poll, each a classify run of one key: 256 flows never seen fail a probing
  // window (FwAdaptiveProbe), so the next kRest runs skip the cache.
  for (uint16_t s = 1; s <= 256; ++s) PollEach(rig, Udp(kLanHost, kDst, s, 5001), 1);
  Worker& w = rig.worker(0);
  REQUIRE(w.FwVerdictCached(key(1)));  // a probing run remembers its misses
  for (uint16_t j = 0; j < FwAdaptiveProbe::kRest; ++j)
    PollEach(rig, Udp(kLanHost, kDst, 1001 + j, 5001), 1);
  CHECK(Packets(rig, 1, 10) == 256 + FwAdaptiveProbe::kRest);
  // Of the skipped runs, exactly every kSample-th remembered what it classified.
  for (uint16_t j = 0; j < FwAdaptiveProbe::kRest; ++j) {
    INFO("skipped run " << j + 1);
    CHECK(w.FwVerdictCached(key(1001 + j)) == ((j + 1) % FwAdaptiveProbe::kSample == 0));
  }
}

TEST_CASE("verdict cache: one flow's key at two chains gets each chain's verdict", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto udp
fw ruleset add 2 VTIOUT default accept
fw rule add 2 5 action drop proto udp dport 5001
fw bind lan in 1
fw bind vti0 out 2
)");
  PollEach(rig, Udp(kLanHost, kTunnelHost, 5000, 5001), 3);
  CHECK(Packets(rig, 1, 10) == 3);
  CHECK(Packets(rig, 2, 5) == 3);
  CHECK(SentCount(rig, kWan) == 0);
}

TEST_CASE("verdict cache: the packet's state is part of what is cached", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default accept
fw rule add 1 5 action drop state invalid
fw bind lan in 1
)");
  // The same ports each time: an ACK with no session is invalid (rule 5), then a SYN is new
  // (the default), then the ACK again with the SYN's session: established (the default).
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40001, 80, kAck, 1000, 1));
  Poll(rig);
  CHECK(Packets(rig, 1, 5) == 1);
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40001, 80, kSyn, 1000));
  Poll(rig);
  CHECK(Packets(rig, 1, 0) == 1);
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40001, 80, kAck, 1000, 1));
  Poll(rig);
  CHECK(Packets(rig, 1, 5) == 2);  // still invalid: nothing answered the SYN
  CHECK(SentCount(rig, kWan) == 1);
}

namespace {
// The same packet with a 4-byte IP option (NOPs, then end of list): the stage's general parse
// takes it, the usual packet (a 20-byte header) the short one.
std::vector<uint8_t> WithOption(std::vector<uint8_t> ip) {
  ip.insert(ip.begin() + 20, {1, 1, 1, 0});
  auto* h = reinterpret_cast<rte_ipv4_hdr*>(ip.data());
  h->version_ihl = 0x46;
  h->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ip.size()));
  h->hdr_checksum = 0;
  h->hdr_checksum = rte_ipv4_cksum(h);
  return ip;
}
}  // namespace

TEST_CASE("IPv4: the usual packet's keys and hashes are the general parse's", "[firewall]") {
  Rig& rig = Rig::Get();
  Worker& w = rig.worker(0);
  // The ACL key as rte_acl reads it, filled field by field (the stage builds it as words),
  // to destinations no other case sends to.
  auto key = [](uint32_t dst, uint16_t sport, uint16_t dport) {
    FwKey k{};
    k.proto = 17;
    k.src = rte_cpu_to_be_32(kLanHost);
    k.dst = rte_cpu_to_be_32(dst);
    k.sport = rte_cpu_to_be_16(sport);
    k.dport = rte_cpu_to_be_16(dport);
    return k;
  };
  SECTION("the verdict cache: both put a flow's key where FwKeyHash puts it") {
    Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto udp dport 5001
fw bind lan in 1
)");
    constexpr uint32_t kDst = 0xc6336458;  // 198.51.100.88
    REQUIRE_FALSE(w.FwVerdictCached(key(kDst, 6001, 5001)));
    REQUIRE_FALSE(w.FwVerdictCached(key(kDst, 6002, 5001)));
    rig.Receive(kLan, 0, Udp(kLanHost, kDst, 6001, 5001));
    rig.Receive(kLan, 0, WithOption(Udp(kLanHost, kDst, 6002, 5001)));
    Poll(rig);
    CHECK(Packets(rig, 1, 10) == 2);
    CHECK(w.FwVerdictCached(key(kDst, 6001, 5001)));
    CHECK(w.FwVerdictCached(key(kDst, 6002, 5001)));
    CHECK(SentCount(rig, kWan) == 2);
  }
  SECTION("sessions: a flow's packets find its session whichever parse took them") {
    Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto udp state new
fw rule add 1 20 action accept proto tcp dport 80 state new
fw ruleset add 2 LANOUT default drop
fw bind lan in 1
fw bind lan out 2
)");
    constexpr uint32_t kDst = 0xc6336459;  // 198.51.100.89
    // UDP made by the general parse, then the usual packet: a session's (rule 10 counts one).
    rig.Receive(kLan, 0, WithOption(Udp(kLanHost, kDst, 6003, 5001)));
    Poll(rig);
    rig.Receive(kLan, 0, Udp(kLanHost, kDst, 6003, 5001));
    Poll(rig);
    // And the other way round.
    rig.Receive(kLan, 0, Udp(kLanHost, kDst, 6004, 5001));
    Poll(rig);
    rig.Receive(kLan, 0, WithOption(Udp(kLanHost, kDst, 6004, 5001)));
    Poll(rig);
    CHECK(Packets(rig, 1, 10) == 2);
    CHECK(Packets(rig, 1, 0) == 0);
    CHECK(SentCount(rig, kWan) == 4);
    // A TCP handshake whose packets alternate: each finds the session the other parse's made
    // and moves it on (the SYN-ACK passes lan `out` only as the session's reply; an ACK
    // before it, or without the session, would be invalid and meet the default).
    rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40100, 80, kSyn, 1000));
    Poll(rig);
    rig.Receive(kWan, 0, WithOption(Tcp(kRemote, kLanHost, 80, 40100, kSyn | kAck, 5000, 1001)));
    Poll(rig);
    rig.Receive(kLan, 0, WithOption(Tcp(kLanHost, kRemote, 40100, 80, kAck, 1001, 5001)));
    Poll(rig);
    rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40100, 80, kAck | kFin, 1001, 5001));
    Poll(rig);
    CHECK(Packets(rig, 1, 20) == 1);  // only the SYN met a rule
    CHECK(Packets(rig, 1, 0) == 0);
    CHECK(Packets(rig, 2, 0) == 0);
    CHECK(SentCount(rig, kWan) == 3);
    CHECK(SentCount(rig, kLan) == 1);
  }
}

TEST_CASE("state: an echo we answer passes `out` as the reply of the session `local` made",
          "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 WANLOCAL default drop
fw rule add 1 10 action accept proto icmp state new
fw ruleset add 2 WANOUT default drop
fw rule add 2 10 action accept proto icmp state established
fw bind wan local 1
fw bind wan out 2
)");
  rig.Receive(kWan, 0, Echo(kRemote, kWanAddr));
  Poll(rig);
  CHECK(Packets(rig, 1, 10) == 1);
  // The reply passes `out` as the session's reply, without rules (taken for the request, it
  // would be the initiator's packet there, established, and counted on WANOUT:10).
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(Packets(rig, 2, 10) == 0);
  CHECK(Packets(rig, 2, 0) == 0);
}

TEST_CASE("state: a flow's packets at lan `in` and vti0 `out`, new, established, invalid",
          "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto tcp state new
fw rule add 1 20 action accept proto tcp state established
fw ruleset add 2 VTIOUT default drop
fw rule add 2 5 action drop proto tcp state invalid
fw rule add 2 10 action accept proto tcp state new
fw rule add 2 20 action accept proto tcp state established
fw bind lan in 1
fw bind vti0 out 2
)");
  // The SYN makes the session at lan `in` and is still new at vti0 `out`; a second SYN is a
  // retransmit: the session's at lan `in`, established at vti0 `out`; an ACK before any
  // SYN-ACK is invalid (lan `in`'s default drops it).
  rig.Receive(kLan, 0, Tcp(kLanHost, kTunnelHost, 40000, 22, kSyn, 1000));
  Poll(rig);
  rig.Receive(kLan, 0, Tcp(kLanHost, kTunnelHost, 40000, 22, kSyn, 1000));
  Poll(rig);
  rig.Receive(kLan, 0, Tcp(kLanHost, kTunnelHost, 40000, 22, kAck, 1001, 1));
  Poll(rig);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 1, 20) == 0);
  CHECK(Packets(rig, 1, 0) == 1);
  CHECK(Packets(rig, 2, 10) == 1);
  CHECK(Packets(rig, 2, 20) == 1);
  CHECK(Packets(rig, 2, 5) == 0);
  CHECK(SentCount(rig, kWan) == 2);
}

TEST_CASE("state categories: a rule for `invalid` sees only invalid packets", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default accept
fw rule add 1 5 action drop state invalid
fw bind lan in 1
)");
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40001, 80, kAck, 1));  // invalid: rule 5
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40002, 80, kSyn, 1));  // new: default
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 2));                // new: default
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 2);
  CHECK(Packets(rig, 1, 5) == 1);
  CHECK(Packets(rig, 1, 0) == 2);
}

TEST_CASE("ICMP errors about a session are related; others are invalid", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 WANIN default drop
fw rule add 1 10 action accept state related
fw global state udp
fw bind lan out 1
)");
  // Global state policy: the LAN's UDP makes a session although the LAN has no rules... only
  // where a hook evaluates: bind a permissive ruleset on the LAN.
  REQUIRE(rig.Apply("fw ruleset add 2 LANIN default accept\nfw bind lan in 2").status.ok());
  auto out = Udp(kLanHost, kRemote, 5000, 53);
  rig.Receive(kLan, 0, out);
  Poll(rig);
  REQUIRE(SentCount(rig, kWan) == 1);
  auto fwd = out;
  fwd[8] -= 1;  // as it left (TTL - 1); the quoted header need not match byte for byte
  rig.Receive(kWan, 0, IcmpError(kRemote, kLanHost, fwd));
  rig.Receive(kWan, 0, IcmpError(kRemote, kLanHost, Udp(kLanHost, kRemote, 5001, 53)));
  // The UDP reply itself: established, passes without a rule.
  rig.Receive(kWan, 0, Udp(kRemote, kLanHost, 53, 5000));
  Poll(rig);
  auto got = SentAll(rig, kLan);
  REQUIRE(got.size() == 2);
  CHECK(got[0][9] == 1);
  CHECK(got[1][9] == 17);
  CHECK(Packets(rig, 1, 10) == 0);  // related packets of a session pass before the rules
  CHECK(Packets(rig, 1, 0) == 1);   // the unrelated error
}

TEST_CASE("sessions time out; a full table drops what would need a new one", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 ANY default accept
fw ruleset add 2 WANIN default drop
fw global state udp udp 1
fw bind lan in 1
fw bind lan out 2
)");
  FwSessionTable& sessions = *rig.dp().sessions;
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 6000, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  const uint64_t active = sessions.active();
  CHECK(active >= 1);
  rig.Receive(kWan, 0, Udp(kRemote, kLanHost, 53, 6000));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  usleep(1'100'000);  // `udp 1` sets both UDP timeouts
  const uint64_t expired = sessions.expired();
  sessions.Expire(rte_rdtsc(), sessions.slots());
  CHECK(sessions.expired() - expired >= 1);
  rig.Receive(kWan, 0, Udp(kRemote, kLanHost, 53, 6000));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);

  // Fill the table, then a new flow cannot be tracked: dropped and counted.
  FwSessionKey k{};
  k.proto = 99;
  uint32_t filled = 0;
  bool from_a;
  for (uint32_t i = 0;; ++i) {
    k = MakeSessionKey(99, i, 0, 0xffffffff, 0, &from_a);
    const int32_t got = sessions.Insert(0, k, from_a, TcpState::kNone, rte_rdtsc());
    if (got < 0) {
      INFO("insert " << i << " -> " << got << ", active " << sessions.active());
      CHECK(got == -1);
      break;
    }
    ++filled;
    REQUIRE(filled <= sessions.capacity() * 2);
  }
  const uint64_t full = sessions.table_full();
  const uint64_t drops = Dropped(rig, Drop::kFirewallSessionFull);
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 6001, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 0);
  CHECK(sessions.table_full() - full >= 1);
  CHECK(Dropped(rig, Drop::kFirewallSessionFull) - drops == 1);
  REQUIRE(rig.Apply("flush firewall").status.ok());
  CHECK(sessions.active() == 0);
}

TEST_CASE("reject answers TCP with a reset and UDP with port unreachable", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default reject
fw bind lan in 1
)");
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40000, 80, kSyn, 1000));
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 5000, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 0);
  auto back = SentAll(rig, kLan);
  REQUIRE(back.size() == 2);
  const auto& rst = back[0][9] == 6 ? back[0] : back[1];
  const auto& icmp = back[0][9] == 6 ? back[1] : back[0];
  REQUIRE(rst[9] == 6);
  CHECK(rst[20 + 13] == (kRst | kAck));
  CHECK((rst[20 + 0] == 0 && rst[20 + 1] == 80));  // from port 80
  // ACK = the SYN's sequence + 1.
  CHECK((rst[28] == 0 && rst[29] == 0 && rst[30] == 0x03 && rst[31] == 0xe9));
  CHECK(std::vector<uint8_t>(rst.begin() + 12, rst.begin() + 20) ==
        std::vector<uint8_t>{198, 51, 100, 5, 10, 1, 0, 2});
  REQUIRE(icmp[9] == 1);
  CHECK(icmp[20] == 3);
  CHECK(icmp[21] == 3);
  CHECK(Packets(rig, 1, 0) == 2);
}

TEST_CASE("zones: no policy drops, a policy decides, within a zone passes", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw zone add 1 PRIVATE default drop
fw zone add 2 PUBLIC default drop
fw zone-if add lan 1
fw zone-if add wan 2
)");
  const uint64_t nozone = Dropped(rig, Drop::kFirewallNoZonePolicy);
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 2));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 0);
  CHECK(Dropped(rig, Drop::kFirewallNoZonePolicy) - nozone == 1);
  REQUIRE(rig.Apply(R"(
fw ruleset add 1 PRIV2PUB default drop
fw rule add 1 10 action accept proto udp dport 2
fw zone-policy add 1 2 1
)")
              .status.ok());
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 2));
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 3));  // the policy's default
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 1, 0) == 1);  // a configured default-action decides, as in Vyatta
  // ... so a policy whose ruleset accepts by default lets everything through.
  REQUIRE(rig.Apply("fw ruleset update 1 PRIV2PUB default accept").status.ok());
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1, 3));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(Packets(rig, 1, 0) == 2);
  REQUIRE(rig.Apply("fw ruleset update 1 PRIV2PUB default drop").status.ok());
  // An interface in a zone takes no bindings, and a bound ruleset cannot go.
  auto r = rig.Apply("fw bind lan in 1");
  CHECK(r.status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(r.status.message()).find("PRIVATE") != std::string::npos);
  r = rig.Apply("fw ruleset del 1");
  CHECK(r.status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(r.status.message()).find("PRIV2PUB") != std::string::npos);
}

TEST_CASE("a zone's default action keeps its counter across commits", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw zone add 1 PRIVATE default drop
fw zone add 2 PUBLIC default drop
fw zone-if add lan 1
fw zone-if add wan 2
fw ruleset add 1 PRIV2PUB
fw rule add 1 10 action accept proto tcp
fw zone-policy add 1 2 1
)");
  // PRIV2PUB has no default-action of its own: what it leaves meets the to-zone's.
  auto zone_default = [&](uint32_t zone) {
    const FwTables* fw = rig.applier().firewall();
    for (uint32_t s = 0; s < fw->slots.size(); ++s)
      if (fw->slot_keys[s] == (kFwZoneDefaultKey | zone)) return fw->SlotPackets(s, Rig::kWorkers);
    return ~uint64_t{0};
  };
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1111, 53));  // the to-zone's default
  Poll(rig);
  REQUIRE(zone_default(2) == 1);
  REQUIRE(rig.Apply("fw rule add 1 20 action accept proto udp dport 5353").status.ok());
  CHECK(zone_default(2) == 1);
  CHECK(zone_default(1) == 0);
}

TEST_CASE("a commit that rebuilds the ACL keeps the sessions", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto tcp state new
fw ruleset add 2 WANIN default drop
fw bind lan in 1
fw bind lan out 2
)");
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40000, 80, kSyn, 1000));
  Poll(rig);
  REQUIRE(SentCount(rig, kWan) == 1);
  const uint64_t before = Packets(rig, 1, 10);
  // Thousands of rules later the session is still there, and so are the counters.
  std::string more;
  for (int i = 100; i < 2100; ++i)
    more += "fw rule add 2 " + std::to_string(i) + " action drop proto udp dport " +
            std::to_string(i) + "\n";
  REQUIRE(rig.Apply(more).status.ok());
  CHECK(Packets(rig, 1, 10) == before);
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kSyn | kAck, 5000, 1001));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
}

TEST_CASE("batches that break the firewall's invariants are refused whole", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, "fw ruleset add 1 A default drop\nfw bind lan in 1\n");
  auto r = rig.Apply("fw ruleset del 1");
  CHECK(r.status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(r.status.message()) == "ruleset A is still bound to lan in");
  r = rig.Apply("fw rule add 1 10 action accept\nfw rule add 1 10 entry 1 action drop");
  CHECK(r.status.code() == absl::StatusCode::kInvalidArgument);
  r = rig.Apply("fw rule add 9 10 action accept");
  CHECK(r.status.code() == absl::StatusCode::kNotFound);
  r = rig.Apply("fw zone add 1 Z default drop\nfw zone-if add lan 1");
  CHECK(r.status.code() == absl::StatusCode::kFailedPrecondition);
  // Nothing of the refused batches took effect.
  CHECK(rig.applier().state().fw.zones.empty());
  CHECK(rig.applier().state().fw.rulesets.at(1).entries.empty());
  // (dpctl forgets the name of an interface it asked to delete: last.)
  r = rig.Apply("interface del lan");
  CHECK(r.status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(r.status.message()) == "interface lan still has firewall in ruleset A");
}

}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {

TEST_CASE("log: records carry what the seed's line prints, rate-limited per rule", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 PubIn default drop log
fw rule add 1 1 action accept proto udp log
fw rule add 1 2 action accept proto tcp
fw bind wan in 1
)");
  rte_ring* ring = rig.dp().fw_log_ring;
  FwLogRecord e;
  while (rte_ring_dequeue_elem(ring, &e, sizeof e) == 0) {
  }
  auto udp = Udp(kRemote, kLanHost, 4000, 53);
  rig.Receive(kWan, 0, udp);
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 1, 2, kSyn));       // rule 2: no log
  rig.Receive(kWan, 0, Ip(kRemote, kLanHost, 47, {1, 2, 3, 4}));  // default, logged
  Poll(rig);
  REQUIRE(rte_ring_dequeue_elem(ring, &e, sizeof e) == 0);
  CHECK(e.ruleset_id == 1);
  CHECK(e.rule_number == 1);
  CHECK(e.hook == kFwIn);
  CHECK(e.verdict == static_cast<uint8_t>(FwVerdict::kAccept));
  CHECK(std::string(rig.dp().CurrentTables().ifs[e.ifindex].name) == "wan");
  CHECK(e.has_macs == 1);
  CHECK(std::memcmp(e.src_mac, kPeerMac, 6) == 0);
  CHECK(std::memcmp(e.dst_mac, rig.mac(kWan).addr_bytes, 6) == 0);
  REQUIRE(e.l3_length == 20);
  CHECK(std::memcmp(e.l3, udp.data(), 20) == 0);
  // The L4 header and what follows it, up to 20 bytes (a TCP header without options).
  const size_t l4 = std::min<size_t>(udp.size() - 20, 20);
  REQUIRE(l4 > 8);
  REQUIRE(e.l4_length == l4);
  CHECK(std::memcmp(e.l4, udp.data() + 20, l4) == 0);
  REQUIRE(rte_ring_dequeue_elem(ring, &e, sizeof e) == 0);
  CHECK(e.rule_number == 0);  // the default action's
  CHECK(e.verdict == static_cast<uint8_t>(FwVerdict::kDrop));
  CHECK(e.l4_length == 4);  // all there was
  CHECK(rte_ring_dequeue_elem(ring, &e, sizeof e) != 0);

  // 300 at once: a burst of 200 goes out (one was taken above), the rest is suppressed and
  // counted on the rule.
  uint64_t suppressed_before = 0;
  for (int w = 0; w < Rig::kWorkers; ++w)
    suppressed_before += rig.worker(w).stats().fw_log_suppressed;
  for (int i = 0; i < 300; ++i) {
    rig.Receive(kWan, 0, udp);
    if (i % 50 == 49) Poll(rig);
  }
  Poll(rig);
  int got = 0;
  while (rte_ring_dequeue_elem(ring, &e, sizeof e) == 0) ++got;
  CHECK(got >= 199);
  CHECK(got <= 201);  // a token may come back while the test runs
  const FwTables* fw = rig.applier().firewall();
  uint64_t suppressed = 0;
  for (uint32_t s = 0; s < fw->slots.size(); ++s)
    if (fw->slots[s].ruleset_id == 1 && fw->slots[s].rule_number == 1)
      suppressed = fw->SlotSuppressed(s, Rig::kWorkers);
  CHECK(suppressed == static_cast<uint64_t>(300 - got));
  uint64_t suppressed_after = 0;
  for (int w = 0; w < Rig::kWorkers; ++w)
    suppressed_after += rig.worker(w).stats().fw_log_suppressed;
  CHECK(suppressed_after - suppressed_before == suppressed);
}

}  // namespace portcullis::dp::testing

// ---- sessions belong to the chain that made them (docs/DESIGN.md, Firewall) ----
namespace portcullis::dp::testing {

TEST_CASE("a session made at `in` does not pass the same packet past `local`", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept state new
fw ruleset add 2 LANLOCAL default drop
fw rule add 2 10 action drop proto icmp
fw bind lan in 1
fw bind lan local 2
)");
  rig.Receive(kLan, 0, Echo(kLanHost, kLanAddr));
  Poll(rig);
  CHECK(Packets(rig, 2, 10) == 1);   // local dropped it
  CHECK(SentCount(rig, kLan) == 0);  // no echo reply
}

TEST_CASE("a session made at lan `in` does not pass vti0 `out`; its replies pass lan `out`",
          "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept state new
fw ruleset add 2 VTIOUT default accept
fw rule add 2 10 action drop proto udp dport 9
fw ruleset add 3 LANOUT default drop
fw bind lan in 1
fw bind vti0 out 2
fw bind lan out 3
)");
  rig.Receive(kLan, 0, Udp(kLanHost, kTunnelHost, 1, 9));
  Poll(rig);
  CHECK(Packets(rig, 2, 10) == 1);
  CHECK(SentCount(rig, kWan) == 0);
  // A flow vti0 `out` lets through: its session (made at lan `in`) passes the reply at lan
  // `out`, whose own rules would drop it, and a second packet is evaluated at vti0 `out` again.
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1000, 53));
  Poll(rig);
  REQUIRE(SentCount(rig, kWan) == 1);
  rig.Receive(kWan, 0, Udp(kRemote, kLanHost, 53, 1000));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Packets(rig, 3, 0) == 0);
  // Not the reverse direction: a packet from the initiator at lan `out` (another flow's
  // address pair would be needed to get there; a new one from the WAN side is simply new).
  rig.Receive(kWan, 0, Udp(kRemote, kLanHost, 54, 1000));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Packets(rig, 3, 0) == 1);
}

TEST_CASE("zones: replies of a session pass without a reverse policy", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw zone add 1 PRIVATE default drop
fw zone add 2 PUBLIC default drop
fw zone-if add lan 1
fw zone-if add wan 2
fw ruleset add 1 PRIV2PUB default drop
fw rule add 1 10 action accept state new
fw zone-policy add 1 2 1
)");
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 1111, 53));
  Poll(rig);
  REQUIRE(SentCount(rig, kWan) == 1);
  rig.Receive(kWan, 0, Udp(kRemote, kLanHost, 53, 1111));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);  // the session's reply
  // Not a session's: still dropped for want of a policy.
  const uint64_t nozone = Dropped(rig, Drop::kFirewallNoZonePolicy);
  rig.Receive(kWan, 0, Udp(kRemote, kLanHost, 53, 2222));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Dropped(rig, Drop::kFirewallNoZonePolicy) - nozone == 1);
}

TEST_CASE("the local zone: a policy from it filters what the appliance sends", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw zone add 1 PRIVATE default drop
fw zone add 3 ME default drop local
fw zone-if add lan 1
fw ruleset add 1 ANY default accept
fw zone-policy add 1 3 1
)");
  // No policy from ME to PRIVATE: the appliance's own packets pass (Vyatta: what the router
  // sends is allowed unless a policy from the local zone drops it).
  const uint64_t nozone = Dropped(rig, Drop::kFirewallNoZonePolicy);
  rig.Receive(kLan, 0, Echo(kLanHost, kLanAddr));
  Poll(rig);
  CHECK(Packets(rig, 1, 0) == 1);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Dropped(rig, Drop::kFirewallNoZonePolicy) == nozone);
  // A policy from ME to PRIVATE decides them: ICMP accepted by its rule, the rest meets its
  // default.
  REQUIRE(rig.Apply(R"(
fw ruleset add 2 ME2PRIV default drop
fw rule add 2 10 action accept proto icmp
fw zone-policy add 3 1 2
)")
              .status.ok());
  rig.Receive(kLan, 0, Echo(kLanHost, kLanAddr));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Packets(rig, 2, 10) == 1);
  REQUIRE(rig.Apply("fw rule del 2 10").status.ok());
  const uint64_t dropped = Dropped(rig, Drop::kFirewallDrop);
  rig.Receive(kLan, 0, Echo(kLanHost, kLanAddr, 8, 8));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Dropped(rig, Drop::kFirewallDrop) - dropped == 1);
  CHECK(Packets(rig, 2, 0) == 1);
  // ... except the replies of a session the stateful policy to ME made.
  REQUIRE(rig.Apply(R"(
fw ruleset add 4 STATEFUL default drop
fw rule add 4 10 action accept state new
fw zone-policy del 1 3 1
fw zone-policy add 1 3 4
)")
              .status.ok());
  rig.Receive(kLan, 0, Echo(kLanHost, kLanAddr, 8, 9));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Packets(rig, 2, 0) == 1);
  // A reject there answers nobody: the packet is our own.
  REQUIRE(rig.Apply(R"(
fw ruleset update 2 ME2PRIV default reject
fw zone-policy del 1 3 4
fw zone-policy add 1 3 1
)")
              .status.ok());
  uint64_t icmp = 0;
  for (int w = 0; w < Rig::kWorkers; ++w) icmp += rig.dp().stats[w]->icmp_sent;
  const uint64_t rejected = Dropped(rig, Drop::kFirewallReject);
  rig.Receive(kLan, 0, Echo(kLanHost, kLanAddr, 8, 10));  // a new flow: no session
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Dropped(rig, Drop::kFirewallReject) - rejected == 1);
  uint64_t icmp_after = 0;
  for (int w = 0; w < Rig::kWorkers; ++w) icmp_after += rig.dp().stats[w]->icmp_sent;
  CHECK(icmp_after - icmp == 1);  // the echo reply only, no reject answer to ourselves
}

TEST_CASE("the local zone's policy filters IKE from vpnd, not a tunnel's ESP", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw zone add 1 PRIV default drop
fw zone add 2 VPN default drop
fw zone add 3 PUB default drop
fw zone add 4 ME default drop local
fw zone-if add lan 1
fw zone-if add vti0 2
fw zone-if add wan 3
fw ruleset add 1 PRIV2VPN default drop
fw rule add 1 10 action accept
fw zone-policy add 1 2 1
fw ruleset add 2 ME2PUB default accept
fw rule add 2 10 action drop proto udp dport 500
fw zone-policy add 4 3 2
)");
  // The tunnel's ESP leaves on WAN (in zone PUB) although ME2PUB would see it: its inner
  // packets met the zones on the way in.
  rig.Receive(kLan, 0, Udp(kLanHost, kTunnelHost, 1000, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(Packets(rig, 2, 0) == 0);
  // IKE from vpnd through the inject ring meets ME2PUB's rule 10; other UDP passes.
  auto inject = [&](uint16_t dport) {
    std::vector<uint8_t> ip = Udp(kWanAddr, 0xc0000202, 500, dport);
    rte_mbuf* m = rte_pktmbuf_alloc(rig.dp().pool);
    REQUIRE(m != nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(ip.size())), ip.data(), ip.size());
    m->l3_len = 20;
    *Meta(m) = PacketMeta{0, 0, 0, PktKind::kRouteLocal, 0, 0, 0};
    REQUIRE(rte_ring_mp_enqueue(rig.dp().inject_ring, m) == 0);
  };
  inject(500);
  inject(4500);
  Poll(rig);
  CHECK(Packets(rig, 2, 10) == 1);
  CHECK(Packets(rig, 2, 0) == 1);
  CHECK(SentCount(rig, kWan) == 1);
}

TEST_CASE("zones through a VTI: what we encrypt is checked between the VTI's zone and LAN only",
          "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw zone add 1 PRIV default drop
fw zone add 2 VPN default drop
fw zone add 3 PUB default drop
fw zone-if add lan 1
fw zone-if add vti0 2
fw zone-if add wan 3
fw ruleset add 1 PRIV2VPN default drop
fw rule add 1 10 action accept
fw zone-policy add 1 2 1
)");
  const uint64_t nozone = Dropped(rig, Drop::kFirewallNoZonePolicy);
  rig.Receive(kLan, 0, Udp(kLanHost, kTunnelHost, 1000, 53));
  rig.Receive(kLan, 1, Udp(kLanHost, kTunnelHost, 1001, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 2);  // the ESP, with no policy between PRIV or VPN and PUB
  CHECK(Dropped(rig, Drop::kFirewallNoZonePolicy) - nozone == 0);
}

}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {

TEST_CASE("a packet that waited for ARP meets `out` once", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANOUT default drop
fw rule add 1 10 action accept proto udp
fw bind lan out 1
)");
  constexpr uint32_t kUnresolved = 0x0a010003;  // 10.1.0.3: no neighbour entry yet
  rig.Receive(kWan, 0, Udp(kRemote, kUnresolved, 7000, 53));
  Poll(rig);
  CHECK(Packets(rig, 1, 10) == 1);
  // What the main lcore does once ARP answers (SlowPath::Release): back to a worker, routed.
  rte_mbuf* m = nullptr;
  REQUIRE(rte_ring_dequeue(rig.dp().slow_ring, reinterpret_cast<void**>(&m)) == 0);
  REQUIRE(Meta(m)->kind == PktKind::kResolve);
  REQUIRE(rig.Apply("neigh add lan 10.1.0.3 02:00:00:00:01:0b").status.ok());
  Meta(m)->kind = PktKind::kRouteLocal;
  Meta(m)->flags |= kMetaRouted;
  REQUIRE(rte_ring_enqueue(rig.dp().inject_ring, m) == 0);
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Packets(rig, 1, 10) == 1);  // not twice
}

// A TCP segment with a window, a window-scale option on SYNs (wscale >= 0) and `len` bytes of
// payload.
std::vector<uint8_t> TcpSeg(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                            uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, int wscale,
                            size_t len) {
  std::vector<uint8_t> t(wscale >= 0 ? 24 : 20, 0);
  t[0] = sport >> 8, t[1] = sport & 0xff, t[2] = dport >> 8, t[3] = dport & 0xff;
  for (int i = 0; i < 4; ++i) {
    t[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
    t[8 + i] = static_cast<uint8_t>(ack >> (24 - 8 * i));
  }
  t[12] = static_cast<uint8_t>((t.size() / 4) << 4);
  t[13] = flags;
  t[14] = win >> 8, t[15] = win & 0xff;
  if (wscale >= 0) t[20] = 1, t[21] = 3, t[22] = 3, t[23] = static_cast<uint8_t>(wscale);
  t.resize(t.size() + len, 0xab);
  return Ip(src, dst, 6, t);
}

TEST_CASE("TCP: a bulk stream's ACKs may lag by a scaled window", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto tcp state new
fw ruleset add 2 LANOUT default drop
fw bind lan in 1
fw bind lan out 2
)");
  constexpr uint32_t kIsn = 1000, kRisn = 5000;
  rig.Receive(kLan, 0, TcpSeg(kLanHost, kRemote, 40001, 80, kSyn, kIsn, 0, 64240, 10, 0));
  Poll(rig);
  rig.Receive(kWan, 0,
              TcpSeg(kRemote, kLanHost, 80, 40001, kSyn | kAck, kRisn, kIsn + 1, 65160, 10, 0));
  Poll(rig);
  REQUIRE(SentCount(rig, kLan) == 1);
  uint32_t seq = kIsn + 1;
  rig.Receive(kLan, 0, TcpSeg(kLanHost, kRemote, 40001, 80, kAck, seq, kRisn + 1, 80, -1, 0));
  Poll(rig);
  // 40 segments of 1,400 bytes (inside the SYN-ACK's 65,160), then the receiver opens its window
  // to 200 << 10 while acknowledging the first, and the sender fills it: 100 segments in
  // flight, 138,600 bytes ahead of the receiver's next ACK.
  for (int i = 0; i < 40; ++i, seq += 1400) {
    rig.Receive(kLan, 0, TcpSeg(kLanHost, kRemote, 40001, 80, kAck, seq, kRisn + 1, 80, -1, 1400));
    Poll(rig);
  }
  rig.Receive(kWan, 0,
              TcpSeg(kRemote, kLanHost, 80, 40001, kAck, kRisn + 1, kIsn + 1 + 1400, 200, -1, 0));
  Poll(rig);
  REQUIRE(SentCount(rig, kLan) == 1);
  for (int i = 0; i < 60; ++i, seq += 1400) {
    rig.Receive(kLan, 0, TcpSeg(kLanHost, kRemote, 40001, 80, kAck, seq, kRisn + 1, 80, -1, 1400));
    Poll(rig);
  }
  CHECK(SentCount(rig, kWan) == 102);  // the SYN, the ACK and 100 segments
  const uint64_t dropped = Packets(rig, 2, 0);
  rig.Receive(kWan, 0,
              TcpSeg(kRemote, kLanHost, 80, 40001, kAck, kRisn + 1, kIsn + 1 + 2800, 200, -1, 0));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);  // established, 137,200 bytes behind: within 66,000 << 10
  CHECK(Packets(rig, 2, 0) == dropped);
}

}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {

TEST_CASE("TCP: a SYN after a reset starts the session again", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto tcp state new
fw ruleset add 2 LANOUT default drop
fw bind lan in 1
fw bind lan out 2
)");
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40000, 80, kSyn, 1000));
  Poll(rig);
  REQUIRE(SentCount(rig, kWan) == 1);
  // A reset outside the window closes nothing and is invalid (LANOUT's default drops it).
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kRst | kAck, 0, 0x40000000));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Packets(rig, 2, 0) == 1);
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kRst | kAck, 0, 1001));
  Poll(rig);
  REQUIRE(SentCount(rig, kLan) == 1);
  const uint64_t p10 = Packets(rig, 1, 10), p0 = Packets(rig, 1, 0);
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40000, 80, kSyn, 77777));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);  // the new SYN, new again
  CHECK(Packets(rig, 1, 10) - p10 == 1);
  CHECK(Packets(rig, 1, 0) - p0 == 0);
  // And its handshake passes as the new connection's.
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kSyn | kAck, 9000, 77778));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
}

TEST_CASE("TCP: segments outside the window are invalid", "[firewall]") {
  Rig& rig = Rig::Get();
  Configure(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto tcp state new
fw ruleset add 2 LANOUT default drop
fw bind lan in 1
fw bind lan out 2
)");
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40000, 80, kSyn, 1000));
  Poll(rig);
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kSyn | kAck, 5000, 1001));
  Poll(rig);
  rig.Receive(kLan, 0, Tcp(kLanHost, kRemote, 40000, 80, kAck, 1001, 5001));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(SentCount(rig, kWan) == 2);
  // An ACK of data never sent, from far outside the window: invalid, dropped.
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kAck, 0x80000000u, 0x12345678));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Packets(rig, 2, 0) == 1);
  // In the window: passes.
  rig.Receive(kWan, 0, Tcp(kRemote, kLanHost, 80, 40000, kAck, 5001, 1001));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
}

}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {
namespace {
std::vector<uint8_t> Fragment(uint32_t src, uint32_t dst, uint8_t proto, uint16_t frag_field,
                              std::vector<uint8_t> l4) {
  auto p = Ip(src, dst, proto, l4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->fragment_offset = rte_cpu_to_be_16(frag_field);
  ip->packet_id = rte_cpu_to_be_16(77);
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  return p;
}
}  // namespace

TEST_CASE("later fragments get the verdict their first fragment met", "[firewall]") {
  Rig& rig = Rig::Get();
  const std::vector<uint8_t> first = {0x13, 0x88, 0, 53, 0, 24, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<uint8_t> rest = {9, 10, 11, 12, 13, 14, 15, 16};
  for (const char* rule : {"fw rule add 1 10 action accept proto udp dport 53\n",
                           "fw rule add 1 10 action accept proto udp dport 53 state new\n"}) {
    INFO(rule);
    Configure(rig,
              std::string("fw ruleset add 1 LANIN default drop\n") + rule + "fw bind lan in 1\n");
    rig.Receive(kLan, 0, Fragment(kLanHost, kRemote, 17, 0x2000, first));  // MF, offset 0
    Poll(rig);
    rig.Receive(kLan, 0, Fragment(kLanHost, kRemote, 17, 2, rest));  // offset 16, the last
    Poll(rig);
    CHECK(SentCount(rig, kWan) == 2);
    CHECK(Packets(rig, 1, 10) == 2);
    CHECK(Packets(rig, 1, 0) == 0);
    // A later fragment whose first this worker never saw: ports unknown, the default drops it.
    auto other = Fragment(kLanHost, kRemote, 17, 2, rest);
    other[5] = 78;  // another IP id
    other[10] = other[11] = 0;
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(other.data());
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    rig.Receive(kLan, 0, other);
    Poll(rig);
    CHECK(SentCount(rig, kWan) == 0);
    CHECK(Packets(rig, 1, 0) == 1);
  }
}

// ---- IPv6 -----------------------------------------------------------------------------------
// The same hooks for IPv6: its own ACL contexts and session table, the rulesets' family.

namespace {

const std::string kV6 = R"(
address add lan 2001:db8:1::1/64
address add wan 2001:db8:ff::1/64
route add 2001:db8:5::/64 via 2001:db8:ff::2
neigh add lan 2001:db8:1::2 02:00:00:00:01:0a
neigh add wan 2001:db8:ff::2 02:00:00:00:02:02
)";
constexpr const char* kLanHost6 = "2001:db8:1::2";
constexpr const char* kRemote6 = "2001:db8:5::9";

void Configure6(Rig& rig, const std::string& fw) {
  Configure(rig, kV6 + fw);
}

std::vector<uint8_t> Ip6(const char* src, const char* dst, uint8_t nh, std::vector<uint8_t> l4) {
  std::vector<uint8_t> p(40 + l4.size());
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p.data());
  ip->vtc_flow = RTE_BE32(0x60000000);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4.size()));
  ip->proto = nh;
  ip->hop_limits = 64;
  REQUIRE(inet_pton(AF_INET6, src, ip->src_addr) == 1);
  REQUIRE(inet_pton(AF_INET6, dst, ip->dst_addr) == 1);
  std::memcpy(p.data() + 40, l4.data(), l4.size());
  // UDP and ICMPv6 checksums (TCP's are not checked on the way through).
  if (nh == 17 || nh == 58) {
    const size_t at = nh == 17 ? 46 : 42;
    p[at] = p[at + 1] = 0;
    const uint16_t c = rte_ipv6_udptcp_cksum(ip, p.data() + 40);
    std::memcpy(p.data() + at, &c, 2);
  }
  return p;
}

std::vector<uint8_t> Udp6(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  return Ip6(
      src, dst, 17,
      {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport),
       static_cast<uint8_t>(dport >> 8), static_cast<uint8_t>(dport), 0, 12, 0, 0, 1, 2, 3, 4});
}

std::vector<uint8_t> Tcp6(const char* src, const char* dst, uint16_t sport, uint16_t dport,
                          uint8_t flags, uint32_t seq = 1000, uint32_t ack = 0) {
  std::vector<uint8_t> t(20, 0);
  t[0] = sport >> 8, t[1] = sport & 0xff, t[2] = dport >> 8, t[3] = dport & 0xff;
  for (int i = 0; i < 4; ++i) {
    t[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
    t[8 + i] = static_cast<uint8_t>(ack >> (24 - 8 * i));
  }
  t[12] = 5 << 4;
  t[13] = flags;
  t[14] = 0xff, t[15] = 0xff;  // a window, so the replies' sequence numbers fit
  return Ip6(src, dst, 6, t);
}

std::vector<uint8_t> Echo6(const char* src, const char* dst, uint8_t type = 128, uint16_t id = 7) {
  return Ip6(src, dst, 58,
             {type, 0, 0, 0, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0, 1});
}

// An ICMPv6 error quoting orig (the whole of it: it is short).
std::vector<uint8_t> Icmp6Err(const char* from, const char* to, const std::vector<uint8_t>& orig,
                              uint8_t type = 1, uint8_t code = 4) {
  std::vector<uint8_t> e = {type, code, 0, 0, 0, 0, 0, 0};
  e.insert(e.end(), orig.begin(), orig.end());
  return Ip6(from, to, 58, e);
}

void Receive6(Rig& rig, PortIndex p, const std::vector<uint8_t>& ip, int queue = 0) {
  rig.Receive(p, queue, ip, 0x86dd);
}

}  // namespace

TEST_CASE("IPv6: rules with IPv6 addresses, ports and the default action", "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto tcp src 2001:db8:1::/64 dport 22
fw rule add 1 20 action accept proto udp dst 2001:db8:5::1-2001:db8:5::10 dport 53
fw rule add 1 30 action drop proto udp dport 53 family 6
fw bind lan in 1
)");
  Receive6(rig, kLan, Tcp6(kLanHost6, kRemote6, 40000, 22, kSyn));   // rule 10
  Receive6(rig, kLan, Tcp6(kLanHost6, kRemote6, 40000, 23, kSyn));   // default
  Receive6(rig, kLan, Udp6(kLanHost6, kRemote6, 5000, 53));          // rule 20 (::9 in range)
  Receive6(rig, kLan, Udp6(kLanHost6, "2001:db8:5::11", 5000, 53));  // rule 30
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 2);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 1, 20) == 1);
  CHECK(Packets(rig, 1, 30) == 1);
  CHECK(Packets(rig, 1, 0) == 1);
  // IPv4 on the same hook meets only the IPv4 entries (none here): the default.
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 5000, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 0);
  CHECK(Packets(rig, 1, 0) == 2);
}

TEST_CASE("IPv6: the verdict cache keeps a flow's key where FwKeyHash puts it",
          "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto udp dport 53 family 6
fw bind lan in 1
)");
  // The ACL key as rte_acl reads it, filled field by field (the stage builds it as words in
  // registers and hashes those): a destination no other case sends to.
  constexpr const char* kDst = "2001:db8:5::77";
  FwKey6 k{};
  k.proto = 17;
  REQUIRE(inet_pton(AF_INET6, kLanHost6, k.src) == 1);
  REQUIRE(inet_pton(AF_INET6, kDst, k.dst) == 1);
  k.sport = rte_cpu_to_be_16(5077);
  k.dport = rte_cpu_to_be_16(53);
  Worker& w = rig.worker(0);
  REQUIRE_FALSE(w.FwVerdictCached(k));
  Receive6(rig, kLan, Udp6(kLanHost6, kDst, 5077, 53));
  Poll(rig);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(w.FwVerdictCached(k));
  // The flow's next packet gets the cached answer: the same rule.
  Receive6(rig, kLan, Udp6(kLanHost6, kDst, 5077, 53));
  Poll(rig);
  CHECK(Packets(rig, 1, 10) == 2);
  CHECK(SentCount(rig, kWan) == 2);
}

TEST_CASE("IPv6: a ruleset's family decides which packets it filters", "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  // V4ONLY drops everything IPv4; IPv6 passes the hook as if it were not bound.
  Configure6(rig, R"(
fw ruleset add 1 V4ONLY default drop family 4
fw bind lan in 1
)");
  Receive6(rig, kLan, Udp6(kLanHost6, kRemote6, 5000, 53));
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 5000, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(Packets(rig, 1, 0) == 1);
  // Both families (Vyatta's rulesets): a rule without addresses matches IPv6 too.
  Configure6(rig, R"(
fw ruleset add 1 BOTH default drop
fw rule add 1 10 action accept proto udp dport 53
fw rule add 1 10 entry 1 action accept proto udp dport 53 family 6
fw bind lan in 1
)");
  Receive6(rig, kLan, Udp6(kLanHost6, kRemote6, 5000, 53));
  Receive6(rig, kLan, Udp6(kLanHost6, kRemote6, 5000, 54));
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 5000, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 2);
  CHECK(Packets(rig, 1, 10) == 2);  // one rule, one counter, both families
  CHECK(Packets(rig, 1, 0) == 1);
  // An IPv6-only ruleset, and an IPv4 one with it on the same hook (VyOS's ipv4 and ipv6
  // filter jumps on one interface): each family meets its own.
  Configure6(rig, R"(
fw ruleset add 1 V6 default drop family 6
fw rule add 1 10 action accept proto udp dport 53 family 6
fw ruleset add 2 V4 default accept family 4
fw bind lan in 1 position 0
fw bind lan in 2 position 1
)");
  Receive6(rig, kLan, Udp6(kLanHost6, kRemote6, 5000, 54));  // V6's default
  rig.Receive(kLan, 0, Udp(kLanHost, kRemote, 5000, 54));    // V4's default
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(Packets(rig, 1, 0) == 1);
  CHECK(Packets(rig, 2, 0) == 1);
  // An IPv6 entry is refused in an IPv4-only ruleset.
  auto r = rig.Apply("fw rule add 2 5 action accept family 6");
  CHECK(r.status.code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("IPv6: a TCP handshake makes an IPv6 session, its replies pass", "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto tcp dport 80 state new family 6
fw ruleset add 2 WANIN default drop
fw bind lan in 1
fw bind lan out 2
)");
  const uint64_t created6 = rig.dp().sessions6->created();
  const uint64_t created4 = rig.dp().sessions->created();
  Receive6(rig, kWan, Tcp6(kRemote6, kLanHost6, 80, 40000, kSyn | kAck, 5000, 1001));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);  // no session yet
  Receive6(rig, kLan, Tcp6(kLanHost6, kRemote6, 40000, 80, kSyn, 1000));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(rig.dp().sessions6->created() - created6 == 1);
  CHECK(rig.dp().sessions->created() == created4);  // IPv4's table untouched
  Receive6(rig, kWan, Tcp6(kRemote6, kLanHost6, 80, 40000, kSyn | kAck, 5000, 1001), 1);
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  Receive6(rig, kLan, Tcp6(kLanHost6, kRemote6, 40000, 80, kAck, 1001, 5001));
  Receive6(rig, kWan, Tcp6(kRemote6, kLanHost6, 80, 40000, kAck, 5001, 1001));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 2, 0) == 1);
  // A SYN inside the established session is invalid (the TCP tracking IPv4 has).
  Receive6(rig, kWan, Tcp6(kRemote6, kLanHost6, 80, 40000, kSyn, 9));
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Packets(rig, 2, 0) == 2);
}

TEST_CASE("IPv6: echo makes a session; ICMPv6 errors about a session are related",
          "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
fw ruleset add 1 LANIN default drop
fw rule add 1 10 action accept proto icmpv6 icmp-type 128 state new
fw rule add 1 20 action accept proto udp state new family 6
fw ruleset add 2 WANIN default drop
fw bind lan in 1
fw bind lan out 2
)");
  Receive6(rig, kLan, Echo6(kLanHost6, kRemote6, 128, 77));
  Poll(rig);
  REQUIRE(SentCount(rig, kWan) == 1);
  Receive6(rig, kWan, Echo6(kRemote6, kLanHost6, 129, 77));  // the reply: the session's
  Receive6(rig, kWan, Echo6(kRemote6, kLanHost6, 129, 78));  // another identifier: no session
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Packets(rig, 2, 0) == 1);
  // UDP out, then an unreachable about it (related) and one about another flow (invalid).
  auto out = Udp6(kLanHost6, kRemote6, 5000, 53);
  Receive6(rig, kLan, out);
  Poll(rig);
  REQUIRE(SentCount(rig, kWan) == 1);
  Receive6(rig, kWan, Icmp6Err(kRemote6, kLanHost6, out));
  Receive6(rig, kWan, Icmp6Err(kRemote6, kLanHost6, Udp6(kLanHost6, kRemote6, 5001, 53)));
  Poll(rig);
  auto got = SentAll(rig, kLan);
  REQUIRE(got.size() == 1);
  CHECK(got[0][6] == 58);
  CHECK(got[0][40] == 1);
  CHECK(Packets(rig, 2, 0) == 2);
}

TEST_CASE("IPv6: reject answers TCP with a reset and UDP with ICMPv6 port unreachable",
          "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
fw ruleset add 1 LANIN default reject
fw bind lan in 1
)");
  Receive6(rig, kLan, Tcp6(kLanHost6, kRemote6, 40000, 80, kSyn, 1000));
  Receive6(rig, kLan, Udp6(kLanHost6, kRemote6, 5000, 53));
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 0);
  auto back = SentAll(rig, kLan);
  REQUIRE(back.size() == 2);
  const auto& rst = back[0][6] == 6 ? back[0] : back[1];
  const auto& icmp = back[0][6] == 6 ? back[1] : back[0];
  REQUIRE(rst[6] == 6);
  CHECK(rst[40 + 13] == (kRst | kAck));
  CHECK((rst[40] == 0 && rst[41] == 80));
  CHECK((rst[48] == 0 && rst[49] == 0 && rst[50] == 0x03 && rst[51] == 0xe9));  // SYN's seq + 1
  uint8_t want_src[16];
  REQUIRE(inet_pton(AF_INET6, kRemote6, want_src) == 1);
  CHECK(std::memcmp(rst.data() + 8, want_src, 16) == 0);  // from where the SYN went
  // The reset's checksum is right.
  std::vector<uint8_t> copy = rst;
  CHECK(rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(copy.data()),
                                     copy.data() + 40) == 0);
  REQUIRE(icmp[6] == 58);
  CHECK(icmp[40] == 1);
  CHECK(icmp[41] == 4);
  CHECK(Packets(rig, 1, 0) == 2);
}

TEST_CASE("IPv6: zones, and `local` with default drop still answers neighbour discovery",
          "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
fw zone add 1 PRIVATE default drop
fw zone add 2 PUBLIC default drop
fw zone-if add lan 1
fw zone-if add wan 2
fw ruleset add 1 PRIV2PUB default drop
fw rule add 1 10 action accept proto udp dport 2 family 6
fw zone-policy add 1 2 1
)");
  const uint64_t nozone = Dropped(rig, Drop::kFirewallNoZonePolicy);
  Receive6(rig, kLan, Udp6(kLanHost6, kRemote6, 1, 2));  // the policy's rule
  Receive6(rig, kLan, Udp6(kLanHost6, kRemote6, 1, 3));  // its default
  Receive6(rig, kWan, Udp6(kRemote6, kLanHost6, 1, 2));  // no policy PUBLIC -> PRIVATE
  Poll(rig);
  CHECK(SentCount(rig, kWan) == 1);
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(Packets(rig, 1, 10) == 1);
  CHECK(Packets(rig, 1, 0) == 1);
  CHECK(Dropped(rig, Drop::kFirewallNoZonePolicy) - nozone == 1);
  // `local` default drop on the LAN: our echo is dropped, ND goes to the main lcore first.
  Configure6(rig, R"(
fw ruleset add 1 LOCAL default drop
fw bind lan local 1
)");
  Receive6(rig, kLan, Echo6(kLanHost6, "2001:db8:1::1"));
  // A neighbour solicitation for our address (hop limit 255, to its solicited-node group).
  std::vector<uint8_t> ns = {135, 0, 0, 0, 0, 0, 0, 0};
  uint8_t target[16];
  REQUIRE(inet_pton(AF_INET6, "2001:db8:1::1", target) == 1);
  ns.insert(ns.end(), target, target + 16);
  auto nsp = Ip6(kLanHost6, "ff02::1:ff00:1", 58, ns);
  nsp[7] = 255;
  const unsigned slow = rte_ring_count(rig.dp().slow_ring);
  Receive6(rig, kLan, nsp);
  Poll(rig);
  CHECK(Packets(rig, 1, 0) == 1);  // only the echo met LOCAL; the NS never did
  CHECK(SentCount(rig, kLan) == 0);
  CHECK(rte_ring_count(rig.dp().slow_ring) - slow == 1);  // the NS: to the main lcore
  rte_mbuf* m;
  while (rte_ring_dequeue(rig.dp().slow_ring, reinterpret_cast<void**>(&m)) == 0)
    rte_pktmbuf_free(m);
}

TEST_CASE("IPv6: log records carry the IPv6 header and the upper layer's", "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
fw ruleset add 1 PubIn default drop log
fw bind wan in 1
)");
  rte_ring* ring = rig.dp().fw_log_ring;
  FwLogRecord e;
  while (rte_ring_dequeue_elem(ring, &e, sizeof e) == 0) {
  }
  auto udp = Udp6(kRemote6, kLanHost6, 4000, 53);
  Receive6(rig, kWan, udp);
  Poll(rig);
  REQUIRE(rte_ring_dequeue_elem(ring, &e, sizeof e) == 0);
  CHECK(e.rule_number == 0);
  CHECK(e.has_macs == 1);
  REQUIRE(e.l3_length == 41);  // the header, then the upper layer's protocol
  CHECK(std::memcmp(e.l3, udp.data(), 40) == 0);
  CHECK(e.l3[40] == 17);
  REQUIRE(e.l4_length >= 8);
  CHECK(std::memcmp(e.l4, udp.data() + 40, 8) == 0);
}

TEST_CASE("IPv6: a packet that waited for neighbour discovery meets `out` and zones once",
          "[firewall][ipv6]") {
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
fw ruleset add 1 LANOUT default drop
fw rule add 1 10 action accept proto udp family 6
fw bind lan out 1
)");
  const char* unresolved = "2001:db8:1::3";  // no neighbour entry yet
  Receive6(rig, kWan, Udp6(kRemote6, unresolved, 7000, 53));
  Poll(rig);
  CHECK(Packets(rig, 1, 10) == 1);
  // What the main lcore does once the neighbour answers (SlowPath::Release6): back to a
  // worker as ours, flagged routed.
  rte_mbuf* m = nullptr;
  REQUIRE(rte_ring_dequeue(rig.dp().slow_ring, reinterpret_cast<void**>(&m)) == 0);
  REQUIRE(Meta(m)->kind == PktKind::kResolve);
  REQUIRE(rig.Apply("neigh add lan 2001:db8:1::3 02:00:00:00:01:0b").status.ok());
  Meta(m)->kind = PktKind::kRouteLocal;
  Meta(m)->flags |= kMetaRouted;
  REQUIRE(rte_ring_enqueue(rig.dp().inject_ring, m) == 0);
  Poll(rig);
  CHECK(SentCount(rig, kLan) == 1);
  CHECK(Packets(rig, 1, 10) == 1);  // not twice
}

}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {
namespace {

TEST_CASE("IPv6 to our first address meets `in` too (sorted to local delivery in stage_l2)",
          "[firewall][ipv6]") {
  // stage_l2 hands a plain packet to the receiving interface's first IPv6 address straight to
  // Local6: the interface's `in` chain must still see it, as Input6's path does for a second
  // address of ours.
  Rig& rig = Rig::Get();
  Configure6(rig, R"(
address add wan 2001:db8:ff::7/64
fw ruleset add 1 WANIN default drop
fw bind wan in 1
)");
  Receive6(rig, kWan, Echo6("2001:db8:ff::2", "2001:db8:ff::1"));  // the first address
  Receive6(rig, kWan, Echo6("2001:db8:ff::2", "2001:db8:ff::7"));  // the second: Input6
  Poll(rig);
  CHECK(Packets(rig, 1, 0) == 2);
  CHECK(SentCount(rig, kWan) == 0);
}

}  // namespace
}  // namespace portcullis::dp::testing
