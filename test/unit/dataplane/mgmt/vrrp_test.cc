// The main lcore's VRRP service on the pipeline rig's dataplane: a group becomes master, sends
// its advertisement and gratuitous ARP from the virtual MAC, takes the virtual address into
// the tables (ARP answered with the virtual MAC, frames to it received) and gives all of it
// up for a higher priority's advertisement; bad advertisements are counted.
#include "dataplane/mgmt/vrrp.h"

#include <arpa/inet.h>
#include <rte_arp.h>
#include <rte_ip.h>

#include <rte_ethdev.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "dataplane/core/packet_meta.h"
#include "dataplane/mgmt/slow_path.h"
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

std::vector<std::vector<uint8_t>> TakeInjected(Rig& rig) {
  std::vector<std::vector<uint8_t>> out;
  rte_mbuf* m = nullptr;
  while (rte_ring_dequeue(rig.dp().inject_ring, reinterpret_cast<void**>(&m)) == 0) {
    CHECK(Meta(m)->kind == PktKind::kFrameReady);
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    out.emplace_back(p, p + m->data_len);
    rte_pktmbuf_free(m);
  }
  return out;
}

void QueueArpFor(Rig& rig, uint16_t ifx, const char* tip) {
  std::vector<uint8_t> f(14 + sizeof(rte_arp_hdr));
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, kPeerMac, 6);
  f[12] = 0x08;
  f[13] = 0x06;
  auto* a = reinterpret_cast<rte_arp_hdr*>(f.data() + 14);
  a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
  a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
  a->arp_hlen = 6;
  a->arp_plen = 4;
  a->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
  std::memcpy(a->arp_data.arp_sha.addr_bytes, kPeerMac, 6);
  a->arp_data.arp_sip = Ip("192.0.2.9");
  a->arp_data.arp_tip = Ip(tip);
  rte_mbuf* m = test::MakePacket(f);
  m->l2_len = 14;
  *Meta(m) = PacketMeta{ifx, 0, 0, PktKind::kArp, 0, 0, 0};
  REQUIRE(rte_ring_enqueue(rig.dp().slow_ring, m) == 0);
}

// A version-3 advertisement as local delivery hands it over (IP header at data start).
void QueueAdvert(Rig& rig, uint16_t ifx, uint8_t vrid, uint8_t priority, uint8_t ttl,
                 bool bad_checksum = false, const char* src = "192.0.2.9") {
  std::vector<uint8_t> p(20 + 12);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(32);
  ip->time_to_live = ttl;
  ip->next_proto_id = 112;
  ip->src_addr = Ip(src);
  ip->dst_addr = Ip("224.0.0.18");
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  uint8_t* v = p.data() + 20;
  v[0] = 0x31;
  v[1] = vrid;
  v[2] = priority;
  v[3] = 1;
  v[5] = 10;  // 100 ms
  uint32_t vip = Ip("192.0.2.50");
  std::memcpy(v + 8, &vip, 4);
  uint16_t sum = VrrpChecksum(v, 12, 3, ip->src_addr, ip->dst_addr);
  if (bad_checksum) sum ^= 1;
  v[6] = static_cast<uint8_t>(sum >> 8);
  v[7] = static_cast<uint8_t>(sum);
  rte_mbuf* m = test::MakePacket(p);
  m->l3_len = 20;
  *Meta(m) = PacketMeta{ifx, 0, 0, PktKind::kVrrp, 0, 0, 0};
  REQUIRE(rte_ring_enqueue(rig.dp().slow_ring, m) == 0);
}

TEST_CASE("a VRRP group's master takes the address and the virtual MAC, and gives them up",
          "[vrrp]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add wan kind port\naddress add wan 192.0.2.1/24").status.ok());
  const uint16_t wan = IfIndex(rig, "wan");
  api::Message g = api::NewMessage(api::MessageKind::kVrrpGroup, api::Op::kAdd);
  api::VrrpGroupBody& b = g.body.vrrp_group;
  b.ifindex = wan;
  b.vrid = 5;
  b.priority = 200;
  b.version = 3;
  b.preempt = 1;
  b.advert_interval_cs = 10;
  b.naddrs = 1;
  const uint32_t vip = Ip("192.0.2.50");
  std::memcpy(b.addrs[0], &vip, 4);
  api::CommandBatch batch;
  batch.messages = absl::MakeConstSpan(&g, 1);
  REQUIRE(rig.applier().Apply(batch).status.ok());

  const uint16_t wan_port = rig.dp().CurrentTables().ifs[wan].port;
  // Ring ports start promiscuous: off, to see the master turn it on (their filter has no room).
  REQUIRE(rte_eth_promiscuous_disable(wan_port) == 0);
  REQUIRE(rte_eth_promiscuous_get(wan_port) == 0);
  VrrpService vrrp(rig.dp(), nullptr, rig.applier());
  SlowPath slow(rig.dp(), nullptr);
  slow.set_vrrp(&vrrp);
  const uint64_t t0 = 1'000'000'000;
  vrrp.Sync(t0);
  const auto& group = vrrp.groups().at({wan, 5});
  REQUIRE(group.machine.state() == api::VrrpState::kBackup);
  // A backup neither has the address nor answers ARP for it.
  CHECK(rig.dp().CurrentTables().LocalInterface(vip) == 0);
  QueueArpFor(rig, wan, "192.0.2.50");
  slow.Poll(t0);
  CHECK(TakeInjected(rig).empty());

  vrrp.Tick(t0 + group.machine.master_down_ns());
  REQUIRE(group.machine.state() == api::VrrpState::kMaster);
  const Tables& t = rig.dp().CurrentTables();
  CHECK(t.LocalInterface(vip) == wan);
  CHECK(t.PrimaryAddress(wan) == Ip("192.0.2.1"));  // the configured one stays the source
  const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 5};
  uint64_t word = 0;
  std::memcpy(&word, vmac, 6);
  CHECK(t.ifs[wan].VirtualMac(word));
  word ^= uint64_t{1} << 40;  // VRID 4: not ours
  CHECK_FALSE(t.ifs[wan].VirtualMac(word));
  // The port receives the virtual MAC: its MAC filter has it or, where the PMD keeps no room
  // for another (the ring PMD holds one), it is promiscuous.
  auto port_macs = [&] {
    rte_ether_addr list[16];
    const int n = rte_eth_macaddrs_get(rig.dp().CurrentTables().ifs[wan].port, list, 16);
    std::vector<std::vector<uint8_t>> out;
    for (int i = 0; i < n; ++i) out.emplace_back(list[i].addr_bytes, list[i].addr_bytes + 6);
    return out;
  };
  const std::vector<uint8_t> vmac_v(vmac, vmac + 6);
  auto macs = port_macs();
  CHECK((std::find(macs.begin(), macs.end(), vmac_v) != macs.end() ||
         rte_eth_promiscuous_get(wan_port) == 1));
  auto sent = TakeInjected(rig);
  REQUIRE(sent.size() == 2);  // the advertisement and one gratuitous ARP
  const auto& adv = sent[0];
  CHECK(std::memcmp(adv.data() + 6, vmac, 6) == 0);
  const uint8_t group_mac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12};
  CHECK(std::memcmp(adv.data(), group_mac, 6) == 0);
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(adv.data() + 14);
  CHECK(ip->time_to_live == 255);
  CHECK(ip->next_proto_id == 112);
  CHECK(ip->src_addr == Ip("192.0.2.1"));
  CHECK(rte_ipv4_cksum(ip) == 0);  // the header checks out
  CHECK(VrrpChecksum(adv.data() + 34, 12, 3, ip->src_addr, ip->dst_addr) == 0);
  CHECK(adv[34] == 0x31);
  CHECK(adv[36] == 200);
  const auto& garp = sent[1];
  CHECK(std::memcmp(garp.data() + 6, vmac, 6) == 0);
  const auto* a = reinterpret_cast<const rte_arp_hdr*>(garp.data() + 14);
  CHECK(a->arp_data.arp_sip == vip);
  CHECK(a->arp_data.arp_tip == vip);
  // ARP for the virtual address: answered with the virtual MAC.
  QueueArpFor(rig, wan, "192.0.2.50");
  slow.Poll(t0 + group.machine.master_down_ns());
  sent = TakeInjected(rig);
  REQUIRE(sent.size() == 1);
  a = reinterpret_cast<const rte_arp_hdr*>(sent[0].data() + 14);
  CHECK(a->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY));
  CHECK(std::memcmp(a->arp_data.arp_sha.addr_bytes, vmac, 6) == 0);
  CHECK(std::memcmp(sent[0].data() + 6, vmac, 6) == 0);
  // Its own address is still answered with the port's MAC.
  QueueArpFor(rig, wan, "192.0.2.1");
  slow.Poll(t0 + group.machine.master_down_ns());
  sent = TakeInjected(rig);
  REQUIRE(sent.size() == 1);
  CHECK(std::memcmp(sent[0].data() + 6, rig.mac(kWan).addr_bytes, 6) == 0);

  // A frame to the virtual MAC is the interface's (an echo to the virtual address): not
  // another host's.
  std::vector<uint8_t> echo_ip(28, 0);
  {
    auto* e = reinterpret_cast<rte_ipv4_hdr*>(echo_ip.data());
    e->version_ihl = 0x45;
    e->total_length = rte_cpu_to_be_16(28);
    e->time_to_live = 64;
    e->next_proto_id = 1;
    e->src_addr = Ip("192.0.2.9");
    e->dst_addr = vip;
    e->hdr_checksum = rte_ipv4_cksum(e);
    echo_ip[20] = 8;
    echo_ip[22] = 0xf7;
    echo_ip[23] = 0xff;
  }
  const uint64_t other_host = rig.Drops(DropIndex(Drop::kOtherHost));
  rig.ReceiveFrame(kWan, 0, Frame(vmac, kPeerMac, 0x0800, echo_ip));
  for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).PollOnce();
  CHECK(rig.Drops(DropIndex(Drop::kOtherHost)) == other_host);
  slow.Poll(t0 + group.machine.master_down_ns());  // the reply's ARP
  TakeInjected(rig);
  rig.Sent(kWan, 0);

  // Bad advertisements are counted and change nothing.
  const uint64_t t1 = t0 + 2 * group.machine.master_down_ns();
  QueueAdvert(rig, wan, 5, 250, 64);
  QueueAdvert(rig, wan, 5, 250, 255, /*bad_checksum=*/true);
  QueueAdvert(rig, wan, 6, 250, 255);
  slow.Poll(t1);
  CHECK(vrrp.discards().ttl == 1);
  CHECK(vrrp.discards().checksum == 1);
  CHECK(vrrp.discards().unknown_vrid == 1);
  CHECK(group.machine.state() == api::VrrpState::kMaster);
  // A higher priority's advertisement: backup, the address and the virtual MAC gone.
  QueueAdvert(rig, wan, 5, 250, 255);
  slow.Poll(t1);
  CHECK(group.machine.state() == api::VrrpState::kBackup);
  CHECK(group.adverts_in == 1);
  CHECK(rig.dp().CurrentTables().LocalInterface(vip) == 0);
  std::memcpy(&word, vmac, 6);
  CHECK_FALSE(rig.dp().CurrentTables().ifs[wan].VirtualMac(word));
  macs = port_macs();
  CHECK(std::find(macs.begin(), macs.end(), vmac_v) == macs.end());
  // Frames to the virtual MAC are another host's again.
  rig.ReceiveFrame(kWan, 0, Frame(vmac, kPeerMac, 0x0800, echo_ip));
  for (int w = 0; w < Rig::kWorkers; ++w) rig.worker(w).PollOnce();
  CHECK(rig.Drops(DropIndex(Drop::kOtherHost)) == other_host + 1);
  TakeInjected(rig);
  QueueArpFor(rig, wan, "192.0.2.50");
  slow.Poll(t1);
  CHECK(TakeInjected(rig).empty());

  // Master again; then the addresses' owner comes back and advertises from the virtual
  // address itself (its own): that is no looped copy of ours, the group steps down.
  const uint64_t t2 = t1 + 2 * group.machine.master_down_ns();
  vrrp.Tick(t2);
  REQUIRE(group.machine.state() == api::VrrpState::kMaster);
  QueueAdvert(rig, wan, 5, 255, 255, false, "192.0.2.50");
  slow.Poll(t2);
  CHECK(vrrp.discards().own == 0);
  CHECK(group.machine.state() == api::VrrpState::kBackup);
  CHECK(group.machine.master_priority() == 255);
  // A copy of our own (from the port's configured address) is discarded as such.
  QueueAdvert(rig, wan, 5, 250, 255, false, "192.0.2.1");
  slow.Poll(t2);
  CHECK(vrrp.discards().own == 1);
  REQUIRE(rte_eth_promiscuous_enable(wan_port) == 0);
  rig.Reset();
}

}  // namespace
}  // namespace portcullis::dp::testing

namespace portcullis::dp::testing {
namespace {

api::Message Group(uint16_t ifx, uint8_t vrid, std::vector<const char*> addrs) {
  api::Message g = api::NewMessage(api::MessageKind::kVrrpGroup, api::Op::kAdd);
  api::VrrpGroupBody& b = g.body.vrrp_group;
  b.ifindex = ifx;
  b.vrid = vrid;
  b.priority = 100;
  b.version = 2;
  b.advert_interval_cs = 100;
  for (const char* a : addrs) {
    const uint32_t v = Ip(a);
    std::memcpy(b.addrs[b.naddrs++], &v, 4);
  }
  return g;
}

TEST_CASE("a VRRP group on a VLAN vif advertises tagged and takes the address there", "[vrrp]") {
  // Vyatta's `interfaces dataplane X vif N vrrp`: the group's frames carry the vif's 802.1Q
  // tag, and the virtual address becomes the vif's, not the port's.
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add wan kind port\naddress add wan 198.51.100.1/24\n"
                    "interface add wan.7 kind vif parent wan vlan 7\n"
                    "address add wan.7 192.0.2.1/24")
              .status.ok());
  const uint16_t vif = IfIndex(rig, "wan.7");
  api::Message g = api::NewMessage(api::MessageKind::kVrrpGroup, api::Op::kAdd);
  api::VrrpGroupBody& b = g.body.vrrp_group;
  b.ifindex = vif;
  b.vrid = 9;
  b.priority = 150;
  b.version = 3;
  b.preempt = 1;
  b.advert_interval_cs = 10;
  b.naddrs = 1;
  const uint32_t vip = Ip("192.0.2.50");
  std::memcpy(b.addrs[0], &vip, 4);
  api::CommandBatch batch;
  batch.messages = absl::MakeConstSpan(&g, 1);
  REQUIRE(rig.applier().Apply(batch).status.ok());
  TakeInjected(rig);  // what earlier cases left
  VrrpService vrrp(rig.dp(), nullptr, rig.applier());
  const uint64_t t0 = 1'000'000'000;
  vrrp.Sync(t0);
  const auto& group = vrrp.groups().at({vif, 9});
  vrrp.Tick(t0 + group.machine.master_down_ns());
  REQUIRE(group.machine.state() == api::VrrpState::kMaster);
  CHECK(rig.dp().CurrentTables().LocalInterface(vip) == vif);
  auto sent = TakeInjected(rig);
  REQUIRE(sent.size() == 2);  // the advertisement and one gratuitous ARP
  for (const auto& f : sent) {
    const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 9};
    CHECK(std::memcmp(f.data() + 6, vmac, 6) == 0);
    REQUIRE(f.size() > 18);
    CHECK((f[12] << 8 | f[13]) == 0x8100);  // tagged with the vif's VLAN
    CHECK(((f[14] << 8 | f[15]) & 0x0fff) == 7);
  }
  CHECK((sent[0][16] << 8 | sent[0][17]) == 0x0800);
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(sent[0].data() + 18);
  CHECK(ip->src_addr == Ip("192.0.2.1"));  // the vif's address, not the port's
  CHECK(ip->next_proto_id == 112);
}

TEST_CASE("VRRP groups beyond what an interface's table holds are refused", "[vrrp]") {
  Rig& rig = Rig::Get();
  rig.Reset();
  REQUIRE(rig.Apply("interface add wan kind port\naddress add wan 192.0.2.1/24").status.ok());
  const uint16_t wan = IfIndex(rig, "wan");
  std::vector<api::Message> four;
  for (uint8_t v = 1; v <= 4; ++v) four.push_back(Group(wan, v, {"192.0.2.100"}));
  for (uint8_t v = 1; v <= 4; ++v) four[v - 1].body.vrrp_group.addrs[0][3] = v;
  api::CommandBatch batch;
  batch.messages = four;
  REQUIRE(rig.applier().Apply(batch).status.ok());
  // A fifth group: no room for its virtual MAC.
  api::Message fifth = Group(wan, 5, {"192.0.2.105"});
  batch.messages = absl::MakeConstSpan(&fifth, 1);
  auto r = rig.applier().Apply(batch);
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(r.status.message()), Catch::Contains("more than 4 VRRP groups"));
  // 1 own + 3 + 5 virtual addresses: more than the interface's 8 (1 + 3 + 4 fit).
  api::Message fits = Group(wan, 4, {"192.0.2.110", "192.0.2.111", "192.0.2.112", "192.0.2.113"});
  fits.header.op = api::Op::kUpdate;
  batch.messages = absl::MakeConstSpan(&fits, 1);
  REQUIRE(rig.applier().Apply(batch).status.ok());
  api::Message wide =
      Group(wan, 4, {"192.0.2.110", "192.0.2.111", "192.0.2.112", "192.0.2.113", "192.0.2.114"});
  wide.header.op = api::Op::kUpdate;
  batch.messages = absl::MakeConstSpan(&wide, 1);
  r = rig.applier().Apply(batch);
  CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
  rig.Reset();
}

}  // namespace
}  // namespace portcullis::dp::testing
