// libFuzzer target: frames into a worker's pipeline on a small dataplane instance (--no-huge,
// two net_null ports, one worker polled by the target): FromWire's L2 and IPv4 checks, Local's
// classification (ESP, IKE, NAT keepalives, ICMP echo), inbound ESP, and whatever follows
// (routing, ICMP errors, ARP through the main lcore's slow path).
//
// Frame bytes live in heap buffers of exactly their size after a fixed headroom, attached as
// external buffers, so AddressSanitizer catches any read past a frame. The first byte picks:
//   0: frames as given ([len16][bytes]..., up to a burst);
//   1: IPv4 to one of our addresses, header fields from the input, lengths and checksum right;
//   2: ESP to us (SPI 0x2001, NULL cipher, HMAC-SHA256-128) around a fuzzed plaintext with a
//      valid ICV, so that the trailer checks, the inner packet and its routing are reached;
//   3: a burst mixing the others;
//   4: IPv6 from the peer, the next header mostly one the pipeline knows (extension headers,
//      ICMPv6 with ND types, UDP 500/4500, ESP), the destination ours, routed, unrouted or
//      multicast, the payload length right: the extension-header walk, ICMPv6 errors and
//      echo, neighbour discovery on the slow path, IPv6 ESP and forwarding.
// Besides the sanitizers: every mbuf comes back to the pool once the rings are drained (nothing
// leaks, nothing is lost without being freed).
#include <openssl/hmac.h>
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
#include "dataplane/mgmt/slow_path.h"
#include "dataplane/pipeline/worker.h"
#include "dataplane/runtime/dataplane.h"
#include "drivers/ethdev/eal_runtime.h"
#include "drivers/ethdev/port_setup.h"
#include "test/fuzz/dataplane/fuzz_eal.h"

using namespace portcullis::dp;

namespace {

constexpr uint16_t kHeadroom = RTE_PKTMBUF_HEADROOM;
const uint8_t kAuthKey[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                              1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

const char* kConfig = R"(interface add lan kind port
interface add wan kind port
interface add vti0 kind vti
address add lan 10.1.0.1/24
address add wan 192.0.2.1/24
address add vti0 172.16.0.1/30
route add 10.2.0.0/24 dev vti0
route add 0.0.0.0/0 via 192.0.2.254
neigh add lan 10.1.0.2 02:00:00:00:01:0a
neigh add wan 192.0.2.2 02:00:00:00:02:02
sa add spi 0x1001 dir out local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key 00112233445566778899aabbccddeeff salt 01020304 vti vti0
sa add spi 0x2001 dir in local 192.0.2.1 remote 192.0.2.2 cipher null auth hmac-sha256-128 authkey 0102030405060708090a0b0c0d0e0f100102030405060708090a0b0c0d0e0f10 window 0 vti vti0
sa add spi 0x2002 dir in local 192.0.2.1 remote 192.0.2.2 cipher aes-gcm-128 key ffeeddccbbaa99887766554433221100 salt 05060708 encap 4500 4500 vti vti0
bind vti0 0x1001
address add wan 2001:db8:ff::1/64
address add lan 2001:db8:1::1/64
route add 2001:db8:2::/64 dev vti0
route add ::/0 via 2001:db8:ff::fe
neigh add wan 2001:db8:ff::2 02:00:00:00:02:02
sa add spi 0x3002 dir in local 2001:db8:ff::1 remote 2001:db8:ff::2 cipher null auth hmac-sha256-128 authkey 0102030405060708090a0b0c0d0e0f100102030405060708090a0b0c0d0e0f10 window 0 vti vti0)";

Dataplane* dp;
Worker* worker;
SlowPath* slow;
uint16_t wan_port, lan_port;
rte_ether_addr wan_mac;

void NoFree(void*, void*) {}

struct ExtBuf {
  uint8_t* buf;
  rte_mbuf_ext_shared_info shinfo;
};

rte_mbuf* Attach(const std::vector<uint8_t>& frame, std::vector<ExtBuf*>& bufs) {
  rte_mbuf* m = rte_pktmbuf_alloc(dp->pool);
  if (m == nullptr) std::abort();  // the previous input leaked
  auto* b = new ExtBuf;
  const size_t len = frame.size();
  b->buf = static_cast<uint8_t*>(std::malloc(kHeadroom + len));
  if (len != 0) std::memcpy(b->buf + kHeadroom, frame.data(), len);  // empty: data() may be null
  b->shinfo.free_cb = NoFree;
  b->shinfo.fcb_opaque = nullptr;
  rte_mbuf_ext_refcnt_set(&b->shinfo, 1);
  bufs.push_back(b);
  rte_pktmbuf_attach_extbuf(m, b->buf, 0, static_cast<uint16_t>(kHeadroom + len), &b->shinfo);
  m->data_off = kHeadroom;
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = static_cast<uint32_t>(len);
  m->port = wan_port;
  return m;
}

std::vector<uint8_t> Ether(const std::vector<uint8_t>& ip, bool v6 = false) {
  std::vector<uint8_t> f(14 + ip.size());
  std::memcpy(f.data(), wan_mac.addr_bytes, 6);
  if (v6 && ip.size() >= 40 && ip[24] == 0xff) {
    // To a group: its multicast MAC (RFC 2464 §7), as ND's solicited-node group arrives.
    const uint8_t mc[6] = {0x33, 0x33, ip[36], ip[37], ip[38], ip[39]};
    std::memcpy(f.data(), mc, 6);
  }
  const uint8_t src[6] = {2, 0, 0, 0, 2, 2};
  std::memcpy(f.data() + 6, src, 6);
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  std::memcpy(f.data() + 14, ip.data(), ip.size());
  return f;
}

// IPv4 to 192.0.2.1 with the given protocol, source and fragment field (host order), TTL and
// payload; lengths and checksum right.
std::vector<uint8_t> Ipv4(uint8_t proto, uint32_t src, uint16_t frag, uint8_t ttl,
                          const uint8_t* payload, size_t n) {
  std::vector<uint8_t> p(20 + n);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->fragment_offset = rte_cpu_to_be_16(frag);
  ip->time_to_live = ttl;
  ip->next_proto_id = proto;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(0xc0000201);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  std::memcpy(p.data() + 20, payload, n);
  return p;
}

// ESP for SA 0x2001 around `plaintext` (which should end in its own padding and trailer).
std::vector<uint8_t> Esp(uint32_t seq, const uint8_t* plaintext, size_t n) {
  std::vector<uint8_t> esp(8 + n + 16);
  const uint8_t spi[4] = {0, 0, 0x20, 0x01};
  std::memcpy(esp.data(), spi, 4);
  esp[4] = static_cast<uint8_t>(seq >> 24), esp[5] = static_cast<uint8_t>(seq >> 16);
  esp[6] = static_cast<uint8_t>(seq >> 8), esp[7] = static_cast<uint8_t>(seq);
  std::memcpy(esp.data() + 8, plaintext, n);
  unsigned int mac_len = 0;
  uint8_t mac[EVP_MAX_MD_SIZE];
  HMAC(EVP_sha256(), kAuthKey, 32, esp.data(), 8 + n, mac, &mac_len);
  std::memcpy(esp.data() + 8 + n, mac, 16);
  return Ipv4(50, 0xc0000202, 0, 64, esp.data(), esp.size());
}

struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t U16() { return static_cast<uint16_t>(Byte() << 8 | Byte()); }
  uint32_t U32() { return uint32_t{U16()} << 16 | U16(); }
  size_t Take(size_t want, const uint8_t** out) {
    size_t k = want < n ? want : n;
    *out = p;
    p += k;
    n -= k;
    return k;
  }
};

// IPv6 from 2001:db8:ff::2 (or a fuzzed source) to a destination picked by the input.
std::vector<uint8_t> Ipv6(Input& in) {
  static const uint8_t kDsts[5][16] = {
      {0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},  // ours (wan)
      {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9},     // into vti0
      {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7},     // on-link, unknown
      {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1},        // solicited-node
      {0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},              // the default route
  };
  static const uint8_t kPeer[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const uint8_t pick = in.Byte();
  const uint8_t nh = in.Byte();
  const uint8_t known[8] = {0, 43, 44, 60, 58, 17, 50, nh};
  const uint8_t hlim = in.Byte();
  const uint8_t* body;
  size_t k = in.Take(in.U16() % 1600, &body);
  std::vector<uint8_t> p(40 + k);
  p[0] = 0x60;
  p[4] = static_cast<uint8_t>(k >> 8);
  p[5] = static_cast<uint8_t>(k);
  p[6] = known[nh % 8];
  p[7] = hlim;
  std::memcpy(p.data() + 8, kPeer, 16);
  if (pick & 0x80) p[23] = in.Byte();  // another source on the link
  std::memcpy(p.data() + 24, kDsts[pick % 5], 16);
  if (k != 0) std::memcpy(p.data() + 40, body, k);
  if (p[6] == 58 && k >= 4) {
    // ICMPv6 (ND among it) with the checksum right half the time, so its checks are passed.
    p[40] = static_cast<uint8_t>(128 + p[40] % 10);
    if (pick & 0x40) {
      p[42] = p[43] = 0;
      const uint16_t c =
          rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(p.data()), p.data() + 40);
      std::memcpy(p.data() + 42, &c, 2);
    }
  }
  return Ether(p, true);
}

std::vector<uint8_t> OneFrame(int mode, Input& in) {
  const uint8_t* body;
  if (mode == 4) return Ipv6(in);
  if (mode == 0) {
    size_t len = in.U16() % 2048;
    size_t k = in.Take(len, &body);
    return std::vector<uint8_t>(body, body + k);
  }
  if (mode == 1) {
    uint8_t proto = in.Byte();
    // Mostly what Local knows (ESP, UDP, ICMP); a byte that is 3 mod 4 is the protocol itself.
    const uint8_t known[4] = {50, 17, 1, proto};
    proto = known[proto % 4];
    uint32_t src = in.U32();
    uint16_t frag = in.Byte() < 32 ? in.U16() : 0;
    uint8_t ttl = in.Byte();
    size_t k = in.Take(in.U16() % 1600, &body);
    return Ether(Ipv4(proto, src, frag, ttl, body, k));
  }
  uint32_t seq = in.U32();
  size_t k = in.Take(in.U16() % 1600, &body);
  return Ether(Esp(seq, body, k));
}

void Drain() {
  // IPv6 fragments held for reassembly point into this input's buffers: let go, as if their
  // time were up (time exceeded for a first fragment, routed below like any error).
  worker->ExpireFragments6(UINT64_MAX);
  worker->FlushTx();
  for (int round = 0; round < 64; ++round) {
    unsigned work = slow->Poll(0);
    worker->PollOnce();  // sends what the slow path gave it
    if (work == 0 && rte_ring_count(dp->inject_ring) == 0) break;
  }
  // Packets waiting for ARP or ND are freed with their (dynamic) neighbours.
  for (NeighborTable* t : {dp->neighbors.get(), dp->neighbors6.get()}) {
    std::vector<NeighborEntry*> learned;
    t->ForEach([&](NeighborEntry& e) {
      if (e.state != NeighborState::kStatic) learned.push_back(&e);
    });
    for (NeighborEntry* e : learned) t->Remove(e);
    t->Reclaim();
  }
  worker->FlushTx();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  portcullis::fuzz::InitFuzzEal("fzp", 256,
                                {"--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1"});
  DataplaneParams params;
  params.name = "fzp";
  params.workers = 1;
  params.mbufs = 2047;
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
  slow = new SlowPath(*dp, nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 16384) return 0;
  Input in{data + 1, size - 1};
  const int mode = data[0] % 5;
  std::vector<ExtBuf*> bufs;
  rte_mbuf* pkts[kBurst];
  uint16_t n = 0;
  while (in.n > 0 && n < kBurst) {
    static const int kMixed[4] = {0, 1, 2, 4};
    pkts[n] = Attach(OneFrame(mode != 3 ? mode : kMixed[in.Byte() % 4], in), bufs);
    ++n;
    if (mode != 0 && mode != 3) break;  // one well-formed frame per input
  }
  if (n == 0) return 0;
  worker->FromWire(pkts, n, wan_port);
  Drain();
  // Every mbuf is back: none leaked, none still waits anywhere.
  if (rte_mempool_in_use_count(dp->pool) != 0) {
    std::fprintf(stderr, "%u mbufs not returned\n", rte_mempool_in_use_count(dp->pool));
    std::abort();
  }
  for (ExtBuf* b : bufs) {
    std::free(b->buf);
    delete b;
  }
  return 0;
}
