// The firewall's per-packet log line, as the Vyatta dataplane writes it (its npf log extension;
// the seed vyatta-vra-ipsec.txt shows six of them): what follows "dataplane[PID]: " in syslog,
// e.g. " In:dp0bond1 PASS fw rule PubIn:1 proto=(other/50) addr=198.11.194.155->159.8.98.214
// macs=e4:c7:22:63:b5:41->0:0:5e:0:1:2 v4=(len:156,ttl:241,tos:00,ecn:Not,prot:50,hl:5)".
// Built from the dataplane's FwLogEvent (the headers it copied) and the names vpnd gave the
// interface and the ruleset.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/api/events.h"

namespace portcullis::vpnd {

struct FwLogNames {
  std::string interface;  // "dp0bond1"
  std::string ruleset;    // "PubIn"
  // The interface is an Ethernet port or bond: Vyatta prints the frame's MACs of packets it
  // receives there (not on vifs, VTIs or VFPs, and never on Out).
  bool ethernet = false;
};

// The line's text; never ends a line or carries control bytes (names are configuration
// words, addresses and numbers are formatted here).
std::string FormatFwLogLine(const dp::api::FwLogEvent& e, const FwLogNames& names);

// The rule number Vyatta logs for a ruleset's default action.
inline constexpr uint32_t kFwDefaultRuleNumber = 10000;

}  // namespace portcullis::vpnd
