// vpnctl <-> vpnd over a unix stream socket (mode 0600): the client sends one request line, the
// command words separated by tabs and ended by '\n'; vpnd answers "OK\n" or "ERROR\n" followed
// by the text to print, and closes the connection.
#pragma once

namespace portcullis::vpnd {

inline constexpr char kDefaultSocket[] = "/run/portcullis/vpnd.sock";
inline constexpr char kReplyOk[] = "OK\n";
inline constexpr char kReplyError[] = "ERROR\n";

}  // namespace portcullis::vpnd
