// The last IKE failure of each peer, for `diagnose vpn peer`: which notify (or which silence),
// in which phase, what we offered and what the peer sent. IKE already logs every failure once
// with its notify name and both sides' values (ike/sa/ike_log.h); this sink reads those records
// on their way to the log, so IKE needs no second reporting path and the verdict quotes exactly
// what the log says.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "ike/sa/ike_log.h"

namespace portcullis::vpnd {

struct PeerFailure {
  absl::Time time;
  bool phase2 = false;   // a CHILD SA's failure (IKE_AUTH's or CREATE_CHILD_SA's)
  std::string conn;      // "peer-192.0.2.2" or "peer-192.0.2.2-tunnel-1"; "" = by address
  std::string notify;    // "NO_PROPOSAL_CHOSEN", "AUTHENTICATION_FAILED", ..., "TIMEOUT"
  std::string offered;   // our proposals, selectors or group as the log gave them; "" = none
  std::string received;  // the peer's; "" = the peer did not say
  std::string text;      // the whole log text
};

class PeerFailures : public ike::LogSink {
 public:
  // Every record goes on to `next` unchanged.
  explicit PeerFailures(ike::LogSink* next) : next_(next) {}

  void Write(const ike::LogRecord& r) override;

  // The latest failure of the connection `name` ("peer-192.0.2.2", its tunnels included) or
  // logged without a connection about `address`.
  std::optional<PeerFailure> Last(const std::string& name, const std::string& address) const;
  // Forgets a peer's failures (after it came up, a stale failure would mislead).
  void Clear(const std::string& name);

  // The failure a record reports, if it reports one (exposed for tests).
  static std::optional<PeerFailure> Classify(const ike::LogRecord& r);

 private:
  ike::LogSink* next_;
  std::map<std::string, PeerFailure> by_conn_;     // by peer connection name
  std::map<std::string, PeerFailure> by_address_;  // manager lines, by the peer's address
};

}  // namespace portcullis::vpnd
