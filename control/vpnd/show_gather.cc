#include "control/vpnd/show_gather.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/vpnd/ike_algorithm_names.h"
#include "ike/sa/proposal_string.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

namespace {

using ike::ChildSa;
using ike::IkeSa;
using ike::IkeSaConfig;

bool Matches(const IkeSaConfig& c, const std::string& peer) {
  return peer.empty() || c.name == peer || c.peer_key == peer ||
         (!c.remote_any && c.remote.ToString() == peer) || c.name == "peer-" + peer;
}

bool ChildMatches(const ChildSa& c, const ShowFilter& f) {
  if (f.vti_only) return c.vti;
  if (f.tunnel) return !c.vti && c.tunnel_id == *f.tunnel;
  return true;
}

bool ChildConfigMatches(const ike::ChildConfig& cc, const ShowFilter& f) {
  if (f.vti_only && !cc.vti) return false;
  if (f.tunnel && (cc.vti || cc.tunnel_id != *f.tunnel)) return false;
  return true;
}

std::vector<const IkeSa*> SasOf(const ike::IkeManager& m, const IkeSaConfig& c) {
  std::vector<const IkeSa*> out;
  for (const IkeSa* sa : m.Sas()) {
    if (sa->config().name == c.name && sa->state() != IkeSa::State::kRekeyed) out.push_back(sa);
  }
  return out;
}

std::string SpiHex(const ike::IkeSpi& s) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
}

std::string StateWord(const IkeSa* sa) {
  if (sa == nullptr) return "down";
  return sa->state() == IkeSa::State::kEstablished ? "up" : "init";
}

// The IKE version an SA speaks. ike::IkeSa is RFC 7296 only (its decoder refuses any other major
// version), so an SA that exists speaks 2; without one there is no version to show.
std::string IkeVersion(const IkeSa* sa) {
  return sa == nullptr ? "n/a" : "2";
}

// strongSwan's auth class for what a side proves: the connection's pre-shared key (the only
// method IKE implements), or nothing required when it has none.
std::string AuthClass(const IkeSaConfig& c) {
  return c.psk.bytes().empty() ? "any" : "pre-shared key";
}

PeerHeading HeadingOf(const IkeSaConfig& c) {
  return {c.name,
          c.remote_id_text,
          c.remote_any ? std::string() : c.remote.ToString(),
          c.local_id_text,
          c.local.is_unspecified() ? std::string() : c.local.ToString(),
          c.description};
}

SelectorFields FieldsOf(const std::vector<ike::TrafficSelector>& list) {
  if (list.empty()) return {"n/a", "n/a", "n/a"};
  std::vector<std::string> nets;
  for (const ike::TrafficSelector& t : list) {
    ike::TrafficSelector bare = t;
    bare.ip_protocol = 0;
    bare.start_port = 0;
    bare.end_port = 65535;
    nets.push_back(ike::TsToString(bare));
  }
  const ike::TrafficSelector& t = list[0];
  std::string port = t.start_port == 0 && t.end_port == 65535 ? "all"
                     : t.start_port == t.end_port             ? absl::StrCat(t.start_port)
                                                  : absl::StrCat(t.start_port, "-", t.end_port);
  return {absl::StrJoin(nets, " "),
          t.ip_protocol == 0 ? std::string("all") : ike::ProtoName(t.ip_protocol), port};
}

// `m` answers for the counters (the SA installer keeps them, IKE holds none), `installer` for
// where the SAs are: IKE calls a CHILD SA installed once negotiated, whether or not anything
// holds it.
ChildRow ChildRowOf(const ike::IkeManager& m, const SaInstaller& installer, const ChildSa& ch,
                    absl::Time now) {
  const SaPlacement where = installer.Placement(ch.spi_in);
  ChildRow r;
  r.name = ch.name;
  r.id = ch.unique_id;
  r.installed = where == SaPlacement::kInstalled;
  r.up = r.installed &&
         (ch.state == ChildSa::State::kInstalled || ch.state == ChildSa::State::kRekeying);
  r.child_state = ike::ChildStateName(ch.state);
  if (ch.state == ChildSa::State::kInstalled && !r.installed)
    r.child_state = where == SaPlacement::kInstalling ? "INSTALLING" : "CREATED";
  const ike::ChildCounters n = r.installed ? m.Counters(ch) : ike::ChildCounters{};
  r.bytes_in = n.bytes_in;
  r.bytes_out = n.bytes_out;
  r.packets_in = n.packets_in;
  r.packets_out = n.packets_out;
  r.encryption = VyattaEncryption(ch.suite.encr, ch.suite.encr_key_bits);
  r.hash = VyattaHash(ch.suite.integ);
  r.dh_group =
      ch.suite.pfs == ike::DhGroup::kNone ? "n/a" : absl::StrCat(static_cast<int>(ch.suite.pfs));
  r.active_time = absl::ToInt64Seconds(now - ch.installed);
  r.spi_in = ch.spi_in;
  r.spi_out = ch.spi_out;
  r.reqid = ch.reqid;
  r.proposal = ike::SuiteString(ch.suite);
  r.local_ts = ike::TsListToString(ch.local_ts);
  r.remote_ts = ike::TsListToString(ch.remote_ts);
  r.udp_encap = ch.encap;
  r.esn = ch.suite.esn == ike::EsnId::kEsn;
  r.replay_window = ch.replay_window;
  r.rekeying = ch.state == ChildSa::State::kRekeying;
  if (ch.rekey_at != absl::InfiniteFuture()) r.rekey_in = ch.rekey_at - now;
  return r;
}

// The tunnels of `c` the filter lets through, in configuration order, each with its CHILD SAs
// among those of `sas` (nullptr entries skipped); a tunnel without one is a row of its own.
std::vector<TunnelRow> TunnelsOf(const ike::IkeManager& m, const SaInstaller& installer,
                                 const std::vector<const IkeSa*>& sas, const IkeSaConfig& c,
                                 const ShowFilter& f, absl::Time now) {
  std::vector<const ChildSa*> children;
  for (const IkeSa* sa : sas) {
    if (sa == nullptr) continue;
    for (const auto& ch : sa->children()) {
      if (ChildMatches(*ch, f)) children.push_back(ch.get());
    }
  }
  std::vector<TunnelRow> out;
  for (const ike::ChildConfig& cc : c.children) {
    if (!ChildConfigMatches(cc, f)) continue;
    auto row = [&](const ChildSa* ch) {
      TunnelRow r;
      r.tunnel = cc.vti ? "vti" : absl::StrCat(cc.tunnel_id);
      // RFC 9611: a group's CHILD SAs are a line each, as swanctl lists per-CPU SAs, named by
      // their worker ("vti/w1").
      if (ch != nullptr && ch->worker != 0) absl::StrAppend(&r.tunnel, "/w", ch->worker - 1);
      r.lifetime = cc.lifetime;
      r.local = FieldsOf(ch != nullptr ? ch->local_ts : cc.local_ts);
      r.remote = FieldsOf(ch != nullptr ? ch->remote_ts : cc.remote_ts);
      if (ch != nullptr) r.child = ChildRowOf(m, installer, *ch, now);
      return r;
    };
    bool any = false;
    for (const ChildSa* ch : children) {
      if (ch->name != cc.name) continue;
      out.push_back(row(ch));
      any = true;
    }
    if (!any) out.push_back(row(nullptr));
  }
  return out;
}

}  // namespace

std::vector<IkeSaPeer> GatherIkeSas(const ike::IkeManager& m, const SaInstaller&,
                                    const ShowPeers& peers, const ShowFilter& f, absl::Time now) {
  std::vector<IkeSaPeer> out;
  for (const IkeSaConfig* c : peers) {
    if (!Matches(*c, f.peer)) continue;
    IkeSaPeer p;
    p.heading = HeadingOf(*c);
    std::vector<const IkeSa*> sas = SasOf(m, *c);
    if (sas.empty()) sas.push_back(nullptr);
    for (const IkeSa* sa : sas) {
      IkeSaRow r;
      r.state = StateWord(sa);
      r.lifetime = c->ike_lifetime;
      r.ike_version = IkeVersion(sa);
      if (sa != nullptr && sa->state() == IkeSa::State::kEstablished) {
        r.encryption = VyattaEncryption(sa->suite.encr, sa->suite.encr_key_bits);
        // With AEAD there is no integrity algorithm: the hash that chose the PRF stands in.
        r.hash = sa->suite.integ == ike::IntegId::kNone ? VyattaPrf(sa->suite.prf)
                                                        : VyattaHash(sa->suite.integ);
        r.dh_group = absl::StrCat(static_cast<int>(sa->suite.dh));
        r.active_time = absl::ToInt64Seconds(now - sa->established_at());
      }
      if (sa != nullptr) {
        r.sa = IkeSaValues{
            sa->unique_id(),          SpiHex(sa->spi_i()),     SpiHex(sa->spi_r()),
            sa->original_initiator(), sa->nat_local,           sa->nat_remote,
            sa->local().ToString(),   sa->remote().ToString(), ike::IkeSaStateName(sa->state())};
      }
      p.sas.push_back(std::move(r));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<TunnelPeer> GatherTunnels(const ike::IkeManager& m, const SaInstaller& installer,
                                      const ShowPeers& peers, const ShowFilter& f, absl::Time now) {
  std::vector<TunnelPeer> out;
  for (const IkeSaConfig* c : peers) {
    if (!Matches(*c, f.peer)) continue;
    out.push_back({HeadingOf(*c), TunnelsOf(m, installer, SasOf(m, *c), *c, f, now)});
  }
  return out;
}

std::vector<DetailBlock> GatherIpsecSaDetail(const ike::IkeManager& m, const SaInstaller& installer,
                                             const ShowPeers& peers, const ShowFilter& f,
                                             absl::Time now) {
  std::vector<DetailBlock> out;
  for (const IkeSaConfig* c : peers) {
    if (!Matches(*c, f.peer)) continue;
    // One block per established IKE SA: a config without an address ("peer any") serves
    // several peers, each with its own address, identity and tunnels.
    std::vector<const IkeSa*> established;
    for (const IkeSa* s : SasOf(m, *c)) {
      if (s->state() == IkeSa::State::kEstablished) established.push_back(s);
    }
    if (established.empty()) established.push_back(nullptr);
    for (const IkeSa* sa : established) {
      DetailBlock b;
      b.name = c->name;
      b.peer_ip = sa != nullptr   ? sa->remote().address.ToString()
                  : c->remote_any ? std::string("any")
                                  : c->remote.ToString();
      b.local_ip = sa != nullptr               ? sa->local().address.ToString()
                   : c->local.is_unspecified() ? std::string("any")
                                               : c->local.ToString();
      b.peer_id =
          sa != nullptr && sa->peer_id() ? ike::IdToText(*sa->peer_id()) : c->remote_id_text;
      b.local_id = c->local_id_text;
      b.nat = sa != nullptr && (sa->nat_local || sa->nat_remote || c->force_encap);
      if (b.nat) {
        b.nat_source_port = sa->local().port;
        b.nat_dest_port = sa->remote().port;
      }
      b.description = c->description;
      b.tunnels = TunnelsOf(m, installer, {sa}, *c, f, now);
      out.push_back(std::move(b));
    }
  }
  return out;
}

std::vector<DebugPeer> GatherDebug(const ike::IkeManager& m, const SaInstaller& installer,
                                   const ShowPeers& peers, const ShowFilter& f, absl::Time now) {
  std::vector<DebugPeer> out;
  for (const IkeSaConfig* c : peers) {
    if (!Matches(*c, f.peer)) continue;
    DebugPeer p;
    p.name = c->name;
    p.local = c->local.is_unspecified() ? "%any" : c->local.ToString();
    p.remote = c->remote_any ? "%any" : c->remote.ToString();
    p.local_id = c->local_id_text;
    p.remote_id = c->remote_id_text;
    p.local_auth = p.remote_auth = AuthClass(*c);
    for (const ike::ChildConfig& cc : c->children) {
      if (!ChildConfigMatches(cc, f)) continue;
      p.children.push_back(
          {cc.name, ike::TsListToString(cc.local_ts), ike::TsListToString(cc.remote_ts)});
    }
    for (const IkeSa* sa : SasOf(m, *c)) {
      DebugSa s;
      s.unique_id = sa->unique_id();
      s.state = ike::IkeSaStateName(sa->state());
      s.established = sa->state() == IkeSa::State::kEstablished;
      s.age = now - (s.established ? sa->established_at() : sa->created());
      s.local = sa->local().ToString();
      s.remote = sa->remote().ToString();
      s.spi_i = SpiHex(sa->spi_i());
      s.spi_r = SpiHex(sa->spi_r());
      s.initiator = sa->original_initiator();
      s.ike_version = IkeVersion(sa);
      if (s.established && sa->rekey_at() != absl::InfiniteFuture()) {
        s.rekey_in = sa->rekey_at() - now;
      }
      s.reauth = sa->config().reauth;
      if (s.established) s.proposal = ike::SuiteString(sa->suite);
      for (const auto& ch : sa->children()) {
        if (ChildMatches(*ch, f)) s.children.push_back(ChildRowOf(m, installer, *ch, now));
      }
      p.sas.push_back(std::move(s));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace portcullis::vpnd
