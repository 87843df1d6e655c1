#include "test/unit/dataplane/pipeline/pipeline_rig.h"

#include <rte_eth_ring.h>
#include <rte_ip.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "drivers/ethdev/port_setup.h"
#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp::testing {

namespace {

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "pipeline rig: %s\n", what.c_str());
  std::abort();
}

}  // namespace

Rig& Rig::Get() {
  static Rig* rig = new Rig();
  return *rig;
}

Rig::Rig() {
  test::EnsureEal();
  DataplaneParams params;
  params.name = "rig";
  params.workers = kWorkers;
  params.mbufs = 8191;
  auto dp = CreateDataplane(params);
  if (!dp.ok()) Fatal(std::string(dp.status().message()));
  dp_ = std::move(*dp);
  const char* names[2] = {"lan", "wan"};
  for (int p = 0; p < 2; ++p) {
    for (int q = 0; q < kWorkers; ++q) {
      std::string rx = std::string("rig_rx_") + names[p] + std::to_string(q);
      std::string tx = std::string("rig_tx_") + names[p] + std::to_string(q);
      rx_[p][q] = rte_ring_create(rx.c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx_[p][q] = rte_ring_create(tx.c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!rx_[p][q] || !tx_[p][q]) Fatal("rings");
    }
    // The ring PMD names the device "net_ring_" + the name given.
    std::string dev = std::string("net_ring_rig_") + names[p];
    if (rte_eth_from_rings(dev.c_str() + 9, rx_[p], kWorkers, tx_[p], kWorkers, SOCKET_ID_ANY) < 0)
      Fatal("rte_eth_from_rings");
    // The same port start-up as vpn-dataplane's.
    auto st = drivers::ethdev::StartPort({names[p], dev}, kWorkers, dp_->pool);
    if (!st.ok()) Fatal(std::string(st.status().message()));
    port_ids_[p] = st->port_id;
    PortInfo& pi = dp_->ports[st->port_id];
    pi.present = true;
    pi.name = names[p];
    pi.device = dev;
    pi.nrxq = pi.ntxq = kWorkers;
    pi.mac = st->mac;
    // Ring ports start with a zero MAC; give each a distinct locally administered one.
    if (rte_is_zero_ether_addr(&pi.mac)) {
      const uint8_t a[6] = {0x02, 0x52, 0x49, 0x47, 0, static_cast<uint8_t>(p)};
      std::memcpy(pi.mac.addr_bytes, a, 6);
    }
  }
  applier_ = std::make_unique<CommandApplier>(*dp_);
  for (int w = 0; w < kWorkers; ++w)
    workers_.push_back(std::make_unique<Worker>(*dp_, static_cast<uint16_t>(w)));
}

dp::api::ApplyResult Rig::Apply(const std::string& text) {
  std::vector<dp::api::Message> msgs;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (absl::Status s = dp::dpctl::ParseCommand(words, dir_, msgs); !s.ok())
      return {s, static_cast<uint32_t>(msgs.size())};
  }
  dp::api::CommandBatch batch;
  batch.messages = msgs;
  return applier_->Apply(batch);
}

void Rig::Reset() {
  auto r = Apply("flush all");
  if (!r.status.ok()) Fatal(std::string(r.status.message()));
  dir_ = dp::dpctl::InterfaceDirectory();
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < kWorkers; ++q) (void)Sent(static_cast<PortIndex>(p), q);
  rte_mbuf* m;
  for (rte_ring* r : {dp_->slow_ring, dp_->ike_ring, dp_->ike_init_ring, dp_->ike_cookie_ring})
    while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
}

void Rig::ReceiveFrame(PortIndex port, int queue, const std::vector<uint8_t>& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(dp_->pool);
  if (m == nullptr) Fatal("pool empty");
  char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  std::memcpy(d, frame.data(), frame.size());
  ReceiveMbuf(port, queue, m);
}

void Rig::ReceiveMbuf(PortIndex port, int queue, rte_mbuf* m) {
  m->port = port_ids_[port];
  if (rte_ring_enqueue(rx_[port][queue], m) != 0) Fatal("rx ring full");
}

void Rig::Receive(PortIndex port, int queue, const std::vector<uint8_t>& ip, uint16_t ethertype) {
  const uint8_t* src = port == kLan ? kHostMac : kPeerMac;
  ReceiveFrame(port, queue, Frame(mac(port).addr_bytes, src, ethertype, ip));
}

std::vector<std::vector<uint8_t>> Rig::Sent(PortIndex port, int queue) {
  std::vector<std::vector<uint8_t>> out;
  rte_mbuf* m;
  while (rte_ring_dequeue(tx_[port][queue], reinterpret_cast<void**>(&m)) == 0) {
    out.push_back(test::PacketBytes(m));
    rte_pktmbuf_free(m);
  }
  return out;
}

uint64_t Rig::Drops(int reason) const {
  uint64_t n = 0;
  for (int w = 0; w < kWorkers; ++w) n += dp_->stats[w]->drops[reason];
  return n;
}

std::vector<uint8_t> Frame(const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype,
                           const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> f(14 + payload.size());
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = static_cast<uint8_t>(ethertype >> 8);
  f[13] = static_cast<uint8_t>(ethertype);
  std::memcpy(f.data() + 14, payload.data(), payload.size());
  return f;
}

std::vector<uint8_t> StripEthernet(const std::vector<uint8_t>& frame) {
  return std::vector<uint8_t>(frame.begin() + 14, frame.end());
}

std::vector<uint8_t> Forwarded(std::vector<uint8_t> ip) {
  auto* h = reinterpret_cast<rte_ipv4_hdr*>(ip.data());
  --h->time_to_live;
  h->hdr_checksum = 0;
  h->hdr_checksum = rte_ipv4_cksum(h);
  return ip;
}

}  // namespace portcullis::dp::testing
