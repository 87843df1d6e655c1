#include "control/vpnd/dataplane_link.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/vpnd/dataplane_plan.h"
#include "dataplane/api/key_wipe.h"

namespace portcullis::vpnd {

namespace {

dp::api::PacketMeta MetaFor(const ike::Datagram& d) {
  dp::api::PacketMeta meta;
  std::memset(&meta, 0, sizeof meta);
  meta.src = ToChannelAddr(d.src.address.bytes.data(), d.src.address.family);
  meta.dst = ToChannelAddr(d.dst.address.bytes.data(), d.dst.address.family);
  meta.src_port = d.src.port;
  meta.dst_port = d.dst.port;
  meta.family = d.dst.address.family == 4 ? dp::api::Family::kIpv4 : dp::api::Family::kIpv6;
  meta.flags = d.non_esp_marker ? dp::api::kNonEspMarker : 0;
  return meta;
}

ike::Datagram FromPunt(absl::Span<const uint8_t> data, const dp::api::PacketMeta& m) {
  ike::Datagram d;
  size_t n = m.family == dp::api::Family::kIpv4 ? 4 : 16;
  d.src.address = *ike::Address::FromBytes(absl::MakeConstSpan(m.src.bytes, n));
  d.dst.address = *ike::Address::FromBytes(absl::MakeConstSpan(m.dst.bytes, n));
  d.src.port = m.src_port;
  d.dst.port = m.dst_port;
  d.non_esp_marker = (m.flags & dp::api::kNonEspMarker) != 0;
  d.ifindex = m.ifindex;
  d.data.assign(data.begin(), data.end());
  return d;
}

}  // namespace

DataplaneLink::DataplaneLink(dp::api::ChannelClient* channel, Reattach reattach,
                             absl::Duration ack_timeout, Clock clock, ike::LogSink* log)
    : channel_(channel),
      reattach_(std::move(reattach)),
      ack_timeout_(ack_timeout),
      clock_(std::move(clock)),
      log_(log),
      generation_(channel->generation()) {}

void DataplaneLink::Log(const std::string& text) {
  log_->Write(ike::LogRecord{clock_(), ike::LogGroup::kKnl, "", 0, false, text});
}

DataplaneLink::Outcome DataplaneLink::Submit(std::vector<dp::api::Message> batch,
                                             const std::string& what, bool wait, AckHandler on_ack,
                                             absl::Status* status) {
  absl::Status st;
  Outcome out = Outcome::kApplied;
  if (!batch.empty()) {
    // The dataplane stages and applies a batch in time growing with its size: a large commit
    // gets that much longer before its outcome counts as unknown.
    const absl::Duration ack_wait = ack_timeout_ + kAckTimePerMessage * batch.size();
    absl::StatusOr<uint64_t> seq = channel_->SendBatch(absl::MakeSpan(batch));
    dp::api::SecureWipe(batch.data(), batch.size() * sizeof(dp::api::Message));
    if (!seq.ok()) {
      st = absl::Status(
          seq.status().code(),
          absl::StrCat(what, ": sending to the dataplane failed: ", seq.status().message()));
      out = Outcome::kNotSent;
    } else {
      // With an earlier batch still unacknowledged the dataplane is slow or hung: waiting again
      // would stall IKE by ack_timeout per message.
      bool waited = wait && pending_.empty();
      if (waited) st = channel_->WaitAck(*seq, ack_wait);
      if (!waited || absl::IsDeadlineExceeded(st)) {
        if (waited) {
          Log(absl::StrCat(what, ": no ack for batch ", *seq, " within ",
                           absl::FormatDuration(ack_wait),
                           "; its outcome is unknown until the dataplane answers (not waiting "
                           "for acks meanwhile)"));
        }
        pending_[*seq] = Pending{what, clock_(), std::move(on_ack)};
        if (status != nullptr) {
          *status = absl::DeadlineExceededError(
              absl::StrCat(what, ": the dataplane has not acknowledged batch ", *seq,
                           " yet: the outcome is unknown; it is settled when the ack comes"));
        }
        return Outcome::kUnknown;
      }
      if (absl::IsUnavailable(st)) {
        // The dataplane is gone: the resync after it comes back sends everything again.
        st = absl::Status(st.code(), absl::StrCat(what, ": ", st.message()));
        out = Outcome::kNotSent;
      } else if (!st.ok()) {
        st = absl::Status(st.code(),
                          absl::StrCat(what, ": the dataplane refused the batch: ", st.message()));
        out = Outcome::kRefused;
      }
    }
  }
  if (status != nullptr) *status = st;
  if (on_ack) on_ack(out, st);
  return out;
}

void DataplaneLink::SettleAck(const dp::api::AckEvent& ack) {
  auto it = pending_.find(ack.batch_seq);
  if (it == pending_.end()) return;  // from before a restart, or for a batch already settled
  Pending p = std::move(it->second);
  pending_.erase(it);
  absl::Status st = dp::api::AckStatus(ack);
  Outcome o = st.ok() ? Outcome::kApplied : Outcome::kRefused;
  if (!st.ok()) {
    st = absl::Status(st.code(),
                      absl::StrCat(p.what, ": the dataplane refused the batch: ", st.message()));
  }
  Log(absl::StrCat(p.what, ": batch ", ack.batch_seq, " acknowledged late (",
                   absl::FormatDuration(clock_() - p.sent),
                   " after it was sent): ", st.ok() ? "applied" : "refused"));
  if (p.on_ack) p.on_ack(o, st);
}

bool DataplaneLink::CheckRestart() {
  if (channel_->ServerAlive()) {
    if (channel_->generation() == generation_) return false;
    generation_ = channel_->generation();
    // The new dataplane holds nothing, and acks of the old one's batches will never come.
    pending_.clear();
    return true;
  }
  if (!gone_) {
    gone_ = true;
    Log("the dataplane is gone: IKE goes on, waiting for it to come back");
  }
  if (!reattach_ || clock_() < next_reattach_) return false;
  next_reattach_ = clock_() + absl::Seconds(1);
  absl::StatusOr<dp::api::ChannelClient> c = reattach_();
  if (!c.ok()) return false;
  reattached_.emplace(*std::move(c));
  channel_ = &*reattached_;
  gone_ = false;
  generation_ = channel_->generation();
  Log("re-attached to the dataplane");
  pending_.clear();
  return true;
}

absl::Status DataplaneLink::Inject(const ike::Datagram& d) {
  return channel_->Inject(d.data, MetaFor(d));
}

std::vector<ike::Datagram> DataplaneLink::PollPunt(size_t max) {
  std::vector<ike::Datagram> punted;
  channel_->PollPunt(max, [&](absl::Span<const uint8_t> data, const dp::api::PacketMeta& m) {
    punted.push_back(FromPunt(data, m));
  });
  return punted;
}

void DataplaneLink::PollEvents(size_t max, const EventFn& fn) {
  // Taken off the ring first: an ack handler may send (and wait for) another batch.
  std::vector<dp::api::Event> events;
  channel_->PollEvents(max, [&](const dp::api::Event& e) { events.push_back(e); });
  for (const dp::api::Event& e : events) {
    if (e.header.kind == dp::api::EventKind::kAck) {
      SettleAck(e.body.ack);
      continue;
    }
    for (const auto& [token, o] : observers_) o(e);
    if (fn) fn(e);
  }
}

}  // namespace portcullis::vpnd
