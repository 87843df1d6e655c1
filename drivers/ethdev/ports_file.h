// The ports file (/etc/portcullis/ports): the dataplane's port map, one `NAME=DEVICE` per line,
// as `vpn-dataplane --port` takes it, so a service unit and portcullis-host-setup (which binds
// the PCI devices it names) read the same list. `#` starts a comment; blank lines are skipped.
//   dp0p1s0=0000:03:00.0
//   dp0p1s2=0000:03:00.2
// Only physical ports: bonds are configuration (`interfaces bonding dp0bond1 ...` and the
// members' `bond-group`), built by the dataplane at commit.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "drivers/ethdev/port_setup.h"

namespace portcullis::drivers::ethdev {

// `source` names the text in errors ("FILE: line N: ...").
absl::StatusOr<std::vector<PortSpec>> ParsePortsText(const std::string& text,
                                                     const std::string& source);
absl::StatusOr<std::vector<PortSpec>> ReadPortsFile(const std::string& path);

}  // namespace portcullis::drivers::ethdev
