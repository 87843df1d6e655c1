// IKE's counters for the metrics endpoint, read off vpnd's log stream: the IKE engine already
// logs every message it generates or parses ("generating IKE_AUTH request 1 [ ... ]", charon's
// wording) and every notify error it receives ("received NO_PROPOSAL_CHOSEN notify error ..."),
// so counting those lines needs no hook inside ike/ and cannot disagree with the log.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "ike/sa/ike_log.h"

namespace portcullis::vpnd {

class IkeLogCounters : public ike::LogSink {
 public:
  // (exchange "IKE_AUTH", direction "in"|"out", message "request"|"response")
  using MessageKey = std::tuple<std::string, std::string, std::string>;
  // (peer "192.0.2.2" or the connection name, notify "NO_PROPOSAL_CHOSEN")
  using NotifyKey = std::pair<std::string, std::string>;

  void Write(const ike::LogRecord& r) override;

  const std::map<MessageKey, uint64_t>& messages() const { return messages_; }
  const std::map<NotifyKey, uint64_t>& notify_errors() const { return notify_errors_; }

  // "peer-192.0.2.2-tunnel-vti" -> "192.0.2.2": the peer label the other metrics use.
  static std::string PeerOf(const std::string& conn);

 private:
  std::map<MessageKey, uint64_t> messages_;
  std::map<NotifyKey, uint64_t> notify_errors_;
};

}  // namespace portcullis::vpnd
