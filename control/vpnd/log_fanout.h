// vpnd's log with extra destinations: every line VpndLog writes (file, stderr, the ring behind
// `show log vpn ipsec`) also goes to each added sink (syslog, the metrics' IKE counters). A
// VpndLog itself, so everything that holds a VpndLog* logs through it unchanged.
#pragma once

#include <string>
#include <vector>

#include "control/vpnd/log_sinks.h"

namespace portcullis::vpnd {

class FanoutLog : public VpndLog {
 public:
  using VpndLog::VpndLog;
  // `sink` must outlive this log.
  void Add(ike::LogSink* sink) { sinks_.push_back(sink); }
  void Write(const ike::LogRecord& r) override {
    VpndLog::Write(r);
    for (ike::LogSink* s : sinks_) s->Write(r);
  }

 private:
  std::vector<ike::LogSink*> sinks_;
};

}  // namespace portcullis::vpnd
