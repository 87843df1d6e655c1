// `show log vpn ipsec [peer X | subsystem S [site-to-site peer X]]`: the retained log lines of
// one peer and/or one subsystem. The lines are charon's layout (ike/sa/ike_log.h), so the filter
// reads the same tags an operator greps for: the subsystem in "01[IKE]" and the connection in
// "<peer-192.0.2.2|3>" or "<peer-192.0.2.2-tunnel-1{5}>".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace portcullis::vpnd {

struct LogFilter {
  // The connection name of the peer ("peer-192.0.2.2"); "" = every peer. Its tunnels' lines
  // ("peer-192.0.2.2-tunnel-1") belong to it.
  std::string conn;
  // Lines without a connection tag (the IKE manager's, e.g. "no IKE config found for
  // 192.0.2.1...192.0.2.2") belong to the peer when they name one of these addresses.
  std::vector<std::string> addresses;
  // The tag between the brackets: "IKE", "CHD", "CFG", "NET", "KNL", "ENC", "MGR"; "" = all.
  std::string group;
};

// The log tag of a Vyatta subsystem word ("ike-sa" -> "IKE"); nullopt for an unknown word.
std::optional<std::string> SubsystemTag(absl::string_view subsystem);

bool LogLineMatches(absl::string_view line, const LogFilter& f);

// The lines of `text` (one per '\n') the filter lets through.
std::string FilterLog(absl::string_view text, const LogFilter& f);

}  // namespace portcullis::vpnd
