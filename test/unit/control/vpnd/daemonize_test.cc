// Daemonize in a child of the test (its parent side exits, as vpnd's does under systemd): the
// parent's exit code and stderr, and what the daemon reports through a pipe.
#include "control/vpnd/daemonize.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

using portcullis::vpnd::Daemonize;

namespace {

std::string ReadAll(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

struct Outcome {
  int exit_code = -1;       // of the process that called Daemonize (the daemon's parent)
  std::string stderr_text;  // what that process wrote to stderr
  std::string report;       // what in_child and the daemon wrote to `report`
};

// `in_child` gets the report pipe's write end and the pid of the daemon's parent.
Outcome Run(std::function<absl::Status(int report, pid_t parent)> in_child) {
  int err[2], rep[2];
  REQUIRE(pipe(err) == 0);
  REQUIRE(pipe(rep) == 0);
  const pid_t caller = fork();
  REQUIRE(caller >= 0);
  if (caller == 0) {
    dup2(err[1], 2);
    close(err[0]);
    close(err[1]);
    close(rep[0]);
    const pid_t parent = getpid();
    absl::Status s = Daemonize([&] { return in_child(rep[1], parent); });
    // Only the daemon gets here: where it runs and what its stdio is.
    if (s.ok()) {
      char cwd[256] = {};
      struct stat out {
      }, null{};
      const bool on_null = fstat(1, &out) == 0 && stat("/dev/null", &null) == 0 &&
                           out.st_rdev == null.st_rdev && S_ISCHR(out.st_mode);
      dprintf(rep[1], "daemon sid=%d cwd=%s stdout-null=%d\n", getsid(0) == getpid(),
              getcwd(cwd, sizeof cwd) ? cwd : "?", on_null);
    }
    _exit(s.ok() ? 0 : 7);
  }
  close(err[1]);
  close(rep[1]);
  Outcome o;
  int status = 0;
  REQUIRE(waitpid(caller, &status, 0) == caller);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.stderr_text = ReadAll(err[0]);
  o.report = ReadAll(rep[0]);  // EOF once the daemon has exited too
  return o;
}

}  // namespace

TEST_CASE("Daemonize: the parent exits 0 only after in_child ran in the child, parent alive",
          "[daemonize]") {
  Outcome o = Run([](int report, pid_t parent) {
    // The parent still waits while in_child runs: what it registered may be handed over.
    dprintf(report, "in_child parent-alive=%d\n", getppid() == parent);
    return absl::OkStatus();
  });
  CHECK(o.exit_code == 0);
  CHECK(o.stderr_text.empty());
  CHECK(o.report == "in_child parent-alive=1\ndaemon sid=1 cwd=/ stdout-null=1\n");
}

TEST_CASE("Daemonize: an error of in_child is the parent's exit 1 and its stderr", "[daemonize]") {
  Outcome o = Run([](int, pid_t) { return absl::FailedPreconditionError("slot taken"); });
  CHECK(o.exit_code == 1);
  CHECK(o.stderr_text == "vpnd: slot taken\n");
  CHECK(o.report.empty());  // the child ended in Daemonize: no second report of the error
}

TEST_CASE("Daemonize: a child that dies before it is ready fails the parent", "[daemonize]") {
  Outcome o = Run([](int, pid_t) -> absl::Status { _exit(5); });
  CHECK(o.exit_code == 1);
  CHECK(o.stderr_text == "vpnd: the daemon exited before it was ready\n");
}
