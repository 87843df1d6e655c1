#include "control/vpnd/control_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/vpnd/control_protocol.h"

namespace portcullis::vpnd {

absl::StatusOr<std::unique_ptr<ControlSocket>> ControlSocket::Listen(const std::string& path) {
  return Listen(path, Options());
}

absl::StatusOr<std::unique_ptr<ControlSocket>> ControlSocket::Listen(const std::string& path,
                                                                     Options options) {
  sockaddr_un sa{};
  if (path.size() >= sizeof sa.sun_path) return absl::InvalidArgumentError("socket path too long");
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) mkdir(path.substr(0, slash).c_str(), 0700);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  unlink(path.c_str());
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  mode_t old = umask(077);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  umask(old);
  if (rc != 0 || listen(fd, 16) != 0) {
    std::string e = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("control socket ", path, ": ", e));
  }
  chmod(path.c_str(), 0600);
  return std::unique_ptr<ControlSocket>(new ControlSocket(fd, path, options));
}

ControlSocket::~ControlSocket() {
  for (Client& c : clients_) close(c.fd);
  close(fd_);
  unlink(path_.c_str());
}

void ControlSocket::AddPollFds(std::vector<pollfd>* fds) const {
  fds->push_back({fd_, POLLIN, 0});
  for (const Client& c : clients_) {
    fds->push_back({c.fd, static_cast<short>(c.answered ? POLLOUT : POLLIN), 0});
  }
}

void ControlSocket::Accept() {
  for (;;) {
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) return;
    if (clients_.size() >= options_.max_clients) {
      // Busy: refusing is better than letting idle connections starve everyone else.
      static constexpr char kBusy[] = "ERROR\nvpnd: too many vpnctl connections, try again\n";
      (void)send(c, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      close(c);
      continue;
    }
    Client client;
    client.fd = c;
    client.deadline = absl::Now() + options_.client_deadline;
    clients_.push_back(std::move(client));
  }
}

bool ControlSocket::Step(Client& c, const Handler& handler) {
  if (!c.answered) {
    bool eof = false;
    char buf[4096];
    while (c.request.find('\n') == std::string::npos && c.request.size() < options_.max_request) {
      ssize_t n = read(c.fd, buf, sizeof buf);
      if (n > 0) {
        c.request.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;  // the client finished writing (or the connection broke)
      break;
    }
    bool complete = c.request.find('\n') != std::string::npos ||
                    c.request.size() >= options_.max_request || eof;
    if (!complete) return true;
    if (eof && c.request.empty()) return false;
    std::string line = c.request.substr(0, c.request.find('\n'));
    std::vector<std::string> words;
    for (absl::string_view w : absl::StrSplit(line, '\t', absl::SkipEmpty())) {
      words.emplace_back(w);
    }
    absl::StatusOr<std::string> r = handler(words);
    c.reply =
        r.ok() ? absl::StrCat(kReplyOk, *r) : absl::StrCat(kReplyError, r.status().message(), "\n");
    c.answered = true;
  }
  while (c.written < c.reply.size()) {
    ssize_t n = send(c.fd, c.reply.data() + c.written, c.reply.size() - c.written,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // the client went away
  }
  return false;
}

void ControlSocket::Serve(const Handler& handler) {
  Accept();
  absl::Time now = absl::Now();
  for (size_t i = 0; i < clients_.size();) {
    Client& c = clients_[i];
    bool keep = now < c.deadline && Step(c, handler);
    if (keep) {
      ++i;
      continue;
    }
    close(c.fd);
    clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

}  // namespace portcullis::vpnd
