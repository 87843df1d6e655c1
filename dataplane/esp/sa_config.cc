#include "dataplane/esp/sa_config.h"

#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace portcullis::dp::esp {

void SaConfig::Wipe() {
  // explicit_bzero survives dead-store elimination; the keys must not linger in freed memory.
  explicit_bzero(enc_key, sizeof enc_key);
  explicit_bzero(salt, sizeof salt);
  explicit_bzero(auth_key, sizeof auth_key);
}

drivers::crypto::KeySpec KeySpecOf(const SaConfig& c) {
  drivers::crypto::KeySpec k;
  k.cipher = c.cipher;
  k.auth = c.auth;
  static_assert(sizeof k.enc_key == sizeof c.enc_key && sizeof k.auth_key == sizeof c.auth_key);
  std::memcpy(k.enc_key, c.enc_key, sizeof k.enc_key);
  k.enc_key_len = c.enc_key_len;
  std::memcpy(k.auth_key, c.auth_key, sizeof k.auth_key);
  k.auth_key_len = c.auth_key_len;
  return k;
}

const char* CipherName(Cipher c) {
  switch (c) {
    case Cipher::kNull:
      return "null";
    case Cipher::kAesGcm128:
      return "aes-gcm-128";
    case Cipher::kAesGcm256:
      return "aes-gcm-256";
    case Cipher::kAesCbc128:
      return "aes-cbc-128";
    case Cipher::kAesCbc256:
      return "aes-cbc-256";
  }
  return "?";
}

const char* AuthName(Auth a) {
  switch (a) {
    case Auth::kNone:
      return "none";
    case Auth::kHmacSha1_96:
      return "hmac-sha1-96";
    case Auth::kHmacSha256_128:
      return "hmac-sha256-128";
    case Auth::kHmacSha384_192:
      return "hmac-sha384-192";
    case Auth::kHmacSha512_256:
      return "hmac-sha512-256";
  }
  return "?";
}

absl::Status ValidateSaConfig(const SaConfig& c) {
  auto bad = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (c.spi < 256) return bad("SPI ", c.spi, " is reserved (RFC 4303 §2.1: 1..255)");
  if (c.family != AF_INET && c.family != AF_INET6) return bad("outer family must be IPv4 or IPv6");
  if (c.mode != Mode::kTunnel) return bad("transport mode is not supported yet");
  if (static_cast<uint8_t>(c.cipher) > static_cast<uint8_t>(Cipher::kAesCbc256))
    return bad("unknown cipher ", static_cast<int>(c.cipher));
  if (static_cast<uint8_t>(c.auth) > static_cast<uint8_t>(Auth::kHmacSha512_256))
    return bad("unknown auth algorithm ", static_cast<int>(c.auth));
  if (c.enc_key_len != CipherKeyLen(c.cipher))
    return bad(CipherName(c.cipher), " needs a ", CipherKeyLen(c.cipher), "-byte key, got ",
               c.enc_key_len);
  if (IsAead(c.cipher) && c.auth != Auth::kNone)
    return bad(CipherName(c.cipher), " is combined mode: auth must be none");
  if (!IsAead(c.cipher) && c.auth == Auth::kNone)
    return bad(CipherName(c.cipher), " needs an integrity algorithm (RFC 4303 §3.2.2)");
  if (c.auth_key_len != AuthKeyLen(c.auth))
    return bad(AuthName(c.auth), " needs a ", AuthKeyLen(c.auth), "-byte key, got ",
               c.auth_key_len);
  if (c.esn && c.replay_window == 0 && c.direction == Direction::kInbound)
    return bad("ESN needs an anti-replay window to infer the high-order bits (RFC 4303 A.2)");
  if (c.replay_window > kMaxReplayWindow)
    return bad("replay window ", c.replay_window, " is larger than ", kMaxReplayWindow);
  if (c.soft_bytes && c.hard_bytes && c.soft_bytes >= c.hard_bytes)
    return bad("soft byte lifetime must be below the hard one");
  if (c.soft_packets && c.hard_packets && c.soft_packets >= c.hard_packets)
    return bad("soft packet lifetime must be below the hard one");
  if (c.ttl == 0) return bad("outer TTL must not be 0");
  if (c.dscp > 63) return bad("DSCP ", c.dscp, " is out of range 0..63");
  if (!c.esn && c.initial_seq > kSeqHard32) return bad("initial sequence number beyond 2^32-1");
  if (c.udp_encap && (c.udp_sport == 0 || c.udp_dport == 0)) return bad("UDP ports must be set");
  return absl::OkStatus();
}

}  // namespace portcullis::dp::esp
