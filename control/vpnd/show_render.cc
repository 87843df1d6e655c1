#include "control/vpnd/show_render.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "control/vpnd/ike_algorithm_names.h"
#include "control/vpnd/json_writer.h"
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

std::vector<const IkeSa*> SasOf(const ike::IkeManager& m, const IkeSaConfig& c) {
  std::vector<const IkeSa*> out;
  for (const IkeSa* sa : m.Sas()) {
    if (sa->config().name == c.name && sa->state() != IkeSa::State::kRekeyed) out.push_back(sa);
  }
  return out;
}

std::string RTrim(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string PeerHeader(const IkeSaConfig& c) {
  std::string peer = c.remote_any ? c.remote_id_text : c.remote.ToString();
  if (c.remote_id_text != peer) peer = absl::StrCat(c.remote_id_text, " / ", peer);
  std::string local = c.local.is_unspecified() ? c.local_id_text : c.local.ToString();
  if (c.local_id_text != local) local = absl::StrCat(c.local_id_text, " / ", local);
  std::string out =
      "Peer ID / IP                            Local ID / IP\n"
      "------------                            -------------\n";
  absl::StrAppend(&out, RTrim(absl::StrFormat("%-39s %-39s", peer, local)), "\n");
  if (!c.description.empty()) absl::StrAppend(&out, "\n    Description: ", c.description, "\n");
  return out;
}

std::string SpiHex(const ike::IkeSpi& s) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
}

std::string Ago(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s < 0) s = 0;
  if (s < 60) return absl::StrCat(s, s == 1 ? " second" : " seconds");
  if (s < 3600) return absl::StrCat(s / 60, s / 60 == 1 ? " minute" : " minutes");
  if (s < 86400) return absl::StrCat(s / 3600, s / 3600 == 1 ? " hour" : " hours");
  return absl::StrCat(s / 86400, s / 86400 == 1 ? " day" : " days");
}

std::string StateWord(const IkeSa* sa) {
  if (sa == nullptr) return "down";
  return sa->state() == IkeSa::State::kEstablished ? "up" : "init";
}

std::string ChildSuiteJson(const ChildSa& c) {
  return ike::SuiteString(c.suite);
}

// A selector as Vyatta shows it: network, protocol and port in their own fields.
struct TsFields {
  std::string net, protocol, port;
};

TsFields FieldsOf(const std::vector<ike::TrafficSelector>& list) {
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

// The CHILD SAs of `sas` (nullptr entries skipped), config by config.
std::vector<std::pair<const ike::ChildConfig*, const ChildSa*>> TunnelsOf(
    const std::vector<const IkeSa*>& sas, const IkeSaConfig& c, const ShowFilter& f) {
  std::vector<const ChildSa*> children;
  for (const IkeSa* sa : sas) {
    if (sa == nullptr) continue;
    for (const auto& ch : sa->children()) {
      if (ChildMatches(*ch, f)) children.push_back(ch.get());
    }
  }
  std::vector<std::pair<const ike::ChildConfig*, const ChildSa*>> out;
  for (const ike::ChildConfig& cc : c.children) {
    if (f.vti_only && !cc.vti) continue;
    if (f.tunnel && (cc.vti || cc.tunnel_id != *f.tunnel)) continue;
    bool any = false;
    for (const ChildSa* ch : children) {
      if (ch->name != cc.name) continue;
      out.emplace_back(&cc, ch);
      any = true;
    }
    if (!any) out.emplace_back(&cc, nullptr);
  }
  return out;
}

bool ChildUp(const ChildSa& ch) {
  return ch.state == ChildSa::State::kInstalled || ch.state == ChildSa::State::kRekeying;
}

}  // namespace

std::string HumanBytes(uint64_t b) {
  const double k = 1024.0;
  if (b >= k * k * k) return absl::StrFormat("%.1fG", b / (k * k * k));
  if (b >= k * k) return absl::StrFormat("%.1fM", b / (k * k));
  if (b >= k) return absl::StrFormat("%.1fK", b / k);
  return absl::StrCat(b);
}

std::string ShowIkeSa(const ike::IkeManager& m, const std::vector<const IkeSaConfig*>& peers,
                      const ShowFilter& f, absl::Time now) {
  JsonWriter j;
  std::string out;
  j.BeginArray();
  for (const IkeSaConfig* c : peers) {
    if (!Matches(*c, f.peer)) continue;
    std::vector<const IkeSa*> sas = SasOf(m, *c);
    if (sas.empty()) sas.push_back(nullptr);
    absl::StrAppend(&out, PeerHeader(*c), "\n");
    absl::StrAppend(&out,
                    "    State    Encrypt       Hash    D-H Grp  A-Time  L-Time IKEv\n"
                    "    -----  ------------  --------  -------  ------  ------ ----\n");
    for (const IkeSa* sa : sas) {
      std::string enc = "n/a", hash = "n/a", dh = "n/a", atime = "0";
      if (sa != nullptr && sa->state() == IkeSa::State::kEstablished) {
        enc = VyattaEncryption(sa->suite.encr, sa->suite.encr_key_bits);
        hash = sa->suite.integ == ike::IntegId::kNone ? VyattaPrf(sa->suite.prf)
                                                      : VyattaHash(sa->suite.integ);
        dh = absl::StrCat(static_cast<int>(sa->suite.dh));
        atime = absl::StrCat(absl::ToInt64Seconds(now - sa->established_at()));
      }
      absl::StrAppend(
          &out,
          RTrim(absl::StrFormat("    %-5s  %-12s  %-8s  %-7s  %-6s  %-6s  %s", StateWord(sa), enc,
                                hash, dh, atime, absl::StrCat(c->ike_lifetime), "2")),
          "\n");
      j.BeginObject()
          .Field("peer", c->name)
          .Field("peer_id", c->remote_id_text)
          .Field("peer_ip", c->remote_any ? std::string() : c->remote.ToString())
          .Field("local_id", c->local_id_text)
          .Field("local_ip", c->local.is_unspecified() ? std::string() : c->local.ToString())
          .Field("description", c->description)
          .Field("state", StateWord(sa))
          .Field("encryption", enc)
          .Field("hash", hash)
          .Field("dh_group", dh)
          .Field("active_time", atime == "0" ? int64_t{0} : std::stoll(atime))
          .Field("lifetime", c->ike_lifetime)
          .Field("ike_version", 2);
      if (sa != nullptr) {
        j.Field("unique_id", sa->unique_id())
            .Field("spi_i", SpiHex(sa->spi_i()))
            .Field("spi_r", SpiHex(sa->spi_r()))
            .Field("initiator", sa->original_initiator())
            .Field("nat_local", sa->nat_local)
            .Field("nat_remote", sa->nat_remote)
            .Field("local_endpoint", sa->local().ToString())
            .Field("remote_endpoint", sa->remote().ToString())
            .Field("ike_state", std::string(ike::IkeSaStateName(sa->state())));
      }
      j.EndObject();
    }
    out += "\n";
  }
  j.EndArray();
  if (f.json) return j.str() + "\n";
  return out;
}

// The per-peer tunnel tables of `show vpn ipsec sa` and `... statistics`: for each peer the
// filter lets through, its header line and the column heading, then `row` for each tunnel (its
// child SA, or null when the tunnel is down) adds the tunnel's lines and JSON objects.
template <class Row>
std::string TunnelTables(const ike::IkeManager& m, const std::vector<const IkeSaConfig*>& peers,
                         const ShowFilter& f, const char* heading, Row row) {
  JsonWriter j;
  std::string out;
  j.BeginArray();
  for (const IkeSaConfig* c : peers) {
    if (!Matches(*c, f.peer)) continue;
    absl::StrAppend(&out, PeerHeader(*c), "\n", heading);
    for (const auto& [cc, ch] : TunnelsOf(SasOf(m, *c), *c, f)) row(c, *cc, ch, out, j);
    out += "\n";
  }
  j.EndArray();
  if (f.json) return j.str() + "\n";
  return out;
}

std::string ShowIpsecSa(const ike::IkeManager& m, const std::vector<const IkeSaConfig*>& peers,
                        const ShowFilter& f, absl::Time now) {
  const char* heading =
      "    Tunnel  Id          State  Bytes Out/In   Encrypt       Hash      DH A-Time  L-Time\n"
      "    ------  ----------  -----  -------------  ------------  --------  -- ------  "
      "------\n";
  return TunnelTables(
      m, peers, f, heading,
      [&](const IkeSaConfig* c, const ike::ChildConfig& cc, const ChildSa* ch, std::string& out,
          JsonWriter& j) {
        std::string tunnel = cc.vti ? "vti" : absl::StrCat(cc.tunnel_id);
        if (ch == nullptr) {
          absl::StrAppend(
              &out,
              RTrim(absl::StrFormat("    %-6s  %-10s  %-5s  %-13s  %-12s  %-8s  %-2s %-6s  %s",
                                    tunnel, "", "down", "n/a", "n/a", "n/a", "n/a", "n/a",
                                    absl::StrCat(cc.lifetime))),
              "\n");
          j.BeginObject()
              .Field("peer", c->name)
              .Field("tunnel", tunnel)
              .Field("state", std::string("down"))
              .Field("lifetime", cc.lifetime)
              .EndObject();
          return;
        }
        std::string enc = VyattaEncryption(ch->suite.encr, ch->suite.encr_key_bits);
        std::string hash = VyattaHash(ch->suite.integ);
        std::string dh = ch->suite.pfs == ike::DhGroup::kNone
                             ? "n/a"
                             : absl::StrCat(static_cast<int>(ch->suite.pfs));
        int64_t atime = absl::ToInt64Seconds(now - ch->installed);
        std::string state = ChildUp(*ch) ? "up" : "down";
        absl::StrAppend(&out,
                        RTrim(absl::StrFormat(
                            "    %-6s  %-10s  %-5s  %-13s  %-12s  %-8s  %-2s %-6s  %s", tunnel,
                            absl::StrCat(ch->unique_id), state,
                            absl::StrCat(HumanBytes(ch->bytes_out), "/", HumanBytes(ch->bytes_in)),
                            enc, hash, dh, absl::StrCat(atime), absl::StrCat(cc.lifetime))),
                        "\n");
        j.BeginObject()
            .Field("peer", c->name)
            .Field("tunnel", tunnel)
            .Field("id", ch->unique_id)
            .Field("state", state)
            .Field("bytes_out", ch->bytes_out)
            .Field("bytes_in", ch->bytes_in)
            .Field("packets_out", ch->packets_out)
            .Field("packets_in", ch->packets_in)
            .Field("encryption", enc)
            .Field("hash", hash)
            .Field("dh_group", dh)
            .Field("active_time", atime)
            .Field("lifetime", cc.lifetime)
            .Field("spi_in", absl::StrFormat("%08x", ch->spi_in))
            .Field("spi_out", absl::StrFormat("%08x", ch->spi_out))
            .Field("reqid", ch->reqid)
            .Field("proposal", ChildSuiteJson(*ch))
            .Field("local_ts", ike::TsListToString(ch->local_ts))
            .Field("remote_ts", ike::TsListToString(ch->remote_ts))
            .Field("udp_encap", ch->encap)
            .Field("child_state", std::string(ike::ChildStateName(ch->state)))
            .EndObject();
      });
}

std::string ShowIpsecSaDetail(const ike::IkeManager& m,
                              const std::vector<const IkeSaConfig*>& peers, const ShowFilter& f,
                              absl::Time now) {
  JsonWriter j;
  std::string out;
  j.BeginArray();
  auto row = [&out](const std::string& label, const std::string& value, int indent) {
    absl::StrAppend(&out, std::string(indent, ' '),
                    RTrim(absl::StrFormat("%-24s%s", label + ":", value)), "\n");
  };
  for (const IkeSaConfig* c : peers) {
    if (!Matches(*c, f.peer)) continue;
    // One block per established IKE SA: a config without an address ("peer any") serves
    // several peers, each with its own address, identity and tunnels.
    std::vector<const IkeSa*> blocks;
    for (const IkeSa* s : SasOf(m, *c)) {
      if (s->state() == IkeSa::State::kEstablished) blocks.push_back(s);
    }
    if (blocks.empty()) blocks.push_back(nullptr);
    for (const IkeSa* sa : blocks) {
      bool nat = sa != nullptr && (sa->nat_local || sa->nat_remote || c->force_encap);
      std::string peer_ip = sa != nullptr   ? sa->remote().address.ToString()
                            : c->remote_any ? std::string("any")
                                            : c->remote.ToString();
      std::string local_ip = sa != nullptr               ? sa->local().address.ToString()
                             : c->local.is_unspecified() ? std::string("any")
                                                         : c->local.ToString();
      std::string peer_id =
          sa != nullptr && sa->peer_id() ? ike::IdToText(*sa->peer_id()) : c->remote_id_text;
      absl::StrAppend(&out, std::string(66, '-'), "\n");
      row("Peer IP", peer_ip, 0);
      row("Peer ID", peer_id, 0);
      row("Local IP", local_ip, 0);
      row("Local ID", c->local_id_text, 0);
      row("NAT Traversal", nat ? "yes" : "no", 0);
      row("NAT Source Port", nat ? absl::StrCat(sa->local().port) : "n/a", 0);
      row("NAT Dest Port", nat ? absl::StrCat(sa->remote().port) : "n/a", 0);
      out += "\n";
      if (!c->description.empty()) {
        row("Description", c->description, 0);
        out += "\n";
      }
      j.BeginObject()
          .Field("peer", c->name)
          .Field("peer_ip", peer_ip)
          .Field("peer_id", peer_id)
          .Field("local_ip", local_ip)
          .Field("local_id", c->local_id_text)
          .Field("nat_traversal", nat)
          .Field("nat_source_port", nat ? int64_t{sa->local().port} : int64_t{0})
          .Field("nat_dest_port", nat ? int64_t{sa->remote().port} : int64_t{0})
          .Field("description", c->description);
      j.Key("tunnels").BeginArray();
      for (const auto& [cc, ch] : TunnelsOf({sa}, *c, f)) {
        std::string tunnel = cc->vti ? "vti" : absl::StrCat(cc->tunnel_id);
        absl::StrAppend(&out, "    Tunnel ", tunnel, ":\n");
        TsFields local = FieldsOf(ch != nullptr ? ch->local_ts : cc->local_ts);
        TsFields remote = FieldsOf(ch != nullptr ? ch->remote_ts : cc->remote_ts);
        std::string state = ch != nullptr && ChildUp(*ch) ? "up" : "down";
        std::string id = ch != nullptr ? absl::StrCat(ch->unique_id) : "n/a";
        std::string spi_in = ch != nullptr ? absl::StrFormat("%08x", ch->spi_in) : "n/a";
        std::string spi_out = ch != nullptr ? absl::StrFormat("%08x", ch->spi_out) : "n/a";
        std::string enc =
            ch != nullptr ? VyattaEncryption(ch->suite.encr, ch->suite.encr_key_bits) : "n/a";
        std::string hash = ch != nullptr ? VyattaHash(ch->suite.integ) : "n/a";
        std::string dh = ch == nullptr || ch->suite.pfs == ike::DhGroup::kNone
                             ? "n/a"
                             : absl::StrCat(static_cast<int>(ch->suite.pfs));
        int64_t atime = ch != nullptr ? absl::ToInt64Seconds(now - ch->installed) : 0;
        row("State", state, 8);
        row("Id", id, 8);
        row("Inbound SPI", spi_in, 8);
        row("Outbound SPI", spi_out, 8);
        row("Encryption", enc, 8);
        row("Hash", hash, 8);
        row("DH Group", dh, 8);
        out += "\n";
        row("Local Net", local.net, 8);
        row("Local Protocol", local.protocol, 8);
        row("Local Port", local.port, 8);
        out += "\n";
        row("Remote Net", remote.net, 8);
        row("Remote Protocol", remote.protocol, 8);
        row("Remote Port", remote.port, 8);
        out += "\n";
        row("Inbound Bytes", ch != nullptr ? HumanBytes(ch->bytes_in) : "n/a", 8);
        row("Outbound Bytes", ch != nullptr ? HumanBytes(ch->bytes_out) : "n/a", 8);
        row("Inbound Packets", ch != nullptr ? absl::StrCat(ch->packets_in) : "n/a", 8);
        row("Outbound Packets", ch != nullptr ? absl::StrCat(ch->packets_out) : "n/a", 8);
        row("UDP Encapsulation", ch != nullptr ? (ch->encap ? "yes" : "no") : "n/a", 8);
        row("Active Time (s)", ch != nullptr ? absl::StrCat(atime) : "n/a", 8);
        row("Lifetime (s)", absl::StrCat(cc->lifetime), 8);
        std::string rekey = ch == nullptr                            ? "n/a"
                            : ch->state == ChildSa::State::kRekeying ? "in progress"
                            : ch->rekey_at == absl::InfiniteFuture()
                                ? "pending"
                                : absl::StrCat(absl::ToInt64Seconds(ch->rekey_at - now));
        row("Rekey In (s)", rekey, 8);
        out += "\n";
        j.BeginObject()
            .Field("tunnel", tunnel)
            .Field("state", state)
            .Field("id", ch != nullptr ? int64_t{ch->unique_id} : int64_t{0})
            .Field("spi_in", spi_in)
            .Field("spi_out", spi_out)
            .Field("encryption", enc)
            .Field("hash", hash)
            .Field("dh_group", dh)
            .Field("local_net", local.net)
            .Field("local_protocol", local.protocol)
            .Field("local_port", local.port)
            .Field("remote_net", remote.net)
            .Field("remote_protocol", remote.protocol)
            .Field("remote_port", remote.port)
            .Field("bytes_in", ch != nullptr ? ch->bytes_in : uint64_t{0})
            .Field("bytes_out", ch != nullptr ? ch->bytes_out : uint64_t{0})
            .Field("packets_in", ch != nullptr ? ch->packets_in : uint64_t{0})
            .Field("packets_out", ch != nullptr ? ch->packets_out : uint64_t{0})
            .Field("udp_encap", ch != nullptr && ch->encap)
            .Field("active_time", atime)
            .Field("lifetime", cc->lifetime)
            .EndObject();
      }
      j.EndArray().EndObject();
    }
  }
  j.EndArray();
  if (f.json) return j.str() + "\n";
  return out;
}

std::string ShowIpsecSaStatistics(const ike::IkeManager& m,
                                  const std::vector<const IkeSaConfig*>& peers,
                                  const ShowFilter& f) {
  const char* heading =
      "    Tunnel  Id          Dir  Source Network               Destination Network"
      "          Bytes\n"
      "    ------  ----------  ---  ---------------------------  "
      "---------------------------  -----\n";
  return TunnelTables(
      m, peers, f, heading,
      [&](const IkeSaConfig* c, const ike::ChildConfig& cc, const ChildSa* ch, std::string& out,
          JsonWriter& j) {
        std::string tunnel = cc.vti ? "vti" : absl::StrCat(cc.tunnel_id);
        std::string id = ch != nullptr ? absl::StrCat(ch->unique_id) : "";
        std::string local = FieldsOf(ch != nullptr ? ch->local_ts : cc.local_ts).net;
        std::string remote = FieldsOf(ch != nullptr ? ch->remote_ts : cc.remote_ts).net;
        for (bool in : {true, false}) {
          std::string bytes = ch == nullptr ? "n/a" : HumanBytes(in ? ch->bytes_in : ch->bytes_out);
          absl::StrAppend(&out,
                          RTrim(absl::StrFormat("    %-6s  %-10s  %-3s  %-27s  %-27s  %s", tunnel,
                                                id, in ? "in" : "out", in ? remote : local,
                                                in ? local : remote, bytes)),
                          "\n");
          j.BeginObject()
              .Field("peer", c->name)
              .Field("tunnel", tunnel)
              .Field("id", ch != nullptr ? int64_t{ch->unique_id} : int64_t{0})
              .Field("direction", std::string(in ? "in" : "out"))
              .Field("source", in ? remote : local)
              .Field("destination", in ? local : remote)
              .Field("bytes", ch == nullptr ? uint64_t{0}
                              : in          ? ch->bytes_in
                                            : ch->bytes_out)
              .Field("packets", ch == nullptr ? uint64_t{0}
                                : in          ? ch->packets_in
                                              : ch->packets_out)
              .EndObject();
        }
      });
}

std::string ShowDebugPeer(const ike::IkeManager& m, const std::vector<const IkeSaConfig*>& peers,
                          const ShowFilter& f, absl::Time now) {
  std::vector<std::string> lines;
  JsonWriter j;
  j.BeginArray();
  for (const IkeSaConfig* c : peers) {
    if (!Matches(*c, f.peer)) continue;
    const std::string& n = c->name;
    std::string local = c->local.is_unspecified() ? "%any" : c->local.ToString();
    std::string remote = c->remote_any ? "%any" : c->remote.ToString();
    lines.push_back(absl::StrCat(n, ":  ", local, "...", remote, "  IKEv2"));
    lines.push_back(
        absl::StrCat(n, ":   local:  [", c->local_id_text, "] uses pre-shared key authentication"));
    lines.push_back(absl::StrCat(n, ":   remote: [", c->remote_id_text,
                                 "] uses pre-shared key authentication"));
    for (const ike::ChildConfig& cc : c->children) {
      if (f.vti_only && !cc.vti) continue;
      if (f.tunnel && (cc.vti || cc.tunnel_id != *f.tunnel)) continue;
      lines.push_back(absl::StrCat(cc.name, ":   child:  ", ike::TsListToString(cc.local_ts),
                                   " === ", ike::TsListToString(cc.remote_ts), " TUNNEL"));
    }
    for (const IkeSa* sa : SasOf(m, *c)) {
      std::string tag = absl::StrCat(n, "[", sa->unique_id(), "]: ");
      bool up = sa->state() == IkeSa::State::kEstablished;
      lines.push_back(absl::StrCat(tag, ike::IkeSaStateName(sa->state()), " ",
                                   up ? Ago(now - sa->established_at()) : Ago(now - sa->created()),
                                   " ago, ", sa->local().ToString(), "[", c->local_id_text, "]...",
                                   sa->remote().ToString(), "[", c->remote_id_text, "]"));
      std::string rekey =
          up && sa->rekey_at() != absl::InfiniteFuture()
              ? absl::StrCat(", pre-shared key rekeying in ", Ago(sa->rekey_at() - now))
              : "";
      lines.push_back(absl::StrCat(tag, "IKEv2 SPIs: ", SpiHex(sa->spi_i()), "_i",
                                   sa->original_initiator() ? "*" : "", " ", SpiHex(sa->spi_r()),
                                   "_r", sa->original_initiator() ? "" : "*", rekey));
      if (up) {
        lines.push_back(absl::StrCat(tag, "IKE proposal: ", ike::SuiteString(sa->suite)));
      }
      j.BeginObject()
          .Field("peer", n)
          .Field("unique_id", sa->unique_id())
          .Field("state", std::string(ike::IkeSaStateName(sa->state())))
          .Field("local", sa->local().ToString())
          .Field("remote", sa->remote().ToString())
          .Field("spi_i", SpiHex(sa->spi_i()))
          .Field("spi_r", SpiHex(sa->spi_r()))
          .Field("proposal", up ? ike::SuiteString(sa->suite) : std::string());
      j.Key("children").BeginArray();
      for (const auto& ch : sa->children()) {
        if (!ChildMatches(*ch, f)) continue;
        std::string ct = absl::StrCat(ch->name, "{", ch->unique_id, "}:  ");
        lines.push_back(absl::StrFormat("%s%s, TUNNEL%s, reqid %u, ESP SPIs: %08x_i %08x_o", ct,
                                        ike::ChildStateName(ch->state), ch->encap ? "-in-UDP" : "",
                                        ch->reqid, ch->spi_in, ch->spi_out));
        std::string rk = ch->state == ChildSa::State::kRekeying ? "rekeying active"
                         : ch->rekey_at == absl::InfiniteFuture()
                             ? "rekeying pending"
                             : absl::StrCat("rekeying in ", Ago(ch->rekey_at - now));
        lines.push_back(absl::StrCat(ct, ike::SuiteString(ch->suite), ", ", ch->bytes_in,
                                     " bytes_i, ", ch->bytes_out, " bytes_o, ", rk));
        lines.push_back(absl::StrCat(ct, " ", ike::TsListToString(ch->local_ts),
                                     " === ", ike::TsListToString(ch->remote_ts)));
        j.BeginObject()
            .Field("name", ch->name)
            .Field("unique_id", ch->unique_id)
            .Field("state", std::string(ike::ChildStateName(ch->state)))
            .Field("reqid", ch->reqid)
            .Field("spi_in", absl::StrFormat("%08x", ch->spi_in))
            .Field("spi_out", absl::StrFormat("%08x", ch->spi_out))
            .Field("proposal", ike::SuiteString(ch->suite))
            .Field("bytes_in", ch->bytes_in)
            .Field("bytes_out", ch->bytes_out)
            .Field("local_ts", ike::TsListToString(ch->local_ts))
            .Field("remote_ts", ike::TsListToString(ch->remote_ts))
            .Field("udp_encap", ch->encap)
            .EndObject();
      }
      j.EndArray().EndObject();
    }
  }
  j.EndArray();
  if (f.json) return j.str() + "\n";
  std::string out;
  for (const auto& l : lines) absl::StrAppend(&out, l, "\n");
  return out;
}

}  // namespace portcullis::vpnd
