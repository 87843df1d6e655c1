// The vpnctl socket never blocks vpnd's loop: a client that trickles its request or never reads
// its reply holds only its own connection (until its deadline), others are served meanwhile.
#include "control/vpnd/control_socket.h"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

using portcullis::vpnd::ControlSocket;

namespace {

std::string SocketPath() {
  static std::atomic<int> n{0};
  return absl::StrCat("/tmp/vpnd-ctl-test-", getpid(), "-", n++, ".sock");
}

int Connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Serves until `done` or the time runs out; returns how long the longest Serve() call took.
absl::Duration ServeFor(ControlSocket& s, const ControlSocket::Handler& h, absl::Duration total,
                        const std::function<bool()>& done = nullptr) {
  absl::Duration longest;
  absl::Time end = absl::Now() + total;
  while (absl::Now() < end && !(done && done())) {
    absl::Time t0 = absl::Now();
    s.Serve(h);
    longest = std::max(longest, absl::Now() - t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return longest;
}

}  // namespace

TEST_CASE("control socket: a request is answered and the connection closed", "[vpnd][ctl]") {
  std::string path = SocketPath();
  auto s = ControlSocket::Listen(path);
  REQUIRE(s.ok());
  int c = Connect(path);
  std::string req = "show\tvpn\tike\tsa\n";
  REQUIRE(write(c, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
  std::vector<std::string> got;
  ServeFor(
      **s,
      [&](const std::vector<std::string>& w) -> absl::StatusOr<std::string> {
        got = w;
        return std::string("fine\n");
      },
      absl::Seconds(2), [&] { return !got.empty() && (*s)->connections() == 0; });
  CHECK(got == std::vector<std::string>{"show", "vpn", "ike", "sa"});
  CHECK(ReadAll(c) == "OK\nfine\n");
  close(c);
}

TEST_CASE("control socket: a client trickling its request does not hold the loop", "[vpnd][ctl]") {
  std::string path = SocketPath();
  ControlSocket::Options o;
  o.client_deadline = absl::Milliseconds(500);
  auto s = ControlSocket::Listen(path, o);
  REQUIRE(s.ok());
  int slow = Connect(path);
  REQUIRE(write(slow, "sh", 2) == 2);  // and nothing more
  int fast = Connect(path);
  REQUIRE(write(fast, "x\n", 2) == 2);
  int served = 0;
  auto h = [&](const std::vector<std::string>&) -> absl::StatusOr<std::string> {
    ++served;
    return std::string("ok\n");
  };
  absl::Duration longest = ServeFor(**s, h, absl::Milliseconds(200));
  CHECK(longest < absl::Milliseconds(50));
  CHECK(served == 1);
  CHECK(ReadAll(fast) == "OK\nok\n");
  CHECK((*s)->connections() == 1);  // the slow one, still within its deadline
  ServeFor(**s, h, absl::Milliseconds(600));
  CHECK((*s)->connections() == 0);  // closed at its deadline
  CHECK(served == 1);
  close(slow);
  close(fast);
}

TEST_CASE("control socket: a client that does not read its reply does not block vpnd",
          "[vpnd][ctl]") {
  std::string path = SocketPath();
  ControlSocket::Options o;
  o.client_deadline = absl::Milliseconds(500);
  auto s = ControlSocket::Listen(path, o);
  REQUIRE(s.ok());
  int lazy = Connect(path);
  REQUIRE(write(lazy, "big\n", 4) == 4);
  auto h = [&](const std::vector<std::string>& w) -> absl::StatusOr<std::string> {
    if (w == std::vector<std::string>{"big"}) return std::string(16 << 20, 'x');
    return std::string("small\n");
  };
  absl::Duration longest = ServeFor(**s, h, absl::Milliseconds(100));
  CHECK(longest < absl::Milliseconds(200));
  int other = Connect(path);
  REQUIRE(write(other, "small\n", 6) == 6);
  ServeFor(**s, h, absl::Milliseconds(100));
  CHECK(ReadAll(other) == "OK\nsmall\n");
  ServeFor(**s, h, absl::Milliseconds(600));
  CHECK((*s)->connections() == 0);
  close(lazy);
  close(other);
}
