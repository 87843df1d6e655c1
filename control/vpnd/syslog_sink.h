// vpnd's log lines to the local syslog socket (/dev/log: journald or rsyslog), RFC 3164 framing
// as glibc's syslog(3) writes it, facility daemon. Its own socket rather than syslog(3): the
// socket is non-blocking, so a stalled journal drops lines instead of stalling IKE, and tests
// can point it at a datagram socket of their own.
#pragma once

#include <string>

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

 private:
  bool Connect();

  std::string path_;
  std::string ident_;
  int fd_ = -1;
  uint64_t dropped_ = 0;
};

}  // namespace portcullis::vpnd
