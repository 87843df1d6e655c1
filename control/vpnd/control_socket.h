// vpnd's end of the vpnctl socket (see control_protocol.h). Every connection is non-blocking
// and driven by vpnd's poll loop with its own buffers: a client that sends its request byte by
// byte, or stops reading its reply, holds only its own connection, never the loop, and is
// closed when its deadline passes.
#pragma once

#include <poll.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace portcullis::vpnd {

class ControlSocket {
 public:
  using Handler = std::function<absl::StatusOr<std::string>(const std::vector<std::string>& words)>;

  struct Options {
    absl::Duration client_deadline = absl::Seconds(10);  // from accept to the last reply byte
    size_t max_clients = 32;
    size_t max_request = 65536;
  };

  // Creates the socket (and its directory), replacing a stale one; mode 0600.
  static absl::StatusOr<std::unique_ptr<ControlSocket>> Listen(const std::string& path);
  static absl::StatusOr<std::unique_ptr<ControlSocket>> Listen(const std::string& path,
                                                               Options options);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  int fd() const { return fd_; }
  // What to poll: the listening socket and each connection, for what it waits for.
  void AddPollFds(std::vector<pollfd>* fds) const;
  // Accepts waiting connections, reads what the clients sent, answers complete requests,
  // writes as much of each reply as its socket takes, and closes connections that are done or
  // past their deadline. Never blocks.
  void Serve(const Handler& handler);
  size_t connections() const { return clients_.size(); }

 private:
  struct Client {
    int fd = -1;
    std::string request;
    std::string reply;
    size_t written = 0;
    bool answered = false;
    absl::Time deadline;
  };

  ControlSocket(int fd, std::string path, Options options)
      : fd_(fd), path_(std::move(path)), options_(options) {}
  void Accept();
  // False once the connection is finished (answered and written, or broken).
  bool Step(Client& c, const Handler& handler);

  int fd_;
  std::string path_;
  Options options_;
  std::vector<Client> clients_;
};

}  // namespace portcullis::vpnd
