// vpnd's syslog sink: RFC 3164 datagrams on a unix datagram socket standing in for /dev/log,
// severity from the line, nothing blocks or fails when nobody listens.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "control/vpnd/syslog_sink.h"

using namespace portcullis;

namespace {

ike::LogRecord Record(std::string text, std::string conn = "") {
  return ike::LogRecord{absl::FromUnixSeconds(1767225600),
                        ike::LogGroup::kIke,
                        std::move(conn),
                        3,
                        false,
                        std::move(text)};
}

struct FakeDevLog {
  std::string path;
  int fd;
  FakeDevLog() {
    char dir[] = "/tmp/syslog-test-XXXXXX";
    path = std::string(mkdtemp(dir)) + "/log";
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path.c_str());
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeDevLog() {
    close(fd);
    unlink(path.c_str());
  }
  std::string Receive() {
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
};

}  // namespace

TEST_CASE("syslog: facility daemon, info or warning, ident with pid, the IKE prefix",
          "[vpnd][syslog]") {
  std::string line =
      vpnd::SyslogSink::Format(Record("IKE_SA established", "peer-192.0.2.2"), "vpnd", 42);
  CHECK(line.rfind("<30>", 0) == 0);  // daemon (3) * 8 + info (6)
  CHECK(line.find(" vpnd[42]: [IKE] <peer-192.0.2.2|3> IKE_SA established") != std::string::npos);
  CHECK(vpnd::SyslogSink::Format(Record("WARNING: --wireshark-keys is on"), "vpnd", 1)
            .rfind("<28>", 0) == 0);  // daemon * 8 + warning (4)
}

TEST_CASE("syslog: lines reach the socket that stands in for /dev/log", "[vpnd][syslog]") {
  FakeDevLog devlog;
  vpnd::SyslogSink sink(devlog.path, "vpnd");
  sink.Write(Record("first"));
  sink.Write(Record("second"));
  CHECK(devlog.Receive().find("[IKE] first") != std::string::npos);
  CHECK(devlog.Receive().find("[IKE] second") != std::string::npos);
  CHECK(sink.dropped() == 0);
}

TEST_CASE("syslog: no listener costs a dropped line, not an error or a stall", "[vpnd][syslog]") {
  vpnd::SyslogSink sink("/nonexistent/dev-log", "vpnd");
  sink.Write(Record("nobody hears this"));
  CHECK(sink.dropped() == 1);
}

TEST_CASE("syslog: a line written as another program (the dataplane's firewall lines)",
          "[vpnd][syslog]") {
  std::string line = vpnd::SyslogSink::FormatAs(absl::FromUnixSeconds(1767225600), "dataplane",
                                                4391, " In:dp0bond1 PASS fw rule PubIn:1");
  CHECK(line.rfind("<29>", 0) == 0);  // daemon * 8 + notice (5), as Vyatta's dataplane logs
  CHECK(line.find(" dataplane[4391]:  In:dp0bond1 PASS fw rule PubIn:1") != std::string::npos);
  FakeDevLog devlog;
  vpnd::SyslogSink sink(devlog.path, "dataplane");
  sink.WriteAs(absl::FromUnixSeconds(1767225600), 77, "Out:vti0 PASS fw rule X:10");
  std::string got = devlog.Receive();
  const std::string tail = " dataplane[77]: Out:vti0 PASS fw rule X:10";
  REQUIRE(got.size() > tail.size());
  CHECK(got.substr(got.size() - tail.size()) == tail);
}
