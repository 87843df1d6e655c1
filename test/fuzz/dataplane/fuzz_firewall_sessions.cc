// libFuzzer target: the firewall's session table and state tracking, through a worker. Packets
// between three LAN hosts and three remote hosts, both ways, are built from the input (TCP with
// fuzzed flags and ports, UDP, ICMP queries and errors quoting an earlier packet, other
// protocols, later fragments; IPv4 and IPv6 alike: ICMPv6 echo and errors, IPv6 fragment
// headers) and sent in bursts through a worker whose LAN has a stateful
// ruleset on `in` and whose WAN drops on `in` what no session lets through. Every few bursts
// the input moves the clock past some timeouts (the main lcore's expiry with a later "now").
//
// Invariants besides the sanitizers: every mbuf comes back to the pool; the session counts of
// both tables (IPv4's and IPv6's) add up after every packet (active = created - expired, never
// past the table); after expiring everything no session is left, and a reply from the WAN is
// then dropped, over IPv4 and over IPv6 (WANIN lets nothing through but sessions).
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "dataplane/dpctl/command_parser.h"
#include "dataplane/mgmt/command_applier.h"
#include "dataplane/pipeline/worker.h"
#include "dataplane/runtime/dataplane.h"
#include "drivers/ethdev/eal_runtime.h"
#include "drivers/ethdev/port_setup.h"
#include "test/fuzz/dataplane/fuzz_eal.h"

using namespace portcullis::dp;

namespace {

const char* kConfig = R"(interface add lan kind port
interface add wan kind port
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
route add 0.0.0.0/0 via 192.0.2.2
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add lan 10.1.0.3 02:00:00:00:01:0b
neigh add lan 10.1.0.4 02:00:00:00:01:0c
neigh add wan 192.0.2.2 02:00:00:00:02:02
address add lan 2001:db8:1::1/64
address add wan 2001:db8:ff::1/64
route add ::/0 via 2001:db8:ff::2
neigh add lan 2001:db8:1::2 02:00:00:00:01:0a
neigh add lan 2001:db8:1::3 02:00:00:00:01:0b
neigh add lan 2001:db8:1::4 02:00:00:00:01:0c
neigh add wan 2001:db8:ff::2 02:00:00:00:02:02
fw ruleset add 1 LANIN default accept
fw rule add 1 10 action accept proto tcp state new
fw rule add 1 10 entry 1 action accept proto tcp state new family 6
fw rule add 1 20 action drop proto tcp
fw rule add 1 20 entry 1 action drop proto tcp family 6
fw ruleset add 2 WANIN default drop
fw global state udp,icmp udp 5 icmp 5 tcp-transitory 5 tcp-established 20 other 5
fw bind lan in 1
fw bind wan in 2)";

Dataplane* dp;
Worker* worker;
uint16_t lan_port, wan_port;
rte_ether_addr lan_mac, wan_mac;

struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

std::vector<uint8_t> Ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t frag,
                          const std::vector<uint8_t>& l4) {
  std::vector<uint8_t> p(20 + l4.size());
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->fragment_offset = rte_cpu_to_be_16(frag);
  ip->time_to_live = 64;
  ip->next_proto_id = proto;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  if (!l4.empty()) std::memcpy(p.data() + 20, l4.data(), l4.size());
  return p;
}

std::vector<uint8_t> Ipv6(uint8_t src_low, bool src_lan, uint8_t dst_low, bool dst_lan, uint8_t nh,
                          const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> p(40 + payload.size());
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p.data());
  ip->vtc_flow = RTE_BE32(0x60000000);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(payload.size()));
  ip->proto = nh;
  ip->hop_limits = 64;
  const uint8_t lan[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
  const uint8_t remote[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 5};
  std::memcpy(ip->src_addr, src_lan ? lan : remote, 16);
  std::memcpy(ip->dst_addr, dst_lan ? lan : remote, 16);
  ip->src_addr[15] = src_low;
  ip->dst_addr[15] = dst_low;
  if (!payload.empty()) std::memcpy(p.data() + 40, payload.data(), payload.size());
  return p;
}

// An IPv6 packet of the same kinds as IPv4's.
std::vector<uint8_t> Packet6(Input& in, const std::vector<std::vector<uint8_t>>& earlier,
                             bool from_wan, uint8_t a, uint8_t b) {
  const uint8_t lan = 2 + (a >> 1) % 3, remote = 5 + (a >> 3) % 3;
  const uint8_t src = from_wan ? remote : lan, dst = from_wan ? lan : remote;
  const uint16_t sport = 1000 + (b & 3), dport = 80 + ((b >> 2) & 1);
  const uint16_t ps = from_wan ? dport : sport, pd = from_wan ? sport : dport;
  auto ip6 = [&](uint8_t nh, const std::vector<uint8_t>& l4) {
    return Ipv6(src, !from_wan, dst, from_wan, nh, l4);
  };
  switch ((b >> 3) % 6) {
    case 0: {
      std::vector<uint8_t> t(20, 0);
      t[0] = ps >> 8, t[1] = ps & 0xff, t[2] = pd >> 8, t[3] = pd & 0xff;
      t[12] = 5 << 4;
      t[13] = in.Byte();
      return ip6(6, t);
    }
    case 1:
      return ip6(17, {static_cast<uint8_t>(ps >> 8), static_cast<uint8_t>(ps),
                      static_cast<uint8_t>(pd >> 8), static_cast<uint8_t>(pd), 0, 8, 0, 0});
    case 2: {  // echo request or reply
      const uint8_t type = in.Byte() & 1 ? 128 : 129;
      return ip6(58, {type, 0, 0, 0, 0, static_cast<uint8_t>(in.Byte() % 3), 0, 1});
    }
    case 3: {  // an ICMPv6 error quoting an earlier packet (either family), maybe truncated
      std::vector<uint8_t> e = {static_cast<uint8_t>(in.Byte() & 1 ? 1 : 3), 4, 0, 0, 0, 0, 0, 0};
      if (!earlier.empty()) {
        const auto& q = earlier[in.Byte() % earlier.size()];
        const size_t take = std::min<size_t>(q.size(), in.Byte() % 64);
        e.insert(e.end(), q.begin(), q.begin() + take);
      }
      return ip6(58, e);
    }
    case 4: {  // a fragment header: a first or a later fragment of UDP
      const uint16_t off = static_cast<uint16_t>((in.Byte() % 4) << 3);
      std::vector<uint8_t> f = {
          17, 0, static_cast<uint8_t>(off >> 8), static_cast<uint8_t>(off | 1), 0, 0, 0, 9};
      const std::vector<uint8_t> udp = {static_cast<uint8_t>(ps >> 8),
                                        static_cast<uint8_t>(ps),
                                        static_cast<uint8_t>(pd >> 8),
                                        static_cast<uint8_t>(pd),
                                        0,
                                        8,
                                        0,
                                        0};
      f.insert(f.end(), udp.begin(), udp.end());
      return ip6(44, f);
    }
    default:
      return ip6(47, {0, 0, 0x86, 0xdd});
  }
}

// One packet; *from_wan says which side sends it.
std::vector<uint8_t> Packet(Input& in, const std::vector<std::vector<uint8_t>>& earlier,
                            bool* from_wan) {
  const uint8_t a = in.Byte(), b = in.Byte();
  if (b & 0x80) {
    *from_wan = a & 1;
    return Packet6(in, earlier, *from_wan, a, b);
  }
  *from_wan = a & 1;
  const uint32_t lan = 0x0a010002 + (a >> 1) % 3, remote = 0xc6336400 + (a >> 3) % 3;
  const uint32_t src = *from_wan ? remote : lan, dst = *from_wan ? lan : remote;
  const uint16_t sport = 1000 + (b & 3), dport = 80 + ((b >> 2) & 1);
  const uint16_t ps = *from_wan ? dport : sport, pd = *from_wan ? sport : dport;
  switch ((b >> 3) % 6) {
    case 0: {  // TCP with fuzzed flags
      std::vector<uint8_t> t(20, 0);
      t[0] = ps >> 8, t[1] = ps & 0xff, t[2] = pd >> 8, t[3] = pd & 0xff;
      t[12] = 5 << 4;
      t[13] = in.Byte();
      return Ipv4(src, dst, 6, 0, t);
    }
    case 1:
      return Ipv4(src, dst, 17, 0,
                  {static_cast<uint8_t>(ps >> 8), static_cast<uint8_t>(ps),
                   static_cast<uint8_t>(pd >> 8), static_cast<uint8_t>(pd), 0, 8, 0, 0});
    case 2: {  // ICMP query or reply, identifier from the input
      const uint8_t type = in.Byte() & 1 ? 8 : 0;
      return Ipv4(src, dst, 1, 0, {type, 0, 0, 0, 0, static_cast<uint8_t>(in.Byte() % 3), 0, 1});
    }
    case 3: {  // an ICMP error quoting an earlier packet (or a truncated quote)
      std::vector<uint8_t> e = {static_cast<uint8_t>(in.Byte() & 1 ? 3 : 11), 3, 0, 0, 0, 0, 0, 0};
      if (!earlier.empty()) {
        const auto& q = earlier[in.Byte() % earlier.size()];
        const size_t take = std::min<size_t>(q.size(), in.Byte() % 40);
        e.insert(e.end(), q.begin(), q.begin() + take);
      }
      return Ipv4(src, dst, 1, 0, e);
    }
    case 4:  // a later fragment
      return Ipv4(src, dst, 17, static_cast<uint16_t>(1 + in.Byte()), {1, 2, 3, 4, 5, 6, 7, 8});
    default:
      return Ipv4(src, dst, 47, 0, {0, 0, 8, 0});
  }
}

rte_mbuf* Mbuf(const std::vector<uint8_t>& ip, bool from_wan) {
  rte_mbuf* m = rte_pktmbuf_alloc(dp->pool);
  if (m == nullptr) std::abort();  // the previous input leaked
  auto* f =
      reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(14 + ip.size())));
  std::memcpy(f, (from_wan ? wan_mac : lan_mac).addr_bytes, 6);
  const uint8_t src[6] = {2, 0, 0, 0, 2, 2};
  std::memcpy(f + 6, src, 6);
  const bool v6 = !ip.empty() && (ip[0] >> 4) == 6;
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0;
  std::memcpy(f + 14, ip.data(), ip.size());
  return m;
}

// What a port has sent so far (net_null counts and frees).
uint64_t Sent(uint16_t port) {
  rte_eth_stats s{};
  rte_eth_stats_get(port, &s);
  return s.opackets;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  portcullis::fuzz::InitFuzzEal("fzs", 256,
                                {"--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1"});
  DataplaneParams params;
  params.name = "fzs";
  params.workers = 1;
  params.mbufs = 2047;
  params.fw_sessions = 64;  // small: the fuzzer fills it
  auto d = CreateDataplane(params);
  if (!d.ok()) std::abort();
  dp = d->release();
  const char* names[2] = {"lan", "wan"};
  for (int i = 0; i < 2; ++i) {
    auto st = portcullis::drivers::ethdev::StartPort(
        {names[i], std::string("net_null") + std::to_string(i)}, 1, dp->pool);
    if (!st.ok()) std::abort();
    PortInfo& pi = dp->ports[st->port_id];
    pi.present = true;
    pi.name = names[i];
    pi.device = "net_null" + std::to_string(i);
    pi.nrxq = pi.ntxq = 1;
    pi.mac = st->mac;
    (i == 0 ? lan_port : wan_port) = st->port_id;
  }
  lan_mac = dp->ports[lan_port].mac;
  wan_mac = dp->ports[wan_port].mac;
  static CommandApplier applier(*dp);
  dpctl::InterfaceDirectory dir;
  std::vector<api::Message> msgs;
  for (absl::string_view line : absl::StrSplit(kConfig, '\n')) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (!dpctl::ParseCommand(words, dir, msgs).ok()) std::abort();
  }
  if (!applier.Apply(api::CommandBatch{1, 1, msgs}).status.ok()) std::abort();
  worker = new Worker(*dp, 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 8192) return 0;
  Input in{data, size};
  FwSessionTable& sessions = *dp->sessions;
  FwSessionTable& sessions6 = *dp->sessions6;
  const uint64_t hz = rte_get_tsc_hz();
  uint64_t clock = rte_rdtsc();
  std::vector<std::vector<uint8_t>> earlier;
  while (in.n > 0) {
    const uint8_t what = in.Byte();
    if (what % 8 == 7) {
      clock += (what >> 3) * hz;  // up to 31 s later
      sessions.Expire(clock, sessions.slots());
      sessions6.Expire(clock, sessions6.slots());
      continue;
    }
    // One packet at a time, so each WAN packet's fate can be told from the counters.
    bool from_wan = false;
    auto ip = Packet(in, earlier, &from_wan);
    earlier.push_back(ip);
    if (earlier.size() > 16) earlier.erase(earlier.begin());
    rte_mbuf* m = Mbuf(ip, from_wan);
    worker->FromWire(&m, 1, from_wan ? wan_port : lan_port);
    worker->FlushTx();
    // The counters against the table itself: the keys in the hash and the live flags.
    for (FwSessionTable* t : {&sessions, &sessions6})
      if (t->active() > t->capacity() + 64 || t->HashKeys() != t->active() ||
          t->LiveFlags() != t->active())
        std::abort();
  }
  // Everything expires; then nothing from the WAN passes.
  for (FwSessionTable* t : {&sessions, &sessions6}) {
    t->Expire(clock + 100 * hz, t->slots());
    if (t->active() != 0) {
      std::fprintf(stderr, "%llu sessions left after expiry\n",
                   static_cast<unsigned long long>(t->active()));
      std::abort();
    }
  }
  const uint64_t lan_before = Sent(lan_port);
  std::vector<uint8_t> udp = Ipv4(0xc6336400, 0x0a010002, 17, 0, {0, 80, 3, 0xe8, 0, 8, 0, 0});
  rte_mbuf* m = Mbuf(udp, true);
  worker->FromWire(&m, 1, wan_port);
  worker->FlushTx();
  std::vector<uint8_t> udp6 = Ipv6(5, false, 2, true, 17, {0, 80, 3, 0xe8, 0, 8, 0, 0});
  m = Mbuf(udp6, true);
  worker->FromWire(&m, 1, wan_port);
  worker->FlushTx();
  if (Sent(lan_port) != lan_before) {
    std::fprintf(stderr, "a WAN packet passed with no session\n");
    std::abort();
  }
  if (rte_mempool_in_use_count(dp->pool) != 0) {
    std::fprintf(stderr, "%u mbufs not returned\n", rte_mempool_in_use_count(dp->pool));
    std::abort();
  }
  return 0;
}
