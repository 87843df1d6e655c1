// The client side of a configuration session (`vpnctl configure`), without the terminal: opens
// the session in vpnd, turns each command line into a request (quotes as the Vyatta shell reads
// them, files made absolute, op commands after `run` checked against the op table first), and
// asks vpnd for completions. cmd_configure.cc drives it from libedit or from a pipe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/vpnctl/vpnd_client.h"

namespace portcullis::vpnctl {

class ConfigureShell {
 public:
  using Transport = std::function<absl::StatusOr<VpndReply>(const std::vector<std::string>& words)>;

  // `interactive`: a person at a terminal. From a pipe, a failed command makes every later
  // commit, commit-confirm and save refuse: a paste with a bad line must not commit half of it.
  ConfigureShell(Transport transport, std::string user, bool interactive);
  ~ConfigureShell();

  // Opens the session (`configure <user>`).
  absl::Status Open();
  uint32_t number() const { return number_; }

  struct Result {
    std::string out;      // for stdout
    std::string err;      // for stderr
    bool failed = false;  // the command did not do what it asked
    bool leave = false;   // the session is closed: leave configuration mode
  };
  Result Execute(absl::string_view line);
  // Input ended (end of the pipe, or Ctrl-D at the prompt).
  Result EndOfInput();

  struct Item {
    std::string text, help;
    bool placeholder = false;
  };
  struct Completions {
    std::vector<Item> items;
    bool complete = false;  // the line can run as it is
    std::string error;
  };
  // For the line typed up to the cursor.
  Completions Complete(absl::string_view line);

  bool any_failed() const { return any_failed_; }
  bool open() const { return !token_.empty(); }

 private:
  Result Send(std::vector<std::string> words);
  Result Close(bool discard);

  Transport transport_;
  std::string user_;
  bool interactive_;
  std::string token_;
  uint32_t number_ = 0;
  bool any_failed_ = false;
  int line_no_ = 0;
};

// `?`: "Possible completions:" and one line per item, as the Vyatta shell prints them.
std::string FormatHelp(const ConfigureShell::Completions& c);

}  // namespace portcullis::vpnctl
