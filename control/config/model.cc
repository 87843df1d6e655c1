#include "control/config/model.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "control/config/icmp_names.h"

namespace portcullis::config {

namespace {

uint64_t Num(const ConfigNode& n, absl::string_view leaf, uint64_t fallback) {
  uint64_t v = 0;
  return absl::SimpleAtoi(n.Get(leaf), &v) ? v : fallback;
}

double Dec(const ConfigNode& n, absl::string_view leaf, double fallback) {
  double v = 0;
  return absl::SimpleAtod(n.Get(leaf), &v) ? v : fallback;
}

uint32_t KeyNum(const ConfigNode& n) {
  uint32_t v = 0;
  return absl::SimpleAtoi(n.name(), &v) ? v : 0;
}

void ReadInterface(const ConfigNode& n, const std::string& type, const std::string& name, Model& m,
                   const std::string& parent = "") {
  Interface i;
  i.name = name;
  i.type = type;
  i.parent = parent;
  if (!parent.empty()) i.vlan = KeyNum(n);
  for (const auto& a : n.LeafList("address"))
    if (auto p = IpPrefix::Parse(a)) i.addresses.push_back(*p);
  // vyatta-vti-config.pl uses 1428 on a VTI without an mtu; the YANG has no default.
  uint64_t default_mtu = type == "vti" ? 1428 : (type == "virtual-feature-point" ? 16384 : 1500);
  i.mtu = static_cast<uint32_t>(n.GetIfSet("mtu") ? Num(n, "mtu", default_mtu) : default_mtu);
  i.disabled = n.Has("disable");
  i.description = n.Get("description");
  i.bond_group = n.Get("bond-group");
  if (type == "bonding" && parent.empty()) {
    i.bond_mode = n.Get("mode");
    i.bond_primary = n.Get("primary");
    if (const ConfigNode* lacp = n.Child("lacp-options"))
      i.lacp_fast = lacp->Get("periodic-rate") == "fast";
    i.bond_hash_policy = n.Get("hash-policy");
    i.bond_min_links = static_cast<uint32_t>(Num(n, "minimum-links", 1));
  }
  if (const ConfigNode* fw = n.Child("firewall")) {
    i.firewall_in = fw->LeafList("in");
    i.firewall_out = fw->LeafList("out");
    i.firewall_local = fw->LeafList("local");
  }
  if (const ConfigNode* vrrp = n.Child("vrrp")) {
    for (const ConfigNode* g : vrrp->Instances("vrrp-group")) {
      VrrpGroup vg;
      vg.id = KeyNum(*g);
      vg.virtual_addresses = g->LeafList("virtual-address");
      vg.priority = static_cast<uint32_t>(Num(*g, "priority", 100));
      for (const auto& s : g->LeafList("notify")) vg.notify_ipsec |= s == "ipsec";
      vg.version = static_cast<uint32_t>(Num(*g, "version", 2));
      vg.preempt = g->Get("preempt") != "false";
      vg.advertise_interval_cs =
          g->Has("fast-advertise-interval")
              ? static_cast<uint32_t>(Num(*g, "fast-advertise-interval", 1000)) / 10
              : static_cast<uint32_t>(Num(*g, "advertise-interval", 1)) * 100;
      vg.preempt_delay = static_cast<uint32_t>(Num(*g, "preempt-delay", 0));
      vg.start_delay = static_cast<uint32_t>(Num(*vrrp, "start-delay", 0));
      vg.disabled = g->Has("disable");
      i.vrrp.push_back(vg);
    }
  }
  m.interfaces[name] = i;
  for (const ConfigNode* vif : n.Instances("vif"))
    ReadInterface(*vif, type, absl::StrCat(name, ".", vif->name()), m, name);
}

TrafficSelector ReadSelector(const ConfigNode& t) {
  TrafficSelector s;
  if (const ConfigNode* l = t.Child("local")) {
    if (auto* p = l->GetIfSet("prefix")) s.local = IpPrefix::Parse(*p);
    s.local_port = l->Get("port");
  }
  if (const ConfigNode* r = t.Child("remote")) {
    if (auto* p = r->GetIfSet("prefix")) s.remote = IpPrefix::Parse(*p);
    s.remote_port = r->Get("port");
  }
  s.protocol = t.Get("protocol");
  return s;
}

void ReadVpn(const ConfigNode& vpn, Model& m) {
  if (const ConfigNode* ike = vpn.Child("ike")) {
    m.ike.make_before_break = ike->Has("make-before-break");
    m.ike.cookie_threshold = static_cast<uint32_t>(Num(*ike, "cookie-threshold", 10));
    m.ike.block_threshold = static_cast<uint32_t>(Num(*ike, "block-threshold", 5));
    m.ike.half_open_timeout = static_cast<uint32_t>(Num(*ike, "half-open-timeout", 30));
    m.ike.ikesa_limit = static_cast<uint32_t>(Num(*ike, "ikesa-limit", 0));
    m.ike.init_limit_half_open = static_cast<uint32_t>(Num(*ike, "init-limit-half-open", 0));
    m.ike.interfaces = ike->LeafList("interface");
    if (const ConfigNode* rt = ike->Child("retransmit")) {
      m.ike.retransmit_tries = static_cast<uint32_t>(Num(*rt, "tries", 5));
      m.ike.retransmit_timeout = Dec(*rt, "timeout", 4.0);
      m.ike.retransmit_base = Dec(*rt, "base", 1.8);
    }
  }
  const ConfigNode* ipsec = vpn.Child("ipsec");
  if (ipsec == nullptr) return;
  for (const ConfigNode* g : ipsec->Instances("ike-group")) {
    IkeGroup ig;
    ig.name = g->name();
    ig.ike_version = g->Get("ike-version");
    ig.ike_version_set = g->GetIfSet("ike-version") != nullptr;
    ig.lifetime = static_cast<uint32_t>(Num(*g, "lifetime", 28800));
    ig.strict = !g->Has("disable-strict-mode");
    ig.close_action = g->Get("close-action");
    for (const ConfigNode* p : g->Instances("proposal")) {
      IkeProposal ip;
      ip.number = KeyNum(*p);
      ip.encryption = p->Get("encryption");
      ip.hash = p->Get("hash");
      ip.dh_group = static_cast<int>(Num(*p, "dh-group", 0));
      ip.prf = p->Get("prf");
      ig.proposals.push_back(ip);
    }
    if (const ConfigNode* d = g->Child("dead-peer-detection")) {
      ig.dpd.enabled = true;
      ig.dpd.action = d->Get("action");
      ig.dpd.interval = static_cast<uint32_t>(Num(*d, "interval", 30));
      ig.dpd.timeout = static_cast<uint32_t>(Num(*d, "timeout", 120));
    }
    m.ike_groups[ig.name] = ig;
  }
  for (const ConfigNode* g : ipsec->Instances("esp-group")) {
    EspGroup eg;
    eg.name = g->name();
    eg.mode = g->Get("mode");
    eg.lifetime = static_cast<uint32_t>(Num(*g, "lifetime", 3600));
    eg.life_bytes = Num(*g, "life-bytes", 0);
    eg.life_packets = Num(*g, "life-packets", 0);
    eg.pfs = g->Get("pfs");
    eg.esn = g->Get("esn") == "enable";
    eg.strict = !g->Has("disable-strict-mode");
    for (const ConfigNode* p : g->Instances("proposal")) {
      eg.proposals.push_back({KeyNum(*p), p->Get("encryption"), p->Get("hash")});
    }
    m.esp_groups[eg.name] = eg;
  }
  const ConfigNode* s2s = ipsec->Child("site-to-site");
  if (s2s == nullptr) return;
  for (const ConfigNode* pn : s2s->Instances("peer")) {
    Peer p;
    p.key = pn->name();
    p.loc = pn->loc();
    p.address = IpAddress::Parse(p.key);
    if (const std::string* r = pn->GetIfSet("remote-address")) {
      if (auto a = IpAddress::Parse(*r)) p.address = a;
    }
    // Vyatta: `peer 0.0.0.0` and `peer 0:0:0:0:0:0:0:0` are `any` (right=%any).
    if (p.address && p.address->is_unspecified()) p.address.reset();
    p.description = pn->Get("description");
    p.local_address = pn->Get("local-address");
    p.connection_type = pn->Get("connection-type");
    p.ike_group = pn->Get("ike-group");
    p.default_esp_group = pn->Get("default-esp-group");
    p.force_udp_encapsulation = pn->Has("force-udp-encapsulation");
    p.replay_window = static_cast<uint32_t>(Num(*pn, "replay-window", 1024));
    if (const ConfigNode* a = pn->Child("authentication")) {
      p.auth_mode = a->Get("mode");
      p.psk = a->Get("pre-shared-secret");
      p.id = a->Get("id");
      p.remote_id = a->Get("remote-id");
    }
    if (const ConfigNode* v = pn->Child("vti")) {
      p.vti_bind = v->Get("bind");
      p.vti_esp_group = v->GetIfSet("esp-group") ? v->Get("esp-group") : p.default_esp_group;
    }
    for (const ConfigNode* t : pn->Instances("tunnel")) {
      Tunnel tu;
      tu.id = KeyNum(*t);
      tu.selector = ReadSelector(*t);
      tu.esp_group = t->GetIfSet("esp-group") ? t->Get("esp-group") : p.default_esp_group;
      tu.disabled = t->Has("disable");
      tu.uses = t->Get("uses");
      p.tunnels.push_back(tu);
    }
    m.peers.push_back(p);
  }
}

void ReadFirewall(const ConfigNode& sec, Model& m) {
  if (const ConfigNode* fw = sec.Child("firewall")) {
    for (const ConfigNode* rs : fw->Instances("name")) {
      FirewallRuleset r;
      r.name = rs->name();
      r.loc = rs->loc();
      r.description = rs->Get("description");
      if (auto* d = rs->GetIfSet("default-action")) {
        r.default_action = *d;
        r.default_action_set = true;
      }
      r.default_log = rs->Has("default-log");
      if (const std::string* f = rs->GetIfSet("family")) r.family = *f == "ipv6" ? 6 : 4;
      for (const ConfigNode* rn : rs->Instances("rule")) {
        FirewallRule fr = ReadFirewallRule(*rn);
        r.rules.push_back(fr);
      }
      std::sort(r.rules.begin(), r.rules.end(),
                [](const FirewallRule& a, const FirewallRule& b) { return a.number < b.number; });
      m.firewalls[r.name] = r;
    }
    if (const ConfigNode* g = fw->Child("global-state-policy")) {
      m.global_state_tcp = g->Has("tcp");
      m.global_state_udp = g->Has("udp");
      m.global_state_icmp = g->Has("icmp");
    }
  }
  if (const ConfigNode* zp = sec.Child("zone-policy")) {
    for (const ConfigNode* zn : zp->Instances("zone")) {
      Zone z;
      z.name = zn->name();
      z.local = zn->Has("local-zone");
      z.interfaces = zn->LeafList("interface");
      z.default_action = zn->Get("default-action");
      for (const ConfigNode* to : zn->Instances("to")) z.to[to->name()] = to->LeafList("firewall");
      m.zones.push_back(z);
    }
  }
}

void ReadRoutes(const ConfigNode& st, Model& m) {
  for (const char* tag : {"route", "route6"}) {
    for (const ConfigNode* r : st.Instances(tag)) {
      auto p = IpPrefix::Parse(r->name());
      if (!p) continue;
      if (r->Has("blackhole")) m.routes.push_back({*p, std::nullopt, "", 1, true});
      for (const ConfigNode* nh : r->Instances("next-hop")) {
        if (nh->Has("disable")) continue;
        m.routes.push_back({*p, IpAddress::Parse(nh->name()), nh->Get("interface"),
                            static_cast<uint32_t>(Num(*nh, "distance", 1)), false});
      }
    }
  }
  for (const char* tag : {"interface-route", "interface-route6"}) {
    for (const ConfigNode* r : st.Instances(tag)) {
      auto p = IpPrefix::Parse(r->name());
      if (!p) continue;
      for (const ConfigNode* nh : r->Instances("next-hop-interface")) {
        if (nh->Has("disable")) continue;
        m.routes.push_back(
            {*p, std::nullopt, nh->name(), static_cast<uint32_t>(Num(*nh, "distance", 1)), false});
      }
    }
  }
}

}  // namespace

FirewallRule ReadFirewallRule(const ConfigNode& rn) {
  FirewallRule fr;
  fr.number = KeyNum(rn);
  fr.loc = rn.loc();
  fr.description = rn.Get("description");
  fr.action = rn.Get("action");
  fr.protocol = rn.Get("protocol");
  if (const ConfigNode* s = rn.Child("source")) {
    fr.source_address = s->Get("address");
    fr.source_port = s->Get("port");
  }
  if (const ConfigNode* d = rn.Child("destination")) {
    fr.destination_address = d->Get("address");
    fr.destination_port = d->Get("port");
  }
  // Vyatta's `state enable` keeps state; VyOS's states (and ours in `state`) match it.
  for (const std::string& st : rn.LeafList("state")) {
    if (st == "enable") {
      fr.state = true;
    } else if (st != "disable") {
      fr.match_state.push_back(st);
    }
  }
  for (const std::string& st : rn.LeafList("match-state")) {
    if (std::find(fr.match_state.begin(), fr.match_state.end(), st) == fr.match_state.end())
      fr.match_state.push_back(st);
  }
  if (const ConfigNode* ic = rn.Child("icmp")) {
    if (ic->GetIfSet("type")) fr.icmp_type = static_cast<int>(Num(*ic, "type", 0));
    if (ic->GetIfSet("code")) fr.icmp_code = static_cast<int>(Num(*ic, "code", 0));
    if (const std::string* name = ic->GetIfSet("name")) {
      fr.icmp_name = *name;
      if (std::optional<IcmpName> n = FindIcmpName(*name)) {
        fr.icmp_type = n->type;
        fr.icmp_code = n->code;
      }
    }
  }
  if (const ConfigNode* ic = rn.Child("icmpv6")) {
    if (ic->GetIfSet("type")) fr.icmpv6_type = static_cast<int>(Num(*ic, "type", 0));
    if (ic->GetIfSet("code")) fr.icmpv6_code = static_cast<int>(Num(*ic, "code", 0));
    if (const std::string* name = ic->GetIfSet("name")) {
      fr.icmpv6_name = *name;
      if (std::optional<IcmpName> n = FindIcmp6Name(*name)) {
        fr.icmpv6_type = n->type;
        fr.icmpv6_code = n->code;
      }
    }
  }
  // The ruleset's family (the rule's ancestors: the `rule` tag, then the ruleset).
  for (const ConfigNode* p = rn.parent(); p != nullptr; p = p->parent()) {
    if (const std::string* f = p->GetIfSet("family")) {
      fr.family = *f == "ipv6" ? 6 : 4;
      break;
    }
    if (p->schema() != nullptr && p->name() == "firewall") break;
  }
  fr.log = rn.Has("log");
  fr.disabled = rn.Has("disable");
  return fr;
}

int EspGroup::PfsGroup(int ike_dh_group) const {
  if (pfs == "disable") return 0;
  if (pfs == "enable") return ike_dh_group;
  int g = 0;
  return absl::SimpleAtoi(absl::string_view(pfs).substr(8), &g) ? g : 0;  // "dh-groupN"
}

std::string Peer::EffectiveRemoteId() const {
  if (!remote_id.empty()) return remote_id;
  return address ? address->ToString() : key;
}

const Peer* Model::FindPeer(absl::string_view key_or_address) const {
  for (const Peer& p : peers) {
    if (p.key == key_or_address) return &p;
    if (p.address && p.address->ToString() == key_or_address) return &p;
  }
  return nullptr;
}

Model BuildModel(const ConfigTree& tree) {
  Model m;
  const ConfigNode& root = tree.root();
  if (const ConfigNode* ifs = root.Child("interfaces")) {
    for (const auto& [type, holder] : ifs->children())
      for (const auto& [name, n] : holder->children()) ReadInterface(*n, type, name, m);
  }
  if (const ConfigNode* st = root.Find({"protocols", "static"})) ReadRoutes(*st, m);
  if (const ConfigNode* groups = root.Find({"resources", "group"})) {
    for (const ConfigNode* g : groups->Instances("address-group"))
      m.address_groups[g->name()] = g->LeafList("address");
    for (const ConfigNode* g : groups->Instances("port-group"))
      m.port_groups[g->name()] = g->LeafList("port");
  }
  if (const ConfigNode* sec = root.Child("security")) {
    if (const ConfigNode* vpn = sec->Child("vpn")) ReadVpn(*vpn, m);
    ReadFirewall(*sec, m);
  }
  return m;
}

std::vector<int> VtiFamilies(const Model& m, const Peer& p) {
  bool v4 = false, v6 = false;
  if (auto vi = m.interfaces.find(p.vti_bind); vi != m.interfaces.end()) {
    for (const IpPrefix& a : vi->second.addresses) (a.address.is_v4() ? v4 : v6) = true;
  }
  // What is routed into it (interface-route/-route6, VyOS `route ... interface vtiN`): an
  // unnumbered VTI, or an IPv4-numbered one carrying IPv6 routes.
  for (const StaticRoute& r : m.routes) {
    if (!p.vti_bind.empty() && r.interface == p.vti_bind)
      (r.prefix.address.is_v4() ? v4 : v6) = true;
  }
  if (!v4 && !v6) {
    std::optional<IpAddress> local = IpAddress::Parse(p.local_address);
    bool outer_v6 = local ? local->is_v6() : p.address && p.address->is_v6();
    (outer_v6 ? v6 : v4) = true;
  }
  std::vector<int> out;
  if (v4) out.push_back(4);
  if (v6) out.push_back(6);
  return out;
}

}  // namespace portcullis::config
