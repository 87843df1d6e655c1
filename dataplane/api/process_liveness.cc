#include "dataplane/api/process_liveness.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"

namespace portcullis::dp::api {
namespace {

// /proc/PID/stat is "PID (COMM) S ..."; COMM may itself contain ") ", so the state is the
// character after the last ')'.
bool IsZombie(int32_t pid) {
  std::string path = absl::StrFormat("/proc/%d/stat", pid);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* close_paren = strrchr(buf, ')');
  return close_paren != nullptr && close_paren[1] == ' ' &&
         (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

}  // namespace

bool IsProcessAlive(int32_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  // EPERM: it exists, it just is not ours to signal.
  return !IsZombie(pid);
}

}  // namespace portcullis::dp::api
