// vpnctl configure: a configuration session in vpnd, like `configure` on a Vyatta 5600. On a
// terminal: libedit line editing and history, Tab completion, `?` help, the `[edit]` line and
// a `user@host# ` prompt. From a pipe (a pasted configuration): one command per line, errors
// with their line numbers, exit status 1 if any command failed.
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/vpnctl/commands.h"
#include "control/vpnctl/configure_shell.h"
#include "control/vpnctl/line_editor.h"
#include "control/vpnctl/vpnd_client.h"

namespace portcullis::vpnctl {

namespace {

std::string UserName() {
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr) return pw->pw_name;
  return absl::StrCat("uid", getuid());
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "vpn";
  std::string h = buf;
  return h.substr(0, h.find('.'));
}

void Print(const ConfigureShell::Result& r) {
  std::fputs(r.out.c_str(), stdout);
  std::fflush(stdout);
  std::fputs(r.err.c_str(), stderr);
  std::fflush(stderr);
}

int Interactive(ConfigureShell& shell) {
  LineEditor editor("vpnctl", [&](const std::string& line) { return shell.Complete(line); });
  const std::string prompt = absl::StrCat(UserName(), "@", HostName(), "# ");
  for (;;) {
    std::fputs("[edit]\n", stdout);
    std::fflush(stdout);
    std::optional<std::string> line = editor.ReadLine(prompt);
    ConfigureShell::Result r;
    if (!line) {
      std::fputs("\n", stdout);
      r = shell.EndOfInput();
    } else {
      r = shell.Execute(*line);
    }
    Print(r);
    if (r.leave || !shell.open()) return 0;
  }
}

int FromPipe(ConfigureShell& shell) {
  std::string line;
  while (std::getline(std::cin, line)) {
    ConfigureShell::Result r = shell.Execute(line);
    Print(r);
    if (r.leave) return shell.any_failed() ? 1 : 0;
    if (!shell.open()) return 1;
  }
  Print(shell.EndOfInput());
  return shell.any_failed() ? 1 : 0;
}

}  // namespace

int CmdConfigure(const std::string& socket_path) {
  bool interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  ConfigureShell shell(
      [&](const std::vector<std::string>& words) { return AskVpnd(socket_path, words); },
      UserName(), interactive);
  if (absl::Status st = shell.Open(); !st.ok()) {
    std::fprintf(stderr, "vpnctl: configure: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return interactive ? Interactive(shell) : FromPipe(shell);
}

}  // namespace portcullis::vpnctl
