// The terminal side of `vpnctl configure`: libedit (BSD editline) for line editing and history,
// with Tab bound to completion and `?` to help, both answered by a callback (vpnd's completion
// of the line so far). Only used when stdin is a terminal.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "control/vpnctl/configure_shell.h"

namespace portcullis::vpnctl {

class LineEditor {
 public:
  using Completer = std::function<ConfigureShell::Completions(const std::string& line)>;

  LineEditor(const char* program, Completer completer);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // One line without its newline, added to the history; nullopt at end of input (Ctrl-D).
  std::optional<std::string> ReadLine(const std::string& prompt);

  // libedit's state; public only so that its C callbacks can reach it.
  struct Impl;

 private:
  Impl* impl_;
};

// What Tab inserts for the word being completed: the rest of the only word that fits (and a
// space), or what all the fitting words share; "" when it cannot add anything (then the
// choices are listed).
std::string TabInsertion(const ConfigureShell::Completions& c, const std::string& partial);

// The word under the cursor at the end of `line` ("" right after a space).
std::string PartialWord(const std::string& line);

}  // namespace portcullis::vpnctl
