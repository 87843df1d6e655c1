// The operational commands: sent to vpnd over its unix socket (control/vpnd/control_protocol.h),
// which answers with the text to print (the Vyatta layouts, or JSON with --json).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "control/vpnctl/commands.h"
#include "control/vpnd/control_protocol.h"

namespace portcullis::vpnctl {

int CmdOperational(const ops::OpRequest& request, const std::string& socket_path, bool json) {
  std::vector<std::string> words;
  for (const ops::OpWord& w : request.words) {
    words.push_back(w.text);
    // vpnd runs from /: a file is named absolutely.
    if (w.slot == ops::Slot::kFile && !w.text.empty() && w.text[0] != '/') {
      char buf[PATH_MAX];
      if (realpath(w.text.c_str(), buf) != nullptr) words.back() = buf;
    }
  }
  if (json || request.args.json) words.push_back("--json");
  std::string path = socket_path.empty() ? vpnd::kDefaultSocket : socket_path;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (fd < 0 || path.size() >= sizeof sa.sun_path) {
    std::fprintf(stderr, "vpnctl: bad socket path %s\n", path.c_str());
    return 1;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::fprintf(stderr, "vpnctl: cannot reach vpnd at %s: %s (is vpnd running?)\n", path.c_str(),
                 std::strerror(errno));
    close(fd);
    return 1;
  }
  std::string req = absl::StrJoin(words, "\t") + "\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    std::fprintf(stderr, "vpnctl: write to vpnd failed\n");
    close(fd);
    return 1;
  }
  std::string reply;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
  close(fd);
  if (absl::StartsWith(reply, vpnd::kReplyOk)) {
    std::fputs(reply.c_str() + std::strlen(vpnd::kReplyOk), stdout);
    return 0;
  }
  if (absl::StartsWith(reply, vpnd::kReplyError)) {
    std::fprintf(stderr, "%s", reply.c_str() + std::strlen(vpnd::kReplyError));
    return 1;
  }
  std::fprintf(stderr, "vpnctl: no answer from vpnd\n");
  return 1;
}

}  // namespace portcullis::vpnctl
