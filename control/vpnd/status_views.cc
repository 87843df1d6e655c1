#include "control/vpnd/status_views.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/vpnd/json_writer.h"
#include "control/vpnd/text_table.h"
#include "ike/sa/proposal_string.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::vpnd {

namespace {

using ike::ChildSa;
using ike::IkeSa;

// Up means negotiated and held by the SA installer: IKE calls a CHILD SA installed once it is
// negotiated, whether or not anything holds it (kernel transport only logs it).
bool Installed(const SaInstaller& installer, const ChildSa& c) {
  return (c.state == ChildSa::State::kInstalled || c.state == ChildSa::State::kRekeying) &&
         installer.Placement(c.spi_in) == SaPlacement::kInstalled;
}

// The live IKE SAs of a connection, established ones first.
std::vector<const IkeSa*> SasOf(const ike::IkeManager& m, const ike::IkeSaConfig& c) {
  std::vector<const IkeSa*> out;
  for (const IkeSa* sa : m.Sas()) {
    if (sa->config().name == c.name && sa->state() != IkeSa::State::kRekeyed) out.push_back(sa);
  }
  std::stable_partition(out.begin(), out.end(),
                        [](const IkeSa* s) { return s->state() == IkeSa::State::kEstablished; });
  return out;
}

}  // namespace

IpsecStatus GatherIpsecStatus(const ike::IkeManager& m, const SaInstaller& installer,
                              const ShowPeers& peers, const config::Model* model, int64_t pid) {
  IpsecStatus s;
  s.pid = pid;
  for (const ike::IkeSaConfig* c : peers) {
    for (const IkeSa* sa : SasOf(m, *c)) {
      for (const auto& ch : sa->children()) s.active_tunnels += Installed(installer, *ch);
    }
    if (c->local.is_unspecified()) continue;
    std::string addr = c->local.ToString();
    if (std::any_of(s.interfaces.begin(), s.interfaces.end(),
                    [&](const IpsecInterface& i) { return i.address == addr; })) {
      continue;
    }
    IpsecInterface i{"", addr};
    if (model != nullptr) {
      for (const auto& [name, itf] : model->interfaces) {
        for (const config::IpPrefix& p : itf.addresses) {
          if (p.address.ToString() == addr) i.name = name;
        }
      }
    }
    s.interfaces.push_back(i);
  }
  return s;
}

std::string IpsecStatusText(const IpsecStatus& s) {
  std::string out = absl::StrCat("IPsec Process Running PID: ", s.pid, "\n\n", s.active_tunnels,
                                 " Active IPsec Tunnels\n\nIPsec Interfaces :\n");
  for (const IpsecInterface& i : s.interfaces) {
    absl::StrAppend(&out, "\t", i.name.empty() ? "-" : i.name, "\t(", i.address, ")\n");
  }
  return out;
}

std::string IpsecStatusJson(const IpsecStatus& s) {
  JsonWriter j;
  j.BeginObject().Field("pid", s.pid).Field("active_tunnels", s.active_tunnels);
  j.Key("interfaces").BeginArray();
  for (const IpsecInterface& i : s.interfaces) {
    j.BeginObject().Field("interface", i.name).Field("address", i.address).EndObject();
  }
  j.EndArray();
  if (s.restart) {
    const ResumeStats& r = *s.restart;
    j.Key("restart")
        .BeginObject()
        .Field("ike_resumed", r.ike_resumed)
        .Field("ike_refused", r.ike_refused)
        .Field("children_adopted", r.children_adopted)
        .Field("children_missing", r.children_missing)
        .Field("children_refused", r.children_refused)
        .Field("orphan_sas_removed", r.orphan_sas_removed)
        .Field("state_file_errors", r.state_file_errors)
        .Field("state_writes", r.state_writes)
        .Field("traps_kept", r.traps_kept)
        .Field("traps_refused", r.traps_refused)
        .Field("trap_policies", r.trap_policies)
        .Field("state_file_refused", r.state_file_refused)
        .EndObject();
  }
  j.EndObject();
  return j.str() + "\n";
}

std::vector<ConnectionRow> GatherConnections(const ike::IkeManager& m, const SaInstaller& installer,
                                             const ShowPeers& peers) {
  std::vector<ConnectionRow> out;
  for (const ike::IkeSaConfig* c : peers) {
    std::vector<const IkeSa*> sas = SasOf(m, *c);
    const IkeSa* sa = sas.empty() ? nullptr : sas.front();
    bool up = sa != nullptr && sa->state() == IkeSa::State::kEstablished;
    std::string remote = sa != nullptr   ? sa->remote().address.ToString()
                         : c->remote_any ? std::string("any")
                                         : c->remote.ToString();
    std::string remote_id =
        sa != nullptr && sa->peer_id() ? ike::IdToText(*sa->peer_id()) : c->remote_id_text;
    out.push_back({c->name, up ? "up" : "down", "IKEv2", remote, "-", "-", c->local_id_text,
                   remote_id, up ? ike::SuiteString(sa->suite) : "-"});
    for (const ike::ChildConfig& cc : c->children) {
      const ChildSa* child = nullptr;
      for (const IkeSa* s : sas) {
        for (const auto& ch : s->children()) {
          if (ch->name == cc.name && (child == nullptr || Installed(installer, *ch)))
            child = ch.get();
        }
      }
      bool child_up = child != nullptr && Installed(installer, *child);
      out.push_back({cc.name, child_up ? "up" : "down", "IPsec", remote,
                     ike::TsListToString(child != nullptr ? child->local_ts : cc.local_ts),
                     ike::TsListToString(child != nullptr ? child->remote_ts : cc.remote_ts),
                     c->local_id_text, remote_id, child_up ? ike::SuiteString(child->suite) : "-"});
    }
  }
  return out;
}

std::string ConnectionsText(const std::vector<ConnectionRow>& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const ConnectionRow& r : rows) {
    cells.push_back({r.connection, r.state, r.type, r.remote_address, r.local_ts, r.remote_ts,
                     r.local_id, r.remote_id, r.proposal});
  }
  return SimpleTable({"Connection", "State", "Type", "Remote address", "Local TS", "Remote TS",
                      "Local id", "Remote id", "Proposal"},
                     cells);
}

std::string ConnectionsJson(const std::vector<ConnectionRow>& rows) {
  JsonWriter j;
  j.BeginArray();
  for (const ConnectionRow& r : rows) {
    j.BeginObject()
        .Field("connection", r.connection)
        .Field("state", r.state)
        .Field("type", r.type)
        .Field("remote_address", r.remote_address)
        .Field("local_ts", r.local_ts)
        .Field("remote_ts", r.remote_ts)
        .Field("local_id", r.local_id)
        .Field("remote_id", r.remote_id)
        .Field("proposal", r.proposal)
        .EndObject();
  }
  j.EndArray();
  return j.str() + "\n";
}

std::vector<PolicyRow> GatherPolicies(const ike::IkeManager& m, const SaInstaller& installer,
                                      const ShowPeers& peers) {
  std::vector<PolicyRow> out;
  for (const ike::IkeSaConfig* c : peers) {
    for (const IkeSa* sa : SasOf(m, *c)) {
      for (const auto& ch : sa->children()) {
        // Route-based tunnels are chosen by their VTI's routes: vpnd installs no policy for them.
        if (ch->vti || !Installed(installer, *ch)) continue;
        std::string local = ch->local.address.ToString(), remote = ch->remote.address.ToString();
        for (const ike::TrafficSelector& l : ch->local_ts) {
          for (const ike::TrafficSelector& r : ch->remote_ts) {
            std::string ls = ike::TsToString(l), rs = ike::TsToString(r);
            out.push_back(
                {ch->name, ls, rs, "out", local, remote, ch->spi_out, ch->reqid, ch->encap});
            out.push_back(
                {ch->name, rs, ls, "in", remote, local, ch->spi_in, ch->reqid, ch->encap});
          }
        }
      }
    }
  }
  return out;
}

std::string PoliciesText(const std::vector<PolicyRow>& rows) {
  std::string out;
  for (const PolicyRow& p : rows) {
    absl::StrAppendFormat(&out,
                          "src %s dst %s\n\tdir %s\n\ttmpl src %s dst %s\n\t\tproto esp spi "
                          "0x%08x reqid %u mode tunnel%s\n",
                          p.src, p.dst, p.dir, p.tmpl_src, p.tmpl_dst, p.spi, p.reqid,
                          p.udp_encap ? " encap espinudp" : "");
  }
  return out;
}

std::string PoliciesJson(const std::vector<PolicyRow>& rows) {
  JsonWriter j;
  j.BeginArray();
  for (const PolicyRow& p : rows) {
    j.BeginObject()
        .Field("connection", p.connection)
        .Field("src", p.src)
        .Field("dst", p.dst)
        .Field("dir", p.dir)
        .Field("tmpl_src", p.tmpl_src)
        .Field("tmpl_dst", p.tmpl_dst)
        .Field("spi", absl::StrFormat("%08x", p.spi))
        .Field("reqid", p.reqid)
        .Field("udp_encap", p.udp_encap)
        .EndObject();
  }
  j.EndArray();
  return j.str() + "\n";
}

}  // namespace portcullis::vpnd
