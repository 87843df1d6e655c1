// vpnctl <-> vpnd over a unix stream socket (mode 0600): the client sends one request line, the
// command words separated by tabs and ended by '\n'; vpnd answers "OK\n" or "ERROR\n" followed
// by the text to print, and closes the connection.
//
// One-shot requests are the operational commands (control/ops/op_commands.h). Configuration
// sessions (`vpnctl configure`) use the same one-request-per-connection exchange, so the
// operational commands are unchanged and a session survives any one connection:
//   configure <user>                        opens a session; the answer is "<token> <number>\n"
//   session <token> <command> <words>...    a configuration-mode command
//                                           (control/ops/config_mode_commands.h) in that session
//   session <token> complete <line>         Tab / `?`: the line so far as one word; the answer
//                                           is session_completion.h's encoding
//   session <token> changed                 "changed\n" or "unchanged\n" (uncommitted changes)
// A session vpnd no longer has (restarted, or idle past its timeout) answers an error that says
// so.
#pragma once

namespace portcullis::vpnd {

inline constexpr char kDefaultSocket[] = "/run/portcullis/vpnd.sock";
inline constexpr char kReplyOk[] = "OK\n";
inline constexpr char kReplyError[] = "ERROR\n";

inline constexpr char kRequestConfigure[] = "configure";
inline constexpr char kRequestSession[] = "session";
inline constexpr char kSessionComplete[] = "complete";
inline constexpr char kSessionChanged[] = "changed";

// `diagnose vpn peer X` (diagnose.h) answers OK whatever it found; vpnctl's exit status comes
// from these: the last line of the text when every step passed, and the JSON member that says so.
inline constexpr char kDiagnosePassedLine[] = "Result: every step passes\n";
inline constexpr char kDiagnosePassedJson[] = "\"passed\":true";

}  // namespace portcullis::vpnd
