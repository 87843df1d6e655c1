#include "control/vpnd/log_sinks.h"

#include <sys/stat.h>

#include "absl/strings/match.h"

namespace portcullis::vpnd {

VpndLog::VpndLog(const std::string& path, bool to_stderr, size_t ring_lines)
    : path_(path), to_stderr_(to_stderr), ring_lines_(ring_lines) {
  if (!path_.empty()) file_ = std::fopen(path_.c_str(), "a");
}

VpndLog::~VpndLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void VpndLog::Write(const ike::LogRecord& r) {
  std::string line = ike::FormatLogLine(r);
  if (file_ != nullptr) {
    std::fprintf(file_, "%s\n", line.c_str());
    std::fflush(file_);
  }
  if (to_stderr_) std::fprintf(stderr, "%s\n", line.c_str());
  ring_.push_back(std::move(line));
  while (ring_.size() > ring_lines_) ring_.pop_front();
}

std::string VpndLog::Recent(const std::string& filter) const {
  std::string out;
  for (const std::string& l : ring_) {
    if (filter.empty() || absl::StrContains(l, filter)) {
      out += l;
      out += '\n';
    }
  }
  return out;
}

KeyLogFile::KeyLogFile(const std::string& path) {
  mode_t old = umask(077);  // key material: owner only
  file_ = std::fopen(path.c_str(), "a");
  umask(old);
}

KeyLogFile::~KeyLogFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void KeyLogFile::Write(const ike::LogRecord& r) {
  if (file_ == nullptr) return;
  std::fprintf(file_, "%s\n", ike::FormatLogLine(r).c_str());
  std::fflush(file_);
}

}  // namespace portcullis::vpnd
