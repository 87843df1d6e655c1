#include "control/vpnd/dataplane_telemetry.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portcullis::vpnd {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

std::string DataplaneTelemetry::DefaultPath(const std::string& channel) {
  return absl::StrCat("/var/run/dpdk/portcullis-", channel, "/dpdk_telemetry.v2");
}

absl::StatusOr<std::vector<JsonValue>> DataplaneTelemetry::Query(
    const std::vector<std::string>& commands) {
  Fd s{socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  // vpnd's event loop waits for the answer: a dataplane that does not answer within a second
  // fails the command instead of stalling IKE.
  timeval tv{1, 0};
  setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError("telemetry socket path too long");
  }
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot reach the dataplane's telemetry at ", path_,
                                               ": ", std::strerror(errno)));
  }
  std::vector<char> buf(1 << 16);
  if (recv(s.fd, buf.data(), buf.size(), 0) <= 0) {
    return absl::UnavailableError("the dataplane's telemetry sent no greeting");
  }
  std::vector<JsonValue> out;
  for (const std::string& c : commands) {
    if (send(s.fd, c.data(), c.size(), 0) < 0) {
      return absl::UnavailableError(absl::StrCat("telemetry send: ", std::strerror(errno)));
    }
    ssize_t n = recv(s.fd, buf.data(), buf.size(), 0);
    if (n <= 0) return absl::UnavailableError(absl::StrCat("telemetry: no reply to ", c));
    auto doc = ParseJson(absl::string_view(buf.data(), static_cast<size_t>(n)));
    if (!doc.ok()) return doc.status();
    if (doc->type != JsonValue::Type::kObject || doc->object.size() != 1) {
      return absl::InternalError(absl::StrCat("telemetry: unexpected reply to ", c));
    }
    out.push_back(std::move(doc->object[0].second));
  }
  return out;
}

}  // namespace portcullis::vpnd
