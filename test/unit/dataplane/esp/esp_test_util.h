// Helpers shared by the ESP engine tests: SA configurations, engines, crafted packets.
#pragma once

#include <netinet/in.h>
#include <rte_ip.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/esp/esp_engine.h"
#include "dataplane/esp/sa.h"
#include "drivers/crypto/ipsecmb_backend.h"
#include "drivers/crypto/openssl_backend.h"
#include "test/unit/support/dpdk_test_env.h"

namespace portcullis::dp::esp::testutil {

using MbEngine = EspEngine<drivers::crypto::IpsecMbBackend>;
using OsEngine = EspEngine<drivers::crypto::OpenSslBackend>;

struct Algo {
  Cipher cipher;
  Auth auth;
  const char* name;
};

inline const std::vector<Algo>& AllAlgos() {
  static const std::vector<Algo> a = {
      {Cipher::kAesGcm128, Auth::kNone, "aes-gcm-128"},
      {Cipher::kAesGcm256, Auth::kNone, "aes-gcm-256"},
      {Cipher::kAesCbc128, Auth::kHmacSha1_96, "aes-cbc-128/sha1"},
      {Cipher::kAesCbc256, Auth::kHmacSha256_128, "aes-cbc-256/sha256"},
      {Cipher::kAesCbc128, Auth::kHmacSha384_192, "aes-cbc-128/sha384"},
      {Cipher::kAesCbc256, Auth::kHmacSha512_256, "aes-cbc-256/sha512"},
      {Cipher::kNull, Auth::kHmacSha256_128, "null/sha256"},
  };
  return a;
}

inline SaConfig Config(Direction dir, Algo algo, bool esn = false, bool udp = false,
                       int family = AF_INET, uint32_t spi = 0x1234) {
  SaConfig c;
  c.spi = spi;
  c.direction = dir;
  c.family = family;
  if (family == AF_INET) {
    const uint8_t a[4] = {192, 0, 2, 1}, b[4] = {192, 0, 2, 2};
    std::memcpy(dir == Direction::kOutbound ? c.local : c.remote, a, 4);
    std::memcpy(dir == Direction::kOutbound ? c.remote : c.local, b, 4);
  } else {
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    std::memcpy(dir == Direction::kOutbound ? c.local : c.remote, a, 16);
    std::memcpy(dir == Direction::kOutbound ? c.remote : c.local, b, 16);
  }
  c.udp_encap = udp;
  c.udp_sport = 4500;
  c.udp_dport = 4500;
  c.cipher = algo.cipher;
  c.auth = algo.auth;
  c.enc_key_len = static_cast<uint8_t>(CipherKeyLen(algo.cipher));
  for (int i = 0; i < c.enc_key_len; ++i) c.enc_key[i] = static_cast<uint8_t>(0x11 * i + 3);
  for (int i = 0; i < 4; ++i) c.salt[i] = static_cast<uint8_t>(0xa0 + i);
  c.auth_key_len = static_cast<uint8_t>(AuthKeyLen(algo.auth));
  for (int i = 0; i < c.auth_key_len; ++i) c.auth_key[i] = static_cast<uint8_t>(0x5a ^ i);
  c.esn = esn;
  return c;
}

template <class B>
SaPtr MakeSa(const SaConfig& c) {
  auto sa = CreateSa<B>(c);
  REQUIRE(sa.ok());
  return std::move(*sa);
}

// Engines are large (scratch buffer): keep one of each per test binary.
inline MbEngine& Mb() {
  static drivers::crypto::IpsecMbBackend* be = new drivers::crypto::IpsecMbBackend;
  static MbEngine* e = new MbEngine(*be);
  return *e;
}
inline OsEngine& Os() {
  static drivers::crypto::OpenSslBackend* be = new drivers::crypto::OpenSslBackend;
  static OsEngine* e = new OsEngine(*be);
  return *e;
}

// One packet through an engine; the reason when dropped (kCount when it went through).
template <class E>
DropReason One(E& engine, Sa& sa, rte_mbuf*& m, bool encrypt) {
  DropList drops;
  rte_mbuf* pkts[1] = {m};
  uint16_t n = encrypt ? engine.Encrypt(sa, pkts, 1, drops) : engine.Decrypt(sa, pkts, 1, drops);
  if (n == 1) {
    m = pkts[0];
    return DropReason::kCount;
  }
  REQUIRE(drops.n == 1);
  m = drops.pkts[0];
  return drops.reasons[0];
}

// A valid ESP packet carrying an arbitrary plaintext (padding, next header, inner packet all
// chosen by the test), sealed with the OpenSSL backend directly: outer IPv4, raw ESP.
inline std::vector<uint8_t> CraftEsp(const SaConfig& in_cfg, uint64_t seq,
                                     const std::vector<uint8_t>& plaintext, uint8_t outer_tos = 0) {
  const int iv_len = IvLen(in_cfg.cipher), icv = IcvLen(in_cfg.cipher, in_cfg.auth);
  std::vector<uint8_t> p(20 + 8 + iv_len + plaintext.size() + icv + 4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->type_of_service = outer_tos;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size() - 4));
  ip->time_to_live = 64;
  ip->next_proto_id = 50;
  std::memcpy(&ip->src_addr, in_cfg.remote, 4);
  std::memcpy(&ip->dst_addr, in_cfg.local, 4);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  uint8_t* esp = p.data() + 20;
  uint32_t spi = rte_cpu_to_be_32(in_cfg.spi), lo = rte_cpu_to_be_32(static_cast<uint32_t>(seq));
  std::memcpy(esp, &spi, 4);
  std::memcpy(esp + 4, &lo, 4);
  for (int i = 0; i < iv_len; ++i) esp[8 + i] = static_cast<uint8_t>(0x70 + i);
  uint8_t* payload = esp + 8 + iv_len;
  std::memcpy(payload, plaintext.data(), plaintext.size());
  alignas(64) uint8_t storage[kCryptoStateBytes];
  REQUIRE(drivers::crypto::OpenSslBackend::InitKeys(storage, KeySpecOf(in_cfg)).ok());
  auto& k = *reinterpret_cast<drivers::crypto::OpenSslBackend::Keys*>(storage);
  drivers::crypto::OpenSslBackend be;
  uint32_t hi = rte_cpu_to_be_32(static_cast<uint32_t>(seq >> 32));
  if (IsAead(in_cfg.cipher)) {
    uint8_t nonce[12], aad[12];
    std::memcpy(nonce, in_cfg.salt, 4);
    std::memcpy(nonce + 4, esp + 8, 8);
    std::memcpy(aad, esp, 4);
    std::memcpy(aad + 4, &hi, 4);
    std::memcpy(aad + 8, esp + 4, 4);
    const uint8_t* a = in_cfg.esn ? aad : esp;
    be.GcmEncrypt(k, false, payload, plaintext.size(), nonce, a, in_cfg.esn ? 12 : 8,
                  payload + plaintext.size());
  } else {
    uint8_t tag[32];
    uint32_t hash_len = static_cast<uint32_t>(8 + iv_len + plaintext.size());
    if (in_cfg.esn) {
      std::memcpy(payload + plaintext.size(), &hi, 4);
      hash_len += 4;
    }
    drivers::crypto::HmacJob j{
        payload,  static_cast<uint32_t>(IsCbc(in_cfg.cipher) ? plaintext.size() : 0),
        esp + 8,  esp,
        hash_len, tag,
        false};
    be.HmacBurst(k, in_cfg.cipher, true, &j, 1);
    std::memcpy(payload + plaintext.size(), tag, icv);
  }
  drivers::crypto::OpenSslBackend::DestroyKeys(storage);
  p.resize(p.size() - 4);
  return p;
}

// inner || padding 1..n || pad length || next header, aligned to `align`.
inline std::vector<uint8_t> Trailer(std::vector<uint8_t> inner, uint8_t nh, int align = 4,
                                    int extra_pad = 0) {
  size_t pad = (align - (inner.size() + 2) % align) % align + extra_pad;
  for (size_t i = 0; i < pad; ++i) inner.push_back(static_cast<uint8_t>(i + 1));
  inner.push_back(static_cast<uint8_t>(pad));
  inner.push_back(nh);
  return inner;
}

}  // namespace portcullis::dp::esp::testutil
