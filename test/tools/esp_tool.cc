// esp_tool: runs packets through the ESP engine for tests that compare it with an independent
// implementation (scapy). Reads one hex packet per line on stdin, writes one line per packet:
// the resulting packet in hex, or "DROP <reason>".
//   esp_tool encrypt|decrypt --cipher aes-gcm-128 --key HEX [--salt HEX] [--auth hmac-sha256-128
//            --auth-key HEX] --spi N [--esn] [--udp --sport N --dport N] --local IP --remote IP
//            [--seq N] [--window N] [--backend ipsecmb|openssl]
// Encrypt input: inner IP packets. Decrypt input: outer IP packets. EAL runs with --no-huge.
#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <unistd.h>
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "dataplane/esp/esp_engine.h"
#include "drivers/crypto/ipsecmb_backend.h"
#include "drivers/crypto/openssl_backend.h"
#include "drivers/ethdev/eal_runtime.h"

ABSL_FLAG(std::string, cipher, "aes-gcm-128",
          "null|aes-gcm-128|aes-gcm-256|aes-cbc-128|aes-cbc-256");
ABSL_FLAG(std::string, auth, "none",
          "none|hmac-sha1-96|hmac-sha256-128|hmac-sha384-192|hmac-sha512-256");
ABSL_FLAG(std::string, key, "", "encryption key, hex");
ABSL_FLAG(std::string, salt, "", "AES-GCM salt, hex (4 bytes)");
ABSL_FLAG(std::string, auth_key, "", "integrity key, hex");
ABSL_FLAG(uint32_t, spi, 0x1000, "SPI");
ABSL_FLAG(bool, esn, false, "extended sequence numbers");
ABSL_FLAG(bool, udp, false, "UDP encapsulation");
ABSL_FLAG(uint32_t, sport, 4500, "UDP source port");
ABSL_FLAG(uint32_t, dport, 4500, "UDP destination port");
ABSL_FLAG(std::string, local, "", "local outer address");
ABSL_FLAG(std::string, remote, "", "remote outer address");
ABSL_FLAG(uint64_t, seq, 0, "last sequence number used (outbound) / seen (inbound)");
ABSL_FLAG(uint32_t, window, 1024, "anti-replay window");
ABSL_FLAG(std::string, backend, "ipsecmb", "ipsecmb|openssl");

namespace {

using namespace portcullis::dp::esp;

std::vector<uint8_t> FromHex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

template <class E>
int Run(E& engine, Sa& sa, bool encrypt, rte_mempool* pool) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    auto bytes = FromHex(line);
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size())), bytes.data(),
                bytes.size());
    DropList drops;
    rte_mbuf* pkts[1] = {m};
    uint16_t n = encrypt ? engine.Encrypt(sa, pkts, 1, drops) : engine.Decrypt(sa, pkts, 1, drops);
    if (n == 1) {
      std::string hex;
      static const char* d = "0123456789abcdef";
      for (rte_mbuf* s = pkts[0]; s; s = s->next) {
        const uint8_t* p = rte_pktmbuf_mtod(s, const uint8_t*);
        for (uint16_t i = 0; i < s->data_len; ++i) {
          hex += d[p[i] >> 4];
          hex += d[p[i] & 15];
        }
      }
      std::cout << hex << "\n";
      rte_pktmbuf_free(pkts[0]);
    } else {
      std::cout << "DROP " << DropReasonName(drops.reasons[0]) << "\n";
      drops.FreeAll();
    }
  }
  return 0;
}

bool ParseCipher(const std::string& s, Cipher* c) {
  for (Cipher x : {Cipher::kNull, Cipher::kAesGcm128, Cipher::kAesGcm256, Cipher::kAesCbc128,
                   Cipher::kAesCbc256})
    if (s == CipherName(x)) {
      *c = x;
      return true;
    }
  return false;
}
bool ParseAuth(const std::string& s, Auth* a) {
  for (Auth x : {Auth::kNone, Auth::kHmacSha1_96, Auth::kHmacSha256_128, Auth::kHmacSha384_192,
                 Auth::kHmacSha512_256})
    if (s == AuthName(x)) {
      *a = x;
      return true;
    }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2 ||
      (std::string(args[1]) != "encrypt" && std::string(args[1]) != "decrypt")) {
    std::fprintf(stderr, "usage: esp_tool encrypt|decrypt [flags] < packets.hex\n");
    return 2;
  }
  bool encrypt = std::string(args[1]) == "encrypt";
  std::string prefix = "--file-prefix=esptool" + std::to_string(getpid());
  const char* eal[] = {"esp_tool",    "--no-huge",           "-m",           "128", "--no-pci",
                       "--no-shconf", "--log-level=*:error", prefix.c_str(), "-l",  "0"};
  if (rte_eal_init(10, const_cast<char**>(eal)) < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  portcullis::drivers::ethdev::CleanEalRuntimeDirAtExit();
  rte_mempool* pool = rte_pktmbuf_pool_create("tool", 1023, 0, 0, 16384, SOCKET_ID_ANY);
  SaConfig c;
  c.direction = encrypt ? Direction::kOutbound : Direction::kInbound;
  if (!ParseCipher(absl::GetFlag(FLAGS_cipher), &c.cipher) ||
      !ParseAuth(absl::GetFlag(FLAGS_auth), &c.auth)) {
    std::fprintf(stderr, "unknown cipher or auth\n");
    return 2;
  }
  auto key = FromHex(absl::GetFlag(FLAGS_key)), salt = FromHex(absl::GetFlag(FLAGS_salt)),
       akey = FromHex(absl::GetFlag(FLAGS_auth_key));
  std::memcpy(c.enc_key, key.data(), std::min<size_t>(key.size(), 32));
  c.enc_key_len = static_cast<uint8_t>(key.size());
  std::memcpy(c.salt, salt.data(), std::min<size_t>(salt.size(), 4));
  std::memcpy(c.auth_key, akey.data(), std::min<size_t>(akey.size(), 64));
  c.auth_key_len = static_cast<uint8_t>(akey.size());
  c.spi = absl::GetFlag(FLAGS_spi);
  c.esn = absl::GetFlag(FLAGS_esn);
  c.udp_encap = absl::GetFlag(FLAGS_udp);
  c.udp_sport = static_cast<uint16_t>(absl::GetFlag(FLAGS_sport));
  c.udp_dport = static_cast<uint16_t>(absl::GetFlag(FLAGS_dport));
  c.initial_seq = absl::GetFlag(FLAGS_seq);
  c.replay_window = absl::GetFlag(FLAGS_window);
  std::string local = absl::GetFlag(FLAGS_local), remote = absl::GetFlag(FLAGS_remote);
  c.family = local.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(c.family, local.c_str(), c.local) != 1 ||
      inet_pton(c.family, remote.c_str(), c.remote) != 1) {
    std::fprintf(stderr, "bad --local/--remote\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_backend) == "openssl") {
    auto sa = CreateSa<portcullis::drivers::crypto::OpenSslBackend>(c);
    if (!sa.ok()) {
      std::fprintf(stderr, "%s\n", std::string(sa.status().message()).c_str());
      return 2;
    }
    portcullis::drivers::crypto::OpenSslBackend be;
    auto* engine = new EspEngine<portcullis::drivers::crypto::OpenSslBackend>(be);
    return Run(*engine, **sa, encrypt, pool);
  }
  auto sa = CreateSa<portcullis::drivers::crypto::IpsecMbBackend>(c);
  if (!sa.ok()) {
    std::fprintf(stderr, "%s\n", std::string(sa.status().message()).c_str());
    return 2;
  }
  portcullis::drivers::crypto::IpsecMbBackend be;
  auto* engine = new EspEngine<portcullis::drivers::crypto::IpsecMbBackend>(be);
  return Run(*engine, **sa, encrypt, pool);
}
