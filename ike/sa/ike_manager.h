// The IKE SA manager: owns every IKE SA, finds the one an incoming datagram belongs to (by our
// SPI), creates responder SAs for IKE_SA_INIT requests behind the anti-DoS checks, starts and
// restarts connections of type initiate, drives the timers, and turns operator and dataplane
// triggers (reset, rekey on soft expiry) into tasks. Single-threaded and clock-agnostic: the
// owner calls HandleDatagram() and Tick() from its event loop.
//
// The anti-DoS checks are charon's (receiver.c): an IKE_SA_INIT is dropped without an answer
// above block-threshold from its address, above init-limit-half-open half-open SAs and above
// ikesa-limit IKE SAs; above cookie-threshold it is answered with a COOKIE unless it carries a
// valid one. "Above the threshold" counts the half-open SAs and, as a rate, every IKE_SA_INIT
// answered in the last second: a spoofed IKE_SA_INIT whose SA dies at once (a refused KE, no
// proposal) would otherwise never count. Once cookies are demanded they stay demanded for
// kCookieCalmDown after the last time they were. A spoofed source never sees its COOKIE, so
// past that gate a flood costs a header parse, one HMAC and one small answer per packet: no SA,
// no DH, no log line (the lines go through one budget, LogRateLimiter). The cookie secret is
// replaced every cookie_secret_lifetime; cookies made with the previous one stay valid until
// the next replacement (RFC 7296 2.6), and both are wiped when they go.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <array>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ike/crypto/crypto_pool.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/sa/drop_log_limiter.h"
#include "ike/sa/ike_config.h"
#include "ike/sa/ike_log.h"
#include "ike/sa/ike_sa.h"
#include "ike/sa/log_rate_limiter.h"

namespace portcullis::ike {

struct ManagerOptions {
  RetransmitConfig retransmit;
  uint32_t cookie_threshold = 10;  // half-open SAs before COOKIEs are demanded; 0 = never
  uint32_t block_threshold = 5;    // half-open SAs per peer address before dropping; 0 = never
  uint32_t half_open_timeout = 30;
  // Half-open SAs beyond which IKE_SA_INITs are dropped (init-limit-half-open); 0 = no limit.
  uint32_t init_limit_half_open = 0;
  // IKE SAs beyond which IKE_SA_INITs are dropped (ikesa-limit); 0 = no limit. Our own
  // initiations and rekeys are not limited.
  uint32_t ikesa_limit = 0;
  absl::Duration cookie_secret_lifetime = absl::Minutes(5);
  absl::Duration reinitiate_delay = absl::Seconds(10);
  // The share of the rekey margin drawn at random for each CHILD SA's and IKE SA's rekey time
  // (RekeyDelay): 1 spreads the two ends' rekeys of equal lifetimes apart; 0 makes them rekey
  // at the same moment, so their rekeys collide (the soak forces collisions with it).
  double rekey_fuzz = 1.0;
  // 0: every Tick walks every IKE SA (OnTimer: retransmissions, timeouts, DPD, rekeys, and what
  // an SA polls, such as a dataplane install a reauthentication waits for); tests, whose fake
  // clock need not move between Ticks. Otherwise Tick visits only the SAs that are due (a heap
  // by IkeSa::NextTimer(), O(due) per round) and those a datagram, a lookup or a call touched
  // since the last Tick (IkeSaContext::Touched), and walks every SA at most this often as well
  // (vpnd: once a second; a safety net, O(SAs) per interval, not per round). An operator
  // command, new peers or a dataplane acquire make the next Tick walk them all. A walk of every SA
  // per loop round was most of vpnd's CPU per setup with 1,000-2,000 SAs (docs/DESIGN.md, IKE
  // performance).
  absl::Duration sweep_interval = absl::ZeroDuration();
  // RFC 9611: how many dataplane workers a route-based tunnel gets a CHILD SA each for, when
  // the peer agrees (SA_RESOURCE_INFO); 1 = one CHILD SA per tunnel, no notify sent. vpnd sets
  // it to the dataplane's worker count (SetChildResources), capped at kMaxChildResources.
  uint32_t child_resources = 1;
};

class IkeListener {
 public:
  virtual ~IkeListener() = default;
  virtual void ChildUp(const IkeSa& sa, const ChildSa& child) = 0;
  virtual void ChildDown(const IkeSa& sa, const ChildSa& child) = 0;
  // Its outer endpoints (the peer's NAT mapping) changed: the dataplane must send to the new one.
  virtual void ChildUpdated(const IkeSa&, const ChildSa&) {}
  // A CHILD SA that came up with its outbound half held back (ChildSa::outbound_active: the
  // responder of a rekey) now sends: the VTI or the policies move to its outbound SA.
  virtual void ChildOutbound(const IkeSa&, const ChildSa&) {}
  virtual void IkeUp(const IkeSa&) {}
  virtual void IkeDown(const IkeSa&) {}
  // Whether the CHILD SA is in place where traffic flows (vpnd: not waiting for the dataplane's
  // install ack). Make-before-break deletes the old IKE SA only once every replacement is.
  virtual bool ChildInPlace(const ChildSa&) const { return true; }
  // A CHILD SA resumed after a restart (IkeManager::Resume): its SAs may still be in the
  // dataplane; the listener adopts them or knows they are gone.
  virtual void ChildResumed(const IkeSa&, const ChildSa&) {}
};

class IkeManager : public IkeSaContext {
 public:
  using Clock = std::function<absl::Time()>;
  using Sender = std::function<void(const Datagram&)>;

  // `log` is required; `keylog` (the debug key log) and `listener` may be null.
  IkeManager(Clock clock, Sender sender, LogSink* log, LogSink* keylog, IkeListener* listener,
             ManagerOptions options = {});
  ~IkeManager() override;

  void SetOptions(const ManagerOptions& options) { options_ = options; }
  const ManagerOptions& options() const { return options_; }
  // The dataplane's worker count, once known (ManagerOptions::child_resources); new CHILD SAs
  // follow it, existing groups stay as they are.
  void SetChildResources(uint32_t n) {
    options_.child_resources = std::clamp<uint32_t>(n, 1, kMaxChildResources);
  }
  void SetKeyLog(LogSink* keylog) { keylog_ = keylog; }
  // Where inbound CHILD SA SPIs come from. Unset, a random draw here; vpnd asks its SA
  // installer, which also knows the SPIs still installed (strongSwan's get_spi). Either way an
  // SPI reserved here is never handed out twice, and SPIs below 256 are never used.
  using SpiSource = std::function<absl::StatusOr<uint32_t>()>;
  void SetSpiSource(SpiSource source) { spi_source_ = std::move(source); }
  // Where a CHILD SA's traffic counters come from (strongSwan's query_sa): vpnd asks its SA
  // installer. Unset, every CHILD SA reads zero.
  using CounterSource = std::function<ChildCounters(const ChildSa&)>;
  void SetCounterSource(CounterSource source) { counter_source_ = std::move(source); }

  // Replaces the set of peer connections. SAs of removed or changed peers are deleted (the
  // peer is told); peers of type initiate are brought up on the next Tick().
  void SetPeers(const std::vector<std::shared_ptr<const IkeSaConfig>>& peers);
  const IkeSaConfig* FindPeer(const std::string& name_key_or_address) const;

  void HandleDatagram(const Datagram& d);
  void Tick();

  // Starts an IKE SA to the peer now.
  absl::Status Initiate(const std::string& peer);
  // Whether acquires come (a dataplane raises them): then a trap (Restart::kTrap) waits for
  // traffic, else it re-initiates with the backoff.
  void set_traps(bool on) { traps_ = on; }
  // A packet of the peer's tunnel `child` (a ChildConfig name) found no SA. Brings the tunnel up
  // where a trap waits for it: the IKE SA after DPD action hold or close-action trap, the CHILD
  // SA after close-action trap; else nothing (an SA on its way, or the tunnel was cleared). A
  // trap stays until the SA it brings is up: an attempt that fails waits for the next packet.
  // Returns what it did, for the log.
  std::string Acquire(const std::string& peer, const std::string& child);
  bool trapped(const std::string& peer) const { return trapped_.contains(peer); }
  bool trapped(const std::string& peer, const std::string& child) const {
    return trapped_children_.contains({peer, child});
  }
  // Whether a trap waits for the tunnel `child` (a ChildConfig name): its own (close-action
  // trap) or its peer's (DPD action hold). vpnd keeps a trapped policy-based tunnel's
  // policies, pointing at no SA, so its traffic raises acquires instead of leaving in the clear.
  bool ChildTrapped(const std::string& child) const;
  // `reset vpn ipsec-peer X [tunnel N]`: deletes the IKE SA (or the tunnel's CHILD SA) and
  // brings it up again when this side initiates.
  absl::Status Reset(const std::string& peer, std::optional<uint32_t> tunnel);
  // Which of a CHILD SA's SPIs a dataplane event names: its inbound SPI (ours, unique among
  // our CHILD SAs) or its outbound one (the peer's choice: another peer may have picked the
  // same, or one equal to an inbound SPI of ours). kEither (operator and tests): inbound first.
  // The side settles an outbound SPI equal to an inbound one; two peers that picked the same
  // outbound SPI stay ambiguous (the event carries no peer or reqid): the first indexed wins.
  enum class SpiSide { kInbound, kOutbound, kEither };
  // Rekey of the CHILD SA that has this SPI on that side: dataplane soft expiry (which says the
  // SA's direction) or sequence number exhaustion (outbound). False if no CHILD SA has it.
  bool RekeyChild(uint32_t spi, SpiSide side = SpiSide::kEither);
  // The dataplane refused to install the CHILD SA with this inbound SPI: it is deleted (the
  // peer is told) and created again after the re-initiation delay. False if no CHILD SA has it.
  // Not to be called from a listener callback: the exchange that made the CHILD SA must finish
  // first.
  bool ChildInstallFailed(uint32_t spi_in, const std::string& reason);
  // The IKE SA (merged or pending, not destroyed) holding a CHILD SA with this SPI on that
  // side; nullptr if none. From the index (child_spis_), not a walk of every IKE SA: a
  // dataplane restart rekeys every CHILD SA, and 10,000 soft expiries each walking 10,000 IKE
  // SAs was O(n^2).
  IkeSa* FindByChildSpi(uint32_t spi, SpiSide side = SpiSide::kEither) const {
    return FindChildBySpi(spi, side).first;
  }
  // Whether the CHILD SPI index holds exactly the CHILD SAs of the IKE SAs (tests): OK, or
  // what differs.
  absl::Status CheckChildIndex() const;
  // Whether the timer heap (sweep_interval > 0) files every live IKE SA no later than its
  // NextTimer() says (tests, after every datagram and Tick): OK, or the SAs that a Tick would
  // visit late, only at the next walk of every SA (vpnd: up to a second). SAs touched since the
  // last Tick are exempt (it files them again), as is everything when it walks every SA anyway.
  // Catches an OnTimer condition NextTimer() lacks, or a change from outside the SA's own
  // message handling without IkeSaContext::Touched.
  absl::Status CheckTimers() const;

  std::vector<const IkeSa*> Sas() const;

  // Hitless restart (ike_sa_state.h). SaveState: the established IKE SAs as a restarted
  // process resumes them; StateFingerprint changes whenever SaveState's answer would (O(SAs)).
  std::vector<IkeSaState> SaveState() const;
  uint64_t StateFingerprint() const;
  struct ResumeResult {
    size_t ike_resumed = 0, children_resumed = 0;
    size_t ike_refused = 0, children_refused = 0;  // no config for them any more, bad keys
  };
  // After SetPeers: resumes saved IKE SAs with their CHILD SAs (each handed to the listener's
  // ChildResumed) and rekeys every CHILD SA at once, make-before-break, so the SAs in use
  // afterwards are ones this process negotiated. A CHILD SA that was being rekeyed or deleted
  // when the state was saved is deleted. Refused (logged, counted): an IKE SA whose peer is no
  // longer configured or whose keys are unusable, a CHILD SA whose child config is gone, and an
  // SA whose peer already has a live IKE SA here. A configured tunnel without a CHILD SA in
  // the resumed SA (added while vpnd was down) gets one created when the peer initiates.
  ResumeResult Resume(std::vector<IkeSaState> saved);
  // The traps waiting for a packet (saved with the IKE SAs; in the fingerprint), and, after
  // SetPeers, those of a restarted process put back: only for configured peers and tunnels
  // (the others are counted in the answer).
  std::vector<IkeTrap> SaveTraps() const;
  size_t ResumeTraps(const std::vector<IkeTrap>& traps);
  // Responder SAs still in IKE_SA_INIT/IKE_AUTH (in total, or from one address).
  size_t HalfOpenCount(const Address* from = nullptr) const;
  // What the per-source limits count by: the address, an IPv6 source's /64.
  static Address SourceKey(const Address& a);
  // IKE_SA_INITs that got past the COOKIE check in the current second.
  uint32_t InitsThisSecond() const { return window_.answered; }
  // Two IKE SAs with the same peer that came up at most this far apart are duplicates of a
  // simultaneous initiation; an older one is being replaced (reauthentication).
  static constexpr absl::Duration kSimultaneousInitiation = absl::Seconds(10);
  // The longest wait before initiating again after failures in a row.
  static constexpr absl::Duration kMaxReinitiate = absl::Minutes(5);
  // Our own IKE_SA_INITs in flight at most: a configuration of 10,000 initiate peers would
  // otherwise send 10,000 at once, which overflow the peer's socket buffer (and ours with the
  // answers), and every lost one waits for its retransmission (4 s, then 7 s, ...). The rest
  // start as these complete, from Tick. An initiation that had to retransmit gives its slot
  // up (the peer is slow or gone, not busy with our burst).
  static constexpr size_t kMaxInitiating = 64;
  // How long cookies stay demanded after the thresholds were last reached.
  static constexpr absl::Duration kCookieCalmDown = absl::Seconds(10);
  // Inbound CHILD SA SPIs reserved (in use or in an exchange in flight).
  size_t AllocatedSpis() const { return spis_.size(); }
  // Datagrams dropped before any SA authenticated them (bad headers, unknown SPIs, forged
  // IKE_SA_INITs); each SA counts its own in IkeSa::unauthenticated_drops().
  uint64_t unauthenticated_drops() const { return drops_.dropped(); }
  uint64_t counter(IkeCounter c) const { return counters_[static_cast<size_t>(c)]; }
  // Lines about unauthenticated messages that the log budget held back.
  uint64_t suppressed_log_lines() const { return unauth_log_.suppressed(); }

  // IKE_SA_INIT's keys (g^ir, SKEYSEED, SK_*) on `threads` workers instead of in
  // HandleDatagram, at most `max_jobs` waiting (beyond: computed here, counted as refused). The
  // caller polls crypto_fd() and calls DrainCrypto() when it is readable. Without it (tests,
  // tools) everything is computed in place, as before.
  void StartCryptoPool(int threads, size_t max_jobs, bool all_groups = false);
  int crypto_fd() const { return crypto_ ? crypto_->fd() : -1; }
  // Hands finished results to their SAs, which go on (IkeSa::IkeKeysComputed), at most `max`
  // (each may send a message: vpnd passes what its inject buffers have room for and drains the
  // rest in a later round); `wait`: first waits for every job submitted (tests). Returns how
  // many.
  size_t DrainCrypto(bool wait = false, size_t max = SIZE_MAX);
  const CryptoPool* crypto_pool() const { return crypto_.get(); }
  bool crypto_pending() const { return crypto_ && crypto_->pending() > 0; }
  // Results for SAs that had gone when they came back.
  uint64_t crypto_results_dropped() const { return crypto_dropped_; }

  // IkeSaContext.
  CryptoPool* Crypto() override { return crypto_.get(); }
  bool CryptoAllGroups() const override { return crypto_all_groups_; }
  void CryptoResultDropped() override { ++crypto_dropped_; }
  absl::Time Now() const override { return clock_(); }
  void Send(const Datagram& d) override { sender_(d); }
  void Log(const LogRecord& r) override { log_->Write(r); }
  void LogUnauthenticated(const LogRecord& r) override {
    if (unauth_log_.Allow(r.time)) log_->Write(r);
  }
  void Count(IkeCounter c) override { ++counters_[static_cast<size_t>(c)]; }
  LogSink* KeyLog() override { return keylog_; }
  absl::StatusOr<uint32_t> AllocateSpi() override;
  ChildCounters Counters(const ChildSa& child) const override {
    return counter_source_ ? counter_source_(child) : ChildCounters{};
  }
  void ReleaseSpi(uint32_t spi) override { spis_.erase(spi); }
  void ReserveSpi(uint32_t spi) override { spis_.insert(spi); }
  uint32_t NextChildId() override { return ++child_ids_; }
  uint32_t NextIkeId() override { return ++ike_ids_; }
  const RetransmitConfig& Retransmit() const override { return options_.retransmit; }
  absl::Duration HalfOpenTimeout() const override {
    return absl::Seconds(options_.half_open_timeout);
  }
  absl::Duration ReinitiateDelay() const override { return options_.reinitiate_delay; }
  double RekeyFuzz() const override { return options_.rekey_fuzz; }
  uint32_t ChildResources() const override { return options_.child_resources; }
  void ChildUp(IkeSa& sa, const ChildSa& child) override;
  void ChildDown(IkeSa& sa, const ChildSa& child) override;
  void ChildUpdated(IkeSa& sa, const ChildSa& child) override;
  void ChildOutbound(IkeSa& sa, const ChildSa& child) override;
  void IkeUp(IkeSa& sa) override;
  bool TrapChild(IkeSa& sa, const ChildConfig& child) override;
  void IkeDown(IkeSa& sa, Restart restart) override;
  void AdoptSuccessor(std::unique_ptr<IkeSa> successor) override;
  void Touched(IkeSa& sa) override { touched_.emplace_back(sa.own_spi(), &sa); }
  // Timer heap entries (sweep_interval > 0), stale ones included (tests).
  size_t timer_entries() const { return timers_.size(); }
  // SAs whose OnTimer the last Tick ran (tests, benches).
  size_t last_tick_visits() const { return last_visits_; }
  void ChildIndexed(IkeSa& sa, const ChildSa& child) override;
  void ChildUnindexed(IkeSa& sa, const ChildSa& child) override;
  IkeSa* FindSa(const IkeSpi& own_spi) override;
  void InitialContact(IkeSa& sa) override;
  // `other` came up after `sa` was made (for a responder: its IKE_SA_INIT reached us; told by
  // the order of unique IDs, not the clock, which may not move between the two): the peer took
  // part in its authentication while it set `sa` up, so `sa`'s INITIAL_CONTACT, sent when the
  // peer had no SA with us yet, does not make it stale. A stale SA (the peer restarted since)
  // was up before the peer could send that IKE_SA_INIT.
  static bool SetUpConcurrently(const IkeSa& sa, const IkeSa& other);
  void Reauthenticate(IkeSa& old) override;
  const ChildSa* FindInstalledChild(const IkeSa& sa, const std::string& name) const override;
  // ChildDown: the CHILD SA of `gone`'s tunnel that carries it now, with `gone` going, on
  // another IKE SA of the same peer than `waiting` (sending ones first); nullptr if none.
  const ChildSa* TunnelCarrier(const IkeSa& waiting, const ChildSa& gone) const;
  void MoveTunnelsOff(IkeSa& sa, const std::string& why) override;
  bool ChildInPlace(const ChildSa& child) const override {
    return listener_ == nullptr || listener_->ChildInPlace(child);
  }
  bool HasOtherSa(const IkeSa& sa) const override;
  void ConfigChanged(IkeSa& sa, const std::string& old_name) override;
  std::vector<std::shared_ptr<const IkeSaConfig>> AuthCandidates(const IkeSa& sa) const override;

 private:
  void HandleInitRequest(const Datagram& d, const DecodedHeader& h);
  // The provisional config for an IKE_SA_INIT: the peer with this address, else the first peer
  // without an address whose proposals accept the offer. IKE_AUTH may switch by identity.
  std::shared_ptr<const IkeSaConfig> ResponderConfig(const Datagram& d,
                                                     const std::vector<Payload>& request) const;
  struct CookieSecret {
    uint8_t version = 0;
    SecretBytes key;
  };
  // <version of the secret> | HMAC-SHA256(secret, Ni | IPi | SPIi) (RFC 7296 2.6).
  Bytes Cookie(const CookieSecret& secret, const IkeSpi& spi_i, const Bytes& ni,
               const Address& from) const;
  // Made with the current or the previous secret; compared in constant time.
  bool CookieValid(const Bytes& cookie, const IkeSpi& spi_i, const Bytes& ni,
                   const Address& from) const;
  void RotateCookieSecret();
  // Whether an IKE_SA_INIT must show a COOKIE now; *why says which threshold.
  bool CookiesRequired(absl::Time now, std::string* why);
  // A new second starts a new count of answered IKE_SA_INITs.
  void RollInitWindow(absl::Time now);
  // IKE SAs not yet destroyed, successors included.
  size_t LiveSaCount() const;
  // An IKE_SA_INIT refused by a limit or a threshold: counted, logged within its limiter.
  void RefuseInit(IkeCounter c, DropLogLimiter& limiter, const std::string& text);
  // A responder SA stops being half-open (established or gone).
  void ForgetHalfOpen(const IkeSa& sa);
  void SendUnprotected(const Datagram& to, const IkeHeader& h, std::vector<Payload> payloads);
  void MergePending();
  // The next Tick walks every SA (see ManagerOptions::sweep_interval).
  void SweepAll() { sweep_all_ = true; }
  // OnTimer for the SAs due this Tick: every SA, or those touched_ since the last one.
  void Sweep(absl::Time now);
  bool HasLiveSa(const std::string& name) const;
  // Whether SaveState writes this SA (established, decided, not a lost duplicate).
  bool Saved(const IkeSa& sa) const;
  void ManagerLog(const std::string& text, LogGroup g = LogGroup::kMgr);
  // A datagram nobody authenticated is dropped: counted, and logged at most once per
  // DropLogLimiter::kInterval.
  void DropUnauthenticated(const std::string& text);

  Clock clock_;
  Sender sender_;
  LogSink* log_;
  LogSink* keylog_;
  IkeListener* listener_;
  ManagerOptions options_;
  std::map<std::string, std::shared_ptr<const IkeSaConfig>> peers_;
  std::map<std::string, absl::Time> next_initiate_;  // per peer name
  std::map<std::string, int> failures_;              // per peer name: re-initiations in a row
  // next_initiate_'s entries that are not InfiniteFuture, earliest first: Tick looks at those
  // due, not at every peer (SetNextInitiate keeps both).
  std::set<std::pair<absl::Time, std::string>> initiate_queue_;
  void SetNextInitiate(const std::string& name, absl::Time when);
  // Our own initiations still in IKE_SA_INIT/IKE_AUTH, for Tick's kMaxInitiating count: added
  // by IndexSa, removed by UnindexSa and by Tick once they are no longer connecting.
  std::set<IkeSa*> initiating_;
  bool traps_ = false;
  // Acquires bring every tunnel of the peer back: a dataplane raises them, for a VTI without an
  // SA and for a policy-based tunnel's policies, which vpnd keeps without an SA while trapped.
  bool TrapsCover(const IkeSaConfig& cfg) const;
  // One tunnel has a trap: acquires come (a dataplane).
  bool Trappable(const ChildConfig& child) const;
  std::map<std::string, std::string> peer_of_child_;  // ChildConfig name -> peer name
  std::set<std::string> trapped_;                     // peers whose IKE SA a trap brings back
  // (peer, tunnel) the peer closed under close-action trap -> when an acquire last created it
  // (InfinitePast: not yet); created again at most every kTrapRetry while the packets come.
  std::map<std::pair<std::string, std::string>, absl::Time> trapped_children_;
  static constexpr absl::Duration kTrapRetry = absl::Seconds(30);
  std::map<IkeSpi, std::unique_ptr<IkeSa>> sas_;  // by our SPI
  std::vector<std::unique_ptr<IkeSa>> pending_;   // successors made during processing
  // Tick's walks (ManagerOptions::sweep_interval): the SAs a datagram reached or that were
  // merged from pending_ since the last Tick, by our SPI (an SA may be gone by then).
  std::vector<std::pair<IkeSpi, IkeSa*>> touched_;
  std::vector<IkeSa*> sweep_;  // Tick's list, kept for its capacity
  // The timer heap (sweep_interval > 0): an SA filed under IkeSa::NextTimer() as of its last
  // visit, earliest first. An entry is current while its SA is in sas_ under that SPI with
  // timer_armed_ equal to its time; a re-filed SA leaves its old entry behind, skipped when
  // popped (and dropped when the heap is rebuilt, at twice the SAs).
  struct TimerEntry {
    absl::Time when;
    IkeSpi spi;
    IkeSa* sa;
    bool operator>(const TimerEntry& o) const { return when > o.when; }
  };
  std::vector<TimerEntry> timers_;
  size_t last_visits_ = 0;
  // Files `sa` under its NextTimer() (unless it is filed there already).
  void Arm(IkeSa* sa, const IkeSpi& spi);
  bool sweep_all_ = true;
  absl::Time next_sweep_ = absl::InfinitePast();
  // Indexes, so that nothing per message or per SA walks every peer or every SA (10,000 peers
  // made each IKE_SA_INIT, IKE_AUTH and establishment cost a walk of all of them): the configs
  // with a peer address by that address, in name order, and those without one; the SAs of
  // sas_ by peer config name (IndexSa/UnindexSa wherever sas_ gains or loses one).
  std::map<Address, std::vector<std::shared_ptr<const IkeSaConfig>>> peers_by_remote_;
  std::vector<std::shared_ptr<const IkeSaConfig>> peers_any_;
  absl::flat_hash_map<std::string, std::vector<IkeSa*>> sas_by_name_;
  std::multimap<IkeSpi, IkeSa*> sas_by_spi_i_;  // the initiator's SPI never changes
  // Every CHILD SA's inbound and outbound SPI -> its IKE SA (one entry each; IkeSa reports each
  // CHILD SA joining or leaving it: ChildIndexed/ChildUnindexed). A multimap: outbound SPIs are
  // the peers' choice, so two peers may pick the same one, or one our inbound SPI.
  absl::btree_multimap<uint32_t, IkeSa*> child_spis_;
  // FindByChildSpi's IKE SA and the CHILD SA itself ({nullptr, nullptr} if none).
  std::pair<IkeSa*, ChildSa*> FindChildBySpi(uint32_t spi, SpiSide side) const;
  // No entry of next_initiate_ is due before this: Tick looks at them only from then on.
  absl::Time initiate_check_at_ = absl::InfinitePast();
  void InitiateAt(const std::string& name, absl::Time when);
  void IndexSa(IkeSa* sa, const std::string& name);
  void UnindexSa(IkeSa* sa, const std::string& name);
  const std::vector<IkeSa*>& SasOf(const std::string& name) const;
  std::set<uint32_t> spis_;
  SpiSource spi_source_;
  CounterSource counter_source_;
  uint32_t ike_ids_ = 0;
  uint32_t child_ids_ = 0;
  DropLogLimiter drops_;

  CookieSecret cookie_secret_, previous_cookie_secret_;
  absl::Time cookie_rotate_at_;
  absl::Time cookies_until_ = absl::InfinitePast();
  // Responder SAs not yet established, with the address they were made for.
  std::map<const IkeSa*, Address> half_open_;
  std::map<Address, uint32_t> half_open_by_address_;
  struct InitWindow {
    absl::Time start = absl::InfinitePast();
    uint32_t answered = 0;
    std::map<Address, uint32_t> by_address;
  };
  // Bounds the per-address count of one second when cookies are off (cookie-threshold 0).
  static constexpr size_t kMaxAddressesPerWindow = 4096;
  InitWindow window_;
  std::array<uint64_t, static_cast<size_t>(IkeCounter::kNumCounters)> counters_{};
  std::unique_ptr<CryptoPool> crypto_;
  uint64_t crypto_dropped_ = 0;
  bool crypto_all_groups_ = false;
  LogRateLimiter unauth_log_;
  DropLogLimiter cookie_log_{"IKE_SA_INITs answered with COOKIE"};
  DropLogLimiter refuse_log_{"IKE_SA_INITs refused"};
  DropLogLimiter no_config_log_{"IKE_SA_INITs without a peer config"};
};

}  // namespace portcullis::ike
