#include "control/vpnd/show_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace portcullis::vpnd {

namespace {

std::string RTrim(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string PeerHeader(const PeerHeading& h) {
  std::string peer = h.peer_ip.empty() ? h.peer_id : h.peer_ip;
  if (h.peer_id != peer) peer = absl::StrCat(h.peer_id, " / ", peer);
  std::string local = h.local_ip.empty() ? h.local_id : h.local_ip;
  if (h.local_id != local) local = absl::StrCat(h.local_id, " / ", local);
  std::string out =
      "Peer ID / IP                            Local ID / IP\n"
      "------------                            -------------\n";
  absl::StrAppend(&out, RTrim(absl::StrFormat("%-39s %-39s", peer, local)), "\n");
  if (!h.description.empty()) absl::StrAppend(&out, "\n    Description: ", h.description, "\n");
  return out;
}

std::string Ago(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s < 0) s = 0;
  if (s < 60) return absl::StrCat(s, s == 1 ? " second" : " seconds");
  if (s < 3600) return absl::StrCat(s / 60, s / 60 == 1 ? " minute" : " minutes");
  if (s < 86400) return absl::StrCat(s / 3600, s / 3600 == 1 ? " hour" : " hours");
  return absl::StrCat(s / 86400, s / 86400 == 1 ? " day" : " days");
}

// The per-peer tunnel tables of `show vpn ipsec sa` and `... statistics`: for each peer its
// header and the column heading, then `row` adds each tunnel's lines.
template <class Row>
std::string TunnelTables(const std::vector<TunnelPeer>& peers, const char* heading, Row row) {
  std::string out;
  for (const TunnelPeer& p : peers) {
    absl::StrAppend(&out, PeerHeader(p.heading), "\n", heading);
    for (const TunnelRow& t : p.tunnels) row(t, out);
    out += "\n";
  }
  return out;
}

}  // namespace

std::string HumanBytes(uint64_t b) {
  const double k = 1024.0;
  if (b >= k * k * k) return absl::StrFormat("%.1fG", b / (k * k * k));
  if (b >= k * k) return absl::StrFormat("%.1fM", b / (k * k));
  if (b >= k) return absl::StrFormat("%.1fK", b / k);
  return absl::StrCat(b);
}

std::string IkeSaText(const std::vector<IkeSaPeer>& peers) {
  std::string out;
  for (const IkeSaPeer& p : peers) {
    absl::StrAppend(&out, PeerHeader(p.heading), "\n");
    absl::StrAppend(&out,
                    "    State    Encrypt       Hash    D-H Grp  A-Time  L-Time IKEv\n"
                    "    -----  ------------  --------  -------  ------  ------ ----\n");
    for (const IkeSaRow& r : p.sas) {
      absl::StrAppend(
          &out,
          RTrim(absl::StrFormat("    %-5s  %-12s  %-8s  %-7s  %-6s  %-6s  %s", r.state,
                                r.encryption, r.hash, r.dh_group, absl::StrCat(r.active_time),
                                absl::StrCat(r.lifetime), r.ike_version)),
          "\n");
    }
    out += "\n";
  }
  return out;
}

std::string IpsecSaText(const std::vector<TunnelPeer>& peers) {
  const char* heading =
      "    Tunnel  Id          State  Bytes Out/In   Encrypt       Hash      DH A-Time  L-Time\n"
      "    ------  ----------  -----  -------------  ------------  --------  -- ------  "
      "------\n";
  return TunnelTables(peers, heading, [](const TunnelRow& t, std::string& out) {
    const char* layout = "    %-6s  %-10s  %-5s  %-13s  %-12s  %-8s  %-2s %-6s  %s";
    if (!t.child) {
      absl::StrAppend(&out,
                      RTrim(absl::StrFormat(layout, t.tunnel, "", "down", "n/a", "n/a", "n/a",
                                            "n/a", "n/a", absl::StrCat(t.lifetime))),
                      "\n");
      return;
    }
    const ChildRow& c = *t.child;
    // Negotiated but not installed (kernel-socket mode): down, and no counters exist, as Vyatta
    // shows a CHILD SA its dataplane does not carry.
    absl::StrAppend(
        &out,
        RTrim(absl::StrFormat(
            layout, t.tunnel, absl::StrCat(c.id), c.up ? "up" : "down",
            c.installed ? absl::StrCat(HumanBytes(c.bytes_out), "/", HumanBytes(c.bytes_in))
                        : "n/a",
            c.encryption, c.hash, c.dh_group, absl::StrCat(c.active_time),
            absl::StrCat(t.lifetime))),
        "\n");
  });
}

std::string IpsecSaDetailText(const std::vector<DetailBlock>& blocks) {
  std::string out;
  auto row = [&out](const std::string& label, const std::string& value, int indent) {
    absl::StrAppend(&out, std::string(indent, ' '),
                    RTrim(absl::StrFormat("%-24s%s", label + ":", value)), "\n");
  };
  for (const DetailBlock& b : blocks) {
    absl::StrAppend(&out, std::string(66, '-'), "\n");
    row("Peer IP", b.peer_ip, 0);
    row("Peer ID", b.peer_id, 0);
    row("Local IP", b.local_ip, 0);
    row("Local ID", b.local_id, 0);
    row("NAT Traversal", b.nat ? "yes" : "no", 0);
    row("NAT Source Port", b.nat ? absl::StrCat(b.nat_source_port) : "n/a", 0);
    row("NAT Dest Port", b.nat ? absl::StrCat(b.nat_dest_port) : "n/a", 0);
    out += "\n";
    if (!b.description.empty()) {
      row("Description", b.description, 0);
      out += "\n";
    }
    for (const TunnelRow& t : b.tunnels) {
      const ChildRow* c = t.child ? &*t.child : nullptr;
      absl::StrAppend(&out, "    Tunnel ", t.tunnel, ":\n");
      row("State", t.up() ? "up" : "down", 8);
      row("Id", c ? absl::StrCat(c->id) : "n/a", 8);
      row("Inbound SPI", c ? absl::StrFormat("%08x", c->spi_in) : "n/a", 8);
      row("Outbound SPI", c ? absl::StrFormat("%08x", c->spi_out) : "n/a", 8);
      row("Encryption", c ? c->encryption : "n/a", 8);
      row("Hash", c ? c->hash : "n/a", 8);
      row("DH Group", c ? c->dh_group : "n/a", 8);
      out += "\n";
      row("Local Net", t.local.net, 8);
      row("Local Protocol", t.local.protocol, 8);
      row("Local Port", t.local.port, 8);
      out += "\n";
      row("Remote Net", t.remote.net, 8);
      row("Remote Protocol", t.remote.protocol, 8);
      row("Remote Port", t.remote.port, 8);
      out += "\n";
      const ChildRow* counted = c != nullptr && c->installed ? c : nullptr;
      row("Inbound Bytes", counted ? HumanBytes(counted->bytes_in) : "n/a", 8);
      row("Outbound Bytes", counted ? HumanBytes(counted->bytes_out) : "n/a", 8);
      row("Inbound Packets", counted ? absl::StrCat(counted->packets_in) : "n/a", 8);
      row("Outbound Packets", counted ? absl::StrCat(counted->packets_out) : "n/a", 8);
      row("UDP Encapsulation", c ? (c->udp_encap ? "yes" : "no") : "n/a", 8);
      // Not in Vyatta's output (its dataplane has no ESN and its generator turns anti-replay
      // off): what the inbound SA checks.
      row("ESN", c ? (c->esn ? "yes" : "no") : "n/a", 8);
      row("Replay Window", c ? (c->replay_window ? absl::StrCat(c->replay_window) : "off") : "n/a",
          8);
      row("Active Time (s)", c ? absl::StrCat(c->active_time) : "n/a", 8);
      row("Lifetime (s)", absl::StrCat(t.lifetime), 8);
      std::string rekey = c == nullptr   ? "n/a"
                          : c->rekeying  ? "in progress"
                          : !c->rekey_in ? "pending"
                                         : absl::StrCat(absl::ToInt64Seconds(*c->rekey_in));
      row("Rekey In (s)", rekey, 8);
      out += "\n";
    }
  }
  return out;
}

std::string IpsecSaStatisticsText(const std::vector<TunnelPeer>& peers) {
  const char* heading =
      "    Tunnel  Id          Dir  Source Network               Destination Network"
      "          Bytes\n"
      "    ------  ----------  ---  ---------------------------  "
      "---------------------------  -----\n";
  return TunnelTables(peers, heading, [](const TunnelRow& t, std::string& out) {
    const ChildRow* c = t.child ? &*t.child : nullptr;
    std::string id = c != nullptr ? absl::StrCat(c->id) : "";
    for (bool in : {true, false}) {
      std::string bytes =
          c == nullptr || !c->installed ? "n/a" : HumanBytes(in ? c->bytes_in : c->bytes_out);
      absl::StrAppend(&out,
                      RTrim(absl::StrFormat("    %-6s  %-10s  %-3s  %-27s  %-27s  %s", t.tunnel, id,
                                            in ? "in" : "out", in ? t.remote.net : t.local.net,
                                            in ? t.local.net : t.remote.net, bytes)),
                      "\n");
    }
  });
}

std::string DebugText(const std::vector<DebugPeer>& peers) {
  std::string out;
  auto line = [&out](auto&&... parts) { absl::StrAppend(&out, parts..., "\n"); };
  for (const DebugPeer& p : peers) {
    const std::string& n = p.name;
    line(n, ":  ", p.local, "...", p.remote, "  IKEv2");
    line(n, ":   local:  [", p.local_id, "] uses ", p.local_auth, " authentication");
    line(n, ":   remote: [", p.remote_id, "] uses ", p.remote_auth, " authentication");
    for (const DebugChildConfig& cc : p.children) {
      line(cc.name, ":   child:  ", cc.local_ts, " === ", cc.remote_ts, " TUNNEL");
    }
    for (const DebugSa& sa : p.sas) {
      std::string tag = absl::StrCat(n, "[", sa.unique_id, "]: ");
      line(tag, sa.state, " ", Ago(sa.age), " ago, ", sa.local, "[", p.local_id, "]...", sa.remote,
           "[", p.remote_id, "]");
      // As strongSwan (and so the seed's Vyatta) prints it.
      std::string rekey = sa.rekey_in ? absl::StrCat(", pre-shared key ",
                                                     sa.reauth ? "reauthentication" : "rekeying",
                                                     " in ", Ago(*sa.rekey_in))
                                      : "";
      line(tag, "IKEv", sa.ike_version, " SPIs: ", sa.spi_i, "_i", sa.initiator ? "*" : "", " ",
           sa.spi_r, "_r", sa.initiator ? "" : "*", rekey);
      if (sa.established) line(tag, "IKE proposal: ", sa.proposal);
      for (const ChildRow& c : sa.children) {
        std::string ct = absl::StrCat(c.name, "{", c.id, "}:  ");
        line(absl::StrFormat("%s%s, TUNNEL%s, reqid %u, ESP SPIs: %08x_i %08x_o", ct, c.child_state,
                             c.udp_encap ? "-in-UDP" : "", c.reqid, c.spi_in, c.spi_out));
        std::string rk = c.rekeying    ? "rekeying active"
                         : !c.rekey_in ? "rekeying pending"
                                       : absl::StrCat("rekeying in ", Ago(*c.rekey_in));
        line(ct, c.proposal, ", ", c.bytes_in, " bytes_i, ", c.bytes_out, " bytes_o, ", rk);
        line(ct, " ", c.local_ts, " === ", c.remote_ts);
      }
    }
  }
  return out;
}

}  // namespace portcullis::vpnd
