// What the control plane hands over to create an ESP SA (from IKE or from manual keying).
#pragma once

#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "dataplane/esp/esp_types.h"
#include "drivers/crypto/key_spec.h"

namespace portcullis::dp::esp {

struct SaConfig {
  uint32_t spi = 0;
  Direction direction = Direction::kOutbound;
  Mode mode = Mode::kTunnel;

  // Outer (tunnel endpoint) addresses, network byte order; family AF_INET or AF_INET6.
  int family = 0;
  uint8_t local[16] = {};
  uint8_t remote[16] = {};

  // RFC 3948 UDP encapsulation; ports in host order (dport is the peer's, maybe NAT-mapped).
  bool udp_encap = false;
  uint16_t udp_sport = 4500;
  uint16_t udp_dport = 4500;

  Cipher cipher = Cipher::kAesGcm128;
  Auth auth = Auth::kNone;
  uint8_t enc_key[32] = {};
  uint8_t enc_key_len = 0;
  uint8_t salt[4] = {};  // AES-GCM (RFC 4106 §4): the last 4 bytes of the KEYMAT key
  uint8_t auth_key[64] = {};
  uint8_t auth_key_len = 0;

  bool esn = false;               // RFC 4304 extended sequence numbers
  uint32_t replay_window = 1024;  // packets; 0 = anti-replay off (inbound)

  // 0 = no limit. Bytes count inner (plaintext) packet bytes, as kernel IPsec does.
  uint64_t soft_bytes = 0, hard_bytes = 0;
  uint64_t soft_packets = 0, hard_packets = 0;

  DfMode df = DfMode::kCopy;
  bool copy_dscp = true;
  uint8_t dscp = 0;  // when !copy_dscp
  uint8_t ttl = 64;  // outer TTL / hop limit

  // Outbound: the last sequence number already used (the next packet sends initial_seq + 1).
  // Inbound: the highest sequence number already received. Only tests and SA migration set it.
  uint64_t initial_seq = 0;

  SaConfig() = default;
  SaConfig(const SaConfig&) = default;
  SaConfig& operator=(const SaConfig&) = default;
  ~SaConfig() { Wipe(); }
  void Wipe();
};

// The part of the config a crypto backend sets its keys up from (Backend::InitKeys). The
// result holds copies of the keys and wipes them when it goes out of scope.
drivers::crypto::KeySpec KeySpecOf(const SaConfig& c);

// Every inconsistency named: key length vs algorithm, null+null, window size, limits order...
absl::Status ValidateSaConfig(const SaConfig& c);

// Sequence-number exhaustion thresholds (RFC 4303 §3.3.3: a sequence number never cycles).
// The soft point leaves IKE ample time to rekey; the hard point is the last usable number.
constexpr uint64_t kSeqSoft32 = (uint64_t{1} << 32) - (uint64_t{1} << 28);
constexpr uint64_t kSeqHard32 = (uint64_t{1} << 32) - 1;
constexpr uint64_t kSeqSoft64 = ~uint64_t{0} - (uint64_t{1} << 32);
constexpr uint64_t kSeqHard64 = ~uint64_t{0};

}  // namespace portcullis::dp::esp
