// Plumbing for the channel tests: per-run channel names whose segments are removed whatever
// happens, a dead pid, and the peer program run as a second process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace portcullis::dp::api::testing {

// "chtest-PID-N": unique per process and call, so parallel runs never meet. Also removes
// segments that earlier runs which crashed left behind.
std::string UniqueChannelName();

// Unlinks the channel's segment when the test ends, passed or failed. Declare it before the
// server so it runs after the server's own cleanup.
class ShmCleanup {
 public:
  explicit ShmCleanup(std::string channel) : channel_(std::move(channel)) {}
  ~ShmCleanup();
  ShmCleanup(const ShmCleanup&) = delete;
  ShmCleanup& operator=(const ShmCleanup&) = delete;

 private:
  std::string channel_;
};

// A pid that certainly belonged to a process that has exited and been reaped.
pid_t DeadPid();

// The peer program (CHANNEL_PEER_PATH) with the given arguments, its stdout on a pipe. Killed
// and reaped by the destructor if still running; it also dies with the test process.
class PeerProcess {
 public:
  explicit PeerProcess(const std::vector<std::string>& args);
  ~PeerProcess();
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads stdout until a line equal to `line` arrives; false on timeout or EOF.
  bool WaitForLine(absl::string_view line, absl::Duration timeout);
  // Everything read from stdout so far.
  const std::string& output() const { return output_; }
  // Exit status once it has exited (reaping it), nullopt while it runs. -signal if killed.
  std::optional<int> TryWait();
  void KillHard();  // SIGKILL and reap

 private:
  void ReadAvailable();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string output_;
  size_t scanned_ = 0;
  std::optional<int> status_;
};

}  // namespace portcullis::dp::api::testing
