// vpnd's end of the vpnctl socket (see control_protocol.h).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis::vpnd {

class ControlSocket {
 public:
  using Handler = std::function<absl::StatusOr<std::string>(const std::vector<std::string>& words)>;

  // Creates the socket (and its directory), replacing a stale one; mode 0600.
  static absl::StatusOr<std::unique_ptr<ControlSocket>> Listen(const std::string& path);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  int fd() const { return fd_; }
  // Serves the connections waiting now, one request each.
  void Serve(const Handler& handler);

 private:
  ControlSocket(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace portcullis::vpnd
