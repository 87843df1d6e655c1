#include "control/vpnd/log_sinks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace portcullis::vpnd {

namespace {

constexpr int kOpenFlags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC;

// Opens `path` for appending; -1 with *error set when it cannot be had or is not a regular file.
int OpenAppend(const std::string& path, mode_t mode, std::string* error) {
  int fd = open(path.c_str(), kOpenFlags, mode);
  if (fd < 0) {
    *error = absl::StrCat(path, ": ",
                          errno == ELOOP ? "is a symbolic link, refused" : std::strerror(errno));
    return -1;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = absl::StrCat(path, ": not a regular file");
    close(fd);
    return -1;
  }
  return fd;
}

// The whole line, or as much as the file takes (a full disk must not stall the daemon).
void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

VpndLog::VpndLog(const std::string& path, bool to_stderr, size_t ring_lines, LogRotation rotation)
    : path_(path), rotation_(rotation), to_stderr_(to_stderr), ring_lines_(ring_lines) {
  if (!path_.empty()) Open();
}

VpndLog::~VpndLog() {
  Flush();
  if (fd_ >= 0) close(fd_);
}

void VpndLog::SetBuffered(bool on) {
  buffered_ = on;
  if (!on) Flush();
}

void VpndLog::Flush() {
  if (pending_.empty()) return;
  if (fd_ >= 0) WriteAll(fd_, pending_);
  if (to_stderr_) std::fwrite(pending_.data(), 1, pending_.size(), stderr);
  pending_.clear();
}

bool VpndLog::Open() {
  fd_ = OpenAppend(path_, 0640, &error_);
  if (fd_ < 0) return false;
  struct stat st {};
  size_ = fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  error_.clear();
  return true;
}

void VpndLog::Rotate() {
  Flush();  // the lines waiting belong to the file being rotated
  close(fd_);
  fd_ = -1;
  // rename() moves the names themselves: a symlink someone put at path.N is moved or replaced,
  // never written through.
  if (rotation_.keep <= 0) {
    unlink(path_.c_str());
  } else {
    for (int i = rotation_.keep - 1; i >= 1; --i) {
      rename(absl::StrCat(path_, ".", i).c_str(), absl::StrCat(path_, ".", i + 1).c_str());
    }
    rename(path_.c_str(), absl::StrCat(path_, ".1").c_str());
  }
  Open();
}

void VpndLog::Write(const ike::LogRecord& r) {
  Append(ike::FormatLogLine(r), ring_);
}

void VpndLog::WriteSyslogStyle(absl::Time time, const std::string& text) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  Append(absl::StrCat(absl::FormatTime("%b %e %H:%M:%S", time, absl::UTCTimeZone()), " ", host, " ",
                      text),
         firewall_ring_);
}

void VpndLog::Append(std::string line, std::deque<std::string>& ring) {
  line.push_back('\n');
  if (!path_.empty()) {
    if (fd_ >= 0 && rotation_.max_bytes > 0 && size_ > 0 &&
        size_ + line.size() > rotation_.max_bytes) {
      Rotate();
    } else if (fd_ < 0) {
      Open();  // it went away (a failed rotation): try again
    }
    if (fd_ >= 0) size_ += line.size();
  }
  if (buffered_) {
    if (fd_ >= 0 || to_stderr_) pending_ += line;
    if (pending_.size() >= kFlushBytes) Flush();
  } else {
    if (fd_ >= 0) WriteAll(fd_, line);
    if (to_stderr_) std::fwrite(line.data(), 1, line.size(), stderr);
  }
  line.pop_back();
  ring.push_back(std::move(line));
  while (ring.size() > ring_lines_) ring.pop_front();
}

namespace {

std::string Lines(const std::deque<std::string>& ring, const std::string& filter) {
  std::string out;
  for (const std::string& l : ring) {
    if (filter.empty() || absl::StrContains(l, filter)) {
      out += l;
      out += '\n';
    }
  }
  return out;
}

}  // namespace

std::string VpndLog::RecentFirewall(const std::string& filter) const {
  return Lines(firewall_ring_, filter);
}

std::string VpndLog::Recent(const std::string& filter) const {
  return Lines(ring_, filter);
}

KeyLogFile::KeyLogFile(const std::string& path) {
  fd_ = OpenAppend(path, 0600, &error_);
  if (fd_ < 0) return;
  // Key material: owner only, whatever mode an existing file had; a file of another user's is
  // not ours to write keys into.
  struct stat st {};
  if (fstat(fd_, &st) != 0 || st.st_uid != geteuid() || fchmod(fd_, 0600) != 0) {
    error_ = absl::StrCat(path, ": not owned by this user, or its mode cannot be set to 0600");
    close(fd_);
    fd_ = -1;
  }
}

KeyLogFile::~KeyLogFile() {
  if (fd_ >= 0) close(fd_);
}

void KeyLogFile::Write(const ike::LogRecord& r) {
  if (fd_ < 0) return;
  std::string line = ike::FormatLogLine(r);
  line.push_back('\n');
  WriteAll(fd_, line);
}

}  // namespace portcullis::vpnd
