// The commands of configuration mode (`vpnctl configure`), in one table: vpnctl's completion of
// the first word and its help (`?` on an empty line) come from here, and vpnd's session
// dispatch refuses what is not in it. The configuration paths after set/delete/show come from
// the schema (control/config/schema.cc), the operational commands after `run` from
// op_commands.h.
#pragma once

#include "absl/strings/string_view.h"

namespace portcullis::ops {

struct ConfigModeCommand {
  absl::string_view name;    // the first word
  absl::string_view syntax;  // "commit-confirm <N>"
  absl::string_view help;    // one line
};

// In alphabetical order, as `?` lists them.
inline constexpr ConfigModeCommand kConfigModeCommands[] = {
    {"commit", "commit", "Commit the candidate: validated whole, applied all or nothing"},
    {"commit-confirm", "commit-confirm <N>",
     "Commit, rolled back unless 'confirm' comes within N minutes"},
    {"compare", "compare", "The set/delete commands from running to candidate"},
    {"confirm", "confirm", "Confirm the pending commit-confirm"},
    {"delete", "delete <path>", "Delete a configuration node"},
    {"discard", "discard", "Discard the uncommitted changes"},
    {"exit", "exit [discard]", "Leave configuration mode ('exit discard' drops the changes)"},
    {"load", "load <file>", "Replace the candidate with a configuration file"},
    {"rollback", "rollback <N>", "Commit revision N of the archive ('run show system commit')"},
    {"run", "run <command>", "Run an operational command"},
    {"save", "save [<file>]", "Save the running configuration (default: vpnd's file)"},
    {"set", "set <path> <value>", "Set a configuration node"},
    {"show", "show [<path>]", "Show the candidate; +/- mark uncommitted changes"},
};

constexpr const ConfigModeCommand* FindConfigModeCommand(absl::string_view name) {
  for (const ConfigModeCommand& c : kConfigModeCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace portcullis::ops
