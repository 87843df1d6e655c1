#include "ike/sa/ike_manager.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ike/crypto/hmac.h"
#include "ike/crypto/random.h"
#include "ike/encoding/ike_errors.h"
#include "ike/encoding/message.h"
#include "ike/sa/proposal_select.h"

namespace portcullis::ike {

namespace {

std::string SpiHex(const IkeSpi& s) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
}

Bytes MinNonce(const IkeSa& sa) {
  return std::min(sa.nonce_i, sa.nonce_r);
}

}  // namespace

IkeManager::IkeManager(Clock clock, Sender sender, LogSink* log, LogSink* keylog,
                       IkeListener* listener, ManagerOptions options)
    : clock_(std::move(clock)),
      sender_(std::move(sender)),
      log_(log),
      keylog_(keylog),
      listener_(listener),
      options_(options) {
  RotateCookieSecret();
}

IkeManager::~IkeManager() {
  // First the workers (joined; results not drained are dropped unfinished), so no job finishes
  // into an SA or a manager that is gone.
  crypto_.reset();
  // The SAs' tasks give their reserved SPIs back to spis_ as they go, so they go first.
  pending_.clear();
  sas_by_name_.clear();
  sas_by_spi_i_.clear();
  sas_.clear();
  child_spis_.clear();
}

void IkeManager::StartCryptoPool(int threads, size_t max_jobs, bool all_groups) {
  if (threads <= 0 || crypto_) return;
  crypto_all_groups_ = all_groups;
  crypto_ = std::make_unique<CryptoPool>(threads, max_jobs);
  if (crypto_->fd() < 0) {
    // Nothing would wake the loop for the results: every SA on the pool would wait for ever.
    crypto_.reset();
    ManagerLog("no eventfd for the key computation pool: IKE keys are computed on the loop");
  }
}

size_t IkeManager::DrainCrypto(bool wait, size_t max) {
  if (!crypto_) return 0;
  // Each result finds its SA with FindSa, which marks it for the next Tick's OnTimer.
  return wait ? crypto_->DrainAll() : crypto_->Drain(max);
}

void IkeManager::IndexSa(IkeSa* sa, const std::string& name) {
  touched_.emplace_back(sa->own_spi(), sa);  // filed on the next Tick
  sas_by_name_[name].push_back(sa);
  sas_by_spi_i_.emplace(sa->spi_i(), sa);
  // An SA is kConnecting only from its construction on (it never goes back), so every SA that
  // Tick's slot count looks for is added here.
  if (sa->original_initiator() && sa->state() == IkeSa::State::kConnecting) initiating_.insert(sa);
}

void IkeManager::UnindexSa(IkeSa* sa, const std::string& name) {
  initiating_.erase(sa);
  auto [lo, hi] = sas_by_spi_i_.equal_range(sa->spi_i());
  for (auto i = lo; i != hi; ++i) {
    if (i->second == sa) {
      sas_by_spi_i_.erase(i);
      break;
    }
  }
  auto it = sas_by_name_.find(name);
  if (it == sas_by_name_.end()) return;
  std::vector<IkeSa*>& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), sa), v.end());
  if (v.empty()) sas_by_name_.erase(it);
}

void IkeManager::InitiateAt(const std::string& name, absl::Time when) {
  SetNextInitiate(name, when);
  initiate_check_at_ = std::min(initiate_check_at_, when);
}

void IkeManager::SetNextInitiate(const std::string& name, absl::Time when) {
  auto [it, added] = next_initiate_.try_emplace(name, when);
  if (!added) {
    if (it->second != absl::InfiniteFuture()) initiate_queue_.erase({it->second, name});
    it->second = when;
  }
  if (when != absl::InfiniteFuture()) initiate_queue_.emplace(when, name);
}

const std::vector<IkeSa*>& IkeManager::SasOf(const std::string& name) const {
  static const std::vector<IkeSa*> kNone;
  auto it = sas_by_name_.find(name);
  return it == sas_by_name_.end() ? kNone : it->second;
}

void IkeManager::ConfigChanged(IkeSa& sa, const std::string& old_name) {
  auto it = sas_by_name_.find(old_name);
  if (it == sas_by_name_.end()) return;
  std::vector<IkeSa*>& was = it->second;
  auto pos = std::find(was.begin(), was.end(), &sa);
  if (pos == was.end()) return;  // pending: not indexed
  was.erase(pos);
  if (was.empty()) sas_by_name_.erase(it);
  sas_by_name_[sa.config().name].push_back(&sa);
}

void IkeManager::ManagerLog(const std::string& text, LogGroup g) {
  log_->Write(LogRecord{Now(), g, "", 0, false, text});
}

void IkeManager::DropUnauthenticated(const std::string& text) {
  absl::Time now = Now();
  if (auto line = drops_.Drop(now, text)) {
    LogUnauthenticated(LogRecord{now, LogGroup::kNet, "", 0, false, *line});
  }
}

void IkeManager::RefuseInit(IkeCounter c, DropLogLimiter& limiter, const std::string& text) {
  Count(c);
  absl::Time now = Now();
  if (auto line = limiter.Drop(now, text)) {
    LogUnauthenticated(LogRecord{now, LogGroup::kIke, "", 0, false, *line});
  }
}

void IkeManager::RotateCookieSecret() {
  absl::StatusOr<Bytes> fresh = RandomBytes(32);
  if (!fresh.ok()) return;  // keep the one we have rather than none
  SecretBytes key(*fresh);
  OPENSSL_cleanse(fresh->data(), fresh->size());
  // Move-assignment wipes what it replaces: the secret before the previous one is gone.
  previous_cookie_secret_ = std::move(cookie_secret_);
  cookie_secret_.version = static_cast<uint8_t>(previous_cookie_secret_.version + 1);
  cookie_secret_.key = std::move(key);
  cookie_rotate_at_ = Now() + options_.cookie_secret_lifetime;
}

size_t IkeManager::LiveSaCount() const {
  size_t n = pending_.size();
  for (const auto& [k, sa] : sas_) {
    if (sa->state() != IkeSa::State::kDead) ++n;
  }
  return n;
}

void IkeManager::RollInitWindow(absl::Time now) {
  if (now - window_.start < absl::Seconds(1) && now >= window_.start) return;
  window_.start = now;
  window_.answered = 0;
  window_.by_address.clear();
}

bool IkeManager::CookiesRequired(absl::Time now, std::string* why) {
  uint32_t threshold = options_.cookie_threshold;
  if (threshold == 0) return false;
  if (half_open_.size() >= threshold) {
    *why = absl::StrCat(half_open_.size(), " half-open IKE_SAs reach cookie-threshold ", threshold);
  } else if (window_.answered >= threshold) {
    *why = absl::StrCat(window_.answered, " IKE_SA_INITs answered in the last second reach ",
                        "cookie-threshold ", threshold);
  } else if (now < cookies_until_) {
    *why = absl::StrCat("cookie-threshold ", threshold, " was reached less than ",
                        absl::FormatDuration(kCookieCalmDown), " ago");
  } else {
    return false;
  }
  // Demanded for as long as the load lasts, and a while after: an attacker that paused for a
  // moment would otherwise get the next few IKE_SA_INITs through without a COOKIE.
  cookies_until_ = now + kCookieCalmDown;
  return true;
}

void IkeManager::ForgetHalfOpen(const IkeSa& sa) {
  auto it = half_open_.find(&sa);
  if (it == half_open_.end()) return;
  auto by = half_open_by_address_.find(it->second);
  if (by != half_open_by_address_.end() && --by->second == 0) half_open_by_address_.erase(by);
  half_open_.erase(it);
}

absl::StatusOr<uint32_t> IkeManager::AllocateSpi() {
  // 2^28 values to draw from: a few draws find a free SPI unless the source is broken (no
  // randomness, or an installer that has none left), and then the exchange must fail, not spin.
  constexpr int kDraws = 32;
  absl::Status last = absl::OkStatus();
  for (int i = 0; i < kDraws; ++i) {
    absl::StatusOr<uint32_t> s = spi_source_ ? spi_source_() : RandomChildSpi();
    if (!s.ok()) {
      last = s.status();
      continue;
    }
    if (*s < 256) {  // RFC 4303 2.1: reserved
      last = absl::InvalidArgumentError(absl::StrFormat("SPI %u is reserved", *s));
      continue;
    }
    if (spis_.insert(*s).second) return *s;
    last = absl::AlreadyExistsError(absl::StrFormat("SPI %08x is taken", *s));
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("no free CHILD_SA SPI in ", kDraws, " draws: ", last.message()));
}

void IkeManager::SetPeers(const std::vector<std::shared_ptr<const IkeSaConfig>>& peers) {
  SweepAll();
  std::map<std::string, std::shared_ptr<const IkeSaConfig>> next;
  for (const auto& p : peers) next[p->name] = p;
  for (auto& [key, sa] : sas_) {
    if (sa->state() == IkeSa::State::kDead) continue;
    auto it = next.find(sa->config().name);
    if (it == next.end()) {
      sa->Log(LogGroup::kCfg, "peer removed from the configuration, deleting IKE_SA");
      sa->Delete();
    } else if (!(*it->second == sa->config())) {
      sa->Log(LogGroup::kCfg, "peer configuration changed, deleting IKE_SA to renegotiate");
      sa->Delete();
    }
  }
  std::map<std::string, absl::Time> initiate;
  for (const auto& [name, cfg] : next) {
    auto old = peers_.find(name);
    bool changed = old == peers_.end() || !(*old->second == *cfg);
    if (cfg->initiate && !cfg->remote_any) {
      auto prev = next_initiate_.find(name);
      initiate[name] = changed || prev == next_initiate_.end() ? Now() : prev->second;
    }
  }
  // A trap follows the configuration it was set under: removed or changed peers lose theirs.
  auto stale = [&](const std::string& name) {
    auto now = next.find(name);
    auto old = peers_.find(name);
    return now == next.end() || old == peers_.end() || !(*old->second == *now->second);
  };
  std::erase_if(trapped_, stale);
  std::erase_if(trapped_children_, [&](const auto& t) { return stale(t.first.first); });
  peers_ = std::move(next);
  next_initiate_ = std::move(initiate);
  initiate_queue_.clear();
  for (const auto& [name, when] : next_initiate_) {
    if (when != absl::InfiniteFuture()) initiate_queue_.emplace(when, name);
  }
  initiate_check_at_ = absl::InfinitePast();
  peers_by_remote_.clear();
  peers_any_.clear();
  peer_of_child_.clear();
  for (const auto& [name, cfg] : peers_) {
    for (const ChildConfig& ch : cfg->children) peer_of_child_[ch.name] = name;
    if (cfg->remote_any) {
      peers_any_.push_back(cfg);
    } else {
      peers_by_remote_[cfg->remote].push_back(cfg);
    }
  }
}

const IkeSaConfig* IkeManager::FindPeer(const std::string& what) const {
  // By name first (Tick's initiations, with 10,000 peers), then any other way it is known.
  if (auto it = peers_.find(what); it != peers_.end()) return it->second.get();
  for (const auto& [name, cfg] : peers_) {
    if (name == what || cfg->peer_key == what || cfg->remote.ToString() == what ||
        name == "peer-" + what) {
      return cfg.get();
    }
  }
  return nullptr;
}

bool IkeManager::HasLiveSa(const std::string& name) const {
  for (const IkeSa* sa : SasOf(name)) {
    if (sa->state() != IkeSa::State::kDead && sa->state() != IkeSa::State::kRekeyed) return true;
  }
  for (const auto& sa : pending_) {
    if (sa->config().name == name) return true;
  }
  return false;
}

absl::Status IkeManager::Initiate(const std::string& peer) {
  SweepAll();
  const IkeSaConfig* cfg = FindPeer(peer);
  if (cfg == nullptr) return absl::NotFoundError(absl::StrCat("no peer ", peer));
  if (cfg->remote_any) {
    return absl::FailedPreconditionError(
        absl::StrCat(cfg->name, " has no peer address to initiate to"));
  }
  auto spi = RandomIkeSpi();
  if (!spi.ok()) return spi.status();
  std::shared_ptr<const IkeSaConfig> ptr = peers_.at(cfg->name);
  Endpoint local{cfg->local, kIkePort}, remote{cfg->remote, kIkePort};
  auto sa = std::make_unique<IkeSa>(*this, ptr, NextIkeId(), true, *spi, IkeSpi{}, local, remote);
  IkeSa* raw = sa.get();
  sas_[*spi] = std::move(sa);
  IndexSa(raw, cfg->name);
  SetNextInitiate(cfg->name, absl::InfiniteFuture());
  raw->Initiate();
  return absl::OkStatus();
}

bool IkeManager::Trappable(const ChildConfig&) const {
  return traps_;
}

bool IkeManager::ChildTrapped(const std::string& child) const {
  auto peer = peer_of_child_.find(child);
  if (peer == peer_of_child_.end()) return false;
  return trapped_.contains(peer->second) || trapped_children_.contains({peer->second, child});
}

bool IkeManager::TrapsCover(const IkeSaConfig& cfg) const {
  return !cfg.children.empty() &&
         std::all_of(cfg.children.begin(), cfg.children.end(),
                     [this](const ChildConfig& c) { return Trappable(c); });
}

std::string IkeManager::Acquire(const std::string& peer, const std::string& child) {
  SweepAll();
  auto cfg = peers_.find(peer);
  if (cfg == peers_.end()) return "no such peer";
  IkeSa* up = nullptr;
  for (IkeSa* sa : SasOf(peer)) {
    if (sa->state() == IkeSa::State::kConnecting) return "an IKE_SA is being set up";
    if (sa->state() == IkeSa::State::kEstablished && !sa->reauthenticating) up = sa;
  }
  if (up != nullptr) {
    for (const auto& c : up->children()) {
      if (c->name == child) return "its CHILD_SA is up";
    }
    auto trap = trapped_children_.find({peer, child});
    if (trap == trapped_children_.end()) return "no trap (CHILD_SA closed without one)";
    if (Now() - trap->second < kTrapRetry) return "its CHILD_SA is being created";
    const ChildConfig* c = up->FindChildConfig(child);
    if (c == nullptr) return "no such tunnel";
    trap->second = Now();  // the trap stays until ChildUp: a failed create waits for a packet
    up->Log(LogGroup::kChd, absl::StrCat("acquire for ", child, ": creating its CHILD_SA (trap)"));
    up->CreateChild(*c);
    return "creating its CHILD_SA";
  }
  if (!trapped_.contains(peer)) return "no trap (IKE_SA down without one)";
  // The trap stays until the IKE SA is up (IkeUp): a failed attempt waits for the next packet.
  if (absl::Status s = Initiate(peer); !s.ok()) return std::string(s.message());
  return "initiating (trap)";
}

bool IkeManager::TrapChild(IkeSa& sa, const ChildConfig& child) {
  if (!Trappable(child)) return false;
  trapped_children_.emplace(std::pair(sa.config().name, child.name), absl::InfinitePast());
  return true;
}

absl::Status IkeManager::Reset(const std::string& peer, std::optional<uint32_t> tunnel) {
  SweepAll();
  const IkeSaConfig* cfg = FindPeer(peer);
  if (cfg == nullptr) return absl::NotFoundError(absl::StrCat("no peer ", peer, " configured"));
  std::string name = cfg->name;
  if (tunnel.has_value()) {
    const ChildConfig* child = nullptr;
    for (const ChildConfig& c : cfg->children) {
      if (!c.vti && c.tunnel_id == *tunnel) child = &c;
    }
    if (child == nullptr) {
      return absl::NotFoundError(absl::StrCat("peer ", peer, " has no tunnel ", *tunnel));
    }
    bool any = false;
    for (auto& [k, sa] : sas_) {
      if (sa->config().name != name || sa->state() != IkeSa::State::kEstablished) continue;
      sa->Log(LogGroup::kCfg, absl::StrCat("resetting tunnel ", *tunnel, " by operator request"));
      sa->DeleteChildren(*tunnel, false);
      if (const ChildConfig* c = sa->FindChildConfig(child->name)) sa->CreateChild(*c);
      any = true;
    }
    if (!any) return absl::FailedPreconditionError(absl::StrCat(name, " has no IKE_SA up"));
    return absl::OkStatus();
  }
  for (auto& [k, sa] : sas_) {
    if (sa->config().name != name || sa->state() == IkeSa::State::kDead) continue;
    sa->Log(LogGroup::kCfg, "resetting by operator request");
    sa->Delete();
  }
  if (cfg->initiate && !cfg->remote_any) InitiateAt(name, Now());
  return absl::OkStatus();
}

void IkeManager::ChildIndexed(IkeSa& sa, const ChildSa& child) {
  child_spis_.emplace(child.spi_in, &sa);
  child_spis_.emplace(child.spi_out, &sa);
}

void IkeManager::ChildUnindexed(IkeSa& sa, const ChildSa& child) {
  for (uint32_t spi : {child.spi_in, child.spi_out}) {
    auto [lo, hi] = child_spis_.equal_range(spi);
    for (auto i = lo; i != hi; ++i) {
      if (i->second == &sa) {
        child_spis_.erase(i);
        break;
      }
    }
  }
}

std::pair<IkeSa*, ChildSa*> IkeManager::FindChildBySpi(uint32_t spi, SpiSide side) const {
  auto [lo, hi] = child_spis_.equal_range(spi);
  std::pair<IkeSa*, ChildSa*> by_out{nullptr, nullptr};
  for (auto i = lo; i != hi; ++i) {
    IkeSa* sa = i->second;
    if (sa->state() == IkeSa::State::kDead) continue;
    // Our inbound SPIs are unique (spis_); an outbound one may be any peer's too, even equal to
    // an inbound SPI of ours, so a side named by the dataplane is looked up on that side only.
    if (side != SpiSide::kOutbound) {
      if (ChildSa* c = sa->FindChildBySpiIn(spi)) return {sa, c};
    }
    if (side != SpiSide::kInbound && by_out.first == nullptr) {
      if (ChildSa* c = sa->FindChildBySpiOut(spi)) by_out = {sa, c};
    }
  }
  return by_out;
}

absl::Status IkeManager::CheckChildIndex() const {
  std::multiset<std::pair<uint32_t, const IkeSa*>> truth, index;
  auto add = [&](const IkeSa& sa) {
    for (const auto& c : sa.children()) {
      truth.emplace(c->spi_in, &sa);
      truth.emplace(c->spi_out, &sa);
    }
  };
  for (const auto& [k, sa] : sas_) add(*sa);
  for (const auto& sa : pending_) add(*sa);
  for (const auto& [spi, sa] : child_spis_) index.emplace(spi, sa);
  if (truth == index) return absl::OkStatus();
  std::string diff;
  for (const auto& [spi, sa] : truth) {
    if (truth.count({spi, sa}) != index.count({spi, sa})) {
      absl::StrAppendFormat(&diff, " %08x of IKE_SA %u: %u held, %u indexed;", spi, sa->unique_id(),
                            truth.count({spi, sa}), index.count({spi, sa}));
    }
  }
  for (const auto& [spi, sa] : index) {
    if (!truth.contains({spi, sa})) absl::StrAppendFormat(&diff, " %08x indexed, not held;", spi);
  }
  return absl::InternalError(absl::StrCat("CHILD SPI index differs:", diff));
}

absl::Status IkeManager::CheckTimers() const {
  if (options_.sweep_interval <= absl::ZeroDuration() || sweep_all_) return absl::OkStatus();
  absl::flat_hash_set<const IkeSa*> touched;
  for (const auto& [spi, sa] : touched_) touched.insert(sa);
  absl::flat_hash_set<std::pair<const IkeSa*, absl::Time>> filed;
  for (const TimerEntry& e : timers_) filed.emplace(e.sa, e.when);
  std::string late;
  for (const auto& [k, sa] : sas_) {
    if (sa->state() == IkeSa::State::kDead || touched.contains(sa.get())) continue;
    const absl::Time need = sa->NextTimer();
    if (need < sa->timer_armed_) {
      absl::StrAppend(&late, " IKE_SA ", sa->unique_id(), " (", sa->config().name, ", state ",
                      IkeSaStateName(sa->state()), ") needs ", absl::FormatTime(need), ", filed ",
                      absl::FormatTime(sa->timer_armed_), ";");
    } else if (sa->timer_armed_ != absl::InfiniteFuture() &&
               !filed.contains({sa.get(), sa->timer_armed_})) {
      absl::StrAppend(&late, " IKE_SA ", sa->unique_id(), " filed at ",
                      absl::FormatTime(sa->timer_armed_), " but not in the heap;");
    }
  }
  if (late.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("timer heap behind NextTimer():", late));
}

bool IkeManager::RekeyChild(uint32_t spi, SpiSide side) {
  auto [sa, child] = FindChildBySpi(spi, side);
  if (sa == nullptr || sa->state() != IkeSa::State::kEstablished) return false;
  // Only this SA's OnTimer may have more to do now (Tick), not every SA's.
  touched_.emplace_back(sa->own_spi(), sa);
  // By its inbound SPI: IkeSa::RekeyChild tries either side, inbound first, and the outbound
  // SPI named may be another CHILD SA's inbound one.
  sa->RekeyChild(child->spi_in);
  return true;
}

bool IkeManager::ChildInstallFailed(uint32_t spi_in, const std::string& reason) {
  IkeSa* sa = FindByChildSpi(spi_in, SpiSide::kInbound);
  if (sa == nullptr) return false;
  touched_.emplace_back(sa->own_spi(), sa);
  sa->InstallFailed(spi_in, reason);
  MergePending();
  return true;
}

std::vector<const IkeSa*> IkeManager::Sas() const {
  std::vector<const IkeSa*> out;
  for (const auto& [k, sa] : sas_) {
    if (sa->state() != IkeSa::State::kDead) out.push_back(sa.get());
  }
  std::sort(out.begin(), out.end(),
            [](const IkeSa* a, const IkeSa* b) { return a->unique_id() < b->unique_id(); });
  return out;
}

// The key of the per-source limits (block-threshold): the address, or for IPv6 its /64, since
// one host normally holds a whole /64 and could rotate its source through it (#21). COOKIEs
// stay bound to the exact address: they prove that the sender receives there.
Address IkeManager::SourceKey(const Address& a) {
  Address k = a;
  if (k.family == 6) std::fill(k.bytes.begin() + 8, k.bytes.end(), 0);
  return k;
}

size_t IkeManager::HalfOpenCount(const Address* from) const {
  if (from == nullptr) return half_open_.size();
  auto it = half_open_by_address_.find(SourceKey(*from));
  return it == half_open_by_address_.end() ? 0 : it->second;
}

void IkeManager::HandleDatagram(const Datagram& d) {
  if (d.data.size() == 1 && d.data[0] == 0xFF) return;  // NAT keepalive
  absl::StatusOr<DecodedHeader> h = DecodeHeader(d.data);
  if (!h.ok()) {
    DropUnauthenticated(absl::StrCat("received invalid IKE datagram from ", d.src.ToString(), ": ",
                                     h.status().message(), ", dropped"));
    return;
  }
  const IkeHeader& hd = h->header;
  if (hd.exchange == ExchangeType::kIkeSaInit && !hd.response) {
    HandleInitRequest(d, *h);
  } else {
    // The sender's I flag says which SPI is ours.
    const IkeSpi& ours = hd.initiator ? hd.spi_r : hd.spi_i;
    auto it = sas_.find(ours);
    if (it == sas_.end() || it->second->state() == IkeSa::State::kDead ||
        it->second->original_initiator() == hd.initiator) {
      DropUnauthenticated(absl::StrCat(
          "received ", ExchangeTypeName(hd.exchange), hd.response ? " response " : " request ",
          hd.message_id, " for unknown IKE_SA with SPIs ", SpiHex(hd.spi_i), "_i ",
          SpiHex(hd.spi_r), "_r from ", d.src.ToString(), " (INVALID_IKE_SPI), ignored"));
      return;
    }
    touched_.emplace_back(it->first, it->second.get());
    it->second->ProcessMessage(d, *h);
  }
  MergePending();
}

std::shared_ptr<const IkeSaConfig> IkeManager::ResponderConfig(
    const Datagram& d, const std::vector<Payload>& request) const {
  const SaPayload* offer = FindPayload<SaPayload>(request, PayloadType::kSa);
  std::shared_ptr<const IkeSaConfig> any, acceptable;
  auto local_ok = [&](const IkeSaConfig& cfg) {
    return cfg.local.is_unspecified() || cfg.local == d.dst.address;
  };
  if (auto it = peers_by_remote_.find(d.src.address); it != peers_by_remote_.end()) {
    for (const auto& cfg : it->second) {
      if (local_ok(*cfg)) return cfg;
    }
  }
  for (const auto& cfg : peers_any_) {
    if (!local_ok(*cfg)) continue;
    if (!any) any = cfg;
    if (!acceptable && offer != nullptr && SelectProposal(offer->proposals, cfg->ike_proposals)) {
      acceptable = cfg;
    }
  }
  return acceptable ? acceptable : any;
}

std::vector<std::shared_ptr<const IkeSaConfig>> IkeManager::AuthCandidates(const IkeSa& sa) const {
  std::vector<std::shared_ptr<const IkeSaConfig>> out;
  auto consider = [&](const std::shared_ptr<const IkeSaConfig>& cfg) {
    bool local_ok = cfg->local.is_unspecified() || cfg->local == sa.local().address;
    // The IKE SA's keys were made with this proposal: a config that would not have chosen it
    // cannot take the SA over.
    if (local_ok && SelectProposal({sa.ike_proposal}, cfg->ike_proposals)) out.push_back(cfg);
  };
  if (auto it = peers_by_remote_.find(sa.remote().address); it != peers_by_remote_.end()) {
    for (const auto& cfg : it->second) consider(cfg);
  }
  for (const auto& cfg : peers_any_) consider(cfg);
  return out;
}

Bytes IkeManager::Cookie(const CookieSecret& secret, const IkeSpi& spi_i, const Bytes& ni,
                         const Address& from) const {
  auto mac = Hmac(HashAlgorithm::kSha256, secret.key.span(), {ni, from.span(), spi_i});
  Bytes out(1 + (mac.ok() ? mac->size() : 0), secret.version);
  if (mac.ok()) std::copy(mac->span().begin(), mac->span().end(), out.begin() + 1);
  return out;
}

bool IkeManager::CookieValid(const Bytes& cookie, const IkeSpi& spi_i, const Bytes& ni,
                             const Address& from) const {
  if (cookie.empty()) return false;
  for (const CookieSecret* s : {&cookie_secret_, &previous_cookie_secret_}) {
    if (s->key.empty() || cookie[0] != s->version) continue;
    Bytes expected = Cookie(*s, spi_i, ni, from);
    // Constant time: how many leading bytes matched must not show in the answer's timing.
    return cookie.size() == expected.size() &&
           CRYPTO_memcmp(cookie.data(), expected.data(), expected.size()) == 0;
  }
  return false;
}

void IkeManager::SendUnprotected(const Datagram& to, const IkeHeader& h,
                                 std::vector<Payload> payloads) {
  Message m;
  m.header = h;
  m.payloads = std::move(payloads);
  auto wire = EncodeMessage(m);
  if (!wire.ok()) return;
  Datagram out;
  out.src = to.dst;
  out.dst = to.src;
  out.non_esp_marker = to.non_esp_marker;
  out.data = *std::move(wire);
  sender_(out);
}

void IkeManager::HandleInitRequest(const Datagram& d, const DecodedHeader& h) {
  // IKE_SA_INIT always has message ID 0 (RFC 7296 2.2): anything else is a replay or a forgery.
  if (h.header.message_id != 0) {
    DropUnauthenticated(absl::StrCat("IKE_SA_INIT request with message ID ", h.header.message_id,
                                     " from ", d.src.ToString(), " (must be 0), dropped"));
    return;
  }
  // The same initiator SPI from the same host: a retransmission of the request that made that
  // SA. Only a half-open SA answers it, from its response cache; nobody authenticated this
  // message, so an established SA must not be touched by it.
  for (auto [it, end] = sas_by_spi_i_.equal_range(h.header.spi_i); it != end; ++it) {
    IkeSa* sa = it->second;
    if (sa->original_initiator() || !(sa->remote().address == d.src.address) ||
        sa->state() == IkeSa::State::kDead) {
      continue;
    }
    if (sa->state() == IkeSa::State::kConnecting) {
      sa->ProcessMessage(d, h);
    } else {
      DropUnauthenticated(absl::StrCat("IKE_SA_INIT request from ", d.src.ToString(),
                                       " with the SPI of ", sa->config().name, "[", sa->unique_id(),
                                       "] (", IkeSaStateName(sa->state()), "), dropped"));
    }
    return;
  }
  IkeHeader rh = h.header;
  rh.response = true;
  rh.initiator = false;
  rh.spi_r = IkeSpi{};
  absl::StatusOr<Message> m = DecodeMessage(d.data);
  if (!m.ok()) {
    std::optional<uint8_t> critical = UnsupportedCriticalPayloadType(m.status());
    DropUnauthenticated(absl::StrCat("invalid IKE_SA_INIT from ", d.src.ToString(), ": ",
                                     m.status().message(),
                                     critical ? " (UNSUPPORTED_CRITICAL_PAYLOAD), answering with it"
                                              : " (INVALID_SYNTAX), dropped"));
    if (critical) {
      SendUnprotected(d, rh, {MakeNotify(NotifyType::kUnsupportedCriticalPayload, {*critical})});
    }
    return;
  }
  absl::Time now = Now();
  RollInitWindow(now);
  const Address& from = d.src.address;
  // The cheap refusals first: they need no crypto and send nothing. Their counts only grow with
  // IKE_SA_INITs that got past the COOKIE check, so a spoofed source cannot drive them.
  const Address source = SourceKey(from);
  // "from it", or for an IPv6 source "from its /64" (the key of these counts).
  const char* from_it = from.family == 6 ? "from its /64" : "from it";
  if (options_.block_threshold > 0) {
    auto w = window_.by_address.find(source);
    size_t half_open = HalfOpenCount(&from);
    size_t recent = w == window_.by_address.end() ? 0 : w->second;
    if (std::max(half_open, recent) >= options_.block_threshold) {
      RefuseInit(IkeCounter::kInitBlocked, refuse_log_,
                 half_open >= recent
                     ? absl::StrCat("ignoring IKE_SA setup from ", from.ToString(), ": ", half_open,
                                    " half-open IKE_SAs ", from_it, " reach block-threshold ",
                                    options_.block_threshold)
                     : absl::StrCat("ignoring IKE_SA setup from ", from.ToString(), ": ", recent,
                                    " IKE_SA_INITs ", from_it,
                                    " in the last second reach block-threshold ",
                                    options_.block_threshold));
      return;
    }
  }
  if (options_.init_limit_half_open > 0 && half_open_.size() >= options_.init_limit_half_open) {
    RefuseInit(IkeCounter::kInitHalfOpenLimit, refuse_log_,
               absl::StrCat("ignoring IKE_SA setup from ", from.ToString(), ": ", half_open_.size(),
                            " half-open IKE_SAs reach init-limit-half-open ",
                            options_.init_limit_half_open));
    return;
  }
  if (options_.ikesa_limit > 0 && sas_.size() + pending_.size() >= options_.ikesa_limit) {
    size_t live = LiveSaCount();
    if (live >= options_.ikesa_limit) {
      RefuseInit(IkeCounter::kInitIkeSaLimit, refuse_log_,
                 absl::StrCat("ignoring IKE_SA setup from ", from.ToString(), ": ", live,
                              " IKE_SAs reach ikesa-limit ", options_.ikesa_limit));
      return;
    }
  }
  std::string why;
  if (CookiesRequired(now, &why)) {
    const NoncePayload* nonce = FindPayload<NoncePayload>(m->payloads, PayloadType::kNonce);
    Bytes ni = nonce ? nonce->data : Bytes{};
    const NotifyPayload* got = FindNotify(m->payloads, NotifyType::kCookie);
    if (got == nullptr || !CookieValid(got->data, h.header.spi_i, ni, from)) {
      Count(IkeCounter::kCookieSent);
      if (auto line = cookie_log_.Drop(
              now, absl::StrCat(why, ", sending COOKIE to ", from.ToString(),
                                got ? " (the COOKIE it sent is not valid)" : ""))) {
        LogUnauthenticated(LogRecord{now, LogGroup::kIke, "", 0, false, *line});
      }
      SendUnprotected(
          d, rh,
          {MakeNotify(NotifyType::kCookie, Cookie(cookie_secret_, h.header.spi_i, ni, from))});
      return;
    }
  }
  // Answered from here on, whatever the answer: it counts toward the thresholds.
  ++window_.answered;
  if (window_.by_address.size() < kMaxAddressesPerWindow || window_.by_address.contains(source)) {
    ++window_.by_address[source];
  }
  std::shared_ptr<const IkeSaConfig> cfg = ResponderConfig(d, m->payloads);
  if (!cfg) {
    RefuseInit(IkeCounter::kInitNoConfig, no_config_log_,
               absl::StrCat("no IKE config found for ", d.dst.address.ToString(), "...",
                            from.ToString(), ", sending NO_PROPOSAL_CHOSEN"));
    SendUnprotected(d, rh, {MakeNotify(NotifyType::kNoProposalChosen)});
    return;
  }
  auto spi_r = RandomIkeSpi();
  if (!spi_r.ok() || sas_.contains(*spi_r)) return;
  auto sa =
      std::make_unique<IkeSa>(*this, cfg, NextIkeId(), false, h.header.spi_i, *spi_r, d.dst, d.src);
  IkeSa* raw = sa.get();
  sas_[*spi_r] = std::move(sa);
  IndexSa(raw, cfg->name);
  half_open_[raw] = source;
  ++half_open_by_address_[source];
  touched_.emplace_back(*spi_r, raw);
  raw->ProcessMessage(d, h);
}

void IkeManager::MergePending() {
  for (auto& sa : pending_) {
    IkeSpi key = sa->own_spi();
    std::unique_ptr<IkeSa>& slot = sas_[key];
    if (slot) UnindexSa(slot.get(), slot->config().name);
    IndexSa(sa.get(), sa->config().name);
    touched_.emplace_back(key, sa.get());
    slot = std::move(sa);
  }
  pending_.clear();
}

void IkeManager::Tick() {
  absl::Time now = Now();
  if (now >= cookie_rotate_at_) RotateCookieSecret();
  if (auto line = unauth_log_.Report(now)) ManagerLog(*line, LogGroup::kNet);
  Sweep(now);
  // Initiations: only once one is due (not a walk of 10,000 peers per loop round), at most
  // kMaxInitiating of ours in IKE_SA_INIT/IKE_AUTH at a time.
  if (now >= initiate_check_at_) {
    // A slot is held until the peer answers or our first retransmission: an unreachable peer
    // loads nobody's socket buffer, and 64 of them would otherwise hold every slot for their
    // whole retransmission schedule (about 2 minutes), starving every other peer.
    // Both walks are of what is in flight or due, not of every SA and peer: with 10,000 peers
    // to bring up, walking them all every loop round until the last had started was O(n^2).
    // Not yet: a due peer that already has a live SA (the peer initiated it) stays due and is
    // looked at every round while it has one, as before.
    size_t initiating = 0;
    for (auto it = initiating_.begin(); it != initiating_.end();) {
      if ((*it)->state() != IkeSa::State::kConnecting) {
        it = initiating_.erase(it);
        continue;
      }
      initiating += (*it)->retransmit_state().count == 0;
      ++it;
    }
    std::vector<std::string> start;
    absl::Time next_check = absl::InfiniteFuture();
    for (const auto& [when, name] : initiate_queue_) {  // earliest first
      if (now < when) {
        next_check = std::min(next_check, when);
        break;
      }
      if (initiating + start.size() >= kMaxInitiating) {
        next_check = now;  // still due: the next round looks again
        break;
      }
      if (HasLiveSa(name)) {
        next_check = now;
      } else {
        start.push_back(name);
      }
    }
    initiate_check_at_ = next_check;
    // Tick's own initiations need no walk of every SA (Initiate asks for one).
    bool sweep_all = sweep_all_;
    for (const std::string& name : start) (void)Initiate(name);
    sweep_all_ = sweep_all;
  }
  MergePending();
}

bool IkeManager::Saved(const IkeSa& sa) const {
  if (sa.state() != IkeSa::State::kEstablished || sa.undecided) return false;
  // A lost duplicate of a simultaneous initiation is not resumed after a restart while the SA
  // that stays is up: the tunnels belong to that one (whose initiator deletes this one).
  if (sa.duplicate_of) {
    auto keeper = sas_.find(*sa.duplicate_of);
    if (keeper != sas_.end() && keeper->second->state() == IkeSa::State::kEstablished) {
      return false;
    }
  }
  return true;
}

void IkeManager::Arm(IkeSa* sa, const IkeSpi& spi) {
  const absl::Time when = sa->NextTimer();
  if (when == sa->timer_armed_) return;
  sa->timer_armed_ = when;
  if (when == absl::InfiniteFuture()) return;
  timers_.push_back({when, spi, sa});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
}

void IkeManager::Sweep(absl::Time now) {
  sweep_.clear();
  const bool heap = options_.sweep_interval > absl::ZeroDuration();
  bool all = sweep_all_ || !heap || now >= next_sweep_;
  if (all) {
    sweep_all_ = false;
    next_sweep_ = now + options_.sweep_interval;
    for (auto& [k, sa] : sas_) sweep_.push_back(sa.get());
    touched_.clear();
    last_visits_ = sweep_.size();
    for (IkeSa* sa : sweep_) sa->OnTimer();
    MergePending();
    for (auto it = sas_.begin(); it != sas_.end();) {
      if (it->second->state() == IkeSa::State::kDead) {
        UnindexSa(it->second.get(), it->second->config().name);
        it = sas_.erase(it);
      } else {
        ++it;
      }
    }
    if (heap) {
      // Every SA filed again from scratch: the old entries go.
      timers_.clear();
      for (auto& [k, sa] : sas_) {
        sa->timer_armed_ = absl::InfiniteFuture();
        Arm(sa.get(), k);
      }
    }
    return;
  }
  // The SAs touched since the last Tick and those whose timer is due, each once, and only
  // while still in sas_ (one replaced or erased meanwhile is not this pointer's any more).
  std::vector<std::pair<IkeSpi, IkeSa*>> visit;
  visit.swap(touched_);
  auto current = [this](const std::pair<IkeSpi, IkeSa*>& t) {
    auto it = sas_.find(t.first);
    return it != sas_.end() && it->second.get() == t.second ? it : sas_.end();
  };
  while (!timers_.empty() && timers_.front().when <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
    TimerEntry e = timers_.back();
    timers_.pop_back();
    auto it = current({e.spi, e.sa});
    if (it == sas_.end() || e.sa->timer_armed_ != e.when) continue;  // stale
    // Taken off the heap: filed again after its OnTimer, whatever its next time is.
    e.sa->timer_armed_ = absl::InfiniteFuture();
    visit.emplace_back(e.spi, e.sa);
  }
  std::sort(visit.begin(), visit.end());
  visit.erase(std::unique(visit.begin(), visit.end()), visit.end());
  for (const auto& t : visit) {
    if (current(t) != sas_.end()) sweep_.push_back(t.second);
  }
  last_visits_ = sweep_.size();
  for (IkeSa* sa : sweep_) sa->OnTimer();
  MergePending();
  // Those that died (here or by the datagram that touched them) go now; any other SA that died
  // meanwhile told the manager (IkeSa::Destroy touches it) and goes with the next Tick.
  for (const auto& t : visit) {
    auto it = current(t);
    if (it == sas_.end()) continue;
    if (it->second->state() == IkeSa::State::kDead) {
      UnindexSa(it->second.get(), it->second->config().name);
      sas_.erase(it);
    } else if (heap) {
      Arm(it->second.get(), it->first);
    }
  }
  // Re-filed SAs leave stale entries behind: dropped once they outnumber the SAs.
  if (timers_.size() > 2 * sas_.size() + 64) {
    timers_.clear();
    for (auto& [k, sa] : sas_) {
      sa->timer_armed_ = absl::InfiniteFuture();
      Arm(sa.get(), k);
    }
  }
}

std::vector<IkeSaState> IkeManager::SaveState() const {
  std::vector<IkeSaState> out;
  for (const auto& [k, sa] : sas_) {
    if (Saved(*sa)) out.push_back(sa->SaveState());
  }
  return out;
}

std::vector<IkeTrap> IkeManager::SaveTraps() const {
  std::vector<IkeTrap> out;
  for (const std::string& peer : trapped_) out.push_back({peer, ""});
  for (const auto& [key, when] : trapped_children_) out.push_back({key.first, key.second});
  return out;
}

size_t IkeManager::ResumeTraps(const std::vector<IkeTrap>& traps) {
  SweepAll();
  size_t refused = 0;
  for (const IkeTrap& t : traps) {
    auto cfg = peers_.find(t.peer);
    bool known = cfg != peers_.end() && !cfg->second->remote_any;
    if (known && !t.child.empty()) {
      known = std::any_of(cfg->second->children.begin(), cfg->second->children.end(),
                          [&](const ChildConfig& c) { return c.name == t.child; });
    }
    if (!known) {
      ++refused;
      continue;
    }
    if (t.child.empty()) {
      // Waits for its next packet, as it did before the restart: not initiated at once.
      trapped_.insert(t.peer);
      if (next_initiate_.contains(t.peer)) SetNextInitiate(t.peer, absl::InfiniteFuture());
    } else {
      trapped_children_.emplace(std::pair(t.peer, t.child), absl::InfinitePast());
    }
    ManagerLog(absl::StrCat("trap of ", t.child.empty() ? t.peer : t.child,
                            " from before the restart kept: it comes up on its next packet"));
  }
  return refused;
}

uint64_t IkeManager::StateFingerprint() const {
  uint64_t h = 0;
  // The traps are in the file too.
  for (const std::string& peer : trapped_) {
    for (char c : peer) h = h * 31 + static_cast<uint8_t>(c);
    h = h * 1099511628211ull ^ 0x74;
  }
  for (const auto& [key, when] : trapped_children_) {
    for (char c : key.second) h = h * 31 + static_cast<uint8_t>(c);
    h = h * 1099511628211ull ^ 0x63;
  }
  for (const auto& [k, sa] : sas_) {
    if (!Saved(*sa)) continue;
    for (uint8_t b : k) h = h * 31 + b;
    h = h * 1099511628211ull ^ sa->StateFingerprint();
  }
  return h;
}

IkeManager::ResumeResult IkeManager::Resume(std::vector<IkeSaState> saved) {
  SweepAll();
  ResumeResult r;
  const absl::Time now = Now();
  for (IkeSaState& s : saved) {
    auto cfg = peers_.find(s.config_name);
    auto hex = [](const IkeSpi& x) {
      return absl::BytesToHexString(
          absl::string_view(reinterpret_cast<const char*>(x.data()), x.size()));
    };
    const std::string spi = absl::StrCat(hex(s.spi_i), "_i ", hex(s.spi_r), "_r");
    if (cfg == peers_.end()) {
      ManagerLog(absl::StrCat("IKE_SA ", EscapePeerBytes(s.config_name), " ", spi,
                              " from before the restart not resumed: the peer is no longer "
                              "configured"));
      ++r.ike_refused;
      r.children_refused += s.children.size();
      continue;
    }
    // The peer config of the same name may now describe another peer or another local end (a
    // configuration edited while vpnd was down, or a state file from another appliance): an SA
    // whose peer proved an identity the configuration no longer accepts, or that runs from an
    // address this end no longer uses, is not resumed but set up again.
    std::string mismatch;
    if (s.peer_id && !RemoteIdMatches(*cfg->second, *s.peer_id)) {
      mismatch = absl::StrCat("the peer authenticated as ", IdToText(*s.peer_id),
                              ", the configuration now expects ", cfg->second->remote_id_text);
    } else if (!cfg->second->local.is_unspecified() && !(cfg->second->local == s.local.address)) {
      mismatch = absl::StrCat("it runs from ", s.local.address.ToString(),
                              ", the configured local-address is ", cfg->second->local.ToString());
    }
    if (!mismatch.empty()) {
      ManagerLog(absl::StrCat("IKE_SA ", EscapePeerBytes(s.config_name), " ", spi,
                              " from before the restart not resumed: ", mismatch));
      ++r.ike_refused;
      r.children_refused += s.children.size();
      continue;
    }
    if (HasLiveSa(s.config_name)) {
      ManagerLog(absl::StrCat("IKE_SA ", s.config_name, " ", spi,
                              " from before the restart not resumed: the peer has one already"));
      ++r.ike_refused;
      r.children_refused += s.children.size();
      continue;
    }
    std::vector<std::unique_ptr<ChildSa>> children;
    std::vector<uint32_t> to_delete;
    // The responder's side of a CHILD rekey the peer has not finished: the successors waiting
    // for the peer to delete what they replace, and those old SAs.
    absl::flat_hash_set<uint32_t> awaited, waiting, saved_spis;
    for (const auto& c : s.children) saved_spis.insert(c->spi_in);
    for (const auto& c : s.children) {
      if (!c->outbound_active && c->replaces != 0 && c->state == ChildSa::State::kInstalled) {
        if (!saved_spis.contains(c->replaces)) {
          // It waited for a CHILD SA of another IKE SA (a lost duplicate of a simultaneous
          // initiation, or the old SA of a reauthentication), which is not resumed: its SAs
          // are removed as orphans, so this one sends (and is rekeyed at once, below). Sound
          // while one IKE SA per peer is resumed (HasLiveSa above refuses a second one).
          c->outbound_active = true;
          c->replaces = 0;
          continue;
        }
        awaited.insert(c->replaces);
        waiting.insert(c->spi_in);
      }
    }
    for (auto& c : s.children) {
      bool known = false;
      for (const ChildConfig& cc : cfg->second->children) known |= cc.name == c->name;
      if (!known) {
        ManagerLog(
            absl::StrFormat("CHILD_SA %s with SPIs %08x_i %08x_o from before the restart "
                            "not resumed: its tunnel is no longer configured",
                            EscapePeerBytes(c->name), c->spi_in, c->spi_out));
        ++r.children_refused;
        continue;
      }
      if (c->state == ChildSa::State::kRekeyed && awaited.contains(c->spi_in)) {
        // We answered the peer's rekey of it: the peer deletes it (its Delete is retransmitted
        // to us), and only then does the successor send. Deleting it from here would take it
        // away at the peer while we still send with it.
      } else if (c->state == ChildSa::State::kRekeyed || c->state == ChildSa::State::kDeleting) {
        to_delete.push_back(c->spi_in);
      } else if (c->state == ChildSa::State::kInstalled && waiting.contains(c->spi_in)) {
        // Just negotiated by the peer's rekey, waiting for the old one to go: kept as it is.
      } else if (c->state == ChildSa::State::kRekeying && s.in_flight &&
                 s.in_flight->kind == TaskKind::kChildRekey &&
                 s.in_flight->rekey_spi_in == c->spi_in) {
        // The rekey in flight replaces it: the resumed SA finishes that exchange.
        c->rekey_at = absl::InfiniteFuture();
      } else {
        // Rekeyed at once (make-before-break): what sends afterwards was negotiated by this
        // process, and the rekey proves the resumed IKE SA works.
        c->state = ChildSa::State::kInstalled;
        c->rekey_at = now;
      }
      children.push_back(std::move(c));
    }
    auto sa = std::make_unique<IkeSa>(*this, cfg->second, NextIkeId(), s.original_initiator,
                                      s.spi_i, s.spi_r, s.local, s.remote);
    if (!sa->Resume(s, std::move(children))) {
      ++r.ike_refused;
      r.children_refused += sa->children().size();
      continue;
    }
    IkeSa* p = sa.get();
    sas_[p->own_spi()] = std::move(sa);
    IndexSa(p, p->config().name);
    failures_.erase(p->config().name);
    ++r.ike_resumed;
    p->Log(LogGroup::kIke, absl::StrCat("IKE_SA ", p->config().name, "[", p->unique_id(), "] ", spi,
                                        " resumed after the restart with ", p->children().size(),
                                        " CHILD_SAs; message IDs ", p->next_request_id(), "/",
                                        p->expected_request_id()));
    for (const auto& c : p->children()) {
      spis_.insert(c->spi_in);
      ++r.children_resumed;
      if (listener_ != nullptr) listener_->ChildResumed(*p, *c);
    }
    if (!to_delete.empty()) p->Queue(NewChildDeleteTask(to_delete));
    // Tunnels configured since the state was saved (the configuration changed while vpnd was
    // down) get their CHILD SA as an initiation would have made it.
    if (p->config().initiate) {
      for (const ChildConfig& cc : p->config().children) {
        bool have = false;
        for (const auto& c : p->children()) have |= c->name == cc.name;
        have |= s.in_flight && s.in_flight->kind == TaskKind::kChildCreate &&
                s.in_flight->child == cc.name;  // the resumed exchange creates it
        // A trap waits for its packet, as before the restart.
        have |= trapped_children_.contains({p->config().name, cc.name});
        if (!have) {
          p->Log(LogGroup::kCfg, absl::StrCat("tunnel ", cc.name,
                                              " has no CHILD_SA after the restart, creating it"));
          p->CreateChild(cc);
        }
      }
    }
  }
  return r;
}

void IkeManager::ChildUp(IkeSa& sa, const ChildSa& child) {
  trapped_children_.erase({sa.config().name, child.name});
  if (listener_ != nullptr) listener_->ChildUp(sa, child);
  // A duplicate this end deletes once `sa` carries its tunnels (IkeSa::DeleteDuplicate): the
  // kept SA's IKE_AUTH CHILD SA comes after IkeUp, and one made later by CREATE_CHILD_SA may
  // be the last it waits for. (Not yet in place in the dataplane: OnTimer looks again.)
  if (sa.state() != IkeSa::State::kEstablished) return;
  const std::vector<IkeSa*> same = SasOf(sa.config().name);  // a copy: Delete may index SAs
  for (IkeSa* s : same) {
    if (s != &sa && s->duplicate_delete && s->duplicate_of == sa.own_spi()) {
      s->DeleteDuplicate(sa);
    }
  }
}

void IkeManager::ChildDown(IkeSa& sa, const ChildSa& child) {
  spis_.erase(child.spi_in);
  // A CHILD SA waiting for this one to go before it sends (ChildSa::replaces: the responder's
  // side of a rekey, a reauthentication or a duplicate IKE SA) sends from now on, before this
  // one is removed, if the removal says the peer has it: the peer removed its side of a rekeyed
  // SA, which it does only once it has the successor, or deleted the IKE SA it replaces (the
  // peer's reauthentication ends so once every new CHILD SA is in; a duplicate goes so once the
  // kept SA's are). Another end of a tunnel than this IKE SA's own rekey (our own Delete, our
  // own rekey of it, the peer's rekey of it: nothing about the other IKE SA's CHILD SA) is no
  // such proof: the waiting SA waits for the SA that carries the tunnel now instead, and sends
  // only when none is left.
  auto wake = [&](IkeSa& s) {
    // Never on an IKE SA that goes (being deleted, or the lost duplicate of a simultaneous
    // initiation or reauthentication): the peer drops its CHILD SAs on the Delete, maybe
    // already has, and the tunnel goes with the IKE SA that stays (IkeSa::MoveTunnelsTo).
    if (s.state() == IkeSa::State::kDead || s.state() == IkeSa::State::kDeleting ||
        s.duplicate_of) {
      return;
    }
    for (auto& c : s.children()) {
      if (c->replaces != child.spi_in || c->outbound_active ||
          c->state != ChildSa::State::kInstalled) {
        continue;
      }
      if (&s != &sa && !sa.deleted_by_peer) {
        if (const ChildSa* carrier = TunnelCarrier(s, child)) {
          c->replaces = carrier->spi_in;
          continue;
        }
      }
      s.SendWith(*c, absl::StrFormat("CHILD_SA %s{%u}, which it replaces, is gone", child.name,
                                     child.unique_id));
    }
  };
  // The waiting CHILD SA is on this IKE SA (a CHILD rekey) or on another of the same peer
  // config (an IKE rekey's or a reauthentication's successor, FindInstalledChild, a resumed
  // SA): its SAs by name, not every SA (a shutdown or a DPD of n peers was O(n^2)).
  wake(sa);
  const std::vector<IkeSa*> same = SasOf(sa.config().name);  // a copy: a listener may index
  for (IkeSa* s : same) {
    if (s != &sa) wake(*s);
  }
  for (auto& s : pending_) {
    if (s.get() != &sa && s->config().name == sa.config().name) wake(*s);
  }
  if (listener_ != nullptr) listener_->ChildDown(sa, child);
}

const ChildSa* IkeManager::TunnelCarrier(const IkeSa& waiting, const ChildSa& gone) const {
  const ChildSa* found = nullptr;
  auto look = [&](const IkeSa& s) {
    if (&s == &waiting || s.state() == IkeSa::State::kDead ||
        s.config().name != waiting.config().name ||
        !(s.remote().address == waiting.remote().address)) {
      return;
    }
    for (const auto& c : s.children()) {
      // Not one gone already (an IKE SA's Destroy removes its CHILD SAs one by one).
      if (c.get() == &gone || c->name != gone.name || c->state == ChildSa::State::kDeleting ||
          !spis_.contains(c->spi_in)) {
        continue;
      }
      if (found == nullptr || (c->outbound_active && !found->outbound_active)) found = c.get();
    }
  };
  for (const IkeSa* s : SasOf(waiting.config().name)) look(*s);
  for (const auto& s : pending_) look(*s);
  return found;
}

void IkeManager::MoveTunnelsOff(IkeSa& sa, const std::string& why) {
  for (auto& c : sa.children()) {
    if (!c->outbound_active) continue;
    // The best other sender of the tunnel: an IKE SA that stays (not a lost duplicate) first,
    // then a CHILD SA that is not replaced already, then the newest. A lost duplicate's CHILD
    // SA still beats staying: the peer drops this SA's inbound halves as our Delete comes, the
    // duplicate's only when its own Delete comes (whose removal moves the tunnel on again).
    IkeSa* host = nullptr;
    ChildSa* best = nullptr;
    auto rank = [](const IkeSa& s, const ChildSa& k) {
      return (s.duplicate_of ? 0 : 2) + (k.state == ChildSa::State::kRekeyed ? 0 : 1);
    };
    auto look = [&](IkeSa& s) {
      if (&s == &sa || s.state() != IkeSa::State::kEstablished || s.undecided ||
          s.config().name != sa.config().name || !(s.remote().address == sa.remote().address)) {
        return;
      }
      for (auto& k : s.children()) {
        if (k->name != c->name || !k->outbound_active || k->state == ChildSa::State::kDeleting) {
          continue;
        }
        if (best == nullptr || rank(s, *k) > rank(*host, *best) ||
            (rank(s, *k) == rank(*host, *best) && k->unique_id > best->unique_id)) {
          host = &s;
          best = k.get();
        }
      }
    };
    for (IkeSa* s : SasOf(sa.config().name)) look(*s);
    for (auto& s : pending_) look(*s);
    if (best == nullptr) continue;
    c->outbound_active = false;
    host->SendWith(*best, why);
  }
}

void IkeManager::ChildUpdated(IkeSa& sa, const ChildSa& child) {
  if (listener_ != nullptr) listener_->ChildUpdated(sa, child);
}

void IkeManager::ChildOutbound(IkeSa& sa, const ChildSa& child) {
  if (listener_ != nullptr) listener_->ChildOutbound(sa, child);
}

void IkeManager::IkeUp(IkeSa& sa) {
  sa.ids_when_up = ike_ids_;
  ForgetHalfOpen(sa);
  failures_.erase(sa.config().name);
  // The trap did its job for the IKE SA; each tunnel stays trapped until its own CHILD SA is up
  // (ChildUp), so a policy-based tunnel keeps its policies meanwhile (and one whose CHILD SA
  // fails comes back on a later acquire). Marked as being created now.
  if (trapped_.erase(sa.config().name) != 0) {
    for (const ChildConfig& c : sa.config().children)
      trapped_children_.insert_or_assign(std::pair(sa.config().name, c.name), Now());
  }
  if (listener_ != nullptr) listener_->IkeUp(sa);
  // Our own attempt whose IKE_SA_INIT was never answered (the peer was not up yet, then
  // initiated itself) is abandoned: the peer has no state for it beyond a half-open SA.
  // The same peer: one config serves many peers when it has no address ("peer any").
  auto same_peer = [&sa](const IkeSa& o) {
    return o.config().name == sa.config().name && o.remote().address == sa.remote().address &&
           (!o.peer_id() || !sa.peer_id() || *o.peer_id() == *sa.peer_id());
  };
  // A copy: what Destroy sets off may add SAs to the index.
  const std::vector<IkeSa*> same = SasOf(sa.config().name);
  for (IkeSa* other : same) {
    if (other != &sa && same_peer(*other) && other->original_initiator() &&
        other->state() == IkeSa::State::kConnecting && other->spi_r() == IkeSpi{}) {
      if (other->reauth_of) {
        // Our reauthentication met the peer's: its new IKE SA replaces the old one as ours
        // would (the peer deletes the old one once it is complete). The old one stays marked
        // as being replaced (no duplicate of `sa`), and reauthenticates again should it still
        // be there in 30 s.
        if (IkeSa* old = FindSa(*other->reauth_of); old != nullptr && old->reauthenticating) {
          old->Log(LogGroup::kIke,
                   absl::StrCat("the peer's IKE_SA ", sa.config().name, "[", sa.unique_id(),
                                "] replaces it, abandoning our reauthentication"));
          old->ScheduleIkeRekey(absl::Seconds(30));
        }
        other->reauth_of.reset();
      }
      other->Destroy("the peer established an IKE_SA meanwhile, abandoning our unanswered one");
    }
  }
  // Both ends initiated at once and both IKE SAs came up: the one whose lowest nonce is the
  // lowest goes, so both ends keep the same one. It is deleted by the end that initiated the
  // one that stays (make-before-break): that end knows the kept SA's CHILD SAs are in place at
  // both ends (the peer installed them before its IKE_AUTH answer), so it moves its tunnels
  // onto them before its Delete goes; the peer moves when the Delete comes, before answering.
  // Deleted by its own initiator instead, the lost SA's CHILD SAs had to keep sending until
  // the answer (the peer might not have the kept SA's yet), and a kill -9 in between left the
  // tunnel sending into SAs the peer had removed. The new IKE SAs of a
  // rekey collision are no such duplicates: the rekey settles them (IkeSa::undecided).
  // Nor is an IKE SA being reauthenticated or one that has been up for a while (the peer's
  // reauthentication met it); two new ones of simultaneous reauthentications are.
  // Nor is a rekey's successor, which replaces its predecessor rather than adding an IKE SA.
  // With INITIAL_CONTACT from the peer, only the IKE SAs set up while this one was
  // (SetUpConcurrently) are duplicates: the peer has forgotten the older ones (InitialContact
  // destroys them once the answer is out), and a Delete for one would never be answered.
  // Set up at the same time means: `sa` was made before `other` came up
  // (SetUpConcurrently), or the two came up within kSimultaneousInitiation. The first holds
  // however long `sa`'s exchanges took: when both ends reauthenticate at once and our IKE_AUTH
  // answer is lost twice, our new SA comes up 11 s after the peer's, and with the time limit
  // alone the end that initiated the kept one saw no duplicate while the peer waited for it to
  // delete the other (two IKE SAs for good).
  if (sa.undecided || sa.successor) return;
  for (IkeSa* other : same) {
    // Nor one we are deleting already (a reauthentication's old SA whose Delete waits behind a
    // request in flight): kept by the nonce rule, it left the peer waiting for a Delete of the
    // other that never came.
    if (other->undecided || other->reauthenticating || other->successor || other->delete_queued ||
        (!SetUpConcurrently(sa, *other) &&
         Now() - other->established_at() > kSimultaneousInitiation)) {
      continue;
    }
    if (sa.peer_initial_contact && !SetUpConcurrently(sa, *other)) continue;
    if (other == &sa || !same_peer(*other) || other->state() != IkeSa::State::kEstablished) {
      continue;
    }
    IkeSa* loser = MinNonce(*other) < MinNonce(sa) ? other : &sa;
    IkeSa* keeper = loser == other ? &sa : other;
    if (loser->nonce_i.empty() || loser->nonce_r.empty()) break;
    loser->duplicate_of = keeper->own_spi();
    Touched(*loser);  // it polls the kept SA from now on (IkeSa::NextTimer)
    if (keeper->original_initiator()) {
      loser->Log(LogGroup::kIke,
                 absl::StrCat("duplicate IKE_SA from simultaneous initiation, deleting the one "
                              "with the lowest nonce; its tunnels move to IKE_SA ",
                              keeper->config().name, "[", keeper->unique_id(), "] first"));
      loser->MoveTunnelsTo(*keeper, "the duplicate IKE_SA it replaces is being deleted");
      // Once the kept SA carries every tunnel this one does (those it makes after IKE_AUTH
      // too); until then the duplicate's CHILD SAs carry the others (IkeSa::DeleteDuplicate).
      loser->duplicate_delete = true;
      loser->DeleteDuplicate(*keeper);
    } else {
      // The peer initiated the kept one and deletes this one; it is not saved for a restart
      // meanwhile (IkeSa::duplicate_of).
      loser->Log(LogGroup::kIke,
                 absl::StrCat("duplicate IKE_SA from simultaneous initiation, the one with the "
                              "lowest nonce: the peer deletes it and keeps IKE_SA ",
                              keeper->config().name, "[", keeper->unique_id(), "]"));
    }
    break;
  }
}

void IkeManager::IkeDown(IkeSa& sa, Restart restart) {
  ForgetHalfOpen(sa);
  if (listener_ != nullptr) listener_->IkeDown(sa);
  if (sa.reauth_of) {
    // The lost duplicate of two simultaneous reauthentications: the peer's new IKE SA replaces
    // the old one (its initiator deletes the old one when it is complete). Should the old one
    // still be there in 30 s, it reauthenticates again.
    IkeSa* keeper = sa.duplicate_of ? FindSa(*sa.duplicate_of) : nullptr;
    IkeSa* old = FindSa(*sa.reauth_of);
    if (keeper != nullptr && keeper->state() == IkeSa::State::kEstablished && old != nullptr &&
        old->reauthenticating) {
      old->Log(LogGroup::kIke, absl::StrCat("the peer's IKE_SA ", keeper->config().name, "[",
                                            keeper->unique_id(), "] replaces it, its duplicate ",
                                            sa.config().name, "[", sa.unique_id(), "] is gone"));
      old->ScheduleIkeRekey(absl::Seconds(30));
      return;
    }
    // The replacement failed: the old IKE SA carries on and tries again later.
    if (old != nullptr && old->reauthenticating) {
      old->reauthenticating = false;
      old->Log(LogGroup::kIke, "reauthentication failed, trying again in 30s");
      old->ScheduleIkeRekey(absl::Seconds(30));
    }
    return;
  }
  const std::string& name = sa.config().name;
  auto cfg = peers_.find(name);
  if (cfg == peers_.end() || cfg->second->remote_any) return;
  if (restart == Restart::kTrap && TrapsCover(*cfg->second)) {
    if (trapped_.insert(name).second)
      sa.Log(LogGroup::kIke,
             absl::StrCat("trap installed: ", name, " comes up on its next packet"));
    return;
  }
  // An attempt a trap started that failed, or another SA of the peer (half-open, a duplicate)
  // going: the trap stays and waits for the next packet.
  if (trapped_.contains(name)) return;
  if (restart != Restart::kTrap) {
    // as configured, below
  } else if (cfg->second->initiate) {
    // No acquires (no dataplane): an initiate tunnel comes back as the trap would bring it,
    // with the backoff instead of on traffic.
    sa.Log(LogGroup::kIke, "no dataplane to raise acquires: the trap is emulated");
    restart = Restart::kLater;
  } else {
    return;
  }
  if (restart == Restart::kNow) {
    InitiateAt(name, Now());
  } else if (restart == Restart::kLater) {
    // Backoff: the re-initiation delay, doubled per failure in a row, at most kMaxReinitiate.
    int n = std::min(failures_[name]++, 10);
    absl::Duration wait = Jitter(std::min(options_.reinitiate_delay * (1 << n),
                                          std::max(options_.reinitiate_delay, kMaxReinitiate)));
    InitiateAt(name, Now() + wait);
    sa.Log(LogGroup::kIke,
           absl::StrFormat("initiating %s again in %.1fs", name, absl::ToDoubleSeconds(wait)));
  }
}

void IkeManager::AdoptSuccessor(std::unique_ptr<IkeSa> successor) {
  pending_.push_back(std::move(successor));
}

IkeSa* IkeManager::FindSa(const IkeSpi& own_spi) {
  if (auto it = sas_.find(own_spi); it != sas_.end()) {
    if (it->second->state() == IkeSa::State::kDead) return nullptr;
    // Whoever looks an SA up (a key-pool result, a rekey's predecessor or successor, the SA a
    // reauthentication replaces) may change what its OnTimer would do: visited next Tick.
    touched_.emplace_back(it->first, it->second.get());
    return it->second.get();
  }
  for (auto& sa : pending_) {
    if (sa->own_spi() == own_spi && sa->state() != IkeSa::State::kDead) return sa.get();
  }
  return nullptr;
}

void IkeManager::Reauthenticate(IkeSa& old) {
  auto spi = RandomIkeSpi();
  auto cfg = peers_.find(old.config().name);
  if (!spi.ok() || cfg == peers_.end() || sas_.contains(*spi)) {
    old.reauthenticating = false;
    old.ScheduleIkeRekey(absl::Seconds(30));
    return;
  }
  Endpoint local{old.local().address, kIkePort}, remote{old.remote().address, kIkePort};
  auto sa =
      std::make_unique<IkeSa>(*this, cfg->second, NextIkeId(), true, *spi, IkeSpi{}, local, remote);
  sa->reauth_of = old.own_spi();
  old.Log(LogGroup::kIke, absl::StrCat("reauthenticating IKE_SA ", old.config().name, "[",
                                       old.unique_id(), "] make-before-break: ", old.config().name,
                                       "[", sa->unique_id(), "] replaces it"));
  IkeSa* raw = sa.get();
  pending_.push_back(std::move(sa));
  raw->Initiate();
}

const ChildSa* IkeManager::FindInstalledChild(const IkeSa& sa, const std::string& name) const {
  const ChildSa* found = nullptr;
  auto look = [&](const IkeSa& s) {
    if (&s == &sa || s.state() == IkeSa::State::kDead || s.config().name != sa.config().name ||
        !(s.remote().address == sa.remote().address)) {
      return;
    }
    // One being rekeyed carries the tunnel too (its successor not yet up, or waiting for it
    // to go): a CHILD SA made to replace it waits as well, or it sends before the peer that
    // asked for it has installed it. The one sending first.
    for (const auto& c : s.children()) {
      if (c->name != name || c->state == ChildSa::State::kDeleting) continue;
      if (found == nullptr || c->outbound_active || !found->outbound_active) found = c.get();
    }
  };
  for (const IkeSa* s : SasOf(sa.config().name)) look(*s);
  for (const auto& s : pending_) look(*s);
  return found;
}

bool IkeManager::SetUpConcurrently(const IkeSa& sa, const IkeSa& other) {
  return other.ids_when_up >= sa.unique_id();
}

void IkeManager::InitialContact(IkeSa& sa) {
  const std::vector<IkeSa*> same = SasOf(sa.config().name);  // a copy: Destroy may index SAs
  for (IkeSa* other : same) {
    if (other == &sa) continue;
    // RFC 7296 2.4: INITIAL_CONTACT is about the SAs from before this authentication. One
    // that came up after this SA's IKE_SA_INIT reached us was authenticated by the peer as it
    // is now (both ends initiated at once: each sent INITIAL_CONTACT, having no SA when it
    // built its IKE_AUTH): no stale SA but a duplicate, which IkeUp settles as any other.
    if (SetUpConcurrently(sa, *other)) continue;
    // Established, or being deleted (our Delete will never be answered): either way stale.
    if (other->state() != IkeSa::State::kEstablished && other->state() != IkeSa::State::kDeleting)
      continue;
    // Only the SAs authenticated with the same identities (RFC 7296 2.4): one config without a
    // peer address serves many peers, and one of them rebooting says nothing about the others.
    if (!other->peer_id() || !sa.peer_id() || !(*other->peer_id() == *sa.peer_id())) continue;
    other->Destroy("the peer sent INITIAL_CONTACT: it has forgotten this IKE_SA");
  }
}

bool IkeManager::HasOtherSa(const IkeSa& sa) const {
  for (const IkeSa* other : SasOf(sa.config().name)) {
    if (other != &sa && other->state() == IkeSa::State::kEstablished) {
      return true;
    }
  }
  return false;
}

}  // namespace portcullis::ike
