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
  return std::unique_ptr<ControlSocket>(new ControlSocket(fd, path));
}

ControlSocket::~ControlSocket() {
  close(fd_);
  unlink(path_.c_str());
}

void ControlSocket::Serve(const Handler& handler) {
  for (;;) {
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    std::string req;
    char buf[4096];
    while (req.find('\n') == std::string::npos && req.size() < 65536) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) break;
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    std::string line = req.substr(0, req.find('\n'));
    std::vector<std::string> words;
    for (absl::string_view w : absl::StrSplit(line, '\t', absl::SkipEmpty())) {
      words.emplace_back(w);
    }
    absl::StatusOr<std::string> r = handler(words);
    std::string reply =
        r.ok() ? absl::StrCat(kReplyOk, *r) : absl::StrCat(kReplyError, r.status().message(), "\n");
    size_t off = 0;
    while (off < reply.size()) {
      ssize_t n = write(c, reply.data() + off, reply.size() - off);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          pollfd p{c, POLLOUT, 0};
          if (poll(&p, 1, 2000) <= 0) break;
          continue;
        }
        break;
      }
      off += static_cast<size_t>(n);
    }
    close(c);
  }
}

}  // namespace portcullis::vpnd
