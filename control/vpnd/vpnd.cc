#include "control/vpnd/vpnd.h"

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/config/config_loader.h"
#include "control/vpnd/sa_messages.h"
#include "control/vpnd/show_render.h"
#include "dataplane/api/key_wipe.h"
#include "ike/proposal_string.h"
#include "ike/traffic_selectors.h"

namespace portcullis::vpnd {

namespace {

channel::PacketMeta MetaFor(const ike::Datagram& d) {
  channel::PacketMeta meta;
  std::memset(&meta, 0, sizeof meta);
  meta.src = ToChannelAddr(d.src.address.bytes.data(), d.src.address.family);
  meta.dst = ToChannelAddr(d.dst.address.bytes.data(), d.dst.address.family);
  meta.src_port = d.src.port;
  meta.dst_port = d.dst.port;
  meta.family = d.dst.address.family == 4 ? channel::Family::kIpv4 : channel::Family::kIpv6;
  meta.flags = d.non_esp_marker ? channel::kNonEspMarker : 0;
  return meta;
}

ike::Datagram FromPunt(absl::Span<const uint8_t> data, const channel::PacketMeta& m) {
  ike::Datagram d;
  size_t n = m.family == channel::Family::kIpv4 ? 4 : 16;
  d.src.address = *ike::Address::FromBytes(absl::MakeConstSpan(m.src.bytes, n));
  d.dst.address = *ike::Address::FromBytes(absl::MakeConstSpan(m.dst.bytes, n));
  d.src.port = m.src_port;
  d.dst.port = m.dst_port;
  d.non_esp_marker = (m.flags & channel::kNonEspMarker) != 0;
  d.data.assign(data.begin(), data.end());
  return d;
}

}  // namespace

Vpnd::Vpnd(VpndDeps deps) : deps_(std::move(deps)) {
  ike::IkeManager::Sender send = deps_.send;
  if (deps_.dataplane != nullptr) {
    channel::ChannelClient* dp = deps_.dataplane;
    VpndLog* log = deps_.log;
    auto clock = deps_.clock;
    send = [dp, log, clock](const ike::Datagram& d) {
      absl::Status st = dp->Inject(d.data, MetaFor(d));
      if (!st.ok()) {
        log->Write(ike::LogRecord{
            clock(), ike::LogGroup::kNet, "", 0, false,
            absl::StrCat("inject to ", d.dst.ToString(), " failed: ", st.message())});
      }
    };
    generation_ = deps_.dataplane->generation();
  }
  ike_ = std::make_unique<ike::IkeManager>(deps_.clock, send, deps_.log, deps_.keylog, this);
}

Vpnd::~Vpnd() = default;

void Vpnd::Log(ike::LogGroup g, const std::string& text, const std::string& conn, uint32_t id,
               bool child) {
  deps_.log->Write(ike::LogRecord{deps_.clock(), g, conn, id, child, text});
}

absl::Status Vpnd::LoadFile(const std::string& path) {
  absl::StatusOr<config::LoadedConfig> loaded = config::LoadConfigFile(path);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->ok()) {
    std::vector<std::string> errs;
    for (const config::Diagnostic& d : loaded->diags.Sorted()) {
      if (d.severity == config::Diagnostic::Severity::kError) errs.push_back(d.ToString());
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", errs.size(), errs.size() == 1 ? " error" : " errors",
                     ", nothing changed:\n", absl::StrJoin(errs, "\n")));
  }
  absl::Status st = Commit(config::BuildModel(loaded->tree));
  if (st.ok()) {
    config_path_ = path;
    Log(ike::LogGroup::kCfg, absl::StrCat("loaded configuration ", path));
  }
  return st;
}

absl::Status Vpnd::Apply(std::vector<channel::Message> batch, const std::string& what) {
  if (batch.empty() || deps_.dataplane == nullptr) return absl::OkStatus();
  absl::StatusOr<uint64_t> seq = deps_.dataplane->SendBatch(absl::MakeSpan(batch));
  channel::SecureWipe(batch.data(), batch.size() * sizeof(channel::Message));
  if (!seq.ok()) {
    return absl::Status(
        seq.status().code(),
        absl::StrCat(what, ": sending to the dataplane failed: ", seq.status().message()));
  }
  absl::Status st = deps_.dataplane->WaitAck(*seq, deps_.ack_timeout);
  if (!st.ok()) {
    return absl::Status(st.code(),
                        absl::StrCat(what, ": the dataplane refused the batch: ", st.message()));
  }
  return absl::OkStatus();
}

absl::Status Vpnd::Commit(const config::Model& model) {
  absl::StatusOr<IkeSetup> setup = MapConfig(model, reqids_);
  if (!setup.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("configuration cannot be used, nothing changed:\n", setup.status().message()));
  }
  DataplaneObjects desired = PlanDataplane(model, ifindexes_);
  std::vector<channel::Message> batch = DiffBatch(running_, desired);
  size_t n = batch.size();
  absl::Status st = Apply(std::move(batch), "commit");
  if (!st.ok()) {
    Log(ike::LogGroup::kCfg, absl::StrCat("commit failed, nothing changed: ", st.message()));
    return st;
  }
  if (deps_.dataplane != nullptr && n > 0) {
    Log(ike::LogGroup::kKnl,
        absl::StrCat("dataplane configuration committed (", n, n == 1 ? " change)" : " changes)"));
  }
  running_ = std::move(desired);
  model_ = model;
  peers_ = setup->peers;
  ike::ManagerOptions opts = setup->options;
  opts.reinitiate_delay = ike_->options().reinitiate_delay;
  ike_->SetOptions(opts);
  ike_->SetPeers(setup->peers);
  Log(ike::LogGroup::kCfg, absl::StrCat("configuration committed: ", setup->peers.size(),
                                        setup->peers.size() == 1 ? " peer" : " peers"));
  return absl::OkStatus();
}

uint32_t Vpnd::VtiIfindex(const ike::ChildSa& c) {
  if (!c.vti) return 0;
  return ifindexes_.Find(c.vti_interface).value_or(0);
}

void Vpnd::ChildUp(const ike::IkeSa&, const ike::ChildSa& c) {
  std::string conn = c.name;
  if (deps_.dataplane == nullptr) {
    Log(ike::LogGroup::kKnl,
        absl::StrFormat("kernel transport: CHILD_SA not installed (SAs are only logged): ESP "
                        "SPIs %08x_i %08x_o, %s %s === %s%s",
                        c.spi_in, c.spi_out, ike::SuiteString(c.suite),
                        ike::TsListToString(c.local_ts), ike::TsListToString(c.remote_ts),
                        c.encap ? absl::StrCat(", UDP-encapsulated to ", c.remote.ToString()) : ""),
        conn, c.unique_id, true);
    return;
  }
  uint32_t vti = VtiIfindex(c);
  if (c.vti && vti == 0) {
    Log(ike::LogGroup::kKnl,
        absl::StrCat("VTI ", c.vti_interface,
                     " is not configured: CHILD_SA "
                     "not installed"),
        conn, c.unique_id, true);
    return;
  }
  absl::StatusOr<std::vector<channel::Message>> msgs = SaMessages(c, vti, channel::Op::kAdd);
  if (!msgs.ok()) {
    Log(ike::LogGroup::kKnl, absl::StrCat("CHILD_SA not installed: ", msgs.status().message()),
        conn, c.unique_id, true);
    return;
  }
  if (c.vti) {
    auto it = vti_bindings_.find(vti);
    msgs->push_back(VtiBindingMessage(
        vti, c.spi_out, it == vti_bindings_.end() ? channel::Op::kAdd : channel::Op::kUpdate));
  }
  absl::Status st = Apply(*std::move(msgs), "CHILD_SA install");
  if (!st.ok()) {
    Log(ike::LogGroup::kKnl, std::string(st.message()), conn, c.unique_id, true);
    return;
  }
  if (c.vti) vti_bindings_[vti] = c.spi_out;
  Log(ike::LogGroup::kKnl,
      absl::StrFormat("installed ESP SAs %08x_i %08x_o in the dataplane%s", c.spi_in, c.spi_out,
                      c.vti ? absl::StrCat(", ", c.vti_interface, " bound to ",
                                           absl::StrFormat("%08x", c.spi_out))
                            : ""),
      conn, c.unique_id, true);
  if (!c.vti) {
    auto pol = PolicyMessages(c, channel::Op::kAdd);
    absl::Status ps = pol.ok() ? Apply(*std::move(pol), "policy install") : pol.status();
    if (absl::IsUnimplemented(ps)) {
      Log(ike::LogGroup::kKnl,
          absl::StrCat("policies for ", ike::TsListToString(c.local_ts),
                       " === ", ike::TsListToString(c.remote_ts),
                       " not installed: the dataplane answered Unimplemented (no SPD for "
                       "policy-based tunnels in this dataplane yet); the SAs are installed but "
                       "no traffic is selected into them: ",
                       ps.message()),
          conn, c.unique_id, true);
    } else if (!ps.ok()) {
      Log(ike::LogGroup::kKnl, std::string(ps.message()), conn, c.unique_id, true);
    }
  }
}

void Vpnd::ChildDown(const ike::IkeSa& sa, const ike::ChildSa& c) {
  if (deps_.dataplane == nullptr) return;
  std::vector<channel::Message> batch;
  uint32_t vti = VtiIfindex(c);
  if (c.vti && vti != 0) {
    auto it = vti_bindings_.find(vti);
    if (it != vti_bindings_.end() && it->second == c.spi_out) {
      // Another CHILD SA of this VTI (the rekeyed successor) takes the binding over.
      uint32_t next = 0;
      for (const auto& other : sa.children()) {
        if (other.get() != &c && other->vti && other->vti_interface == c.vti_interface &&
            other->state == ike::ChildSa::State::kInstalled) {
          next = other->spi_out;
        }
      }
      if (next != 0) {
        batch.push_back(VtiBindingMessage(vti, next, channel::Op::kUpdate));
        it->second = next;
      } else {
        batch.push_back(VtiBindingMessage(vti, 0, channel::Op::kDelete));
        vti_bindings_.erase(it);
      }
    }
  }
  if (!c.vti) {
    if (auto pol = PolicyMessages(c, channel::Op::kDelete); pol.ok()) {
      absl::Status ps = Apply(*std::move(pol), "policy removal");
      if (!ps.ok() && !absl::IsUnimplemented(ps)) {
        Log(ike::LogGroup::kKnl, std::string(ps.message()), c.name, c.unique_id, true);
      }
    }
  }
  auto sas = SaMessages(c, vti, channel::Op::kDelete);
  if (sas.ok()) batch.insert(batch.end(), sas->begin(), sas->end());
  absl::Status st = Apply(std::move(batch), "CHILD_SA removal");
  Log(ike::LogGroup::kKnl,
      st.ok()
          ? absl::StrFormat("removed ESP SAs %08x_i %08x_o from the dataplane", c.spi_in, c.spi_out)
          : std::string(st.message()),
      c.name, c.unique_id, true);
}

void Vpnd::HandleDatagram(const ike::Datagram& d) {
  ike_->HandleDatagram(d);
}

void Vpnd::HandleEvent(const channel::Event& e) {
  switch (e.header.kind) {
    case channel::EventKind::kSaExpired: {
      const auto& x = e.body.sa_expired;
      bool soft = x.kind == channel::ExpiryKind::kSoft;
      Log(ike::LogGroup::kKnl,
          absl::StrFormat("dataplane: %s expiry of %s SA %08x (%s), rekeying",
                          soft ? "soft" : "hard",
                          x.direction == channel::Direction::kIn ? "inbound" : "outbound", x.spi,
                          x.cause == channel::ExpiryCause::kBytes     ? "bytes"
                          : x.cause == channel::ExpiryCause::kPackets ? "packets"
                                                                      : "time"));
      if (!ike_->RekeyChild(x.spi)) {
        Log(ike::LogGroup::kKnl, absl::StrFormat("no CHILD_SA with SPI %08x", x.spi));
      }
      break;
    }
    case channel::EventKind::kSeqExhausted: {
      uint32_t spi = e.body.seq_exhausted.spi;
      Log(ike::LogGroup::kKnl,
          absl::StrFormat("dataplane: sequence numbers of SA %08x exhausted, rekeying", spi));
      ike_->RekeyChild(spi);
      break;
    }
    case channel::EventKind::kSaCounters: {
      const auto& c = e.body.sa_counters;
      ike_->UpdateCounters(c.spi, c.direction == channel::Direction::kIn, c.bytes, c.packets);
      break;
    }
    case channel::EventKind::kAcquire: {
      uint32_t reqid = e.body.acquire.reqid;
      for (const auto& p : peers_) {
        for (const auto& ch : p->children) {
          if (ch.reqid != reqid) continue;
          bool up = false;
          for (const ike::IkeSa* sa : ike_->Sas()) up |= sa->config().name == p->name;
          if (!up) {
            Log(ike::LogGroup::kKnl, absl::StrCat("acquire for ", ch.name, ", initiating"));
            (void)ike_->Initiate(p->name);
          }
        }
      }
      break;
    }
    default:
      break;
  }
}

void Vpnd::Resync() {
  Log(ike::LogGroup::kKnl, "the dataplane restarted: sending the configuration and SAs again");
  running_.clear();
  vti_bindings_.clear();
  config::Model m = model_;
  absl::Status st = Commit(m);
  if (!st.ok()) Log(ike::LogGroup::kKnl, std::string(st.message()));
  for (const ike::IkeSa* sa : ike_->Sas()) {
    for (const auto& c : sa->children()) ChildUp(*sa, *c);
  }
}

void Vpnd::CheckDataplane() {
  channel::ChannelClient* dp = deps_.dataplane;
  if (dp->ServerAlive()) {
    if (dp->generation() != generation_) {
      generation_ = dp->generation();
      Resync();
    }
    return;
  }
  if (!dataplane_gone_) {
    dataplane_gone_ = true;
    Log(ike::LogGroup::kKnl, "the dataplane is gone: IKE goes on, waiting for it to come back");
  }
  if (!deps_.reattach || deps_.clock() < next_reattach_) return;
  next_reattach_ = deps_.clock() + absl::Seconds(1);
  absl::StatusOr<channel::ChannelClient> c = deps_.reattach();
  if (!c.ok()) return;
  reattached_.emplace(*std::move(c));
  deps_.dataplane = &*reattached_;
  dataplane_gone_ = false;
  generation_ = deps_.dataplane->generation();
  Log(ike::LogGroup::kKnl, "re-attached to the dataplane");
  Resync();
}

void Vpnd::Poll() {
  if (deps_.dataplane != nullptr) {
    CheckDataplane();
    channel::ChannelClient* dp = deps_.dataplane;
    std::vector<ike::Datagram> punted;
    dp->PollPunt(64, [&](absl::Span<const uint8_t> data, const channel::PacketMeta& m) {
      punted.push_back(FromPunt(data, m));
    });
    for (const auto& d : punted) ike_->HandleDatagram(d);
    std::vector<channel::Event> events;
    dp->PollEvents(256, [&](const channel::Event& e) { events.push_back(e); });
    for (const auto& e : events) HandleEvent(e);
  }
  ike_->Tick();
}

std::vector<const ike::IkeSaConfig*> Vpnd::Peers() const {
  std::vector<const ike::IkeSaConfig*> out;
  for (const auto& p : peers_) out.push_back(p.get());
  return out;
}

absl::StatusOr<std::string> Vpnd::Command(const std::vector<std::string>& words_in) {
  std::vector<std::string> w;
  ShowFilter f;
  for (const std::string& x : words_in) {
    if (x == "--json" || x == "json") {
      f.json = true;
    } else {
      w.push_back(x);
    }
  }
  auto at = [&](size_t i) { return i < w.size() ? w[i] : std::string(); };
  // "... peer X [tunnel N|vti]" from position i.
  auto parse_peer = [&](size_t i) -> absl::Status {
    if (at(i) != "peer" && !at(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected '", at(i), "'"));
    }
    f.peer = at(i + 1);
    if (at(i + 2) == "tunnel") {
      if (at(i + 3) == "vti") {
        f.vti_only = true;
      } else {
        uint32_t n = 0;
        if (!absl::SimpleAtoi(at(i + 3), &n)) {
          return absl::InvalidArgumentError("tunnel needs a number or vti");
        }
        f.tunnel = n;
      }
    }
    if (!f.peer.empty() && ike_->FindPeer(f.peer) == nullptr) {
      return absl::NotFoundError(absl::StrCat("peer ", f.peer, " is not configured"));
    }
    return absl::OkStatus();
  };
  absl::Time now = deps_.clock();
  if (at(0) == "show" && at(1) == "vpn" && at(2) == "ike" && at(3) == "sa") {
    if (auto st = parse_peer(4); !st.ok()) return st;
    return ShowIkeSa(*ike_, Peers(), f, now);
  }
  if (at(0) == "show" && at(1) == "vpn" && at(2) == "ipsec" && at(3) == "sa") {
    if (auto st = parse_peer(4); !st.ok()) return st;
    return ShowIpsecSa(*ike_, Peers(), f, now);
  }
  if (at(0) == "show" && at(1) == "vpn" && at(2) == "debug") {
    if (auto st = parse_peer(3); !st.ok()) return st;
    return ShowDebugPeer(*ike_, Peers(), f, now);
  }
  if (at(0) == "show" && at(1) == "log" && at(2) == "vpn" && at(3) == "ipsec") {
    std::string filter;
    if (at(4) == "peer" && !at(5).empty()) {
      const ike::IkeSaConfig* c = ike_->FindPeer(at(5));
      filter = "<" + (c ? c->name : "peer-" + at(5));
    }
    return deps_.log->Recent(filter);
  }
  if (at(0) == "reset" && at(1) == "vpn" && at(2) == "ipsec-peer" && !at(3).empty()) {
    std::optional<uint32_t> tunnel;
    if (at(4) == "tunnel" || at(4) == "vti") {
      uint32_t n = 0;
      if (at(4) == "tunnel" && at(5) != "vti") {
        if (!absl::SimpleAtoi(at(5), &n)) {
          return absl::InvalidArgumentError("tunnel needs a number or vti");
        }
        tunnel = n;
      }
    }
    absl::Status st = ike_->Reset(at(3), tunnel);
    if (!st.ok()) return st;
    return absl::StrCat("Resetting ", tunnel ? absl::StrCat("tunnel ", *tunnel, " of ") : "",
                        "peer ", at(3), "\n");
  }
  if (at(0) == "load" && !at(1).empty()) {
    absl::Status st = LoadFile(at(1));
    if (!st.ok()) return st;
    return absl::StrCat("Loaded ", at(1), "\n");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command '", absl::StrJoin(words_in, " "), "'"));
}

}  // namespace portcullis::vpnd
