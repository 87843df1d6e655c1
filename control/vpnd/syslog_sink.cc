#include "control/vpnd/syslog_sink.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace portcullis::vpnd {

namespace {

constexpr int kFacilityDaemon = 3;
constexpr int kSeverityWarning = 4;
constexpr int kSeverityNotice = 5;
constexpr int kSeverityInfo = 6;

}  // namespace

SyslogSink::SyslogSink(std::string socket_path, std::string ident)
    : path_(std::move(socket_path)), ident_(std::move(ident)) {
  Connect();
}

SyslogSink::~SyslogSink() {
  if (fd_ >= 0) close(fd_);
}

bool SyslogSink::Connect() {
  if (fd_ >= 0) close(fd_);
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path ||
      (std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1),
       connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)) {
    close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

std::string SyslogSink::Format(const ike::LogRecord& r, const std::string& ident, int pid) {
  int severity = absl::StartsWith(r.text, "WARNING") ? kSeverityWarning : kSeverityInfo;
  // The local syslog daemon stamps its own time too; RFC 3164's timestamp is local time without
  // a year, as syslog(3) sends it.
  std::string stamp = absl::FormatTime("%b %e %H:%M:%S", r.time, absl::LocalTimeZone());
  std::string conn;
  if (!r.conn.empty()) {
    conn = r.child ? absl::StrCat("<", r.conn, "|{", r.unique_id, "}> ")
                   : absl::StrCat("<", r.conn, "|", r.unique_id, "> ");
  }
  return absl::StrCat("<", kFacilityDaemon * 8 + severity, ">", stamp, " ", ident, "[", pid, "]: [",
                      ike::LogGroupName(r.group), "] ", conn, r.text);
}

std::string SyslogSink::FormatAs(absl::Time time, const std::string& ident, int pid,
                                 const std::string& text) {
  std::string stamp = absl::FormatTime("%b %e %H:%M:%S", time, absl::LocalTimeZone());
  return absl::StrCat("<", kFacilityDaemon * 8 + kSeverityNotice, ">", stamp, " ", ident, "[", pid,
                      "]: ", text);
}

void SyslogSink::WriteAs(absl::Time time, int pid, const std::string& text) {
  Send(FormatAs(time, ident_, pid, text));
}

void SyslogSink::Write(const ike::LogRecord& r) {
  Send(Format(r, ident_, static_cast<int>(getpid())));
}

void SyslogSink::Send(const std::string& msg) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0 && !Connect()) break;
    if (send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL) >= 0) return;
    // The journal restarted (the old socket is gone): connect again once. A full queue
    // (EAGAIN) drops the line: the file log still has it.
    if (errno != ECONNREFUSED && errno != ENOTCONN && errno != ENOENT) break;
    close(fd_);
    fd_ = -1;
  }
  ++dropped_;
}

}  // namespace portcullis::vpnd
