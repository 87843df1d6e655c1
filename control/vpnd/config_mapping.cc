#include "control/vpnd/config_mapping.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/config/value_type.h"
#include "control/vpnd/ike_algorithm_names.h"
#include "ike/crypto/dh_group.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

namespace {

using ike::DhGroup;
using ike::EncrId;
using ike::IntegId;
using ike::PrfId;
using ike::Proposal;
using ike::Transform;

bool ParsePorts(const std::string& text, uint16_t* lo, uint16_t* hi) {
  if (text.empty()) {
    *lo = 0;
    *hi = 65535;
    return true;
  }
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  uint32_t a = 0, b = 0;
  if (parts.size() == 1 && absl::SimpleAtoi(parts[0], &a) && a <= 65535) {
    *lo = *hi = static_cast<uint16_t>(a);
    return true;
  }
  if (parts.size() == 2 && absl::SimpleAtoi(parts[0], &a) && absl::SimpleAtoi(parts[1], &b) &&
      a <= b && b <= 65535) {
    *lo = static_cast<uint16_t>(a);
    *hi = static_cast<uint16_t>(b);
    return true;
  }
  return false;
}

ike::Address ToIke(const config::IpAddress& a) {
  ike::Address out;
  out.family = a.is_v4() ? 4 : 6;
  out.bytes = a.bytes;
  return out;
}

}  // namespace

uint32_t ReqidAllocator::Get(const std::string& child_name) {
  auto it = ids_.find(child_name);
  if (it != ids_.end()) return it->second;
  ids_[child_name] = next_;
  return next_++;
}

absl::StatusOr<std::vector<Proposal>> IkeProposals(const config::IkeGroup& g) {
  std::vector<Proposal> out;
  std::vector<std::string> errors;
  std::vector<config::IkeProposal> sorted = g.proposals;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  for (const config::IkeProposal& p : sorted) {
    std::string where = absl::StrCat("ike-group ", g.name, " proposal ", p.number);
    std::optional<IkeCipher> c = CipherOf(p.encryption);
    if (!c) {
      errors.push_back(absl::StrCat(where, ": encryption ", p.encryption, " is not supported"));
      continue;
    }
    std::optional<IntegId> integ = IntegOf(p.hash);
    if (!c->aead && !integ) {
      errors.push_back(absl::StrCat(where, ": hash ", p.hash, " is not supported"));
      continue;
    }
    std::optional<PrfId> prf = PrfOf(p.prf.empty() ? p.hash : p.prf);
    if (!prf) {
      errors.push_back(absl::StrCat(where, ": no PRF: hash ", p.hash,
                                    p.prf.empty() ? " gives none; set prf" : "",
                                    p.prf.empty() ? "" : absl::StrCat(", prf ", p.prf)));
      continue;
    }
    int dh = p.dh_group == 0 ? 2 : p.dh_group;  // VyOS' and strongSwan-era Vyatta default
    if (!ike::IsSupportedDhGroup(static_cast<DhGroup>(dh))) {
      errors.push_back(absl::StrCat(where, ": dh-group ", dh, " is not supported"));
      continue;
    }
    Proposal pr;
    pr.protocol = ike::ProtocolId::kIke;
    pr.number = static_cast<uint8_t>(out.size() + 1);
    pr.transforms.push_back(Transform::Encr(c->id, c->key_bits));
    if (!c->aead) pr.transforms.push_back(Transform::Integ(*integ));
    pr.transforms.push_back(Transform::Prf(*prf));
    pr.transforms.push_back(Transform::Dh(static_cast<DhGroup>(dh)));
    out.push_back(pr);
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("ike-group ", g.name, " has no proposal"));
  }
  return out;
}

absl::StatusOr<std::vector<Proposal>> EspProposals(const config::EspGroup& g) {
  std::vector<Proposal> out;
  std::vector<std::string> errors;
  std::vector<config::EspProposal> sorted = g.proposals;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  for (const config::EspProposal& p : sorted) {
    std::string where = absl::StrCat("esp-group ", g.name, " proposal ", p.number);
    std::optional<IkeCipher> c = CipherOf(p.encryption);
    if (!c) {
      errors.push_back(absl::StrCat(where, ": encryption ", p.encryption, " is not supported"));
      continue;
    }
    Proposal pr;
    pr.protocol = ike::ProtocolId::kEsp;
    pr.number = static_cast<uint8_t>(out.size() + 1);
    pr.transforms.push_back(Transform::Encr(c->id, c->key_bits));
    if (!c->aead) {
      std::optional<IntegId> integ = IntegOf(p.hash);
      if (!integ) {
        errors.push_back(absl::StrCat(where, ": hash ", p.hash, " is not supported"));
        continue;
      }
      pr.transforms.push_back(Transform::Integ(*integ));
    }
    // One ESN transform: with `esn enable` extended sequence numbers are required, as
    // strongSwan's "-esn" does (a peer offering only NO_ESN gets NO_PROPOSAL_CHOSEN).
    pr.transforms.push_back(Transform::Esn(g.esn ? ike::EsnId::kEsn : ike::EsnId::kNoEsn));
    out.push_back(pr);
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("esp-group ", g.name, " has no proposal"));
  }
  return out;
}

DhGroup PfsGroup(const config::EspGroup& esp, const config::IkeGroup& ike) {
  int first = 0;
  for (const auto& p : ike.proposals) {
    if (first == 0 || p.number < static_cast<uint32_t>(first)) first = p.dh_group ? p.dh_group : 2;
  }
  return static_cast<DhGroup>(esp.PfsGroup(first));
}

std::string PeerConnectionName(const config::Peer& peer) {
  return absl::StrCat("peer-", peer.address ? peer.address->ToString() : peer.key);
}

absl::StatusOr<IkeSetup> MapConfig(const config::Model& model, ReqidAllocator& reqids) {
  IkeSetup setup;
  std::vector<std::string> errors;
  setup.options.retransmit.tries = model.ike.retransmit_tries;
  setup.options.retransmit.timeout = model.ike.retransmit_timeout;
  setup.options.retransmit.base = model.ike.retransmit_base;
  setup.options.cookie_threshold = model.ike.cookie_threshold;
  setup.options.block_threshold = model.ike.block_threshold;
  setup.options.half_open_timeout = model.ike.half_open_timeout;
  setup.options.ikesa_limit = model.ike.ikesa_limit;
  setup.ike_interfaces = model.ike.interfaces;
  setup.options.init_limit_half_open = model.ike.init_limit_half_open;

  for (const config::Peer& peer : model.peers) {
    auto cfg = std::make_shared<ike::IkeSaConfig>();
    cfg->name = PeerConnectionName(peer);
    cfg->peer_key = peer.key;
    cfg->description = peer.description;
    std::string where = absl::StrCat("peer ", peer.key);
    if (peer.auth_mode != "pre-shared-secret") {
      errors.push_back(
          absl::StrCat(where, ": authentication mode ", peer.auth_mode, " is not supported"));
      continue;
    }
    auto ig = model.ike_groups.find(peer.ike_group);
    if (ig == model.ike_groups.end()) {
      errors.push_back(absl::StrCat(where, ": ike-group '", peer.ike_group, "' not found"));
      continue;
    }
    auto ike_props = IkeProposals(ig->second);
    if (!ike_props.ok()) {
      errors.push_back(std::string(ike_props.status().message()));
      continue;
    }
    cfg->ike_proposals = *ike_props;
    cfg->ike_lifetime = ig->second.lifetime;
    if (ig->second.dpd.enabled && ig->second.dpd.interval > 0) {
      cfg->dpd_interval = ig->second.dpd.interval;
      const std::string& a = ig->second.dpd.action;
      cfg->dpd_action = a == "restart" ? ike::DpdAction::kRestart
                        : a == "clear" ? ike::DpdAction::kClear
                                       : ike::DpdAction::kHold;
      cfg->dpd_timeout = ig->second.dpd.timeout;
    }
    // none | trap | start, strongSwan's none | hold (trap) | restart.
    const std::string& close = ig->second.close_action;
    cfg->close_action = close == "start"  ? ike::CloseAction::kRestart
                        : close == "trap" ? ike::CloseAction::kHold
                                          : ike::CloseAction::kNone;
    if (peer.address) {
      cfg->remote = ToIke(*peer.address);
    } else {
      cfg->remote_any = true;
    }
    // Vyatta's strongSwan reauthenticates IKEv2 SAs at the end of the ike-group lifetime;
    // `make-before-break` makes it set up the new SAs before deleting the old ones. Without it
    // the IKE SA is rekeyed (CREATE_CHILD_SA), never torn down first. A peer without an address
    // cannot be initiated to, so it is rekeyed too.
    cfg->reauth = model.ike.make_before_break && !cfg->remote_any;
    uint8_t family = cfg->remote_any ? 4 : cfg->remote.family;
    if (auto a = ike::Address::Parse(peer.local_address)) {
      cfg->local = *a;
      family = a->family;
    } else {
      cfg->local.family = family;  // "any": unspecified, the datagram's address is used
    }
    cfg->local_id_text = peer.EffectiveId();
    cfg->remote_id_text = peer.EffectiveRemoteId();
    if (cfg->local_id_text.empty() || cfg->local_id_text == "any") {
      errors.push_back(absl::StrCat(where,
                                    ": no local identity (set local-address or "
                                    "authentication id)"));
      continue;
    }
    cfg->local_id = ike::IdFromText(cfg->local_id_text);
    cfg->remote_id = ike::IdFromText(cfg->remote_id_text);
    // Without an address the peer is known by its identity: remote-id when set, or the key of
    // `peer @id`. `peer any` and a named (VyOS) peer without remote-id accept any identity; the
    // PSK is then all that authenticates it.
    if (!peer.address && peer.remote_id.empty() && peer.key.rfind('@', 0) != 0) {
      cfg->any_remote_id = true;
    }
    cfg->psk = ike::SharedSecret(peer.psk);
    cfg->initiate = peer.connection_type != "respond" && !cfg->remote_any;
    cfg->force_encap = peer.force_udp_encapsulation;

    auto add_child = [&](ike::ChildConfig ch, const std::string& esp_name) {
      auto eg = model.esp_groups.find(esp_name);
      if (eg == model.esp_groups.end()) {
        errors.push_back(absl::StrCat(where, ": esp-group '", esp_name, "' not found"));
        return;
      }
      if (eg->second.mode != "tunnel") {
        errors.push_back(absl::StrCat("esp-group ", esp_name, ": mode ", eg->second.mode,
                                      " is not supported (tunnel only)"));
        return;
      }
      auto esp = EspProposals(eg->second);
      if (!esp.ok()) {
        errors.push_back(std::string(esp.status().message()));
        return;
      }
      ch.esp_proposals = *esp;
      ch.pfs = PfsGroup(eg->second, ig->second);
      if (ch.pfs != DhGroup::kNone && !ike::IsSupportedDhGroup(ch.pfs)) {
        errors.push_back(absl::StrCat("esp-group ", esp_name, ": pfs group ",
                                      static_cast<int>(ch.pfs), " is not supported"));
        return;
      }
      ch.lifetime = eg->second.lifetime;
      ch.life_bytes = eg->second.life_bytes;
      ch.life_packets = eg->second.life_packets;
      ch.replay_window = peer.replay_window;
      ch.reqid = reqids.Get(ch.name);
      cfg->children.push_back(std::move(ch));
    };
    if (peer.route_based()) {
      ike::ChildConfig ch;
      ch.name = cfg->name + "-tunnel-vti";
      ch.vti = true;
      ch.vti_interface = peer.vti_bind;
      // The VTI carries the families it has addresses of, whatever the outer family (#21:
      // IPv6 inner in an IPv4 tunnel and back); 0.0.0.0/0 and ::/0 when it has both, as VyOS
      // writes them. Without addresses, the outer family (what it always was).
      for (int f : config::VtiFamilies(model, peer)) {
        ch.local_ts.push_back(ike::TsAny(static_cast<uint8_t>(f)));
        ch.remote_ts.push_back(ike::TsAny(static_cast<uint8_t>(f)));
      }
      add_child(std::move(ch), peer.vti_esp_group);
    }
    for (const config::Tunnel& t : peer.tunnels) {
      // A route-based peer's tunnels can only be the VTI's own 0.0.0.0/0 selectors (VyOS
      // writes them; commit refuses anything else): the VTI's CHILD SA above is the tunnel. A
      // policy CHILD SA for them would protect all traffic by policy.
      if (t.disabled || peer.route_based()) continue;
      ike::ChildConfig ch;
      ch.name = absl::StrCat(cfg->name, "-tunnel-", t.id);
      ch.tunnel_id = t.id;
      ch.vti_interface = t.uses;  // a VFP, or empty
      const auto& s = t.selector;
      int proto = s.protocol.empty() ? 0 : config::ProtocolNumber(s.protocol);
      uint32_t n = 0;
      if (proto == -1 && absl::SimpleAtoi(s.protocol, &n) && n <= 255) proto = static_cast<int>(n);
      if (proto < 0) proto = 0;  // all / tcp_udp: any protocol
      uint16_t llo, lhi, rlo, rhi;
      if (!ParsePorts(s.local_port, &llo, &lhi) || !ParsePorts(s.remote_port, &rlo, &rhi)) {
        errors.push_back(absl::StrCat(where, " tunnel ", t.id,
                                      ": only a port number or a range a-b is supported in "
                                      "traffic selectors"));
        continue;
      }
      auto prefix = [&](const std::optional<config::IpPrefix>& p) {
        if (!p) return ike::TsAny(family);
        return ike::TsFromPrefix(ToIke(p->address), p->length);
      };
      ike::TrafficSelector l = prefix(s.local), r = prefix(s.remote);
      l.ip_protocol = r.ip_protocol = static_cast<uint8_t>(proto);
      l.start_port = llo;
      l.end_port = lhi;
      r.start_port = rlo;
      r.end_port = rhi;
      ch.local_ts = {l};
      ch.remote_ts = {r};
      add_child(std::move(ch), t.esp_group);
    }
    setup.peers.push_back(cfg);
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return setup;
}

}  // namespace portcullis::vpnd
