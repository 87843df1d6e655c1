#include "ike/sa/ike_sa_state.h"

#include <algorithm>
#include <limits>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ike/sa/ike_sa.h"

namespace portcullis::ike {
namespace {

constexpr absl::string_view kHeader = "portcullis-ike-state 1";

std::string Hex(absl::Span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2 + 1);
  for (uint8_t x : b) {
    out.push_back(kDigits[x >> 4]);
    out.push_back(kDigits[x & 15]);
  }
  return out.empty() ? "-" : out;  // never an empty token
}

std::optional<Bytes> Unhex(absl::string_view s) {
  if (s == "-") return Bytes{};
  if (s.size() % 2 != 0) return std::nullopt;
  Bytes out;
  out.reserve(s.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string Time(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "inf";
  if (t == absl::InfinitePast()) return "-inf";
  return absl::StrCat(absl::ToUnixMicros(t));
}

std::string Ep(const Endpoint& e) {
  return absl::StrCat(e.address.family, "/", Hex(e.address.span()), "/", e.port);
}

std::string Dgram(const Datagram& d) {
  return absl::StrCat(Ep(d.src), ",", Ep(d.dst), ",", d.non_esp_marker ? 1 : 0, ",", Hex(d.data));
}

std::string TsList(const std::vector<TrafficSelector>& v) {
  if (v.empty()) return "-";
  std::vector<std::string> parts;
  for (const TrafficSelector& t : v) {
    parts.push_back(absl::StrCat(static_cast<int>(t.type), ".", t.ip_protocol, ".", t.start_port,
                                 ".", t.end_port, ".", Hex(t.start_address), ".",
                                 Hex(t.end_address)));
  }
  return absl::StrJoin(parts, ",");
}

// One line's key=value tokens, and what went wrong reading them.
class Fields {
 public:
  Fields(absl::string_view line, int number) : number_(number) {
    for (absl::string_view tok : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      size_t eq = tok.find('=');
      if (eq == absl::string_view::npos) continue;
      map_[std::string(tok.substr(0, eq))] = std::string(tok.substr(eq + 1));
    }
  }
  const std::string* Raw(const std::string& key) {
    auto it = map_.find(key);
    if (it == map_.end()) {
      Fail(key, "missing");
      return nullptr;
    }
    return &it->second;
  }
  bool Has(const std::string& key) const { return map_.contains(key); }
  template <typename T>
  T Uint(const std::string& key) {
    const std::string* v = Raw(key);
    uint64_t x = 0;
    if (v != nullptr && (!absl::SimpleAtoi(*v, &x) || x > std::numeric_limits<T>::max())) {
      Fail(key, "not a number in range");
    }
    return static_cast<T>(x);
  }
  bool Bool(const std::string& key) { return Uint<uint8_t>(key) != 0; }
  Bytes Data(const std::string& key) {
    const std::string* v = Raw(key);
    if (v == nullptr) return {};
    std::optional<Bytes> b = Unhex(*v);
    if (!b) Fail(key, "not hex");
    return b.value_or(Bytes{});
  }
  std::string Text(const std::string& key) {
    Bytes b = Data(key);
    return std::string(b.begin(), b.end());
  }
  SecretBytes Secret(const std::string& key) {
    Bytes b = Data(key);
    SecretBytes s(b);
    std::fill(b.begin(), b.end(), 0);
    return s;
  }
  IkeSpi Spi(const std::string& key) {
    Bytes b = Data(key);
    IkeSpi s{};
    if (b.size() != s.size()) {
      Fail(key, "not 8 bytes");
      return s;
    }
    std::copy(b.begin(), b.end(), s.begin());
    return s;
  }
  absl::Time Time(const std::string& key) {
    const std::string* v = Raw(key);
    if (v == nullptr) return absl::InfinitePast();
    if (*v == "inf") return absl::InfiniteFuture();
    if (*v == "-inf") return absl::InfinitePast();
    int64_t us = 0;
    if (!absl::SimpleAtoi(*v, &us)) Fail(key, "not a time");
    return absl::FromUnixMicros(us);
  }
  Endpoint Ep(const std::string& key) {
    const std::string* v = Raw(key);
    return v == nullptr ? Endpoint{} : ParseEp(key, *v);
  }
  std::optional<Datagram> Dgram(const std::string& key) {
    const std::string* v = Raw(key);
    if (v == nullptr || *v == "-") return std::nullopt;
    std::vector<std::string> p = absl::StrSplit(*v, ',');
    Datagram d;
    if (p.size() != 4) {
      Fail(key, "not a datagram");
      return d;
    }
    d.src = ParseEp(key, p[0]);
    d.dst = ParseEp(key, p[1]);
    d.non_esp_marker = p[2] == "1";
    std::optional<Bytes> data = Unhex(p[3]);
    if (!data) Fail(key, "not hex");
    d.data = data.value_or(Bytes{});
    return d;
  }
  std::vector<TrafficSelector> Ts(const std::string& key) {
    std::vector<TrafficSelector> out;
    const std::string* v = Raw(key);
    if (v == nullptr || *v == "-") return out;
    for (absl::string_view one : absl::StrSplit(*v, ',')) {
      std::vector<std::string> p = absl::StrSplit(one, '.');
      int type = 0, proto = 0, sp = 0, ep = 0;
      std::optional<Bytes> a, b;
      if (p.size() != 6 || !absl::SimpleAtoi(p[0], &type) || !absl::SimpleAtoi(p[1], &proto) ||
          !absl::SimpleAtoi(p[2], &sp) || !absl::SimpleAtoi(p[3], &ep) || !(a = Unhex(p[4])) ||
          !(b = Unhex(p[5])) || proto < 0 || proto > 255 || sp < 0 || sp > 65535 || ep < 0 ||
          ep > 65535 || type < 0 || type > 255) {
        Fail(key, "not a traffic selector");
        return out;
      }
      TrafficSelector t;
      t.type = static_cast<TsType>(type);
      t.ip_protocol = static_cast<uint8_t>(proto);
      t.start_port = static_cast<uint16_t>(sp);
      t.end_port = static_cast<uint16_t>(ep);
      t.start_address = *a;
      t.end_address = *b;
      out.push_back(std::move(t));
    }
    return out;
  }
  absl::Status status() const { return status_; }

 private:
  Endpoint ParseEp(const std::string& key, absl::string_view v) {
    std::vector<std::string> p = absl::StrSplit(v, '/');
    Endpoint e;
    int family = 0, port = 0;
    std::optional<Bytes> addr;
    std::optional<Address> a;
    if (p.size() != 3 || !absl::SimpleAtoi(p[0], &family) || !absl::SimpleAtoi(p[2], &port) ||
        port < 0 || port > 65535 || !(addr = Unhex(p[1])) || !(a = Address::FromBytes(*addr)) ||
        a->family != family) {
      Fail(key, "not an endpoint");
      return e;
    }
    e.address = *a;
    e.port = static_cast<uint16_t>(port);
    return e;
  }
  void Fail(const std::string& key, const std::string& what) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError(absl::StrCat("line ", number_, ": ", key, " ", what));
    }
  }
  int number_;
  std::map<std::string, std::string> map_;
  absl::Status status_;
};

}  // namespace

std::string EncodeIkeState(const std::vector<IkeSaState>& sas, const std::vector<IkeTrap>& traps,
                           const IkeStateOrigin* origin) {
  std::string out = absl::StrCat(kHeader, "\n");
  if (origin != nullptr) {
    absl::StrAppend(
        &out, "origin saved=", Time(origin->saved), " name=",
        Hex({reinterpret_cast<const uint8_t*>(origin->origin.data()), origin->origin.size()}),
        "\n");
  }
  for (const IkeSaState& s : sas) {
    absl::StrAppend(
        &out, "ike name=",
        Hex({reinterpret_cast<const uint8_t*>(s.config_name.data()), s.config_name.size()}),
        " init=", s.original_initiator ? 1 : 0, " spi_i=", Hex(s.spi_i), " spi_r=", Hex(s.spi_r),
        " local=", Ep(s.local), " remote=", Ep(s.remote), " encr=", static_cast<int>(s.suite.encr),
        " encr_bits=", s.suite.encr_key_bits, " integ=", static_cast<int>(s.suite.integ),
        " prf=", static_cast<int>(s.suite.prf), " dh=", static_cast<int>(s.suite.dh),
        " sk_d=", Hex(s.keys.sk_d.span()), " sk_ai=", Hex(s.keys.sk_ai.span()),
        " sk_ar=", Hex(s.keys.sk_ar.span()), " sk_ei=", Hex(s.keys.sk_ei.span()),
        " sk_er=", Hex(s.keys.sk_er.span()), " sk_pi=", Hex(s.keys.sk_pi.span()),
        " sk_pr=", Hex(s.keys.sk_pr.span()), " nat_local=", s.nat_local ? 1 : 0,
        " nat_remote=", s.nat_remote ? 1 : 0);
    if (s.peer_id) {
      absl::StrAppend(&out, " peer_id_type=", static_cast<int>(s.peer_id->type),
                      " peer_id=", Hex(s.peer_id->data));
    }
    absl::StrAppend(
        &out, " iv_prefix=", s.iv_prefix, " iv_counter=", s.iv_counter, " my_mid=", s.my_mid,
        " peer_mid=", s.peer_mid, " established=", Time(s.established),
        " rekey_at=", Time(s.rekey_at), " request=", s.request ? Dgram(*s.request) : "-",
        " response=", s.response ? Dgram(*s.response) : "-", " response_mid=", s.response_mid,
        " response_exchange=", static_cast<int>(s.response_exchange),
        " response_request=", Hex(s.response_request), "\n");
    if (s.in_flight) {
      const InFlightExchange& x = *s.in_flight;
      absl::StrAppend(
          &out, "exchange kind=", static_cast<int>(x.kind),
          " child=", Hex({reinterpret_cast<const uint8_t*>(x.child.data()), x.child.size()}),
          " spi_in=", x.spi_in, " rekey_spi_in=", x.rekey_spi_in, " tsi=", TsList(x.tsi),
          " tsr=", TsList(x.tsr), " ike_spi=", Hex(x.ike_spi), " nonce=", Hex(x.nonce),
          " group=", static_cast<int>(x.group), " dh=", Hex(x.dh_private.span()),
          " collided=", x.collided ? 1 : 0, " peer_new_spi_in=", x.peer_new_spi_in,
          " peer_min_nonce=", Hex(x.peer_min_nonce), "\n");
    }
    for (const auto& cp : s.children) {
      const ChildSa& c = *cp;
      absl::StrAppend(
          &out,
          "child name=", Hex({reinterpret_cast<const uint8_t*>(c.name.data()), c.name.size()}),
          " tunnel=", c.tunnel_id, " vti=", c.vti ? 1 : 0, " vti_interface=",
          Hex({reinterpret_cast<const uint8_t*>(c.vti_interface.data()), c.vti_interface.size()}),
          " reqid=", c.reqid, " state=", static_cast<int>(c.state), " spi_in=", c.spi_in,
          " spi_out=", c.spi_out, " encr=", static_cast<int>(c.suite.encr),
          " encr_bits=", c.suite.encr_key_bits, " integ=", static_cast<int>(c.suite.integ),
          " esn=", static_cast<int>(c.suite.esn), " pfs=", static_cast<int>(c.suite.pfs),
          " local_ts=", TsList(c.local_ts), " remote_ts=", TsList(c.remote_ts),
          " local=", Ep(c.local), " remote=", Ep(c.remote), " encap=", c.encap ? 1 : 0,
          " outbound_active=", c.outbound_active ? 1 : 0, " replaces=", c.replaces,
          " encr_in=", Hex(c.encr_in.span()), " integ_in=", Hex(c.integ_in.span()),
          " encr_out=", Hex(c.encr_out.span()), " integ_out=", Hex(c.integ_out.span()),
          " installed=", Time(c.installed), " rekey_at=", Time(c.rekey_at),
          " expire_at=", Time(c.expire_at), " life_bytes=", c.life_bytes,
          " life_packets=", c.life_packets, " replay_window=", c.replay_window,
          " worker=", static_cast<int>(c.worker), "\n");
    }
  }
  for (const IkeTrap& t : traps) {
    absl::StrAppend(
        &out, "trap peer=", Hex({reinterpret_cast<const uint8_t*>(t.peer.data()), t.peer.size()}),
        " child=", Hex({reinterpret_cast<const uint8_t*>(t.child.data()), t.child.size()}), "\n");
  }
  absl::StrAppend(&out, "end ", sas.size(), "\n");
  return out;
}

absl::StatusOr<std::vector<IkeSaState>> DecodeIkeState(absl::string_view text,
                                                       std::vector<IkeTrap>* traps,
                                                       IkeStateOrigin* origin) {
  IkeStateOrigin read_origin;
  std::vector<IkeSaState> out;
  std::vector<IkeTrap> trap_list;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.empty() || lines[0] != kHeader) {
    return absl::InvalidArgumentError(absl::StrCat("line 1: not \"", kHeader, "\""));
  }
  bool ended = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    const int number = static_cast<int>(i + 1);
    if (line.empty()) continue;
    if (ended) return absl::InvalidArgumentError(absl::StrCat("line ", number, ": after end"));
    Fields f(line, number);
    if (absl::StartsWith(line, "end ")) {
      size_t n = 0;
      if (!absl::SimpleAtoi(line.substr(4), &n) || n != out.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "line ", number, ": end says ", line.substr(4), " IKE SAs, read ", out.size()));
      }
      ended = true;
    } else if (absl::StartsWith(line, "origin ")) {
      if (i != 1) return absl::InvalidArgumentError(absl::StrCat("line ", number, ": origin late"));
      read_origin.saved = f.Time("saved");
      read_origin.origin = f.Text("name");
      if (!f.status().ok()) return f.status();
    } else if (absl::StartsWith(line, "ike ")) {
      IkeSaState s;
      s.config_name = f.Text("name");
      s.original_initiator = f.Bool("init");
      s.spi_i = f.Spi("spi_i");
      s.spi_r = f.Spi("spi_r");
      s.local = f.Ep("local");
      s.remote = f.Ep("remote");
      s.suite.encr = static_cast<EncrId>(f.Uint<uint16_t>("encr"));
      s.suite.encr_key_bits = f.Uint<uint16_t>("encr_bits");
      s.suite.integ = static_cast<IntegId>(f.Uint<uint16_t>("integ"));
      s.suite.prf = static_cast<PrfId>(f.Uint<uint16_t>("prf"));
      s.suite.dh = static_cast<DhGroup>(f.Uint<uint16_t>("dh"));
      s.keys.sk_d = f.Secret("sk_d");
      s.keys.sk_ai = f.Secret("sk_ai");
      s.keys.sk_ar = f.Secret("sk_ar");
      s.keys.sk_ei = f.Secret("sk_ei");
      s.keys.sk_er = f.Secret("sk_er");
      s.keys.sk_pi = f.Secret("sk_pi");
      s.keys.sk_pr = f.Secret("sk_pr");
      s.nat_local = f.Bool("nat_local");
      s.nat_remote = f.Bool("nat_remote");
      if (absl::StrContains(line, " peer_id=")) {
        IdPayload id;
        id.type = static_cast<IdType>(f.Uint<uint8_t>("peer_id_type"));
        id.data = f.Data("peer_id");
        s.peer_id = std::move(id);
      }
      s.iv_prefix = f.Uint<uint32_t>("iv_prefix");
      s.iv_counter = f.Uint<uint32_t>("iv_counter");
      s.my_mid = f.Uint<uint32_t>("my_mid");
      s.peer_mid = f.Uint<uint32_t>("peer_mid");
      s.established = f.Time("established");
      s.rekey_at = f.Time("rekey_at");
      s.request = f.Dgram("request");
      s.response = f.Dgram("response");
      s.response_mid = f.Uint<uint32_t>("response_mid");
      s.response_exchange = static_cast<ExchangeType>(f.Uint<uint8_t>("response_exchange"));
      s.response_request = f.Data("response_request");
      if (s.keys.sk_d.empty() || s.keys.sk_ei.empty() || s.keys.sk_er.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("line ", number, ": IKE SA without keys"));
      }
      if (!f.status().ok()) return f.status();
      out.push_back(std::move(s));
    } else if (absl::StartsWith(line, "trap ")) {
      IkeTrap t;
      t.peer = f.Text("peer");
      t.child = f.Text("child");
      if (!f.status().ok()) return f.status();
      if (t.peer.empty())
        return absl::InvalidArgumentError(absl::StrCat("line ", number, ": trap without a peer"));
      trap_list.push_back(std::move(t));
    } else if (absl::StartsWith(line, "exchange ")) {
      if (out.empty() || out.back().in_flight || !out.back().children.empty() ||
          !out.back().request) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", number, ": exchange without its IKE SA's request"));
      }
      InFlightExchange x;
      uint8_t kind = f.Uint<uint8_t>("kind");
      x.kind = static_cast<TaskKind>(kind);
      if (x.kind != TaskKind::kChildCreate && x.kind != TaskKind::kChildRekey &&
          x.kind != TaskKind::kIkeRekey) {
        return absl::InvalidArgumentError(absl::StrCat("line ", number, ": exchange kind ", kind));
      }
      x.child = f.Text("child");
      x.spi_in = f.Uint<uint32_t>("spi_in");
      x.rekey_spi_in = f.Uint<uint32_t>("rekey_spi_in");
      x.tsi = f.Ts("tsi");
      x.tsr = f.Ts("tsr");
      x.ike_spi = f.Spi("ike_spi");
      x.nonce = f.Data("nonce");
      x.group = static_cast<DhGroup>(f.Uint<uint16_t>("group"));
      x.dh_private = f.Secret("dh");
      x.collided = f.Bool("collided");
      x.peer_new_spi_in = f.Uint<uint32_t>("peer_new_spi_in");
      x.peer_min_nonce = f.Data("peer_min_nonce");
      if (!f.status().ok()) return f.status();
      if (x.kind != TaskKind::kIkeRekey && x.spi_in < 256) {
        return absl::InvalidArgumentError(absl::StrCat("line ", number, ": reserved SPI"));
      }
      out.back().in_flight = std::move(x);
    } else if (absl::StartsWith(line, "child ")) {
      if (out.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", number, ": CHILD SA before IKE SA"));
      }
      auto c = std::make_unique<ChildSa>();
      c->name = f.Text("name");
      c->tunnel_id = f.Uint<uint32_t>("tunnel");
      c->vti = f.Bool("vti");
      c->vti_interface = f.Text("vti_interface");
      c->reqid = f.Uint<uint32_t>("reqid");
      uint8_t state = f.Uint<uint8_t>("state");
      if (state > static_cast<uint8_t>(ChildSa::State::kDeleting)) {
        return absl::InvalidArgumentError(absl::StrCat("line ", number, ": state ", state));
      }
      c->state = static_cast<ChildSa::State>(state);
      c->spi_in = f.Uint<uint32_t>("spi_in");
      c->spi_out = f.Uint<uint32_t>("spi_out");
      c->suite.encr = static_cast<EncrId>(f.Uint<uint16_t>("encr"));
      c->suite.encr_key_bits = f.Uint<uint16_t>("encr_bits");
      c->suite.integ = static_cast<IntegId>(f.Uint<uint16_t>("integ"));
      c->suite.esn = static_cast<EsnId>(f.Uint<uint16_t>("esn"));
      c->suite.pfs = static_cast<DhGroup>(f.Uint<uint16_t>("pfs"));
      c->local_ts = f.Ts("local_ts");
      c->remote_ts = f.Ts("remote_ts");
      c->local = f.Ep("local");
      c->remote = f.Ep("remote");
      c->encap = f.Bool("encap");
      c->outbound_active = f.Bool("outbound_active");
      c->replaces = f.Uint<uint32_t>("replaces");
      c->encr_in = f.Secret("encr_in");
      c->integ_in = f.Secret("integ_in");
      c->encr_out = f.Secret("encr_out");
      c->integ_out = f.Secret("integ_out");
      c->installed = f.Time("installed");
      c->rekey_at = f.Time("rekey_at");
      c->expire_at = f.Time("expire_at");
      c->life_bytes = f.Uint<uint64_t>("life_bytes");
      c->life_packets = f.Uint<uint64_t>("life_packets");
      c->replay_window = f.Uint<uint32_t>("replay_window");
      // An older vpnd's file has no groups.
      if (f.Has("worker")) c->worker = f.Uint<uint8_t>("worker");
      // worker is w + 1: at most a dataplane's most workers.
      if (c->worker > kMaxChildResources) {
        return absl::InvalidArgumentError(absl::StrCat("line ", number, ": worker out of range"));
      }
      if (!f.status().ok()) return f.status();
      if (c->spi_in < 256 || c->spi_out < 256) {
        return absl::InvalidArgumentError(absl::StrCat("line ", number, ": reserved SPI"));
      }
      out.back().children.push_back(std::move(c));
    } else {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": unknown record"));
    }
  }
  if (!ended) return absl::InvalidArgumentError("no end line: the file is truncated");
  if (traps != nullptr) *traps = std::move(trap_list);
  if (origin != nullptr) *origin = std::move(read_origin);
  return out;
}

}  // namespace portcullis::ike
