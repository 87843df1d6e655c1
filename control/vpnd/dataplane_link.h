// vpnd's end of the dataplane channel: sends command batches and waits for their acks, keeps
// the batches still unacknowledged and settles them by sequence number when their ack comes
// late, watches that the dataplane is alive (re-attaching to a restarted one and saying so, so
// vpnd sends everything again), and moves IKE datagrams (punted to vpnd, injected by it) and the
// dataplane's events. One place owns the channel, so nothing else needs to know whether the
// channel in use is the first one or a re-attached one.
//
// A batch whose ack does not come within ack_timeout has an unknown outcome: the link stops
// waiting for acks while one is outstanding (so a hung dataplane cannot stall IKE by 2 s per
// message) and runs the batch's ack handler when its ack comes late.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/api/channel_client.h"
#include "ike/sa/endpoint.h"
#include "ike/sa/ike_log.h"

namespace portcullis::vpnd {

class DataplaneLink {
 public:
  // Added to ack_timeout per message of a batch (262,144 messages: 5 s more).
  static constexpr absl::Duration kAckTimePerMessage = absl::Microseconds(20);

  enum class Outcome {
    kApplied,  // acked OK
    kRefused,  // acked with the dataplane's refusal
    kUnknown,  // sent, ack not (yet) seen: the handler runs when it comes
    kNotSent,  // the channel did not take it
  };
  using AckHandler = std::function<void(Outcome, const absl::Status&)>;
  using Clock = std::function<absl::Time()>;
  // Attaches again to a dataplane that restarted (a new segment).
  using Reattach = std::function<absl::StatusOr<dp::api::ChannelClient>()>;
  using EventFn = std::function<void(const dp::api::Event&)>;

  // `channel` (required) must outlive the link; re-attached channels are the link's own.
  // `reattach` may be empty (then a dataplane that is gone stays gone). `log` is required.
  DataplaneLink(dp::api::ChannelClient* channel, Reattach reattach, absl::Duration ack_timeout,
                Clock clock, ike::LogSink* log);
  DataplaneLink(const DataplaneLink&) = delete;
  DataplaneLink& operator=(const DataplaneLink&) = delete;

  // Sends a batch (wiping it) and, unless `wait` is false or an earlier batch still lacks its
  // ack, waits up to ack_timeout (plus kAckTimePerMessage a message) for the ack. `on_ack` runs
  // once the outcome is known: before Submit returns, or when a late ack arrives. An empty batch
  // counts as applied. `what` names the batch in log lines and statuses.
  Outcome Submit(std::vector<dp::api::Message> batch, const std::string& what, bool wait,
                 AckHandler on_ack, absl::Status* status = nullptr);

  // Checks that the dataplane is alive, trying to re-attach (at most once a second) while it is
  // gone. True when the dataplane restarted since the last check (a new generation, or a new
  // segment attached): it holds nothing vpnd sent, and the batches still waiting for an ack are
  // dropped (their acks will never come).
  bool CheckRestart();
  // The dataplane runs and has not closed the segment.
  bool ServerAlive() const { return channel_->ServerAlive(); }
  // The largest batch the dataplane takes (its --max-batch-messages).
  uint32_t max_batch_messages() const { return channel_->max_batch_messages(); }
  // A batch over it that vpnd refused itself: counted with the dataplane's own refusals.
  void CountBatchTooLarge() { channel_->CountBatchTooLarge(); }
  // In the child of a fork (vpnd becoming a daemon, Daemonize): the channel's slot passes to
  // this process's pid (ChannelClient::AdoptAfterFork).
  absl::Status AdoptAfterFork() { return channel_->AdoptAfterFork(); }
  // The dataplane's PID (its firewall log lines carry it, as Vyatta's do).
  int32_t server_pid() const { return channel_->header().server_pid; }

  // IKE datagrams: out through the dataplane's inject path, in from its punt path.
  absl::Status Inject(const ike::Datagram& d);
  std::vector<ike::Datagram> PollPunt(size_t max);
  // Up to `max` events: acks settle the batches they answer (see Submit); every other event goes
  // to the observers, then to `fn`.
  void PollEvents(size_t max, const EventFn& fn);
  // Another reader of the dataplane's events (the SA installer takes its counters from them),
  // until StopObserving with the token returned. An owner of callbacks that goes before the
  // link stops observing and drops its ack handlers (DropAckHandlers), so a later poll never
  // calls into an object that is gone.
  int ObserveEvents(EventFn fn) {
    observers_.emplace(next_observer_, std::move(fn));
    return next_observer_++;
  }
  void StopObserving(int token) { observers_.erase(token); }
  // The batches in flight keep their place (a late ack is still settled and logged) but run no
  // handler any more.
  void DropAckHandlers() {
    for (auto& [seq, p] : pending_) p.on_ack = nullptr;
  }

  // Batches sent whose ack has not come yet.
  size_t unacknowledged() const { return pending_.size(); }
  // Injected datagrams the dataplane has not taken yet.
  size_t InjectsInFlight() const { return channel_->InjectsInFlight(); }

 private:
  struct Pending {
    std::string what;
    absl::Time sent;
    AckHandler on_ack;
  };
  // A late ack (delivered by PollEvents: the link never waits while a batch is unacknowledged,
  // so nothing else takes it from the ring).
  void SettleAck(const dp::api::AckEvent& ack);
  void Log(const std::string& text);

  dp::api::ChannelClient* channel_;
  Reattach reattach_;
  absl::Duration ack_timeout_;
  Clock clock_;
  ike::LogSink* log_;
  std::map<int, EventFn> observers_;
  int next_observer_ = 1;
  std::map<uint64_t, Pending> pending_;  // by batch sequence number
  uint64_t generation_ = 0;
  std::optional<dp::api::ChannelClient> reattached_;
  absl::Time next_reattach_ = absl::InfinitePast();
  bool gone_ = false;
};

}  // namespace portcullis::vpnd
