#include "test/unit/dataplane/api/channel_test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "dataplane/api/process_liveness.h"

namespace portcullis::dp::api::testing {
namespace {

constexpr absl::string_view kPrefix = "portcullis-chtest-";

// Segments of earlier runs that died before their cleanup could run.
void RemoveLeftovers() {
  DIR* d = opendir("/dev/shm");
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    if (!absl::ConsumePrefix(&name, kPrefix)) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(name, '-');
    int pid = 0;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &pid) && pid != getpid() &&
        !IsProcessAlive(pid)) {
      shm_unlink(absl::StrCat("/", e->d_name).c_str());
    }
  }
  closedir(d);
}

}  // namespace

std::string UniqueChannelName() {
  static std::atomic<int> counter{0};
  static bool cleaned = (RemoveLeftovers(), true);
  (void)cleaned;
  return absl::StrCat("chtest-", getpid(), "-", counter++);
}

ShmCleanup::~ShmCleanup() {
  shm_unlink(absl::StrCat("/portcullis-", channel_).c_str());
}

pid_t DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

PeerProcess::PeerProcess(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) abort();
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // Never outlive a test that crashed.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    std::string path = CHANNEL_PEER_PATH;
    argv.push_back(path.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  stdout_fd_ = fds[0];
  fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
}

PeerProcess::~PeerProcess() {
  if (!status_.has_value()) KillHard();
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void PeerProcess::ReadAvailable() {
  char buf[4096];
  ssize_t n;
  while ((n = read(stdout_fd_, buf, sizeof buf)) > 0) output_.append(buf, static_cast<size_t>(n));
}

bool PeerProcess::WaitForLine(absl::string_view line, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    ReadAvailable();
    while (true) {
      size_t nl = output_.find('\n', scanned_);
      if (nl == std::string::npos) break;
      absl::string_view got(output_.data() + scanned_, nl - scanned_);
      scanned_ = nl + 1;
      if (got == line) return true;
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p{stdout_fd_, POLLIN, 0};
    int ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    if (poll(&p, 1, ms) > 0 && (p.revents & POLLHUP) && !(p.revents & POLLIN)) return false;
  }
}

std::optional<int> PeerProcess::TryWait() {
  if (status_.has_value()) return status_;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) != pid_) return std::nullopt;
  ReadAvailable();
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
  return status_;
}

void PeerProcess::KillHard() {
  if (status_.has_value()) return;
  kill(pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

}  // namespace portcullis::dp::api::testing
