#include "control/vpnctl/configure_shell.h"

#include <string.h>

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/config/line_lexer.h"
#include "control/ops/op_parser.h"
#include "control/vpnctl/absolute_paths.h"
#include "control/vpnd/control_protocol.h"

namespace portcullis::vpnctl {

namespace {

std::string WithNewline(std::string s) {
  if (!s.empty() && s.back() != '\n') s += '\n';
  return s;
}

}  // namespace

ConfigureShell::ConfigureShell(Transport transport, std::string user, bool interactive)
    : transport_(std::move(transport)), user_(std::move(user)), interactive_(interactive) {}

ConfigureShell::~ConfigureShell() = default;

absl::Status ConfigureShell::Open() {
  absl::StatusOr<VpndReply> r = transport_({vpnd::kRequestConfigure, user_});
  if (!r.ok()) return r.status();
  if (!r->ok) return absl::UnavailableError(absl::StripTrailingAsciiWhitespace(r->text));
  std::vector<std::string> f = absl::StrSplit(absl::StripTrailingAsciiWhitespace(r->text), ' ');
  if (f.size() != 2 || f[0].empty() || !absl::SimpleAtoi(f[1], &number_)) {
    return absl::UnavailableError("vpnd answered 'configure' with something unexpected");
  }
  token_ = f[0];
  return absl::OkStatus();
}

ConfigureShell::Result ConfigureShell::Send(std::vector<std::string> words) {
  words.insert(words.begin(), {vpnd::kRequestSession, token_});
  absl::StatusOr<VpndReply> r = transport_(words);
  for (std::string& w : words) explicit_bzero(w.data(), w.size());
  Result out;
  if (!r.ok()) {
    out.err = absl::StrCat("vpnctl: ", r.status().message(), "\n");
    out.failed = true;
    return out;
  }
  (r->ok ? out.out : out.err) = WithNewline(r->text);
  if (r->text.empty()) (r->ok ? out.out : out.err).clear();
  out.failed = !r->ok;
  return out;
}

ConfigureShell::Result ConfigureShell::Execute(absl::string_view line) {
  ++line_no_;
  config::LexedLine lexed = config::LexLine(line);
  // The words may carry a pre-shared key.
  absl::Cleanup wipe = [&] {
    for (std::string& w : lexed.words) explicit_bzero(w.data(), w.size());
  };
  Result out;
  auto fail = [&](std::string why) {
    out.err = WithNewline(std::move(why));
    out.failed = true;
  };
  if (!lexed.error.empty()) {
    fail(lexed.error);
  } else if (lexed.words.empty()) {
    return out;
  } else {
    std::vector<std::string>& w = lexed.words;
    const std::string& verb = w[0];
    if (!interactive_ && any_failed_ &&
        (verb == "commit" || verb == "commit-confirm" || verb == "save")) {
      fail(absl::StrCat("'", verb,
                        "' refused: an earlier command failed, so the candidate is not what the "
                        "input asks for (nothing was committed)"));
    } else if (verb == "run") {
      std::vector<std::string> op(w.begin() + 1, w.end());
      absl::StatusOr<ops::OpRequest> req = ops::ParseOpCommand(op);
      if (!req.ok()) {
        fail(std::string(req.status().message()));
      } else {
        std::vector<std::string> words = OpRequestWords(*req);
        if (req->args.json) words.push_back("--json");
        words.insert(words.begin(), "run");
        out = Send(std::move(words));
      }
    } else {
      if ((verb == "save" || verb == "load") && w.size() == 2) w[1] = AbsolutePath(w[1]);
      out = Send(w);
      if (!out.failed && verb == "exit") {
        out.leave = true;
        token_.clear();
      }
    }
  }
  if (out.failed) {
    any_failed_ = true;
    if (!interactive_) out.err = absl::StrCat("line ", line_no_, ": ", out.err);
  }
  return out;
}

ConfigureShell::Result ConfigureShell::Close(bool discard) {
  Result r = Send(discard ? std::vector<std::string>{"exit", "discard"}
                          : std::vector<std::string>{"exit"});
  if (!r.failed) {
    r.leave = true;
    token_.clear();
  }
  return r;
}

ConfigureShell::Result ConfigureShell::EndOfInput() {
  if (interactive_) return Close(false);  // Ctrl-D: `exit`, refused while there are changes
  Result changed = Send({vpnd::kSessionChanged});
  bool uncommitted = changed.failed || changed.out != "unchanged\n";
  Result r = Close(true);
  if (uncommitted) {
    r.err +=
        "vpnctl: end of input with uncommitted changes: discarded (end the input with "
        "'commit')\n";
    r.failed = true;
  }
  if (r.failed) any_failed_ = true;
  r.leave = true;
  return r;
}

ConfigureShell::Completions ConfigureShell::Complete(absl::string_view line) {
  Completions c;
  std::vector<std::string> words = {vpnd::kSessionComplete};
  if (!line.empty()) words.emplace_back(line);
  Result r = Send(std::move(words));
  if (r.failed) {
    c.error = std::string(absl::StripTrailingAsciiWhitespace(r.err));
    return c;
  }
  for (absl::string_view l : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(l, absl::MaxSplits('\t', 2));
    if (f[0] == "C") {
      c.complete = true;
    } else if (f[0] == "E" && f.size() >= 2) {
      c.error = f[1];
    } else if ((f[0] == "W" || f[0] == "P") && f.size() == 3) {
      c.items.push_back({f[1], f[2], f[0] == "P"});
    }
  }
  return c;
}

std::string FormatHelp(const ConfigureShell::Completions& c) {
  if (c.items.empty() && !c.complete) {
    return absl::StrCat("\n  ", c.error.empty() ? "No completions" : c.error, "\n");
  }
  size_t width = 0;
  for (const auto& i : c.items) width = std::max(width, i.text.size());
  if (c.complete) width = std::max(width, sizeof("<Enter>") - 1);
  std::string out = "\nPossible completions:\n";
  for (const auto& i : c.items) {
    absl::StrAppend(&out, absl::StrFormat("  %-*s  %s\n", static_cast<int>(width), i.text, i.help));
  }
  if (c.complete) {
    absl::StrAppend(&out, absl::StrFormat("  %-*s  %s\n", static_cast<int>(width), "<Enter>",
                                          "Execute the current command"));
  }
  return out;
}

}  // namespace portcullis::vpnctl
