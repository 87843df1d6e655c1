// One request to vpnd and its answer, against a real unix socket served by a thread: the
// request line as vpnd reads it, OK and ERROR answers, and the errors when vpnd is not there.
#include "control/vpnctl/vpnd_client.h"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"

using namespace portcullis::vpnctl;

namespace {

// Accepts one connection, reads the request line, answers `reply` and closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply)
      : path_(absl::StrCat("/tmp/vpnctl-client-test-", getpid(), ".sock")) {
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path_.c_str(), path_.size());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(listen(fd_, 1) == 0);
    thread_ = std::thread([this, reply] {
      int c = accept(fd_, nullptr, nullptr);
      char buf[4096];
      while (request_.find('\n') == std::string::npos) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
      }
      (void)!write(c, reply.data(), reply.size());
      close(c);
    });
  }
  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
    close(fd_);
    unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string request() {
    thread_.join();
    return request_;
  }

 private:
  std::string path_;
  int fd_;
  std::thread thread_;
  std::string request_;
};

}  // namespace

TEST_CASE("the request is one tab-separated line; OK carries the text", "[vpnd_client]") {
  OneShotServer s("OK\nhello\n");
  absl::StatusOr<VpndReply> r = AskVpnd(s.path(), {"session", "tok", "set", "a b"});
  REQUIRE(r.ok());
  CHECK(r->ok);
  CHECK(r->text == "hello\n");
  CHECK(s.request() == "session\ttok\tset\ta b\n");
}

TEST_CASE("ERROR carries vpnd's message", "[vpnd_client]") {
  OneShotServer s("ERROR\nno such peer\n");
  absl::StatusOr<VpndReply> r = AskVpnd(s.path(), {"show"});
  REQUIRE(r.ok());
  CHECK_FALSE(r->ok);
  CHECK(r->text == "no such peer\n");
}

TEST_CASE("no vpnd, no answer, or a word that cannot be sent", "[vpnd_client]") {
  absl::StatusOr<VpndReply> r = AskVpnd("/tmp/vpnctl-client-test-none.sock", {"show"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "cannot reach vpnd at /tmp/vpnctl-client-test-none.sock: No such file or directory (is "
        "vpnd running?)");
  {
    OneShotServer s("");
    r = AskVpnd(s.path(), {"show"});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == "no answer from vpnd");
  }
  r = AskVpnd("/tmp/x.sock", {"set", "a\tb"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "a word may not contain a tab or a newline");
}
