#include "control/config/peer_config_writer.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "control/config/algorithm_names.h"
#include "control/config/config_display.h"
#include "control/config/config_loader.h"

namespace portcullis::config {

namespace {

// A value as a set command writes it: quoted when it holds anything but plain characters.
std::string Q(const std::string& v) {
  bool plain = !v.empty() && v.find_first_of(" \t'\"#;{}") == std::string::npos;
  if (plain) return v;
  return v.find('\'') == std::string::npos ? absl::StrCat("'", v, "'")
                                           : absl::StrCat("\"", v, "\"");
}

// The networks behind us: the prefixes of our interfaces other than VTIs, loopbacks and the one
// that holds the tunnel's local-address.
std::vector<std::string> OurLans(const Model& m, const std::string& local_address) {
  std::set<std::string> out;
  for (const auto& [name, itf] : m.interfaces) {
    if (itf.type == "vti" || itf.type == "loopback" || itf.disabled) continue;
    bool outside = false;
    for (const IpPrefix& p : itf.addresses) outside |= p.address.ToString() == local_address;
    if (outside) continue;
    for (const IpPrefix& p : itf.addresses) {
      // A link-local prefix is on every link and routed on none.
      const bool link_local =
          p.address.is_v6() && p.address.bytes[0] == 0xfe && (p.address.bytes[1] & 0xc0) == 0x80;
      if (!link_local) out.insert(p.Network().ToString());
    }
  }
  return {out.begin(), out.end()};
}

// The other host of a point-to-point VTI subnet: 172.16.0.5/30 -> 172.16.0.6/30,
// 2001:db8::/127 -> 2001:db8::1/127, 2001:db8::1/64 -> 2001:db8::2/64.
absl::StatusOr<std::string> MirroredVtiAddress(const IpPrefix& ours) {
  const int bits = ours.address.is_v4() ? 32 : 128;
  const int max_len = bits - 1;  // /31 and /127: two hosts
  if (ours.length < bits - 8 * 8 || ours.length > max_len ||
      (ours.address.is_v4() && ours.length < 24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VTI address ", ours.ToString(),
                     ": only an IPv4 /24../31 or an IPv6 /64../127 can be mirrored"));
  }
  IpPrefix other = ours;
  const size_t n = ours.address.is_v4() ? 4 : 16;
  uint8_t* b = other.address.bytes.data();
  if (ours.length == max_len) {
    b[n - 1] ^= 1;
    return other.ToString();
  }
  // The host part is 1 or 2 (whichever this end is not): all host bits zero, then the last
  // byte. Host bits past the last byte exist only for IPv6 prefixes shorter than /120.
  bool host_is_one = true;
  for (int bit = ours.length; bit < bits; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    const bool set = (b[bit / 8] & mask) != 0;
    if (set != (bit == bits - 1)) host_is_one = false;
    b[bit / 8] &= static_cast<uint8_t>(~mask);
  }
  b[n - 1] |= host_is_one ? 2 : 1;
  return other.ToString();
}

struct Mirror {
  const Peer* peer;
  std::string our_address, their_address, our_id, their_id;
};

absl::StatusOr<Mirror> MirrorOf(const Model& m, absl::string_view name) {
  const Peer* p = m.FindPeer(name);
  if (p == nullptr) p = m.FindPeer(absl::StripPrefix(name, "peer-"));
  if (p == nullptr) return absl::NotFoundError(absl::StrCat("peer ", name, " is not configured"));
  if (!p->address) {
    return absl::FailedPreconditionError(
        absl::StrCat("peer ", p->key, " has no address: the other end's local-address is unknown"));
  }
  if (p->local_address.empty() || p->local_address == "any") {
    return absl::FailedPreconditionError(
        absl::StrCat("peer ", p->key,
                     ": our local-address is 'any'; the other end needs our address as its peer"));
  }
  if (p->auth_mode != "pre-shared-secret") {
    return absl::FailedPreconditionError(
        absl::StrCat("peer ", p->key, ": only pre-shared-secret authentication is written"));
  }
  return Mirror{p, p->local_address, p->address->ToString(), p->EffectiveId(),
                p->EffectiveRemoteId()};
}

// The ESP groups a peer uses, in a stable order.
std::set<std::string> EspGroupsOf(const Peer& p) {
  std::set<std::string> g;
  if (p.route_based() && !p.vti_esp_group.empty()) g.insert(p.vti_esp_group);
  for (const Tunnel& t : p.tunnels) g.insert(t.esp_group);
  if (!p.default_esp_group.empty()) g.insert(p.default_esp_group);
  return g;
}

absl::StatusOr<std::string> VyattaCommands(const Model& m, const Mirror& x) {
  const Peer& p = *x.peer;
  std::string out;
  auto set = [&out](const std::string& line) { absl::StrAppend(&out, "set ", line, "\n"); };
  const std::string vpn = "security vpn ipsec";
  auto ig = m.ike_groups.find(p.ike_group);
  if (ig == m.ike_groups.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("peer ", p.key, ": ike-group '", p.ike_group, "' is not configured"));
  }
  const IkeGroup& g = ig->second;
  std::string ike = absl::StrCat(vpn, " ike-group ", g.name);
  set(absl::StrCat(ike, " ike-version 2"));
  set(absl::StrCat(ike, " lifetime ", g.lifetime));
  for (const IkeProposal& pr : g.proposals) {
    std::string pp = absl::StrCat(ike, " proposal ", pr.number);
    if (pr.dh_group != 0) set(absl::StrCat(pp, " dh-group ", pr.dh_group));
    set(absl::StrCat(pp, " encryption ", pr.encryption));
    set(absl::StrCat(pp, " hash ", pr.hash));
    if (!pr.prf.empty()) set(absl::StrCat(pp, " prf ", pr.prf));
  }
  if (g.dpd.enabled) {
    set(absl::StrCat(ike, " dead-peer-detection action ", g.dpd.action));
    set(absl::StrCat(ike, " dead-peer-detection interval ", g.dpd.interval));
    set(absl::StrCat(ike, " dead-peer-detection timeout ", g.dpd.timeout));
  }
  for (const std::string& name : EspGroupsOf(p)) {
    auto eg = m.esp_groups.find(name);
    if (eg == m.esp_groups.end()) continue;
    const EspGroup& e = eg->second;
    std::string esp = absl::StrCat(vpn, " esp-group ", e.name);
    set(absl::StrCat(esp, " lifetime ", e.lifetime));
    if (e.life_bytes != 0) set(absl::StrCat(esp, " life-bytes ", e.life_bytes));
    if (e.life_packets != 0) set(absl::StrCat(esp, " life-packets ", e.life_packets));
    set(absl::StrCat(esp, " pfs ", e.pfs));
    if (e.esn) set(absl::StrCat(esp, " esn enable"));
    for (const EspProposal& pr : e.proposals) {
      std::string pp = absl::StrCat(esp, " proposal ", pr.number);
      set(absl::StrCat(pp, " encryption ", pr.encryption));
      set(absl::StrCat(pp, " hash ", pr.hash));
    }
  }
  std::string peer = absl::StrCat(vpn, " site-to-site peer ", x.our_address);
  set(absl::StrCat(peer, " authentication id ", Q(x.their_id)));
  set(absl::StrCat(peer, " authentication mode pre-shared-secret"));
  set(absl::StrCat(peer, " authentication pre-shared-secret ", Q(p.psk)));
  set(absl::StrCat(peer, " authentication remote-id ", Q(x.our_id)));
  // Both ends may initiate (the seeds do); a peer we only answer must start the tunnel.
  set(absl::StrCat(peer, " connection-type ",
                   p.connection_type == "respond" ? "initiate" : p.connection_type));
  set(absl::StrCat(peer, " ike-group ", g.name));
  set(absl::StrCat(peer, " local-address ", x.their_address));
  if (!p.description.empty()) set(absl::StrCat(peer, " description ", Q("to " + p.description)));
  if (p.force_udp_encapsulation) set(absl::StrCat(peer, " force-udp-encapsulation"));
  if (p.replay_window != 1024) set(absl::StrCat(peer, " replay-window ", p.replay_window));
  if (!p.default_esp_group.empty()) {
    set(absl::StrCat(peer, " default-esp-group ", p.default_esp_group));
  }
  for (const Tunnel& t : p.tunnels) {
    std::string tn = absl::StrCat(peer, " tunnel ", t.id);
    const TrafficSelector& s = t.selector;
    if (s.remote) set(absl::StrCat(tn, " local prefix ", s.remote->ToString()));
    if (!s.remote_port.empty()) set(absl::StrCat(tn, " local port ", s.remote_port));
    if (s.local) set(absl::StrCat(tn, " remote prefix ", s.local->ToString()));
    if (!s.local_port.empty()) set(absl::StrCat(tn, " remote port ", s.local_port));
    if (!s.protocol.empty()) set(absl::StrCat(tn, " protocol ", s.protocol));
    if (t.esp_group != p.default_esp_group) set(absl::StrCat(tn, " esp-group ", t.esp_group));
    if (t.disabled) set(absl::StrCat(tn, " disable"));
  }
  if (p.route_based()) {
    set(absl::StrCat(peer, " vti bind ", p.vti_bind));
    set(absl::StrCat(peer, " vti esp-group ", p.vti_esp_group));
    auto vti = m.interfaces.find(p.vti_bind);
    if (vti != m.interfaces.end()) {
      for (const IpPrefix& a : vti->second.addresses) {
        absl::StatusOr<std::string> mirrored = MirroredVtiAddress(a);
        if (!mirrored.ok()) return mirrored.status();
        set(absl::StrCat("interfaces vti ", p.vti_bind, " address ", *mirrored));
      }
    }
    for (const std::string& lan : OurLans(m, x.our_address)) {
      const bool v6 = lan.find(':') != std::string::npos;
      set(absl::StrCat("protocols static interface-route", v6 ? "6 " : " ", lan,
                       " next-hop-interface ", p.vti_bind));
    }
  }
  if (m.ike.make_before_break) set("security vpn ike make-before-break");
  return out;
}

// strongSwan's names for the configuration's algorithms.
std::string SwanEncryption(const std::string& vyatta) {
  // Vyatta's aesNgcm128 is AES-GCM with a 128-bit (16-byte) ICV: strongSwan's aesNgcm16.
  if (absl::EndsWith(vyatta, "gcm128")) {
    return absl::StrCat(absl::StripSuffix(vyatta, "gcm128"), "gcm16");
  }
  return vyatta;  // aes128, aes256, 3des
}

std::string SwanHash(const std::string& vyatta) {
  if (absl::StartsWith(vyatta, "sha2_")) return absl::StrCat("sha", vyatta.substr(5));
  return vyatta;  // sha1, md5, null
}

std::string SwanDh(int group) {
  switch (group) {
    case 2:
      return "modp1024";
    case 5:
      return "modp1536";
    case 14:
      return "modp2048";
    case 15:
      return "modp3072";
    case 16:
      return "modp4096";
    case 17:
      return "modp6144";
    case 18:
      return "modp8192";
    case 19:
      return "ecp256";
    case 20:
      return "ecp384";
    case 21:
      return "ecp521";
    case 31:
      return "curve25519";
    default:
      return absl::StrCat("dh", group);
  }
}

std::string SwanPrf(const IkeProposal& p) {
  if (!p.prf.empty()) return p.prf;  // prfsha256: the same spelling
  return absl::StrCat("prf", SwanHash(p.hash));
}

// strongSwan reads a '.' in a section name as a path separator: "peer-192.0.2.1" would nest.
std::string SectionName(const std::string& address) {
  std::string out = absl::StrCat("peer-", address);
  for (char& c : out) {
    if (c == '.' || c == ':') c = '-';
  }
  return out;
}

absl::StatusOr<std::string> Swanctl(const Model& m, const Mirror& x) {
  const Peer& p = *x.peer;
  const std::string section = SectionName(x.our_address);
  auto ig = m.ike_groups.find(p.ike_group);
  if (ig == m.ike_groups.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("peer ", p.key, ": ike-group '", p.ike_group, "' is not configured"));
  }
  const IkeGroup& g = ig->second;
  std::vector<std::string> ike;
  int ike_dh = 0;
  for (const IkeProposal& pr : g.proposals) {
    const EncryptionName* e = FindEncryption(pr.encryption);
    std::vector<std::string> parts = {SwanEncryption(pr.encryption)};
    if (e != nullptr && e->aead) {
      parts.push_back(SwanPrf(pr));
    } else {
      parts.push_back(SwanHash(pr.hash));
      if (!pr.prf.empty()) parts.push_back(pr.prf);
    }
    if (pr.dh_group != 0) parts.push_back(SwanDh(pr.dh_group));
    if (ike_dh == 0) ike_dh = pr.dh_group;
    ike.push_back(absl::StrJoin(parts, "-"));
  }
  std::string out = absl::StrCat(
      "# The other end of peer ", p.key, ", mirrored by `vpnctl generate vpn peer-config`.\n",
      "# It holds the pre-shared secret.\n", "connections {\n", "    ", section, " {\n",
      "        version = 2\n", "        local_addrs = ", x.their_address, "\n",
      "        remote_addrs = ", x.our_address, "\n",
      "        proposals = ", absl::StrJoin(ike, ","), "\n", "        rekey_time = ", g.lifetime,
      "s\n", "        mobike = no\n");
  if (p.force_udp_encapsulation) out += "        encap = yes\n";
  if (g.dpd.enabled) absl::StrAppend(&out, "        dpd_delay = ", g.dpd.interval, "s\n");
  absl::StrAppend(&out, "        local {\n            auth = psk\n            id = ", x.their_id,
                  "\n        }\n        remote {\n            auth = psk\n            id = ",
                  x.our_id, "\n        }\n        children {\n");
  auto child = [&](const std::string& name, const std::string& local_ts,
                   const std::string& remote_ts, const std::string& esp_group) {
    auto eg = m.esp_groups.find(esp_group);
    std::vector<std::string> esp;
    uint32_t lifetime = 3600;
    if (eg != m.esp_groups.end()) {
      const EspGroup& e = eg->second;
      lifetime = e.lifetime;
      int pfs = e.PfsGroup(ike_dh);
      for (const EspProposal& pr : e.proposals) {
        std::vector<std::string> parts = {SwanEncryption(pr.encryption)};
        if (pr.hash != "null") parts.push_back(SwanHash(pr.hash));
        if (pfs != 0) parts.push_back(SwanDh(pfs));
        if (e.esn) parts.push_back("esn");
        esp.push_back(absl::StrJoin(parts, "-"));
      }
    }
    std::string dpd_action = g.dpd.action == "hold" ? "trap" : g.dpd.action;
    absl::StrAppend(&out, "            ", name, " {\n", "                mode = tunnel\n",
                    "                local_ts = ", local_ts, "\n",
                    "                remote_ts = ", remote_ts, "\n",
                    "                esp_proposals = ", absl::StrJoin(esp, ","), "\n",
                    "                rekey_time = ", lifetime, "s\n");
    // strongSwan's default window is 32; the kernel backends take any size.
    absl::StrAppend(&out, "                replay_window = ", p.replay_window, "\n");
    if (g.dpd.enabled) absl::StrAppend(&out, "                dpd_action = ", dpd_action, "\n");
    absl::StrAppend(
        &out, "                start_action = ",
        p.connection_type == "respond" || p.connection_type == "initiate" ? "start" : "trap",
        "\n            }\n");
  };
  if (p.route_based()) {
    // A route-based tunnel carries everything its routes send: strongSwan's equivalent is an
    // XFRM interface (if_id_in/if_id_out) with routes to our LANs into it.
    std::string lans = absl::StrJoin(OurLans(m, x.our_address), ", ");
    absl::StrAppend(&out,
                    "            # route-based: bind to an XFRM interface (if_id_in/out) and "
                    "route ",
                    lans.empty() ? "our LANs" : lans, " into it\n");
    // The selectors vpnd proposes for the VTI (config::VtiFamilies): 0.0.0.0/0 and/or ::/0.
    std::vector<std::string> any;
    for (int f : VtiFamilies(m, p)) any.push_back(f == 4 ? "0.0.0.0/0" : "::/0");
    child("vti", absl::StrJoin(any, ","), absl::StrJoin(any, ","), p.vti_esp_group);
  }
  for (const Tunnel& t : p.tunnels) {
    if (t.disabled) continue;
    auto ts = [&](const std::optional<IpPrefix>& pr, const std::string& port) {
      std::string s = pr ? pr->ToString() : "0.0.0.0/0";
      if (!t.selector.protocol.empty() || !port.empty()) {
        absl::StrAppend(&s, "[", t.selector.protocol.empty() ? "%any" : t.selector.protocol,
                        port.empty() ? "" : "/" + port, "]");
      }
      return s;
    };
    child(absl::StrCat("tunnel-", t.id), ts(t.selector.remote, t.selector.remote_port),
          ts(t.selector.local, t.selector.local_port), t.esp_group);
  }
  absl::StrAppend(&out, "        }\n    }\n}\nsecrets {\n    ike-", section,
                  " {\n        id-a = ", x.their_id, "\n        id-b = ", x.our_id,
                  "\n        secret = \"", p.psk, "\"\n    }\n}\n");
  return out;
}

// What a real Vyatta 5600 does not do with these commands (vpn-config.pl): tunnels whose
// selectors are not of the outer family ("IPv4 over IPv6 IPsec is not supported" and back), and
// a VTI that carries the other family too (its VTI proposes only the outer family). Portcullis
// takes both; the VyOS and swanctl formats carry them to a peer that does.
std::string VyattaFamilyWarnings(const Model& m, const Mirror& x) {
  const Peer& p = *x.peer;
  auto outer = IpAddress::Parse(x.our_address);
  if (!outer) return "";
  const int fam = outer->is_v4() ? 4 : 6;
  const char* name = fam == 4 ? "IPv4" : "IPv6";
  std::string out;
  for (const Tunnel& t : p.tunnels) {
    if (t.disabled || !t.selector.local || (t.selector.local->address.is_v4() ? 4 : 6) == fam)
      continue;
    absl::StrAppend(&out, "# warning: tunnel ", t.id, " is ", fam == 4 ? "IPv6" : "IPv4", " over ",
                    name,
                    ", which a Vyatta 5600 refuses: use format vyos or swanctl for that peer\n");
  }
  if (p.route_based()) {
    std::vector<int> f = VtiFamilies(m, p);
    if (f.size() > 1 || (f.size() == 1 && f[0] != fam)) {
      absl::StrAppend(&out, "# warning: ", p.vti_bind, " carries ",
                      f.size() > 1 ? "IPv4 and IPv6" : (fam == 4 ? "IPv6" : "IPv4"),
                      ", and a Vyatta 5600 VTI proposes only ", name,
                      " selectors: the rest is lost; use format vyos or swanctl for that peer\n");
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> GeneratePeerConfig(const Model& ours, absl::string_view peer,
                                               PeerConfigFormat format) {
  absl::StatusOr<Mirror> x = MirrorOf(ours, peer);
  if (!x.ok()) return x.status();
  if (format == PeerConfigFormat::kSwanctl) return Swanctl(ours, *x);
  absl::StatusOr<std::string> vyatta = VyattaCommands(ours, *x);
  if (!vyatta.ok()) return vyatta.status();
  std::string header = absl::StrCat("# The other end of peer ", x->peer->key,
                                    ", mirrored by `vpnctl generate vpn peer-config`.\n"
                                    "# It holds the pre-shared secret.\n");
  if (format == PeerConfigFormat::kVyatta) return header + VyattaFamilyWarnings(ours, *x) + *vyatta;
  // VyOS: the same tree, rendered by the VyOS dialect (which also reads it back).
  LoadedConfig loaded = LoadConfigText(*vyatta, "generated");
  if (!loaded.ok()) {
    std::string errs;
    for (const Diagnostic& d : loaded.diags.Sorted()) absl::StrAppend(&errs, d.ToString(), "\n");
    return absl::InternalError(absl::StrCat("the generated configuration does not load:\n", errs));
  }
  DisplayOptions o;
  o.dialect = Dialect::kVyos;
  o.commands = true;
  o.show_secrets = true;
  return header + ShowConfiguration(loaded.tree, o);
}

}  // namespace portcullis::config
