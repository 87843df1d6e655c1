// vpnd's log lines to the local syslog socket (/dev/log: journald or rsyslog), RFC 3164 framing
// as glibc's syslog(3) writes it, facility daemon. Its own socket rather than syslog(3): the
// socket is non-blocking, so a stalled journal drops lines instead of stalling IKE, and tests
// can point it at a datagram socket of their own.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "ike/sa/ike_log.h"

namespace portcullis::vpnd {

class SyslogSink : public ike::LogSink {
 public:
  // `socket_path`: usually /dev/log. `ident`: the program name syslog shows ("vpnd").
  SyslogSink(std::string socket_path, std::string ident);
  ~SyslogSink() override;
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;

  void Write(const ike::LogRecord& r) override;
  // Lines the socket did not take (no listener, or its queue full).
  uint64_t dropped() const { return dropped_; }

  // The datagram for one record: "<PRI>Mmm dd hh:mm:ss ident[pid]: [IKE] <conn|N> text".
  // Lines that warn (they start with "WARNING") get severity warning, the rest info.
  static std::string Format(const ike::LogRecord& r, const std::string& ident, int pid);

  // A line written for another process (the firewall's lines carry the dataplane's name and
  // PID): "<PRI>Mmm dd hh:mm:ss ident[pid]: text", severity notice as Vyatta's dataplane logs.
  void WriteAs(absl::Time time, int pid, const std::string& text);
  static std::string FormatAs(absl::Time time, const std::string& ident, int pid,
                              const std::string& text);

 private:
  bool Connect();
  void Send(const std::string& msg);

  std::string path_;
  std::string ident_;
  int fd_ = -1;
  uint64_t dropped_ = 0;
};

}  // namespace portcullis::vpnd
