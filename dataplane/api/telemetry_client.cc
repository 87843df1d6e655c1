#include "dataplane/api/telemetry_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace portcullis::dp::api {

std::string TelemetryClient::DefaultPath(const std::string& channel) {
  return absl::StrCat("/var/run/dpdk/portcullis-", channel, "/dpdk_telemetry.v2");
}

absl::StatusOr<TelemetryClient> TelemetryClient::Connect(const std::string& path,
                                                         absl::Duration timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError("telemetry socket path too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  TelemetryClient c(fd);  // closes fd on every return below
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot reach the dataplane's telemetry at ", path,
                                               ": ", std::strerror(errno),
                                               " (is vpn-dataplane running?)"));
  }
  char buf[1024];
  if (recv(fd, buf, sizeof buf, 0) <= 0) {
    return absl::UnavailableError("the dataplane's telemetry sent no greeting");
  }
  return c;
}

TelemetryClient::~TelemetryClient() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<JsonValue> TelemetryClient::Query(const std::string& command) {
  if (send(fd_, command.data(), command.size(), 0) < 0) {
    return absl::UnavailableError(absl::StrCat("telemetry send: ", std::strerror(errno)));
  }
  std::vector<char> buf(1 << 16);
  ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
  if (n <= 0) return absl::UnavailableError(absl::StrCat("telemetry: no reply to ", command));
  auto doc = ParseJson(absl::string_view(buf.data(), static_cast<size_t>(n)));
  if (!doc.ok()) return doc.status();
  if (doc->type != JsonValue::Type::kObject || doc->object.size() != 1) {
    return absl::InternalError(absl::StrCat("telemetry: unexpected reply to ", command));
  }
  JsonValue v = std::move(doc->object[0].second);
  if (v.type == JsonValue::Type::kNull) {
    return absl::NotFoundError(absl::StrCat(command, ": no such object"));
  }
  return v;
}

}  // namespace portcullis::dp::api
