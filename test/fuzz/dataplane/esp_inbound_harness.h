// libFuzzer harness for inbound ESP over one crypto backend: fuzz_esp_inbound.cc runs it on
// IPsec-MB (the packet path's), fuzz_esp_inbound_openssl.cc on OpenSSL (the reference). Packet
// bytes live in heap buffers of exactly their size, attached to mbufs as external buffers, so
// AddressSanitizer catches any read past the packet.
// Modes (first byte): raw bytes against a GCM (ESN) or a CBC/SHA-256 SA, where almost all die at
// the ICV; or fuzzed plaintext wrapped in a valid NULL/HMAC-SHA256 ESP packet, so that padding,
// next header and inner-packet parsing after a good ICV get fuzzed too. The second byte picks
// one segment or a chain of small segments.
#pragma once

#include <openssl/hmac.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/esp/esp_engine.h"
#include "drivers/ethdev/eal_runtime.h"
#include "test/fuzz/dataplane/fuzz_eal.h"

namespace esp_fuzz {

using namespace portcullis::dp::esp;

inline rte_mempool* pool;
inline Sa* sa_gcm;
inline Sa* sa_cbc;
inline Sa* sa_null;
inline uint8_t null_auth_key[32];

inline SaConfig Base(uint32_t spi) {
  SaConfig c;
  c.spi = spi;
  c.direction = Direction::kInbound;
  c.family = AF_INET;
  c.local[0] = 192;
  c.remote[0] = 198;
  c.replay_window = 64;
  return c;
}

inline void NoFree(void*, void*) {}

struct ExtSeg {
  uint8_t* buf;
  rte_mbuf_ext_shared_info shinfo;
};

// One mbuf (or a chain) whose data are exactly `bytes`, in malloc'ed memory.
inline rte_mbuf* Build(const uint8_t* data, size_t len, size_t seg, std::vector<ExtSeg*>& segs) {
  rte_mbuf* head = nullptr;
  size_t off = 0;
  do {
    size_t n = seg ? std::min(seg, len - off) : len;
    auto* s = new ExtSeg;
    s->buf = static_cast<uint8_t*>(std::malloc(n ? n : 1));
    if (n != 0) std::memcpy(s->buf, data + off, n);  // an empty packet's data may be null
    s->shinfo.free_cb = NoFree;
    s->shinfo.fcb_opaque = nullptr;
    rte_mbuf_ext_refcnt_set(&s->shinfo, 1);
    segs.push_back(s);
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    rte_pktmbuf_attach_extbuf(m, s->buf, 0, static_cast<uint16_t>(n ? n : 1), &s->shinfo);
    m->data_off = 0;
    m->data_len = static_cast<uint16_t>(n);
    m->pkt_len = static_cast<uint32_t>(n);
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      rte_pktmbuf_free(m);
      break;
    }
    off += n;
  } while (off < len);
  return head;
}

template <class Backend>
inline EspEngine<Backend>* engine;

// Everything a run needs, once: the EAL, a pool, an engine and three SAs on Backend.
template <class Backend>
int Initialize(const char* prefix_tag) {
  portcullis::fuzz::InitFuzzEal(prefix_tag, 128);
  pool = rte_pktmbuf_pool_create("fz", 4095, 0, 0, 2048, SOCKET_ID_ANY);
  auto* be = new Backend;
  engine<Backend> = new EspEngine<Backend>(*be);
  SaConfig g = Base(0x100);
  g.cipher = Cipher::kAesGcm128;
  g.enc_key_len = 16;
  g.esn = true;
  sa_gcm = CreateSa<Backend>(g)->release();
  SaConfig c = Base(0x101);
  c.cipher = Cipher::kAesCbc256;
  c.enc_key_len = 32;
  c.auth = Auth::kHmacSha256_128;
  c.auth_key_len = 32;
  sa_cbc = CreateSa<Backend>(c)->release();
  SaConfig n = Base(0x102);
  n.cipher = Cipher::kNull;
  n.auth = Auth::kHmacSha256_128;
  n.auth_key_len = 32;
  for (int i = 0; i < 32; ++i) n.auth_key[i] = null_auth_key[i] = static_cast<uint8_t>(i * 7);
  n.replay_window = 0;  // every authenticated packet reaches the trailer checks
  sa_null = CreateSa<Backend>(n)->release();
  return 0;
}

template <class Backend>
int TestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0] % 3;
  size_t seg = data[1] % 4 == 0 ? 0 : (data[1] % 97) + 1;
  data += 2;
  size -= 2;
  if (size > 9000) return 0;
  std::vector<uint8_t> pkt;
  Sa* sa = mode == 0 ? sa_gcm : mode == 1 ? sa_cbc : sa_null;
  if (mode < 2) {
    pkt.assign(data, data + size);
  } else {
    // Outer IPv4 + ESP(spi 0x102, seq) + fuzzed plaintext + a valid HMAC-SHA256-128 ICV.
    pkt.resize(20 + 8 + size + 16);
    pkt[0] = 0x45;
    pkt[2] = static_cast<uint8_t>(pkt.size() >> 8);
    pkt[3] = static_cast<uint8_t>(pkt.size());
    pkt[8] = 64;
    pkt[9] = 50;
    const uint8_t esp_hdr[8] = {0, 0, 1, 2, 0, 0, 0, 1};
    std::memcpy(pkt.data() + 20, esp_hdr, 8);
    std::memcpy(pkt.data() + 28, data, size);
    unsigned int mac_len = 0;
    uint8_t mac[EVP_MAX_MD_SIZE];
    HMAC(EVP_sha256(), null_auth_key, 32, pkt.data() + 20, 8 + size, mac, &mac_len);
    std::memcpy(pkt.data() + 28 + size, mac, 16);
  }
  std::vector<ExtSeg*> segs;
  rte_mbuf* m = Build(pkt.data(), pkt.size(), seg, segs);
  DropList drops;
  rte_mbuf* pkts[1] = {m};
  uint16_t n = engine<Backend>->Decrypt(*sa, pkts, 1, drops);
  if (n == 1) {
    // What came out must be a whole inner packet of the stated length.
    const uint8_t* ip = rte_pktmbuf_mtod(pkts[0], const uint8_t*);
    if (pkts[0]->data_len >= 4 && (ip[0] >> 4) == 4 &&
        static_cast<uint32_t>(ip[2] << 8 | ip[3]) != pkts[0]->pkt_len)
      std::abort();
    rte_pktmbuf_free(pkts[0]);
  }
  drops.FreeAll();
  engine<Backend>->events().Clear();
  for (ExtSeg* s : segs) {
    std::free(s->buf);
    delete s;
  }
  return 0;
}

}  // namespace esp_fuzz
