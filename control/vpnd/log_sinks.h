// Where vpnd's IPsec log goes: a file (appended, flushed per line), stderr in the foreground,
// and a ring of recent lines that `show log vpn ipsec` returns. The debug key log is a separate
// file written only with --debug-keylog.
#pragma once

#include <cstdio>
#include <deque>
#include <string>

#include "ike/sa/ike_log.h"

namespace portcullis::vpnd {

class VpndLog : public ike::LogSink {
 public:
  // `path` may be empty (no file).
  VpndLog(const std::string& path, bool to_stderr, size_t ring_lines = 5000);
  ~VpndLog() override;
  VpndLog(const VpndLog&) = delete;
  VpndLog& operator=(const VpndLog&) = delete;

  bool ok() const { return path_.empty() || file_ != nullptr; }
  void Write(const ike::LogRecord& r) override;
  // The retained lines; with `filter`, only lines containing it.
  std::string Recent(const std::string& filter = "") const;

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  bool to_stderr_;
  size_t ring_lines_;
  std::deque<std::string> ring_;
};

class KeyLogFile : public ike::LogSink {
 public:
  explicit KeyLogFile(const std::string& path);
  ~KeyLogFile() override;
  KeyLogFile(const KeyLogFile&) = delete;
  KeyLogFile& operator=(const KeyLogFile&) = delete;
  bool ok() const { return file_ != nullptr; }
  void Write(const ike::LogRecord& r) override;

 private:
  std::FILE* file_ = nullptr;
};

}  // namespace portcullis::vpnd
