#include "control/vpnd/daemonize.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace portcullis::vpnd {
namespace {

absl::Status Errno(const char* what) {
  return absl::ErrnoToStatus(errno, what);
}

// The child's stdio, as daemon(3) leaves it: on /dev/null.
absl::Status DetachStdio() {
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return Errno("open /dev/null");
  for (int fd = 0; fd <= 2; ++fd) {
    if (dup2(null, fd) < 0) {
      absl::Status s = Errno("dup2 /dev/null");
      close(null);
      return s;
    }
  }
  if (null > 2) close(null);
  return absl::OkStatus();
}

[[noreturn]] void WaitForChildAndExit(int from_child) {
  // The child writes one NUL byte when ready, or the reason it is not; EOF without either
  // means it died first.
  std::string word;
  char buf[512];
  for (;;) {
    const ssize_t n = read(from_child, buf, sizeof buf);
    if (n > 0) {
      word.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  if (word.size() == 1 && word[0] == '\0') _exit(0);
  const std::string why = word.empty() ? "the daemon exited before it was ready" : word;
  std::fprintf(stderr, "vpnd: %s\n", why.c_str());
  _exit(1);
}

}  // namespace

absl::Status Daemonize(absl::FunctionRef<absl::Status()> in_child) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe");
  const pid_t pid = fork();
  if (pid < 0) {
    absl::Status s = Errno("fork");
    close(fds[0]);
    close(fds[1]);
    return s;
  }
  if (pid > 0) {
    close(fds[1]);
    WaitForChildAndExit(fds[0]);
  }
  close(fds[0]);
  absl::Status st = setsid() < 0 ? Errno("setsid") : in_child();
  if (st.ok() && chdir("/") != 0) st = Errno("chdir /");
  if (st.ok()) st = DetachStdio();
  const std::string word = st.ok() ? std::string(1, '\0') : std::string(st.message());
  // A parent gone already (killed by the service manager's start timeout) must not kill the
  // child with SIGPIPE here: the manager decides about the child then.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  (void)!write(fds[1], word.data(), word.size());
  sigaction(SIGPIPE, &old, nullptr);
  close(fds[1]);
  // The parent reports the error (once): the child only ends.
  if (!st.ok()) _exit(1);
  return absl::OkStatus();
}

}  // namespace portcullis::vpnd
