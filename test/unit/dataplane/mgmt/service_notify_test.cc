#include "dataplane/mgmt/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>

namespace portcullis::dp {
namespace {

// A datagram socket standing in for systemd's notify socket.
struct Listener {
  explicit Listener(const std::string& path) : path(path) {
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (path[0] == '@') a.sun_path[0] = '\0';
    const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    if (path[0] != '@') unlink(path.c_str());
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0);
  }
  ~Listener() {
    close(fd);
    if (path[0] != '@') unlink(path.c_str());
  }
  std::string Receive() {
    char buf[256];
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  std::string path;
  int fd = -1;
};

TEST_CASE("READY=1 reaches the socket named by NOTIFY_SOCKET") {
  const std::string path = "/tmp/pc-notify-test-" + std::to_string(getpid());
  Listener l(path);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  REQUIRE(NotifyServiceManager("READY=1").ok());
  CHECK(l.Receive() == "READY=1");
  unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("An abstract NOTIFY_SOCKET (@name) works as systemd hands it out") {
  const std::string name = "@pc-notify-test-" + std::to_string(getpid());
  Listener l(name);
  setenv("NOTIFY_SOCKET", name.c_str(), 1);
  REQUIRE(NotifyServiceManager("STOPPING=1").ok());
  CHECK(l.Receive() == "STOPPING=1");
  unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("Without NOTIFY_SOCKET nothing is sent; a bad one is an error") {
  unsetenv("NOTIFY_SOCKET");
  CHECK(NotifyServiceManager("READY=1").ok());
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  CHECK_FALSE(NotifyServiceManager("READY=1").ok());
  setenv("NOTIFY_SOCKET", "/tmp/pc-notify-test-nobody-listens", 1);
  CHECK(NotifyServiceManager("READY=1").code() == absl::StatusCode::kUnavailable);
  unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace portcullis::dp
