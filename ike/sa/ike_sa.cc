#include "ike/sa/ike_sa.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ike/encoding/ike_errors.h"
#include "ike/sa/child_negotiation.h"
#include "ike/sa/proposal_string.h"
#include "ike/sa/traffic_selectors.h"

namespace portcullis::ike {

namespace {

bool AllowedWhile(IkeSa::State s, TaskKind k) {
  switch (s) {
    case IkeSa::State::kConnecting:
      return k == TaskKind::kIkeInit || k == TaskKind::kIkeAuth;
    case IkeSa::State::kEstablished:
      return k != TaskKind::kIkeInit && k != TaskKind::kIkeAuth;
    case IkeSa::State::kRekeyed:
    case IkeSa::State::kDeleting:
      return k == TaskKind::kIkeDelete;
    case IkeSa::State::kDead:
      return false;
  }
  return false;
}

// Answers a CREATE_CHILD_SA this IKE SA can no longer act on (it was rekeyed, or is being
// deleted) with TEMPORARY_FAILURE, so the peer tries again later, on the new IKE SA, instead of
// retransmitting into silence until it declares us dead (RFC 7296 2.25).
class TemporaryFailureTask : public Task {
 public:
  TaskKind kind() const override { return TaskKind::kInformational; }
  ExchangeType exchange() const override { return ExchangeType::kCreateChildSa; }
  bool BuildRequest(IkeSa&, std::vector<Payload>&) override { return false; }
  TaskOutcome ProcessResponse(IkeSa&, const std::vector<Payload>&) override {
    return TaskOutcome::kDone;
  }
  void ProcessRequest(IkeSa& sa, const std::vector<Payload>&, std::vector<Payload>& out) override {
    sa.Log(LogGroup::kIke,
           absl::StrCat("CREATE_CHILD_SA on an IKE_SA in state ", IkeSaStateName(sa.state()),
                        ": answering TEMPORARY_FAILURE"));
    out.push_back(MakeNotify(NotifyType::kTemporaryFailure));
  }
};

// `--rekey_fuzz 0` (tests only): the two ends of equal lifetimes are to rekey at the same
// moment, but their SAs came up a round trip apart. Rounded up to the next whole second of the
// clock (one clock for both ends on one machine), the two deadlines are one (unless a second
// begins within that round trip).
absl::Duration RekeyIn(absl::Time now, absl::Duration delay, double fuzz) {
  if (fuzz > 0) return delay;
  const absl::Time t = now + delay;
  const absl::Time floor = absl::FromUnixSeconds(absl::ToUnixSeconds(t));
  return (floor == t ? t : floor + absl::Seconds(1)) - now;
}

}  // namespace

const char* IkeCounterName(IkeCounter c) {
  switch (c) {
    case IkeCounter::kCookieSent:
      return "cookies-sent";
    case IkeCounter::kInitBlocked:
      return "init-blocked";
    case IkeCounter::kInitHalfOpenLimit:
      return "init-half-open-limit";
    case IkeCounter::kInitIkeSaLimit:
      return "init-ikesa-limit";
    case IkeCounter::kInitNoConfig:
      return "init-no-config";
    case IkeCounter::kInvalidKe:
      return "invalid-ke";
    case IkeCounter::kChildSaRefused:
      return "child-sa-refused";
    case IkeCounter::kNumCounters:
      break;
  }
  return "?";
}

const char* IkeSaStateName(IkeSa::State s) {
  switch (s) {
    case IkeSa::State::kConnecting:
      return "CONNECTING";
    case IkeSa::State::kEstablished:
      return "ESTABLISHED";
    case IkeSa::State::kRekeyed:
      return "REKEYED";
    case IkeSa::State::kDeleting:
      return "DELETING";
    case IkeSa::State::kDead:
      return "DESTROYING";
  }
  return "?";
}

const char* ChildStateName(ChildSa::State s) {
  switch (s) {
    case ChildSa::State::kInstalled:
      return "INSTALLED";
    case ChildSa::State::kRekeying:
      return "REKEYING";
    case ChildSa::State::kRekeyed:
      return "REKEYED";
    case ChildSa::State::kDeleting:
      return "DELETING";
  }
  return "?";
}

IkeSa::IkeSa(IkeSaContext& ctx, std::shared_ptr<const IkeSaConfig> config, uint32_t unique_id,
             bool original_initiator, const IkeSpi& spi_i, const IkeSpi& spi_r,
             const Endpoint& local, const Endpoint& remote)
    : ctx_(ctx),
      config_(std::move(config)),
      unique_id_(unique_id),
      original_initiator_(original_initiator),
      spi_i_(spi_i),
      spi_r_(spi_r),
      local_(local),
      remote_(remote) {
  created_ = last_inbound_ = last_outbound_ = ctx_.Now();
}

IkeSa::~IkeSa() {
  // Destroy removed them; an SA freed alive (its manager going, a Resume refused) leaves none
  // in the manager's index either.
  for (const auto& c : children_) ctx_.ChildUnindexed(*this, *c);
}

void IkeSa::Log(LogGroup g, const std::string& text) {
  LogRecord r{ctx_.Now(), g, config_->name, unique_id_, false, text};
  if (peer_unproven()) {
    ctx_.LogUnauthenticated(r);
  } else {
    ctx_.Log(r);
  }
}

void IkeSa::LogChild(const ChildSa& c, LogGroup g, const std::string& text) {
  ctx_.Log(LogRecord{ctx_.Now(), g, c.name, c.unique_id, true, text});
}

void IkeSa::LogKey(LogGroup g, const std::string& label, absl::Span<const uint8_t> bytes) {
  if (LogSink* k = ctx_.KeyLog()) {
    WriteKeyDump(*k, LogRecord{ctx_.Now(), g, config_->name, unique_id_, false, ""}, label, bytes);
  }
}

void IkeSa::Initiate() {
  Log(LogGroup::kIke, absl::StrCat("initiating IKE_SA ", config_->name, "[", unique_id_, "] to ",
                                   remote_.address.ToString()));
  Queue(NewIkeInitTask());
  Queue(NewIkeAuthTask());
  for (size_t i = 1; i < config_->children.size(); ++i) {
    Queue(NewChildCreateTask(&config_->children[i]));
  }
}

void IkeSa::Queue(std::unique_ptr<Task> task) {
  if (state_ == State::kDead) return;
  ctx_.Touched(*this);
  queue_.push_back(std::move(task));
  StartNextTask();
}

void IkeSa::StartNextTask() {
  while (!active_ && !resumed_request_ && !keys_pending_ && state_ != State::kDead &&
         !queue_.empty()) {
    if (!AllowedWhile(state_, queue_.front()->kind())) {
      if (state_ == State::kConnecting) return;                // waits for IKE_AUTH
      std::unique_ptr<Task> gone = std::move(queue_.front());  // no longer possible
      queue_.pop_front();
      gone->Dropped(*this);
      continue;
    }
    active_ = std::move(queue_.front());
    queue_.pop_front();
    SendRequest();
  }
  // Also when the last task built no request (a CHILD SA without an SPI, say): the old IKE SA
  // of a reauthentication must not wait for an exchange that never comes.
  CheckReauthentication();
}

void IkeSa::SendRequest() {
  std::vector<Payload> payloads;
  if (!active_->BuildRequest(*this, payloads)) {
    active_.reset();
    if (destroy_after_response) {
      Destroy(destroy_reason, restart_after_destroy);
    }
    return;
  }
  IkeHeader h;
  h.spi_i = spi_i_;
  h.spi_r = spi_r_;
  h.exchange = active_->exchange();
  h.initiator = original_initiator_;
  h.message_id = my_mid_;
  absl::StatusOr<Bytes> wire;
  if (h.exchange == ExchangeType::kIkeSaInit) {
    Message m;
    m.header = h;
    m.payloads = payloads;
    wire = EncodeMessage(m);
    if (wire.ok()) own_init = *wire;
  } else {
    wire = SealMessage(ciphers->outbound, h, payloads);
  }
  if (!wire.ok()) {
    Log(LogGroup::kEnc, absl::StrCat("generating ", ExchangeTypeName(h.exchange),
                                     " request failed: ", wire.status().message()));
    active_.reset();
    Destroy("message encoding failed", Restart::kLater);
    return;
  }
  Log(LogGroup::kEnc, absl::StrCat("generating ", MessageSummary(h, payloads)));
  retx_.active = true;
  retx_.message_id = my_mid_;
  retx_.count = 0;
  retx_.first = ctx_.Now();
  retx_.next = ctx_.Now() + absl::Seconds(ctx_.Retransmit().timeout);
  retx_.packet = SendDatagram(*std::move(wire));
}

Datagram IkeSa::SendDatagram(Bytes data) {
  Datagram d;
  d.src = local_;
  d.dst = remote_;
  d.non_esp_marker = local_.port == kNatTPort;
  d.data = std::move(data);
  Log(LogGroup::kNet, absl::StrCat("sending packet: from ", d.src.ToString(), " to ",
                                   d.dst.ToString(), " (", d.data.size(), " bytes)"));
  last_outbound_ = ctx_.Now();
  ctx_.Send(d);
  return d;
}

void IkeSa::ProcessMessage(const Datagram& d, const DecodedHeader& h) {
  if (state_ == State::kDead) return;
  if (keys_pending_ && h.header.exchange != ExchangeType::kIkeSaInit) {
    // Nothing can open it yet. Only the request we expect next (the responder's IKE_AUTH) is
    // worth keeping; the SPIs are on the wire, so a forgery may come too: a few distinct ones
    // are kept, each checked once the keys are here, a copy of one already held (a
    // retransmission) is not, and beyond kMaxHeld the rest is dropped as unauthenticated.
    const bool expected = !h.header.response && h.header.message_id == peer_mid_;
    bool copy = false;
    for (const auto& [hd, hh] : held_) copy |= hd.data == d.data;
    if (!expected || copy) {
      DropUnauthenticated(absl::StrCat(
          ExchangeTypeName(h.header.exchange), h.header.response ? " response " : " request ",
          h.header.message_id, " before the IKE_SA_INIT keys are computed: ",
          copy ? "a copy of one held" : "not the request expected", ", message dropped"));
      return;
    }
    if (held_.size() >= kMaxHeld) {
      // The oldest goes, not the newest: forgeries sent first cannot keep the genuine request
      // (or its retransmission) out.
      DropUnauthenticated(absl::StrCat("request ", h.header.message_id,
                                       " held before the IKE_SA_INIT keys were computed "
                                       "replaced by a newer one, message dropped"));
      held_.erase(held_.begin());
    }
    Log(LogGroup::kNet,
        absl::StrCat("received packet: from ", d.src.ToString(), " to ", d.dst.ToString(), " (",
                     d.data.size(), " bytes), held until the IKE_SA_INIT keys are computed"));
    held_.emplace_back(d, h);
    return;
  }
  Log(LogGroup::kNet, absl::StrCat("received packet: from ", d.src.ToString(), " to ",
                                   d.dst.ToString(), " (", d.data.size(), " bytes)"));
  if (h.header.response) {
    HandleResponse(d, h);
  } else {
    HandleRequest(d, h);
  }
  if (destroy_after_response && state_ != State::kDead) {
    Destroy(destroy_reason, restart_after_destroy);
  }
}

bool IkeSa::Decode(const Datagram& d, const DecodedHeader& h, std::vector<Payload>* payloads,
                   std::optional<Payload>* answer) {
  if (!ciphers) {
    Log(LogGroup::kEnc, absl::StrCat("received ", ExchangeTypeName(h.header.exchange),
                                     " before keys exist, ignored"));
    return false;
  }
  absl::StatusOr<OpenedMessage> m = OpenMessage(ciphers->inbound, d.data);
  if (!m.ok()) {
    std::string what =
        absl::StrCat(ExchangeTypeName(h.header.exchange),
                     h.header.response ? " response " : " request ", h.header.message_id);
    // Before the ICV/tag verified, the message may come from anyone: answering it, moving the
    // message ID or replacing the cached response would let a forger desynchronise us from the
    // peer (RFC 7296 2.21.1). It is dropped like a failed integrity check.
    if (!PassedIntegrityCheck(m.status())) {
      DropUnauthenticated(
          IsIntegrityFailure(m.status())
              ? absl::StrCat("integrity check of ", what, " failed, message dropped")
              : absl::StrCat(what, " refused before its integrity check: ", m.status().message(),
                             ", message dropped"));
      return false;
    }
    // The failure is in the authenticated inner chain: a request gets the error as its answer
    // (RFC 7296 2.21.2), a response is dropped.
    std::optional<uint8_t> critical = UnsupportedCriticalPayloadType(m.status());
    NotifyType t = critical ? NotifyType::kUnsupportedCriticalPayload : NotifyType::kInvalidSyntax;
    Log(LogGroup::kEnc,
        absl::StrCat(what, " refused: ", m.status().message(), " (", NotifyName(t), ")",
                     !h.header.response ? ", answering with it" : ", dropped"));
    if (!h.header.response && answer != nullptr) {
      *answer = MakeNotify(t, critical ? Bytes{*critical} : Bytes{});
    }
    return false;
  }
  *payloads = std::move(m->inner);
  return true;
}

void IkeSa::HandleRequest(const Datagram& d, const DecodedHeader& h) {
  uint32_t mid = h.header.message_id;
  bool init = h.header.exchange == ExchangeType::kIkeSaInit;
  if (have_cached_response_ && mid == cached_mid_ && h.header.exchange == cached_exchange_) {
    if (d.data != cached_request_) {
      DropUnauthenticated(absl::StrCat("request ", mid,
                                       " repeats the message ID of the last one with other "
                                       "content, message dropped"));
      return;
    }
    Log(LogGroup::kIke,
        absl::StrCat("received retransmit of request with ID ", mid, ", retransmitting response"));
    ctx_.Send(cached_response_);
    return;
  }
  // Resumed from a state saved just before the old process answered the peer's last request
  // (the answer went out, the file was not rewritten yet): the peer is one ahead. Its first
  // request with that ID, once it proves authentic below, puts us in step.
  const bool one_ahead = resumed_ && !resumed_in_step_ && !init && mid == peer_mid_ + 1;
  if (mid != peer_mid_ && !one_ahead) {
    Log(LogGroup::kIke, absl::StrCat("received request with message ID ", mid, ", expected ",
                                     peer_mid_, ": ignored (INVALID_MESSAGE_ID)"));
    return;
  }
  std::vector<Payload> in;
  if (init) {
    // Only the request that made this responder SA is processed; anything else (a replay with
    // another message ID, a forgery for an SA that exists) is unauthenticated and must neither
    // re-run the key exchange nor touch the SA. The manager hands on nothing else; this is the
    // SA's own guard.
    if (original_initiator_ || state_ != State::kConnecting || peer_mid_ != 0 || mid != 0 ||
        have_cached_response_) {
      DropUnauthenticated(absl::StrCat("IKE_SA_INIT request ", mid, " from ", d.src.ToString(),
                                       " for an IKE_SA in state ", IkeSaStateName(state_),
                                       ", message dropped"));
      return;
    }
    absl::StatusOr<Message> m = DecodeMessage(d.data);
    if (!m.ok()) {
      // The SA was made for this very message, so there is nothing to protect.
      Log(LogGroup::kEnc, absl::StrCat("IKE_SA_INIT request invalid: ", m.status().message(),
                                       " (INVALID_SYNTAX), dropped"));
      destroy_after_response = true;
      destroy_reason = "invalid IKE_SA_INIT";
      return;
    }
    peer_init.assign(d.data.begin(), d.data.end());
    in = std::move(m->payloads);
  } else {
    std::optional<Payload> answer;
    if (!Decode(d, h, &in, &answer)) {
      if (answer && !one_ahead) SendResponse(d, h, {*answer});
      return;
    }
    if (one_ahead) {
      Log(LogGroup::kIke,
          absl::StrCat("request ", mid, " is one past the saved message ID ", peer_mid_,
                       ": the previous process answered ", peer_mid_, " after saving its state"));
      peer_mid_ = mid;
      have_cached_response_ = false;
    }
    if (resumed_) resumed_in_step_ = true;
    UpdateEndpoints(d);
  }
  last_inbound_ = ctx_.Now();
  Log(LogGroup::kEnc, absl::StrCat("parsed ", MessageSummary(h.header, in)));
  // A rekey of ours that is due starts before the peer's rekey of the same SA is answered:
  // timers are polled (OnTimer, up to a sweep late), so when both ends rekey an SA at the same
  // moment, the end that polls later would answer the peer's rekey first and never send its
  // own. Started first, the two cross and the nonce rule settles them (RFC 7296 2.8.1, 2.8.2),
  // as equal lifetimes with `--rekey_fuzz 0` are meant to force. Only the SA the peer rekeys:
  // another exchange of ours in flight would make us refuse the peer's (TEMPORARY_FAILURE).
  // (A reauthentication starts from OnTimer only: it makes a new IKE SA.)
  if (h.header.exchange == ExchangeType::kCreateChildSa && state_ == State::kEstablished &&
      !undecided && !active_ && queue_.empty()) {
    const NotifyPayload* rekey = FindNotify(in, NotifyType::kRekeySa);
    const auto* sa = FindPayload<SaPayload>(in, PayloadType::kSa);
    const absl::Time now = ctx_.Now();
    if (rekey != nullptr && rekey->spi.size() == 4) {
      ChildSa* c = FindChildBySpiOut(SpiFromBytes(rekey->spi));
      if (c != nullptr && c->state == ChildSa::State::kInstalled && now >= c->rekey_at) {
        c->rekey_at = absl::InfiniteFuture();
        Queue(NewChildRekeyTask(c->spi_in));
      }
    } else if (rekey == nullptr && sa != nullptr && !sa->proposals.empty() &&
               sa->proposals[0].protocol == ProtocolId::kIke && now >= rekey_at_ &&
               !(config_->reauth && !config_->remote_any)) {
      rekey_at_ = absl::InfiniteFuture();
      Queue(NewIkeRekeyTask());
    }
  }
  if (undecided && predecessor) {
    bool deletes_this = false;
    for (const Payload& p : in) {
      if (const auto* del = p.As<DeletePayload>(); del && del->protocol == ProtocolId::kIke) {
        deletes_this = true;
      }
    }
    IkeSa* pred = ctx_.FindSa(*predecessor);
    if (!deletes_this && pred != nullptr && pred->passive_successor == own_spi()) {
      pred->AdoptPassiveSuccessor(absl::StrCat(
          "the peer sends ", ExchangeTypeName(h.header.exchange), " on its new IKE_SA"));
    }
  }

  std::unique_ptr<Task> task = ResponderTask(h, in);
  if (!task) return;
  std::vector<Payload> out;
  task->ProcessRequest(*this, in, out);
  SendResponse(d, h, std::move(out));
  task->AfterResponse(*this);
}

void IkeSa::SendResponse(const Datagram& request, const DecodedHeader& h,
                         std::vector<Payload> out) {
  uint32_t mid = h.header.message_id;
  IkeHeader rh;
  rh.spi_i = spi_i_;
  rh.spi_r = spi_r_;
  rh.exchange = h.header.exchange;
  rh.initiator = original_initiator_;
  rh.response = true;
  rh.message_id = mid;
  absl::StatusOr<Bytes> wire;
  if (rh.exchange == ExchangeType::kIkeSaInit) {
    if (destroy_after_response) rh.spi_r = IkeSpi{};  // an error answer creates no state
    Message m;
    m.header = rh;
    m.payloads = out;
    wire = EncodeMessage(m);
    if (wire.ok() && !destroy_after_response) own_init = *wire;
  } else if (ciphers) {
    wire = SealMessage(ciphers->outbound, rh, out);
  } else {
    wire = absl::FailedPreconditionError("no keys");
  }
  if (!wire.ok()) {
    Log(LogGroup::kEnc, absl::StrCat("generating response failed: ", wire.status().message()));
    return;
  }
  Log(LogGroup::kEnc, absl::StrCat("generating ", MessageSummary(rh, out)));
  peer_mid_ = mid + 1;
  cached_response_ = SendDatagram(*std::move(wire));
  cached_request_ = request.data;
  have_cached_response_ = true;
  cached_mid_ = mid;
  cached_exchange_ = rh.exchange;
}

void IkeSa::UpdateEndpoints(const Datagram& d) {
  if (remote_ == d.src && local_ == d.dst) return;
  // Once established, only a peer behind a NAT (and we not) may move (RFC 7296 2.23): the ICV
  // does not cover the IP and UDP headers, so anywhere else a rewritten source would let an
  // on-path host redirect IKE and ESP to itself. Before that, the initiator's float to 4500
  // must be followed.
  if (state_ != State::kConnecting && !(nat_remote && !nat_local)) return;
  if (!(remote_ == d.src)) {
    Log(LogGroup::kIke, absl::StrCat("remote endpoint changed from ", remote_.ToString(), " to ",
                                     d.src.ToString()));
  }
  remote_ = d.src;
  local_ = d.dst;
  // ESP follows IKE (RFC 7296 2.23): with UDP encapsulation the ports matter too, so the
  // dataplane must send to the new mapping.
  for (auto& c : children_) {
    if (c->local == local_ && c->remote == remote_) continue;
    bool moved = !(c->local.address == local_.address) || !(c->remote.address == remote_.address) ||
                 (c->encap && (c->local.port != local_.port || c->remote.port != remote_.port));
    c->local = local_;
    c->remote = remote_;
    if (!moved) continue;
    LogChild(*c, LogGroup::kChd,
             absl::StrFormat("CHILD_SA %s{%u} now between %s and %s", c->name, c->unique_id,
                             c->local.ToString(), c->remote.ToString()));
    ctx_.ChildUpdated(*this, *c);
  }
}

void IkeSa::DropUnauthenticated(const std::string& what) {
  if (auto line = drops_.Drop(ctx_.Now(), what)) {
    ctx_.LogUnauthenticated(
        LogRecord{ctx_.Now(), LogGroup::kEnc, config_->name, unique_id_, false, *line});
  }
}

void IkeSa::set_state(State s) {
  if (s == State::kRekeyed && state_ != State::kRekeyed) rekeyed_at_ = ctx_.Now();
  if (s != state_) ctx_.Touched(*this);
  state_ = s;
}

std::unique_ptr<Task> IkeSa::ResponderTask(const DecodedHeader& h, const std::vector<Payload>& in) {
  ExchangeType ex = h.header.exchange;
  auto refuse = [&](const char* why) -> std::unique_ptr<Task> {
    Log(LogGroup::kIke, absl::StrCat("ignoring ", ExchangeTypeName(ex), " request in state ",
                                     IkeSaStateName(state_), ": ", why));
    return nullptr;
  };
  switch (ex) {
    case ExchangeType::kIkeSaInit:
      if (original_initiator_ || state_ != State::kConnecting) return refuse("unexpected");
      return NewIkeInitTask();
    case ExchangeType::kIkeAuth:
      if (original_initiator_ || state_ != State::kConnecting || !ciphers) {
        return refuse("unexpected");
      }
      return NewIkeAuthTask();
    case ExchangeType::kCreateChildSa: {
      if (state_ == State::kRekeyed || state_ == State::kDeleting) {
        return std::make_unique<TemporaryFailureTask>();
      }
      if (state_ != State::kEstablished) return refuse("IKE_SA not established");
      if (const auto* sa = FindPayload<SaPayload>(in, PayloadType::kSa)) {
        if (!sa->proposals.empty() && sa->proposals[0].protocol == ProtocolId::kIke) {
          return NewIkeRekeyTask();
        }
      }
      if (FindNotify(in, NotifyType::kRekeySa) != nullptr) return NewChildRekeyTask(0);
      return NewChildCreateTask(nullptr);
    }
    case ExchangeType::kInformational: {
      if (state_ == State::kConnecting) return refuse("IKE_SA not established");
      bool child_delete = false;
      for (const Payload& p : in) {
        if (const auto* d = p.As<DeletePayload>()) {
          if (d->protocol == ProtocolId::kIke) return NewIkeDeleteTask();
          child_delete = true;
        }
      }
      if (child_delete) return NewChildDeleteTask({});
      for (const Payload& p : in) {
        if (p.type == PayloadType::kNotify) return NewInformationalTask();
      }
      return NewDpdTask();
    }
    default:
      return refuse("exchange not supported");
  }
}

void IkeSa::HandleResponse(const Datagram& d, const DecodedHeader& h) {
  if (resumed_request_ && retx_.active && h.header.message_id == retx_.message_id) {
    std::vector<Payload> ignored;
    if (!Decode(d, h, &ignored, nullptr)) return;
    last_inbound_ = ctx_.Now();
    Log(LogGroup::kIke, absl::StrCat("received the answer to request ", h.header.message_id,
                                     ", sent before the restart: taken, nothing waits for it"));
    retx_.active = false;
    resumed_request_ = false;
    ++my_mid_;
    StartNextTask();
    return;
  }
  if (!active_ || !retx_.active || h.header.message_id != retx_.message_id ||
      h.header.exchange != active_->exchange()) {
    Log(LogGroup::kIke, absl::StrCat("received unexpected ", ExchangeTypeName(h.header.exchange),
                                     " response ", h.header.message_id, ", ignored"));
    return;
  }
  std::vector<Payload> in;
  if (h.header.exchange == ExchangeType::kIkeSaInit) {
    absl::StatusOr<Message> m = DecodeMessage(d.data);
    if (!m.ok()) {
      Log(LogGroup::kEnc, absl::StrCat("IKE_SA_INIT response invalid: ", m.status().message(),
                                       " (INVALID_SYNTAX), ignored"));
      return;
    }
    in = std::move(m->payloads);
    if (FirstErrorNotify(in) == nullptr && FindNotify(in, NotifyType::kCookie) == nullptr) {
      spi_r_ = h.header.spi_r;
      peer_init.assign(d.data.begin(), d.data.end());
    }
  } else if (!Decode(d, h, &in, nullptr)) {
    return;
  }
  last_inbound_ = ctx_.Now();
  Log(LogGroup::kEnc, absl::StrCat("parsed ", MessageSummary(h.header, in)));
  retx_.active = false;
  TaskOutcome outcome = active_->ProcessResponse(*this, in);
  switch (outcome) {
    case TaskOutcome::kDone:
      ++my_mid_;
      active_.reset();
      break;
    case TaskOutcome::kRetry:
      if (h.header.exchange != ExchangeType::kIkeSaInit) ++my_mid_;
      SendRequest();
      return;
    case TaskOutcome::kFatal:
      ++my_mid_;
      active_.reset();
      if (!destroy_after_response) {
        destroy_after_response = true;
        if (destroy_reason.empty()) destroy_reason = "exchange failed";
        if (original_initiator_ && state_ == State::kConnecting && config_->initiate) {
          restart_after_destroy = Restart::kLater;
        }
      }
      return;
  }
  if (!destroy_after_response) StartNextTask();
}

void IkeSa::OnTimer() {
  // Keep NextTimer() in step: a condition added here that it does not state as a time (or as
  // Now() for something polled) runs only at vpnd's walk of every SA, up to a second late (the
  // harness's CheckTimers fails on it after any Tick or datagram in the ike_sa_sweep suite).
  if (state_ == State::kDead) return;
  absl::Time now = ctx_.Now();
  const RetransmitConfig& rc = ctx_.Retransmit();
  // dead-peer-detection timeout: a liveness check unanswered that long means the peer is dead,
  // however many retransmissions the schedule has left.
  if (retx_.active && active_ && active_->kind() == TaskKind::kDpd && config_->dpd_timeout > 0 &&
      now - retx_.first >= absl::Seconds(config_->dpd_timeout)) {
    Log(LogGroup::kIke, absl::StrCat("DPD request unanswered for ", config_->dpd_timeout,
                                     "s (dead-peer-detection timeout)"));
    RetransmitTimeout();
    return;
  }
  if (retx_.active && now >= retx_.next) {
    if (retx_.count >= rc.tries) {
      RetransmitTimeout();
      return;
    }
    ++retx_.count;
    Log(LogGroup::kIke,
        absl::StrCat("retransmit ", retx_.count, " of request with message ID ", retx_.message_id));
    Log(LogGroup::kNet,
        absl::StrCat("sending packet: from ", retx_.packet.src.ToString(), " to ",
                     retx_.packet.dst.ToString(), " (", retx_.packet.data.size(), " bytes)"));
    last_outbound_ = now;
    ctx_.Send(retx_.packet);
    retx_.next = now + absl::Seconds(rc.timeout * std::pow(rc.base, retx_.count));
  }
  if (state_ == State::kConnecting && !original_initiator_ &&
      now - created_ >= ctx_.HalfOpenTimeout()) {
    Destroy("half-open IKE_SA timed out (half-open-timeout)");
    return;
  }
  // The rekey initiator deletes the old IKE SA; if that Delete never comes, the old SA (all its
  // CHILD SAs already moved on) would stay forever.
  if (state_ == State::kRekeyed && !active_ && queue_.empty() &&
      now - rekeyed_at_ >= kRekeyedTimeout) {
    Log(LogGroup::kIke, absl::StrCat("the peer did not delete the rekeyed IKE_SA within ",
                                     absl::ToInt64Seconds(kRekeyedTimeout), "s, deleting it"));
    Queue(NewIkeDeleteTask());
    return;
  }
  if (state_ != State::kEstablished) return;
  if (duplicate_of) {
    IkeSa* keeper = ctx_.FindSa(*duplicate_of);
    if (keeper == nullptr || keeper->state() != State::kEstablished) {
      duplicate_of.reset();  // the kept one went: this one carries on
      duplicate_delete = false;
    } else if (duplicate_delete) {
      DeleteDuplicate(*keeper);
      if (state_ != State::kEstablished) return;
    } else if (now - established_ >= kRekeyedTimeout) {
      // A lost duplicate that the peer (the kept SA's initiator) has not deleted (an older
      // vpnd, or the peer gave the kept one up): kept as any IKE SA, saved for a restart
      // again. Deleting it from here could remove what the peer still sends with, as a kept
      // SA the peer no longer has cannot be told from one it has.
      Log(LogGroup::kIke, absl::StrCat("the peer did not delete the duplicate IKE_SA within ",
                                       absl::ToInt64Seconds(kRekeyedTimeout), "s, keeping it"));
      duplicate_of.reset();
    }
  }
  if (undecided) {
    // The successor of a rekey collision that lost: the peer, which initiated it, deletes it.
    if (!active_ && queue_.empty() && now - created_ >= kRekeyedTimeout) {
      Log(LogGroup::kIke,
          absl::StrCat("the peer did not delete the redundant IKE_SA of a rekey collision within ",
                       absl::ToInt64Seconds(kRekeyedTimeout), "s, deleting it"));
      Queue(NewIkeDeleteTask());
    }
    return;
  }
  // Tasks handed over by a rekeyed predecessor start here, once the rekey exchange is over.
  if (!active_ && !queue_.empty()) StartNextTask();
  // A reauthentication waiting for the dataplane to acknowledge a CHILD SA's install.
  CheckReauthentication();
  if (state_ != State::kEstablished) return;
  for (auto it = recreate_.begin(); it != recreate_.end();) {
    if (now < it->second) {
      ++it;
      continue;
    }
    std::string name = it->first;
    it = recreate_.erase(it);
    if (const ChildConfig* c = FindChildConfig(name)) CreateChild(*c);
  }
  if (config_->dpd_interval > 0 && !active_ && queue_.empty() &&
      now - last_inbound_ >= absl::Seconds(config_->dpd_interval)) {
    Queue(NewDpdTask());
  }
  if (nat_local && now - last_outbound_ >= absl::Seconds(20)) {
    Datagram ka;
    ka.src = local_;
    ka.src.port = kNatTPort;
    ka.dst = remote_;
    ka.data = {0xFF};
    Log(LogGroup::kIke, "sending keep alive to " + remote_.ToString());
    last_outbound_ = now;
    ctx_.Send(ka);
  }
  StartDueChildRekeys();
  std::vector<uint32_t> expired;
  for (auto& c : children_) {
    if (now >= c->expire_at) {
      c->expire_at = absl::InfiniteFuture();
      LogChild(*c, LogGroup::kChd, "CHILD_SA hard lifetime expired, deleting it");
      expired.push_back(c->spi_in);
    }
  }
  if (!expired.empty()) Queue(NewChildDeleteTask(expired));
  if (now >= rekey_at_) {
    rekey_at_ = absl::InfiniteFuture();
    if (config_->reauth && !config_->remote_any) {
      reauthenticating = true;
      ctx_.Reauthenticate(*this);
    } else {
      Queue(NewIkeRekeyTask());
    }
  }
}

absl::Time IkeSa::NextTimer() const {
  // OnTimer's conditions, in its order: each one's time, or Now() where it polls something
  // another SA or the dataplane changes.
  absl::Time t = absl::InfiniteFuture();
  if (state_ == State::kDead) return t;
  const absl::Time now = ctx_.Now();
  auto at = [&t](absl::Time x) { t = std::min(t, x); };
  if (retx_.active) {
    at(retx_.next);
    if (active_ && active_->kind() == TaskKind::kDpd && config_->dpd_timeout > 0) {
      at(retx_.first + absl::Seconds(config_->dpd_timeout));
    }
  }
  if (state_ == State::kConnecting && !original_initiator_) at(created_ + ctx_.HalfOpenTimeout());
  if (state_ == State::kRekeyed && !active_ && queue_.empty()) at(rekeyed_at_ + kRekeyedTimeout);
  if (state_ != State::kEstablished) return t;
  if (duplicate_of) return now;  // the kept SA's state and its CHILD SAs' installs
  if (undecided) {
    if (!active_ && queue_.empty()) at(created_ + kRekeyedTimeout);
    return t;
  }
  if (!active_ && !queue_.empty()) return now;  // a task waiting to start
  if (reauth_of) return now;                    // CheckReauthentication: install acks
  for (const auto& [name, when] : recreate_) at(when);
  if (config_->dpd_interval > 0 && !active_ && queue_.empty()) {
    at(last_inbound_ + absl::Seconds(config_->dpd_interval));
  }
  if (nat_local) at(last_outbound_ + absl::Seconds(20));
  for (const auto& c : children_) {
    if (c->state == ChildSa::State::kInstalled) at(c->rekey_at);
    at(c->expire_at);
  }
  at(rekey_at_);
  return t;
}

void IkeSa::StartDueChildRekeys() {
  const absl::Time now = ctx_.Now();
  for (auto& c : children_) {
    if (c->state == ChildSa::State::kInstalled && now >= c->rekey_at) {
      c->rekey_at = absl::InfiniteFuture();
      Queue(NewChildRekeyTask(c->spi_in));
    }
  }
}

void IkeSa::CheckReauthentication() {
  if (!reauth_of || active_ || !queue_.empty() || state_ != State::kEstablished ||
      destroy_after_response) {
    return;
  }
  // Our reauthentication met the peer's and this new IKE SA is the duplicate that goes: the
  // peer's one replaces the old SA, and the peer, which initiated it, deletes the old one once
  // it is complete. Deleted from here as well, the old SA could take with it the CHILD SAs the
  // tunnels still send with here (the kept SA's, made by the peer, are not sending yet).
  if (duplicate_of) return;
  IkeSa* old = ctx_.FindSa(*reauth_of);
  if (old == nullptr) {
    reauth_of.reset();
    return;
  }
  // The tunnels the old SA carries (one being deleted by the peer is not carried over); each
  // needs an installed CHILD SA here, in place in the dataplane.
  std::vector<std::string> missing;
  bool waiting = false;
  for (const auto& oc : old->children()) {
    if (oc->state == ChildSa::State::kDeleting || FindChildConfig(oc->name) == nullptr ||
        std::find(missing.begin(), missing.end(), oc->name) != missing.end()) {
      continue;
    }
    const ChildSa* mine = nullptr;
    for (const auto& c : children_) {
      if (c->name == oc->name &&
          (c->state == ChildSa::State::kInstalled || c->state == ChildSa::State::kRekeying)) {
        mine = c.get();
      }
    }
    if (mine == nullptr) {
      missing.push_back(oc->name);
    } else if (!ctx_.ChildInPlace(*mine)) {
      waiting = true;
    }
  }
  if (!missing.empty()) {
    // The old SA stays with every tunnel; this one goes (its IkeDown reschedules the old one's
    // reauthentication).
    old->Log(
        LogGroup::kIke,
        absl::StrCat("reauthentication incomplete: IKE_SA ", config_->name, "[", unique_id_,
                     "] has no CHILD_SA for ", absl::StrJoin(missing, ", "), ", keeping IKE_SA ",
                     config_->name, "[", old->unique_id(), "] and deleting the new one"));
    Delete();
    return;
  }
  if (waiting) return;  // OnTimer looks again
  FinishReauthentication();
}

void IkeSa::FinishReauthentication() {
  if (!reauth_of) return;
  IkeSa* old = ctx_.FindSa(*reauth_of);
  reauth_of.reset();
  if (old == nullptr) return;
  old->reauthenticating = false;
  old->Log(LogGroup::kIke,
           absl::StrCat("IKE_SA ", config_->name, "[", unique_id_, "] reauthenticated it with ",
                        children_.size(), " CHILD_SA", children_.size() == 1 ? "" : "s",
                        " (make-before-break), deleting IKE_SA ", config_->name, "[",
                        old->unique_id(), "]"));
  old->Delete();
}

void IkeSa::RetransmitTimeout() {
  const RetransmitConfig& rc = ctx_.Retransmit();
  Log(LogGroup::kIke, absl::StrCat("giving up after ", rc.tries, " retransmits"));
  retx_.active = false;
  if (resumed_request_) {
    // The request the previous process sent went unanswered: the peer is gone, or the saved
    // message IDs were not the ones the peer holds. Either way this SA is of no use.
    resumed_request_ = false;
    Destroy(absl::StrCat("peer ", remote_.address.ToString(),
                         " did not answer the request resumed after the restart"),
            config_->initiate && !config_->remote_any ? Restart::kLater : Restart::kNone);
    return;
  }
  std::unique_ptr<Task> task = std::move(active_);
  task->Timeout(*this);
  if (state_ == State::kDead) return;
  if (state_ == State::kEstablished) {
    if (config_->dpd_interval == 0) {
      // No DPD configured, so no DPD action: a tunnel this side brings up comes back (with the
      // manager's backoff) instead of staying down for good.
      bool again = config_->initiate && !config_->remote_any;
      Destroy(absl::StrCat("peer ", remote_.address.ToString(), " did not answer ",
                           TaskKindName(task->kind()), " (dead peer)",
                           again ? ", initiating again" : ""),
              again ? Restart::kLater : Restart::kNone);
      return;
    }
    Restart r = Restart::kNone;
    if (config_->dpd_action == DpdAction::kRestart) {
      r = Restart::kNow;
    } else if (config_->dpd_action == DpdAction::kHold && !config_->remote_any) {
      r = Restart::kTrap;  // renegotiated on the tunnel's next packet (IkeManager::IkeDown)
    }
    Destroy(absl::StrCat("peer ", remote_.address.ToString(), " did not answer ",
                         TaskKindName(task->kind()), " (dead peer), dead-peer-detection action ",
                         DpdActionName(config_->dpd_action)),
            r);
    return;
  }
  Destroy(absl::StrCat("establishing IKE_SA failed, peer not responding"),
          original_initiator_ && config_->initiate ? Restart::kLater : Restart::kNone);
}

void IkeSa::Destroy(const std::string& reason, Restart restart) {
  if (state_ == State::kDead) return;
  if (!reason.empty()) {
    Log(LogGroup::kIke,
        absl::StrCat("destroying IKE_SA ", config_->name, "[", unique_id_, "]: ", reason));
  }
  for (auto& c : children_) {
    LogChild(*c, LogGroup::kChd,
             absl::StrFormat("closing CHILD_SA %s{%u} with SPIs %08x_i %08x_o and TS %s === %s",
                             c->name, c->unique_id, c->spi_in, c->spi_out,
                             TsListToString(c->local_ts), TsListToString(c->remote_ts)));
    ctx_.ChildUnindexed(*this, *c);
    ctx_.ChildDown(*this, *c);
  }
  children_.clear();
  state_ = State::kDead;
  ctx_.Touched(*this);  // the manager erases it on the next Tick
  retx_.active = false;
  queue_.clear();
  // An active task may be the caller (a responder's AfterResponse never is); it is freed with
  // the SA, not here.
  ctx_.IkeDown(*this, restart);
}

void IkeSa::Delete() {
  if (state_ == State::kDead) return;
  if (state_ != State::kEstablished && state_ != State::kRekeyed) {
    Destroy("deleted before it was established");
    return;
  }
  queue_.clear();
  delete_queued = true;
  Queue(NewIkeDeleteTask());
}

void IkeSa::RekeyChild(uint32_t spi) {
  ChildSa* c = FindChildBySpiIn(spi);
  if (c == nullptr) c = FindChildBySpiOut(spi);
  if (c == nullptr || c->state != ChildSa::State::kInstalled) return;
  c->rekey_at = absl::InfiniteFuture();
  Queue(NewChildRekeyTask(c->spi_in));
}

void IkeSa::DeleteChildren(uint32_t tunnel_id, bool all) {
  std::vector<uint32_t> spis;
  for (auto& c : children_) {
    if (all || c->tunnel_id == tunnel_id) spis.push_back(c->spi_in);
  }
  if (!spis.empty()) Queue(NewChildDeleteTask(spis));
}

void IkeSa::CreateChild(const ChildConfig& config) {
  Queue(NewChildCreateTask(&config));
}

void IkeSa::SetEstablished() {
  state_ = State::kEstablished;
  established_ = ctx_.Now();
  ScheduleIkeRekey(
      RekeyIn(established_, RekeyDelay(config_->ike_lifetime, ctx_.RekeyFuzz()), ctx_.RekeyFuzz()));
  ctx_.IkeUp(*this);
}

void IkeSa::ScheduleIkeRekey(absl::Duration in) {
  rekey_at_ = ctx_.Now() + in;
  ctx_.Touched(*this);
  Log(LogGroup::kIke, absl::StrCat("scheduling rekeying in ", absl::ToInt64Seconds(in), "s"));
}

bool IkeSa::InstallIkeKeys(const SecretBytes& skeyseed) {
  absl::StatusOr<IkeSaKeys> k = DeriveIkeSaKeys(suite, skeyseed, nonce_i, nonce_r, spi_i_, spi_r_);
  if (!k.ok()) {
    Log(LogGroup::kIke, absl::StrCat("key derivation failed: ", k.status().message()));
    return false;
  }
  return InstallIkeKeys(*std::move(k));
}

void IkeSa::IkeKeysComputed(absl::StatusOr<IkeSaKeys> k) {
  if (!keys_pending_ || state_ == State::kDead) return;
  keys_pending_ = false;
  std::vector<std::pair<Datagram, DecodedHeader>> held;
  held.swap(held_);
  if (!k.ok()) {
    Log(LogGroup::kIke, std::string(k.status().message()));
    Destroy("key derivation failed",
            original_initiator_ && config_->initiate ? Restart::kLater : Restart::kNone);
    return;
  }
  if (!InstallIkeKeys(*std::move(k))) {
    Destroy("key derivation failed",
            original_initiator_ && config_->initiate ? Restart::kLater : Restart::kNone);
    return;
  }
  StartNextTask();  // the initiator's IKE_AUTH
  // A forgery fails its integrity check; the genuine request is answered, and a held one after
  // it is then a retransmission answered from the cache.
  for (const auto& [d, h] : held) {
    if (state_ == State::kDead) break;
    ProcessMessage(d, h);
  }
}

bool IkeSa::InstallIkeKeys(IkeSaKeys k) {
  keys = std::move(k);
  absl::StatusOr<SkCipherPair> c =
      MakeSkCiphers(suite, keys, original_initiator_ ? Role::kInitiator : Role::kResponder);
  if (!c.ok()) {
    Log(LogGroup::kIke, absl::StrCat("SK cipher setup failed: ", c.status().message()));
    return false;
  }
  ciphers.emplace(*std::move(c));
  LogKey(LogGroup::kIke, "Sk_d secret", keys.sk_d.span());
  LogKey(LogGroup::kIke, "Sk_ai secret", keys.sk_ai.span());
  LogKey(LogGroup::kIke, "Sk_ar secret", keys.sk_ar.span());
  LogKey(LogGroup::kIke, "Sk_ei secret", keys.sk_ei.span());
  LogKey(LogGroup::kIke, "Sk_er secret", keys.sk_er.span());
  LogKey(LogGroup::kIke, "Sk_pi secret", keys.sk_pi.span());
  LogKey(LogGroup::kIke, "Sk_pr secret", keys.sk_pr.span());
  return true;
}

IkeSaState IkeSa::SaveState() const {
  IkeSaState s;
  s.config_name = config_->name;
  s.original_initiator = original_initiator_;
  s.spi_i = spi_i_;
  s.spi_r = spi_r_;
  s.local = local_;
  s.remote = remote_;
  s.suite = suite;
  s.keys.sk_d = keys.sk_d.Clone();
  s.keys.sk_ai = keys.sk_ai.Clone();
  s.keys.sk_ar = keys.sk_ar.Clone();
  s.keys.sk_ei = keys.sk_ei.Clone();
  s.keys.sk_er = keys.sk_er.Clone();
  s.keys.sk_pi = keys.sk_pi.Clone();
  s.keys.sk_pr = keys.sk_pr.Clone();
  s.nat_local = nat_local;
  s.nat_remote = nat_remote;
  s.peer_id = peer_id_;
  if (ciphers) {
    s.iv_prefix = ciphers->outbound.iv_prefix();
    s.iv_counter = ciphers->outbound.iv_counter();
  }
  s.my_mid = my_mid_;
  s.peer_mid = peer_mid_;
  s.established = established_;
  s.rekey_at = rekey_at_;
  if (retx_.active) {
    s.request = retx_.packet;
    if (active_ && !resumed_request_) s.in_flight = active_->SaveInFlight();
  }
  if (have_cached_response_) {
    s.response = cached_response_;
    s.response_mid = cached_mid_;
    s.response_exchange = cached_exchange_;
    s.response_request = cached_request_;
  }
  for (const auto& c : children_) {
    auto copy = std::make_unique<ChildSa>();
    ChildSa& x = *copy;
    x.unique_id = c->unique_id;
    x.name = c->name;
    x.tunnel_id = c->tunnel_id;
    x.vti = c->vti;
    x.vti_interface = c->vti_interface;
    x.reqid = c->reqid;
    x.state = c->state;
    x.spi_in = c->spi_in;
    x.spi_out = c->spi_out;
    x.suite = c->suite;
    x.local_ts = c->local_ts;
    x.remote_ts = c->remote_ts;
    x.local = c->local;
    x.remote = c->remote;
    x.encap = c->encap;
    x.outbound_active = c->outbound_active;
    x.replaces = c->replaces;
    x.encr_in = c->encr_in.Clone();
    x.integ_in = c->integ_in.Clone();
    x.encr_out = c->encr_out.Clone();
    x.integ_out = c->integ_out.Clone();
    x.installed = c->installed;
    x.rekey_at = c->rekey_at;
    x.expire_at = c->expire_at;
    x.life_bytes = c->life_bytes;
    x.life_packets = c->life_packets;
    x.replay_window = c->replay_window;
    x.worker = c->worker;
    s.children.push_back(std::move(copy));
  }
  return s;
}

bool IkeSa::Resume(IkeSaState& s, std::vector<std::unique_ptr<ChildSa>> children) {
  suite = s.suite;
  keys.sk_d = std::move(s.keys.sk_d);
  keys.sk_ai = std::move(s.keys.sk_ai);
  keys.sk_ar = std::move(s.keys.sk_ar);
  keys.sk_ei = std::move(s.keys.sk_ei);
  keys.sk_er = std::move(s.keys.sk_er);
  keys.sk_pi = std::move(s.keys.sk_pi);
  keys.sk_pr = std::move(s.keys.sk_pr);
  absl::StatusOr<SkCipherPair> c =
      MakeSkCiphers(suite, keys, original_initiator_ ? Role::kInitiator : Role::kResponder);
  if (!c.ok()) {
    Log(LogGroup::kIke, absl::StrCat("resuming failed, SK cipher setup: ", c.status().message()));
    return false;
  }
  ciphers.emplace(*std::move(c));
  // The same IV sequence, past what the previous process sealed (its sends wait for the save,
  // so nothing it sent used a later counter): no IV repeats under the key.
  if (s.iv_counter < std::numeric_limits<uint32_t>::max() - 16) {
    ciphers->outbound.ResumeIvs(s.iv_prefix, s.iv_counter + 16);
  }
  nat_local = s.nat_local;
  nat_remote = s.nat_remote;
  peer_id_ = s.peer_id;
  my_mid_ = s.my_mid;
  peer_mid_ = s.peer_mid;
  established_ = s.established;
  rekey_at_ = s.rekey_at;
  state_ = State::kEstablished;
  resumed_ = true;
  const absl::Time now = ctx_.Now();
  if (s.request) {
    // Sent again at once: the peer answers it (from its cache, if it had answered before). A
    // CREATE_CHILD_SA gets its task back, which takes the answer as its own: the peer acted on
    // the request when it answered (a CHILD SA or IKE SA made, the old one marked rekeyed).
    // Anything else is taken without a task: its answer changes nothing here.
    if (s.in_flight) {
      active_ = RestoreTask(*this, *s.in_flight);
      if (!active_) {
        Log(LogGroup::kIke, absl::StrCat("request ", my_mid_,
                                         " in flight at the restart cannot be finished, its "
                                         "answer will be dropped"));
        s.in_flight.reset();  // nothing creates its tunnel: the caller does
      } else {
        Log(LogGroup::kIke, absl::StrCat("request ", my_mid_, " (", TaskKindName(active_->kind()),
                                         ") in flight at the restart: sending it again, its "
                                         "answer finishes the exchange"));
      }
    }
    resumed_request_ = !active_;
    retx_.active = true;
    retx_.message_id = my_mid_;
    retx_.count = 0;
    retx_.first = now;
    retx_.next = now;
    retx_.packet = *s.request;
  }
  if (s.response) {
    have_cached_response_ = true;
    cached_response_ = *s.response;
    cached_mid_ = s.response_mid;
    cached_exchange_ = s.response_exchange;
    cached_request_ = s.response_request;
  }
  for (auto& child : children) {
    child->unique_id = ctx_.NextChildId();
    // Its rekey could not be restored: rekeyed again, as every resumed CHILD SA is.
    if (child->state == ChildSa::State::kRekeying && !active_) {
      child->state = ChildSa::State::kInstalled;
      child->rekey_at = now;
    }
    children_.push_back(std::move(child));
    ctx_.ChildIndexed(*this, *children_.back());
  }
  return true;
}

uint64_t IkeSa::StateFingerprint() const {
  // Every field SaveState writes but the keys, which change only with the SPIs (a rekey makes
  // a new SA) or the CHILD SAs' SPIs, which are in here.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  mix(static_cast<uint64_t>(state_));
  mix(my_mid_);
  mix(peer_mid_);
  mix(retx_.active);
  mix(have_cached_response_ ? cached_mid_ : ~0u);
  mix(static_cast<uint64_t>(
      absl::ToUnixMicros(rekey_at_ == absl::InfiniteFuture() ? absl::UnixEpoch() : rekey_at_)));
  auto endpoint = [&mix](const Endpoint& e) {
    mix(e.port);
    for (uint8_t b : e.address.span()) mix(b);
  };
  endpoint(local_);
  endpoint(remote_);
  mix(nat_local);
  mix(nat_remote);
  mix(peer_id_ ? peer_id_->data.size() : ~0u);
  for (uint8_t b : spi_r_) mix(b);
  for (const auto& c : children_) {
    mix(c->spi_in);
    mix(c->spi_out);
    mix(static_cast<uint64_t>(c->state));
    mix(c->outbound_active);
    mix(c->encap);
    endpoint(c->local);
    endpoint(c->remote);
  }
  return h;
}

void IkeSa::FloatToNatT() {
  if (local_.port == kNatTPort && remote_.port == kNatTPort) return;
  local_.port = kNatTPort;
  remote_.port = kNatTPort;
  Log(LogGroup::kIke, "switching to NAT-T port 4500");
}

ChildSa* IkeSa::FindChildBySpiIn(uint32_t spi) {
  for (auto& c : children_) {
    if (c->spi_in == spi) return c.get();
  }
  return nullptr;
}

ChildSa* IkeSa::FindChildBySpiOut(uint32_t spi) {
  for (auto& c : children_) {
    if (c->spi_out == spi) return c.get();
  }
  return nullptr;
}

const ChildConfig* IkeSa::FindChildConfig(const std::string& name) const {
  for (const ChildConfig& c : config_->children) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

size_t IkeSa::ChildSaLimit() const {
  // A tunnel in a per-resource group (RFC 9611) has a CHILD SA per worker.
  return std::max(kMinChildSaLimit,
                  4 * config_->children.size() * std::max<size_t>(1, ctx_.ChildResources()));
}

void IkeSa::ChildSaRefused(const std::string& text) {
  ctx_.Count(IkeCounter::kChildSaRefused);
  if (auto line = child_refusals_.Drop(ctx_.Now(), text)) Log(LogGroup::kChd, *line);
}

void IkeSa::AddChild(std::unique_ptr<ChildSa> child, const ChildConfig& config, bool we_initiated) {
  absl::Time now = ctx_.Now();
  child->unique_id = ctx_.NextChildId();
  child->name = config.name;
  child->tunnel_id = config.tunnel_id;
  child->vti = config.vti;
  child->vti_interface = config.vti_interface;
  child->reqid = config.reqid;
  child->installed = now;
  child->rekey_at =
      now + RekeyIn(now, RekeyDelay(config.lifetime, ctx_.RekeyFuzz()), ctx_.RekeyFuzz());
  child->expire_at = now + absl::Seconds(config.lifetime);
  child->life_bytes = config.life_bytes;
  child->life_packets = config.life_packets;
  child->replay_window = config.replay_window;
  child->state = ChildSa::State::kInstalled;
  ChildSa& c = *child;
  LogChild(c, LogGroup::kChd, absl::StrCat("selected proposal: ESP:", SuiteString(c.suite)));
  if (LogSink* k = ctx_.KeyLog()) {
    LogRecord h{now, LogGroup::kChd, c.name, c.unique_id, true, ""};
    const SecretBytes& ei = we_initiated ? c.encr_out : c.encr_in;
    const SecretBytes& ai = we_initiated ? c.integ_out : c.integ_in;
    const SecretBytes& er = we_initiated ? c.encr_in : c.encr_out;
    const SecretBytes& ar = we_initiated ? c.integ_in : c.integ_out;
    h.text = absl::StrCat("selected proposal: ESP:", SuiteString(c.suite));
    k->Write(h);
    WriteKeyDump(*k, h, "encryption initiator key", ei.span());
    WriteKeyDump(*k, h, "encryption responder key", er.span());
    if (!ai.empty()) WriteKeyDump(*k, h, "integrity initiator key", ai.span());
    if (!ar.empty()) WriteKeyDump(*k, h, "integrity responder key", ar.span());
    h.text = "adding inbound ESP SA";
    k->Write(h);
    h.text = absl::StrFormat("  SPI 0x%08x, src %s dst %s", c.spi_in, c.remote.address.ToString(),
                             c.local.address.ToString());
    k->Write(h);
    h.text = "adding outbound ESP SA";
    k->Write(h);
    h.text = absl::StrFormat("  SPI 0x%08x, src %s dst %s", c.spi_out, c.local.address.ToString(),
                             c.remote.address.ToString());
    k->Write(h);
  }
  LogChild(
      c, LogGroup::kChd,
      absl::StrFormat(
          "CHILD_SA %s{%u} established with SPIs %08x_i %08x_o and TS %s === %s%s", c.name,
          c.unique_id, c.spi_in, c.spi_out, TsListToString(c.local_ts), TsListToString(c.remote_ts),
          c.encap ? absl::StrCat(" (UDP-encapsulated, peer port ", c.remote.port, ")") : ""));
  children_.push_back(std::move(child));
  ctx_.ChildIndexed(*this, *children_.back());
  ctx_.Touched(*this);  // its rekey and expiry times
  ctx_.ChildUp(*this, *children_.back());
}

void IkeSa::RemoveChild(uint32_t spi_in, const std::string& why) {
  auto it = std::find_if(children_.begin(), children_.end(),
                         [&](const auto& c) { return c->spi_in == spi_in; });
  if (it == children_.end()) return;
  ChildSa& c = **it;
  const ChildCounters n = ctx_.Counters(c);
  LogChild(c, LogGroup::kChd,
           absl::StrFormat("closing CHILD_SA %s{%u} with SPIs %08x_i (%u bytes) %08x_o (%u bytes) "
                           "and TS %s === %s: %s",
                           c.name, c.unique_id, c.spi_in, n.bytes_in, c.spi_out, n.bytes_out,
                           TsListToString(c.local_ts), TsListToString(c.remote_ts), why));
  std::unique_ptr<ChildSa> gone = std::move(*it);
  children_.erase(it);
  ctx_.ChildUnindexed(*this, *gone);
  // A successor waiting for it to go (ChildSa::replaces) starts sending first: the manager's
  // ChildDown sees to it, for successors on any IKE SA.
  ctx_.ChildDown(*this, *gone);
}

void IkeSa::SendWith(ChildSa& c, const std::string& why) {
  c.outbound_active = true;
  LogChild(c, LogGroup::kChd,
           absl::StrFormat("CHILD_SA %s{%u} sends with outbound SA %08x_o from now on: %s", c.name,
                           c.unique_id, c.spi_out, why));
  ctx_.ChildOutbound(*this, c);
}

void IkeSa::DeleteDuplicate(IkeSa& keeper) {
  if (!duplicate_delete || state_ != State::kEstablished) return;
  std::vector<std::string> missing;
  for (const auto& c : children_) {
    if (c->state == ChildSa::State::kDeleting ||
        std::find(missing.begin(), missing.end(), c->name) != missing.end()) {
      continue;
    }
    bool carried = false;
    for (const auto& k : keeper.children_) {
      carried |=
          k->name == c->name &&
          (k->state == ChildSa::State::kInstalled || k->state == ChildSa::State::kRekeying) &&
          ctx_.ChildInPlace(*k);
    }
    if (!carried) missing.push_back(c->name);
  }
  const bool late = ctx_.Now() - established_ >= kRekeyedTimeout;
  if (!missing.empty() && !late) return;  // OnTimer looks again
  duplicate_delete = false;
  if (!missing.empty()) {
    Log(LogGroup::kIke, absl::StrCat("IKE_SA ", keeper.config().name, "[", keeper.unique_id(),
                                     "] has no CHILD_SA for ", absl::StrJoin(missing, ", "),
                                     " after ", absl::ToInt64Seconds(kRekeyedTimeout),
                                     "s: deleting the duplicate all the same"));
  }
  MoveTunnelsTo(keeper, "the duplicate IKE_SA it replaces is being deleted");
  Delete();
}

void IkeSa::MoveTunnelsTo(IkeSa& keeper, const std::string& why) {
  for (auto& k : keeper.children_) {
    if (k->state != ChildSa::State::kInstalled && k->state != ChildSa::State::kRekeying) continue;
    bool carried = false;
    for (auto& c : children_) {
      if (c->name == k->name && c->outbound_active) {
        c->outbound_active = false;
        carried = true;
      }
    }
    // Sending already, it may still not be the one the tunnel follows (the installer binds the
    // newest sending SA): told again, the tunnel moves to it.
    if (!k->outbound_active || carried) keeper.SendWith(*k, why);
  }
}

void IkeSa::HandOverTo(IkeSa& successor) {
  for (auto& c : children_) {
    ctx_.ChildUnindexed(*this, *c);
    successor.children_.push_back(std::move(c));
    ctx_.ChildIndexed(successor, *successor.children_.back());
  }
  children_.clear();
  ctx_.Touched(successor);  // its CHILD SAs' rekey and expiry times
  // Queued CHILD SA work (a rekey after a dataplane soft expiry, whose CHILD SA no longer has a
  // rekey time of its own) goes on on the successor; this SA can only be deleted now.
  std::deque<std::unique_ptr<Task>> keep;
  for (auto& t : queue_) {
    switch (t->kind()) {
      case TaskKind::kChildCreate:
      case TaskKind::kChildRekey:
      case TaskKind::kChildDelete:
      case TaskKind::kDpd:
        successor.queue_.push_back(std::move(t));
        break;
      default:
        keep.push_back(std::move(t));
    }
  }
  queue_ = std::move(keep);
  for (auto& r : recreate_) successor.recreate_.push_back(std::move(r));
  recreate_.clear();
  successor.InheritPeerState(*this);
}

void IkeSa::InheritPeerState(const IkeSa& predecessor) {
  nat_local = predecessor.nat_local;
  nat_remote = predecessor.nat_remote;
  last_inbound_ = predecessor.last_inbound_;
  peer_id_ = predecessor.peer_id_;
}

void IkeSa::RekeyedInto(IkeSa& next) {
  HandOverTo(next);
  next.undecided = false;
  set_state(State::kRekeyed);
}

bool IkeSa::AdoptPassiveSuccessor(const std::string& why) {
  if (!passive_successor) return false;
  IkeSa* next = ctx_.FindSa(*passive_successor);
  passive_successor.reset();
  if (next == nullptr || next->state() != State::kEstablished || state_ == State::kDead) {
    return false;
  }
  Log(LogGroup::kIke, absl::StrCat("IKE_SA rekey collision: ", why, ", ", config_->name, "[",
                                   next->unique_id(), "] made by the peer's rekey takes over"));
  RekeyedInto(*next);
  return true;
}

void IkeSa::InstallFailed(uint32_t spi_in, const std::string& reason) {
  ChildSa* c = FindChildBySpiIn(spi_in);
  if (c == nullptr || c->state == ChildSa::State::kDeleting) return;
  if (c->state != ChildSa::State::kInstalled) {
    // A late refusal of an SA that is being replaced: its successor is (or will be) installed
    // on its own; recreating it as well would make a duplicate. Should the rekey fail, the
    // rekey task comes back here with the SA installed again.
    LogChild(*c, LogGroup::kChd,
             absl::StrFormat("CHILD_SA %s{%u} with SPIs %08x_i %08x_o could not be installed: %s; "
                             "it is being rekeyed, its successor replaces it",
                             c->name, c->unique_id, c->spi_in, c->spi_out, reason));
    if (c->state == ChildSa::State::kRekeying) c->install_failure = reason;
    return;
  }
  absl::Duration delay = ctx_.ReinitiateDelay();
  LogChild(*c, LogGroup::kChd,
           absl::StrFormat("CHILD_SA %s{%u} with SPIs %08x_i %08x_o could not be installed: %s; "
                           "deleting it, creating it again in %ds",
                           c->name, c->unique_id, c->spi_in, c->spi_out, reason,
                           absl::ToInt64Seconds(delay)));
  c->rekey_at = absl::InfiniteFuture();
  recreate_.emplace_back(c->name, ctx_.Now() + delay);
  Queue(NewChildDeleteTask({spi_in}));
}

}  // namespace portcullis::ike
