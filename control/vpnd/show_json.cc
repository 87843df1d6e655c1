#include "control/vpnd/show_json.h"

#include "absl/strings/str_format.h"
#include "control/vpnd/json_writer.h"

namespace portcullis::vpnd {

namespace {

std::string Hex(uint32_t spi) {
  return absl::StrFormat("%08x", spi);
}

// The array's text, ended by a newline as every reply is.
std::string Done(JsonWriter& j) {
  j.EndArray();
  return j.str() + "\n";
}

}  // namespace

std::string IkeSaJson(const std::vector<IkeSaPeer>& peers) {
  JsonWriter j;
  j.BeginArray();
  for (const IkeSaPeer& p : peers) {
    const PeerHeading& h = p.heading;
    for (const IkeSaRow& r : p.sas) {
      j.BeginObject()
          .Field("peer", h.name)
          .Field("peer_id", h.peer_id)
          .Field("peer_ip", h.peer_ip)
          .Field("local_id", h.local_id)
          .Field("local_ip", h.local_ip)
          .Field("description", h.description)
          .Field("state", r.state)
          .Field("encryption", r.encryption)
          .Field("hash", r.hash)
          .Field("dh_group", r.dh_group)
          .Field("active_time", r.active_time)
          .Field("lifetime", r.lifetime)
          .Field("ike_version", r.ike_version);
      if (r.sa) {
        j.Field("unique_id", r.sa->unique_id)
            .Field("spi_i", r.sa->spi_i)
            .Field("spi_r", r.sa->spi_r)
            .Field("initiator", r.sa->initiator)
            .Field("nat_local", r.sa->nat_local)
            .Field("nat_remote", r.sa->nat_remote)
            .Field("local_endpoint", r.sa->local_endpoint)
            .Field("remote_endpoint", r.sa->remote_endpoint)
            .Field("ike_state", r.sa->ike_state);
      }
      j.EndObject();
    }
  }
  return Done(j);
}

std::string IpsecSaJson(const std::vector<TunnelPeer>& peers) {
  JsonWriter j;
  j.BeginArray();
  for (const TunnelPeer& p : peers) {
    for (const TunnelRow& t : p.tunnels) {
      j.BeginObject().Field("peer", p.heading.name).Field("tunnel", t.tunnel);
      if (!t.child) {
        j.Field("state", std::string("down")).Field("lifetime", t.lifetime).EndObject();
        continue;
      }
      const ChildRow& c = *t.child;
      j.Field("id", c.id)
          .Field("state", std::string(c.up ? "up" : "down"))
          .Field("installed", c.installed)
          .Field("bytes_out", c.bytes_out)
          .Field("bytes_in", c.bytes_in)
          .Field("packets_out", c.packets_out)
          .Field("packets_in", c.packets_in)
          .Field("encryption", c.encryption)
          .Field("hash", c.hash)
          .Field("dh_group", c.dh_group)
          .Field("active_time", c.active_time)
          .Field("lifetime", t.lifetime)
          .Field("spi_in", Hex(c.spi_in))
          .Field("spi_out", Hex(c.spi_out))
          .Field("reqid", c.reqid)
          .Field("proposal", c.proposal)
          .Field("local_ts", c.local_ts)
          .Field("remote_ts", c.remote_ts)
          .Field("udp_encap", c.udp_encap)
          .Field("esn", c.esn)
          .Field("replay_window", c.replay_window)
          .Field("child_state", c.child_state)
          .EndObject();
    }
  }
  return Done(j);
}

std::string IpsecSaDetailJson(const std::vector<DetailBlock>& blocks) {
  JsonWriter j;
  j.BeginArray();
  for (const DetailBlock& b : blocks) {
    j.BeginObject()
        .Field("peer", b.name)
        .Field("peer_ip", b.peer_ip)
        .Field("peer_id", b.peer_id)
        .Field("local_ip", b.local_ip)
        .Field("local_id", b.local_id)
        .Field("nat_traversal", b.nat)
        .Field("nat_source_port", int64_t{b.nat_source_port})
        .Field("nat_dest_port", int64_t{b.nat_dest_port})
        .Field("description", b.description);
    j.Key("tunnels").BeginArray();
    for (const TunnelRow& t : b.tunnels) {
      const ChildRow* c = t.child ? &*t.child : nullptr;
      std::string na = "n/a";
      j.BeginObject()
          .Field("tunnel", t.tunnel)
          .Field("state", std::string(t.up() ? "up" : "down"))
          .Field("installed", c != nullptr && c->installed)
          .Field("id", c ? int64_t{c->id} : int64_t{0})
          .Field("spi_in", c ? Hex(c->spi_in) : na)
          .Field("spi_out", c ? Hex(c->spi_out) : na)
          .Field("encryption", c ? c->encryption : na)
          .Field("hash", c ? c->hash : na)
          .Field("dh_group", c ? c->dh_group : na)
          .Field("local_net", t.local.net)
          .Field("local_protocol", t.local.protocol)
          .Field("local_port", t.local.port)
          .Field("remote_net", t.remote.net)
          .Field("remote_protocol", t.remote.protocol)
          .Field("remote_port", t.remote.port)
          .Field("bytes_in", c ? c->bytes_in : uint64_t{0})
          .Field("bytes_out", c ? c->bytes_out : uint64_t{0})
          .Field("packets_in", c ? c->packets_in : uint64_t{0})
          .Field("packets_out", c ? c->packets_out : uint64_t{0})
          .Field("udp_encap", c != nullptr && c->udp_encap)
          .Field("esn", c != nullptr && c->esn)
          .Field("replay_window", c ? c->replay_window : uint32_t{0})
          .Field("active_time", c ? c->active_time : int64_t{0})
          .Field("lifetime", t.lifetime)
          .EndObject();
    }
    j.EndArray().EndObject();
  }
  return Done(j);
}

std::string IpsecSaStatisticsJson(const std::vector<TunnelPeer>& peers) {
  JsonWriter j;
  j.BeginArray();
  for (const TunnelPeer& p : peers) {
    for (const TunnelRow& t : p.tunnels) {
      const ChildRow* c = t.child ? &*t.child : nullptr;
      for (bool in : {true, false}) {
        j.BeginObject()
            .Field("peer", p.heading.name)
            .Field("tunnel", t.tunnel)
            .Field("id", c ? int64_t{c->id} : int64_t{0})
            .Field("direction", std::string(in ? "in" : "out"))
            .Field("source", in ? t.remote.net : t.local.net)
            .Field("destination", in ? t.local.net : t.remote.net)
            .Field("bytes", c == nullptr ? uint64_t{0}
                            : in         ? c->bytes_in
                                         : c->bytes_out)
            .Field("packets", c == nullptr ? uint64_t{0}
                              : in         ? c->packets_in
                                           : c->packets_out)
            .EndObject();
      }
    }
  }
  return Done(j);
}

std::string DebugJson(const std::vector<DebugPeer>& peers) {
  JsonWriter j;
  j.BeginArray();
  for (const DebugPeer& p : peers) {
    for (const DebugSa& sa : p.sas) {
      j.BeginObject()
          .Field("peer", p.name)
          .Field("unique_id", sa.unique_id)
          .Field("state", sa.state)
          .Field("local", sa.local)
          .Field("remote", sa.remote)
          .Field("spi_i", sa.spi_i)
          .Field("spi_r", sa.spi_r)
          .Field("proposal", sa.proposal);
      j.Key("children").BeginArray();
      for (const ChildRow& c : sa.children) {
        j.BeginObject()
            .Field("name", c.name)
            .Field("unique_id", c.id)
            .Field("state", c.child_state)
            .Field("reqid", c.reqid)
            .Field("spi_in", Hex(c.spi_in))
            .Field("spi_out", Hex(c.spi_out))
            .Field("proposal", c.proposal)
            .Field("bytes_in", c.bytes_in)
            .Field("bytes_out", c.bytes_out)
            .Field("local_ts", c.local_ts)
            .Field("remote_ts", c.remote_ts)
            .Field("udp_encap", c.udp_encap)
            .EndObject();
      }
      j.EndArray().EndObject();
    }
  }
  return Done(j);
}

}  // namespace portcullis::vpnd
