#include "control/vpnd/sa_messages.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/vpnd/dataplane_plan.h"
#include "dataplane/api/key_wipe.h"
#include "ike/crypto/crypto_suite.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

namespace {

using dp::api::Message;
using dp::api::MessageKind;

dp::api::Family Fam(uint8_t f) {
  return f == 4 ? dp::api::Family::kIpv4 : dp::api::Family::kIpv6;
}

absl::Status FillAlgorithms(const ike::ChildSaCryptoSuite& s, dp::api::SaBody& b) {
  switch (s.encr) {
    case ike::EncrId::kAesGcm16:
      b.cipher = s.encr_key_bits == 128   ? dp::api::Cipher::kAesGcm128
                 : s.encr_key_bits == 256 ? dp::api::Cipher::kAesGcm256
                                          : dp::api::Cipher{};
      break;
    case ike::EncrId::kAesCbc:
      b.cipher = s.encr_key_bits == 128   ? dp::api::Cipher::kAesCbc128
                 : s.encr_key_bits == 256 ? dp::api::Cipher::kAesCbc256
                                          : dp::api::Cipher{};
      break;
    case ike::EncrId::kNull:
      b.cipher = dp::api::Cipher::kNull;
      break;
    default:
      break;
  }
  if (b.cipher == dp::api::Cipher{}) {
    return absl::UnimplementedError(
        absl::StrCat("the dataplane has no cipher for ",
                     ike::TransformName(ike::TransformType::kEncr, static_cast<uint16_t>(s.encr),
                                        s.encr_key_bits)));
  }
  switch (s.integ) {
    case ike::IntegId::kNone:
      b.auth = dp::api::Auth::kNone;
      break;
    case ike::IntegId::kHmacSha1_96:
      b.auth = dp::api::Auth::kHmacSha1_96;
      break;
    case ike::IntegId::kHmacSha2_256_128:
      b.auth = dp::api::Auth::kHmacSha256_128;
      break;
    case ike::IntegId::kHmacSha2_384_192:
      b.auth = dp::api::Auth::kHmacSha384_192;
      break;
    case ike::IntegId::kHmacSha2_512_256:
      b.auth = dp::api::Auth::kHmacSha512_256;
      break;
    default:
      return absl::UnimplementedError("the dataplane has no such integrity algorithm");
  }
  return absl::OkStatus();
}

constexpr uint8_t kOuterTtl = 255;

}  // namespace

absl::StatusOr<std::vector<Message>> SaMessages(const ike::ChildSa& c, uint32_t vti_ifindex,
                                                dp::api::Op op) {
  std::vector<Message> out;
  // Built in place (room for a VTI binding too), so no copy of the keys is left behind
  // unwiped; the caller wipes the vector once it is sent.
  out.reserve(3);
  for (dp::api::Direction dir : {dp::api::Direction::kIn, dp::api::Direction::kOut}) {
    bool in = dir == dp::api::Direction::kIn;
    out.push_back(dp::api::NewMessage(MessageKind::kSa, op));
    Message& m = out.back();
    dp::api::SaBody& b = m.body.sa;
    b.spi = in ? c.spi_in : c.spi_out;
    b.direction = dir;
    if (op == dp::api::Op::kDelete) continue;
    b.reqid = c.reqid;
    b.vti_ifindex = vti_ifindex;
    b.mode = dp::api::SaMode::kTunnel;
    b.outer_family = Fam(c.local.address.family);
    // Vyatta's dataplane sends ESP at TTL 255 (the seed's "Out:dp0bond1 ... ttl:255" line);
    // the dataplane's own default is 64.
    if (!in) b.outer_ttl = kOuterTtl;
    if (c.encap) {
      b.udp_encap = 1;
      b.encap_src_port = c.local.port;
      b.encap_dst_port = c.remote.port;
    }
    absl::Status st = FillAlgorithms(c.suite, b);
    if (!st.ok()) {
      dp::api::SecureWipe(out.data(), out.size() * sizeof(Message));
      return st;
    }
    const ike::SecretBytes& enc = in ? c.encr_in : c.encr_out;
    const ike::SecretBytes& integ = in ? c.integ_in : c.integ_out;
    size_t salt = ike::EncrSaltSize(c.suite.encr);
    if (enc.size() < salt || enc.size() - salt > sizeof b.enc_key ||
        integ.size() > sizeof b.auth_key) {
      dp::api::SecureWipe(out.data(), out.size() * sizeof(Message));
      return absl::InvalidArgumentError("CHILD_SA key sizes do not fit the SA message");
    }
    size_t key_len = enc.size() - salt;
    std::memcpy(b.enc_key, enc.data(), key_len);
    if (salt) std::memcpy(b.salt, enc.data() + key_len, salt);
    b.enc_key_length = static_cast<uint8_t>(key_len);
    if (!integ.empty()) std::memcpy(b.auth_key, integ.data(), integ.size());
    b.auth_key_length = static_cast<uint8_t>(integ.size());
    b.esn = c.suite.esn == ike::EsnId::kEsn ? 1 : 0;
    b.df_mode = dp::api::DfMode::kCopy;
    b.dscp_mode = dp::api::DscpMode::kCopy;
    // The configured window (peer replay-window, commit keeps it within kMaxReplayWindow);
    // outbound SAs check nothing.
    b.replay_window =
        in ? static_cast<uint16_t>(std::min<uint32_t>(c.replay_window, dp::api::kMaxReplayWindow))
           : 0;
    if (c.life_bytes) {
      b.hard_bytes = c.life_bytes;
      b.soft_bytes = c.life_bytes - c.life_bytes / 10;
    }
    if (c.life_packets) {
      b.hard_packets = c.life_packets;
      b.soft_packets = c.life_packets - c.life_packets / 10;
    }
    b.local = ToChannelAddr(c.local.address.bytes.data(), c.local.address.family);
    b.remote = ToChannelAddr(c.remote.address.bytes.data(), c.remote.address.family);
    // RFC 9611: a group's SA runs on its worker (both halves: inbound ESP of a member that
    // arrives elsewhere is handed to it); 0 = the dataplane places it.
    b.worker = op == dp::api::Op::kDelete ? 0 : c.worker;
  }
  return out;
}

absl::StatusOr<std::vector<Message>> PolicyMessages(const ike::ChildSa& c, dp::api::Op op) {
  std::vector<Message> out;
  for (const ike::TrafficSelector& l : c.local_ts) {
    for (const ike::TrafficSelector& r : c.remote_ts) {
      ike::Address ln, rn;
      int ll = 0, rl = 0;
      // A CHILD SA may carry IPv4 and IPv6 selectors at once (RFC 7296 2.9; strongSwan
      // proposes both for a dual-stack child): only pairs of one family select packets.
      if (l.type != r.type) continue;
      if (!ike::TsAsPrefix(l, &ln, &ll) || !ike::TsAsPrefix(r, &rn, &rl)) {
        return absl::UnimplementedError(absl::StrCat("selectors ", ike::TsToString(l),
                                                     " === ", ike::TsToString(r),
                                                     " are not expressible as prefixes"));
      }
      for (dp::api::Direction dir : {dp::api::Direction::kOut, dp::api::Direction::kIn}) {
        bool o = dir == dp::api::Direction::kOut;
        Message m = dp::api::NewMessage(MessageKind::kPolicy, op);
        dp::api::PolicyBody& b = m.body.policy;
        b.reqid = c.reqid;
        b.priority = 100;
        b.out_spi = o ? c.spi_out : 0;
        b.direction = dir;
        b.family = Fam(ln.family);
        b.action = dp::api::PolicyAction::kProtect;
        b.protocol = l.ip_protocol ? l.ip_protocol : r.ip_protocol;
        const ike::TrafficSelector& src = o ? l : r;
        const ike::TrafficSelector& dst = o ? r : l;
        b.src_prefix_length = static_cast<uint8_t>(o ? ll : rl);
        b.dst_prefix_length = static_cast<uint8_t>(o ? rl : ll);
        b.src_port_low = src.start_port;
        b.src_port_high = src.end_port;
        b.dst_port_low = dst.start_port;
        b.dst_port_high = dst.end_port;
        b.src = ToChannelAddr((o ? ln : rn).bytes.data(), ln.family);
        b.dst = ToChannelAddr((o ? rn : ln).bytes.data(), ln.family);
        out.push_back(m);
      }
    }
  }
  if (out.empty() && !c.local_ts.empty() && !c.remote_ts.empty()) {
    return absl::UnimplementedError(absl::StrCat("selectors ", ike::TsListToString(c.local_ts),
                                                 " === ", ike::TsListToString(c.remote_ts),
                                                 " have no pair of one address family"));
  }
  return out;
}

Message VtiBindingMessage(uint32_t vti_ifindex, uint32_t out_spi, dp::api::Op op,
                          const VtiMembers& members) {
  Message m = dp::api::NewMessage(MessageKind::kVtiBinding, op);
  m.body.vti_binding.vti_ifindex = vti_ifindex;
  m.body.vti_binding.out_spi = op == dp::api::Op::kDelete ? 0 : out_spi;
  if (op != dp::api::Op::kDelete) {
    for (size_t w = 0; w < members.size(); ++w) m.body.vti_binding.member_spi[w] = members[w];
  }
  return m;
}

}  // namespace portcullis::vpnd
