// Where vpnd's IPsec log goes: a file (appended, rotated by size), stderr in the foreground, and
// a ring of recent lines that `show log vpn ipsec` returns. Lines are written one write per line,
// or, buffered (vpnd's event loop), together once per loop round (Flush). The debug key
// log is a separate file written only with --debug-keylog.
//
// Both files are opened with O_NOFOLLOW (a symlink planted at the path is refused, not followed
// to a file of someone else's choosing), O_CLOEXEC and explicit modes: 0640 for the log, 0600
// for the key log (an existing key log is narrowed to 0600, and refused unless it is ours).
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "absl/time/time.h"
#include "ike/sa/ike_log.h"

namespace portcullis::vpnd {

struct LogRotation {
  // The file is rotated before a line would take it past this size; 0 = never.
  uint64_t max_bytes = 10 * 1024 * 1024;
  // Rotated files kept: path.1 (the newest) .. path.N; 0 = the log starts over empty.
  int keep = 5;
};

class VpndLog : public ike::LogSink {
 public:
  // `path` may be empty (no file).
  VpndLog(const std::string& path, bool to_stderr, size_t ring_lines = 5000,
          LogRotation rotation = {});
  ~VpndLog() override;
  VpndLog(const VpndLog&) = delete;
  VpndLog& operator=(const VpndLog&) = delete;

  bool ok() const { return path_.empty() || fd_ >= 0; }
  // Why the file could not be opened (empty when it could).
  const std::string& error() const { return error_; }
  void Write(const ike::LogRecord& r) override;
  // A line in syslog's form, as another program's syslog line would read
  // ("Dec  6 12:00:00 host dataplane[4391]:  In:..."): the firewall's per-packet lines, which
  // keep the Vyatta dataplane's format. To the file and stderr, and a ring of their own (so a
  // busy rule with `log` never pushes the IPsec lines out of `show log vpn ipsec`); not to
  // added sinks: they have their own syslog writer.
  void WriteSyslogStyle(absl::Time time, const std::string& text);
  // The retained lines; with `filter`, only lines containing it.
  std::string Recent(const std::string& filter = "") const;
  // The retained firewall lines (WriteSyslogStyle's), the same way.
  std::string RecentFirewall(const std::string& filter = "") const;
  // Buffered: lines wait until Flush (or until kFlushBytes wait) instead of costing a write
  // system call per line and destination (file, and stderr in the foreground): an IKE setup
  // logs 15-20 lines. vpnd's loop flushes at the end of every round, so a line is in the file
  // before the loop sleeps; a kill -9 or a crash loses the lines of the round it interrupts
  // (those that might explain a crash). Off by default.
  void SetBuffered(bool on);
  void Flush();
  static constexpr size_t kFlushBytes = 64 * 1024;

 private:
  void Append(std::string line, std::deque<std::string>& ring);
  bool Open();
  void Rotate();

  std::string path_;
  LogRotation rotation_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string error_;
  bool to_stderr_;
  bool buffered_ = false;
  std::string pending_;  // buffered lines, each with its newline
  size_t ring_lines_;
  std::deque<std::string> ring_, firewall_ring_;
};

class KeyLogFile : public ike::LogSink {
 public:
  explicit KeyLogFile(const std::string& path);
  ~KeyLogFile() override;
  KeyLogFile(const KeyLogFile&) = delete;
  KeyLogFile& operator=(const KeyLogFile&) = delete;
  bool ok() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  void Write(const ike::LogRecord& r) override;

 private:
  int fd_ = -1;
  std::string error_;
};

}  // namespace portcullis::vpnd
