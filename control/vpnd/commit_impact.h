// What a commit will do to the tunnels, told before it is made: the peers it creates, removes
// or resets (IKE deletes and renegotiates an IKE SA whose peer configuration changed, and its
// CHILD SAs with it), and which of each peer's tunnels are new, gone or changed. Read from the
// IKE configurations of the running and the candidate model, which is exactly what IKE's
// SetPeers compares.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ike/sa/ike_config.h"

namespace portcullis::vpnd {

using PeerConfigs = std::vector<std::shared_ptr<const ike::IkeSaConfig>>;

// One line per affected peer ("peer 192.0.2.2: reset (tunnel vti changed): its IKE SA and
// tunnels are renegotiated"); "" when no peer changes.
std::string DescribeCommitImpact(const PeerConfigs& before, const PeerConfigs& after);

}  // namespace portcullis::vpnd
