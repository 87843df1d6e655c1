// One IKE SA: its keys, message IDs (window 1), the outstanding request with its
// retransmission schedule, the cached last response, its task queue and its CHILD SAs. It does
// no I/O and reads no clock of its own: the IkeSaContext (the SA manager) sends datagrams, tells
// the time, writes the log and hears about CHILD SAs coming and going. Timers are polled:
// OnTimer() does whatever is due.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ike/crypto/crypto_suite.h"
#include "ike/crypto/dh_group.h"
#include "ike/crypto/key_schedule.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/crypto/sk_cipher.h"
#include "ike/encoding/message.h"
#include "ike/sa/child_sa.h"
#include "ike/sa/drop_log_limiter.h"
#include "ike/sa/endpoint.h"
#include "ike/sa/ike_config.h"
#include "ike/sa/ike_log.h"
#include "ike/sa/ike_sa_state.h"
#include "ike/sa/task.h"

namespace portcullis::ike {

class IkeSa;
class CryptoPool;

// What happens to the connection when an IKE SA goes away.
enum class Restart {
  kNone,   // stays down (deleted by either side, DPD action clear)
  kNow,    // DPD action restart
  kLater,  // establishing failed: try again after the re-initiation delay
  // DPD action hold, close-action trap: a trap brings it up on the tunnel's next packet (the
  // dataplane's acquire, IkeManager::Acquire); without acquires (no dataplane) like kLater.
  kTrap,
};

// What the SA manager counts for the operator: refusals and answers that protect the responder
// (IkeManager::counter()).
enum class IkeCounter {
  kCookieSent,         // IKE_SA_INIT answered with a COOKIE (none, or not a valid one)
  kInitBlocked,        // block-threshold: too many from one address
  kInitHalfOpenLimit,  // init-limit-half-open reached
  kInitIkeSaLimit,     // ikesa-limit reached
  kInitNoConfig,       // no peer config: NO_PROPOSAL_CHOSEN
  kInvalidKe,          // a KE public value refused before any DH work
  kChildSaRefused,     // NO_ADDITIONAL_SAS: the IKE SA has as many CHILD SAs as allowed
  kNumCounters,
};
const char* IkeCounterName(IkeCounter c);

// RFC 9611 groups: workers a tunnel's CHILD SAs may be spread over (dp::api::kMaxSaGroupMembers).
inline constexpr uint32_t kMaxChildResources = 16;

class IkeSaContext {
 public:
  virtual ~IkeSaContext() = default;
  virtual absl::Time Now() const = 0;
  virtual void Send(const Datagram& d) = 0;
  virtual void Log(const LogRecord& r) = 0;
  // A line caused by a message nobody has authenticated yet: it goes through the manager's one
  // budget for such lines (LogRateLimiter), so a flood of them cannot flood the log.
  virtual void LogUnauthenticated(const LogRecord& r) = 0;
  virtual void Count(IkeCounter c) = 0;
  // The debug key log, or nullptr when it is off.
  virtual LogSink* KeyLog() = 0;
  // A fresh inbound CHILD SA SPI, reserved until ReleaseSpi; an error when none can be had (a
  // bounded number of draws failed), which fails the exchange instead of hanging it.
  virtual absl::StatusOr<uint32_t> AllocateSpi() = 0;
  // An SPI from AllocateSpi() that no CHILD SA took (the exchange failed or was abandoned).
  virtual void ReleaseSpi(uint32_t spi) = 0;
  // An SPI the previous process allocated for an exchange a resumed SA finishes (hitless
  // restart): reserved as AllocateSpi would, released the same way.
  virtual void ReserveSpi(uint32_t spi) = 0;
  // The CHILD SA's traffic counters (zero when nobody reported any).
  virtual ChildCounters Counters(const ChildSa& child) const = 0;
  virtual uint32_t NextChildId() = 0;
  virtual uint32_t NextIkeId() = 0;
  virtual const RetransmitConfig& Retransmit() const = 0;
  virtual absl::Duration HalfOpenTimeout() const = 0;
  virtual absl::Duration ReinitiateDelay() const = 0;
  // ManagerOptions::rekey_fuzz.
  virtual double RekeyFuzz() const { return 1.0; }
  // ManagerOptions::child_resources: the dataplane workers a route-based tunnel's CHILD SAs are
  // spread over (RFC 9611); 1 = no SA_RESOURCE_INFO offered or accepted.
  virtual uint32_t ChildResources() const { return 1; }
  virtual void ChildUp(IkeSa& sa, const ChildSa& child) = 0;
  virtual void ChildDown(IkeSa& sa, const ChildSa& child) = 0;
  // The CHILD SA's outer endpoints moved (a NAT rebinding seen on an authenticated request).
  virtual void ChildUpdated(IkeSa& sa, const ChildSa& child) = 0;
  // The CHILD SA, up with its outbound half held back (ChildSa::outbound_active), now sends.
  virtual void ChildOutbound(IkeSa& sa, const ChildSa& child) = 0;
  virtual void IkeUp(IkeSa& sa) = 0;
  // close-action trap: the peer closed the tunnel `child` of sa's peer. True: a trap waits for
  // its next packet (IkeManager::Acquire); false: no acquires come for it (no dataplane, or a
  // policy-based tunnel), the caller emulates the trap.
  virtual bool TrapChild(IkeSa& sa, const ChildConfig& child) = 0;
  // The SA is gone (state kDead).
  virtual void IkeDown(IkeSa& sa, Restart restart) = 0;
  // An IKE SA rekey made `successor`; the manager takes it over.
  virtual void AdoptSuccessor(std::unique_ptr<IkeSa> successor) = 0;
  // The live (not destroyed) IKE SA whose own SPI is `own_spi`, successors not yet merged
  // included; nullptr if there is none.
  virtual IkeSa* FindSa(const IkeSpi& own_spi) = 0;
  // Make-before-break reauthentication of `old`: a new IKE SA to the same peer, which deletes
  // `old` once it and its CHILD SAs are up (IkeSa::reauth_of).
  virtual void Reauthenticate(IkeSa& old) = 0;
  // An installed CHILD SA of child config `name` on another live IKE SA with the same peer than
  // `sa` (one being reauthenticated or a duplicate), if any.
  virtual const ChildSa* FindInstalledChild(const IkeSa& sa, const std::string& name) const = 0;
  // `sa` is about to send a Delete for itself (the peer drops its CHILD SAs' inbound halves as
  // it comes): each tunnel it sends with goes to a CHILD SA of the same tunnel on another IKE SA
  // with the peer that may send (ChildSa::outbound_active), if there is one.
  virtual void MoveTunnelsOff(IkeSa& sa, const std::string& why) = 0;
  // Whether `child` is in place where traffic flows (IkeListener::ChildInPlace).
  virtual bool ChildInPlace(const ChildSa& child) const = 0;
  // The peer sent INITIAL_CONTACT: other SAs with it are stale.
  virtual void InitialContact(IkeSa& sa) = 0;
  // Whether another established IKE SA with this config exists (no INITIAL_CONTACT then).
  virtual bool HasOtherSa(const IkeSa& sa) const = 0;
  // `sa` moved from the peer config named `old_name` to another (IKE_AUTH chose it by the
  // identity the peer proved): the manager's index of SAs by peer follows.
  virtual void ConfigChanged(IkeSa& sa, const std::string& old_name) = 0;
  // Responder, IKE_AUTH: the peer configs this SA could belong to, given its addresses and the
  // IKE proposal chosen in IKE_SA_INIT; those configured with the peer's address first, then
  // those without an address. IKE_AUTH picks one by the identity the peer proves.
  virtual std::vector<std::shared_ptr<const IkeSaConfig>> AuthCandidates(const IkeSa& sa) const = 0;
  // Where IKE_SA_INIT's keys are computed off the caller's thread; nullptr: on it (tests, tools).
  virtual CryptoPool* Crypto() { return nullptr; }
  // Every group on the pool, cheap ones too (tests that run whole suites through it).
  virtual bool CryptoAllGroups() const { return false; }
  // A CryptoPool result came back for an SA that had gone meanwhile: dropped (wiped).
  virtual void CryptoResultDropped() {}
  // `child` joined / left `sa`'s CHILD SAs (added, resumed, removed, destroyed with the IKE
  // SA, handed to a rekey's successor): the manager's index by CHILD SA SPI follows, so that a
  // dataplane event about one SPI does not walk every IKE SA.
  virtual void ChildIndexed(IkeSa&, const ChildSa&) {}
  virtual void ChildUnindexed(IkeSa&, const ChildSa&) {}
  // Something may have moved `sa`'s NextTimer() earlier (a task queued, a request sent, a rekey
  // scheduled, a state change, destroyed) outside its own message handling: the manager's
  // timer heap looks at it on the next Tick.
  virtual void Touched(IkeSa&) {}
};

struct RetransmitState {
  bool active = false;
  uint32_t message_id = 0;
  Datagram packet;
  uint32_t count = 0;  // retransmissions so far
  absl::Time first;    // when the request first went out
  absl::Time next;
};

class IkeSa {
 public:
  enum class State { kConnecting, kEstablished, kRekeyed, kDeleting, kDead };

  IkeSa(IkeSaContext& ctx, std::shared_ptr<const IkeSaConfig> config, uint32_t unique_id,
        bool original_initiator, const IkeSpi& spi_i, const IkeSpi& spi_r, const Endpoint& local,
        const Endpoint& remote);
  ~IkeSa();
  IkeSa(const IkeSa&) = delete;
  IkeSa& operator=(const IkeSa&) = delete;

  // Initiator: IKE_SA_INIT, IKE_AUTH with the first CHILD SA, one CREATE_CHILD_SA per further
  // child config.
  void Initiate();
  void Queue(std::unique_ptr<Task> task);
  // A request from the peer or a response to ours; `header` is already decoded.
  void ProcessMessage(const Datagram& d, const DecodedHeader& header);
  void OnTimer();
  // The earliest time OnTimer() may have something to do (InfiniteFuture: nothing until a
  // message or a call changes it; Now(): it polls, such as a reauthentication waiting for the
  // dataplane's install acks). Its deadlines can only move earlier by this SA's own message
  // handling or OnTimer, or by calls that tell the context (IkeSaContext::Touched).
  absl::Time NextTimer() const;

  // Operator and dataplane triggers.
  void Delete();                  // INFORMATIONAL Delete of the IKE SA
  void RekeyChild(uint32_t spi);  // either SPI of the child
  void DeleteChildren(uint32_t tunnel_id, bool all);
  void CreateChild(const ChildConfig& config);
  // Drops everything without telling the peer.
  void Destroy(const std::string& reason, Restart restart = Restart::kNone);

  // For the tasks: state they read and write.
  IkeSaContext& ctx() { return ctx_; }
  const IkeSaConfig& config() const { return *config_; }
  std::shared_ptr<const IkeSaConfig> config_ptr() const { return config_; }
  // Responder, IKE_AUTH: the peer config chosen by the peer's identity replaces the one picked
  // provisionally for IKE_SA_INIT.
  void set_config(std::shared_ptr<const IkeSaConfig> config) {
    std::string old = config_->name;
    config_ = std::move(config);
    ctx_.ConfigChanged(*this, old);
  }
  uint32_t unique_id() const { return unique_id_; }
  bool original_initiator() const { return original_initiator_; }
  const IkeSpi& spi_i() const { return spi_i_; }
  const IkeSpi& spi_r() const { return spi_r_; }
  void set_spi_r(const IkeSpi& s) { spi_r_ = s; }
  const IkeSpi& own_spi() const { return original_initiator_ ? spi_i_ : spi_r_; }
  Endpoint& local() { return local_; }
  Endpoint& remote() { return remote_; }
  const Endpoint& local() const { return local_; }
  const Endpoint& remote() const { return remote_; }
  State state() const { return state_; }
  void set_state(State s);
  absl::Time created() const { return created_; }
  absl::Time established_at() const { return established_; }
  absl::Time rekey_at() const { return rekey_at_; }
  // The IKE SA is up: timers start, the manager hears of it.
  void SetEstablished();
  void ScheduleIkeRekey(absl::Duration in);

  IkeSaCryptoSuite suite;
  Proposal ike_proposal;  // responder: as chosen in IKE_SA_INIT, which a config switch must accept
  IkeSaKeys keys;
  std::optional<SkCipherPair> ciphers;
  Bytes nonce_i, nonce_r;
  Bytes own_init, peer_init;                   // IKE_SA_INIT messages as sent / received, for AUTH
  bool nat_local = false, nat_remote = false;  // we / the peer are behind a NAT
  bool nat_any() const { return nat_local || nat_remote || config_->force_encap; }
  // Set by a task: destroy the SA once this exchange is over (a fatal failure, a Delete).
  bool destroy_after_response = false;
  Restart restart_after_destroy = Restart::kNone;
  std::string destroy_reason;

  // The identity the peer authenticated with (IDi, or IDr for the initiator); none before
  // IKE_AUTH succeeded. INITIAL_CONTACT replaces only SAs of the same identity.
  const std::optional<IdPayload>& peer_id() const { return peer_id_; }
  void set_peer_id(const IdPayload& id) { peer_id_ = id; }

  // Derives SK_* from the exchange's results and sets up the SK ciphers; logs keys to the debug
  // key log.
  bool InstallIkeKeys(const SecretBytes& skeyseed);
  // The same from SK_* derived elsewhere (a CryptoPool job).
  bool InstallIkeKeys(IkeSaKeys k);
  // After IKE_SA_INIT, with NAT or forced encapsulation: IKE moves to 4500.
  void FloatToNatT();

  // IKE_SA_INIT's keys (g^ir, SKEYSEED, SK_*) are being computed on the context's CryptoPool.
  // Meanwhile no task starts (the initiator's IKE_AUTH waits) and the request we expect next
  // (the responder's IKE_AUTH; up to kMaxHeld distinct ones, a forgery among them) waits until
  // IkeKeysComputed installs them and goes on: the IKE_AUTH request goes out, the held message
  // is processed. A failure destroys the SA.
  bool keys_pending() const { return keys_pending_; }
  void set_keys_pending() { keys_pending_ = true; }
  void IkeKeysComputed(absl::StatusOr<IkeSaKeys> keys);

  std::vector<std::unique_ptr<ChildSa>>& children() { return children_; }
  const std::vector<std::unique_ptr<ChildSa>>& children() const { return children_; }
  ChildSa* FindChildBySpiIn(uint32_t spi);
  ChildSa* FindChildBySpiOut(uint32_t spi);
  // Installs a new CHILD SA: timers, log lines, key log, ChildUp.
  // `we_initiated`: we started the exchange that made it (decides which keys are the
  // "initiator" keys in the key log).
  void AddChild(std::unique_ptr<ChildSa> child, const ChildConfig& config, bool we_initiated);
  // Removes it: ChildDown, log. A successor from the peer's rekey that waits for it to go
  // (ChildSa::replaces) starts sending first.
  void RemoveChild(uint32_t spi_in, const std::string& why);
  // The tunnel's traffic goes out on `child` from now on (ChildOutbound).
  void SendWith(ChildSa& child, const std::string& why);
  // The dataplane refused to install it: it is deleted (the peer is told) and created again after
  // the re-initiation delay.
  void InstallFailed(uint32_t spi_in, const std::string& reason);
  const ChildConfig* FindChildConfig(const std::string& name) const;
  // How many CHILD SAs the peer may have on this IKE SA, rekeyed and deleting ones included:
  // each child config once, its rekey successor, room for collisions, and never fewer than
  // kMinChildSaLimit. Beyond it the peer's CREATE_CHILD_SAs get NO_ADDITIONAL_SAS.
  static constexpr size_t kMinChildSaLimit = 16;
  size_t ChildSaLimit() const;
  // A CREATE_CHILD_SA refused by ChildSaLimit(): counted, logged at most once per
  // DropLogLimiter::kInterval.
  void ChildSaRefused(const std::string& text);
  // The task in flight as initiator, if any.
  Task* active_task() { return active_.get(); }

  // Logging with this SA's <conn|N> tag. While the peer is unproven (a responder SA before
  // IKE_AUTH succeeded: anyone can make one with a spoofed IKE_SA_INIT) the lines go through the
  // context's budget for unauthenticated lines.
  void Log(LogGroup g, const std::string& text);
  bool peer_unproven() const { return !original_initiator_ && state_ == State::kConnecting; }
  void LogChild(const ChildSa& c, LogGroup g, const std::string& text);
  void LogKey(LogGroup g, const std::string& label, absl::Span<const uint8_t> bytes);

  // Message ID bookkeeping, for tests and status.
  uint32_t next_request_id() const { return my_mid_; }
  uint32_t expected_request_id() const { return peer_mid_; }
  const RetransmitState& retransmit_state() const { return retx_; }
  size_t queued_tasks() const { return queue_.size(); }
  absl::Time last_inbound() const { return last_inbound_; }
  // Messages dropped because nothing proved they came from the peer (ICV/tag failures, SK
  // bodies broken before the ICV, IKE_SA_INIT requests that are not retransmissions).
  uint64_t unauthenticated_drops() const { return drops_.dropped(); }

  // Moves everything a rekeyed successor inherits (children, queued CHILD SA and liveness tasks,
  // NAT state, the peer's identity).
  void HandOverTo(IkeSa& successor);

  // Hitless restart (ike_sa_state.h). SaveState: what a restarted process resumes this
  // established SA from. Resume (on a fresh SA built with the saved SPIs and endpoints): takes
  // the keys, message IDs, the request in flight and the last response, and the CHILD SAs the
  // caller passes (their SAs are still in the dataplane); false if the keys are unusable.
  IkeSaState SaveState() const;
  bool Resume(IkeSaState& state, std::vector<std::unique_ptr<ChildSa>> children);
  // Changes whenever SaveState would: message IDs, the request in flight, state, CHILD SAs.
  uint64_t StateFingerprint() const;
  bool resumed() const { return resumed_; }
  // What a successor needs of its predecessor to talk to the same peer (NAT state, the peer's
  // identity, when it was last heard of); HandOverTo does this too.
  void InheritPeerState(const IkeSa& predecessor);

  // IKE SA rekey collisions (RFC 7296 2.8.2). Both ends rekeyed at once: each answered the
  // other's request while its own was in flight, so two new IKE SAs exist. The one made with the
  // lowest of the four nonces is redundant and deleted by the end that initiated it; the other
  // takes the CHILD SAs over. Until that is decided the new IKE SA we made as responder is
  // "undecided": established, holding nothing, running no timers of its own.
  //
  // Made by a rekey (CREATE_CHILD_SA), not by IKE_SA_INIT.
  bool successor = false;
  // On a successor: made in a collision, not (yet) the one that carries the CHILD SAs. One that
  // lost and that the peer never deletes is deleted after kRekeyedTimeout.
  bool undecided = false;
  // The peer's IKE_AUTH carried INITIAL_CONTACT: it has no other IKE SA with us, so this one is
  // no duplicate of a simultaneous initiation (its stale predecessors are destroyed instead).
  bool peer_initial_contact = false;
  // The peer deleted this IKE SA (its Delete request; IkeManager::ChildDown: the CHILD SAs of
  // another IKE SA waiting for this one's send from now on).
  bool deleted_by_peer = false;
  // The highest unique ID the manager had given out when this SA came up (IkeManager::IkeUp):
  // an SA with a higher one was made after it was up (IkeManager::SetUpConcurrently).
  uint32_t ids_when_up = 0;
  // Make-before-break reauthentication. On the new IKE SA: our SPI of the one it replaces,
  // deleted once the new one has all its CHILD SAs. On the old one: a replacement is on its way.
  std::optional<IkeSpi> reauth_of;
  bool reauthenticating = false;
  // On the new IKE SA of a reauthentication, with no exchange running: once it holds every
  // tunnel the old one carries, each CHILD SA in place, the old SA goes; if one could not be set
  // up, this one goes instead and the old one tries again later.
  void CheckReauthentication();
  void FinishReauthentication();
  // Queues a rekey for each installed CHILD SA whose rekey time has come (OnTimer, and before
  // the peer's CREATE_CHILD_SA is answered).
  void StartDueChildRekeys();

  // Simultaneous initiation (IkeManager::IkeUp): on the duplicate IKE SA that lost, our SPI of
  // the one that stays. Not saved for a restart while that one is up; deleted by the end that
  // initiated the one that stays (if the peer never does, kept after kRekeyedTimeout).
  std::optional<IkeSpi> duplicate_of;
  // On a duplicate this end deletes (it initiated the one that stays): the Delete waits until
  // the kept SA carries every tunnel this one does (its CHILD SAs installed and in place), so
  // no tunnel is left without an SA between the two; OnTimer looks (DeleteDuplicate). After
  // kRekeyedTimeout it goes all the same.
  bool duplicate_delete = false;
  void DeleteDuplicate(IkeSa& keeper);
  // Delete() queued our Delete of this SA (it is still kEstablished until the exchange starts,
  // behind a request in flight): it is going, no IKE SA's duplicate to keep.
  bool delete_queued = false;
  // The tunnels this SA's CHILD SAs carry send with `keeper`'s CHILD SAs of the same tunnels
  // from now on (each of ours stops sending): make-before-break ahead of deleting this SA.
  void MoveTunnelsTo(IkeSa& keeper, const std::string& why);

  // On the old SA: our SPI of the successor we made as responder in a collision.
  std::optional<IkeSpi> passive_successor;
  // On an undecided successor: our SPI of the old SA. A request on the undecided SA other than
  // its Delete says the peer already moved to it (it won, or never saw the collision), so it
  // takes over before the request is handled.
  std::optional<IkeSpi> predecessor;
  // The passive successor, if it is still alive, takes everything over and this SA is rekeyed
  // (the peer's rekey won, or the peer deleted this SA, which says the same). False if there is
  // none. `why` goes to the log.
  bool AdoptPassiveSuccessor(const std::string& why);
  // Moves everything to `next` (a successor of this SA) and marks this SA rekeyed.
  void RekeyedInto(IkeSa& next);

  // How long an IKE SA we rekeyed as responder waits for the peer's Delete before deleting it
  // itself (strongSwan does the same).
  static constexpr absl::Duration kRekeyedTimeout = absl::Seconds(30);

 private:
  // The manager's timer heap is its bookkeeping, kept beside the SA so that filing and finding
  // a stale entry costs no lookup.
  friend class IkeManager;
  // The deadline this SA is filed under in its manager's timer heap (InfiniteFuture: none).
  absl::Time timer_armed_ = absl::InfiniteFuture();

  void StartNextTask();
  void SendRequest();
  Datagram SendDatagram(Bytes data);
  void HandleRequest(const Datagram& d, const DecodedHeader& h);
  void HandleResponse(const Datagram& d, const DecodedHeader& h);
  // Opens an SK-protected message. A request that is authentic but malformed leaves the error
  // notification to answer with in *answer.
  bool Decode(const Datagram& d, const DecodedHeader& h, std::vector<Payload>* payloads,
              std::optional<Payload>* answer);
  // Encodes/seals, caches and sends the response to request `h`.
  // Answers `request` (kept to recognise its retransmissions).
  void SendResponse(const Datagram& request, const DecodedHeader& h, std::vector<Payload> out);
  std::unique_ptr<Task> ResponderTask(const DecodedHeader& h, const std::vector<Payload>& in);
  void RetransmitTimeout();
  // An authentic request says where the peer is now: the IKE SA's and the CHILD SAs' endpoints
  // follow it.
  void UpdateEndpoints(const Datagram& d);
  // Counts a message nobody authenticated and logs `what`, at most once per
  // DropLogLimiter::kInterval (and within the context's budget for such lines).
  void DropUnauthenticated(const std::string& what);

  IkeSaContext& ctx_;
  std::shared_ptr<const IkeSaConfig> config_;
  uint32_t unique_id_;
  bool original_initiator_;
  IkeSpi spi_i_, spi_r_;
  Endpoint local_, remote_;
  State state_ = State::kConnecting;
  absl::Time created_, established_ = absl::InfinitePast(), rekey_at_ = absl::InfiniteFuture();
  absl::Time rekeyed_at_ = absl::InfiniteFuture();
  absl::Time last_inbound_, last_outbound_;
  std::vector<std::unique_ptr<ChildSa>> children_;

  std::deque<std::unique_ptr<Task>> queue_;
  std::unique_ptr<Task> active_;
  uint32_t my_mid_ = 0;    // ID of our next (or outstanding) request
  uint32_t peer_mid_ = 0;  // ID we expect on the peer's next request
  RetransmitState retx_;
  bool have_cached_response_ = false;
  uint32_t cached_mid_ = 0;
  ExchangeType cached_exchange_ = ExchangeType::kIkeSaInit;
  Datagram cached_response_;
  // The request the cached response answers: only a byte-identical copy is a retransmission
  // (the cache check comes before any ICV check, so message ID and exchange alone would let
  // anyone make us re-send, or look alive).
  Bytes cached_request_;
  // Resumed after a restart; resumed_request_: retx_ is a request the previous process sent,
  // whose answer no task waits for.
  bool resumed_ = false;
  bool resumed_request_ = false;
  bool keys_pending_ = false;
  // Distinct copies of the request we expect next that came while keys_pending_.
  static constexpr size_t kMaxHeld = 4;
  std::vector<std::pair<Datagram, DecodedHeader>> held_;
  // The peer's first authenticated request since the resume arrived (message IDs agree).
  bool resumed_in_step_ = false;
  std::optional<IdPayload> peer_id_;
  // CHILD SAs to create again (install failures), by child config name.
  std::vector<std::pair<std::string, absl::Time>> recreate_;
  DropLogLimiter drops_;
  DropLogLimiter child_refusals_{"CHILD_SA requests refused"};
};

const char* IkeSaStateName(IkeSa::State s);

}  // namespace portcullis::ike
