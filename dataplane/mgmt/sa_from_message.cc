#include "dataplane/mgmt/sa_from_message.h"

#include <sys/socket.h>

#include <cstring>

namespace portcullis::dp {

absl::StatusOr<esp::SaConfig> SaConfigFromMessage(const api::SaBody& b) {
  esp::SaConfig c;
  c.spi = b.spi;
  c.direction =
      b.direction == api::Direction::kIn ? esp::Direction::kInbound : esp::Direction::kOutbound;
  c.mode = b.mode == api::SaMode::kTransport ? esp::Mode::kTransport : esp::Mode::kTunnel;
  c.family = b.outer_family == api::Family::kIpv6 ? AF_INET6 : AF_INET;
  std::memcpy(c.local, b.local.bytes, 16);
  std::memcpy(c.remote, b.remote.bytes, 16);
  c.udp_encap = b.udp_encap != 0;
  if (c.udp_encap) {
    c.udp_sport = b.encap_src_port;
    c.udp_dport = b.encap_dst_port;
  }
  switch (b.cipher) {
    case api::Cipher::kNull:
      c.cipher = esp::Cipher::kNull;
      break;
    case api::Cipher::kAesGcm128:
      c.cipher = esp::Cipher::kAesGcm128;
      break;
    case api::Cipher::kAesGcm256:
      c.cipher = esp::Cipher::kAesGcm256;
      break;
    case api::Cipher::kAesCbc128:
      c.cipher = esp::Cipher::kAesCbc128;
      break;
    case api::Cipher::kAesCbc256:
      c.cipher = esp::Cipher::kAesCbc256;
      break;
  }
  switch (b.auth) {
    case api::Auth::kNone:
      c.auth = esp::Auth::kNone;
      break;
    case api::Auth::kHmacSha1_96:
      c.auth = esp::Auth::kHmacSha1_96;
      break;
    case api::Auth::kHmacSha256_128:
      c.auth = esp::Auth::kHmacSha256_128;
      break;
    case api::Auth::kHmacSha384_192:
      c.auth = esp::Auth::kHmacSha384_192;
      break;
    case api::Auth::kHmacSha512_256:
      c.auth = esp::Auth::kHmacSha512_256;
      break;
  }
  c.enc_key_len = b.enc_key_length;
  std::memcpy(c.enc_key, b.enc_key, sizeof c.enc_key);
  std::memcpy(c.salt, b.salt, 4);
  c.auth_key_len = b.auth_key_length;
  std::memcpy(c.auth_key, b.auth_key, sizeof c.auth_key);
  c.esn = b.esn != 0;
  c.replay_window = b.replay_window;
  c.soft_bytes = b.soft_bytes;
  c.hard_bytes = b.hard_bytes;
  c.soft_packets = b.soft_packets;
  c.hard_packets = b.hard_packets;
  c.df = b.df_mode == api::DfMode::kSet     ? esp::DfMode::kSet
         : b.df_mode == api::DfMode::kClear ? esp::DfMode::kClear
                                            : esp::DfMode::kCopy;
  c.copy_dscp = b.dscp_mode != api::DscpMode::kSet;
  c.dscp = b.dscp;
  c.ttl = b.outer_ttl ? b.outer_ttl : 64;
  if (absl::Status s = esp::ValidateSaConfig(c); !s.ok()) return s;
  return c;
}

}  // namespace portcullis::dp
