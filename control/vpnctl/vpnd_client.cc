#include "control/vpnctl/vpnd_client.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/vpnd/control_protocol.h"

namespace portcullis::vpnctl {

absl::StatusOr<VpndReply> AskVpnd(const std::string& socket_path,
                                  const std::vector<std::string>& words) {
  for (const std::string& w : words) {
    if (w.find_first_of("\t\n") != std::string::npos) {
      return absl::InvalidArgumentError("a word may not contain a tab or a newline");
    }
  }
  std::string path = socket_path.empty() ? vpnd::kDefaultSocket : socket_path;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("bad socket path ", path));
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot reach vpnd at ", path, ": ", why, " (is vpnd running?)"));
  }
  // The request may carry a pre-shared key (`set ... pre-shared-secret`): wiped once sent.
  std::string req = absl::StrJoin(words, "\t") + "\n";
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  explicit_bzero(req.data(), req.size());
  if (sent != req.size()) {
    close(fd);
    return absl::UnavailableError("write to vpnd failed");
  }
  std::string reply;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (absl::StartsWith(reply, vpnd::kReplyOk)) {
    return VpndReply{true, reply.substr(std::strlen(vpnd::kReplyOk))};
  }
  if (absl::StartsWith(reply, vpnd::kReplyError)) {
    return VpndReply{false, reply.substr(std::strlen(vpnd::kReplyError))};
  }
  return absl::UnavailableError("no answer from vpnd");
}

}  // namespace portcullis::vpnctl
