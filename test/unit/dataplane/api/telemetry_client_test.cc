// TelemetryClient against a stand-in for DPDK's telemetry socket (SOCK_SEQPACKET: a greeting,
// then one JSON reply per command), in a thread of the test.
#include "dataplane/api/telemetry_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

using namespace portcullis::dp::api;

namespace {

// Serves one connection: the greeting, then `reply(command)` for each command; an empty reply
// means "do not answer" (a stuck dataplane).
class FakeTelemetry {
 public:
  template <class Reply>
  explicit FakeTelemetry(Reply reply)
      : path_(absl::StrCat("/tmp/pc-telemetry-test-", getpid(), ".sock")) {
    unlink(path_.c_str());
    listen_ = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path_.c_str(), path_.size() + 1);
    REQUIRE(bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(listen_, 1) == 0);
    thread_ = std::thread([this, reply] {
      int c = accept(listen_, nullptr, nullptr);
      if (c < 0) return;
      const char greeting[] = R"({"version": "DPDK 22.11.0", "pid": 1, "max_output_len": 16384})";
      send(c, greeting, sizeof greeting - 1, 0);
      char buf[256];
      ssize_t n;
      while ((n = recv(c, buf, sizeof buf, 0)) > 0) {
        std::string r = reply(std::string(buf, static_cast<size_t>(n)));
        if (r.empty()) {
          while (!stop_) usleep(1000);
          break;
        }
        send(c, r.data(), r.size(), 0);
      }
      close(c);
    });
  }
  ~FakeTelemetry() {
    stop_ = true;
    shutdown(listen_, SHUT_RDWR);
    thread_.join();
    close(listen_);
    unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int listen_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("telemetry: the reply's one member is the answer; null is NotFound", "[api][telemetry]") {
  FakeTelemetry fake([](const std::string& cmd) -> std::string {
    if (cmd == "/portcullis/stats") return R"({"/portcullis/stats": {"rx": 7}})";
    if (cmd == "/portcullis/two") return R"({"a": 1, "b": 2})";
    return absl::StrCat(R"({")", cmd, R"(": null})");
  });
  auto c = TelemetryClient::Connect(fake.path());
  REQUIRE(c.ok());
  auto stats = c->Query("/portcullis/stats");
  REQUIRE(stats.ok());
  CHECK(stats->U64("rx") == 7);
  auto none = c->Query("/portcullis/nothing");
  CHECK(absl::IsNotFound(none.status()));
  auto two = c->Query("/portcullis/two");
  CHECK(absl::IsInternal(two.status()));
}

TEST_CASE("telemetry: a dataplane that does not answer fails the query in time",
          "[api][telemetry]") {
  FakeTelemetry fake([](const std::string&) { return std::string(); });
  auto c = TelemetryClient::Connect(fake.path(), absl::Milliseconds(200));
  REQUIRE(c.ok());
  absl::Time start = absl::Now();
  auto r = c->Query("/portcullis/stats");
  CHECK(absl::IsUnavailable(r.status()));
  CHECK(absl::Now() - start < absl::Seconds(3));
}

TEST_CASE("telemetry: no dataplane is Unavailable and names the socket", "[api][telemetry]") {
  auto c = TelemetryClient::Connect("/tmp/pc-telemetry-test-nobody-listens.sock");
  REQUIRE(!c.ok());
  CHECK(absl::IsUnavailable(c.status()));
  CHECK(c.status().message().find("pc-telemetry-test-nobody-listens") != std::string::npos);
}
